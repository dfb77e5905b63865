"""The generation worker: ONE thread owns the LLM backend and runs every task in priority order.

Why one thread: a local model uses both cores for one answer; two at once
would both be late. Jobs wait in a priority queue:

0. live reply suggestions (queued on ``KnowledgeCards``: a customer turn with
   confident snippets);
1. on demand: ``request_transfer_note(call_id)``, ``ask(question)`` (Futures);
2. after the call: its summary, then its coaching note (queued on ``CallEnded``);
3. warming: while a call runs, the summary prompt of the call so far is
   evaluated into the backend's summary cache slot, a few lines (about
   ``warm_step_tokens``) at a time, once the call has paused for
   ``warm_delay_s`` after its last final utterance or knowledge cards
   (backends that keep such a slot: ``PromptWarmer``; the system prompt is
   warmed when the worker starts). A warm step is never preempted, as
   llama.cpp cannot stop an evaluation: a suggestion arriving during one waits
   for it (one thread: ~0.2-0.6 s). Measured on the sample call with SmolLM2
   on 2 cores: the summary's prompt evaluation fell from ~2.8 s (idle; 3-6 s
   under load) to ~0.1 s, as only the last lines are left when the call ends.

A suggestion for a newer customer turn of the same call supersedes the older
one, queued or generating (its cancel event is set; the backend stops between
tokens), so only the newest ``SuggestionReady`` of a call is published; a turn
that brought no cards ("okay", "one moment") supersedes nothing, since the
last answer still stands. A live or on-demand job arriving while a summary or
note generates preempts it (cancelled and re-queued, at most
``max_preemptions`` times, so it cannot starve). Cards that arrive after the
call ended get no suggestion (the summary matters then); ``CallEnded`` drops
the call's pending suggestion.

Events published (from the worker thread): ``SuggestionStarted``,
``SuggestionToken`` (the masked draft so far, at most every
``token_interval_s``), ``SuggestionReady`` or ``SuggestionDropped(reason)``,
``CallSummaryReady``, ``NoteReady``, and ``BackendStatus`` when the backend
goes down or comes back. A down backend costs the model, not the call: the
tasks fall back to extractive quotes and rule-based summaries, and every later
job tries the backend again.

Thread rules: the bus callback runs on the publisher's thread (STT worker,
retriever) and only takes a short lock to queue or cancel; it never waits for
a generation. ``ask``/``request_transfer_note``/``wait_idle``/``close`` may be
called from any thread (never block the GUI on a Future: add a callback).
The backend, the tasks and the searcher run on the worker thread only.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from typing import Any, cast

from agent_assist.assist.generation_jobs import (
    BACKGROUND,
    LIVE,
    ON_DEMAND,
    WARM,
    GenerationOptions,
    GenerationStats,
    Job,
    JobQueue,
)
from agent_assist.clock import Clock, SystemClock
from agent_assist.domain import (
    BackendStatus,
    CallEnded,
    CallStarted,
    CallSummaryReady,
    Event,
    FinalUtterance,
    KnowledgeCards,
    NoteReady,
    PipelineError,
    SuggestionDropped,
    SuggestionReady,
    SuggestionStarted,
    SuggestionToken,
)  # fmt: skip
from agent_assist.errors import UserError
from agent_assist.events import EventBus
from agent_assist.llm.backend import (
    AFTER_CALL_THREADS,
    SUMMARY_SLOT,
    BackendState,
    LLMBackend,
    PromptWarmer,
)
from agent_assist.llm.tasks import Answer, Cancelled, Searcher, Suggestion, ask, suggest_reply
from agent_assist.llm.tasks_context import TaskContext
from agent_assist.llm.tasks_notes import Note, coaching_note, transfer_note
from agent_assist.llm.tasks_summary import summarize_call, warm_summary
from agent_assist.llm.tasks_transcript import estimate_tokens

__all__ = ["GenerationOptions", "GenerationStats", "GenerationWorker"]

log = logging.getLogger(__name__)


class GenerationWorker:
    """Subscribes to ``bus`` at once; ``close()`` unsubscribes, cancels and joins.

    Pass ``context=TaskContext.load(pack_dir, embedder=...)``: the pack's
    prompts and dispositions, and the embedder without which grounding is
    lexical only and there is no extractive fallback. ``searcher`` (or a
    factory, opened on the worker thread) serves ``ask``.
    """

    def __init__(
        self,
        backend: LLMBackend,
        bus: EventBus,
        *,
        context: TaskContext | None = None,
        searcher: Searcher | Callable[[], Searcher] | None = None,
        clock: Clock | None = None,
        options: GenerationOptions | None = None,
    ) -> None:
        self.backend = backend
        self.bus = bus
        self.context = context or TaskContext.load()
        self.clock = clock or SystemClock()
        self.options = options or GenerationOptions()
        self.stats = GenerationStats()
        self._searcher_source = searcher
        self._searcher: Searcher | None = None
        self._jobs = JobQueue(self.options.max_preemptions, self.stats)
        self._turns: dict[str, list[FinalUtterance]] = {}  # under self._jobs.lock
        self._ended: set[str] = set()  # under self._jobs.lock
        self._state: str | None = None  # last published BackendStatus.state (worker thread)
        self._warmer = _summary_warmer(backend)
        self._warm: Job | None = None  # the queued warm job (under self._jobs.lock)
        self._warmed: dict[str, int] = {}  # lines warmed per call (under self._jobs.lock)
        self._thread = threading.Thread(target=self._run, name="generation", daemon=True)
        self._thread.start()
        with self._jobs.lock:  # the system prompt and codes, before the first call
            self._schedule_warm("", 0.0)
        self._unsubscribe = bus.subscribe(self._on_event)

    # ---- any thread ------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        """The bus callback: remember turns, queue or cancel jobs; never waits on a generation."""
        now = self.clock.now()
        with self._jobs.lock:  # held only for these few steps, never during a generation
            if isinstance(event, CallStarted):
                self._turns.setdefault(event.call_id, [])
                self._ended.discard(event.call_id)
                self._schedule_warm(event.call_id, 0.0)  # the system prompt, while they say hello
            elif isinstance(event, FinalUtterance):
                self._turns.setdefault(event.call_id, []).append(event)
                if event.call_id not in self._ended:
                    self._schedule_warm(event.call_id, self.options.warm_delay_s)
            elif isinstance(event, KnowledgeCards) and event.call_id not in self._ended:
                self._put_off_warm(event.call_id)  # slow retrieval: warming must not slip in first
                self._jobs.drop_suggestions(event.call_id, "superseded")
                history = self._turns.get(event.call_id, [])
                ids = [t.utterance_id for t in history]
                upto = ids.index(event.utterance_id) + 1 if event.utterance_id in ids else len(ids)
                self._jobs.push(
                    Job("suggest", event.call_id, LIVE, now, event.utterance_id, event,
                        tuple(history[:upto]))
                )  # fmt: skip
            elif isinstance(event, CallEnded):
                self._ended.add(event.call_id)
                self._jobs.drop_suggestions(event.call_id, "call ended")
                self._drop_warm(event.call_id)
                turns = tuple(self._turns.pop(event.call_id, ()))
                self._jobs.push(Job("summary", event.call_id, BACKGROUND, now, turns=turns))
                if self.options.coaching:
                    self._jobs.push(Job("coaching", event.call_id, BACKGROUND, now, turns=turns))

    def _schedule_warm(self, call_id: str, delay: float) -> None:
        """Queue (or put off) warming ``call_id``'s summary prompt; caller holds the lock.

        One warm job at a time: the newest call's. A final utterance puts the
        queued one off by ``delay`` again, so warming waits for a pause.
        """
        if self._warmer is None or self._warmed.get(call_id, 0) < 0:  # < 0: no longer fits
            return
        due = time.monotonic() + delay
        job = self._warm
        queued = job is not None and job is not self._jobs.running and not job.dropped
        if job is not None and queued and job.call_id == call_id:
            self._jobs.reschedule(job, max(due, job.not_before))
            return
        if queued:
            self._drop_warm(None)  # only the newest call is warmed
        self._warm = Job("warm", call_id, WARM, self.clock.now(), not_before=due)
        self._jobs.push(self._warm)

    def _put_off_warm(self, call_id: str) -> None:
        """A suggestion is coming for ``call_id``: the queued warm step waits another pause."""
        job = self._warm
        if job is not None and job.call_id == call_id and job is not self._jobs.running:
            self._jobs.reschedule(job, time.monotonic() + self.options.warm_delay_s)

    def _drop_warm(self, call_id: str | None) -> None:
        """Drop the queued warm job (of ``call_id``, or any); caller holds the lock.

        A step already running finishes (a llama.cpp evaluation cannot be cut
        short) and sees the call ended; ``dropped`` keeps a queued one from running.
        """
        job = self._warm
        if job is not None and call_id in (None, job.call_id):
            job.dropped = job.dropped or "not needed"
            self._warm = None
        if call_id is not None:
            self._warmed.pop(call_id, None)

    def request_transfer_note(self, call_id: str) -> Future[Note]:
        """A hand-over note of the call so far; also published as ``NoteReady``."""
        with self._jobs.lock:
            turns = tuple(self._turns.get(call_id, ()))
        return self._submit(Job("transfer", call_id, ON_DEMAND, self.clock.now(), turns=turns))

    def ask(self, question: str) -> Future[Answer]:
        """The pack's answer to the agent's question (see ``llm.tasks.ask``)."""
        return self._submit(Job("ask", "", ON_DEMAND, self.clock.now(), question=question))

    def wait_idle(self, timeout: float | None = None, *, warming: bool = False) -> bool:
        """Block until nothing is queued or running (False on timeout). Queued warming
        is nobody's wait, so it counts only with ``warming`` (benchmarks, tests)."""
        return self._jobs.wait_idle(timeout, warming=warming)

    def close(self, timeout: float | None = None) -> None:
        """Stop listening, cancel the running and queued jobs, join the worker. Idempotent."""
        if self._jobs.close():
            self._unsubscribe()
        self._thread.join(timeout)

    def _submit(self, job: Job) -> Future[Any]:
        future: Future[Any] = Future()
        job.future = future
        future.add_done_callback(lambda f: job.cancel.set() if f.cancelled() else None)
        if not self._jobs.push(job):
            future.cancel()
        return future

    # ---- worker thread ---------------------------------------------------
    def _run(self) -> None:
        """Take jobs in priority order until closed; a failing job never stops the worker."""
        try:
            self._status(self.backend.state, self.backend.detail)
            while (job := self._jobs.take()) is not None:
                interrupted = False
                try:
                    interrupted = self._process(job)
                except Exception as exc:  # a bug or a broken pack: keep the worker (and the call) alive
                    log.exception("generation job %s failed", job.kind)
                    self._failed(job, exc)
                finally:
                    self._jobs.finish(job, interrupted=interrupted)
        finally:
            close = getattr(self._searcher, "close", None)
            if self._searcher is not self._searcher_source and callable(close):
                close()  # a searcher the factory opened

    def _process(self, job: Job) -> bool:
        """Run ``job``; True when its cancel event stopped it."""
        if job.dropped:
            self._dropped(job, "", job.dropped)
            return False
        try:
            if job.kind == "suggest":
                self._suggest(job)
            elif job.kind == "summary":
                self._summary(job)
            elif job.kind == "warm":
                self._warm_step(job)
            elif job.kind == "ask":
                self._resolve(job, self._ask(job))
            else:
                note = (
                    coaching_note(
                        self.backend, job.turns, call_id=job.call_id, context=self.context,
                        cancel=job.cancel, batch_threads=self._after_call_threads(),
                    )
                    if job.kind == "coaching"
                    else transfer_note(
                        self.backend, job.turns, call_id=job.call_id, context=self.context,
                        cancel=job.cancel,
                    )
                )  # fmt: skip
                self._backend_seen(note.backend_error)
                if note.text:
                    self.bus.publish(NoteReady(job.call_id, note.kind, note.text, note.model,
                                               note.backend, note.prompt_version, note.total_s,
                                               self.clock.now()))  # fmt: skip
                self._resolve(job, note)
        except Cancelled:
            if job.future is not None and not job.preempt:
                job.future.cancel()
            return True
        return False

    def _suggest(self, job: Job) -> None:
        assert job.cards is not None
        sid = uuid.uuid4().hex
        self.bus.publish(SuggestionStarted(job.call_id, job.utterance_id, sid, self.clock.now()))
        last = [float("-inf")]

        def on_text(text: str) -> None:
            now = self.clock.now()
            if text and now - last[0] >= self.options.token_interval_s:
                last[0] = now
                self.bus.publish(SuggestionToken(job.call_id, job.utterance_id, sid, text, now))

        try:
            s = suggest_reply(self.backend, job.turns, job.cards.cards, context=self.context,
                              cancel=job.cancel, on_text=on_text)  # fmt: skip
        except Cancelled:
            self._dropped(job, sid, job.dropped or "cancelled")
            return
        self._backend_seen(s.backend_error if s else "")
        with self._jobs.lock:
            stale = job.dropped
        if stale or s is None:
            self._dropped(job, sid, stale or "no grounded answer in the snippets")
            return
        self._ready(job, sid, s)

    def _ready(self, job: Job, sid: str, s: Suggestion) -> None:
        assert job.cards is not None
        now = self.clock.now()
        latency = max(0.0, now - job.received_at) + job.cards.latency_s
        self.stats.ready += 1
        self.stats.extractive += s.extractive
        self.stats.latencies.append(latency)
        self.bus.publish(
            SuggestionReady(
                job.call_id, job.utterance_id, sid, s.text, s.citations, s.snippet_ids,
                s.utterance_ids, s.extractive, s.grounded, s.verdict_summary, s.verdict.sentences,
                s.model, s.backend, s.prompt_version, s.first_token_s, s.total_s, latency, now,
            )
        )  # fmt: skip

    def _after_call_threads(self) -> int | None:
        """Both cores for an end-of-call prompt, unless the next call is already live
        (its speech would fight two spinning threads)."""
        with self._jobs.lock:
            live = any(call_id not in self._ended for call_id in self._turns)
        return None if live else AFTER_CALL_THREADS

    def _summary(self, job: Job) -> None:
        summary = summarize_call(
            self.backend, job.turns, call_id=job.call_id, context=self.context, cancel=job.cancel,
            seed=self.options.summary_seed, batch_threads=self._after_call_threads(),
        )  # fmt: skip
        self._backend_seen(summary.backend_error)
        self.stats.summaries += 1
        self.stats.summary_fallbacks += summary.fallback
        self.bus.publish(
            CallSummaryReady(
                job.call_id, summary.to_json(), summary.disposition, summary.valid, summary.fallback,
                summary.model, summary.backend, summary.prompt_version, summary.total_s,
                self.clock.now(),
            )
        )  # fmt: skip

    def _warm_step(self, job: Job) -> None:
        """Evaluate a few more lines of the call's summary prompt (see ``_step_lines``).

        Queues the next step at once if lines remain; stops warming the call
        when it no longer fits the context whole (``warm_summary`` None) or the
        backend fails (logged only: warming is an optimisation nobody waits
        for, and the summary reports a real outage itself). A step is never
        preempted (llama.cpp cannot stop an evaluation), hence small steps.
        """
        with self._jobs.lock:
            if self._warm is job:
                self._warm = None
            warmer = self._warmer
            if warmer is None or job.call_id in self._ended or self._warmed.get(job.call_id, 0) < 0:
                return
            said = self._turns.get(job.call_id, [])
            upto = self._step_lines(said, self._warmed.get(job.call_id, 0))
            turns, total = said[:upto], len(said)
        try:
            tokens = warm_summary(warmer, turns, context=self.context)
        except Exception as exc:  # BackendUnavailable, or llama.cpp failing to decode
            log.info("not warming the summary prompt of %s: %s", job.call_id or "calls", exc)
            tokens = None
        with self._jobs.lock:
            if SUMMARY_SLOT not in warmer.warm_slots():  # known once loaded: no memory for it
                log.info("the language model keeps no summary context: no warming")
                self._warmer = None
                return
            if job.call_id in self._ended:
                return
            self._warmed[job.call_id] = -1 if tokens is None else upto
            self.stats.warm_tokens += max(0, tokens or 0)  # -1: the backend cannot count
            if tokens is not None and upto < total:
                self._schedule_warm(job.call_id, 0.0)

    def _step_lines(self, turns: list[FinalUtterance], warmed: int) -> int:
        """How many of ``turns`` the next warm step covers: at least one new line,
        at most ``warm_lines`` and about ``warm_step_tokens`` new tokens."""
        upto, tokens = warmed, 0
        for t in turns[warmed : warmed + self.options.warm_lines]:
            tokens += estimate_tokens(t.text) + 3  # + the speaker label
            if upto > warmed and tokens > self.options.warm_step_tokens:
                break
            upto += 1
        return upto

    def _ask(self, job: Job) -> Answer:
        source = self._searcher_source
        if self._searcher is None and source is not None:  # opened here: a PackIndex is thread-bound
            if callable(getattr(source, "search", None)):
                self._searcher = cast(Searcher, source)
            else:
                self._searcher = cast(Callable[[], Searcher], source)()
        if self._searcher is None:
            raise UserError("no knowledge pack to search", "install one: agent-assist pack install PACK")
        answer = ask(self.backend, job.question, self._searcher, context=self.context, cancel=job.cancel)
        self._backend_seen(answer.backend_error)
        return answer

    def _resolve(self, job: Job, value: object) -> None:
        if job.future is not None:
            with contextlib.suppress(InvalidStateError):  # the caller cancelled it meanwhile
                job.future.set_result(value)

    def _failed(self, job: Job, exc: Exception) -> None:
        message = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        if job.future is not None:
            with contextlib.suppress(InvalidStateError):
                job.future.set_exception(exc)
        if job.kind == "suggest":
            self._dropped(job, "", f"error: {message}")
        elif job.call_id:
            self.bus.publish(PipelineError(job.call_id, "generation", message, False, self.clock.now()))

    def _dropped(self, job: Job, sid: str, reason: str) -> None:
        if job.kind != "suggest":
            return
        key = reason.split(":", maxsplit=1)[0]
        self.stats.dropped[key] = self.stats.dropped.get(key, 0) + 1
        self.bus.publish(SuggestionDropped(job.call_id, job.utterance_id, sid, reason, self.clock.now()))

    def _backend_seen(self, error: str) -> None:
        """After a task: publish ``BackendStatus`` if the backend went down or came back.

        The backend's own ``state`` decides: a request it refused while staying
        READY (a prompt longer than its context) is logged, not an outage.
        """
        if self.backend.state == BackendState.DOWN:
            self._status(BackendState.DOWN, self.backend.detail or error)
        elif error:
            log.warning("the language model refused a request: %s", error)
        else:
            self._status(BackendState.READY, "")

    def _status(self, state: str, detail: str) -> None:
        if state != self._state:
            self._state = str(state)
            self.bus.publish(
                BackendStatus(
                    str(state), detail, self.backend.name, self.backend.model, self.clock.now()
                )
            )


def _summary_warmer(backend: LLMBackend) -> PromptWarmer | None:
    """``backend`` if it keeps a summary cache slot apart (warming any other would be
    undone by the next suggestion), else None."""
    if isinstance(backend, PromptWarmer) and SUMMARY_SLOT in backend.warm_slots():
        return backend
    return None
