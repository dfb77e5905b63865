"""The call's transcript as a list model: committed lines plus one tentative row per utterance.

``PartialText`` creates (or updates) a tentative row for its ``utterance_id``;
the ``FinalUtterance`` of the same utterance replaces that row in place (so
the line does not jump), or is appended when no partial came. A final never
changes, so a late partial of a committed utterance is ignored; a newer
``CallStarted`` clears the model. Rows stay in arrival order: the two
channels speak over each other, and a line moving once it is committed would
be worse than a slightly early tentative row.

Thread rules: GUI thread only (``apply`` is called by the view's ``on_event``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent_assist.domain import CallStarted, Event, FinalUtterance, PartialText, Speaker
from agent_assist.ui.qt import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, QtCore

__all__ = ["TranscriptModel"]

_Index = QModelIndex | QPersistentModelIndex


@dataclass(slots=True)
class _Line:
    utterance_id: str
    speaker: Speaker
    text: str
    start: float
    end: float
    final: bool


class TranscriptModel(QAbstractListModel):
    """One row per utterance; see the module doc for how partials and finals meet."""

    SpeakerRole = Qt.ItemDataRole.UserRole + 1  # str: "agent" | "customer" | "mixed"
    TextRole = Qt.ItemDataRole.UserRole + 2  # str
    StartRole = Qt.ItemDataRole.UserRole + 3  # float, call time (s)
    EndRole = Qt.ItemDataRole.UserRole + 4  # float, call time (s)
    FinalRole = Qt.ItemDataRole.UserRole + 5  # bool: False while tentative
    UtteranceRole = Qt.ItemDataRole.UserRole + 6  # str

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._lines: list[_Line] = []
        self._rows: dict[str, int] = {}  # utterance id -> row
        self.call_id = ""

    # -- feeding ---------------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        """Take one domain event; events of other kinds are ignored."""
        if isinstance(event, CallStarted):
            self.clear()
            self.call_id = event.call_id
        elif isinstance(event, PartialText):
            self._put(event.utterance_id, event.speaker, event.text, event.start, event.end, final=False)
        elif isinstance(event, FinalUtterance):
            self._put(event.utterance_id, event.speaker, event.text, event.start, event.end, final=True)

    def clear(self) -> None:
        self.beginResetModel()
        self._lines.clear()
        self._rows.clear()
        self.call_id = ""
        self.endResetModel()

    def _put(
        self, uid: str, speaker: Speaker, text: str, start: float, end: float, *, final: bool
    ) -> None:
        text = " ".join(text.split())
        row = self._rows.get(uid)
        if row is None:
            if not text:
                return
            row = len(self._lines)
            self.beginInsertRows(QModelIndex(), row, row)
            self._lines.append(_Line(uid, speaker, text, start, end, final))
            self._rows[uid] = row
            self.endInsertRows()
            return
        line = self._lines[row]
        if line.final:
            return  # committed text never changes
        if final and not text:  # the utterance came to nothing: drop its tentative row
            self._remove(row)
            return
        line.speaker, line.text, line.start, line.end, line.final = speaker, text, start, end, final
        index = self.index(row)
        self.dataChanged.emit(index, index, [])

    def _remove(self, row: int) -> None:
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._lines[row]
        self.endRemoveRows()
        self._rows = {line.utterance_id: i for i, line in enumerate(self._lines)}

    # -- reading ---------------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._lines)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._lines):
            return None
        line = self._lines[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, self.TextRole):
            return line.text
        if role == self.SpeakerRole:
            return str(line.speaker)
        if role == self.StartRole:
            return line.start
        if role == self.EndRole:
            return line.end
        if role == self.FinalRole:
            return line.final
        if role == self.UtteranceRole:
            return line.utterance_id
        if role == Qt.ItemDataRole.AccessibleTextRole:
            who = {"agent": "Agent", "customer": "Customer"}.get(str(line.speaker), "Speaker")
            return f"{who}{'' if line.final else ' (tentative)'}: {line.text}"
        return None

    def roleNames(self) -> dict[int, QtCore.QByteArray]:
        names = dict(super().roleNames())
        names.update(
            {
                k: QtCore.QByteArray(v)
                for k, v in {
                    self.SpeakerRole: b"speaker",
                    self.TextRole: b"text",
                    self.StartRole: b"start",
                    self.EndRole: b"end",
                    self.FinalRole: b"final",
                    self.UtteranceRole: b"utteranceId",
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

    def row_of(self, utterance_id: str) -> int:
        """The row of ``utterance_id``, or -1."""
        return self._rows.get(utterance_id, -1)
