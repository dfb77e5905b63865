"""``agent-assist pack …``: supervisor commands for knowledge packs.

``validate``, ``build`` (into a folder) and ``search`` live here; installed
packs (``install|list|remove|rollback|rebuild``) in ``pack_store_cmds`` and
``eval`` in ``pack_eval_cmd``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    from agent_assist.cli import pack_eval_cmd, pack_store_cmds
    from agent_assist.cli.pack_store_cmds import add_precision_option

    pack = sub.add_parser(
        "pack",
        help="knowledge packs: validate, build, install, list, remove, rollback, rebuild, search, eval",
    )
    commands = pack.add_subparsers(dest="pack_command", metavar="SUBCOMMAND", required=True)
    p = commands.add_parser("validate", help="list every problem in a pack folder, with file and line")
    p.add_argument("path", type=Path, help="the pack folder (with pack.toml), or a .zip of it")
    p.set_defaults(func=_validate)
    p = commands.add_parser("build", help="validate, chunk, embed and index a pack into a folder")
    p.add_argument("path", type=Path, help="the pack folder")
    p.add_argument("--out", type=Path, help="index folder (default: PATH/.index)")
    add_precision_option(p)
    p.set_defaults(func=_build)
    p = commands.add_parser("search", help="ranked snippets for a query, with source and score")
    p.add_argument("query")
    p.add_argument(
        "--index", type=Path, help="a folder made by `pack build` (default: every installed pack)"
    )
    p.add_argument("-k", type=int, default=5, help="how many snippets (default 5)")
    p.add_argument("--mode", choices=("hybrid", "vector", "keyword"), default="hybrid")
    p.set_defaults(func=_search)
    pack_store_cmds.add_parsers(commands)  # install, list, remove, rollback, rebuild
    pack_eval_cmd.add_parser(commands)


def _validate(args: argparse.Namespace) -> int:
    import tempfile

    from agent_assist.knowledge.archive import unpack_zip
    from agent_assist.knowledge.validate import validate_pack

    root: Path = args.path
    if root.suffix.lower() == ".zip" and root.is_file():
        with tempfile.TemporaryDirectory(prefix="agent-assist-pack-") as tmp:
            return _report(unpack_zip(root, Path(tmp)), validate_pack)
    return _report(root, validate_pack)


def _report(root: Path, validate_pack: Any) -> int:
    problems = validate_pack(root)
    for problem in problems:
        print(problem.render(root))
    if problems:
        print(f"{len(problems)} problem(s) in {root}")
        return 1
    print(f"{root}: valid")
    return 0


def _build(args: argparse.Namespace) -> int:
    from agent_assist.cli.pack_store_cmds import progress_bar
    from agent_assist.errors import UserError
    from agent_assist.knowledge.embedder import Embedder
    from agent_assist.knowledge.index import build_index
    from agent_assist.knowledge.validate import validate_pack

    root: Path = args.path
    problems = validate_pack(root)
    if problems:
        for problem in problems:
            print(problem.render(root))
        raise UserError(
            f"{root} has {len(problems)} problem(s); nothing was built", "fix them and build again"
        )
    out = args.out or root / ".index"
    with progress_bar() as progress:
        info = build_index(
            root, out, Embedder(precision=args.precision), progress=progress, precision=args.precision
        )
    print(
        f"built {info['pack']} {info['version']}: {info['documents']} documents, {info['chunks']} chunks "
        f"({info['embedder']}) in {info['build_seconds']} s -> {out}"
    )
    return 0


def _search(args: argparse.Namespace) -> int:
    """One index folder (``--index``), or the active version of every installed pack."""
    from agent_assist.errors import UserError
    from agent_assist.knowledge.embedder import Embedder
    from agent_assist.knowledge.index import PackIndex
    from agent_assist.knowledge.installed import PackStore
    from agent_assist.knowledge.multi import MultiPackSearcher, check_embedder

    embedder = Embedder()
    if args.index is not None:
        if not (args.index / "index.json").is_file():
            raise UserError(
                f"{args.index} is not a built pack index",
                "build one with `agent-assist pack build PACK`",
            )
        check_embedder(
            args.index, embedder, f"rebuild it: `agent-assist pack build PACK --out {args.index}`"
        )
        indexes = [PackIndex(args.index, embedder)]
    else:
        indexes = PackStore().active_indexes(embedder)
        if not indexes:
            raise UserError("no packs are installed", "install one: `agent-assist pack install PATH`")
    searcher = MultiPackSearcher(indexes)
    try:
        hits = searcher.search(args.query, args.k, args.mode)
    finally:
        searcher.close()
    for n, hit in enumerate(hits, 1):
        print(
            f"{n}. {hit.pack}: {hit.doc_id}#{hit.anchor}  "
            f"(score {hit.score:.4f}, similarity {hit.similarity:.2f})"
        )
        print(f"   {' > '.join(hit.heading_path)}")
        print(f"   {hit.text[:160].replace(chr(10), ' ')}")
    return 0
