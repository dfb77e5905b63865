"""``pack validate``: every problem in a pack at once, each with its file and line.

Why all at once: a supervisor fixing a pack should not fix one error, re-run,
and find the next. Problems are plain data (file, line, message); nothing here
raises for a bad pack. TOML values carry no line numbers, so an entry's line is
found by searching its ``id``/``code`` in the file's text. Documents in other
formats than Markdown are checked by parsing them with the very parsers the
build uses (``loading``), each once; their ``DocumentError`` (damaged,
password-protected, scanned, too large, wrong encoding...) becomes a problem.

Thread rules: pure functions over files; call from any thread.
"""

from __future__ import annotations

import csv
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent_assist.knowledge.documents import DocumentError, front_matter
from agent_assist.knowledge.formats_base import read_text
from agent_assist.knowledge.formats_sheet import read_faq_xlsx
from agent_assist.knowledge.loading import ARTICLE_PARSERS, FAQ_FILES, article_files, parse_article

__all__ = ["Problem", "validate_pack"]

_ID = re.compile(r"^[a-z0-9]+(?:[-_.][a-z0-9]+)*$")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$")
_MANIFEST_FIELDS = ("id", "name", "version", "language", "owner", "description")


@dataclass(frozen=True, slots=True)
class Problem:
    file: Path
    line: int | None
    message: str

    def render(self, root: Path) -> str:
        try:
            name = self.file.relative_to(root)
        except ValueError:
            name = self.file
        where = f"{name}:{self.line}" if self.line else f"{name}"
        return f"{where}: {self.message}"


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, file: Path, line: int | None, message: str) -> None:
        self.problems.append(Problem(file, line, message))

    def error(self, err: DocumentError) -> None:
        self.add(err.path, err.line, err.detail)


def _line_of(text: str, needle: str) -> int | None:
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    return None


