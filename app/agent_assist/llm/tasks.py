"""Generation tasks, grounded: reply suggestions and answers to the agent's questions.

Small models invent things, so no draft is trusted: personal data is masked
before any prompt, snippets are numbered ([1], [2]) and wrapped as data, the
draft is cut to length and every sentence must be supported by the snippets it
cites (``grounded.check``). A draft that fails is replaced by the best answer
sentence quoted from a snippet (``extractive``); when there is none, or when
retrieval found nothing confident, nothing is shown (suggestions) or the
answer is exactly ``NOT_IN_PACK`` (ask).

Failures are values, not exceptions: when the backend cannot answer
(``BackendUnavailable``) a task still returns what it can without the model
(the extractive quote; the rule-based summary) with ``backend_error`` set, so
the caller can show the backend's state and carry on. A cancelled generation
raises ``Cancelled`` (the caller set the event, it knows why).

Summaries live in ``tasks_summary``, coaching and transfer notes in
``tasks_notes``, the shared context in ``tasks_context``, prompt files in
``tasks_prompts``, call text in ``tasks_transcript``.

Thread rules: the functions run on the caller's thread and call the backend
there (the generation worker owns it); ``on_text`` runs on that thread too.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from agent_assist.domain import FinalUtterance, Speaker
from agent_assist.llm import grounded
from agent_assist.llm.backend import BackendUnavailable, GenerationRequest, LLMBackend
from agent_assist.llm.grounded import Snippet, Verdict
from agent_assist.llm.tasks_context import (
    Cancelled,
    TaskContext,
    TextSink,
    check_answer,
    clean_draft,
    generate,
    number_snippets,
)
from agent_assist.llm.tasks_transcript import masked_texts, turn_lines

__all__ = ["NOT_IN_PACK", "Answer", "Cancelled", "Searcher", "Suggestion", "ask", "suggest_reply"]

NOT_IN_PACK = "not in the knowledge pack"


class Searcher(Protocol):
    def search(self, query: str, k: int) -> Sequence[Snippet]: ...


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A reply the agent could say, with what it was built from.

    ``snippet_ids[n - 1]`` is the chunk cited as [n]. ``draft`` is the model's
    own text and ``draft_verdict`` its check (kept when the draft was rejected
    and ``text`` is an extractive quote).
    """

    text: str
    citations: tuple[int, ...]
    snippet_ids: tuple[str, ...]
    utterance_ids: tuple[str, ...]
    extractive: bool
    grounded: bool
    verdict: Verdict
    verdict_summary: str
    model: str
    backend: str
    prompt_version: str
    first_token_s: float | None
    total_s: float
    draft: str = ""
    draft_verdict: Verdict | None = None
    backend_error: str = ""


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer to the agent's question, from the pack only (``found``) or ``NOT_IN_PACK``."""

    question: str
    text: str
    found: bool
    citations: tuple[int, ...] = ()
    snippets: tuple[Snippet, ...] = ()
    extractive: bool = False
    verdict: Verdict | None = None
    model: str = ""
    backend: str = ""
    prompt_version: str = ""
    first_token_s: float | None = None
    total_s: float = 0.0
    backend_error: str = ""


