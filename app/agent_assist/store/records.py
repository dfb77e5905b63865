"""The frozen records the call-history queries return, and how a row becomes one.

Why a module of its own: ``database.py`` is about connections, durability and
writes; these are plain values (safe to hand from a worker thread to the GUI
thread) shared by ``Database``'s getters and ``queries.py``.

Thread rules: immutable data and pure functions; any thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agent_assist.domain import FinalUtterance, Speaker, Word

__all__ = [
    "CallRecord",
    "SearchHit",
    "SuggestionRecord",
    "SummaryRecord",
    "call_record",
    "suggestion_record",
    "utterance_from_row",
]


@dataclass(frozen=True, slots=True)
class CallRecord:
    id: str
    started_at: str
    ended_at: str | None
    status: str  # "active" | "completed" | "interrupted"
    source: str
    speakers: tuple[Speaker, ...]
    duration: float | None
    end_reason: str | None
    utterance_count: int
    audio_path: str | None = None  # the call's WAV (privacy.store_audio), else None


@dataclass(frozen=True, slots=True)
class SearchHit:
    utterance: FinalUtterance
    snippet: str  # the matching text with hits wrapped in [ ]


@dataclass(frozen=True, slots=True)
class SuggestionRecord:
    """A stored reply suggestion (``verdict``: the grounding check, as written by the recorder)."""

    id: str
    call_id: str
    utterance_ids: tuple[str, ...]
    snippet_ids: tuple[str, ...]
    text: str
    extractive: bool
    grounded: bool
    verdict: dict[str, Any]
    model: str
    backend: str
    prompt_version: str
    first_token_s: float | None
    total_s: float | None
    created_at: str
    feedback: int | None  # +1 thumbs up, -1 thumbs down, None not rated
    feedback_at: str | None


@dataclass(frozen=True, slots=True)
class SummaryRecord:
    """A stored end-of-call summary (``data``: the schema-valid summary object)."""

    call_id: str
    data: dict[str, Any]
    model: str
    prompt_version: str
    valid: bool
    fallback: bool
    created_at: str


def call_record(row: dict[str, Any]) -> CallRecord:
    return CallRecord(
        id=row["id"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        status=row["status"],
        source=row["source"],
        speakers=tuple(Speaker(s) for s in json.loads(row["speakers"])),
        duration=row["duration"],
        end_reason=row["end_reason"],
        utterance_count=row["utterance_count"],
        audio_path=row.get("audio_path"),
    )


def utterance_from_row(row: dict[str, Any]) -> FinalUtterance:
    return FinalUtterance(
        call_id=row["call_id"],
        utterance_id=row["id"],
        speaker=Speaker(row["speaker"]),
        start=row["start"],
        end=row["end"],
        text=row["text"],
        confidence=row["confidence"],
        words=tuple(Word(**w) for w in json.loads(row["words"])),
    )


def suggestion_record(row: dict[str, Any]) -> SuggestionRecord:
    return SuggestionRecord(
        id=row["id"],
        call_id=row["call_id"],
        utterance_ids=tuple(json.loads(row["utterance_ids"])),
        snippet_ids=tuple(json.loads(row["snippet_ids"])),
        text=row["text"],
        extractive=bool(row["extractive"]),
        grounded=bool(row["grounded"]),
        verdict=json.loads(row["verdict"]),
        model=row["model"],
        backend=row["backend"],
        prompt_version=row["prompt_version"],
        first_token_s=row["first_token_s"],
        total_s=row["total_s"],
        created_at=row["created_at"],
        feedback=row["feedback"],
        feedback_at=row["feedback_at"],
    )
