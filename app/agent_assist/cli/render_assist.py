"""Text of the language model's output on a terminal: suggestions, summaries, notes, backend state.

Shared by the live printer (``render.TranscriptPrinter``) and the ``ask``,
``suggest`` and ``summarize`` commands, so a suggestion or a summary reads the
same wherever it appears:

* ``  say> "Text of the reply [1]."  (grounded)`` -- or ``(extractive)`` when
  the draft failed the grounding check and a snippet sentence is quoted;
* a summary block: ``== call summary (...) ==`` then one ``  field: value``
  line per schema field (lists joined with ``; ``);
* a note block: ``== coaching note ==`` then the wrapped text;
* ``  llm> down: why`` when the model stops answering, ``  llm> ready again``
  when it comes back.

Pure functions returning strings (each ending in a newline); no I/O, any thread.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

__all__ = ["note_block", "status_line", "suggestion_line", "summary_block", "summary_how"]

_SAY, _LLM, _BOLD, _RESET = "\x1b[1;34m", "\x1b[35m", "\x1b[1m", "\x1b[0m"
WIDTH = 100
_FIELDS = (
    ("reason", "reason_for_contact"),
    ("key facts", "key_facts"),
    ("identifiers", "identifiers"),
    ("actions", "actions_taken"),
    ("resolution", "resolution"),
    ("follow-ups", "follow_ups"),
)


def _ascii(text: str) -> str:
    table = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"}
    return "".join(table.get(c, c) for c in text)


def suggestion_line(text: str, *, extractive: bool, grounded: bool, colour: bool = False) -> str:
    """``  say> "…"  (grounded|extractive|not grounded)``."""
    tag = f"{_SAY}say>{_RESET}" if colour else "say>"
    mark = "extractive" if extractive else "grounded" if grounded else "NOT grounded"
    return _ascii(f'  {tag} "{" ".join(text.split())}"  ({mark})\n')


def summary_block(data: Mapping[str, Any], *, how: str, colour: bool = False) -> str:
    """The schema's fields, one per line, under a heading that says how it was made."""
    head = f"== call summary ({how}) =="
    lines = [f"{_BOLD}{head}{_RESET}" if colour else head]
    for label, key in _FIELDS:
        value = data.get(key)
        shown = "; ".join(str(v) for v in value) if isinstance(value, list) else str(value or "")
        lines.append(_wrapped(f"{label}:", shown or "-"))
    start, end = data.get("sentiment_start", "?"), data.get("sentiment_end", "?")
    lines.append(_wrapped("sentiment:", f"{start} -> {end}"))
    lines.append(_wrapped("disposition:", str(data.get("disposition", "?"))))
    return _ascii("\n".join(lines) + "\n")


def summary_how(*, valid: bool, fallback: bool, model: str, unavailable: bool = False) -> str:
    """How a summary was made, for its heading."""
    if unavailable:
        return "rule-based fallback: the language model was unavailable"
    if fallback or not valid:
        return "rule-based fallback: no valid answer from the model"
    return f"made by {model}, schema-valid"


def note_block(kind: str, text: str, *, colour: bool = False) -> str:
    head = f"== {kind} note =="
    body = textwrap.fill(" ".join(text.split()), WIDTH, initial_indent="  ", subsequent_indent="  ")
    return _ascii(f"{_BOLD}{head}{_RESET}\n{body}\n" if colour else f"{head}\n{body}\n")


def status_line(state: str, detail: str, *, colour: bool = False) -> str:
    tag = f"{_LLM}llm>{_RESET}" if colour else "llm>"
    what = f"down: {detail}" if state == "down" else "ready again" if state == "ready" else state
    return f"  {tag} {' '.join(what.split())}\n"


def _wrapped(label: str, value: str) -> str:
    return textwrap.fill(
        " ".join(value.split()), WIDTH, initial_indent=f"  {label:<13}", subsequent_indent=" " * 15
    )
