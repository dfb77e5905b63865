"""The engine's background loading: one thread per model, each reporting through the engine.

Why threads rather than one loader: the speech model, the embedder and the
language model load in different libraries (CTranslate2, ONNX Runtime,
llama.cpp) that each release the GIL, so they overlap; the slowest (a big
GGUF, a server that does not answer, installing the example pack) holds up
nobody. Every failure the user can fix is a ``UserError`` turned into a
"down" ``ModelStatus``; anything else is logged and reported the same way.

Thread rules: ``start_generation`` runs in ``load`` on the caller's thread
(cheap: a few ``stat`` calls, small TOML reads, one thread started); the rest
runs on the loader threads it starts, which touch the engine only through
``set_status``, ``speech_loaded`` and ``knowledge_loaded``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent_assist.errors import UserError
from agent_assist.events import EventBus
from agent_assist.session.options import EngineOptions
from agent_assist.session.resources import SearcherFactory, open_backend, resolve_knowledge
from agent_assist.stt.streaming import Decoder

if TYPE_CHECKING:
    from agent_assist.assist.generation import GenerationWorker
    from agent_assist.llm.backend import LLMBackend
    from agent_assist.llm.tasks_context import TaskContext
    from agent_assist.session.engine import AssistEngine

__all__ = ["load_decoder", "pack_label", "resolve_backend", "start_generation", "start_loaders"]

log = logging.getLogger(__name__)


def load_decoder(options: EngineOptions) -> Decoder:
    """The speech model ``options`` name (loads it: about a second for tiny.en)."""
    from agent_assist.stt.loader import load_transcriber  # looked up now: tests stand in a fake

    language = None if options.language == "auto" else options.language
    return load_transcriber(options.stt_model, language=language, cpu_threads=options.threads)


def resolve_backend(options: EngineOptions) -> LLMBackend:
    """The language model ``options`` name, resolved, not loaded (raises ``BackendUnavailable``)."""
    return open_backend(options.llm, options.llm_server, live=True)


def pack_label(options: EngineOptions) -> str:
    return str(options.pack_index) if options.pack_index is not None else "installed packs"


def _as_user_error(exc: Exception, what: str) -> UserError:
    if isinstance(exc, UserError):
        return exc
    log.error("%s failed", what, exc_info=exc)
    return UserError(f"{what} failed: {type(exc).__name__}: {exc}", "see the log file for details")


def start_generation(
    engine: AssistEngine,
    lane: EventBus,
    backend_factory: Callable[[EngineOptions], LLMBackend],
    task_context: TaskContext | None,
) -> tuple[GenerationWorker | None, LLMBackend | None]:
    """The generation worker on ``lane`` with its backend resolved (loading on a thread);
    (None, None) with the llm "down" when the model is missing or the pack's prompts are broken."""
    from agent_assist.assist.generation import GenerationWorker
    from agent_assist.llm.tasks_context import TaskContext

    o = engine.options
    try:
        backend = backend_factory(o)
    except Exception as exc:
        engine.set_status(
            "llm", "down", o.llm or "", _as_user_error(exc, "resolving the language model")
        )
        return None, None
    try:
        context = task_context or TaskContext.load(
            engine.pack_folder, embedder=engine.embedder if o.knowledge else None
        )
    except Exception as exc:
        backend.close()
        engine.set_status(
            "llm", "down", backend.model, _as_user_error(exc, "loading the pack's prompts")
        )
        return None, None
    searcher = engine.open_searcher if o.knowledge else None
    worker = GenerationWorker(backend, lane, context=context, searcher=searcher, clock=engine.clock)
    engine.set_status("llm", "loading", backend.model)
    _thread(_probe, "load-llm", engine, backend)
    return worker, backend


def start_loaders(
    engine: AssistEngine,
    decoder_factory: Callable[[EngineOptions], Decoder],
    searcher: SearcherFactory | None,
    load_embedder: bool,
) -> None:
    """Start the speech loader and (with knowledge or an embedder to load) the knowledge loader."""
    _thread(_speech, "load-speech", engine, decoder_factory)
    if engine.options.knowledge or load_embedder:
        _thread(_knowledge, "load-knowledge", engine, searcher, load_embedder)


def _thread(target: Callable[..., None], name: str, *args: object) -> None:
    threading.Thread(target=target, args=args, name=name, daemon=True).start()


def _speech(engine: AssistEngine, factory: Callable[[EngineOptions], Decoder]) -> None:
    try:
        decoder = factory(engine.options)
    except Exception as exc:
        engine.speech_loaded(None, _as_user_error(exc, "loading the speech model"))
    else:
        engine.speech_loaded(decoder, None)


def _knowledge(engine: AssistEngine, given: SearcherFactory | None, load_embedder: bool) -> None:
    o = engine.options
    factory, error = given, None
    if factory is None and o.knowledge:
        try:
            factory = resolve_knowledge(o.pack_index, engine.embedder, install_example=o.install_example)
        except Exception as exc:
            error = _as_user_error(exc, "opening the knowledge packs")
    if load_embedder:
        try:
            engine.embedder.get()
        except Exception as exc:
            failed = _as_user_error(exc, "loading the embedder")
            engine.set_status("embedder", "down", engine.embedder.id, failed)
            if given is None:
                error = error or failed  # the packs are searched with this embedder
        else:
            engine.set_status("embedder", "ready", engine.embedder.id)
    if o.knowledge:
        engine.knowledge_loaded(factory, error)


def _probe(engine: AssistEngine, backend: LLMBackend) -> None:
    from agent_assist.llm.backend import BackendState

    probe = getattr(backend, "probe", None)
    try:
        state = probe() if callable(probe) else backend.state
    except Exception as exc:
        engine.set_status(
            "llm", "down", backend.model, _as_user_error(exc, "loading the language model")
        )
        return
    if state == BackendState.DOWN:
        engine.set_status("llm", "down", backend.model, backend.detail or "the language model is down")
    else:
        engine.set_status("llm", "ready", backend.model)
