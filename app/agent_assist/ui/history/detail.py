"""``CallDetailWindow``: one past call in a window of its own, wider than the sidebar.

Top to bottom: when and how long (with status and disposition chips), the
timeline chart, then the transcript beside the call's record -- summary,
notes, the checklist as it ended, the suggestions with the agent's thumbs,
the knowledge cards shown -- and the QA scorecard's place. QA scorecards do
not exist yet, so that card says so plainly instead of showing made-up scores.

Everything is read on a worker (``Jobs``); the window shows "Loading…" until
the ``CallDetail`` arrives.

Thread rules: GUI thread only.
"""

from __future__ import annotations

from typing import Any

from agent_assist.store import Database
from agent_assist.store.queries import CallDetail, call_detail
from agent_assist.ui.history.jobs import Jobs
from agent_assist.ui.history.models import TranscriptTableModel, format_duration, format_when
from agent_assist.ui.history.timeline import TimelineChart
from agent_assist.ui.qt import Qt, QtWidgets, Signal
from agent_assist.ui.theme import GRID

__all__ = ["QA_NOT_YET", "CallDetailWindow"]

QA_NOT_YET = (
    "QA scorecards are not available yet. When the QA feature arrives, each rule and checklist "
    "step of the pack will be scored here, with the transcript lines that show it."
)


