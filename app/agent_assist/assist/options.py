"""The knobs of live retrieval, with the defaults measured in ``retrieval.py``."""

from __future__ import annotations

from dataclasses import dataclass

from agent_assist.domain import Speaker

__all__ = ["RetrievalOptions"]


@dataclass(frozen=True, slots=True)
class RetrievalOptions:
    """How a customer turn becomes cards (defaults: see ``retrieval.py``).

    Attributes:
        speakers: whose finals are searched. ``MIXED`` is a single-channel call,
            where every final might be the customer's.
        min_content_words: turns with fewer words outside the stop list
            ("yeah", "okay thanks") are never searched.
        context_turns / context_words: how many previous finals (either
            speaker) and at most how many of their last words go into the query.
        latest_weight: how many times the latest turn is repeated in the query,
            so mean-pooled embeddings weigh it above its context.
        candidates: hits asked of the searcher (more than ``max_cards``, since
            some drop as duplicates or already shown).
        min_similarity: a hit whose cosine to the query is lower is never shown.
        max_drop: a hit more than this below the query's best hit (shown
            before or not) is not shown: when the best answer is already on
            screen, the runners-up are usually noise.
        min_confidence: below this, nothing is emitted for the turn.
        max_cards: at most this many cards per turn.
        near_duplicate: word-set Jaccard at or above which two snippets count
            as the same text.
    """

    speakers: frozenset[Speaker] = frozenset({Speaker.CUSTOMER, Speaker.MIXED})
    min_content_words: int = 2
    context_turns: int = 1
    context_words: int = 25
    latest_weight: int = 2
    candidates: int = 8
    min_similarity: float = 0.45
    max_drop: float = 0.05
    min_confidence: float = 0.45
    max_cards: int = 3
    near_duplicate: float = 0.9
