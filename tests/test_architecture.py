"""The room rules of docs/ARCHITECTURE.md, checked by parsing every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "app" / "agent_assist"

# room -> rooms of ours it may import (besides itself)
ALLOWED = {
    "domain": set(),
    "errors": set(),
    "clock": set(),
    "paths": set(),
    "events": {"domain"},
    "models": {"paths", "errors"},
    "audio": {"domain", "clock", "errors"},
    "stt": {"domain", "models", "errors", "clock"},
    "store": {"domain", "paths", "errors"},
    "knowledge": {"domain", "models", "store", "paths", "errors"},
    "llm": {"domain", "models", "knowledge", "paths", "errors", "clock"},
    "pipeline": {"domain", "audio", "stt", "events", "clock", "errors"},
    "assist": {"domain", "events", "knowledge", "llm", "store", "errors", "clock"},
    "intel": {"domain", "events", "knowledge", "errors", "clock"},
    "config": {"domain", "paths", "errors"},
    # the engine's facade for the UI and the CLI: one call with every model, loaded in the background
    "session": {
        "domain",
        "audio",
        "stt",
        "events",
        "clock",
        "errors",
        "knowledge",
        "llm",
        "assist",
        "store",
        "models",
        "paths",
        "pipeline",
        "intel",
    },
    "ui": {"*"},
    "cli": {"*"},
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _room(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def test_no_qt_outside_the_ui_package() -> None:
    for path in PACKAGE.rglob("*.py"):
        if _room(path) == "ui":
            continue
        qt = {n for n in _imports(path) if n.split(".")[0] in {"PySide6", "shiboken6", "PyQt6", "PyQt5"}}
        assert not qt, f"{path.relative_to(PACKAGE)} imports {qt}"


def test_rooms_import_only_what_the_architecture_allows() -> None:
    for path in PACKAGE.rglob("*.py"):
        room = _room(path)
        allowed = ALLOWED.get(room)
        if allowed is None or "*" in allowed:
            continue
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] != "agent_assist" or len(parts) < 2:
                continue
            other = parts[1]
            assert other == room or other in allowed, (
                f"{path.relative_to(PACKAGE)}: {room} may not import {other}"
            )