class CallDetailWindow(QtWidgets.QWidget):
    """``CallDetailWindow(database, call_id)``: loads and shows one call.

    Signal ``loaded(object)``: the ``CallDetail`` once shown (None: no such call).
    """

    loaded = Signal(object)

    def __init__(
        self, database: Database, call_id: str, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("callDetail")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle("Call")
        self.resize(1080, 760)
        self.call_id = call_id
        self._db = database
        self.detail: CallDetail | None = None
        self.jobs = Jobs("call-detail", self)

        self.title = QtWidgets.QLabel("Loading…")
        self.title.setProperty("role", "title")
        self.subtitle = QtWidgets.QLabel("")
        self.subtitle.setProperty("role", "muted")
        self.chips = QtWidgets.QHBoxLayout()
        self.chips.setSpacing(GRID // 2)
        self.chart = TimelineChart()
        self.talk = _label("", "caption")
        self.transcript = TranscriptTableModel(self)
        self.table = QtWidgets.QTableView()
        self.table.setModel(self.transcript)
        self.table.setShowGrid(False)
        self.table.setWordWrap(True)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setVerticalScrollMode(QtWidgets.QAbstractItemView.ScrollMode.ScrollPerPixel)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.side = QtWidgets.QVBoxLayout()
        self.side.setSpacing(GRID)

        head = QtWidgets.QHBoxLayout()
        texts = QtWidgets.QVBoxLayout()
        texts.setSpacing(2)
        texts.addWidget(self.title)
        texts.addWidget(self.subtitle)
        head.addLayout(texts, 1)
        head.addLayout(self.chips)
        timeline, box = _card("Timeline")
        box.addWidget(self.chart, 1)
        box.addWidget(self.talk)
        left, lbox = _card("Transcript")
        lbox.addWidget(self.table, 1)
        holder = QtWidgets.QWidget()
        holder.setObjectName("panel")
        holder.setLayout(self.side)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        scroll.setMinimumWidth(360)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        split = QtWidgets.QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(scroll)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        split.setSizes([640, 420])
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(GRID * 3, GRID * 2, GRID * 3, GRID * 2)
        layout.setSpacing(GRID * 2)
        layout.addLayout(head)
        layout.addWidget(timeline, 2)
        layout.addWidget(split, 5)
        self.reload()

    def reload(self) -> None:
        """Read the call again (on the worker)."""
        db, call_id = self._db, self.call_id
        self.jobs.run(lambda: call_detail(db, call_id), self.show_detail, self._failed)

    def show_detail(self, detail: CallDetail | None) -> None:
        self.detail = detail
        if detail is None:
            self.title.setText("This call is no longer in the history")
            self.loaded.emit(None)
            return
        row = detail.row
        when = format_when(row.started_at)
        self.setWindowTitle(f"Call {when}")
        self.title.setText(f"Call {when}")
        parts = [format_duration(row.duration), f"{len(detail.utterances)} lines"]
        if row.source:
            parts.append(row.source)
        self.subtitle.setText(" · ".join(parts))
        for text, state in (
            (row.status, "ready" if row.status == "completed" else "warning"),
            (row.disposition or "", "accent"),
        ):
            if text:
                chip = _label(text, None)
                chip.setProperty("chip", True)
                chip.setProperty("state", state)
                self.chips.addWidget(chip)
        self.chart.set_timeline(detail.timeline)
        talk = detail.timeline.talk
        total = sum(talk.values()) or 1.0
        shares = [f"{who.capitalize()} {100 * s / total:.0f}%" for who, s in sorted(talk.items())]
        silent = sum(end - start for start, end in detail.timeline.silences)
        self.talk.setText(
            "Talk time: "
            + (", ".join(shares) or "nobody spoke")
            + f" · silence {format_duration(silent)}"
            " · sentiment over time is not measured yet"
        )
        self.transcript.set_rows(detail.utterances)
        self.table.resizeRowsToContents()
        self._side(detail)
        self.loaded.emit(detail)

    def _side(self, d: CallDetail) -> None:
        summary, box = _card("Summary")
        if d.summary is None:
            box.addWidget(_label("No summary was made for this call.", "muted"))
        else:
            data: dict[str, Any] = d.summary.data
            for key, name in (("reason_for_contact", "Reason"), ("resolution", "Resolution")):
                if data.get(key):
                    box.addWidget(_label(f"<b>{name}:</b> {_esc(str(data[key]))}", None))
            for key, name in (
                ("key_facts", "Key facts"),
                ("actions_taken", "Actions"),
                ("follow_ups", "Follow-ups"),
                ("identifiers", "Identifiers"),
            ):
                items = [str(v) for v in data.get(key) or []]
                if items:
                    box.addWidget(_label(f"<b>{name}:</b> " + _esc("; ".join(items)), None))
            if data.get("sentiment_start"):
                box.addWidget(
                    _label(
                        f"Customer mood: {data['sentiment_start']} → {data.get('sentiment_end', '?')}",
                        "muted",
                    )
                )
            how = (
                "made by rules (the model's answer was not usable)"
                if d.summary.fallback
                else f"by {d.summary.model}"
            )
            box.addWidget(_label(f"Summary {how}", "caption"))
        self.side.addWidget(summary)
        qa, box = _card("QA scorecard")
        notice = QtWidgets.QFrame()
        notice.setProperty("notice", True)
        inner = QtWidgets.QVBoxLayout(notice)
        inner.addWidget(_label(QA_NOT_YET, None))
        box.addWidget(notice)
        self.qa_notice = notice
        self.side.addWidget(qa)
        if d.notes:
            notes, box = _card("Notes")
            for kind, text in d.notes:
                box.addWidget(_label(f"<b>{_esc(kind.capitalize())}:</b> {_esc(text)}", None))
            self.side.addWidget(notes)
        if d.checklist:
            checklist, box = _card("Checklist")
            for step in d.checklist.get("steps", []):
                mark = "✓" if step.get("done") else "○"
                box.addWidget(
                    _label(
                        f"{mark}  {_esc(str(step.get('text', '')))}",
                        None if step.get("done") else "muted",
                    )
                )
            self.side.addWidget(checklist)
        suggestions, box = _card("Reply suggestions")
        if not d.suggestions:
            box.addWidget(_label("No reply was suggested during this call.", "muted"))
        for s in d.suggestions:
            thumbs = {1: "Agent liked it", -1: "Agent did not like it"}.get(s.feedback or 0, "Not rated")
            flag = " · quoted (draft failed the grounding check)" if s.extractive else ""
            box.addWidget(_label(f"“{_esc(s.text)}”", None))
            box.addWidget(_label(f"{thumbs}{flag}", "caption"))
        self.side.addWidget(suggestions)
        if d.cards:
            cards, box = _card("Knowledge shown")
            for c in d.cards:
                box.addWidget(_label(f"{_esc(', '.join(c.titles))} · {c.confidence:.2f}", None))
            self.side.addWidget(cards)
        self.side.addStretch(1)

    def _failed(self, exc: BaseException) -> None:
        self.title.setText("The call could not be read")
        self.subtitle.setText(str(exc))
        self.loaded.emit(None)

    def closeEvent(self, event: Any) -> None:
        self.jobs.shutdown()
        super().closeEvent(event)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _label(text: str, role: str | None) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if role:
        label.setProperty("role", role)
    return label


def _card(heading: str) -> tuple[QtWidgets.QFrame, QtWidgets.QVBoxLayout]:
    frame = QtWidgets.QFrame()
    frame.setProperty("card", True)
    box = QtWidgets.QVBoxLayout(frame)
    box.setContentsMargins(GRID * 2, GRID * 3 // 2, GRID * 2, GRID * 3 // 2)
    box.setSpacing(GRID // 2 + 2)
    box.addWidget(_label(heading.upper(), "heading"))
    return frame, box
