"""Pack documents as structure: titles, heading paths and sections, FAQ pairs.

Why structure first: a snippet is only useful to an agent with its context
(which article, which part of it), and the citation must open the right place.
So Markdown is read as a tree of headings, each section keeping its heading
path and a stable anchor (a slug of the path), and every FAQ row is one
question/answer pair that is never split.

Thread rules: pure functions over files; any thread.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Document", "Section", "front_matter", "parse_faq", "parse_markdown", "slug"]


@dataclass(frozen=True, slots=True)
class Section:
    """Text under one heading; ``path`` runs from the title down to this heading."""

    path: tuple[str, ...]
    text: str
    anchor: str
    line: int


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    title: str
    source: Path
    sections: tuple[Section, ...]
    category: str = ""
    tags: tuple[str, ...] = ()
    kind: str = "article"  # article | faq


def slug(text: str) -> str:
    """``What to do (refunds)`` → ``what-to-do-refunds``: stable anchors for citations."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def front_matter(lines: list[str]) -> tuple[dict[str, str], int]:
    """``key: value`` lines between ``---`` fences; returns them and the index of
    the first body line (0 when there is no front matter)."""
    if not lines or lines[0].strip() != "---":
        return {}, 0
    fields: dict[str, str] = {}
    for index, line in enumerate(lines[1:], 1):
        if line.strip() == "---":
            return fields, index + 1
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return {}, 0


def parse_markdown(path: Path) -> Document:
    """An article: front matter (id, category, tags), ``# Title``, ``##`` sections."""
    lines = path.read_text(encoding="utf-8").splitlines()
    fields, body_start = front_matter(lines)
    title = path.stem.replace("-", " ").capitalize()
    stack: list[tuple[int, str]] = []
    sections: list[Section] = []
    buffer: list[str] = []
    section_line = body_start + 1

    def flush() -> None:
        text = "\n".join(buffer).strip()
        if text:
            path_titles = tuple(h for _, h in stack) or (title,)
            sections.append(
                Section(
                    path_titles, text, slug(" ".join(path_titles[1:]) or path_titles[0]), section_line
                )
            )
        buffer.clear()

    for number, line in enumerate(lines[body_start:], body_start + 1):
        match = _HEADING.match(line)
        if not match:
            buffer.append(line)
            continue
        flush()
        level, heading = len(match.group(1)), match.group(2)
        if level == 1 and not stack:
            title = heading
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading))
        section_line = number
    flush()
    tags = tuple(t.strip() for t in fields.get("tags", "").strip("[]").split(",") if t.strip())
    return Document(
        id=fields.get("id", path.stem),
        title=title,
        source=path,
        sections=tuple(sections),
        category=fields.get("category", ""),
        tags=tags,
    )


def parse_faq(path: Path) -> list[Document]:
    """One document per FAQ row (question as title, the pair as its only section)."""
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    docs = []
    for number, row in enumerate(rows, 2):
        question = (row.get("question") or "").strip()
        answer = (row.get("answer") or "").strip()
        if not question or not answer:
            continue
        anchor = slug(question)[:60]
        section = Section((question,), f"Q: {question}\nA: {answer}", anchor, number)
        docs.append(Document(f"faq-{anchor}", question, path, (section,), category="faq", kind="faq"))
    return docs