def suggest_reply(
    backend: LLMBackend,
    turns: Sequence[FinalUtterance],
    hits: Sequence[Snippet],
    *,
    context: TaskContext | None = None,
    cancel: threading.Event | None = None,
    on_text: TextSink | None = None,
    seed: int | None = None,
) -> Suggestion | None:
    """One or two sentences the agent could say next, citing ``hits`` -- or None.

    ``turns`` is the call so far (the last customer turn is answered); ``hits``
    the confident knowledge cards of that turn, best first. None when there
    are no hits, or when the draft fails the grounding check and no snippet
    sentence answers the turn.
    """
    if not hits:
        return None
    ctx = context or TaskContext.load()
    lim = ctx.limits
    hits = list(hits)[: lim.snippets]
    recent = list(turns)[-lim.turns :]
    at = max((i for i, t in enumerate(recent) if t.speaker != Speaker.AGENT), default=len(recent) - 1)
    # Masked together: a card number read across the last two customer turns is caught.
    masked = masked_texts(recent[: at + 1])
    customer = grounded.neutralise(masked[at]) if recent else ""
    template = ctx.prompts["suggest"]
    request = GenerationRequest(
        template.messages(
            snippets=number_snippets(hits, lim.snippet_words),
            turns="\n".join(turn_lines(recent[:at], words=lim.turn_words, masked=masked)),
            customer=customer,
        ),
        max_tokens=template.max_tokens,
        temperature=template.temperature,
        stop=("\nCustomer:", "\nAgent:", "\n\n"),
        seed=seed,
        timeout_s=lim.live_timeout_s,
    )
    # What the answer was built from; the shown text and its verdict are filled in below.
    base = Suggestion(
        "", (), tuple(h.chunk_id for h in hits), tuple(t.utterance_id for t in recent[: at + 1]),
        extractive=False, grounded=False, verdict=Verdict(False, (), "none"), verdict_summary="",
        model=backend.model, backend=backend.name, prompt_version=template.version,
        first_token_s=None, total_s=0.0,
    )  # fmt: skip
    try:
        result = generate(backend, request, cancel=cancel, on_text=on_text)
    except BackendUnavailable as exc:
        return _quote(customer, hits, ctx, replace(base, backend_error=str(exc)), "backend unavailable")
    base = replace(
        base, model=result.model, backend=result.backend, first_token_s=result.first_token_s,
        total_s=result.total_s, draft=result.text,
    )  # fmt: skip
    text = clean_draft(
        result.text, result.finish, max_sentences=lim.reply_sentences, max_words=lim.reply_words
    )
    ok, verdict = check_answer(text, hits, ctx.embedder)
    if not ok:
        base = replace(base, draft_verdict=verdict)
        return _quote(customer, hits, ctx, base, f"draft rejected: {verdict.summary}")
    return replace(
        base, text=text, citations=verdict.citations, grounded=True, verdict=verdict,
        verdict_summary=verdict.summary,
    )  # fmt: skip


def _quote(
    question: str, hits: Sequence[Snippet], ctx: TaskContext, base: Suggestion, why: str
) -> Suggestion | None:
    """The extractive fallback: a snippet sentence that answers ``question``, or None."""
    found = grounded.extract(question, hits, ctx.embedder)
    if found is None:
        return None
    verdict = found.verdict()
    return replace(
        base, text=found.text, citations=verdict.citations, extractive=True, grounded=True,
        verdict=verdict, verdict_summary=f"{why}; quoted snippet [{found.number}]",
    )  # fmt: skip


def ask(
    backend: LLMBackend,
    question: str,
    searcher: Searcher,
    *,
    context: TaskContext | None = None,
    cancel: threading.Event | None = None,
    on_text: TextSink | None = None,
) -> Answer:
    """The pack's answer to ``question`` with citations, or exactly ``NOT_IN_PACK``."""
    ctx = context or TaskContext.load()
    lim = ctx.limits
    masked = grounded.mask(question.strip())
    hits = [h for h in searcher.search(masked, lim.snippets * 2) if h.similarity >= lim.min_similarity]
    hits = hits[: lim.snippets]
    if not hits:
        return Answer(question, NOT_IN_PACK, False)
    template = ctx.prompts["ask"]
    request = GenerationRequest(
        template.messages(snippets=number_snippets(hits, lim.snippet_words), question=masked),
        max_tokens=template.max_tokens,
        temperature=template.temperature,
        stop=("\nQuestion:", "\n\n"),
        timeout_s=lim.live_timeout_s,
    )
    answer = Answer(
        question, NOT_IN_PACK, False, snippets=tuple(hits), model=backend.model,
        backend=backend.name, prompt_version=template.version,
    )  # fmt: skip
    try:
        result = generate(backend, request, cancel=cancel, on_text=on_text)
    except BackendUnavailable as exc:
        answer = replace(answer, backend_error=str(exc))
    else:
        answer = replace(
            answer, model=result.model, backend=result.backend,
            first_token_s=result.first_token_s, total_s=result.total_s,
        )  # fmt: skip
        text = clean_draft(
            result.text, result.finish, max_sentences=lim.answer_sentences, max_words=lim.answer_words
        )
        ok, verdict = check_answer(text, hits, ctx.embedder)
        if ok:
            return replace(answer, text=text, found=True, citations=verdict.citations, verdict=verdict)
        answer = replace(answer, verdict=verdict)
    found = grounded.extract(masked, hits, ctx.embedder)
    if found is None:
        return answer
    quote = found.verdict()
    return replace(
        answer, text=found.text, found=True, citations=quote.citations, extractive=True, verdict=quote
    )
