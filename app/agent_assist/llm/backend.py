"""The one interface every text generator implements, and the data it speaks.

Why an interface: a site may run generation in-process (llama-cpp-python and a
GGUF file on the agent's PC) or on a shared inference server (llama.cpp's
server, vLLM, Ollama: the OpenAI-compatible HTTP API), while audio and
transcription stay on the desktop. Tasks, guardrails and the scheduler only
see ``LLMBackend``; a fake backend stands in for scheduling tests.

Contract of ``generate``: it streams tokens to ``on_token`` as they come (on the
calling thread), returns a ``Generation`` whose ``finish`` says how it ended,
and never raises for a slow, cancelled or truncated answer (``finish`` is
``cancelled``/``timeout``/``length``). It raises ``BackendUnavailable`` when the
backend cannot answer at all (server down, model not loadable, garbage
instead of a stream) so the app can show that state and carry on.

Thread rules: one ``generate`` at a time per backend (the generation worker
owns it); ``cancel`` (a ``threading.Event``) may be set from any thread and is
honoured between tokens; ``state`` may be read from any thread.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from agent_assist.errors import UserError

__all__ = [
    "AFTER_CALL_THREADS",
    "SUMMARY_SLOT",
    "BackendState",
    "BackendUnavailable",
    "ChatMessage",
    "Generation",
    "GenerationRequest",
    "LLMBackend",
    "PromptWarmer",
    "TokenSink",
]

AFTER_CALL_THREADS = 2
"""Prompt-evaluation threads for end-of-call tasks (summary, coaching note): speech has
stopped, so two threads evaluate the whole transcript ~1.7x faster (measured)."""

SUMMARY_SLOT = "summary"
"""The cache slot of the end-of-call summary prompt (warmed during the call)."""

Role = Literal["system", "user", "assistant"]
Finish = Literal["stop", "length", "cancelled", "timeout"]
TokenSink = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """What to generate.

    Attributes:
        messages: the chat, rendered by the backend with the model's own template.
        max_tokens: hard cap on generated tokens (length limits are a guardrail).
        temperature, top_p: sampling; 0 temperature is greedy.
        repeat_penalty: SmolLM2-class models loop without ~1.2.
        stop: extra stop strings.
        json_schema: constrain the output to this JSON schema (llama.cpp
            grammar in-process; ``response_format`` over HTTP).
        seed: for reproducible sampling (None: backend default).
        timeout_s: wall-clock limit for the whole answer; the first token
            counts against it too.
        batch_threads: threads for evaluating the prompt (in-process backends;
            None: the backend's own). End-of-call tasks ask for more: nothing
            else runs then, while during a call spinning threads fight speech.
        cache_slot: the evaluated-prompt cache to use ("": the live one). An
            in-process backend keeps one llama.cpp context per slot it was
            given (``LlamaCppBackend(cache_slots=...)``), so a summary prompt
            evaluated bit by bit during the call (``PromptWarmer.prefill``)
            survives the live suggestions in between; other backends, or a
            slot they do not keep, use their one cache.
    """

    messages: tuple[ChatMessage, ...]
    max_tokens: int = 160
    temperature: float = 0.2
    top_p: float = 0.9
    repeat_penalty: float = 1.2
    stop: tuple[str, ...] = ()
    json_schema: dict[str, Any] | None = None
    seed: int | None = None
    timeout_s: float = 30.0
    batch_threads: int | None = None
    cache_slot: str = ""


@dataclass(frozen=True, slots=True)
class Generation:
    """One answer. ``first_token_s``/``total_s`` are seconds from the call."""

    text: str
    finish: Finish
    tokens: int
    first_token_s: float | None
    total_s: float
    model: str
    backend: str
    extra: dict[str, Any] = field(default_factory=dict)


class BackendState(enum.StrEnum):
    LOADING = "loading"
    READY = "ready"
    BUSY = "busy"
    DOWN = "down"  # cannot answer; ``detail`` on the backend says why


class BackendUnavailable(UserError):
    """The backend cannot answer at all (down, unloadable model, broken stream).

    ``partial`` is the text streamed before the failure (a stream dropped
    mid-answer), "" otherwise; the caller decides whether it is worth showing.
    """

    exit_code = 7

    def __init__(self, message: str, fix: str | None = None, *, partial: str = "") -> None:
        super().__init__(message, fix)
        self.partial = partial


class LLMBackend(Protocol):
    """A text generator; see the module doc for the contract."""

    @property
    def name(self) -> str: ...  # "llama-cpp" | "openai-http" | …

    @property
    def model(self) -> str: ...  # model id or file name, recorded with every suggestion

    @property
    def state(self) -> BackendState: ...

    @property
    def detail(self) -> str: ...  # why DOWN, human-readable

    def generate(
        self,
        request: GenerationRequest,
        *,
        on_token: TokenSink | None = None,
        cancel: threading.Event | None = None,
    ) -> Generation: ...

    def close(self) -> None: ...


@runtime_checkable
class PromptWarmer(Protocol):
    """A backend that can evaluate a prompt ahead of time (``LlamaCppBackend``).

    Why: on 2 cores the summary's ~900-token prompt takes 3-6 s to evaluate.
    Evaluated line by line while the call runs (on the idle generation worker),
    only the last lines and the answer remain when the call ends.
    """

    def warm_slots(self) -> tuple[str, ...]: ...  # the cache slots it keeps apart

    def prefill(self, request: GenerationRequest) -> int:
        """Evaluate ``request``'s prompt into its ``cache_slot``, generating nothing
        worth keeping; returns the prompt tokens it had to evaluate (the rest were
        cached). Blocks like ``generate``; raises ``BackendUnavailable``."""
        ...
