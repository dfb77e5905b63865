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

The resolving itself, the shared embedder and opening searchers live in
``agent_assist.session.resources`` (the app uses them too); this module adds
the flags and the ``note:`` lines.

Thread rules: ``knowledge_source`` and ``pack_source`` run on the main thread
before the call; the factories they return, and ``open_searcher``, run on
the worker that will use the searcher (a ``PackIndex`` is thread-bound).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from agent_assist.session.resources import (
    NoPacks,
    SearcherFactory,
    SharedEmbedder,
    open_searcher,
    pack_source,
    resolve_knowledge,
)

if TYPE_CHECKING:
    from agent_assist.knowledge.installed import PackStore

__all__ = [
    "SearcherFactory",
    "SharedEmbedder",
    "add_knowledge_args",
    "knowledge_source",
    "open_searcher",
    "pack_source",
]


def add_knowledge_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--pack-index",
        metavar="FOLDER",
        type=Path,
        help="show knowledge cards from this index (a folder made by `agent-assist pack build`) "
        "instead of the installed packs",
    )
    p.add_argument("--no-knowledge", action="store_true", help="show no knowledge cards")


def knowledge_source(
    args: argparse.Namespace,
    *,
    install_example: bool = False,
    embedder: SharedEmbedder | None = None,
) -> SearcherFactory | None:
    """A factory for the searcher of this call, checked; None when cards are off.

    ``install_example``: with no pack installed, install the bundled example
    pack first (``demo``). ``embedder``: the call's shared embedder (default:
    a new one, loaded by the factory).
    """
    if getattr(args, "no_knowledge", False):
        return None
    shared = embedder or SharedEmbedder(threads=1)  # one thread: the other core is speech's
    folder: Path | None = getattr(args, "pack_index", None)
    if folder is None and install_example:
        from agent_assist.knowledge.installed import PackStore

        store = PackStore()
        if not store.list():
            _install_example(store)
    try:
        return resolve_knowledge(folder, shared)
    except NoPacks as err:
        if getattr(args, "command", "") != "transcribe":  # a batch job: no cards is not news
            print(f"note: {err.message} ({err.fix})", file=sys.stderr)
        return None


def _install_example(store: PackStore) -> None:
    from agent_assist.cli.pack_store_cmds import progress_bar
    from agent_assist.knowledge.embedder import Embedder
    from agent_assist.session.resources import example_pack, install_example_pack

    example = example_pack()
    print(
        f"no knowledge pack installed: installing the example pack {example.name} ...", file=sys.stderr
    )
    with progress_bar() as progress:
        install_example_pack(store, Embedder(), progress=progress)
