"""Typed events the pipeline emits to subscribers (store, CLI, UI bridge).

Times named ``start``/``end`` are call time in seconds (audio position);
``emitted_at`` is the injected clock's reading when the event was made, which
the latency benchmarks compare with the audio position.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from agent_assist.domain.audio import Speaker
from agent_assist.domain.cues import (
    AudioLevel,
    CallFinished,
    ChecklistProgress,
    IntentDetected,
    ModelStatus,
    TalkStats,
)


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


@dataclass(frozen=True, slots=True)
class SentenceCheck:
    """One sentence of a generated answer as the grounding check judged it.

    ``cited`` are the snippet numbers it cites ([1] is the first snippet given
    to the model); ``score`` is the check's support score (method-specific).
    """

    text: str
    cited: tuple[int, ...]
    supported: bool
    score: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SuggestionStarted:
    """The generation worker began drafting a reply for the customer turn ``utterance_id``."""

    call_id: str
    utterance_id: str
    suggestion_id: str
    emitted_at: float = 0.0


@dataclass(frozen=True, slots=True)
class SuggestionToken:
    """The draft so far (throttled; a later one replaces it; not yet checked)."""

    call_id: str
    utterance_id: str
    suggestion_id: str
    text: str
    emitted_at: float = 0.0


@dataclass(frozen=True, slots=True)
class SuggestionReady:
    """A reply suggestion that passed the guardrails, with what it was built from.

    ``citations`` are the [n] numbers in ``text``; ``snippet_ids[n - 1]`` is the
    chunk id of snippet [n]. ``extractive``: the model's draft failed the
    grounding check and ``text`` is a sentence quoted from a snippet instead.
    ``grounded``: every sentence of ``text`` is supported by its cited snippets
    (``sentences`` says how each was judged; ``verdict`` in one line).
    ``first_token_s``/``total_s`` time the generation itself; ``latency_s``
    runs from the retriever receiving the customer's final to this event.
    """

    call_id: str
    utterance_id: str
    suggestion_id: str
    text: str
    citations: tuple[int, ...]
    snippet_ids: tuple[str, ...]
    utterance_ids: tuple[str, ...]
    extractive: bool
    grounded: bool
    verdict: str
    sentences: tuple[SentenceCheck, ...]
    model: str
    backend: str
    prompt_version: str
    first_token_s: float | None
    total_s: float
    latency_s: float
    emitted_at: float = 0.0


@dataclass(frozen=True, slots=True)
class SuggestionDropped:
    """No suggestion for this turn, and why (superseded, ungrounded, backend down, ...).

    ``suggestion_id`` is "" when the job never started generating.
    """

    call_id: str
    utterance_id: str
    suggestion_id: str
    reason: str
    emitted_at: float = 0.0


@dataclass(frozen=True, slots=True)
class CallSummaryReady:
    """The end-of-call summary, always valid against the summary schema.

    ``summary_json`` is the summary object as JSON (keys: see
    ``llm/schema.py``). ``valid``: the model's own answer passed validation;
    ``fallback``: it did not (or the backend was down) and the summary was made
    by rules from the transcript.
    """

    call_id: str
    summary_json: str
    disposition: str
    valid: bool
    fallback: bool
    model: str
    backend: str
    prompt_version: str
    total_s: float
    emitted_at: float = 0.0


@dataclass(frozen=True, slots=True)
class NoteReady:
    """A coaching note (after the call) or a transfer note (on demand) of ``kind``."""

    call_id: str
    kind: str  # "coaching" | "transfer"
    text: str
    model: str
    backend: str
    prompt_version: str
    total_s: float
    emitted_at: float = 0.0


@dataclass(frozen=True, slots=True)
class BackendStatus:
    """The text generator's state changed: "loading", "ready", "busy" or "down" (``detail``: why)."""

    state: str
    detail: str = ""
    backend: str = ""
    model: str = ""
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
    | SuggestionStarted
    | SuggestionToken
    | SuggestionReady
    | SuggestionDropped
    | CallSummaryReady
    | NoteReady
    | BackendStatus
    | AudioLevel
    | ModelStatus
    | IntentDetected
    | ChecklistProgress
    | TalkStats
    | CallFinished
)
