"""Warming the end-of-call summary prompt during the call.

Scheduling with a fake warmer (what is warmed, when, and never in front of a
live suggestion), the job queue's due times, and the real SmolLM2 in its own
cache slot: after warming, the summary evaluates only the lines said since,
even with live suggestions generated on the other context in between.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from agent_assist.assist.generation import GenerationOptions, GenerationWorker
from agent_assist.assist.generation_jobs import BACKGROUND, LIVE, WARM, Job, JobQueue
from agent_assist.domain import (
    CallEnded,
    CallStarted,
    CallSummaryReady,
    FinalUtterance,
    PipelineError,
    Speaker,
    SuggestionReady,
)
from agent_assist.events import EventBus
from agent_assist.llm.backend import (
    SUMMARY_SLOT,
    BackendState,
    BackendUnavailable,
    ChatMessage,
    Generation,
    GenerationRequest,
)
from agent_assist.llm.schema import summary_schema, validate
from agent_assist.llm.tasks_context import TaskContext
from agent_assist.llm.tasks_prompts import load_prompts
from agent_assist.llm.tasks_summary import summarize_call, warm_summary
from tests.test_generation import (
    DISPOSITIONS,
    GOOD,
    REFUND,
    VALID_SUMMARY,
    BagOfWords,
    Collect,
    FakeBackend,
    card,
    cards_for,
    turn,
)

SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sample_call.json"


class FakeWarmer(FakeBackend):
    """A ``FakeBackend`` that is also a ``PromptWarmer``: records each prefill's
    transcript lines (and can refuse them all, as a backend that went down)."""

    def __init__(self, *replies: Any, slots: tuple[str, ...] = (SUMMARY_SLOT,), **kw: Any) -> None:
        super().__init__(*replies, **kw)
        self.slots = slots
        self.prefills: list[GenerationRequest] = []
        self.times: list[float] = []  # time.monotonic() of each prefill
        self.down = False
        self.prefilled = threading.Condition()

    def warm_slots(self) -> tuple[str, ...]:
        return self.slots

    def prefill(self, request: GenerationRequest) -> int:
        with self.prefilled:
            self.prefills.append(request)
            self.times.append(time.monotonic())
            self.prefilled.notify_all()
        if self.down:
            raise BackendUnavailable("server down")
        return 10

    def lines(self, n: int = -1) -> list[str]:
        """The transcript lines of prefill ``n``."""
        text = self.prefills[n].messages[-1].content.split("Transcript:\n", 1)[1]
        return [line for line in text.splitlines() if line]

    def wait_prefills(self, count: int, timeout: float = 5) -> bool:
        with self.prefilled:
            return self.prefilled.wait_for(lambda: len(self.prefills) >= count, timeout)


@pytest.fixture
def ctx() -> TaskContext:
    return TaskContext(load_prompts(), DISPOSITIONS, BagOfWords())


@pytest.fixture
def make(ctx: TaskContext) -> Any:
    workers: list[GenerationWorker] = []

    def make(backend: FakeBackend, **options: Any) -> tuple[GenerationWorker, EventBus, Collect]:
        bus = EventBus()
        seen = Collect()
        bus.subscribe(seen)
        opts = GenerationOptions(coaching=False, **{"warm_delay_s": 0.05, **options})
        worker = GenerationWorker(backend, bus, context=ctx, options=opts)
        workers.append(worker)
        assert worker.wait_idle(5, warming=True)  # the system prompt, warmed at start
        return worker, bus, seen

    yield make
    for w in workers:
        w.close(timeout=10)


def _say(bus: EventBus, call: str, n: int, text: str, who: Speaker = Speaker.CUSTOMER) -> FinalUtterance:
    u = turn(call, n, text, who)
    bus.publish(u)
    return u


# ---- the job queue ---------------------------------------------------------


def test_a_job_due_later_waits_and_anything_pushed_meanwhile_goes_first() -> None:
    queue = JobQueue()
    warm = Job("warm", "c1", WARM, 0.0, not_before=time.monotonic() + 0.3)
    queue.push(warm)
    assert queue.wait_idle(0.01)  # a queued warm job is nobody's wait...
    assert not queue.wait_idle(0.01, warming=True)  # ...unless asked
    taken: list[Job | None] = []
    taker = threading.Thread(target=lambda: taken.append(queue.take()))
    taker.start()
    time.sleep(0.05)  # the taker is now waiting for the warm job to fall due
    live = Job("suggest", "c1", LIVE, 0.0)
    queue.push(live)
    taker.join(2)
    assert taken == [live]
    queue.finish(live, interrupted=False)
    assert queue.take() is warm and time.monotonic() >= warm.not_before
    assert not queue.wait_idle(0.01)  # a running warm job is waited for
    queue.finish(warm, interrupted=False)


def test_rescheduling_puts_a_queued_job_off_and_closing_releases_it() -> None:
    queue = JobQueue()
    warm = Job("warm", "c1", WARM, 0.0, not_before=time.monotonic() + 0.05)
    queue.push(warm)
    due = time.monotonic() + 0.3
    queue.reschedule(warm, due)
    assert queue.take() is warm and time.monotonic() >= due
    queue.finish(warm, interrupted=False)
    later = Job("warm", "c1", WARM, 0.0, not_before=time.monotonic() + 60)
    queue.push(later)
    threading.Timer(0.05, queue.close).start()
    assert queue.take() is later and later.dropped == "closing"  # handed out to be skipped


def test_a_dropped_job_due_later_does_not_hold_up_the_next_one() -> None:
    queue = JobQueue()
    old = Job("warm", "c0", WARM, 0.0, not_before=time.monotonic() + 60)
    queue.push(old)
    old.dropped = "not needed"
    new = Job("warm", "c1", WARM, 0.0)
    queue.push(new)
    assert queue.take() is old  # at once, to be skipped
    queue.finish(old, interrupted=False)
    assert queue.take() is new


def test_a_warm_job_never_preempts_and_is_never_preempted() -> None:
    queue = JobQueue()
    summary = Job("summary", "c0", BACKGROUND, 0.0)
    queue.push(summary)
    assert queue.take() is summary
    queue.push(Job("warm", "c1", WARM, 0.0))
    assert not summary.cancel.is_set()
    queue.finish(summary, interrupted=False)
    warm = queue.take()
    assert warm is not None and warm.kind == "warm"
    queue.push(Job("suggest", "c1", LIVE, 0.0))
    assert not warm.cancel.is_set()


def test_warming_options_are_checked() -> None:
    for bad in ({"warm_lines": 0}, {"warm_step_tokens": 0}, {"warm_delay_s": -1.0}):
        with pytest.raises(ValueError, match="warm"):
            GenerationOptions(**bad)


# ---- the worker ------------------------------------------------------------


def test_the_call_is_warmed_in_pauses_a_few_lines_at_a_time(make: Any) -> None:
    backend = FakeWarmer(json.dumps(VALID_SUMMARY))
    worker, bus, seen = make(backend, warm_lines=2, warm_delay_s=0.3)
    assert backend.lines(0) == []  # at start: the system prompt and the codes
    bus.publish(CallStarted("c1", "test", (Speaker.AGENT, Speaker.CUSTOMER)))
    assert worker.wait_idle(5, warming=True)
    first = len(backend.prefills)
    for n in range(5):
        _say(bus, "c1", n, f"line number {n} about order NW-4821{n}")
    assert worker.wait_idle(10, warming=True)
    steps = [len(backend.lines(i)) for i in range(first, len(backend.prefills))]
    assert steps[-1] == 5  # every line warmed, at most 2 new ones a step
    assert all(0 < now - before <= 2 for before, now in zip([0, *steps], steps, strict=False))
    assert all(r.cache_slot == SUMMARY_SLOT and r.max_tokens == 1 for r in backend.prefills)
    assert worker.stats.warm_tokens == 10 * len(backend.prefills)
    bus.publish(CallEnded("c1", 30.0))
    (summary,) = seen.wait_for(CallSummaryReady)
    assert summary.valid
    (request,) = [r for r in backend.requests if r.json_schema]
    assert request.cache_slot == SUMMARY_SLOT
    # The summary's prompt is the warmed one, whose evaluation it reuses.
    assert request.messages == backend.prefills[-1].messages


def test_a_long_line_is_a_step_of_its_own(make: Any) -> None:
    backend = FakeWarmer()
    worker, bus, _ = make(backend, warm_lines=4, warm_step_tokens=64, warm_delay_s=0.2)
    bus.publish(CallStarted("c1", "test", (Speaker.AGENT, Speaker.CUSTOMER)))
    assert worker.wait_idle(5, warming=True)
    first = len(backend.prefills)
    long = "my coffee machine leaks water from the bottom every single morning " * 4  # ~80 tokens
    for n, text in enumerate(["hi", long, "ok", "thanks"]):
        _say(bus, "c1", n, text)
    assert worker.wait_idle(10, warming=True)
    steps = [len(backend.lines(i)) for i in range(first, len(backend.prefills))]
    assert steps == [1, 2, 4]  # "hi" (with the long line the step is too big), the long
    # line alone (at least one line a step), then the rest


def test_warming_waits_for_a_pause_and_never_delays_a_suggestion(make: Any) -> None:
    gate = threading.Event()
    backend = FakeWarmer(GOOD, gate=gate)
    worker, bus, seen = make(backend, warm_delay_s=1.0)
    bus.publish(CallStarted("c1", "test", (Speaker.AGENT, Speaker.CUSTOMER)))
    assert worker.wait_idle(5, warming=True)
    first = len(backend.prefills)
    for n in range(4):  # a quick exchange: each line puts warming off again
        u = _say(bus, "c1", n, f"question {n} about my refund")
        time.sleep(0.1)
    bus.publish(cards_for(u, card(1, REFUND)))  # so do its cards
    cards_at = time.monotonic()
    assert backend.started.acquire(timeout=5)  # the suggestion generates (held by the gate)
    assert len(backend.prefills) == first  # nothing was warmed in front of it
    gate.set()
    seen.wait_for(SuggestionReady)
    assert backend.wait_prefills(first + 1)
    assert backend.times[first] >= cards_at + 1.0  # a pause after the cards, not before
    assert len(backend.lines()) == 4
    assert worker.wait_idle(5)


def test_an_ended_call_drops_its_warming_and_a_long_call_stops_it(make: Any, ctx: TaskContext) -> None:
    backend = FakeWarmer(json.dumps(VALID_SUMMARY))
    worker, bus, seen = make(backend, warm_delay_s=5.0)
    bus.publish(CallStarted("c1", "test", (Speaker.AGENT, Speaker.CUSTOMER)))
    assert worker.wait_idle(5, warming=True)
    first = len(backend.prefills)
    _say(bus, "c1", 1, "my order never came")
    bus.publish(CallEnded("c1", 10.0))  # the pending warm step (due in 5 s) is dropped
    seen.wait_for(CallSummaryReady)
    assert worker.wait_idle(5, warming=True) and len(backend.prefills) == first

    small = TaskContext(ctx.prompts, ctx.dispositions, ctx.embedder, context_tokens=900)
    long_backend = FakeWarmer()
    bus2 = EventBus()
    options = GenerationOptions(coaching=False, warm_delay_s=0.0, warm_step_tokens=500)
    worker2 = GenerationWorker(long_backend, bus2, context=small, options=options)
    try:
        bus2.publish(CallStarted("c2", "test", (Speaker.AGENT, Speaker.CUSTOMER)))
        for n in range(40):  # far more than a 900-token context holds whole
            bus2.publish(turn("c2", n, f"sentence {n} " + "about the coffee machine " * 4))
            assert worker2.wait_idle(5, warming=True)
        count = len(long_backend.prefills)
        warmed = len(long_backend.lines())
        assert 3 <= warmed < 40  # warmed while the call fitted whole, then no more
        bus2.publish(turn("c2", 99, "and one more thing"))
        assert worker2.wait_idle(5, warming=True) and len(long_backend.prefills) == count
    finally:
        worker2.close(10)


def test_no_warming_without_a_summary_slot_and_a_failing_backend_stops_it(make: Any) -> None:
    plain = FakeWarmer(slots=())
    worker, bus, _ = make(plain)
    bus.publish(CallStarted("c1", "test", (Speaker.AGENT, Speaker.CUSTOMER)))
    _say(bus, "c1", 1, "hello")
    assert worker.wait_idle(5, warming=True) and plain.prefills == []

    down = FakeWarmer(json.dumps(VALID_SUMMARY))
    down.down = True
    worker, bus, seen = make(down)
    assert len(down.prefills) == 1  # the start-up step failed
    bus.publish(CallStarted("c2", "test", (Speaker.AGENT, Speaker.CUSTOMER)))
    assert worker.wait_idle(5, warming=True) and len(down.prefills) == 2  # so did the call's
    _say(bus, "c2", 1, "hello")
    assert worker.wait_idle(5, warming=True) and len(down.prefills) == 2  # no more tries
    bus.publish(CallEnded("c2", 10.0))
    assert seen.wait_for(CallSummaryReady)[0].valid  # the summary itself still works


def test_a_warming_error_is_logged_not_shown_as_a_call_error(
    make: Any, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(FakeWarmer):
        def prefill(self, request: GenerationRequest) -> int:
            super().prefill(request)
            raise RuntimeError("llama_decode returned -3")

    caplog.set_level(logging.INFO, logger="agent_assist.assist.generation")
    backend = Broken()
    worker, bus, seen = make(backend)
    bus.publish(CallStarted("c1", "test", (Speaker.AGENT, Speaker.CUSTOMER)))
    _say(bus, "c1", 1, "hello")
    assert worker.wait_idle(5, warming=True)
    assert not seen.of(PipelineError)
    assert "llama_decode returned -3" in caplog.text


# ---- the real model --------------------------------------------------------


def _speaker(name: str) -> Speaker:
    return Speaker.CUSTOMER if name == "customer" else Speaker.AGENT


def _sample_turns() -> list[FinalUtterance]:
    script = json.loads(SAMPLE.read_text())
    return [
        FinalUtterance("sample", f"u{i}", _speaker(t["speaker"]), t["start"], t["end"], t["text"], 0.9)
        for i, t in enumerate(script["turns"])
    ]


@pytest.mark.slow
@pytest.mark.model
def test_a_warmed_summary_evaluates_only_the_last_lines(smollm2_path: Path) -> None:
    from agent_assist.llm.llama_local import LlamaCppBackend

    gguf = next(smollm2_path.glob("*.gguf")) if smollm2_path.is_dir() else smollm2_path
    backend = LlamaCppBackend(gguf, cache_slots=(SUMMARY_SLOT,))
    ctx = TaskContext(load_prompts(), DISPOSITIONS)
    turns = _sample_turns()
    try:
        cold = backend.generate(GenerationRequest((ChatMessage("user", "Say OK."),), max_tokens=1))
        assert cold.extra["cache_slot"] == ""
        evaluated = [warm_summary(backend, turns[:k], context=ctx) for k in range(len(turns) - 1)]
        assert all(n is not None and n > 0 for n in evaluated)
        # A live suggestion on the other context does not disturb the warmed one.
        live = backend.generate(
            GenerationRequest((ChatMessage("user", "Customer: my jug broke. Reply briefly."),),
                              max_tokens=8)
        )  # fmt: skip
        assert live.extra["cache_slot"] == "" and live.extra["prompt_tokens_evaluated"] > 5

        seen: list[Generation] = []
        real = backend.generate

        def spy(request: GenerationRequest, **kw: Any) -> Generation:
            result = real(request, **kw)
            seen.append(result)
            return result

        backend.generate = spy  # type: ignore[method-assign]
        summary = summarize_call(backend, turns, context=ctx, call_id="sample", seed=1)
        assert validate(summary.data(), summary_schema([d.code for d in DISPOSITIONS])) == []
        first = seen[0]
        assert first.extra["cache_slot"] == SUMMARY_SLOT
        whole = sum(n for n in evaluated if n)
        # Only the last two lines and the chat template's closing tokens were left.
        assert 0 < first.extra["prompt_tokens_evaluated"] < 80 < whole
    finally:
        backend.close()


@pytest.mark.slow
@pytest.mark.model
def test_no_memory_for_the_summary_slot_loads_the_model_without_it(
    smollm2_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_assist.llm import llama_local

    gguf = next(smollm2_path.glob("*.gguf")) if smollm2_path.is_dir() else smollm2_path
    need = llama_local.memory_needed(gguf, llama_local.gguf_metadata(gguf), 2048)
    monkeypatch.setattr(llama_local, "available_memory", lambda: need + 1024)
    backend = llama_local.LlamaCppBackend(gguf, cache_slots=(SUMMARY_SLOT,))
    try:
        assert backend.warm_slots() == (SUMMARY_SLOT,)  # assumed until it loads
        backend.load()
        assert backend.state is BackendState.READY and backend.warm_slots() == ()
        request = GenerationRequest((ChatMessage("user", "Say OK."),), max_tokens=2)
        assert backend.prefill(replace(request, cache_slot=SUMMARY_SLOT)) == 0  # nothing to warm
        answer = backend.generate(replace(request, cache_slot=SUMMARY_SLOT))
        assert answer.text and answer.extra["cache_slot"] == ""  # the one context serves it
    finally:
        backend.close()
