"""Item models of the history views: the call list and a past call's transcript.

Both are filled whole (``set_rows``) with data a worker queried, so a reset is
the honest signal: the list is a new answer to a new question.

Thread rules: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from agent_assist.domain import FinalUtterance
from agent_assist.store.queries import CallRow
from agent_assist.ui.qt import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, QtCore

__all__ = ["CallListModel", "TranscriptTableModel", "format_clock", "format_duration", "format_when"]

_Index = QModelIndex | QPersistentModelIndex
_NO_INDEX = QModelIndex()


def format_when(iso: str, now: datetime | None = None) -> str:
    """A stored UTC time as local time: "Today 14:05", "Yesterday 09:12", "Mon 3 Jun 16:40"."""
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    local = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone()
    today = (now or datetime.now(UTC)).astimezone().date()
    clock = local.strftime("%H:%M")
    days = (today - local.date()).days
    if days == 0:
        return f"Today {clock}"
    if days == 1:
        return f"Yesterday {clock}"
    if local.year == today.year:
        return f"{local.strftime('%a')} {local.day} {local.strftime('%b')} {clock}"
    return f"{local.day} {local.strftime('%b %Y')} {clock}"


def format_duration(seconds: float | None) -> str:
    """4:05, 1:02:30; "–" when unknown."""
    if seconds is None:
        return "–"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_clock(seconds: float) -> str:
    """Call time as m:ss."""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


class CallListModel(QAbstractListModel):
    """One row per call, newest first."""

    CallRole = Qt.ItemDataRole.UserRole + 1  # CallRow
    IdRole = Qt.ItemDataRole.UserRole + 2  # str
    WhenRole = Qt.ItemDataRole.UserRole + 3  # str, formatted
    DurationRole = Qt.ItemDataRole.UserRole + 4  # str, formatted
    DispositionRole = Qt.ItemDataRole.UserRole + 5  # str ("" if none)
    LineRole = Qt.ItemDataRole.UserRole + 6  # str: the search hit, else the first customer line

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[CallRow] = []

    def set_rows(self, rows: Sequence[CallRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> CallRow:
        return self._rows[row]

    def rowCount(self, parent: _Index = _NO_INDEX) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows) or index.column() != 0:
            return None
        call = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{format_when(call.started_at)} · {call.first_customer_line}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return call.first_customer_line or None
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return (
                f"Call {format_when(call.started_at)}, {format_duration(call.duration)},"
                f" {call.disposition or 'no disposition'}: {call.first_customer_line}"
            )
        values = {
            self.CallRole: call,
            self.IdRole: call.id,
            self.WhenRole: format_when(call.started_at),
            self.DurationRole: format_duration(call.duration),
            self.DispositionRole: call.disposition or "",
            self.LineRole: call.match or call.first_customer_line,
        }
        return values.get(role)

    def roleNames(self) -> dict[int, QtCore.QByteArray]:
        names = {
            self.IdRole: b"callId",
            self.WhenRole: b"when",
            self.DurationRole: b"duration",
            self.DispositionRole: b"disposition",
            self.LineRole: b"line",
        }
        return {**super().roleNames(), **{k: QtCore.QByteArray(v) for k, v in names.items()}}


class TranscriptTableModel(QtCore.QAbstractTableModel):
    """A past call's final utterances: time, speaker, text."""

    HEADERS = ("Time", "Speaker", "Text")
    SpeakerRole = Qt.ItemDataRole.UserRole + 1  # str

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[FinalUtterance] = []

    def set_rows(self, rows: Sequence[FinalUtterance]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: _Index = _NO_INDEX) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = _NO_INDEX) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        u = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (format_clock(u.start), str(u.speaker).capitalize(), u.text)[column]
        if role == self.SpeakerRole:
            return str(u.speaker)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self.HEADERS)
        ):
            return self.HEADERS[section]
        return None
