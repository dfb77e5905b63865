"""Where the sidebar sits: remembered between runs, snapped to a screen edge.

The first run docks the window to the right edge of the primary screen, full
available height, ``DEFAULT_WIDTH`` wide (beside a softphone, which usually
sits left or centre). After that the window reopens where the agent left it,
moved back onto a screen if that screen is gone (a laptop undocked). When the
agent drops it within ``SNAP_PX`` of a screen's left or right edge it snaps
flush to that edge; the snap waits for the drag to pause (``SNAP_DELAY_MS``),
because Qt has no portable "move finished" event.

Saved: after a move or a resize settles (the same pause; a resize never
snaps), and at once when the window is closed (also when that only hides it
to the tray), so a crash or a power cut later still reopens it where the
agent left it. A saved geometry that lies off every screen, or hangs off the
one it is on, is clamped onto the screen (its size kept when it fits).

Why not the settings file: geometry is state the app learns, not a choice IT
should lock; it lives in the window-state file next to it (``config.WindowState``).

Thread rules: GUI thread only.
"""

from __future__ import annotations

import logging

from agent_assist.config import WindowState
from agent_assist.ui.qt import QObject, QtCore, QtGui, QTimer, QtWidgets, Signal

__all__ = ["DEFAULT_WIDTH", "SNAP_PX", "WindowPlacement", "snapped"]

log = logging.getLogger(__name__)

DEFAULT_WIDTH = 392
MIN_WIDTH = 340
SNAP_PX = 32
SNAP_DELAY_MS = 350


def snapped(
    frame: QtCore.QRect,
    area: QtCore.QRect,
    threshold: int = SNAP_PX,
    edges: tuple[str, ...] = ("left", "right"),
) -> QtCore.QRect | None:
    """``frame`` moved flush to one of ``area``'s ``edges`` when within ``threshold``, else None."""
    near_left = abs(frame.left() - area.left()) <= threshold
    if "left" in edges and near_left and frame.left() != area.left():
        return QtCore.QRect(area.left(), frame.top(), frame.width(), frame.height())
    near_right = abs(frame.right() - area.right()) <= threshold
    if "right" in edges and near_right and frame.right() != area.right():
        return QtCore.QRect(area.right() - frame.width() + 1, frame.top(), frame.width(), frame.height())
    return None


class WindowPlacement(QObject):
    """Restores, snaps and saves one top-level window's geometry.

    Signals: ``saved`` after each write of the state file (or a refused one).
    """

    saved = Signal()

    def __init__(
        self, window: QtWidgets.QWidget, key: str = "sidebar", state: WindowState | None = None
    ) -> None:
        super().__init__(window)
        self._state = state or WindowState()
        self._window = window
        self._key = key
        self._moved = False  # a move (not only a resize) since the timer started: snap
        self._clamp_on_show = False  # the window manager's frame is known only once shown
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SNAP_DELAY_MS)
        self._settle.timeout.connect(self._settled)
        window.installEventFilter(self)
        self.snap_edge = "right"
        """``window.snap_edge``: the edge it docks to first and snaps to ("right",
        "left"), or "none" (floating: never snapped, still remembered)."""

    @property
    def snap_enabled(self) -> bool:
        return self.snap_edge != "none"

    @snap_enabled.setter
    def snap_enabled(self, on: bool) -> None:
        self.snap_edge = ("right" if self.snap_edge == "none" else self.snap_edge) if on else "none"

    def restore(self) -> None:
        """Put the window where it was last time (on a screen that still exists)."""
        saved = self._state.get(f"{self._key}.geometry")
        restored = isinstance(saved, str) and self._window.restoreGeometry(
            QtCore.QByteArray.fromBase64(saved.encode("ascii"))
        )
        if restored:
            self.clamp()
            self._clamp_on_show = not self._window.isVisible()
        else:
            self.dock()

    def dock(self) -> None:
        """Full height at the chosen edge (the right one when floating) of the primary screen."""
        screen: QtGui.QScreen | None = QtGui.QGuiApplication.primaryScreen()
        if screen is None:
            self._window.resize(DEFAULT_WIDTH, 760)
            return
        area = screen.availableGeometry()
        width = DEFAULT_WIDTH
        left = area.left() if self.snap_edge == "left" else area.right() - width + 1
        self._window.setGeometry(left, area.top(), width, area.height())
        # setGeometry sizes the body: the window manager's frame comes on top of it
        if self._window.isVisible():
            self.clamp()
        else:
            self._clamp_on_show = True

    def dock_right(self) -> None:
        self.snap_edge = "right"
        self.dock()

    def clamp(self) -> None:
        """Move (and if need be shrink) the window wholly onto the screen it is most on
        (the primary screen when it is on none)."""
        frame = self._window.frameGeometry()
        area = _best_area(frame)
        if area is None or area.contains(frame):
            return
        extra_w = frame.width() - self._window.width()  # the window manager's frame
        extra_h = frame.height() - self._window.height()
        width = min(frame.width(), area.width())
        height = min(frame.height(), area.height())
        if (width, height) != (frame.width(), frame.height()):
            self._window.resize(max(1, width - extra_w), max(1, height - extra_h))
        left = min(max(frame.left(), area.left()), area.right() - width + 1)
        top = min(max(frame.top(), area.top()), area.bottom() - height + 1)
        self._window.move(left, top)

    def save(self) -> None:
        self._settle.stop()
        geometry = bytes(self._window.saveGeometry().toBase64().data()).decode("ascii")
        self._state.set(f"{self._key}.geometry", geometry)
        try:
            self._state.save()
        except OSError as exc:  # read-only profile: it opens docked next time
            log.warning("window position not saved: %s", exc)
        self.saved.emit()

    def eventFilter(self, watched: QObject, event: QtCore.QEvent) -> bool:
        if watched is self._window:
            kind = event.type()
            if kind == QtCore.QEvent.Type.Move:
                self._moved = True
                self._settle.start()
            elif kind == QtCore.QEvent.Type.Resize:
                self._settle.start()
            elif kind == QtCore.QEvent.Type.Close:  # quitting, or hiding to the tray
                self.save()
            elif kind == QtCore.QEvent.Type.Show and self._clamp_on_show:
                self._clamp_on_show = False
                self.clamp()
        return False

    def _settled(self) -> None:
        if QtGui.QGuiApplication.mouseButtons() != QtCore.Qt.MouseButton.NoButton:
            self._settle.start()  # still dragging: look again when the button is released
            return
        moved, self._moved = self._moved, False
        screen: QtGui.QScreen | None = self._window.screen()
        if moved and self.snap_enabled and screen is not None:
            target = snapped(
                self._window.frameGeometry(), screen.availableGeometry(), edges=(self.snap_edge,)
            )
            if target is not None:
                self._window.move(target.topLeft())
                self._moved = False  # our own move: nothing more to snap
        self.save()


def _best_area(frame: QtCore.QRect) -> QtCore.QRect | None:
    """The available area of the screen ``frame`` overlaps most, else the primary screen's."""
    best: tuple[int, QtCore.QRect] | None = None
    for screen in QtGui.QGuiApplication.screens():
        area = screen.availableGeometry()
        overlap = area.intersected(frame)
        size = overlap.width() * overlap.height() if not overlap.isEmpty() else 0
        if size > 0 and (best is None or size > best[0]):
            best = (size, area)
    if best is not None:
        return best[1]
    primary: QtGui.QScreen | None = QtGui.QGuiApplication.primaryScreen()
    return None if primary is None else primary.availableGeometry()
