"""Colours, spacing, type and icons of the sidebar: light and dark, following the system.

One calm neutral palette with one accent colour, on an 8 px grid. Views never
hard-code colours: widgets get theirs from one application style sheet keyed
on object names and dynamic properties (``card``, ``chip``, ``state``,
``tentative``, ``role``, ``alert``...), and custom-painted widgets read
``tokens()`` in their ``paintEvent`` (the sheet changing repaints them).

``apply_theme(app, "system")`` follows ``QStyleHints.colorScheme()`` and
re-applies itself on ``colorSchemeChanged``; "light"/"dark" force one. The
offscreen platform reports ``Unknown``, which means light.

Icons are tiny stroke drawings (24 px grid) made here as SVG text and
rendered at the screen's device pixel ratio in the theme's colours, so they
are crisp on high-DPI screens and need no files at run time.

Thread rules: GUI thread only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agent_assist.ui.qt import QObject, QSize, Qt, QtGui, QtWidgets, Signal

__all__ = [
    "DARK",
    "GRID",
    "LIGHT",
    "Mode",
    "Tokens",
    "apply_theme",
    "current_mode",
    "icon",
    "notifier",
    "qcolor",
    "set_prop",
    "style_sheet",
    "tokens",
]

Mode = Literal["system", "light", "dark"]

GRID = 8
"""The spacing unit: margins and gaps are multiples of it (4 for tight pairs)."""

RADIUS = 8
"""Corner radius of cards; chips and pills are fully rounded."""


@dataclass(frozen=True, slots=True)
class Tokens:
    """The palette of one scheme, as ``#rrggbb`` strings."""

    name: str
    background: str
    surface: str
    surface_alt: str
    border: str
    text: str
    muted: str
    accent: str
    accent_text: str
    accent_soft: str
    agent: str
    customer: str
    success: str
    success_soft: str
    warning: str
    warning_soft: str
    danger: str
    danger_soft: str


LIGHT = Tokens(
    name="light",
    background="#f4f5f7",
    surface="#ffffff",
    surface_alt="#eceef2",
    border="#dde1e7",
    text="#1d2127",
    muted="#5f6b7a",
    accent="#2f66d0",
    accent_text="#ffffff",
    accent_soft="#e6eefb",
    agent="#2f66d0",
    customer="#11877d",
    success="#2b7a47",
    success_soft="#e3f2e8",
    warning="#9a6212",
    warning_soft="#fbf1df",
    danger="#b8403a",
    danger_soft="#fae8e6",
)

DARK = Tokens(
    name="dark",
    background="#16181c",
    surface="#1f2227",
    surface_alt="#2a2e35",
    border="#343942",
    text="#e4e7eb",
    muted="#98a2ae",
    accent="#6f9cf2",
    accent_text="#0e1420",
    accent_soft="#22304a",
    agent="#6f9cf2",
    customer="#3fbcae",
    success="#62c382",
    success_soft="#1d3326",
    warning="#e2a84a",
    warning_soft="#3a2f1b",
    danger="#ee7a70",
    danger_soft="#3e2322",
)


class _Notifier(QObject):
    """Emits ``changed(str)`` ("light"/"dark") after the theme was (re-)applied."""

    changed = Signal(str)


_state: dict[str, object] = {"tokens": LIGHT, "mode": "system", "connected": False}
_notifiers: list[_Notifier] = []
_icon_cache: dict[tuple[str, str, int, float], QtGui.QIcon] = {}


def notifier() -> _Notifier:
    """The object whose ``changed`` signal says the palette changed (for custom caches)."""
    if not _notifiers:
        _notifiers.append(_Notifier())
    return _notifiers[0]


def tokens() -> Tokens:
    """The palette in use now (light until ``apply_theme`` says otherwise)."""
    value = _state["tokens"]
    assert isinstance(value, Tokens)
    return value


def current_mode() -> str:
    """The requested mode: "system", "light" or "dark"."""
    return str(_state["mode"])


def qcolor(value: str, alpha: float = 1.0) -> QtGui.QColor:
    """A token as a ``QColor``, optionally with ``alpha`` in [0, 1]."""
    colour = QtGui.QColor(value)
    colour.setAlphaF(alpha)
    return colour


