"""The live transcript: a list view over ``TranscriptModel`` with a chat-like delegate.

Customer lines sit on the left with the customer colour bar, the agent's are
indented from the left with the agent colour bar, each under a small label
("Customer 1:02"). Tentative (partial) text is italic and muted, so it is
visibly not yet committed. The delegate computes each row's wrapped height
for the view's width, so long lines wrap in the narrow sidebar.

Auto-scroll: the view follows the newest line while it is at the bottom; when
the agent scrolls up it stays put and a "Jump to live" button appears over
the bottom edge, which scrolls back and follows again.

Thread rules: GUI thread only.
"""

from __future__ import annotations

from typing import Any

from agent_assist.domain import Event
from agent_assist.ui.models import TranscriptModel
from agent_assist.ui.panels._common import clock_text, label
from agent_assist.ui.qt import QModelIndex, QPersistentModelIndex, QSize, Qt, QtCore, QtGui, QtWidgets
from agent_assist.ui.theme import GRID, icon, qcolor, tokens

__all__ = ["TranscriptDelegate", "TranscriptView"]

_PAD = GRID  # inside a bubble
_GAP = GRID // 2  # between rows
_INDENT = GRID * 4  # the agent's lines start this far in
_BAR = 3  # the speaker colour bar


class TranscriptDelegate(QtWidgets.QStyledItemDelegate):
    """Paints one transcript row; ``sizeHint`` is its wrapped height at the view's width."""

    def __init__(self, view: QtWidgets.QListView) -> None:
        super().__init__(view)
        self._view = view

    def _fonts(self, option: QtWidgets.QStyleOptionViewItem) -> tuple[QtGui.QFont, QtGui.QFont]:
        body = QtGui.QFont(option.font)
        small = QtGui.QFont(body)
        small.setPointSizeF(max(7.0, body.pointSizeF() - 1.5))
        small.setWeight(QtGui.QFont.Weight.DemiBold)
        return body, small

    def _text_rect(self, width: int, speaker: str) -> QtCore.QRect:
        left = _INDENT if speaker == "agent" else 0
        return QtCore.QRect(left + _BAR + _PAD, 0, max(GRID * 4, width - left - _BAR - 2 * _PAD), 0)

    def sizeHint(
        self, option: QtWidgets.QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        body, small = self._fonts(option)
        width = self._view.viewport().width() - 2
        speaker = str(index.data(TranscriptModel.SpeakerRole))
        text = str(index.data(TranscriptModel.TextRole) or "")
        if not index.data(TranscriptModel.FinalRole):
            body.setItalic(True)
        area = self._text_rect(width, speaker)
        fm = QtGui.QFontMetrics(body)
        text_h = fm.boundingRect(QtCore.QRect(0, 0, area.width(), 100_000),
                                 int(Qt.TextFlag.TextWordWrap), text).height()  # fmt: skip
        label_h = QtGui.QFontMetrics(small).height()
        return QSize(width, _PAD + label_h + 2 + text_h + _PAD + _GAP)

    def paint(
        self,
        painter: QtGui.QPainter,
        option: QtWidgets.QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        t = tokens()
        body, small = self._fonts(option)
        rect: QtCore.QRect = option.rect
        speaker = str(index.data(TranscriptModel.SpeakerRole))
        final = bool(index.data(TranscriptModel.FinalRole))
        text = str(index.data(TranscriptModel.TextRole) or "")
        start = float(index.data(TranscriptModel.StartRole) or 0.0)
        colour = t.agent if speaker == "agent" else t.customer
        left = _INDENT if speaker == "agent" else 0
        bubble = QtCore.QRectF(rect.x() + left, rect.y(), rect.width() - left - 2, rect.height() - _GAP)

        painter.save()
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(qcolor(t.surface if final else t.background))
        if not final:
            painter.setPen(QtGui.QPen(qcolor(t.border), 1, Qt.PenStyle.DashLine))
        painter.drawRoundedRect(bubble.adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(qcolor(colour, 1.0 if final else 0.4))
        painter.drawRoundedRect(
            QtCore.QRectF(bubble.x(), bubble.y() + 4, _BAR, bubble.height() - 8), 1.5, 1.5
        )

        x = int(bubble.x()) + _BAR + _PAD
        y = int(bubble.y()) + _PAD
        width = int(bubble.width()) - _BAR - 2 * _PAD
        painter.setFont(small)
        who = {"agent": "You", "customer": "Customer"}.get(speaker, "Speaker")
        label_h = QtGui.QFontMetrics(small).height()
        painter.setPen(qcolor(colour))
        painter.drawText(QtCore.QRect(x, y, width, label_h), int(Qt.AlignmentFlag.AlignLeft), who)
        painter.setPen(qcolor(t.muted))
        stamp = clock_text(start) + ("" if final else "  ·  listening…")
        painter.drawText(QtCore.QRect(x, y, width, label_h), int(Qt.AlignmentFlag.AlignRight), stamp)

        if not final:
            body.setItalic(True)
        painter.setFont(body)
        painter.setPen(qcolor(t.text if final else t.muted))
        text_rect = QtCore.QRect(x, y + label_h + 2, width, int(bubble.bottom()) - (y + label_h + 2))
        painter.drawText(text_rect, int(Qt.TextFlag.TextWordWrap), text)
        painter.restore()


class TranscriptView(QtWidgets.QWidget):
    """The transcript list with follow-the-bottom scrolling and a "Jump to live" button."""

    def __init__(
        self, parent: QtWidgets.QWidget | None = None, *, model: TranscriptModel | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        self.model = model or TranscriptModel(self)
        self.list = QtWidgets.QListView()
        self.list.setModel(self.model)
        self.list.setItemDelegate(TranscriptDelegate(self.list))
        self.list.setAccessibleName("Transcript")
        self.list.setAccessibleDescription(
            "The call's words as they are transcribed; newest at the bottom"
        )
        self.list.setVerticalScrollMode(QtWidgets.QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setResizeMode(QtWidgets.QListView.ResizeMode.Adjust)
        self.list.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.list.setUniformItemSizes(False)
        self.list.setWordWrap(True)
        self.list.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.list.verticalScrollBar().setSingleStep(GRID * 2)

        self.empty = label("The conversation appears here once the call starts.", "muted", wrap=True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.jump = QtWidgets.QPushButton("Jump to live", self)
        self.jump.setProperty("floating", True)
        self.jump.setIcon(icon("down-arrow", tokens().accent_text, 14))
        self.jump.setAccessibleName("Jump to live")
        self.jump.setAccessibleDescription("Scroll to the newest line and follow the call again")
        self.jump.setCursor(Qt.CursorShape.PointingHandCursor)
        self.jump.clicked.connect(self.jump_to_live)
        self.jump.hide()

        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(GRID * 2, 0, GRID, 0)
        box.setSpacing(0)
        box.addWidget(self.empty)
        box.addWidget(self.list, 1)
        self.list.hide()

        self._follow = True
        bar = self.list.verticalScrollBar()
        bar.rangeChanged.connect(self._range_changed)
        bar.valueChanged.connect(self._value_changed)
        self.model.dataChanged.connect(self._data_changed)
        self.model.rowsInserted.connect(self._rows_changed)
        self.model.rowsRemoved.connect(self._rows_changed)
        self.model.modelReset.connect(self._rows_changed)

    # -- events ----------------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        self.model.apply(event)

    def set_compact(self, compact: bool) -> None:
        """Compact mode changes nothing here: the transcript is the primary detail."""

    # -- scrolling -------------------------------------------------------------------------------

    @property
    def following(self) -> bool:
        """True while the view sticks to the newest line."""
        return self._follow

    def jump_to_live(self) -> None:
        self._follow = True
        self.list.scrollToBottom()
        bar = self.list.verticalScrollBar()
        bar.setValue(bar.maximum())
        self.jump.hide()

    def _value_changed(self, value: int) -> None:
        bar = self.list.verticalScrollBar()
        self._follow = value >= bar.maximum() - 2
        self._place_jump()

    def _range_changed(self, _low: int, high: int) -> None:
        if self._follow:
            self.list.verticalScrollBar().setValue(high)
        self._place_jump()

    def _data_changed(self, top: QModelIndex, bottom: QModelIndex, _roles: Any = None) -> None:
        delegate = self.list.itemDelegate()
        for row in range(top.row(), bottom.row() + 1):  # a partial grew: its height may change
            delegate.sizeHintChanged.emit(self.model.index(row))

    def _rows_changed(self, *_args: Any) -> None:
        has_rows = self.model.rowCount() > 0
        self.list.setVisible(has_rows)
        self.empty.setVisible(not has_rows)
        if not has_rows:
            self._follow = True
        self._place_jump()

    def _place_jump(self) -> None:
        show = not self._follow and self.model.rowCount() > 0
        if show:
            hint = self.jump.sizeHint()
            geo = self.list.geometry()
            self.jump.setGeometry(geo.x() + (geo.width() - hint.width()) // 2,
                                  geo.bottom() - hint.height() - GRID, hint.width(), hint.height())  # fmt: skip
            self.jump.raise_()
        self.jump.setVisible(show)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_jump()
