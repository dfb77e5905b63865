"""Printers: what a terminal, a pipe and subtitle files get."""

from __future__ import annotations

import io
import json

import pytest

from agent_assist.cli.render import TranscriptPrinter
from agent_assist.domain import (
    FinalUtterance,
    KnowledgeCard,
    KnowledgeCards,
    PartialText,
    Speaker,
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
