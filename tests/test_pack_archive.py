"""A pack as a zip: hostile archives are refused before anything is written."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from agent_assist.knowledge.archive import PackError, unpack_zip


def _zip(path: Path, entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def test_a_wrapped_pack_unpacks_to_its_folder(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "p.zip", {"acme/pack.toml": b"[pack]\n", "acme/articles/a.md": b"# A\n"})
    root = unpack_zip(archive, tmp_path / "out")
    assert root == tmp_path / "out" / "acme" and (root / "articles" / "a.md").read_bytes() == b"# A\n"


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/evil", "a/../../evil.txt", "C:\\evil.txt"])
def test_paths_outside_the_pack_are_refused(tmp_path: Path, name: str) -> None:
    archive = _zip(tmp_path / "p.zip", {"pack.toml": b"", name: b"x"})
    with pytest.raises(PackError, match="outside the pack"):
        unpack_zip(archive, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "out").exists()  # nothing written before the checks


def test_symlinks_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "p.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(PackError, match="symbolic link"):
        unpack_zip(archive, tmp_path / "out")


def test_a_zip_bomb_is_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "bomb.zip", {"pack.toml": b"", "big.txt": b"\0" * (50 * 2**20)})
    assert archive.stat().st_size < 2**20
    with pytest.raises(PackError, match="zip bomb"):
        unpack_zip(archive, tmp_path / "out")


def test_not_a_zip(tmp_path: Path) -> None:
    bad = tmp_path / "p.zip"
    bad.write_text("hello")
    with pytest.raises(PackError, match="not a readable zip"):
        unpack_zip(bad, tmp_path / "out")
