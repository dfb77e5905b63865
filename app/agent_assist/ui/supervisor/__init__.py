"""The supervisor area: knowledge packs (install, validate, evaluate, roll back,
remove), the active packs' rules and checklists, and the assistant's health.

``SupervisorArea`` combines ``PacksPage``, ``RulesPage`` and ``HealthPage`` in
tabs; the window decides whether to show it. Slow work runs on each page's
worker (``ui.history.jobs.Jobs``).
"""

from agent_assist.ui.supervisor.area import SupervisorArea
from agent_assist.ui.supervisor.health import HealthPage
from agent_assist.ui.supervisor.packs import PacksPage
from agent_assist.ui.supervisor.rules import RulesPage

__all__ = ["HealthPage", "PacksPage", "RulesPage", "SupervisorArea"]
