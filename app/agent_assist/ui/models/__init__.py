"""List models of the sidebar, each fed by ``apply(event)`` on the GUI thread.

``TranscriptModel`` (the call's lines, tentative rows for partials),
``CardsModel`` (knowledge cards, newest first, pinned on top) and
``ChecklistModel`` (the current intent's checklist). Views only read them.
"""

from agent_assist.ui.models.cards import CardsModel
from agent_assist.ui.models.checklist import ChecklistModel
from agent_assist.ui.models.transcript import TranscriptModel

__all__ = ["CardsModel", "ChecklistModel", "TranscriptModel"]
