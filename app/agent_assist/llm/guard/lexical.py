"""The word-level facts the grounding check compares: content words, quantities, negation.

Why hand-rolled: the checks run on every draft sentence against a few snippets
of a few hundred words, so they must be fast and predictable, and the
project ships no NLP toolkit. A light stemmer plus prefix matching
("cancel"/"cancellation") is enough for recall of content words; what matters
more is that numbers are compared exactly and with their unit ("3 to 5 business
days" is not "3 to 5 weeks"), and that "not"/"never"/"can't" are noticed.

Normalisation shared by both sides: curly quotes, contractions ("can't" ->
"can not"), ``$39``/``39 dollars`` -> ``39 usd``, ``10%`` -> ``10 percent``,
"working days" -> "business days", number words -> digits ("two" -> 2; "one"
counts only on the snippet side, as it is usually a pronoun), ``30-day`` ->
``30 day``, "half an hour"/"an hour" -> "30/60 minutes", and "at no
cost"/"free of charge"/"no charge" -> "free" (so that "free" vs "no extra
cost" is not a negation flip).

Thread rules: pure functions on strings (two memoised with ``functools.lru_cache``,
which is thread-safe); any thread.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

__all__ = [
    "NEGATIONS",
    "Quantity",
    "Range",
    "content_words",
    "is_courtesy",
    "negated",
    "normalise",
    "quantities",
    "ranges",
    "recall",
    "stem",
    "tokens",
]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


Quantity = tuple[str, str | None]  # (number, unit stem or None)
Range = tuple[str, str]  # "3 to 5" -> ("3", "5")

_UNITS_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13",
    "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18",
    "nineteen": "19", "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50",
    "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90", "hundred": "100",
}  # fmt: skip
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_UNITS_WORDS) + r")\b")
_NUMBER = re.compile(r"^\d+(?:[.:]\d+)?$")
_TOKEN = re.compile(r"\d+(?:[.:]\d+)?|[a-z0-9]+")

NEGATIONS = _words("not no never none nothing nobody neither nor unable excluding except")
_STOP = _words("""a an the and or but if then so as at by for from in into of on onto to with within
    up down out over under about after before during until than too very can could will would
    shall should may might must do does did done doing be is are was were been being am have has
    had having i me my mine we us our ours you your yours he him his she her it its they them their
    this that these those there here what which who whom whose when where why how all any
    each few more most other some such own just also again once further per via
    let lets get gets got s t d ll re ve m o okay ok yes please now today right one""")
_COURTESY = _words("""sorry apology apologis apologiz happy glad help helping assist thank thanks welcome understand
    appreciate patience inconvenience trouble frustrat frustrating hear pleasure anything else
    day great wonderful nice certain certainly absolute absolutely course problem worry worri
    moment hold bear question call calling contact contacting hello hi good morning afternoon
    evening bye goodbye sure check look see know wait minute second fine thing hope lovely
    reach out completely totally really truly definitely feel imagine""")
_FILLERS = _words("to or and business calendar working more extra full a an per up")
_IRREGULAR = {
    "sent": "send", "paid": "pay", "took": "take", "taken": "take", "went": "go", "gone": "go",
    "bought": "buy", "gave": "give", "given": "give", "kept": "keep", "made": "make",
    "came": "come", "got": "get", "gotten": "get", "left": "leave", "told": "tell",
    "dollar": "usd", "dollars": "usd", "bucks": "usd", "percent": "percent", "liter": "litre",
    "liters": "litre", "litres": "litre", "package": "parcel", "packages": "parcel",
    "money": "refund", "reimburs": "refund",
}  # fmt: skip
_FREE = re.compile(
    r"\b(?:at |for )?no (?:extra |additional )?(?:cost|charge)\b|\bfree of charge\b|\bfor free\b"
)
_CONTRACTIONS = (
    (re.compile(r"\bcan't\b|\bcannot\b"), "can not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bshan't\b"), "shall not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'(?:s|re|ve|ll|d|m)\b"), ""),
)


def normalise(text: str, *, one_is_number: bool = False) -> str:
    """Lower-case text with the shared normalisations of the module doc applied.

    "one" becomes 1 only with ``one_is_number`` (the snippet side).
    """
    t = text.lower().replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    for pattern, repl in _CONTRACTIONS:
        t = pattern.sub(repl, t)
    t = re.sub(r"\bworking days?\b", "business days", t)
    t = re.sub(r"\bhalf an hour\b", "30 minutes", t)
    t = re.sub(r"\b(?:an|one|1) hour\b", "60 minutes", t)
    t = _FREE.sub(" free ", t)
    t = re.sub(r"\$\s?(\d[\d,]*(?:\.\d+)?)", r"\1 usd", t)
    t = re.sub(r"(\d)\s?%", r"\1 percent", t)
    t = re.sub(r"(\d),(\d{3})\b", r"\1\2", t)
    t = re.sub(r"(\d)(?:st|nd|rd|th)\b", r"\1", t)
    t = re.sub(r"(\d)-(?=[a-z])", r"\1 ", t)
    t = _NUMBER_WORD.sub(
        lambda m: m.group(1) if m.group(1) == "one" and not one_is_number else _UNITS_WORDS[m.group(1)],
        t,
    )
    return re.sub(r"\b([2-9]0) ([1-9])\b", lambda m: str(int(m.group(1)) + int(m.group(2))), t)


def _number(token: str) -> str:
    if "." in token:
        token = token.rstrip("0").rstrip(".")
    return token.lstrip("0") or "0" if ":" not in token else token


def tokens(text: str, *, one_is_number: bool = False) -> list[str]:
    """Normalised tokens; numbers canonical ("28.50" -> "28.5")."""
    normal = normalise(text, one_is_number=one_is_number)
    return [_number(t) if _NUMBER.match(t) else t for t in _TOKEN.findall(normal)]


def stem(word: str) -> str:
    """A light suffix stemmer: plurals, -ing, -ed, -ly, final -e; good enough with prefix matching."""
    w = _IRREGULAR.get(word, word)
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith(("sses", "xes", "ches", "shes")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix, keep in (("ing", 3), ("ed", 3), ("ly", 5)):
        if w.endswith(suffix) and len(w) - len(suffix) >= keep:
            w = w[: -len(suffix)]
            if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]
            break
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    return _IRREGULAR.get(w, w)


def content_words(text: str) -> list[str]:
    """Stemmed content words: no stop words, numbers or negation words."""
    return list(_content_words(text))


@functools.lru_cache(maxsize=8192)  # snippet sentences are compared with every draft sentence
def _content_words(text: str) -> tuple[str, ...]:
    return tuple(
        stem(t)
        for t in tokens(text)
        if t not in _STOP and t not in NEGATIONS and not t[0].isdigit() and len(t) > 1
    )


def _matches(word: str, vocabulary: set[str]) -> bool:
    if word in vocabulary:
        return True
    if len(word) < 4:
        return False
    return any(
        len(v) >= 4 and (v.startswith(word) or word.startswith(v)) for v in vocabulary if v[0] == word[0]
    )


def recall(words: Iterable[str], vocabulary: set[str]) -> float:
    """Share of ``words`` found in ``vocabulary`` (exactly, or one a prefix of the other)."""
    items = list(words)
    if not items:
        return 1.0
    return sum(_matches(w, vocabulary) for w in items) / len(items)


def quantities(text: str, *, snippet_side: bool = False) -> set[Quantity]:
    """Numbers with the unit that follows them ("3 to 5 business days" -> (3, day), (5, day)).

    The unit is the first content word after the number, skipping connectors and
    other numbers; a stop word before any content word means no unit. On the
    snippet side the word "one" also counts as 1.
    """
    toks = tokens(text, one_is_number=snippet_side)
    found: set[Quantity] = set()
    for i, tok in enumerate(toks):
        if not tok[0].isdigit():
            continue
        unit: str | None = None
        for nxt in toks[i + 1 : i + 5]:
            if nxt[0].isdigit() or nxt in _FILLERS:
                continue
            if nxt not in _STOP and nxt not in NEGATIONS:
                unit = stem(nxt)
            break
        found.add((tok, unit))
    return found


_RANGE = re.compile(r"\b(\d+(?:\.\d+)?) ?(?:to|-|–|and) ?(\d+(?:\.\d+)?)\b")


def ranges(text: str) -> set[Range]:
    """Number ranges ("3 to 5", "3-5", "between 3 and 5", "from 49 to 39"), canonical numbers."""
    return {(_number(a), _number(b)) for a, b in _RANGE.findall(normalise(text, one_is_number=True))}


@functools.lru_cache(maxsize=8192)
def negated(text: str) -> bool:
    """Whether ``text`` says "not"/"no"/"never"/"can't"… (after the "free" normalisation)."""
    return any(t in NEGATIONS for t in tokens(text))


def is_courtesy(text: str) -> bool:
    """True when ``text`` makes no factual claim: only courtesy words, no number, no negation.

    "I'm sorry for the trouble." and "Is there anything else I can help with?" are
    courtesy; "Sorry, the fee is waived." is not.
    """
    toks = tokens(text)
    if not toks or any(t[0].isdigit() or t in NEGATIONS for t in toks):
        return False
    return all(t in _COURTESY or stem(t) in _COURTESY for t in toks if t not in _STOP)
