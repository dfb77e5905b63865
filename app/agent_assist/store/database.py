"""The call-history database: one SQLite file in WAL mode, opened once per run.

Why these settings:

* **WAL** lets the UI read call history while the pipeline writes, and makes a
  commit one append to the ``-wal`` file.
* **synchronous=NORMAL**: in WAL mode a committed transaction is in the
  ``-wal`` file (the OS page cache) when ``COMMIT`` returns, so a crash or
  SIGKILL of *the process* loses nothing committed -- only the utterance still
  being recognised. Only an OS crash or power loss can drop the last few
  commits (never corrupting the file). ``FULL`` would add an fsync per
  utterance, costing milliseconds on the worker thread for that rare case.
* **foreign_keys** on, **busy_timeout** 5 s so a reader never makes a writer
  fail outright.

Opening also sweeps calls left ``active`` by a process that no longer runs
into ``interrupted`` (each call records its process id and host, so a second
running instance never sweeps a live call).

Thread rules: a ``Database`` may be shared by all threads, but SQLite
connections are not: ``connection()`` lazily opens one connection *per
thread* on first use and reuses it there. Writes happen on the calling thread
(the pipeline worker calls the recorder directly; one INSERT+COMMIT is well
under a millisecond), so when the recorder returns the row is durable.
A thread's connection is closed when that thread ends, so an app that runs for
days while threads come and go (STT, retrieval and generation workers, one
set per call) holds one connection per *live* thread, not one per thread it
ever had. ``close()`` closes every connection still open, whichever thread
calls it; call it after the pipeline has stopped.

Why per-thread connections rather than one shared connection behind a lock:
callers run multi-statement transactions on "their" connection
(``with db.atomic(): ...`` in the recorder), so a shared connection would
need the lock held around whole transactions by every caller, and a GUI
query would then hold up the STT worker's commit; per-thread connections keep
WAL's readers-never-block-the-writer. How a thread's end is noticed: the
connection's owner token lives in a ``threading.local``; CPython drops a
thread's locals when the thread ends, and a ``weakref.finalize`` on the token
closes the connection (a rollback of anything uncommitted: a dead thread's
half transaction) and forgets it. Each connection commits its own
transactions, so closing one never loses another's committed rows (the WAL
crash-safety guarantee above is per commit, not per connection).

Errors: an unreadable, corrupt or read-only database becomes a ``UserError``
naming the file and the fix. Corruption deep inside old pages only shows when
they are read, so the query helpers translate errors too; ``quick_check()``
scans the whole file on demand.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import sys
import threading
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import sqlite_utils

from agent_assist import paths
from agent_assist.domain import FinalUtterance
from agent_assist.errors import UserError
from agent_assist.store.migrations import migrate
from agent_assist.store.records import (
    CallRecord,
    SearchHit,
    SuggestionRecord,
    SummaryRecord,
    call_record,
    suggestion_record,
    utterance_from_row,
)

__all__ = [
    "CallRecord",
    "Database",
    "SearchHit",
    "SuggestionRecord",
    "SummaryRecord",
    "now_iso",
    "translate_error",
]

BUSY_TIMEOUT_MS = 5000


def now_iso() -> str:
    """Wall-clock time as ISO 8601 UTC with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def translate_error(path: Path, exc: BaseException) -> UserError | None:
    """The ``UserError`` for a database problem the user can fix, else ``None``."""
    where = f"the call history database {path}"
    if isinstance(exc, OSError):
        return UserError(
            f"cannot create {where}: {exc.strerror or exc} ({exc.filename or path.parent})",
            fix="make the folder writable, or set AGENT_ASSIST_HOME to a writable folder",
        )
    if not isinstance(exc, sqlite3.Error):
        return None
    code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
        broken = path.with_name(path.name + ".broken")
        return UserError(
            f"{where} is damaged or is not a database ({exc})",
            fix=f"move it aside (e.g. rename it to {broken.name}, with any -wal/-shm files "
            "next to it); the app then starts a fresh, empty call history",
        )
    if code == sqlite3.SQLITE_READONLY:
        return UserError(
            f"cannot write {where}: it is read-only ({exc})",
            fix="make the file and its folder writable, or set AGENT_ASSIST_HOME to a writable folder",
        )
    if code == sqlite3.SQLITE_CANTOPEN:
        return UserError(
            f"cannot open or create {where} ({exc})",
            fix="check the folder exists and is writable, or set AGENT_ASSIST_HOME to a writable folder",
        )
    if code == sqlite3.SQLITE_FULL:
        return UserError(f"the disk holding {where} is full", fix="free some disk space")
    if code == sqlite3.SQLITE_BUSY:
        return UserError(
            f"{where} is locked by another program",
            fix="close the other Agent Assist window (only one may run at a time)",
        )
    return None


