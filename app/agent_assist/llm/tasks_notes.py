"""Free-text notes about a call: the coaching note (after it) and the transfer note (on demand).

Why no grounding check: these restate the call itself, not the pack, so there
are no snippets to check against. The guardrails that apply are the others:
the transcript is masked before the prompt (and the note after it), fitted to
the context like the summary's (``tasks_transcript``), and the note is cut to
``Limits.note_words``; a note that repeats the prompt's worked example is
dropped (a small model copies it). The coaching note works from the transcript alone until
pack checklists are tracked during the call.

Thread rules: runs on the caller's thread (the generation worker's).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from agent_assist.domain import FinalUtterance
from agent_assist.llm.backend import (
    AFTER_CALL_THREADS,
    BackendUnavailable,
    GenerationRequest,
    LLMBackend,
)
from agent_assist.llm.tasks_context import (
    TaskContext,
    TextSink,
    clean_draft,
    copies_example,
    generate,
    room_for,
)
from agent_assist.llm.tasks_transcript import fit_transcript

__all__ = ["Note", "NoteKind", "coaching_note", "transfer_note"]

NoteKind = Literal["coaching", "transfer"]


@dataclass(frozen=True, slots=True)
class Note:
    """A note of ``kind``; ``text`` is "" when the backend could not answer (``backend_error``)."""

    call_id: str
    kind: NoteKind
    text: str
    model: str
    backend: str
    prompt_version: str
    first_token_s: float | None
    total_s: float
    transcript: str  # how the call was fitted into the context
    backend_error: str = ""


def coaching_note(
    backend: LLMBackend,
    transcript: Sequence[FinalUtterance],
    *,
    call_id: str = "",
    context: TaskContext | None = None,
    cancel: threading.Event | None = None,
    on_text: TextSink | None = None,
    batch_threads: int | None = AFTER_CALL_THREADS,
) -> Note:
    """What went well and what to improve, for the agent, from the finished call."""
    return _note("coaching", backend, transcript, call_id, context, cancel, on_text, batch_threads)


def transfer_note(
    backend: LLMBackend,
    transcript: Sequence[FinalUtterance],
    *,
    call_id: str = "",
    context: TaskContext | None = None,
    cancel: threading.Event | None = None,
    on_text: TextSink | None = None,
) -> Note:
    """A hand-over for the next agent or tier, from the call so far."""
    return _note("transfer", backend, transcript, call_id, context, cancel, on_text)


def _note(
    kind: NoteKind,
    backend: LLMBackend,
    transcript: Sequence[FinalUtterance],
    call_id: str,
    context: TaskContext | None,
    cancel: threading.Event | None,
    on_text: TextSink | None,
    batch_threads: int | None = None,
) -> Note:
    ctx = context or TaskContext.load()
    template = ctx.prompts["coach" if kind == "coaching" else "transfer"]
    fitted = fit_transcript(transcript, room_for(template, ctx.context_tokens, transcript=""))
    how = f"{fitted.strategy} ({fitted.kept} of {fitted.total} lines)"
    note = Note(call_id, kind, "", backend.model, backend.name, template.version, None, 0.0, how)
    if not transcript:
        return note
    request = GenerationRequest(
        template.messages(transcript=fitted.text),
        max_tokens=template.max_tokens,
        temperature=template.temperature,
        timeout_s=ctx.limits.summary_timeout_s,
        batch_threads=batch_threads,
    )
    try:
        result = generate(backend, request, cancel=cancel, on_text=on_text)
    except BackendUnavailable as exc:
        return Note(call_id, kind, "", backend.model, backend.name, template.version, None, 0.0, how,
                    str(exc))  # fmt: skip
    text = clean_draft(result.text, result.finish, max_sentences=8, max_words=ctx.limits.note_words)
    if copies_example(text, template):
        text = ""  # the prompt's example, not a note about this call
    return Note(
        call_id, kind, text, result.model, result.backend, template.version,
        result.first_token_s, result.total_s, how,
    )  # fmt: skip
