"""Printers: what a terminal, a pipe and subtitle files get."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import pytest

from agent_assist.cli.render import TranscriptPrinter, jsonable
from agent_assist.domain import (
    BackendStatus,
    CallSummaryReady,
    FinalUtterance,
    KnowledgeCard,
    KnowledgeCards,
    NoteReady,
    PartialText,
    SentenceCheck,
    Speaker,
    SuggestionDropped,
    SuggestionReady,
    SuggestionStarted,
    SuggestionToken,
    Word,
)

PARTIAL = PartialText("c", "c:agent:1", Speaker.AGENT, 1.0, 3.0, "word " * 40)
FINAL = FinalUtterance(
    "c", "c:agent:1", Speaker.AGENT, 1.0, 3.2, "Hello there.", 0.9, (Word("Hello", 1.0, 1.4, 0.9),)
)


def test_live_partial_stays_on_one_terminal_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    out = io.StringIO()
    printer = TranscriptPrinter("text", out, partials=True, live_line=True)
    printer(PARTIAL)
    shown = out.getvalue().split("\x1b[2K")[-1]
    assert len(shown) <= 60 and "\n" not in shown
    printer(FINAL)
    assert out.getvalue().endswith("\r\x1b[2K[00:01.0] agent: Hello there.\n")


def test_jsonl_keeps_words_and_skips_partials_unless_asked() -> None:
    out = io.StringIO()
    TranscriptPrinter("jsonl", out)(PARTIAL)
    assert out.getvalue() == ""
    TranscriptPrinter("jsonl", out)(FINAL)
    record = json.loads(out.getvalue())
    assert record["type"] == "final_utterance" and record["words"][0]["text"] == "Hello"


def test_subtitles() -> None:
    vtt, srt = io.StringIO(), io.StringIO()
    TranscriptPrinter("vtt", vtt)(FINAL)
    TranscriptPrinter("srt", srt)(FINAL)
    assert vtt.getvalue() == "WEBVTT\n\n00:00:01.000 --> 00:00:03.200\n<v agent>Hello there.\n\n"
    assert srt.getvalue() == "1\n00:00:01,000 --> 00:00:03,200\n[agent] Hello there.\n\n"


CARD = KnowledgeCard(
    "northwind-home",
    "refunds-double-charge#what-to-do",
    "refunds-double-charge",
    "Double charge on a subscription",
    ("Double charge on a subscription", "What to do"),
    "what-to-do",
    "1. Verify identity: full name, order number \u2014 \u201cNW4817\u201d.\n2. " + "Refund it. " * 20,
    0.6234,
    0.0325,
)
CARDS = KnowledgeCards("c", "c:customer:2", "charged twice", (CARD,), 0.6234, 0.08, 5.0)


def test_cards_in_text_are_two_ascii_lines_under_the_turn() -> None:
    out = io.StringIO()
    TranscriptPrinter("text", out)(CARDS)
    head, snippet, end = out.getvalue().split("\n")
    assert head == (
        "  kb> [0.62] Double charge on a subscription > What to do"
        "  (northwind-home/refunds-double-charge#what-to-do)"
    )
    assert snippet.startswith(
        '         1. Verify identity: full name, order number - "NW4817". 2. Refund'
    )
    assert snippet.endswith("...") and len(snippet.strip()) == 110 and end == ""
    assert out.getvalue().isascii()


def test_cards_clear_a_live_partial_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    out = io.StringIO()
    printer = TranscriptPrinter("text", out, partials=True, live_line=True, colour=True)
    printer(PARTIAL)
    printer(CARDS)
    tail = out.getvalue().split("\x1b[2K")[-1]
    assert tail.startswith("  \x1b[32mkb>\x1b[0m [0.62] Double charge")


def test_cards_in_jsonl_and_not_in_subtitles() -> None:
    out = io.StringIO()
    TranscriptPrinter("jsonl", out)(CARDS)
    record = json.loads(out.getvalue())
    assert record["type"] == "knowledge_cards" and record["utterance_id"] == "c:customer:2"
    assert record["confidence"] == 0.623 and record["latency_s"] == 0.08
    card = record["cards"][0]
    assert card["chunk_id"] == "refunds-double-charge#what-to-do" and card["similarity"] == 0.623
    assert card["heading_path"] == ["Double charge on a subscription", "What to do"]
    vtt, srt = io.StringIO(), io.StringIO()
    TranscriptPrinter("vtt", vtt)(CARDS)
    TranscriptPrinter("srt", srt)(CARDS)
    assert vtt.getvalue() == "WEBVTT\n\n" and srt.getvalue() == ""


# ---- the language model's output ---------------------------------------------

CHECK = SentenceCheck("We refund it today [1].", (1,), True, 0.91, "hybrid score 0.91")
READY = SuggestionReady(
    "c", "c:customer:2", "s1", "We refund it \u201ctoday\u201d [1].", (1,), ("refunds#what-to-do",),
    ("c:customer:2",), False, True, "1/1 sentences supported (hybrid)", (CHECK,),
    "smollm2", "llama-cpp", "suggest-1", 0.4, 1.2, 1.3, 9.0,
)  # fmt: skip
SUMMARY = {
    "reason_for_contact": "Charged twice",
    "key_facts": ["Two charges of 39 USD", "Order NW4817"],
    "identifiers": ["NW4817"],
    "actions_taken": ["Refunded the second charge"],
    "resolution": "Refund issued",
    "follow_ups": [],
    "sentiment_start": "negative",
    "sentiment_end": "positive",
    "disposition": "REFUND-ISSUED",
}
SUMMARY_READY = CallSummaryReady(
    "c", json.dumps(SUMMARY), "REFUND-ISSUED", True, False, "smollm2", "llama-cpp", "summary-2", 5.0
)
NOTE = NoteReady("c", "coaching", "Good empathy. " * 30, "smollm2", "llama-cpp", "coach-1", 3.0)
STARTED = SuggestionStarted("c", "c:customer:2", "s1")
TOKEN = SuggestionToken("c", "c:customer:2", "s1", "We refund")


def _text(*events: Any, **kwargs: Any) -> str:
    out = io.StringIO()
    printer = TranscriptPrinter("text", out, **kwargs)
    for event in events:
        printer(event)
    return out.getvalue()


def test_a_suggestion_is_one_ascii_say_line_marked_grounded_or_extractive() -> None:
    line = _text(READY)
    assert line.startswith('  say> "We refund it "today" [1]."') and line.endswith("(grounded)\n")
    assert line.count("\n") == 1 and line.isascii()
    quoted = _text(dataclasses.replace(READY, extractive=True))
    assert quoted.endswith("(extractive)\n")


def test_drafts_in_progress_are_never_printed() -> None:
    assert _text(STARTED, TOKEN) == ""
    out = io.StringIO()
    printer = TranscriptPrinter("jsonl", out)
    printer(STARTED)
    printer(TOKEN)
    assert out.getvalue() == ""
    for fmt in ("vtt", "srt"):
        out = io.StringIO()
        sub = TranscriptPrinter(fmt, out)
        before = out.getvalue()
        for event in (READY, SUMMARY_READY, NOTE, TOKEN):
            sub(event)
        assert out.getvalue() == before


def test_only_dropped_suggestions_that_failed_are_shown_in_text() -> None:
    assert _text(SuggestionDropped("c", "u", "s", "superseded")) == ""
    assert _text(SuggestionDropped("c", "u", "s", "no grounded answer in the snippets")) == ""
    shown = _text(SuggestionDropped("c", "u", "s", "error: Boom"))
    assert "Boom" in shown and shown.count("\n") == 1


def test_summary_block_has_every_field_and_says_how_it_was_made() -> None:
    block = _text(SUMMARY_READY)
    lines = block.splitlines()
    assert lines[0].startswith("== call summary") and "schema-valid" in lines[0]
    labels = [line.split(":")[0].strip() for line in lines[1:] if not line.startswith("    ")]
    assert labels == ["reason", "key facts", "identifiers", "actions", "resolution", "follow-ups",
                      "sentiment", "disposition"]  # fmt: skip
    assert "Two charges of 39 USD; Order NW4817" in block and "REFUND-ISSUED" in block
    fallback = _text(dataclasses.replace(SUMMARY_READY, valid=False, fallback=True))
    assert "rule-based" in fallback.splitlines()[0]
    down = BackendStatus("down", "refused", "openai-http", "m")
    after_down = _text(down, dataclasses.replace(SUMMARY_READY, valid=False, fallback=True))
    assert "unavailable" in after_down.splitlines()[1]


def test_note_block_is_wrapped_under_its_heading() -> None:
    block = _text(NOTE)
    head, *body = block.splitlines()
    assert head == "== coaching note ==" and len(body) > 1
    assert all(line.startswith("  ") and len(line) <= 100 for line in body)


def test_backend_status_prints_going_down_and_coming_back_only() -> None:
    ready = BackendStatus("ready", "", "llama-cpp", "smollm2")
    down = BackendStatus("down", "LLM server refused the connection", "openai-http", "m")
    assert _text(ready) == "" and _text(BackendStatus("loading")) == ""
    shown = _text(ready, down, down, ready, ready).splitlines()
    assert shown == ["  llm> down: LLM server refused the connection", "  llm> ready again"]


def test_jsonl_records_of_the_model_with_nested_checks_and_the_summary_object() -> None:
    out = io.StringIO()
    printer = TranscriptPrinter("jsonl", out)
    for event in (READY, SUMMARY_READY, NOTE, SuggestionDropped("c", "u", "", "superseded"),
                  BackendStatus("down", "why", "b", "m")):  # fmt: skip
        printer(event)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["type"] for r in records] == [
        "suggestion_ready", "call_summary_ready", "note_ready", "suggestion_dropped", "backend_status"
    ]  # fmt: skip
    ready, summary = records[0], records[1]
    assert ready["sentences"] == [
        {"text": CHECK.text, "cited": [1], "supported": True, "score": 0.91, "reason": CHECK.reason}
    ]
    assert ready["citations"] == [1] and ready["snippet_ids"] == ["refunds#what-to-do"]
    assert summary["summary"] == SUMMARY and "summary_json" not in summary
    assert summary["valid"] is True and summary["disposition"] == "REFUND-ISSUED"


def test_jsonable_handles_nested_dataclasses_sets_enums_and_odd_floats() -> None:
    @dataclasses.dataclass(frozen=True)
    class Inner:
        speaker: Speaker
        tags: frozenset[str]

    @dataclasses.dataclass(frozen=True)
    class Outer:
        inner: tuple[Inner, ...]
        score: float
        where: Path

    value = Outer((Inner(Speaker.CUSTOMER, frozenset({"b", "a"})),), float("nan"), Path("/x"))
    assert jsonable(value) == {
        "inner": [{"speaker": "customer", "tags": ["a", "b"]}],
        "score": None,
        "where": "/x",
    }
    assert json.dumps(jsonable({"k": {1, 2}, "f": 1.23456, "inf": float("inf")}))
