"""Knowledge cards as a list model: pinned cards on top, then the newest, numbered as cited.

Each ``KnowledgeCards`` event puts its cards (in rank order) at the top of
the unpinned part; a card already shown moves up instead of repeating. At
most ``limit`` unpinned cards are kept, so the list stays short. Pinned cards
stay on top (in the order they were pinned) until unpinned, and survive a new
call (an agent pins what they keep needing); unpinned ones are cleared by
``CallStarted``.

Numbers: the reply suggestion cites snippets as [1], [2]... and
``snippet_ids[n - 1]`` is the chunk of [n]. The cards of the latest event are
numbered [1]..[k] in their order (they are the snippets the suggestion is
drafted from), and a ``SuggestionReady`` renumbers by its ``snippet_ids``.
Older cards have no number (0). The query each card was found for is kept
with it, so the view can highlight its words in the snippet.

Thread rules: GUI thread only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent_assist.domain import CallStarted, Event, KnowledgeCard, KnowledgeCards, SuggestionReady
from agent_assist.ui.qt import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, QtCore, Signal

__all__ = ["CardsModel", "source_line"]

_Index = QModelIndex | QPersistentModelIndex


@dataclass(slots=True)
class _Row:
    card: KnowledgeCard
    query: str
    utterance_id: str
    pinned: bool = False
    number: int = 0


def source_line(card: KnowledgeCard) -> str:
    """Where a card comes from: "pack · document › section › ..."."""
    parts = [p for p in card.heading_path if p]
    if parts and parts[0] == card.title:
        parts = parts[1:]
    head = " · ".join(p for p in (card.pack, card.title) if p)
    return " › ".join([head, *parts]) if parts else head


class CardsModel(QAbstractListModel):
    """The cards shown in the sidebar; see the module doc for order, pins and numbers."""

    CardRole = Qt.ItemDataRole.UserRole + 1  # KnowledgeCard
    QueryRole = Qt.ItemDataRole.UserRole + 2  # str
    PinnedRole = Qt.ItemDataRole.UserRole + 3  # bool
    NumberRole = Qt.ItemDataRole.UserRole + 4  # int, 0 = not citable now
    ChunkRole = Qt.ItemDataRole.UserRole + 5  # str
    TitleRole = Qt.ItemDataRole.UserRole + 6  # str
    SourceRole = Qt.ItemDataRole.UserRole + 7  # str: "pack · document › section"
    SnippetRole = Qt.ItemDataRole.UserRole + 8  # str
    SimilarityRole = Qt.ItemDataRole.UserRole + 9  # float

    pin_changed = Signal(str, bool)  # chunk id, pinned

    def __init__(self, parent: Any = None, *, limit: int = 5) -> None:
        super().__init__(parent)
        self._rows: list[_Row] = []
        self.limit = limit

    # -- feeding ---------------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        if isinstance(event, CallStarted):
            self._clear_unpinned()
        elif isinstance(event, KnowledgeCards):
            self._add(event)
        elif isinstance(event, SuggestionReady):
            self.set_citations(event.snippet_ids)

    def _add(self, event: KnowledgeCards) -> None:
        if not event.cards:
            return
        self.beginResetModel()  # a batch reorders several rows at once: one reset is simplest
        old = {r.card.chunk_id: r for r in self._rows}
        pinned = [r for r in self._rows if r.pinned]
        fresh: list[_Row] = []
        for card in event.cards:
            prev = old.get(card.chunk_id)
            if prev is not None and prev.pinned:
                prev.card, prev.query = card, event.query
                continue
            if any(r.card.chunk_id == card.chunk_id for r in fresh):
                continue
            fresh.append(_Row(card, event.query, event.utterance_id))
        seen = {r.card.chunk_id for r in fresh}
        rest = [r for r in self._rows if not r.pinned and r.card.chunk_id not in seen]
        for r in self._rows:
            r.number = 0
        unpinned = (fresh + rest)[: self.limit]
        self._rows = pinned + unpinned
        numbers = {card.chunk_id: n for n, card in enumerate(event.cards, 1)}
        for r in self._rows:
            r.number = numbers.get(r.card.chunk_id, 0)
        self.endResetModel()

    def set_citations(self, snippet_ids: tuple[str, ...] | list[str]) -> None:
        """Number the cards as a suggestion cites them: ``snippet_ids[n - 1]`` is [n]."""
        numbers = {cid: n for n, cid in enumerate(snippet_ids, 1)}
        for row, r in enumerate(self._rows):
            number = numbers.get(r.card.chunk_id, 0)
            if number != r.number:
                r.number = number
                index = self.index(row)
                self.dataChanged.emit(index, index, [self.NumberRole])

    def _clear_unpinned(self) -> None:
        keep = [r for r in self._rows if r.pinned]
        if len(keep) == len(self._rows):
            return
        self.beginResetModel()
        self._rows = keep
        for r in keep:
            r.number = 0
        self.endResetModel()

    def clear(self) -> None:
        self.beginResetModel()
        self._rows = []
        self.endResetModel()

    def pin(self, row: int, pinned: bool | None = None) -> None:
        """Pin (or unpin; default: toggle) the card in ``row``; pinned cards move to the top."""
        if not 0 <= row < len(self._rows):
            return
        r = self._rows[row]
        want = (not r.pinned) if pinned is None else pinned
        if want == r.pinned:
            return
        self.beginResetModel()
        r.pinned = want
        others = [x for x in self._rows if x is not r]
        pins = [x for x in others if x.pinned]
        rest = [x for x in others if not x.pinned]
        self._rows = [*pins, r, *rest] if want else [*pins, r, *rest][: len(pins) + 1 + self.limit]
        self.endResetModel()
        self.pin_changed.emit(r.card.chunk_id, want)

    # -- reading ---------------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        r = self._rows[index.row()]
        card = r.card
        if role in (Qt.ItemDataRole.DisplayRole, self.TitleRole):
            return card.title or " › ".join(card.heading_path) or card.chunk_id
        if role == self.CardRole:
            return card
        if role == self.QueryRole:
            return r.query
        if role == self.PinnedRole:
            return r.pinned
        if role == self.NumberRole:
            return r.number
        if role == self.ChunkRole:
            return card.chunk_id
        if role == self.SourceRole:
            return source_line(card)
        if role == self.SnippetRole:
            return " ".join(card.text.split())
        if role == self.SimilarityRole:
            return card.similarity
        if role == Qt.ItemDataRole.ToolTipRole:
            return source_line(card)
        return None

    def roleNames(self) -> dict[int, QtCore.QByteArray]:
        names = dict(super().roleNames())
        names.update(
            {
                k: QtCore.QByteArray(v)
                for k, v in {
                    self.CardRole: b"card",
                    self.QueryRole: b"query",
                    self.PinnedRole: b"pinned",
                    self.NumberRole: b"number",
                    self.ChunkRole: b"chunkId",
                    self.TitleRole: b"title",
                    self.SourceRole: b"source",
                    self.SnippetRole: b"snippet",
                    self.SimilarityRole: b"similarity",
                }.items()
            }
        )
        return names

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
        )

    def row_of(self, chunk_id: str) -> int:
        """The row of the card ``chunk_id``, or -1."""
        return next((i for i, r in enumerate(self._rows) if r.card.chunk_id == chunk_id), -1)

    def card(self, row: int) -> KnowledgeCard | None:
        return self._rows[row].card if 0 <= row < len(self._rows) else None

    def chunk_for_number(self, number: int) -> str:
        """The chunk id of the card numbered ``number`` now, or ""."""
        return next((r.card.chunk_id for r in self._rows if r.number == number and number > 0), "")
