"""int8 embeddings: close to the exact vectors, cached and remade when stale, never mixed with fp32.

Packs are built at int8 by default and queried at the precision their index
records; packs built at fp32 (as every pack was before int8) keep working.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent_assist.knowledge.archive import PackError
from agent_assist.knowledge.embedder import EMBEDDER_IDS
from tests.conftest import ROOT, data_home, link_embedder
from tests.test_pack_install import _mini

EXAMPLE = ROOT / "knowledge" / "northwind-home"
FP32, INT8 = EMBEDDER_IDS["fp32"], EMBEDDER_IDS["int8"]


def test_ids_name_the_precision_and_torch_is_fp32_only() -> None:
    from agent_assist.knowledge.embedder import BUILD_PRECISION, EMBEDDER_ID, Embedder

    assert (FP32, INT8) == ("all-minilm-l6-v2", "all-minilm-l6-v2+onnx-int8")
    assert EMBEDDER_ID == FP32 and BUILD_PRECISION == "int8"  # fp32 keeps the id older packs have
    with pytest.raises(ValueError, match="fp32 only"):
        Embedder(backend="torch", precision="int8")


@pytest.mark.slow
@pytest.mark.model
def test_int8_vectors_are_close_to_the_exact_ones(embedder: Any) -> None:
    from agent_assist.knowledge.chunking import chunk_document
    from agent_assist.knowledge.evaluate import load_queries
    from agent_assist.knowledge.loading import load_documents

    int8 = embedder.at("int8")
    assert embedder.id == FP32 and int8.id == INT8 and int8.backend == "onnx"
    assert embedder.at("int8") is int8 and int8.at("fp32") is not None  # loaded once, then kept
    texts = [c.embed_text for d in load_documents(EXAMPLE) for c in chunk_document(d)]
    texts += [q.query for q in load_queries(EXAMPLE / "eval" / "queries.csv")]
    cosine = (embedder.encode(texts) * int8.encode(texts)).sum(axis=1)
    # measured on these 266 texts: min 0.988, mean 0.994 (0.979 / 0.994 on 607 with ABCD's)
    assert cosine.min() > 0.97 and cosine.mean() > 0.99
    # activations are quantised per batch, so a vector moves a little with its batch mates
    # (measured: cosine >= 0.988 for these 48 alone vs in one batch, >= 0.986 for all 266;
    # fp32: 1.000000). Retrieval quality is measured with exactly this: queries alone, chunks batched.
    alone = np.vstack([int8.encode([t]) for t in texts[:48]])
    assert (alone * int8.encode(texts[:48])).sum(axis=1).min() > 0.985
    assert int8.dim == embedder.dim == 384 and int8.encode([]).shape == (0, 384)


@pytest.mark.slow
@pytest.mark.model
def test_the_int8_graph_is_cached_and_remade_when_stale(
    embed_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnxruntime

    from agent_assist.knowledge import embedder_onnx

    source = embed_home / "models" / "all-minilm-l6-v2"
    model = tmp_path / "model"
    (model / "onnx").mkdir(parents=True)
    for item in source.iterdir():
        if item.name != "onnx":
            os.symlink(item, model / item.name)
    os.symlink(source / "onnx" / "model.onnx", model / "onnx" / "model.onnx")  # the fp32 export
    shutil.copy(source / "onnx" / "source.json", model / "onnx" / "source.json")
    made: list[Path] = []
    quantize = embedder_onnx._quantize
    monkeypatch.setattr(
        embedder_onnx, "_quantize", lambda src, out: made.append(out) or quantize(src, out)
    )
    path = embedder_onnx.ensure_int8(model)
    stamp_path = path.with_suffix(".json")
    stamp = json.loads(stamp_path.read_text())
    assert path == model / "onnx" / "model-int8.onnx" and len(made) == 1
    assert stamp["onnxruntime"] == onnxruntime.__version__ and stamp["quantization"]["per_channel"]
    assert stamp["source"] == json.loads((model / "onnx" / "source.json").read_text())
    assert embedder_onnx.ensure_int8(model) == path and len(made) == 1  # cached
    for stale in ({"onnxruntime": "1.0.0"}, {"source": {**stamp["source"], "size": 1}}):
        stamp_path.write_text(json.dumps({**stamp, **stale}))  # an upgrade, a changed model
        assert embedder_onnx.ensure_int8(model) == path
    stamp_path.unlink()  # an interrupted quantisation leaves no stamp
    embedder_onnx.ensure_int8(model)
    assert len(made) == 4 and json.loads(stamp_path.read_text()) == stamp
    assert sorted(p.name for p in (model / "onnx").iterdir()) == [
        "model-int8.json",
        "model-int8.onnx",
        "model.onnx",
        "source.json",
    ]  # no temporary files left


@pytest.mark.slow
@pytest.mark.model
def test_packs_of_both_precisions_are_each_searched_in_their_own_space(
    embedder: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_assist.knowledge.installed import PackStore
    from agent_assist.knowledge.multi import MultiPackSearcher

    store = PackStore(tmp_path / "packs")
    store.install(EXAMPLE, embedder, precision="fp32")  # as installed before int8 existed
    store.install(_mini(tmp_path / "mini"), embedder)  # the default: int8
    assert {p.id: p.embedder for p in store.list()} == {"acme-mini": INT8, "northwind-home": FP32}
    int8 = embedder.at("int8")
    calls: list[str] = []
    for e in (embedder, int8):
        monkeypatch.setattr(
            e, "encode", lambda t, e=e, enc=e.encode, **kw: calls.append(e.id) or enc(t, **kw)
        )
    indexes = store.active_indexes(embedder)
    assert {ix.info["pack"]: ix.embedder for ix in indexes} == {
        "acme-mini": int8,
        "northwind-home": embedder,
    }
    searcher = MultiPackSearcher(indexes)
    try:
        hits = searcher.search("I was charged twice for my subscription", 5)
        assert sorted(calls) == [FP32, INT8]  # once per vector space
        assert hits[0].pack == "northwind-home" and "refunds-double-charge" in [h.doc_id for h in hits]
        assert searcher.search("how do I reset the Zephyr router", 3)[0].doc_id == "router-reset"
    finally:
        searcher.close()
    store.rebuild("northwind-home", embedder)  # `pack rebuild ID` moves it to int8
    assert {p.embedder for p in store.list()} == {INT8}


@pytest.mark.slow
@pytest.mark.model
def test_an_int8_index_is_refused_where_int8_cannot_run(
    embedder: Any, embed_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_assist.knowledge.embedder import Embedder
    from agent_assist.knowledge.index import build_index
    from agent_assist.knowledge.multi import check_embedder

    mini = _mini(tmp_path / "mini")
    assert build_index(mini, tmp_path / "int8", embedder)["embedder"] == INT8
    with data_home(embed_home):
        fp32_only = Embedder()
    monkeypatch.setattr(fp32_only, "_sibling", lambda precision: None)  # as when only torch runs
    with pytest.raises(PackError, match="cannot embed queries for") as err:
        check_embedder(tmp_path / "int8", fp32_only, "rebuild it: `agent-assist pack rebuild acme-mini`")
    assert INT8 in err.value.message and "pack rebuild acme-mini" in (err.value.fix or "")
    assert check_embedder(tmp_path / "int8", embedder, "-")["embedder"] == INT8
    from agent_assist.knowledge.index import PackIndex

    with pytest.raises(PackError, match="cannot run on this machine"):  # never fp32 queries silently
        PackIndex(tmp_path / "int8", fp32_only)
    info = build_index(mini, tmp_path / "fallback", fp32_only)  # builds at what it can, and says so
    assert info["embedder"] == FP32


@pytest.mark.slow
@pytest.mark.model
def test_cli_builds_at_the_chosen_precision_and_eval_follows_the_index(
    embed_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent_assist.cli.main import main

    mini = _mini(tmp_path / "mini")
    with data_home(link_embedder(tmp_path / "home", embed_home)):
        for precision, expected in (("fp32", FP32), (None, INT8)):
            out = tmp_path / f"index-{precision}"
            args = ["pack", "build", str(mini), "--out", str(out)]
            assert main(args + (["--precision", precision] if precision else [])) == 0
            assert f"({expected})" in capsys.readouterr().out
            assert json.loads((out / "index.json").read_text())["embedder"] == expected
            queries = tmp_path / "queries.csv"
            queries.write_text("query,expected\nhow do I reset my router,router-reset\n")
            assert main(["pack", "eval", str(out), str(queries), "--mode", "vector"]) == 0
            printed = capsys.readouterr().out
            assert f"embedded by {expected}" in printed and "vector    1.00" in printed
