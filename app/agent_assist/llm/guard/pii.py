"""Mask personal data before any text reaches a prompt: cards, SSNs, emails, phones, IBANs.

Why: a customer reads a card number aloud and speech-to-text writes it down;
that line must not be sent to a model (in-process or on a shared server) nor
kept in a prompt log. ``mask_pii`` runs on every prompt input, so it is plain
compiled regular expressions, well under a millisecond for a turn.

What is masked, and how false positives are kept out:

* ``[CARD]``: any run of 13-19 digits, written whole or in groups split by a
  space, a dash (spaces around it allowed) or, for 4-digit groups, a comma
  ("4111, 1111, ..." as speech-to-text writes pauses), whether or not it
  passes the Luhn check: a misheard card number is still a card number. A
  longer run is searched for a Luhn-valid (or 4-4-4-4) window on group
  boundaries, so "4111 1111 1111 1111 12 27" masks the card and keeps the
  expiry.
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
amounts, durations, the last 4 digits of a card. (A bare 13-19 digit number,
an invoice number say, *is* masked: it cannot be told from a card.)

Formatting does not defeat the masks: the text is searched in a normalised
copy -- Unicode digits (fullwidth ``４``, Arabic-Indic ...) as ASCII digits,
fullwidth letters and ``＠`` as ASCII, every kind of space (NBSP, thin, tabs,
newlines; runs collapsed) as one space, every dash and minus as ``-``,
zero-width characters and soft hyphens dropped -- and what is found there is
cut out of the original text, which is otherwise returned unchanged. Spoken
digits may be split by "dash"/"hyphen".

Split numbers: a customer may read a card over two turns. ``mask_parts``
masks consecutive texts (one speaker's consecutive turns) as one text and
hands each part back with its share of a number masked; punctuation between a
number's halves (the full stop speech-to-text ends a turn with) is ignored.

Thread rules: pure functions; any thread.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Masked", "PiiSpan", "luhn_ok", "mask_parts", "mask_pii"]

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
_DIGIT_RUN = re.compile(_EDGE_L + r"\d+(?:(?: ?- ?| |, )\d+)*" + _EDGE_R)
_YEAR = re.compile(r"(?:19|20)\d\d")
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
    r"\b(?:(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|double|triple|dash|hyphen|\d+)"
    r"(?:[\s,-]+|(?=[.!?;:]|$))){5,}",
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


def _card_window(run: str, start: int) -> tuple[int, int] | None:
    """Where a run of digit groups (no commas) holds a card number, or None.

    13-19 digits: the whole run (Luhn or not: a misheard card is still a card).
    More: the window of whole groups that is most card-like (Luhn-valid, else
    four groups of four, else the longest and earliest of 13-19 digits), so an
    expiry or a reference read after the card is kept; no such window: the run.
    """
    groups = [(m.start(), m.end()) for m in re.finditer(r"\d+", run)]
    total = sum(e - s for s, e in groups)
    if total < 13:
        return None
    if total <= 19:
        return start + groups[0][0], start + groups[-1][1]
    best: tuple[tuple[int, int, int], tuple[int, int]] | None = None
    for i in range(len(groups)):
        digits = ""
        for j in range(i, len(groups)):
            digits += run[groups[j][0] : groups[j][1]]
            if len(digits) > 19:
                break
            if len(digits) < 13:
                continue
            four = j - i == 3 and all(e - s == 4 for s, e in groups[i : j + 1])
            score = (2 if luhn_ok(digits) else 1 if four else 0, len(digits), -i)
            if best is None or score > best[0]:
                best = (score, (start + groups[i][0], start + groups[j][1]))
    return best[1] if best else (start + groups[0][0], start + groups[-1][1])


def _cards_in(run: str, start: int) -> list[tuple[int, int]]:
    """Card spans in one digit run. Commas split it, unless every group but the last is
    four digits ("4111, 1111, 1111, 1111": a number read with pauses) and they are not
    a list of years."""
    if ", " in run:
        sizes = [len(g) for g in re.findall(r"\d+", run)]
        read_in_fours = all(n == 4 for n in sizes[:-1]) and sizes[-1] <= 4
        if not read_in_fours or all(_YEAR.fullmatch(g) for g in re.findall(r"\d+", run)):
            spans: list[tuple[int, int]] = []
            pos = 0
            for piece in run.split(", "):
                found = _card_window(piece, start + pos)
                if found:
                    spans.append(found)
                pos += len(piece) + 2
            return spans
    found = _card_window(run, start)
    return [found] if found else []


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
        if w in ("dash", "hyphen"):
            continue
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
    found += [
        (m.start(), m.end(), "phone")
        for m in _INTL.finditer(text)
        if 8 <= sum(c.isdigit() for c in m.group()) <= 15
    ]
    for m in _DIGIT_RUN.finditer(text):  # after "+" phones: "+49 30 12345678 901" is one
        found += [(*card, "card") for card in _cards_in(m.group(), m.start())]
    found += [(m.start(), m.end(), "ssn") for m in _SSN.finditer(text) if _ssn_valid(m[1], m[3], m[4])]
    for m in _SSN_BARE.finditer(text):
        if _ssn_valid(m[1][:3], m[1][3:5], m[1][5:]):
            found.append((m.start(1), m.end(1), "ssn"))
    found += [(m.start(), m.end(), "phone") for m in _NANP.finditer(text)]
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


_SPACES_OUT = re.compile(r"\s\s|[^\S ]")
_DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58\ufe63\uff0d")
_INVISIBLE = frozenset("\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff")


def _normalise(text: str) -> tuple[str, list[int] | None]:
    """The text the patterns search (see the module doc) and, per character of it, its
    index in ``text`` (None: the same text)."""
    if text.isascii() and not _SPACES_OUT.search(text):
        return text, None
    out: list[str] = []
    src: list[int] = []
    for i, ch in enumerate(text):
        if ch in _INVISIBLE:
            continue
        if ch.isspace():
            if out and out[-1] == " ":
                continue
            norm = " "
        elif ch.isascii():
            norm = ch
        elif ch in _DASHES:
            norm = "-"
        elif "\uff01" <= ch <= "\uff5e":  # fullwidth ASCII
            norm = chr(ord(ch) - 0xFEE0)
        elif (digit := unicodedata.decimal(ch, None)) is not None:
            norm = str(digit)
        else:
            norm = ch
        out.append(norm)
        src.append(i)
    return "".join(out), src


def _taken(text: str) -> list[tuple[int, int, str]]:
    """The spans to mask in ``text`` (its own indices), in order, not overlapping."""
    norm, src = _normalise(text)
    taken: list[tuple[int, int, str]] = []
    for start, end, kind in _find(norm):
        if all(end <= s or start >= e for s, e, _ in taken):
            taken.append((start, end, kind))
    if src is not None:
        taken = [(src[start], src[end - 1] + 1, kind) for start, end, kind in taken]
    return sorted(taken)


def mask_pii(text: str) -> Masked:
    """``text`` with personal data replaced by ``[CARD]``, ``[SSN]``, ``[EMAIL]``, ``[PHONE]``, ``[IBAN]``."""
    parts: list[str] = []
    spans: list[PiiSpan] = []
    pos = 0
    for start, end, kind in _taken(text):
        parts.append(text[pos:start])
        placeholder = PLACEHOLDERS[kind]
        parts.append(placeholder)
        spans.append(PiiSpan(kind, text[start:end], placeholder, start, end))
        pos = end
    parts.append(text[pos:])
    return Masked("".join(parts), tuple(spans))


_WORD_DIGIT = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)"
_NUMBER_END = re.compile(rf"(?:\d|\b{_WORD_DIGIT})([.,;:!?\u2026]+)\s*$", re.IGNORECASE)
_NUMBER_START = re.compile(rf"\s*(?:\d|(?:{_WORD_DIGIT}|double|triple)\b)", re.IGNORECASE)


def mask_parts(parts: Sequence[str]) -> list[str]:
    """Each of ``parts`` masked, the parts searched as one text (joined by spaces).

    For one speaker's consecutive turns: a number read across two turns ("my
    card is 4111 1111" + "1111 1111") is masked in both, each part showing the
    placeholder where its share was. A full stop or comma ending a part between
    two halves of a number is not let to split it.
    """
    chars: list[str] = []
    owner: list[tuple[int, int]] = []  # (part, index in it) per joined character; -1: a joining space
    for p, part in enumerate(parts):
        keep = len(part)
        end = _NUMBER_END.search(part)
        if end and p + 1 < len(parts) and _NUMBER_START.match(parts[p + 1]):
            keep = end.start(1)
        if p:
            chars.append(" ")
            owner.append((-1, -1))
        chars.extend(part[:keep])
        owner.extend((p, i) for i in range(keep))
    cuts: list[list[tuple[int, int, str]]] = [[] for _ in parts]
    for start, stop, kind in _taken("".join(chars)):
        where: dict[int, list[int]] = {}
        for p, i in owner[start:stop]:
            if p >= 0:
                where.setdefault(p, []).append(i)
        for p, idx in where.items():
            cuts[p].append((min(idx), max(idx) + 1, PLACEHOLDERS[kind]))
    masked: list[str] = []
    for part, part_cuts in zip(parts, cuts, strict=True):
        out, pos = [], 0
        for start, stop, placeholder in part_cuts:
            out += [part[pos:start], placeholder]
            pos = stop
        masked.append("".join(out) + part[pos:])
    return masked
