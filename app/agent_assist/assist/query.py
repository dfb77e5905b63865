"""What to search for: the customer's latest turn, a little context, the intent.

Why a gate on *content words*: most customer turns in a call are courtesy and
confirmation ("yeah", "okay, thanks", "yes, that is everything"). Searching
them only finds whatever chunk is least unlike "thank you", so a turn with
fewer than ``min_content_words`` words outside the stop list below is never
searched at all, whatever the context.

Why context: speech recognition cuts a turn into sentences and customers speak
in follow-ups ("So will I get the money back?", "And what should I do with the
broken one?"); alone such a sentence names no topic. The previous turns of the
call (both speakers, newest first, up to ``context_turns`` finals and
``context_words`` words) carry the topic. How the latest turn and its context
are combined is measured in ``retrieval.py``.

Pure functions and one small per-call history; no threads, no I/O.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

from agent_assist.domain import Speaker

__all__ = ["CallHistory", "Turn", "build_query", "content_words"]

# English function words, plus the courtesy and back-channel words of a call.
# Deliberately short: a word missing here only lets a turn reach the
# similarity threshold, which is the second line of defence.
_STOP_WORDS = """
    a about above after again all also am an and any are as at be because been before being
    but by can could did do does doing done for from had has have having he her here hers him
    his how i if in into is it its it's itself just me mine my myself no nor not now of off on
    once only or other our ours out over own same she should so some such than that that's the
    their them then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself i'm i've
    i'd i'll you're we're they're don't can't won't isn't wasn't didn't doesn't let let's
    get got go going gonna wanna thing things something anything everything really actually
    oh uh um er ah hmm mhm uh-huh yeah yes yep yup no nope okay ok alright right sure fine
    great good perfect lovely nice cool well hi hello hey bye goodbye thanks thank cheers please
    sorry pardon excuse moment second minute hold sec help day today morning afternoon evening
    much lot lots bit see know mean think say said tell told like
"""
_STOP = frozenset(_STOP_WORDS.split())
_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")


def content_words(text: str) -> list[str]:
    """The words of ``text`` that can carry a topic (lower-case, in order)."""
    return [w for w in _WORD.findall(text.lower().replace("\u2019", "'")) if w not in _STOP]


@dataclass(frozen=True, slots=True)
class Turn:
    """One final utterance as the retriever remembers it."""

    speaker: Speaker
    text: str


class CallHistory:
    """The last few finals of one call, newest last (both speakers).

    Thread rules: owned by the retriever's worker thread; not locked.
    """

    def __init__(self, max_turns: int = 8) -> None:
        self._turns: deque[Turn] = deque(maxlen=max(1, max_turns))

    def add(self, turn: Turn) -> None:
        self._turns.append(turn)

    def context(self, *, turns: int, words: int, skip_latest: bool = True) -> str:
        """Up to ``turns`` finals before the latest, cut to their last ``words`` words.

        Oldest first, so the text reads in call order with the newest context
        nearest the latest turn.
        """
        previous = list(self._turns)[:-1] if skip_latest else list(self._turns)
        chosen = previous[-turns:] if turns > 0 else []
        kept: list[str] = []
        budget = words
        for turn in reversed(chosen):
            if budget <= 0:
                break
            tokens = turn.text.split()
            kept.append(" ".join(tokens[-budget:]))
            budget -= len(tokens)
        return " ".join(reversed(kept))


def build_query(
    latest: str, context: str = "", intent: str | None = None, *, latest_weight: int = 1
) -> str:
    """The text searched: context, the latest turn ``latest_weight`` times, the intent.

    Repeating the latest turn weighs it above its context in the mean-pooled
    sentence embedding (measured in ``retrieval.py``). The intent label comes
    last so a reader of ``KnowledgeCards.query`` sees what the search saw.
    """
    latest, context = latest.strip(), context.strip()
    repeats = max(1, latest_weight) if context else 1  # a weight relative to the context
    parts = [context, *([latest] * repeats), (intent or "").strip()]
    return " ".join(p for p in parts if p)
