"""One sidebar per user session: a second launch shows the first window and exits.

Why a local socket rather than a lock file: it cannot go stale after a crash
(the server dies with its process), and it doubles as the channel the second
launch uses to ask the first to come to the front. The name includes the user
and the data folder, so tests (each with its own ``AGENT_ASSIST_HOME``) and
other users never collide.

Thread rules: GUI thread only.
"""

from __future__ import annotations

import getpass
import hashlib

from agent_assist.paths import data_dir
from agent_assist.ui.qt import QObject, QtNetwork, Signal

__all__ = ["SingleInstance", "server_name"]

_TIMEOUT_MS = 500


def server_name() -> str:
    """A per-user, per-data-folder socket name (short: some systems cap it near 100 bytes)."""
    key = f"{getpass.getuser()}:{data_dir().resolve()}".encode()
    return f"agent-assist-{hashlib.sha256(key).hexdigest()[:16]}"


class SingleInstance(QObject):
    """``claim()`` True: we are the first; ``activated`` fires when a later launch asks to show."""

    activated = Signal(str)  # the message the later launch sent ("show")

    def __init__(self, parent: QObject | None = None, name: str | None = None) -> None:
        super().__init__(parent)
        self.name = name or server_name()
        self._server: QtNetwork.QLocalServer | None = None

    def claim(self) -> bool:
        """Become the instance, or tell the running one to show itself and return False."""
        socket = QtNetwork.QLocalSocket()
        socket.connectToServer(self.name)
        if socket.waitForConnected(_TIMEOUT_MS):
            socket.write(b"show\n")
            socket.waitForBytesWritten(_TIMEOUT_MS)
            socket.disconnectFromServer()
            return False
        server = QtNetwork.QLocalServer(self)
        server.setSocketOptions(QtNetwork.QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            # A stale socket file after a crash (Unix): nobody answered, so remove and retry.
            QtNetwork.QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                return True  # run anyway: better two sidebars than none
        server.newConnection.connect(self._on_connection)
        self._server = server
        return True

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def _on_connection(self) -> None:
        assert self._server is not None
        conn: QtNetwork.QLocalSocket | None = self._server.nextPendingConnection()
        if conn is None:
            return

        def read() -> None:
            data = bytes(conn.readAll().data()).decode("utf-8", "replace").strip()
            if data:
                self.activated.emit(data)
                conn.disconnectFromServer()

        conn.readyRead.connect(read)
        conn.disconnected.connect(conn.deleteLater)
