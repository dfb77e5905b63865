"""The intents and call checklists of a knowledge pack, read for the live call cues.

Why a loader here: ``knowledge.validate`` checks ``intents.toml`` and
``checklists.toml`` (every problem, with its line) but builds no objects; the
live cues need the values. A pack reaches us validated (``pack install``
refuses a bad one), so this reader is lenient: it skips an entry missing a
field rather than failing the call, and raises ``PackError`` only when a file
is not TOML at all.

Thread rules: pure functions over files; call from any thread.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent_assist.errors import PackError

__all__ = ["Checklist", "Intent", "StepSpec", "load_checklists", "load_intents"]


@dataclass(frozen=True, slots=True)
class Intent:
    """One ``[[intent]]``: what a customer may want, and how customers say it."""

    id: str
    name: str
    examples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StepSpec:
    """One ``[[checklist.steps]]``: what the agent should do, and phrases that show it was done."""

    id: str
    text: str
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Checklist:
    """One ``[[checklist]]``: the steps for calls about any of ``intents``."""

    id: str
    intents: tuple[str, ...]
    steps: tuple[StepSpec, ...]


def _table(path: Path, name: str) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PackError(
            f"{path}: cannot read: {exc}", f"run `agent-assist pack validate {path.parent}`"
        ) from exc
    entries = data.get(name, [])
    if not isinstance(entries, list):
        return []
    return [e for e in entries if isinstance(e, dict)]


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v.strip() for v in value if isinstance(v, str) and v.strip())


def load_intents(pack: Path) -> tuple[Intent, ...]:
    """The intents with at least one example (empty when the pack has no ``intents.toml``)."""
    out: list[Intent] = []
    for entry in _table(pack / "intents.toml", "intent"):
        intent_id, name = entry.get("id"), entry.get("name")
        examples = _strings(entry.get("examples"))
        if isinstance(intent_id, str) and examples:
            out.append(Intent(intent_id, name if isinstance(name, str) else intent_id, examples))
    return tuple(out)


def load_checklists(pack: Path) -> tuple[Checklist, ...]:
    """The checklists with at least one step (empty when the pack has no ``checklists.toml``)."""
    out: list[Checklist] = []
    for entry in _table(pack / "checklists.toml", "checklist"):
        steps: list[StepSpec] = []
        raw_steps = entry.get("steps")
        for step in raw_steps if isinstance(raw_steps, list) else []:
            if isinstance(step, dict) and isinstance(step.get("id"), str):
                text = step.get("text")
                steps.append(
                    StepSpec(
                        step["id"],
                        text if isinstance(text, str) else step["id"],
                        _strings(step.get("evidence")),
                    )
                )
        if isinstance(entry.get("id"), str) and steps:
            out.append(Checklist(entry["id"], _strings(entry.get("intents")), tuple(steps)))
    return tuple(out)
