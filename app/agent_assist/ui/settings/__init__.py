"""The Settings page (``SettingsView``), generated from ``agent_assist.config``'s schema.

- ``view.SettingsView``: the page; ``setting_changed(key, value)``, ``save_failed(text)``.
- ``rows.SettingRow``: one setting's control, description, lock and error lines.
- ``checks``: level test, model verification, server probe buttons.
- ``jobs.JobRunner``: slow calls on worker threads, answers by queued signal.
- ``services``: the engine calls behind the checks and lists (fakes in tests).
"""

from agent_assist.ui.settings.services import Check, ModelChoice, SettingsServices, default_services
from agent_assist.ui.settings.view import SettingsView

__all__ = ["Check", "ModelChoice", "SettingsServices", "SettingsView", "default_services"]
