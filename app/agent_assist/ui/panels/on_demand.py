"""The engine's on-demand requests as the panels see them: a Future's outcome, the words
for its failure, and the hand-over note dialog.

Why apart from ``ask_view``: the controller reads Futures (``outcome``) without needing
the panel, and the dialog is a window of its own.

Thread rules: ``outcome`` and ``failure_text`` on any thread (no Qt; ``outcome`` only
reads a finished Future); ``NoteDialog`` on the GUI thread.
"""

from __future__ import annotations

from concurrent.futures import CancelledError, Future
from typing import Any

from agent_assist.errors import UserError
from agent_assist.ui.panels._common import label, set_prop
from agent_assist.ui.qt import QtGui, QTimer, QtWidgets
from agent_assist.ui.theme import GRID

__all__ = ["NoteDialog", "failure_text", "outcome"]


def outcome(future: Future[Any]) -> object:
    """A finished Future's result, or its exception (``CancelledError`` when cancelled).

    Any thread; never waits (call it only once ``future`` is done)."""
    if future.cancelled():
        return CancelledError()
    return future.exception() or future.result()


def failure_text(error: object, what: str) -> tuple[str, str]:
    """(message, fix) for a failed request: a ``UserError`` says its own; others are named."""
    if isinstance(error, UserError):
        return error.message, error.fix or ""
    if isinstance(error, CancelledError):
        return f"The {what} was cancelled.", "Try again."
    return f"The {what} failed: {error}", "Try again; the log file has the details."


class NoteDialog(QtWidgets.QDialog):
    """The hand-over note: writing…, then the text (read-only, selectable), Copy and Close.

    Non-modal (the call goes on beside it); Esc or Close hides it and it is reused."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noteDialog")
        self.setWindowTitle("Hand-over note")
        self.setAccessibleName("Hand-over note")
        self.resize(420, 320)
        self.status = label("", "muted", wrap=True)
        self.status.setAccessibleName("Hand-over note status")
        self.text = QtWidgets.QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setAccessibleName("Hand-over note text")
        self.text.setTabChangesFocus(True)
        self.copy_button = QtWidgets.QPushButton("Copy")
        self.copy_button.setAccessibleName("Copy hand-over note")
        self.copy_button.setToolTip("Copy the note to paste into the ticket or transfer")
        self.copy_button.setProperty("accent", True)
        self.copy_button.clicked.connect(self.copy_text)
        self.close_button = QtWidgets.QPushButton("Close")
        self.close_button.setAccessibleName("Close hand-over note")
        self.close_button.clicked.connect(self.close)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.close_button)
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(GRID * 2, GRID * 2, GRID * 2, GRID * 2)
        box.setSpacing(GRID)
        box.addWidget(self.status)
        box.addWidget(self.text, 1)
        box.addLayout(buttons)
        self.set_busy()

    def set_busy(self) -> None:
        self._show("Writing the hand-over note from the call so far…", "", tentative=True)

    def set_note(self, text: str) -> None:
        self._show("", text, tentative=False)
        self.copy_button.setFocus()

    def set_error(self, message: str, fix: str = "") -> None:
        self._show(message + (f"\n{fix}" if fix else ""), "", tentative=False)
        self.close_button.setFocus()

    @property
    def note(self) -> str:
        return self.text.toPlainText()

    def copy_text(self) -> None:
        if not self.note:
            return
        QtGui.QGuiApplication.clipboard().setText(self.note)
        self.copy_button.setText("Copied")
        QTimer.singleShot(1500, self.copy_button, lambda: self.copy_button.setText("Copy"))

    def _show(self, status: str, text: str, *, tentative: bool) -> None:
        self.status.setText(status)
        self.status.setVisible(bool(status))
        set_prop(self.status, "tentative", tentative)
        self.text.setPlainText(text)
        self.text.setVisible(bool(text))
        self.copy_button.setEnabled(bool(text))
