"""The tray icon: call state at a glance, and the sidebar's menu when it is hidden.

The icon is the app icon with a state dot (grey idle, green in a call, amber
muted, red for a critical alert). Critical alerts also raise a desktop
notification, because the sidebar may be hidden or covered by the softphone.
On platforms without a tray (the offscreen test platform, some Linux desktops)
the tray is simply absent; closing the window then quits instead of hiding.

Thread rules: GUI thread only.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Protocol

from agent_assist.paths import project_root
from agent_assist.ui.qt import QObject, QtCore, QtGui, QtWidgets, Signal

__all__ = ["CallState", "Tray", "app_icon"]


class CallState(enum.Enum):
    IDLE = "idle"
    IN_CALL = "in call"
    MUTED = "muted"
    ALERT = "alert"


_DOT = {
    CallState.IDLE: "#9ca3af",
    CallState.IN_CALL: "#16a34a",
    CallState.MUTED: "#d97706",
    CallState.ALERT: "#dc2626",
}


def app_icon() -> QtGui.QIcon:
    path = project_root() / "assets" / "icons" / "agent-assist.svg"
    icon = QtGui.QIcon(str(path))
    return icon if not icon.isNull() else QtGui.QIcon()


def state_icon(state: CallState, size: int = 64) -> QtGui.QIcon:
    """The app icon with a state dot in its lower right corner."""
    pixmap = app_icon().pixmap(size, size)
    if pixmap.isNull():
        pixmap = QtGui.QPixmap(size, size)
        pixmap.fill(QtGui.QColor("#2563eb"))
    painter = QtGui.QPainter(pixmap)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    d = size * 0.38
    rect = QtCore.QRectF(size - d - 1, size - d - 1, d, d)
    painter.setPen(QtGui.QPen(QtGui.QColor("#ffffff"), size * 0.06))
    painter.setBrush(QtGui.QColor(_DOT[state]))
    painter.drawEllipse(rect)
    painter.end()
    return QtGui.QIcon(pixmap)


class ClosableWindow(Protocol):
    """What ``Tray.hide_on_close`` needs of the window (``SidebarWindow``; no import cycle)."""

    @property
    def close_requested(self) -> QtCore.SignalInstance: ...

    def hide(self) -> None: ...


class Tray(QObject):
    """Signals: ``toggle_window``, ``start_stop``, ``quit_requested``.

    ``available`` None asks Qt whether the desktop has a tray (tests pass True or False).
    """

    toggle_window = Signal()
    start_stop = Signal()
    quit_requested = Signal()

    def __init__(self, parent: QObject | None = None, *, available: bool | None = None) -> None:
        super().__init__(parent)
        self.state = CallState.IDLE
        self.tooltip = _tooltip(CallState.IDLE)
        self.available = (
            QtWidgets.QSystemTrayIcon.isSystemTrayAvailable() if available is None else available
        )
        self._icon: QtWidgets.QSystemTrayIcon | None = None
        if not self.available:
            return
        icon = QtWidgets.QSystemTrayIcon(state_icon(CallState.IDLE), self)
        menu = QtWidgets.QMenu()
        self._show = menu.addAction("Show or hide the sidebar", self.toggle_window.emit)
        self._call = menu.addAction("Start call", self.start_stop.emit)
        menu.addSeparator()
        menu.addAction("Quit Agent Assist", self.quit_requested.emit)
        icon.setContextMenu(menu)
        self._menu = menu
        icon.activated.connect(self._activated)
        icon.setToolTip(self.tooltip)
        icon.show()
        self._icon = icon

    @property
    def icon(self) -> QtWidgets.QSystemTrayIcon | None:
        """The system tray icon (None without a tray)."""
        return self._icon

    @property
    def call_action(self) -> QtGui.QAction | None:
        """The menu's "Start call" / "End call" entry (None without a tray)."""
        return self._call if self._icon is not None else None

    def set_state(self, state: CallState, detail: str = "") -> None:
        self.state = state
        self.tooltip = _tooltip(state, detail)
        if self._icon is None:
            return
        self._icon.setIcon(state_icon(state))
        self._icon.setToolTip(self.tooltip)
        self._call.setText("End call" if state in (CallState.IN_CALL, CallState.MUTED) else "Start call")

    def notify(self, title: str, message: str) -> bool:
        """A desktop notification (critical alerts only); False when there is no tray."""
        if self._icon is None or not self._icon.supportsMessages():
            return False
        self._icon.showMessage(title, message, QtWidgets.QSystemTrayIcon.MessageIcon.Warning, 8000)
        return True

    def hide_on_close(self, window: ClosableWindow, quit_app: Callable[[], None]) -> None:
        """The window's close button (its ``close_requested`` signal): hide to the tray when
        there is one, else ``quit_app`` (which ends a call cleanly first)."""
        window.close_requested.connect(lambda: self.close_window(window, quit_app))

    def close_window(self, window: ClosableWindow, quit_app: Callable[[], None]) -> None:
        if self.available:
            window.hide()
        else:
            quit_app()

    def _activated(self, reason: QtWidgets.QSystemTrayIcon.ActivationReason) -> None:
        if reason == QtWidgets.QSystemTrayIcon.ActivationReason.Trigger:
            self.toggle_window.emit()


def _tooltip(state: CallState, detail: str = "") -> str:
    return f"Agent Assist: {state.value}" + (f" — {detail}" if detail else "")
