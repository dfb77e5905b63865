"""The Settings page: generated rows, IT locks, immediate debounced saves, checks off the GUI thread."""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_assist.config import SCHEMA, Settings, load_policy
from agent_assist.errors import AudioError
from agent_assist.ui.qt import Qt, QtWidgets
from agent_assist.ui.settings import Check, ModelChoice, SettingsServices, SettingsView

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(r"does not support propagateSizeHints")]

POLICY = """\
reason = "Managed by Northwind IT"
[locked]
"privacy.store_audio" = false
[reasons]
"privacy.store_audio" = "Recording calls needs written consent (PRV-7)"
"""


class FakeEngine:
    """Services whose slow calls wait until the test releases them."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.release.set()
        self.verify_threads: list[str] = []
        self.level_error: Exception | None = None

    def services(self) -> SettingsServices:
        return SettingsServices(
            list_devices=lambda: ["pulse", "Jabra Evolve2 40", "pulse:softphone.monitor"],
            level_test=self.level_test,
            speech_models=lambda: [
                ModelChoice("tiny.en", "tiny.en", True),
                ModelChoice("base", "base", True),
            ],
            llm_models=lambda: [ModelChoice("smollm2-135m-instruct", "smollm2-135m-instruct", True)],
            verify_model=self.verify,
            test_connection=lambda b, u, m: Check(False, f"Cannot reach the server at {u}"),
        )

    def level_test(
        self, device: str, role: str, seconds: float, on_level: Callable[[float], None]
    ) -> Check:
        if self.level_error is not None:
            raise self.level_error
        for db in (-40.0, -20.0, -12.0):
            on_level(db)
        return Check(True, "Working (peak -12 dB).")

    def verify(self, model: str) -> Check:
        self.verify_threads.append(threading.current_thread().name)
        assert self.release.wait(10)
        return Check(True, f"Verified: every file of {model} matches its checksum.")


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    return Settings.load(tmp_path / "cfg" / "settings.toml", load_policy(policy))


@pytest.fixture
def view(qtbot: Any, settings: Settings, engine: FakeEngine) -> Iterator[SettingsView]:
    page = SettingsView(settings, engine.services(), save_delay_ms=50, level_seconds=0.1)
    qtbot.addWidget(page)
    page.resize(400, 800)
    page.show()
    jobs = page.jobs
    qtbot.waitUntil(lambda: jobs.running == 0)  # device and model lists loaded
    yield page
    engine.release.set()
    page.shutdown(wait=True)


def _saved(settings: Settings) -> dict[str, Any]:
    return tomllib.loads(settings.path.read_text()) if settings.path.exists() else {}


def test_every_setting_has_a_named_keyboard_control(view: SettingsView) -> None:
    assert set(view.rows) == {s.key for s in SCHEMA}
    for key, row in view.rows.items():
        control = row.control
        assert control.accessibleName(), key
        assert control.focusPolicy() & Qt.FocusPolicy.TabFocus, key
    for line in [*view.checks.level.values(), view.checks.verify, view.checks.connection]:
        assert line.button.accessibleName()


def test_a_locked_setting_is_read_only_and_says_why(view: SettingsView) -> None:
    row = view.rows["privacy.store_audio"]
    assert not row.control.isEnabled()
    assert row.lock_line.isVisible()
    assert row.lock_text.text() == "Locked by IT: Recording calls needs written consent (PRV-7)"
    assert "PRV-7" in row.control.toolTip()
    assert "PRV-7" in row.control.accessibleDescription()
    free = view.rows["privacy.retention_days"]
    assert free.control.isEnabled() and not free.lock_line.isVisible()


def test_a_change_applies_at_once_and_is_saved(
    qtbot: Any, view: SettingsView, settings: Settings
) -> None:
    box = view.rows["window.compact"].control
    assert isinstance(box, QtWidgets.QCheckBox)
    with qtbot.waitSignal(view.setting_changed) as signal:
        qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    assert signal.args == ["window.compact", True]
    assert settings.get("window.compact") is True
    qtbot.waitUntil(lambda: _saved(settings).get("window", {}).get("compact") is True)
    assert view.save_status.text() == "Saved."
    # a combo box: the user picks "Dark"
    combo = view.rows["appearance.theme"].control
    assert isinstance(combo, QtWidgets.QComboBox)
    combo.activated.emit(combo.findData("dark"))
    view.flush()
    assert _saved(settings)["appearance"]["theme"] == "dark"


def test_a_bad_value_shows_an_error_and_is_not_saved(
    qtbot: Any, view: SettingsView, settings: Settings
) -> None:
    settings.set("llm.backend", "server")
    row = view.rows["llm.server_url"]
    edit = row.control
    assert isinstance(edit, QtWidgets.QLineEdit)
    qtbot.waitUntil(edit.isEnabled)  # the URL is editable only for a server backend
    edit.setText("llm-server:8080")
    edit.editingFinished.emit()
    assert row.error.isVisible() and "not an http(s) URL" in row.error.text()
    assert settings.get("llm.server_url") == ""
    edit.setText("http://llm-server:8080")
    edit.editingFinished.emit()
    assert not row.error.isVisible()
    assert settings.get("llm.server_url") == "http://llm-server:8080"


def test_a_shortcut_used_twice_is_refused(view: SettingsView, settings: Settings) -> None:
    row = view.rows["shortcuts.copy_suggestion"]
    view._edit("shortcuts.copy_suggestion", "Ctrl+Alt+S")
    assert "already the shortcut for 'Start / stop call'" in row.error.text()
    assert settings.get("shortcuts.copy_suggestion") == "Ctrl+Alt+C"


def test_changes_from_elsewhere_update_the_page(
    qtbot: Any, view: SettingsView, settings: Settings
) -> None:
    worker = threading.Thread(
        target=settings.set, args=("privacy.retention_days", 45), kwargs={"save": False}
    )
    with qtbot.waitSignal(view.setting_changed):
        worker.start()
        worker.join()
    spin = view.rows["privacy.retention_days"].control
    assert isinstance(spin, QtWidgets.QSpinBox)
    assert spin.value() == 45


def test_verify_reports_without_blocking_the_gui(
    qtbot: Any, view: SettingsView, engine: FakeEngine
) -> None:
    engine.release.clear()
    line = view.checks.verify
    qtbot.mouseClick(line.button, Qt.MouseButton.LeftButton)  # returns at once: the job waits
    assert not line.button.isEnabled()
    assert line.result.text().startswith("Checking every file of tiny.en")
    ticks = []
    timer_probe = view.startTimer(10)
    view.timerEvent = lambda _e: ticks.append(1)  # type: ignore[method-assign]
    qtbot.wait(100)  # the event loop keeps running meanwhile
    view.killTimer(timer_probe)
    assert len(ticks) >= 3
    engine.release.set()
    qtbot.waitUntil(line.button.isEnabled)
    assert line.result.text() == "Verified: every file of tiny.en matches its checksum."
    assert line.result.property("state") == "ok"
    assert engine.verify_threads and engine.verify_threads[0].startswith("settings-job")


def test_level_test_shows_levels_and_a_missing_device_is_a_message(
    qtbot: Any, view: SettingsView, engine: FakeEngine
) -> None:
    line = view.checks.level["audio.agent_device"]
    assert line.meter is not None
    seen: list[int] = []
    line.meter.valueChanged.connect(seen.append)
    qtbot.mouseClick(line.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(line.button.isEnabled)
    assert -12 in seen and line.result.text() == "Working (peak -12 dB)."
    engine.level_error = AudioError("no audio input matches 'Jabra'", "plug the headset in")
    qtbot.mouseClick(line.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(line.button.isEnabled)
    assert line.result.text() == "no audio input matches 'Jabra'. Fix: plug the headset in"
    assert line.result.property("state") == "fail"


def test_device_lists_fill_in_from_the_worker(view: SettingsView) -> None:
    combo = view.rows["audio.customer_device"].control
    assert isinstance(combo, QtWidgets.QComboBox)
    items = [combo.itemText(i) for i in range(combo.count())]
    assert items == ["System default", "pulse", "Jabra Evolve2 40", "pulse:softphone.monitor"]
    models = view.rows["speech.model"].control
    assert isinstance(models, QtWidgets.QComboBox)
    assert models.currentData() == "tiny.en" and models.count() == 2


def test_a_damaged_settings_file_shows_a_banner(qtbot: Any, tmp_path: Path, engine: FakeEngine) -> None:
    path = tmp_path / "cfg" / "settings.toml"
    path.parent.mkdir(parents=True)
    path.write_text("[window\n")
    page = SettingsView(Settings.load(path, load_policy(tmp_path / "none.toml")), engine.services())
    qtbot.addWidget(page)
    assert len(page.banners) == 1
    assert "moved to" in page.banners[0].findChild(QtWidgets.QLabel).text()
    page.shutdown(wait=True)


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_render_the_page(qtbot: Any, view: SettingsView, tmp_path: Path, mode: str) -> None:
    from agent_assist.ui import theme

    app = QtWidgets.QApplication.instance()
    assert isinstance(app, QtWidgets.QApplication)
    theme.apply_theme(app, mode)  # type: ignore[arg-type]
    try:
        view.checks.run_verify()
        qtbot.waitUntil(view.checks.verify.button.isEnabled)
        view.resize(400, view.page.sizeHint().height() + 4)  # the whole page, no scrolling
        qtbot.wait(20)
        out = tmp_path / f"settings-{mode}.png"
        assert view.grab().save(str(out))
        assert out.stat().st_size > 10_000
    finally:
        theme.apply_theme(app, "light")


@pytest.mark.slow
@pytest.mark.model
def test_real_verify_of_tiny_en(
    qtbot: Any, models_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from agent_assist.ui.settings import default_services

    monkeypatch.setenv("AGENT_ASSIST_HOME", str(models_home))
    settings = Settings.load(tmp_path / "settings.toml", load_policy(tmp_path / "none.toml"))
    page = SettingsView(settings, default_services())
    qtbot.addWidget(page)
    try:
        page.checks.run_verify()
        qtbot.waitUntil(page.checks.verify.button.isEnabled, timeout=60_000)
        assert page.checks.verify.result.text() == (
            "Verified: every file of whisper-tiny.en matches its checksum."
        )
    finally:
        page.shutdown(wait=True)


def test_a_shortcut_that_cannot_be_global_says_so_under_it(
    qtbot: Any, settings: Settings, engine: FakeEngine
) -> None:
    from agent_assist.ui.hotkeys import GlobalHotkeys
    from agent_assist.ui.qt import QtWidgets

    holder = QtWidgets.QWidget()  # stands in for the sidebar window that owns both
    qtbot.addWidget(holder)
    hotkeys = GlobalHotkeys(holder)  # offscreen: no system-wide backend
    hotkeys.bind("shortcuts.start_stop_call", "Ctrl+Alt+S")
    page = SettingsView(settings, engine.services(), holder, save_delay_ms=50)
    QtWidgets.QVBoxLayout(holder).addWidget(page)
    holder.show()
    row = page.rows["shortcuts.start_stop_call"]
    qtbot.waitUntil(row.note.isVisible)
    assert "global shortcut unavailable" in row.note.text() and "focus" in row.note.text()
    assert not page.rows["shortcuts.copy_suggestion"].note.isVisible()  # not bound here: nothing to say
    engine.release.set()
    page.shutdown(wait=True)
    hotkeys.close()
