"""``Settings``: the user's settings file, under the IT policy.

Where: ``<config dir>/settings.toml`` (``paths.config_dir()``). The effective
value of a key is, first that applies: locked by policy > the user's file >
the policy's site default > the schema default (``source`` says which).

Never a crash on a bad file: a file that is not TOML (or not UTF-8) is moved
aside to ``settings.toml.bad-<date>`` and defaults are used; a bad value for a
known key is ignored (default used); unknown keys are kept and written back
(a newer version of the app may own them). Each case adds a line to
``warnings`` naming the file, the line and the key, and the fix.

Writes are atomic (``tomlfile.atomic_write``). ``set`` saves at once unless
``save=False`` (the Settings page batches with a debounce, then ``save()``).

Thread rules: every method may be called from any thread (one lock). Change
callbacks run on the thread that made the change, outside the lock; a GUI
subscriber must hop to its own thread (the Settings view does, by a queued signal).
"""

from __future__ import annotations

import logging
import threading
import time
import tomllib
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

from agent_assist.config.errors import ConfigError, SettingLocked
from agent_assist.config.policy import Policy, load_policy
from agent_assist.config.schema import SCHEMA, Setting, Value, get_setting
from agent_assist.config.tomlfile import atomic_write, dumps, flatten, line_of
from agent_assist.paths import config_dir

__all__ = ["ChangeCallback", "Settings", "Source", "settings_path"]

log = logging.getLogger(__name__)

ChangeCallback = Callable[[str, Any], None]  # (key, new effective value)

_HEADER = (
    "# Agent Assist settings. The app writes this file; `agent-assist config set KEY VALUE`\n"
    "# changes one value. Settings your IT policy locks are not taken from here.\n\n"
)


class Source(StrEnum):
    DEFAULT = "default"
    SITE = "site default"
    USER = "user"
    LOCKED = "locked"


def settings_path() -> Path:
    return config_dir() / "settings.toml"


