"""Where the sidebar sits: remembered between runs, snapped to a screen edge.

The first run docks the window to the right edge of the primary screen, full
available height, ``DEFAULT_WIDTH`` wide (beside a softphone, which usually
sits left or centre). After that the window reopens where the agent left it,
moved back onto a screen if that screen is gone (a laptop undocked). When the
agent drops it within ``SNAP_PX`` of a screen's left or right edge it snaps
flush to that edge; the snap waits for the drag to pause (``SNAP_DELAY_MS``),
because Qt has no portable "move finished" event.

Why not the settings file: geometry is state the app learns, not a choice IT
should lock; it lives in the window-state file next to it (``config.WindowState``).

Thread rules: GUI thread only.
"""

from __future__ import annotations

import contextlib

from agent_assist.config import WindowState
from agent_assist.ui.qt import QObject, QtCore, QtGui, QTimer, QtWidgets

__all__ = ["DEFAULT_WIDTH", "SNAP_PX", "WindowPlacement", "snapped"]

DEFAULT_WIDTH = 392
MIN_WIDTH = 340
SNAP_PX = 32
SNAP_DELAY_MS = 350


def snapped(frame: QtCore.QRect, area: QtCore.QRect, threshold: int = SNAP_PX) -> QtCore.QRect | None:
    """``frame`` moved flush to ``area``'s left or right edge when within ``threshold``, else None."""
    if abs(frame.left() - area.left()) <= threshold and frame.left() != area.left():
        return QtCore.QRect(area.left(), frame.top(), frame.width(), frame.height())
    if abs(frame.right() - area.right()) <= threshold and frame.right() != area.right():
        return QtCore.QRect(area.right() - frame.width() + 1, frame.top(), frame.width(), frame.height())
    return None


class WindowPlacement(QObject):
    """Restores, snaps and saves one top-level window's geometry."""

    def __init__(
        self, window: QtWidgets.QWidget, key: str = "sidebar", state: WindowState | None = None
    ) -> None:
        super().__init__(window)
        self._state = state or WindowState()
        self._window = window
        self._key = key
        self._snap = QTimer(self)
        self._snap.setSingleShot(True)
        self._snap.setInterval(SNAP_DELAY_MS)
        self._snap.timeout.connect(self._snap_now)
        window.installEventFilter(self)
        self.snap_enabled = True

    def restore(self) -> None:
        """Put the window where it was last time (on a screen that still exists)."""
        saved = self._state.get(f"{self._key}.geometry")
        restored = isinstance(saved, str) and self._window.restoreGeometry(
            QtCore.QByteArray.fromBase64(saved.encode("ascii"))
        )
        if restored and self._on_some_screen():
            return
        self.dock_right()

    def dock_right(self) -> None:
        screen: QtGui.QScreen | None = QtGui.QGuiApplication.primaryScreen()
        if screen is None:
            self._window.resize(DEFAULT_WIDTH, 760)
            return
        area = screen.availableGeometry()
        width = DEFAULT_WIDTH
        self._window.setGeometry(area.right() - width + 1, area.top(), width, area.height())

    def save(self) -> None:
        geometry = bytes(self._window.saveGeometry().toBase64().data()).decode("ascii")
        self._state.set(f"{self._key}.geometry", geometry)
        with contextlib.suppress(OSError):  # read-only profile: it opens docked next time
            self._state.save()

    def eventFilter(self, watched: QObject, event: QtCore.QEvent) -> bool:
        if watched is self._window and event.type() == QtCore.QEvent.Type.Move and self.snap_enabled:
            self._snap.start()
        return False

    def _snap_now(self) -> None:
        if QtGui.QGuiApplication.mouseButtons() != QtCore.Qt.MouseButton.NoButton:
            self._snap.start()  # still dragging: look again when the button is released
            return
        screen: QtGui.QScreen | None = self._window.screen()
        if screen is None:
            return
        target = snapped(self._window.frameGeometry(), screen.availableGeometry())
        if target is not None:
            self._window.move(target.topLeft())
        self.save()

    def _on_some_screen(self) -> bool:
        frame = self._window.frameGeometry()
        return any(s.availableGeometry().intersects(frame) for s in QtGui.QGuiApplication.screens())
