"""The engine's small parts: bus lanes, the guarded store recorder, the waiting decoder, model slots.

Why lanes: subscribers run in subscription order, and the order matters (a
line is stored before it prints; the generation worker has seen a turn before
the retriever publishes the cards that answer it). Workers are created at
different times (the retriever per call, the generation worker at ``load``),
so each kind gets a ``Lane``: an ``EventBus`` subscribed to the engine's bus
at ``load`` in a fixed order, whose own subscribers run in its place and whose
``publish`` goes to the engine's bus.

Thread rules: ``Lane`` as ``EventBus``. ``StoreGuard`` runs on publishers'
threads. ``WaitingDecoder.transcribe`` runs on the STT worker and blocks only
until the speech model has loaded (or failed). ``ModelSlot`` is guarded by the
engine's lock; its ``settled`` event may be waited on from any thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from agent_assist.clock import Clock
from agent_assist.domain import CallFinished, Event, ModelStatus, PipelineError
from agent_assist.errors import UserError
from agent_assist.events import EventBus
from agent_assist.stt.streaming import Decoder
from agent_assist.stt.whisper import DecodeOptions, Transcript

if TYPE_CHECKING:
    from agent_assist.session.options import EngineOptions
    from agent_assist.session.resources import SharedEmbedder

__all__ = [
    "CallRun",
    "Closeable",
    "EngineContext",
    "Lane",
    "ModelBoard",
    "ModelSlot",
    "StoreGuard",
    "WaitingDecoder",
    "WorkerFactory",
    "failed_future",
    "intel_worker",
]

log = logging.getLogger(__name__)

COMPONENTS = ("speech", "embedder", "knowledge", "llm")


class Lane(EventBus):
    """A place in ``root``'s subscriber order (see the module doc)."""

    def __init__(self, root: EventBus) -> None:
        super().__init__()
        self.root = root

    def publish(self, event: Event) -> None:
        self.root.publish(event)

    def deliver(self, event: Event) -> None:
        """Run this lane's subscribers (subscribe this to the root bus)."""
        super().publish(event)


class Closeable(Protocol):
    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class EngineContext:
    """What an extra worker gets: its bus (publish and subscribe), the pack folder
    (dispositions, intents, checklists; None without a pack), the engine's one
    embedder (loads on first use), the options and the clock."""

    bus: EventBus
    pack_folder: Path | None
    embedder: SharedEmbedder
    options: EngineOptions
    clock: Clock


WorkerFactory = Callable[[EventBus, EngineContext], Closeable]
"""Builds an extra worker at ``load`` (cheaply: load models on its own thread)."""


class StoreGuard:
    """The store's recorder; if writing fails (disk full, read-only), publishes one
    ``PipelineError`` (stage "store") and lets the call go on unsaved."""

    def __init__(self, recorder: Callable[[Event], None], bus: EventBus, clock: Clock) -> None:
        self._recorder = recorder
        self._bus = bus
        self._clock = clock
        self.failure: Exception | None = None

    def __call__(self, event: Event) -> None:
        if self.failure is not None:
            return
        try:
            self._recorder(event)
        except Exception as exc:
            self.failure = exc
            log.warning("the call is no longer being saved: %s", exc)
            call_id = getattr(event, "call_id", "")
            self._bus.publish(PipelineError(
                call_id, "store", f"the call is no longer being saved: {exc}", False, self._clock.now()
            ))  # fmt: skip


@dataclass(slots=True)
class ModelSlot:
    """The latest status of one component, its error, and whether it has settled."""

    status: ModelStatus
    error: UserError | None = None
    settled: threading.Event = field(default_factory=threading.Event)


class ModelBoard:
    """The latest ``ModelStatus`` per component; ``set`` records and publishes (any thread)."""

    def __init__(self, bus: EventBus, clock: Clock) -> None:
        self._bus, self._clock = bus, clock
        self._lock = threading.Lock()
        self.slots = {c: ModelSlot(ModelStatus(c, "loading")) for c in COMPONENTS}

    def set(
        self, component: str, state: str, model: str = "", error: UserError | str | None = None
    ) -> None:
        err = UserError(error) if isinstance(error, str) else error
        detail = "" if err is None else err.message + (f" (fix: {err.fix})" if err.fix else "")
        status = ModelStatus(component, state, model, detail, self._clock.now())
        with self._lock:
            slot = self.slots[component]
            slot.status, slot.error = status, err
            if state != "loading":
                slot.settled.set()
        self._bus.publish(status)

    def status(self) -> dict[str, ModelStatus]:
        with self._lock:
            return {c: slot.status for c, slot in self.slots.items()}

    def failure(self, component: str) -> UserError | None:
        with self._lock:
            return self.slots[component].error


@dataclass(slots=True)
class CallRun:
    """One call as the engine runs it (see ``AssistEngine._run_call``)."""

    pipeline: Any  # CallPipeline (or a stand-in with start/stop/wait/call_id)
    retriever: Closeable | None
    call_id: str
    reason: str = "completed"  # what stop() is given; the pipeline keeps "completed" if it ran out
    end_reason: str = ""  # CallEnded's
    error: BaseException | None = None
    finished: CallFinished | None = None
    wake: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


def failed_future(error: BaseException) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_exception(error)
    return future


class WaitingDecoder:
    """A ``Decoder`` for a call started while the speech model loads.

    The pipeline runs at once (capture, VAD); the first decode waits for the
    model. Audio meanwhile queues in the pipeline's buffer (a live source's
    holds 60 s, a replay waits), so nothing is lost to a load of a few
    seconds. If the load fails every decode is empty (the engine ends the call
    with one fatal ``PipelineError``).
    """

    def __init__(self, ready: threading.Event, get: Callable[[], Decoder | None]) -> None:
        self._ready = ready
        self._get = get

    def transcribe(
        self,
        audio: npt.NDArray[np.float32],
        options: DecodeOptions,
        prefix: tuple[int, ...] = (),
        previous: tuple[int, ...] = (),
    ) -> Transcript:
        self._ready.wait()
        decoder = self._get()
        if decoder is None:
            return Transcript("", 0.0, 1.0)
        return decoder.transcribe(audio, options, prefix, previous)


def intel_worker(bus: EventBus, ctx: EngineContext) -> Closeable:
    """The cue strip's worker (intent, self-ticking checklist, talk time) for the pack in use.

    Pass it in ``AssistEngine(extra_workers=[intel_worker])``; the retriever then
    also uses its current intent (``intent_label``).
    """
    from agent_assist.intel import IntelWorker

    return IntelWorker(bus, ctx.pack_folder, ctx.embedder)
