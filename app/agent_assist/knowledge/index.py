"""A built pack on disk: FAISS vectors + SQLite FTS5 keywords, searched together.

Why hybrid: customers say order numbers, product names and error codes ("E3",
"NW4817") that embeddings blur, while paraphrases ("took my money twice")
defeat keywords. Both rankings are fused with reciprocal rank fusion (RRF),
which needs no score calibration between the two. The keyword query drops
function words ("I", "my", "the"): with them, BM25 ranks whatever chunk says
"my" most, and at 100k chunks every such word matches most of the table.
Measured on the example pack's eval queries (recall@3 / MRR): vector 0.90 /
0.74, keyword 0.74 / 0.55, RRF 0.92 / 0.68, RRF without function words
0.94 / 0.74.

Layout of an index folder: ``vectors.faiss`` (row i = chunk i),
``chunks.sqlite`` (chunk text, citation fields, FTS5), ``index.json``
(pack id/version, embedder id and dimension, counts, FAISS kind). FAISS is
exact (``IndexFlatIP``) up to ``APPROXIMATE_ABOVE`` chunks and HNSW above it:
measured in ``benchmarks/pack_bench.py``, exact search of 100k chunks costs
~17-20 ms p95 on the 2-core target (HNSW ~1 ms), which keeps a whole query
within the 60 ms budget; beyond that the exact cost grows linearly.

Thread rules: ``build_index`` runs on the calling thread (seconds to minutes:
never the GUI thread). ``PackIndex.search`` may run on any one thread at a
time (its SQLite connection and FAISS index are not shared across threads).
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlite_utils

from agent_assist.errors import PackError
from agent_assist.knowledge.chunking import Chunk, chunk_document
from agent_assist.knowledge.embedder import BUILD_PRECISION, EMBEDDER_IDS, Embedder, Precision
from agent_assist.knowledge.loading import load_documents

__all__ = [
    "APPROXIMATE_ABOVE",
    "Hit",
    "PackIndex",
    "Progress",
    "build_index",
    "keyword_terms",
    "known_vectors",
    "write_index",
]

log = logging.getLogger(__name__)
RRF_K = 60
CANDIDATES = 20
"""How deep each ranking goes before fusion."""
APPROXIMATE_ABOVE = 100_000
"""Chunk count above which FAISS uses HNSW instead of exact search (see the module doc)."""
KEYWORD_MAX_CHUNKS = 4_000
"""A query word found in more chunks than this is left to the embeddings (see ``keyword``)."""
HNSW_M, HNSW_EF_SEARCH, HNSW_EF_CONSTRUCTION = 32, 96, 80
EMBED_BATCH = 16  # fastest on 2 cores (int8: 8 same, 32 -3%, 64 -13%); half the memory of 64

Progress = Callable[[int, int], None]
"""``progress(done, total)``, called as chunks are embedded."""

_STOPWORD_TEXT = """
a about am an and any are as at be been but by can could did do does doing for from had has have
having he her hers him his how i i'm if im in into is it it's its just me my myself no nor not of
off on once only or our ours out over so some such than that the their them then there these they
this those to too under until up very was we were what when where which while who whom why will
with would you your yours um uh hi hello hey yeah ok okay please thanks thank
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def keyword_terms(query: str) -> list[str]:
    """The words of ``query`` worth matching: function words dropped, unless nothing else is left."""
    words = re.findall(r"[A-Za-z0-9]+(?:'[a-z]+)?", query)
    content = [w for w in words if w.lower() not in _STOPWORDS]
    return [w.split("'")[0] for w in (content or words)]


@dataclass(frozen=True, slots=True)
class Hit:
    """One snippet with its citation: pack, document, heading path and anchor."""

    pack: str
    chunk_id: str
    doc_id: str
    title: str
    heading_path: tuple[str, ...]
    anchor: str
    text: str
    score: float  # fused RRF score
    similarity: float  # cosine of the query to this chunk


def _embed(
    chunks: Sequence[Chunk], embedder: Embedder, progress: Progress | None, known: dict[str, Any]
) -> Any:
    """Vectors for ``chunks``; texts found in ``known`` (embed text -> vector) are not re-embedded.

    The texts go to the embedder longest first (by characters, a good proxy
    for tokens), so each batch holds texts of nearly one length: sorting only
    within each progress step padded a 1 MB pack's tokens by 4.8% and its
    attention work by 10% (0.6% / 1.3% sorted throughout), and the build ran
    ~10% faster (int8) sorted throughout.
    """
    vectors = np.zeros((len(chunks), embedder.dim), np.float32)
    todo = [i for i, c in enumerate(chunks) if c.embed_text not in known]
    todo.sort(key=lambda i: -len(chunks[i].embed_text))
    for i, c in enumerate(chunks):
        if c.embed_text in known:
            vectors[i] = known[c.embed_text]
    step = EMBED_BATCH * 16  # one progress report per step
    for start in range(0, len(todo), step):
        rows = todo[start : start + step]
        vectors[rows] = embedder.encode([chunks[i].embed_text for i in rows], batch_size=EMBED_BATCH)
        if progress:
            progress(min(start + step, len(todo)), len(todo))
    return vectors


