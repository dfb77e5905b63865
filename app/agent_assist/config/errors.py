"""Errors of the settings room (``UserError``s: a message and a fix, rendered by the CLI)."""

from __future__ import annotations

from agent_assist.errors import UserError

__all__ = ["ConfigError", "PolicyError", "SettingLocked"]


class ConfigError(UserError):
    """An unknown key or a bad value given to ``config set``/``Settings.set``."""

    exit_code = 8


class PolicyError(ConfigError):
    """The IT policy file cannot be read or holds a value the app cannot apply.

    The app refuses to start on it (fail closed; see docs/policy.md).
    """

    exit_code = 9


class SettingLocked(ConfigError):
    """A setting the IT policy locks was about to be changed; ``reason`` says why it is locked."""

    exit_code = 10

    def __init__(self, key: str, reason: str, source: str) -> None:
        super().__init__(
            f"'{key}' is locked by your IT policy: {reason}",
            f"ask your IT administrator to change it in {source}",
        )
        self.key = key
        self.reason = reason
