"""Qt Charts, imported only by the views that draw charts (history, health).

Kept apart from ``ui.qt`` because loading it costs start-up time the sidebar
does not need. Every chart in the app is a real ``QChart``.
"""

from __future__ import annotations

from PySide6 import QtCharts

__all__ = ["QtCharts"]
