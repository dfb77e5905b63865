"""The supervisor area: packs through the page (real validation, real install), rules, health."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_assist.knowledge import installed
from agent_assist.knowledge.installed import PackStore
from agent_assist.store import Database
from tests.conftest import ROOT, data_home
from tests.test_store_queries import record_history

pytest.importorskip("PySide6")

from agent_assist.ui.qt import QtWidgets
from agent_assist.ui.supervisor import HealthPage, PacksPage, RulesPage, SupervisorArea
from agent_assist.ui.supervisor.health import NOT_MEASURED
from agent_assist.ui.supervisor.models import TextTable
from agent_assist.ui.theme import apply_theme
from tests.test_ui_history import shots

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(r"does not support (propagateSizeHints|raise)")]

EXAMPLE = ROOT / "knowledge" / "northwind-home"


@pytest.fixture
def store(tmp_path: Path, qapp: QtWidgets.QApplication) -> PackStore:
    apply_theme(qapp, "light")
    return PackStore(tmp_path / "packs")


@pytest.fixture
def history(tmp_path: Path) -> Iterator[Database]:
    db = Database.open(tmp_path / "calls.sqlite3")
    record_history(db)
    yield db
    db.close()


def _no_embedder() -> Any:
    raise AssertionError("the embedder must not be loaded")


def _wait(qtbot: Any, page: Any) -> None:
    qtbot.waitUntil(lambda: not page.jobs.busy, timeout=10_000)


def test_a_broken_pack_shows_every_problem_and_installs_nothing(
    qtbot: Any, store: PackStore, tmp_path: Path
) -> None:
    broken = shutil.copytree(EXAMPLE, tmp_path / "broken")
    toml = broken / "intents.toml"
    toml.write_text(toml.read_text().replace("refunds-double-charge", "no-such-article", 1))
    (broken / "pack.toml").write_text((broken / "pack.toml").read_text().replace('"1.0.0"', '"1.x"'))
    page = PacksPage(embedder_factory=_no_embedder, store_factory=lambda: store)
    qtbot.addWidget(page)
    _wait(qtbot, page)
    page.choose_source = lambda folder: broken
    with qtbot.waitSignal(page.finished, timeout=10_000, check_params_cb=lambda op: op == "install"):
        page.install_folder.click()
    assert page.report.model() is page.problems and page.problems.rowCount() == 2
    where = [page.problems.cell(r, 0) for r in range(2)]
    assert "pack.toml:4" in where and any(w.startswith("intents.toml:") for w in where)
    assert "no-such-article" in " ".join(page.problems.cell(r, 1) for r in range(2))
    assert page.report_title.text() == "2 problems in broken"
    assert "Nothing was installed" in page.report_text.text()
    assert store.list() == [] and page.packs.rowCount() == 0
    page.resize(420, 640)
    page.show()
    qtbot.wait(100)
    page.grab().save(str(shots(tmp_path) / "packs-problems.png"))

    with qtbot.waitSignal(page.finished, timeout=10_000, check_params_cb=lambda op: op == "validate"):
        page.validate(EXAMPLE)
    assert page.report_title.text() == "northwind-home is valid"


def test_rules_page_reads_the_active_pack(
    qtbot: Any, store: PackStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_pack_install import _fake_build, _NoModel

    monkeypatch.setattr(installed, "build_index", _fake_build)
    store.install(EXAMPLE, _NoModel())  # type: ignore[arg-type]
    page = RulesPage(store_factory=lambda: store)
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        pass
    text = page.browser.toPlainText()
    assert "Northwind Home support handbook 1.0.0" in text
    assert "Tell the customer the call is recorded within the first 30 seconds" in text
    assert "Must never say" in text and "Verify identity: full name" in text
    assert "Charged twice (billing.double_charge)" in text


def test_health_page_numbers_match_the_data(
    qtbot: Any, history: Database, store: PackStore, tmp_path: Path
) -> None:
    page = HealthPage(history, store_factory=lambda: store)
    qtbot.addWidget(page)
    page.resize(420, 900)
    page.show()
    qtbot.waitUntil(lambda: page.stats is not None, timeout=10_000)
    tiles = {k: (v.text(), d.text()) for k, (v, d) in page.tiles.items()}
    assert tiles["calls"][0] == "2"
    assert tiles["acceptance"] == ("67%", "2 liked, 1 not, of 3 rated")
    assert tiles["rejection"][0] == "33%" and tiles["coverage"][0] == "40%"
    rows = {page.latency.cell(r, 0): [page.latency.cell(r, c) for c in range(1, 5)] for r in range(4)}
    assert rows["Retrieval"] == ["300", "380", "390", "2"]
    assert rows["Generation: first token"] == ["500", "660", "680", "3"]
    assert rows["Transcription"][0] == "590" and rows["Transcription"][3] == "6"
    assert page.gaps.cell(0, 0) == "2" and "coffee grinder" in page.gaps.cell(0, 1)
    assert "smollm2-135m via llama-cpp" in page.versions.text()
    bars = page.chart.chart().series()[0]
    assert [bars.barSets()[0].at(i) for i in range(4)] == pytest.approx([590, 300, 500, 1500])

    from agent_assist.domain import ModelStatus

    page.on_event(ModelStatus("speech", "ready", "whisper-tiny.en"))
    assert "<b>Speech</b>: whisper-tiny.en (ready)" in page.versions.text()
    qtbot.wait(100)
    page.grab().save(str(shots(tmp_path) / "health.png"))

    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.period.setCurrentIndex(2)  # 30 days: still the same two calls
    assert page.tiles["calls"][0].text() == "2"


def test_health_page_on_an_empty_store_says_not_measured(
    qtbot: Any, tmp_path: Path, store: PackStore
) -> None:
    with Database.open(tmp_path / "empty.sqlite3") as db:
        page = HealthPage(db, store_factory=lambda: store)
        qtbot.addWidget(page)
        qtbot.waitUntil(lambda: page.stats is not None, timeout=10_000)
        assert page.latency.cell(0, 4) == NOT_MEASURED
        assert page.tiles["acceptance"][0].text() == "–"
        assert "No models reported" in page.versions.text()
        page.jobs.shutdown()


def test_text_table_passes_the_model_tester(qtmodeltester: Any) -> None:
    model = TextTable(("A", "B"), numeric=(1,))
    model.set_rows([("x", "1"), ("y",)], ["px", "py"])
    qtmodeltester.check(model)
    assert model.payload(1) == "py" and model.cell(1, 1) == ""


@pytest.mark.slow
@pytest.mark.model
def test_install_evaluate_and_remove_through_the_page(
    qtbot: Any, store: PackStore, embedder: Any, embed_home: Path, tmp_path: Path, history: Database
) -> None:
    area = SupervisorArea(history, embedder_factory=lambda: embedder, store_factory=lambda: store)
    qtbot.addWidget(area)
    page = area.packs
    _wait(qtbot, page)
    seen: list[tuple[int, int]] = []
    page.progress.valueChanged.connect(lambda v: seen.append((v, page.progress.maximum())))
    page.choose_source = lambda folder: EXAMPLE
    with data_home(embed_home), qtbot.waitSignal(area.packs_changed, timeout=300_000):
        page.install_folder.click()
    _wait(qtbot, page)
    assert [p.id for p in store.list()] == ["northwind-home"]
    assert page.packs.rowCount() == 1 and page.packs.cell(0, 1) == "● 1.0.0"
    assert "Installed Northwind Home support handbook 1.0.0 (first version)" in page.status.text()
    assert seen and seen[-1][0] == seen[-1][1] > 0  # the bar reached the total number of chunks
    assert not page.progress.isVisible()

    with qtbot.waitSignal(page.finished, timeout=300_000):
        page.evaluate_button.click()
    assert page.report.model() is page.scores and page.scores.rowCount() == 3
    assert float(page.scores.cell(0, 2)) >= 0.8  # hybrid recall@3 of the example pack

    page.rollback_button.click()  # one version only: nothing to roll back to
    assert "nothing to roll back to" in page.status.text()
    page.confirm = lambda title, text: False
    page.remove_button.click()
    assert store.list() != []
    page.confirm = lambda title, text: True
    with qtbot.waitSignal(area.packs_changed, timeout=30_000):
        page.remove_button.click()
    _wait(qtbot, page)
    assert store.list() == [] and page.packs.rowCount() == 0
