"""The sidebar's desktop manners (offscreen Qt): one instance, placement, always on top,
compact mode, IT locks on the header's toggles, close to the tray, the tray's call
state, a clean shutdown mid-call, the keyboard, and accessible names.

The engine is a fake (the controller's ``Engine`` protocol) whose call ends on another
thread when the test opens its gates, and, once, the real ``AssistEngine`` replaying a
few seconds of the sample call with a stand-in speech model.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from agent_assist.config import Policy, Settings, WindowState, load_policy
from agent_assist.domain import (
    CallEnded,
    CallFinished,
    CallStarted,
    DeviceState,
    DeviceStatus,
    Event,
    ModelStatus,
    Speaker,
)
from agent_assist.errors import UserError
from agent_assist.events import EventBus
from agent_assist.stt.whisper import Transcript
from agent_assist.ui.controller import AppController
from agent_assist.ui.placement import DEFAULT_WIDTH, SNAP_PX, WindowPlacement
from agent_assist.ui.preferences import apply_preferences, install_shortcuts
from agent_assist.ui.qt import Qt, QtCore, QtGui, QtWidgets
from agent_assist.ui.single_instance import SingleInstance, lock_path, server_name
from agent_assist.ui.tray import _DOT, CallState, Tray, state_icon
from agent_assist.ui.window import PAGES, SidebarWindow
from tests.conftest import ROOT

OFFSCREEN = r"does not support (propagateSizeHints|raise)"
pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(OFFSCREEN)]
# A QSystemTrayIcon on the offscreen platform (which has no tray) warns once it is made.
with_a_tray = pytest.mark.qt_log_ignore(OFFSCREEN, r"No such signal .*systemTrayWindowChanged")

A, C = Speaker.AGENT, Speaker.CUSTOMER
FINISHING = "finishing the call record…"


# ---- fakes and fixtures ------------------------------------------------------------------------


class FakeEngine:
    """The controller's ``Engine``, with a call whose end the test controls.

    As with ``AssistEngine``: ``stop_call`` returns at once and the call ends on
    another thread (``CallEnded``: the record is stored), then is done
    (``CallFinished``: the summary); ``close`` ends a running call and waits for
    it. ``end_gate`` and ``summary_gate`` hold those two steps until a test opens them.
    """

    pack_folder: Path | None = None

    def __init__(self) -> None:
        self.bus = EventBus()
        self.calls = 0
        self.call_id: str | None = None
        self.stops: list[str] = []
        self.mutes: list[tuple[Speaker, bool]] = []
        self.end_gate = threading.Event()
        self.summary_gate = threading.Event()
        self.end_gate.set()
        self.summary_gate.set()
        self.ended = threading.Event()
        self.done = threading.Event()
        self.closing = threading.Event()
        self.closed = threading.Event()

    @property
    def in_call(self) -> bool:
        return self.call_id is not None and not self.ended.is_set()

    def subscribe(self, fn: Callable[[Event], None]) -> Callable[[], None]:
        return self.bus.subscribe(fn)

    def load(self) -> None:
        self.bus.publish(ModelStatus("speech", "ready", "fake"))

    def start_call(self, source: Any) -> str:
        self.calls += 1
        self.call_id = f"call-{self.calls}"
        self.ended.clear()
        self.done.clear()
        self.bus.publish(CallStarted(self.call_id, "fake", (A, C)))
        return self.call_id

    def stop_call(self, reason: str = "stopped by agent") -> None:
        if not self.in_call or len(self.stops) == self.calls:
            return
        self.stops.append(reason)
        threading.Thread(target=self._end, args=(self.call_id, reason), daemon=True).start()

    def _end(self, call_id: str, reason: str) -> None:
        assert self.end_gate.wait(30)
        self.bus.publish(CallEnded(call_id, 12.0, reason))
        self.ended.set()
        assert self.summary_gate.wait(30)
        self.bus.publish(CallFinished(call_id, reason, True))
        self.done.set()

    def set_muted(self, speaker: Speaker, muted: bool) -> None:
        self.mutes.append((speaker, muted))

    def set_feedback(self, suggestion_id: str, value: int) -> object:
        return True

    def save_wrapup(self, call_id: str, summary_json: str, disposition: str) -> object:
        return True

    def ask(self, question: str) -> Future[Any]:
        return _failed(UserError("the language model is off", "turn it on in the settings"))

    def request_transfer_note(self) -> Future[Any]:
        return _failed(UserError("the language model is off", "turn it on in the settings"))

    def wait_call_done(self, timeout: float | None = None) -> bool:
        return self.call_id is None or self.done.wait(timeout)

    def close(self, timeout: float | None = None) -> None:
        self.closing.set()
        if self.in_call:
            self.stop_call("app closed")
        self.wait_call_done(timeout)
        self.closed.set()


def _failed(error: BaseException) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_exception(error)
    return future


def _page(title: str) -> Callable[[], QtWidgets.QWidget]:
    def build() -> QtWidgets.QWidget:
        page = QtWidgets.QLabel(title)
        page.setObjectName(f"{title.lower()}Page")
        return page

    return build


@pytest.fixture
def light(qapp: QtWidgets.QApplication) -> QtWidgets.QApplication:
    from agent_assist.ui.theme import apply_theme

    apply_theme(qapp, "light")
    return qapp


@pytest.fixture
def make_window(light: QtWidgets.QApplication) -> Iterator[Callable[[], SidebarWindow]]:
    """Sidebar windows with stand-in History, Supervisor and Settings pages.

    Not ``qtbot.addWidget``: pytest-qt closes and deletes those before fixtures tear
    down, which would delete the controllers (children of the window) before
    ``make_controller`` shuts them down.
    """
    made: list[SidebarWindow] = []

    def make() -> SidebarWindow:
        window = SidebarWindow(
            page_factories={k: _page(k.title()) for k in ("history", "supervisor", "settings")}
        )
        made.append(window)
        return window

    yield make
    for window in made:
        window.allow_close = True  # really close: no tray, no shutdown
        window.close()
        window.deleteLater()


@pytest.fixture
def window(make_window: Callable[[], SidebarWindow]) -> SidebarWindow:
    return make_window()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(tmp_path / "settings.toml", Policy())


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def make_controller(
    make_window: Callable[[], SidebarWindow], qtbot: Any
) -> Iterator[Callable[..., AppController]]:
    """Controllers that are shut down (their worker pool with them) after the test,
    before their windows go."""
    made: list[tuple[AppController, list[bool]]] = []

    def make(window: SidebarWindow, engine: Any, tray: Tray | None = None, **kw: Any) -> AppController:
        controller = AppController(window, engine, object, tray=tray, **kw)
        quit_seen: list[bool] = []
        controller.quit_ready.connect(lambda: quit_seen.append(True))
        made.append((controller, quit_seen))
        return controller

    yield make
    for controller, quit_seen in made:
        if not quit_seen:
            if isinstance(controller.engine, FakeEngine):
                controller.engine.end_gate.set()
                controller.engine.summary_gate.set()
            with qtbot.waitSignal(controller.quit_ready, timeout=30_000):
                controller.shutdown()


def _shown(qtbot: Any, window: QtWidgets.QWidget) -> None:
    with qtbot.waitExposed(window):
        window.show()


def _activated(qtbot: Any, window: QtWidgets.QWidget) -> None:
    _shown(qtbot, window)
    with qtbot.waitActive(window):
        window.activateWindow()


def _roomy(window: QtWidgets.QWidget, grow: int = 0) -> QtCore.QSize:
    """A size the window can take (above its minimum, which grows as panels are added)."""
    hint = window.minimumSizeHint().expandedTo(window.minimumSize())
    return QtCore.QSize(max(hint.width(), 360) + grow, max(hint.height(), 480) + grow)


def _area() -> QtCore.QRect:
    screen = QtGui.QGuiApplication.primaryScreen()
    assert screen is not None
    return screen.availableGeometry()


# ---- one instance ---------------------------------------------------------------------------------


def test_a_second_instance_asks_the_first_to_show_itself(qtbot: Any) -> None:
    first = SingleInstance()
    assert first.name == server_name()
    assert first.claim()
    second = SingleInstance()
    with qtbot.waitSignal(first.activated, timeout=5000) as message:
        assert not second.claim()  # it would exit now
    assert message.args == ["show"]
    first.release()
    third = SingleInstance()
    assert third.claim()  # the first quit: the next launch is the instance
    third.release()


def test_the_instance_name_is_per_data_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    name = server_name()
    assert name == server_name() and name.startswith("agent-assist-") and len(name) < 40
    monkeypatch.setenv("AGENT_ASSIST_HOME", str(tmp_path / "another-home"))
    assert server_name() != name


CRASHING_INSTANCE = """
import sys
from agent_assist.ui.qt import QtCore
from agent_assist.ui.single_instance import SingleInstance

