"""``pack eval``: how well a pack answers the questions customers actually ask.

A queries file is a CSV with the header ``query,expected``; ``expected`` is an
article id, optionally with a section (``refunds-double-charge#what-to-do``).
Metrics are document-level, over the *distinct* documents in rank order (the
agent sees one card per article, so a second chunk of an already-ranked article
must not push the right article down): recall@1/3/5 and MRR (reciprocal rank
of the expected document, 0 when it is not in the top ``depth``). A query with a
section also counts toward ``section@3`` (the expected section among the top 3
chunks). Latency is wall time of one full search, query embedding included.

Thread rules: ``evaluate`` runs searches on the calling thread (the index's
thread rules apply); everything else is pure.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agent_assist.errors import PackError
from agent_assist.knowledge.index import Hit

__all__ = ["EvalQuery", "EvalReport", "evaluate", "load_queries"]

Search = Callable[[str, int, str], list[Hit]]


@dataclass(frozen=True, slots=True)
class EvalQuery:
    query: str
    doc_id: str
    anchor: str | None
    line: int


@dataclass(frozen=True, slots=True)
class Miss:
    query: str
    expected: str
    got: tuple[str, ...]  # the top distinct documents


@dataclass(slots=True)
class EvalReport:
    """Scores of one search mode over one queries file."""

    mode: str
    queries: int
    recall: dict[int, float] = field(default_factory=dict)  # k -> recall@k
    mrr: float = 0.0
    section_at_3: float | None = None  # share of section-level queries hit in the top 3 chunks
    latency_ms_p50: float = 0.0
    latency_ms_p95: float = 0.0
    misses: list[Miss] = field(default_factory=list)  # expected document not in the top 3

    def as_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "queries": self.queries,
            **{f"recall@{k}": round(v, 4) for k, v in self.recall.items()},
            "mrr": round(self.mrr, 4),
            "section@3": None if self.section_at_3 is None else round(self.section_at_3, 4),
            "latency_ms_p50": round(self.latency_ms_p50, 2),
            "latency_ms_p95": round(self.latency_ms_p95, 2),
            "misses": [
                {"query": m.query, "expected": m.expected, "got": list(m.got)} for m in self.misses
            ],
        }


def load_queries(path: Path) -> list[EvalQuery]:
    """Read a ``query,expected`` CSV; a malformed file is a ``PackError`` naming the line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PackError(
            f"{path} does not exist", "give a CSV file with the header query,expected"
        ) from None
    except UnicodeDecodeError as exc:
        raise PackError(f"{path} is not UTF-8 ({exc.reason})", "save it as UTF-8") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or [c.strip().lower() for c in rows[0]] != ["query", "expected"]:
        raise PackError(
            f"{path}:1: the first row must be the header query,expected", "add the header row"
        )
    queries = []
    for line, row in enumerate(rows[1:], 2):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) != 2 or not row[0].strip() or not row[1].strip():
            raise PackError(
                f"{path}:{line}: needs exactly two non-empty columns (query,expected)",
                "quote a query that contains commas",
            )
        doc, _, anchor = row[1].strip().partition("#")
        queries.append(EvalQuery(row[0].strip(), doc, anchor or None, line))
    if not queries:
        raise PackError(f"{path} has no queries", "add rows of query,expected below the header")
    return queries


def _distinct_docs(hits: Sequence[Hit]) -> list[str]:
    docs: list[str] = []
    for hit in hits:
        if hit.doc_id not in docs:
            docs.append(hit.doc_id)
    return docs


def evaluate(
    search: Search,
    queries: Sequence[EvalQuery],
    mode: str = "hybrid",
    *,
    ks: Sequence[int] = (1, 3, 5),
    depth: int = 20,
    on_query: Callable[[], None] | None = None,
) -> EvalReport:
    """Run every query through ``search(query, depth, mode)`` and score the ranking."""
    report = EvalReport(mode, len(queries))
    hits_at = dict.fromkeys(ks, 0)
    reciprocal = 0.0
    section_total = section_hits = 0
    latencies: list[float] = []
    for q in queries:
        started = time.perf_counter()
        hits = search(q.query, depth, mode)
        latencies.append((time.perf_counter() - started) * 1000)
        docs = _distinct_docs(hits)
        rank = docs.index(q.doc_id) + 1 if q.doc_id in docs else 0
        for k in ks:
            hits_at[k] += 0 < rank <= k
        reciprocal += 1.0 / rank if rank else 0.0
        if q.anchor:
            section_total += 1
            section_hits += any(h.doc_id == q.doc_id and h.anchor == q.anchor for h in hits[:3])
        if not 0 < rank <= 3:
            expected = q.doc_id + (f"#{q.anchor}" if q.anchor else "")
            report.misses.append(Miss(q.query, expected, tuple(docs[:3])))
        if on_query:
            on_query()
    n = max(1, len(queries))
    report.recall = {k: hits_at[k] / n for k in ks}
    report.mrr = reciprocal / n
    report.section_at_3 = section_hits / section_total if section_total else None
    report.latency_ms_p50 = float(np.percentile(latencies, 50)) if latencies else 0.0
    report.latency_ms_p95 = float(np.percentile(latencies, 95)) if latencies else 0.0
    return report
