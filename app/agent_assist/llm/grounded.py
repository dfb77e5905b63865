"""The one place the tasks call the guardrails (``llm/guard``), in the tasks' own terms.

Why an adapter: the guard package is written alongside the tasks and its
signatures may still move; every call to it goes through here, so a change is
a one-file fix. It also turns the guard's results into domain types
(``SentenceCheck``) that events and the store carry, and knowledge cards into
the ``Hit``s the extractive fallback ranks.

What the tasks use:

* ``mask``: personal data (card numbers, SSNs, emails, phone numbers) replaced
  before any text reaches a prompt, and again on the way out;
* ``check``: every sentence of an answer must be supported by the snippets it
  cites; ``Verdict.summary`` is the one-line form shown and stored;
* ``extract``: the best answer sentence of the top snippets, quoted, when a
  draft fails the check;
* ``as_data``: a snippet wrapped (``<snippet id="N">`` ... ``</snippet>``) so
  text inside a pack document reads as data, never as instructions;
  ``neutralise`` the same cleaning for call text put into a prompt;
* ``trim``: length limits (whole sentences, a word budget).

Without an embedder the check is lexical only and there is no extractive
fallback (it ranks sentences by embedding similarity): the app always passes
the knowledge embedder it already has loaded.

Thread rules: pure functions (the embedder, if given, may be shared by threads).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from agent_assist.domain import SentenceCheck
from agent_assist.knowledge.index import Hit
from agent_assist.llm.guard import fallback, grounding, injection, limits, pii, sentences
from agent_assist.llm.guard.grounding import SentenceEncoder

__all__ = [
    "Extracted",
    "SentenceEncoder",
    "Snippet",
    "Verdict",
    "as_data",
    "check",
    "cited",
    "extract",
    "mask",
    "neutralise",
    "trim",
]


class Snippet(Protocol):
    """A knowledge snippet with its citation: a ``KnowledgeCard`` or a search ``Hit``."""

    @property
    def pack(self) -> str: ...
    @property
    def chunk_id(self) -> str: ...
    @property
    def doc_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def heading_path(self) -> tuple[str, ...]: ...
    @property
    def anchor(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def similarity(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Verdict:
    """The grounding check of one answer."""

    supported: bool
    sentences: tuple[SentenceCheck, ...]
    method: str

    @property
    def summary(self) -> str:
        ok = sum(s.supported for s in self.sentences)
        return f"{ok}/{len(self.sentences)} sentences supported ({self.method})"

    @property
    def citations(self) -> tuple[int, ...]:
        return tuple(sorted({n for s in self.sentences for n in s.cited}))


@dataclass(frozen=True, slots=True)
class Extracted:
    """A sentence quoted from snippet number ``number`` (1-based, as cited)."""

    sentence: str
    number: int

    @property
    def text(self) -> str:
        return f"{self.sentence} [{self.number}]"

    def verdict(self) -> Verdict:
        """A quote is supported by the snippet it comes from, by construction."""
        check = SentenceCheck(self.text, (self.number,), True, 1.0, "quoted from the snippet")
        return Verdict(True, (check,), "extractive")


def mask(text: str) -> str:
    """``text`` with personal data masked."""
    return pii.mask_pii(text).text


def split(text: str) -> list[str]:
    return sentences.split_sentences(text)


def cited(sentence: str) -> set[int]:
    return sentences.citations(sentence)


def check(answer: str, snippets: Sequence[str], embedder: SentenceEncoder | None) -> Verdict:
    """Whether every sentence of ``answer`` is supported by the snippets it cites."""
    verdict = grounding.check_grounding(answer, snippets, embedder)
    checks = tuple(
        SentenceCheck(s.text, tuple(sorted(s.cited)), s.supported, float(s.score), s.reason)
        for s in verdict.sentences
    )
    return Verdict(bool(verdict.supported) and bool(checks), checks, verdict.method)


def extract(
    question: str, hits: Sequence[Snippet], embedder: SentenceEncoder | None
) -> Extracted | None:
    """The best answer sentence(s) for ``question`` from ``hits`` (numbered from 1), or None."""
    if embedder is None:
        return None
    as_hits = [_hit(h) for h in hits]
    found = fallback.extractive_answer(question, as_hits, embedder)
    if found is None:
        return None
    number = next(
        (i for i, h in enumerate(as_hits, 1) if h.chunk_id == found.hit.chunk_id),
        1,
    )
    return Extracted(found.text.strip(), number)


def as_data(text: str, number: int) -> str:
    return injection.as_data(text, number)


def neutralise(text: str) -> str:
    return injection.neutralise(text)


def trim(text: str, *, max_sentences: int, max_words: int, unfinished: bool = False) -> str:
    """Whole sentences of ``text`` within both limits; ``unfinished``: the generation was
    cut off, so a last sentence without closing punctuation goes."""
    return limits.trim(
        text, max_sentences=max_sentences, max_words=max_words, drop_unfinished=unfinished
    ).text


def _hit(snippet: Snippet) -> Hit:
    if isinstance(snippet, Hit):
        return snippet
    return Hit(
        pack=snippet.pack,
        chunk_id=snippet.chunk_id,
        doc_id=snippet.doc_id,
        title=snippet.title,
        heading_path=snippet.heading_path,
        anchor=snippet.anchor,
        text=snippet.text,
        score=float(getattr(snippet, "score", 0.0)),
        similarity=snippet.similarity,
    )
