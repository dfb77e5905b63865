"""``agent-assist ask``, ``suggest`` and ``summarize``: the language model from the command line.

For supervisors testing a pack and for scripts (``--json``):

* ``ask "QUESTION"``: the pack's answer with its citations (pack/doc#anchor and
  heading path of each), or exactly ``not in the knowledge pack``; exit 0 either way.
* ``suggest "CUSTOMER UTTERANCE"``: what a live call would show for that turn
  as the first of a call: the knowledge cards (the live retriever's query,
  threshold and selection), the reply suggestion, the grounding verdict of each
  sentence (and of the rejected draft when the reply is an extractive quote),
  latency and model.
* ``summarize CALL_ID|AUDIO_FILE`` (``summarize_cmd``): the structured summary.

Both search the installed packs, or the built folder ``--pack-index``. A model
that is not installed or a GGUF path that is wrong is an ``error:``/``fix:``
(exit 7). A backend that is down (a server not answering, a file that is not a
model) does not stop ``ask`` or ``suggest``: they print the extractive answer
-- a sentence quoted from the best snippet -- with a warning line on stderr.

Thread rules: everything runs on the main thread; the backend generates there
(no GUI to keep responsive).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent_assist.cli.live_llm import add_backend_args, open_backend
from agent_assist.cli.render import card_lines, jsonable
from agent_assist.cli.render_assist import suggestion_line

if TYPE_CHECKING:
    from agent_assist.domain import KnowledgeCard, SentenceCheck
    from agent_assist.llm.backend import LLMBackend
    from agent_assist.llm.grounded import Snippet
    from agent_assist.llm.tasks import Searcher
    from agent_assist.llm.tasks_context import TaskContext

__all__ = ["add_parsers"]


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="one JSON object on stdout, for scripts")
    add_backend_args(p)
    p.add_argument(
        "--pack-index",
        metavar="FOLDER",
        type=Path,
        help="search this index (a folder made by `agent-assist pack build`) instead of the "
        "installed packs; its pack's prompts apply when the pack folder is next to it",
    )


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "ask",
        help="answer a question from the knowledge packs only, with citations, or say it is not there",
    )
    p.add_argument("question")
    _common(p)
    p.set_defaults(func=_ask)
    p = sub.add_parser(
        "suggest",
        help="the knowledge cards and the reply suggestion (with its grounding verdict) for a customer turn",
        description="What a live call would show for this customer turn: the knowledge cards above "
        "the live threshold, the reply suggestion, the grounding verdict of each sentence (and of "
        "the model's rejected draft when the reply is an extractive quote), latency and model.",
    )
    p.add_argument("utterance", metavar="CUSTOMER_UTTERANCE")
    _common(p)
    p.set_defaults(func=_suggest)
    from agent_assist.cli import summarize_cmd

    summarize_cmd.add_parser(sub)


def _setup(args: argparse.Namespace) -> tuple[LLMBackend, Searcher, TaskContext]:
    """Backend (checked first: a bad --llm fails at once), searcher, pack context."""
    from agent_assist.knowledge.embedder import Embedder
    from agent_assist.llm.tasks_context import TaskContext
    from agent_assist.session import open_searcher, pack_source

    backend = open_backend(args)
    embedder = Embedder()
    searcher = open_searcher(args.pack_index, embedder)
    return backend, searcher, TaskContext.load(pack_source(args.pack_index), embedder=embedder)


def _down(backend: LLMBackend, error: str) -> str:
    """Why the backend could not answer ("" if it could); read before it is closed."""
    from agent_assist.llm.backend import BackendState

    if error or backend.state == BackendState.DOWN:
        return backend.detail or error
    return ""


def _warn(down: str) -> None:
    if down:
        print(f"warning: the language model is unavailable ({down}); answered from the pack "
              "alone (extractive)", file=sys.stderr)  # fmt: skip


def _cited(snippets: Sequence[Snippet], numbers: Sequence[int]) -> list[dict[str, Any]]:
    return [
        {"n": n, "pack": s.pack, "doc_id": s.doc_id, "anchor": s.anchor, "chunk_id": s.chunk_id,
         "title": s.title, "heading_path": list(s.heading_path), "text": s.text}
        for n in numbers
        if 1 <= n <= len(snippets)
        for s in (snippets[n - 1],)
    ]  # fmt: skip


def _timing(model: str, backend: str, first: float | None, total: float) -> str:
    first_s = "-" if first is None else f"{first:.2f} s"
    return f"{model} ({backend}): first token {first_s}, total {total:.2f} s"


def _ask(args: argparse.Namespace) -> int:
    from agent_assist.llm.tasks import ask

    backend, searcher, context = _setup(args)
    try:
        answer = ask(backend, args.question, searcher, context=context)
        down = _down(backend, answer.backend_error)
    finally:
        _close(searcher, backend)
    _warn(down)
    cited = _cited(answer.snippets, answer.citations) if answer.found else []
    if args.json:
        print(json.dumps({
            "question": answer.question, "found": answer.found, "answer": answer.text,
            "extractive": answer.extractive, "citations": cited,
            "verdict": jsonable(answer.verdict) if answer.verdict else None,
            "model": answer.model, "backend": answer.backend, "prompt_version": answer.prompt_version,
            "first_token_s": jsonable(answer.first_token_s), "total_s": jsonable(answer.total_s),
            "backend_error": down,
        }))  # fmt: skip
        return 0
    print(answer.text)
    for c in cited:
        print(f"  [{c['n']}] {c['pack']}/{c['doc_id']}#{c['anchor']}  {' > '.join(c['heading_path'])}")
    if answer.found:
        how = "quoted from the pack (extractive)" if answer.extractive else "grounded answer"
        timing = _timing(answer.model, answer.backend, answer.first_token_s, answer.total_s)
        print(f"-- {how}; {'the model was unavailable' if down else timing}", file=sys.stderr)
    return 0


def _suggest(args: argparse.Namespace) -> int:
    from agent_assist.assist.options import RetrievalOptions
    from agent_assist.assist.query import build_query, content_words
    from agent_assist.assist.select import Shown, select_cards
    from agent_assist.domain import FinalUtterance, Speaker
    from agent_assist.llm.tasks import suggest_reply

    opts = RetrievalOptions()
    backend, searcher, context = _setup(args)
    query = build_query(args.utterance, "", None, latest_weight=opts.latest_weight)
    cards: list[KnowledgeCard] = []
    reason = "too few content words to search (a live call skips such a turn)"
    try:
        if len(content_words(args.utterance)) >= opts.min_content_words:
            hits: Any = searcher.search(query, opts.candidates)
            cards = select_cards(hits, Shown(), min_similarity=opts.min_similarity,
                                 max_cards=opts.max_cards, max_drop=opts.max_drop,
                                 near_duplicate=opts.near_duplicate)  # fmt: skip
            if max((c.similarity for c in cards), default=0.0) < opts.min_confidence:
                cards, reason = [], "no knowledge card above the live threshold"
        turn = FinalUtterance("cli", "cli:customer:1", Speaker.CUSTOMER, 0.0, 0.0, args.utterance, 1.0)
        s = suggest_reply(backend, [turn], cards, context=context) if cards else None
        down = _down(backend, s.backend_error if s is not None else "")
    finally:
        _close(searcher, backend)
    if cards and s is None:
        reason = "no sentence the snippets support (draft rejected, nothing to quote)"
    _warn(down)
    if args.json:
        print(json.dumps({
            "utterance": args.utterance, "query": query,
            "confidence": jsonable(max((c.similarity for c in cards), default=0.0)),
            "cards": [{"n": n, **jsonable(c)} for n, c in enumerate(cards, 1)],
            "suggestion": None if s is None else {
                "text": s.text, "citations": list(s.citations), "snippet_ids": list(s.snippet_ids),
                "extractive": s.extractive, "grounded": s.grounded, "verdict": s.verdict_summary,
                "sentences": jsonable(s.verdict.sentences), "draft": s.draft,
                "draft_sentences": jsonable(s.draft_verdict.sentences) if s.draft_verdict else None,
                "model": s.model, "backend": s.backend, "prompt_version": s.prompt_version,
                "first_token_s": jsonable(s.first_token_s), "total_s": jsonable(s.total_s),
            },
            "reason": "" if s is not None else reason,
            "backend_error": down,
        }))  # fmt: skip
        return 0
    for n, card in enumerate(cards, 1):
        print(f"  [{n}] " + card_lines(card).lstrip(), end="")
    if s is None:
        print(f"no suggestion: {reason}")
        return 0
    print(suggestion_line(s.text, extractive=s.extractive, grounded=s.grounded), end="")
    print(_sentences("verdict", s.verdict.sentences), end="")
    if s.draft_verdict is not None:  # the model's own draft, rejected
        print(f'  draft: "{" ".join(s.draft.split())}"  (rejected)')
        print(_sentences("draft verdict", s.draft_verdict.sentences), end="")
    timing = _timing(s.model, s.backend, s.first_token_s, s.total_s)
    print(f"  {s.verdict_summary}; {'the model was unavailable' if down else timing}")
    return 0


def _sentences(title: str, checks: Sequence[SentenceCheck]) -> str:
    lines = [f"  {title}:"]
    for c in checks:
        mark = "supported" if c.supported else "UNSUPPORTED"
        lines.append(f'    {mark}: "{c.text}"' + (f" -- {c.reason}" if c.reason else ""))
    return "\n".join(lines) + "\n"


def _close(searcher: object, backend: LLMBackend) -> None:
    close = getattr(searcher, "close", None)
    if callable(close):
        close()
    backend.close()
