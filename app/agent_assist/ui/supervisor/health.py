"""``HealthPage``: is the assistant fast, trusted and well-informed? Numbers from the call store.

Shows, over the last 1/7/30 days: latency percentiles per stage
(transcription, retrieval, first token and whole generation) as a table and
a bar chart; the agents' thumbs on suggestions; how often the grounding check
rejected a draft (an extractive quote was shown instead); how many customer
turns found a confident card, and the questions that most often found none
(knowledge gaps); and the models and pack versions in use. A stage with no
measurements says so rather than showing zero.

Thread rules: GUI thread only; the statistics are computed on the worker.
"""

from __future__ import annotations

from typing import Any

from agent_assist.domain import Event, ModelStatus
from agent_assist.knowledge.installed import InstalledPack, PackStore
from agent_assist.store import Database
from agent_assist.store.queries import HealthStats, Percentiles, health_stats
from agent_assist.ui.history.jobs import Jobs
from agent_assist.ui.qt import Qt, QtCore, QtGui, QtWidgets, Signal
from agent_assist.ui.qt_charts import QtCharts
from agent_assist.ui.supervisor import widgets as w
from agent_assist.ui.supervisor.models import TextTable, fit_height, table_view
from agent_assist.ui.supervisor.packs import StoreFactory
from agent_assist.ui.theme import GRID, qcolor, tokens

__all__ = ["PERIODS", "HealthPage"]

PERIODS = ((1, "Last 24 hours"), (7, "Last 7 days"), (30, "Last 30 days"))
NOT_MEASURED = "not measured yet"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value * 1000:.0f}"


def _share(part: int, whole: int) -> str:
    return "–" if not whole else f"{100 * part / whole:.0f}%"