app = QtCore.QCoreApplication([])
instance = SingleInstance()
print("claimed" if instance.claim() else "refused", instance.address, flush=True)
sys.stdin.readline()  # until the test kills it
"""


def test_a_crashed_instance_does_not_block_the_next_launch(qtbot: Any) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with subprocess.Popen(
        [sys.executable, "-c", CRASHING_INSTANCE],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=ROOT, text=True,
    ) as proc:  # fmt: skip
        try:
            assert proc.stdout is not None
            state, socket_file = proc.stdout.readline().split()
            assert state == "claimed"
            # Alive (even busy, its event loop not running): a launch defers to it.
            assert not SingleInstance().claim()
        finally:
            proc.kill()  # SIGKILL: no clean-up runs
            proc.wait(30)
    assert Path(socket_file).exists()  # the crash left its socket file and its lock behind
    assert Path(lock_path(server_name())).exists()
    after = SingleInstance()
    assert after.claim()  # nobody answers on it: replaced
    assert after.address == socket_file
    later = SingleInstance()
    with qtbot.waitSignal(after.activated, timeout=5000):
        assert not later.claim()
    after.release()


def test_two_launches_at_once_leave_one_instance(qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    winner = SingleInstance()
    late = SingleInstance()
    monkeypatch.setattr(winner, "_ask_to_show", lambda: False)  # both look: nobody answers yet
    monkeypatch.setattr(late, "_ask_to_show", lambda: False)
    assert winner.claim()
    assert not late.claim()  # the lock decides: it must not replace the winner's socket
    with qtbot.waitSignal(winner.activated, timeout=5000):
        assert not SingleInstance().claim()  # the winner still answers
    winner.release()
    assert not Path(lock_path(winner.name)).exists()


# ---- placement ----------------------------------------------------------------------------------


def _reopened(make_window: Callable[[], SidebarWindow], state_file: Path, qtbot: Any) -> SidebarWindow:
    """A new window placed from the state file and shown (as the next run would be)."""
    window = make_window()
    WindowPlacement(window, state=WindowState(state_file)).restore()
    _shown(qtbot, window)
    return window


def test_placement_docks_right_first_then_restores_what_was_saved(
    make_window: Callable[[], SidebarWindow], qtbot: Any, tmp_path: Path
) -> None:
    state_file = tmp_path / "window-state.toml"
    window = make_window()
    placement = WindowPlacement(window, state=WindowState(state_file))
    placement.restore()  # nothing saved yet: docked right, full height
    area = _area()
    assert window.geometry() == QtCore.QRect(
        area.right() - DEFAULT_WIDTH + 1, area.top(), DEFAULT_WIDTH, area.height()
    )
    _shown(qtbot, window)
    placed = QtCore.QRect(QtCore.QPoint(150, 40), _roomy(window))
    with qtbot.waitSignal(placement.saved, timeout=5000):
        window.setGeometry(placed)
    assert state_file.is_file()
    assert _reopened(make_window, state_file, qtbot).geometry() == placed
    damaged = tmp_path / "damaged.toml"
    damaged.write_text('[sidebar]\ngeometry = "not a geometry"\n')
    docked = _reopened(make_window, damaged, qtbot)  # docked again, its frame on the screen
    qtbot.waitUntil(lambda: docked.frameGeometry().right() == area.right())
    assert area.contains(docked.frameGeometry())


def test_a_geometry_off_every_screen_comes_back_onto_the_screen(
    make_window: Callable[[], SidebarWindow], qtbot: Any, tmp_path: Path
) -> None:
    area = _area()
    state_file = tmp_path / "window-state.toml"
    window = make_window()
    placement = WindowPlacement(window, state=WindowState(state_file))
    size = _roomy(window)
    window.setGeometry(QtCore.QRect(QtCore.QPoint(area.right() + 3000, area.bottom() + 2000), size))
    placement.save()
    back = _reopened(make_window, state_file, qtbot)
    assert area.contains(back.frameGeometry())
    assert back.size() == size  # it fits: size kept
    # Hanging off the left edge and taller than the screen: clamped and shrunk to fit.
    window.setGeometry(area.left() - 200, area.top() + 50, size.width(), area.height() + 400)
    placement.clamp()
    assert area.contains(window.frameGeometry())
    assert window.x() == area.left() and window.height() == area.height()
    assert window.width() == size.width()


@pytest.mark.parametrize(
    ("edge", "start", "expected"),
    [
        pytest.param("left", lambda a, w: a.left() + 20, lambda a, w: a.left(), id="left-within"),
        pytest.param("left", lambda a, w: a.left() + SNAP_PX, lambda a, w: a.left(), id="left-at-threshold"),
        pytest.param("left", lambda a, w: a.left() + SNAP_PX + 1, None, id="left-beyond"),
        pytest.param("right", lambda a, w: a.left() + 20, None, id="docked-right-dropped-left"),
        pytest.param("right", lambda a, w: a.right() - w + 1 - 25, lambda a, w: a.right() - w + 1,
                     id="right-within"),
        pytest.param("right", lambda a, w: a.right() - w + 1 - SNAP_PX - 1, None, id="right-beyond"),
    ],
)  # fmt: skip
def test_dropped_near_an_edge_it_snaps_flush_and_not_beyond_the_threshold(
    make_window: Callable[[], SidebarWindow],
    qtbot: Any,
    tmp_path: Path,
    edge: str,
    start: Callable[[QtCore.QRect, int], int],
    expected: Callable[[QtCore.QRect, int], int] | None,
) -> None:
    area = _area()
    window = make_window()
    placement = WindowPlacement(window, state=WindowState(tmp_path / "window-state.toml"))
    placement.snap_edge = edge  # "window.snap_edge": snaps to that edge only
    window.setGeometry(QtCore.QRect(QtCore.QPoint(area.left() + 200, area.top() + 30), _roomy(window)))
    _shown(qtbot, window)
    x = start(area, window.frameGeometry().width())
    with qtbot.waitSignal(placement.saved, timeout=5000):
        window.move(x, area.top() + 60)
    want = x if expected is None else expected(area, window.frameGeometry().width())
    qtbot.waitUntil(lambda: window.frameGeometry().left() == want)
    assert window.frameGeometry().top() == area.top() + 60  # only sideways
    reopened = _reopened(make_window, tmp_path / "window-state.toml", qtbot)
    assert reopened.frameGeometry().left() == want  # the snapped place is the saved one


def test_placement_saves_on_move_resize_and_close_even_without_snapping(
    make_window: Callable[[], SidebarWindow], qtbot: Any, tmp_path: Path
) -> None:
    state_file = tmp_path / "window-state.toml"
    area = _area()
    window = make_window()
    placement = WindowPlacement(window, state=WindowState(state_file))
    placement.snap_enabled = False  # "window.snap_edge" = "none": floating, still remembered
    window.setGeometry(QtCore.QRect(QtCore.QPoint(area.left() + 200, area.top() + 30), _roomy(window)))
    _shown(qtbot, window)
    with qtbot.waitSignal(placement.saved, timeout=5000):
        window.move(area.left() + 10, area.top() + 30)  # within the threshold, but no snapping
    assert _reopened(make_window, state_file, qtbot).pos() == QtCore.QPoint(
        area.left() + 10, area.top() + 30
    )
    with qtbot.waitSignal(placement.saved, timeout=5000):
        window.resize(_roomy(window, 20))
    assert _reopened(make_window, state_file, qtbot).size() == _roomy(window, 20)
    window.resize(_roomy(window, 40))
    qtbot.waitUntil(lambda: window.size() == _roomy(window, 40))
    saves: list[bool] = []
    placement.saved.connect(lambda: saves.append(True))
    window.close()  # hides to the tray or quits: either way, saved now, not after a pause
    assert saves == [True]
    assert _reopened(make_window, state_file, qtbot).size() == _roomy(window, 40)


# ---- always on top, compact, IT locks -----------------------------------------------------------


def test_always_on_top_sets_the_window_flag_and_keeps_the_window_shown(
    window: SidebarWindow, qtbot: Any
) -> None:
    _shown(qtbot, window)
    geometry = window.geometry()
    on_top = Qt.WindowType.WindowStaysOnTopHint
    with qtbot.waitSignal(window.always_on_top_changed) as changed:
        window.pin_button.click()
    assert changed.args == [True]
    assert window.windowFlags() & on_top and window.pin_button.isChecked()
    handle = window.windowHandle()
    assert window.isVisible() and handle is not None
    qtbot.waitUntil(handle.isExposed)  # shown again after the flag change (which hides it)
    assert window.geometry() == geometry
    with qtbot.waitSignal(window.always_on_top_changed) as changed:
        window.pin_button.click()
    assert changed.args == [False]
    assert not window.windowFlags() & on_top and not window.pin_button.isChecked()
    assert window.isVisible()
    # A hidden (tray) window stays hidden when the setting changes.
    window.hide()
    window.set_always_on_top(True)
    assert window.windowFlags() & on_top and not window.isVisible()


def test_compact_mode_hides_the_side_panels_and_keeps_the_transcript(
    window: SidebarWindow, qtbot: Any
) -> None:
    _shown(qtbot, window)
    side = [window.checklist, window.ask]
    assert all(w.isVisibleTo(window) for w in side)
    with qtbot.waitSignal(window.compact_changed) as changed:
        window.compact_button.click()
    assert changed.args == [True] and window.compact_button.isChecked()
    assert not any(w.isVisibleTo(window) for w in side)
    assert not window.call_bar.status_label.isVisibleTo(window)
    assert not window.suggestion.heading.isVisibleTo(window)
    for kept in (window.transcript, window.cards, window.suggestion, window.call_bar.button):
        assert kept.isVisibleTo(window)
    window.compact_button.click()
    assert all(w.isVisibleTo(window) for w in side)
    assert window.call_bar.status_label.isVisibleTo(window)


def test_the_header_toggles_follow_and_save_the_settings(
    window: SidebarWindow, qtbot: Any, qapp: QtWidgets.QApplication, tmp_path: Path
) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("[window]\ncompact = true\n")
    settings = Settings.load(path, Policy())
    placement = WindowPlacement(window, state=WindowState(tmp_path / "window-state.toml"))
    apply_preferences(qapp, window, settings, placement)
    assert window.compact_button.isChecked() and not window.checklist.isVisibleTo(window)
    assert window.pin_button.isEnabled() and window.compact_button.isEnabled()
    window.pin_button.click()
    window.compact_button.click()
    assert Settings.load(path, Policy()).get("window.always_on_top") is True
    assert Settings.load(path, Policy()).get("window.compact") is False
    settings.set("window.snap_edge", "left")  # from the Settings page: docks there now
    area = _area()
    qtbot.waitUntil(lambda: placement.snap_edge == "left" and window.geometry().left() == area.left())
    settings.set("window.snap_edge", "none")
    qtbot.waitUntil(lambda: not placement.snap_enabled)
    settings.set("window.always_on_top", False)
    qtbot.waitUntil(lambda: not window.pin_button.isChecked())


def test_a_pin_locked_by_it_is_disabled_with_the_reason(
    window: SidebarWindow, qtbot: Any, qapp: QtWidgets.QApplication, tmp_path: Path
) -> None:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(
        'reason = "Managed by Northwind IT"\n'
        '[locked]\n"window.always_on_top" = true\n'
        '[reasons]\n"window.always_on_top" = "The sidebar must stay over the CRM (CHG-77)"\n'
    )
    settings = Settings.load(tmp_path / "settings.toml", load_policy(policy_file))
    placement = WindowPlacement(window, state=WindowState(tmp_path / "window-state.toml"))
    _shown(qtbot, window)
    apply_preferences(qapp, window, settings, placement)
    pin = window.pin_button
    assert not pin.isEnabled() and pin.isChecked()
    assert window.windowFlags() & Qt.WindowType.WindowStaysOnTopHint and window.isVisible()
    assert "Locked by IT: The sidebar must stay over the CRM (CHG-77)" in pin.toolTip()
    assert "CHG-77" in pin.accessibleDescription()
    qtbot.mouseClick(pin, Qt.MouseButton.LeftButton)  # disabled: nothing happens
    assert pin.isChecked() and window.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert window.compact_button.isEnabled()  # not locked
    assert "Locked" not in window.compact_button.toolTip()


# ---- close, tray, shutdown ----------------------------------------------------------------------


@with_a_tray
def test_closing_hides_to_the_tray_when_there_is_one(window: SidebarWindow, qtbot: Any) -> None:
    quits: list[bool] = []
    tray = Tray(window, available=True)
    tray.hide_on_close(window, lambda: quits.append(True))
    _shown(qtbot, window)
    window.close()
    assert not window.isVisible() and quits == []
    with qtbot.waitSignal(tray.toggle_window):
        assert tray.icon is not None
        tray.icon.activated.emit(QtWidgets.QSystemTrayIcon.ActivationReason.Trigger)


def test_closing_without_a_tray_quits_cleanly(
    window: SidebarWindow, engine: FakeEngine, qtbot: Any, make_controller: Callable[..., AppController]
) -> None:
    tray = Tray(window, available=False)
    controller = make_controller(window, engine, tray)
    tray.hide_on_close(window, controller.shutdown)
    _shown(qtbot, window)
    with qtbot.waitSignal(controller.quit_ready, timeout=10_000):
        window.close()
    assert engine.closed.is_set()


def _dot_colour(icon: QtGui.QIcon) -> str:
    """The colour at the centre of the state dot (lower right) of a 64 px rendering."""
    image = icon.pixmap(64, 64).toImage()
    d = 64 * 0.38
    centre = int(64 - 1 - d / 2)
    return str(image.pixelColor(centre, centre).name())


@with_a_tray
def test_the_tray_follows_the_call_state(
    window: SidebarWindow, engine: FakeEngine, qtbot: Any, make_controller: Callable[..., AppController]
) -> None:
    tray = Tray(window, available=True)
    controller = make_controller(window, engine, tray)
    assert tray.icon is not None and tray.call_action is not None
    icon, menu_call = tray.icon, tray.call_action

    def shows(state: CallState, detail: str = "") -> bool:
        tip = f"Agent Assist: {state.value}" + (f" — {detail}" if detail else "")
        return tray.state is state and icon.toolTip() == tip and _dot_colour(icon.icon()) == _DOT[state]

    assert shows(CallState.IDLE) and menu_call.text() == "Start call"
    agent_mute = window.call_bar.channels[A].mute
    agent_mute.click()  # muted before the call: the call still starts unmuted
    agent_mute.click()
    agent_mute.click()
    menu_call.trigger()  # "Start call" in the tray menu
    qtbot.waitUntil(lambda: shows(CallState.IN_CALL))
    assert menu_call.text() == "End call" and controller.in_call
    agent_mute.click()
    assert shows(CallState.MUTED, "capture muted") and engine.mutes[-1] == (A, True)
    assert menu_call.text() == "End call"
    agent_mute.click()
    assert shows(CallState.IN_CALL)
    engine.bus.publish(DeviceStatus("call-1", C, "Headset", DeviceState.LOST, "unplugged"))
    qtbot.waitUntil(lambda: shows(CallState.ALERT, "Audio device lost"))
    engine.bus.publish(DeviceStatus("call-1", C, "Headset", DeviceState.REOPENED))
    qtbot.waitUntil(lambda: shows(CallState.IN_CALL))  # the alert is over
    menu_call.trigger()  # "End call"
    qtbot.waitUntil(lambda: shows(CallState.IDLE))
    assert menu_call.text() == "Start call" and engine.stops == ["stopped by agent"]
    for state in CallState:  # every state has its own dot
        assert _dot_colour(state_icon(state)) == _DOT[state]


def test_shutdown_mid_call_waits_for_the_call_record_then_quits(
    window: SidebarWindow, engine: FakeEngine, qtbot: Any, make_controller: Callable[..., AppController]
) -> None:
    controller = make_controller(window, engine)
    _shown(qtbot, window)
    window.call_bar.button.click()  # Start call
    qtbot.waitUntil(lambda: window.call_bar.call_state == "active")
    engine.end_gate.clear()
    engine.summary_gate.clear()
    quits: list[bool] = []
    controller.quit_ready.connect(lambda: quits.append(True))
    controller.shutdown()
    assert window.call_bar.status_label.text() == FINISHING  # the window says so at once
    qtbot.waitUntil(lambda: engine.closing.is_set() and engine.stops == ["app closed"])
    controller.start_call()  # quitting: no new call
    assert engine.calls == 1
    engine.end_gate.set()  # the pipeline stops: CallEnded (the record is stored)
    qtbot.waitUntil(lambda: window.current_page == "wrapup")
    assert window.call_bar.status_label.text() == FINISHING  # still finishing: the summary
    assert quits == [] and not engine.closed.is_set()
    with qtbot.waitSignal(controller.quit_ready, timeout=10_000):
        engine.summary_gate.set()  # CallFinished: now the app may exit
    assert engine.done.is_set() and engine.closed.is_set() and quits == [True]
    controller.shutdown()  # again (Ctrl+Q twice): nothing more
    assert engine.stops == ["app closed"]


class _OneWordDecoder:
    """A stand-in speech model: every decode is the word "hello"."""

    def transcribe(self, audio: Any, options: Any, prefix: Any = (), previous: Any = ()) -> Transcript:
        return Transcript("hello", 0.9, 0.01)


def test_shutdown_mid_call_with_the_real_engine_finishes_the_call_record(
    window: SidebarWindow, qtbot: Any, tmp_path: Path
) -> None:
    from agent_assist.audio.file_source import FileSource
    from agent_assist.clock import SystemClock
    from agent_assist.session import AssistEngine, EngineOptions
    from agent_assist.store import Database

    audio, rate = sf.read(ROOT / "assets" / "sample_call.flac", dtype="float32", frames=20 * 16000)
    wav = tmp_path / "first-20s.wav"
    sf.write(wav, np.asarray(audio), rate)
    options = EngineOptions(use_llm=False, knowledge=False, partials=False)
    engine = AssistEngine(options, decoder_factory=lambda o: _OneWordDecoder())
    controller = AppController(
        window, engine, lambda: FileSource(wav, realtime=True, clock=SystemClock()), autostart=True
    )
    _shown(qtbot, window)
    controller.start_engine()  # speech "loads", then the call starts (autostart)
    qtbot.waitUntil(
        lambda: window.call_bar.call_state == "active" and controller.call_id != "", timeout=10_000
    )
    call_id = controller.call_id
    with qtbot.waitSignal(controller.quit_ready, timeout=30_000):
        controller.shutdown()  # at most a second into a 20 s call
        assert window.call_bar.status_label.text() == FINISHING
    assert not engine.in_call and engine.finished is not None
    assert engine.finished.reason == "app closed"
    with Database.open() as db:
        call = db.get_call(call_id)
    assert call is not None
    assert call.status == "completed" and call.ended_at is not None and call.end_reason == "app closed"
    assert call.duration is not None and call.duration < 15


# ---- keyboard and accessible names --------------------------------------------------------------


def test_alt_digits_open_the_pages(
    window: SidebarWindow,
    engine: FakeEngine,
    settings: Settings,
    qtbot: Any,
    make_controller: Callable[..., AppController],
) -> None:
    controller = make_controller(window, engine)
    shortcuts = install_shortcuts(window, controller, settings)
    _activated(qtbot, window)
    assert [k for k in PAGES if k in shortcuts] == list(PAGES)
    for digit, page in reversed(list(enumerate(PAGES, start=1))):
        with qtbot.waitSignal(window.page_shown) as shown:
            qtbot.keyClick(window, Qt.Key(Qt.Key.Key_0.value + digit), Qt.KeyboardModifier.AltModifier)
        assert shown.args == [page] and window.current_page == page
        assert window.nav_buttons[page].isChecked()


def test_tab_reaches_every_header_button(window: SidebarWindow, qtbot: Any) -> None:
    _activated(qtbot, window)
    first = window.nav_buttons["live"]
    first.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(first.hasFocus)
    reached: list[QtWidgets.QWidget] = []
    for _ in range(300):
        focused = QtWidgets.QApplication.focusWidget()
        assert focused is not None
        if focused is first and reached:
            break
        reached.append(focused)
        qtbot.keyClick(focused, Qt.Key.Key_Tab)
    else:
        pytest.fail("Tab never came back to the first button")
    wanted: list[QtWidgets.QAbstractButton] = [*window.nav_buttons.values()]
    wanted += [window.pin_button, window.compact_button, window.call_bar.button]
    missing = [w.accessibleName() for w in wanted if w not in reached]
    assert not missing, f"Tab never reaches {missing}"


_INTERACTIVE = (
    QtWidgets.QAbstractButton,
    QtWidgets.QLineEdit,
    QtWidgets.QTextEdit,
    QtWidgets.QPlainTextEdit,
    QtWidgets.QComboBox,
    QtWidgets.QAbstractSpinBox,
    QtWidgets.QAbstractSlider,
    QtWidgets.QAbstractItemView,
)


def _interactive(root: QtWidgets.QWidget) -> list[QtWidgets.QWidget]:
    """Widgets the agent can click, type in or tab to (scroll bars of scroll areas aside)."""
    found = []
    for widget in root.findChildren(QtWidgets.QWidget):
        if isinstance(widget, QtWidgets.QScrollBar):
            continue  # part of its scroll area, which is checked itself
        takes_tab = bool(widget.focusPolicy().value & Qt.FocusPolicy.TabFocus.value)
        if isinstance(widget, _INTERACTIVE) or takes_tab:
            found.append(widget)
    return found


def _accessible_name(widget: QtWidgets.QWidget) -> str:
    """What a screen reader says for ``widget`` (Qt's accessible Name)."""
    iface = QtGui.QAccessible.queryAccessibleInterface(widget)
    assert iface is not None and iface.isValid()
    return str(iface.text(QtGui.QAccessible.Text.Name)).strip()


def test_every_interactive_widget_of_the_live_page_has_an_accessible_name(
    window: SidebarWindow, qtbot: Any
) -> None:
    from tests.test_ui_panels import live_call

    _shown(qtbot, window)
    for event in live_call():  # cards, a ready suggestion, the checklist: their buttons exist now
        window.on_event(event)
    roots: list[QtWidgets.QWidget] = [window.call_bar, window.pages["live"]]
    header = window.pin_button.parentWidget()
    assert header is not None
    roots.append(header)
    widgets = [w for root in roots for w in _interactive(root)]
    assert len(widgets) >= 20  # the walk found the page's controls, the cards' among them
    assert any(
        window.cards.isAncestorOf(w) and isinstance(w, QtWidgets.QAbstractButton) for w in widgets
    )
    nameless = [
        f"{type(w).__name__} {w.objectName() or '(no object name)'} in {type(w.parentWidget()).__name__}"
        for w in widgets
        if not _accessible_name(w)
    ]
    assert not nameless, f"no accessible name: {nameless}"
