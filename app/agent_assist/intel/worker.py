"""The live call cues: finals in; intent, self-ticking checklist and talk time out.

``IntelWorker`` subscribes to the event bus. For every final utterance it
publishes ``TalkStats``; for a customer turn (or a turn of the single mixed
channel) it scores the pack's intents and publishes ``IntentDetected`` when
the sticky intent changes; for an agent (or mixed) turn it matches the
checklist steps; and it publishes ``ChecklistProgress`` whenever a step ticks
or the checklist (or the intent it is shown for) changes. When the intent
leaves every checklist, a ``ChecklistProgress`` with an empty ``checklist_id``
and no steps says so. How intents and steps are decided, and the measured
thresholds: ``intent.py`` and ``checklist.py``.

Why a thread of its own: embedding a turn costs ~7 ms on the 2-core reference
PC (seconds when the embedder still has to load), and the bus runs
subscribers on the STT worker, whose finals must not wait. The bus callback
only puts the event on a ``queue.Queue``; the worker blocks on the queue (no
polling) and handles every event in order -- unlike knowledge cards, no final
may be skipped: each one counts for talk time and may tick a step.

The embedder is given as an object with ``encode`` (e.g. the session's shared,
lazily loading one: its first ``encode`` loads it, on this worker's thread) or
as a factory called on the worker's thread. First thing, the worker reads the
pack's ``intents.toml``/``checklists.toml`` and embeds the examples and the
evidence. Without a pack, without intents, or when that fails, it still
publishes ``TalkStats``; a failure is published once as
``PipelineError(stage="intel")`` with the next call's id. No error of this
worker reaches the bus as an exception.

Thread rules: construct, ``wait_idle`` and ``close`` from any one controlling
thread. The bus callback runs on whatever thread publishes and only enqueues.
The encoder and every subscriber of the events published here run on the
worker thread. ``intent_label`` may be called from any thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent_assist.clock import Clock, SystemClock
from agent_assist.domain import (
    CallEnded,
    CallStarted,
    ChecklistProgress,
    Event,
    FinalUtterance,
    IntentDetected,
    PipelineError,
    Speaker,
)
from agent_assist.events import EventBus
from agent_assist.intel.checklist import SEMANTIC_THRESHOLD, ChecklistTracker, StepMatcher
from agent_assist.intel.intent import Encoder, IntentModel, IntentOptions, IntentTracker
from agent_assist.intel.pack import Checklist, load_checklists, load_intents
from agent_assist.intel.talk import TalkClock

__all__ = ["EncoderSource", "IntelWorker"]

log = logging.getLogger(__name__)

EncoderSource = Encoder | Callable[[], Encoder] | None
"""An encoder, a factory called on the worker thread, or None (no intents; lexical steps)."""

_Item = FinalUtterance | CallStarted | CallEnded | None  # None: stop
_CUSTOMER = (Speaker.CUSTOMER, Speaker.MIXED)
_AGENT = (Speaker.AGENT, Speaker.MIXED)


@dataclass(slots=True)
class _Call:
    talk: TalkClock
    intent: IntentTracker
    checklist: ChecklistTracker
    previous_customer: str = ""
    shown: tuple[str, str, tuple[str, ...]] | None = None  # last published checklist state


class IntelWorker:
    """Subscribes to ``bus`` at once; ``close()`` unsubscribes and joins its thread."""

    def __init__(
        self,
        bus: EventBus,
        pack_folder: Path | None,
        embedder: EncoderSource,
        *,
        clock: Clock | None = None,
        intent_options: IntentOptions | None = None,
        semantic_threshold: float = SEMANTIC_THRESHOLD,
    ) -> None:
        self.bus = bus
        self.pack_folder = pack_folder
        self.clock = clock or SystemClock()
        self.intent_options = intent_options or IntentOptions()
        self.semantic_threshold = semantic_threshold
        self._source = embedder
        self._model: IntentModel | None = None
        self._checklists: tuple[Checklist, ...] = ()
        self._matcher = StepMatcher(())
        self._setup_error = ""
        self._calls: dict[str, _Call] = {}
        self._labels: dict[str, str] = {}  # call id -> current intent name (read by any thread)
        self._labels_lock = threading.Lock()
        self._queue: queue.Queue[_Item] = queue.Queue()  # unbounded: put never blocks
        self._idle = threading.Condition()  # guards _outstanding and _closed
        self._outstanding = 1  # the setup
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="intel", daemon=True)
        self._thread.start()
        self._unsubscribe = bus.subscribe(self._on_event)

    # ---- any thread ------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        """The bus callback: enqueue what matters and return at once."""
        if isinstance(event, (FinalUtterance, CallStarted, CallEnded)):
            self._enqueue(event)

    def _enqueue(self, item: _Item) -> bool:
        with self._idle:
            if self._closed:
                return False
            self._closed = item is None
            self._outstanding += 1
            self._queue.put(item)
        return True

    def intent_label(self, call_id: str) -> str | None:
        """The name of ``call_id``'s current intent, or None (for ``LiveRetriever``'s intent hook)."""
        with self._labels_lock:
            return self._labels.get(call_id)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the setup and everything queued so far is processed (False on timeout)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._outstanding == 0, timeout)

    def close(self, timeout: float | None = None) -> None:
        """Stop listening, finish queued events, stop and join the worker. Idempotent."""
        if self._enqueue(None):
            self._unsubscribe()
        self._thread.join(timeout)

    # ---- worker thread ---------------------------------------------------
    def _done(self, count: int = 1) -> None:
        with self._idle:
            self._outstanding -= count
            self._idle.notify_all()

    def _run(self) -> None:
        try:
            self._setup()
        finally:
            self._done()
        while True:
            item = self._queue.get()  # blocks; no polling
            try:
                if item is None:
                    return
                self._handle(item)
            except Exception as exc:  # a bug: keep the worker (and the call) alive
                log.exception("intel worker failed on %s", type(item).__name__)
                if item is not None:
                    self._fail(item.call_id, f"{type(exc).__name__}: {exc}")
            finally:
                self._done()

    def _setup(self) -> None:
        """Read the pack and embed its examples and evidence (loads the embedder)."""
        if self.pack_folder is None:
            return
        try:
            intents = load_intents(self.pack_folder)
            self._checklists = load_checklists(self.pack_folder)
        except Exception as exc:
            log.exception("reading the pack's intents and checklists failed")
            self._setup_error = f"intents and checklists unavailable: {exc}"
            return
        if not intents:
            return
        self._matcher = StepMatcher(self._checklists)  # lexical, until the encoder works
        try:
            encoder = self._encoder()
            if encoder is None:
                return
            self._model = IntentModel(intents, encoder, self.intent_options)
            self._matcher = StepMatcher(
                self._checklists, encoder, semantic_threshold=self.semantic_threshold
            )
        except Exception as exc:
            log.exception("embedding the pack's intents failed")
            self._model = None
            self._setup_error = f"intent detection unavailable: {type(exc).__name__}: {exc}"

    def _encoder(self) -> Encoder | None:
        source = self._source
        if source is None:
            return None
        if hasattr(source, "encode"):
            return source
        return source()

    def _fail(self, call_id: str, message: str) -> None:
        self.bus.publish(PipelineError(call_id, "intel", message, False, self.clock.now()))

    def _call(self, call_id: str) -> _Call:
        call = self._calls.get(call_id)
        if call is None:
            call = _Call(
                TalkClock(call_id),
                IntentTracker(self.intent_options),
                ChecklistTracker(self._checklists, self._matcher),
            )
            self._calls[call_id] = call
        if self._setup_error:  # said once, with the first call that can carry it
            message, self._setup_error = self._setup_error, ""
            self._fail(call_id, message)
        return call

    def _handle(self, event: FinalUtterance | CallStarted | CallEnded) -> None:
        if isinstance(event, CallStarted):
            self._calls.pop(event.call_id, None)
            self._call(event.call_id)
        elif isinstance(event, CallEnded):
            call = self._calls.pop(event.call_id, None)
            with self._labels_lock:
                self._labels.pop(event.call_id, None)
            if call is not None:
                call.talk.end(event.duration)
                self.bus.publish(call.talk.stats(self.clock.now()))
        elif isinstance(event, FinalUtterance):
            self._final(event)

    def _final(self, final: FinalUtterance) -> None:
        call = self._call(final.call_id)
        call.talk.add(final)
        text = final.text.strip()
        if text and final.speaker in _CUSTOMER:
            self._classify(call, final, text)
        if (
            text
            and final.speaker in _AGENT
            and call.checklist.checklists
            and call.checklist.add_agent_turn(self._matcher.turn(final.utterance_id, text))
        ):
            self._show_checklist(call, final.call_id)
        self.bus.publish(call.talk.stats(self.clock.now()))

    def _classify(self, call: _Call, final: FinalUtterance, text: str) -> None:
        model = self._model
        if model is None:
            return
        context, call.previous_customer = call.previous_customer, text
        changed = call.intent.update(model.scores(model.encode_turn(text, context)))
        if changed is None:
            return
        intent = changed.intent
        with self._labels_lock:
            self._labels[final.call_id] = intent.name
        confidence = min(1.0, max(0.0, changed.score))
        self.bus.publish(
            IntentDetected(
                final.call_id, final.utterance_id, intent.id, intent.name, confidence, self.clock.now()
            )
        )
        call.checklist.set_intent(intent.id)
        self._show_checklist(call, final.call_id)

    def _show_checklist(self, call: _Call, call_id: str) -> None:
        """Publish the checklist's state when it differs from what was last published."""
        progress = call.checklist.progress(call_id, self.clock.now())
        if progress is None:
            if call.shown is None or not call.shown[0]:
                return
            progress = ChecklistProgress(call_id, "", call.checklist.intent_id, (), self.clock.now())
        state = (
            progress.checklist_id,
            progress.intent_id,
            tuple(s.id for s in progress.steps if s.done),
        )
        if state != call.shown:
            call.shown = state
            self.bus.publish(progress)
