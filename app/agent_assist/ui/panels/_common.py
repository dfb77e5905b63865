"""Small building blocks the panels share: styled labels, chips, cards, time formats."""

from __future__ import annotations

from agent_assist.ui.qt import Qt, QtWidgets
from agent_assist.ui.theme import GRID, set_prop

__all__ = ["card_frame", "chip", "clock_text", "label", "set_prop", "tool_button"]


def label(text: str = "", role: str = "", *, wrap: bool = False) -> QtWidgets.QLabel:
    """A label with the style sheet's ``role`` ("title", "heading", "muted", "caption", ...)."""
    widget = QtWidgets.QLabel(text)
    if role:
        widget.setProperty("role", role)
    widget.setWordWrap(wrap)
    widget.setTextFormat(Qt.TextFormat.PlainText)
    return widget


def chip(text: str = "", state: str = "") -> QtWidgets.QLabel:
    """A small rounded status chip; ``state`` picks its colours (ready, loading, down, warning, accent)."""
    widget = QtWidgets.QLabel(text)
    widget.setProperty("chip", True)
    widget.setProperty("state", state)
    widget.setTextFormat(Qt.TextFormat.PlainText)
    widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return widget


def card_frame(
    parent: QtWidgets.QWidget | None = None,
) -> tuple[QtWidgets.QFrame, QtWidgets.QVBoxLayout]:
    """A rounded card with its vertical layout (8 px grid padding)."""
    frame = QtWidgets.QFrame(parent)
    frame.setProperty("card", True)
    layout = QtWidgets.QVBoxLayout(frame)
    layout.setContentsMargins(GRID * 3 // 2, GRID, GRID * 3 // 2, GRID)
    layout.setSpacing(GRID // 2)
    return frame, layout


def tool_button(
    text: str, name: str, description: str = "", *, checkable: bool = False
) -> QtWidgets.QToolButton:
    """A flat button with an accessible name (and description), keyboard-focusable."""
    button = QtWidgets.QToolButton()
    button.setText(text)
    button.setAccessibleName(name)
    if description:
        button.setAccessibleDescription(description)
        button.setToolTip(description)
    button.setCheckable(checkable)
    button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    return button


def clock_text(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a duration."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
