"""Read-only queries for the history, call-detail and health views.

Why a module of functions beside ``Database``: the views need aggregates
(filtered call lists, a call's timeline, latency percentiles over days) that
the recorder's simple per-call getters do not give, and keeping them here
leaves ``database.py`` about connections and writes. Every function takes an
open ``Database`` and returns frozen dataclasses, so a view can build them on
a worker thread and hand them to the GUI thread as they are.

What "health" can measure is what the recorder stores: retrieval latency
(``knowledge_cards`` events carry ``latency_s``), generation latency (each
suggestion's ``first_token_s``/``total_s``), the agent's thumbs, extractive
fallbacks (the grounding check rejected the model's draft) and customer turns
with no confident card (knowledge gaps). Transcription latency is read from
``utterances.latency_s`` when the recorder fills it (``None`` counts as not
measured).

Thread rules: any thread (each uses the calling thread's connection); each
query reads only, and a call list is bounded by ``CallFilter.limit``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from agent_assist.domain import FinalUtterance
from agent_assist.store.database import Database, SuggestionRecord, SummaryRecord
from agent_assist.store.timeline import Marker, Segment, Timeline, build_timeline

__all__ = [
    "CallDetail",
    "CallFilter",
    "CallRow",
    "CardsShown",
    "Gap",
    "HealthStats",
    "Marker",
    "Percentiles",
    "Segment",
    "Timeline",
    "call_detail",
    "call_timeline",
    "dispositions",
    "health_stats",
    "list_calls",
    "percentiles",
]

GAP_MIN_WORDS = 4
"""Shorter customer turns ("yes", "okay thanks") are not questions a pack should answer."""
_CUSTOMER = ("customer", "mixed")


@dataclass(frozen=True, slots=True)
class CallFilter:
    """What the history list shows. ``since``/``until``: ISO dates or times (UTC), until exclusive."""

    text: str = ""
    since: str | None = None
    until: str | None = None
    disposition: str | None = None
    status: str | None = None  # "active" | "completed" | "interrupted"
    has_summary: bool | None = None
    limit: int = 200


@dataclass(frozen=True, slots=True)
class CallRow:
    id: str
    started_at: str
    duration: float | None
    status: str
    source: str
    disposition: str | None
    has_summary: bool
    first_customer_line: str
    utterance_count: int
    match: str = ""  # the best matching line, hits in [ ], when the filter has text


@dataclass(frozen=True, slots=True)
class CardsShown:
    """A ``knowledge_cards`` event: what the agent was shown for one customer turn."""

    utterance_id: str
    query: str
    titles: tuple[str, ...]
    confidence: float
    latency_s: float


@dataclass(frozen=True, slots=True)
class CallDetail:
    row: CallRow
    utterances: tuple[FinalUtterance, ...]
    summary: SummaryRecord | None
    suggestions: tuple[SuggestionRecord, ...]
    cards: tuple[CardsShown, ...]
    notes: tuple[tuple[str, str], ...]  # (kind, text)
    checklist: dict[str, Any] | None  # the last ``ChecklistProgress`` as stored
    timeline: Timeline


@dataclass(frozen=True, slots=True)
class Percentiles:
    count: int
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None


@dataclass(frozen=True, slots=True)
class Gap:
    text: str
    count: int
    call_id: str  # the latest call it came up in


@dataclass(frozen=True, slots=True)
class HealthStats:
    days: int
    calls: int
    transcription: Percentiles
    retrieval: Percentiles
    first_token: Percentiles
    generation: Percentiles
    suggestions: int
    thumbs_up: int
    thumbs_down: int
    extractive: int
    customer_turns: int
    turns_with_cards: int
    gaps: tuple[Gap, ...]
    models: tuple[tuple[str, str, int], ...]  # (model, backend, suggestions) in the period

    @property
    def rated(self) -> int:
        return self.thumbs_up + self.thumbs_down

    @property
    def acceptance(self) -> float | None:
        """Thumbs up / rated suggestions (None when none was rated)."""
        return self.thumbs_up / self.rated if self.rated else None

    @property
    def grounding_rejection(self) -> float | None:
        """Share of suggestions whose draft failed the grounding check (extractive instead)."""
        return self.extractive / self.suggestions if self.suggestions else None


# --- the call list ------------------------------------------------------------

_ROW_SQL = """
SELECT c.id, c.started_at, c.duration, c.status, c.source,
  json_extract(s.json, '$.disposition') AS disposition, s.call_id IS NOT NULL AS has_summary,
  (SELECT count(*) FROM utterances u WHERE u.call_id = c.id) AS utterance_count,
  coalesce(
    (SELECT u.text FROM utterances u WHERE u.call_id = c.id AND u.speaker IN ('customer', 'mixed')
     ORDER BY u.start LIMIT 1),
    (SELECT u.text FROM utterances u WHERE u.call_id = c.id ORDER BY u.start LIMIT 1), '') AS first_line
  {match}
