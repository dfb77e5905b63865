"""Searching several packs at once: compatible embedders, one query embedding, one ranking.

Why not just merge each pack's own hybrid results by their RRF scores: an RRF
score depends only on ranks, so every pack's best hit gets the top score even
when that pack has nothing relevant (a pack of router articles "matches" a
billing question on the word "for"). Instead the rankings are fused globally,
the way one big pack would: the vector candidates of all packs form one
ranking by cosine similarity (comparable across packs because every index is
checked to come from the same model; a pack built at the other precision is
queried with that precision's vector, whose similarities differ by ~0.01),
the keyword candidates one ranking interleaved by their rank in their own
pack (BM25 scores of different packs are not comparable, and ``Hit`` does not
carry them), and the two are fused with RRF. Ties go to the higher similarity. For a single pack this gives the
same order as ``PackIndex.search``.

Thread rules: a ``MultiPackSearcher`` (and the ``PackIndex``es it holds) is
used by one thread at a time, like ``PackIndex``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agent_assist.knowledge.archive import PackError
from agent_assist.knowledge.embedder import Embedder
from agent_assist.knowledge.index import RRF_K, Hit, PackIndex

__all__ = ["MultiPackSearcher", "check_embedder"]


def check_embedder(index_folder: Path, embedder: Embedder, fix: str) -> dict[str, Any]:
    """Read ``index.json``; refuse an index ``embedder`` cannot query (``PackError`` with ``fix``).

    Why: vectors of different models, dimensions or precisions are not
    comparable; searching them gives confident nonsense, or a FAISS failure on
    the dimension. An index of the same model at the other precision passes
    when ``embedder.for_index`` can load that precision (``PackIndex`` then
    queries it with it); one built at int8 is refused where only torch runs.
    """
    try:
        info: dict[str, Any] = json.loads((index_folder / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PackError(f"{index_folder} is not a readable pack index ({exc})", fix) from exc
    matching = embedder.for_index(info.get("embedder"))
    if matching is None or info.get("dim") != matching.dim:
        raise PackError(
            f"{index_folder} was built with embedder '{info.get('embedder')}' ({info.get('dim')} dims), "
            f"which this installation cannot embed queries for (it embeds with '{embedder.id}', "
            f"{embedder.dim} dims)",
            fix,
        )
    return info


class MultiPackSearcher:
    """Hybrid (or vector/keyword) search over several packs, merged into one ranking."""

    def __init__(self, indexes: Sequence[PackIndex]) -> None:
        self.indexes = list(indexes)

    def search(self, query: str, k: int = 5, mode: str = "hybrid") -> list[Hit]:
        """The ``k`` best hits of all packs, fused globally (see the module doc).

        The query is embedded once per vector space: once, unless packs of
        both precisions are installed (each pack's ``embedder`` is the one
        its index was built with; see ``PackIndex``).
        """
        if not self.indexes:
            return []
        by_space: dict[str, npt.NDArray[np.float32]] = {}
        for ix in self.indexes:
            if ix.embedder.id not in by_space:
                by_space[ix.embedder.id] = ix.embedder.encode([query])
        vectors = [by_space[ix.embedder.id] for ix in self.indexes]
        rankings: list[list[tuple[int, int]]] = []  # (pack index, chunk position)
        similarity: dict[tuple[int, int], float] = {}
        if mode in ("hybrid", "vector"):
            near = [
                ((n, pos), sim)
                for n, ix in enumerate(self.indexes)
                for pos, sim in ix.nearest(vectors[n])
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
            self.indexes[n].hit(pos, fused[(n, pos)], similarity.get((n, pos)), vectors[n])
            for n, pos in best
        ]

    def close(self) -> None:
        for index in self.indexes:
            index.close()
