"""One sidebar per user session: a second launch shows the first window and exits.

Two pieces, because neither is enough alone:

- A lock file (``QLockFile``, held while the instance runs) decides who is the
  instance. Taking it is atomic, so two launches at the same moment cannot both
  win, and a lock whose process is gone (a crash, SIGKILL) counts as stale and
  is taken over, however old.
- A local socket carries the later launch's request to come to the front. It
  cannot decide alone: with access options Qt's ``listen`` binds in a private
  folder and renames the socket into place, replacing a live instance's socket
  as silently as a crashed one's.

The names include the user and the data folder, so tests (each with its own
``AGENT_ASSIST_HOME``) and other users never collide.

Thread rules: GUI thread only.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
from pathlib import Path

from agent_assist.paths import data_dir
from agent_assist.ui.qt import QObject, QtCore, QtNetwork, Signal

__all__ = ["SingleInstance", "lock_path", "server_name"]

log = logging.getLogger(__name__)

_TIMEOUT_MS = 500


def server_name() -> str:
    """A per-user, per-data-folder socket name (short: some systems cap it near 100 bytes)."""
    key = f"{getpass.getuser()}:{data_dir().resolve()}".encode()
    return f"agent-assist-{hashlib.sha256(key).hexdigest()[:16]}"


def lock_path(name: str) -> str:
    """The lock file held while an instance runs (local temp: not a roaming profile)."""
    return str(Path(QtCore.QDir.tempPath()) / f"{name}.lock")


class SingleInstance(QObject):
    """``claim()`` True: we are the first; ``activated`` fires when a later launch asks to show."""

    activated = Signal(str)  # the message the later launch sent ("show")

    def __init__(self, parent: QObject | None = None, name: str | None = None) -> None:
        super().__init__(parent)
        self.name = name or server_name()
        self._server: QtNetwork.QLocalServer | None = None
        self._lock: QtCore.QLockFile | None = None

    def claim(self) -> bool:
        """Become the instance, or tell the running one to show itself and return False."""
        if self._server is not None:
            return True
        lock = QtCore.QLockFile(lock_path(self.name))
        lock.setStaleLockTime(0)  # stale only when its process is gone, however old
        if not lock.tryLock(0):
            if lock.error() == QtCore.QLockFile.LockError.LockFailedError:
                self._ask_to_show()  # it may still be starting and not answer yet
                return False
            log.warning("cannot take the lock %s (%s): running anyway", lock.fileName(), lock.error())
        elif self._ask_to_show():  # an older version of the app, without the lock
            lock.unlock()
            return False
        # A crash leaves the socket file behind (Unix); we hold the lock: it is stale.
        QtNetwork.QLocalServer.removeServer(self.name)
        server = QtNetwork.QLocalServer(self)
        server.setSocketOptions(QtNetwork.QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            log.warning("cannot listen on %s (%s): running anyway", self.name, server.errorString())
        server.newConnection.connect(self._on_connection)
        self._server, self._lock = server, lock
        return True  # better two sidebars than none when the lock or socket failed

    @property
    def address(self) -> str:
        """Where we listen (a socket file on Unix, a pipe on Windows); "" when not the instance."""
        return self._server.fullServerName() if self._server is not None else ""

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server.deleteLater()
            self._server = None
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None

    def _ask_to_show(self) -> bool:
        """Send "show" to a running instance; False when none answers."""
        socket = QtNetwork.QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(_TIMEOUT_MS):
            return False
        socket.write(b"show\n")
        socket.waitForBytesWritten(_TIMEOUT_MS)
        socket.disconnectFromServer()
        return True

    def _on_connection(self) -> None:
        server = self._server
        if server is None:
            return
        while (conn := server.nextPendingConnection()) is not None:
            self._serve(conn)

    def _serve(self, conn: QtNetwork.QLocalSocket) -> None:
        """Read one line and emit it.

        Only ``readyRead`` reaches Python: ``disconnected`` can fire inside the socket's
        destructor (the server closing), where touching ``conn`` would crash.
        """
        received = bytearray()

        def read() -> None:
            received.extend(bytes(conn.readAll().data()))
            if b"\n" not in received:
                return  # the rest of the line is on its way
            conn.readyRead.disconnect(read)
            message = bytes(received).decode("utf-8", "replace").strip()
            if message:
                self.activated.emit(message)
            conn.disconnectFromServer()

        conn.readyRead.connect(read)
        conn.disconnected.connect(conn.deleteLater)
        if conn.bytesAvailable():  # arrived before the connection above
            read()
