"""X11 backend: ``XGrabKey`` on the root window, presses read on a thread of its own.

Why a second X connection: Qt's xcb connection only sees keys sent to our own
windows, and the agent types in the softphone or the CRM. A passive grab on
the root window, made by a private python-xlib connection, gets the key
whichever window has focus. The grab is made once per Lock/NumLock state (X
matches modifier masks exactly, so Ctrl+Alt+S with NumLock on is another
combination); a key another client already grabbed fails with ``BadAccess``,
which ``register`` returns as the reason.

Thread rules: python-xlib is not thread-safe (unless ``Xlib.threaded`` is
imported, which would change every connection in the process), so after
``__init__`` only the listener thread touches the connection. ``register``,
``unregister`` and ``close`` (GUI thread) post a call to it through a queue,
wake it through a pipe and wait for the answer: one X round trip, at most
``REPLY_TIMEOUT_S``. The listener blocks in ``select`` on the X socket and the
pipe (no polling) and calls ``on_activate(name)`` on its own thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import select
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from Xlib import X
from Xlib.display import Display
from Xlib.error import BadAccess, CatchError, ConnectionClosedError, XError
from Xlib.protocol import rq

from agent_assist.ui.hotkeys.backend import ActivateCallback, HotkeysUnavailable
from agent_assist.ui.hotkeys.keys import X_LOCK, X_SHIFT, KeyCombo, x11_grab

__all__ = ["REPLY_TIMEOUT_S", "X11Backend"]

log = logging.getLogger(__name__)

REPLY_TIMEOUT_S = 2.0
_XK_NUM_LOCK = 0xFF7F
_MODIFIER_BITS = 0xFF  # Shift, Lock, Control, Mod1..Mod5 in an event's state
_T = TypeVar("_T")
_Call = tuple[Callable[[], Any], "Future[Any]"]
_CONNECTION_ERRORS = (ConnectionClosedError, XError, OSError)


class X11Backend:
    """System-wide keys through a private connection to the X server (``display``, default ``$DISPLAY``)."""

    name = "X11"

    def __init__(self, on_activate: ActivateCallback, display: str | None = None) -> None:
        self._on_activate = on_activate
        where = display or os.environ.get("DISPLAY", "")
        try:
            self._display = Display(display)
        except Exception as err:  # python-xlib raises many kinds (DisplayError, OSError, OverflowError…)
            raise HotkeysUnavailable(f"cannot open the X display '{where}': {err}") from err
        try:
            self._display.set_error_handler(_log_x_error)
            self._root = self._display.screen().root
            self._lock_masks, self._lock_bits = self._lock_variants()
        except _CONNECTION_ERRORS as err:
            with contextlib.suppress(*_CONNECTION_ERRORS):
                self._display.close()
            raise HotkeysUnavailable(f"the X display '{where}' failed: {err}") from err
        self._combos: dict[str, KeyCombo] = {}
        self._grabs: dict[tuple[int, int], str] = {}  # (keycode, modifier mask) -> name
        self._held: set[int] = set()  # keycodes pressed and not yet released (auto-repeat)
        self._released: dict[int, int] = {}  # keycode -> time of its last release
        self._calls: queue.SimpleQueue[_Call] = queue.SimpleQueue()
        self._stopping = False
        self._closed = False
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="hotkeys-x11", daemon=True)
        self._thread.start()

    # ---- GUI thread ------------------------------------------------------
    def register(self, name: str, combo: KeyCombo) -> str | None:
        """Grab ``combo`` for ``name``; None when it works, else why not (BadAccess: another app has it)."""
        try:
            return self._call(lambda: self._grab(name, combo))
        except HotkeysUnavailable as err:
            return str(err)

    def unregister(self, name: str) -> None:
        with contextlib.suppress(HotkeysUnavailable):
            self._call(lambda: self._ungrab(name))

    def close(self) -> None:
        """Ungrab every key, close the connection and join the listener (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            with contextlib.suppress(HotkeysUnavailable):
                self._call(self._stop)
            self._thread.join(REPLY_TIMEOUT_S)
        if not self._thread.is_alive():  # a stuck listener may still select on the pipe
            for fd in (self._wake_r, self._wake_w):
                with contextlib.suppress(OSError):
                    os.close(fd)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _call(self, fn: Callable[[], _T]) -> _T:
        if not self._thread.is_alive():
            raise HotkeysUnavailable("the X11 shortcut listener has stopped")
        future: Future[_T] = Future()
        self._calls.put((fn, future))
        os.write(self._wake_w, b"\0")
        try:
            return future.result(timeout=REPLY_TIMEOUT_S)
        except TimeoutError as err:
            future.cancel()  # not run later: a late grab would hold a key nobody listens to
            raise HotkeysUnavailable("the X server did not answer") from err
        except _CONNECTION_ERRORS as err:
            raise HotkeysUnavailable(f"the X connection failed: {err}") from err

    # ---- listener thread -------------------------------------------------
    def _run(self) -> None:
        try:
            fd = self._display.fileno()
            while not self._stopping:
                readable, _, _ = select.select([fd, self._wake_r], [], [])
                if self._wake_r in readable:
                    os.read(self._wake_r, 4096)
                    self._run_calls()
                self._read_events()  # also the events a call's round trip queued
        except _CONNECTION_ERRORS as err:
            log.warning("global shortcuts stopped: the X connection failed: %s", err)
        finally:
            self._stopping = True
            while True:
                try:
                    _fn, future = self._calls.get_nowait()
                except queue.Empty:
                    break
                if future.set_running_or_notify_cancel():  # else cancelled: nobody waits
                    future.set_exception(HotkeysUnavailable("the X11 shortcut listener has stopped"))
            with contextlib.suppress(*_CONNECTION_ERRORS):
                self._display.close()

    def _run_calls(self) -> None:
        while True:
            try:
                fn, future = self._calls.get_nowait()
            except queue.Empty:
                return
            if not future.set_running_or_notify_cancel():
                continue  # its caller gave up waiting
            try:
                future.set_result(fn())
            except Exception as err:  # the caller re-raises it on the GUI thread
                future.set_exception(err)

    def _read_events(self) -> None:
        while self._display.pending_events():
            event = self._display.next_event()
            if event.type == X.KeyPress:
                self._pressed(event)
            elif event.type == X.KeyRelease:
                self._held.discard(event.detail)
                self._released[event.detail] = event.time
            elif event.type == X.MappingNotify:
                self._remap(event)

    def _pressed(self, event: rq.Event) -> None:
        keycode = int(event.detail)
        name = self._grabs.get((keycode, event.state & _MODIFIER_BITS & ~self._lock_bits))
        if name is None:
            return
        # Auto-repeat sends more presses while the key is held (with a release of the same
        # time in between unless repeat is "detectable"): one hold is one activation.
        repeat = keycode in self._held or self._released.get(keycode) == event.time
        self._held.add(keycode)
        if repeat:
            log.debug("global shortcut %s: auto-repeat ignored", name)
        else:
            try:
                self._on_activate(name)
            except Exception:  # a broken receiver must not end the listener
                log.exception("global shortcut %s: the activation handler failed", name)

    def _target(self, combo: KeyCombo) -> tuple[int, int] | str:
        """``(keycode, mask)`` for ``combo`` on this keyboard, or why there is none."""
        keysym, mask = x11_grab(combo)
        found = next(iter(self._display.keysym_to_keycodes(keysym)), None)
        if found is None:
            return f"no key on this keyboard types '{combo.key}'"
        keycode, index = found
        if index == 1:
            mask |= X_SHIFT  # the character is on the key's shifted level ('!' is Shift+1)
        return keycode, mask

    def _grab(self, name: str, combo: KeyCombo) -> str | None:
        target = self._target(combo)
        if isinstance(target, str):
            return target
        owner = self._grabs.get(target)
        if owner is not None and owner != name:
            return f"{combo} is already the shortcut of another action"
        keycode, mask = target
        catcher = CatchError()
        for lock in self._lock_masks:
            self._root.grab_key(
                keycode, mask | lock, False, X.GrabModeAsync, X.GrabModeAsync, onerror=catcher
            )
        self._display.sync()
        error = catcher.get_error()
        if error is not None:
            for lock in self._lock_masks:  # releases only our own variants that succeeded
                self._root.ungrab_key(keycode, mask | lock)
            self._display.sync()
            if isinstance(error, BadAccess):
                return f"{combo} is already taken system-wide by another application"
            return f"the X server refused {combo} ({type(error).__name__})"
        self._grabs[target] = name
        self._combos[name] = combo
        return None

    def _ungrab(self, name: str) -> None:
        for target, owner in list(self._grabs.items()):
            if owner == name:
                keycode, mask = target
                for lock in self._lock_masks:
                    self._root.ungrab_key(keycode, mask | lock)
                del self._grabs[target]
                self._held.discard(keycode)
        self._combos.pop(name, None)
        self._display.sync()

    def _stop(self) -> None:
        for name in list(self._combos):
            self._ungrab(name)
        self._stopping = True

    def _remap(self, event: rq.Event) -> None:
        """The keyboard layout or modifier map changed: grab the same combinations on their new keys."""
        self._display.refresh_keyboard_mapping(event)
        locks = self._lock_variants()
        wanted = {name: self._target(combo) for name, combo in self._combos.items()}
        if locks == (self._lock_masks, self._lock_bits) and all(
            self._grabs.get(t) == n for n, t in wanted.items() if not isinstance(t, str)
        ):
            return
        combos = dict(self._combos)
        for name in combos:
            self._ungrab(name)
        self._lock_masks, self._lock_bits = locks
        for name, combo in combos.items():
            if (reason := self._grab(name, combo)) is not None:
                log.warning("global shortcut %s lost after a keyboard change: %s", combo, reason)

    def _lock_variants(self) -> tuple[tuple[int, ...], int]:
        """The masks to grab each combination with (none, Lock, NumLock, both) and their bits."""
        numlock = 0
        code = self._display.keysym_to_keycode(_XK_NUM_LOCK)
        if code:
            for index, codes in enumerate(self._display.get_modifier_mapping()):
                if code in codes:
                    numlock = 1 << index
        return tuple(sorted({0, X_LOCK, numlock, X_LOCK | numlock})), X_LOCK | numlock


def _log_x_error(error: XError, request: rq.Request | None) -> None:
    log.debug("X error not handled by a request (global shortcuts): %s", error)
