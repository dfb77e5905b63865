"""What a system-wide hot-key backend promises, and the error that says why there is none.

Why a seam: X11 (XGrabKey on its own thread) and Windows (RegisterHotKey on
the GUI thread) have nothing in common but these three calls, and a test can
hand ``GlobalHotkeys`` a backend for a private X server.

Thread rules: ``register``, ``unregister`` and ``close`` are called on the GUI
thread. ``on_activate(name)`` may be called on any thread (X11 calls it on its
listener thread), so the receiver must only emit a queued signal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from agent_assist.ui.hotkeys.keys import KeyCombo

__all__ = ["ActivateCallback", "Backend", "BackendFactory", "HotkeysUnavailable"]

ActivateCallback = Callable[[str], None]


class HotkeysUnavailable(Exception):
    """No system-wide hot keys here; ``str()`` is the reason in words (Wayland, no display…)."""


class Backend(Protocol):
    """Grabs keys system-wide and reports each press of a grabbed key by name."""

    name: str

    def register(self, name: str, combo: KeyCombo) -> str | None:
        """Grab ``combo`` for ``name``: None when it works, else the reason it does not."""
        ...

    def unregister(self, name: str) -> None:
        """Release ``name``'s key, if it has one."""
        ...

    def close(self) -> None:
        """Release every key and stop; idempotent, never raises."""
        ...


# Builds a backend that reports presses to the callback; raises HotkeysUnavailable.
BackendFactory = Callable[[ActivateCallback], Backend]
