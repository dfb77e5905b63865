"""A call's timeline for the call-detail chart: talk per speaker, silence, alerts, intents.

Why its own module: the chart needs interval arithmetic (nobody-speaking spans
are where *every* channel is quiet, and a stored ``Silence`` event covers one
channel only) that has nothing to do with SQL. Pure functions over frozen
dataclasses; any thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agent_assist.domain import FinalUtterance

__all__ = ["SILENCE_GAP_S", "Marker", "Segment", "Timeline", "build_timeline"]

SILENCE_GAP_S = 3.0
"""A pause of nobody speaking at least this long is drawn as silence."""


@dataclass(frozen=True, slots=True)
class Marker:
    """A point on the timeline (call seconds): an alert or an intent."""

    at: float
    kind: str
    label: str


@dataclass(frozen=True, slots=True)
class Segment:
    speaker: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Timeline:
    duration: float
    segments: tuple[Segment, ...]
    silences: tuple[tuple[float, float], ...]
    alerts: tuple[Marker, ...]
    intents: tuple[Marker, ...]
    talk: dict[str, float] = field(default_factory=dict)  # seconds spoken per speaker


def build_timeline(
    call_duration: float | None,
    started_at: str,
    utterances: tuple[FinalUtterance, ...],
    events: list[tuple[str, dict[str, Any], str]],
) -> Timeline:
    """The call's timeline from its finals and stored ``(type, payload, created_at)`` events."""
    segments = tuple(Segment(str(u.speaker), u.start, max(u.start, u.end)) for u in utterances)
    last_end = max((s.end for s in segments), default=0.0)
    duration = max(call_duration or 0.0, last_end)
    talk: dict[str, float] = {}
    for s in segments:
        talk[s.speaker] = talk.get(s.speaker, 0.0) + (s.end - s.start)
    # Silence is nobody speaking: a Silence event covers one channel only, so it
    # counts where every other channel is quiet too (between its utterances).
    heard: dict[str, list[tuple[float, float]]] = {s.speaker: [] for s in segments}
    for kind, p, _created in events:
        if kind == "silence":
            since = float(p.get("since", 0.0))
            heard.setdefault(str(p.get("speaker", "")), []).append(
                (since, since + float(p.get("duration", 0.0)))
            )
    per_speaker = [
        _merge([*_uncovered([x for x in segments if x.speaker == who], duration), *spans])
        for who, spans in heard.items()
    ]
    both = _intersect(per_speaker) if per_speaker else ((0.0, duration),)
    quiet = [(a, b) for a, b in both if b - a >= SILENCE_GAP_S]
    started = _parse_time(started_at)
    ends = {u.utterance_id: u.end for u in utterances}
    alerts: list[Marker] = []
    intents: list[Marker] = []
    for kind, p, created in events:
        if kind in ("pipeline_error", "device_status", "interrupted"):
            if kind == "device_status" and p.get("state") in ("open", "closed"):
                continue  # routine, not an alert
            at = _seconds_between(started, created)
            label = _alert_label(kind, p)
            alerts.append(Marker(min(max(at, 0.0), duration), kind, label))
        elif kind == "intent":
            at = ends.get(str(p.get("utterance_id", "")), 0.0)
            intents.append(Marker(at, "intent", str(p.get("name") or p.get("intent_id", ""))))
    return Timeline(duration, segments, tuple(quiet), tuple(alerts), tuple(intents), talk)


def _alert_label(kind: str, p: dict[str, Any]) -> str:
    if kind == "pipeline_error":
        return f"{p.get('stage', '?')} error: {p.get('message', '')}"
    if kind == "device_status":
        return f"{p.get('speaker', '')} device {p.get('state', '')}: {p.get('device', '')}"
    return "the app stopped during the call"


def _uncovered(segments: list[Segment], duration: float) -> list[tuple[float, float]]:
    """The spans of [0, duration] that no segment covers."""
    gaps: list[tuple[float, float]] = []
    cursor = 0.0
    for s in sorted(segments, key=lambda s: s.start):
        if s.start > cursor:
            gaps.append((cursor, s.start))
        cursor = max(cursor, s.end)
    if duration > cursor:
        gaps.append((cursor, duration))
    return gaps


def _intersect(lists: list[tuple[tuple[float, float], ...]]) -> tuple[tuple[float, float], ...]:
    """The spans inside every one of ``lists`` (each sorted and merged)."""
    result = lists[0]
    for other in lists[1:]:
        out: list[tuple[float, float]] = []
        i = j = 0
        while i < len(result) and j < len(other):
            start, end = max(result[i][0], other[j][0]), min(result[i][1], other[j][1])
            if end > start:
                out.append((start, end))
            if result[i][1] < other[j][1]:
                i += 1
            else:
                j += 1
        result = tuple(out)
    return result


def _merge(spans: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _parse_time(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _seconds_between(start: datetime | None, later: str) -> float:
    end = _parse_time(later)
    return (end - start).total_seconds() if start and end else 0.0


# --- health -------------------------------------------------------------------
