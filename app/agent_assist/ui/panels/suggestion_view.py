"""The reply suggestion: drafting, streaming, then the checked text with citations, copy and feedback.

``SuggestionStarted`` shows "Drafting a reply…"; each ``SuggestionToken``
carries the draft so far (it replaces the shown text, muted and italic: not
yet checked); ``SuggestionReady`` shows the final text with its grounding
verdict -- "Grounded" when every sentence is supported by the snippets it
cites, "From the article" when the draft failed and a sentence was quoted
instead (extractive) -- and one chip per citation ([1] → the card numbered 1;
``citation_clicked(chunk_id)``). Copy puts the text without its [n] markers on
the clipboard (``copied(suggestion_id)``); thumbs up/down emit
``feedback(suggestion_id, ±1)`` and the chosen one stays checked.
``SuggestionDropped`` of the draft on screen hides it (the previous ready
suggestion, if any, comes back). ``BackendStatus`` down shows one calm line,
"Suggestions unavailable: …", until the generator is ready again.

Thread rules: GUI thread only.
"""

from __future__ import annotations

import html
import re

from agent_assist.domain import (
    BackendStatus,
    CallStarted,
    Event,
    SuggestionDropped,
    SuggestionReady,
    SuggestionStarted,
    SuggestionToken,
)
from agent_assist.ui.models import CardsModel
from agent_assist.ui.panels._common import card_frame, chip, label, set_prop, tool_button
from agent_assist.ui.qt import QSize, Qt, QtGui, QTimer, QtWidgets, Signal
from agent_assist.ui.theme import GRID, icon, tokens

__all__ = ["SuggestionView", "strip_citations"]

_MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")


def strip_citations(text: str) -> str:
    """``text`` without its [n] / [1, 2] markers (what the agent pastes or says)."""
    cleaned = _MARKER.sub("", text)
    cleaned = re.sub(r"\s+([.,;:!?])", r"\1", cleaned)
    return " ".join(cleaned.split())


def _rich(text: str, colour: str) -> str:
    """``text`` as HTML with its [n] markers small and in the accent colour."""
    out, last = [], 0
    for match in _MARKER.finditer(text):
        out.append(html.escape(text[last : match.start()]))
        out.append(f'&nbsp;<span style="color:{colour}; font-weight:600">[{match.group(1)}]</span>')
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


