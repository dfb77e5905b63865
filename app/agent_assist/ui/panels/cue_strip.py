"""The cue strip: current intent, dead air, talk ratio, and calm alerts.

- Intent (``IntentDetected``): its name and confidence as a thin bar and a %.
- Dead air: seconds since anyone last spoke (a ``FinalUtterance``,
  ``PartialText`` or an ``AudioLevel`` above ``SPEECH_DBFS`` resets it); it
  shows after 3 s and turns amber after ``dead_air_limit`` (8 s unless the
  pack says otherwise: ``set_dead_air_limit``). A timer ticks only in a call.
- Talk ratio (``TalkStats``): the agent's and the customer's share of talk.
- Alerts: ``PipelineError``, a lost device, a model or the generator down. Each
  is a rounded amber (red if fatal) pill with its message and a dismiss
  button; one per source, replaced by newer news and cleared when the source
  recovers (device reopened, model ready).
- Sentiment: a slot that stays hidden; no events carry it yet, and the
  sidebar shows nothing rather than made-up numbers.

Thread rules: GUI thread only.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from agent_assist.domain import (
    AudioLevel,
    BackendStatus,
    CallEnded,
    CallStarted,
    DeviceState,
    DeviceStatus,
    Event,
    FinalUtterance,
    IntentDetected,
    ModelStatus,
    PartialText,
    PipelineError,
    TalkStats,
)
from agent_assist.ui.panels._common import clock_text, label, set_prop, tool_button
from agent_assist.ui.qt import QSize, Qt, QtCore, QtGui, QTimer, QtWidgets, Signal
from agent_assist.ui.theme import GRID, icon, qcolor, tokens

__all__ = ["SPEECH_DBFS", "CueStrip"]

SPEECH_DBFS = -42.0
"""An ``AudioLevel`` louder than this counts as someone speaking (ends dead air)."""

SHOW_AFTER_S = 3.0
MAX_ALERTS = 3


class _Bar(QtWidgets.QWidget):
    """A thin rounded bar: one fill (``fraction``) or, with ``split``, agent vs customer."""

    def __init__(self, split: bool = False, height: int = 6) -> None:
        super().__init__()
        self.fraction = 0.0
        self.split = split
        self.setFixedHeight(height)
        self.setMinimumWidth(GRID * 4)

    def set_fraction(self, fraction: float) -> None:
        fraction = min(1.0, max(0.0, fraction))
        if abs(fraction - self.fraction) > 0.002:
            self.fraction = fraction
            self.update()

    def paintEvent(self, _event: QtGui.QPaintEvent) -> None:
        t = tokens()
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        rect = QtCore.QRectF(self.rect())
        radius = rect.height() / 2
        p.setBrush(qcolor(t.customer if self.split else t.surface_alt))
        p.drawRoundedRect(rect, radius, radius)
        width = self.fraction * rect.width()
        if width >= 1:
            p.setBrush(qcolor(t.agent if self.split else t.accent))
            p.drawRoundedRect(QtCore.QRectF(rect.x(), rect.y(), width, rect.height()), radius, radius)
        if self.split and 1 <= width < rect.width() - 1:  # a hairline where the shares meet
            p.setBrush(qcolor(t.surface))
            p.drawRect(QtCore.QRectF(width - 1, rect.y(), 2, rect.height()))


class _Alert(QtWidgets.QFrame):
    def __init__(self, key: str, message: str, severity: str, strip: CueStrip) -> None:
        super().__init__()
        self.key = key
        self.setProperty("alert", severity)
        self.text = label(message, wrap=True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = tool_button("", "Dismiss alert", f"Dismiss: {message}")
        colour = tokens().danger if severity == "danger" else tokens().warning
        self.close_button.setIcon(icon("close", colour, 12))
        self.close_button.setIconSize(QSize(12, 12))
        self.close_button.clicked.connect(lambda: strip.dismiss(key))
        self.setAccessibleName("Alert")
        self.setAccessibleDescription(message)
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(GRID * 3 // 2, GRID // 2, GRID // 2, GRID // 2)
        row.setSpacing(GRID // 2)
        row.addWidget(self.text, 1)
        row.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)

    def set_message(self, message: str, severity: str) -> None:
        self.text.setText(message)
        self.setAccessibleDescription(message)
        set_prop(self, "alert", severity)


class CueStrip(QtWidgets.QWidget):
    """Intent, dead air, talk ratio and alerts, in a few quiet lines."""

    alert_dismissed = Signal(str)  # the alert's key

    def __init__(
        self, parent: QtWidgets.QWidget | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        self._clock = clock
        self._last_speech: float | None = None
        self.dead_air_limit = 8.0
        self._alerts: dict[str, _Alert] = {}
        self._compact = False

        self.intent_name = label("", "title")
        self.intent_name.setAccessibleName("Current intent")
        self.intent_bar = _Bar(height=4)
        self.intent_bar.setFixedWidth(GRID * 6)
        self.intent_pct = label("", "caption")
        self.dead_air = label("", "caption")
        self.dead_air.setProperty("deadair", True)
        self.dead_air.setProperty("state", "")
        self.dead_air.setAccessibleName("Silence on the line")
        intent_row = QtWidgets.QHBoxLayout()
        intent_row.setSpacing(GRID)
        intent_row.addWidget(self.intent_name, 1)
        intent_row.addWidget(self.intent_bar, 0, Qt.AlignmentFlag.AlignVCenter)
        intent_row.addWidget(self.intent_pct)
        intent_row.addWidget(self.dead_air)

        self.talk_agent = label("", "caption")
        self.talk_customer = label("", "caption")
        self.talk_bar = _Bar(split=True, height=4)
        self.talk_bar.setAccessibleName("Talk ratio")
        self.talk = QtWidgets.QWidget()
        talk_row = QtWidgets.QHBoxLayout(self.talk)
        talk_row.setContentsMargins(0, 0, 0, 0)
        talk_row.setSpacing(GRID)
        talk_row.addWidget(self.talk_agent)
        talk_row.addWidget(self.talk_bar, 1, Qt.AlignmentFlag.AlignVCenter)
        talk_row.addWidget(self.talk_customer)
        self.talk.hide()

        self.sentiment = label("", "caption")  # no sentiment events exist yet: never shown
        self.sentiment.setObjectName("sentiment")
        self.sentiment.hide()

        self.alerts_box = QtWidgets.QVBoxLayout()
        self.alerts_box.setSpacing(GRID // 2)

        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(GRID * 2, GRID // 2, GRID * 2, GRID // 2)
        box.setSpacing(GRID // 2 + 2)
        box.addLayout(intent_row)
        box.addWidget(self.talk)
        box.addWidget(self.sentiment)
        box.addLayout(self.alerts_box)

        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self.tick)
        self._show_intent(None)
        self.dead_air.hide()

    # -- events ----------------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        if isinstance(event, CallStarted):
            self._show_intent(None)
            self.talk.hide()
            self._last_speech = self._clock()
            self._timer.start()
            for key in [k for k in self._alerts if not k.startswith(("model:", "backend"))]:
                self.dismiss(key, emit=False)
        elif isinstance(event, CallEnded):
            self._timer.stop()
            self._last_speech = None
            self.dead_air.hide()
        elif isinstance(event, FinalUtterance | PartialText):
            self._spoke()
        elif isinstance(event, AudioLevel):
            if not event.muted and event.rms_dbfs > SPEECH_DBFS:
                self._spoke()
        elif isinstance(event, IntentDetected):
            self._show_intent(event)
        elif isinstance(event, TalkStats):
            self._talk(event)
        elif isinstance(event, PipelineError):
            severity = "danger" if event.fatal else "warning"
            self.alert(
                f"pipeline:{event.stage}", f"{event.stage.capitalize()}: {event.message}", severity
            )
        elif isinstance(event, DeviceStatus):
            key = f"device:{event.speaker}"
            if event.state == DeviceState.LOST:
                who = "Your microphone" if event.speaker == "agent" else "The customer's audio"
                detail = f" ({event.detail})" if event.detail else ""
                self.alert(key, f"{who} was lost{detail}; trying to reopen {event.device or 'it'}.")
            elif event.state in (DeviceState.OPEN, DeviceState.REOPENED):
                self.dismiss(key, emit=False)
        elif isinstance(event, ModelStatus):
            key = f"model:{event.component}"
            if event.state == "down":
                self.alert(
                    key,
                    f"{event.component.capitalize()} model unavailable: {event.detail or 'no detail'}",
                )
            elif event.state in ("ready", "off"):
                self.dismiss(key, emit=False)
        elif isinstance(event, BackendStatus):
            if event.state == "down":
                self.alert("backend", f"Reply suggestions paused: {event.detail or 'the model is down'}")
            elif event.state in ("ready", "busy"):
                self.dismiss("backend", emit=False)

    def tick(self) -> None:
        """Refresh the dead-air label (the timer's slot)."""
        if self._last_speech is None:
            return
        silent = self._clock() - self._last_speech
        if silent < SHOW_AFTER_S:
            self.dead_air.hide()
            return
        self.dead_air.setText(f"Silence {clock_text(silent)}")
        set_prop(self.dead_air, "state", "long" if silent >= self.dead_air_limit else "")
        self.dead_air.setToolTip(
            f"Nobody has spoken for {int(silent)} s (limit {self.dead_air_limit:g} s)"
        )
        self.dead_air.show()

    # -- public ----------------------------------------------------------------------------------

    def set_dead_air_limit(self, seconds: float) -> None:
        self.dead_air_limit = seconds

    def set_compact(self, compact: bool) -> None:
        """Compact: hide the talk ratio and the intent's confidence."""
        self._compact = compact
        self.intent_bar.setVisible(not compact and bool(self.intent_name.text()))
        self.intent_pct.setVisible(not compact and bool(self.intent_name.text()))
        self.talk.setVisible(not compact and bool(self.talk_agent.text()))

    def alert(self, key: str, message: str, severity: str = "warning") -> None:
        """Show (or update) the alert ``key``; at most ``MAX_ALERTS``, the oldest goes first."""
        existing = self._alerts.get(key)
        if existing is not None:
            existing.set_message(message, severity)
            return
        widget = _Alert(key, message, severity, self)
        self._alerts[key] = widget
        self.alerts_box.insertWidget(0, widget)
        while len(self._alerts) > MAX_ALERTS:
            self.dismiss(next(iter(self._alerts)), emit=False)

    def dismiss(self, key: str, *, emit: bool = True) -> None:
        widget = self._alerts.pop(key, None)
        if widget is None:
            return
        widget.hide()
        self.alerts_box.removeWidget(widget)
        widget.deleteLater()
        if emit:
            self.alert_dismissed.emit(key)

    def alert_texts(self) -> list[str]:
        """The messages shown, newest first (tests, accessibility)."""
        return [w.text.text() for w in reversed(self._alerts.values())]

    # -- internals -------------------------------------------------------------------------------

    def _spoke(self) -> None:
        if self._last_speech is not None:
            self._last_speech = self._clock()
            if self.dead_air.isVisible() or not self.dead_air.isHidden():
                self.dead_air.hide()

    def _show_intent(self, event: IntentDetected | None) -> None:
        if event is None:
            self.intent_name.setText("")
            self.intent_name.hide()
            self.intent_bar.hide()
            self.intent_pct.hide()
            return
        self.intent_name.setText(event.name or event.intent_id)
        self.intent_name.setToolTip(f"Intent: {event.name} ({event.confidence:.0%} confident)")
        self.intent_name.setAccessibleDescription(self.intent_name.toolTip())
        self.intent_bar.set_fraction(event.confidence)
        self.intent_pct.setText(f"{event.confidence:.0%}")
        self.intent_name.show()
        self.intent_bar.setVisible(not self._compact)
        self.intent_pct.setVisible(not self._compact)

    def _talk(self, event: TalkStats) -> None:
        total = event.agent_s + event.customer_s
        if total <= 0:
            return
        share = event.agent_s / total
        self.talk_bar.set_fraction(share)
        self.talk_agent.setText(f"You {share:.0%}")
        self.talk_customer.setText(f"{1 - share:.0%} Customer")
        tip = f"Talk time: you {event.agent_s:.0f} s, customer {event.customer_s:.0f} s"
        self.talk_bar.setToolTip(tip)
        self.talk_bar.setAccessibleDescription(tip)
        self.talk.setVisible(not self._compact)
