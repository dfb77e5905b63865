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


def _damage(archive: Path, how: str) -> Path:
    """Break a written zip the way a bad download or a hostile tool does."""
    data = bytearray(archive.read_bytes())
    if how == "encrypted":  # the 'encrypted' flag bit, local and central headers
        for signature, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            pos = data.find(signature)
            while pos >= 0:
                data[pos + at] |= 0x01
                pos = data.find(signature, pos + 4)
    elif how == "crc":  # one byte of a stored entry changed
        at = data.find(b"Hold the pinhole") + 2
        data[at] ^= 0x20
    elif how == "stream":  # a deflate stream that is not one
        with zipfile.ZipFile(archive) as zf:
            info = zf.getinfo("articles/a.md")
        start = info.header_offset + 30 + len(info.filename) + len(info.extra)
        data[start : start + info.compress_size] = b"\xff" * info.compress_size
    elif how == "truncated":
        data = data[: len(data) // 2]
    archive.write_bytes(bytes(data))
    return archive


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("encrypted", r"p\.zip: entry 'pack\.toml' is encrypted"),
        (
            "crc",
            r"p\.zip: entry 'articles/a\.md' cannot be unpacked: the zip is damaged \(BadZipFile: Bad CRC",
        ),
        ("stream", r"p\.zip: entry 'articles/a\.md' cannot be unpacked: the zip is damaged \("),
        ("truncated", r"p\.zip is not a readable zip file"),
    ],
)
def test_a_damaged_or_encrypted_zip_is_a_pack_error(tmp_path: Path, how: str, message: str) -> None:
    text = b"# A\n\nHold the pinhole button for ten seconds. " * 40
    method = zipfile.ZIP_STORED if how == "crc" else zipfile.ZIP_DEFLATED
    archive = _damage(
        _zip(tmp_path / "p.zip", {"pack.toml": b"[pack]\n", "articles/a.md": text}, method), how
    )
    with pytest.raises(PackError, match=message) as info:
        unpack_zip(archive, tmp_path / "out")
    assert info.value.fix


def test_too_many_entries_are_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "p.zip", {f"articles/{i}.md": b"" for i in range(10_001)})
    with pytest.raises(PackError, match=r"p\.zip: holds 10001 entries \(limit 10000\)"):
        unpack_zip(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
