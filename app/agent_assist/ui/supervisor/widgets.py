"""Small building blocks the supervisor pages share: labels, buttons, cards (theme-styled).

Thread rules: GUI thread only.
"""

from __future__ import annotations

from agent_assist.ui.qt import Qt, QtWidgets
from agent_assist.ui.theme import GRID

__all__ = ["button", "card", "label"]


def label(text: str, role: str | None, *, selectable: bool = False) -> QtWidgets.QLabel:
    """A wrapping label with the theme ``role`` ("title", "muted", "caption", "number"...)."""
    widget = QtWidgets.QLabel(text)
    widget.setWordWrap(True)
    if selectable:
        widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if role:
        widget.setProperty("role", role)
    return widget


def button(text: str, *, accent: bool = False, danger: bool = False) -> QtWidgets.QPushButton:
    widget = QtWidgets.QPushButton(text)
    if accent:
        widget.setProperty("accent", True)
    if danger:
        widget.setProperty("danger", True)
    return widget


def card(heading: str) -> tuple[QtWidgets.QFrame, QtWidgets.QVBoxLayout]:
    """A theme card with a small upper-case heading; add content to the returned layout."""
    frame = QtWidgets.QFrame()
    frame.setProperty("card", True)
    box = QtWidgets.QVBoxLayout(frame)
    box.setContentsMargins(GRID * 2, GRID * 3 // 2, GRID * 2, GRID * 3 // 2)
    box.setSpacing(GRID)
    box.addWidget(label(heading.upper(), "heading"))
    return frame, box
