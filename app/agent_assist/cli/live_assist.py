"""Knowledge cards during a CLI call: ``--pack-index FOLDER`` and ``--no-knowledge``.

Why the index is opened on the retriever's thread: loading the embedder takes
seconds (torch), and a live call must start capturing at once; the turns heard
meanwhile queue and the newest is searched when it is ready. What can be
checked cheaply (the folder is a built index, the embedder model is installed)
is checked before the call starts, so a mistake is an ``error:``/``fix:`` pair
rather than a warning mid-call.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from agent_assist.errors import UserError

if TYPE_CHECKING:
    from agent_assist.assist import LiveRetriever, Searcher
    from agent_assist.events import EventBus

__all__ = ["add_knowledge_args", "knowledge_folder", "start_retriever"]


def add_knowledge_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--pack-index",
        metavar="FOLDER",
        type=Path,
        help="show knowledge cards for the customer's turns from this index "
        "(a folder made by `agent-assist pack build PACK --out FOLDER`)",
    )
    p.add_argument("--no-knowledge", action="store_true", help="show no knowledge cards")


def knowledge_folder(args: argparse.Namespace) -> Path | None:
    """The index folder to search, checked; None when cards are off."""
    folder: Path | None = getattr(args, "pack_index", None)
    if folder is None or getattr(args, "no_knowledge", False):
        return None
    if not (folder / "index.json").is_file():
        raise UserError(
            f"{folder} is not a built pack index",
            "build one with `agent-assist pack build PACK --out FOLDER`",
        )
    from agent_assist.knowledge.embedder import EMBEDDER_ID
    from agent_assist.models import model_path

    model_path(EMBEDDER_ID)  # a ModelError naming the install command
    return folder


def start_retriever(folder: Path, bus: EventBus) -> LiveRetriever:
    """A running ``LiveRetriever`` on ``folder``; subscribe it after the printers,
    so a card never prints before the line it answers."""
    from agent_assist.assist import LiveRetriever

    def open_index() -> Searcher:  # runs on the retriever's thread
        from agent_assist.knowledge.embedder import Embedder
        from agent_assist.knowledge.index import PackIndex

        return PackIndex(folder, Embedder())

    return LiveRetriever(open_index, bus)
