"""``SettingsView``: the Settings page of the sidebar, generated from the settings schema.

One scrolling page of section cards (Audio, Speech model, Assistant, Knowledge,
Privacy, Appearance, Shortcuts, Supervisor), one ``SettingRow`` per setting.
Edits apply at once (``Settings.set``) and are saved after a short pause
(debounced, atomic); ``setting_changed(key, value)`` tells the window. A
setting the IT policy locks is read-only with a padlock and the reason in
words. Slow checks (device level test, model verification, server probe) run
on ``JobRunner`` workers and report back by queued signal: the page never
blocks.

The window shows it in its stack; call ``shutdown()`` before the app exits
(saves pending changes, stops workers).

Thread rules: GUI thread only. ``Settings`` change callbacks may arrive from
any thread; they are re-emitted through a queued-if-needed signal.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

from agent_assist.config import SECTIONS, ConfigError, SettingLocked, Settings, settings_in
from agent_assist.errors import UserError
from agent_assist.ui import theme
from agent_assist.ui.qt import QObject, Qt, QTimer, QtWidgets, Signal, Slot
from agent_assist.ui.settings.checks import Checks
from agent_assist.ui.settings.jobs import JobRunner
from agent_assist.ui.settings.rows import SettingRow
from agent_assist.ui.settings.services import ModelChoice, SettingsServices, default_services

__all__ = ["SettingsView"]

SHORTCUT_KEYS = ("shortcuts.start_stop_call", "shortcuts.copy_suggestion", "shortcuts.toggle_sidebar")


def _chevron(colour: str, direction: str) -> str:
    """A chevron SVG file for the style sheet (sheets take images from files only), made once."""
    folder = Path(tempfile.gettempdir()) / "agent-assist-ui"
    path = folder / f"chevron-{direction}-{colour.lstrip('#')}.svg"
    if not path.exists():
        d = "M6 9l6 6 6-6" if direction == "down" else "M6 15l6-6 6 6"
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24" '
            f'fill="none" stroke="{colour}" stroke-width="2.4" stroke-linecap="round" '
            f'stroke-linejoin="round"><path d="{d}"/></svg>'
        )
        with contextlib.suppress(OSError):  # no arrow is only cosmetic
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(svg, encoding="utf-8")
    return path.as_posix()


def _sheet(t: theme.Tokens) -> str:
    return f"""
QLabel#pageTitle {{ font-size: 13pt; font-weight: 600; }}
QLabel#sectionTitle {{ font-weight: 600; color: {t.muted}; font-size: 8pt; letter-spacing: 0.6px; }}
QFrame#rowDivider {{ background: {t.border}; border: none; min-height: 1px; max-height: 1px; }}
QFrame#settingRow[locked="true"] QLabel[role="title"] {{ color: {t.muted}; }}
QLabel#lockText {{ color: {t.warning}; font-size: 8pt; }}
QLabel#settingError {{ color: {t.danger}; font-size: 8pt; }}
QLabel#checkResult {{ font-size: 8pt; color: {t.muted}; }}
QLabel#checkResult[state="ok"] {{ color: {t.success}; }}
QLabel#checkResult[state="fail"] {{ color: {t.danger}; }}
QLabel#saveStatus {{ color: {t.muted}; font-size: 8pt; }}
QLabel#saveStatus[state="fail"] {{ color: {t.danger}; }}
QProgressBar#levelMeter {{ background: {t.surface_alt}; border: none; border-radius: 3px;
    min-height: 6px; max-height: 6px; }}
QProgressBar#levelMeter::chunk {{ background: {t.success}; border-radius: 3px; }}
QAbstractSpinBox, QKeySequenceEdit QLineEdit {{ background: {t.surface}; border: 1px solid {t.border};
    border-radius: 6px; padding: 3px 6px; }}
QComboBox::drop-down {{ border: none; width: 22px; }}
QComboBox::down-arrow {{ image: url({_chevron(t.muted, "down")}); width: 10px; height: 10px; }}
QComboBox::down-arrow:disabled {{ image: url({_chevron(t.border, "down")}); }}
QAbstractSpinBox::up-button, QAbstractSpinBox::down-button {{ border: none; width: 18px; }}
QAbstractSpinBox::up-arrow {{ image: url({_chevron(t.muted, "up")}); width: 8px; height: 8px; }}
QAbstractSpinBox::down-arrow {{ image: url({_chevron(t.muted, "down")}); width: 8px; height: 8px; }}
QAbstractSpinBox::up-arrow:disabled, QAbstractSpinBox::down-arrow:disabled {{ image: none; }}
QAbstractSpinBox:focus, QKeySequenceEdit QLineEdit:focus {{ border: 1px solid {t.accent}; }}
QAbstractSpinBox:disabled, QLineEdit:disabled, QComboBox:disabled {{ background: {t.surface_alt};
    color: {t.muted}; }}