def _load_toml(path: Path, out: _Collector) -> tuple[dict[str, Any], str] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        out.add(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8")
        return None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        out.add(path, int(match.group(1)) if match else None, f"not valid TOML: {exc}")
        return None


def _check_manifest(root: Path, out: _Collector) -> None:
    path = root / "pack.toml"
    if not path.is_file():
        out.add(path, None, "missing: every pack needs a pack.toml manifest")
        return
    loaded = _load_toml(path, out)
    if loaded is None:
        return
    data, text = loaded
    pack = data.get("pack")
    if not isinstance(pack, dict):
        out.add(path, None, "needs a [pack] table")
        return
    for field in _MANIFEST_FIELDS:
        value = pack.get(field)
        line = _line_of(text, field)
        if value is None:
            out.add(path, None, f"[pack] is missing '{field}'")
        elif not isinstance(value, str) or not value.strip():
            out.add(path, line, f"'{field}' must be a non-empty string, not {value!r}")
    if isinstance(pack.get("id"), str) and not _ID.match(pack["id"]):
        out.add(path, _line_of(text, "id"), f"id '{pack['id']}' must be lower-case kebab-case")
    if isinstance(pack.get("version"), str) and not _SEMVER.match(pack["version"]):
        out.add(path, _line_of(text, "version"), f"version '{pack['version']}' must look like 1.2.3")


def _markdown_id(path: Path, out: _Collector) -> tuple[str, int | None] | None:
    """The article id of a Markdown file and the line of its ``id:`` field,
    after checking its front matter and title."""
    try:
        text = read_text(path, "Markdown")
    except DocumentError as err:
        out.error(err)
        return None
    fields, start = front_matter(text.splitlines())
    body = start + 1  # 1-based line of the first body line
    article_id = fields.get("id", path.stem)
    if "id" in fields and article_id != path.stem:
        out.add(
            path, _line_of(text, "id:"), f"id '{article_id}' differs from the file name '{path.stem}'"
        )
    if not any(line.startswith("# ") for line in text.splitlines()[body - 1 :]):
        out.add(path, body, "needs a title line ('# Title') after the front matter")
    return article_id, _line_of(text, "id:")


def _check_articles(root: Path, out: _Collector) -> set[str]:
    ids: dict[str, Path] = {}
    for path in article_files(root):
        line: int | None = None
        if path.suffix.lower() not in ARTICLE_PARSERS:
            out.add(
                path,
                None,
                f"unsupported document type '{path.suffix}' (use {', '.join(sorted(ARTICLE_PARSERS))})",
            )
            continue
        if path.suffix.lower() == ".md":
            article_id, line = _markdown_id(path, out) or (path.stem, None)
        else:
            article_id = path.stem
            try:
                article_id = parse_article(path).id
            except DocumentError as err:
                out.error(err)
        if article_id in ids:
            other = ids[article_id].relative_to(root / "articles").as_posix()
            out.add(path, line, f"duplicate article id '{article_id}' (also {other})")
        ids[article_id] = path
    return set(ids)


def _entries(path: Path, table: str, out: _Collector) -> tuple[list[dict[str, Any]], str]:
    loaded = _load_toml(path, out)
    if loaded is None:
        return [], ""
    data, text = loaded
    entries = data.get(table, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        out.add(path, _line_of(text, table), f"'{table}' must be a list of [[{table}]] tables")
        return [], text
    return entries, text


def _require(
    path: Path, text: str, entry: dict[str, Any], key: str, fields: dict[str, type], out: _Collector
) -> None:
    line = _line_of(text, f'"{entry.get(key)}"') if entry.get(key) else None
    for field, kind in fields.items():
        value = entry.get(field)
        if value is None:
            out.add(path, line, f"{key} {entry.get(key)!r}: missing '{field}'")
        elif not isinstance(value, kind) or (
            isinstance(value, list) and not all(isinstance(v, str) for v in value)
        ):
            expected = "a list of strings" if kind is list else kind.__name__
            out.add(path, line, f"{key} {entry.get(key)!r}: '{field}' must be {expected}")


def _check_structured(root: Path, articles: set[str], out: _Collector) -> None:
    intents: set[str] = set()
    path = root / "intents.toml"
    if path.is_file():
        entries, text = _entries(path, "intent", out)
        for e in entries:
            _require(path, text, e, "id", {"id": str, "name": str, "examples": list}, out)
            intents.add(str(e.get("id")))
            for ref in e.get("articles", []) if isinstance(e.get("articles"), list) else []:
                if ref not in articles:
                    out.add(
                        path,
                        _line_of(text, f'"{ref}"'),
                        f"intent {e.get('id')!r} names unknown article '{ref}'",
                    )
    path = root / "rules.toml"
    if path.is_file():
        entries, text = _entries(path, "rule", out)
        for e in entries:
            _require(
                path, text, e, "id", {"id": str, "description": str, "kind": str, "phrases": list}, out
            )
            if e.get("kind") not in (None, "must_say", "must_not_say"):
                out.add(
                    path,
                    _line_of(text, f'"{e.get("kind")}"'),
                    f"rule {e.get('id')!r}: kind must be must_say or must_not_say",
                )
            if e.get("severity", "medium") not in ("low", "medium", "high"):
                out.add(
                    path,
                    _line_of(text, "severity"),
                    f"rule {e.get('id')!r}: severity must be low, medium or high",
                )
    path = root / "checklists.toml"
    if path.is_file():
        entries, text = _entries(path, "checklist", out)
        for e in entries:
            _require(path, text, e, "id", {"id": str}, out)
            if not isinstance(e.get("steps"), list) or not e.get("steps"):
                out.add(
                    path,
                    _line_of(text, f'"{e.get("id")}"'),
                    f"checklist {e.get('id')!r} needs [[checklist.steps]]",
                )
            for step in e.get("steps", []) if isinstance(e.get("steps"), list) else []:
                if isinstance(step, dict):
                    _require(path, text, step, "id", {"id": str, "text": str}, out)
            for ref in e.get("intents", []) if isinstance(e.get("intents"), list) else []:
                if intents and ref not in intents:
                    out.add(
                        path,
                        _line_of(text, f'"{ref}"'),
                        f"checklist {e.get('id')!r} names unknown intent '{ref}'",
                    )
    path = root / "dispositions.toml"
    if path.is_file():
        entries, text = _entries(path, "disposition", out)
        seen: set[str] = set()
        for e in entries:
            _require(path, text, e, "code", {"code": str, "label": str}, out)
            if e.get("code") in seen:
                out.add(
                    path,
                    _line_of(text, f'"{e.get("code")}"'),
                    f"duplicate disposition code {e.get('code')!r}",
                )
            seen.add(str(e.get("code")))


def _check_tables(root: Path, articles: set[str], out: _Collector) -> None:
    for path, header in (
        (root / "faq.csv", ["question", "answer"]),
        (root / "eval" / "queries.csv", ["query", "expected"]),
    ):
        if not path.is_file():
            continue
        try:
            rows = list(csv.reader(read_text(path, "CSV").splitlines()))
        except DocumentError as err:
            out.error(err)
            continue
        except csv.Error as exc:
            out.add(path, None, f"cannot read as UTF-8 CSV: {exc}")
            continue
        if not rows or [c.strip().lower() for c in rows[0]] != header:
            out.add(path, 1, f"first row must be the header {','.join(header)}")
            continue
        for number, row in enumerate(rows[1:], 2):
            if len(row) != 2 or not all(c.strip() for c in row):
                out.add(path, number, f"needs exactly two non-empty columns ({','.join(header)})")
            elif header[0] == "query" and row[1].split("#")[0] not in articles:
                out.add(path, number, f"expected article '{row[1]}' is not in the pack")
    path = root / "faq.xlsx"
    if path.is_file():
        try:
            faq_rows = read_faq_xlsx(path)
        except DocumentError as err:
            out.error(err)
            return
        if not faq_rows:
            out.add(path, 2, "has headers but no question/answer rows")
        for r in faq_rows:
            if not (r.question and r.answer):
                out.add(path, r.row, f"sheet '{r.sheet}': needs both a question and an answer")


def validate_pack(root: Path) -> list[Problem]:
    """All problems found in the pack folder ``root`` (empty list: valid)."""
    out = _Collector()
    if not root.is_dir():
        out.add(root, None, "not a folder")
        return out.problems
    _check_manifest(root, out)
    articles = _check_articles(root, out)
    has_faq = any((root / name).is_file() for name in FAQ_FILES)
    if not articles and not has_faq:
        out.add(root, None, "the pack is empty: add articles/ or faq.csv (or faq.xlsx)")
    _check_structured(root, articles, out)
    _check_tables(root, articles, out)
    return out.problems
