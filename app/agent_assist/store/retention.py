"""Retention (``privacy.retention_days``): calls older than N days leave the history entirely.

What a purge removes, for every call that *started* before ``now - days``
and is not still recording (status ``active``):

* its row in ``calls`` and its rows in every table that references
  ``calls(id)`` -- found from the schema's foreign keys, so a table a later
  migration adds is purged too (utterances, events, suggestions, summaries,
  wrap-ups today);
* its utterances' full-text entries (the FTS triggers delete them with the
  rows; an FTS ``optimize`` then rewrites the index so the deleted terms are
  not left in old segments);
* its audio file, and any file in the audio folder older than the cut-off that
  no kept call points at (a WAV left by a crash before its row was written).

``days == 0`` keeps everything (the setting's documented "keep until deleted
by hand"; the schema allows 0-3650). The purge runs with ``secure_delete``
on, so the freed pages are overwritten with zeros rather than left readable
in the file; copies in the ``-wal`` file go when SQLite next checkpoints it
(automatic, every ~1000 pages).

Why batches: a purge shares the database with a call being recorded; each
batch of ``BATCH`` calls is one short transaction, so the STT worker's
per-utterance commit never waits behind a long delete (the busy timeout
covers the wait).

Thread rules: any thread; it uses the calling thread's connection. The
engine runs it at start and then once a day on its own timer thread.
``now`` is injected (an aware ``datetime``) so tests need not wait days.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlite_utils

from agent_assist.store.audio import audio_dir
from agent_assist.store.database import Database

__all__ = ["BATCH", "Purged", "call_tables", "cutoff_iso", "purge_older_than"]

log = logging.getLogger(__name__)

BATCH = 50
"""Calls deleted per transaction."""


@dataclass(frozen=True, slots=True)
class Purged:
    """What one purge removed: the calls (ids) and how many audio files."""

    calls: tuple[str, ...] = ()
    files: int = 0


def cutoff_iso(days: int, now: datetime) -> str:
    """``now - days`` in the form ``calls.started_at`` is stored in (ISO 8601 UTC, ms)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (e.g. datetime.now(UTC))")
    return (now - timedelta(days=days)).astimezone(UTC).isoformat(timespec="milliseconds")


def call_tables(db: sqlite_utils.Database) -> list[str]:
    """Tables with a foreign key to ``calls`` (children first is not needed: one level)."""
    found = []
    for name in db.table_names():
        rows = db.execute(f"PRAGMA foreign_key_list([{name}])").fetchall()
        if any(row[2] == "calls" for row in rows):
            found.append(name)
    return sorted(found)


def purge_older_than(database: Database, days: int, now: datetime | None = None) -> Purged:
    """Delete calls that started more than ``days`` days before ``now`` (see the module doc).

    ``days == 0`` keeps everything; a negative ``days`` is a ``ValueError``.
    ``now`` defaults to the wall clock.
    """
    if days < 0:
        raise ValueError(f"retention days must be 0 (keep) or more, not {days}")
    if days == 0:
        return Purged()
    cutoff = cutoff_iso(days, now or datetime.now(UTC))
    with database.translating():
        db = database.connection()
        secure = db.execute("PRAGMA secure_delete").fetchone()[0]
        db.execute("PRAGMA secure_delete = ON")
        try:
            ids, paths = _purge_rows(database, db, cutoff)
            if ids and "utterances_fts" in db.table_names():
                with db.atomic():
                    db.execute("INSERT INTO utterances_fts (utterances_fts) VALUES ('optimize')")
            kept = {
                str(row[0])
                for row in db.execute("SELECT audio_path FROM calls WHERE audio_path IS NOT NULL")
            }
        finally:
            db.execute(f"PRAGMA secure_delete = {int(secure)}")
    files = sum(_remove(Path(p)) for p in paths)
    files += _sweep_orphans(audio_dir(database.path), cutoff, kept)
    if ids or files:
        log.info("retention: removed %d calls and %d audio files older than %d days",
                 len(ids), files, days)  # fmt: skip
    return Purged(tuple(ids), files)


def _purge_rows(
    database: Database, db: sqlite_utils.Database, cutoff: str
) -> tuple[list[str], list[str]]:
    """Delete the old calls batch by batch; their ids and audio paths."""
    tables = call_tables(db)
    ids: list[str] = []
    paths: list[str] = []
    while True:
        recording = sorted(database.recording)  # this process's live calls (also 'active')
        with db.atomic():
            rows = db.execute(
                "SELECT id, audio_path FROM calls WHERE started_at < ? AND status != 'active'"
                f" AND id NOT IN ({', '.join('?' * len(recording))}) ORDER BY started_at LIMIT ?",
                [cutoff, *recording, BATCH],
            ).fetchall()
            batch = [str(row[0]) for row in rows]
            if not batch:
                return ids, paths
            marks = ", ".join("?" * len(batch))
            for table in tables:  # explicit, not only ON DELETE CASCADE: FTS triggers fire per row
                db.execute(f"DELETE FROM [{table}] WHERE call_id IN ({marks})", batch)
            db.execute(f"DELETE FROM calls WHERE id IN ({marks})", batch)
        ids.extend(batch)
        paths.extend(str(row[1]) for row in rows if row[1])


def _remove(path: Path) -> int:
    try:
        path.unlink()
    except FileNotFoundError:
        return 0
    except OSError as exc:  # locked (a player has it open on Windows): the sweep retries tomorrow
        log.warning("retention: cannot delete %s: %s", path, exc)
        return 0
    return 1


def _sweep_orphans(folder: Path, cutoff: str, kept: set[str]) -> int:
    """Audio files older than the cut-off that no kept call points at.

    A file is written from its call's start on, so one last modified before
    the cut-off belongs to a call that started before it too.
    """
    if not folder.is_dir():
        return 0
    limit = datetime.fromisoformat(cutoff).timestamp()
    removed = 0
    for path in folder.glob("*.wav"):
        with contextlib.suppress(OSError):
            if str(path) not in kept and path.stat().st_mtime < limit:
                removed += _remove(path)
    return removed
