"""Pack documents as structure: titles, heading paths and sections, FAQ pairs.

Why structure first: a snippet is only useful to an agent with its context
(which article, which part of it), and the citation must open the right place.
So Markdown is read as a tree of headings, each section keeping its heading
path and a stable anchor (a slug of the path), and every FAQ row is one
question/answer pair that is never split. ``SectionBuilder`` holds those rules
once; the other formats (``formats_text``, ``formats_office``) feed it too, so
a section of a PDF or a Word file cites exactly like one of a Markdown article.

Thread rules: pure functions over files; any thread.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from agent_assist.knowledge.formats_base import DocumentError, read_text

__all__ = [
    "Document",
    "DocumentError",
    "Section",
    "SectionBuilder",
    "faq_document",
    "front_matter",
    "parse_faq",
    "parse_markdown",
    "slug",
    "title_from_stem",
]


@dataclass(frozen=True, slots=True)
class Section:
    """Text under one heading; ``path`` runs from the title down to this heading."""

    path: tuple[str, ...]
    text: str
    anchor: str
    line: int


@dataclass(frozen=True, slots=True)
class Document:
    """One article, or one FAQ pair; ``id`` is the front-matter id, else the file stem."""

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


class SectionBuilder:
    """Text under a stack of headings, cut into ``Section``s: one rule set for every format.

    A section is emitted when the next heading starts (or at ``sections()``),
    if it has text; its anchor is the slug of its path below the title, made
    unique within the document (``-2``, ``-3``) so every citation opens one place.

    ``rooted``: every path starts with the title (all formats but Markdown,
    whose paths start at its ``#`` heading). ``h1_is_title``: a level-1 heading
    met before any other heading is the title (Markdown's ``#``, HTML's
    ``<h1>``); formats whose title comes from elsewhere (a Word "Title"
    paragraph, a text file's first line) pass False.

    Thread rules: one builder per document being parsed, used by one thread.
    """

    def __init__(self, title: str, *, rooted: bool = True, h1_is_title: bool = True) -> None:
        self.title = title
        self._rooted = rooted
        self._h1_is_title = h1_is_title
        self._stack: list[tuple[int, str]] = [(0, title)] if rooted else []
        self._headed = False
        self._buffer: list[str] = []
        self._line = 1
        self._sections: list[Section] = []
        self._anchors: set[str] = set()

    def start_at(self, line: int) -> None:
        """The line reported for text before the first heading."""
        self._line = line

    def add(self, line: str) -> None:
        """One raw line (blank lines separate paragraphs)."""
        self._buffer.append(line)

    def paragraph(self, text: str) -> None:
        """One paragraph, set apart by blank lines (``add`` lines before it stay together)."""
        if self._buffer and self._buffer[-1]:
            self._buffer.append("")
        self._buffer += [text, ""]

    def heading(self, level: int, text: str, line: int) -> None:
        """A heading of ``level`` (1 = top) at ``line`` starts a new section."""
        self._flush()
        self._line = line
        first = not self._headed
        self._headed = True
        if level == 1 and first and self._h1_is_title:
            self.title = text
            if self._rooted:
                self._stack = [(0, text)]
                return
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, text))

    def sections(self) -> tuple[Section, ...]:
        """Every section with text, in document order (ends the document)."""
        self._flush()
        return tuple(self._sections)

    def _flush(self) -> None:
        text = "\n".join(self._buffer).strip()
        self._buffer.clear()
        if not text:
            return
        path = tuple(h for _, h in self._stack) or (self.title,)
        base = slug(" ".join(path[1:]) or path[0])
        anchor, n = base, 2
        while anchor in self._anchors:
            anchor, n = f"{base}-{n}", n + 1
        self._anchors.add(anchor)
        self._sections.append(Section(path, text, anchor, self._line))


def title_from_stem(path: Path) -> str:
    """``gift-subscriptions.pdf`` → ``Gift subscriptions``: the title of last resort."""
    return path.stem.replace("-", " ").replace("_", " ").strip().capitalize() or path.name


def parse_markdown(path: Path) -> Document:
    """An article: front matter (id, category, tags), ``# Title``, ``##`` sections."""
    lines = read_text(path, "Markdown").splitlines()
    fields, body_start = front_matter(lines)
    builder = SectionBuilder(title_from_stem(path), rooted=False)
    builder.start_at(body_start + 1)
    for number, line in enumerate(lines[body_start:], body_start + 1):
        match = _HEADING.match(line)
        if match:
            builder.heading(len(match.group(1)), match.group(2), number)
        else:
            builder.add(line)
    sections = builder.sections()
    tags = tuple(t.strip() for t in fields.get("tags", "").strip("[]").split(",") if t.strip())
    return Document(
        id=fields.get("id", path.stem),
        title=builder.title,
        source=path,
        sections=sections,
        category=fields.get("category", ""),
        tags=tags,
    )


def faq_document(path: Path, question: str, answer: str, line: int) -> Document:
    """One FAQ pair as a document: the question is the title, the pair its only section."""
    anchor = slug(question)[:60]
    section = Section((question,), f"Q: {question}\nA: {answer}", anchor, line)
    return Document(f"faq-{anchor}", question, path, (section,), category="faq", kind="faq")


def parse_faq(path: Path) -> list[Document]:
    """One document per row of ``faq.csv`` (columns ``question``, ``answer``)."""
    rows = list(csv.DictReader(read_text(path, "CSV").splitlines()))
    docs = []
    for number, row in enumerate(rows, 2):
        question = (row.get("question") or "").strip()
        answer = (row.get("answer") or "").strip()
        if question and answer:
            docs.append(faq_document(path, question, answer, number))
    return docs
