"""The top of the sidebar: start/stop, call timer, per-channel mute, level meter and device, model chips.

Fed by ``CallStarted``/``CallEnded`` (button state, timer), ``AudioLevel``
(meters, mute state), ``DeviceStatus`` (the dot beside each channel),
``ModelStatus`` and ``BackendStatus`` (the readiness chips: the models load in
the background and their state shows here). Asks by signals:
``start_requested``, ``stop_requested``, ``mute_toggled(speaker, muted)``.

The timer counts from a monotonic clock (injectable for tests) with a 1 Hz
``QTimer`` that runs only during a call; meters decay on a timer that runs
only while a bar is falling, and repaint only when a bar moves by a pixel.

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
    ModelStatus,
    PipelineError,
    Speaker,
)
from agent_assist.ui.panels._common import chip, clock_text, label, set_prop, tool_button
from agent_assist.ui.qt import QSize, Qt, QtGui, QTimer, QtWidgets, Signal
from agent_assist.ui.theme import GRID, icon, qcolor, tokens

__all__ = ["CallBar", "LevelMeter"]

FLOOR_DBFS = -60.0
"""The meter's empty end; 0 dBFS fills it."""

_CHANNEL_NAMES = {Speaker.AGENT: "You", Speaker.CUSTOMER: "Customer", Speaker.MIXED: "Call audio"}
_CHIPS = (("speech", "Speech"), ("knowledge", "Knowledge"), ("llm", "Replies"))
_RANK = {"down": 3, "loading": 2, "ready": 1, "off": 0, "": -1}
_SPINNER = "◐◓◑◒"


