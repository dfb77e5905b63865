"""After the call: the editable summary, the disposition, the coaching note, and Save.

``CallEnded`` shows "Waiting for the summary…"; ``CallSummaryReady`` fills the
form from ``summary_json`` (the schema of ``llm/schema.py``: reason, key
facts, identifiers, actions, resolution, follow-ups, sentiment at start and
end, disposition) and preselects its disposition in the picker
(``set_dispositions([(code, label), ...])``, the pack's codes). A summary made
by rules (``fallback``) is marked as such, so the agent reads it with care.
``NoteReady`` of kind "coaching" shows read-only. Save emits
``save_requested(call_id, summary_json, disposition)`` with the edited fields
serialised back to the same JSON shape (normalised to the schema: lists one
item per line, lengths cut at a word). ``CallStarted`` clears it all.

Thread rules: GUI thread only.
"""

from __future__ import annotations

import json
from typing import Any

from agent_assist.domain import CallEnded, CallStarted, CallSummaryReady, Event, NoteReady
from agent_assist.llm.schema import NO_DISPOSITION, SENTIMENTS, SUMMARY_KEYS, normalise, summary_schema
from agent_assist.ui.panels._common import card_frame, chip, label, set_prop
from agent_assist.ui.qt import Qt, QtCore, QtGui, QtWidgets, Signal
from agent_assist.ui.theme import GRID

__all__ = ["WrapupView"]

_TEXT_FIELDS = (("reason_for_contact", "Reason for contact"), ("resolution", "Resolution"))
_LIST_FIELDS = (
    ("key_facts", "Key facts"),
    ("identifiers", "Identifiers"),
    ("actions_taken", "Actions taken"),
    ("follow_ups", "Follow-ups"),
)


class _Lines(QtWidgets.QPlainTextEdit):
    """A small plain-text box that grows with its lines (up to ``max_lines``)."""

    def __init__(self, min_lines: int = 1, max_lines: int = 6) -> None:
        super().__init__()
        self.setTabChangesFocus(True)
        self.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.WidgetWidth)
        self._min, self._max = min_lines, max_lines
        self.document().documentLayout().documentSizeChanged.connect(lambda _size: self._fit())
        self._fit()

    def _fit(self) -> None:
        lines = int(self.document().size().height())  # a plain-text document measures in lines
        shown = max(self._min, min(self._max, lines))
        policy = (
            Qt.ScrollBarPolicy.ScrollBarAsNeeded
            if lines > self._max
            else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )
        self.setVerticalScrollBarPolicy(policy)
        frame = 2 * self.frameWidth() + 2 * int(self.document().documentMargin())
        self.setFixedHeight(shown * self.fontMetrics().lineSpacing() + frame + 2)

    def changeEvent(self, event: QtCore.QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QtCore.QEvent.Type.StyleChange, QtCore.QEvent.Type.FontChange):
            self._fit()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self._fit()


