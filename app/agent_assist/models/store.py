"""Where installed models live on disk, and cheap checks of what is there.

Why: loading code needs a fast "is it there and the right size?" check on every
start (a stat per file), while a full sha256 pass over ~400 MB only happens in
install and verify. A small stamp file (``.verified.json`` in the model folder)
records the size and mtime each file had when it last hashed correctly, so
``models list`` can say "verified" without re-hashing; any change to a file
(or to the manifest's hash) invalidates it.

Thread rules: all functions block on file I/O; call them from a worker thread,
not a UI thread. Stamps are written atomically (temp file + rename), so
concurrent readers see either the old stamp or the new one.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from agent_assist.models.manifest import ModelSpec
from agent_assist.paths import models_dir

__all__ = [
    "STAMP_NAME",
    "clear_stamp",
    "install_dir",
    "quick_problems",
    "sha256_file",
    "stamp_valid",
    "write_stamp",
]

STAMP_NAME = ".verified.json"
CHUNK = 1 << 20


def install_dir(spec: ModelSpec) -> Path:
    """The folder a pypi model is installed into: ``<models dir>/<id>``."""
    return models_dir() / spec.id


def sha256_file(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def quick_problems(spec: ModelSpec, folder: Path) -> list[tuple[str, str]]:
    """``(file name, problem)`` for every file that is absent or has the wrong size."""
    problems = []
    for file in spec.files:
        try:
            size = (folder / file.name).stat().st_size
        except OSError:
            problems.append((file.name, "missing"))
            continue
        if size != file.size:
            problems.append((file.name, f"size {size} bytes, expected {file.size}"))
    return problems


def _fingerprint(spec: ModelSpec, folder: Path) -> dict[str, list[object]] | None:
    out: dict[str, list[object]] = {}
    for file in spec.files:
        try:
            st = (folder / file.name).stat()
        except OSError:
            return None
        out[file.name] = [st.st_size, st.st_mtime_ns, file.sha256]
    return out


def write_stamp(spec: ModelSpec, folder: Path) -> None:
    """Record that every file of ``spec`` in ``folder`` just hashed correctly."""
    fingerprint = _fingerprint(spec, folder)
    if fingerprint is None:
        return
    tmp = folder / f"{STAMP_NAME}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(fingerprint, indent=1), encoding="utf-8")
    os.replace(tmp, folder / STAMP_NAME)


def stamp_valid(spec: ModelSpec, folder: Path) -> bool:
    """True if no file changed since the last successful full hash."""
    try:
        stamp = json.loads((folder / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    fingerprint = _fingerprint(spec, folder)
    return fingerprint is not None and stamp == fingerprint


def clear_stamp(folder: Path) -> None:
    (folder / STAMP_NAME).unlink(missing_ok=True)
