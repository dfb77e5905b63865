"""The language model during a CLI call: reply suggestions and the end-of-call summary.

Options: ``--llm MODEL|PATH`` (a model id from ``models list``, default
SmolLM2-135M-Instruct, or any chat GGUF file), ``--llm-server URL`` (an
OpenAI-compatible server: llama.cpp's server, vLLM, Ollama), ``--no-llm``.
``demo`` and ``listen`` use the model by default; ``transcribe`` (a batch job)
only with ``--assist`` (or ``--llm``/``--llm-server``). A model that is not
installed is an ``error:``/``fix:`` when asked for by name, and a one-line
note when it was only the default (the call goes on without suggestions).

Why the backend is resolved before the call but loaded on a thread of its
own: resolving is a few ``stat`` calls and turns a typo into an error before
anything starts, while loading takes a fraction of a second (SmolLM2) to
several (a big GGUF; a server that does not answer). The load starts before
the speech model's, so the two overlap; capture then waits for it only when
the model is in-process (llama.cpp silences file descriptors 1 and 2 while it
loads, which would swallow transcript lines) and at most ``LOAD_WAIT_S``.

The call itself (the generation worker, the wait for the summary at the
end, the close order) is ``AssistEngine``'s; ``call_run`` prints around it.

Thread rules: ``call_assist`` and ``CallAssist.ready`` run on the main thread;
the loader thread only calls the backend's ``probe`` (which takes the
backend's own lock); everything else is the generation worker's.
"""

from __future__ import annotations

import argparse
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent_assist.session import LOAD_WAIT_S, SUMMARY_WAIT_S, SharedEmbedder, pack_source
from agent_assist.session import open_backend as _open_backend

if TYPE_CHECKING:
    from agent_assist.llm.backend import LLMBackend
    from agent_assist.llm.tasks_context import TaskContext

__all__ = [
    "LOAD_WAIT_S",
    "SUMMARY_WAIT_S",
    "CallAssist",
    "add_backend_args",
    "add_llm_args",
    "call_assist",
    "open_backend",
]


def add_backend_args(p: argparse.ArgumentParser) -> None:
    """``--llm`` and ``--llm-server``: which language model answers."""
    p.add_argument(
        "--llm",
        metavar="MODEL|PATH",
        help="language model: an id from `agent-assist models list` (default "
        "smollm2-135m-instruct) or a chat .gguf file; with --llm-server, the model name to ask for",
    )
    p.add_argument(
        "--llm-server",
        metavar="URL",
        help="generate on an OpenAI-compatible server instead (llama.cpp server, vLLM, Ollama), "
        "e.g. http://127.0.0.1:8080; API key from AGENT_ASSIST_LLM_API_KEY",
    )


def add_llm_args(p: argparse.ArgumentParser, *, default_on: bool) -> None:
    """The call commands' model options: on by default (``--no-llm``) or off (``--assist``)."""
    add_backend_args(p)
    if default_on:
        p.add_argument(
            "--no-llm",
            action="store_true",
            help="no reply suggestions and no end-of-call summary (knowledge cards stay)",
        )
    else:
        p.add_argument(
            "--assist",
            action="store_true",
            help="also draft reply suggestions under the knowledge cards and summarize the call "
            "at the end (implied by --llm/--llm-server)",
        )


def open_backend(args: argparse.Namespace, *, live: bool = False) -> LLMBackend:
    """The backend ``--llm``/``--llm-server`` name (cheap; raises ``BackendUnavailable``);
    ``live`` for a call (its summary prompt is warmed as it runs)."""
    return _open_backend(getattr(args, "llm", None), getattr(args, "llm_server", None), live=live)


@dataclass(slots=True)
class CallAssist:
    """The language model of one call: its backend (loading), and the task context."""

    backend: LLMBackend
    context: TaskContext
    loader: threading.Thread

    def ready(self, timeout: float = LOAD_WAIT_S) -> None:
        """Wait (at most ``timeout``) for an in-process model to finish loading."""
        from agent_assist.llm.llama_local import LlamaCppBackend

        if isinstance(self.backend, LlamaCppBackend):
            self.loader.join(timeout)


def call_assist(args: argparse.Namespace, embedder: SharedEmbedder) -> CallAssist | None:
    """The model for this call, resolved and loading; None when off (see the module doc)."""
    from agent_assist.llm.backend import BackendUnavailable
    from agent_assist.llm.tasks_context import TaskContext

    named = bool(getattr(args, "llm", None) or getattr(args, "llm_server", None))
    if getattr(args, "no_llm", False):
        return None
    if args.command == "transcribe" and not (named or getattr(args, "assist", False)):
        return None
    try:
        backend = open_backend(args, live=True)
    except BackendUnavailable as err:
        if named or args.command == "transcribe":
            raise
        fix = f" ({err.fix})" if err.fix else ""
        print(f"note: no reply suggestions or call summary: {err.message}{fix}", file=sys.stderr)
        return None
    cards = not getattr(args, "no_knowledge", False)
    context = TaskContext.load(
        pack_source(getattr(args, "pack_index", None)), embedder=embedder if cards else None
    )
    probe = getattr(backend, "probe", None)
    loader = threading.Thread(target=probe or (lambda: None), name="llm-load", daemon=True)
    loader.start()
    return CallAssist(backend, context, loader)
