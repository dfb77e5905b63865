"""The end-of-call summary: structured, schema-constrained, validated, never invalid.

How: the transcript (masked, fitted to the context: ``tasks_transcript``) and
the pack's disposition codes go into the ``summary`` prompt; the request
carries the summary schema (``schema.summary_schema``) so the backend
constrains the output. The answer is parsed, masked again, normalised and
validated. An invalid answer (not JSON, wrong shape, cut off at
``max_tokens``, timed out, a copy of the prompt's example) is retried once
with another seed -- at a temperature of at least 0.5, since a new seed
changes nothing when sampling is greedy -- if a second answer as long as the
first still fits ``Limits.summary_budget_s`` (the agent is waiting for the
wrap-up), and that retry is cut at the budget. If that fails too, or the backend is
down, a minimal summary is made by rules from the transcript
(``fallback=True``; ``tasks_summary_rules``). Whatever happens, the returned
data validates against the schema. Identifiers are checked against the call
either way: the model's are kept only if said in the call, and tokens with
3+ digits it missed are added.

Warming: during the call the generation worker, when idle, evaluates this
prompt for the call so far into the backend's summary cache slot
(``warm_summary``), so at the end only the last lines and the answer remain
(``PromptWarmer``). The prompt is the same function of the transcript both
times, which is what makes the cached evaluation reusable up to the first
token that differs: usually the end of the warmed lines, earlier when a later
line changes an earlier one (one speaker's consecutive turns are masked as one
text, so a card number read across two turns masks both) or when the call no
longer fits whole. Then more is evaluated at the end; never anything wrong.

Thread rules: runs on the caller's thread (the generation worker's).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agent_assist.domain import FinalUtterance
from agent_assist.llm import grounded
from agent_assist.llm.backend import (
    AFTER_CALL_THREADS,
    SUMMARY_SLOT,
    BackendUnavailable,
    ChatMessage,
    GenerationRequest,
    LLMBackend,
    PromptWarmer,
)
from agent_assist.llm.schema import normalise, parse_json_object, summary_schema, validate
from agent_assist.llm.tasks_context import Disposition, TaskContext, generate, room_for
from agent_assist.llm.tasks_summary_rules import (
    checked_identifiers,
    rule_based_summary,
    without_empty_items,
    without_markup,
)
from agent_assist.llm.tasks_transcript import Fitted, fit_transcript

__all__ = ["CallSummary", "rule_based_summary", "summarize_call", "warm_summary"]


@dataclass(frozen=True, slots=True)
class CallSummary:
    """A call's summary (the schema's fields) and how it was made.

    ``valid``: the model's answer passed validation (first try or the retry);
    ``fallback``: it did not, or the backend was down (``backend_error``), and
    the fields come from rules. ``errors`` says why answers were rejected;
    ``transcript`` how the call was fitted into the context.
    """

    call_id: str
    reason_for_contact: str
    key_facts: tuple[str, ...]
    identifiers: tuple[str, ...]
    actions_taken: tuple[str, ...]
    resolution: str
    follow_ups: tuple[str, ...]
    sentiment_start: str
    sentiment_end: str
    disposition: str
    valid: bool
    fallback: bool
    attempts: int
    errors: tuple[str, ...]
    model: str
    backend: str
    prompt_version: str
    total_s: float
    transcript: str
    backend_error: str = ""

    def data(self) -> dict[str, Any]:
        """The summary object, as the schema describes it."""
        return {
            "reason_for_contact": self.reason_for_contact,
            "key_facts": list(self.key_facts),
            "identifiers": list(self.identifiers),
            "actions_taken": list(self.actions_taken),
            "resolution": self.resolution,
            "follow_ups": list(self.follow_ups),
            "sentiment_start": self.sentiment_start,
            "sentiment_end": self.sentiment_end,
            "disposition": self.disposition,
        }

    def to_json(self) -> str:
        return json.dumps(self.data(), ensure_ascii=False)


def summarize_call(
    backend: LLMBackend,
    transcript: Sequence[FinalUtterance],
    dispositions: Sequence[Disposition] | None = None,
    *,
    call_id: str = "",
    context: TaskContext | None = None,
    cancel: threading.Event | None = None,
    seed: int = 1,
    batch_threads: int | None = AFTER_CALL_THREADS,
) -> CallSummary:
    """The schema-valid summary of the call ``transcript`` (see the module doc).

    ``batch_threads``: prompt threads (None: the backend's own, as during a call)."""
    ctx = context or TaskContext.load()
    choices = ctx.dispositions if dispositions is None else tuple(dispositions)
    codes = tuple(d.code for d in choices)
    schema = summary_schema(codes)
    template = ctx.prompts["summary"]
    messages, fitted = _prompt(transcript, choices, ctx)
    how = f"{fitted.strategy} ({fitted.kept} of {fitted.total} lines)"
    errors: list[str] = []
    total = 0.0
    model, backend_name, error = backend.model, backend.name, ""
    attempts = 0
    began = time.perf_counter()
    temperature = template.temperature
    timeout = ctx.limits.summary_timeout_s
    for attempt_seed in (seed, seed + 1) if transcript else ():
        attempts += 1
        request = GenerationRequest(
            messages,
            max_tokens=template.max_tokens,
            temperature=temperature,
            json_schema=schema,
            seed=attempt_seed,
            timeout_s=timeout,
            batch_threads=batch_threads,
            cache_slot=SUMMARY_SLOT,  # warmed during the call (``warm_summary``), if the backend can
        )
        try:
            result = generate(backend, request, cancel=cancel)
        except BackendUnavailable as exc:
            error = str(exc)
            break
        total += result.total_s
        model, backend_name = result.model, result.backend
        data = parse_json_object(result.text)
        fields = normalise(_masked(data), schema) if data is not None else None
        problems = (
            validate(fields, schema)
            if fields is not None
            else [f"not a JSON object (finish: {result.finish})"]
        )
        copied = False
        if fields is not None and not problems:
            fields = without_markup(fields)
            had_reason = bool(fields["reason_for_contact"])
            fields = _without_copies(fields, template.example_assistant)
            copied = had_reason and not fields["reason_for_contact"]
            if copied:
                problems = ["a copy of the prompt's example"]
            elif not had_reason:
                problems = ["no reason for contact"]
        if fields is not None and not problems:
            fields = without_empty_items(fields)
            fields["identifiers"] = checked_identifiers(fields["identifiers"], transcript, schema)
            return _summary(fields, call_id, True, False, attempts, errors, model, backend_name,
                            template.version, total, how)  # fmt: skip
        errors.append(f"attempt {attempts} (seed {attempt_seed}): " + "; ".join(problems[:5]))
        if copied:  # the prompt, not the seed, makes a copy: measured 6 of 6 seeds copied again
            break
        # A retry sends the same prompt, whose evaluation llama.cpp keeps: it costs
        # about the first answer's generation time, not its prompt time.
        generating_s = result.total_s - (result.first_token_s or 0.0)
        left = ctx.limits.summary_budget_s - (time.perf_counter() - began)
        if generating_s > left:
            errors.append("no time for a retry: made by rules")
            break  # the agent waits for the wrap-up: rules now beat a late model answer
        timeout = min(left, timeout)  # and a retry slower than the first is cut at the budget
        temperature = max(temperature, 0.5)
    fields = rule_based_summary(transcript, codes, choices)
    return _summary(fields, call_id, False, True, attempts, errors, model, backend_name,
                    template.version, total, how, error)  # fmt: skip


def warm_summary(
    backend: PromptWarmer,
    transcript: Sequence[FinalUtterance],
    *,
    context: TaskContext | None = None,
) -> int | None:
    """Evaluate the summary prompt of the call so far into the backend's summary slot.

    Called by the generation worker while the call runs, when it has nothing
    else to do, so the end-of-call summary finds all but the last lines
    already evaluated (``summarize_call`` builds the very same prompt). Returns
    the prompt tokens evaluated now, or None when the call no longer fits the
    context whole: from then on its prompt keeps changing in the middle
    (``fit_transcript`` drops lines), so warming it line by line would evaluate
    most of it again each time. Raises ``BackendUnavailable``.
    """
    ctx = context or TaskContext.load()
    messages, fitted = _prompt(transcript, ctx.dispositions, ctx)
    if fitted.strategy != "full":
        return None
    return backend.prefill(GenerationRequest(messages, max_tokens=1, cache_slot=SUMMARY_SLOT))


def _prompt(
    transcript: Sequence[FinalUtterance], choices: Sequence[Disposition], ctx: TaskContext
) -> tuple[tuple[ChatMessage, ...], Fitted]:
    """The summary prompt's messages and the transcript fitted into them."""
    template = ctx.prompts["summary"]
    listed = "\n".join(f"{d.code}: {d.label}" for d in choices) or "none"
    budget = room_for(template, ctx.context_tokens, transcript="", dispositions=listed)
    fitted = fit_transcript(transcript, budget)
    return template.messages(transcript=fitted.text, dispositions=listed), fitted


def _summary(
    fields: dict[str, Any], call_id: str, valid: bool, fallback: bool, attempts: int,
    errors: list[str], model: str, backend: str, version: str, total: float, how: str,
    error: str = "",
) -> CallSummary:  # fmt: skip
    return CallSummary(
        call_id=call_id,
        reason_for_contact=fields["reason_for_contact"],
        key_facts=tuple(fields["key_facts"]),
        identifiers=tuple(fields["identifiers"]),
        actions_taken=tuple(fields["actions_taken"]),
        resolution=fields["resolution"],
        follow_ups=tuple(fields["follow_ups"]),
        sentiment_start=fields["sentiment_start"],
        sentiment_end=fields["sentiment_end"],
        disposition=fields["disposition"],
        valid=valid,
        fallback=fallback,
        attempts=attempts,
        errors=tuple(errors),
        model=model,
        backend=backend,
        prompt_version=version,
        total_s=total,
        transcript=how,
        backend_error=error,
    )


_COPYABLE = ("reason_for_contact", "key_facts", "actions_taken", "resolution", "follow_ups")


def _norm(text: Any) -> str:
    return " ".join(str(text).lower().split())


def _without_copies(fields: dict[str, Any], example: str) -> dict[str, Any]:
    """``fields`` with every value lifted from the prompt's example removed.

    A small model often lifts one of the example's facts ("Parcel is at the
    local depot") into an otherwise own summary: that fact goes, the rest
    stays. A lifted reason for contact leaves the reason empty, which the
    caller treats as a copied summary (the disposition aside: the schema
    forces a pack code; identifiers are checked against the call anyway).
    """
    shown = parse_json_object(example) or {}
    out = dict(fields)
    for key in _COPYABLE:
        theirs = shown.get(key)
        lifted = {_norm(i) for i in (theirs if isinstance(theirs, list) else [theirs]) if i}
        value = out.get(key)
        if isinstance(value, list):
            out[key] = [i for i in value if _norm(i) not in lifted]
        elif isinstance(value, str) and _norm(value) in lifted:
            out[key] = ""
    return out


def _copies(fields: Any, example: str) -> bool:
    """Whether ``fields`` lift anything from the prompt's example summary."""
    if not isinstance(fields, dict):
        return False
    return _without_copies(fields, example) != fields


def _masked(value: Any) -> Any:
    """Every string in ``value`` with personal data masked (the model may echo or invent some)."""
    if isinstance(value, str):
        return grounded.mask(value)
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    return value