class HealthPage(QtWidgets.QWidget):
    """``HealthPage(database, store_factory=PackStore)``. Signal ``loaded(object)``: the stats shown."""

    loaded = Signal(object)

    def __init__(
        self,
        database: Database,
        *,
        store_factory: StoreFactory = PackStore,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("healthPage")
        self._db = database
        self._store_factory = store_factory
        self.jobs = Jobs("health", self)
        self.stats: HealthStats | None = None
        self.engine_models: dict[str, str] = {}  # component -> model, from ModelStatus
        self._packs: list[InstalledPack] = []

        self.period = QtWidgets.QComboBox()
        for days, label in PERIODS:
            self.period.addItem(label, days)
        self.period.setCurrentIndex(1)
        self.period.currentIndexChanged.connect(lambda _i: self.refresh())
        self.tiles: dict[str, tuple[QtWidgets.QLabel, QtWidgets.QLabel]] = {}
        tiles = QtWidgets.QGridLayout()
        tiles.setSpacing(GRID)
        for n, (key, caption) in enumerate(
            (
                ("calls", "Calls"),
                ("acceptance", "Suggestions liked"),
                ("rejection", "Drafts rejected by grounding"),
                ("coverage", "Customer turns with a card"),
            )
        ):
            frame, value, detail = _tile(caption)
            self.tiles[key] = (value, detail)
            tiles.addWidget(frame, n // 2, n % 2)
        self.latency = TextTable(
            ("Stage", "p50 ms", "p90 ms", "p95 ms", "Measured"), numeric=(1, 2, 3, 4)
        )
        self.latency_view = table_view(self.latency, stretch=0)
        self.latency_view.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.chart = QtCharts.QChartView()
        self.chart.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        self.chart.setMinimumHeight(180)
        self.chart.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.gaps = TextTable(("Times", "The customer asked"), numeric=(0,))
        self.gaps_view = table_view(self.gaps, stretch=1)
        self.gaps_note = w.label("", "caption")
        self.versions = w.label("", None)

        body = QtWidgets.QWidget()
        body.setObjectName("panel")
        layout = QtWidgets.QVBoxLayout(body)
        layout.setContentsMargins(GRID * 2, GRID * 2, GRID * 2, GRID * 2)
        layout.setSpacing(GRID * 3 // 2)
        head = QtWidgets.QHBoxLayout()
        head.addWidget(w.label("Assistant health", "title"), 1)
        head.addWidget(self.period)
        layout.addLayout(head)
        layout.addLayout(tiles)
        card, box = w.card("Latency per stage")
        box.addWidget(self.latency_view)
        box.addWidget(self.chart)
        layout.addWidget(card)
        card, box = w.card("Knowledge gaps")
        box.addWidget(self.gaps_note)
        box.addWidget(self.gaps_view)
        layout.addWidget(card)
        card, box = w.card("In use")
        box.addWidget(self.versions)
        layout.addWidget(card)
        layout.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.refresh()

    def refresh(self) -> None:
        days = int(self.period.currentData())
        db, factory = self._db, self._store_factory

        def work() -> tuple[HealthStats, list[InstalledPack]]:
            return health_stats(db, days), factory().list()

        self.jobs.run(work, self._show, self._failed)

    def on_event(self, event: Event) -> None:
        """Remember which model each engine component runs (``ModelStatus``)."""
        if isinstance(event, ModelStatus) and event.model:
            self.engine_models[event.component] = f"{event.model} ({event.state})"
            if self.stats is not None:
                self._show_versions(self.stats, self._packs)

    def _show(self, result: tuple[HealthStats, list[InstalledPack]]) -> None:
        stats, packs = result
        self.stats, self._packs = stats, packs
        self._tile("calls", str(stats.calls), f"in the {self.period.currentText().lower()}")
        self._tile(
            "acceptance",
            _share(stats.thumbs_up, stats.rated),
            f"{stats.thumbs_up} liked, {stats.thumbs_down} not, of {stats.rated} rated",
        )
        self._tile(
            "rejection",
            _share(stats.extractive, stats.suggestions),
            f"{stats.extractive} of {stats.suggestions} shown as a quote instead",
        )
        self._tile(
            "coverage",
            _share(stats.turns_with_cards, stats.customer_turns),
            f"{stats.turns_with_cards} of {stats.customer_turns} turns (calls with retrieval on)",
        )
        stages = (
            ("Transcription", stats.transcription),
            ("Retrieval", stats.retrieval),
            ("Generation: first token", stats.first_token),
            ("Generation: whole reply", stats.generation),
        )
        self.latency.set_rows([_latency_row(name, p) for name, p in stages])
        fit_height(self.latency_view)
        self._draw_chart(stages)
        self.gaps.set_rows([(str(g.count), g.text) for g in stats.gaps], list(stats.gaps))
        self.gaps_view.setVisible(bool(stats.gaps))
        fit_height(self.gaps_view)
        self.gaps_note.setText(
            "Customer questions (4+ words) for which no knowledge card was confident enough, most frequent first."
            if stats.gaps
            else "No gaps: every customer question found a card (or no call had retrieval on)."
        )
        self._show_versions(stats, packs)
        self.loaded.emit(stats)

    def _tile(self, key: str, value: str, detail: str) -> None:
        self.tiles[key][0].setText(value)
        self.tiles[key][1].setText(detail)

    def _show_versions(self, stats: HealthStats, packs: list[InstalledPack]) -> None:
        lines = [f"<b>{k.capitalize()}</b>: {v}" for k, v in sorted(self.engine_models.items())]
        lines += [f"<b>Suggestions</b>: {m} via {b} ({n} in the period)" for m, b, n in stats.models]
        lines += [f"<b>Pack</b>: {p.name} {p.version} ({p.chunks} chunks, {p.embedder})" for p in packs]
        self.versions.setText("<br/>".join(lines) or "No models reported yet and no packs installed.")

    def _draw_chart(self, stages: tuple[tuple[str, Percentiles], ...]) -> None:
        t = tokens()
        chart = QtCharts.QChart()
        chart.setBackgroundBrush(qcolor(t.surface))
        chart.setBackgroundPen(QtGui.QPen(qcolor(t.surface)))
        chart.setMargins(QtCore.QMargins(0, 4, 0, 0))
        self.chart.setBackgroundBrush(qcolor(t.surface))
        series = QtCharts.QBarSeries()
        for name, attr, colour in (("p50", "p50", t.accent), ("p95", "p95", t.border)):
            bars = QtCharts.QBarSet(name)
            bars.setColor(qcolor(colour))
            bars.setBorderColor(qcolor(colour))
            bars.setLabelColor(qcolor(t.muted))
            for _, p in stages:
                value = getattr(p, attr)
                bars.append(0.0 if value is None else value * 1000)
            series.append(bars)
        chart.addSeries(series)
        x = QtCharts.QBarCategoryAxis()
        x.append(["Speech", "Cards", "Token", "Reply"])
        y = QtCharts.QValueAxis()
        y.setLabelFormat("%d ms")
        top = max([b.at(i) for b in series.barSets() for i in range(b.count())] + [1.0])
        y.setRange(0, top * 1.15)
        y.applyNiceNumbers()
        for axis in (x, y):
            axis.setLabelsColor(qcolor(t.muted))
            axis.setGridLineColor(qcolor(t.border))
            axis.setLinePenColor(qcolor(t.border))
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(x)
        series.attachAxis(y)
        legend = chart.legend()
        legend.setAlignment(Qt.AlignmentFlag.AlignTop)
        legend.setLabelColor(qcolor(t.muted))
        old = self.chart.chart()
        self.chart.setChart(chart)
        old.deleteLater()

    def _failed(self, exc: BaseException) -> None:
        self._tile("calls", "–", f"The call store could not be read: {exc}")

    def closeEvent(self, event: Any) -> None:
        self.jobs.shutdown()
        super().closeEvent(event)


def _latency_row(name: str, p: Percentiles) -> tuple[str, ...]:
    if not p.count:
        return (name, "–", "–", "–", NOT_MEASURED)
    return (name, _ms(p.p50), _ms(p.p90), _ms(p.p95), str(p.count))


def _tile(caption: str) -> tuple[QtWidgets.QFrame, QtWidgets.QLabel, QtWidgets.QLabel]:
    frame, box = w.card(caption)
    value = w.label("–", "number")
    font = value.font()
    font.setPointSizeF(font.pointSizeF() * 1.6 if font.pointSizeF() > 0 else 16)
    value.setFont(font)
    detail = w.label("", "caption")
    box.addWidget(value)
    box.addWidget(detail)
    return frame, value, detail
