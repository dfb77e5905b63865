"""The extractive fallback: when a draft fails the grounding check, show pack text instead.

Why: a small model's rejected draft still leaves the agent needing an answer,
and the retrieved snippets hold one. ``extractive_answer`` picks the best
answer sentence (and the next one when it continues the same point) from the
top snippets, by embedding similarity to the question; the caller shows it
marked as extractive ("from the pack", with its citation), never as generated.

Choice rules:

* Candidates are the sentences of the top ``top`` hits (2 by default), with list
  markers, citations and a FAQ's "A:" removed; fragments under 3 words,
  sentences over ``max_words`` and questions (a FAQ's "Q:" line) are skipped.
* Quoted agent lines are preferred: the example pack's "What to tell the
  customer" sections are lines an agent can say as they are. A sentence inside
  a quotation of 6+ words, or in a section titled "What to tell/say …", gets
  ``QUOTE_BONUS`` added to its cosine; a hit below the first loses
  ``RANK_PENALTY`` (retrieval already ranked it lower). Measured on the 54
  eval queries of the example pack (top 3 hybrid hits each): bonuses from 0.15
  to 0.3 make the same choices, 19 of them quoted lines; 0.1 loses two good
  quoted lines (E2, machine return) to procedure steps. Median 77 ms a question
  with nothing cached (one embedder call for ~15 sentences).
* The next sentence is added when it belongs to the same quotation (or its
  cosine is at least 0.8 x the best) and both fit in ``max_words``.
* Nothing is returned below ``min_similarity`` (cosine): better no answer than
  an unrelated one.

Thread rules: a pure function given a shareable embedder; any thread. Sentence
vectors share the grounding check's cache.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agent_assist.knowledge.index import Hit
from agent_assist.llm.guard.sentences import sentence_spans, strip_citations
from agent_assist.llm.guard.vectors import SentenceEncoder, cached_vectors

__all__ = ["QUOTE_BONUS", "RANK_PENALTY", "Extract", "extractive_answer"]

QUOTE_BONUS = 0.20
RANK_PENALTY = 0.05
_QUOTE = re.compile(r"[\"“]([^\"“”]+)[\"”]")
_QUOTE_CHARS = "\"'“”‘’ "
_TELL_HEADING = re.compile(r"^what to (?:tell|say)\b", re.IGNORECASE)
_FAQ_QUESTION = re.compile(r"^Q\s*[:.]\s")
_FAQ_ANSWER = re.compile(r"^A\s*[:.]\s+")


@dataclass(frozen=True, slots=True)
class Extract:
    """Pack text to show as the answer.

    ``sentence_index`` is the first sentence used, an index into
    ``sentences.split_sentences(hit.text)``; ``sentences`` is how many the text
    holds (1 or 2); ``score`` the cosine plus the quote bonus minus the rank
    penalty; ``quoted`` whether it is a line meant to be said to the customer.
    """

    text: str
    hit: Hit
    sentence_index: int
    score: float
    quoted: bool
    sentences: int = 1


@dataclass(frozen=True, slots=True)
class _Candidate:
    rank: int
    hit: Hit
    index: int
    text: str
    quote: int  # which quotation of the hit it sits in, -1 for none


def _candidates(hit: Hit, rank: int, max_words: int) -> list[_Candidate]:
    quotes = [(m.start(), m.end()) for m in _QUOTE.finditer(hit.text) if len(m.group(1).split()) >= 6]
    tell = bool(hit.heading_path) and bool(_TELL_HEADING.match(hit.heading_path[-1]))
    out = []
    for index, (start, end) in enumerate(sentence_spans(hit.text)):
        text = strip_citations(hit.text[start:end]).strip(_QUOTE_CHARS)
        if _FAQ_QUESTION.match(text):
            continue
        text = _FAQ_ANSWER.sub("", text)
        words = len(text.split())
        if words < 3 or words > max_words:
            continue
        quote = next((q for q, (s, e) in enumerate(quotes) if s <= start and end <= e + 1), -1)
        if quote < 0 and tell:
            quote = len(quotes)  # the whole section is what to say
        if quote < 0 and text.endswith("?"):
            continue  # a question in the text (a FAQ title, a heading) answers nothing
        out.append(_Candidate(rank, hit, index, text, quote))
    return out


def extractive_answer(
    question: str,
    hits: Sequence[Hit],
    embedder: SentenceEncoder,
    *,
    top: int = 2,
    max_words: int = 40,
    min_similarity: float = 0.25,
) -> Extract | None:
    """The best answer sentence(s) for ``question`` from the first ``top`` hits, or None."""
    if not question.strip():
        return None
    candidates = [c for rank, hit in enumerate(hits[:top]) for c in _candidates(hit, rank, max_words)]
    if not candidates:
        return None
    vectors = cached_vectors(embedder, [question.strip(), *(c.text for c in candidates)])
    cosines = vectors[1:] @ vectors[0]
    scores = [
        float(cos) + (QUOTE_BONUS if c.quote >= 0 else 0.0) - RANK_PENALTY * c.rank
        for c, cos in zip(candidates, cosines, strict=True)
    ]
    best = int(np.argmax(scores))
    if float(cosines[best]) < min_similarity:
        return None
    chosen = candidates[best]
    text, count = chosen.text, 1
    if best + 1 < len(candidates):
        nxt = candidates[best + 1]
        same_hit = nxt.hit is chosen.hit and nxt.index == chosen.index + 1
        related = (chosen.quote >= 0 and nxt.quote == chosen.quote) or (
            float(cosines[best + 1]) >= 0.8 * float(cosines[best])
        )
        if same_hit and related and len(text.split()) + len(nxt.text.split()) <= max_words:
            text, count = f"{text} {nxt.text}", 2
    return Extract(text, chosen.hit, chosen.index, round(scores[best], 3), chosen.quote >= 0, count)
