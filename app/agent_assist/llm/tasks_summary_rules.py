"""The summary's rule-based parts: identifiers checked against the call, and the fallback summary.

Why rules: identifiers are copied from the call, never inferred, so the call
text settles which the model may keep and which it missed; and when the model
cannot produce a valid summary (twice) or is down, a minimal one made from
the transcript alone must still validate against the schema: reason = the
customer's first turn of 4+ words, identifiers = tokens with 3+ digits (after
masking, so a card number never appears), disposition = the code whose label
and description share most words with the call (the first on a tie),
sentiment "neutral", resolution "unknown", the lists empty.

Thread rules: pure functions; any thread.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from agent_assist.domain import FinalUtterance, Speaker
from agent_assist.llm.schema import normalise, summary_schema, validate
from agent_assist.llm.tasks_context import Disposition
from agent_assist.llm.tasks_transcript import masked_texts

__all__ = [
    "checked_identifiers",
    "is_markup",
    "rule_based_summary",
    "without_empty_items",
    "without_markup",
]

_WORD = re.compile(r"[a-z]+")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_COMMON = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "to",
        "of",
        "for",
        "or",
        "in",
        "on",
        "at",
        "by",
        "with",
        "was",
        "were",
        "is",
        "are",
        "be",
        "it",
        "its",
        "this",
        "that",
        "as",
        "from",
        "their",
        "they",
        "them",
        "our",
        "your",
        "you",
        "we",
        "i",
        "he",
        "she",
        "his",
        "her",
        "any",
        "not",
        "no",
    ]
)


def _found_identifiers(texts: Sequence[str]) -> list[str]:
    """Tokens with 3+ digits (order, ticket, account numbers) in call order, once each."""
    found: list[str] = []
    for text in texts:
        for token in _TOKEN.findall(text):
            if sum(c.isdigit() for c in token) >= 3 and token not in found:
                found.append(token)
    return found


_CONTENT_FREE = frozenset(
    {"no", "none", "n/a", "na", "nothing", "no response", "not applicable", "unknown", "-", "null"}
)
LIST_FIELDS = ("key_facts", "identifiers", "actions_taken", "follow_ups")
TEXT_FIELDS = ("reason_for_contact", "resolution")


def without_empty_items(fields: dict[str, Any]) -> dict[str, Any]:
    """The summary with list items that say nothing ("No", "none", "n/a") removed.

    Why: a small model fills every list it is given; an empty list is the honest
    answer and leaves the agent's wrap-up field blank to fill, not to clean.
    """
    out = dict(fields)
    for key in LIST_FIELDS:
        items = out.get(key)
        if isinstance(items, list):
            out[key] = [i for i in items if str(i).strip(" .!").lower() not in _CONTENT_FREE]
    return out


_MASK_TAG = re.compile(r"\[[A-Z_]+\]")
_MARKUP = re.compile(
    r"[{}\[\]`\\]"  # braces, brackets, backticks, backslashes
    r"|#(?![\w-]*\d)"  # a hashtag, not "order #NW-48213"
    r"|@\w"  # a handle (emails are masked before this)
    r"|(?<!:)//"  # a comment, not a URL
    r"|\|\s*\||^\s*\|"  # table cells, not "$30 | two items"
    r"|</?[A-Za-z][^>]*>"  # tags, not "refund > $50"
    r'|"\s*[:,]\s*"|"\s*:'  # JSON leaking into a value: ", "resolution": "
)


def is_markup(text: str) -> bool:
    """Whether ``text`` carries code or template debris (``{2}``, ``] }``, ``@handle``,
    ``#tag``, backticks, leaked JSON) rather than words: masks like ``[CARD]``,
    ``#NW-4821``, URLs, "$30 | two items" and "refund > $50" are fine."""
    return bool(_MARKUP.search(_MASK_TAG.sub("", text)))


def without_markup(fields: dict[str, Any]) -> dict[str, Any]:
    """The summary with every text value that is markup debris emptied or dropped.

    Why: held to JSON by the grammar, SmolLM2 sometimes writes the JSON it
    could not write as structure into the strings instead ("{1}, {2}] }
    #Northwind...", measured in the sidebar's wrap-up). Such an item goes; a
    reason for contact that is debris leaves the reason empty, which the
    caller treats as an invalid answer (retry, then rules).
    """
    out = dict(fields)
    for key, value in fields.items():
        if isinstance(value, str) and key in TEXT_FIELDS and is_markup(value):
            out[key] = ""
        elif isinstance(value, list) and key in LIST_FIELDS:
            out[key] = [i for i in value if not is_markup(str(i))]
    return out


def checked_identifiers(
    named: list[str], transcript: Sequence[FinalUtterance], schema: dict[str, Any]
) -> list[str]:
    """The model's identifiers that occur in the call, then those it missed.

    Why: an identifier is copied, never inferred; a 135M model both invents
    them and misses the ones said, and the call text settles both.
    """
    texts = masked_texts(transcript)
    call = " ".join(texts).lower()
    kept = [i for i in named if i.lower() in call]
    seen = {i.lower() for i in kept}
    merged = kept + [i for i in _found_identifiers(texts) if i.lower() not in seen]
    result: list[str] = normalise(merged, schema["properties"]["identifiers"])
    return result


def rule_based_summary(
    transcript: Sequence[FinalUtterance],
    codes: Sequence[str],
    dispositions: Sequence[Disposition] = (),
) -> dict[str, Any]:
    """A minimal summary from the transcript alone, valid against ``summary_schema(codes)``."""
    schema = summary_schema(codes)
    texts = masked_texts(transcript)
    reason = next(
        (
            " ".join(text.split()[:30])
            for t, text in zip(transcript, texts, strict=True)
            if t.speaker != Speaker.AGENT and len(text.split()) >= 4
        ),
        "not stated",
    )
    identifiers = _found_identifiers(texts)
    words = set(_WORD.findall(" ".join(texts).lower())) - _COMMON
    enum: list[str] = schema["properties"]["disposition"]["enum"]
    described = {d.code: f"{d.label} {d.description}" for d in dispositions}
    overlap = {
        code: len(set(_WORD.findall(described.get(code, code).lower())) - _COMMON & words)
        for code in enum
    }
    disposition = max(enum, key=lambda code: overlap[code])  # first of equals
    data = normalise(
        {
            "reason_for_contact": reason,
            "key_facts": [],
            "identifiers": identifiers,
            "actions_taken": [],
            "resolution": "unknown",
            "follow_ups": [],
            "sentiment_start": "neutral",
            "sentiment_end": "neutral",
            "disposition": disposition,
        },
        schema,
    )
    problems = validate(data, schema)
    if problems:  # a bug here must not reach the store as data
        raise AssertionError(f"rule-based summary is invalid: {problems}")
    result: dict[str, Any] = data
    return result
