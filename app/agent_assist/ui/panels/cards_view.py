"""Knowledge cards: one rounded card per ``CardsModel`` row, numbered as the suggestion cites them.

Each card shows its number ([1], [2]: the suggestion's citations point at
these), the title, where it comes from ("pack · document › section"), the
snippet with the query's words in bold accent (stop words ignored), how close
the match is (subtly), and two buttons: open the full article
(``open_article(card)``) and pin (kept on top; ``pin_toggled(chunk_id,
pinned)``). The cards are few (the model keeps ~5 plus pins), so they are
real widgets -- keyboard-focusable buttons with accessible names -- reused by
chunk id when the model changes, not repainted items.

Thread rules: GUI thread only.
"""

from __future__ import annotations

import html
import re

from agent_assist.domain import Event, KnowledgeCard
from agent_assist.ui.models import CardsModel
from agent_assist.ui.panels._common import label, set_prop, tool_button
from agent_assist.ui.qt import Qt, QTimer, QtWidgets, Signal
from agent_assist.ui.theme import GRID, icon, tokens

__all__ = ["STOP_WORDS", "CardsView", "highlight_html"]

STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "after",
        "again",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "being",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "don't",
        "for",
        "from",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "i'm",
        "if",
        "in",
        "into",
        "is",
        "it",
        "it's",
        "its",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yes",
        "hi",
        "hello",
        "okay",
        "ok",
        "um",
        "uh",
        "yeah",
        "please",
        "thanks",
        "thank",
        "want",
        "need",
        "like",
        "get",
        "got",
        "know",
    ]
)

SNIPPET_CHARS = 320
SNIPPET_CHARS_COMPACT = 150


def _terms(query: str) -> list[str]:
    words = re.findall(r"[\w']+", query.lower())
    return sorted({w for w in words if len(w) > 2 and w not in STOP_WORDS}, key=len, reverse=True)


def highlight_html(text: str, query: str, colour: str, limit: int = 0) -> str:
    """``text`` as HTML with the query's words (and words they start, e.g. refund → refunded) bold."""
    if limit and len(text) > limit:
        cut = text[:limit].rsplit(" ", 1)[0]
        text = cut.rstrip(" ,;:.") + " …"
    terms = _terms(query)
    if not terms:
        return html.escape(text)
    pattern = re.compile(r"\b(" + "|".join(re.escape(t) for t in terms) + r")[\w']*", re.IGNORECASE)
    out: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        out.append(html.escape(text[last : match.start()]))
        out.append(f'<b style="color:{colour}">{html.escape(match.group(0))}</b>')
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


