"""Mask personal data before any text reaches a prompt: cards, SSNs, emails, phones, IBANs.

Why: a customer reads a card number aloud and speech-to-text writes it down;
that line must not be sent to a model (in-process or on a shared server) nor
kept in a prompt log. ``mask_pii`` runs on every prompt input, so it is plain
compiled regular expressions, well under a millisecond for a turn.

What is masked, and how false positives are kept out:

* ``[CARD]``: 13-19 digits, in groups split by single spaces or dashes,
  passing the Luhn check (a longer run is searched for a Luhn-valid window on
  group boundaries, so "4111 1111 1111 1111 12 27" masks the card and keeps the
  expiry). Sixteen digits grouped 4-4-4-4 are masked even when Luhn fails: a
  misheard digit still leaves fifteen real ones.
* Spoken digits from speech-to-text ("four one one one …", "double five",
  mixed with digits, or digits written one by one): a run of 7+ digits is a
  card from 13 digits (no Luhn: transcripts mishear digits), an SSN at 9
  after "social security"/"SSN", otherwise a phone at 7-12.
* ``[SSN]``: 3-2-4 digits with the same dash or space separator, not an
  impossible SSN (area 000, 666 or 9xx; group 00; serial 0000); 9 bare digits
  only after "SSN"/"social security".
* ``[EMAIL]``: written addresses, and spoken ones ("jane dot doe at example
  dot com").
* ``[PHONE]``: NANP numbers ((415) 555-0134, 415.555.0134, +1 415 555 0134,
  area and exchange codes starting 2-9) and international numbers written with
  ``+`` (8-15 digits). Seven-digit local numbers are left alone: too many order
  and reference numbers look the same.
* ``[IBAN]``: country code, check digits and 11-30 letters/digits passing the
  ISO 7064 mod-97 check.

Never masked (tests hold these): order numbers such as NW4817, prices
(28.50 USD, $1,299.00), dates (2024-03-15, 03/15/2024), times (10:30),
amounts, durations, the last 4 digits of a card.

Thread rules: pure functions; any thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Masked", "PiiSpan", "luhn_ok", "mask_pii"]

PLACEHOLDERS = {
    "card": "[CARD]",
    "ssn": "[SSN]",
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "iban": "[IBAN]",
}


@dataclass(frozen=True, slots=True)
class PiiSpan:
    """One masked item: its kind, the original text, the placeholder, and where it was."""

    kind: str  # "card" | "ssn" | "email" | "phone" | "iban"
    original: str
    placeholder: str
    start: int = 0
    end: int = 0


@dataclass(frozen=True, slots=True)
class Masked:
    text: str
    found: tuple[PiiSpan, ...]


_EDGE_L = r"(?<![\w@.+/:-])"
_EDGE_R = r"(?![\w@]|[.,/:-]\d)"
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_TLD = r"(?:com|net|org|edu|gov|io|co|uk|us|ca|de|fr|info|biz|me)"
_SPOKEN_EMAIL = re.compile(
    rf"\b[a-z0-9]+(?:\s+(?:dot|underscore|dash)\s+[a-z0-9]+)*\s+at\s+[a-z0-9]+"
    rf"(?:\s+dot\s+[a-z0-9]+)*\s+dot\s+{_TLD}\b",
    re.IGNORECASE,
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
_DIGIT_RUN = re.compile(_EDGE_L + r"\d+(?:[ -]\d+)*" + _EDGE_R)
_SSN = re.compile(_EDGE_L + r"(\d{3})([- ])(\d{2})\2(\d{4})" + _EDGE_R)
_SSN_BARE = re.compile(r"(?:\bssn|social security(?: number)?)\D{0,20}?(\d{9})\b", re.IGNORECASE)
_NANP = re.compile(
    r"(?<![\w@.+/:-])(?:\+?1[ .-]?)?(?:\(([2-9]\d{2})\)|([2-9]\d{2}))[ .-]?[2-9]\d{2}[ .-]?\d{4}"
    + _EDGE_R
)
_INTL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,6}" + _EDGE_R)
_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_SPOKEN = re.compile(
    r"\b(?:(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|double|triple|\d+)"
    r"(?:[\s,-]+|$)){5,}",
    re.IGNORECASE,
)


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum every payment card number carries."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _iban_ok(text: str) -> bool:
    s = text.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _card_in(run: str, start: int) -> tuple[int, int] | None:
    """The longest window of whole groups in a digit run that is a card number."""
    groups = [(m.start(), m.end()) for m in re.finditer(r"\d+", run)]
    best: tuple[int, int] | None = None
    for i in range(len(groups)):
        digits = ""
        for j in range(i, len(groups)):
            digits += run[groups[j][0] : groups[j][1]]
            if len(digits) > 19:
                break
            four = j - i == 3 and all(e - s == 4 for s, e in groups[i : j + 1])
            if len(digits) >= 13 and (luhn_ok(digits) or four):
                span = (start + groups[i][0], start + groups[j][1])
                if best is None or span[1] - span[0] > best[1] - best[0]:
                    best = span
    return best


def _ssn_valid(area: str, group: str, serial: str) -> bool:
    return area not in {"000", "666"} and area[0] != "9" and group != "00" and serial != "0000"


def _spoken_digits(text: str) -> str | None:
    """The digits of a spoken run; None unless it has a digit word or is 7+ lone digits
    ("4 1 1 1 …", as a transcript may write a number read digit by digit)."""
    words = re.findall(r"[a-z]+|\d+", text.lower())
    lone = len(words) >= 7 and all(w.isdigit() and len(w) <= 2 for w in words)
    if not lone and not any(w in _DIGIT_WORDS for w in words):
        return None
    digits, repeat = "", 1
    for w in words:
        if w in ("double", "triple"):
            repeat = 2 if w == "double" else 3
            continue
        digits += (_DIGIT_WORDS.get(w) or w) * repeat
        repeat = 1
    return digits


def _find(text: str) -> list[tuple[int, int, str]]:
    """Candidate spans in priority order (earlier kinds win overlaps)."""
    found: list[tuple[int, int, str]] = []
    found += [(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)]
    found += [(m.start(), m.end(), "email") for m in _SPOKEN_EMAIL.finditer(text)]
    found += [(m.start(), m.end(), "iban") for m in _IBAN.finditer(text) if _iban_ok(m.group())]
    for m in _DIGIT_RUN.finditer(text):
        card = _card_in(m.group(), m.start())
        if card:
            found.append((*card, "card"))
    found += [(m.start(), m.end(), "ssn") for m in _SSN.finditer(text) if _ssn_valid(m[1], m[3], m[4])]
    for m in _SSN_BARE.finditer(text):
        if _ssn_valid(m[1][:3], m[1][3:5], m[1][5:]):
            found.append((m.start(1), m.end(1), "ssn"))
    found += [(m.start(), m.end(), "phone") for m in _NANP.finditer(text)]
    found += [
        (m.start(), m.end(), "phone")
        for m in _INTL.finditer(text)
        if 8 <= sum(c.isdigit() for c in m.group()) <= 15
    ]
    for m in _SPOKEN.finditer(text):
        span = m.group().rstrip(" ,-")
        digits = _spoken_digits(span)
        if digits is None or len(digits) < 7:
            continue
        ssn_context = re.search(r"ssn|social security", text[max(0, m.start() - 40) : m.start()], re.I)
        if len(digits) >= 13:
            kind = "card"
        elif len(digits) == 9 and ssn_context:
            kind = "ssn"
        elif len(digits) <= 12:
            kind = "phone"
        else:
            continue
        found.append((m.start(), m.start() + len(span), kind))
    return found


def mask_pii(text: str) -> Masked:
    """``text`` with personal data replaced by ``[CARD]``, ``[SSN]``, ``[EMAIL]``, ``[PHONE]``, ``[IBAN]``."""
    taken: list[tuple[int, int, str]] = []
    for start, end, kind in _find(text):
        if all(end <= s or start >= e for s, e, _ in taken):
            taken.append((start, end, kind))
    taken.sort()
    parts: list[str] = []
    spans: list[PiiSpan] = []
    pos = 0
    for start, end, kind in taken:
        parts.append(text[pos:start])
        placeholder = PLACEHOLDERS[kind]
        parts.append(placeholder)
        spans.append(PiiSpan(kind, text[start:end], placeholder, start, end))
        pos = end
    parts.append(text[pos:])
    return Masked("".join(parts), tuple(spans))
