"""The History page and the past-call window.

``HistoryView(database)``: the sidebar page (search, filters, the call list);
``CallDetailWindow(database, call_id)``: one call's transcript, summary,
notes, timeline chart and (when QA exists) scorecard. Queries run on a worker
(``jobs.Jobs``); see each module for details.
"""

from agent_assist.ui.history.detail import CallDetailWindow
from agent_assist.ui.history.view import HistoryView

__all__ = ["CallDetailWindow", "HistoryView"]