def _resolve(app: QtWidgets.QApplication, mode: str) -> Tokens:
    if mode == "dark":
        return DARK
    if mode == "light":
        return LIGHT
    scheme = app.styleHints().colorScheme()
    return DARK if scheme == Qt.ColorScheme.Dark else LIGHT


def apply_theme(
    app: QtWidgets.QApplication, mode: Mode | str = "system", *, fusion: bool = True
) -> Tokens:
    """Set the palette and the style sheet for ``mode``; "system" follows later changes too.

    ``fusion``: use the Fusion style, whose look the sheet was tuned on (the
    same on every OS, and it honours palettes fully). An unknown mode is "system".
    """
    mode = mode if mode in ("light", "dark") else "system"
    if fusion and app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    _state["mode"] = mode
    if not _state["connected"]:
        app.styleHints().colorSchemeChanged.connect(lambda _scheme: _follow_system(app))
        _state["connected"] = True
    t = _resolve(app, mode)
    _state["tokens"] = t
    _icon_cache.clear()
    app.setPalette(_palette(t))
    app.setStyleSheet(style_sheet(t))
    notifier().changed.emit(t.name)
    return t


def _follow_system(app: QtWidgets.QApplication) -> None:
    if _state["mode"] == "system":
        apply_theme(app, "system", fusion=False)


def _palette(t: Tokens) -> QtGui.QPalette:
    p = QtGui.QPalette()
    role = QtGui.QPalette.ColorRole
    group = QtGui.QPalette.ColorGroup
    colours = {
        role.Window: t.background,
        role.WindowText: t.text,
        role.Base: t.surface,
        role.AlternateBase: t.surface_alt,
        role.ToolTipBase: t.surface,
        role.ToolTipText: t.text,
        role.PlaceholderText: t.muted,
        role.Text: t.text,
        role.Button: t.surface,
        role.ButtonText: t.text,
        role.BrightText: t.danger,
        role.Light: t.surface,
        role.Midlight: t.surface_alt,
        role.Mid: t.border,
        role.Dark: t.border,
        role.Shadow: t.border,
        role.Highlight: t.accent,
        role.HighlightedText: t.accent_text,
        role.Link: t.accent,
        role.LinkVisited: t.accent,
        role.Accent: t.accent,
    }
    for r, value in colours.items():
        p.setColor(r, QtGui.QColor(value))
    for r in (role.Text, role.WindowText, role.ButtonText):
        p.setColor(group.Disabled, r, QtGui.QColor(t.muted))
    return p


