"""The bridge: engine threads to the GUI thread, in order, coalesced, within a time budget."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import pytest

pytestmark = [pytest.mark.gui]

from agent_assist.domain import (  # noqa: E402
    AudioLevel,
    FinalUtterance,
    PartialText,
    Speaker,
    SuggestionToken,
)
from agent_assist.ui.bridge import EngineBridge, coalesce  # noqa: E402
from agent_assist.ui.qt import QtCore  # noqa: E402


def level(speaker: Speaker, db: float) -> AudioLevel:
    return AudioLevel("c1", speaker, db, db + 3)


def final(n: int) -> FinalUtterance:
    return FinalUtterance("c1", f"u{n}", Speaker.CUSTOMER, n, n + 1, f"line {n}", 0.9)


def test_coalesce_keeps_the_newest_level_partial_and_draft_and_the_order() -> None:
    events: deque[Any] = deque(
        [
            level(Speaker.AGENT, -40),
            PartialText("c1", "u1", Speaker.CUSTOMER, 0, 1, "I was"),
            SuggestionToken("c1", "u0", "s1", "You"),
            level(Speaker.CUSTOMER, -30),
            final(0),
            PartialText("c1", "u1", Speaker.CUSTOMER, 0, 1, "I was charged"),
            SuggestionToken("c1", "u0", "s1", "You can"),
            level(Speaker.AGENT, -20),
        ]
    )
    out = list(coalesce(events))
    assert out == [
        level(Speaker.CUSTOMER, -30),
        final(0),
        PartialText("c1", "u1", Speaker.CUSTOMER, 0, 1, "I was charged"),
        SuggestionToken("c1", "u0", "s1", "You can"),  # the whole draft so far, never doubled
        level(Speaker.AGENT, -20),
    ]


def test_events_from_a_worker_thread_arrive_on_the_gui_thread_in_order(qtbot: Any) -> None:
    bridge = EngineBridge()
    got: list[tuple[str, bool]] = []
    gui = threading.get_ident()
    bridge.received.connect(lambda e: got.append((e.text, threading.get_ident() == gui)))
    worker = threading.Thread(target=lambda: [bridge(final(i)) for i in range(200)])
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: len(got) == 200, timeout=5000)
    assert [t for t, _ in got] == [f"line {i}" for i in range(200)]
    assert all(on_gui for _, on_gui in got)
    assert bridge.delivered == 200


def test_a_flood_is_delivered_in_slices_that_let_the_loop_breathe(qtbot: Any) -> None:
    bridge = EngineBridge(budget_ms=1.0)
    slow: list[str] = []

    def receiver(event: Any) -> None:
        slow.append(event.text)
        deadline = QtCore.QDeadlineTimer(1)  # ~1 ms of work per event
        while not deadline.hasExpired():
            pass

    bridge.received.connect(receiver)
    ticks: list[int] = []
    timer = QtCore.QTimer()
    timer.setInterval(0)
    timer.timeout.connect(lambda: ticks.append(len(slow)))
    timer.start()
    for i in range(100):
        bridge(final(i))
    qtbot.waitUntil(lambda: len(slow) == 100, timeout=5000)
    timer.stop()
    # The timer ran between slices: it saw the delivery part-way, not only before and after.
    assert any(0 < n < 100 for n in ticks)
    assert slow == [f"line {i}" for i in range(100)]


def test_closed_bridge_drops_late_events(qtbot: Any) -> None:
    bridge = EngineBridge()
    got: list[Any] = []
    bridge.received.connect(got.append)
    bridge.close()
    bridge(final(1))
    qtbot.wait(20)
    assert got == []


def test_the_installed_pyside_survives_many_signals() -> None:
    """PySide6 6.12.0 on Python 3.11 drops a reference to True/False on every signal
    emission and aborts after ~50k signals (a long call emits that many); the pinned
    version must not."""
    import subprocess
    import sys

    code = (
        "from PySide6.QtCore import QCoreApplication, QObject, Signal\n"
        "app = QCoreApplication([])\n"
        "class S(QObject):\n"
        "    fired = Signal()\n"
        "s = S(); n = []\n"
        "s.fired.connect(lambda: n.append(1))\n"
        "for _ in range(100_000): s.fired.emit()\n"
        "print(len(n))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "100000", done.stderr[-500:]
