"""``Jobs``: run slow calls (queries, pack installs) off the GUI thread, results back on it.

Why not ``QThread`` subclasses: each job is one plain function (a query, an
install); a one-thread executor runs them in order, and a queued signal brings
the result (or the exception) back to the GUI thread, where the callback runs.
Results of a job whose owner was destroyed meanwhile are dropped.

Thread rules: create, ``run`` and ``shutdown`` on the GUI thread; the function
runs on the worker thread; ``on_done``/``on_error`` run on the GUI thread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agent_assist.ui.qt import QObject, Signal

__all__ = ["Jobs"]

log = logging.getLogger(__name__)

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]


class Jobs(QObject):
    """One worker thread; ``run(fn, on_done, on_error)`` returns a job number."""

    _finished = Signal(int, object, object)  # job, result, exception (emitted on the worker)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ui-{name}")
        self._callbacks: dict[int, tuple[Done, Failed | None]] = {}
        self._next = 0
        self._lock = threading.Lock()
        self._closed = False
        self._finished.connect(self._deliver)

    @property
    def busy(self) -> bool:
        """Whether a job is queued or running (its callback not yet called)."""
        return bool(self._callbacks)

    def run(self, fn: Callable[[], Any], on_done: Done, on_error: Failed | None = None) -> int:
        if self._closed:
            raise RuntimeError("jobs were shut down")
        self._next += 1
        job = self._next
        self._callbacks[job] = (on_done, on_error)
        self._pool.submit(self._work, job, fn)
        return job

    def _work(self, job: int, fn: Callable[[], Any]) -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = fn()
        except Exception as exc:  # handed to the GUI thread, which shows it
            error = exc
        with self._lock:
            if self._closed:
                return
            with contextlib.suppress(RuntimeError):  # the QObject is gone: nobody is waiting
                self._finished.emit(job, result, error)

    def _deliver(self, job: int, result: object, error: object) -> None:
        callbacks = self._callbacks.pop(job, None)
        if callbacks is None:
            return
        on_done, on_error = callbacks
        if isinstance(error, BaseException):
            if on_error is None:
                log.error("background job failed", exc_info=error)
            else:
                on_error(error)
            return
        on_done(result)

    def shutdown(self) -> None:
        """Drop queued jobs and every pending callback; a running job finishes unseen."""
        with self._lock:
            self._closed = True
        self._callbacks.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