def style_sheet(t: Tokens) -> str:
    """The one application style sheet for palette ``t``."""
    return f"""
QWidget {{ color: {t.text}; }}
QToolTip {{ background: {t.surface}; color: {t.text}; border: 1px solid {t.border};
    padding: 4px 8px; border-radius: 4px; }}
QWidget#panel {{ background: transparent; }}
QFrame[card="true"] {{ background: {t.surface}; border: 1px solid {t.border}; border-radius: {RADIUS}px; }}
QFrame[card="true"][flash="true"] {{ border: 1px solid {t.accent}; background: {t.accent_soft}; }}
QFrame[card="true"][pinned="true"] {{ border-left: 3px solid {t.accent}; }}
QFrame[card="true"] QLabel {{ background: transparent; border: none; }}
QLabel[role="title"] {{ font-weight: 600; }}
QLabel[role="heading"] {{ font-weight: 600; color: {t.muted}; font-size: 8pt;
    letter-spacing: 0.5px; }}
QLabel[role="muted"] {{ color: {t.muted}; }}
QLabel[role="caption"] {{ color: {t.muted}; font-size: 8pt; }}
QLabel[role="number"] {{ color: {t.accent}; font-weight: 600; }}
QLabel[role="timer"] {{ font-weight: 600; font-size: 11pt; }}
QLabel[tentative="true"] {{ color: {t.muted}; font-style: italic; }}
QLabel[chip="true"] {{ background: {t.surface_alt}; color: {t.muted}; border-radius: 9px;
    padding: 1px 8px; font-size: 8pt; }}
QLabel[chip="true"][state="ready"] {{ background: {t.success_soft}; color: {t.success}; }}
QLabel[chip="true"][state="loading"] {{ background: {t.surface_alt}; color: {t.muted}; }}
QLabel[chip="true"][state="down"] {{ background: {t.danger_soft}; color: {t.danger}; }}
QLabel[chip="true"][state="warning"] {{ background: {t.warning_soft}; color: {t.warning}; }}
QLabel[chip="true"][state="accent"] {{ background: {t.accent_soft}; color: {t.accent}; }}
QLabel[dot="true"] {{ border-radius: 4px; min-width: 8px; max-width: 8px; min-height: 8px;
    max-height: 8px; background: {t.border}; }}
QLabel[dot="true"][state="open"], QLabel[dot="true"][state="reopened"] {{ background: {t.success}; }}
QLabel[dot="true"][state="lost"] {{ background: {t.danger}; }}
QLabel[dot="true"][state="closed"] {{ background: {t.muted}; }}
QLabel[deadair="true"] {{ color: {t.muted}; }}
QLabel[deadair="true"][state="long"] {{ color: {t.warning}; font-weight: 600; }}
QFrame[alert] {{ border-radius: 12px; }}
QFrame[alert="warning"] {{ background: {t.warning_soft}; border: 1px solid {t.warning}; }}
QFrame[alert="danger"] {{ background: {t.danger_soft}; border: 1px solid {t.danger}; }}
QFrame[alert="warning"] QLabel {{ color: {t.warning}; background: transparent; }}
QFrame[alert="danger"] QLabel {{ color: {t.danger}; background: transparent; }}
QFrame[notice="true"] {{ background: {t.surface_alt}; border-radius: {RADIUS}px; }}
QFrame[notice="true"] QLabel {{ color: {t.muted}; background: transparent; }}
QPushButton {{ background: {t.surface}; border: 1px solid {t.border}; border-radius: 6px;
    padding: 4px 12px; min-height: 20px; }}
QPushButton:hover {{ background: {t.surface_alt}; }}
QPushButton:pressed {{ background: {t.border}; }}
QPushButton:focus, QToolButton:focus {{ border: 1px solid {t.accent}; }}
QPushButton:disabled {{ color: {t.muted}; }}
QPushButton[accent="true"] {{ background: {t.accent}; color: {t.accent_text}; border: 1px solid {t.accent};
    font-weight: 600; }}
QPushButton[accent="true"]:hover {{ background: {t.accent}; border: 1px solid {t.text}; }}
QPushButton[danger="true"] {{ background: {t.danger_soft}; color: {t.danger}; border: 1px solid {t.danger};
    font-weight: 600; }}
QPushButton[floating="true"] {{ background: {t.accent}; color: {t.accent_text}; border: none;
    border-radius: 13px; padding: 4px 14px; font-weight: 600; }}
QToolButton {{ background: transparent; border: 1px solid transparent; border-radius: 6px;
    padding: 2px 6px; color: {t.muted}; }}
QToolButton:hover {{ background: {t.surface_alt}; color: {t.text}; }}
QToolButton:checked {{ background: {t.accent_soft}; color: {t.accent}; }}
QToolButton[citation="true"] {{ background: {t.accent_soft}; color: {t.accent}; border-radius: 9px;
    padding: 0px 6px; font-weight: 600; font-size: 8pt; }}
QToolButton[mute="true"]:checked {{ background: {t.danger_soft}; color: {t.danger}; }}
QLineEdit, QPlainTextEdit, QTextEdit, QComboBox {{ background: {t.surface}; border: 1px solid {t.border};
    border-radius: 6px; padding: 4px 6px; selection-background-color: {t.accent};
    selection-color: {t.accent_text}; }}
QLineEdit:focus, QPlainTextEdit:focus, QTextEdit:focus, QComboBox:focus {{ border: 1px solid {t.accent}; }}
QComboBox QAbstractItemView {{ background: {t.surface}; border: 1px solid {t.border};
    selection-background-color: {t.accent_soft}; selection-color: {t.text}; }}
QListView {{ background: transparent; border: none; outline: none; }}
QScrollArea {{ background: transparent; border: none; }}
QScrollArea > QWidget > QWidget {{ background: transparent; }}
QScrollBar:vertical {{ background: transparent; width: 8px; margin: 0; }}
QScrollBar::handle:vertical {{ background: {t.border}; border-radius: 4px; min-height: 24px; }}
QScrollBar::handle:vertical:hover {{ background: {t.muted}; }}
QScrollBar::add-line:vertical, QScrollBar::sub-line:vertical {{ height: 0; }}
QScrollBar::add-page:vertical, QScrollBar::sub-page:vertical {{ background: transparent; }}
QScrollBar:horizontal {{ height: 0; }}
"""