class LevelMeter(QtWidgets.QWidget):
    """A thin custom-painted bar for one channel's loudness (dBFS mapped linearly from -60 to 0)."""

    def __init__(self, speaker: Speaker, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.speaker = speaker
        self._target = 0.0  # 0..1
        self._shown = 0.0
        self._peak = 0.0
        self._muted = False
        self._decay = QTimer(self)
        self._decay.setInterval(33)
        self._decay.timeout.connect(self.step)
        self.setMinimumWidth(GRID * 6)
        self.setFixedHeight(GRID)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        self.setAccessibleName(f"{_CHANNEL_NAMES[speaker]} level")

    @staticmethod
    def fraction(dbfs: float) -> float:
        return min(1.0, max(0.0, (dbfs - FLOOR_DBFS) / -FLOOR_DBFS))

    def value(self) -> float:
        """The bar's shown fill in [0, 1]."""
        return self._shown

    def set_level(self, rms_dbfs: float, peak_dbfs: float, muted: bool = False) -> None:
        self._target = 0.0 if muted else self.fraction(rms_dbfs)
        peak = 0.0 if muted else self.fraction(peak_dbfs)
        changed = muted != self._muted
        self._muted = muted
        if self._target >= self._shown:
            changed |= self._px(self._target) != self._px(self._shown)
            self._shown = self._target
        elif not self._decay.isActive():
            self._decay.start()
        if self._px(peak) != self._px(self._peak):
            self._peak, changed = peak, True
        if changed:
            self.update()

    def step(self) -> None:
        """One decay step (the timer's slot): fall 4% of the scale, stop at the target."""
        before = self._px(self._shown)
        self._shown = max(self._target, self._shown - 0.04)
        self._peak = max(self._shown, self._peak - 0.02)
        if self._shown <= self._target:
            self._decay.stop()
        if self._px(self._shown) != before:
            self.update()

    def reset(self) -> None:
        self._target = self._shown = self._peak = 0.0
        self._decay.stop()
        self.update()

    def _px(self, fraction: float) -> int:
        return round(fraction * max(1, self.width()))

    def paintEvent(self, _event: QtGui.QPaintEvent) -> None:
        t = tokens()
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        rect = self.rect().adjusted(0, 1, 0, -1)
        radius = rect.height() / 2
        p.setBrush(qcolor(t.surface_alt))
        p.drawRoundedRect(rect, radius, radius)
        if self._muted:
            return
        colour = t.agent if self.speaker == Speaker.AGENT else t.customer
        width = round(self._shown * rect.width())
        if width > 0:
            p.setBrush(qcolor(colour))
            p.drawRoundedRect(rect.adjusted(0, 0, width - rect.width(), 0), radius, radius)
        peak = round(self._peak * rect.width())
        if peak > width + 2:
            p.setBrush(qcolor(colour, 0.45))
            p.drawRect(rect.x() + peak - 2, rect.y(), 2, rect.height())


class _Channel(QtWidgets.QWidget):
    """Mute button, name, device dot and meter of one channel."""

    def __init__(self, speaker: Speaker, bar: CallBar) -> None:
        super().__init__(bar)
        self.speaker = speaker
        name = _CHANNEL_NAMES[speaker]
        self.mute = tool_button("", f"Mute {name.lower()}", f"Stop capturing {name.lower()} audio",
                                checkable=True)  # fmt: skip
        self.mute.setProperty("mute", True)
        self.mute.setIcon(icon("mic" if speaker == Speaker.AGENT else "headset"))
        self.mute.setIconSize(QSize(16, 16))
        self.mute.clicked.connect(lambda checked: bar.mute_toggled.emit(str(speaker), bool(checked)))
        self.name = label(name, "caption")
        self.dot = QtWidgets.QLabel()
        self.dot.setProperty("dot", True)
        self.dot.setProperty("state", "")
        self.dot.setToolTip(f"{name}: no device yet")
        self.dot.setAccessibleName(f"{name} device status")
        self.meter = LevelMeter(speaker)
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(GRID // 2)
        row.addWidget(self.mute)
        row.addWidget(self.name)
        row.addWidget(self.dot)
        row.addWidget(self.meter, 1)

    def set_device(self, status: DeviceStatus) -> None:
        set_prop(self.dot, "state", str(status.state))
        words = {
            DeviceState.OPEN: "capturing",
            DeviceState.LOST: "lost — trying to reopen",
            DeviceState.REOPENED: "reopened",
            DeviceState.CLOSED: "closed",
        }
        tip = f"{_CHANNEL_NAMES[self.speaker]}: {status.device or 'device'} — {words[status.state]}"
        self.dot.setToolTip(tip + (f"\n{status.detail}" if status.detail else ""))
        self.dot.setAccessibleDescription(tip)

    def set_muted(self, muted: bool) -> None:
        if self.mute.isChecked() != muted:
            self.mute.blockSignals(True)
            self.mute.setChecked(muted)
            self.mute.blockSignals(False)
        name = _CHANNEL_NAMES[self.speaker].lower()
        self.mute.setToolTip(
            f"Resume capturing {name} audio" if muted else f"Stop capturing {name} audio"
        )


class CallBar(QtWidgets.QWidget):
    """Start/stop, the call timer, both channels and the models' readiness."""

    start_requested = Signal()
    stop_requested = Signal()
    mute_toggled = Signal(str, bool)  # speaker ("agent" | "customer" | "mixed"), muted

    def __init__(
        self, parent: QtWidgets.QWidget | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        self._clock = clock
        self._started_at: float | None = None
        self._audio_s = 0.0  # the furthest call position heard (AudioLevel.position)
        self._state = "idle"  # idle | starting | active
        self._compact = False
        self._models: dict[str, tuple[str, str]] = {}  # chip -> (state, tooltip)
        self._parts: dict[str, dict[str, str]] = {}  # chip -> component -> state
        self._spin = 0

        self.button = QtWidgets.QPushButton()
        self.button.setAccessibleName("Start or end the call")
        self.button.clicked.connect(self._clicked)
        self.timer_label = label("0:00", "timer")
        self.timer_label.setAccessibleName("Call duration")
        self.timer_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.status_label = label("Ready", "caption")
        top = QtWidgets.QHBoxLayout()
        top.setSpacing(GRID)
        top.addWidget(self.button)
        top.addWidget(self.status_label, 1)
        top.addWidget(self.timer_label)

        self.channels = {s: _Channel(s, self) for s in (Speaker.AGENT, Speaker.CUSTOMER, Speaker.MIXED)}
        self.channels[Speaker.MIXED].hide()
        meters = QtWidgets.QHBoxLayout()
        meters.setSpacing(GRID * 2)
        for channel in self.channels.values():
            meters.addWidget(channel, 1)

        self.chips: dict[str, QtWidgets.QLabel] = {}
        chips = QtWidgets.QHBoxLayout()
        chips.setSpacing(GRID // 2)
        for key, title in _CHIPS:
            c = chip(title, "")
            c.setAccessibleName(f"{title} model status")
            self.chips[key] = c
            chips.addWidget(c)
        chips.addStretch(1)

        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(GRID * 2, GRID * 3 // 2, GRID * 2, GRID)
        box.setSpacing(GRID)
        box.addLayout(top)
        box.addLayout(meters)
        box.addLayout(chips)

        self._tick_timer = QTimer(self)
        self._tick_timer.setInterval(1000)
        self._tick_timer.timeout.connect(self.tick)
        self._spin_timer = QTimer(self)
        self._spin_timer.setInterval(250)
        self._spin_timer.timeout.connect(self._spin_step)
        self._starting_guard = QTimer(self)
        self._starting_guard.setSingleShot(True)
        self._starting_guard.setInterval(15_000)
        self._starting_guard.timeout.connect(
            lambda: self._set_state("idle") if self._state == "starting" else None
        )
        self._set_state("idle")
        for key, _ in _CHIPS:
            self._render_chip(key)

    # -- events ----------------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        if isinstance(event, CallStarted):
            self._call_started(event)
        elif isinstance(event, CallEnded):
            self._tick_timer.stop()
            self._started_at = None
            self.timer_label.setText(clock_text(event.duration))
            self._set_state("idle")
            for each in self.channels.values():
                each.meter.reset()
        elif isinstance(event, AudioLevel):
            if (level_channel := self.channels.get(event.speaker)) is not None:
                channel = level_channel
                channel.meter.set_level(event.rms_dbfs, event.peak_dbfs, event.muted)
                channel.set_muted(event.muted)
            if self._started_at is not None:
                self._audio_s = max(self._audio_s, event.position)
        elif isinstance(event, DeviceStatus):
            if (device_channel := self.channels.get(event.speaker)) is not None:
                device_channel.set_device(event)
        elif isinstance(event, ModelStatus):
            key = "knowledge" if event.component == "embedder" else event.component
            self._set_model(key, event.component, event.state, event.model, event.detail)
        elif isinstance(event, BackendStatus):
            state = "ready" if event.state == "busy" else event.state
            self._set_model("llm", "llm", state, event.model, event.detail)
        elif isinstance(event, PipelineError) and event.fatal and self._state == "starting":
            self._set_state("idle")

    def _call_started(self, event: CallStarted) -> None:
        self._started_at = self._clock()
        self._audio_s = 0.0
        self.timer_label.setText("0:00")
        self._tick_timer.start()
        self._set_state("active")
        mixed = tuple(event.speakers) == (Speaker.MIXED,)
        self.channels[Speaker.MIXED].setVisible(mixed)
        self.channels[Speaker.AGENT].setVisible(not mixed)
        self.channels[Speaker.CUSTOMER].setVisible(not mixed)
        for channel in self.channels.values():
            channel.meter.reset()
            channel.set_muted(False)

    def tick(self) -> None:
        """Refresh the timer text (the 1 Hz timer's slot)."""
        if self._started_at is not None:
            # Call time is audio time: a replay faster than real time runs ahead of the clock.
            elapsed = max(self._clock() - self._started_at, self._audio_s)
            self.timer_label.setText(clock_text(elapsed))

    # -- public ----------------------------------------------------------------------------------

    def set_compact(self, compact: bool) -> None:
        """Compact: hide the channel names, the status line and the chips of ready models."""
        self._compact = compact
        self.status_label.setVisible(not compact)
        for channel in self.channels.values():
            channel.name.setVisible(not compact)
        for key, _ in _CHIPS:
            self._render_chip(key)

    def set_call_active(self, active: bool) -> None:
        """Force the button's state (e.g. when the engine refused to start)."""
        self._set_state("active" if active else "idle")

    def set_status_text(self, text: str) -> None:
        """Say what the call is doing beside the button ("finishing the call record…")."""
        self.status_label.setText(text)

    @property
    def call_state(self) -> str:
        return self._state

    # -- internals -------------------------------------------------------------------------------

    def _clicked(self) -> None:
        if self._state == "active":
            self.stop_requested.emit()
        elif self._state == "idle":
            self._set_state("starting")
            self.start_requested.emit()

    def _set_state(self, state: str) -> None:
        self._state = state
        t = tokens()
        if state == "active":
            self.button.setText("End call")
            self.button.setIcon(icon("stop", t.danger, 14))
            self.button.setToolTip("Stop listening and write the summary")
            self.status_label.setText("Listening")
        elif state == "starting":
            self.button.setText("Starting…")
            self.status_label.setText("Opening audio")
            self._starting_guard.start()
        else:
            self.button.setText("Start call")
            self.button.setIcon(icon("play", t.accent_text, 14))
            self.button.setToolTip("Start listening to the call")
            self.status_label.setText("Not in a call")
        self.button.setEnabled(state != "starting")
        set_prop(self.button, "accent", state != "active")
        set_prop(self.button, "danger", state == "active")

    def _set_model(self, key: str, component: str, state: str, model: str, detail: str) -> None:
        if key not in self.chips:
            return
        parts = self._parts.setdefault(key, {})
        parts[component] = state
        merged = max(parts.values(), key=lambda s: _RANK.get(s, 0))  # the worse state shows
        title = dict(_CHIPS)[key]
        words = {"loading": "loading…", "ready": "ready", "down": "unavailable", "off": "turned off"}
        tip = f"{title}: {words.get(state, state)}" + (f" ({model})" if model else "")
        if detail:
            tip += f"\n{detail}"
        self._models[key] = (merged, tip)
        self._render_chip(key)

    def _render_chip(self, key: str) -> None:
        c = self.chips[key]
        state, tip = self._models.get(key, ("", ""))
        title = dict(_CHIPS)[key]
        mark = {"ready": "✓", "loading": _SPINNER[self._spin % 4], "down": "!", "off": "–"}.get(
            state, "·"
        )
        c.setText(f"{mark} {title}")
        c.setToolTip(tip or f"{title}: waiting for status")
        c.setAccessibleDescription(c.toolTip())
        set_prop(c, "state", state if state in ("ready", "loading", "down") else "")
        c.setVisible(not (self._compact and state in ("ready", "off")))
        loading = any(s == "loading" for s, _ in self._models.values())
        if loading and not self._spin_timer.isActive():
            self._spin_timer.start()
        elif not loading:
            self._spin_timer.stop()

    def _spin_step(self) -> None:
        self._spin += 1
        for key, (state, _) in self._models.items():
            if state == "loading":
                self._render_chip(key)

    def model_state(self, key: str) -> str:
        """The chip state of "speech", "knowledge" or "llm" ("" before any status)."""
        return self._models.get(key, ("", ""))[0]
