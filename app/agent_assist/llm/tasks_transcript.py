"""Call text for prompts: speaker-labelled lines, personal data masked, fitted to the context.

Why a budget: SmolLM2-135M runs with a small context (2,048 tokens by
default here, to keep prompt processing within the summary's time limit on a
2-core PC) and a 10-minute call is ~1,500 words. Tokens are estimated from
characters (``CHARS_PER_TOKEN`` = 3.5, on the safe side of SmolLM2's ~4 for
English), so no tokenizer is needed off the backend.

How a long call is fitted (``fit_transcript``), in call order:

1. every line is masked, defused (a caller saying "ignore your instructions"
   is call text, not a prompt) and cut to ``LINE_WORDS`` words; one
   speaker's consecutive turns are masked as one text (``masked_texts``), so
   a card number read over two turns is masked in both lines;
2. if everything fits, everything is sent;
3. otherwise the **head** (the first lines, up to 30% of the budget: why the
   customer called) and the **tail** (the last lines, up to 45%: what was done
   and agreed) are kept, then, from the middle, the lines that carry
   **identifiers** (a number, or a masked value) and then the longest
   remaining customer lines, while they fit; each run of dropped lines
   becomes one ``[... N lines omitted ...]`` marker.

Chunked summarisation (summaries of parts, then of the summaries) would keep
more, but costs one generation per part: 3-4 times the time limit with this
model. Head + tail + identifiers keeps what the summary's fields ask for.

Thread rules: pure functions; any thread.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from agent_assist.domain import FinalUtterance, Speaker
from agent_assist.llm import grounded
from agent_assist.llm.guard import pii

__all__ = [
    "CHARS_PER_TOKEN",
    "Fitted",
    "estimate_tokens",
    "fit_transcript",
    "label",
    "masked_texts",
    "turn_lines",
]

CHARS_PER_TOKEN = 3.5
LINE_WORDS = 60
HEAD_SHARE = 0.30
TAIL_SHARE = 0.45
_IDENTIFIER = re.compile(r"\d|\[[A-Z_]+\]")

_LABELS = {Speaker.AGENT: "Agent", Speaker.CUSTOMER: "Customer", Speaker.MIXED: "Caller"}


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def label(speaker: Speaker) -> str:
    return _LABELS.get(speaker, str(speaker).capitalize())


def _cut_words(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts) if len(parts) <= words else " ".join(parts[:words]) + " ..."


def masked_texts(turns: Sequence[FinalUtterance]) -> list[str]:
    """Each turn's text with personal data masked, one speaker's consecutive turns
    searched as one text (a number read across them is masked in each)."""
    out: list[str] = []
    start = 0
    for end in range(1, len(turns) + 1):
        if end == len(turns) or turns[end].speaker != turns[start].speaker:
            out += pii.mask_parts([t.text for t in turns[start:end]])
            start = end
    return out


def turn_lines(
    turns: Sequence[FinalUtterance],
    *,
    words: int = LINE_WORDS,
    masked: Sequence[str] | None = None,
) -> list[str]:
    """``Speaker: text`` per turn: masked (``masked_texts``, or ``masked`` when the
    caller masked a longer run that these turns start), instruction-like speech
    defused, cut to ``words`` words."""
    texts = masked_texts(turns) if masked is None else list(masked)[: len(turns)]
    return [
        f"{label(t.speaker)}: {_cut_words(grounded.neutralise(text), words)}"
        for t, text in zip(turns, texts, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class Fitted:
    text: str
    kept: int  # lines kept
    total: int  # lines in the call
    strategy: str  # "full" or "head+tail+identifiers"


def fit_transcript(turns: Sequence[FinalUtterance], budget_tokens: int) -> Fitted:
    """The call as prompt text within ``budget_tokens`` (see the module doc)."""
    lines = turn_lines(turns)
    cost = [estimate_tokens(line) + 1 for line in lines]
    if sum(cost) <= budget_tokens:
        return Fitted("\n".join(lines), len(lines), len(lines), "full")
    keep: set[int] = set()
    used = 0
    for share, order in (
        (HEAD_SHARE, range(len(lines))),
        (HEAD_SHARE + TAIL_SHARE, reversed(range(len(lines)))),
    ):
        for i in order:
            if i in keep or used + cost[i] > budget_tokens * share:
                break
            keep.add(i)
            used += cost[i]
    middle = [i for i in range(len(lines)) if i not in keep]
    with_ids = [i for i in middle if _IDENTIFIER.search(lines[i].split(": ", 1)[-1])]
    longest = sorted(
        (i for i in middle if turns[i].speaker != Speaker.AGENT and i not in with_ids),
        key=lambda i: -cost[i],
    )
    picked: list[int] = []
    for i in [*with_ids, *longest]:
        if used + cost[i] <= budget_tokens:
            picked.append(i)
            used += cost[i]
    text = _render(lines, keep | set(picked))
    while picked and estimate_tokens(text) > budget_tokens:  # the omission markers cost too
        picked.pop()
        text = _render(lines, keep | set(picked))
    return Fitted(text, len(keep) + len(picked), len(lines), "head+tail+identifiers")


def _render(lines: Sequence[str], keep: set[int]) -> str:
    out: list[str] = []
    dropped = 0
    for i, line in enumerate(lines):
        if i in keep:
            if dropped:
                out.append(f"[... {dropped} lines omitted ...]")
                dropped = 0
            out.append(line)
        else:
            dropped += 1
    if dropped:
        out.append(f"[... {dropped} lines omitted ...]")
    return "\n".join(out)
