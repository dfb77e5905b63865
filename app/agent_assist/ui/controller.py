"""Connects the sidebar to the engine: events in through the bridge, commands out.

The window and its panels only show things and emit signals; the controller
turns those signals into the engine's non-blocking commands and the engine's
events into the window's state (tray icon, notifications, wrap-up choices).
Anything that might touch the disk or wait on a lock (saving feedback or a
wrap-up, reading an article) runs on a small worker pool and reports back with
a queued signal, so the GUI thread never waits. The engine's own Futures
(``ask``, ``request_transfer_note``) report back the same way (``when_done``).

Quitting mid-call ends the call first and finishes its record (the engine
stops the pipeline, stores ``CallEnded`` and the summary if it comes in time)
on a worker thread while the window says so; only then does the app exit.

Thread rules: GUI thread, except the worker-pool jobs and the engine's Future
callbacks, which never touch Qt objects and hand their results back through
``_done`` (a queued signal).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from agent_assist.domain import (
    AudioLevel,
    BackendStatus,
    CallEnded,
    CallStarted,
    DeviceState,
    DeviceStatus,
    Event,
    KnowledgeCard,
    ModelStatus,
    PipelineError,
    Speaker,
)
from agent_assist.errors import UserError
from agent_assist.ui.bridge import EngineBridge
from agent_assist.ui.panels.on_demand import outcome
from agent_assist.ui.qt import QObject, QtCore, QtWidgets, Signal
from agent_assist.ui.tray import CallState, Tray
from agent_assist.ui.window import SidebarWindow

if TYPE_CHECKING:
    from agent_assist.llm.tasks import Answer
    from agent_assist.llm.tasks_notes import Note

__all__ = ["AppController", "Engine"]

log = logging.getLogger(__name__)


class Engine(Protocol):
    """What the sidebar needs of the engine (``agent_assist.session.AssistEngine``)."""

    @property
    def in_call(self) -> bool: ...

    @property
    def pack_folder(self) -> Path | None: ...

    def subscribe(self, fn: Callable[[Event], None]) -> Callable[[], None]: ...
    def load(self) -> None: ...
    def start_call(self, source: Any) -> str: ...
    def stop_call(self, reason: str = ...) -> None: ...
    def set_muted(self, speaker: Speaker, muted: bool) -> None: ...
    def set_feedback(self, suggestion_id: str, value: int) -> object: ...
    def save_wrapup(self, call_id: str, summary_json: str, disposition: str) -> object: ...
    def ask(self, question: str) -> Future[Answer]: ...
    def request_transfer_note(self) -> Future[Note]: ...
    def wait_call_done(self, timeout: float | None = None) -> bool: ...
    def close(self, timeout: float | None = None) -> None: ...


SourceFactory = Callable[[], Any]


class AppController(QObject):
    """Owns the bridge and the engine's life in the app; see the module doc."""

    _done = Signal(object, object)  # (callback, result) from a worker job, on the GUI thread
    quit_ready = Signal()  # the call record is finished: the app may exit
    speech_ready = Signal()

    def __init__(
        self,
        window: SidebarWindow,
        engine: Engine,
        source_factory: SourceFactory,
        *,
        tray: Tray | None = None,
        autostart: bool = False,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.engine = engine
        self.tray = tray
        self._source_factory = source_factory
        self._autostart = autostart
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ui-io")
        self.bridge = EngineBridge(self)
        self.bridge.received.connect(self._on_event)
        self._unsubscribe = engine.subscribe(self.bridge)
        self._done.connect(self._finish_job)
        self.call_id = ""
        self.in_call = False
        self.muted: set[Speaker] = set()
        self.models: dict[str, ModelStatus] = {}
        self._quitting = False
        self._asking: Future[Answer] | None = None  # the newest question's
        self._noting: Future[Note] | None = None
        self._wire()

    # -- wiring ------------------------------------------------------------------------------
    def _wire(self) -> None:
        w = self.window
        w.call_bar.start_requested.connect(self.start_call)
        w.call_bar.stop_requested.connect(self.stop_call)
        w.call_bar.mute_toggled.connect(self._mute)
        w.suggestion.feedback.connect(self._feedback)
        w.suggestion.citation_clicked.connect(self._citation)
        w.cards.open_article.connect(self.open_article)
        w.ask.ask_requested.connect(self._ask)
        w.ask.dismissed.connect(self._drop_question)
        w.ask.citation_clicked.connect(self.open_article)
        w.ask.note_requested.connect(self._transfer_note)
        w.wrapup.save_requested.connect(self._save_wrapup)
        if self.tray is not None:
            self.tray.start_stop.connect(self.toggle_call)

    def start_engine(self) -> None:
        """Start loading the models (returns at once; their state arrives as events)."""
        self.engine.load()

    # -- commands ------------------------------------------------------------------------------
    def toggle_call(self) -> None:
        if self.in_call:
            self.stop_call()
        else:
            self.start_call()

    def start_call(self) -> None:
        if self.in_call or self._quitting:
            return
        try:
            source = self._source_factory()
            self.call_id = self.engine.start_call(source)
        except UserError as err:
            self._alert("audio", err.render())
            return
        self.in_call = True

    def stop_call(self) -> None:
        if self.in_call:
            self.engine.stop_call("stopped by agent")

    def _mute(self, speaker: str, muted: bool) -> None:
        who = Speaker(speaker)
        (self.muted.add if muted else self.muted.discard)(who)
        self.engine.set_muted(who, muted)
        self._update_tray()

    def _feedback(self, suggestion_id: str, value: int) -> None:
        self.run_io(lambda: self.engine.set_feedback(suggestion_id, value))

    def _save_wrapup(self, call_id: str, summary_json: str, disposition: str) -> None:
        def saved(result: object) -> None:
            if isinstance(result, Exception):
                self._alert("store", f"the wrap-up was not saved: {result}")
            else:
                self.window.wrapup.mark_saved() if hasattr(self.window.wrapup, "mark_saved") else None

        self.run_io(lambda: self.engine.save_wrapup(call_id, summary_json, disposition), saved)

    def _ask(self, question: str) -> None:
        """Ask the pack; a newer question cancels the older one (its generation stops)."""
        self._drop_question()
        future = self._asking = self.engine.ask(question)

        def show(done: object) -> None:
            if done is self._asking:  # else superseded or dismissed meanwhile
                self._asking = None
                self.window.ask.show_result(question, outcome(future))

        self.when_done(future, show)

    def _drop_question(self) -> None:
        old, self._asking = self._asking, None
        if old is not None:
            old.cancel()

    def _transfer_note(self) -> None:
        future = self._noting = self.engine.request_transfer_note()

        def show(done: object) -> None:
            if done is self._noting:
                self._noting = None
                self.window.ask.show_note(outcome(future))

        self.when_done(future, show)

    def _citation(self, chunk_id: str) -> None:
        self.window.show_page("live")
        highlight = getattr(self.window.cards, "highlight", None)
        if callable(highlight):
            highlight(chunk_id)

    def open_article(self, card: KnowledgeCard) -> None:
        """Show the whole article a card comes from (read on the worker pool)."""
        from agent_assist.ui.article import ArticleDialog, load_article

        folder = self.engine.pack_folder

        def show(result: object) -> None:
            dialog = ArticleDialog(card, result, self.window)
            dialog.show()

        self.run_io(lambda: load_article(card, folder), show)

    # -- events ------------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        self.window.on_event(event)
        match event:
            case CallStarted():
                self.call_id, self.in_call = event.call_id, True
                self.muted.clear()  # every call starts unmuted (a mute clicked between calls)
                self._update_tray()
            case CallEnded():
                self.in_call = False
                self.muted.clear()
                self._update_tray()
                if self._quitting:  # the call bar says "not in a call"; the record is not done yet
                    self._say_finishing()
            case ModelStatus():
                self.models[event.component] = event
                if event.component == "speech" and event.state == "ready":
                    self.speech_ready.emit()
                    if self._autostart:
                        self._autostart = False
                        self.start_call()
                if event.component == "knowledge" and event.state == "ready":
                    self._load_dispositions()
            case DeviceStatus() if event.state == DeviceState.LOST:
                self._critical(
                    "Audio device lost", f"{event.speaker.value}: {event.device} {event.detail}"
                )
            case DeviceStatus() if event.state == DeviceState.REOPENED:
                self._update_tray()  # the alert is over: back to the call's state
            case PipelineError() if event.fatal:
                self._critical("The call stopped", event.message)
            case BackendStatus() | AudioLevel():
                pass

    def _load_dispositions(self) -> None:
        folder = self.engine.pack_folder

        def load() -> list[tuple[str, str]]:
            if folder is None:
                return []
            from agent_assist.llm.tasks_context import load_dispositions

            return [(d.code, d.label) for d in load_dispositions(folder)]

        def apply(result: object) -> None:
            if isinstance(result, list):
                self.window.wrapup.set_dispositions(result)

        self.run_io(load, apply)

    def _alert(self, stage: str, message: str) -> None:
        """Show a problem the way engine problems show (the cue strip's alert pill)."""
        self.window.on_event(PipelineError(self.call_id, stage, message))

    def _critical(self, title: str, message: str) -> None:
        if self.tray is not None:
            self.tray.set_state(CallState.ALERT, title)
            if not self.window.isActiveWindow():
                self.tray.notify(title, message)

    def _update_tray(self) -> None:
        if self.tray is None:
            return
        if not self.in_call:
            self.tray.set_state(CallState.IDLE)
        elif self.muted:
            self.tray.set_state(CallState.MUTED, "capture muted")
        else:
            self.tray.set_state(CallState.IN_CALL)

    # -- worker pool -------------------------------------------------------------------------
    def run_io(
        self, job: Callable[[], object], then: Callable[[object], None] | None = None
    ) -> Future[object]:
        """Run ``job`` off the GUI thread; ``then(result or exception)`` back on it."""

        def call() -> object:
            try:
                result = job()
            except Exception as exc:
                log.exception("background job failed")
                result = exc
            self._done.emit(then, result)
            return result

        return self._pool.submit(call)

    def when_done(self, future: Future[Any], then: Callable[[object], None]) -> None:
        """``then(future)`` on the GUI thread once the engine's ``future`` is done.

        The callback runs on whichever thread completes it (the generation worker),
        so it only emits the queued ``_done``; never wait on ``future`` here."""

        def emit(done: Future[Any]) -> None:
            with contextlib.suppress(RuntimeError):  # the controller is gone (app quit)
                self._done.emit(then, done)

        future.add_done_callback(emit)

    def _finish_job(self, then: object, result: object) -> None:
        if callable(then):
            then(result)

    # -- shutdown ------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """End the call (if any) and close the engine off the GUI thread, then ``quit_ready``."""
        if self._quitting:
            return
        self._quitting = True
        if self.in_call or self.engine.in_call:
            self._say_finishing()

        def close() -> None:
            if self.engine.in_call:
                self.engine.stop_call("app closed")
            self.engine.close(30)

        self.run_io(close, lambda _r: self._closed())

    def _say_finishing(self) -> None:
        status = getattr(self.window.call_bar, "set_status_text", None)
        if callable(status):
            status("finishing the call record…")

    def _closed(self) -> None:
        self._unsubscribe()
        self.bridge.flush()
        self.bridge.close()
        self._pool.shutdown(wait=False)
        # Qt 6 sends every window a close event on quit() and cancels the quit if
        # one refuses; the sidebar refuses (hides to the tray) unless allowed.
        self.window.allow_close = True
        self.quit_ready.emit()


_ = QtCore, QtWidgets  # used by annotations in subclasses and tests
