"""Opening a pack shipped as a ``.zip``, safely.

Why so careful: a pack comes from a supervisor's machine or a shared drive, and
a hostile or broken archive must never write outside the folder it is unpacked
into (``../`` or absolute paths, symlinks) nor fill the disk (zip bombs). Every
entry is checked before anything is written; a bad archive raises one
``PackError`` naming the archive, the entry and the fix.

Thread rules: pure function over files; any thread.
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath

from agent_assist.errors import PackError

__all__ = ["MAX_FILES", "MAX_RATIO", "MAX_TOTAL_BYTES", "PackError", "unpack_zip"]

MAX_TOTAL_BYTES = 200 * 1024 * 1024
"""Unpacked size limit: a support handbook is megabytes, not hundreds of them."""
MAX_RATIO = 100
"""Compression ratio above which an entry is treated as a zip bomb (text packs ~3-10x)."""
MAX_FILES = 10_000


def _check_entry(archive: Path, info: zipfile.ZipInfo) -> PurePosixPath:
    name = PurePosixPath(info.filename)
    if name.is_absolute() or ".." in name.parts or ":" in info.filename or "\\" in info.filename:
        raise PackError(
            f"{archive}: entry '{info.filename}' points outside the pack",
            "rebuild the zip from the pack folder itself (e.g. `cd pack && zip -r ../pack.zip .`)",
        )
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise PackError(
            f"{archive}: entry '{info.filename}' is a symbolic link",
            "packs hold plain files only; replace the link with the file it points to",
        )
    if info.file_size > MAX_TOTAL_BYTES:
        raise PackError(
            f"{archive}: '{info.filename}' unpacks to {info.file_size // 2**20} MB (limit {MAX_TOTAL_BYTES // 2**20} MB)",
            "split large documents or remove what agents do not need",
        )
    if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 2**20:
        raise PackError(
            f"{archive}: '{info.filename}' expands {info.file_size // info.compress_size}x: refused as a zip bomb",
            "re-create the zip from the real pack files",
        )
    return name


def unpack_zip(archive: Path, into: Path) -> Path:
    """Check every entry, then extract ``archive`` into the empty folder ``into``.

    Returns the pack root: ``into`` itself, or its single top-level folder when
    the zip wraps the pack in one (``pack/pack.toml``).
    """
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise PackError(
            f"{archive} is not a readable zip file ({exc})", "re-create or re-download it"
        ) from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_FILES:
            raise PackError(
                f"{archive} holds {len(infos)} entries (limit {MAX_FILES})", "remove unneeded files"
            )
        names = [_check_entry(archive, info) for info in infos]
        total = sum(info.file_size for info in infos)
        if total > MAX_TOTAL_BYTES:
            raise PackError(
                f"{archive} unpacks to {total // 2**20} MB (limit {MAX_TOTAL_BYTES // 2**20} MB)",
                "split large documents or remove what agents do not need",
            )
        into.mkdir(parents=True, exist_ok=True)
        written = 0
        for info, name in zip(infos, names, strict=True):
            target = into.joinpath(*name.parts)
            if not target.resolve().is_relative_to(into.resolve()):
                raise PackError(
                    f"{archive}: entry '{info.filename}' points outside the pack", "rebuild the zip"
                )
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, target.open("wb") as dst:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > MAX_TOTAL_BYTES:  # sizes in the header can lie
                        raise PackError(
                            f"{archive} unpacks past {MAX_TOTAL_BYTES // 2**20} MB", "re-create the zip"
                        )
                    dst.write(chunk)
    tops = [p for p in into.iterdir()]
    if len(tops) == 1 and tops[0].is_dir() and not (into / "pack.toml").exists():
        return tops[0]
    return into
