"""Ask the handbook: a question field on the live page, the pack's answer with citations, and
the mid-call hand-over note.

Why here: an agent with a customer on the line needs "what does the handbook say about …"
answered without leaving the sidebar, and a hand-over note the moment a transfer is agreed.
The engine does the work (``AssistEngine.ask`` / ``request_transfer_note`` return Futures);
this panel only asks by signal and shows what comes back.

The agent types a question and presses Enter (``ask_requested(str)``); the panel shows
"Looking it up…" at once and stays usable: a newer question supersedes the shown one, and a
result for any question but the newest is ignored (``show_result``). Esc clears the field,
and on an empty field dismisses the answer (``dismissed``: the controller may cancel the
pending question). The answer shows its [n] markers as links and one chip per citation;
either emits ``citation_clicked(KnowledgeCard)`` so the controller opens the article. "Not in
the knowledge pack" and a failure (the language model is down: the Future's ``UserError``)
each have a state of their own. Copy puts the answer without its markers on the clipboard.

"Hand-over note" (enabled only during a call) emits ``note_requested`` and opens a small
dialog that says it is writing, then shows the note (``show_note`` with the Future's outcome,
or the ``NoteReady`` event, whichever comes first), with Copy and Close.

The dialog and the Future helpers live in ``on_demand``.

Thread rules: GUI thread only.
"""

from __future__ import annotations

import html
import re
from itertools import pairwise
from typing import TYPE_CHECKING, cast

from agent_assist.domain import CallEnded, CallStarted, Event, KnowledgeCard, NoteReady
from agent_assist.ui.panels._common import card_frame, chip, label, set_prop, tool_button
from agent_assist.ui.panels.on_demand import NoteDialog, failure_text
from agent_assist.ui.panels.suggestion_view import strip_citations
from agent_assist.ui.qt import Qt, QtGui, QTimer, QtWidgets, Signal
from agent_assist.ui.theme import GRID, icon, tokens

if TYPE_CHECKING:
    from agent_assist.llm.grounded import Snippet
    from agent_assist.llm.tasks import Answer

__all__ = ["AskView", "as_card"]

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def as_card(snippet: Snippet) -> KnowledgeCard:
    """A cited snippet (a search hit or a card) as the ``KnowledgeCard`` the article reader takes."""
    if isinstance(snippet, KnowledgeCard):
        return snippet
    return KnowledgeCard(snippet.pack, snippet.chunk_id, snippet.doc_id, snippet.title,
                         tuple(snippet.heading_path), snippet.anchor, snippet.text,
                         snippet.similarity)  # fmt: skip


def _linked(text: str, valid: int, colour: str) -> str:
    """``text`` as HTML whose [n] markers are ``cite:n`` links (numbers 1..``valid`` only)."""
    out, last = [], 0
    style = f"color:{colour}; font-weight:600; text-decoration:none"
    for match in _MARKER.finditer(text):
        out.append(html.escape(text[last : match.start()]))
        parts = []
        for raw in match.group(1).split(","):
            n = int(raw)
            parts.append(f'<a href="cite:{n}" style="{style}">{n}</a>' if 0 < n <= valid else str(n))
        out.append(f'<span style="{style}">[</span>{", ".join(parts)}<span style="{style}">]</span>')
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


