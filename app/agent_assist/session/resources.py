"""The models and packs a call uses, resolved and opened: embedder, knowledge searcher, LLM backend.

Resolving is cheap (a few ``stat`` calls and small file reads) and turns a
mistake into a ``UserError`` with a fix before anything loads; loading is the
engine's background work (``engine.py``). The CLI resolves first to fail at
once with ``error:``/``fix:``; the app shows the same errors as a model "down".

One embedder per engine (``SharedEmbedder``): the retriever's searches, the
generation worker's grounding check (and the intel worker) all need
all-MiniLM-L6-v2; whichever thread needs it first loads it (one thread: the
other core is speech's) and the others wait for that load rather than making
a second copy.

Thread rules: everything here may run on any thread; a searcher belongs to the
thread that opened it (a ``PackIndex`` is SQLite, thread-bound).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent_assist.errors import PackError, UserError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from agent_assist.assist import Searcher
    from agent_assist.knowledge.embedder import Embedder
    from agent_assist.knowledge.index import PackIndex
    from agent_assist.knowledge.installed import PackStore
    from agent_assist.knowledge.multi import MultiPackSearcher
    from agent_assist.llm.backend import LLMBackend

__all__ = [
    "NoPacks",
    "SharedEmbedder",
    "check_built",
    "example_pack",
    "install_example_pack",
    "open_backend",
    "open_searcher",
    "pack_source",
    "resolve_knowledge",
]

SearcherFactory = Callable[[], "Searcher"]


class NoPacks(UserError):
    """No knowledge pack is installed (cards are off until one is; not a failure of the call)."""


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

    @property
    def loaded(self) -> bool:
        return self._embedder is not None

    def get(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                from agent_assist.knowledge.embedder import Embedder

                self._embedder = Embedder(threads=self.threads)
            return self._embedder

    def encode(self, texts: list[str], *, batch_size: int = 16) -> npt.NDArray[np.float32]:
        return self.get().encode(texts, batch_size=batch_size)


def check_built(folder: Path, fix: str) -> None:
    """``folder`` is an index built by this model (either precision), else a ``UserError``/``PackError``.

    Cheap (no model loads); ``multi.check_embedder`` checks again when the
    index opens, against what the loaded embedder can really run.
    """
    from agent_assist.knowledge.embedder import EMBEDDER_IDS

    try:
        info = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UserError(f"{folder} is not a built pack index", fix) from None
    if info.get("embedder") not in EMBEDDER_IDS.values():
        known = "' or '".join(EMBEDDER_IDS.values())
        raise PackError(f"{folder} was built with embedder '{info.get('embedder')}', not '{known}'", fix)


def resolve_knowledge(
    pack_index: Path | None,
    shared: SharedEmbedder,
    *,
    install_example: bool = False,
    progress: Any = None,
) -> SearcherFactory:
    """A checked factory for the knowledge searcher (run it on the thread that will search).

    Raises ``NoPacks`` when no pack is installed (after installing the example
    pack if ``install_example``), a ``UserError`` for a folder that is not a
    built index or a missing embedder model. ``progress``: a tqdm-like bar for
    the example pack's install (CLI).
    """
    from agent_assist.knowledge.embedder import EMBEDDER_ID
    from agent_assist.models import model_path

    if pack_index is not None:
        folder = pack_index
        check_built(folder, f"build it: `agent-assist pack build PACK --out {folder}`")
        model_path(EMBEDDER_ID)  # a ModelError naming the install command
        return lambda: open_searcher(folder, shared.get())
    from agent_assist.knowledge.installed import PackStore

    store = PackStore()
    packs = store.list()
    if not packs and install_example:
        model_path(EMBEDDER_ID)
        install_example_pack(store, shared.get(), progress=progress)
        packs = store.list()
    if not packs:
        raise NoPacks(
            "no knowledge packs installed, so no knowledge cards",
            "`agent-assist pack install PACK`",
        )
    model_path(EMBEDDER_ID)
    for pack in packs:
        check_built(pack.folder / "index", f"rebuild it: `agent-assist pack rebuild {pack.id}`")
    return lambda: open_searcher(None, shared.get())


def example_pack() -> Path:
    """The bundled example pack's source folder."""
    from agent_assist.paths import project_root

    return project_root() / "knowledge" / "northwind-home"


def install_example_pack(store: PackStore, embedder: Embedder, *, progress: Any = None) -> None:
    """Install the bundled example pack into ``store`` (builds its index: seconds to a minute)."""
    store.install(example_pack(), embedder, progress=progress)


def pack_source(pack_index: Path | None, *, install_example: bool = False) -> Path | None:
    """The pack folder whose prompts, dispositions and checklists the call uses, or None.

    With ``pack_index``: the pack it was built from when that can be told from
    where it lies (``PACK/.index`` as ``pack build`` makes it, or an installed
    version's ``index/`` next to its ``pack/``). Otherwise the first installed
    pack; with none installed and ``install_example``, the example pack's
    source (the same files its install will hold).
    """
    if pack_index is not None:
        for candidate in (pack_index.parent / "pack", pack_index.parent):
            if (candidate / "pack.toml").is_file():
                return candidate
        return None
    from agent_assist.knowledge.installed import PackStore

    packs = PackStore().list()
    if packs:
        return packs[0].folder / "pack"
    return example_pack() if install_example else None


def open_searcher(folder: Path | None, embedder: Embedder) -> PackIndex | MultiPackSearcher:
    """The built index ``folder``, or every installed pack (``UserError`` if there is none).

    Thread rules: the searcher belongs to the thread that opens it (SQLite).
    """
    from agent_assist.knowledge.index import PackIndex
    from agent_assist.knowledge.installed import PackStore
    from agent_assist.knowledge.multi import MultiPackSearcher, check_embedder

    if folder is not None:
        fix = f"build it: `agent-assist pack build PACK --out {folder}`"
        check_built(folder, fix)
        check_embedder(folder, embedder, fix)  # e.g. an int8 index where only torch runs
        return PackIndex(folder, embedder)
    indexes = PackStore().active_indexes(embedder)
    if not indexes:
        raise UserError(
            "no knowledge packs are installed", "install one: `agent-assist pack install PACK`"
        )
    return MultiPackSearcher(indexes)


def open_backend(llm: str | None, server_url: str | None, *, live: bool = False) -> LLMBackend:
    """The backend ``llm``/``server_url`` name (cheap; raises ``BackendUnavailable``).

    ``live``: for calls, so an in-process model keeps a second context for the
    summary prompt the generation worker warms during the call (one-off
    commands do without its memory and load time).

    A model that is missing (not installed, no such file) raises; a file that
    exists but is no model, or a server that does not answer, is found out on
    first use (the backend goes DOWN and the tasks fall back).
    """
    from agent_assist.llm.backend import SUMMARY_SLOT, BackendUnavailable
    from agent_assist.llm.llama_local import LlamaCppBackend
    from agent_assist.llm.loader import load_backend

    # One thread (the default): on 2 cores the other belongs to speech, and two
    # threads slow down many times over when another process holds a core.
    slots = (SUMMARY_SLOT,) if live else ()
    backend = load_backend(llm, server_url=server_url, cache_slots=slots)
    if isinstance(backend, LlamaCppBackend) and not backend.model_path.is_file():
        raise BackendUnavailable(
            f"model file {backend.model_path} does not exist",
            fix="give the path of a .gguf file, or a model id from `agent-assist models list`",
        )
    return backend
