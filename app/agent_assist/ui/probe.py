"""A timer probe that measures how long the GUI thread's event loop goes unserved.

A ``QTimer`` asks to fire every ``interval_ms``; when the loop is busy the
next tick comes late, and the lateness is the stall an agent would see as a
frozen window. ``gaps_ms`` holds every tick-to-tick interval minus the interval
asked for, so its maximum is the worst stall. Used by the GUI benchmark and the
end-to-end GUI test (the issue's "no event-loop gap above 50 ms").

Thread rules: GUI thread only.
"""

from __future__ import annotations

import time

from agent_assist.ui.qt import QObject, Qt, QTimer

__all__ = ["LoopProbe"]


class LoopProbe(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = 10) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self.gaps_ms: list[float] = []
        self._last = 0.0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.gaps_ms.clear()
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @property
    def worst_ms(self) -> float:
        return max(self.gaps_ms, default=0.0)

    def over(self, limit_ms: float) -> int:
        """How many ticks came more than ``limit_ms`` late."""
        return sum(1 for g in self.gaps_ms if g > limit_ms)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps_ms.append(max(0.0, (now - self._last) * 1000 - self.interval_ms))
        self._last = now
