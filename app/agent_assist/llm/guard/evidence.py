"""Evidence checks of the grounding gate: numbers with units, ranges, negation.

Why separate from recall: a wrong number or a flipped "not" leaves almost every
word of a sentence in place, so content-word recall and embeddings both miss
it; these checks look at the evidence sentences the claim is about.

Thread rules: pure functions; any thread.
"""

from __future__ import annotations

from agent_assist.llm.guard import lexical

__all__ = ["closest", "local", "negation_ok", "numbers_missing", "recalls"]


def numbers_missing(sentence: str, evidence: str) -> str | None:
    """The first number (with its unit) or range of ``sentence`` not found in ``evidence``."""
    have: dict[str, set[str | None]] = {}
    for number, unit in lexical.quantities(evidence, snippet_side=True):
        have.setdefault(number, set()).add(unit)
    for number, unit in sorted(lexical.quantities(sentence), key=str):
        units = have.get(number)
        if units is None:
            return f"{number} {unit or ''}".strip()
        if unit is None or unit in units or units == {None}:
            continue
        if not any(u and (u.startswith(unit) or unit.startswith(u)) for u in units):
            return f"{number} {unit}"
    spans = lexical.ranges(evidence)
    for low, high in sorted(lexical.ranges(sentence)):
        if (low, high) not in spans:
            return f"{low} to {high}"
    return None


def recalls(words: list[str], sentences: list[str]) -> list[float]:
    """Content-word recall of ``words`` against each evidence sentence."""
    return [lexical.recall(words, set(lexical.content_words(e))) for e in sentences]


def local(scores: list[float], sentences: list[str]) -> list[str]:
    """The evidence sentences about the same thing: content-word recall >= 0.7 x the
    best, and the sentence either side of each ("Send the item by express post. It
    arrives in 2 to 4 business days.").

    Numbers are looked up only there, so "the rinse takes 20 minutes" fails
    when 20 minutes is the main cycle two steps earlier. With no sentence
    sharing a third of the words, all of the evidence counts (recall decides).
    """
    best = max(scores, default=0.0)
    if best < 0.34:
        return sentences
    near = {j for i, score in enumerate(scores) if score >= best * 0.7 for j in (i - 1, i, i + 1)}
    return [e for j, e in enumerate(sentences) if j in near]


def closest(scores: list[float], sentences: list[str]) -> list[str]:
    """Evidence sentences with content-word recall >= 0.8 x the best (none below 0.34)."""
    best = max(scores, default=0.0)
    return [
        e for e, score in zip(sentences, scores, strict=True) if best >= 0.34 and score >= best * 0.8
    ]


def negation_ok(sentence: str, best: list[str], evidence_sentences: list[str]) -> bool:
    """False when the sentence's polarity differs from every local evidence sentence, or
    when an evidence sentence of the other polarity says nothing the sentence does not
    ("Never refund both." against "we refund both charges")."""
    words = set(lexical.content_words(sentence))
    if not words or not evidence_sentences:
        return True
    polarity = lexical.negated(sentence)
    if best and all(lexical.negated(e) != polarity for e in best):
        return False
    for other in evidence_sentences:
        if lexical.negated(other) == polarity:
            continue
        theirs = set(lexical.content_words(other))
        if len(theirs) >= 2 and lexical.recall(theirs, words) == 1.0:
            return False
    return True
