"""Searching several packs at once: compatible embedders, one query embedding, one ranking.

Why not just merge each pack's own hybrid results by their RRF scores: an RRF
score depends only on ranks, so every pack's best hit gets the top score even
when that pack has nothing relevant (a pack of router articles "matches" a
billing question on the word "for"). Instead the rankings are fused globally,
the way one big pack would: the vector candidates of all packs form one
ranking by cosine similarity (comparable across packs because every index is
checked to come from the same embedder), the keyword candidates one ranking
interleaved by their rank in their own pack (BM25 scores of different packs
are not comparable, and ``Hit`` does not carry them), and the two are fused
with RRF. Ties go to the higher similarity. For a single pack this gives the
same order as ``PackIndex.search``.

Thread rules: a ``MultiPackSearcher`` (and the ``PackIndex``es it holds) is
used by one thread at a time, like ``PackIndex``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agent_assist.knowledge.archive import PackError
from agent_assist.knowledge.embedder import EMBEDDER_ID, Embedder
from agent_assist.knowledge.index import RRF_K, Hit, PackIndex

__all__ = ["CANDIDATES", "MultiPackSearcher", "QueryMemoEmbedder", "check_embedder"]

CANDIDATES = 20
"""Candidates per pack and ranking, as ``PackIndex.search`` takes for its own fusion."""


def check_embedder(index_folder: Path, embedder: Embedder, fix: str) -> dict[str, Any]:
    """Read ``index.json``; refuse an index built by another embedder (``PackError`` with ``fix``).

    Why: vectors of different models or dimensions are not comparable; searching
    them gives confident nonsense, or a FAISS failure on the dimension.
    """
    try:
        info: dict[str, Any] = json.loads((index_folder / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PackError(f"{index_folder} is not a readable pack index ({exc})", fix) from exc
    if info.get("embedder") != EMBEDDER_ID or info.get("dim") != embedder.dim:
        raise PackError(
            f"{index_folder} was built with embedder '{info.get('embedder')}' ({info.get('dim')} dims), "
            f"but this installation embeds with '{EMBEDDER_ID}' ({embedder.dim} dims)",
            fix,
        )
    return info


class QueryMemoEmbedder(Embedder):
    """An ``Embedder`` front that remembers the last single query it embedded.

    Why: ``PackIndex.search`` embeds its query itself; when the indexes of all
    packs share one of these, a query is embedded once, not once per pack.
    (Stop-gap until ``PackIndex`` takes a query vector.) The memo is one
    (text, vector) pair, replaced by a single assignment.
    """

    def __init__(self, inner: Embedder) -> None:  # no model of its own: delegates
        self.inner, self.path, self.dim = inner, inner.path, inner.dim
        self._last: tuple[str, npt.NDArray[np.float32]] | None = None

    def encode(
        self, texts: list[str], *, batch_size: int = 32, progress: bool = False
    ) -> npt.NDArray[np.float32]:
        if len(texts) != 1:
            return self.inner.encode(texts, batch_size=batch_size, progress=progress)
        last = self._last
        if last is not None and last[0] == texts[0]:
            return last[1]
        vector = self.inner.encode(texts, batch_size=batch_size)
        self._last = (texts[0], vector)
        return vector


class MultiPackSearcher:
    """Hybrid (or vector/keyword) search over several packs, merged into one ranking."""

    def __init__(self, indexes: Sequence[PackIndex]) -> None:
        self.indexes = list(indexes)

    def search(self, query: str, k: int = 5, mode: str = "hybrid") -> list[Hit]:
        """The ``k`` best hits of all packs, fused globally (see the module doc)."""
        found: dict[tuple[str, str], Hit] = {}
        rankings: list[list[tuple[str, str]]] = []
        if mode in ("hybrid", "vector"):
            hits = [h for index in self.indexes for h in index.search(query, CANDIDATES, "vector")]
            hits.sort(key=lambda h: -h.similarity)
            rankings.append([(h.pack, h.chunk_id) for h in hits])
            found.update(((h.pack, h.chunk_id), h) for h in hits)
        if mode in ("hybrid", "keyword"):
            ranked = [
                (rank, h)
                for index in self.indexes
                for rank, h in enumerate(index.search(query, CANDIDATES, "keyword"))
            ]
            ranked.sort(key=lambda rh: (rh[0], -rh[1].similarity))
            rankings.append([(h.pack, h.chunk_id) for _, h in ranked])
            found.update(((h.pack, h.chunk_id), h) for _, h in ranked)
        fused: dict[tuple[str, str], float] = {}
        for ranking in rankings:
            for rank, key in enumerate(ranking):
                fused[key] = fused.get(key, 0.0) + 1.0 / (RRF_K + rank + 1)
        best = sorted(fused, key=lambda key: (-fused[key], -found[key].similarity, key))[:k]
        return [dataclasses.replace(found[key], score=fused[key]) for key in best]

    def close(self) -> None:
        for index in self.indexes:
            index.close()
