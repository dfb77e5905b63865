"""``LlamaCppBackend``: a GGUF model in this process through llama-cpp-python.

Why: the default deployment generates on the agent's own PC (SmolLM2-135M
fits in ~150 MB and answers in a few seconds on 2 cores), so nothing leaves
the machine. llama.cpp aborts or prints to stderr on a bad file, so ``load``
checks first (``llm.gguf``): the file exists, has a readable GGUF header, and
fits in the memory available; any failure is a ``BackendUnavailable`` naming
the file and the fix, and ``state`` DOWN.

JSON schemas are enforced by llama.cpp's grammar: ``json_grammar.schema_grammar``
builds it from the schema (llama-cpp-python's converter, with JSON's ban on
control characters in strings restored) and each context samples it with
``json_grammar``'s checked sampler, so every token keeps the output a valid
prefix of S. A ``max_tokens`` cut can still leave it unfinished
(``finish="length"``): callers validate.

Thread rules: ``load`` and ``generate`` are serialised by a lock and block (run
them on the generation worker, never the GUI thread). ``load`` is silent: with
``verbose=False`` llama-cpp-python points file descriptors 1 and 2 at /dev/null
while it opens the model, which also hides other threads' output for that
moment, so load at start-up rather than mid-call. ``cancel`` may be set from any
thread and is checked between tokens; the deadline too, so neither can cut the
prompt evaluation before the first token. ``prefill`` (warming a cache slot)
takes the same lock and honours neither: callers keep it short. ``state``/
``detail`` are readable from any thread.

Cache slots: each is one more llama.cpp context of the same file (the weights
are mmapped, so their pages are shared; each context adds its KV cache and
compute buffers, ~65 MB for SmolLM2 with 2,048 tokens). When memory is short
for them, or llama.cpp refuses one, the model loads without slots and every
request uses the one context: slots only make the summary faster.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from agent_assist.llm.backend import (
    BackendState,
    BackendUnavailable,
    Finish,
    Generation,
    GenerationRequest,
    TokenSink,
)
from agent_assist.llm.gguf import BadGGUF, available_memory, gguf_metadata, memory_needed
from agent_assist.llm.json_grammar import GrammarDeadEnd, schema_grammar
from agent_assist.llm.json_grammar import install as install_sampler

__all__ = ["LlamaCppBackend", "available_memory", "gguf_metadata", "memory_needed"]

log = logging.getLogger(__name__)

_FIX_FILE = (
    "install a model with `agent-assist models install smollm2-135m-instruct`, or give a .gguf path"
)


class LlamaCppBackend:
    """An ``LLMBackend`` running ``model_path`` in-process (see the module doc).

    ``chat_format``: a llama-cpp-python chat format ("chatml"), or None for the
    template stored in the GGUF. ``seed`` is used when a request has none.
    ``cache_slots``: names of extra contexts, loaded with the model, each
    keeping its own evaluated prompt (``GenerationRequest.cache_slot``; the
    weights are mapped once, each slot costs its KV cache). A live app passes
    ``(SUMMARY_SLOT,)`` and warms the summary prompt during the call; a one-off
    command passes none. Nothing is loaded until ``load`` or the first ``generate``.
    """

    def __init__(
        self,
        model_path: Path,
        *,
        chat_format: str | None = "chatml",
        n_ctx: int = 2048,
        n_threads: int = 1,
        seed: int = 0,
        name: str | None = None,
        cache_slots: Sequence[str] = (),
    ) -> None:
        self.model_path = Path(model_path)
        self.chat_format, self.n_ctx, self.n_threads, self.seed = chat_format, n_ctx, n_threads, seed
        self.cache_slots = tuple(dict.fromkeys(s for s in cache_slots if s))
        self._loadable_slots = self.cache_slots  # () once memory is found short at load
        self._name = name or self.model_path.name
        self._llm: Any = None
        self._slots: dict[str, Any] = {}  # cache slot -> its own llama context (same weights, mmap)
        self._lock = threading.Lock()
        self._closed = False
        self._state, self._detail = BackendState.LOADING, "not loaded yet"

    @property
    def name(self) -> str:
        return "llama-cpp"

    @property
    def model(self) -> str:
        return self._name

    @property
    def state(self) -> BackendState:
        return self._state

    @property
    def detail(self) -> str:
        return self._detail

    def load(self) -> None:
        """Check and load the model now (idempotent); raises ``BackendUnavailable``."""
        with self._lock:
            self._load()

    def probe(self) -> BackendState:
        """Load if not loaded; READY, or DOWN with ``detail`` (never raises)."""
        with contextlib.suppress(BackendUnavailable):
            self.load()
        return self._state

    def generate(
        self,
        request: GenerationRequest,
        *,
        on_token: TokenSink | None = None,
        cancel: threading.Event | None = None,
    ) -> Generation:
        start = time.perf_counter()
        with self._busy(request) as llm:
            return self._generate(llm, request, start, on_token, cancel)

    def warm_slots(self) -> tuple[str, ...]:
        """The cache slots kept apart: those asked for, unless memory or llama.cpp
        refused them at load (then none; known after ``load``, assumed before)."""
        return tuple(self._slots) if self._llm is not None else self._loadable_slots

    def prefill(self, request: GenerationRequest) -> int:
        """Evaluate ``request``'s prompt into its cache slot (see ``PromptWarmer``).

        How: a one-token completion of the rendered chat, unconstrained and
        greedy. llama-cpp-python keeps the evaluated tokens and reuses their
        longest common prefix with the next prompt in that context, so the
        summary prompt with more lines costs only the new lines (the template's
        few closing tokens are evaluated again each time). The token is thrown away.
        """
        with self._busy(request) as llm:
            if llm is self._llm and request.cache_slot:
                return 0  # a slot not kept (no memory for it): the next suggestion would undo it
            _perf_reset(llm)
            with _refusal():
                llm.create_chat_completion(
                    messages=[{"role": m.role, "content": m.content} for m in request.messages],
                    max_tokens=1,
                    temperature=0.0,
                    seed=self.seed,
                )
            return _prompt_tokens(llm)

    @contextlib.contextmanager
    def _busy(self, request: GenerationRequest) -> Iterator[Any]:
        """The lock held, the context of ``request``'s cache slot loaded and set to its
        prompt threads, and ``state`` BUSY until the block ends."""
        with self._lock:
            llm = self._context(request.cache_slot)
            self._state = BackendState.BUSY
            _set_batch_threads(llm, request.batch_threads or self.n_threads, self.n_threads)
            try:
                yield llm
            finally:
                self._state = BackendState.READY

    def close(self) -> None:
        """Free the model; afterwards the backend stays DOWN."""
        with self._lock:
            for llm in (*self._slots.values(), self._llm):
                if llm is not None:
                    llm.close()
            self._llm, self._slots, self._closed = None, {}, True
            self._state, self._detail = BackendState.DOWN, "closed"

    def _fail(self, message: str, fix: str) -> BackendUnavailable:
        self._state, self._detail = BackendState.DOWN, message
        return BackendUnavailable(message, fix=fix)

    def _check(self) -> None:
        path = self.model_path
        if not path.is_file():
            what = "is a folder, not a GGUF file" if path.is_dir() else "does not exist"
            raise self._fail(f"model file {path} {what}", _FIX_FILE)
        try:
            meta = gguf_metadata(path)
        except (BadGGUF, OSError) as err:
            raise self._fail(
                f"{path} is not a usable GGUF model file: {err}",
                "give a llama.cpp .gguf file (convert others with llama.cpp's convert_hf_to_gguf.py)",
            ) from None
        need, have = memory_needed(path, meta, self.n_ctx), available_memory()
        if have is not None and need > have:
            raise self._fail(
                f"model {path} needs about {need / 2**30:.1f} GB of memory with a "
                f"{self.n_ctx}-token context, but only {have / 2**30:.1f} GB is available",
                "use a smaller model or quantization (e.g. Q4_K_M), a smaller context, "
                "or close other programs",
            )
        with_slots = memory_needed(path, meta, self.n_ctx, 1 + len(self.cache_slots))
        if have is not None and with_slots > have:  # the model fits, its extra contexts do not
            log.warning(
                "no memory for the extra contexts %s: summaries are not warmed", self.cache_slots
            )
            self._loadable_slots = ()

    def _load(self) -> Any:
        if self._closed:
            raise self._fail("the language model was closed", "start the app again")
        if self._llm is not None:
            return self._llm
        self._state, self._detail = BackendState.LOADING, "loading"
        self._check()
        try:
            import llama_cpp
        except ImportError:
            raise self._fail(
                "llama-cpp-python is not installed", "run `pip install llama-cpp-python==0.3.36`"
            ) from None
        except Exception as exc:  # a broken build: its shared library fails to load
            raise self._fail(
                f"llama-cpp-python cannot be loaded ({exc})",
                "reinstall it: `bash packaging/setup.sh` rebuilds it for this machine",
            ) from None
        try:
            self._llm = self._new_context(llama_cpp)
        except (ValueError, RuntimeError, OSError) as err:
            raise self._fail(
                f"llama.cpp could not load {self.model_path}: {err}",
                "the file may be damaged or of an architecture this llama.cpp does not support: "
                "re-install it or try another GGUF",
            ) from None
        self._slots = self._slot_contexts(llama_cpp)
        self._state, self._detail = BackendState.READY, ""
        return self._llm

    def _slot_contexts(self, llama_cpp: Any) -> dict[str, Any]:
        """One more context per cache slot (the weights are mmapped: their pages are
        shared); none if one fails, as the slots only make things faster."""
        slots: dict[str, Any] = {}
        try:
            for slot in self._loadable_slots:
                slots[slot] = self._new_context(llama_cpp)
        except (ValueError, RuntimeError, OSError) as err:
            log.warning("no extra context for %s (%s): summaries are not warmed", slot, err)
            for llm in slots.values():
                llm.close()
            return {}
        return slots

    def _new_context(self, llama_cpp: Any) -> Any:
        llm = llama_cpp.Llama(
            model_path=str(self.model_path),
            n_ctx=self.n_ctx,
            n_threads=self.n_threads,
            # Prompt evaluation on as many threads as generation. Measured on the
            # 2-core target: two batch threads reached 260-320 prompt tokens/s on an
            # idle machine but fell to 50-66 when anything else ran (transcription,
            # during a call), as ggml's threads spin-wait for each other; one thread
            # gave a steady 140-170 and leaves the other core to speech.
            n_threads_batch=self.n_threads,
            n_gpu_layers=0,
            seed=self.seed,
            chat_format=self.chat_format,
            verbose=False,
        )
        install_sampler(llm)  # JSON answers 1.5-2x faster, same grammar
        return llm

    def _context(self, slot: str) -> Any:
        """The loaded context of cache ``slot`` (the live one for "" or a slot not kept)."""
        llm = self._load()
        return self._slots.get(slot, llm)

    def _generate(
        self,
        llm: Any,
        request: GenerationRequest,
        start: float,
        on_token: TokenSink | None,
        cancel: threading.Event | None,
    ) -> Generation:
        deadline = start + request.timeout_s
        if cancel is not None and cancel.is_set():  # superseded before it started
            return Generation(
                "", "cancelled", 0, None, time.perf_counter() - start, self._name, self.name
            )
        kwargs: dict[str, Any] = {}
        if request.json_schema is not None:  # strict strings; sampled by json_grammar's sampler
            kwargs["grammar"] = schema_grammar(request.json_schema)
        parts: list[str] = []
        first: float | None = None
        finish: Finish = "stop"
        reason: str | None = None
        _perf_reset(llm)
        stream = llm.create_chat_completion(
            messages=[{"role": m.role, "content": m.content} for m in request.messages],
            stream=True,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            top_p=request.top_p,
            repeat_penalty=request.repeat_penalty,
            stop=list(request.stop),
            seed=self.seed if request.seed is None else request.seed,
            **kwargs,
        )
        try:
            for chunk in _refusals(stream):
                choice = chunk["choices"][0]
                content = choice["delta"].get("content")
                if content:
                    first = time.perf_counter() - start if first is None else first
                    parts.append(content)
                    if on_token is not None:
                        on_token(content)
                reason = choice.get("finish_reason") or reason
                if cancel is not None and cancel.is_set():
                    finish = "cancelled"
                    break
                if time.perf_counter() >= deadline:
                    finish = "timeout"
                    break
        finally:
            stream.close()
        if finish == "stop" and reason == "length":
            finish = "length"
        text = "".join(parts)
        tokens = len(llm.tokenize(text.encode(), add_bos=False, special=True)) if text else 0
        return Generation(
            text=text,
            finish=finish,
            tokens=tokens,
            first_token_s=first,
            total_s=time.perf_counter() - start,
            model=self._name,
            backend=self.name,
            extra={
                "finish_reason": reason,
                "n_threads": self.n_threads,
                "prompt_tokens_evaluated": _prompt_tokens(llm),  # the rest came from the cache
                "cache_slot": request.cache_slot if llm is not self._llm else "",
            },
        )


def _refusals(stream: Any) -> Any:
    """The stream, with llama-cpp-python's ValueError for a request it cannot run (a
    prompt longer than the context) as ``BackendUnavailable``; the model stays READY.
    A grammar dead end just ends the answer early (the caller finds it invalid)."""
    with _refusal():
        try:
            yield from stream
        except GrammarDeadEnd as err:
            log.warning("the answer ended early: %s", err)


@contextlib.contextmanager
def _refusal() -> Iterator[None]:
    try:
        yield
    except ValueError as err:
        raise BackendUnavailable(
            f"the language model refused the request: {err}",
            fix="shorten the prompt or load the model with a larger context (n_ctx)",
        ) from None


def _perf_reset(llm: Any) -> None:
    """Zero the context's counters, so ``_prompt_tokens`` counts one request's."""
    with contextlib.suppress(AttributeError, ImportError):
        import llama_cpp

        llama_cpp.llama_perf_context_reset(llm._ctx.ctx)


def _prompt_tokens(llm: Any) -> int:
    """Prompt tokens evaluated since ``_perf_reset`` (-1 if this llama-cpp-python cannot say)."""
    try:
        import llama_cpp

        return int(llama_cpp.llama_perf_context(llm._ctx.ctx).n_p_eval)
    except (AttributeError, ImportError):
        return -1


def _set_batch_threads(llm: Any, batch: int, threads: int) -> None:
    """Evaluate the next prompt on ``batch`` threads (llama.cpp reads it per decode)."""
    ctx = getattr(llm, "_ctx", None)
    setter = getattr(ctx, "set_n_threads", None)
    if callable(setter):
        setter(threads, max(threads, min(batch, os.cpu_count() or 1)))
