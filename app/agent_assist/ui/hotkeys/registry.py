"""``GlobalHotkeys``: named system-wide shortcuts, or the reason a key is not one.

Why: the agent types in the softphone or the CRM, so the sidebar rarely has
focus and a ``QShortcut`` would never fire. This picks the backend the session
allows (X11 grabs on an xcb desktop, ``RegisterHotKey`` on Windows). When
there is none (Wayland, an offscreen or other non-desktop Qt platform, macOS,
python-xlib missing, no X display) or a key cannot be had (another app took
it), ``bind`` returns the reason in words: the caller keeps its app-wide
``QShortcut`` for that key and says "global shortcut unavailable: <reason>;
works while the sidebar has focus" (``notice``).

Thread rules: create, ``bind``, ``unbind`` and ``close`` on the GUI thread.
Backends report presses from any thread (X11: its listener thread) through a
queued signal, so ``activated(name)`` is emitted on the GUI thread only.
"""

from __future__ import annotations

import logging
import os
import sys

from agent_assist.ui.hotkeys.backend import ActivateCallback, Backend, BackendFactory, HotkeysUnavailable
from agent_assist.ui.hotkeys.keys import KeyParseError, parse_keys
from agent_assist.ui.qt import QObject, Qt, QtGui, Signal, Slot

__all__ = ["FOCUS_ONLY", "GlobalHotkeys", "default_backend"]

log = logging.getLogger(__name__)

FOCUS_ONLY = "works while the sidebar has focus"


def default_backend(on_activate: ActivateCallback) -> Backend:
    """The system-wide backend for this OS and Qt platform; ``HotkeysUnavailable`` with the reason."""
    if sys.platform == "win32":
        from agent_assist.ui.hotkeys.windows import WindowsBackend

        return WindowsBackend(on_activate)
    elif sys.platform == "darwin":
        raise HotkeysUnavailable("system-wide shortcuts are not supported on macOS yet")
    else:
        return _x11_backend(on_activate)


def _x11_backend(on_activate: ActivateCallback) -> Backend:
    platform = QtGui.QGuiApplication.platformName()
    if platform.startswith("wayland"):
        raise HotkeysUnavailable("Wayland does not let apps take keys system-wide")
    if os.environ.get("XDG_SESSION_TYPE", "").lower() == "wayland":
        raise HotkeysUnavailable(
            "this is a Wayland session, where X11 apps only see keys while one of their windows has focus"
        )
    if platform != "xcb":
        raise HotkeysUnavailable(
            f"Qt's '{platform or 'unknown'}' platform has no desktop keyboard to grab"
        )
    try:
        from agent_assist.ui.hotkeys.x11 import X11Backend
    except ImportError as err:
        raise HotkeysUnavailable("python-xlib is not installed") from err
    return X11Backend(on_activate)


class GlobalHotkeys(QObject):
    """Named system-wide shortcuts: ``bind(name, "Ctrl+Alt+S")`` → ``activated(name)`` on each press.

    ``backend`` builds the backend (default: ``default_backend``); a test passes
    one for its own X server. Call ``close()`` before the app quits: it
    releases every key and stops the backend's thread.
    """

    activated = Signal(str)
    _fired = Signal(str)  # emitted by the backend on any thread; delivered queued

    def __init__(self, parent: QObject | None = None, backend: BackendFactory | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("globalHotkeys")
        self._fired.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._reasons: dict[str, str | None] = {}  # bound name -> None (system-wide) or why not
        self._backend: Backend | None = None
        self.unavailable: str | None = None
        try:
            self._backend = (backend or default_backend)(self._fired.emit)
        except HotkeysUnavailable as err:
            self.unavailable = str(err)
            log.info("no system-wide shortcuts: %s", err)
        else:
            log.info("system-wide shortcuts through %s", self._backend.name)

    @property
    def backend_name(self) -> str | None:
        """``"X11"``, ``"Windows"``, or None when keys work only while the app has focus."""
        return self._backend.name if self._backend is not None else None

    def bind(self, name: str, keys: str) -> str | None:
        """Make ``keys`` emit ``activated(name)`` system-wide: None when it does, else the reason.

        Empty ``keys`` unbinds (and returns None: there is nothing to report).
        """
        self.unbind(name)
        if not keys.strip():
            return None
        reason: str | None
        if self._backend is None:
            reason = self.unavailable or "no system-wide shortcut backend"
        else:
            try:
                reason = self._backend.register(name, parse_keys(keys))
            except KeyParseError as err:
                reason = str(err)
        self._reasons[name] = reason
        return reason

    def unbind(self, name: str) -> None:
        if self._reasons.pop(name, "") is None and self._backend is not None:
            self._backend.unregister(name)

    def is_global(self, name: str) -> bool:
        return name in self._reasons and self._reasons[name] is None

    def reason(self, name: str) -> str | None:
        """Why ``name``'s key is not system-wide; None when it is or has no key."""
        return self._reasons.get(name)

    def notice(self, name: str) -> str | None:
        """The sentence for the Settings page and the log, or None when ``name`` works system-wide."""
        reason = self.reason(name)
        return None if reason is None else f"global shortcut unavailable: {reason}; {FOCUS_ONLY}"

    def close(self) -> None:
        """Release every key and stop the backend (idempotent)."""
        self._reasons.clear()
        backend, self._backend = self._backend, None
        if backend is not None:
            self.unavailable = "the shortcuts were closed"
            backend.close()

    @Slot(str)
    def _deliver(self, name: str) -> None:
        if self.is_global(name):  # a press queued before an unbind is dropped
            self.activated.emit(name)
