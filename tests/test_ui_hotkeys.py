"""System-wide shortcuts: Qt key text → X11/Windows codes, and real grabs on a private Xvfb.

X11 tests start their own Xvfb, grab through the real backend and type with XTest from another
client, as a key pressed in another app arrives (Qt stays offscreen; the backend talks X itself).
"""

from __future__ import annotations

import logging
import os
import select
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from Xlib import X
from Xlib.display import Display
from Xlib.error import CatchError
from Xlib.ext import xtest

from agent_assist.config import SCHEMA, Settings
from agent_assist.ui.hotkeys import GlobalHotkeys, HotkeysUnavailable
from agent_assist.ui.hotkeys.keys import KeyCombo, KeyParseError, parse_keys, windows_hotkey, x11_grab
from agent_assist.ui.hotkeys.x11 import X11Backend
from agent_assist.ui.preferences import install_shortcuts
from agent_assist.ui.qt import QtWidgets

CONTROL, ALT, SHIFT, SUPER = 4, 8, 1, 64  # X11 masks
MOD_ALT, MOD_CONTROL, MOD_SHIFT, MOD_WIN = 1, 2, 4, 8  # RegisterHotKey flags
XK_CONTROL_L, XK_ALT_L, XK_SHIFT_L, XK_NUM_LOCK = 0xFFE3, 0xFFE9, 0xFFE1, 0xFF7F


# ---- key text → codes (pure) ---------------------------------------------------
@pytest.mark.parametrize(
    ("text", "x11", "windows"),
    [
        ("Ctrl+Alt+S", (0x73, CONTROL | ALT), (0x53, MOD_CONTROL | MOD_ALT)),
        ("Meta+F5", (0xFFC2, SUPER), (0x74, MOD_WIN)),
        ("Shift+PgUp", (0xFF55, SHIFT), (0x21, MOD_SHIFT)),
        ("Ctrl+Alt+Space", (0x20, CONTROL | ALT), (0x20, MOD_CONTROL | MOD_ALT)),
        ("Ctrl+Shift+9", (0x39, CONTROL | SHIFT), (0x39, MOD_CONTROL | MOD_SHIFT)),
        ("Ctrl+,", (0x2C, CONTROL), (0xBC, MOD_CONTROL)),
        ("Ctrl++", (0x2B, CONTROL), (0xBB, MOD_CONTROL)),
        ("Alt+Esc", (0xFF1B, ALT), (0x1B, MOD_ALT)),
        ("Ctrl+Del", (0xFFFF, CONTROL), (0x2E, MOD_CONTROL)),
        ("F12", (0xFFC9, 0), (0x7B, 0)),
    ],
)
def test_key_text_becomes_x11_keysym_and_windows_vk(
    text: str, x11: tuple[int, int], windows: tuple[int, int]
) -> None:
    combo = parse_keys(text)
    assert x11_grab(combo) == x11
    assert windows_hotkey(combo) == windows


def test_canonical_combos_unicode_keysyms_windows_gaps_and_the_defaults() -> None:
    combo = parse_keys(" shift+ALT+ctrl+s ")
    assert combo == KeyCombo("S", frozenset({"Ctrl", "Alt", "Shift"}))
    assert str(combo) == "Ctrl+Alt+Shift+S" and str(parse_keys("meta+pgdn")) == "Meta+PgDown"
    assert x11_grab(parse_keys("Ctrl+Alt+é")) == (0xE9, CONTROL | ALT)
    assert x11_grab(parse_keys("Ctrl+Alt+Ж")) == (0x01000436, CONTROL | ALT)  # lower-case ж
    assert x11_grab(parse_keys("F35")) == (0xFFE0, 0)
    for text, says in (("Ctrl+Alt+Ж", "'Ж' is not a key Windows"), ("F35", "Windows has no F35")):
        with pytest.raises(KeyParseError, match=says):
            windows_hotkey(parse_keys(text))
    defaults = [parse_keys(str(s.default)) for s in SCHEMA if s.editor == "shortcut"]
    assert len(defaults) == 3 and all(x11_grab(c)[0] and windows_hotkey(c)[0] for c in defaults)


