"""Typed, strict access to the tables of the TOML model manifest.

Why: every manifest mistake (missing field, wrong type, unknown key, bad hash)
must produce one message naming the manifest file, the model and the field,
never a ``KeyError`` or ``TypeError`` later. ``manifest.py`` builds its
dataclasses only through this reader.

Thread rules: plain data, no shared state; used only while loading.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import NoReturn, TypeVar, cast

from agent_assist.errors import ModelError

__all__ = ["Fields", "ManifestError"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_T = TypeVar("_T", bound=str)


class ManifestError(ModelError):
    """The manifest file is missing or malformed; the message names the file."""


class Fields:
    """Typed access to one TOML table; every error names the file and the table."""

    def __init__(self, data: Mapping[str, object], where: str, file: Path) -> None:
        self.data, self.where, self.file = data, where, file
        self.used: set[str] = set()

    def fail(self, message: str) -> NoReturn:
        where = f"{self.where}: " if self.where else ""
        raise ManifestError(
            f"invalid model manifest {self.file}: {where}{message}",
            fix=f"correct {self.file} (see the comments at its top) or restore it from the release",
        )

    def _get(self, key: str, kind: type | tuple[type, ...], label: str, required: bool) -> object:
        self.used.add(key)
        if key not in self.data:
            if required:
                self.fail(f"missing required field '{key}'")
            return None
        value = self.data[key]
        if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
            self.fail(f"'{key}' must be {label}, got {type(value).__name__} {value!r}")
        return value

    def req_str(self, key: str) -> str:
        return cast(str, self._get(key, str, "a string", True))

    def opt_str(self, key: str) -> str | None:
        return cast("str | None", self._get(key, str, "a string", False))

    def opt_bool(self, key: str) -> bool:
        return bool(self._get(key, bool, "true or false", False))

    def req_int(self, key: str) -> int:
        value = cast(int, self._get(key, int, "an integer", True))
        if value < 0:
            self.fail(f"'{key}' must not be negative")
        return value

    def str_list(self, key: str) -> tuple[str, ...]:
        values = cast("list[object] | None", self._get(key, list, "a list of strings", False))
        if values and not all(isinstance(v, str) for v in values):
            self.fail(f"'{key}' must be a list of strings")
        return tuple(cast("list[str]", values or []))

    def choice(self, key: str, options: tuple[_T, ...]) -> _T:
        value = self.req_str(key)
        if value not in options:
            self.fail(f"'{key}' must be one of {', '.join(options)}; got {value!r}")
        return value

    def sha256(self, key: str) -> str:
        value = self.req_str(key)
        if not _SHA256.match(value):
            self.fail(f"'{key}' must be 64 lowercase hex digits, got {value!r}")
        return value

    def source(self, key: str, modules: set[str]) -> str:
        value = self.req_str(key)
        module, _, rest = value.partition("/")
        if module not in modules or not rest or ".." in PurePosixPath(rest).parts:
            self.fail(f"'{key}' {value!r} must be '<module>/<path>' with a module from 'packages'")
        return value

    def tables(self, key: str, *, required: bool = False) -> list[Fields]:
        items = cast("list[object] | None", self._get(key, list, "a list of tables", required))
        if required and not items:
            self.fail(f"'{key}' must not be empty")
        out = []
        for i, item in enumerate(items or []):
            if not isinstance(item, dict):
                self.fail(f"'{key}' must be a list of tables, item {i} is {item!r}")
            where = f"{self.where} {key}[{i}]" if self.where else f"{key}[{i}]"
            out.append(Fields(cast("dict[str, object]", item), where, self.file))
        return out

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            self.fail(f"unknown field(s) {', '.join(map(repr, unknown))}")
