"""The sidebar window: a header with navigation, the call bar, and the pages.

Layout (top to bottom), chosen for an agent with half a glance to spare: the
call bar (start/stop, mute, levels, timer, model state) is always visible; the
*Live* page stacks the cue strip, the transcript, the suggestion card, "Ask
the handbook" (with the hand-over note), the knowledge cards and the
checklist; *Wrap-up* appears after a call; *History*, *Supervisor* and
*Settings* are built the first time they are opened, so they cost nothing at
start-up.

The window is a view: it knows its panels and pages, dispatches every domain
event to them (``on_event``), and re-emits what the agent asks for as signals.
The controller (``ui.controller``) connects those signals to the engine.

Thread rules: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from agent_assist.domain import CallEnded, CallStarted, Event
from agent_assist.ui.panels.ask_view import AskView
from agent_assist.ui.panels.call_bar import CallBar
from agent_assist.ui.panels.cards_view import CardsView
from agent_assist.ui.panels.checklist_view import ChecklistView
from agent_assist.ui.panels.cue_strip import CueStrip
from agent_assist.ui.panels.suggestion_view import SuggestionView
from agent_assist.ui.panels.transcript_view import TranscriptView
from agent_assist.ui.panels.wrapup_view import WrapupView
from agent_assist.ui.qt import QtCore, QtGui, QtWidgets, Signal
from agent_assist.ui.theme import icon, icon_size, notifier, tokens
from agent_assist.ui.tray import app_icon

__all__ = ["PAGES", "SidebarWindow"]

PAGES = ("live", "wrapup", "history", "supervisor", "settings")
_TITLES = {
    "live": "Live",
    "wrapup": "Wrap-up",
    "history": "History",
    "supervisor": "Supervisor",
    "settings": "Settings",
}
_ICON_PAGES = ("supervisor", "settings")


class _Receiver(Protocol):
    def on_event(self, event: Event) -> None: ...


PageFactory = Callable[[], QtWidgets.QWidget]


class SidebarWindow(QtWidgets.QMainWindow):
    """Signals: ``close_requested`` (the agent closed the window), ``page_shown(str)``."""

    close_requested = Signal()
    page_shown = Signal(str)
    always_on_top_changed = Signal(bool)
    compact_changed = Signal(bool)

    def __init__(self, *, page_factories: dict[str, PageFactory] | None = None) -> None:
        super().__init__()
        self.setObjectName("sidebar")
        self.setWindowTitle("Agent Assist")
        self.setWindowIcon(app_icon())
        self.setMinimumWidth(340)
        self._factories = dict(page_factories or {})
        self.pages: dict[str, QtWidgets.QWidget] = {}
        self._receivers: list[_Receiver] = []
        self.allow_close = False  # the controller sets it when quitting for real

        self.call_bar = CallBar()
        self.cue_strip = CueStrip()
        self.transcript = TranscriptView()
        self.suggestion = SuggestionView()
        self.ask = AskView()
        self.cards = CardsView()
        self.checklist = ChecklistView()
        self.wrapup = WrapupView()
        self._receivers += [
            self.call_bar,
            self.cue_strip,
            self.transcript,
            self.suggestion,
            self.ask,
            self.cards,
            self.checklist,
            self.wrapup,
        ]

        central = QtWidgets.QWidget()
        central.setObjectName("sidebarBody")
        layout = QtWidgets.QVBoxLayout(central)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(8)
        layout.addWidget(self._header())
        layout.addWidget(self.call_bar)
        self.stack = QtWidgets.QStackedWidget()
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self._add_page("live", self._live_page())
        self._add_page("wrapup", self.wrapup)
        self.show_page("live")

    # -- building ------------------------------------------------------------------------
    def _header(self) -> QtWidgets.QWidget:
        header = QtWidgets.QWidget()
        header.setObjectName("header")
        row = QtWidgets.QHBoxLayout(header)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        # No QButtonGroup: Qt takes Tab focus from a group's unchecked buttons (as for radio
        # buttons), so the keyboard could not reach the other pages; show_page checks one.
        self.nav_buttons: dict[str, QtWidgets.QToolButton] = {}
        for key in PAGES:
            if key not in ("live", "wrapup") and key not in self._factories:
                continue
            button = QtWidgets.QToolButton()
            button.setObjectName("navButton")
            if key in _ICON_PAGES:  # icon-only: five labels do not fit 360 px
                button.setIconSize(icon_size(18))
            else:
                button.setText(_TITLES[key])
            button.setCheckable(True)
            button.setAccessibleName(f"Show {_TITLES[key]}")
            button.setToolTip(_TITLES[key])
            button.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
            button.clicked.connect(lambda _=False, k=key: self.show_page(k))
            self.nav_buttons[key] = button
            row.addWidget(button)
        row.addStretch(1)
        self.pin_button = QtWidgets.QToolButton()
        self.pin_button.setObjectName("pinButton")
        self.pin_button.setIconSize(icon_size(18))
        self.pin_button.setCheckable(True)
        self.pin_button.setToolTip("Keep the sidebar above other windows")
        self.pin_button.setAccessibleName("Always on top")
        self.pin_button.toggled.connect(self.set_always_on_top)
        row.addWidget(self.pin_button)
        self.compact_button = QtWidgets.QToolButton()
        self.compact_button.setObjectName("compactButton")
        self.compact_button.setIconSize(icon_size(18))
        self.compact_button.setCheckable(True)
        self.compact_button.setToolTip("Compact: only what matters during a call")
        self.compact_button.setAccessibleName("Compact mode")
        self.compact_button.toggled.connect(self.set_compact)
        row.addWidget(self.compact_button)
        self._paint_icons()
        notifier().changed.connect(self._paint_icons)
        return header

    def _paint_icons(self, _theme: str = "") -> None:
        """Header icons in the theme's colours; the checked state in the accent colour."""
        t = tokens()
        buttons = {key: self.nav_buttons[key] for key in _ICON_PAGES if key in self.nav_buttons}
        buttons.update(pin=self.pin_button, compact=self.compact_button)
        for name, button in buttons.items():
            both = QtGui.QIcon(icon(name, t.muted, 18))
            on = icon(name, t.accent, 18).pixmap(icon_size(18))
            both.addPixmap(on, QtGui.QIcon.Mode.Normal, QtGui.QIcon.State.On)
            button.setIcon(both)

    def _live_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        page.setObjectName("livePage")
        layout = QtWidgets.QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.cue_strip)
        assist = QtWidgets.QWidget()
        assist_layout = QtWidgets.QVBoxLayout(assist)
        assist_layout.setContentsMargins(0, 0, 0, 0)
        assist_layout.setSpacing(8)
        assist_layout.addWidget(self.suggestion)
        assist_layout.addWidget(self.ask)
        assist_layout.addWidget(self.cards, 1)
        assist_layout.addWidget(self.checklist)
        self.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.splitter.setObjectName("liveSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.transcript)
        self.splitter.addWidget(assist)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        # Enough conversation to follow (about six lines) however many cards there are.
        self.transcript.setMinimumHeight(170)
        layout.addWidget(self.splitter, 1)
        return page

    def _add_page(self, key: str, widget: QtWidgets.QWidget) -> None:
        self.pages[key] = widget
        self.stack.addWidget(widget)
        receiver: object = widget
        if callable(getattr(widget, "on_event", None)) and receiver not in self._receivers:
            self._receivers.append(widget)  # type: ignore[arg-type]

    # -- behaviour -----------------------------------------------------------------------
    def show_page(self, key: str) -> QtWidgets.QWidget:
        """Show page ``key``, building it on first use."""
        if key not in self.pages:
            factory = self._factories.get(key)
            if factory is None:
                raise KeyError(f"no page {key!r}")
            self._add_page(key, factory())
        page = self.pages[key]
        self.stack.setCurrentWidget(page)
        for name, button in self.nav_buttons.items():
            button.setChecked(name == key)
        self.page_shown.emit(key)
        return page

    @property
    def current_page(self) -> str:
        current = self.stack.currentWidget()
        return next((k for k, w in self.pages.items() if w is current), "")

    def on_event(self, event: Event) -> None:
        """Dispatch one engine event to every panel and page (GUI thread)."""
        for receiver in self._receivers:
            receiver.on_event(event)
        if isinstance(event, CallStarted) and self.current_page == "wrapup":
            self.show_page("live")
        elif isinstance(event, CallEnded):
            self.show_page("wrapup")

    def set_always_on_top(self, on: bool) -> None:
        if bool(self.windowFlags() & QtCore.Qt.WindowType.WindowStaysOnTopHint) == on:
            self.pin_button.setChecked(on)
            return
        visible = self.isVisible()
        self.setWindowFlag(QtCore.Qt.WindowType.WindowStaysOnTopHint, on)
        if visible:
            self.show()  # changing window flags hides a visible window
        self.pin_button.setChecked(on)
        self.always_on_top_changed.emit(on)

    def set_compact(self, on: bool) -> None:
        for panel in (self.call_bar, self.cue_strip, self.transcript, self.cards, self.suggestion):
            setter = getattr(panel, "set_compact", None)
            if callable(setter):
                setter(on)
        self.checklist.setVisible(not on)
        self.wrapup.set_compact(on)
        self.ask.setVisible(not on)  # typing a question is not a glance
        self.compact_button.setChecked(on)
        self.compact_changed.emit(on)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if self.allow_close:
            event.accept()
            return
        event.ignore()
        self.close_requested.emit()
