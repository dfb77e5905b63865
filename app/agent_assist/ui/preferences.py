"""The settings the window itself honours: theme, always on top, compact, snapping, shortcuts.

The header's pin and compact buttons write their setting back (so the choice
survives a restart), unless IT locked it: then the button is disabled and its
tooltip gives the policy's reason. A change made on the Settings page, or by
``agent-assist config set`` followed by ``Settings.reload()``, reaches the
window through ``Settings.subscribe``; the callback may run on any thread, so
it only emits a queued signal and the window changes on the GUI thread.

Shortcuts (``shortcuts.*``) are system-wide, because the agent types in the
softphone or the CRM and the sidebar rarely has focus: Qt has no portable
global hot keys, so ``ui.hotkeys`` grabs them (X11, Windows). Where it cannot
(Wayland, offscreen, a key another app holds) the key stays an app-wide
``QShortcut`` and the log says "global shortcut unavailable: <reason>; works
while the sidebar has focus" (``GlobalHotkeys.notice``, for the Settings page
too). The page shortcuts (Alt+1..5) and Ctrl+Q are app-wide only.

Thread rules: GUI thread, except the settings callback (see above); global
key presses reach the actions through ``GlobalHotkeys.activated``, on the GUI
thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from agent_assist.ui.hotkeys import GlobalHotkeys
from agent_assist.ui.qt import QObject, Qt, QtCore, QtGui, QtWidgets, Signal

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
    placement.snap_edge = str(settings.get("window.snap_edge"))
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
            placement.snap_edge = str(value)
            if value != "none":
                placement.dock()  # "Dock to: left edge" means now, not at the next drag

    relay.changed.connect(on_change, Qt.ConnectionType.QueuedConnection)
    unsubscribe = settings.subscribe(relay.changed.emit)
    window.destroyed.connect(lambda *_: unsubscribe())


def install_shortcuts(
    window: Any, controller: Any, settings: Any, hotkeys: GlobalHotkeys | None = None
) -> dict[str, QtGui.QShortcut]:
    """The shortcuts from ``shortcuts.*`` (system-wide where possible), re-bound when a setting changes.

    Each action also gets an app-wide ``QShortcut``, enabled only while its key
    is not system-wide. ``hotkeys`` (default: a new ``GlobalHotkeys`` owned by
    the window) is closed, releasing its keys and thread, when the app is about
    to quit or the window goes.
    """
    actions: dict[str, Callable[[], None]] = {
        "shortcuts.start_stop_call": controller.toggle_call,
        "shortcuts.copy_suggestion": window.suggestion.copy_text,
        "shortcuts.toggle_sidebar": lambda: window.hide() if window.isVisible() else window.show(),
    }
    shortcuts: dict[str, QtGui.QShortcut] = {}
    glob = hotkeys if hotkeys is not None else GlobalHotkeys(window)
    app = QtCore.QCoreApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(glob.close)
    window.destroyed.connect(lambda *_: glob.close())

    def run(name: str) -> None:
        if (action := actions.get(name)) is not None:
            action()

    glob.activated.connect(run)

    def add(keys: str, action: Callable[[], None], name: str) -> QtGui.QShortcut:
        shortcut = QtGui.QShortcut(QtGui.QKeySequence(keys), window)
        shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
        shortcut.activated.connect(action)
        shortcut.setObjectName(name)
        return shortcut

    def bind(key: str, keys: str) -> None:
        shortcuts[key].setKey(QtGui.QKeySequence(keys))
        if glob.bind(key, keys) is not None:
            log.warning("%s (%s): %s", key, keys, glob.notice(key))
        shortcuts[key].setEnabled(not glob.is_global(key))  # the fallback, while the app has focus

    for key, action in actions.items():
        shortcuts[key] = add("", action, key)
        bind(key, str(settings.get(key) or ""))
    shortcuts["quit"] = add("Ctrl+Q", controller.shutdown, "quit")

    def page_opener(page: str) -> Callable[[], None]:
        return lambda: window.show_page(page)

    for i, page in enumerate(("live", "wrapup", "history", "supervisor", "settings"), start=1):
        if page in window.nav_buttons:
            shortcuts[page] = add(f"Alt+{i}", page_opener(page), f"page.{page}")

    relay = _Relay(window)

    def rebind(key: str, value: object) -> None:
        if key in actions:
            bind(key, str(value or ""))

    relay.changed.connect(rebind, Qt.ConnectionType.QueuedConnection)
    unsubscribe = settings.subscribe(relay.changed.emit)
    window.destroyed.connect(lambda *_: unsubscribe())
    return shortcuts
