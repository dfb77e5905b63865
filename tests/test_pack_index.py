"""Build the example pack with the real embedder and search it (hybrid, vector, keyword)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ROOT, data_home

EXAMPLE = ROOT / "knowledge" / "northwind-home"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from agent_assist.knowledge.embedder import Embedder
    from agent_assist.knowledge.index import PackIndex, build_index
    from agent_assist.models import install

    with data_home(tmp_path_factory.mktemp("embed-home")) as home:
        install("all-minilm-l6-v2", progress=False)
        embedder = Embedder()
        info = build_index(EXAMPLE, home / "index", embedder)
        assert info["pack"] == "northwind-home" and info["chunks"] > 100
        index = PackIndex(home / "index", embedder)
    yield index
    index.close()


@pytest.mark.slow
@pytest.mark.model
@pytest.mark.parametrize(
    ("query", "article"),
    [
        ("I was charged twice for my subscription this month", "refunds-double-charge"),
        ("my machine shows E3", "products-error-codes"),
        ("the jug arrived with a crack in it", "returns-damaged-in-transit"),
    ],
)
def test_hits_cite_the_right_article(index: Any, query: str, article: str) -> None:
    hits = index.search(query, 3)
    assert article in [h.doc_id for h in hits]
    for hit in hits:  # every hit carries its citation
        assert hit.chunk_id.startswith(f"{hit.doc_id}#{hit.anchor}")
        assert hit.heading_path and hit.text and 0 < hit.similarity <= 1.0


@pytest.mark.slow
@pytest.mark.model
def test_keyword_search_finds_codes_embeddings_blur(index: Any) -> None:
    hits = index.search("E4", 3, mode="keyword")
    assert hits and all("E4" in h.text or "E4" in " ".join(h.heading_path) for h in hits)


@pytest.mark.slow
@pytest.mark.model
def test_eval_queries_recall_at_3(index: Any) -> None:
    rows = list(csv.DictReader((EXAMPLE / "eval" / "queries.csv").read_text().splitlines()))
    found = sum(
        r["expected"].split("#")[0] in [h.doc_id for h in index.search(r["query"], 3)] for r in rows
    )
    # Measured 0.88 (hybrid); the 0.9 target is work in progress (FAQ rows
    # still compete with the articles they summarise).
    assert found / len(rows) >= 0.8
