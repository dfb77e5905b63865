"""Every document of a pack folder, whatever its format.

Articles are every file under ``articles/`` (recursive, sorted), parsed by
suffix: Markdown, plain text, HTML, PDF, Word. The FAQ is ``faq.csv`` and/or
``faq.xlsx``. Hidden files and Office lock files (``~$name.docx``, left while a
file is open in Word) are not documents and are skipped. An article in a
sub-folder without a category of its own takes the folder name as category.

A file that cannot be parsed raises ``DocumentError`` (a ``PackError``, so the
CLI prints it as ``error:``/``fix:``); ``pack validate`` calls the same
parsers and lists those errors as problems instead.

Thread rules: pure functions over files; any thread.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from agent_assist.knowledge.documents import Document, DocumentError, parse_faq, parse_markdown
from agent_assist.knowledge.formats_office import parse_docx, parse_pdf
from agent_assist.knowledge.formats_sheet import parse_faq_xlsx
from agent_assist.knowledge.formats_text import parse_html, parse_text

__all__ = ["ARTICLE_PARSERS", "FAQ_FILES", "article_files", "load_documents", "parse_article"]

ARTICLE_PARSERS: dict[str, Callable[[Path], Document]] = {
    ".md": parse_markdown,
    ".txt": parse_text,
    ".html": parse_html,
    ".htm": parse_html,
    ".pdf": parse_pdf,
    ".docx": parse_docx,
}
"""Article parsers by lower-case suffix."""

FAQ_FILES: dict[str, Callable[[Path], list[Document]]] = {
    "faq.csv": parse_faq,
    "faq.xlsx": parse_faq_xlsx,
}


def article_files(root: Path) -> list[Path]:
    """Every file under ``root/articles`` that could be a document, sorted."""
    folder = root / "articles"
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and not path.name.startswith("~$")
    )


def parse_article(path: Path) -> Document:
    """One article by its suffix; ``DocumentError`` for an unsupported type."""
    parser = ARTICLE_PARSERS.get(path.suffix.lower())
    if parser is None:
        raise DocumentError(
            path,
            f"unsupported document type '{path.suffix}'",
            f"use one of {', '.join(sorted(ARTICLE_PARSERS))}",
        )
    return parser(path)


def load_documents(root: Path) -> list[Document]:
    """All articles (unsupported types skipped: validation reports them), then the FAQ."""
    docs = []
    for path in article_files(root):
        if path.suffix.lower() not in ARTICLE_PARSERS:
            continue
        doc = parse_article(path)
        if not doc.category and path.parent != root / "articles":
            doc = dataclasses.replace(doc, category=path.parent.name)
        docs.append(doc)
    for name, parse in FAQ_FILES.items():
        if (root / name).is_file():
            docs += parse(root / name)
    return docs
