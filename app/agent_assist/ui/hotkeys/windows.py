"""Windows backend: ``RegisterHotKey`` plus a native event filter for ``WM_HOTKEY``.

Why no thread and no hidden window: a hot key registered without a window
posts ``WM_HOTKEY`` to the message queue of the thread that registered it.
Qt's event dispatcher pumps that queue on the GUI thread and shows every
message to the application's native event filters, so a filter is enough.
``MOD_NOREPEAT`` makes holding the key one activation.

The ctypes calls exist only under ``sys.platform == "win32"``; elsewhere
``WindowsBackend`` raises ``HotkeysUnavailable`` so the module imports (and
type-checks) on every OS.

Thread rules: GUI thread only (``register``, ``unregister``, ``close`` and the
filter, which Qt calls on the thread that pumps messages).
"""

from __future__ import annotations

import sys

from agent_assist.ui.hotkeys.backend import ActivateCallback, HotkeysUnavailable
from agent_assist.ui.hotkeys.keys import KeyCombo, KeyParseError, windows_hotkey
from agent_assist.ui.qt import QtCore

__all__ = ["WindowsBackend"]

WM_HOTKEY = 0x0312
MOD_NOREPEAT = 0x4000
ERROR_HOTKEY_ALREADY_REGISTERED = 1409
_ON_WINDOWS = sys.platform == "win32"

if sys.platform == "win32":
    import ctypes
    import ctypes.wintypes

    _user32 = ctypes.WinDLL("user32", use_last_error=True)
    _user32.RegisterHotKey.argtypes = (
        ctypes.wintypes.HWND,
        ctypes.c_int,
        ctypes.wintypes.UINT,
        ctypes.wintypes.UINT,
    )
    _user32.RegisterHotKey.restype = ctypes.wintypes.BOOL
    _user32.UnregisterHotKey.argtypes = (ctypes.wintypes.HWND, ctypes.c_int)
    _user32.UnregisterHotKey.restype = ctypes.wintypes.BOOL

    def _register(hotkey_id: int, flags: int, vk: int) -> int:
        """0 when Windows registered the key, else its error code."""
        if _user32.RegisterHotKey(None, hotkey_id, flags, vk):
            return 0
        return ctypes.get_last_error() or -1

    def _unregister(hotkey_id: int) -> None:
        _user32.UnregisterHotKey(None, hotkey_id)

    def _hotkey_id(message: int) -> int | None:
        msg = ctypes.wintypes.MSG.from_address(message)
        return int(msg.wParam) if msg.message == WM_HOTKEY else None

else:

    def _register(hotkey_id: int, flags: int, vk: int) -> int:
        raise HotkeysUnavailable("RegisterHotKey exists on Windows only")

    def _unregister(hotkey_id: int) -> None:
        return None

    def _hotkey_id(message: int) -> int | None:
        return None


class _HotkeyFilter(QtCore.QAbstractNativeEventFilter):
    """Hands each ``WM_HOTKEY`` of ours to the backend and hides it from Qt."""

    def __init__(self, backend: WindowsBackend) -> None:
        super().__init__()
        self._backend = backend

    def nativeEventFilter(
        self, eventType: QtCore.QByteArray | bytes | bytearray | memoryview, message: int, /
    ) -> tuple[bool, int]:
        if eventType == b"windows_generic_MSG":  # QByteArray compares with bytes
            hotkey_id = _hotkey_id(int(message))
            if hotkey_id is not None and self._backend.activate(hotkey_id):
                return True, 0
        return False, 0


class WindowsBackend:
    """System-wide keys registered with ``RegisterHotKey`` for the GUI thread."""

    name = "Windows"

    def __init__(self, on_activate: ActivateCallback) -> None:
        if not _ON_WINDOWS:
            raise HotkeysUnavailable("RegisterHotKey exists on Windows only")
        app = QtCore.QCoreApplication.instance()
        if app is None:
            raise HotkeysUnavailable("there is no Qt application to receive WM_HOTKEY")
        self._app = app
        self._on_activate = on_activate
        self._ids: dict[str, int] = {}
        self._names: dict[int, str] = {}
        self._filter: _HotkeyFilter | None = _HotkeyFilter(self)
        app.installNativeEventFilter(self._filter)

    def register(self, name: str, combo: KeyCombo) -> str | None:
        self.unregister(name)
        try:
            vk, flags = windows_hotkey(combo)
        except KeyParseError as err:
            return str(err)
        hotkey_id = next(i for i in range(1, len(self._names) + 2) if i not in self._names)
        error = _register(hotkey_id, flags | MOD_NOREPEAT, vk)
        if error == ERROR_HOTKEY_ALREADY_REGISTERED:
            return f"{combo} is already taken system-wide by another application"
        if error:
            return f"Windows refused {combo} (error {error})"
        self._ids[name] = hotkey_id
        self._names[hotkey_id] = name
        return None

    def unregister(self, name: str) -> None:
        hotkey_id = self._ids.pop(name, None)
        if hotkey_id is not None:
            del self._names[hotkey_id]
            _unregister(hotkey_id)

    def close(self) -> None:
        for name in list(self._ids):
            self.unregister(name)
        if self._filter is not None:
            self._app.removeNativeEventFilter(self._filter)
            self._filter = None

    def activate(self, hotkey_id: int) -> bool:
        """Report the press of ``hotkey_id``; False if it is not ours."""
        name = self._names.get(hotkey_id)
        if name is None:
            return False
        self._on_activate(name)
        return True
