"""Structure-aware chunking: each chunk is one section (or part of a long one)
with its heading path, so retrieval returns self-explaining snippets.

Why not fixed windows: a window cut across two sections mixes policies and its
citation points nowhere useful. Sections longer than ``max_words`` split at
paragraph boundaries (then sentences), never mid-sentence; the heading path is
repeated in every part. FAQ pairs are one chunk each, never split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent_assist.knowledge.documents import Document

__all__ = ["Chunk", "chunk_document"]


@dataclass(frozen=True, slots=True)
class Chunk:
    """``id`` is stable across rebuilds: ``<doc id>#<anchor>`` plus ``~n`` for parts."""

    id: str
    doc_id: str
    title: str
    heading_path: tuple[str, ...]
    anchor: str
    text: str

    @property
    def embed_text(self) -> str:
        """What the embedder sees: where the text sits, then the text."""
        return " > ".join(self.heading_path) + "\n" + self.text


def _pieces(text: str, max_words: int) -> list[str]:
    units: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        words = para.split()
        if len(words) <= max_words:
            units.append(para.strip())
        else:
            units.extend(s.strip() for s in re.split(r"(?<=[.!?])\s+", para) if s.strip())
    pieces: list[str] = []
    current: list[str] = []
    count = 0
    for unit in units:
        n = len(unit.split())
        if current and count + n > max_words:
            pieces.append("\n\n".join(current))
            current, count = [], 0
        current.append(unit)
        count += n
    if current:
        pieces.append("\n\n".join(current))
    return pieces


def chunk_document(doc: Document, max_words: int = 180) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section in doc.sections:
        parts = [section.text] if doc.kind == "faq" else _pieces(section.text, max_words)
        for index, part in enumerate(parts):
            suffix = f"~{index + 1}" if len(parts) > 1 else ""
            chunks.append(
                Chunk(
                    f"{doc.id}#{section.anchor}{suffix}",
                    doc.id,
                    doc.title,
                    section.path,
                    section.anchor,
                    part,
                )
            )
    return chunks
