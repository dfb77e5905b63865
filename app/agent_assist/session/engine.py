"""``AssistEngine``: one object that runs calls with every model, for the app and the CLI.

It owns the wiring the CLI used to do by hand: the speech model, the call
pipeline, the store's recorder, the live knowledge retriever, the generation
worker (suggestions, summary, notes) and extra workers (intel), their
subscription order and their close order. No Qt: the app subscribes one
bridge to ``bus``.

Lifecycle::

    engine = AssistEngine(EngineOptions(...))   # nothing loads yet
    engine.load()                # opens the store; models load on background threads
    call_id = engine.start_call(source)          # at once, even while models load
    engine.stop_call()           # at once; the summary follows (CallFinished)
    engine.close()

Loading: ``load`` does only cheap work on the caller's thread (open the
store, resolve the pack folder and the language model: file reads and
``stat`` calls) and starts one thread per model: speech, embedder +
knowledge packs (installing the example pack first if asked), LLM probe.
Each change is a ``ModelStatus`` event; a model that is missing is "down"
with its message and fix and the rest keeps working (no LLM: cards without
suggestions; no packs: transcript and summary without cards).

A call started while the speech model loads runs at once (``CallStarted``,
capture, VAD); its first decode waits for the model (``WaitingDecoder``; level
meters pause with it). The audio heard meanwhile waits in the pipeline's
buffer (60 s for a live source; a replay waits), so none is lost to a load of
a few seconds (tiny.en: about one). If speech fails to
load, the call ends with a fatal ``PipelineError``.

Order on ``bus`` (``parts.Lane``): store, ``subscribers`` (printers), the
generation worker, the retriever, extra workers, the engine's own watcher --
a line is stored before it prints, and the generation worker has seen a turn
before the cards that answer it. End of a call (on the call's controller
thread): pipeline stopped (``CallEnded`` stored) -> retriever closed (the
last turn's cards) -> the generation worker finishes the summary and
coaching note (at most ``summary_wait_s``) -> ``CallFinished`` (``calls.py``).

Privacy (``privacy.py``): with ``store_audio`` the call's audio is tee'd to a
WAV as it is captured; with ``retention_days`` old calls are purged at
``load`` and daily on a timer thread.

Thread rules: ``load``, ``start_call``, ``stop_call``, ``set_muted``, ``ask``
and ``request_transfer_note`` never block on a model or a decode (the last two
return Futures: never wait on one on the GUI thread, add a callback).
``set_feedback`` and ``save_wrapup`` write one row on the calling thread;
``wait_*`` and ``close`` block. Events arrive on the engine's threads (STT
worker, retriever, generation worker, loaders, call controller).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

from agent_assist.assist import Searcher
from agent_assist.audio.base import AudioSource
from agent_assist.clock import Clock, SystemClock
from agent_assist.domain import (
    BackendStatus,
    CallEnded,
    CallFinished,
    Event,
    ModelStatus,
    PipelineError,
    Speaker,
)
from agent_assist.errors import UserError
from agent_assist.events import EventBus, Subscriber
from agent_assist.session import calls, loading
from agent_assist.session.options import EngineOptions
from agent_assist.session.parts import (
    CallRun,
    Closeable,
    EngineContext,
    Lane,
    ModelBoard,
    StoreGuard,
    WaitingDecoder,
    WorkerFactory,
    failed_future,
)
from agent_assist.session.privacy import Privacy
from agent_assist.session.resources import SearcherFactory, SharedEmbedder, pack_source
from agent_assist.stt.streaming import Decoder

if TYPE_CHECKING:
    from agent_assist.assist.generation import GenerationWorker
    from agent_assist.llm.backend import LLMBackend
    from agent_assist.llm.tasks import Answer
    from agent_assist.llm.tasks_context import TaskContext
    from agent_assist.llm.tasks_notes import Note
    from agent_assist.store import Database

__all__ = ["AssistEngine"]

log = logging.getLogger(__name__)


class AssistEngine:
    """Runs calls with every model (see the module doc).

    Injectable for tests and the CLI: ``decoder_factory(options)`` (the speech
    model), ``backend_factory(options)`` (the LLM backend), ``searcher_factory``
    (the knowledge searcher, opened on the retriever's thread, instead of the
    packs ``options`` name), ``task_context`` (prompts and dispositions),
    ``embedder``. ``subscribers`` run after the store and before the workers.
    ``extra_workers`` are built at ``load`` with a bus of their own in the
    order (after the retriever) and an ``EngineContext``; one with a callable
    ``current_intent(call_id)`` or ``intent_label(call_id)`` (``IntelWorker``)
    gives the retriever the call's intent label::

        AssistEngine(options, extra_workers=[
            lambda bus, ctx: IntelWorker(bus, ctx.pack_folder, ctx.embedder)])
    """

    def __init__(
        self,
        options: EngineOptions | None = None,
        bus: EventBus | None = None,
        clock: Clock | None = None,
        *,
        subscribers: Sequence[Subscriber] = (),
        extra_workers: Sequence[WorkerFactory] = (),
        decoder_factory: Callable[[EngineOptions], Decoder] | None = None,
        backend_factory: Callable[[EngineOptions], LLMBackend] | None = None,
        searcher_factory: SearcherFactory | None = None,
        task_context: TaskContext | None = None,
        embedder: SharedEmbedder | None = None,
    ) -> None:
        self.options = options or EngineOptions()
        self.bus = bus or EventBus()
        self._clock_given = clock is not None  # a stand-in pipeline may not take one
        self.clock: Clock = clock or SystemClock()
        self._subscribers = tuple(subscribers)
        self._extra_factories = tuple(extra_workers)
        self._decoder_factory = decoder_factory or loading.load_decoder
        self._backend_factory = backend_factory or loading.resolve_backend
        self._searcher_given = searcher_factory
        self._task_context = task_context
        # A given searcher brings its own embedder unless one is given too.
        self._load_embedder = self.options.knowledge and (
            searcher_factory is None or embedder is not None
        )
        self.embedder = embedder or SharedEmbedder(threads=1)
        self._lock = threading.RLock()
        self.models = ModelBoard(self.bus, self.clock)
        self.set_status = self.models.set
        """Record and publish a component's state (the loaders' entry point; any thread)."""
        self._lanes = {name: Lane(self.bus) for name in ("generation", "retrieval", "extra", "engine")}
        self._unsubscribe: list[Callable[[], None]] = []
        self._db: Database | None = None
        self._guard: StoreGuard | None = None
        self._decoder: Decoder | None = None
        self._backend: LLMBackend | None = None
        self._worker: GenerationWorker | None = None
        self._extras: list[Closeable] = []
        self._searcher: SearcherFactory | None = searcher_factory
        self._call: CallRun | None = None
        self.privacy = Privacy(self.options.store_audio and self.options.store,
                               self.options.retention_days, self.bus, self.clock)  # fmt: skip
        """Call audio kept or not, and the retention purge (``privacy.py``)."""
        self._loaded = self._closed = False
        self.pack_folder: Path | None = None
        """The pack whose prompts, dispositions and checklists calls use (None: defaults)."""
        self.interrupted_calls: tuple[str, ...] = ()
        """Calls a previous run left unfinished, found when the store opened."""

    # ---- models ------------------------------------------------------------
    def load(self) -> None:
        """Open the store (``UserError`` if it cannot), wire the workers, start the loaders."""
        with self._lock:
            if self._loaded or self._closed:
                return
            self._loaded = True
        o = self.options
        if o.store:
            from agent_assist.store import CallRecorder, Database

            self._db = Database.open()
            self.interrupted_calls = self._db.interrupted
            recorder = CallRecorder(self._db)
            self._guard = StoreGuard(recorder, self.bus, self.clock)
            self._unsubscribe.append(self.bus.subscribe(self._guard))
            self.privacy.open(self._db, recorder)  # repairs cut-off audio; the retention timer
        for fn in self._subscribers:
            self._unsubscribe.append(self.bus.subscribe(fn))
        for lane in self._lanes.values():
            self._unsubscribe.append(self.bus.subscribe(lane.deliver))
        self._lanes["engine"].subscribe(self._watch)
        try:
            self.pack_folder = pack_source(o.pack_index, install_example=o.install_example)
        except UserError as err:
            log.warning("no pack folder: %s", err)
        self.set_status("speech", "loading", o.stt_model)
        self.set_status("embedder", "loading" if self._load_embedder else "off", self.embedder.id)
        self.set_status("knowledge", "loading" if o.knowledge else "off", loading.pack_label(o))
        if o.use_llm:
            self._worker, self._backend = loading.start_generation(
                self, self._lanes["generation"], self._backend_factory, self._task_context
            )
        else:
            self.set_status("llm", "off", o.llm or "")
        context = EngineContext(self._lanes["extra"], self.pack_folder, self.embedder, o, self.clock)
        for factory in self._extra_factories:
            try:
                self._extras.append(factory(self._lanes["extra"], context))
            except Exception:
                log.exception("an extra worker could not be started")
        loading.start_loaders(self, self._decoder_factory, self._searcher_given, self._load_embedder)

    def status(self) -> dict[str, ModelStatus]:
        """The latest ``ModelStatus`` of every component."""
        return self.models.status()

    def failure(self, component: str) -> UserError | None:
        """Why ``component`` is down (message and fix), or None."""
        return self.models.failure(component)

    def wait_settled(self, component: str, timeout: float | None = None) -> ModelStatus:
        """Block until ``component`` is no longer loading (or ``timeout``); its status."""
        self.models.slots[component].settled.wait(timeout)
        return self.status()[component]

    def speech_loaded(self, decoder: Decoder | None, error: UserError | None) -> None:
        """The speech loader's result (its thread): a call waiting for it goes on or ends."""
        with self._lock:
            self._decoder = decoder
            call = self._call if self._call is not None and not self._call.ended.is_set() else None
        if error is None:
            self.set_status("speech", "ready", self.options.stt_model)
            return
        self.set_status("speech", "down", self.options.stt_model, error)
        if call is not None:
            self.bus.publish(PipelineError(call.call_id, "stt", f"speech model unavailable: {error}",
                                           True, self.clock.now()))  # fmt: skip
            self.stop_call("failed: speech model unavailable")

    def knowledge_loaded(self, factory: SearcherFactory | None, error: UserError | None) -> None:
        """The knowledge loader's result (its thread): the searcher factory, or why not."""
        label = loading.pack_label(self.options)
        if error is not None or factory is None:
            self.set_status("knowledge", "down", label, error or "no knowledge searcher")
            return
        with self._lock:
            self._searcher = factory
        self.set_status("knowledge", "ready", label)

    def open_searcher(self) -> Searcher:
        """The knowledge searcher, once the packs and embedder are ready (worker threads only)."""
        slot = self.models.slots["knowledge"]
        slot.settled.wait()
        if slot.error is not None:
            raise slot.error
        if self._searcher is None:
            raise UserError("knowledge cards are off", "turn them on in the settings")
        return self._searcher()

    # ---- calls ---------------------------------------------------------------
    @property
    def in_call(self) -> bool:
        call = self._call
        return call is not None and not call.ended.is_set()

    @property
    def call_id(self) -> str | None:
        """The current call's id (or the last one's, after it ended)."""
        call = self._call
        return None if call is None else call.call_id

    @property
    def store_failure(self) -> Exception | None:
        """Why the store stopped saving calls (disk full, read-only), or None."""
        return None if self._guard is None else self._guard.failure

    def start_call(self, source: AudioSource) -> str:
        """Start a call from ``source``; returns its id at once (see the module doc).

        Raises ``RuntimeError`` before ``load``, after ``close`` or during another
        call, and the speech model's ``UserError`` when it is down.
        """
        with self._lock:
            if not self._loaded or self._closed:
                raise RuntimeError("start_call needs load() first, and not after close()")
            if self.in_call:
                raise RuntimeError(f"call {self.call_id} is still running")
            speech = self.models.slots["speech"]
            if speech.status.state == "down" and speech.error is not None:
                raise speech.error
            decoder = self._decoder or WaitingDecoder(speech.settled, lambda: self._decoder)
            call = calls.build_call(self, source, decoder)
            self._call = call
        threading.Thread(target=calls.run_call, args=(self, call), name=f"call-{call.call_id}",
                         daemon=True).start()  # fmt: skip
        return call.call_id

    def stop_call(self, reason: str = "stopped by agent") -> None:
        """End the current call (returns at once; ``CallEnded``, then ``CallFinished``, follow)."""
        with self._lock:
            call = self._call
            if call is None or call.wake.is_set():
                return
            call.reason = reason
            call.wake.set()

    def set_privacy(self, store_audio: bool, retention_days: int) -> None:
        """Apply changed privacy settings (``privacy.store_audio`` from the next call;
        a new retention purges at once). May join a thread: not on the GUI thread."""
        self.privacy.update(store_audio and self.options.store, retention_days)

    def set_muted(self, speaker: Speaker, muted: bool) -> None:
        """Mute ``speaker``'s channel of the current call (not transcribed, not stored).

        Each call starts unmuted; without a call this does nothing.
        """
        with self._lock:
            call = self._call
        if call is not None and not call.ended.is_set() and hasattr(call.pipeline, "set_muted"):
            call.pipeline.set_muted(speaker, muted)

    def muted(self) -> frozenset[Speaker]:
        """The current call's muted channels."""
        call = self._call
        found: frozenset[Speaker] = getattr(call.pipeline, "muted", frozenset()) if call else frozenset()
        return found

    def wait_call_ended(self, timeout: float | None = None) -> bool:
        """Block until the current call's pipeline has stopped (``CallEnded`` published)."""
        call = self._call
        return True if call is None else call.ended.wait(timeout)

    def wait_call_done(self, timeout: float | None = None) -> bool:
        """Block until the current call is finished (summary included); False on timeout."""
        call = self._call
        return call is None or call.done.wait(timeout)

    @property
    def finished(self) -> CallFinished | None:
        """The current call's ``CallFinished`` once it is done, else None."""
        call = self._call
        return None if call is None else call.finished

    def call_error(self) -> BaseException | None:
        """Why the current call's audio could not start (a device error), or None."""
        call = self._call
        return None if call is None else call.error

    def _watch(self, event: Event) -> None:
        """The engine's own subscriber (last in order): call ends, the LLM going down or up."""
        if isinstance(event, CallEnded):
            call = self._call
            if call is not None and call.call_id == event.call_id:
                call.end_reason = event.reason
                call.wake.set()
        elif isinstance(event, BackendStatus) and event.state in ("ready", "down"):
            current = self.status()["llm"]
            if current.state in ("ready", "down") and current.state != event.state:
                self.set_status("llm", event.state, current.model, event.detail or None)

    # ---- on demand -----------------------------------------------------------
    def request_transfer_note(self) -> Future[Note]:
        """A hand-over note of the current call so far (also published as ``NoteReady``)."""
        worker, call_id = self._worker, self.call_id
        if worker is None or call_id is None:
            return failed_future(self._llm_error() if worker is None else UserError("no call yet"))
        return worker.request_transfer_note(call_id)

    def ask(self, question: str) -> Future[Answer]:
        """The pack's answer to the agent's question, with citations."""
        worker = self._worker
        return failed_future(self._llm_error()) if worker is None else worker.ask(question)

    def set_feedback(self, suggestion_id: str, value: int) -> bool:
        """Store the agent's thumbs up (+1) or down (-1); False if no such suggestion.

        Writes on the calling thread (a millisecond; seconds if the disk is busy):
        from the GUI, call it on a worker thread.
        """
        return self._database().set_feedback(suggestion_id, value)

    def save_wrapup(self, call_id: str, summary_json: str, disposition: str) -> bool:
        """Store the agent's edited summary and chosen disposition; False if no such call.

        Writes on the calling thread, as ``set_feedback``.
        """
        return self._database().save_wrapup(call_id, summary_json, disposition)

    def _database(self) -> Database:
        db = self._db
        if db is None or self._closed:
            raise UserError("the call history is off", "turn on saving calls in the settings")
        return db

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Subscribe ``fn`` to the engine's bus (after the engine's own subscribers)."""
        return self.bus.subscribe(fn)

    def _llm_error(self) -> UserError:
        return self.failure("llm") or UserError(
            "the language model is off", "turn it on in the settings"
        )

    # ---- shutdown ------------------------------------------------------------
    def close(self, timeout: float | None = 10.0) -> None:
        """End a running call (stored as ended), let its summary finish within ``timeout``
        (None: no limit), then close the workers, the backend and the store. Idempotent."""
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        with self._lock:
            if self._closed:
                return
            call = self._call
        if call is not None and not call.done.is_set():
            self.stop_call("app closed")
            call.ended.wait(left())
            call.done.wait(left())
        with self._lock:
            self._closed = True
        if self._worker is not None:
            self._worker.close(left())
        for worker in self._extras:
            with contextlib.suppress(Exception):
                worker.close()
        if self._backend is not None:
            with contextlib.suppress(Exception):
                self._backend.close()
        self.privacy.close()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        if self._db is not None:
            self._db.close()
