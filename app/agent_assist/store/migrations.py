"""Schema migrations: small functions applied once each, in order.

Why function-style (in the spirit of simonw/llm's ``migrations.py``): each step
is a few lines of plain SQL or sqlite-utils calls, is easy to review, and the
database remembers by *name* which steps it has had in the ``_migrations``
table, so re-opening is a no-op and a new release only appends functions.

Rules for adding one: append a new decorated function at the bottom (never
edit or reorder a released one), name it ``mNNN_what_it_does``, and keep it
free of commits -- ``migrate`` runs each function and records its name inside
one transaction, so a failure leaves neither a half-changed schema nor a record.

Thread rules: ``migrate`` runs on the thread that owns ``db`` (the opener),
before any recorder writes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlite_utils

__all__ = ["MIGRATIONS", "Migration", "migrate", "migration"]

Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    """Register ``fn`` as the next migration step."""
    MIGRATIONS.append(fn)
    return fn


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply every registered migration ``db`` has not had; return their names."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    done = {row[0] for row in db.execute("SELECT name FROM _migrations").fetchall()}
    applied: list[str] = []
    for fn in list(MIGRATIONS):
        name = fn.__name__
        if name in done:
            continue
        with db.atomic():
            fn(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                [name, datetime.now(UTC).isoformat(timespec="milliseconds")],
            )
        applied.append(name)
    return applied


@migration
def m001_calls_utterances_events(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE calls (
            id TEXT PRIMARY KEY,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            status TEXT NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'completed', 'interrupted')),
            source TEXT NOT NULL DEFAULT '',
            speakers TEXT NOT NULL DEFAULT '[]',
            duration REAL,
            end_reason TEXT
        )
        """
    )
    db.execute("CREATE INDEX calls_status ON calls (status)")
    db.execute("CREATE INDEX calls_started_at ON calls (started_at)")
    db.execute(
        """
        CREATE TABLE utterances (
            id TEXT PRIMARY KEY,
            call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
            speaker TEXT NOT NULL,
            start REAL NOT NULL,
            "end" REAL NOT NULL,
            text TEXT NOT NULL,
            confidence REAL NOT NULL,
            words TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX utterances_call_start ON utterances (call_id, start)")
    db.execute(
        """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
            type TEXT NOT NULL,
            payload TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX events_call ON events (call_id)")


@migration
def m002_utterances_fts(db: sqlite_utils.Database) -> None:
    # Porter stemming so "refunds" finds "refund"; triggers keep it in step.
    db.table("utterances").enable_fts(["text"], create_triggers=True, tokenize="porter")


@migration
def m003_call_owner(db: sqlite_utils.Database) -> None:
    # The process recording a call, so opening the database sweeps only calls
    # whose process is gone, never a live call of another running instance.
    db.execute("ALTER TABLE calls ADD COLUMN owner_pid INTEGER")
    db.execute("ALTER TABLE calls ADD COLUMN owner_host TEXT")


@migration
def m004_suggestions_summaries(db: sqlite_utils.Database) -> None:
    # What the LLM produced and what it was built from, so a supervisor can
    # audit a suggestion (utterances, snippets, model, prompt, verdict) and the
    # agent's thumbs up/down can be measured against it.
    db.execute(
        """
        CREATE TABLE suggestions (
            id TEXT PRIMARY KEY,
            call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
            utterance_ids TEXT NOT NULL DEFAULT '[]',
            snippet_ids TEXT NOT NULL DEFAULT '[]',
            text TEXT NOT NULL,
            extractive INTEGER NOT NULL,
            grounded INTEGER NOT NULL,
            verdict TEXT NOT NULL DEFAULT '{}',
            model TEXT NOT NULL,
            backend TEXT NOT NULL,
            prompt_version TEXT NOT NULL,
            first_token_s REAL,
            total_s REAL,
            created_at TEXT NOT NULL,
            feedback INTEGER CHECK (feedback IN (-1, 1)),
            feedback_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX suggestions_call ON suggestions (call_id, created_at)")
    db.execute(
        """
        CREATE TABLE summaries (
            call_id TEXT PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
            json TEXT NOT NULL,
            model TEXT NOT NULL,
            prompt_version TEXT NOT NULL,
            valid INTEGER NOT NULL,
            fallback INTEGER NOT NULL,
            created_at TEXT NOT NULL
        )
        """
    )


@migration
def m005_utterance_latency(db: sqlite_utils.Database) -> None:
    # Transcription latency of each final (seconds from the end of its audio to
    # the final being emitted), for the supervisor's health view; NULL when the
    # call was not real time (a file replayed at full speed) or not measured.
    db.execute("ALTER TABLE utterances ADD COLUMN latency_s REAL")


@migration
def m006_call_wrapups(db: sqlite_utils.Database) -> None:
    # The wrap-up the agent saved: the summary as edited (the model's own stays
    # in ``summaries``) and the disposition code chosen.
    db.execute(
        """
        CREATE TABLE wrapups (
            call_id TEXT PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
            summary_json TEXT NOT NULL,
            disposition TEXT NOT NULL,
            saved_at TEXT NOT NULL
        )
        """
    )


@migration
def m007_call_audio_path(db: sqlite_utils.Database) -> None:
    # The call's audio file when ``privacy.store_audio`` kept one (absolute path
    # of a WAV under ``<data>/audio/``), so retention can delete the file with
    # the call and the history can play it; NULL when no audio was kept.
    db.execute("ALTER TABLE calls ADD COLUMN audio_path TEXT")