BAD_KEYS = {
    "": "no key",
    "Ctrl+": "no key after",
    "Hyper+S": "not Ctrl, Alt, Shift or Meta",
    "Ctrl+Alt+Foo": "not a key name",
    "Ctrl+A, Ctrl+B": "several keys",
}


@pytest.mark.parametrize(("text", "says"), BAD_KEYS.items())
def test_bad_key_text_says_why(text: str, says: str) -> None:
    with pytest.raises(KeyParseError, match=says):
        parse_keys(text)


# ---- fallback when no backend works --------------------------------------------
@pytest.mark.gui
def test_offscreen_or_wayland_has_no_global_backend_and_says_why(
    qapp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    hotkeys = GlobalHotkeys()
    assert hotkeys.backend_name is None and "offscreen" in str(hotkeys.unavailable)
    assert hotkeys.bind("call", "Ctrl+Alt+S") == hotkeys.unavailable and not hotkeys.is_global("call")
    notice = hotkeys.notice("call")
    assert notice is not None and notice.startswith("global shortcut unavailable: ")
    assert notice.endswith("works while the sidebar has focus")
    assert hotkeys.bind("call", "") is None and hotkeys.notice("call") is None  # no key, nothing to say
    hotkeys.close()
    monkeypatch.setenv("XDG_SESSION_TYPE", "wayland")
    hotkeys = GlobalHotkeys()
    assert hotkeys.unavailable is not None and "Wayland" in hotkeys.unavailable
    hotkeys.close()
    with pytest.raises(HotkeysUnavailable, match="cannot open the X display 'nowhere'"):
        X11Backend(lambda _name: None, display="nowhere")  # (a refused one leaks python-xlib's socket)


# ---- a real X server -----------------------------------------------------------
@pytest.fixture
def xserver(tmp_path: Path) -> Iterator[str]:
    """A private Xvfb; its display name (``:N``, a number the server picked as free)."""
    xvfb = shutil.which("Xvfb")
    assert xvfb, "Xvfb is missing: packaging/setup.sh installs the xvfb package"
    read_fd, write_fd = os.pipe()
    with (tmp_path / "xvfb.log").open("wb") as log_file:
        args = [xvfb, "-displayfd", str(write_fd), "-nolisten", "tcp", "-screen", "0", "320x240x24"]
        proc = subprocess.Popen(args, pass_fds=(write_fd,), stdout=log_file, stderr=log_file)
    os.close(write_fd)
    try:
        number = b""
        while not number.endswith(b"\n"):
            ready, _, _ = select.select([read_fd], [], [], 30)
            chunk = os.read(read_fd, 16) if ready else b""
            assert chunk, f"Xvfb did not start: {(tmp_path / 'xvfb.log').read_text(errors='replace')}"
            number += chunk
        yield f":{int(number)}"
    finally:
        os.close(read_fd)
        proc.terminate()
        proc.wait(10)


class _OtherApp:
    """Another X client, as the softphone or the CRM: types keys with XTest, grabs keys of its own."""

    def __init__(self, display: str) -> None:
        self.d = Display(display)
        self.root = self.d.screen().root

    def type(self, *keysyms: int, press: bool = True, release: bool = True) -> None:
        """Press ``keysyms`` in order, then release them in reverse."""
        codes = [self.d.keysym_to_keycode(k) for k in keysyms]
        assert all(codes), f"no keycode for {keysyms}"
        for code in codes if press else ():
            xtest.fake_input(self.d, X.KeyPress, code)
        for code in reversed(codes) if release else ():
            xtest.fake_input(self.d, X.KeyRelease, code)
        self.d.sync()

    def grab(self, keysym: int, mask: int, *, ungrab: bool = False) -> bool:
        """Grab (or release) ``keysym`` with exactly ``mask``; False if another client holds it."""
        catcher = CatchError()
        code = self.d.keysym_to_keycode(keysym)
        if ungrab:
            self.root.ungrab_key(code, mask, onerror=catcher)
        else:
            self.root.grab_key(code, mask, False, X.GrabModeAsync, X.GrabModeAsync, onerror=catcher)
        self.d.sync()
        return catcher.get_error() is None


@pytest.fixture
def other(xserver: str) -> Iterator[_OtherApp]:
    app = _OtherApp(xserver)
    yield app
    app.d.close()


def _x11(display: str) -> Any:
    """A backend factory for ``GlobalHotkeys`` on the test's own X server."""
    return lambda on_activate: X11Backend(on_activate, display=display)


@pytest.fixture
def hotkeys(qapp: Any, xserver: str) -> Iterator[GlobalHotkeys]:
    keys = GlobalHotkeys(backend=_x11(xserver))
    yield keys
    keys.close()


@pytest.mark.gui
def test_a_key_typed_in_another_app_fires_on_the_gui_thread(
    qtbot: Any, hotkeys: GlobalHotkeys, other: _OtherApp
) -> None:
    fired: list[tuple[str, threading.Thread]] = []
    hotkeys.activated.connect(lambda name: fired.append((name, threading.current_thread())))
    assert hotkeys.backend_name == "X11"
    assert hotkeys.bind("call", "Ctrl+Alt+S") is None
    assert hotkeys.is_global("call") and hotkeys.notice("call") is None
    with qtbot.waitSignal(hotkeys.activated, timeout=5000) as blocker:
        other.type(XK_CONTROL_L, XK_ALT_L, ord("s"))
    assert blocker.args == ["call"]
    assert fired == [("call", threading.main_thread())]
    hotkeys.close()
    assert "hotkeys-x11" not in [t.name for t in threading.enumerate()]  # the listener was joined
    assert other.grab(ord("s"), CONTROL | ALT)  # and the key released


@pytest.mark.gui
def test_numlock_on_and_other_modifiers(qtbot: Any, hotkeys: GlobalHotkeys, other: _OtherApp) -> None:
    names: list[str] = []
    hotkeys.activated.connect(names.append)
    assert hotkeys.bind("call", "Ctrl+Alt+S") is None
    assert hotkeys.bind("copy", "Ctrl+Alt+C") is None
    other.type(XK_CONTROL_L, ord("s"))  # Ctrl+S is the CRM's, not ours
    other.type(XK_CONTROL_L, XK_ALT_L, XK_SHIFT_L, ord("s"))  # nor is Ctrl+Alt+Shift+S
    other.type(XK_NUM_LOCK)  # NumLock on: the grab's NumLock variant matches
    other.type(XK_CONTROL_L, XK_ALT_L, ord("s"))
    other.type(XK_NUM_LOCK)
    other.type(XK_CONTROL_L, XK_ALT_L, ord("c"))  # events arrive in order: this one comes last
    qtbot.waitUntil(lambda: "copy" in names, timeout=5000)
    assert names == ["call", "copy"]


@pytest.mark.gui
def test_holding_the_key_is_one_activation(
    qtbot: Any, hotkeys: GlobalHotkeys, other: _OtherApp, caplog: pytest.LogCaptureFixture
) -> None:
    names: list[str] = []
    hotkeys.activated.connect(names.append)
    assert hotkeys.bind("call", "Ctrl+Alt+S") is None
    assert hotkeys.bind("copy", "Ctrl+Alt+C") is None
    with caplog.at_level(logging.DEBUG, logger="agent_assist.ui.hotkeys.x11"):
        other.type(XK_CONTROL_L, XK_ALT_L, ord("s"), release=False)
        # The server's auto-repeat (after ~0.66 s) sends release+press pairs while it is held.
        qtbot.waitUntil(lambda: caplog.text.count("auto-repeat ignored") >= 3, timeout=10000)
        other.type(XK_CONTROL_L, XK_ALT_L, ord("s"), press=False)
    other.type(XK_CONTROL_L, XK_ALT_L, ord("c"))
    qtbot.waitUntil(lambda: "copy" in names, timeout=5000)
    assert names == ["call", "copy"]


@pytest.mark.gui
def test_a_key_another_app_holds_falls_back_with_the_reason(
    qtbot: Any, hotkeys: GlobalHotkeys, other: _OtherApp
) -> None:
    assert other.grab(ord("s"), CONTROL | ALT)
    reason = hotkeys.bind("call", "Ctrl+Alt+S")
    assert reason == "Ctrl+Alt+S is already taken system-wide by another application"
    assert not hotkeys.is_global("call")
    assert hotkeys.bind("copy", "Ctrl+Alt+C") is None  # the others still work
    assert other.grab(ord("s"), CONTROL | ALT | 16)  # our partial grab (NumLock variant) was undone
    assert other.grab(ord("s"), CONTROL | ALT | 16, ungrab=True)
    assert other.grab(ord("s"), CONTROL | ALT, ungrab=True)
    assert hotkeys.bind("call", "Ctrl+Alt+S") is None  # free again: a re-bind takes it


class _Window(QtWidgets.QWidget):
    """What ``install_shortcuts`` needs of the sidebar window."""

    def __init__(self) -> None:
        super().__init__()
        self.copies: list[threading.Thread] = []
        self.suggestion = SimpleNamespace(
            copy_text=lambda: self.copies.append(threading.current_thread())
        )
        self.nav_buttons: dict[str, Any] = {}

    def show_page(self, page: str) -> None:
        raise AssertionError(page)


@pytest.mark.gui
def test_install_shortcuts_goes_global_keeps_the_fallback_and_rebinds(
    qtbot: Any, xserver: str, other: _OtherApp, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert other.grab(ord("s"), CONTROL | ALT)
    window = _Window()
    qtbot.addWidget(window)
    controller = SimpleNamespace(toggle_call=window.close, shutdown=window.close)
    settings = Settings(tmp_path / "settings.toml")
    hotkeys = GlobalHotkeys(window, backend=_x11(xserver))
    with caplog.at_level(logging.WARNING, logger="agent_assist.ui.preferences"):
        shortcuts = install_shortcuts(window, controller, settings, hotkeys=hotkeys)
    # Taken by another app: stays an app-wide QShortcut, and the log says why.
    assert shortcuts["shortcuts.start_stop_call"].isEnabled()
    assert (
        "global shortcut unavailable: Ctrl+Alt+S is already taken system-wide by another "
        "application; works while the sidebar has focus" in caplog.text
    )
    # System-wide: the QShortcut stands down, the key works from any app.
    copy = shortcuts["shortcuts.copy_suggestion"]
    assert not copy.isEnabled()
    other.type(XK_CONTROL_L, XK_ALT_L, ord("c"))
    qtbot.waitUntil(lambda: len(window.copies) == 1, timeout=5000)
    assert window.copies == [threading.main_thread()]

    settings.set("shortcuts.copy_suggestion", "Ctrl+Alt+V", save=False)
    qtbot.waitUntil(lambda: copy.key().toString() == "Ctrl+Alt+V", timeout=5000)
    assert hotkeys.is_global("shortcuts.copy_suggestion") and not copy.isEnabled()
    assert other.grab(ord("c"), CONTROL | ALT)  # the old key was released
    other.type(XK_CONTROL_L, XK_ALT_L, ord("v"))
    qtbot.waitUntil(lambda: len(window.copies) == 2, timeout=5000)
    hotkeys.close()  # also on the window's destruction (the fallback for a failed test)


@pytest.mark.gui
def test_the_sidebar_opens_on_a_real_x_server(xserver: str, tmp_path: Path) -> None:
    """Qt's xcb platform plugin loads (every library it links to is installed by setup)."""
    code = (
        "from agent_assist.ui.qt import QtWidgets\n"
        "from agent_assist.ui.window import SidebarWindow\n"
        "app = QtWidgets.QApplication([])\n"
        "w = SidebarWindow(page_factories={})\n"
        "w.show()\n"
        "app.processEvents()\n"
        f"assert w.grab().save({str(tmp_path / 'x.png')!r})\n"
        "print(app.platformName())\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": xserver}
    args = [sys.executable, "-c", code]
    done = subprocess.run(args, check=False, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "xcb" and (tmp_path / "x.png").stat().st_size > 0
