"""``PacksPage``: install, validate, evaluate, roll back and remove knowledge packs.

Every operation is the one the CLI runs (``knowledge.installed.PackStore``,
``knowledge.validate``, ``knowledge.evaluate``), on the page's worker: an
install embeds for seconds to minutes, so its progress callback (called on
the worker) reaches the progress bar through a queued signal. A pack with
problems is never installed: the page validates first and shows every
problem with its file and line, and what to do about it.

Dialogs are replaceable attributes (``choose_source``, ``confirm``) so tests
can drive the page without modal windows.

Thread rules: GUI thread only; pack operations run on the worker.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent_assist.knowledge.archive import unpack_zip
from agent_assist.knowledge.embedder import Embedder
from agent_assist.knowledge.evaluate import EvalReport, evaluate, load_queries
from agent_assist.knowledge.index import PackIndex
from agent_assist.knowledge.installed import InstalledPack, PackStore
from agent_assist.knowledge.validate import Problem, validate_pack
from agent_assist.ui.history.jobs import Jobs
from agent_assist.ui.qt import QtWidgets, Signal
from agent_assist.ui.supervisor import widgets as w
from agent_assist.ui.supervisor.models import TextTable, table_view
from agent_assist.ui.theme import GRID

__all__ = ["PacksPage", "StoreFactory"]

StoreFactory = Callable[[], PackStore]
MODES = ("hybrid", "vector", "keyword")


class PacksPage(QtWidgets.QWidget):
    """``PacksPage(embedder_factory=..., store_factory=PackStore)``.

    ``embedder_factory`` is called once, on the worker, when an install or an
    evaluation first needs the embedder. Signals: ``packs_changed()`` after an
    install, rollback or removal (the engine should reopen its indexes);
    ``finished(str)`` after any operation ("install", "validate", "evaluate",
    "rollback", "remove", "list", or "error").
    """

    packs_changed = Signal()
    finished = Signal(str)
    _progress = Signal(int, int, str)  # emitted on the worker

    def __init__(
        self,
        *,
        embedder_factory: Callable[[], Embedder] = Embedder,
        store_factory: StoreFactory = PackStore,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("packsPage")
        self._embedder_factory = embedder_factory
        self._store_factory = store_factory
        self._embedder: Embedder | None = None  # touched on the worker only
        self.jobs = Jobs("packs", self)
        self.choose_source: Callable[[bool], Path | None] = self._choose_source
        self.confirm: Callable[[str, str], bool] = self._confirm

        self.packs = TextTable(("Pack", "Active", "Kept versions", "Chunks", "Installed"), numeric=(3,))
        self.table = table_view(self.packs, stretch=0)
        self.table.setMaximumHeight(160)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._sync_buttons())
        self.install_folder = w.button("Install folder…", accent=True)
        self.install_zip = w.button("Install .zip…")
        self.validate_button = w.button("Validate…")
        self.evaluate_button = w.button("Evaluate")
        self.rollback_button = w.button("Roll back")
        self.remove_button = w.button("Remove…", danger=True)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(6)
        self.progress.hide()
        self.status = w.label("", "muted", selectable=True)
        self.report_title = w.label("", "title")
        self.report_text = w.label("", None, selectable=True)
        self.problems = TextTable(("Where", "Problem"))
        self.scores = TextTable(
            ("Mode", "R@1", "R@3", "R@5", "MRR", "Section@3", "p50 ms", "p95 ms"), numeric=range(1, 8)
        )
        self.report = table_view(self.problems, stretch=1)

        self.install_folder.clicked.connect(lambda: self._pick_and(True, self.install))
        self.install_zip.clicked.connect(lambda: self._pick_and(False, self.install))
        self.validate_button.clicked.connect(lambda: self._pick_and(True, self.validate))
        self.evaluate_button.clicked.connect(lambda: self._with_selected(self.evaluate))
        self.rollback_button.clicked.connect(lambda: self._with_selected(self.rollback))
        self.remove_button.clicked.connect(lambda: self._with_selected(self.remove))
        self._progress.connect(self._on_progress)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(GRID * 2, GRID * 2, GRID * 2, GRID * 2)
        layout.setSpacing(GRID)
        layout.addWidget(w.label("Installed knowledge packs", "title"))
        layout.addWidget(self.table)
        for buttons in (
            (self.install_folder, self.install_zip, self.validate_button),
            (self.evaluate_button, self.rollback_button, self.remove_button),
        ):
            row = QtWidgets.QHBoxLayout()
            row.setSpacing(GRID)
            for button in buttons:
                row.addWidget(button)
            row.addStretch(1)
            layout.addLayout(row)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addSpacing(GRID)
        layout.addWidget(self.report_title)
        layout.addWidget(self.report_text)
        layout.addWidget(self.report, 1)
        self.report.hide()
        self.refresh()

    # -- operations (each on the worker) -------------------------------------------------------

    def refresh(self) -> None:
        """Reload the list of installed packs."""
        factory = self._store_factory
        self._run("list", lambda: factory().list(), self._show_packs, busy=False)

    def install(self, source: Path) -> None:
        """Validate ``source`` (folder or .zip); install it only when it has no problems."""
        self._start(f"Checking {source.name}…")

        def work() -> tuple[str, Any]:
            problems = _validate(source)
            if problems:
                return "problems", problems
            embedder = self._get_embedder()
            self._progress.emit(0, 0, f"Indexing {source.name}…")
            store = self._store_factory()
            return "installed", store.install(source, embedder, progress=self._report_progress)

        self._run("install", work, lambda result: self._installed(source, result))

    def validate(self, source: Path) -> None:
        self._start(f"Validating {source.name}…")
        self._run(
            "validate",
            lambda: ("problems", _validate(source)),
            lambda r: self._installed(source, r, only_check=True),
        )

    def evaluate(self, pack: InstalledPack) -> None:
        """Score the active version of ``pack`` on its own ``eval/queries.csv``, every mode."""
        self._start(f"Evaluating {pack.id} {pack.version}…")

        def work() -> list[EvalReport]:
            queries = load_queries(pack.folder / "pack" / "eval" / "queries.csv")
            index = PackIndex(pack.folder / "index", self._get_embedder())
            total, done = len(queries) * len(MODES), [0]

            def tick() -> None:
                done[0] += 1
                self._progress.emit(done[0], total, f"Evaluating {pack.id}: query {done[0]} of {total}")

            try:
                return [evaluate(index.search, queries, mode, on_query=tick) for mode in MODES]
            finally:
                index.close()

        self._run("evaluate", work, lambda reports: self._evaluated(pack, reports))

    def rollback(self, pack: InstalledPack) -> None:
        older = [v for v in pack.versions if v != pack.version]
        if not older:
            self._message(
                f"{pack.id} has only version {pack.version}; there is nothing to roll back to."
            )
            return
        if not self.confirm(
            "Roll back", f"Make the previous version of {pack.name} active instead of {pack.version}?"
        ):
            return
        self._start(f"Rolling back {pack.id}…")
        factory = self._store_factory
        self._run("rollback", lambda: factory().rollback(pack.id), self._rolled_back)

    def remove(self, pack: InstalledPack) -> None:
        if not self.confirm(
            "Remove pack",
            f"Remove {pack.name} ({pack.id}) and all {len(pack.versions)} kept versions? Agents stop seeing its cards.",
        ):
            return
        self._start(f"Removing {pack.id}…")
        factory = self._store_factory
        self._run(
            "remove",
            lambda: factory().remove(pack.id),
            lambda _r: self._changed(f"Removed {pack.id}.", "remove"),
        )

    # -- results (GUI thread) ------------------------------------------------------------------

    def _show_packs(self, packs: list[InstalledPack]) -> None:
        rows = [
            (
                f"{p.name}\n{p.id}",
                f"● {p.version}",
                ", ".join(p.versions),
                str(p.chunks),
                p.installed_at.replace("T", " ")[:16],
            )
            for p in packs
        ]
        self.packs.set_rows(rows, packs)
        self.table.resizeRowsToContents()
        if packs and not self.table.selectionModel().hasSelection():
            self.table.selectRow(0)
        if not packs:
            self.status.setText(
                "No packs installed yet: install a pack folder or .zip to give agents knowledge cards."
            )
        self._sync_buttons()

    def _installed(self, source: Path, result: tuple[str, Any], only_check: bool = False) -> None:
        kind, value = result
        if kind == "problems":
            problems: list[tuple[str, Problem]] = value
            self._show_problems(source, problems, only_check)
            verdict = "valid" if not problems else f"not valid: {len(problems)} problem(s)"
            done = "" if only_check or not problems else "; nothing was installed"
            self._done("validate" if only_check else "install", f"{source.name} is {verdict}{done}.")
            return
        pack: InstalledPack = value
        was = "first version" if pack.previous is None else f"was {pack.previous}"
        self._hide_report()
        self._changed(f"Installed {pack.name} {pack.version} ({was}): {pack.chunks} chunks.", "install")

    def _show_problems(
        self, source: Path, problems: list[tuple[str, Problem]], only_check: bool
    ) -> None:
        self.report.setModel(self.problems)
        self.problems.set_rows([(where, p.message) for where, p in problems], [p for _, p in problems])
        self.report.show()
        self.report.resizeRowsToContents()
        if not problems:
            self.report_title.setText(f"{source.name} is valid")
            self.report_text.setText("No problems found; it can be installed.")
            self.report.hide()
            return
        n = len(problems)
        self.report_title.setText(f"{n} problem{'s' if n != 1 else ''} in {source.name}")
        nothing = "" if only_check else "Nothing was installed. "
        self.report_text.setText(
            f"{nothing}Fix each one in the named file and line (the message says what is wrong and "
            "what it must be), then validate again."
        )

    def _evaluated(self, pack: InstalledPack, reports: list[EvalReport]) -> None:
        def pct(v: float | None) -> str:
            return "–" if v is None else f"{v:.2f}"

        self.report.setModel(self.scores)
        self.scores.set_rows(
            [
                (
                    r.mode,
                    pct(r.recall.get(1)),
                    pct(r.recall.get(3)),
                    pct(r.recall.get(5)),
                    pct(r.mrr),
                    pct(r.section_at_3),
                    f"{r.latency_ms_p50:.0f}",
                    f"{r.latency_ms_p95:.0f}",
                )
                for r in reports
            ],
            reports,
        )
        self.report.show()
        first = reports[0]
        self.report_title.setText(
            f"Retrieval quality of {pack.id} {pack.version} ({first.queries} questions)"
        )
        misses = "; ".join(f"“{m.query}” → expected {m.expected}" for m in first.misses[:5])
        self.report_text.setText(
            "R@k: share of questions whose expected article is in the top k; MRR: mean reciprocal rank. "
            + (
                f"{len(first.misses)} missed by hybrid search: {misses}"
                if first.misses
                else "Hybrid search found every expected article in its top 3."
            )
        )
        self._done("evaluate", f"Evaluated {pack.id} {pack.version}.")

    def _rolled_back(self, pack: InstalledPack) -> None:
        self._changed(f"{pack.id}: version {pack.version} is active (was {pack.previous}).", "rollback")

    def _changed(self, message: str, op: str) -> None:
        self._done(op, message)
        self.packs_changed.emit()
        self.refresh()

    # -- plumbing ------------------------------------------------------------------------------

    def _run(
        self, op: str, work: Callable[[], Any], done: Callable[[Any], None], *, busy: bool = True
    ) -> None:
        if busy:
            self._set_busy(True)

        def ok(result: Any) -> None:
            done(result)
            if op == "list":
                self.finished.emit("list")

        self.jobs.run(work, ok, self._failed)

    def _get_embedder(self) -> Embedder:
        if self._embedder is None:
            self._progress.emit(0, 0, "Loading the embedding model…")
            self._embedder = self._embedder_factory()
        return self._embedder

    def _report_progress(self, done: int, total: int) -> None:
        self._progress.emit(done, total, f"Embedding chunk {done} of {total}…")

    def _on_progress(self, done: int, total: int, text: str) -> None:
        self.progress.setRange(0, total)  # 0, 0: busy without a known length
        self.progress.setValue(done)
        self.status.setText(text)

    def _start(self, text: str) -> None:
        self.status.setText(text)
        self.progress.setRange(0, 0)
        self.progress.show()

    def _done(self, op: str, message: str | None = None) -> None:
        self._set_busy(False)
        if message is not None:
            self.status.setText(message)
        self.finished.emit(op)

    def _failed(self, exc: BaseException) -> None:
        fix = getattr(exc, "fix", None)
        self._set_busy(False)
        self._message(f"{exc}" + (f"\nFix: {fix}" if fix else ""))
        self.finished.emit("error")

    def _message(self, text: str) -> None:
        self.status.setText(text)

    def _hide_report(self) -> None:
        self.report_title.setText("")
        self.report_text.setText("")
        self.report.hide()

    def _set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        for button in (self.install_folder, self.install_zip, self.validate_button):
            button.setEnabled(not busy)
        self._sync_buttons(busy)

    def _sync_buttons(self, busy: bool | None = None) -> None:
        busy = self.progress.isVisible() if busy is None else busy
        selected = self.selected() is not None
        for button in (self.evaluate_button, self.rollback_button, self.remove_button):
            button.setEnabled(selected and not busy)

    def selected(self) -> InstalledPack | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        pack = self.packs.payload(rows[0].row())
        return pack if isinstance(pack, InstalledPack) else None

    def _with_selected(self, action: Callable[[InstalledPack], None]) -> None:
        pack = self.selected()
        if pack is not None:
            action(pack)

    def _pick_and(self, folder: bool, action: Callable[[Path], None]) -> None:
        source = self.choose_source(folder)
        if source is not None:
            action(source)

    def _choose_source(self, folder: bool) -> Path | None:
        if folder:
            path = QtWidgets.QFileDialog.getExistingDirectory(
                self, "Choose the pack folder (with pack.toml)"
            )
        else:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(
                self, "Choose a pack .zip", "", "Pack archives (*.zip)"
            )
        return Path(path) if path else None

    def _confirm(self, title: str, text: str) -> bool:
        buttons = QtWidgets.QMessageBox.StandardButton
        answer = QtWidgets.QMessageBox.question(
            self, title, text, buttons.Yes | buttons.Cancel, buttons.Cancel
        )
        return answer == buttons.Yes

    def closeEvent(self, event: Any) -> None:
        self.jobs.shutdown()
        super().closeEvent(event)


def _validate(source: Path) -> list[tuple[str, Problem]]:
    """Every problem of a pack folder or .zip as ("file:line", problem) (on the worker)."""
    if source.is_file() and source.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory(prefix="agent-assist-pack-") as tmp:
            root = unpack_zip(source, Path(tmp))
            return [(_where(p, root), p) for p in validate_pack(root)]
    return [(_where(p, source), p) for p in validate_pack(source)]


def _where(problem: Problem, root: Path) -> str:
    return problem.render(root).removesuffix(f": {problem.message}")
