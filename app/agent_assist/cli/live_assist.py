"""Knowledge cards during a CLI call: installed packs, ``--pack-index FOLDER``, ``--no-knowledge``.

By default the active version of every installed pack is searched (``pack
install``); ``--pack-index`` searches one built folder instead. ``demo``
installs the bundled example pack when no pack is installed, so the first run
on a fresh machine shows the whole pipeline.

Why the indexes are opened on the retriever's thread: loading the embedder
takes a second, and a live call must start capturing at once; the turns heard
meanwhile queue and the newest is searched when it is ready. What can be
checked cheaply (the folder is a built index, made by this embedder; the
embedder model is installed) is checked before the call starts, so a mistake is
an ``error:``/``fix:`` pair rather than a warning mid-call.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from agent_assist.errors import PackError, UserError

if TYPE_CHECKING:
    from agent_assist.assist import LiveRetriever, Searcher
    from agent_assist.events import EventBus

__all__ = ["add_knowledge_args", "knowledge_source", "start_retriever"]

SearcherFactory = Callable[[], "Searcher"]


def add_knowledge_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--pack-index",
        metavar="FOLDER",
        type=Path,
        help="show knowledge cards from this index (a folder made by `agent-assist pack build`) "
        "instead of the installed packs",
    )
    p.add_argument("--no-knowledge", action="store_true", help="show no knowledge cards")


def _check_built(folder: Path, fix: str) -> None:
    from agent_assist.knowledge.embedder import EMBEDDER_ID

    try:
        info = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UserError(f"{folder} is not a built pack index", fix) from None
    if info.get("embedder") != EMBEDDER_ID:
        raise PackError(
            f"{folder} was built with embedder '{info.get('embedder')}', not '{EMBEDDER_ID}'", fix
        )


def knowledge_source(
    args: argparse.Namespace, *, install_example: bool = False
) -> SearcherFactory | None:
    """A factory for the searcher of this call, checked; None when cards are off.

    ``install_example``: with no pack installed, install the bundled example
    pack first (``demo``).
    """
    if getattr(args, "no_knowledge", False):
        return None
    from agent_assist.knowledge.embedder import EMBEDDER_ID
    from agent_assist.models import model_path

    folder: Path | None = getattr(args, "pack_index", None)
    if folder is not None:
        _check_built(folder, f"build it: `agent-assist pack build PACK --out {folder}`")
        model_path(EMBEDDER_ID)  # a ModelError naming the install command
        return lambda: _open_folder(folder)
    from agent_assist.knowledge.installed import PackStore

    store = PackStore()
    packs = store.list()
    if not packs and install_example:
        _install_example(store)
        packs = store.list()
    if not packs:
        if getattr(args, "command", "") == "transcribe":
            return None  # a batch job: no cards without packs is not news
        print(
            "note: no knowledge packs installed, so no knowledge cards "
            "(`agent-assist pack install PACK`)",
            file=sys.stderr,
        )
        return None
    model_path(EMBEDDER_ID)
    for pack in packs:
        _check_built(pack.folder / "index", f"rebuild it: `agent-assist pack rebuild {pack.id}`")
    return lambda: _open_installed(store)


def _install_example(store: object) -> None:
    from agent_assist.cli.pack_store_cmds import progress_bar
    from agent_assist.knowledge.embedder import Embedder
    from agent_assist.knowledge.installed import PackStore
    from agent_assist.paths import project_root

    assert isinstance(store, PackStore)
    example = project_root() / "knowledge" / "northwind-home"
    print(
        f"no knowledge pack installed: installing the example pack {example.name} ...", file=sys.stderr
    )
    with progress_bar() as progress:
        store.install(example, Embedder(), progress=progress)


def _open_folder(folder: Path) -> Searcher:  # runs on the retriever's thread
    from agent_assist.knowledge.embedder import Embedder
    from agent_assist.knowledge.index import PackIndex

    return PackIndex(folder, Embedder(threads=1))  # one thread: the other core is speech's


def _open_installed(store: object) -> Searcher:  # runs on the retriever's thread
    from agent_assist.knowledge.embedder import Embedder
    from agent_assist.knowledge.installed import PackStore
    from agent_assist.knowledge.multi import MultiPackSearcher

    assert isinstance(store, PackStore)
    return MultiPackSearcher(store.active_indexes(Embedder(threads=1)))


def start_retriever(factory: SearcherFactory, bus: EventBus) -> LiveRetriever:
    """A running ``LiveRetriever``; subscribe it after the printers, so a card
    never prints before the line it answers."""
    from agent_assist.assist import LiveRetriever

    return LiveRetriever(factory, bus)
