"""The IT policy file: settings IT forces (locked, with a reason) and site defaults.

Format (see docs/policy.md and packaging/policy.example.toml)::

    reason = "Set by Northwind IT, ticket CHG-1234"   # for every lock without its own

    [locked]                       # forced values: the user cannot change them
    "privacy.store_audio" = false
    llm.server_url = "http://llm.northwind.local:8080"

    [reasons]                      # optional, per locked key
    "privacy.store_audio" = "Recording calls needs written consent (policy PRV-7)"

    [defaults]                     # site defaults: the user may change them
    "speech.model" = "base"

Where: ``AGENT_ASSIST_POLICY`` (a file; tests and pilots) else the system-wide
file (Linux ``/etc/agent-assist/policy.toml``, Windows
``%ProgramData%\\AgentAssist\\policy.toml``, macOS
``/Library/Application Support/AgentAssist/policy.toml``). No file: no policy.

Fail closed: a policy file that exists but cannot be read or parsed, or that
locks a known setting to an invalid value, raises ``PolicyError`` naming the
file, the line and the fix, and the app does not start. Starting anyway would
drop every lock IT set (say ``privacy.store_audio = false``) without anyone
noticing. Unknown keys are only warned about (a policy written for a newer
version of the app must not stop an older one).

Thread rules: ``load_policy`` reads one small file; ``Policy`` is immutable.
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent_assist.config.errors import PolicyError
from agent_assist.config.schema import Value, get_setting
from agent_assist.config.tomlfile import flatten, line_of

__all__ = ["POLICY_ENV", "Policy", "load_policy", "policy_path", "system_policy_path"]

POLICY_ENV = "AGENT_ASSIST_POLICY"
DEFAULT_REASON = "set by your IT administrator"
_TABLES = {"reason", "locked", "reasons", "defaults"}


@dataclass(frozen=True)
class Policy:
    """What IT decided. ``path`` is None when there is no policy file."""

    path: Path | None = None
    locked: dict[str, Value] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, Value] = field(default_factory=dict)
    reason: str = DEFAULT_REASON
    warnings: tuple[str, ...] = ()

    def is_locked(self, key: str) -> bool:
        return key in self.locked

    def reason_for(self, key: str) -> str | None:
        """Why ``key`` is locked (its own reason, else the global one); None if it is not."""
        if key not in self.locked:
            return None
        return self.reasons.get(key) or self.reason

    @property
    def source(self) -> str:
        return str(self.path) if self.path else "the IT policy file"


def system_policy_path(platform: str = sys.platform) -> Path:
    """Where IT puts the policy on this OS (it may not exist)."""
    if platform.startswith("win"):
        base = os.environ.get("PROGRAMDATA", r"C:\ProgramData")
        return Path(base) / "AgentAssist" / "policy.toml"
    if platform == "darwin":
        return Path("/Library/Application Support/AgentAssist/policy.toml")
    return Path("/etc/agent-assist/policy.toml")


def policy_path() -> Path:
    """The policy file this process uses (``AGENT_ASSIST_POLICY`` wins)."""
    override = os.environ.get(POLICY_ENV)
    return Path(override) if override else system_policy_path()


_FIX = "correct the policy file (see docs/policy.md; `agent-assist config check-policy FILE` checks one)"


def load_policy(path: Path | None = None) -> Policy:
    """The policy at ``path`` (default: ``policy_path()``); an empty ``Policy`` if there is no file.

    Raises ``PolicyError`` for a file that cannot be read or applied (fail closed).
    """
    path = path or policy_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Policy()
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read the IT policy file {path}: {exc}", _FIX) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"the IT policy file {path} is not valid TOML: {exc}", _FIX) from exc
    return _build(path, text, data)


def _table(path: Path, data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise PolicyError(f"{path}: '{name}' must be a table ([{name}]), not a value", _FIX)
    return flatten(value)


def _build(path: Path, text: str, data: dict[str, Any]) -> Policy:
    warnings = [
        f"{path}: unknown entry '{name}' ignored (expected reason, [locked], [reasons], [defaults])"
        for name in data
        if name not in _TABLES
    ]
    reason = data.get("reason", DEFAULT_REASON)
    if not isinstance(reason, str) or not reason.strip():
        raise PolicyError(f"{path}: 'reason' must be a non-empty text", _FIX)
    values: dict[str, dict[str, Value]] = {}
    for table in ("locked", "defaults"):
        values[table] = {}
        for key, raw in _table(path, data, table).items():
            where = f"{path}, line {line_of(text, key, table) or '?'}: [{table}] {key}"
            setting = get_setting(key)
            if setting is None:
                warnings.append(
                    f"{where}: unknown setting ignored (`agent-assist config list` shows them)"
                )
                continue
            if table == "locked" and not setting.lockable:
                warnings.append(f"{where}: this setting cannot be locked; ignored")
                continue
            try:
                values[table][key] = setting.check(raw)
            except ValueError as exc:
                raise PolicyError(f"{where}: {exc}", f"use {setting.describe_allowed()}") from exc
    reasons: dict[str, str] = {}
    for key, why in _table(path, data, "reasons").items():
        if not isinstance(why, str):
            raise PolicyError(
                f"{path}, line {line_of(text, key, 'reasons') or '?'}: reason for {key} must be text",
                _FIX,
            )
        if key not in values["locked"]:
            warnings.append(f"{path}: [reasons] {key} has no matching [locked] entry")
        reasons[key] = why.strip()
    return Policy(
        path=path,
        locked=values["locked"],
        reasons=reasons,
        defaults=values["defaults"],
        reason=reason.strip(),
        warnings=tuple(warnings),
    )
