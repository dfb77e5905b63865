"""``RulesPage``: what the active packs ask of agents -- rules, checklists, intents -- in words.

The pack files are TOML written for machines; a supervisor wants to read
them. The page renders each installed pack's active version as one document
(read and formatted on the worker; the GUI thread only sets the HTML).

Thread rules: GUI thread only; the files are read on the worker.
"""

from __future__ import annotations

import html
import tomllib
from pathlib import Path
from typing import Any

from agent_assist.intel.pack import load_checklists, load_intents
from agent_assist.knowledge.installed import PackStore
from agent_assist.ui.history.jobs import Jobs
from agent_assist.ui.qt import QtWidgets, Signal
from agent_assist.ui.supervisor.packs import StoreFactory
from agent_assist.ui.theme import GRID

__all__ = ["RulesPage", "pack_document"]

_KINDS = {"must_say": "Must say", "must_not_say": "Must never say"}


class RulesPage(QtWidgets.QWidget):
    """``RulesPage(store_factory=PackStore)``; ``refresh()`` re-reads; ``loaded()`` when shown."""

    loaded = Signal()

    def __init__(
        self, *, store_factory: StoreFactory = PackStore, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("rulesPage")
        self._store_factory = store_factory
        self.jobs = Jobs("rules", self)
        self.browser = QtWidgets.QTextBrowser()
        self.browser.setOpenLinks(False)
        self.browser.document().setDocumentMargin(GRID * 2)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(GRID * 2, GRID * 2, GRID * 2, GRID * 2)
        layout.addWidget(self.browser)
        self.refresh()

    def refresh(self) -> None:
        factory = self._store_factory

        def work() -> str:
            packs = factory().list()
            if not packs:
                return "<p>No packs are installed, so there are no rules or checklists yet.</p>"
            return "<hr/>".join(pack_document(p.name, p.version, p.folder / "pack") for p in packs)

        self.jobs.run(
            work,
            self._show,
            lambda exc: self._show(f"<p>Cannot read the packs: {html.escape(str(exc))}</p>"),
        )

    def _show(self, text: str) -> None:
        self.browser.setHtml(text)
        self.loaded.emit()

    def closeEvent(self, event: Any) -> None:
        self.jobs.shutdown()
        super().closeEvent(event)


def pack_document(name: str, version: str, folder: Path) -> str:
    """The pack's rules, checklists and intents as simple HTML (pure; any thread)."""
    e = html.escape
    out = [f"<h2>{e(name)} <small>{e(version)}</small></h2>"]
    rules = _entries(folder / "rules.toml", "rule")
    out.append(f"<h3>Rules ({len(rules)})</h3>")
    if not rules:
        out.append("<p>This pack has no rules.</p>")
    for rule in rules:
        kind = _KINDS.get(str(rule.get("kind")), str(rule.get("kind", "")))
        when = f" within the first {rule['within_s']} s" if rule.get("within_s") else ""
        severity = str(rule.get("severity", "")).capitalize()
        phrases = ", ".join(f"“{e(str(p))}”" for p in rule.get("phrases", []))
        out.append(
            f"<p><b>{e(str(rule.get('description', rule.get('id', ''))))}</b><br/>"
            f"{e(kind)}{e(when)} · {e(severity)} severity<br/><small>Phrases: {phrases}</small></p>"
        )
    checklists = load_checklists(folder)
    out.append(f"<h3>Checklists ({len(checklists)})</h3>")
    intents = load_intents(folder)
    names = {i.id: i.name for i in intents}
    for checklist in checklists:
        wanted = ", ".join(e(names.get(i, i)) for i in checklist.intents)
        steps = "".join(f"<li>{e(s.text)}</li>" for s in checklist.steps)
        out.append(f"<p><b>{e(checklist.id)}</b> · for {wanted}</p><ol>{steps}</ol>")
    out.append(f"<h3>Intents ({len(intents)})</h3><ul>")
    for intent in intents:
        example = e(intent.examples[0]) if intent.examples else ""
        out.append(
            f"<li><b>{e(intent.name)}</b> <small>({e(intent.id)})</small> — e.g. “{example}”</li>"
        )
    out.append("</ul>")
    return "".join(out)


def _entries(path: Path, table: str) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    entries = data.get(table, [])
    return [x for x in entries if isinstance(x, dict)] if isinstance(entries, list) else []
