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

Close order at the end of a call (``finish``): the pipeline has stopped, the
retriever has closed, then the generation worker gets up to
``SUMMARY_WAIT_S`` to finish the call's summary (and coaching note) before it
is closed, and only then does the store close -- so the summary is printed
and stored with the call.

Thread rules: ``call_assist``, ``CallAssist.start``/``ready`` and ``finish``
run on the main thread; the loader thread only calls the backend's ``probe``
(which takes the backend's own lock); everything else is the worker's.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent_assist.cli.live_assist import SharedEmbedder, pack_source

if TYPE_CHECKING:
    from agent_assist.assist.generation import GenerationWorker
    from agent_assist.events import EventBus
    from agent_assist.llm.backend import LLMBackend
    from agent_assist.llm.tasks_context import TaskContext

__all__ = [
    "LOAD_WAIT_S",
    "SUMMARY_WAIT_S",
    "CallAssist",
    "add_backend_args",
    "add_llm_args",
    "call_assist",
    "finish",
    "open_backend",
]

LOAD_WAIT_S = 10.0
SUMMARY_WAIT_S = 90.0


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


def open_backend(args: argparse.Namespace) -> LLMBackend:
    """The backend ``--llm``/``--llm-server`` name (cheap; raises ``BackendUnavailable``).

    A model that is missing (not installed, no such file) raises; a file that
    exists but is no model, or a server that does not answer, is found out on
    first use (the backend goes DOWN and the tasks fall back).
    """
    from agent_assist.llm.backend import BackendUnavailable
    from agent_assist.llm.llama_local import LlamaCppBackend
    from agent_assist.llm.loader import load_backend

    # One thread (the default): on 2 cores the other belongs to speech, and two
    # threads slow down many times over when another process holds a core.
    backend = load_backend(getattr(args, "llm", None), server_url=getattr(args, "llm_server", None))
    if isinstance(backend, LlamaCppBackend) and not backend.model_path.is_file():
        raise BackendUnavailable(
            f"model file {backend.model_path} does not exist",
            fix="give the path of a .gguf file, or a model id from `agent-assist models list`",
        )
    return backend


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

    def start(self, bus: EventBus) -> GenerationWorker:
        """The running generation worker, subscribed to ``bus``. Subscribe it before
        the retriever, so it has seen a turn before the cards for that turn."""
        from agent_assist.assist.generation import GenerationWorker

        return GenerationWorker(self.backend, bus, context=self.context)


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
        backend = open_backend(args)
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


def finish(worker: GenerationWorker, backend: LLMBackend, timeout: float = SUMMARY_WAIT_S) -> None:
    """Let the worker finish the ended call's summary (at most ``timeout``), then close it.

    Ctrl-C while waiting skips the summary; the call itself is already stored.
    """
    try:
        if not worker.wait_idle(0.2):
            print(f"summarizing the call with {backend.model} ... (Ctrl-C skips)", file=sys.stderr)
            if not worker.wait_idle(timeout):
                print(f"note: the summary took longer than {timeout:.0f} s; skipped", file=sys.stderr)
    except KeyboardInterrupt:
        print("summary skipped", file=sys.stderr)
    finally:
        worker.close(10)
        with contextlib.suppress(Exception):
            backend.close()
