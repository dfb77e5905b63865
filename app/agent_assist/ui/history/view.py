"""``HistoryView``: the sidebar's History page -- search and filter past calls, open one.

Narrow by design (the sidebar is ~360 px): a search box, four compact filter
combos, and a list of calls drawn as small cards (when, how long, the
disposition, the customer's first line or the search hit). Every query runs on
the view's own worker (``Jobs``); typing is debounced and only the newest
answer is shown. Opening a call shows it in a ``CallDetailWindow`` (one per
call, raised if already open) and emits ``call_opened``.

Thread rules: GUI thread only; queries run on the worker.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agent_assist.domain import CallEnded, CallSummaryReady, Event
from agent_assist.store import Database
from agent_assist.store.queries import CallFilter, CallRow, dispositions, list_calls
from agent_assist.ui.history.detail import CallDetailWindow
from agent_assist.ui.history.jobs import Jobs
from agent_assist.ui.history.models import CallListModel
from agent_assist.ui.qt import (
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    QtCore,
    QtGui,
    QtWidgets,
    Signal,
)
from agent_assist.ui.theme import GRID, qcolor, tokens

__all__ = ["HistoryView"]

PERIODS = (("Any time", None), ("Today", 0), ("Last 7 days", 7), ("Last 30 days", 30))
STATUSES = (
    ("Any status", None),
    ("Completed", "completed"),
    ("Interrupted", "interrupted"),
    ("Active", "active"),
)
SUMMARIES = (("Any summary", None), ("With summary", True), ("No summary", False))
DEBOUNCE_MS = 250


class _CallDelegate(QtWidgets.QStyledItemDelegate):
    """Each call as a small card: when · duration on top, the line below, the disposition chip."""

    HEIGHT = 72

    def sizeHint(
        self, option: QtWidgets.QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        return QSize(option.rect.width(), self.HEIGHT)

    def paint(
        self,
        painter: QtGui.QPainter,
        option: QtWidgets.QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        t = tokens()
        call: CallRow = index.data(CallListModel.CallRole)
        rect = option.rect.adjusted(0, 3, -2, -3)
        selected = bool(option.state & QtWidgets.QStyle.StateFlag.State_Selected)
        hover = bool(option.state & QtWidgets.QStyle.StateFlag.State_MouseOver)
        painter.save()
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        painter.setPen(QtGui.QPen(qcolor(t.accent if selected else t.border), 1))
        painter.setBrush(qcolor(t.accent_soft if selected else t.surface_alt if hover else t.surface))
        painter.drawRoundedRect(QtCore.QRectF(rect).adjusted(0.5, 0.5, -0.5, -0.5), 8, 8)
        inner = rect.adjusted(12, 8, -12, -8)
        base = QtGui.QFont(option.font)
        bold = QtGui.QFont(base)
        bold.setWeight(QtGui.QFont.Weight.DemiBold)
        small = QtGui.QFont(base)
        small.setPointSizeF(max(7.0, base.pointSizeF() - 1))
        line_h = QtGui.QFontMetrics(base).height()
        top = QtCore.QRect(inner.left(), inner.top(), inner.width(), line_h)
        painter.setFont(small)
        painter.setPen(qcolor(t.muted))
        duration = index.data(CallListModel.DurationRole)
        painter.drawText(top, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), duration)
        painter.setFont(bold)
        painter.setPen(qcolor(t.text))
        painter.drawText(
            top,
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            index.data(CallListModel.WhenRole),
        )
        line = index.data(CallListModel.LineRole) or "(nothing was said)"
        painter.setFont(base)
        painter.setPen(qcolor(t.text if call.first_customer_line else t.muted))
        mid = QtCore.QRect(inner.left(), top.bottom() + 3, inner.width(), line_h)
        text = QtGui.QFontMetrics(base).elidedText(f"“{line}”", Qt.TextElideMode.ElideRight, mid.width())
        painter.drawText(mid, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)
        chips = [c for c in (call.disposition, "" if call.status == "completed" else call.status) if c]
        x = inner.left()
        fm = QtGui.QFontMetrics(small)
        painter.setFont(small)
        for chip in chips:
            warn = chip in ("interrupted", "active")
            w = fm.horizontalAdvance(chip) + 14
            box = QtCore.QRectF(x, mid.bottom() + 4, w, fm.height() + 2)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(qcolor(t.warning_soft if warn else t.accent_soft))
            painter.drawRoundedRect(box, box.height() / 2, box.height() / 2)
            painter.setPen(qcolor(t.warning if warn else t.accent))
            painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter), chip)
            x += int(w) + 6
        painter.restore()


class HistoryView(QtWidgets.QWidget):
    """The History page. ``HistoryView(database)``; call ``refresh()`` to reload.

    Signals: ``call_opened(str)`` after a call's detail window was shown;
    ``loaded(int)`` after a list arrived (how many calls).
    """

    call_opened = Signal(str)
    loaded = Signal(int)

    def __init__(self, database: Database, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("history")
        self._db = database
        self.jobs = Jobs("history", self)
        self._latest = 0
        self.windows: dict[str, CallDetailWindow] = {}
        self.model = CallListModel(self)

        title = QtWidgets.QLabel("Call history")
        title.setProperty("role", "title")
        self.search = QtWidgets.QLineEdit()
        self.search.setPlaceholderText("Search what was said…")
        self.search.setClearButtonEnabled(True)
        self.period = _combo(PERIODS)
        self.status = _combo(STATUSES)
        self.summary = _combo(SUMMARIES)
        self.disposition = QtWidgets.QComboBox()
        self.disposition.addItem("Any disposition", None)
        self.count = QtWidgets.QLabel("")
        self.count.setProperty("role", "caption")
        self.list = QtWidgets.QListView()
        self.list.setModel(self.model)
        self.list.setItemDelegate(_CallDelegate(self.list))
        self.list.setMouseTracking(True)
        self.list.setUniformItemSizes(True)
        self.list.setVerticalScrollMode(QtWidgets.QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.activated.connect(self._activated)
        self.list.clicked.connect(self._activated)
        self.empty = QtWidgets.QLabel("")
        self.empty.setProperty("role", "muted")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(GRID * 2, GRID * 2, GRID * 2, GRID)
        layout.setSpacing(GRID)
        layout.addWidget(title)
        layout.addWidget(self.search)
        grid = QtWidgets.QGridLayout()
        grid.setSpacing(GRID // 2 + 2)
        grid.addWidget(self.period, 0, 0)
        grid.addWidget(self.status, 0, 1)
        grid.addWidget(self.disposition, 1, 0)
        grid.addWidget(self.summary, 1, 1)
        layout.addLayout(grid)
        layout.addWidget(self.count)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty, 1)
        self.empty.hide()

        self._debounce = QtCore.QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _text: self._debounce.start())
        for combo in (self.period, self.status, self.disposition, self.summary):
            combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.refresh()

    # -- asking --------------------------------------------------------------------------------

    def current_filter(self, now: datetime | None = None) -> CallFilter:
        days = self.period.currentData()
        since = None
        if days is not None:
            local_midnight = (now or datetime.now(UTC)).astimezone().replace(
                hour=0, minute=0, second=0, microsecond=0
            ) - timedelta(days=days)
            since = local_midnight.astimezone(UTC).isoformat(timespec="milliseconds")
        return CallFilter(
            text=self.search.text().strip(),
            since=since,
            disposition=self.disposition.currentData(),
            status=self.status.currentData(),
            has_summary=self.summary.currentData(),
        )

    def refresh(self) -> None:
        """Query the list again (on the worker) with the current search and filters."""
        where = self.current_filter()
        db = self._db

        def query() -> tuple[list[CallRow], list[str]]:
            return list_calls(db, where), dispositions(db)

        self._latest += 1
        job = self._latest
        self.jobs.run(query, lambda result: self._show(job, result), self._failed)

    def _show(self, job: int, result: tuple[list[CallRow], list[str]]) -> None:
        if job != self._latest:
            return  # a newer question is on its way
        rows, codes = result
        self.model.set_rows(rows)
        self._sync_dispositions(codes)
        filtered = self.current_filter() != CallFilter()
        noun = "call" if len(rows) == 1 else "calls"
        self.count.setText(f"{len(rows)} {noun}" + (" match" if filtered else ""))
        self.empty.setText(
            "No calls match. Try fewer words or another filter."
            if filtered
            else "No calls yet. Calls you take appear here with their transcript and summary."
        )
        self.list.setVisible(bool(rows))
        self.empty.setVisible(not rows)
        self.loaded.emit(len(rows))

    def _failed(self, exc: BaseException) -> None:
        self.model.set_rows([])
        self.list.hide()
        self.empty.setText(f"The call history could not be read: {exc}")
        self.empty.show()
        self.loaded.emit(0)

    def _sync_dispositions(self, codes: list[str]) -> None:
        have = [self.disposition.itemData(i) for i in range(1, self.disposition.count())]
        if have == codes:
            return
        current = self.disposition.currentData()
        self.disposition.blockSignals(True)
        while self.disposition.count() > 1:
            self.disposition.removeItem(1)
        for code in codes:
            self.disposition.addItem(code, code)
        found = self.disposition.findData(current)
        self.disposition.setCurrentIndex(max(0, found))
        self.disposition.blockSignals(False)

    # -- opening -------------------------------------------------------------------------------

    def _activated(self, index: QModelIndex) -> None:
        self.open_call(self.model.row_at(index.row()).id)

    def open_call(self, call_id: str) -> CallDetailWindow:
        """Show the call's detail window (raising it if it is already open)."""
        window = self.windows.get(call_id)
        if window is None:
            window = CallDetailWindow(self._db, call_id)
            window.destroyed.connect(lambda _obj=None, cid=call_id: self.windows.pop(cid, None))
            self.windows[call_id] = window
        window.show()
        window.raise_()
        window.activateWindow()
        self.call_opened.emit(call_id)
        return window

    # -- events --------------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """A call that ended or got its summary changes the list: reload it (debounced)."""
        if isinstance(event, CallEnded | CallSummaryReady):
            self._debounce.start()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        for window in list(self.windows.values()):
            window.close()
        super().closeEvent(event)


def _combo(items: tuple[tuple[str, Any], ...]) -> QtWidgets.QComboBox:
    combo = QtWidgets.QComboBox()
    for label, value in items:
        combo.addItem(label, value)
    combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(8)
    return combo
