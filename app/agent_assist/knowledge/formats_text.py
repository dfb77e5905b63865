"""Plain-text (``.txt``) and HTML (``.html``/``.htm``) articles as heading trees.

Why these rules: supervisors export pages from an intranet or paste a policy
into Notepad; either must cite as precisely as a Markdown article. HTML has a
real heading tree (``h1``–``h6``); scripts, styles, navigation and the like are
dropped because agents must never be shown menu text as an answer. Plain text
has no markup, so a few conservative conventions make headings (see
``parse_text``); everything else is paragraphs. Both read through
``formats_base`` (size limit, UTF-8/BOM, a clear error naming the file); HTML
also honours a declared ``<meta charset>``.

Thread rules: pure functions over files; any thread.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from agent_assist.knowledge.documents import Document, SectionBuilder, title_from_stem
from agent_assist.knowledge.formats_base import DocumentError, decode_text, read_bytes

__all__ = ["parse_html", "parse_text"]

_UNDERLINE = re.compile(r"^\s*(=+|-+)\s*$")
_NUMBERED = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+(\S.*)$")
_MAX_HEADING = 60  # characters: a longer lone line is a sentence, not a heading


def _paragraphs(lines: list[str]) -> list[tuple[int, list[str]]]:
    paras: list[tuple[int, list[str]]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if paras and paras[-1][0] + len(paras[-1][1]) == number:
            paras[-1][1].append(line)
        else:
            paras.append((number, [line]))
    return paras


def _text_heading(lines: list[str]) -> tuple[int, str] | None:
    """(level, text) when a paragraph starts with a heading: a line underlined
    with ``===`` (level 1) or ``---`` (level 2); or the paragraph is one short
    line with no closing punctuation (numbered ``2.`` → level 1, ``2.1`` →
    level 2, else level 1)."""
    if len(lines) >= 2 and _UNDERLINE.match(lines[1]) and lines[0].strip():
        return (1 if lines[1].strip()[0] == "=" else 2), lines[0].strip()
    if len(lines) != 1:
        return None
    text = lines[0].strip()
    if len(text) > _MAX_HEADING or text[-1] in ".,;:!?" or text.startswith(("-", "*", "•")):
        return None
    numbered = _NUMBERED.match(text)
    if numbered:
        return numbered.group(1).count(".") + 1, numbered.group(2)
    return 1, text


def parse_text(path: Path) -> Document:
    """A ``.txt`` article. The first line is the title when it stands alone
    (else the file name is); a lone short line without a full stop, or a line
    underlined with ``===``/``---``, is a heading; the rest are paragraphs."""
    lines = decode_text(path, read_bytes(path), "text").splitlines()
    paras = _paragraphs(lines)
    if not paras:
        raise DocumentError(path, "has no text", "write the article into it, or remove the file")
    title = title_from_stem(path)
    first_line, first = paras[0]
    heading = _text_heading(first)
    if len(first) == 1 and len(first[0].strip()) <= 120 and len(paras) > 1:
        title, paras = first[0].strip(), paras[1:]
    elif heading and len(first) >= 2:  # an underlined title
        title, paras[0] = heading[1], (first_line + 2, first[2:])
    builder = SectionBuilder(title, h1_is_title=False)
    builder.start_at(paras[0][0] if paras else first_line)
    for index, (number, para) in enumerate(paras):
        underlined = len(para) >= 2
        heading = _text_heading(para) if underlined or index + 1 < len(paras) else None
        body = para
        if heading:
            builder.heading(heading[0], heading[1], number)
            body = para[2:] if underlined else []
        if body:
            builder.paragraph("\n".join(line.rstrip() for line in body))
    sections = builder.sections()
    if not sections:
        raise DocumentError(path, f"has a title ({title!r}) but no text", "write the article under it")
    return Document(id=path.stem, title=title, source=path, sections=sections)


# --- HTML --------------------------------------------------------------------------

_SKIP = {
    "script", "style", "nav", "footer", "noscript", "template", "svg", "iframe", "object",
    "select", "button",
}  # fmt: skip
_BLOCKS = {
    "p", "div", "section", "article", "main", "header", "aside", "blockquote", "pre", "dl", "dt",
    "dd", "table", "figure", "figcaption", "form", "br", "hr", "address", "details", "summary",
    "caption", "body",
}  # fmt: skip
_HEADING_TAG = re.compile(r"h[1-6]")
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


class _HtmlCollector(HTMLParser):
    """Blocks in document order: (heading level or 0, text, line, is a list item or table row)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.events: list[tuple[int, str, int, bool]] = []
        self._skip = 0
        self._in_title = False
        self._heading = 0
        self._parts: list[str] = []
        self._has_text = False
        self._line = 0
        self._lists: list[int | None] = []  # per open list: items so far (<ol>) or None (<ul>)
        self._prefix = ""  # "- " or "3. " waiting for the list item's first text
        self._item = False
        self._row = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif _HEADING_TAG.fullmatch(tag):
            self._end_block()
            self._heading, self._line = int(tag[1]), self.getpos()[0]
        elif tag in ("ul", "ol"):
            self._end_block()
            self._lists.append(0 if tag == "ol" else None)
        elif tag == "li":
            self._end_block()
            count = self._lists[-1] if self._lists else None
            if count is None:
                self._prefix = "- "
            else:
                self._lists[-1] = count + 1
                self._prefix = f"{count + 1}. "
        elif tag == "tr":
            self._end_block()
            self._row = True
        elif tag in _BLOCKS:
            self._end_block()
        elif tag in ("td", "th") and self._has_text:
            self._parts.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif tag in ("ul", "ol"):
            self._end_block()
            if self._lists:
                self._lists.pop()
        elif _HEADING_TAG.fullmatch(tag) or tag in _BLOCKS or tag in ("li", "tr"):
            self._end_block()
            self._prefix = "" if tag == "li" else self._prefix
            self._row = False if tag == "tr" else self._row

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self.title += data
            return
        if data.strip() and not self._has_text:
            self._has_text = True
            if not self._heading:
                self._line = self.getpos()[0]
            if self._prefix:
                self._parts.append(self._prefix)
                self._prefix, self._item = "", True
        self._parts.append(data)

    def _end_block(self) -> None:
        if self._has_text:
            text = " ".join("".join(self._parts).split())
            self.events.append((self._heading, text, self._line, self._item or self._row))
        self._parts.clear()
        self._has_text = self._item = False
        self._heading = 0

    def close(self) -> None:
        super().close()
        self._end_block()


def parse_html(path: Path) -> Document:
    """An ``.html`` article: the first ``<h1>`` (else ``<title>``, else the file
    name) is the title; ``h1``–``h6`` make the heading tree; list items and
    table rows (``a | b``) are lines; scripts, styles, navigation, footers, forms
    and embedded objects are dropped."""
    data = read_bytes(path)
    declared = _CHARSET.search(data[:4096])
    html = decode_text(path, data, "HTML", declared.group(1).decode("ascii") if declared else None)
    collector = _HtmlCollector()
    collector.feed(html)
    collector.close()
    title = " ".join(collector.title.split()) or title_from_stem(path)
    builder = SectionBuilder(title)
    if collector.events:
        builder.start_at(collector.events[0][2])
    for level, text, line, is_line in collector.events:
        if level:
            builder.heading(level, text, line)
        elif is_line:
            builder.add(text)
        else:
            builder.paragraph(text)
    sections = builder.sections()
    if not sections:
        raise DocumentError(
            path,
            "has no text (after removing scripts, styles and navigation)",
            "check it is the article page itself and not a frame or a redirect",
        )
    return Document(id=path.stem, title=builder.title, source=path, sections=sections)
