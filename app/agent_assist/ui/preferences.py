"""The settings the window itself honours: theme, always on top, compact, snapping, shortcuts.

The header's pin and compact buttons write their setting back (so the choice
survives a restart), unless IT locked it: then the button is disabled and its
tooltip gives the policy's reason. A change made on the Settings page, or by
``agent-assist config set`` followed by ``Settings.reload()``, reaches the
window through ``Settings.subscribe``; the callback may run on any thread, so
it only emits a queued signal and the window changes on the GUI thread.

Shortcuts (``shortcuts.*``) work whenever the app has focus (Qt has no
portable system-wide hot keys); the tray menu covers the rest.

Thread rules: GUI thread, except the settings callback (see above).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from agent_assist.ui.qt import QObject, Qt, QtGui, QtWidgets, Signal

__all__ = ["apply_preferences", "install_shortcuts"]

log = logging.getLogger(__name__)


class _Relay(QObject):
    """Carries a settings change (from any thread) to the GUI thread."""

    changed = Signal(str, object)


def _write(settings: Any, key: str, value: object) -> bool:
    from agent_assist.config import ConfigError

    try:
        settings.set(key, value)
    except ConfigError as err:
        log.warning("setting %s not changed: %s", key, err)
        return False
    return True


def _lock(button: QtWidgets.QAbstractButton, settings: Any, key: str) -> None:
    reason = settings.lock_reason(key)
    if reason is not None:
        button.setEnabled(False)
        button.setToolTip(f"{button.toolTip()}\nLocked by IT: {reason}")
        button.setAccessibleDescription(f"Locked by IT: {reason}")


def apply_preferences(app: QtWidgets.QApplication, window: Any, settings: Any, placement: Any) -> None:
    """Apply the window settings now, keep them applied, and save the header's toggles."""
    from agent_assist.ui.theme import apply_theme

    window.set_always_on_top(bool(settings.get("window.always_on_top")))
    window.set_compact(bool(settings.get("window.compact")))
    placement.snap_enabled = settings.get("window.snap_edge") != "none"
    _lock(window.pin_button, settings, "window.always_on_top")
    _lock(window.compact_button, settings, "window.compact")
    window.always_on_top_changed.connect(lambda on: _write(settings, "window.always_on_top", on))
    window.compact_changed.connect(lambda on: _write(settings, "window.compact", on))

    relay = _Relay(window)

    def on_change(key: str, value: object) -> None:
        if key == "appearance.theme":
            apply_theme(app, str(value))
        elif key == "window.always_on_top":
            window.set_always_on_top(bool(value))
        elif key == "window.compact":
            window.set_compact(bool(value))
        elif key == "window.snap_edge":
            placement.snap_enabled = value != "none"

    relay.changed.connect(on_change, Qt.ConnectionType.QueuedConnection)
    unsubscribe = settings.subscribe(relay.changed.emit)
    window.destroyed.connect(lambda *_: unsubscribe())


def install_shortcuts(window: Any, controller: Any, settings: Any) -> dict[str, QtGui.QShortcut]:
    """Application-wide shortcuts from ``shortcuts.*`` (re-bound when the setting changes)."""
    actions: dict[str, Callable[[], None]] = {
        "shortcuts.start_stop_call": controller.toggle_call,
        "shortcuts.copy_suggestion": window.suggestion.copy_text,
        "shortcuts.toggle_sidebar": lambda: window.hide() if window.isVisible() else window.show(),
    }
    shortcuts: dict[str, QtGui.QShortcut] = {}

    def add(keys: str, action: Callable[[], None], name: str) -> QtGui.QShortcut:
        shortcut = QtGui.QShortcut(QtGui.QKeySequence(keys), window)
        shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
        shortcut.activated.connect(action)
        shortcut.setObjectName(name)
        return shortcut

    for key, action in actions.items():
        shortcuts[key] = add(str(settings.get(key) or ""), action, key)
    shortcuts["quit"] = add("Ctrl+Q", controller.shutdown, "quit")

    def page_opener(page: str) -> Callable[[], None]:
        return lambda: window.show_page(page)

    for i, page in enumerate(("live", "wrapup", "history", "supervisor", "settings"), start=1):
        if page in window.nav_buttons:
            shortcuts[page] = add(f"Alt+{i}", page_opener(page), f"page.{page}")

    relay = _Relay(window)

    def rebind(key: str, value: object) -> None:
        if key in actions:
            shortcuts[key].setKey(QtGui.QKeySequence(str(value or "")))

    relay.changed.connect(rebind, Qt.ConnectionType.QueuedConnection)
    unsubscribe = settings.subscribe(relay.changed.emit)
    window.destroyed.connect(lambda *_: unsubscribe())
    return shortcuts
