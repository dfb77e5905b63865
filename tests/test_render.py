"""Printers: what a terminal, a pipe and subtitle files get."""

from __future__ import annotations

import io
import json

import pytest

from agent_assist.cli.render import TranscriptPrinter
from agent_assist.domain import FinalUtterance, PartialText, Speaker, Word

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
