"""User-facing errors: one message saying what went wrong and how to fix it.

Why: agents, supervisors and IT must never see a traceback for a problem they
can fix (a missing file, a corrupt model). Code raises ``UserError`` with a
``fix`` hint; the CLI prints ``error: <message>`` and ``fix: <hint>`` and exits
with ``exit_code``.
"""

from __future__ import annotations

__all__ = ["AudioError", "ModelError", "PackError", "UserError"]


class UserError(Exception):
    """An error the user can act on. ``str(err)`` is the message alone."""

    exit_code = 2

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return self.message

    def render(self) -> str:
        """The text the CLI prints: message, then the fix on its own line."""
        text = f"error: {self.message}"
        if self.fix:
            text += f"\nfix: {self.fix}"
        return text


class ModelError(UserError):
    """A model is missing, corrupt or cannot be loaded."""

    exit_code = 3


class AudioError(UserError):
    """An audio file or device cannot be read."""

    exit_code = 4


class PackError(UserError):
    """A knowledge pack (or a file in it, or its built index) cannot be used."""

    exit_code = 6
