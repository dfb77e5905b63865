"""The vocabulary every room speaks: speakers, audio chunks, words and events.

Frozen dataclasses only; this package imports nothing of ours, so any room may
depend on it.
"""

from agent_assist.domain.audio import SAMPLE_RATE, AudioChunk, Speaker
from agent_assist.domain.cues import (
    AudioLevel,
    CallFinished,
    ChecklistProgress,
    ChecklistStep,
    IntentDetected,
    ModelStatus,
    TalkStats,
)
from agent_assist.domain.events import (
    BackendStatus,
    CallEnded,
    CallStarted,
    CallSummaryReady,
    DeviceState,
    DeviceStatus,
    Event,
    FinalUtterance,
    KnowledgeCard,
    KnowledgeCards,
    NoteReady,
    PartialText,
    PipelineError,
    SentenceCheck,
    Silence,
    SuggestionDropped,
    SuggestionReady,
    SuggestionStarted,
    SuggestionToken,
    Word,
)

__all__ = [
    "SAMPLE_RATE",
    "AudioChunk",
    "AudioLevel",
    "BackendStatus",
    "CallEnded",
    "CallFinished",
    "CallStarted",
    "CallSummaryReady",
    "ChecklistProgress",
    "ChecklistStep",
    "DeviceState",
    "DeviceStatus",
    "Event",
    "FinalUtterance",
    "IntentDetected",
    "KnowledgeCard",
    "KnowledgeCards",
    "ModelStatus",
    "NoteReady",
    "PartialText",
    "PipelineError",
    "SentenceCheck",
    "Silence",
    "Speaker",
    "SuggestionDropped",
    "SuggestionReady",
    "SuggestionStarted",
    "SuggestionToken",
    "TalkStats",
    "Word",
]
