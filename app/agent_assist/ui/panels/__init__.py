"""The sidebar's live panels: each a small widget fed by ``on_event(event)`` that asks by signals.

``CallBar`` (start/stop, mutes, level meters, devices, timer, model chips),
``TranscriptView``, ``CueStrip`` (intent, dead air, talk ratio, alerts),
``CardsView``, ``SuggestionView``, ``ChecklistView`` and ``WrapupView``. The
window creates them, calls ``on_event`` with every domain event on the GUI
thread and connects their signals to the engine's commands; panels never call
the engine.
"""

from agent_assist.ui.panels.call_bar import CallBar, LevelMeter
from agent_assist.ui.panels.cards_view import CardsView
from agent_assist.ui.panels.checklist_view import ChecklistView
from agent_assist.ui.panels.cue_strip import CueStrip
from agent_assist.ui.panels.suggestion_view import SuggestionView
from agent_assist.ui.panels.transcript_view import TranscriptView
from agent_assist.ui.panels.wrapup_view import WrapupView

__all__ = [
    "CallBar",
    "CardsView",
    "ChecklistView",
    "CueStrip",
    "LevelMeter",
    "SuggestionView",
    "TranscriptView",
    "WrapupView",
]
