"""The call checklist for the current intent, ticking itself from what the agent says.

Why these rules: a pack's checklist step lists *evidence* phrases ("order
number", "3 to 5 business days"). An agent turn completes a step when

* it contains one of them, normalised (``intel.text``: case, punctuation,
  spelt numbers, suffixes, a little word-order slack), or
* one of its sentences means the same as the step: the best cosine of the
  sentence's embedding to the step's text or any of its evidence phrases
  reaches ``semantic_threshold`` (only with an encoder).

Measured (benchmarks/intel_bench.py; 25 agent-turn/step pairs that should
tick and 160 that should not, from the scripted sample call and hand-written
sentences for the other checklists of northwind-home, in
tests/data/intel_cases.toml): lexical evidence alone ticks with precision
1.00 and recall 0.40; adding semantic ticks at 0.50 gives precision 0.88,
recall 0.60 (at 0.44: 0.86 / 0.72; at 0.40: 0.75 / 0.84; at 0.64 and above
hardly more than lexical). Comparing with the step text *and* the phrases
separated best (AUC 0.965, vs 0.94 phrases only, 0.93 text only), and per
sentence better than per turn (0.965 vs 0.94). A false tick tells the agent
a step was done, so the threshold leans to precision. The two false ticks at
0.50 are one sentence ("Instead of cancelling, you could put the plan on
hold") ticking "ask the reason" and "explain the terms" of the cancellation
checklist. In the sample call (scripted and as tiny.en transcribed it) every
tick is right, and "tell the customer the call is recorded", which the agent
never does, stays open.

Steps done before the intent is known count once the checklist appears: the
tracker keeps every agent turn of the call and scans them all when the
checklist changes. A ticked step stays ticked.

Thread rules: ``StepMatcher`` is immutable after construction (it embeds the
evidence in ``__init__`` on the caller's thread; ``turn`` embeds on the
caller's thread). One ``ChecklistTracker`` per call, used by one thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from agent_assist.domain import ChecklistProgress, ChecklistStep
from agent_assist.intel.intent import Encoder
from agent_assist.intel.pack import Checklist, StepSpec
from agent_assist.intel.text import contains_phrase, sentences, tokens

__all__ = ["AgentTurn", "ChecklistTracker", "StepMatcher"]

SEMANTIC_THRESHOLD = 0.50
"""Cosine of an agent sentence to an evidence phrase that ticks the step; see the bench."""


@dataclass(frozen=True, slots=True)
class AgentTurn:
    """An agent utterance prepared for matching: its tokens and its sentences' vectors."""

    utterance_id: str
    text: str
    words: tuple[str, ...]
    vectors: npt.NDArray[np.float32] | None = None  # one row per sentence


@dataclass(slots=True)
class _StepKey:
    phrases: list[tuple[str, ...]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # rows of the step text and its evidence


class StepMatcher:
    """Decides whether an agent turn completes a step of any of ``checklists``.

    ``encoder`` None: lexical evidence only (tests, or no embedder available).
    """

    def __init__(
        self,
        checklists: Sequence[Checklist],
        encoder: Encoder | None = None,
        *,
        semantic_threshold: float = SEMANTIC_THRESHOLD,
    ) -> None:
        self.encoder = encoder
        self.semantic_threshold = semantic_threshold
        self._steps: dict[tuple[str, str], _StepKey] = {}
        texts: list[str] = []
        for checklist in checklists:
            for step in checklist.steps:
                key = _StepKey()
                for phrase in step.evidence:
                    words = tuple(tokens(phrase))
                    if words:
                        key.phrases.append(words)
                for target in (step.text, *step.evidence):
                    key.rows.append(len(texts))
                    texts.append(target)
                self._steps[(checklist.id, step.id)] = key
        self._evidence: npt.NDArray[np.float32] | None = None
        if encoder is not None and texts:
            self._evidence = np.asarray(encoder.encode(texts), dtype=np.float32)

    def turn(self, utterance_id: str, text: str) -> AgentTurn:
        """Tokenise ``text`` and embed its sentences (when there is an encoder)."""
        vectors = None
        parts = sentences(text)
        if self.encoder is not None and self._evidence is not None and parts:
            vectors = np.asarray(self.encoder.encode(parts), dtype=np.float32)
        return AgentTurn(utterance_id, text, tuple(tokens(text)), vectors)

    def similarity(self, checklist: Checklist, step: StepSpec, turn: AgentTurn) -> float:
        """The best cosine of a sentence of ``turn`` to the text or an evidence phrase of ``step``."""
        key = self._steps.get((checklist.id, step.id))
        if key is None or not key.rows or turn.vectors is None or self._evidence is None:
            return 0.0
        return float((turn.vectors @ self._evidence[key.rows].T).max())

    def lexical(self, checklist: Checklist, step: StepSpec, turn: AgentTurn) -> bool:
        key = self._steps.get((checklist.id, step.id))
        return key is not None and any(contains_phrase(turn.words, p) for p in key.phrases)

    def matches(self, checklist: Checklist, step: StepSpec, turn: AgentTurn) -> bool:
        return (
            self.lexical(checklist, step, turn)
            or self.similarity(checklist, step, turn) >= self.semantic_threshold
        )


class ChecklistTracker:
    """The checklist of one call: all its agent turns, and which steps they completed.

    ``add_agent_turn`` and ``set_intent`` return True when what the sidebar
    shows changed (a step ticked, another checklist or intent); ``progress``
    is the current ``ChecklistProgress`` (None while no checklist applies).
    """

    def __init__(self, checklists: Sequence[Checklist], matcher: StepMatcher) -> None:
        self.checklists = tuple(checklists)
        self.matcher = matcher
        self.turns: list[AgentTurn] = []
        self.intent_id = ""
        self.checklist: Checklist | None = None
        # checklist id -> step id -> the utterance that completed it
        self._done: dict[str, dict[str, str]] = {}
        self._scanned: dict[str, int] = {}  # checklist id -> turns already scanned

    def checklist_for(self, intent_id: str) -> Checklist | None:
        return next((c for c in self.checklists if intent_id in c.intents), None)

    def set_intent(self, intent_id: str) -> bool:
        if intent_id == self.intent_id:
            return False
        self.intent_id = intent_id
        self.checklist = self.checklist_for(intent_id)
        self._scan()
        return True

    def add_agent_turn(self, turn: AgentTurn) -> bool:
        self.turns.append(turn)
        return self._scan()

    def _scan(self) -> bool:
        """Match the turns the current checklist has not seen yet; True if a step ticked."""
        checklist = self.checklist
        if checklist is None:
            return False
        done = self._done.setdefault(checklist.id, {})
        start = self._scanned.get(checklist.id, 0)
        ticked = False
        for turn in self.turns[start:]:
            for step in checklist.steps:
                if step.id not in done and self.matcher.matches(checklist, step, turn):
                    done[step.id] = turn.utterance_id
                    ticked = True
        self._scanned[checklist.id] = len(self.turns)
        return ticked

    def progress(self, call_id: str, emitted_at: float = 0.0) -> ChecklistProgress | None:
        checklist = self.checklist
        if checklist is None:
            return None
        done = self._done.get(checklist.id, {})
        steps = tuple(
            ChecklistStep(s.id, s.text, s.id in done, done.get(s.id, "")) for s in checklist.steps
        )
        return ChecklistProgress(call_id, checklist.id, self.intent_id, steps, emitted_at)
