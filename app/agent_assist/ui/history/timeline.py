"""``TimelineChart``: one call over time, drawn with Qt Charts.

Lanes, top to bottom: the intents detected (labelled points), one lane per
speaker (talk segments as filled bars), silence (nobody speaking for a while)
and alerts (pipeline errors, device losses; triangles with a tooltip).

Why area series: Qt Charts has no range bars on a value axis, and a line
series cannot have gaps, so each lane is one ``QAreaSeries`` between a step
line (up at each segment's start, down at its end) and the lane's baseline --
one series per lane however many segments the call has.

Sentiment over time is not drawn: no sentiment is measured during a call yet.
Colours come from the theme's tokens (speaker colours as in the live view).

Thread rules: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent_assist.store.queries import Marker, Timeline
from agent_assist.ui.history.models import format_clock
from agent_assist.ui.qt import QtCore, QtGui, QtWidgets
from agent_assist.ui.qt_charts import QtCharts
from agent_assist.ui.theme import qcolor, tokens

__all__ = ["TimelineChart", "tick_step"]

HALF = 0.32  # half the height of a bar, in lanes
_STEPS = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800)


def tick_step(duration: float, most: int = 8) -> int:
    """Seconds between time labels, so that at most ``most`` of them fit."""
    return next((s for s in _STEPS if duration / s <= most), 3600)


class TimelineChart(QtCharts.QChartView):
    """``set_timeline(timeline)`` draws a call; ``lanes`` names the y positions (0 = bottom)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        self._chart = QtCharts.QChart()
        super().__init__(self._chart, parent)
        self.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(190)
        self.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self._chart.legend().hide()
        self._chart.setMargins(QtCore.QMargins(4, 4, 8, 4))
        self._chart.setBackgroundRoundness(0)
        self.lanes: list[str] = []
        self.alert_labels: list[str] = []

    def set_timeline(self, timeline: Timeline) -> None:
        t = tokens()
        chart = self._chart
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        chart.setBackgroundBrush(qcolor(t.surface))
        chart.setBackgroundPen(QtGui.QPen(qcolor(t.surface)))
        self.setBackgroundBrush(qcolor(t.surface))
        speakers = [
            s for s in ("customer", "agent", "mixed") if any(g.speaker == s for g in timeline.segments)
        ]
        self.lanes = ["Alerts", "Silence", *(s.capitalize() for s in speakers), "Intent"]
        duration = max(timeline.duration, 1.0)
        colours = {"customer": t.customer, "agent": t.agent, "mixed": t.accent}
        series: list[QtCharts.QAbstractSeries] = []
        for lane, speaker in enumerate(speakers, start=2):
            spans = [(g.start, g.end) for g in timeline.segments if g.speaker == speaker]
            series.append(_bars(speaker.capitalize(), spans, lane, duration, colours[speaker]))
        series.append(_bars("Silence", timeline.silences, 1, duration, t.border))
        series.append(self._markers("Alerts", timeline.alerts, 0, t.danger, triangle=True))
        series.append(self._markers("Intent", timeline.intents, len(self.lanes) - 1, t.accent))
        for s in series:
            chart.addSeries(s)
        x_axis, y_axis = self._axes(duration)
        for s in series:
            s.attachAxis(x_axis)
            s.attachAxis(y_axis)
        self.alert_labels = [m.label for m in timeline.alerts]

    def _axes(self, duration: float) -> tuple[QtCharts.QAbstractAxis, QtCharts.QAbstractAxis]:
        t = tokens()
        x = QtCharts.QCategoryAxis()
        x.setLabelsPosition(QtCharts.QCategoryAxis.AxisLabelsPosition.AxisLabelsPositionOnValue)
        step = tick_step(duration)
        for at in range(0, int(duration) + 1, step):
            x.append(format_clock(at), at)
        x.setRange(0, duration)
        y = QtCharts.QCategoryAxis()
        for lane, name in enumerate(self.lanes):
            y.append(name, lane + 0.5)
        y.setRange(-0.5, len(self.lanes) - 0.5)
        font = QtGui.QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        for axis in (x, y):
            axis.setLabelsColor(qcolor(t.muted))
            axis.setLabelsFont(font)
            axis.setGridLineColor(qcolor(t.border))
            axis.setLinePenColor(qcolor(t.border))
        y.setGridLineVisible(False)
        self._chart.addAxis(x, QtCore.Qt.AlignmentFlag.AlignBottom)
        self._chart.addAxis(y, QtCore.Qt.AlignmentFlag.AlignLeft)
        return x, y

    def _markers(
        self, name: str, markers: Sequence[Marker], lane: int, colour: str, *, triangle: bool = False
    ) -> QtCharts.QScatterSeries:
        series = QtCharts.QScatterSeries()
        series.setName(name)
        shape = QtCharts.QScatterSeries.MarkerShape
        series.setMarkerShape(shape.MarkerShapeTriangle if triangle else shape.MarkerShapeCircle)
        series.setMarkerSize(11 if triangle else 8)
        series.setColor(qcolor(colour))
        series.setBorderColor(qcolor(colour))
        for m in markers:
            series.append(m.at, lane)
        if not triangle and markers:
            series.setPointLabelsVisible(True)
            series.setPointLabelsColor(qcolor(tokens().text))
            series.setPointLabelsClipping(False)
            config = QtCharts.QXYSeries.PointConfiguration
            for i, m in enumerate(markers):
                series.setPointConfiguration(i, config.LabelFormat, m.label)
        if triangle:
            series.hovered.connect(lambda point, state, ms=tuple(markers): self._tip(point, state, ms))
        return series

    def _tip(self, point: QtCore.QPointF, state: bool, markers: Sequence[Marker]) -> None:
        if not state or not markers:
            QtWidgets.QToolTip.hideText()
            return
        nearest = min(markers, key=lambda m: abs(m.at - point.x()))
        QtWidgets.QToolTip.showText(
            QtGui.QCursor.pos(), f"{format_clock(nearest.at)}  {nearest.label}", self
        )


def _bars(
    name: str, spans: Sequence[tuple[float, float]], lane: int, duration: float, colour: str
) -> QtCharts.QAreaSeries:
    """Filled bars for ``spans`` on ``lane``: a step line over a flat baseline."""
    low, high = lane - HALF, lane + HALF
    upper = QtCharts.QLineSeries()
    lower = QtCharts.QLineSeries()
    upper.append(0.0, low)
    for start, end in sorted(spans):
        upper.append(start, low)
        upper.append(start, high)
        upper.append(end, high)
        upper.append(end, low)
    upper.append(duration, low)
    lower.append(0.0, low)
    lower.append(duration, low)
    area = QtCharts.QAreaSeries(upper, lower)
    area.setName(name)
    area.setColor(qcolor(colour, 0.85))
    area.setPen(QtGui.QPen(QtCore.Qt.PenStyle.NoPen))
    upper.setParent(area)
    lower.setParent(area)
    return area
