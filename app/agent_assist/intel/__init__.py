"""Live call cues from the transcript: the customer's intent, the call checklist, talk time.

``IntelWorker`` is the bus subscriber the session starts per app; the pieces
(``IntentModel``/``IntentTracker``, ``StepMatcher``/``ChecklistTracker``,
``TalkClock``) are pure logic over a pack's ``intents.toml`` and
``checklists.toml``, testable without the bus. No Qt, no audio.
"""

from agent_assist.intel.checklist import SEMANTIC_THRESHOLD, AgentTurn, ChecklistTracker, StepMatcher
from agent_assist.intel.intent import Encoder, IntentModel, IntentOptions, IntentScore, IntentTracker
from agent_assist.intel.pack import Checklist, Intent, StepSpec, load_checklists, load_intents
from agent_assist.intel.talk import TalkClock, merged_length
from agent_assist.intel.worker import EncoderSource, IntelWorker

__all__ = [
    "SEMANTIC_THRESHOLD",
    "AgentTurn",
    "Checklist",
    "ChecklistTracker",
    "Encoder",
    "EncoderSource",
    "IntelWorker",
    "Intent",
    "IntentModel",
    "IntentOptions",
    "IntentScore",
    "IntentTracker",
    "StepMatcher",
    "StepSpec",
    "TalkClock",
    "load_checklists",
    "load_intents",
    "merged_length",
]
