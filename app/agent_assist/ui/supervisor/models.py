"""``TextTable``: a read-only table of formatted strings (packs, problems, scores, gaps).

The supervisor's tables are small reports rebuilt whole from a worker's
answer, so one model of pre-formatted cells, with an optional object per row
(``payload``) for the view to act on, serves them all.

Thread rules: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent_assist.ui.qt import QModelIndex, QPersistentModelIndex, Qt, QtCore, QtWidgets

__all__ = ["TextTable", "fit_height", "table_view"]

_Index = QModelIndex | QPersistentModelIndex
_NO_INDEX = QModelIndex()


class TextTable(QtCore.QAbstractTableModel):
    """``TextTable(headers)``; ``set_rows(rows, payloads)``; columns after the first align right
    when ``numeric`` says so."""

    PayloadRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, headers: Sequence[str], numeric: Sequence[int] = (), parent: Any = None) -> None:
        super().__init__(parent)
        self.headers = tuple(headers)
        self.numeric = frozenset(numeric)
        self._rows: list[tuple[str, ...]] = []
        self._payloads: list[object] = []

    def set_rows(self, rows: Sequence[Sequence[str]], payloads: Sequence[object] | None = None) -> None:
        self.beginResetModel()
        self._rows = [tuple(r) + ("",) * (len(self.headers) - len(r)) for r in rows]
        self._payloads = list(payloads) if payloads is not None else [None] * len(self._rows)
        self.endResetModel()

    def payload(self, row: int) -> object:
        return self._payloads[row]

    def cell(self, row: int, column: int) -> str:
        return self._rows[row][column]

    def rowCount(self, parent: _Index = _NO_INDEX) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = _NO_INDEX) -> int:
        return 0 if parent.isValid() else len(self.headers)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        if not 0 <= index.column() < len(self.headers):
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = (
                Qt.AlignmentFlag.AlignRight
                if index.column() in self.numeric
                else Qt.AlignmentFlag.AlignLeft
            )
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        if role == self.PayloadRole:
            return self._payloads[index.row()]
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self.headers)
        ):
            return self.headers[section]
        return None


def table_view(model: TextTable, stretch: int = -1) -> QtWidgets.QTableView:
    """A quiet table view for ``model``: no grid, row selection, the ``stretch`` column filling."""
    view = QtWidgets.QTableView()
    view.setModel(model)
    view.setShowGrid(False)
    view.setWordWrap(True)
    view.setTextElideMode(Qt.TextElideMode.ElideNone)
    view.verticalHeader().hide()
    view.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(stretch == -1)
    if stretch >= 0:
        header.setSectionResizeMode(stretch, QtWidgets.QHeaderView.ResizeMode.Stretch)
    header.sectionResized.connect(lambda *_: view.resizeRowsToContents())  # wrapped text fits
    return view


def fit_height(view: QtWidgets.QTableView, most: int = 10) -> None:
    """Make ``view`` exactly as tall as its header and (up to ``most``) rows: no empty band."""
    view.resizeRowsToContents()
    rows = min(view.model().rowCount(), most)
    height = view.horizontalHeader().sizeHint().height() + 2 * view.frameWidth()
    height += sum(view.rowHeight(r) for r in range(rows))
    view.setFixedHeight(height)
