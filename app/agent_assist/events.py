"""A tiny synchronous publish/subscribe hub for engine events.

Why synchronous: the pipeline's worker thread publishes, and each subscriber
must return quickly (store writes one row, the UI bridge re-emits as a queued
Qt signal, the CLI prints a line). A subscriber that raises is logged (to the log
file, not the terminal) and never breaks the pipeline or the other subscribers.

Thread rules: ``subscribe``/``unsubscribe`` and ``publish`` may be called from
any thread; subscribers run on the publishing thread, in subscription order.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from agent_assist.domain import Event

__all__ = ["EventBus", "Subscriber"]

Subscriber = Callable[[Event], None]
log = logging.getLogger(__name__)


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Add ``fn``; returns a function that removes it again."""
        with self._lock:
            self._subscribers.append(fn)

        def unsubscribe() -> None:
            with self._lock:
                if fn in self._subscribers:
                    self._subscribers.remove(fn)

        return unsubscribe

    def publish(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for fn in subscribers:
            try:
                fn(event)
            except Exception:
                log.exception("event subscriber %r failed on %s", fn, type(event).__name__)
