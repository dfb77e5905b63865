"""A built pack on disk: FAISS vectors + SQLite FTS5 keywords, searched together.

Why hybrid: customers say order numbers, product names and error codes ("E3",
"NW4817") that embeddings blur, while paraphrases ("took my money twice")
defeat keywords. Both rankings are fused with reciprocal rank fusion (RRF),
which needs no score calibration between the two.

Layout of an index folder: ``vectors.faiss`` (row i = chunk i),
``chunks.sqlite`` (chunk text, citation fields, FTS5), ``index.json``
(pack id/version, embedder, counts). Exact search (``IndexFlatIP``) for now.

Thread rules: ``PackIndex.search`` may run on any one worker thread at a time
(SQLite connection and FAISS index are not shared across threads).
"""

from __future__ import annotations

import json
import re
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from agent_assist.knowledge.chunking import chunk_document
from agent_assist.knowledge.embedder import EMBEDDER_ID, Embedder
from agent_assist.knowledge.loading import load_documents

__all__ = ["Hit", "PackIndex", "build_index"]

RRF_K = 60


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
    similarity: float  # cosine of the query to this chunk (0 if found by keywords only)


def build_index(root: Path, out: Path, embedder: Embedder) -> dict[str, Any]:
    """Parse, chunk, embed and index the pack folder ``root`` into ``out``."""
    import faiss

    started = time.perf_counter()
    pack = tomllib.loads((root / "pack.toml").read_text(encoding="utf-8"))["pack"]
    chunks = [c for d in load_documents(root) for c in chunk_document(d)]
    vectors = embedder.encode([c.embed_text for c in chunks])
    out.mkdir(parents=True, exist_ok=True)
    index = faiss.IndexFlatIP(embedder.dim)
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
    )
    db.table("chunks").enable_fts(["title", "heading", "text"], tokenize="porter")
    db.close()
    info = {
        "pack": pack.get("id"),
        "version": pack.get("version"),
        "embedder": EMBEDDER_ID,
        "dim": embedder.dim,
        "chunks": len(chunks),
        "documents": len({c.doc_id for c in chunks}),
        "build_seconds": round(time.perf_counter() - started, 2),
    }
    (out / "index.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


class PackIndex:
    def __init__(self, folder: Path, embedder: Embedder) -> None:
        import faiss

        self.folder = folder
        self.info = json.loads((folder / "index.json").read_text())
        self.embedder = embedder
        self._vectors: Any = faiss.read_index(str(folder / "vectors.faiss"))
        self._db = sqlite_utils.Database(folder / "chunks.sqlite")

    def close(self) -> None:
        self._db.close()

    def _chunk(self, pos: int) -> dict[str, Any]:
        return dict(self._db.table("chunks").get(pos))

    def _keyword(self, query: str, k: int) -> list[int]:
        words = re.findall(r"[A-Za-z0-9]+", query)
        if not words:
            return []
        match = " OR ".join(f'"{w}"' for w in words)
        rows = self._db.execute(
            "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts) LIMIT ?",
            [match, k],
        ).fetchall()
        return [int(r[0]) for r in rows]

    def search(self, query: str, k: int = 5, mode: str = "hybrid") -> list[Hit]:
        """``mode``: hybrid (RRF of both), vector, or keyword."""
        q = self.embedder.encode([query])
        sims, idx = self._vectors.search(q, min(20, self._vectors.ntotal))
        similarity = {int(i): float(s) for i, s in zip(idx[0], sims[0], strict=True) if i >= 0}
        rankings: list[list[int]] = []
        if mode in ("hybrid", "vector"):
            rankings.append([int(i) for i in idx[0] if i >= 0])
        if mode in ("hybrid", "keyword"):
            rankings.append(self._keyword(query, 20))
        fused: dict[int, float] = {}
        for ranking in rankings:
            for rank, pos in enumerate(ranking):
                fused[pos] = fused.get(pos, 0.0) + 1.0 / (RRF_K + rank + 1)
        best = sorted(fused.items(), key=lambda kv: -kv[1])[:k]
        hits = []
        for pos, score in best:
            row = self._chunk(pos)
            sim = similarity.get(pos)
            if sim is None:
                sim = float(np.dot(q[0], self._vectors.reconstruct(pos)))
            hits.append(
                Hit(
                    self.info["pack"],
                    row["id"],
                    row["doc_id"],
                    row["title"],
                    tuple(row["heading"].split(" > ")),
                    row["anchor"],
                    row["text"],
                    score,
                    sim,
                )
            )
        return hits
