"""The checklist of the current intent: steps that tick themselves, "n/m done", the intent's name.

A list view over ``ChecklistModel`` with a painted delegate: an empty circle
for an open step, a filled accent circle with a check mark for a done one.
When a step ticks (``ChecklistModel.step_ticked``) its row glows in the accent
colour for ``FLASH_MS`` and fades; one 30 ms timer runs only while a row is
fading, so the animation costs nothing the rest of the time. The view is as
tall as its rows (no inner scrolling); the window scrolls the sidebar.

Thread rules: GUI thread only.
"""

from __future__ import annotations

import time

from agent_assist.domain import Event, IntentDetected
from agent_assist.ui.models import ChecklistModel
from agent_assist.ui.panels._common import label
from agent_assist.ui.qt import (
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    QtCore,
    QtGui,
    QTimer,
    QtWidgets,
)
from agent_assist.ui.theme import GRID, qcolor, tokens

__all__ = ["ChecklistView"]

FLASH_MS = 900
VISIBLE_ROWS = 4  # steps shown at once; more scroll
_MARK = 16  # the check circle


class _StepDelegate(QtWidgets.QStyledItemDelegate):
    def __init__(self, view: ChecklistView) -> None:
        super().__init__(view.list)
        self._owner = view

    def _width(self) -> int:
        return max(GRID * 8, self._owner.list.viewport().width())

    def sizeHint(
        self, option: QtWidgets.QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        fm = QtGui.QFontMetrics(option.font)
        text = str(index.data(ChecklistModel.TextRole) or "")
        width = self._width() - _MARK - GRID * 3
        h = fm.boundingRect(
            QtCore.QRect(0, 0, width, 100_000), int(Qt.TextFlag.TextWordWrap), text
        ).height()
        return QSize(self._width(), max(_MARK, h) + GRID)

    def paint(
        self,
        painter: QtGui.QPainter,
        option: QtWidgets.QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        t = tokens()
        rect: QtCore.QRect = option.rect
        done = bool(index.data(ChecklistModel.DoneRole))
        text = str(index.data(ChecklistModel.TextRole) or "")
        painter.save()
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        glow = self._owner.glow(index.row())
        if glow > 0:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(qcolor(t.accent, 0.22 * glow))
            painter.drawRoundedRect(QtCore.QRectF(rect).adjusted(0, 1, 0, -1), 6, 6)
        fm = QtGui.QFontMetrics(option.font)
        circle = QtCore.QRectF(
            rect.x() + GRID // 2, rect.y() + GRID // 2 + (fm.height() - _MARK) / 2, _MARK, _MARK
        )
        if done:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(qcolor(t.success))
            painter.drawEllipse(circle)
            pen = QtGui.QPen(qcolor(t.surface), 2)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            c = circle
            painter.drawPolyline([QtCore.QPointF(c.x() + 4.5, c.y() + 8.5), QtCore.QPointF(c.x() + 7, c.y() + 11),
                                  QtCore.QPointF(c.x() + 11.5, c.y() + 5.5)])  # fmt: skip
        else:
            painter.setPen(QtGui.QPen(qcolor(t.muted), 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(circle.adjusted(1, 1, -1, -1))
        painter.setFont(option.font)
        painter.setPen(qcolor(t.muted if done else t.text))
        x = int(circle.right()) + GRID
        text_rect = QtCore.QRect(x, rect.y() + GRID // 2, rect.right() - x, rect.height() - GRID // 2)
        painter.drawText(text_rect, int(Qt.TextFlag.TextWordWrap), text)
        painter.restore()


class ChecklistView(QtWidgets.QWidget):
    """The current intent's checklist; hidden while there is none."""

    def __init__(
        self, parent: QtWidgets.QWidget | None = None, *, model: ChecklistModel | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        self.model = model or ChecklistModel(self)
        self._intent_names: dict[str, str] = {}
        self._flash: dict[int, float] = {}  # row -> monotonic start of its glow

        self.heading = label("CHECKLIST", "heading")
        self.intent = label("", "caption")
        self.count = label("", "caption")
        self.count.setAccessibleName("Checklist progress")
        head = QtWidgets.QHBoxLayout()
        head.setSpacing(GRID)
        head.addWidget(self.heading)
        head.addWidget(self.intent, 1)
        head.addWidget(self.count)

        self.list = QtWidgets.QListView()
        self.list.setModel(self.model)
        self.list.setItemDelegate(_StepDelegate(self))
        self.list.setAccessibleName("Checklist steps")
        self.list.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setResizeMode(QtWidgets.QListView.ResizeMode.Adjust)
        self.list.setFocusPolicy(Qt.FocusPolicy.TabFocus)

        self.body = QtWidgets.QWidget()  # hidden while there is no checklist (the panel takes no room)
        box = QtWidgets.QVBoxLayout(self.body)
        box.setContentsMargins(GRID * 2, GRID // 2, GRID * 2, GRID // 2)
        box.setSpacing(GRID // 2)
        box.addLayout(head)
        box.addWidget(self.list)
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.body)

        self._timer = QTimer(self)
        self._timer.setInterval(30)
        self._timer.timeout.connect(self._animate)
        self.model.step_ticked.connect(self._ticked)
        self.model.modelReset.connect(self._refresh)
        self.model.dataChanged.connect(self._refresh)
        self.model.checklist_changed.connect(self._flash.clear)
        self._refresh()

    def on_event(self, event: Event) -> None:
        if isinstance(event, IntentDetected):
            self._intent_names[event.intent_id] = event.name
        self.model.apply(event)
        if isinstance(event, IntentDetected):
            self._refresh()

    def set_compact(self, compact: bool) -> None:
        """Compact: hide the intent's name beside the heading."""
        self.intent.setVisible(not compact)

    def glow(self, row: int) -> float:
        """How strongly ``row`` glows now (1 just ticked → 0)."""
        started = self._flash.get(row)
        if started is None:
            return 0.0
        return max(0.0, 1.0 - (time.monotonic() - started) * 1000 / FLASH_MS)

    @property
    def animating(self) -> bool:
        return self._timer.isActive()

    def _ticked(self, row: int) -> None:
        self._flash[row] = time.monotonic()
        if not self._timer.isActive():
            self._timer.start()

    def _animate(self) -> None:
        for row in [r for r in self._flash if self.glow(r) <= 0]:
            del self._flash[row]
        self.list.viewport().update()
        if not self._flash:
            self._timer.stop()

    def _refresh(self, *_args: object) -> None:
        m = self.model
        rows = m.rowCount()
        self.body.setVisible(rows > 0)
        if not rows:
            return
        name = self._intent_names.get(m.intent_id, m.intent_id.replace("_", " ").replace("-", " "))
        self.intent.setText(f"· {name}" if name else "")
        self.count.setText(f"{m.done_count}/{rows} done")
        self.count.setAccessibleDescription(f"{m.done_count} of {rows} steps done")
        self.list.doItemsLayout()
        # At most VISIBLE_ROWS steps tall, so the knowledge cards keep their room; the
        # list then scrolls to keep the first open step in view.
        shown = min(rows, VISIBLE_ROWS)
        height = sum(self.list.sizeHintForRow(r) for r in range(shown)) + 2 * self.list.frameWidth()
        self.list.setFixedHeight(height)
        scroll = (
            Qt.ScrollBarPolicy.ScrollBarAsNeeded
            if rows > shown
            else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )
        self.list.setVerticalScrollBarPolicy(scroll)
        first_open = next((r for r in range(rows) if not m.index(r).data(m.DoneRole)), rows - 1)
        self.list.scrollTo(m.index(first_open), QtWidgets.QAbstractItemView.ScrollHint.PositionAtCenter)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.model.rowCount():
            self._refresh()
