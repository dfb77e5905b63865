"""``SupervisorArea``: the supervisor's tabs -- Packs, Rules, Health.

Whether it is shown at all is the window's decision (policy or settings);
this widget only combines the pages and keeps them consistent: a pack
change on the Packs tab reloads Rules and Health, and is re-emitted as
``packs_changed`` for the engine to reopen its indexes.

Thread rules: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable

from agent_assist.domain import Event
from agent_assist.knowledge.embedder import Embedder
from agent_assist.knowledge.installed import PackStore
from agent_assist.store import Database
from agent_assist.ui.qt import QtWidgets, Signal
from agent_assist.ui.supervisor.health import HealthPage
from agent_assist.ui.supervisor.packs import PacksPage, StoreFactory
from agent_assist.ui.supervisor.rules import RulesPage

__all__ = ["SupervisorArea"]


class SupervisorArea(QtWidgets.QTabWidget):
    """``SupervisorArea(database, embedder_factory=Embedder, store_factory=PackStore)``.

    Signal ``packs_changed()``: a pack was installed, rolled back or removed.
    """

    packs_changed = Signal()

    def __init__(
        self,
        database: Database,
        *,
        embedder_factory: Callable[[], Embedder] = Embedder,
        store_factory: StoreFactory = PackStore,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("supervisor")
        self.setDocumentMode(True)
        self.packs = PacksPage(embedder_factory=embedder_factory, store_factory=store_factory)
        self.rules = RulesPage(store_factory=store_factory)
        self.health = HealthPage(database, store_factory=store_factory)
        self.addTab(self.packs, "Packs")
        self.addTab(self.rules, "Rules")
        self.addTab(self.health, "Health")
        self.packs.packs_changed.connect(self._packs_changed)

    def _packs_changed(self) -> None:
        self.rules.refresh()
        self.health.refresh()
        self.packs_changed.emit()

    def on_event(self, event: Event) -> None:
        self.health.on_event(event)
