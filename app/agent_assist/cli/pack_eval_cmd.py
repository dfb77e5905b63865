"""``agent-assist pack eval PATH [QUERIES]``: recall@1/3/5, MRR and latency of a pack.

Why a command (not only a benchmark): a supervisor changing an article should
see at once whether customers' questions still find it, and a pack's own CI
can fail a release with ``--fail-under``. Every mode is scored by default so
the value of hybrid search is measured on *this* pack, not assumed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["add_parser"]

MODES = ("hybrid", "vector", "keyword")


def add_parser(commands: Any) -> None:
    from agent_assist.cli.pack_store_cmds import add_precision_option

    p = commands.add_parser(
        "eval", help="score retrieval on a queries file: recall@1/3/5, MRR, latency, misses"
    )
    p.add_argument(
        "path", type=Path, help="a pack folder (built into a temporary index) or a built index"
    )
    p.add_argument(
        "queries",
        type=Path,
        nargs="?",
        help="CSV with the header query,expected (default: PATH/eval/queries.csv)",
    )
    p.add_argument("--mode", choices=(*MODES, "all"), default="all", help="search mode(s) to score")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the full report as JSON")
    p.add_argument(
        "--fail-under", type=float, metavar="R", help="exit 1 when hybrid recall@3 is below R (e.g. 0.9)"
    )
    p.add_argument("--misses", type=int, default=10, help="how many misses to list (default 10)")
    add_precision_option(p)  # for a pack folder; a built index is queried at its own precision
    p.set_defaults(func=_eval)


def _eval(args: argparse.Namespace) -> int:
    from agent_assist.errors import PackError
    from agent_assist.knowledge.evaluate import load_queries

    root: Path = args.path
    queries_path: Path = args.queries or root / "eval" / "queries.csv"
    if args.queries is None and not queries_path.is_file():
        raise PackError(f"{root} has no eval/queries.csv", "give a queries file: pack eval PATH QUERIES")
    queries = load_queries(queries_path)
    if (root / "index.json").is_file():
        return _run(args, root, queries, queries_path)
    if not (root / "pack.toml").is_file():
        raise PackError(
            f"{root} is neither a pack folder (pack.toml) nor a built index (index.json)",
            "give the pack folder, or a folder made by `agent-assist pack build`",
        )
    with tempfile.TemporaryDirectory(prefix="agent-assist-eval-") as tmp:
        _build(root, Path(tmp), args.precision)
        return _run(args, Path(tmp), queries, queries_path)


def _build(root: Path, out: Path, precision: Any) -> None:
    from agent_assist.cli.pack_store_cmds import progress_bar
    from agent_assist.errors import PackError
    from agent_assist.knowledge.embedder import Embedder
    from agent_assist.knowledge.index import build_index
    from agent_assist.knowledge.validate import validate_pack

    problems = validate_pack(root)
    if problems:
        lines = "\n  ".join(p.render(root) for p in problems)
        raise PackError(
            f"{root} has {len(problems)} problem(s):\n  {lines}",
            "fix them (pack validate) and eval again",
        )
    with progress_bar() as progress:
        build_index(root, out, Embedder(precision=precision), progress=progress, precision=precision)


def _run(args: argparse.Namespace, folder: Path, queries: list[Any], queries_path: Path) -> int:
    from agent_assist.knowledge.embedder import Embedder
    from agent_assist.knowledge.evaluate import evaluate
    from agent_assist.knowledge.index import PackIndex
    from agent_assist.knowledge.multi import check_embedder

    embedder = Embedder(threads=1)  # latency as live retrieval sees it: one thread beside STT
    check_embedder(folder, embedder, "rebuild the index with `agent-assist pack build`")
    index = PackIndex(folder, embedder)
    try:
        index.search("warm up", 1)
        modes = MODES if args.mode == "all" else (args.mode,)
        reports = [evaluate(index.search, queries, mode) for mode in modes]
    finally:
        index.close()
    print(
        f"{index.info['pack']} {index.info['version']}: {len(queries)} queries from {queries_path}, "
        f"{index.info['chunks']} chunks, embedded by {index.info.get('embedder')}"
    )
    print(
        f"{'mode':8} {'R@1':>5} {'R@3':>5} {'R@5':>5} {'MRR':>5} {'sec@3':>6} {'p50 ms':>7} {'p95 ms':>7}"
    )
    for r in reports:
        section = "-" if r.section_at_3 is None else f"{r.section_at_3:.2f}"
        print(
            f"{r.mode:8} {r.recall[1]:5.2f} {r.recall[3]:5.2f} {r.recall[5]:5.2f} {r.mrr:5.2f} "
            f"{section:>6} {r.latency_ms_p50:7.1f} {r.latency_ms_p95:7.1f}"
        )
    first = reports[0]
    if first.misses and args.misses:
        print(f"\n{first.mode} misses (expected not in the top 3), {len(first.misses)} in all:")
        for miss in first.misses[: args.misses]:
            print(
                f"  {miss.query[:70]!r}\n    expected {miss.expected}; got {', '.join(miss.got) or '-'}"
            )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "index": index.info,
                    "queries": str(queries_path),
                    "reports": [r.as_dict() for r in reports],
                },
                indent=2,
            )
            + "\n"
        )
    hybrid = next((r for r in reports if r.mode == "hybrid"), first)
    if args.fail_under is not None and hybrid.recall[3] < args.fail_under:
        print(f"\nrecall@3 {hybrid.recall[3]:.2f} is below --fail-under {args.fail_under}")
        return 1
    return 0
