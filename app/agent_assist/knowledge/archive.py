"""Opening a pack shipped as a ``.zip``, safely.

Why so careful: a pack comes from a supervisor's machine or a shared drive, and
a hostile or broken archive must never write outside the folder it is unpacked
into (``../`` or absolute paths, symlinks) nor fill the disk (zip bombs). Every
entry is checked before anything is written; a bad archive raises one
``PackError`` naming the archive, the entry and the fix -- also when an entry
turns out to be unreadable while it is unpacked (encrypted, a bad CRC, a
truncated or damaged stream, an unsupported compression method).

The size rules (``zip_problem``: entry count, total unpacked size, expansion
ratio, encrypted entries) also guard the zips inside a pack: ``.docx`` and
``.xlsx`` files are zips, and ``formats_base.require_zip`` applies the same
rules before a parser opens one.

Thread rules: pure function over files; any thread.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from agent_assist.errors import PackError

__all__ = [
    "MAX_FILES",
    "MAX_RATIO",
    "MAX_TOTAL_BYTES",
    "UNREADABLE_ENTRY",
    "PackError",
    "unpack_zip",
    "zip_problem",
]

MAX_TOTAL_BYTES = 200 * 1024 * 1024
"""Unpacked size limit: a support handbook is megabytes, not hundreds of them."""
MAX_RATIO = 100
"""Compression ratio above which an entry is treated as a zip bomb (text packs ~3-10x)."""
MAX_FILES = 10_000
UNREADABLE_ENTRY = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)
"""What reading a damaged zip entry raises: bad CRC or header, a truncated or corrupt
stream, an unsupported compression method, a password needed (RuntimeError)."""
_RECREATE = "re-create the zip from the real pack files"


def zip_problem(infos: Sequence[zipfile.ZipInfo]) -> tuple[str, str] | None:
    """The first size or encryption rule ``infos`` break, as (problem, fix), or None.

    A bomb is refused from the headers alone: Python's zipfile never inflates
    an entry past the size its header declares (a lie ends in a CRC error).
    """
    if len(infos) > MAX_FILES:
        return f"holds {len(infos)} entries (limit {MAX_FILES})", "remove unneeded files"
    for info in infos:
        if info.flag_bits & 0x1:
            return (
                f"entry '{info.filename}' is encrypted",
                "re-create the zip without a password (packs are not secret; keep secrets out of them)",
            )
        if info.file_size > MAX_TOTAL_BYTES:
            return (
                f"'{info.filename}' unpacks to {info.file_size // 2**20} MB (limit {MAX_TOTAL_BYTES // 2**20} MB)",
                "split large documents or remove what agents do not need",
            )
        if (
            info.compress_size
            and info.file_size / info.compress_size > MAX_RATIO
            and info.file_size > 2**20
        ):
            return (
                f"'{info.filename}' expands {info.file_size // info.compress_size}x: refused as a zip bomb",
                _RECREATE,
            )
    total = sum(info.file_size for info in infos)
    if total > MAX_TOTAL_BYTES:
        return (
            f"unpacks to {total // 2**20} MB (limit {MAX_TOTAL_BYTES // 2**20} MB)",
            "split large documents or remove what agents do not need",
        )
    return None


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
    return name


def unpack_zip(archive: Path, into: Path) -> Path:
    """Check every entry, then extract ``archive`` into the empty folder ``into``.

    Returns the pack root: ``into`` itself, or its single top-level folder when
    the zip wraps the pack in one (``pack/pack.toml``).
    """
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:  # not a zip, truncated
        raise PackError(
            f"{archive} is not a readable zip file ({exc})", "re-create or re-download it"
        ) from exc
    with zf:
        infos = zf.infolist()
        problem = zip_problem(infos)
        if problem:
            raise PackError(f"{archive}: {problem[0]}", problem[1])
        names = [_check_entry(archive, info) for info in infos]
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
            try:
                with zf.open(info) as src, target.open("wb") as dst:
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if written > MAX_TOTAL_BYTES:  # belt and braces: headers are checked above
                            raise PackError(
                                f"{archive} unpacks past {MAX_TOTAL_BYTES // 2**20} MB", _RECREATE
                            )
                        dst.write(chunk)
            except UNREADABLE_ENTRY as exc:
                raise PackError(
                    f"{archive}: entry '{info.filename}' cannot be unpacked: the zip is damaged "
                    f"({type(exc).__name__}: {exc})",
                    "re-create or re-download it",
                ) from exc
            except OSError as exc:
                raise PackError(
                    f"cannot unpack {archive} into {into}: {exc.strerror or exc}",
                    "free some disk space, or check the folder is writable",
                ) from exc
    tops = [p for p in into.iterdir()]
    if len(tops) == 1 and tops[0].is_dir() and not (into / "pack.toml").exists():
        return tops[0]
    return into