class Settings:
    """The settings the app runs with. Build with ``Settings.load()``."""

    def __init__(self, path: Path, policy: Policy | None = None) -> None:
        self.path = path
        self.policy = policy or Policy()
        self.warnings: list[str] = list(self.policy.warnings)
        self._user: dict[str, Value] = {}
        self._unknown: dict[str, Any] = {}
        self._callbacks: list[ChangeCallback] = []
        self._lock = threading.RLock()
        self._dirty = False

    # ---- loading -------------------------------------------------------
    @classmethod
    def load(cls, path: Path | None = None, policy: Policy | None = None) -> Settings:
        """Read the user's file under ``policy`` (default: the system policy; ``PolicyError`` if bad)."""
        settings = cls(path or settings_path(), policy if policy is not None else load_policy())
        settings._read()
        return settings

    def _read(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except UnicodeDecodeError as exc:
            self._move_aside(f"it is not UTF-8 text ({exc.reason})")
            return
        except OSError as exc:
            self.warnings.append(
                f"cannot read {self.path}: {exc}; using defaults (fix: make the file readable)"
            )
            return
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            self._move_aside(f"it is not valid TOML ({exc})")
            return
        user, unknown, problems = _parse_user(self.path, text, flatten(data))
        self._user, self._unknown = user, unknown
        self.warnings.extend(problems)

    def _move_aside(self, why: str) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        bad = self.path.with_name(f"{self.path.name}.bad-{stamp}")
        try:
            self.path.replace(bad)
            kept = f"it was moved to {bad}"
        except OSError as exc:
            kept = f"it could not be moved aside ({exc})"
        self.warnings.append(
            f"the settings file {self.path} was damaged: {why}; {kept} and defaults are used "
            "(fix: set your settings again, or copy the values you need from the moved file)"
        )
        log.warning("%s", self.warnings[-1])

    # ---- reading -------------------------------------------------------
    def privacy(self) -> tuple[bool, int]:
        """(``privacy.store_audio``, ``privacy.retention_days``): what every engine honours."""
        return bool(self.get("privacy.store_audio")), int(self.get("privacy.retention_days") or 0)

    def get(self, key: str) -> Any:
        """The effective value of ``key``; ``ConfigError`` for a key the app does not know."""
        setting = self.setting(key)
        with self._lock:
            if key in self.policy.locked:
                return self.policy.locked[key]
            if key in self._user:
                return self._user[key]
        return self.policy.defaults.get(key, setting.default)

    def source(self, key: str) -> Source:
        self.setting(key)
        if key in self.policy.locked:
            return Source.LOCKED
        with self._lock:
            if key in self._user:
                return Source.USER
        return Source.SITE if key in self.policy.defaults else Source.DEFAULT

    def is_locked(self, key: str) -> bool:
        return self.policy.is_locked(key)

    def lock_reason(self, key: str) -> str | None:
        """Why IT locked ``key``, or None if it is not locked."""
        return self.policy.reason_for(key)

    def default(self, key: str) -> Any:
        """What ``key`` goes back to on ``reset``: the site default, else the schema's."""
        return self.policy.defaults.get(key, self.setting(key).default)

    def setting(self, key: str) -> Setting:
        found = get_setting(key)
        if found is None:
            raise ConfigError(
                f"unknown setting '{key}'", "`agent-assist config list` shows every setting"
            )
        return found

    def as_dict(self) -> dict[str, Any]:
        """Every known key's effective value."""
        return {s.key: self.get(s.key) for s in SCHEMA}

    @property
    def unknown(self) -> dict[str, Any]:
        """Keys in the file that this version does not know (kept on save)."""
        with self._lock:
            return dict(self._unknown)

    # ---- changing ------------------------------------------------------
    def set(self, key: str, value: Any, *, save: bool = True) -> None:
        """Validate and store ``value``; ``SettingLocked`` (with the reason) if IT locked ``key``."""
        setting = self.setting(key)
        if (reason := self.lock_reason(key)) is not None:
            raise SettingLocked(key, reason, self.policy.source)
        try:
            checked = setting.check(value)
        except ValueError as exc:
            raise ConfigError(f"{key}: {exc}", f"use {setting.describe_allowed()}") from exc
        with self._lock:
            before = self.get(key)
            self._user[key] = checked
            self._dirty = True
        if checked != before:
            self._notify(key, checked)
        if save:
            self.save()  # an OSError leaves the change applied and ``dirty``

    def reset(self, key: str, *, save: bool = True) -> None:
        """Forget the user's value of ``key`` (back to the site default or the schema's)."""
        self.setting(key)
        if (reason := self.lock_reason(key)) is not None:
            raise SettingLocked(key, reason, self.policy.source)
        with self._lock:
            before = self.get(key)
            removed = self._user.pop(key, None) is not None
            self._dirty = self._dirty or removed
            after = self.get(key)
        if after != before:
            self._notify(key, after)
        if save and removed:
            self.save()

    def subscribe(self, callback: ChangeCallback) -> Callable[[], None]:
        """Call ``callback(key, value)`` after each change of an effective value; returns unsubscribe."""
        with self._lock:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unsubscribe

    def _notify(self, key: str, value: Any) -> None:
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(key, value)
            except Exception:  # one broken subscriber must not stop the others
                log.exception("settings change callback failed for %s", key)

    # ---- saving --------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self._dirty

    def save(self) -> None:
        """Write the user's values (and unknown keys) atomically; ``OSError`` if the disk refuses."""
        with self._lock:
            flat: dict[str, Any] = {**self._unknown, **self._user}
            atomic_write(self.path, dumps(flat, _HEADER))
            self._dirty = False

    def reload(self) -> None:
        """Re-read the file (changed by ``agent-assist config set``); notify keys whose value changed."""
        before = self.as_dict()
        fresh = Settings(self.path, self.policy)
        fresh._read()
        with self._lock:
            self._user, self._unknown = fresh._user, fresh._unknown
            self._dirty = False
        self.warnings.extend(w for w in fresh.warnings if w not in self.warnings)
        for key, value in self.as_dict().items():
            if before[key] != value:
                self._notify(key, value)


def _parse_user(
    path: Path, text: str, flat: dict[str, Any]
) -> tuple[dict[str, Value], dict[str, Any], list[str]]:
    user: dict[str, Value] = {}
    unknown: dict[str, Any] = {}
    problems: list[str] = []
    for key, raw in flat.items():
        where = f"{path}, line {line_of(text, key) or '?'}: {key}"
        setting = get_setting(key)
        if setting is None:
            unknown[key] = raw
            problems.append(f"{where}: unknown setting kept as it is (a newer version may use it)")
            continue
        try:
            user[key] = setting.check(raw)
        except ValueError as exc:
            problems.append(
                f"{where}: {exc}; the default is used "
                f"(fix: use {setting.describe_allowed()}, e.g. `agent-assist config set {key} VALUE`)"
            )
    return user, unknown, problems
