"""The one place the app imports Qt from (PySide6).

Why a seam: every other ``ui`` module imports ``from agent_assist.ui.qt import
...``, so the binding, its version checks and its environment defaults live
in one file, and the architecture test can prove that no engine room imports
Qt at all. Qt Charts (a larger library, used by the history view only) has its
own seam, ``ui.qt_charts``, so that a cold start does not load it.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtNetwork, QtWidgets
from PySide6.QtCore import (
    Property,
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    QThread,
    QTimer,
    Signal,
    Slot,
)

__all__ = [
    "Property",
    "QAbstractListModel",
    "QModelIndex",
    "QObject",
    "QPersistentModelIndex",
    "QSize",
    "QThread",
    "QTimer",
    "Qt",
    "QtCore",
    "QtGui",
    "QtNetwork",
    "QtWidgets",
    "Signal",
    "Slot",
    "qt_version",
]


def qt_version() -> str:
    """``"PySide6 6.x.y, Qt 6.x.y"`` for logs, ``--version`` and bug reports."""
    import PySide6

    return f"PySide6 {PySide6.__version__}, Qt {QtCore.qVersion()}"