def set_prop(widget: QtWidgets.QWidget, name: str, value: object) -> None:
    """Set a dynamic property the style sheet keys on, and restyle ``widget`` if it changed."""
    if widget.property(name) == value:
        return
    widget.setProperty(name, value)
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    widget.update()


# -- icons -----------------------------------------------------------------------------------------

_ICONS: dict[str, str] = {
    # two overlapping rounded sheets
    "copy": '<rect x="8" y="8" width="12" height="12" rx="2"/><path d="M16 8V6a2 2 0 0 0-2-2H6'
    'a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h2"/>',
    # a push pin: head, collar, needle
    "pin": '<path d="M9 3h6l-1 6 3 3v2H7v-2l3-3z"/><path d="M12 14v7"/>',
    # a box with an arrow leaving its corner
    "open": '<path d="M14 4h6v6"/><path d="M20 4l-9 9"/><path d="M18 14v4a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2'
    'V8a2 2 0 0 1 2-2h4"/>',
    "close": '<path d="M6 6l12 12"/><path d="M18 6L6 18"/>',
    # thumbs: a cuff and a rounded hand
    "up": '<path d="M7 11v9H4v-9z"/><path d="M7 11l4-7c1.5 0 2.5 1 2 3l-1 3h6a2 2 0 0 1 2 2.3l-1.2 6'
    'A2 2 0 0 1 16.8 20H7"/>',
    "down": '<path d="M7 13V4H4v9z"/><path d="M7 13l4 7c1.5 0 2.5-1 2-3l-1-3h6a2 2 0 0 0 2-2.3l-1.2-6'
    'A2 2 0 0 0 16.8 4H7"/>',
    "mic": '<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0 0 14 0"/>'
    '<path d="M12 18v3"/>',
    "headset": '<path d="M4 14v-2a8 8 0 0 1 16 0v2"/><rect x="3" y="14" width="4" height="6" rx="1.5"/>'
    '<rect x="17" y="14" width="4" height="6" rx="1.5"/>',
    "check": '<path d="M5 12.5l4.5 4.5L19 7.5"/>',
    "down-arrow": '<path d="M12 5v14"/><path d="M6 13l6 6 6-6"/>',
    "play": '<path d="M8 5l11 7-11 7z"/>',
    "stop": '<rect x="6" y="6" width="12" height="12" rx="2"/>',
    # three sliders with their knobs
    "settings": '<path d="M5 4v5M5 13v7M12 4v9M12 17v3M19 4v3M19 11v9"/>'
    '<path d="M3 11h4M10 15h4M17 9h4"/>',
    # a clipboard with a rising bar chart
    "supervisor": '<rect x="5" y="4" width="14" height="17" rx="2"/><path d="M9 3h6v3H9z"/>'
    '<path d="M9 17v-3M12 17v-6M15 17v-4"/>',
    # a tall window collapsing to a short one
    "compact": '<rect x="5" y="3" width="14" height="18" rx="2"/><path d="M9 9l3 3 3-3"/>'
    '<path d="M9 15h6"/>',
}


def icon(name: str, colour: str | None = None, size: int = 16) -> QtGui.QIcon:
    """The icon ``name`` drawn in ``colour`` (default: muted text) at ``size`` px, crisp at any DPR."""
    colour = colour or tokens().muted
    screen = QtGui.QGuiApplication.primaryScreen()
    dpr = screen.devicePixelRatio() if screen is not None else 1.0
    key = (name, colour, size, dpr)
    cached = _icon_cache.get(key)
    if cached is not None:
        return cached
    body = _ICONS[name]
    px = max(1, round(size * dpr))
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" viewBox="0 0 24 24" '
        f'fill="none" stroke="{colour}" stroke-width="1.8" stroke-linecap="round" '
        f'stroke-linejoin="round">{body}</svg>'
    )
    pixmap = QtGui.QPixmap()
    pixmap.loadFromData(svg.encode(), "SVG")
    pixmap.setDevicePixelRatio(dpr)
    result = QtGui.QIcon(pixmap)
    _icon_cache[key] = result
    return result


def icon_size(size: int = 16) -> QSize:
    return QSize(size, size)
