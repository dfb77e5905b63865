"""Installing models: copying (or joining) package files into the models folder.

Why: the app loads models only from ``paths.models_dir()/<id>/``, never from
site-packages, so a model keeps working when its carrier package is upgraded or
removed, and split files (``model.bin.part1`` + ``part2``) become one real file.
Every byte is hashed while it is written: an install either ends with files
that match the manifest or raises ``ModelError`` and leaves the old file alone
(each file is written to a temp file in the same folder, fsynced, then renamed
over the target atomically).

Files are copied, not hardlinked, by default: a hardlink shares its bytes with
site-packages, so an accidental in-place write to either would damage both.
``link=True`` hardlinks single-part files when both sides are on one filesystem.

Thread rules: blocking and I/O heavy (hundreds of MB); run it from a worker
thread or the CLI, never a UI thread. Two installs of the same model at once are
safe (unique temp names, last rename wins with identical bytes) but wasteful.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tqdm import tqdm

from agent_assist.errors import ModelError
from agent_assist.models import sources
from agent_assist.models.manifest import FileSpec, Manifest, ModelSpec, load_manifest
from agent_assist.models.store import (
    clear_stamp,
    install_dir,
    sha256_file,
    stamp_valid,
    write_stamp,
)

__all__ = ["InstallReport", "install"]

PROGRESS_MIN_BYTES = 16 << 20  # smaller files finish before a bar is worth drawing
CHUNK = 4 << 20


@dataclass(frozen=True)
class InstallReport:
    id: str
    status: Literal["installed", "up-to-date", "skipped"]
    path: Path | None  # the installed folder (None when skipped)
    files_written: int = 0
    note: str = ""  # why it was skipped, and what to do about it


def install(
    model_id: str | None = None,
    *,
    force: bool = False,
    progress: bool = True,
    link: bool = False,
    manifest: Manifest | None = None,
) -> list[InstallReport]:
    """Install one model (by id or alias), or with ``None`` every model whose packages
    are installed; the others are reported as skipped with the ``pip install`` to run.

    ``force`` rewrites every file even if it already hashes correctly. Raises
    ``ModelError`` for an unknown id, a missing package (when ``model_id`` is given) or
    package content that does not match the manifest.
    """
    manifest = manifest or load_manifest()
    if model_id is not None:
        return [_install_one(manifest.get(model_id), force, progress, link)]
    reports = []
    for spec in manifest.models:
        problem = sources.check_available(spec) if spec.kind == "pypi" else None
        if problem is not None:
            note = f"{problem.message}; {problem.fix}" if problem.fix else problem.message
            reports.append(InstallReport(spec.id, "skipped", None, note=note))
        else:
            reports.append(_install_one(spec, force, progress, link))
    return reports


def _install_one(spec: ModelSpec, force: bool, progress: bool, link: bool) -> InstallReport:
    if spec.kind == "local":
        if spec.path is None:
            note = "local model with no `path` set in the manifest; nothing to install"
        elif spec.path.exists():
            note = f"local model, used in place from {spec.path}"
        else:
            note = f"local model, but {spec.path} does not exist; fix `path` in the manifest"
        return InstallReport(spec.id, "skipped", spec.path, note=note)
    roots = sources.package_roots(spec)
    folder = install_dir(spec)
    if not force and stamp_valid(spec, folder):
        return InstallReport(spec.id, "up-to-date", folder)
    folder.mkdir(parents=True, exist_ok=True)
    clear_stamp(folder)
    written = 0
    for file in spec.files:
        dest = folder / file.name
        if not force and _already_good(dest, file):
            continue
        srcs = [sources.part_path(spec, part, roots) for part in file.parts]
        _write_file(spec, file, srcs, dest, progress=progress, link=link)
        written += 1
    write_stamp(spec, folder)
    return InstallReport(spec.id, "installed" if written else "up-to-date", folder, written)


def _already_good(dest: Path, file: FileSpec) -> bool:
    try:
        return dest.stat().st_size == file.size and sha256_file(dest) == file.sha256
    except OSError:
        return False


def _write_file(
    spec: ModelSpec, file: FileSpec, srcs: list[Path], dest: Path, *, progress: bool, link: bool
) -> None:
    """Write ``dest`` from ``srcs`` (joined in order) via a temp file and an atomic rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        if not (link and not file.is_split and _try_link(spec, file, srcs[0], tmp, progress)):
            _join(spec, file, srcs, tmp, progress)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _try_link(spec: ModelSpec, file: FileSpec, src: Path, tmp: Path, progress: bool) -> bool:
    if src.stat().st_dev != tmp.parent.stat().st_dev:
        return False
    with _bar(spec, file, progress) as bar, src.open("rb") as fh:
        digest = hashlib.sha256()
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            bar.update(len(chunk))
    _check(spec, file, 0, digest.hexdigest())
    try:
        os.link(src, tmp)
    except OSError:
        return False  # e.g. a filesystem without hardlinks: copy instead
    return True


def _join(spec: ModelSpec, file: FileSpec, srcs: list[Path], tmp: Path, progress: bool) -> None:
    whole = hashlib.sha256()
    with _bar(spec, file, progress) as bar, tmp.open("wb") as out:
        for index, src in enumerate(srcs):
            part_digest = hashlib.sha256()
            with src.open("rb") as fh:
                while chunk := fh.read(CHUNK):
                    out.write(chunk)
                    whole.update(chunk)
                    part_digest.update(chunk)
                    bar.update(len(chunk))
            _check(spec, file, index, part_digest.hexdigest())
        out.flush()
        os.fsync(out.fileno())
    if whole.hexdigest() != file.sha256:
        raise ModelError(
            f"joining the parts of {file.name} for {spec.noun} '{spec.id}' gave sha256 "
            f"{whole.hexdigest()[:12]}…, the manifest expects {file.sha256[:12]}…",
            fix="the manifest is inconsistent: restore models/manifest.toml from the release",
        )


def _check(spec: ModelSpec, file: FileSpec, index: int, digest: str) -> None:
    part = file.parts[index]
    if digest != part.sha256:
        package = sources.package_for(spec, part)
        raise ModelError(
            f"{part.source} in the package {package.requirement} does not match the manifest "
            f"(sha256 {digest[:12]}…, expected {part.sha256[:12]}…)",
            fix=f"run `{sources.pip_install(package, force=True)}`, "
            f"then `agent-assist models install {spec.id}`",
        )


@contextmanager
def _bar(spec: ModelSpec, file: FileSpec, progress: bool) -> Iterator[Any]:
    """A byte progress bar on stderr, only for big files on an interactive terminal."""
    enabled = progress and file.size >= PROGRESS_MIN_BYTES and sys.stderr.isatty()
    bar = tqdm(
        total=file.size,
        desc=f"{spec.id}/{file.name}",
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        disable=not enabled,
        leave=False,
    )
    try:
        yield bar
    finally:
        bar.close()
