"""Which hits become cards: similarity floor, no duplicates, nothing shown twice.

Why ``similarity`` and not the hybrid score decides: the fused RRF score ranks
well but says nothing about *how* relevant the best hit is (every query has a
first hit, scored about 1/61), while the cosine of the query to the chunk is
comparable across queries. Keyword-only hits (an order number matching an
example in an article) have a low cosine and drop out here.

Duplicates: the same document section (pack, ``doc_id``, ``anchor``) is shown once,
and so is text nearly identical to a card already kept or shown (the same
passage in two documents or two packs). "Shown" is per call: an agent who saw the
refund steps at minute one does not need them again at minute three.

Pure functions and a small per-call record; no threads, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent_assist.domain import KnowledgeCard

if TYPE_CHECKING:
    from agent_assist.knowledge.index import Hit

__all__ = ["Shown", "select_cards", "to_card"]

_WORD = re.compile(r"[a-z0-9]+")


def to_card(hit: Hit) -> KnowledgeCard:
    return KnowledgeCard(
        pack=hit.pack,
        chunk_id=hit.chunk_id,
        doc_id=hit.doc_id,
        title=hit.title,
        heading_path=tuple(hit.heading_path),
        anchor=hit.anchor,
        text=hit.text,
        similarity=float(hit.similarity),
        score=float(hit.score),
    )


def _shingles(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


def _near(a: frozenset[str], b: frozenset[str], threshold: float) -> bool:
    """Jaccard similarity of the two word sets at or above ``threshold``."""
    if not a or not b:
        return a == b
    return len(a & b) / len(a | b) >= threshold


@dataclass(slots=True)
class Shown:
    """What one call has already shown: chunk ids, sections and word sets.

    Thread rules: owned by the retriever's worker thread; not locked.
    """

    chunks: set[tuple[str, str]] = field(default_factory=set)  # (pack, chunk id)
    sections: set[tuple[str, str, str]] = field(default_factory=set)  # (pack, doc, anchor)
    texts: list[frozenset[str]] = field(default_factory=list)

    def add(self, cards: Iterable[KnowledgeCard]) -> None:
        for card in cards:
            self.chunks.add((card.pack, card.chunk_id))
            self.sections.add((card.pack, card.doc_id, card.anchor))
            self.texts.append(_shingles(card.text))


def select_cards(
    hits: Sequence[Hit],
    shown: Shown,
    *,
    min_similarity: float,
    max_cards: int,
    max_drop: float = 1.0,
    near_duplicate: float = 0.9,
) -> list[KnowledgeCard]:
    """Hits worth showing, best similarity first, at most ``max_cards``.

    Drops hits below ``min_similarity`` or more than ``max_drop`` below the best
    hit (counting hits already shown: when the best answer is on screen, its
    runners-up are rarely news), chunks, sections and near-identical texts
    already kept or in ``shown``. Does not change ``shown``.
    """
    best = max((h.similarity for h in hits), default=0.0)
    floor = max(min_similarity, best - max_drop)
    kept: list[KnowledgeCard] = []
    sections = set(shown.sections)
    texts = list(shown.texts)
    for hit in sorted(hits, key=lambda h: -h.similarity):
        if len(kept) >= max_cards:
            break
        if hit.similarity < floor or (hit.pack, hit.chunk_id) in shown.chunks:
            continue
        section = (hit.pack, hit.doc_id, hit.anchor)
        words = _shingles(hit.text)
        if section in sections or any(_near(words, t, near_duplicate) for t in texts):
            continue
        kept.append(to_card(hit))
        sections.add(section)
        texts.append(words)
    return kept