class SuggestionView(QtWidgets.QWidget):
    """One suggestion card (hidden when there is nothing to suggest) and the unavailable line."""

    citation_clicked = Signal(str)  # chunk id
    copied = Signal(str)  # suggestion id
    feedback = Signal(str, int)  # suggestion id, +1 | -1

    def __init__(
        self, parent: QtWidgets.QWidget | None = None, *, cards: CardsModel | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        self._cards = cards
        self._draft: SuggestionStarted | None = None
        self._ready: SuggestionReady | None = None
        self._votes: dict[str, int] = {}
        self._compact = False

        self.card, inner = card_frame()
        self.card.setAccessibleName("Suggested reply")
        self.heading = label("SUGGESTED REPLY", "heading")
        self.verdict = chip("", "")
        head = QtWidgets.QHBoxLayout()
        head.setSpacing(GRID)
        head.addWidget(self.heading)
        head.addStretch(1)
        head.addWidget(self.verdict)

        self.text = QtWidgets.QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setAccessibleName("Suggestion text")
        self.text.setProperty("tentative", False)

        self.citations = QtWidgets.QHBoxLayout()
        self.citations.setSpacing(GRID // 2)
        self.copy_button = tool_button("Copy", "Copy reply", "Copy the reply without citation marks")
        self.copy_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.copy_button.clicked.connect(self.copy_text)
        self.up = tool_button("", "Good suggestion", "This suggestion was helpful", checkable=True)
        self.down = tool_button("", "Bad suggestion", "This suggestion was not helpful", checkable=True)
        self.up.clicked.connect(lambda: self._vote(1))
        self.down.clicked.connect(lambda: self._vote(-1))
        self.action_row = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(self.action_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(GRID // 2)
        row.addLayout(self.citations)
        row.addStretch(1)
        row.addWidget(self.copy_button)
        row.addWidget(self.up)
        row.addWidget(self.down)

        inner.addLayout(head)
        inner.addWidget(self.text)
        inner.addWidget(self.action_row)

        self.notice = QtWidgets.QFrame()
        self.notice.setProperty("notice", True)
        self.notice_text = label("", wrap=True)
        notice_box = QtWidgets.QHBoxLayout(self.notice)
        notice_box.setContentsMargins(GRID * 3 // 2, GRID, GRID * 3 // 2, GRID)
        notice_box.addWidget(self.notice_text)
        self.notice.setAccessibleName("Suggestions unavailable")

        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(GRID * 2, GRID // 2, GRID * 2, GRID // 2)
        box.setSpacing(GRID)
        box.addWidget(self.notice)
        box.addWidget(self.card)
        self.notice.hide()
        self._icons()
        self._render()

    # -- events ----------------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        if isinstance(event, CallStarted):
            self._draft, self._ready = None, None
            self._render()
        elif isinstance(event, SuggestionStarted):
            self._draft = event
            self._render(draft_text="")
        elif isinstance(event, SuggestionToken):
            if self._draft is not None and event.suggestion_id == self._draft.suggestion_id:
                self._render(draft_text=event.text)
        elif isinstance(event, SuggestionReady):
            self._draft, self._ready = None, event
            self._render()
        elif isinstance(event, SuggestionDropped):
            draft = self._draft
            if draft is not None and (
                event.suggestion_id == draft.suggestion_id
                or (not event.suggestion_id and event.utterance_id == draft.utterance_id)
            ):
                self._draft = None
                self._render()
        elif isinstance(event, BackendStatus):
            if event.state == "down":
                self.notice_text.setText(
                    f"Suggestions unavailable: {event.detail or 'the model is down'}"
                )
                self.notice.setAccessibleDescription(self.notice_text.text())
                self.notice.show()
            elif event.state in ("ready", "busy", "loading"):
                self.notice.hide()

    # -- public ----------------------------------------------------------------------------------

    def set_compact(self, compact: bool) -> None:
        """Compact: no heading and no citation chips (the [n] marks stay in the text)."""
        self._compact = compact
        self.heading.setVisible(not compact)
        self._render()

    @property
    def suggestion_id(self) -> str:
        """The id of the ready suggestion shown ("" when a draft or nothing is shown)."""
        return self._ready.suggestion_id if self._ready is not None and self._draft is None else ""

    @property
    def state(self) -> str:
        """ "empty", "drafting" or "ready"."""
        if self._draft is not None:
            return "drafting"
        return "ready" if self._ready is not None else "empty"

    def copy_text(self) -> None:
        """Copy the ready suggestion without its [n] marks (the copy button, a shortcut)."""
        ready = self._ready
        if ready is None or self._draft is not None:
            return
        clipboard = QtGui.QGuiApplication.clipboard()
        clipboard.setText(strip_citations(ready.text))
        self.copy_button.setText("Copied")
        # Tied to the button: the timer dies with it (the view may be gone in 1.5 s).
        QTimer.singleShot(1500, self.copy_button, lambda: self.copy_button.setText("Copy"))
        self.copied.emit(ready.suggestion_id)

    # -- internals -------------------------------------------------------------------------------

    def _icons(self) -> None:
        t = tokens()
        self.copy_button.setIcon(icon("copy"))
        for button, name in ((self.up, "up"), (self.down, "down")):
            on = icon(name, t.accent)
            both = QtGui.QIcon(icon(name))
            both.addPixmap(on.pixmap(QSize(16, 16)), QtGui.QIcon.Mode.Normal, QtGui.QIcon.State.On)
            button.setIcon(both)

    def _vote(self, value: int) -> None:
        sid = self.suggestion_id
        if not sid:
            return
        self._votes[sid] = value
        self.up.setChecked(value > 0)
        self.down.setChecked(value < 0)
        self.feedback.emit(sid, value)

    def _render(self, draft_text: str | None = None) -> None:
        t = tokens()
        if self._draft is not None:
            self.card.show()
            self.verdict.setText("drafting…")
            set_prop(self.verdict, "state", "loading")
            self.verdict.setToolTip("The local model is writing a reply from the cards")
            self.text.setTextFormat(Qt.TextFormat.PlainText)
            self.text.setText(draft_text or "Drafting a reply…")
            set_prop(self.text, "tentative", True)
            self.action_row.hide()
            return
        ready = self._ready
        if ready is None:
            self.card.hide()
            return
        self.card.show()
        if ready.extractive:
            self.verdict.setText("From the article")
            set_prop(self.verdict, "state", "accent")
            self.verdict.setToolTip("The model's draft was not supported by the cards, so this is quoted "
                                    f"from the article.\n{ready.verdict}")  # fmt: skip
        elif ready.grounded:
            self.verdict.setText("✓ Grounded")
            set_prop(self.verdict, "state", "ready")
            self.verdict.setToolTip(
                f"Every sentence is supported by the cards it cites.\n{ready.verdict}"
            )
        else:
            self.verdict.setText("Check before use")
            set_prop(self.verdict, "state", "warning")
            self.verdict.setToolTip(ready.verdict)
        self.verdict.setAccessibleDescription(self.verdict.toolTip())
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setText(_rich(ready.text, t.accent))
        self.text.setAccessibleDescription(strip_citations(ready.text))
        set_prop(self.text, "tentative", False)
        self._citation_chips(ready)
        vote = self._votes.get(ready.suggestion_id, 0)
        self.up.setChecked(vote > 0)
        self.down.setChecked(vote < 0)
        self.action_row.show()

    def _citation_chips(self, ready: SuggestionReady) -> None:
        while self.citations.count():
            item = self.citations.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        if self._compact:
            return
        for n in dict.fromkeys(ready.citations):
            if not 0 < n <= len(ready.snippet_ids):
                continue
            chunk_id = ready.snippet_ids[n - 1]
            title = self._title(chunk_id)
            button = tool_button(
                f"[{n}]", f"Citation {n}", f"Show card {n}" + (f": {title}" if title else "")
            )
            button.setProperty("citation", True)
            button.clicked.connect(lambda _=False, c=chunk_id: self.citation_clicked.emit(c))
            self.citations.addWidget(button)

    def _title(self, chunk_id: str) -> str:
        if self._cards is None:
            return ""
        row = self._cards.row_of(chunk_id)
        card = self._cards.card(row)
        return card.title if card is not None else ""

    def citation_buttons(self) -> list[QtWidgets.QToolButton]:
        """The citation chips shown (tests)."""
        out = []
        for i in range(self.citations.count()):
            item = self.citations.itemAt(i)
            widget = item.widget() if item is not None else None
            if isinstance(widget, QtWidgets.QToolButton):
                out.append(widget)
        return out
