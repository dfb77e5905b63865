"""The settings room: one schema of user settings, the user's file, the IT policy over it.

- ``schema``: every setting declared once (key, type, default, limits, UI words).
- ``store.Settings``: the user's ``settings.toml`` under the policy; ``get``,
  ``set`` (validated, refused when locked), ``subscribe`` to changes, atomic saves.
- ``policy``: the system-wide IT policy file (locks with reasons, site defaults).
- ``state.WindowState``: window geometry and other remembered state (never locked).

Imports only ``domain``, ``paths`` and ``errors`` of ours (no Qt): the CLI and
the window share it. See each module for its thread rules.
"""

from agent_assist.config.errors import ConfigError, PolicyError, SettingLocked
from agent_assist.config.policy import Policy, load_policy, policy_path, system_policy_path
from agent_assist.config.schema import SCHEMA, SECTIONS, Setting, get_setting, settings_in
from agent_assist.config.state import WindowState, state_path
from agent_assist.config.store import Settings, Source, settings_path

__all__ = [
    "SCHEMA",
    "SECTIONS",
    "ConfigError",
    "Policy",
    "PolicyError",
    "Setting",
    "SettingLocked",
    "Settings",
    "Source",
    "WindowState",
    "get_setting",
    "load_policy",
    "policy_path",
    "settings_in",
    "settings_path",
    "state_path",
    "system_policy_path",
]
