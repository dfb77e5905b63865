"""The History page and the past-call window, over a history the real recorder wrote."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_assist.store import Database
from tests.test_store_queries import record_history

# The offscreen platform cannot propagate size hints of top-level windows; harmless.
pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(r"does not support (propagateSizeHints|raise)")]

pytest.importorskip("PySide6")

from agent_assist.ui.history import CallDetailWindow, HistoryView  # noqa: E402
from agent_assist.ui.history.detail import QA_NOT_YET  # noqa: E402
from agent_assist.ui.history.models import CallListModel, TranscriptTableModel  # noqa: E402
from agent_assist.ui.history.timeline import tick_step  # noqa: E402
from agent_assist.ui.qt import QtWidgets  # noqa: E402
from agent_assist.ui.qt_charts import QtCharts  # noqa: E402
from agent_assist.ui.theme import apply_theme  # noqa: E402


@pytest.fixture
def history(tmp_path: Path, qapp: QtWidgets.QApplication) -> Iterator[Database]:
    apply_theme(qapp, "light")
    db = Database.open(tmp_path / "calls.sqlite3")
    record_history(db)
    yield db
    db.close()


def shots(tmp_path: Path) -> Path:
    """Where screenshots go: $AGENT_ASSIST_SHOTS (to look at them) or the test's tmp folder."""
    folder = Path(os.environ.get("AGENT_ASSIST_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _view(qtbot: Any, db: Database) -> HistoryView:
    view = HistoryView(db)
    qtbot.addWidget(view)
    view.resize(360, 640)
    view.show()
    qtbot.waitUntil(lambda: not view.jobs.busy and view.model.rowCount() > 0, timeout=5000)
    return view


def test_the_list_shows_calls_and_search_filters_it(
    qtbot: Any, history: Database, tmp_path: Path
) -> None:
    view = _view(qtbot, history)
    ids = [view.model.row_at(i).id for i in range(view.model.rowCount())]
    assert ids == ["password", "refund", "short"]
    assert view.count.text() == "3 calls"
    assert view.disposition.count() == 2 and view.disposition.itemData(1) == "REFUND-ISSUED"
    qtbot.wait(50)
    view.grab().save(str(shots(tmp_path) / "history-list.png"))

    with qtbot.waitSignal(view.loaded, timeout=5000):
        view.search.setText("charged twice")
    assert [view.model.row_at(i).id for i in range(view.model.rowCount())] == ["refund"]
    assert "[charged] [twice]" in view.model.index(0).data(CallListModel.LineRole)
    assert view.count.text() == "1 call match"

    with qtbot.waitSignal(view.loaded, timeout=5000):
        view.search.setText("zebra crossing")
    assert (
        view.model.rowCount() == 0 and view.empty.isVisible() and "No calls match" in view.empty.text()
    )

    with qtbot.waitSignal(view.loaded, timeout=5000):
        view.search.clear()
    with qtbot.waitSignal(view.loaded, timeout=5000):
        view.status.setCurrentIndex(view.status.findData("active"))
    assert [view.model.row_at(i).id for i in range(view.model.rowCount())] == ["short"]
    with qtbot.waitSignal(view.loaded, timeout=5000):
        view.status.setCurrentIndex(0)
    with qtbot.waitSignal(view.loaded, timeout=5000):
        view.period.setCurrentIndex(view.period.findData(30))
    assert view.model.rowCount() == 2  # 'short' is from 2020


def test_opening_a_call_shows_transcript_summary_and_timeline(
    qtbot: Any, history: Database, tmp_path: Path
) -> None:
    view = _view(qtbot, history)
    window = view.open_call("refund")
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.detail is not None, timeout=5000)
    assert view.open_call("refund") is window  # one window per call
    model = window.transcript
    assert model.rowCount() == 6
    assert model.index(1, 2).data().startswith("Hi, I was charged twice")
    assert model.index(1, 1).data() == "Customer" and model.index(1, 0).data() == "0:03"
    texts = " ".join(label.text() for label in window.findChildren(QtWidgets.QLabel))
    assert "Charged twice" in texts and "REFUND-ISSUED" in texts and QA_NOT_YET in texts
    assert "Good empathy" in texts and "Agent 49%" in texts
    chart = window.chart.chart()
    names = {s.name() for s in chart.series()}
    assert names == {"Agent", "Customer", "Silence", "Alerts", "Intent"}
    assert window.chart.lanes == ["Alerts", "Silence", "Customer", "Agent", "Intent"]
    alerts = next(s for s in chart.series() if s.name() == "Alerts")
    assert isinstance(alerts, QtCharts.QScatterSeries) and alerts.count() == 2
    qtbot.wait(100)  # let the layout show what arrived and the chart lay out its axes
    window.grab().save(str(shots(tmp_path) / "call-detail.png"))


def test_a_call_without_a_summary_says_so(qtbot: Any, history: Database) -> None:
    window = CallDetailWindow(history, "short")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.loaded, timeout=5000):
        window.show()
    texts = " ".join(label.text() for label in window.findChildren(QtWidgets.QLabel))
    assert "No summary was made" in texts and "active" in texts
    assert window.chart.lanes == ["Alerts", "Silence", "Customer", "Intent"]


def test_a_missing_call(qtbot: Any, history: Database) -> None:
    window = CallDetailWindow(history, "gone")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.loaded, timeout=5000) as blocker:
        pass
    assert blocker.args == [None] and "no longer" in window.title.text()


def test_models_pass_the_model_tester(qtmodeltester: Any, history: Database) -> None:
    from agent_assist.store.queries import call_detail, list_calls

    calls = CallListModel()
    calls.set_rows(list_calls(history))
    qtmodeltester.check(calls)
    transcript = TranscriptTableModel()
    detail = call_detail(history, "refund")
    assert detail is not None
    transcript.set_rows(detail.utterances)
    qtmodeltester.check(transcript)


def test_tick_step() -> None:
    assert tick_step(28) == 5 and tick_step(300) == 60 and tick_step(3000) == 600
