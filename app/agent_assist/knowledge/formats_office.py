"""PDF and Word (``.docx``) articles as documents.

Why: much of a contact center's knowledge already lives in these formats, and
re-typing it into Markdown is where it goes stale. Each keeps the structure a
citation needs: a Word file's Title/Heading styles become the heading tree; a
PDF's bookmarks (outline) do, else each page is a section (``page-N``).
Broken inputs (damaged, password-protected, scanned without a text layer, an
old binary ``.doc``) raise one ``DocumentError`` naming the file and the fix.
The libraries (pypdf, python-docx) are imported inside the functions: a pack
of Markdown never pays for them.

Thread rules: pure functions over files; any thread (every call opens its own
reader; nothing is cached or shared).
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent_assist.knowledge.documents import Document, SectionBuilder, title_from_stem
from agent_assist.knowledge.formats_base import DocumentError, read_bytes, require_zip

if TYPE_CHECKING:
    from pypdf import PdfReader

__all__ = ["parse_docx", "parse_pdf"]

_MACHINE_TITLE = re.compile(r"^(microsoft \w+ - )|\.(docx?|pdf|rtf|odt|pages)$", re.IGNORECASE)


# --- PDF ---------------------------------------------------------------------------


def _unlock(path: Path, reader: PdfReader) -> None:
    """Open a PDF that is encrypted with an empty user password (owner
    restrictions only, which is common); refuse one that needs a password."""
    from pypdf import PasswordType
    from pypdf.errors import DependencyError

    fix = "save or print it as a new PDF without a password, and add that instead"
    try:
        opened = reader.decrypt("")
    except DependencyError as exc:  # AES without the optional 'cryptography' package
        raise DocumentError(path, "is encrypted with AES, which cannot be opened here", fix) from exc
    if opened == PasswordType.NOT_DECRYPTED:
        raise DocumentError(path, "is password-protected", fix)


def _outline(reader: PdfReader) -> list[tuple[int, str, int]]:
    """Bookmarks as (depth, title, 0-based page), in reading order; [] if none or broken."""
    items: list[tuple[int, str, int]] = []

    def walk(nodes: list[Any], depth: int) -> None:
        for node in nodes:
            if isinstance(node, list):
                walk(node, depth + 1)
                continue
            page = reader.get_destination_page_number(node)
            title = " ".join(str(node.title or "").split())
            if page is not None and page >= 0 and title:
                items.append((depth, title, page))

    try:
        walk(list(reader.outline), 1)
    except Exception:  # a damaged outline is not worth refusing the text over
        return []
    return sorted(items, key=lambda item: item[2])  # stable: same-page order kept


def _cut_at_bookmarks(
    builder: SectionBuilder, pages: list[str], items: list[tuple[int, str, int]]
) -> None:
    """Split the text at each bookmark: where its title occurs on its page,
    else at the top of its page."""
    starts, parts, offset = [], [], 0
    for text in pages:
        starts.append(offset)
        parts.append(text)
        offset += len(text) + 2
    full = "\n\n".join(parts)
    cuts: list[tuple[int, int]] = []  # (where the section starts, where its text starts)
    floor = 0
    for _, title, page in items:
        begin = max(starts[page], floor)
        end = starts[page] + len(pages[page])
        pattern = r"\s+".join(re.escape(word) for word in title.split())
        found = re.compile(pattern, re.IGNORECASE).search(full, begin, max(begin, end))
        cuts.append((found.start(), found.end()) if found else (begin, begin))
        floor = cuts[-1][1]
    preamble = full[: cuts[0][0]].strip() if cuts else full
    if preamble.startswith(builder.title):
        preamble = preamble[len(builder.title) :]
    builder.paragraph(preamble)
    for index, (depth, title, page) in enumerate(items):
        stop = cuts[index + 1][0] if index + 1 < len(cuts) else len(full)
        if depth == 1 and title.casefold() == builder.title.casefold():
            builder.start_at(page + 1)  # a bookmark repeating the title: its text is the intro
        else:
            builder.heading(depth, title, page + 1)
        builder.paragraph(full[cuts[index][1] : stop].strip())


def parse_pdf(path: Path) -> Document:
    """A PDF with a text layer. Title: the document's Title property (unless it
    is a file name), else the first line of page 1. Sections: the bookmarks,
    else one per page (anchor ``page-N``); ``line`` is the page number."""
    data = read_bytes(path)
    if b"%PDF-" not in data[:1024]:
        raise DocumentError(
            path, "is not a PDF (it does not start with %PDF-)", "export or save it as PDF again"
        )
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            _unlock(path, reader)
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
        meta_title = " ".join(str(meta.title or "").split()) if meta is not None else ""
        items = [item for item in _outline(reader) if item[2] < len(pages)]
    except DocumentError:
        raise
    except Exception as exc:  # any failure of a third-party parser on a bad file
        raise DocumentError(
            path,
            f"is not a readable PDF ({type(exc).__name__}: {exc})",
            "open it in a PDF viewer and save or print it as a new PDF",
        ) from exc
    pages = [page.strip() for page in pages]
    if not any(pages):
        raise DocumentError(
            path,
            f"has no extractable text ({len(pages)} page{'s' if len(pages) != 1 else ''})",
            "is it a scan? OCR it first (save it as a searchable PDF), or add the text as .docx or .md",
        )
    first_line = next((line.strip() for line in pages[0].splitlines() if line.strip()), "")
    if meta_title and not _MACHINE_TITLE.search(meta_title):
        title = meta_title
    elif first_line and len(first_line) <= 120:
        title = first_line
    else:
        title = title_from_stem(path)
    builder = SectionBuilder(title, h1_is_title=False)
    if items:
        _cut_at_bookmarks(builder, pages, items)
    else:
        for number, text in enumerate(pages, 1):
            builder.heading(1, f"Page {number}", number)
            builder.paragraph(text)
    return Document(id=path.stem, title=title, source=path, sections=builder.sections())


# --- Word ---------------------------------------------------------------------------


def _docx_level(paragraph: Any) -> int | None:
    """0 for the Title style, 1-9 for Heading 1-9 (or a style based on one), else None."""
    style = paragraph.style
    for _ in range(10):  # base_style chains are short; the bound guards a cycle
        if style is None:
            return None
        name = (style.name or "").strip().lower()
        if name == "title":
            return 0
        match = re.fullmatch(r"heading ([1-9])", name)
        if match:
            return int(match.group(1))
        style = style.base_style
    return None


def _docx_blocks(document: Any) -> list[tuple[int | None, str, bool]]:
    """(heading level, text, is a list item) per paragraph or table, in order.
    Tables become ``a | b`` rows; list paragraphs ``- item`` or ``1. item``
    (Word keeps list numbers out of the text)."""
    from docx.table import Table

    blocks: list[tuple[int | None, str, bool]] = []
    number = 0  # within the current run of numbered-list paragraphs
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            number = 0
            rows = []
            for row in block.rows:
                cells: list[str] = []
                for cell in row.cells:
                    text = " ".join(cell.text.split())
                    if text and (not cells or cells[-1] != text):  # merged cells repeat
                        cells.append(text)
                if cells:
                    rows.append(" | ".join(cells))
            blocks.append((None, "\n".join(rows), False))
            continue
        style = (block.style.name or "").lower() if block.style is not None else ""
        number = number + 1 if style.startswith("list number") else 0
        text = block.text.strip()
        level = _docx_level(block)
        item = bool(text) and level is None and style.startswith("list")
        if item:
            text = f"{number}. {text}" if number else f"- {text}"
        blocks.append((level, text, item))
    return blocks


def parse_docx(path: Path) -> Document:
    """A Word file: the Title-style paragraph (else the first Heading 1, the
    Title property or the file name) is the title; Heading 1-9 make the tree;
    tables are kept as ``cell | cell`` rows. ``line`` is the paragraph number.
    The Category and Keywords properties become the category and tags."""
    data = read_bytes(path)
    require_zip(path, data, ".docx", "Word")
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        blocks = _docx_blocks(document)
        props = document.core_properties
        core_title, category, keywords = props.title or "", props.category or "", props.keywords or ""
    except Exception as exc:  # any failure of a third-party parser on a bad file
        raise DocumentError(
            path,
            f"is not a readable .docx ({type(exc).__name__}: {exc})",
            "open it in Word and save it again as .docx",
        ) from exc
    title_at = next((i for i, (level, text, _) in enumerate(blocks) if level == 0 and text), None)
    if title_at is not None:
        builder = SectionBuilder(blocks[title_at][1], h1_is_title=False)
    else:
        builder = SectionBuilder(core_title.strip() or title_from_stem(path))
    for number, (level, text, item) in enumerate(blocks, 1):
        if number - 1 == title_at:
            builder.start_at(number + 1)
        elif level and text:
            builder.heading(level, text, number)
        elif item:
            builder.add(text)
        elif text:
            builder.paragraph(text)
    sections = builder.sections()
    if not sections:
        raise DocumentError(path, "has no text", "write the article into it, or remove the file")
    tags = tuple(t.strip() for t in re.split(r"[,;]", keywords) if t.strip())
    return Document(
        id=path.stem,
        title=builder.title,
        source=path,
        sections=sections,
        category=category.strip(),
        tags=tags,
    )
