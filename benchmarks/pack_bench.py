"""Knowledge-pack benchmark: quality, query latency at scale, build throughput.

Run: ``.venv/bin/python benchmarks/pack_bench.py [--quick]``
Writes ``benchmarks/results/pack.json`` and prints a table with the targets of
issue 3:

* quality: recall@1/3/5 and MRR on the example pack's eval queries and on the
  ABCD-derived pack (built here from ``../shared/data/abcd``, never committed),
  hybrid vs embedding-only vs keyword-only;
* query latency, query embedding included, on 10k and 100k chunks: the chunk
  texts are the real chunks of both packs repeated with varied identifiers and
  their vectors perturbed copies of the real ones (embedding 100k chunks would
  take an hour and does not change search cost); exact (flat) vs HNSW, with
  HNSW's overlap with the exact top 10;
* build throughput: a realistic pack of ~1 MB of text (both packs' articles
  repeated under new ids) through the whole ``build_index`` (parse, chunk,
  embed, index), in a child process so its peak memory is its own.

Everything is embedded at ``BUILD_PRECISION`` (int8), as ``pack build`` and
``pack install`` do; queries too, as they follow their index's precision.

Latencies are medians/percentiles over hundreds of queries; throughput is the
median of repeated builds, because this 2-core machine is noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.abcd_pack import make_abcd_pack  # noqa: E402

from agent_assist.knowledge.chunking import Chunk, chunk_document  # noqa: E402
from agent_assist.knowledge.embedder import BUILD_PRECISION, Embedder, embedder_id  # noqa: E402
from agent_assist.knowledge.evaluate import evaluate, load_queries  # noqa: E402
from agent_assist.knowledge.index import PackIndex, build_index, write_index  # noqa: E402
from agent_assist.knowledge.loading import load_documents  # noqa: E402

EXAMPLE = ROOT / "knowledge" / "northwind-home"
RESULTS = ROOT / "benchmarks" / "results" / "pack.json"
MODES = ("hybrid", "vector", "keyword")


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


def quality(work: Path, embedder: Embedder) -> dict[str, Any]:
    abcd = make_abcd_pack(work / "abcd")
    out: dict[str, Any] = {}
    for name, root, files in (
        ("northwind-home", EXAMPLE, {"queries": EXAMPLE / "eval" / "queries.csv"}),
        ("abcd", abcd.root, {"turns": abcd.turn_queries, "turns+context": abcd.context_queries}),
    ):
        info = build_index(root, work / f"{name}-index", embedder)
        index = PackIndex(work / f"{name}-index", embedder)
        for label, path in files.items():
            queries = load_queries(path)
            out[f"{name}/{label}"] = {
                "chunks": info["chunks"],
                "queries": len(queries),
                **{m: evaluate(index.search, queries, m).as_dict() for m in MODES},
            }
        index.close()
    return out


def _corpus_base(embedder: Embedder, work: Path) -> tuple[list[Chunk], Any]:
    abcd = make_abcd_pack(work / "abcd-base")
    chunks = [
        c for root in (EXAMPLE, abcd.root) for d in load_documents(root) for c in chunk_document(d)
    ]
    return chunks, embedder.encode([c.embed_text for c in chunks])


def _scaled(chunks: list[Chunk], vectors: Any, n: int, seed: int = 7) -> tuple[list[Chunk], Any]:
    """``n`` synthetic chunks built from the real ones.

    Each takes the heading of a real chunk and 2-6 sentences drawn from random
    real chunks, plus a distinct order code, so word frequencies look like a
    big handbook's (not 100k copies of 600 texts); its vector is the real
    chunk's vector perturbed (cosine ~0.9) and re-normalised.
    """
    import re

    rng = np.random.default_rng(seed)
    sentences = [s for c in chunks for s in re.split(r"(?<=[.!?])\s+|\n+", c.text) if len(s) > 20]
    picks = rng.integers(0, len(chunks), n)
    out = []
    for i, p in enumerate(picks):
        c = chunks[p]
        body = " ".join(sentences[j] for j in rng.integers(0, len(sentences), rng.integers(2, 7)))
        text = f"{body}\nReference NW{100000 + i}."
        out.append(
            Chunk(f"{c.id}~r{i}", f"{c.doc_id}~r{i // 20}", c.title, c.heading_path, c.anchor, text)
        )
    noise = rng.normal(0, 1, (n, vectors.shape[1])).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    scaled = vectors[picks] + 0.45 * noise
    scaled /= np.linalg.norm(scaled, axis=1, keepdims=True)
    return out, np.ascontiguousarray(scaled, dtype=np.float32)


def latency(work: Path, sizes: list[int], rounds: int) -> dict[str, Any]:
    build_embedder = Embedder(precision=BUILD_PRECISION)
    # live retrieval runs on one thread beside STT, at the precision of the index
    query_embedder = Embedder(threads=1, precision=BUILD_PRECISION)
    chunks, vectors = _corpus_base(build_embedder, work)
    queries = [q.query for q in load_queries(EXAMPLE / "eval" / "queries.csv")]
    abcd_q = load_queries(make_abcd_pack(work / "abcd-q").context_queries)
    queries += [q.query for q in abcd_q]
    out: dict[str, Any] = {}
    for n in sizes:
        texts, vecs = _scaled(chunks, vectors, n)
        row: dict[str, Any] = {}
        exact_top: dict[str, list[int]] = {}
        for kind, threshold in (("flat", n + 1), ("hnsw", 0)):
            folder = work / f"scale-{n}-{kind}"
            started = time.perf_counter()
            write_index(
                texts,
                vecs,
                folder,
                {"pack": "scale", "version": "1.0.0", "embedder": build_embedder.id},
                approximate_above=threshold,
            )
            build_s = time.perf_counter() - started
            index = PackIndex(folder, query_embedder)
            index.search("warm up", 5)
            times: list[float] = []
            vector_ms: list[float] = []
            overlap: list[float] = []
            for _ in range(rounds):
                for q in queries:
                    t0 = time.perf_counter()
                    index.search(q, 5)
                    times.append((time.perf_counter() - t0) * 1000)
                    vec = query_embedder.encode([q])
                    t1 = time.perf_counter()
                    top = [p for p, _ in index.nearest(vec, 10)]
                    vector_ms.append((time.perf_counter() - t1) * 1000)
                    if kind == "flat":
                        exact_top[q] = top
                    else:
                        overlap.append(len(set(top) & set(exact_top[q])) / 10)
            size = sum(f.stat().st_size for f in folder.iterdir())
            row[kind] = {
                "p50_ms": pct(times, 50),
                "p95_ms": pct(times, 95),
                "faiss_p95_ms": pct(vector_ms, 95),
                "index_build_s": round(build_s, 1),
                "disk_mb": round(size / 1e6, 1),
                **({"top10_overlap_with_exact": round(float(np.mean(overlap)), 3)} if overlap else {}),
            }
            index.close()
            shutil.rmtree(folder)
        out[str(n)] = row
        print(f"  {n} chunks: {row}", flush=True)
    return out


def _throughput_pack(work: Path, target_bytes: int) -> Path:
    """Articles of both packs copied under new ids until ``target_bytes`` of text."""
    abcd = make_abcd_pack(work / "abcd-tp")
    root = work / "throughput-pack"
    (root / "articles").mkdir(parents=True)
    shutil.copy(EXAMPLE / "pack.toml", root / "pack.toml")
    sources = sorted((EXAMPLE / "articles").glob("*.md")) + sorted((abcd.root / "articles").glob("*.md"))
    total = copy = 0
    while total < target_bytes:
        for src in sources:
            text = src.read_text(encoding="utf-8").replace(f"id: {src.stem}", f"id: {src.stem}-c{copy}")
            text = text.replace("\n# ", f"\n# (copy {copy}) ", 1)
            (root / "articles" / f"{src.stem}-c{copy}.md").write_text(text, encoding="utf-8")
            total += len(text.encode())
        copy += 1
    return root


def _child_build(root: str, out: str) -> None:
    embedder = Embedder(precision=BUILD_PRECISION)  # loaded before the clock starts
    started = time.perf_counter()
    info = build_index(Path(root), Path(out), embedder)
    seconds = time.perf_counter() - started
    size = sum(f.stat().st_size for f in Path(out).iterdir())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "info": info, "disk_bytes": size, "peak_rss_mb": peak_mb}))


def throughput(work: Path, target_bytes: int, runs: int) -> dict[str, Any]:
    root = _throughput_pack(work, target_bytes)
    results = []
    for run in range(runs):
        out = work / f"tp-index-{run}"
        proc = subprocess.run(
            [sys.executable, __file__, "--child-build", str(root), str(out)],
            check=True,
            capture_output=True,
            text=True,
        )
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        shutil.rmtree(out)
    best = sorted(results, key=lambda r: r["seconds"])[len(results) // 2]
    text_mb = best["info"]["text_bytes"] / 1e6
    return {
        "text_mb": round(text_mb, 2),
        "chunks": best["info"]["chunks"],
        "median_seconds": round(best["seconds"], 1),
        "mb_per_min": round(text_mb / best["seconds"] * 60, 2),
        "runs_mb_per_min": [round(text_mb / r["seconds"] * 60, 2) for r in results],
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in results)),  # the worst run
        "index_disk_mb": round(best["disk_bytes"] / 1e6, 2),
        "disk_per_text_mb": round(best["disk_bytes"] / best["info"]["text_bytes"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller corpora and fewer rounds")
    parser.add_argument("--child-build", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_build:
        _child_build(*args.child_build)
        return
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count()},
        "embedder": embedder_id(BUILD_PRECISION),
    }
    with tempfile.TemporaryDirectory(prefix="pack-bench-") as tmp:
        work = Path(tmp)
        print("quality ...", flush=True)
        results["quality"] = quality(work, Embedder(precision=BUILD_PRECISION))
        print("latency ...", flush=True)
        sizes = [10_000, 100_000] if not args.quick else [10_000]
        results["latency"] = latency(work, sizes, rounds=1 if args.quick else 2)
        print("build throughput ...", flush=True)
        results["throughput"] = throughput(
            work, 300_000 if args.quick else 1_000_000, runs=1 if args.quick else 3
        )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    _table(results)


def _table(results: dict[str, Any]) -> None:
    print(f"\n{'quality':28} {'mode':8} {'R@1':>5} {'R@3':>5} {'R@5':>5} {'MRR':>5}")
    for name, row in results["quality"].items():
        for mode in MODES:
            r = row[mode]
            print(
                f"{name:28} {mode:8} {r['recall@1']:5.2f} {r['recall@3']:5.2f} "
                f"{r['recall@5']:5.2f} {r['mrr']:5.2f}"
            )
    print(f"\n{'latency (query embedding incl.)':32} {'p50 ms':>7} {'p95 ms':>7} {'target':>7}")
    for n, row in results["latency"].items():
        target = 30 if int(n) <= 10_000 else 60
        for kind, r in row.items():
            print(f"{n + ' chunks, ' + kind:32} {r['p50_ms']:7.1f} {r['p95_ms']:7.1f} {target:7}")
    t = results["throughput"]
    print(
        f"\nbuild: {t['text_mb']} MB text, {t['chunks']} chunks in {t['median_seconds']} s = "
        f"{t['mb_per_min']} MB/min (target 5); peak RSS {t['peak_rss_mb']} MB; "
        f"index {t['index_disk_mb']} MB on disk"
    )


if __name__ == "__main__":
    main()
