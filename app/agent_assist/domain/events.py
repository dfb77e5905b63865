"""Typed events the pipeline emits to subscribers (store, CLI, UI bridge).

Times named ``start``/``end`` are call time in seconds (audio position);
``emitted_at`` is the injected clock's reading when the event was made, which
the latency benchmarks compare with the audio position.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from agent_assist.domain.audio import Speaker


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word with call-time bounds and probability."""

    text: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True, slots=True)
class CallStarted:
    call_id: str
    source: str
    speakers: tuple[Speaker, ...]
    emitted_at: float = 0.0


@dataclass(frozen=True, slots=True)
class CallEnded:
    call_id: str
    duration: float
    reason: str = "completed"
    emitted_at: float = 0.0


@dataclass(frozen=True, slots=True)
class PartialText:
    """Tentative text of the utterance in progress; a later one replaces it."""

    call_id: str
    utterance_id: str
    speaker: Speaker
    start: float
    end: float
    text: str
    emitted_at: float = 0.0


@dataclass(frozen=True, slots=True)
class FinalUtterance:
    """Committed text of one utterance; never changes once emitted."""

    call_id: str
    utterance_id: str
    speaker: Speaker
    start: float
    end: float
    text: str
    confidence: float
    words: tuple[Word, ...] = field(default_factory=tuple)
    emitted_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Silence:
    """Nobody on ``speaker``'s channel has spoken since ``since`` (call time)."""

    call_id: str
    speaker: Speaker
    since: float
    duration: float
    emitted_at: float = 0.0


class DeviceState(enum.StrEnum):
    OPEN = "open"
    LOST = "lost"
    REOPENED = "reopened"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    call_id: str
    speaker: Speaker
    device: str
    state: DeviceState
    detail: str = ""
    emitted_at: float = 0.0


@dataclass(frozen=True, slots=True)
class PipelineError:
    """A stage failed; ``fatal`` means the call cannot go on."""

    call_id: str
    stage: str
    message: str
    fatal: bool = False
    emitted_at: float = 0.0


@dataclass(frozen=True, slots=True)
class KnowledgeCard:
    """One knowledge-pack snippet shown to the agent, with its citation.

    ``similarity`` is the cosine of the query to the snippet (what thresholds
    compare); ``score`` is the search's own ranking score (hybrid RRF).
    """

    pack: str
    chunk_id: str
    doc_id: str
    title: str
    heading_path: tuple[str, ...]
    anchor: str
    text: str
    similarity: float
    score: float = 0.0


@dataclass(frozen=True, slots=True)
class KnowledgeCards:
    """Snippets retrieved for the customer's turn ``utterance_id``.

    Emitted only when ``confidence`` reached the retriever's threshold, so an
    empty moment of the call shows nothing rather than noise. ``latency_s`` runs
    from the retriever receiving the final to these cards (queue wait + search).
    Cards come from the retriever's own thread, so those of a call's last turn
    may follow its ``CallEnded``.
    """

    call_id: str
    utterance_id: str
    query: str
    cards: tuple[KnowledgeCard, ...]
    confidence: float
    latency_s: float = 0.0
    emitted_at: float = 0.0


Event = (
    CallStarted
    | CallEnded
    | PartialText
    | FinalUtterance
    | Silence
    | DeviceStatus
    | PipelineError
    | KnowledgeCards
)
