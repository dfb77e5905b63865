"""System-wide shortcuts (start/stop call, copy suggestion, show/hide sidebar).

Why: Qt has no portable global hot keys, and a ``QShortcut`` fires only while
the app has focus, which the sidebar rarely has. ``GlobalHotkeys`` grabs keys
through a small backend per platform: ``x11`` (XGrabKey on a private
python-xlib connection, read on its own thread) and ``windows``
(``RegisterHotKey`` + a native event filter). Where neither works it says why,
and ``ui.preferences`` keeps the app-wide ``QShortcut`` for that key.
``keys`` turns Qt's key text into each platform's codes (pure, unit tested).

Thread rules: see ``registry``: the GUI thread calls; ``activated`` arrives on
the GUI thread.
"""

from __future__ import annotations

from agent_assist.ui.hotkeys.backend import Backend, BackendFactory, HotkeysUnavailable
from agent_assist.ui.hotkeys.keys import KeyCombo, KeyParseError, parse_keys, windows_hotkey, x11_grab
from agent_assist.ui.hotkeys.registry import FOCUS_ONLY, GlobalHotkeys, default_backend

__all__ = [
    "FOCUS_ONLY",
    "Backend",
    "BackendFactory",
    "GlobalHotkeys",
    "HotkeysUnavailable",
    "KeyCombo",
    "KeyParseError",
    "default_backend",
    "parse_keys",
    "windows_hotkey",
    "x11_grab",
]
