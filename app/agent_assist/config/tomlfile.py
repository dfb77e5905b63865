"""TOML plumbing shared by the settings file, the window state and the IT policy.

- ``flatten``/``nest``: ``[privacy] store_audio = true``, ``privacy.store_audio = true``
  and ``"privacy.store_audio" = true`` all mean the key ``privacy.store_audio``.
- ``line_of``: the line a key is set on, for error messages (``tomllib`` keeps no positions).
- ``atomic_write``: temp file in the same folder, fsync, ``os.replace``, fsync the
  folder: after a crash the file is either the old one or the new one, never half.

Thread rules: pure functions plus file I/O; callers serialise writes to one file.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import tomli_w

__all__ = ["atomic_write", "dumps", "flatten", "line_of", "nest"]


def flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tables to dotted keys; arrays and scalars are values."""
    flat: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """Dotted keys back to tables (``a.b = 1`` -> ``{"a": {"b": 1}}``)."""
    root: dict[str, Any] = {}
    for key in sorted(flat):
        *tables, name = key.split(".")
        node = root
        for part in tables:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # a scalar where a table is needed: keep the key whole
                node = root
                name = key
                break
            node = child
        node[name] = flat[key]
    return root


def dumps(flat: dict[str, Any], header: str = "") -> str:
    """TOML text for ``flat`` (top-level scalars first, then one table per section)."""
    return header + tomli_w.dumps(nest(flat))


_HEADER = re.compile(r"^\[\[?\s*([^\]]+?)\s*\]")
_ASSIGN = re.compile(r"""^\s*([A-Za-z0-9_\-."' ]+?)\s*=""")


def _norm(name: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in name.split("."))


def line_of(text: str, key: str, table: str = "") -> int | None:
    """The 1-based line where ``key`` (dotted; inside ``[table]`` if given) is set in ``text``."""
    want = f"{table}.{key}" if table else key
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("["):
            if header := _HEADER.match(line.strip()):
                current = _norm(header.group(1))
            continue
        if assign := _ASSIGN.match(line):
            full = f"{current}.{_norm(assign.group(1))}" if current else _norm(assign.group(1))
            if full == want:
                return number
    return None


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a crash at any point leaves the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if os.name == "posix":  # make the rename itself durable
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
