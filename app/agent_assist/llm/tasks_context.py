"""What every task shares: the pack's prompts and dispositions, limits, and the generate step.

``TaskContext`` is built once per pack (``TaskContext.load(pack_dir)``): the
prompt templates with the pack's overrides, its disposition codes, the
embedder the grounding check may use, and the backend's context size.
``generate`` wraps ``LLMBackend.generate`` so the streamed draft is masked
before anyone sees it and a cancel becomes ``Cancelled``.

Thread rules: ``TaskContext`` is immutable and may be shared; ``generate``
runs on the caller's thread and calls ``on_text`` there.
"""

from __future__ import annotations

import re
import threading
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agent_assist.errors import PackError
from agent_assist.llm import grounded
from agent_assist.llm.backend import Generation, GenerationRequest, LLMBackend
from agent_assist.llm.grounded import SentenceEncoder, Snippet, Verdict
from agent_assist.llm.tasks_prompts import PromptTemplate, Task, load_prompts
from agent_assist.llm.tasks_transcript import estimate_tokens

__all__ = [
    "Cancelled",
    "Disposition",
    "Limits",
    "TaskContext",
    "TextSink",
    "check_answer",
    "clean_draft",
    "copies_example",
    "generate",
    "load_dispositions",
    "number_snippets",
    "room_for",
]

TextSink = Callable[[str], None]
"""Receives the draft so far (masked, not yet checked) as tokens arrive."""
_TAGS = re.compile(r"</?\s*snippet\b[^>]*>", re.IGNORECASE)
_UNFINISHED = re.compile(r"(?:\d[\d\s().+-]*|\S*@\S*)$")


class Cancelled(Exception):
    """The caller's cancel event stopped the generation."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Length limits and bounds (guardrails: short answers are faster and easier to check)."""

    turns: int = 4  # recent turns in a suggestion prompt
    turn_words: int = 40
    snippets: int = 3
    snippet_words: int = 90
    reply_sentences: int = 2
    reply_words: int = 45
    answer_sentences: int = 3
    answer_words: int = 70
    note_words: int = 90
    min_similarity: float = 0.45  # ask: weaker hits are not "in the pack" (as live retrieval)
    live_timeout_s: float = 15.0
    summary_timeout_s: float = 40.0
    summary_budget_s: float = 8.0  # a retry only if a second answer fits in it too


@dataclass(frozen=True, slots=True)
class Disposition:
    code: str
    label: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class TaskContext:
    """What every task needs from the pack and the setup; build with ``load``."""

    prompts: Mapping[Task, PromptTemplate]
    dispositions: tuple[Disposition, ...] = ()
    embedder: SentenceEncoder | None = None
    context_tokens: int = 2048  # the backend's context window
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def load(
        cls,
        pack_dir: Path | None = None,
        *,
        embedder: SentenceEncoder | None = None,
        context_tokens: int = 2048,
        limits: Limits | None = None,
    ) -> TaskContext:
        """Prompts (with the pack's overrides) and dispositions of the pack folder ``pack_dir``."""
        return cls(
            load_prompts(pack_dir),
            load_dispositions(pack_dir) if pack_dir else (),
            embedder,
            context_tokens,
            limits or Limits(),
        )


def load_dispositions(pack_dir: Path) -> tuple[Disposition, ...]:
    """The codes of ``pack_dir/dispositions.toml`` (none if the file is absent)."""
    path = pack_dir / "dispositions.toml"
    if not path.is_file():
        return ()
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get("disposition", [])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PackError(f"{path}: cannot read ({exc})", "run agent-assist pack validate") from exc
    return tuple(
        Disposition(str(e["code"]), str(e.get("label", e["code"])), str(e.get("description", "")))
        for e in entries
        if isinstance(e, dict) and e.get("code")
    )


def room_for(template: PromptTemplate, context_tokens: int, **values: str) -> int:
    """Tokens left for the call text in ``template`` rendered with ``values`` (the rest empty)."""
    messages = template.messages(**values)
    used = sum(estimate_tokens(m.content) + 8 for m in messages)  # + the chat template's tags
    return max(64, context_tokens - template.max_tokens - used - 16)


def number_snippets(hits: Sequence[Snippet], words: int) -> str:
    """The hits as ``<snippet id="n">`` blocks (cited as [n]), each cut to ``words`` words."""
    return "\n".join(
        grounded.as_data(grounded.trim(h.text, max_sentences=99, max_words=words), n)
        for n, h in enumerate(hits, 1)
    )


def generate(
    backend: LLMBackend,
    request: GenerationRequest,
    *,
    cancel: threading.Event | None = None,
    on_text: TextSink | None = None,
) -> Generation:
    """``backend.generate`` with the masked text so far passed to ``on_text``; raises ``Cancelled``.

    ``on_text`` never sees a number or email address still being streamed
    (its end is held back until a later token ends it), since masking cannot
    recognise half a card number.
    """
    parts: list[str] = []

    def on_token(token: str) -> None:
        parts.append(token)
        if on_text is not None:
            # A number or address still being written cannot be recognised yet: hold it back.
            on_text(_UNFINISHED.sub("", grounded.mask("".join(parts).strip())).rstrip())

    result = backend.generate(request, on_token=on_token, cancel=cancel)
    if result.finish == "cancelled":
        raise Cancelled
    return result


def clean_draft(text: str, finish: str, *, max_sentences: int, max_words: int) -> str:
    """The model's answer, masked, without a speaker label, quotes or echoed tags, within the limits.

    A draft that starts as the customer's next line keeps only what follows it.
    A generation cut off (``finish`` length or timeout) loses its unfinished last sentence.
    """
    text = _TAGS.sub("", text).strip()  # an echoed <snippet> tag
    if text.lower().startswith("customer:"):  # it went on as the customer: not a reply
        text = text.split("\n", 1)[1].strip() if "\n" in text else ""
    for prefix in ("Agent:", "Assistant:", "Answer:", "Reply:"):
        if text.lower().startswith(prefix.lower()):
            text = text[len(prefix) :].strip()
    text = grounded.mask(text.strip('"“”').strip())
    unfinished = finish in ("length", "timeout")
    return grounded.trim(text, max_sentences=max_sentences, max_words=max_words, unfinished=unfinished)


def copies_example(text: str, template: PromptTemplate) -> bool:
    """Whether ``text`` repeats the template's worked example (small models copy examples)."""

    def norm(value: str) -> str:
        return " ".join(re.findall(r"[a-z0-9]+", value.lower()))

    example = norm(template.example_assistant)
    return bool(example) and example in norm(text)


def check_answer(
    text: str, hits: Sequence[Snippet], embedder: SentenceEncoder | None
) -> tuple[bool, Verdict]:
    """(shown?, verdict): every sentence supported, at least one citation, none out of range."""
    if not text:
        return False, Verdict(False, (), "empty")
    verdict = grounded.check(text, [h.text for h in hits], embedder)
    in_range = all(1 <= n <= len(hits) for n in verdict.citations)
    return verdict.supported and bool(verdict.citations) and in_range, verdict
