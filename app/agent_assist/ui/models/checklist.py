"""The current intent's checklist as a list model: ``ChecklistProgress`` replaces the steps.

When the new progress is the same checklist (same id and steps), only the
rows whose state changed emit ``dataChanged`` and ``step_ticked(row)`` fires
for each step that just became done, so the view can animate the tick. A
different checklist resets the model; ``CallStarted`` clears it.

Thread rules: GUI thread only.
"""

from __future__ import annotations

from typing import Any

from agent_assist.domain import CallStarted, ChecklistProgress, ChecklistStep, Event
from agent_assist.ui.qt import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, QtCore, Signal

__all__ = ["ChecklistModel"]

_Index = QModelIndex | QPersistentModelIndex


class ChecklistModel(QAbstractListModel):
    """The steps of one checklist; ``checklist_id``/``intent_id`` say which."""

    TextRole = Qt.ItemDataRole.UserRole + 1  # str
    DoneRole = Qt.ItemDataRole.UserRole + 2  # bool
    DoneByRole = Qt.ItemDataRole.UserRole + 3  # str: the utterance that completed it
    StepIdRole = Qt.ItemDataRole.UserRole + 4  # str

    step_ticked = Signal(int)  # row that just became done
    checklist_changed = Signal()  # another checklist (or none) is shown now

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._steps: tuple[ChecklistStep, ...] = ()
        self.checklist_id = ""
        self.intent_id = ""

    def apply(self, event: Event) -> None:
        if isinstance(event, CallStarted):
            self.clear()
        elif isinstance(event, ChecklistProgress):
            self._progress(event)

    def clear(self) -> None:
        if not self._steps and not self.checklist_id:
            return
        self.beginResetModel()
        self._steps = ()
        self.checklist_id = self.intent_id = ""
        self.endResetModel()
        self.checklist_changed.emit()

    def _progress(self, event: ChecklistProgress) -> None:
        same = event.checklist_id == self.checklist_id and [s.id for s in event.steps] == [
            s.id for s in self._steps
        ]
        if not same:
            self.beginResetModel()
            self._steps = event.steps
            self.checklist_id, self.intent_id = event.checklist_id, event.intent_id
            self.endResetModel()
            self.checklist_changed.emit()
            return
        old, self._steps = self._steps, event.steps
        self.intent_id = event.intent_id
        for row, (before, after) in enumerate(zip(old, event.steps, strict=True)):
            if before != after:
                index = self.index(row)
                self.dataChanged.emit(index, index, [])
                if after.done and not before.done:
                    self.step_ticked.emit(row)

    @property
    def done_count(self) -> int:
        return sum(1 for s in self._steps if s.done)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._steps)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._steps):
            return None
        step = self._steps[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, self.TextRole):
            return step.text
        if role == self.DoneRole:
            return step.done
        if role == self.DoneByRole:
            return step.done_by
        if role == self.StepIdRole:
            return step.id
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{step.text}: {'done' if step.done else 'to do'}"
        return None

    def roleNames(self) -> dict[int, QtCore.QByteArray]:
        names = dict(super().roleNames())
        names.update(
            {
                k: QtCore.QByteArray(v)
                for k, v in {
                    self.TextRole: b"text",
                    self.DoneRole: b"done",
                    self.DoneByRole: b"doneBy",
                    self.StepIdRole: b"stepId",
                }.items()
            }
        )
        return names

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemNeverHasChildren
