"""Guardrails around generation: pure Python, no LLM calls, no Qt.

Small local models invent things and pack documents may carry hostile text, so
every task runs its inputs and outputs through these checks:

* before the prompt: ``mask_pii`` (cards, SSNs, emails, phones, IBANs) on every
  transcript line and typed question; ``as_data``/``data_blocks`` put snippets in
  delimited blocks with prompt-injection text neutralised (``looks_like_injection``
  flags the document);
* after generation: ``trim`` to the length limit, ``check_grounding`` on every
  sentence against the snippets it cites, and, when the draft fails,
  ``extractive_answer`` (the best sentence of the top snippets, shown as
  extractive).

Modules: ``pii``, ``sentences``, ``lexical`` and ``evidence`` (the word-level
facts and checks of the grounding gate), ``vectors`` (the cached sentence
vectors), ``grounding``, ``fallback``, ``injection``, ``limits``.

Thread rules: every function is pure (the grounding vector cache is locked),
so any thread may call them; the embedder passed in must be shareable.
"""

from __future__ import annotations

from agent_assist.llm.guard.fallback import Extract, extractive_answer
from agent_assist.llm.guard.grounding import (
    DEFAULT_METHOD,
    GroundingVerdict,
    SentenceVerdict,
    check_grounding,
)
from agent_assist.llm.guard.injection import as_data, data_blocks, looks_like_injection, neutralise
from agent_assist.llm.guard.limits import Trimmed, trim
from agent_assist.llm.guard.pii import Masked, PiiSpan, mask_pii
from agent_assist.llm.guard.sentences import citations, split_sentences, strip_citations
from agent_assist.llm.guard.vectors import SentenceEncoder

__all__ = [
    "DEFAULT_METHOD",
    "Extract",
    "GroundingVerdict",
    "Masked",
    "PiiSpan",
    "SentenceEncoder",
    "SentenceVerdict",
    "Trimmed",
    "as_data",
    "check_grounding",
    "citations",
    "data_blocks",
    "extractive_answer",
    "looks_like_injection",
    "mask_pii",
    "neutralise",
    "split_sentences",
    "strip_citations",
    "trim",
]
