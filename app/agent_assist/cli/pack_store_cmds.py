"""``agent-assist pack install|list|remove|rollback|rebuild``: the installed packs.

Thin calls into ``knowledge.installed.PackStore``; every failure is a
``PackError`` (``error:``/``fix:``, exit code 6). Embedding progress goes to
stderr (only on a terminal), results to stdout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["add_parsers", "add_precision_option", "progress_bar"]


def add_parsers(commands: Any) -> None:
    """Add the installed-pack subcommands to ``pack``'s subparsers."""
    p = commands.add_parser("install", help="validate, index and activate a pack folder or .zip")
    p.add_argument("path", type=Path, help="the pack folder (with pack.toml), or a .zip of it")
    p.add_argument(
        "--reinstall", action="store_true", help="replace a version that is already installed"
    )
    add_precision_option(p)
    p.set_defaults(func=_install)
    p = commands.add_parser("list", help="installed packs: active version, kept versions, chunks")
    p.set_defaults(func=_list)
    p = commands.add_parser("remove", help="remove an installed pack, or one kept version of it")
    p.add_argument("pack_id", metavar="ID")
    p.add_argument("--version", help="remove only this kept (not active) version")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=_remove)
    p = commands.add_parser("rollback", help="activate the previous kept version of a pack")
    p.add_argument("pack_id", metavar="ID")
    p.add_argument("--to", metavar="VERSION", help="activate this kept version instead")
    p.set_defaults(func=_rollback)
    p = commands.add_parser(
        "rebuild", help="re-index a pack's active version (after an embedder change)"
    )
    p.add_argument("pack_id", metavar="ID")
    add_precision_option(p)
    p.set_defaults(func=_rebuild)


def add_precision_option(parser: Any) -> None:
    """``--precision int8|fp32`` for the commands that build an index (see ``knowledge.embedder``)."""
    parser.add_argument(
        "--precision",
        choices=("int8", "fp32"),
        default="int8",
        help="embedding precision of the index: int8 (default; ~2x faster builds, same retrieval "
        "quality measured) or fp32 (the model's exact vectors); searches follow the index",
    )


@contextmanager
def progress_bar() -> Iterator[Any]:
    """A chunk progress callback drawing a tqdm bar on stderr (silent when not a terminal)."""
    from tqdm import tqdm

    bar = tqdm(
        desc="embedding", unit="chunk", file=sys.stderr, disable=not sys.stderr.isatty(), leave=False
    )

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        bar.close()


def _install(args: argparse.Namespace) -> int:
    from agent_assist.knowledge.embedder import Embedder
    from agent_assist.knowledge.installed import PackStore

    store = PackStore()
    with progress_bar() as progress:
        pack = store.install(
            args.path,
            Embedder(precision=args.precision),
            reinstall=args.reinstall,
            progress=progress,
            precision=args.precision,
        )
    _print_change("installed", pack)
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    from agent_assist.knowledge.embedder import Embedder
    from agent_assist.knowledge.installed import PackStore

    store = PackStore()
    with progress_bar() as progress:
        pack = store.rebuild(
            args.pack_id, Embedder(precision=args.precision), progress=progress, precision=args.precision
        )
    _print_change("rebuilt", pack)
    return 0


def _print_change(verb: str, pack: Any) -> None:
    print(f"{verb} {pack.id} {pack.version}: {pack.chunks} chunks ({pack.name})")
    if pack.previous is None:
        was = "first version installed"
    elif pack.previous == pack.version:
        was = "unchanged"
    else:
        was = f"was {pack.previous}"
    print(f"active version: {pack.version} ({was})")
    print(f"kept versions: {', '.join(pack.versions)}")


def _list(args: argparse.Namespace) -> int:
    from agent_assist.knowledge.installed import PackStore

    packs = PackStore().list()
    if not packs:
        print("no packs installed (add one with `agent-assist pack install PATH`)")
        return 0
    rows = [("ID", "ACTIVE", "KEPT VERSIONS", "CHUNKS", "INSTALLED", "EMBEDDER")]
    rows += [
        (
            p.id,
            p.version,
            ", ".join(p.versions),
            str(p.chunks),
            p.installed_at.replace("T", " ")[:16],
            p.embedder,  # all-minilm-l6-v2 alone: fp32, made before int8 (`pack rebuild ID` for int8)
        )
        for p in packs
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _remove(args: argparse.Namespace) -> int:
    from agent_assist.errors import UserError
    from agent_assist.knowledge.installed import PackStore

    what = f"{args.pack_id} {args.version}" if args.version else f"{args.pack_id} (every version)"
    if not args.yes:
        if not sys.stdin.isatty():
            raise UserError(f"not removing {what} without confirmation", "add --yes")
        if input(f"remove {what}? [y/N] ").strip().lower() not in ("y", "yes"):
            print("nothing removed")
            return 1
    PackStore().remove(args.pack_id, args.version)
    print(f"removed {what}")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from agent_assist.knowledge.installed import PackStore

    pack = PackStore().rollback(args.pack_id, args.to)
    print(f"{pack.id}: active version {pack.version} (was {pack.previous})")
    return 0
