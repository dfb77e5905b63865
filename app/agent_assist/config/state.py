"""``WindowState``: what the window remembers between runs (geometry, last page, splitter sizes).

Why apart from ``settings.toml``: this is state, not a choice; it changes on
every move, IT never locks it, and a damaged state file must cost nothing but
the window's position. Values are TOML scalars (bytes such as Qt's
``saveGeometry()`` are stored base64 by the caller).

Thread rules: GUI thread (one owner); ``save`` writes atomically.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Any

from agent_assist.config.tomlfile import atomic_write, dumps, flatten
from agent_assist.paths import config_dir

__all__ = ["WindowState", "state_path"]

log = logging.getLogger(__name__)


def state_path() -> Path:
    return config_dir() / "window-state.toml"


class WindowState:
    """A small key/value store; a missing or damaged file reads as empty."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or state_path()
        self._values: dict[str, Any] = {}
        try:
            self._values = flatten(tomllib.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            pass
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            log.warning("window state %s unreadable (%s); starting from defaults", self.path, exc)

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)

    def set(self, key: str, value: str | int | float | bool) -> None:
        self._values[key] = value

    def save(self) -> None:
        """Write the file; ``OSError`` if the disk refuses (the caller logs it, nothing else fails)."""
        atomic_write(
            self.path, dumps(self._values, "# Agent Assist window state (written by the app)\n\n")
        )
