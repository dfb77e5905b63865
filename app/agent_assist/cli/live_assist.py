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

One embedder per call (``SharedEmbedder``): the retriever's searches and the
generation worker's grounding check both need all-MiniLM-L6-v2; whichever
worker needs it first loads it (one thread: the other core is speech's) and
the other waits for that load rather than making a second copy.

Thread rules: ``knowledge_source`` and ``pack_source`` run on the main thread
before the call; the factories they return, and ``open_searcher``, run on
the worker that will use the searcher (a ``PackIndex`` is thread-bound).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from agent_assist.errors import PackError, UserError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from agent_assist.assist import LiveRetriever, Searcher
    from agent_assist.events import EventBus
    from agent_assist.knowledge.embedder import Embedder
    from agent_assist.knowledge.index import PackIndex
    from agent_assist.knowledge.multi import MultiPackSearcher

__all__ = [
    "SharedEmbedder",
    "add_knowledge_args",
    "knowledge_source",
    "open_searcher",
    "pack_source",
    "start_retriever",
]

SearcherFactory = Callable[[], "Searcher"]


class SharedEmbedder:
    """The knowledge embedder, loaded on first use by whichever thread asks first.

    Thread rules: ``get``/``encode`` from any thread; the load happens once,
    under a lock (a second caller waits for it). ``Embedder`` itself may be
    shared by threads.
    """

    def __init__(self, threads: int | None = 1) -> None:
        from agent_assist.knowledge.embedder import EMBEDDER_ID

        self.id = EMBEDDER_ID  # names the vector space in the guard's vector cache
        self.threads = threads
        self._lock = threading.Lock()
        self._embedder: Embedder | None = None

    def get(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                from agent_assist.knowledge.embedder import Embedder

                self._embedder = Embedder(threads=self.threads)
            return self._embedder

    def encode(self, texts: list[str], *, batch_size: int = 16) -> npt.NDArray[np.float32]:
        return self.get().encode(texts, batch_size=batch_size)


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
    from agent_assist.knowledge.embedder import EMBEDDER_ID
    from agent_assist.models import model_path

    shared = embedder or SharedEmbedder(threads=1)  # one thread: the other core is speech's
    folder: Path | None = getattr(args, "pack_index", None)
    if folder is not None:
        _check_built(folder, f"build it: `agent-assist pack build PACK --out {folder}`")
        model_path(EMBEDDER_ID)  # a ModelError naming the install command
        return lambda: open_searcher(folder, shared.get())
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
    return lambda: open_searcher(None, shared.get())


def pack_source(pack_index: Path | None) -> Path | None:
    """The pack folder whose prompts and dispositions the LLM tasks use, or None (defaults).

    With ``--pack-index``: the pack it was built from when that can be told from
    where it lies (``PACK/.index`` as ``pack build`` makes it, or an installed
    version's ``index/`` next to its ``pack/``). Otherwise the first installed pack.
    """
    if pack_index is not None:
        for candidate in (pack_index.parent / "pack", pack_index.parent):
            if (candidate / "pack.toml").is_file():
                return candidate
        return None
    from agent_assist.knowledge.installed import PackStore

    packs = PackStore().list()
    return packs[0].folder / "pack" if packs else None


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


def open_searcher(folder: Path | None, embedder: Embedder) -> PackIndex | MultiPackSearcher:
    """The built index ``folder``, or every installed pack (``UserError`` if there is none).

    Thread rules: the searcher belongs to the thread that opens it (SQLite).
    """
    from agent_assist.knowledge.index import PackIndex
    from agent_assist.knowledge.installed import PackStore
    from agent_assist.knowledge.multi import MultiPackSearcher

    if folder is not None:
        _check_built(folder, f"build it: `agent-assist pack build PACK --out {folder}`")
        return PackIndex(folder, embedder)
    indexes = PackStore().active_indexes(embedder)
    if not indexes:
        raise UserError(
            "no knowledge packs are installed", "install one: `agent-assist pack install PACK`"
        )
    return MultiPackSearcher(indexes)


def start_retriever(factory: SearcherFactory, bus: EventBus) -> LiveRetriever:
    """A running ``LiveRetriever``; subscribe it after the printers, so a card
    never prints before the line it answers."""
    from agent_assist.assist import LiveRetriever

    return LiveRetriever(factory, bus)
