"""Length limits for a suggestion: whole sentences, a word budget, no half sentence at the end.

Why: an agent reads a suggestion while the customer talks, so it must be short
(the reply task asks for one or two sentences; a small model often writes
more), and a generation cut by ``max_tokens`` ends mid-sentence. Trimming keeps
whole sentences; citations ride with their sentence and do not count as words.
Only when the first sentence alone is over the budget is it cut, at the last
comma, semicolon or dash that fits, else at a word, with "…".

Thread rules: pure functions; any thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent_assist.llm.guard.sentences import split_sentences, strip_citations

__all__ = ["Trimmed", "trim", "word_count"]

_ENDS = re.compile(r"(?:[.!?…][\"'”’)\]]*|\])\s*$")


@dataclass(frozen=True, slots=True)
class Trimmed:
    text: str
    cut: bool  # True when anything was dropped


def word_count(text: str) -> int:
    """Words, not counting citations like ``[1]``."""
    return len(strip_citations(text).split())


def trim(
    text: str, *, max_sentences: int = 2, max_words: int = 40, drop_unfinished: bool = False
) -> Trimmed:
    """At most ``max_sentences`` whole sentences and ``max_words`` words of ``text``.

    ``drop_unfinished`` drops a last sentence with no closing punctuation (pass
    it when the generation ended on ``finish="length"``), unless it is the only one.
    """
    sentences = total = split_sentences(text)
    if drop_unfinished and len(sentences) > 1 and not _ENDS.search(sentences[-1]):
        sentences = sentences[:-1]
    kept: list[str] = []
    words = 0
    for sentence in sentences[:max_sentences]:
        n = word_count(sentence)
        if kept and words + n > max_words:
            break
        kept.append(sentence)
        words += n
    if not kept:
        return Trimmed("", bool(text.strip()))
    if words > max_words:  # one sentence, too long on its own
        return Trimmed(_cut(kept[0], max_words), True)
    return Trimmed(" ".join(kept), len(kept) < len(total))


def _cut(sentence: str, max_words: int) -> str:
    tokens = sentence.split()
    head = " ".join(tokens[:max_words])
    clause = max(head.rfind(","), head.rfind(";"), head.rfind(" -"), head.rfind("—"))
    if clause > len(head) // 2:
        return head[:clause].rstrip(" ,;-—") + "…"
    return head.rstrip(" ,;:-—") + "…"
