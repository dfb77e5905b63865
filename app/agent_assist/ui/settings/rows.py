"""One row of the Settings page per setting, generated from its schema entry.

``SettingRow`` holds the title, the control (chosen from the setting's
``kind``/``editor``: check box, combo box, spin box, line edit, key sequence
edit), the description, a lock line (icon + "Locked by IT: reason") and an
error line. The row reports user edits through ``on_change(value)``; the page
validates and stores them. ``set_value`` updates the control without
reporting back (signals blocked).

Thread rules: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent_assist.config import Setting
from agent_assist.ui import theme
from agent_assist.ui.qt import QSize, Qt, QtGui, QtWidgets

__all__ = ["SettingRow", "lock_icon"]

_INLINE = {"bool", "choice", "int", "float"}  # short controls sit right of the title

_LOCK_SVG = (
    '<rect x="5" y="11" width="14" height="10" rx="2"/><path d="M8 11V7a4 4 0 0 1 8 0v4"/>'
    '<path d="M12 15v2"/>'
)


def lock_icon(size: int = 14) -> QtGui.QPixmap:
    """A padlock drawn in the theme's warning colour (crisp at the screen's pixel ratio)."""
    screen = QtGui.QGuiApplication.primaryScreen()
    dpr = screen.devicePixelRatio() if screen is not None else 1.0
    px = max(1, round(size * dpr))
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" viewBox="0 0 24 24" '
        f'fill="none" stroke="{theme.tokens().warning}" stroke-width="2" stroke-linecap="round" '
        f'stroke-linejoin="round">{_LOCK_SVG}</svg>'
    )
    pixmap = QtGui.QPixmap()
    pixmap.loadFromData(svg.encode(), "SVG")
    pixmap.setDevicePixelRatio(dpr)
    return pixmap


class SettingRow(QtWidgets.QFrame):
    """Title, control, description, lock and error lines for ``setting``."""

    def __init__(
        self,
        setting: Setting,
        value: Any,
        on_change: Callable[[str, Any], None],
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setting = setting
        self._on_change = on_change
        self.setObjectName("settingRow")
        self.setProperty("key", setting.key)
        layout = QtWidgets.QVBoxLayout(self)
        self.body = layout
        layout.setContentsMargins(0, 6, 0, 6)
        layout.setSpacing(4)

        self.title = QtWidgets.QLabel(setting.label)
        self.title.setProperty("role", "title")
        self.control = self._make_control(setting)
        self.control.setAccessibleName(setting.label)
        self.control.setAccessibleDescription(setting.description)
        self.control.setToolTip(setting.description)
        self.control.setObjectName(f"setting:{setting.key}")
        self.title.setBuddy(self.control)
        if setting.kind in _INLINE and setting.editor == "auto":
            top = QtWidgets.QHBoxLayout()
            top.setSpacing(8)
            top.addWidget(self.title, 1)
            top.addWidget(self.control, 0, Qt.AlignmentFlag.AlignRight)
            layout.addLayout(top)
        else:
            layout.addWidget(self.title)
            layout.addWidget(self.control)

        self.action_bar = QtWidgets.QHBoxLayout()  # the page adds test/verify buttons here
        self.action_bar.setSpacing(8)
        layout.addLayout(self.action_bar)

        self.description = QtWidgets.QLabel(setting.description)
        self.description.setProperty("role", "caption")
        self.description.setWordWrap(True)
        layout.addWidget(self.description)

        self.lock_line = QtWidgets.QWidget()
        self.lock_line.setObjectName("lockLine")
        lock_layout = QtWidgets.QHBoxLayout(self.lock_line)
        lock_layout.setContentsMargins(0, 0, 0, 0)
        lock_layout.setSpacing(6)
        self.lock_icon = QtWidgets.QLabel()
        self.lock_icon.setPixmap(lock_icon())
        self.lock_icon.setFixedSize(QSize(14, 14))
        self.lock_text = QtWidgets.QLabel()
        self.lock_text.setObjectName("lockText")
        self.lock_text.setWordWrap(True)
        lock_layout.addWidget(self.lock_icon, 0, Qt.AlignmentFlag.AlignTop)
        lock_layout.addWidget(self.lock_text, 1)
        self.lock_line.hide()
        layout.addWidget(self.lock_line)

        self.error = QtWidgets.QLabel()
        self.error.setObjectName("settingError")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        self.note = QtWidgets.QLabel()  # a fact about the setting here, not a mistake
        self.note.setObjectName("lockText")
        self.note.setWordWrap(True)
        self.note.hide()
        layout.addWidget(self.note)
        self.set_value(value)

    # ---- the control ---------------------------------------------------
    def _make_control(self, s: Setting) -> QtWidgets.QWidget:
        if s.kind == "bool":
            box = QtWidgets.QCheckBox()
            box.toggled.connect(lambda on: self._changed(bool(on)))
            return box
        if s.kind == "choice":
            combo = QtWidgets.QComboBox()
            for value, label in s.choices:
                combo.addItem(label, value)
            combo.activated.connect(lambda i: self._changed(combo.itemData(i)))
            return combo
        if s.kind == "int":
            spin = QtWidgets.QSpinBox()
            spin.setRange(int(s.minimum or 0), int(s.maximum if s.maximum is not None else 1_000_000))
            spin.setSuffix(s.suffix)
            spin.setMinimumWidth(110)
            spin.valueChanged.connect(lambda v: self._changed(int(v)))
            return spin
        if s.kind == "float":
            dspin = QtWidgets.QDoubleSpinBox()
            dspin.setRange(float(s.minimum or 0), float(s.maximum if s.maximum is not None else 1e9))
            dspin.setSuffix(s.suffix)
            dspin.valueChanged.connect(lambda v: self._changed(float(v)))
            return dspin
        if s.editor == "shortcut":
            keys = QtWidgets.QKeySequenceEdit()
            keys.setClearButtonEnabled(True)
            keys.setMaximumSequenceLength(1)
            keys.editingFinished.connect(lambda: self._changed(self._shortcut_text()))
            keys.keySequenceChanged.connect(lambda seq: self._changed("") if seq.isEmpty() else None)
            return keys
        if s.editor in ("device", "speech_model", "llm_model"):
            combo = QtWidgets.QComboBox()
            combo.setEditable(s.editor != "speech_model")
            combo.setInsertPolicy(QtWidgets.QComboBox.InsertPolicy.NoInsert)
            combo.setSizeAdjustPolicy(
                QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(12)
            combo.activated.connect(lambda i: self._changed(self._combo_value(combo, i)))
            line = combo.lineEdit()
            if line is not None:
                if s.editor == "device":
                    line.setPlaceholderText("System default")
                line.editingFinished.connect(lambda: self._changed(combo.currentText().strip()))
            return combo
        edit = QtWidgets.QLineEdit()
        if s.editor == "url":
            edit.setPlaceholderText("http://llm-server:8080")
        edit.editingFinished.connect(lambda: self._changed(edit.text().strip()))
        return edit

    def _shortcut_text(self) -> str:
        assert isinstance(self.control, QtWidgets.QKeySequenceEdit)
        return self.control.keySequence().toString(QtGui.QKeySequence.SequenceFormat.PortableText)

    @staticmethod
    def _combo_value(combo: QtWidgets.QComboBox, index: int) -> str:
        data = combo.itemData(index)
        return str(data) if data is not None else combo.itemText(index).strip()

    def _changed(self, value: Any) -> None:
        self._on_change(self.setting.key, value)

    # ---- the page's calls ----------------------------------------------
    def set_value(self, value: Any) -> None:
        """Show ``value`` without reporting it as an edit."""
        c = self.control
        blocked = c.blockSignals(True)
        try:
            if isinstance(c, QtWidgets.QCheckBox):
                c.setChecked(bool(value))
            elif isinstance(c, QtWidgets.QSpinBox):
                c.setValue(int(value))
            elif isinstance(c, QtWidgets.QDoubleSpinBox):
                c.setValue(float(value))
            elif isinstance(c, QtWidgets.QKeySequenceEdit):
                c.setKeySequence(
                    QtGui.QKeySequence.fromString(
                        str(value), QtGui.QKeySequence.SequenceFormat.PortableText
                    )
                )
            elif isinstance(c, QtWidgets.QComboBox):
                self._select(c, str(value))
            elif isinstance(c, QtWidgets.QLineEdit) and c.text() != value:
                c.setText(str(value))
        finally:
            c.blockSignals(blocked)

    @staticmethod
    def _select(combo: QtWidgets.QComboBox, value: str) -> None:
        index = combo.findData(value)
        if index < 0:
            index = combo.findText(value)
        if index < 0 and combo.isEditable():
            combo.setEditText(value)
            return
        if index < 0:  # a value not in the list (yet): show it anyway
            combo.addItem(value or "(none)", value)
            index = combo.count() - 1
        combo.setCurrentIndex(index)

    def set_items(self, items: list[tuple[str, str]], current: Any) -> None:
        """Replace a combo box's (label, value) items, keeping ``current`` selected."""
        combo = self.control
        if not isinstance(combo, QtWidgets.QComboBox):
            return
        blocked = combo.blockSignals(True)
        try:
            combo.clear()
            for label, value in items:
                combo.addItem(label, value)
        finally:
            combo.blockSignals(blocked)
        self.set_value(current)

    def set_locked(self, reason: str | None) -> None:
        """Read-only with the lock line showing ``reason``; ``None`` unlocks."""
        locked = reason is not None
        self.control.setEnabled(not locked)
        theme.set_prop(self, "locked", locked)
        if locked:
            text = f"Locked by IT: {reason}"
            self.lock_text.setText(text)
            self.lock_line.setToolTip(text)
            self.control.setToolTip(f"{self.setting.description}\n\n{text}")
            self.control.setAccessibleDescription(f"{text}. {self.setting.description}")
        self.lock_line.setVisible(locked)

    def show_error(self, text: str | None) -> None:
        self.error.setText(text or "")
        self.error.setVisible(bool(text))

    def show_note(self, text: str | None) -> None:
        self.note.setText(text or "")
        self.note.setVisible(bool(text))
