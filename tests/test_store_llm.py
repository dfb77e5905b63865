"""Storage of LLM output: the suggestions and summaries tables, the recorder, feedback."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_assist.domain import (
    BackendStatus,
    CallStarted,
    CallSummaryReady,
    NoteReady,
    SentenceCheck,
    Speaker,
    SuggestionDropped,
    SuggestionReady,
    SuggestionToken,
)
from agent_assist.store import CallRecorder, Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "calls.sqlite3")
    yield database
    database.close()


def ready(
    call_id: str = "c1", sid: str = "s1", text: str = "Refunds take 5 days [1]."
) -> SuggestionReady:
    check = SentenceCheck(text, (1,), True, 0.91, "hybrid score 0.91")
    return SuggestionReady(
        call_id, f"{call_id}-u1", sid, text, (1,), ("refunds#what-to-do", "pause#how"),
        (f"{call_id}-u0", f"{call_id}-u1"), False, True, "1/1 sentences supported (hybrid)",
        (check,), "smollm2-135m", "llama-cpp", "suggest-2", 0.31, 1.42, 1.6, 12.0,
    )  # fmt: skip


def test_the_migration_adds_both_tables(db: Database) -> None:
    conn = db.connection()
    assert "m004_suggestions_summaries" in [r[0] for r in conn.execute("SELECT name FROM _migrations")]
    columns = {r[1] for r in conn.execute("PRAGMA table_info(suggestions)")}
    assert {"id", "call_id", "utterance_ids", "snippet_ids", "verdict", "prompt_version",
            "first_token_s", "total_s", "feedback", "feedback_at"} <= columns  # fmt: skip
    assert {r[1] for r in conn.execute("PRAGMA table_info(summaries)")} == {
        "call_id", "json", "model", "prompt_version", "valid", "fallback", "created_at",
    }  # fmt: skip


def test_recorder_stores_suggestions_summaries_and_notes(db: Database) -> None:
    record = CallRecorder(db)
    record(CallStarted("c1", "test", (Speaker.AGENT, Speaker.CUSTOMER)))
    record(ready())
    record(ready(sid="s2", text="You can pause for 1 to 3 months [2]."))
    record(SuggestionToken("c1", "c1-u1", "s3", "Refunds"))  # not stored
    record(SuggestionDropped("c1", "c1-u1", "s3", "superseded"))  # not stored
    record(BackendStatus("down", "server refused"))  # no call: not stored
    summary = {"reason_for_contact": "double charge", "disposition": "REFUND-ISSUED"}
    record(
        CallSummaryReady(
            "c1", json.dumps(summary), "REFUND-ISSUED", True, False, "m", "b", "summary-2", 4.2
        )
    )
    record(NoteReady("c1", "coaching", "Went well: calm.", "m", "b", "coach-1", 1.0))
    record(ready(call_id="late", sid="s9"))  # a call the recorder never saw start

    first, second = db.suggestions("c1")
    assert (first.id, second.id) == ("s1", "s2")
    assert first.utterance_ids == ("c1-u0", "c1-u1")
    assert first.snippet_ids == ("refunds#what-to-do", "pause#how")
    assert (first.extractive, first.grounded, first.model, first.backend) == (
        False,
        True,
        "smollm2-135m",
        "llama-cpp",
    )
    assert (first.prompt_version, first.first_token_s, first.total_s) == ("suggest-2", 0.31, 1.42)
    assert first.verdict["sentences"][0]["supported"] and first.verdict["citations"] == [1]
    assert first.feedback is None and first.feedback_at is None
    assert db.get_suggestion("s9") is not None and db.get_call("late") is not None

    stored = db.summary("c1")
    assert stored is not None and stored.data == summary
    assert (stored.valid, stored.fallback, stored.prompt_version) == (True, False, "summary-2")
    record(CallSummaryReady("c1", json.dumps({"x": 1}), "none", False, True, "m", "b", "summary-2", 0.1))
    again = db.summary("c1")
    assert again is not None and again.fallback and again.data == {"x": 1}  # a newer one replaces it
    assert db.summary("nope") is None

    kinds = [r[0] for r in db.connection().execute("SELECT type FROM events WHERE call_id = 'c1'")]
    assert kinds == ["note"]


def test_feedback_is_plus_or_minus_one_and_can_change(db: Database) -> None:
    record = CallRecorder(db)
    record(ready())
    assert db.set_feedback("s1", 1)
    first = db.get_suggestion("s1")
    assert first is not None and first.feedback == 1 and first.feedback_at
    assert db.set_feedback("s1", -1)
    second = db.get_suggestion("s1")
    assert second is not None and second.feedback == -1
    assert not db.set_feedback("missing", 1)
    with pytest.raises(ValueError, match=r"\+1 or -1"):
        db.set_feedback("s1", 0)
    with pytest.raises(sqlite3.IntegrityError):  # the table itself refuses other values
        db.connection().execute("UPDATE suggestions SET feedback = 5 WHERE id = 's1'")