class Database:
    """Call history on disk. Create with ``Database.open()``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.interrupted: tuple[str, ...] = ()
        """Calls found ``active`` at open (their process died), now ``interrupted``."""
        self.applied_migrations: tuple[str, ...] = ()
        """Migrations this open applied (empty when the schema was current)."""
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: dict[int, sqlite_utils.Database] = {}  # by id(): open, not yet closed
        self._closed = False
        self.recording: set[str] = set()
        """Calls a ``CallRecorder`` on this open database is writing right now."""
        _OPEN.add(self)

    @classmethod
    def open(cls, path: Path | None = None) -> Database:
        """Open (creating if needed) and migrate the database; sweep dead calls."""
        if path is None:
            try:
                path = paths.database_path()
            except OSError as exc:
                raise UserError(
                    f"cannot create the data folder {exc.filename}: {exc.strerror or exc}",
                    fix="make the folder writable, or set AGENT_ASSIST_HOME to a writable folder",
                ) from exc
        database = cls(path)
        try:
            with database.translating():
                path.parent.mkdir(parents=True, exist_ok=True)
                db = database.connection()
                db.enable_wal()
                database.applied_migrations = tuple(migrate(db))
                database.interrupted = database._sweep_interrupted(db)
        except BaseException:
            database.close()
            raise
        return database

    def connection(self) -> sqlite_utils.Database:
        """This thread's connection, opened on first use (closed when the thread ends)."""
        db: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if db is not None:
            return db
        if self._closed:
            raise RuntimeError(f"database {self.path} is closed")
        conn = sqlite3.connect(str(self.path), check_same_thread=False)
        db = sqlite_utils.Database(conn, execute_plugins=False)
        try:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        if not self._register(db):  # close() ran meanwhile
            conn.close()
            raise RuntimeError(f"database {self.path} is closed")
        owner = _Owner()
        # No reference to self: an unclosed Database may still be garbage collected.
        finalizer = weakref.finalize(owner, _release, self._lock, self._connections, db)
        finalizer.atexit = False
        self._local.owner = owner  # dropped by CPython when this thread ends
        self._local.db = db
        return db

    def _register(self, db: sqlite_utils.Database) -> bool:
        with self._lock:
            if self._closed:
                return False
            self._connections[id(db)] = db
            return True

    @property
    def open_connections(self) -> int:
        """Connections open now: one per live thread that has used the database."""
        with self._lock:
            return len(self._connections)

    @contextlib.contextmanager
    def translating(self) -> Iterator[None]:
        """Turn database problems the user can fix into ``UserError``."""
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            error = translate_error(self.path, exc)
            if error is None:
                raise
            raise error from exc

    def close(self) -> None:
        """Close every thread's connection, from any thread (after the writers have stopped)."""
        with self._lock:
            self._closed = True
            connections = list(self._connections.values())
            self._connections.clear()
        _OPEN.discard(self)
        self._local = threading.local()  # a thread still running gets "closed", not a dead handle
        for db in connections:
            with contextlib.suppress(sqlite3.Error):
                db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- queries (any thread) -------------------------------------------------

    def list_calls(self, limit: int = 50) -> list[CallRecord]:
        """The most recent calls first."""
        return [
            call_record(row)
            for row in self._query(
                _CALLS_SQL + " ORDER BY c.started_at DESC, c.rowid DESC LIMIT ?", [limit]
            )
        ]

    def get_call(self, call_id: str) -> CallRecord | None:
        rows = self._query(_CALLS_SQL + " WHERE c.id = ?", [call_id])
        return call_record(rows[0]) if rows else None

    def utterances(self, call_id: str) -> list[FinalUtterance]:
        """The call's final utterances in call-time order."""
        sql = 'SELECT * FROM utterances WHERE call_id = ? ORDER BY start, "end", rowid'
        return [utterance_from_row(row) for row in self._query(sql, [call_id])]

    def search(self, text: str, limit: int = 50) -> list[SearchHit]:
        """Utterances matching every word of ``text`` (stemmed), best first."""
        query = self.connection().quote_fts(text.strip())
        if not query:
            return []
        sql = (
            "SELECT u.*, snippet(utterances_fts, 0, '[', ']', '…', 12) AS snippet"
            " FROM utterances_fts JOIN utterances u ON u.rowid = utterances_fts.rowid"
            " WHERE utterances_fts MATCH ? ORDER BY rank LIMIT ?"
        )
        return [
            SearchHit(utterance_from_row(row), row["snippet"])
            for row in self._query(sql, [query, limit])
        ]

    def suggestions(self, call_id: str) -> list[SuggestionRecord]:
        """The call's stored reply suggestions, oldest first."""
        sql = "SELECT * FROM suggestions WHERE call_id = ? ORDER BY created_at, rowid"
        return [suggestion_record(row) for row in self._query(sql, [call_id])]

    def get_suggestion(self, suggestion_id: str) -> SuggestionRecord | None:
        rows = self._query("SELECT * FROM suggestions WHERE id = ?", [suggestion_id])
        return suggestion_record(rows[0]) if rows else None

    def summary(self, call_id: str) -> SummaryRecord | None:
        """The call's stored summary, if one was made."""
        rows = self._query("SELECT * FROM summaries WHERE call_id = ?", [call_id])
        if not rows:
            return None
        row = rows[0]
        return SummaryRecord(
            call_id=row["call_id"],
            data=json.loads(row["json"]),
            model=row["model"],
            prompt_version=row["prompt_version"],
            valid=bool(row["valid"]),
            fallback=bool(row["fallback"]),
            created_at=row["created_at"],
        )

    def set_feedback(self, suggestion_id: str, value: int) -> bool:
        """Record the agent's thumbs up (+1) or down (-1); False if no such suggestion.

        A later rating replaces an earlier one. Writes on the calling thread.
        """
        if value not in (1, -1):
            raise ValueError(f"feedback must be +1 or -1, not {value!r}")
        with self.translating():
            db = self.connection()
            with db.atomic():
                cursor = db.execute(
                    "UPDATE suggestions SET feedback = ?, feedback_at = ? WHERE id = ?",
                    [value, now_iso(), suggestion_id],
                )
        return bool(cursor.rowcount)

    def save_wrapup(self, call_id: str, summary_json: str, disposition: str) -> bool:
        """Store the agent's wrap-up of ``call_id`` (edited summary JSON, disposition code).

        A later save replaces an earlier one; False if there is no such call.
        Writes on the calling thread.
        """
        with self.translating():
            db = self.connection()
            with db.atomic():
                if db.execute("SELECT 1 FROM calls WHERE id = ?", [call_id]).fetchone() is None:
                    return False
                db.execute(
                    "INSERT OR REPLACE INTO wrapups (call_id, summary_json, disposition, saved_at)"
                    " VALUES (?, ?, ?, ?)",
                    [call_id, summary_json, disposition, now_iso()],
                )
        return True

    def quick_check(self) -> list[str]:
        """SQLite's ``PRAGMA quick_check``: ``["ok"]`` or a list of problems."""
        return [str(row["quick_check"]) for row in self._query("PRAGMA quick_check", [])]

    def _query(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        with self.translating():
            return list(self.connection().query(sql, params))

    def _sweep_interrupted(self, db: sqlite_utils.Database) -> tuple[str, ...]:
        """Mark calls a dead process left ``active`` as ``interrupted``."""
        with db.atomic():
            rows = db.execute(
                "SELECT id, owner_pid, owner_host FROM calls WHERE status = 'active'"
            ).fetchall()
            live = {call for database in list(_OPEN) for call in database.recording}
            ids = tuple(
                str(row[0])
                for row in rows
                if str(row[0]) not in live and not _owner_alive(row[1], row[2])
            )
            now = now_iso()
            for call_id in ids:
                db.execute(
                    "UPDATE calls SET status = 'interrupted', end_reason = 'process ended',"
                    ' duration = (SELECT max("end") FROM utterances WHERE call_id = ?)'
                    " WHERE id = ?",
                    [call_id, call_id],
                )
                db.execute(
                    "INSERT INTO events (call_id, type, payload, created_at)"
                    " VALUES (?, 'interrupted', ?, ?)",
                    [call_id, json.dumps({"detected_at": now}), now],
                )
        return ids


_OPEN: weakref.WeakSet[Database] = weakref.WeakSet()
"""Open databases in this process; their ``recording`` calls are live."""


class _Owner:
    """Lives in a thread's ``threading.local`` while its connection may be used."""

    __slots__ = ("__weakref__",)


def _release(
    lock: threading.Lock, connections: dict[int, sqlite_utils.Database], db: sqlite_utils.Database
) -> None:
    """Close a connection whose thread has ended, unless ``close()`` already did."""
    with lock:
        mine = connections.pop(id(db), None) is db
    if mine:
        with contextlib.suppress(sqlite3.Error):
            db.close()


def _owner_alive(pid: object, host: object) -> bool:
    """Whether another process that recorded a call still runs (on this host)."""
    if not isinstance(pid, int) or host != socket.gethostname() or pid == os.getpid():
        return False
    if sys.platform == "win32":
        return _windows_process_alive(pid)
    else:  # a platform branch: mypy checks each OS's own
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # it exists, under another user
        return True


if sys.platform == "win32":

    def _windows_process_alive(pid: int) -> bool:
        """Windows has no signal 0: ``os.kill(pid, 0)`` would send CTRL_C_EVENT. Ask
        for the process's exit code instead (259, STILL_ACTIVE, while it runs)."""
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return bool(kernel32.GetLastError() == 5)  # ERROR_ACCESS_DENIED: another user's
        try:
            code = ctypes.c_ulong()
            ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return bool(ok) and code.value == 259
        finally:
            kernel32.CloseHandle(handle)

else:

    def _windows_process_alive(pid: int) -> bool:
        return False


_CALLS_SQL = (
    "SELECT c.*, (SELECT count(*) FROM utterances u WHERE u.call_id = c.id) AS utterance_count"
    " FROM calls c"
)
