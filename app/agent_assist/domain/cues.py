"""Events about the call's state rather than its words: levels, models, intent, checklist, talk time.

They feed the sidebar's call bar and cue strip, and the store's call record.
Like every event: frozen, and ``emitted_at`` is the injected clock's reading.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent_assist.domain.audio import Speaker

__all__ = [
    "AudioLevel",
    "CallFinished",
    "ChecklistProgress",
    "ChecklistStep",
    "IntentDetected",
    "ModelStatus",
    "TalkStats",
]


@dataclass(frozen=True, slots=True)
class AudioLevel:
    """The loudness of ``speaker``'s channel over the last ~0.1 s (for level meters).

    ``rms_dbfs``/``peak_dbfs`` are in dBFS (0 = full scale, -100 = digital
    silence); ``muted`` is True while the agent has muted capture of this channel
    (the audio is then neither transcribed nor stored, and its level is that of
    the silence put in its place). ``position`` is the call time (seconds) at the
    end of the audio measured.
    """

    call_id: str
    speaker: Speaker
    rms_dbfs: float
    peak_dbfs: float
    muted: bool = False
    emitted_at: float = 0.0
    position: float = 0.0


@dataclass(frozen=True, slots=True)
class CallFinished:
    """Everything the engine does for a call is over: after ``CallEnded``, the last
    knowledge cards and (when a language model is on) the summary and coaching note.

    ``summarized``: the generation worker finished the call's summary in time
    (False when it timed out, or there is no language model). ``reason`` is the
    ``CallEnded`` reason ("completed", "stopped by agent", ...).
    """

    call_id: str
    reason: str
    summarized: bool
    emitted_at: float = 0.0


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """A model the engine needs changed state while loading in the background.

    ``component``: "speech", "embedder", "knowledge" (the installed packs'
    indexes) or "llm". ``state``: "loading", "ready", "down" (``detail`` says
    why and how to fix it) or "off" (turned off by settings).
    """

    component: str
    state: str
    model: str = ""
    detail: str = ""
    emitted_at: float = 0.0


@dataclass(frozen=True, slots=True)
class IntentDetected:
    """The customer's current intent (from the pack's ``intents.toml``), after ``utterance_id``.

    Published when the best intent changes; ``confidence`` is in [0, 1].
    """

    call_id: str
    utterance_id: str
    intent_id: str
    name: str
    confidence: float
    emitted_at: float = 0.0


@dataclass(frozen=True, slots=True)
class ChecklistStep:
    """One step of a call checklist; ``done_by`` is the utterance that completed it ("" if open)."""

    id: str
    text: str
    done: bool
    done_by: str = ""


@dataclass(frozen=True, slots=True)
class ChecklistProgress:
    """The checklist for the current intent and which of its steps are done."""

    call_id: str
    checklist_id: str
    intent_id: str
    steps: tuple[ChecklistStep, ...]
    emitted_at: float = 0.0


@dataclass(frozen=True, slots=True)
class TalkStats:
    """Talk time per speaker so far (seconds of final utterances) and the call's length."""

    call_id: str
    agent_s: float
    customer_s: float
    elapsed_s: float
    emitted_at: float = 0.0