class _Card(QtWidgets.QFrame):
    def __init__(self, view: CardsView, card: KnowledgeCard) -> None:
        super().__init__()
        self.setProperty("card", True)
        self.card = card
        self.chunk_id = card.chunk_id
        self.query = ""
        self._view = view
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(GRID * 3 // 2, GRID, GRID, GRID)
        layout.setSpacing(GRID // 2)

        self.number = label("", "number")
        self.title = label("", "title", wrap=True)
        self.open_button = tool_button("", "Open article", "Open the full article")
        self.open_button.setIcon(icon("open"))
        self.open_button.clicked.connect(lambda: view.open_article.emit(self.card))
        self.pin_button = tool_button("", "Pin card", "Keep this card at the top", checkable=True)
        self.pin_button.clicked.connect(lambda: view.toggle_pin(self.chunk_id))
        head = QtWidgets.QHBoxLayout()
        head.setSpacing(GRID // 2)
        head.addWidget(self.number, 0, Qt.AlignmentFlag.AlignTop)
        head.addWidget(self.title, 1, Qt.AlignmentFlag.AlignTop)
        head.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignTop)
        head.addWidget(self.pin_button, 0, Qt.AlignmentFlag.AlignTop)

        self.source = label("", "caption", wrap=True)
        self.snippet = QtWidgets.QLabel()
        self.snippet.setWordWrap(True)
        self.snippet.setTextFormat(Qt.TextFormat.RichText)
        self.snippet.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.match = label("", "caption")
        layout.addLayout(head)
        layout.addWidget(self.source)
        layout.addWidget(self.snippet)
        layout.addWidget(self.match)

    def fill(
        self, card: KnowledgeCard, query: str, number: int, pinned: bool, source: str, compact: bool
    ) -> None:
        t = tokens()
        self.card, self.query = card, query
        self.number.setText(f"[{number}]" if number else "")
        self.number.setVisible(bool(number))
        self.title.setText(card.title or " › ".join(card.heading_path) or card.chunk_id)
        self.source.setText(source)
        self.source.setVisible(not compact)
        text = " ".join(card.text.split())
        self.snippet.setText(
            highlight_html(text, query, t.accent, SNIPPET_CHARS_COMPACT if compact else SNIPPET_CHARS)
        )
        self.snippet.setToolTip(text if len(text) > SNIPPET_CHARS else "")
        self.match.setText(f"{card.similarity:.0%} match")
        self.match.setToolTip(f"Similarity of the question to this snippet: {card.similarity:.2f}")
        self.match.setVisible(not compact)
        self.pin_button.setChecked(pinned)
        self.pin_button.setIcon(icon("pin", t.accent if pinned else t.muted))
        self.pin_button.setAccessibleName("Unpin card" if pinned else "Pin card")
        self.pin_button.setToolTip("Unpin" if pinned else "Keep this card at the top")
        set_prop(self, "pinned", pinned)
        name = f"Card {number}: " if number else "Card: "
        self.setAccessibleName(name + self.title.text())
        self.setAccessibleDescription(f"{source}. {text[:200]}")


class CardsView(QtWidgets.QWidget):
    """The knowledge cards of the call; see the module doc."""

    open_article = Signal(object)  # KnowledgeCard
    pin_toggled = Signal(str, bool)  # chunk id, pinned

    def __init__(
        self, parent: QtWidgets.QWidget | None = None, *, model: CardsModel | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        self.model = model or CardsModel(self)
        self._cards: dict[str, _Card] = {}
        self._compact = False

        self.empty = label("Articles that match what the customer asks appear here.", "muted", wrap=True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        content = QtWidgets.QWidget()
        self.list_box = QtWidgets.QVBoxLayout(content)
        self.list_box.setContentsMargins(GRID * 2, GRID // 2, GRID * 2, GRID)
        self.list_box.setSpacing(GRID)
        self.list_box.addStretch(1)
        self.scroll_area = QtWidgets.QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll_area.setWidget(content)
        self.scroll_area.setAccessibleName("Knowledge cards")
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(self.empty)
        box.addWidget(self.scroll_area, 1)

        self.model.modelReset.connect(self._sync)
        self.model.rowsInserted.connect(self._sync)
        self.model.rowsRemoved.connect(self._sync)
        self.model.dataChanged.connect(self._sync)
        self.model.pin_changed.connect(self.pin_toggled)
        self._sync()

    def on_event(self, event: Event) -> None:
        self.model.apply(event)

    def set_compact(self, compact: bool) -> None:
        """Compact: shorter snippets, no source line or match score."""
        self._compact = compact
        self._sync()

    def toggle_pin(self, chunk_id: str) -> None:
        row = self.model.row_of(chunk_id)
        if row >= 0:
            self.model.pin(row)
            card = self._cards.get(chunk_id)
            if card is not None:
                card.pin_button.setFocus()

    def highlight(self, chunk_id: str) -> bool:
        """Draw the eye to the card ``chunk_id`` (a citation was clicked); False if not shown."""
        card = self._cards.get(chunk_id)
        if card is None:
            return False
        set_prop(card, "flash", True)
        QTimer.singleShot(1200, card, lambda: set_prop(card, "flash", False))  # dies with the card
        self.scroll_area.ensureWidgetVisible(card, 0, GRID)
        card.open_button.setFocus()
        return True

    def card_widgets(self) -> list[_Card]:
        """The card widgets in display order (tests)."""
        return [self._cards[self.model.data(self.model.index(r), CardsModel.ChunkRole)]
                for r in range(self.model.rowCount())]  # fmt: skip

    def _sync(self, *_args: object) -> None:
        m = self.model
        wanted: list[str] = []
        for row in range(m.rowCount()):
            index = m.index(row)
            card: KnowledgeCard = m.data(index, CardsModel.CardRole)
            widget = self._cards.get(card.chunk_id)
            if widget is None:
                widget = _Card(self, card)
                self._cards[card.chunk_id] = widget
            widget.fill(card, m.data(index, CardsModel.QueryRole), m.data(index, CardsModel.NumberRole),
                        m.data(index, CardsModel.PinnedRole), m.data(index, CardsModel.SourceRole),
                        self._compact)  # fmt: skip
            wanted.append(card.chunk_id)
        for chunk_id in [c for c in self._cards if c not in wanted]:
            gone = self._cards.pop(chunk_id)
            self.list_box.removeWidget(gone)
            gone.deleteLater()
        for position, chunk_id in enumerate(wanted):
            widget = self._cards[chunk_id]
            if self.list_box.indexOf(widget) != position:
                self.list_box.removeWidget(widget)
                self.list_box.insertWidget(position, widget)
            widget.show()
        self.empty.setVisible(not wanted)
        self.scroll_area.setVisible(bool(wanted))
