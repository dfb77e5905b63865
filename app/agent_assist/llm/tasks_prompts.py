"""Prompt templates as files: the defaults shipped in ``llm/prompts/``, overridable per pack.

Why files: a supervisor tunes wording for their pack without a release, and
every output records the ``version`` of the prompt that made it, so a change
can be measured. A pack overrides any key of a task with
``<pack>/prompts/<task>.toml``; the override must set its own ``version``.

Keys of a template (all strings unless said):

* ``version`` (required): recorded with every output;
* ``system``, ``user``: the chat, with ``{placeholders}`` filled per task
  (a literal brace is written ``{{`` or ``}}``);
* ``example_user``, ``example_assistant`` (optional, both or neither): one
  worked example sent as an earlier exchange, verbatim (no placeholders, so
  JSON needs no escaping); a one-shot example is what makes a 135M model
  follow the format;
* ``max_tokens`` (int), ``temperature`` (float): request defaults.

Anything else -- an unknown key or placeholder, a missing required
placeholder, a wrong type, bad TOML -- is a ``PackError`` naming the file, so a
broken override fails when loaded, never mid-call.

Thread rules: ``PromptTemplate`` is immutable; load once, use from any thread.
"""

from __future__ import annotations

import importlib.resources
import string
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agent_assist.errors import PackError
from agent_assist.llm.backend import ChatMessage

__all__ = ["PLACEHOLDERS", "TASKS", "PromptTemplate", "Task", "load_prompt", "load_prompts"]

Task = Literal["suggest", "summary", "coach", "transfer", "ask"]
TASKS: tuple[Task, ...] = ("suggest", "summary", "coach", "transfer", "ask")

PLACEHOLDERS: dict[Task, tuple[frozenset[str], frozenset[str]]] = {
    # task: (allowed, required)
    "suggest": (frozenset({"snippets", "turns", "customer"}), frozenset({"snippets", "customer"})),
    "summary": (frozenset({"transcript", "dispositions"}), frozenset({"transcript"})),
    "coach": (frozenset({"transcript"}), frozenset({"transcript"})),
    "transfer": (frozenset({"transcript"}), frozenset({"transcript"})),
    "ask": (frozenset({"snippets", "question"}), frozenset({"snippets", "question"})),
}
_TEXT_KEYS = ("system", "user", "example_user", "example_assistant")
_KEYS = frozenset({"version", *_TEXT_KEYS, "max_tokens", "temperature"})
_FIX_BRACES = "use only the placeholders listed, and write a literal brace as {{ or }}"


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    task: Task
    version: str
    system: str
    user: str
    max_tokens: int
    temperature: float
    example_user: str = ""
    example_assistant: str = ""
    source: str = ""  # the file(s) it came from, for messages

    def messages(self, **values: str) -> tuple[ChatMessage, ...]:
        """The chat for ``values`` (every allowed placeholder of the task must be given)."""
        allowed, _ = PLACEHOLDERS[self.task]
        missing = allowed - values.keys()
        if missing:
            raise ValueError(f"{self.task} prompt needs values for {sorted(missing)}")
        chat = [ChatMessage("system", self.system.format_map(values))]
        if self.example_user:
            chat.append(ChatMessage("user", self.example_user))
            chat.append(ChatMessage("assistant", self.example_assistant))
        chat.append(ChatMessage("user", self.user.format_map(values)))
        return tuple(chat)


def load_prompt(task: Task, pack_dir: Path | None = None) -> PromptTemplate:
    """The shipped template of ``task``, with ``pack_dir/prompts/<task>.toml`` applied if present."""
    default = importlib.resources.files("agent_assist.llm") / "prompts" / f"{task}.toml"
    base = _parse(task, default.read_text(encoding="utf-8"), f"llm/prompts/{task}.toml", None)
    if pack_dir is None:
        return base
    path = pack_dir / "prompts" / f"{task}.toml"
    if not path.is_file():
        return base
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PackError(f"{path}: cannot read the prompt ({exc})", "save it as UTF-8 text") from exc
    return _parse(task, text, str(path), base)


def load_prompts(pack_dir: Path | None = None) -> dict[Task, PromptTemplate]:
    """Every task's template (validates all overrides of the pack at once)."""
    return {task: load_prompt(task, pack_dir) for task in TASKS}


def _parse(task: Task, text: str, where: str, base: PromptTemplate | None) -> PromptTemplate:
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PackError(f"{where}: is not valid TOML ({exc})", "fix the TOML syntax") from exc
    unknown = sorted(data.keys() - _KEYS)
    if unknown:
        raise PackError(
            f"{where}: unknown key(s) {', '.join(unknown)}",
            f"a prompt file may set only {', '.join(sorted(_KEYS))}",
        )
    if not isinstance(data.get("version"), str) or not data["version"].strip():
        raise PackError(
            f"{where}: needs a version string",
            'add e.g. version = "my-pack-suggest-1"; it is recorded with every output',
        )
    for key in _TEXT_KEYS:
        if key in data and not isinstance(data[key], str):
            raise PackError(f"{where}: {key} must be a string", "quote it")
    if "max_tokens" in data and not (
        isinstance(data["max_tokens"], int) and 1 <= data["max_tokens"] <= 4096
    ):
        raise PackError(f"{where}: max_tokens must be a whole number from 1 to 4096", "fix max_tokens")
    temperature = data.get("temperature", 0.0)
    if not isinstance(temperature, int | float) or not 0.0 <= float(temperature) <= 2.0:
        raise PackError(f"{where}: temperature must be a number from 0 to 2", "fix temperature")
    if base is None:
        missing = sorted({"system", "user", "max_tokens", "temperature"} - data.keys())
        if missing:
            raise PackError(f"{where}: missing {', '.join(missing)}", "add them")
        base = PromptTemplate(task, "", "", "", 0, 0.0)

    def get(key: str) -> Any:
        return data[key] if key in data else getattr(base, key)

    merged = PromptTemplate(
        task,
        version=str(get("version")),
        system=str(get("system")),
        user=str(get("user")),
        max_tokens=int(get("max_tokens")),
        temperature=float(get("temperature")),
        example_user=str(get("example_user")),
        example_assistant=str(get("example_assistant")),
        source=where,
    )
    _check(merged, where)
    return merged


def _check(template: PromptTemplate, where: str) -> None:
    allowed, required = PLACEHOLDERS[template.task]
    if bool(template.example_user) != bool(template.example_assistant):
        raise PackError(
            f"{where}: example_user and example_assistant go together",
            "set both (one worked example) or neither",
        )
    found: set[str] = set()
    for key in ("system", "user"):  # the examples are sent verbatim
        names = _placeholders(getattr(template, key), where, key)
        bad = names - allowed
        if bad:
            raise PackError(
                f"{where}: unknown placeholder(s) {_braced(bad)} in {key} "
                f"(the {template.task} prompt may use {_braced(allowed)})",
                _FIX_BRACES,
            )
        found |= names
    lacking = required - found
    if lacking:
        raise PackError(
            f"{where}: the {template.task} prompt must use {_braced(lacking)} in system or user",
            f"put {_braced(lacking)} where that text belongs",
        )


def _placeholders(text: str, where: str, key: str) -> set[str]:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:  # a lone { or }
        raise PackError(f"{where}: {key}: {exc}", _FIX_BRACES) from exc
    names: set[str] = set()
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise PackError(f"{where}: {key}: bad placeholder {{{name}}}", _FIX_BRACES)
        names.add(name)
    return names


def _braced(names: Iterable[str]) -> str:
    return ", ".join("{" + n + "}" for n in sorted(names))