"""


class SettingsView(QtWidgets.QWidget):
    """The Settings page for ``settings`` (``services``: the engine calls; fakes in tests)."""

    setting_changed = Signal(str, object)  # key, new effective value (every change, any source)
    save_failed = Signal(str)  # the disk refused the settings file; changes still apply
    _external = Signal(str, object)  # Settings callback, hopped to the GUI thread

    def __init__(
        self,
        settings: Settings,
        services: SettingsServices | None = None,
        parent: QtWidgets.QWidget | None = None,
        *,
        save_delay_ms: int = 400,
        level_seconds: float = 3.0,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("settingsView")
        self.settings = settings
        self.services = services or default_services()
        self.jobs = JobRunner(self)
        self.level_seconds = level_seconds
        self.rows: dict[str, SettingRow] = {}
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(save_delay_ms)
        self._save_timer.timeout.connect(self._save_now)

        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.page = QtWidgets.QWidget()
        self.page.setObjectName("panel")
        self._layout = QtWidgets.QVBoxLayout(self.page)
        self._layout.setContentsMargins(12, 12, 12, 12)
        self._layout.setSpacing(12)
        scroll.setWidget(self.page)
        outer.addWidget(scroll)
        self.scroll_area = scroll

        self._header()
        for section in SECTIONS:
            self._section(section)
        self._layout.addStretch(1)
        self.checks = Checks(self)
        self._apply_dependencies()

        self._external.connect(self._on_setting)
        self._unsubscribe = settings.subscribe(self._external.emit)
        theme.notifier().changed.connect(self._restyle)
        self._restyle()
        self._load_lists()

    # ---- building ------------------------------------------------------
    def _header(self) -> None:
        title = QtWidgets.QLabel("Settings")
        title.setObjectName("pageTitle")
        self._layout.addWidget(title)
        self.save_status = QtWidgets.QLabel("Changes apply at once and are saved on this computer.")
        self.save_status.setObjectName("saveStatus")
        self.save_status.setWordWrap(True)
        self._layout.addWidget(self.save_status)
        self.banners: list[QtWidgets.QFrame] = []
        for warning in self.settings.warnings:
            banner = QtWidgets.QFrame()
            banner.setProperty("alert", "warning")
            banner.setObjectName("settingsBanner")
            lay = QtWidgets.QHBoxLayout(banner)
            lay.setContentsMargins(12, 8, 12, 8)
            text = QtWidgets.QLabel(warning)
            text.setWordWrap(True)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            lay.addWidget(text)
            self._layout.addWidget(banner)
            self.banners.append(banner)
        if self.settings.policy.locked:
            note = QtWidgets.QLabel(
                f"Your IT administrator manages {len(self.settings.policy.locked)} of these "
                "settings; they show a padlock and the reason."
            )
            note.setProperty("role", "caption")
            note.setWordWrap(True)
            self._layout.addWidget(note)

    def _section(self, name: str) -> None:
        settings = settings_in(name)
        if not settings:
            return
        card = QtWidgets.QFrame()
        card.setProperty("card", True)
        card.setObjectName("settingsSection")
        card.setAccessibleName(f"{name} settings")
        lay = QtWidgets.QVBoxLayout(card)
        lay.setContentsMargins(14, 10, 14, 10)
        lay.setSpacing(2)
        heading = QtWidgets.QLabel(name.upper())
        heading.setObjectName("sectionTitle")
        lay.addWidget(heading)
        for i, setting in enumerate(settings):
            if i:
                divider = QtWidgets.QFrame()
                divider.setObjectName("rowDivider")
                lay.addWidget(divider)
            row = SettingRow(setting, self.settings.get(setting.key), self._edit)
            row.set_locked(self.settings.lock_reason(setting.key))
            lay.addWidget(row)
            self.rows[setting.key] = row
        self._layout.addWidget(card)

    @Slot(str)
    def _restyle(self, _name: str = "") -> None:
        self.setStyleSheet(_sheet(theme.tokens()))

    def _load_lists(self) -> None:
        """Fill the device and model lists on workers (PortAudio and pactl can take a while)."""

        def devices_done(names: Any, error: BaseException | None) -> None:
            items = [("System default", "")] + [(n, n) for n in (names or [])]
            for key in ("audio.agent_device", "audio.customer_device"):
                self.rows[key].set_items(items, self.settings.get(key))
                if error is not None:
                    self.rows[key].show_error(f"Cannot list audio devices: {_words(error)}")

        def models_done(key: str) -> Any:
            def done(choices: Any, error: BaseException | None) -> None:
                found: list[ModelChoice] = choices or []
                self.rows[key].set_items([(c.label, c.id) for c in found], self.settings.get(key))
                if error is not None:
                    self.rows[key].show_error(f"Cannot list the models: {_words(error)}")

            return done

        self.jobs.start(lambda _p: self.services.list_devices(), devices_done)
        self.jobs.start(lambda _p: self.services.speech_models(), models_done("speech.model"))
        self.jobs.start(lambda _p: self.services.llm_models(), models_done("llm.model"))

    # ---- edits ---------------------------------------------------------
    def _edit(self, key: str, value: Any) -> None:
        """A user edit from a row: validate, apply, schedule the save."""
        row = self.rows[key]
        if value == self.settings.get(key):
            row.show_error(None)
            return
        if (clash := self._shortcut_clash(key, value)) is not None:
            row.show_error(clash)
            row.set_value(self.settings.get(key))
            return
        try:
            self.settings.set(key, value, save=False)
        except SettingLocked as err:
            row.set_value(self.settings.get(key))
            row.set_locked(err.reason)
            return
        except ConfigError as err:
            problem = err.message.split(": ", 1)[-1]
            row.show_error(f"{problem}: {err.fix}." if err.fix else f"{problem}.")
            if not isinstance(row.control, QtWidgets.QLineEdit):
                row.set_value(self.settings.get(key))
            return
        row.show_error(None)
        self._save_timer.start()

    def _shortcut_clash(self, key: str, value: Any) -> str | None:
        if key not in SHORTCUT_KEYS or not value:
            return None
        for other in SHORTCUT_KEYS:
            if other != key and self.settings.get(other) == value:
                return f"{value} is already the shortcut for '{self.rows[other].setting.label}'."
        return None

    @Slot(str, object)
    def _on_setting(self, key: str, value: Any) -> None:
        row = self.rows.get(key)
        if row is not None:
            row.set_value(value)
        self._apply_dependencies()
        self.setting_changed.emit(key, value)

    def _apply_dependencies(self) -> None:
        server = self.settings.get("llm.backend") == "server"
        url = self.rows["llm.server_url"]
        url.control.setEnabled(server and not self.settings.is_locked("llm.server_url"))
        self.checks.connection_button.setEnabled(server)
        language, model = self.settings.get("speech.language"), str(self.settings.get("speech.model"))
        english_only = model.endswith(".en")
        self.rows["speech.language"].show_error(
            f"{model} understands English only: choose base (multilingual) for other languages."
            if english_only and language != "en"
            else None
        )

    # ---- saving --------------------------------------------------------
    @Slot()
    def _save_now(self) -> None:
        try:
            self.settings.save()
        except OSError as exc:
            text = f"Could not save your settings ({exc}); they apply until the app closes."
            self.save_status.setText(text)
            theme.set_prop(self.save_status, "state", "fail")
            self.save_failed.emit(text)
            return
        self.save_status.setText("Saved.")
        theme.set_prop(self.save_status, "state", "ok")

    def flush(self) -> None:
        """Save now if a save is pending."""
        if self._save_timer.isActive() or self.settings.dirty:
            self._save_timer.stop()
            self._save_now()

    def shutdown(self, *, wait: bool = False) -> None:
        """Save pending changes, stop listening to settings, drop running checks."""
        self.flush()
        self._unsubscribe()
        self.jobs.shutdown(wait=wait)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.show_hotkey_notes()

    def show_hotkey_notes(self) -> None:
        """Under each shortcut, why it works only while the sidebar has focus (if it does)."""
        window = self.window()
        hotkeys = window.findChild(QObject, "globalHotkeys") if window is not self else None
        notice = getattr(hotkeys, "notice", None)
        for key in SHORTCUT_KEYS:
            if key in self.rows:
                self.rows[key].show_note(notice(key) if callable(notice) else None)

    def hideEvent(self, event: Any) -> None:  # leaving the page saves at once
        self.flush()
        super().hideEvent(event)


def _words(error: BaseException) -> str:
    if isinstance(error, UserError):
        return f"{error.message}" + (f" (fix: {error.fix})" if error.fix else "")
    return f"{type(error).__name__}: {error}"
