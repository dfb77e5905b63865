"""Running one call from the command line: source -> pipeline -> store, printer, cards, model.

``run_call`` is what ``transcribe``, ``listen``, ``demo`` and ``summarize
AUDIO_FILE`` share: it loads the speech model, wires the store, a printer, the
live knowledge retriever and the generation worker to one event bus, runs the
pipeline until the source ends or the user presses Ctrl-C (which ends the
call cleanly), and closes everything in an order that loses nothing:

pipeline (its ``CallEnded`` is published) -> retriever (the last customer
turn's cards still print) -> generation worker (the summary of the call is
made, printed and stored; ``live_llm.finish``) -> backend -> store.

Subscription order matters too: store, printer, tally, generation worker,
retriever -- a line is stored before it prints, and the worker has seen a
turn before the retriever can publish the cards that answer it.

Thread rules: runs on the main thread. Subscribers run on the publishers'
threads (STT worker, retriever, generation worker) and only print or write
one row each.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent_assist.cli.live_assist import SearcherFactory, start_retriever
from agent_assist.cli.live_llm import CallAssist, finish
from agent_assist.domain import (
    CallSummaryReady,
    Event,
    FinalUtterance,
    KnowledgeCards,
    SuggestionReady,
)
from agent_assist.errors import UserError

__all__ = ["CallResult", "GuardedRecorder", "Tally", "run_call"]


class Tally:
    """Counts finals per speaker (STT thread), knowledge cards (retriever thread)
    and suggestions and summaries (generation worker) for the closing line."""

    def __init__(self) -> None:
        self.finals: dict[str, int] = {}
        self.cards = 0
        self.suggestions = 0
        self.summaries = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, FinalUtterance):
            self.finals[event.speaker.value] = self.finals.get(event.speaker.value, 0) + 1
        elif isinstance(event, KnowledgeCards):
            self.cards += len(event.cards)
        elif isinstance(event, SuggestionReady):
            self.suggestions += 1
        elif isinstance(event, CallSummaryReady):
            self.summaries += 1

    def summary(self) -> str:
        per_side = ", ".join(f"{who} {n}" for who, n in sorted(self.finals.items())) or "nothing heard"
        extra = [
            f"{n} {what}"
            for n, what in ((self.cards, "knowledge cards"), (self.suggestions, "suggestions"))
            if n
        ]
        if self.summaries:
            extra.append("a summary")
        return f"{sum(self.finals.values())} utterances ({per_side})" + "".join(f", {e}" for e in extra)


class GuardedRecorder:
    """The store's recorder; if writing fails (disk full, read-only), says so once
    and lets the call go on on screen, and the command exits non-zero."""

    def __init__(self, recorder: Callable[[Event], None]) -> None:
        self._recorder = recorder
        self.failure: Exception | None = None

    def __call__(self, event: Event) -> None:
        if self.failure is not None:
            return
        try:
            self._recorder(event)
        except Exception as exc:
            self.failure = exc
            print(f"\nwarning: the call is no longer being saved: {exc}", file=sys.stderr)


@dataclass(slots=True)
class CallResult:
    """How the call went: the exit code, its id, whether it was stored, its finals."""

    code: int
    call_id: str
    stored: bool
    finals: list[FinalUtterance] = field(default_factory=list)


def run_call(
    source: Any,
    args: argparse.Namespace,
    *,
    printer: Callable[[Event], None] | None,
    knowledge: SearcherFactory | None = None,
    assist: CallAssist | None = None,
) -> CallResult:
    """Run one call from ``source`` with the model, store, printer, cards and LLM asked for.

    ``args`` supplies ``model``, ``language``, ``threads``, ``no_store`` and
    ``partials``. Resolve ``knowledge`` and ``assist`` before (they check and
    print notes); the speech model loads here, while ``assist``'s backend loads.
    """
    from agent_assist.events import EventBus
    from agent_assist.pipeline import CallPipeline, PipelineConfig
    from agent_assist.stt.loader import load_transcriber

    language = None if args.language == "auto" else args.language
    decoder = load_transcriber(args.model, language=language, cpu_threads=args.threads)
    bus = EventBus()
    finals: list[FinalUtterance] = []
    with contextlib.ExitStack() as stack:
        guard = None
        if not args.no_store:
            from agent_assist.store import CallRecorder, Database

            db = stack.enter_context(Database.open())
            for call_id in db.interrupted:
                print(
                    f"note: call {call_id} was cut off (its process ended); its utterances are kept",
                    file=sys.stderr,
                )
            guard = GuardedRecorder(CallRecorder(db))
            bus.subscribe(guard)
        if printer is not None:
            bus.subscribe(printer)
        tally = Tally()
        bus.subscribe(tally)
        bus.subscribe(lambda e: finals.append(e) if isinstance(e, FinalUtterance) else None)
        if assist is not None:
            assist.ready()  # an in-process model finishes loading before lines print
            stack.callback(finish, assist.start(bus), assist.backend)
        if knowledge is not None:  # last: a card must not print before its line
            stack.callback(start_retriever(knowledge, bus).close)
        live = source.live or getattr(source, "realtime", False)
        config = PipelineConfig(partials=args.partials, drop_partials_when_behind=live)
        pipeline = CallPipeline(source, decoder, bus, config=config)
        reason = "completed"
        pipeline.start()
        try:
            pipeline.wait()
        except KeyboardInterrupt:
            print("\nending the call…", file=sys.stderr)
            reason = "stopped by user"
        finally:
            pipeline.stop(reason)
    where = "not stored (--no-store)" if guard is None else f"stored as call {pipeline.call_id}"
    print(f"-- {reason}: {tally.summary()}; {where}", file=sys.stderr)
    result = CallResult(0, pipeline.call_id, guard is not None and guard.failure is None, finals)
    error = getattr(source, "error", None)
    if isinstance(error, UserError):  # a file damaged part-way: what was read is above
        print(error.render(), file=sys.stderr)
        result.code = error.exit_code
    elif guard is not None and guard.failure is not None:
        print(f"error: the call was not fully saved: {guard.failure}", file=sys.stderr)
        result.code = 5
    return result
