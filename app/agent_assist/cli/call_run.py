"""Running one call from the command line: ``AssistEngine`` plus the printer and the messages.

``run_call`` is what ``transcribe``, ``listen``, ``demo`` and ``summarize
AUDIO_FILE`` share. The wiring (speech model, store, the live knowledge
retriever, the generation worker, their order and close order) is
``agent_assist.session.AssistEngine``'s, the same the app uses; this module
adds the printer, the closing tally line and the ``note:``/``warning:``/
``error:`` lines, and turns Ctrl-C into a clean end of the call:

pipeline (its ``CallEnded`` is stored and printed) -> retriever (the last
customer turn's cards still print) -> generation worker (the summary of the
call is made, printed and stored; Ctrl-C skips it) -> backend -> store.

Thread rules: runs on the main thread, which only waits (interruptibly) on
the engine. Subscribers run on the engine's threads (STT worker, retriever,
generation worker) and only print or count.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent_assist.cli.live_assist import SearcherFactory
from agent_assist.cli.live_llm import CallAssist
from agent_assist.domain import (
    AudioLevel,
    CallFinished,
    CallSummaryReady,
    Event,
    FinalUtterance,
    KnowledgeCards,
    ModelStatus,
    PipelineError,
    SuggestionReady,
)
from agent_assist.errors import UserError

if TYPE_CHECKING:
    from agent_assist.session import AssistEngine, SharedEmbedder

__all__ = ["CallResult", "Tally", "run_call"]


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


def _terminal(printer: Callable[[Event], None] | None) -> Callable[[Event], None]:
    """The printer, minus the app's events (model status, levels, call finished); a store
    failure is a warning on stderr, once."""

    def show(event: Event) -> None:
        if isinstance(event, (ModelStatus, AudioLevel, CallFinished)):
            return
        if isinstance(event, PipelineError) and event.stage == "store":
            print(f"\nwarning: {event.message}", file=sys.stderr)
        elif printer is not None:
            printer(event)

    return show


@dataclass(slots=True)
class CallResult:
    """How the call went: the exit code, its id, whether it was stored, its finals."""

    code: int
    call_id: str
    stored: bool
    finals: list[FinalUtterance] = field(default_factory=list)


def privacy_settings() -> tuple[bool, int]:
    """``privacy.store_audio`` and ``privacy.retention_days`` from the settings file under
    the IT policy: a terminal call keeps audio and purges old calls exactly as the
    sidebar does (a broken policy stops the command, as it stops the app)."""
    from agent_assist.config import Settings

    return Settings.load().privacy()


def run_call(
    source: Any,
    args: argparse.Namespace,
    *,
    printer: Callable[[Event], None] | None,
    knowledge: SearcherFactory | None = None,
    assist: CallAssist | None = None,
    embedder: SharedEmbedder | None = None,
) -> CallResult:
    """Run one call from ``source`` with the model, store, printer, cards and LLM asked for.

    ``args`` supplies ``model``, ``language``, ``threads``, ``no_store`` and
    ``partials``. Resolve ``knowledge`` and ``assist`` before (they check and
    print notes; ``embedder`` is the one they share); the speech model loads
    here, while ``assist``'s backend loads.
    """
    from agent_assist.events import EventBus
    from agent_assist.session import SUMMARY_WAIT_S, AssistEngine, EngineOptions

    store_audio, retention_days = privacy_settings()
    options = EngineOptions(
        stt_model=args.model, language=args.language, threads=args.threads,
        use_llm=assist is not None, knowledge=knowledge is not None, store=not args.no_store,
        partials=args.partials, summary_wait_s=SUMMARY_WAIT_S, levels=False,
        store_audio=store_audio, retention_days=retention_days,
    )  # fmt: skip
    finals: list[FinalUtterance] = []
    tally = Tally()
    engine = AssistEngine(
        options,
        EventBus(),
        subscribers=[
            _terminal(printer),
            tally,
            lambda e: finals.append(e) if isinstance(e, FinalUtterance) else None,
        ],
        backend_factory=None if assist is None else (lambda _: assist.backend),
        task_context=None if assist is None else assist.context,
        searcher_factory=knowledge,
        embedder=embedder,
    )
    reason = "completed"
    try:
        engine.load()
        for call_id in engine.interrupted_calls:
            print(
                f"note: call {call_id} was cut off (its process ended); its utterances are kept",
                file=sys.stderr,
            )
        if engine.wait_settled("speech").state == "down":
            raise engine.failure("speech") or UserError("the speech model could not be loaded")
        if assist is not None:
            assist.ready()  # an in-process model finishes loading before lines print
        call_id = engine.start_call(source)
        try:
            engine.wait_call_ended()
        except KeyboardInterrupt:
            print("\nending the call…", file=sys.stderr)
            reason = "stopped by user"
            engine.stop_call(reason)
            engine.wait_call_ended()
        error = engine.call_error()
        if error is not None:
            raise error
        _wait_for_summary(engine, assist)
    finally:
        engine.close()
    stored = options.store and engine.store_failure is None
    where = "not stored (--no-store)" if not options.store else f"stored as call {call_id}"
    print(f"-- {reason}: {tally.summary()}; {where}", file=sys.stderr)
    result = CallResult(0, call_id, stored, finals)
    source_error = getattr(source, "error", None)
    if isinstance(source_error, UserError):  # a file damaged part-way: what was read is above
        print(source_error.render(), file=sys.stderr)
        result.code = source_error.exit_code
    elif engine.store_failure is not None:
        print(f"error: the call was not fully saved: {engine.store_failure}", file=sys.stderr)
        result.code = 5
    return result


def _wait_for_summary(engine: AssistEngine, assist: CallAssist | None) -> None:
    """Let the engine finish the call (its summary, when a model is on); Ctrl-C skips it."""
    try:
        if engine.wait_call_done(0.2) or assist is None:
            engine.wait_call_done()
            return
        print(f"summarizing the call with {assist.backend.model} ... (Ctrl-C skips)", file=sys.stderr)
        engine.wait_call_done()
        finished = engine.finished
        if finished is not None and not finished.summarized:
            wait = engine.options.summary_wait_s
            print(f"note: the summary took longer than {wait:.0f} s; skipped", file=sys.stderr)
    except KeyboardInterrupt:
        print("summary skipped", file=sys.stderr)
