"""Reading one pack document safely: a size limit, text encodings, one typed error.

Why: supervisors drop whatever they have into ``articles/`` — a 400 MB scan, a
CSV that Excel saved as Windows-1252, a Word file that is really an old
``.doc``. Each must end as one clear message naming the file and the fix, not a
traceback and not a frozen build. So every parser reads through here:

- the size is checked with ``stat()`` before a byte is read, so an oversized
  file is refused at once, however large it is;
- text is UTF-8 (a byte-order mark is fine), or UTF-16/UTF-32 with a BOM;
  anything else is refused with the likely encoding (charset-normalizer's
  guess), because silently guessing would put mojibake into agents' answers;
- a ``.docx``/``.xlsx`` is a zip: before a parser opens it, ``require_zip``
  applies the pack-zip rules of ``archive.zip_problem`` (entry count, total
  unpacked size, expansion ratio, encryption), so a zip bomb disguised as a
  Word file is refused from its headers instead of filling memory, and reads
  every entry once so a bad CRC or a truncated stream is reported here;
- every failure is a ``DocumentError``: a ``PackError`` (so the CLI prints
  ``error:``/``fix:``) that also carries the file, the line and the fix
  separately, so ``pack validate`` can list it as a ``Problem``.

Thread rules: pure functions over files; any thread.
"""

from __future__ import annotations

import codecs
import io
import zipfile
from pathlib import Path

from agent_assist.knowledge.archive import UNREADABLE_ENTRY, PackError, zip_problem

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "DocumentError",
    "decode_text",
    "read_bytes",
    "read_text",
    "require_zip",
]

MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
"""Largest single document: a handbook chapter is kilobytes to a few megabytes;
beyond this it is a scan, an export with images, or the wrong file."""

