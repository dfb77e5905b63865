"""Every document of a pack folder, whatever its format.

Thread rules: pure functions over files; any thread.
"""

from __future__ import annotations

from pathlib import Path

from agent_assist.knowledge.documents import Document, parse_faq, parse_markdown

__all__ = ["load_documents"]


def load_documents(root: Path) -> list[Document]:
    docs = [parse_markdown(p) for p in sorted((root / "articles").glob("*.md"))]
    if (root / "faq.csv").is_file():
        docs += parse_faq(root / "faq.csv")
    return docs
