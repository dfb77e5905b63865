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

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent_assist.knowledge.archive import PackError
from agent_assist.knowledge.embedder import Embedder
from agent_assist.knowledge.index import RRF_K, Hit, PackIndex

__all__ = ["MultiPackSearcher", "check_embedder"]


def check_embedder(index_folder: Path, embedder: Embedder, fix: str) -> dict[str, Any]:
    """Read ``index.json``; refuse an index built by another embedder (``PackError`` with ``fix``).

    Why: vectors of different models or dimensions are not comparable; searching
    them gives confident nonsense, or a FAISS failure on the dimension.
    """
    try:
        info: dict[str, Any] = json.loads((index_folder / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PackError(f"{index_folder} is not a readable pack index ({exc})", fix) from exc
    if info.get("embedder") != embedder.id or info.get("dim") != embedder.dim:
        raise PackError(
            f"{index_folder} was built with embedder '{info.get('embedder')}' ({info.get('dim')} dims), "
            f"but this installation embeds with '{embedder.id}' ({embedder.dim} dims)",
            fix,
        )
    return info


class MultiPackSearcher:
    """Hybrid (or vector/keyword) search over several packs, merged into one ranking."""

    def __init__(self, indexes: Sequence[PackIndex]) -> None:
        self.indexes = list(indexes)

    def search(self, query: str, k: int = 5, mode: str = "hybrid") -> list[Hit]:
        """The ``k`` best hits of all packs, fused globally (see the module doc).

        The query is embedded once, by the first pack's embedder (all are
        checked to be the same model when opened through ``PackStore``).
        """
        if not self.indexes:
            return []
        vector = self.indexes[0].embedder.encode([query])
        rankings: list[list[tuple[int, int]]] = []  # (pack index, chunk position)
        similarity: dict[tuple[int, int], float] = {}
        if mode in ("hybrid", "vector"):
            near = [
                ((n, pos), sim) for n, ix in enumerate(self.indexes) for pos, sim in ix.nearest(vector)
            ]
            near.sort(key=lambda kv: -kv[1])
            rankings.append([key for key, _ in near])
            similarity.update(near)
        if mode in ("hybrid", "keyword"):
            ranked = [
                (rank, (n, pos))
                for n, ix in enumerate(self.indexes)
                for rank, pos in enumerate(ix.keyword(query))
            ]
            ranked.sort(key=lambda rk: (rk[0], -similarity.get(rk[1], 0.0)))
            rankings.append([key for _, key in ranked])
        fused: dict[tuple[int, int], float] = {}
        for ranking in rankings:
            for rank, key in enumerate(ranking):
                fused[key] = fused.get(key, 0.0) + 1.0 / (RRF_K + rank + 1)
        best = sorted(fused, key=lambda key: (-fused[key], -similarity.get(key, 0.0), key))[:k]
        return [
            self.indexes[n].hit(pos, fused[(n, pos)], similarity.get((n, pos)), vector)
            for n, pos in best
        ]

    def close(self) -> None:
        for index in self.indexes:
            index.close()