_BOMS = (  # UTF-32 first: its little-endian BOM begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted Office files, old .doc/.xls
_GUESS_WINDOW = 32 * 1024  # bytes either side of the first bad byte given to the detector
_LATIN = {"cp1250", "cp1252", "cp1254", "cp1257", "iso8859_15", "latin_1", "mac_roman", "cp850", "cp852"}
_LEGACY = [*sorted(_LATIN), "cp1251", "cp1253", "koi8_r", "shift_jis", "gb18030", "big5", "euc_kr"]
_NAMES = {
    "utf_16_le": "UTF-16 without a byte-order mark",
    "utf_16_be": "UTF-16 without a byte-order mark",
}


class DocumentError(PackError):
    """One document that cannot be used.

    ``str(err)`` (what the CLI prints) names the file; ``problem``, ``fix`` and
    ``line`` (line, row, paragraph or page, when known) are kept apart so a
    validator can render them as ``file:line: problem; fix``.
    """

    def __init__(self, path: Path, problem: str, fix: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {problem}", fix)
        self.path = path
        self.problem = problem
        self.line = line

    @property
    def detail(self) -> str:
        """``problem; fix``: the one-line form used in problem lists."""
        return f"{self.problem}; {self.fix}"


def read_bytes(path: Path, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """The file's bytes, refusing (before reading) anything over ``limit``."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DocumentError(path, f"cannot be read ({exc.strerror})", "check that it exists") from exc
    if size > limit:
        raise DocumentError(
            path,
            f"is too large: {size / 2**20:.0f} MB (the limit for one document is {limit // 2**20} MB)",
            "split it into smaller documents, or remove what agents do not need (images, appendices)",
        )
    try:
        with path.open("rb") as stream:
            data = stream.read(limit + 1)  # the file may have grown since stat()
    except OSError as exc:
        raise DocumentError(
            path, f"cannot be read ({exc.strerror})", "check its permissions and try again"
        ) from exc
    if len(data) > limit:
        raise DocumentError(
            path,
            f"is too large: over the {limit // 2**20} MB limit for one document",
            "split it into smaller documents",
        )
    return data


def _guess_encoding(data: bytes, around: int) -> str | None:
    """The likely encoding, for the message only. Detection on short text is
    noisy among the Latin code pages (cp1250/cp1252/mac_roman...); they all
    call for the same fix, so any of them is named as cp1252, the usual one."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # optional at run time: the message just loses its hint
        return None
    sample = data[max(0, around - _GUESS_WINDOW) : around + _GUESS_WINDOW]
    candidates = None if b"\x00" in sample else _LEGACY  # no NULs: not UTF-16/32
    best = from_bytes(sample, cp_isolation=candidates).best()
    if best is None:
        return None
    if best.encoding in _LATIN:
        try:
            sample.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            pass
    return _NAMES.get(best.encoding, best.encoding)


def decode_text(path: Path, data: bytes, kind: str = "text", declared: str | None = None) -> str:
    """``data`` as text: a BOM decides; else UTF-8; else the ``declared`` charset
    (an HTML ``<meta charset>``); else a ``DocumentError`` with the likely encoding.

    ``kind`` names the format in messages ("CSV", "Markdown", ...).
    """
    fix = (
        "save it as UTF-8 (in Excel: Save As > CSV UTF-8)"
        if kind == "CSV"
        else "save it as UTF-8 (in most editors: Save As > Encoding: UTF-8)"
    )
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise DocumentError(
                    path, f"cannot read as {kind}: it starts like {codec} but is not ({exc.reason})", fix
                ) from exc
    try:
        text = data.decode("utf-8")
        bad = text.find("\x00")
        if bad < 0:
            return text
        start = len(text[:bad].encode("utf-8"))
        reason = "contains NUL bytes, so it is not plain text"
    except UnicodeDecodeError as exc:
        if declared:
            try:
                return data.decode(declared)
            except (LookupError, UnicodeDecodeError):
                pass
        start = exc.start
        line = data.count(b"\n", 0, start) + 1
        reason = f"byte 0x{data[start]:02x} on line {line} is not UTF-8"
    guess = _guess_encoding(data, start)
    hint = f" (it looks like {guess})" if guess and guess not in ("utf_8", "ascii") else ""
    raise DocumentError(path, f"cannot read as UTF-8 {kind}: {reason}{hint}", fix)


def read_text(path: Path, kind: str = "text") -> str:
    """``read_bytes`` then ``decode_text``: the one way pack text files are read."""
    return decode_text(path, read_bytes(path), kind)


def require_zip(path: Path, data: bytes, kind: str, app: str) -> None:
    """Refuse, with the reason, an Office file (``kind`` ".docx"/".xlsx") that is not a
    sound zip: an encrypted or old binary Office file (OLE2); a damaged or renamed
    one; one breaking the pack-zip limits (a zip bomb: see ``archive.zip_problem``);
    one with an encrypted, damaged or truncated entry (every entry is read once,
    within those limits, so the parser never meets a bad stream)."""
    if data.startswith(_OLE_MAGIC):
        raise DocumentError(
            path,
            f"is password-protected, or an old binary Office file, not a {kind}",
            f"open it in {app}, remove any password and save it as {kind}",
        )
    resave = f"open it in {app} and save it again as {kind}"
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, EOFError, ValueError, OSError):
        raise DocumentError(
            path,
            f"is not a readable {kind} (not a zip archive: damaged, or another format renamed)",
            resave,
        ) from None
    with zf:
        infos = zf.infolist()
        problem = zip_problem(infos)
        if problem:
            raise DocumentError(
                path,
                f"is not a safe {kind}: {problem[0]}",
                f"{resave}; a file that is not from {app} may be crafted: leave it out of the pack",
            )
        name = ""
        try:
            for info in infos:
                name = info.filename
                with zf.open(info) as entry:
                    while entry.read(1 << 20):
                        pass
        except UNREADABLE_ENTRY as exc:
            raise DocumentError(
                path,
                f"is not a readable {kind}: its part '{name}' is damaged ({type(exc).__name__}: {exc})",
                resave,
            ) from exc
