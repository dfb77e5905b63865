"""Normalised words for matching checklist evidence in what the agent said.

Why: speech recognition writes "three to five days" where the pack says
"3 to 5 business days", "email to confirm it" where it says "confirmation
email", and never the pack's punctuation. So both sides become the same kind
of token list: lower case, punctuation dropped (apostrophes closed up: "you'd"
-> "youd"), number words as digits ("thirty nine" -> "39"), and a light suffix
stem ("confirmation", "confirmed" -> "confirm"). ``contains_phrase`` then looks
for a phrase's tokens close together in any order, one missing word allowed in
a phrase of four or more.

Thread rules: pure functions; call from any thread.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

__all__ = ["contains_phrase", "sentences", "tokens"]

_UNITS = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE = re.compile(r"(?<=[.!?;])\s+")
# longest first, with the letters the stem must keep ("days" -> "day", "codes" -> "code")
_SUFFIXES = (
    ("ations", 4),
    ("ation", 4),
    ("ings", 4),
    ("ing", 4),
    ("ed", 4),
    ("es", 4),
    ("s", 3),
    ("e", 4),
)


def _stem(word: str) -> str:
    if word.isdigit() or word.endswith("ss"):
        return word
    for suffix, keep in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= keep:
            return word[: -len(suffix)]
    return word


def _numbers(words: list[str]) -> list[str]:
    """Spelt numbers below a thousand as digits: "thirty nine" -> "39", "a hundred" stays."""
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w in _TENS:
            value = _TENS[w]
            if i + 1 < len(words) and words[i + 1] in _UNITS and 0 < _UNITS[words[i + 1]] < 10:
                value += _UNITS[words[i + 1]]
                i += 1
            out.append(str(value))
        elif w in _UNITS and w != "oh":
            value = _UNITS[w]
            if i + 1 < len(words) and words[i + 1] == "hundred":
                value *= 100
                i += 1
            out.append(str(value))
        else:
            out.append(w)
        i += 1
    return out


def tokens(text: str) -> list[str]:
    """Lower-cased, punctuation-free, number-normalised, stemmed words of ``text``."""
    text = text.lower().replace("'", "").replace("’", "")
    return [_stem(w) for w in _numbers(_WORD.findall(text))]


def sentences(text: str) -> list[str]:
    """``text`` split after ``.``, ``!``, ``?`` and ``;`` (blank parts dropped)."""
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def contains_phrase(words: Sequence[str], phrase: Sequence[str], slack: int = 2) -> bool:
    """Whether ``phrase`` (tokens) occurs in ``words`` (tokens) with a little slack.

    Every token of the phrase must lie in one window of ``len(phrase) + slack``
    words, in any order; a phrase of four or more tokens may miss one word
    between its first and last ("3 to 5 business days" is found in "3 to 5
    days", but "in a few days" is not in "in a few minutes").
    """
    if not phrase:
        return False
    if len(phrase) == 1:
        return phrase[0] in words
    need = Counter(phrase)
    ends = {phrase[0], phrase[-1]}
    missing = 1 if len(phrase) >= 4 else 0
    width = len(phrase) + slack
    for start in range(len(words)):
        if words[start] not in need:
            continue  # a window that starts on a phrase word is enough
        window = Counter(words[start : start + width])
        if any(window[w] == 0 for w in ends):
            continue
        found = sum(min(count, window[w]) for w, count in need.items())
        if found >= len(phrase) - missing:
            return True
    return False