class WrapupView(QtWidgets.QWidget):
    """The wrap-up form; see the module doc."""

    save_requested = Signal(str, str, str)  # call id, summary JSON, disposition code

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        self.call_id = ""
        self._summary: dict[str, Any] = {}
        self._state = "idle"  # idle | waiting | ready | saved

        self.status = label("The call's summary appears here when it ends.", "muted", wrap=True)
        self.status.setAccessibleName("Wrap-up status")
        self.kind = chip("", "")

        self.form = QtWidgets.QWidget()
        form = QtWidgets.QVBoxLayout(self.form)
        form.setContentsMargins(0, 0, 0, 0)
        form.setSpacing(GRID // 2)
        self.fields: dict[str, _Lines] = {}
        for key, title in (*_TEXT_FIELDS[:1], *_LIST_FIELDS, *_TEXT_FIELDS[1:]):
            is_list = key not in dict(_TEXT_FIELDS)
            editor = _Lines(1, 6 if is_list else 3)
            editor.setAccessibleName(title)
            if is_list:
                editor.setAccessibleDescription("One item per line")
                editor.setPlaceholderText("One per line")
            self.fields[key] = editor
            self._add(form, title, editor)

        self.sentiment_start = QtWidgets.QComboBox()
        self.sentiment_end = QtWidgets.QComboBox()
        for combo, name in (
            (self.sentiment_start, "Sentiment at start"),
            (self.sentiment_end, "Sentiment at end"),
        ):
            combo.addItems([s.capitalize() for s in SENTIMENTS])
            combo.setAccessibleName(name)
        sentiments = QtWidgets.QHBoxLayout()
        sentiments.setSpacing(GRID)
        for combo, title in (
            (self.sentiment_start, "Sentiment at start"),
            (self.sentiment_end, "At end"),
        ):
            column = QtWidgets.QVBoxLayout()
            column.setSpacing(GRID // 2)
            self._add(column, title, combo)
            sentiments.addLayout(column, 1)
        form.addLayout(sentiments)

        self.disposition = QtWidgets.QComboBox()
        self.disposition.setAccessibleName("Disposition")
        self.disposition.setAccessibleDescription("The outcome code stored with the call")
        self._add(form, "Disposition", self.disposition)

        self.note_card, note_box = card_frame()
        note_box.addWidget(label("COACHING NOTE", "heading"))
        self.note = label("", wrap=True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note.setAccessibleName("Coaching note")
        note_box.addWidget(self.note)
        self.note_card.hide()

        self.save_button = QtWidgets.QPushButton("Save wrap-up")
        self.save_button.setProperty("accent", True)
        self.save_button.setAccessibleName("Save wrap-up")
        self.save_button.setAccessibleDescription(
            "Store the edited summary and disposition with the call"
        )
        self.save_button.clicked.connect(self.save)
        self.saved_label = label("", "caption")
        save_row = QtWidgets.QHBoxLayout()
        save_row.addWidget(self.saved_label, 1)
        save_row.addWidget(self.save_button)
        form.addSpacing(GRID // 2)
        form.addLayout(save_row)

        head = QtWidgets.QHBoxLayout()
        head.addWidget(label("WRAP-UP", "heading"))
        head.addStretch(1)
        head.addWidget(self.kind)

        content = QtWidgets.QWidget()
        box = QtWidgets.QVBoxLayout(content)
        box.setContentsMargins(GRID * 2, GRID, GRID * 2, GRID * 2)
        box.setSpacing(GRID)
        box.addLayout(head)
        box.addWidget(self.status)
        box.addWidget(self.form)
        box.addWidget(self.note_card)
        box.addStretch(1)
        self.scroll_area = QtWidgets.QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll_area.setWidget(content)
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll_area)
        self._show_state("idle")

    @staticmethod
    def _add(layout: QtWidgets.QVBoxLayout, title: str, editor: QtWidgets.QWidget) -> None:
        caption = label(title, "caption")
        caption.setBuddy(editor)
        layout.addWidget(caption)
        layout.addWidget(editor)

    # -- events ----------------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        if isinstance(event, CallStarted):
            self.call_id = event.call_id
            self._summary = {}
            self.note.setText("")
            self.note_card.hide()
            self._show_state("idle")
        elif isinstance(event, CallEnded):
            self.call_id = event.call_id
            if self._state != "ready":
                self._show_state("waiting")
        elif isinstance(event, CallSummaryReady):
            self.call_id = event.call_id
            self._fill(event)
        elif isinstance(event, NoteReady) and event.kind == "coaching":
            self.note.setText(event.text)
            self.note_card.show()

    # -- public ----------------------------------------------------------------------------------

    def set_dispositions(self, dispositions: list[tuple[str, str]]) -> None:
        """The pack's disposition codes with their labels; keeps the current choice if still offered."""
        current = self.disposition_code()
        self.disposition.clear()
        for code, title in dispositions:
            self.disposition.addItem(title or code, code)
            self.disposition.setItemData(self.disposition.count() - 1, code, Qt.ItemDataRole.ToolTipRole)
        if current:
            self._select_disposition(current)

    def set_compact(self, compact: bool) -> None:
        """Compact: the coaching note is folded away (it stays in the call record)."""
        self.note_card.setVisible(not compact and bool(self.note.text()))

    def disposition_code(self) -> str:
        data = self.disposition.currentData()
        return str(data) if data is not None else ""

    def summary(self) -> dict[str, Any]:
        """The edited summary in the schema's shape (what Save sends)."""
        data: dict[str, Any] = dict(self._summary)
        for key, editor in self.fields.items():
            text = editor.toPlainText()
            if key in dict(_TEXT_FIELDS):
                data[key] = " ".join(text.split())
            else:
                data[key] = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
        data["sentiment_start"] = SENTIMENTS[max(0, self.sentiment_start.currentIndex())]
        data["sentiment_end"] = SENTIMENTS[max(0, self.sentiment_end.currentIndex())]
        data["disposition"] = self.disposition_code() or NO_DISPOSITION
        codes = [str(self.disposition.itemData(i)) for i in range(self.disposition.count())]
        data = normalise({k: data.get(k, "") for k in SUMMARY_KEYS}, summary_schema(codes))
        return {k: data[k] for k in SUMMARY_KEYS}

    def save(self) -> None:
        if self._state not in ("ready", "saved") or not self.call_id:
            return
        data = self.summary()
        self.save_requested.emit(self.call_id, json.dumps(data, ensure_ascii=False), data["disposition"])

    def mark_saved(self, ok: bool = True, message: str = "") -> None:
        """The window reports how Save went."""
        self.saved_label.setText(("Saved" if ok else "Not saved") + (f": {message}" if message else ""))
        if ok:
            self._state = "saved"

    @property
    def state(self) -> str:
        """ "idle", "waiting", "ready" or "saved"."""
        return self._state

    # -- internals -------------------------------------------------------------------------------

    def _show_state(self, state: str) -> None:
        self._state = state
        texts = {
            "idle": "The call's summary appears here when it ends.",
            "waiting": "Waiting for the summary…",
        }
        self.status.setText(texts.get(state, ""))
        self.status.setVisible(state in texts)
        self.form.setVisible(state not in texts)
        self.kind.setVisible(state not in texts)
        self.saved_label.setText("")

    def _fill(self, event: CallSummaryReady) -> None:
        try:
            data = json.loads(event.summary_json)
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        self._summary = data
        for key, editor in self.fields.items():
            value = data.get(key, "")
            editor.setPlainText(
                "\n".join(map(str, value)) if isinstance(value, list) else str(value or "")
            )
        for combo, key in (
            (self.sentiment_start, "sentiment_start"),
            (self.sentiment_end, "sentiment_end"),
        ):
            value = str(data.get(key, "neutral")).lower()
            combo.setCurrentIndex(
                SENTIMENTS.index(value) if value in SENTIMENTS else SENTIMENTS.index("neutral")
            )
        self._select_disposition(event.disposition or str(data.get("disposition", "")))
        if event.fallback or not event.valid:
            self.kind.setText("Made by rules")
            set_prop(self.kind, "state", "warning")
            self.kind.setToolTip("The model's summary was not usable, so this one was made from the transcript "
                                 "by rules. Check it before saving.")  # fmt: skip
        else:
            self.kind.setText("Drafted by the model")
            set_prop(self.kind, "state", "accent")
            self.kind.setToolTip(
                f"Written by {event.model or 'the local model'}; edit anything before saving."
            )
        self.kind.setAccessibleDescription(self.kind.toolTip())
        self._show_state("ready")

    def _select_disposition(self, code: str) -> None:
        if not code:
            return
        index = self.disposition.findData(code)
        if index < 0:
            self.disposition.addItem(code, code)
            index = self.disposition.count() - 1
        self.disposition.setCurrentIndex(index)
