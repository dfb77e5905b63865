"""The Settings page's test buttons: device level test, model verification, server probe.

Each adds a button (and a result line; the level test also a meter) to its
setting's row, runs the check on the page's ``JobRunner`` and shows the
outcome when it arrives. A button is disabled while its check runs; nothing
here waits on a worker.

Thread rules: GUI thread only; the checks themselves run on worker threads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent_assist.errors import UserError
from agent_assist.ui import theme
from agent_assist.ui.qt import QtWidgets
from agent_assist.ui.settings.services import Check

if TYPE_CHECKING:
    from agent_assist.ui.settings.rows import SettingRow
    from agent_assist.ui.settings.view import SettingsView

__all__ = ["CheckLine", "Checks"]


class CheckLine:
    """A button and a result label under one row."""

    def __init__(
        self, row: SettingRow, text: str, accessible: str, on_click: Callable[[], None]
    ) -> None:
        self.button = QtWidgets.QPushButton(text)
        self.button.setAccessibleName(accessible)
        self.button.setObjectName("checkButton")
        self.button.clicked.connect(on_click)
        self.result = QtWidgets.QLabel()
        self.result.setObjectName("checkResult")
        self.result.setWordWrap(True)
        self.result.setAccessibleName(f"{accessible}: result")
        self.result.hide()
        row.action_bar.addWidget(self.button, 0)
        self.meter: QtWidgets.QProgressBar | None = None
        row.action_bar.addStretch(1)
        row.body.addWidget(self.result)

    def add_meter(self, row: SettingRow, accessible: str) -> QtWidgets.QProgressBar:
        meter = QtWidgets.QProgressBar()
        meter.setObjectName("levelMeter")
        meter.setRange(-60, 0)
        meter.setValue(-60)
        meter.setTextVisible(False)
        meter.setAccessibleName(accessible)
        meter.hide()
        # the meter sits between the button and the stretch
        row.action_bar.insertWidget(1, meter, 1)
        self.meter = meter
        return meter

    def busy(self, text: str) -> None:
        self.button.setEnabled(False)
        self.show(text, "busy")

    def show(self, text: str, state: str) -> None:
        self.result.setText(text)
        theme.set_prop(self.result, "state", state)
        self.result.show()

    def done(self, result: Any, error: BaseException | None) -> None:
        self.button.setEnabled(True)
        if error is not None:
            if isinstance(error, UserError):
                fix = f" Fix: {error.fix}" if error.fix else ""
                self.show(f"{error.message}.{fix}".replace("..", "."), "fail")
            else:
                self.show(f"The check failed: {type(error).__name__}: {error}", "fail")
        elif isinstance(result, Check):
            self.show(result.text, "ok" if result.ok else "fail")
        else:
            self.show(str(result), "ok")


class Checks:
    """The page's checks; ``level``, ``verify`` and ``connection`` are their lines."""

    def __init__(self, view: SettingsView) -> None:
        self.view = view
        rows = view.rows
        self.level: dict[str, CheckLine] = {}
        for key, role in (("audio.agent_device", "agent"), ("audio.customer_device", "customer")):
            row = rows[key]
            line = CheckLine(
                row,
                "Test level",
                f"Test the level of {row.setting.label.lower()}",
                self._level_runner(key, role),
            )
            line.add_meter(row, f"Input level of {row.setting.label.lower()}")
            self.level[key] = line
        self.verify = CheckLine(
            rows["speech.model"], "Verify", "Verify the speech model", self.run_verify
        )
        self.connection = CheckLine(
            rows["llm.server_url"],
            "Test connection",
            "Test the connection to the server",
            self.run_connection,
        )

    def _level_runner(self, key: str, role: str) -> Callable[[], None]:
        return lambda: self.run_level(key, role)

    @property
    def connection_button(self) -> QtWidgets.QPushButton:
        return self.connection.button

    def run_level(self, key: str, role: str) -> None:
        line = self.level[key]
        meter = line.meter
        assert meter is not None
        device = str(self.view.settings.get(key))
        seconds = self.view.level_seconds
        line.busy(f"Listening for {seconds:g} s: speak now.")
        meter.setValue(-60)
        meter.show()

        def level(value: Any) -> None:
            meter.setValue(max(-60, min(0, round(float(value)))))

        def done(result: Any, error: BaseException | None) -> None:
            meter.setValue(-60)
            meter.hide()
            line.done(result, error)

        self.view.jobs.start(
            lambda progress: self.view.services.level_test(device, role, seconds, progress), done, level
        )

    def run_verify(self) -> None:
        model = str(self.view.settings.get("speech.model"))
        self.verify.busy(f"Checking every file of {model}…")
        self.view.jobs.start(lambda _p: self.view.services.verify_model(model), self.verify.done)

    def run_connection(self) -> None:
        s = self.view.settings
        backend, url, model = (
            str(s.get("llm.backend")),
            str(s.get("llm.server_url")),
            str(s.get("llm.model")),
        )
        self.connection.busy(f"Connecting to {url or 'the server'}…")
        self.view.jobs.start(
            lambda _p: self.view.services.test_connection(backend, url, model), self.connection.done
        )
