"""Running the desktop app: ``agent-assist`` (live calls) and ``agent-assist demo`` (the sample call).

Start-up order, for a usable window in well under 3 s on a 2-core office PC:
Qt and the window first (nothing heavy is imported before it shows), then,
from the event loop's first turn, the engine is created and starts loading the
speech model, the embedder, the packs and the LLM on its own threads; the call
bar shows each one's state as it changes. ``demo`` starts the sample call as
soon as speech is ready.

Manners: one instance per user (a second launch raises the first window);
closing the window hides it to the tray when there is one (Quit in the tray
menu or Ctrl+Q quits); quitting, Ctrl-C in the terminal or SIGTERM end the
call cleanly first (its record is finished, the summary stored if it comes in
time). ``--screenshot PATH --exit-after S`` saves a PNG of the window after
S seconds and quits (docs and checks).

Thread rules: everything here runs on the GUI (main) thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent_assist.errors import UserError

__all__ = ["GuiOptions", "has_display", "process_age_s", "run_app", "show_fatal"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class GuiOptions:
    """How to run the app.

    ``engine`` is an ``agent_assist.session.EngineOptions`` (the settings with the
    command line's overrides applied), ``settings`` the ``config.Settings`` the
    window applies and edits; devices come from the settings unless given here.
    """

    engine: Any
    settings: Any = None
    demo: bool = False
    realtime: bool = True
    sample: Path | None = None
    agent_device: str | None = None
    customer_device: str | None = None
    single_device: str | None = None
    screenshot: Path | None = None
    exit_after: float | None = None
    single_instance: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def has_display() -> bool:
    """Whether Qt can open windows here (a desktop session, or an explicit QT_QPA_PLATFORM)."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def process_age_s() -> float | None:
    """Seconds since this process started (Linux ``/proc``); None elsewhere."""
    try:
        stat = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start_ticks = int(stat[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def run_app(options: GuiOptions) -> int:
    """Open the sidebar and run the event loop until the app quits; the exit code."""
    if not has_display():
        raise UserError(
            "there is no display to open the sidebar on",
            "run it in a desktop session, or use `agent-assist demo --headless` for the "
            "terminal view (QT_QPA_PLATFORM=offscreen renders without a screen)",
        )
    t0 = time.perf_counter()
    sys.setswitchinterval(0.002)  # the GUI thread gets the GIL back sooner from busy workers

    from agent_assist.ui.preferences import install_shortcuts
    from agent_assist.ui.qt import QtCore, QtGui, QtWidgets
    from agent_assist.ui.single_instance import SingleInstance
    from agent_assist.ui.theme import apply_theme
    from agent_assist.ui.tray import Tray, app_icon

    QtGui.QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        QtCore.Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    assert isinstance(app, QtWidgets.QApplication)
    app.setApplicationName("Agent Assist")
    app.setOrganizationName("Agent Assist")
    app.setDesktopFileName("agent-assist")
    app.setWindowIcon(app_icon())

    instance = SingleInstance(app)
    if options.single_instance and not instance.claim():
        print("Agent Assist is already running: its window was brought to the front", file=sys.stderr)
        return 0
    settings = options.settings
    apply_theme(app, settings.get("appearance.theme"))
    tray = Tray(app)
    app.setQuitOnLastWindowClosed(False)

    from agent_assist.store import Database
    from agent_assist.ui.placement import WindowPlacement
    from agent_assist.ui.preferences import apply_preferences
    from agent_assist.ui.window import SidebarWindow

    database = Database.open()
    window = SidebarWindow(page_factories=_page_factories(options, database))
    placement = WindowPlacement(window)
    placement.snap_edge = str(settings.get("window.snap_edge"))  # where a first run docks
    placement.restore()
    apply_preferences(app, window, settings, placement)
    if not (settings.get("window.start_minimized") and tray.available) or options.demo:
        window.show()
    ready_s = time.perf_counter() - t0
    age = process_age_s()
    log.info(
        "window ready %.0f ms after run_app, %s after process start",
        ready_s * 1000,
        f"{age * 1000:.0f} ms" if age is not None else "?",
    )
    if os.environ.get("AGENT_ASSIST_STARTUP_REPORT"):
        Path(os.environ["AGENT_ASSIST_STARTUP_REPORT"]).write_text(
            f"{age if age is not None else ready_s:.4f}\n", encoding="utf-8"
        )

    state: dict[str, Any] = {"code": 0}

    def start_engine() -> None:
        controller = _make_controller(window, tray, options)
        state["controller"] = controller
        instance.activated.connect(lambda _m: _raise(window))
        tray.toggle_window.connect(lambda: _toggle(window))
        tray.quit_requested.connect(controller.shutdown)
        tray.hide_on_close(window, controller.shutdown)  # no tray: closing quits
        controller.quit_ready.connect(app.quit)
        install_shortcuts(window, controller, settings)
        _follow_privacy(settings, controller)
        controller.start_engine()
        if options.exit_after is not None:
            QtCore.QTimer.singleShot(
                int(options.exit_after * 1000), lambda: _finish(window, options, controller)
            )

    QtCore.QTimer.singleShot(0, start_engine)
    _install_signal_handlers(
        app, lambda: state["controller"].shutdown() if "controller" in state else app.quit()
    )
    try:
        app.exec()
    finally:
        placement.save()
        instance.release()
        window.allow_close = True
        window.close()
        for page in window.pages.values():
            shutdown = getattr(page, "shutdown", None)
            if callable(shutdown):
                shutdown()
        database.close()
    return int(state["code"])


def show_fatal(message: str) -> None:
    """A message box for a problem that stops the app before its window (when a display exists)."""
    if not has_display():
        return
    from agent_assist.ui.qt import QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        return  # nobody could click it
    QtWidgets.QMessageBox.critical(None, "Agent Assist cannot start", message)
    _ = app


def _page_factories(options: GuiOptions, database: Any) -> dict[str, Callable[[], Any]]:
    settings = options.settings

    def history() -> Any:
        from agent_assist.ui.history import HistoryView

        return HistoryView(database)

    def supervisor() -> Any:
        from agent_assist.ui.supervisor import SupervisorArea

        return SupervisorArea(database)

    def settings_page() -> Any:
        from agent_assist.ui.settings import SettingsView

        return SettingsView(settings)

    pages: dict[str, Callable[[], Any]] = {"history": history, "settings": settings_page}
    if settings.get("supervisor.enabled"):
        pages["supervisor"] = supervisor
    return pages


def _make_controller(window: Any, tray: Any, options: GuiOptions) -> Any:
    from agent_assist.session import AssistEngine, intel_worker
    from agent_assist.ui.controller import AppController

    engine = AssistEngine(options.engine, extra_workers=[intel_worker])
    return AppController(window, engine, _source_factory(options), tray=tray, autostart=options.demo)


def _source_factory(options: GuiOptions) -> Callable[[], Any]:
    def demo_source() -> Any:
        from agent_assist.audio.file_source import FileSource
        from agent_assist.clock import SystemClock

        assert options.sample is not None
        return FileSource(options.sample, realtime=options.realtime, clock=SystemClock())

    def device_source() -> Any:
        from agent_assist.audio.device_source import DeviceSource

        settings = options.settings
        return DeviceSource.from_names(
            agent=options.agent_device or settings.get("audio.agent_device") or None,
            customer=options.customer_device or settings.get("audio.customer_device") or None,
            single=options.single_device,
        )

    return demo_source if options.demo else device_source


def _finish(window: Any, options: GuiOptions, controller: Any) -> None:
    if options.screenshot is not None:
        options.screenshot.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(options.screenshot)):
            print(f"error: could not write the screenshot {options.screenshot}", file=sys.stderr)
        else:
            print(f"screenshot saved: {options.screenshot}", file=sys.stderr)
    controller.shutdown()


def _follow_privacy(settings: Any, controller: Any) -> None:
    """A changed privacy setting (Settings page, ``config set`` + reload, a new IT
    policy) reaches the running engine, on the I/O pool (it may join a thread)."""

    def changed(key: str, _value: object) -> None:
        if not key.startswith("privacy."):
            return
        store_audio, days = settings.privacy()
        with contextlib.suppress(RuntimeError):  # the app is closing: the pool is shut
            controller.run_io(lambda: controller.engine.set_privacy(store_audio, days))

    unsubscribe = settings.subscribe(changed)
    controller.quit_ready.connect(unsubscribe)


def _raise(window: Any) -> None:
    window.show()
    window.raise_()
    window.activateWindow()


def _toggle(window: Any) -> None:
    if window.isVisible():
        window.hide()
    else:
        _raise(window)


def _install_signal_handlers(app: Any, on_signal: Callable[[], None]) -> None:
    """Ctrl-C and SIGTERM end the app cleanly, through the event loop.

    Python runs signal handlers only between bytecodes, which never happens
    while Qt's loop waits in C++; a socket pair registered with
    ``signal.set_wakeup_fd`` wakes a ``QSocketNotifier`` instead (no polling).
    """
    from agent_assist.ui.qt import QtCore

    read_end, write_end = socket.socketpair()
    read_end.setblocking(False)
    write_end.setblocking(False)
    signal.set_wakeup_fd(write_end.fileno())
    notifier = QtCore.QSocketNotifier(read_end.fileno(), QtCore.QSocketNotifier.Type.Read, app)

    def woke() -> None:
        with contextlib.suppress(OSError):
            read_end.recv(64)
        on_signal()

    notifier.activated.connect(woke)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)  # the wakeup fd carries it to the loop
    app._signal_sockets = (read_end, write_end, notifier)  # keep them alive with the app
