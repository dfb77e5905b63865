"""The vocabulary every room speaks: speakers, audio chunks, words and events.

Frozen dataclasses only; this package imports nothing of ours, so any room may
depend on it.
"""

from agent_assist.domain.audio import SAMPLE_RATE, AudioChunk, Speaker
from agent_assist.domain.events import (
    CallEnded,
    CallStarted,
    DeviceState,
    DeviceStatus,
    Event,
    FinalUtterance,
    KnowledgeCard,
    KnowledgeCards,
    PartialText,
    PipelineError,
    Silence,
    Word,
)

__all__ = [
    "SAMPLE_RATE",
    "AudioChunk",
    "CallEnded",
    "CallStarted",
    "DeviceState",
    "DeviceStatus",
    "Event",
    "FinalUtterance",
    "KnowledgeCard",
    "KnowledgeCards",
    "PartialText",
    "PipelineError",
    "Silence",
    "Speaker",
    "Word",
]
