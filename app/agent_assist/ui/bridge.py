"""The one path from the engine's event bus to the GUI thread.

Engine threads (speech worker, retriever, generation worker, intel worker)
publish domain events synchronously; a subscriber must return at once. The
bridge's subscriber only appends the event to a queue and, when no drain is
pending, posts one queued call to the GUI thread. The GUI thread then drains
the queue in batches:

- **Coalescing**: only the newest ``AudioLevel`` per channel, ``PartialText``
  per utterance and ``SuggestionToken`` per suggestion survive a batch (a
  token carries the whole draft so far), so a burst from a fast engine costs
  the GUI one repaint, not hundreds.
- **Time budget**: a drain stops after ``budget_ms`` and posts itself again,
  so input and paint events interleave and the event loop never stalls even if
  thousands of events queue up (the benchmark's 50 ms gap target).

Thread rules: ``publish``/``__call__`` from any thread (never blocks; it only
emits ``_wake``, a queued connection, which Qt allows from any thread); the
``received`` signal is emitted on the GUI thread only, in publication order
(except for what coalescing removes).
"""

from __future__ import annotations

import threading
import time
from collections import deque

from agent_assist.domain import AudioLevel, Event, PartialText, SuggestionToken
from agent_assist.ui.qt import QObject, Qt, Signal, Slot

__all__ = ["EngineBridge"]


class EngineBridge(QObject):
    """Subscribe ``bridge`` to an ``EventBus``; connect views to ``bridge.received``."""

    received = Signal(object)  # one domain event, on the GUI thread
    _wake = Signal()  # emitted from any thread; queued to ``_drain`` on the bridge's thread

    def __init__(self, parent: QObject | None = None, *, budget_ms: float = 8.0) -> None:
        super().__init__(parent)
        self._queue: deque[Event] = deque()
        self._lock = threading.Lock()
        self._pending = False
        self._closed = False
        self.budget_s = budget_ms / 1000
        self.delivered = 0  # events emitted (tests, health view)
        self.coalesced = 0  # events merged away
        self._wake.connect(self._drain, Qt.ConnectionType.QueuedConnection)

    def __call__(self, event: Event) -> None:
        """The bus subscriber: enqueue and wake the GUI thread (any thread)."""
        self.publish(event)

    def publish(self, event: Event) -> None:
        with self._lock:
            if self._closed:
                return
            self._queue.append(event)
            if self._pending:
                return
            self._pending = True
        self._wake.emit()

    def close(self) -> None:
        """Stop delivering (GUI thread; events published afterwards are dropped)."""
        with self._lock:
            self._closed = True
            self._queue.clear()

    def flush(self) -> None:
        """Deliver everything queued now, ignoring the budget (GUI thread; tests, shutdown)."""
        while True:
            batch = self._take()
            if not batch:
                return
            for event in batch:
                self._emit(event)

    @Slot()
    def _drain(self) -> None:
        deadline = time.perf_counter() + self.budget_s
        batch = self._take()
        while batch:
            event = batch.popleft()
            self._emit(event)
            if batch and time.perf_counter() > deadline:
                with self._lock:  # put the rest back in front, and come back after paint
                    self._queue.extendleft(reversed(batch))
                    self._pending = True
                self._wake.emit()
                return

    def _emit(self, event: Event) -> None:
        self.delivered += 1
        self.received.emit(event)

    def _take(self) -> deque[Event]:
        with self._lock:
            events, self._queue = self._queue, deque()
            self._pending = False
        before = len(events)
        batch = coalesce(events)
        self.coalesced += before - len(batch)
        return batch


def coalesce(events: deque[Event]) -> deque[Event]:
    """Keep only the newest level per channel, partial per utterance and draft per
    suggestion; everything else, and the order, is kept."""
    if len(events) < 2:
        return events
    newest: dict[tuple[type, object], int] = {}
    for i, e in enumerate(events):
        key = _supersede_key(e)
        if key is not None:
            newest[key] = i
    return deque(
        e for i, e in enumerate(events) if (key := _supersede_key(e)) is None or newest[key] == i
    )


def _supersede_key(event: Event) -> tuple[type, object] | None:
    """Events with the same key replace each other; None: the event always counts."""
    if isinstance(event, AudioLevel):
        return (AudioLevel, event.speaker)
    if isinstance(event, PartialText):
        return (PartialText, event.utterance_id)
    if isinstance(event, SuggestionToken):
        return (SuggestionToken, event.suggestion_id)
    return None
