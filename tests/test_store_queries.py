"""History and health queries over a database filled by the real ``CallRecorder``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent_assist.domain import (
    CallEnded,
    CallStarted,
    CallSummaryReady,
    ChecklistProgress,
    ChecklistStep,
    DeviceState,
    DeviceStatus,
    IntentDetected,
    KnowledgeCard,
    KnowledgeCards,
    NoteReady,
    PipelineError,
    SentenceCheck,
    Silence,
    Speaker,
    SuggestionReady,
)
from agent_assist.domain import FinalUtterance as Final
from agent_assist.store import CallRecorder, Database
from agent_assist.store.queries import (
    CallFilter,
    call_detail,
    dispositions,
    health_stats,
    list_calls,
    percentiles,
)

A, C = Speaker.AGENT, Speaker.CUSTOMER

CALLS: dict[str, list[tuple[Speaker, float, float, str]]] = {
    "refund": [
        (A, 0.5, 3.0, "Thanks for calling Northwind Home, this call is recorded."),
        (C, 3.5, 7.0, "Hi, I was charged twice for my Brew Club plan this month."),
        (A, 7.5, 10.0, "I'm sorry about that, can I have your order number?"),
        (C, 10.5, 12.0, "Sure, it is NW 4417."),
        (C, 19.0, 23.0, "Can you tell me when the coffee grinder blades ship again?"),
        (A, 23.5, 27.0, "I have refunded the extra charge, it takes 3 to 5 business days."),
    ],
    "password": [
        (A, 0.3, 2.0, "Northwind Home, how can I help?"),
        (C, 2.5, 6.0, "I cannot log in, my password reset email never arrives."),
        (C, 6.5, 9.5, "Can you tell me when the coffee grinder blades ship again?"),
        (A, 10.0, 13.0, "Let me send a new reset link to your email now."),
    ],
    "short": [(C, 0.5, 2.0, "Hello? Is anyone there?")],
}
CARD = KnowledgeCard(
    "northwind-home",
    "refunds#what-to-do",
    "refunds-double-charge",
    "Double charges",
    ("Refunds",),
    "what-to-do",
    "Refund the duplicate charge.",
    0.71,
    0.03,
)


def record_history(db: Database) -> None:
    """Three calls as the live pipeline would publish them (refund: summary, cards, thumbs, alerts)."""
    record = CallRecorder(db)
    for call_id, lines in CALLS.items():
        record(CallStarted(call_id, "sample.wav", (A, C)))
        for n, (speaker, start, end, text) in enumerate(lines):
            uid = f"{call_id}-u{n}"
            record(Final(call_id, uid, speaker, start, end, text, 0.8))
            if (speaker is C and "charged twice" in text) or "password" in text:
                record(
                    KnowledgeCards(
                        call_id, uid, text, (CARD,), 0.71, 0.2 if call_id == "refund" else 0.4
                    )
                )
                record(IntentDetected(call_id, uid, "billing.double_charge", "Charged twice", 0.8))
        if call_id == "refund":
            record(Silence(call_id, C, 12.0, 6.0))
            record(DeviceStatus(call_id, C, "softphone.monitor", DeviceState.LOST, "unplugged"))
            record(PipelineError(call_id, "llm", "backend down"))
            check = SentenceCheck("Refund it [1].", (1,), True, 0.9)
            for sid, extractive, first, fb in (
                ("s1", False, 0.3, 1),
                ("s2", True, 0.5, -1),
                ("s3", False, 0.7, 1),
            ):
                record(
                    SuggestionReady(
                        call_id,
                        f"{call_id}-u1",
                        sid,
                        "I can refund the duplicate charge [1].",
                        (1,),
                        ("refunds#what-to-do",),
                        (f"{call_id}-u1",),
                        extractive,
                        not extractive,
                        "1/1 supported",
                        (check,),
                        "smollm2-135m",
                        "llama-cpp",
                        "suggest-2",
                        first,
                        1.5,
                        1.8,
                    )
                )
                db.set_feedback(sid, fb)
            record(
                ChecklistProgress(
                    call_id,
                    "refund-request",
                    "billing.double_charge",
                    (
                        ChecklistStep(
                            "recording-notice",
                            "Tell the customer the call is recorded",
                            True,
                            "refund-u0",
                        ),
                        ChecklistStep("close-call", "Ask if there is anything else", False),
                    ),
                )
            )
            summary = {
                "reason_for_contact": "Charged twice",
                "disposition": "REFUND-ISSUED",
                "resolution": "Refunded the duplicate charge",
                "key_facts": [],
                "identifiers": [],
                "actions_taken": [],
                "follow_ups": [],
                "sentiment_start": "negative",
                "sentiment_end": "positive",
            }
            record(
                CallSummaryReady(
                    call_id,
                    json.dumps(summary),
                    "REFUND-ISSUED",
                    True,
                    False,
                    "m",
                    "b",
                    "summary-2",
                    3.0,
                )
            )
            record(
                NoteReady(
                    call_id,
                    "coaching",
                    "Good empathy; state the timeline earlier.",
                    "m",
                    "b",
                    "coach-1",
                    1.0,
                )
            )
        if call_id != "short":
            record(CallEnded(call_id, lines[-1][2] + 1.0))
    conn = db.connection()
    conn.execute("UPDATE calls SET started_at = '2020-01-02T10:00:00.000+00:00' WHERE id = 'short'")
    conn.execute("UPDATE utterances SET latency_s = 0.5 + start / 100 WHERE call_id = 'refund'")
    conn.conn.commit()


@pytest.fixture
def history(tmp_path: Path) -> Iterator[Database]:
    db = Database.open(tmp_path / "calls.sqlite3")
    record_history(db)
    yield db
    db.close()


def test_list_calls_newest_first_with_first_customer_line(history: Database) -> None:
    rows = list_calls(history)
    assert [r.id for r in rows] == ["password", "refund", "short"]
    refund = rows[1]
    assert refund.first_customer_line.startswith("Hi, I was charged twice")
    assert refund.disposition == "REFUND-ISSUED" and refund.has_summary
    assert refund.duration == 28.0 and refund.status == "completed" and refund.utterance_count == 6
    assert rows[2].status == "active" and rows[2].duration is None


def test_filters(history: Database) -> None:
    def ids(**kw: object) -> list[str]:
        return [r.id for r in list_calls(history, CallFilter(**kw))]  # type: ignore[arg-type]

    hits = list_calls(history, CallFilter(text="charges"))  # stemmed: charged/charge
    assert [r.id for r in hits] == ["refund"] and "[charge" in hits[0].match
    assert ids(text="grinder blades") == ["password", "refund"]
    assert ids(text="nothing-like-this") == []
    assert ids(disposition="REFUND-ISSUED") == ["refund"]
    assert ids(has_summary=False) == ["password", "short"]
    assert ids(status="active") == ["short"]
    assert ids(since="2021-01-01") == ["password", "refund"]
    assert ids(until="2021-01-01") == ["short"]
    assert ids(limit=1) == ["password"]
    assert dispositions(history) == ["REFUND-ISSUED"]


def test_call_detail_and_timeline(history: Database) -> None:
    detail = call_detail(history, "refund")
    assert detail is not None and call_detail(history, "nope") is None
    assert [u.text for u in detail.utterances][1].startswith("Hi, I was charged twice")
    assert detail.summary is not None and detail.summary.data["disposition"] == "REFUND-ISSUED"
    assert [s.feedback for s in detail.suggestions] == [1, -1, 1]
    assert detail.cards[0].titles == ("Double charges",) and detail.cards[0].latency_s == 0.2
    assert detail.notes == (("coaching", "Good empathy; state the timeline earlier."),)
    assert detail.checklist is not None and detail.checklist["checklist_id"] == "refund-request"
    t = detail.timeline
    assert t.duration == 28.0 and len(t.segments) == 6
    assert t.talk["agent"] == pytest.approx(2.5 + 2.5 + 3.5)
    assert t.talk["customer"] == pytest.approx(3.5 + 1.5 + 4.0)
    assert (12.0, 19.0) in t.silences  # the gap and the Silence event (12-18) merged
    assert {m.kind for m in t.alerts} == {"device_status", "pipeline_error"}
    assert all(0 <= m.at <= t.duration for m in t.alerts)
    assert [(m.at, m.label) for m in t.intents] == [(7.0, "Charged twice")]


def test_health_stats(history: Database) -> None:
    stats = health_stats(history, days=7)
    assert stats.calls == 2  # 'short' is older than a week
    assert stats.suggestions == 3 and stats.thumbs_up == 2 and stats.thumbs_down == 1
    assert stats.acceptance == pytest.approx(2 / 3) and stats.rated == 3
    assert stats.grounding_rejection == pytest.approx(1 / 3)
    assert stats.retrieval.count == 2 and stats.retrieval.p50 == pytest.approx(0.3)
    assert stats.first_token.p50 == pytest.approx(0.5) and stats.generation.count == 3
    assert stats.transcription.count == 6 and stats.transcription.p50 == pytest.approx(0.59)
    assert stats.models == (("smollm2-135m", "llama-cpp", 3),)
    # customer turns in calls where retrieval ran: refund 3, password 2; two had cards
    assert stats.customer_turns == 5 and stats.turns_with_cards == 2
    assert stats.gaps[0].text == "Can you tell me when the coffee grinder blades ship again?"
    assert stats.gaps[0].count == 2 and stats.gaps[0].call_id == "password"
    assert [(g.text, g.count) for g in stats.gaps][1:] == [("Sure, it is NW 4417.", 1)]
    older = health_stats(history, days=365 * 20)
    assert older.calls == 3 and older.customer_turns == 5  # 'short' had no retrieval


def test_health_stats_on_an_empty_database(tmp_path: Path) -> None:
    with Database.open(tmp_path / "empty.sqlite3") as db:
        stats = health_stats(db, now=datetime.now(UTC) + timedelta(days=1))
    assert stats.calls == 0 and stats.acceptance is None and stats.grounding_rejection is None
    assert stats.retrieval.count == 0 and stats.retrieval.p50 is None and stats.gaps == ()


def test_percentiles() -> None:
    p = percentiles([float(v) for v in range(1, 101)])
    assert (p.count, p.p50, p.p90, p.p95) == (
        100,
        pytest.approx(50.5),
        pytest.approx(90.1),
        pytest.approx(95.05),
    )
    assert percentiles([2.0]).p95 == 2.0


def test_silence_is_where_every_channel_is_quiet() -> None:
    from agent_assist.store.timeline import build_timeline

    def said(uid: str, who: Speaker, start: float, end: float) -> Final:
        return Final("c", uid, who, start, end, "words", 0.9)

    finals = (said("1", A, 0.0, 10.0), said("2", C, 10.0, 20.0), said("3", A, 26.0, 30.0))
    agent_quiet = {"speaker": "agent", "since": 10.0, "duration": 16.0}  # while the customer talks
    customer_quiet = {"speaker": "customer", "since": 20.0, "duration": 10.0}
    events = [("silence", agent_quiet, ""), ("silence", customer_quiet, "")]
    t = build_timeline(30.0, "", finals, events)
    assert t.silences == ((20.0, 26.0),)  # not 10-20, when only the agent was quiet
    assert build_timeline(30.0, "", finals[:1], []).silences == ((10.0, 30.0),)
