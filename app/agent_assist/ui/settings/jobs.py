"""``JobRunner``: slow calls of the Settings page on worker threads, answers on the GUI thread.

Why: a level test holds a device open for seconds, verification hashes
hundreds of MB and a connection probe waits on the network; none of it may
freeze the sidebar during a call. ``start(fn, on_done, on_progress)`` runs
``fn(progress)`` on a small thread pool; ``progress(value)`` and the result
(or the exception) come back through queued signals, so ``on_done`` and
``on_progress`` always run on the GUI thread.

Thread rules: ``start``/``shutdown`` on the GUI thread; ``fn`` runs on a pool
thread and must not touch widgets. After ``shutdown`` results are dropped.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agent_assist.ui.qt import QObject, Qt, Signal, Slot

__all__ = ["JobRunner"]

log = logging.getLogger(__name__)

Progress = Callable[[Any], None]
Done = Callable[[Any, BaseException | None], None]  # (result, error)


class JobRunner(QObject):
    _finished = Signal(int, object, object)  # token, result, error
    _progressed = Signal(int, object)  # token, value

    def __init__(self, parent: QObject | None = None, *, workers: int = 2) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="settings-job")
        self._handlers: dict[int, tuple[Done, Progress | None]] = {}
        self._next = 0
        self._closed = False
        queued = Qt.ConnectionType.QueuedConnection
        self._finished.connect(self._deliver, queued)
        self._progressed.connect(self._report, queued)

    @property
    def running(self) -> int:
        return len(self._handlers)

    def start(
        self, fn: Callable[[Progress], Any], on_done: Done, on_progress: Progress | None = None
    ) -> int:
        """Run ``fn(progress)`` on a worker; returns a token. ``on_done(result, error)`` follows."""
        self._next += 1
        token = self._next
        self._handlers[token] = (on_done, on_progress)
        self._pool.submit(self._run, token, fn)
        return token

    def _run(self, token: int, fn: Callable[[Progress], Any]) -> None:
        def progress(value: Any) -> None:
            if not self._closed:
                with contextlib.suppress(RuntimeError):  # the page was deleted meanwhile
                    self._progressed.emit(token, value)

        result: Any = None
        error: BaseException | None = None
        try:
            result = fn(progress)
        except Exception as exc:
            error = exc
            log.info("settings job failed: %s: %s", type(exc).__name__, exc)
        if not self._closed:
            with contextlib.suppress(RuntimeError):
                self._finished.emit(token, result, error)

    @Slot(int, object, object)
    def _deliver(self, token: int, result: Any, error: Any) -> None:
        handlers = self._handlers.pop(token, None)
        if handlers is not None and not self._closed:
            handlers[0](result, error)

    @Slot(int, object)
    def _report(self, token: int, value: Any) -> None:
        handlers = self._handlers.get(token)
        if handlers is not None and handlers[1] is not None and not self._closed:
            handlers[1](value)

    def shutdown(self, *, wait: bool = False) -> None:
        """Drop pending results; with ``wait``, block until running jobs end (tests, app exit)."""
        self._closed = True
        self._handlers.clear()
        self._pool.shutdown(wait=wait, cancel_futures=True)