FROM calls c LEFT JOIN summaries s ON s.call_id = c.id
"""
_MATCH_SQL = """, (SELECT snippet(utterances_fts, 0, '[', ']', '…', 10) FROM utterances_fts
    JOIN utterances m ON m.rowid = utterances_fts.rowid
    WHERE utterances_fts MATCH :q AND m.call_id = c.id ORDER BY rank LIMIT 1) AS match"""


def list_calls(db: Database, where: CallFilter | None = None) -> list[CallRow]:
    """Calls matching ``where``, newest first (text: every word, stemmed, in one line)."""
    f = where or CallFilter()
    clauses: list[str] = []
    params: dict[str, Any] = {"limit": f.limit}
    query = db.connection().quote_fts(f.text.strip()) if f.text.strip() else ""
    if query:
        clauses.append(
            "c.id IN (SELECT u.call_id FROM utterances_fts JOIN utterances u"
            " ON u.rowid = utterances_fts.rowid WHERE utterances_fts MATCH :q)"
        )
        params["q"] = query
    if f.since:
        clauses.append("c.started_at >= :since")
        params["since"] = f.since
    if f.until:
        clauses.append("c.started_at < :until")
        params["until"] = f.until
    if f.disposition:
        clauses.append("json_extract(s.json, '$.disposition') = :disposition")
        params["disposition"] = f.disposition
    if f.status:
        clauses.append("c.status = :status")
        params["status"] = f.status
    if f.has_summary is not None:
        clauses.append("s.call_id IS NOT NULL" if f.has_summary else "s.call_id IS NULL")
    sql = _ROW_SQL.format(match=_MATCH_SQL if query else "")
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY c.started_at DESC, c.rowid DESC LIMIT :limit"
    return [_row(r) for r in _query(db, sql, params)]


def dispositions(db: Database) -> list[str]:
    """The distinct disposition codes of stored summaries (for the filter)."""
    sql = (
        "SELECT DISTINCT json_extract(json, '$.disposition') AS d FROM summaries"
        " WHERE d IS NOT NULL ORDER BY d"
    )
    return [str(r["d"]) for r in _query(db, sql, {})]


def _row(r: dict[str, Any]) -> CallRow:
    return CallRow(
        id=r["id"],
        started_at=r["started_at"],
        duration=r["duration"],
        status=r["status"],
        source=r["source"],
        disposition=r["disposition"],
        has_summary=bool(r["has_summary"]),
        first_customer_line=r["first_line"],
        utterance_count=r["utterance_count"],
        match=r.get("match") or "",
    )


# --- one call -----------------------------------------------------------------


def call_detail(db: Database, call_id: str) -> CallDetail | None:
    """Everything stored about one call, or None if there is no such call."""
    rows = _query(db, _ROW_SQL.format(match="") + " WHERE c.id = :id", {"id": call_id})
    if not rows:
        return None
    utterances = tuple(db.utterances(call_id))
    events = _events(db, call_id)
    cards = tuple(
        CardsShown(
            str(p.get("utterance_id", "")),
            str(p.get("query", "")),
            tuple(str(c.get("title", "")) for c in p.get("cards", [])),
            float(p.get("confidence", 0.0)),
            float(p.get("latency_s", 0.0)),
        )
        for kind, p, _ in events
        if kind == "knowledge_cards"
    )
    checklists = [p for kind, p, _ in events if kind == "checklist"]
    row = _row(rows[0])
    return CallDetail(
        row=row,
        utterances=utterances,
        summary=db.summary(call_id),
        suggestions=tuple(db.suggestions(call_id)),
        cards=cards,
        notes=tuple(
            (str(p.get("kind", "")), str(p.get("text", ""))) for k, p, _ in events if k == "note"
        ),
        checklist=checklists[-1] if checklists else None,
        timeline=build_timeline(row.duration, row.started_at, utterances, events),
    )


def call_timeline(db: Database, call_id: str) -> Timeline | None:
    detail = call_detail(db, call_id)
    return detail.timeline if detail else None


def _events(db: Database, call_id: str) -> list[tuple[str, dict[str, Any], str]]:
    sql = "SELECT type, payload, created_at FROM events WHERE call_id = :id ORDER BY id"
    return [
        (r["type"], json.loads(r["payload"]), r["created_at"]) for r in _query(db, sql, {"id": call_id})
    ]


def health_stats(
    db: Database, days: int = 7, *, now: datetime | None = None, gaps: int = 10
) -> HealthStats:
    """Latency percentiles per stage, feedback and grounding rates, knowledge gaps, over ``days``."""
    since = ((now or datetime.now(UTC)) - timedelta(days=days)).isoformat(timespec="milliseconds")
    p = {"since": since}
    recent = "SELECT id FROM calls WHERE started_at >= :since"
    calls = _query(db, f"SELECT count(*) AS n FROM ({recent})", p)[0]["n"]
    stt = _floats(db, f"SELECT latency_s AS v FROM utterances WHERE call_id IN ({recent})", p)
    retrieval = _floats(
        db,
        "SELECT json_extract(payload, '$.latency_s') AS v FROM events"
        f" WHERE type = 'knowledge_cards' AND call_id IN ({recent})",
        p,
    )
    sugg = _query(
        db,
        "SELECT first_token_s, total_s, extractive, feedback, model, backend FROM suggestions"
        f" WHERE call_id IN ({recent})",
        p,
    )
    models = Counter((str(r["model"]), str(r["backend"])) for r in sugg)
    turns, with_cards, gap_list = _gaps(db, recent, p, gaps)
    return HealthStats(
        days=days,
        calls=calls,
        transcription=percentiles(stt),
        retrieval=percentiles(retrieval),
        first_token=percentiles([r["first_token_s"] for r in sugg if r["first_token_s"] is not None]),
        generation=percentiles([r["total_s"] for r in sugg if r["total_s"] is not None]),
        suggestions=len(sugg),
        thumbs_up=sum(1 for r in sugg if r["feedback"] == 1),
        thumbs_down=sum(1 for r in sugg if r["feedback"] == -1),
        extractive=sum(1 for r in sugg if r["extractive"]),
        customer_turns=turns,
        turns_with_cards=with_cards,
        gaps=gap_list,
        models=tuple((m, b, n) for (m, b), n in models.most_common()),
    )


def _gaps(db: Database, recent: str, p: dict[str, Any], limit: int) -> tuple[int, int, tuple[Gap, ...]]:
    """Customer turns and those with cards, in calls where retrieval ran (a card was shown)."""
    rows = _query(
        db,
        "SELECT u.id, u.call_id, u.text, EXISTS (SELECT 1 FROM events e WHERE e.call_id = u.call_id"
        "  AND e.type = 'knowledge_cards' AND json_extract(e.payload, '$.utterance_id') = u.id) AS cards"
        " FROM utterances u JOIN calls c ON c.id = u.call_id"
        f" WHERE u.speaker IN {_CUSTOMER} AND u.call_id IN ({recent})"
        "  AND EXISTS (SELECT 1 FROM events e WHERE e.call_id = u.call_id AND e.type = 'knowledge_cards')"
        " ORDER BY c.started_at, u.start",
        p,
    )
    counts: Counter[str] = Counter()
    shown: dict[str, tuple[str, str]] = {}
    for r in rows:
        if r["cards"] or len(r["text"].split()) < GAP_MIN_WORDS:
            continue
        key = _normalise(r["text"])
        counts[key] += 1
        shown[key] = (r["text"].strip(), r["call_id"])
    gap_list = tuple(Gap(shown[k][0], n, shown[k][1]) for k, n in counts.most_common(limit))
    return len(rows), sum(1 for r in rows if r["cards"]), gap_list


def _normalise(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def percentiles(values: list[float]) -> Percentiles:
    """p50/p90/p95 by linear interpolation between closest ranks (numpy's default)."""
    data = sorted(v for v in values if v is not None and v >= 0)
    if not data:
        return Percentiles(0)

    def at(q: float) -> float:
        pos = (len(data) - 1) * q
        low = int(pos)
        high = min(low + 1, len(data) - 1)
        return data[low] + (data[high] - data[low]) * (pos - low)

    return Percentiles(len(data), at(0.5), at(0.9), at(0.95))


def _floats(db: Database, sql: str, params: dict[str, Any]) -> list[float]:
    return [float(r["v"]) for r in _query(db, sql, params) if r["v"] is not None]


def _query(db: Database, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with db.translating():
        return list(db.connection().query(sql, params))
