"""The assist room: what the agent is shown while the call goes on.

Engine code, no Qt. ``LiveRetriever`` turns the customer's final utterances into
``KnowledgeCards`` events on its own worker thread (see ``retrieval.py``); the
query building (``query.py``) and card selection (``select.py``) are pure.
"""

from agent_assist.assist.options import RetrievalOptions
from agent_assist.assist.retrieval import (
    IntentHook,
    LiveRetriever,
    RetrievalStats,
    Searcher,
    SearcherFactory,
)

__all__ = [
    "IntentHook",
    "LiveRetriever",
    "RetrievalOptions",
    "RetrievalStats",
    "Searcher",
    "SearcherFactory",
]
