"""The generation worker's job queue: priorities, supersession, preemption.

Priorities: ``LIVE`` (reply suggestions) before ``ON_DEMAND`` (transfer
note, ask) before ``BACKGROUND`` (summary, coaching note) before ``WARM``
(evaluating the summary prompt of the call so far, which nobody waits for);
first come first served within one. A job may be due later (``not_before``,
monotonic seconds): ``take`` waits for it with a timed condition wait, never
polling, and anything pushed meanwhile goes first. ``wait_idle`` does not
wait for queued ``WARM`` jobs (nobody waits for their result). A stale job
is not removed from the heap but marked (``dropped`` = why) and its cancel
event set: the worker skips it, or the backend stops it between tokens. A ``LIVE``/``ON_DEMAND`` job pushed while a
``BACKGROUND`` one runs preempts it (``preempt`` + cancel); the worker hands
it back with ``finish(job, interrupted=True)`` and it is re-queued in its old
place, at most ``max_preemptions`` times, so a busy call cannot starve it.

Thread rules: every method takes ``lock`` (a re-entrant condition), so the
worker may hold it around several calls to make them atomic with its own
state; only ``take`` and ``wait_idle`` wait, and only they may block.
"""

from __future__ import annotations

import heapq
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

from agent_assist.domain import FinalUtterance, KnowledgeCards

__all__ = [
    "BACKGROUND",
    "LIVE",
    "ON_DEMAND",
    "WARM",
    "GenerationOptions",
    "GenerationStats",
    "Job",
    "JobQueue",
]

LIVE, ON_DEMAND, BACKGROUND, WARM = 0, 1, 2, 3
Kind = Literal["suggest", "ask", "transfer", "summary", "coaching", "warm"]


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    token_interval_s: float = 0.1  # SuggestionToken throttle
    coaching: bool = True  # a coaching note after each summary
    max_preemptions: int = 2
    # Warming the summary prompt (backends that keep a summary slot): start this
    # long after the call's last final utterance or cards, so it runs in a pause
    # rather than in front of a suggestion; per step at most ``warm_lines`` new lines
    # and about ``warm_step_tokens`` tokens (SmolLM2 on one thread: ~150 tokens/s),
    # as a step cannot be preempted and a suggestion arriving meanwhile waits.
    warm_delay_s: float = 1.0
    warm_lines: int = 4
    warm_step_tokens: int = 64
    summary_seed: int = 1  # first sampling seed of a summary (benchmarks vary it)

    def __post_init__(self) -> None:
        if self.warm_lines < 1 or self.warm_step_tokens < 1 or self.warm_delay_s < 0:
            raise ValueError("warm_lines and warm_step_tokens must be >= 1, warm_delay_s >= 0")


@dataclass(slots=True)
class GenerationStats:
    """Counters for benchmarks and the health view (written by the worker)."""

    ready: int = 0
    extractive: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    summaries: int = 0
    summary_fallbacks: int = 0
    preempted: int = 0
    warm_tokens: int = 0  # summary-prompt tokens evaluated during calls
    latencies: list[float] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Job:
    kind: Kind
    call_id: str
    priority: int
    received_at: float
    utterance_id: str = ""
    cards: KnowledgeCards | None = None
    turns: tuple[FinalUtterance, ...] = ()
    question: str = ""
    future: Future[Any] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    dropped: str = ""  # why it must not be published ("superseded", ...)
    preempt: bool = False  # cancelled to make way: re-queue it
    preemptions: int = 0
    seq: int = 0
    not_before: float = 0.0  # time.monotonic() before which ``take`` holds it back


class JobQueue:
    def __init__(self, max_preemptions: int = 2, stats: GenerationStats | None = None) -> None:
        self.lock = threading.Condition(threading.RLock())
        self.max_preemptions = max_preemptions
        self.stats = stats or GenerationStats()
        self.running: Job | None = None
        self.closed = False
        self._heap: list[tuple[int, int, Job]] = []
        self._seq = 0

    def push(self, job: Job) -> bool:
        """Queue ``job`` (False once closed); a background job running makes way."""
        with self.lock:
            if self.closed:
                return False
            running = self.running
            if (
                running is not None
                and running.priority == BACKGROUND
                and job.priority < BACKGROUND
                and running.preemptions < self.max_preemptions
            ):
                running.preempt = True
                running.cancel.set()
            self._seq += 1
            job.seq = self._seq
            heapq.heappush(self._heap, (job.priority, job.seq, job))
            self.lock.notify_all()
            return True

    def drop_suggestions(self, call_id: str, reason: str) -> None:
        """Mark the call's queued and running suggestions stale and cancel them."""
        with self.lock:
            for job in self._all():
                if job.kind == "suggest" and job.call_id == call_id and not job.dropped:
                    job.dropped = reason
                    job.cancel.set()

    def take(self) -> Job | None:
        """The next due job, now ``running`` (blocks; no polling); None once closed and empty."""
        with self.lock:
            while True:
                if not self._heap:
                    if self.closed:
                        return None
                    self.lock.wait()
                    continue
                top = self._heap[0][2]
                wait = top.not_before - time.monotonic()
                if wait <= 0 or self.closed or top.dropped:  # a dropped job goes at once, skipped
                    self.running = heapq.heappop(self._heap)[2]
                    return self.running
                self.lock.wait(wait)  # a push or a reschedule wakes it earlier

    def reschedule(self, job: Job, not_before: float) -> None:
        """Hold queued ``job`` back until ``not_before`` (monotonic seconds)."""
        with self.lock:
            job.not_before = not_before
            self.lock.notify_all()

    def finish(self, job: Job, *, interrupted: bool) -> None:
        """``job`` is done; re-queue it if it was interrupted to make way."""
        with self.lock:
            self.running = None
            if interrupted and job.preempt and not job.dropped and not self.closed:
                job.preempt, job.cancel = False, threading.Event()
                job.preemptions += 1
                self.stats.preempted += 1
                heapq.heappush(self._heap, (job.priority, job.seq, job))
            self.lock.notify_all()

    def close(self) -> bool:
        """Refuse new jobs, cancel every queued and running one; True the first time."""
        with self.lock:
            first = not self.closed
            self.closed = True
            for job in self._all():
                job.dropped = job.dropped or "closing"
                job.cancel.set()
                if job.future is not None:
                    job.future.cancel()
            self.lock.notify_all()
            return first

    def wait_idle(self, timeout: float | None = None, *, warming: bool = False) -> bool:
        """Block until nothing is queued or running (False on timeout); queued ``WARM``
        jobs count only with ``warming`` (then one due later is waited for too)."""
        with self.lock:
            return self.lock.wait_for(
                lambda: (
                    self.running is None and all(p == WARM and not warming for p, _, _ in self._heap)
                ),
                timeout,
            )

    def _all(self) -> list[Job]:
        return [j for j in (self.running, *(j for _, _, j in self._heap)) if j is not None]