class _QuestionEdit(QtWidgets.QLineEdit):
    """The question field: Esc is ``escaped`` (not passed on to the window)."""

    escaped = Signal()

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.escaped.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class AskView(QtWidgets.QWidget):
    """The "Ask the handbook" card (see the module doc for states and signals)."""

    ask_requested = Signal(str)  # the question, stripped
    dismissed = Signal()  # the agent cleared the answer (a pending question is no longer wanted)
    citation_clicked = Signal(object)  # KnowledgeCard of the cited snippet
    note_requested = Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        self._pending: str | None = None
        self._answer: Answer | None = None
        self._state = "idle"
        self._call_id = ""
        self._note_pending = False
        self._note_dialog: NoteDialog | None = None

        self.card, inner = card_frame()
        self.card.setAccessibleName("Ask the handbook")
        self.heading = label("ASK THE HANDBOOK", "heading")
        self.note_button = tool_button("Hand-over note", "Hand-over note",
                                       "Write a hand-over note of the call so far (during a call)")  # fmt: skip
        self.note_button.clicked.connect(self.request_note)
        self.note_button.setEnabled(False)
        self.heading.hide()  # one row is enough: the placeholder says what the field does

        self.field = _QuestionEdit()
        self.field.setPlaceholderText("Ask the handbook…")
        self.field.setAccessibleName("Question for the handbook")
        self.field.setAccessibleDescription("Enter asks; Esc clears")
        self.field.returnPressed.connect(self.submit)
        self.field.escaped.connect(self._escape)
        self.ask_button = tool_button("Ask", "Ask", "Answer the question from the knowledge pack")
        self.ask_button.clicked.connect(self.submit)
        ask_row = QtWidgets.QHBoxLayout()
        ask_row.setSpacing(GRID // 2)
        ask_row.addWidget(self.field, 1)
        ask_row.addWidget(self.ask_button)
        ask_row.addWidget(self.note_button)

        self.result = QtWidgets.QWidget()
        self.result.setAccessibleName("Handbook answer")
        self.verdict = chip("", "")
        self.verdict.setAccessibleName("Answer state")
        fixed = QtWidgets.QSizePolicy.Policy.Fixed
        self.verdict.setSizePolicy(QtWidgets.QSizePolicy.Policy.Maximum, fixed)
        self.text = QtWidgets.QLabel()
        self.text.setWordWrap(True)
        self.text.setAccessibleName("Answer")
        self.text.setOpenExternalLinks(False)
        self.text.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        self.text.linkActivated.connect(self._link)
        self.detail = label("", "caption", wrap=True)
        self.detail.setAccessibleName("Answer details")
        self.citations = QtWidgets.QHBoxLayout()
        self.citations.setSpacing(GRID // 2)
        self.copy_button = tool_button("Copy", "Copy answer", "Copy the answer without citation marks")
        self.copy_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.copy_button.setIcon(icon("copy"))
        self.copy_button.clicked.connect(self.copy_text)
        actions = QtWidgets.QHBoxLayout()
        actions.setSpacing(GRID // 2)
        actions.addLayout(self.citations)
        actions.addStretch(1)
        actions.addWidget(self.copy_button)
        result_box = QtWidgets.QVBoxLayout(self.result)
        result_box.setContentsMargins(0, GRID // 2, 0, 0)
        result_box.setSpacing(GRID // 2)
        result_box.addWidget(self.verdict, 0, Qt.AlignmentFlag.AlignLeft)
        result_box.addWidget(self.text)
        result_box.addWidget(self.detail)
        result_box.addLayout(actions)

        inner.addWidget(self.heading)
        inner.addLayout(ask_row)
        inner.addWidget(self.result)
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(GRID * 2, GRID // 2, GRID * 2, GRID // 2)
        box.addWidget(self.card)
        self._render()

    # -- events ----------------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        if isinstance(event, CallStarted):
            self._call_id = event.call_id
            self.set_in_call(True)
        elif isinstance(event, CallEnded):
            self.set_in_call(False)
        elif (
            isinstance(event, NoteReady)
            and event.kind == "transfer"
            and self._note_pending
            and event.call_id == self._call_id
        ):
            self.show_note(event.text)  # before the Future's result: either fills the dialog

    # -- public ----------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """ "idle", "busy", "answer", "not_found" or "error"."""
        return self._state

    @property
    def question(self) -> str | None:
        """The question waiting for its answer (None when nothing is pending)."""
        return self._pending

    @property
    def note_dialog(self) -> NoteDialog | None:
        return self._note_dialog

    def set_in_call(self, in_call: bool) -> None:
        """The hand-over note needs a call: its button is enabled only during one."""
        self.note_button.setEnabled(in_call)

    def submit(self) -> None:
        """Ask the field's question (Enter, the Ask button); a newer one supersedes the shown one."""
        question = " ".join(self.field.text().split())
        if not question:
            return
        self._pending, self._answer = question, None
        self._state = "busy"
        self._render()
        self.ask_requested.emit(question)

    def show_result(self, question: str, result: object) -> None:
        """Show the answer (an ``Answer``) or failure (an exception) of ``question``.

        Ignored unless ``question`` is the newest one asked and not yet answered or dismissed:
        a slow answer to an older question never overwrites a newer one."""
        if question != self._pending:
            return
        self._pending = None
        if isinstance(result, BaseException):
            self._answer = None
            self._state = "error"
            self._render(error=result)
            return
        answer = cast("Answer", result)
        self._answer = answer
        self._state = "answer" if answer.found else "not_found"
        self._render()

    def clear(self) -> None:
        """Empty the field and dismiss the answer (and any pending question)."""
        self.field.clear()
        was_pending = self._pending is not None
        self._pending, self._answer, self._state = None, None, "idle"
        self._render()
        if was_pending:
            self.dismissed.emit()

    def copy_text(self) -> None:
        """Copy the shown answer without its [n] marks (the Copy button)."""
        if self._state != "answer" or self._answer is None:
            return
        QtGui.QGuiApplication.clipboard().setText(strip_citations(self._answer.text))
        self.copy_button.setText("Copied")
        QTimer.singleShot(1500, self.copy_button, lambda: self.copy_button.setText("Copy"))

    def request_note(self) -> None:
        """Open the note dialog and ask for the note (once: a pending request is only shown)."""
        dialog = self._dialog()
        if not self._note_pending:
            self._note_pending = True
            dialog.set_busy()
            self.note_requested.emit()
        dialog.show()
        dialog.raise_()

    def show_note(self, result: object) -> None:
        """Fill the note dialog with the engine's outcome: a ``Note``, its text, or an exception."""
        self._note_pending = False
        dialog = self._dialog()
        text = result if isinstance(result, str) else getattr(result, "text", None)
        if isinstance(result, BaseException):
            dialog.set_error(*failure_text(result, "hand-over note"))
        elif text:
            dialog.set_note(text)
        else:
            why = getattr(result, "backend_error", "") or "the language model gave no text"
            dialog.set_error(f"The hand-over note could not be written: {why}",
                             "Check the language model in the settings, then try again.")  # fmt: skip

    def citation_buttons(self) -> list[QtWidgets.QToolButton]:
        """The citation chips shown (tests, keyboard order)."""
        items = (self.citations.itemAt(i) for i in range(self.citations.count()))
        return [
            w for item in items if item is not None
            for w in (item.widget(),) if isinstance(w, QtWidgets.QToolButton)
        ]  # fmt: skip

    # -- internals -------------------------------------------------------------------------------

    def _dialog(self) -> NoteDialog:
        if self._note_dialog is None:
            self._note_dialog = NoteDialog(self.window())
        return self._note_dialog

    def _escape(self) -> None:
        if self.field.text():
            self.field.clear()
        else:
            self.clear()

    def _link(self, href: str) -> None:
        if href.startswith("cite:"):
            self._cite(int(href.removeprefix("cite:")))

    def _cite(self, n: int) -> None:
        answer = self._answer
        if answer is not None and 0 < n <= len(answer.snippets):
            self.citation_clicked.emit(as_card(answer.snippets[n - 1]))

    def _render(self, error: BaseException | None = None) -> None:
        state, answer = self._state, self._answer
        self._chips(answer if state == "answer" else None)
        self.result.setVisible(state != "idle")
        self.copy_button.setVisible(state == "answer")
        set_prop(self.text, "tentative", state == "busy")
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        detail = ""
        if state == "busy":
            self._verdict("looking it up…", "loading", "Searching the knowledge pack")
            self.text.setText(f"Looking up: {self._pending}")
        elif state == "error":
            message, detail = failure_text(error, "question")
            self._verdict("Unavailable", "down", "The answer could not be made")
            self.text.setText(message)
        elif state == "not_found" and answer is not None:
            self._verdict("No answer", "warning", "Nothing in the installed packs answers this")
            self.text.setText("Not in the knowledge pack")
            detail = f"Nothing in the installed packs answers “{answer.question}”. Try other words."
        elif state == "answer" and answer is not None:
            if answer.extractive:
                self._verdict("From the article", "accent", "Quoted from the cited article")
            else:
                self._verdict("✓ Grounded", "ready", "Every sentence is supported by its citations")
            if answer.verdict is not None:
                self.verdict.setToolTip(f"{self.verdict.toolTip()}\n{answer.verdict.summary}")
            self.text.setTextFormat(Qt.TextFormat.RichText)
            self.text.setText(_linked(answer.text, len(answer.snippets), tokens().accent))
            if answer.backend_error:
                detail = (
                    f"The language model is unavailable ({answer.backend_error}); quoted from the pack."
                )
        plain = strip_citations(answer.text) if state == "answer" and answer else self.text.text()
        self.text.setAccessibleDescription(plain)
        self.detail.setText(detail)
        self.detail.setVisible(bool(detail))

    def _verdict(self, text: str, state: str, tip: str) -> None:
        self.verdict.setText(text)
        set_prop(self.verdict, "state", state)
        self.verdict.setToolTip(tip)
        self.verdict.setAccessibleDescription(tip)
        self.verdict.updateGeometry()  # a new state is a new font size: size it again

    def _chips(self, answer: Answer | None) -> None:
        for button in self.citation_buttons():
            self.citations.removeWidget(button)
            button.hide()
            button.deleteLater()
        if answer is None:
            return
        for n in dict.fromkeys(answer.citations):
            if not 0 < n <= len(answer.snippets):
                continue
            s = answer.snippets[n - 1]
            where = " › ".join(s.heading_path) or s.title
            button = tool_button(f"[{n}]", f"Citation {n}", f"Open the article: {where}")
            button.setProperty("citation", True)
            button.clicked.connect(lambda _=False, n=n: self._cite(n))
            self.citations.addWidget(button)
        # New widgets join the end of the focus chain: keep Tab in reading order.
        chain = [self.text, *self.citation_buttons(), self.copy_button]
        for first, second in pairwise(chain):
            QtWidgets.QWidget.setTabOrder(first, second)
