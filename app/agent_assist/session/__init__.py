"""The engine's facade for the app and the CLI: one call with every model, loaded in the background.

``AssistEngine`` (``engine.py``) wires speech, the call pipeline, the store,
knowledge cards, the language model and extra workers to one event bus;
``EngineOptions`` says which. No Qt: the app subscribes a bridge to the bus.
"""

from typing import TYPE_CHECKING, Any

from agent_assist.session.options import DEFAULT_STT_MODEL, LOAD_WAIT_S, SUMMARY_WAIT_S, EngineOptions
from agent_assist.session.parts import Closeable, EngineContext, WorkerFactory, intel_worker
from agent_assist.session.resources import (
    NoPacks,
    SharedEmbedder,
    open_backend,
    open_searcher,
    pack_source,
    resolve_knowledge,
)

if TYPE_CHECKING:
    from agent_assist.session.engine import AssistEngine


def __getattr__(name: str) -> Any:
    """``AssistEngine`` is imported on first use: it brings the speech and model libraries
    (about 0.4 s), which CLI commands that only need the options or resources skip."""
    if name == "AssistEngine":
        from agent_assist.session.engine import AssistEngine

        return AssistEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_STT_MODEL",
    "LOAD_WAIT_S",
    "SUMMARY_WAIT_S",
    "AssistEngine",
    "Closeable",
    "EngineContext",
    "EngineOptions",
    "NoPacks",
    "SharedEmbedder",
    "WorkerFactory",
    "intel_worker",
    "open_backend",
    "open_searcher",
    "pack_source",
    "resolve_knowledge",
]