def known_vectors(folders: Sequence[Path], embedder: Embedder) -> dict[str, Any]:
    """Embed text -> vector of earlier builds made by the same embedder (others are skipped).

    Why: a new version of a pack mostly repeats the last one; re-embedding only
    changed chunks turns a minutes-long update of a big handbook into seconds.
    """
    import faiss

    known: dict[str, Any] = {}
    for folder in folders:
        try:
            info = json.loads((folder / "index.json").read_text())
            if info.get("embedder") != embedder.id or info.get("dim") != embedder.dim:
                continue
            stored: Any = faiss.read_index(str(folder / "vectors.faiss"))
            vectors = stored.reconstruct_n(0, stored.ntotal)
            db = sqlite_utils.Database(folder / "chunks.sqlite")
            for row in db.execute("SELECT pos, heading, text FROM chunks").fetchall():
                known[f"{row[1]}\n{row[2]}"] = vectors[int(row[0])]
            db.close()
        except (OSError, ValueError, RuntimeError, sqlite3.Error):
            continue  # an unreadable earlier build only costs time
    return known


def build_index(
    root: Path,
    out: Path,
    embedder: Embedder,
    *,
    progress: Progress | None = None,
    reuse: Sequence[Path] = (),
    precision: Precision = BUILD_PRECISION,
) -> dict[str, Any]:
    """Parse, chunk, embed and index the pack folder ``root`` into ``out``.

    ``reuse``: index folders of earlier builds whose vectors may be reused for
    unchanged chunks (``progress`` then counts only the chunks embedded).
    ``precision``: what the chunks are embedded at (``embedder.at``; int8 by
    default, see ``embedder``); where int8 cannot run (no ONNX) the build is
    fp32 and says so in the log. ``index.json`` records the embedder id.
    """
    started = time.perf_counter()
    builder = embedder.at(precision)
    if builder is None:
        log.warning("cannot embed at %s here; building at %s", precision, embedder.precision)
        builder = embedder
    pack = tomllib.loads((root / "pack.toml").read_text(encoding="utf-8"))["pack"]
    chunks = [c for d in load_documents(root) for c in chunk_document(d)]
    known = known_vectors(reuse, builder) if reuse else {}
    vectors = _embed(chunks, builder, progress, known)
    meta = {"pack": pack.get("id"), "version": pack.get("version"), "embedder": builder.id}
    info = write_index(chunks, vectors, out, meta)
    info["text_bytes"] = sum(len(c.text.encode()) for c in chunks)
    info["reused_vectors"] = sum(c.embed_text in known for c in chunks)
    info["build_seconds"] = round(time.perf_counter() - started, 2)
    (out / "index.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def write_index(
    chunks: Sequence[Chunk],
    vectors: npt.NDArray[np.float32],
    out: Path,
    meta: dict[str, Any],
    *,
    approximate_above: int = APPROXIMATE_ABOVE,
) -> dict[str, Any]:
    """Write chunks and their vectors as an index folder (``meta``: pack, version, embedder)."""
    import faiss

    out.mkdir(parents=True, exist_ok=True)
    dim = int(vectors.shape[1])
    if len(chunks) > approximate_above:
        index: Any = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        kind = f"hnsw{HNSW_M}"
    else:
        index = faiss.IndexFlatIP(dim)
        kind = "flat"
    index.add(vectors)
    faiss.write_index(index, str(out / "vectors.faiss"))
    db_path = out / "chunks.sqlite"
    db_path.unlink(missing_ok=True)
    db = sqlite_utils.Database(db_path)
    db.table("chunks").insert_all(
        (
            {
                "pos": i,
                "id": c.id,
                "doc_id": c.doc_id,
                "title": c.title,
                "heading": " > ".join(c.heading_path),
                "anchor": c.anchor,
                "text": c.text,
            }
            for i, c in enumerate(chunks)
        ),
        pk="pos",
        batch_size=1000,
    )
    db.table("chunks").enable_fts(["title", "heading", "text"], tokenize="porter")
    db.execute("INSERT INTO chunks_fts(chunks_fts) VALUES('optimize')")
    db.close()
    info = {
        **meta,
        "dim": dim,
        "faiss": kind,
        "chunks": len(chunks),
        "documents": len({c.doc_id for c in chunks}),
    }
    (out / "index.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


class PackIndex:
    def __init__(self, folder: Path, embedder: Embedder) -> None:
        """Open ``folder``; queries are embedded by ``embedder.for_index`` of its recorded embedder.

        So an index is always searched in its own vector space, whichever
        precision ``embedder`` has. An id ``embedder`` cannot match (another
        model) falls back to ``embedder`` itself: refusing such an index is
        ``multi.check_embedder``'s job, before opening it.
        """
        import faiss

        self.folder = folder
        self.info = json.loads((folder / "index.json").read_text())
        built_by = self.info.get("embedder")
        follows = embedder.for_index(built_by)
        if follows is None and built_by in EMBEDDER_IDS.values():
            # the index's own precision cannot run here: the other one's vectors
            # would rank it wrongly without a word
            raise PackError(
                f"{folder} was embedded as {built_by}, which cannot run on this machine",
                "rebuild it: `agent-assist pack rebuild ID --precision fp32`",
            )
        self.embedder = follows or embedder
        self._vectors: Any = faiss.read_index(str(folder / "vectors.faiss"))
        if self.info.get("faiss", "flat").startswith("hnsw"):
            hnsw: Any = faiss.downcast_index(self._vectors)
            hnsw.hnsw.efSearch = HNSW_EF_SEARCH
        # opened here, used by whichever one thread searches (see the thread rules)
        self._db = sqlite_utils.Database(
            sqlite3.connect(folder / "chunks.sqlite", check_same_thread=False)
        )

    def close(self) -> None:
        self._db.close()

    def __len__(self) -> int:
        return int(self._vectors.ntotal)

    def _chunk(self, pos: int) -> dict[str, Any]:
        return dict(self._db.table("chunks").get(pos))

    def keyword(self, query: str, k: int = CANDIDATES) -> list[int]:
        """Chunk positions ranked by BM25 over title, heading and text.

        Why words in more than ``KEYWORD_MAX_CHUNKS`` chunks are dropped: FTS5
        computes BM25 for every matching row, and at 100k chunks an OR of
        everyday words ("change", "new", "card") matches ~40% of the table
        (69 ms p95 measured). Such words carry little BM25 weight anyway, and
        keyword search is here for the rare ones (codes, names, numbers) that
        embeddings blur. Counting a word's chunks is cheap (no scoring), so
        the filter costs ~2 ms; packs below the limit are never filtered.
        """
        terms = keyword_terms(query)
        if len(self) > KEYWORD_MAX_CHUNKS:
            terms = [
                w
                for w in terms
                if self._db.execute(
                    "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", [f'"{w}"']
                ).fetchone()[0]
                <= KEYWORD_MAX_CHUNKS
            ]
        if not terms:
            return []
        rows = self._db.execute(
            "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts) LIMIT ?",
            [" OR ".join(f'"{w}"' for w in terms), k],
        ).fetchall()
        return [int(r[0]) for r in rows]

    def nearest(self, vector: npt.NDArray[np.float32], k: int = CANDIDATES) -> list[tuple[int, float]]:
        """Chunk positions and cosine similarities, best first (``vector``: shape (1, dim))."""
        sims, idx = self._vectors.search(vector, min(k, len(self)))
        return [(int(i), float(s)) for i, s in zip(idx[0], sims[0], strict=True) if i >= 0]

    def similarity(self, vector: npt.NDArray[np.float32], pos: int) -> float:
        return float(np.dot(vector[0], self._vectors.reconstruct(pos)))

    def search(self, query: str, k: int = 5, mode: str = "hybrid") -> list[Hit]:
        """``mode``: hybrid (RRF of both), vector, or keyword."""
        return self.search_vector(self.embedder.encode([query]), query, k, mode)

    def search_vector(
        self, vector: npt.NDArray[np.float32], query: str, k: int = 5, mode: str = "hybrid"
    ) -> list[Hit]:
        """``search`` with the query already embedded (shape (1, dim), L2-normalised)."""
        nearest = self.nearest(vector) if mode in ("hybrid", "vector") else []
        similarity = dict(nearest)
        rankings: list[list[int]] = []
        if mode in ("hybrid", "vector"):
            rankings.append([pos for pos, _ in nearest])
        if mode in ("hybrid", "keyword"):
            rankings.append(self.keyword(query))
        fused: dict[int, float] = {}
        for ranking in rankings:
            for rank, pos in enumerate(ranking):
                fused[pos] = fused.get(pos, 0.0) + 1.0 / (RRF_K + rank + 1)
        best = sorted(fused.items(), key=lambda kv: -kv[1])[:k]
        return [self.hit(pos, score, similarity.get(pos), vector) for pos, score in best]

    def hit(
        self, pos: int, score: float, similarity: float | None, vector: npt.NDArray[np.float32]
    ) -> Hit:
        row = self._chunk(pos)
        return Hit(
            self.info["pack"],
            row["id"],
            row["doc_id"],
            row["title"],
            tuple(row["heading"].split(" > ")),
            row["anchor"],
            row["text"],
            score,
            self.similarity(vector, pos) if similarity is None else similarity,
        )
