"""``agent-assist summarize CALL_ID|AUDIO_FILE [--json]``: the structured summary of a call.

A CALL_ID (``agent-assist calls`` lists them) is summarized from its stored
final utterances. An AUDIO_FILE is first transcribed through the same
streaming pipeline as ``transcribe`` (at full speed; stored as a call unless
``--no-store``), then summarized. The summary is schema-valid whatever
happens: the model's answer, validated (one retry with another seed), or a
minimal one made by rules from the transcript when the model's answers were
invalid or the backend is down (a warning says so; exit 0). The disposition
is one of the codes of the first installed pack (or of the ``--pack-index``
pack). The summary is stored with the call (a newer one replaces it).

Output: the summary block (text) or one JSON object (``--json``): the
summary under ``summary`` plus how it was made (``valid``, ``fallback``,
model, attempts, errors, time) and whether it was ``stored``.

Thread rules: runs on the main thread (the pipeline has its own, see ``call_run``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent_assist.cli.live_llm import add_backend_args, open_backend
from agent_assist.cli.render_assist import summary_block, summary_how
from agent_assist.errors import AudioError, UserError

if TYPE_CHECKING:
    from agent_assist.domain import FinalUtterance
    from agent_assist.llm.tasks_summary import CallSummary

__all__ = ["add_parser"]

_AUDIO = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus", ".webm")


def add_parser(sub: Any) -> None:
    from agent_assist.cli.call_cmds import add_model_args

    p = sub.add_parser(
        "summarize",
        help="the structured summary of a stored call, or of an audio file (transcribed first)",
        description="The schema-valid summary and disposition of a stored call (its final "
        "utterances), or of an audio file transcribed first through the streaming pipeline and "
        "stored unless --no-store. Says whether the model made it or, its answers invalid or the "
        "model down, rules did. The summary is stored with the call.",
    )
    p.add_argument(
        "target", metavar="CALL_ID|AUDIO_FILE", help="a call id (`agent-assist calls`) or a file"
    )
    p.add_argument("--json", action="store_true", help="one JSON object on stdout, for scripts")
    add_backend_args(p)
    p.add_argument(
        "--pack-index", metavar="FOLDER", type=Path,
        help="take the disposition codes from the pack of this built index (default: the first installed pack)",
    )  # fmt: skip
    add_model_args(p)  # for an audio file: --model, --language, --threads, --no-store
    p.set_defaults(func=_summarize, partials=False, no_knowledge=True)


def _summarize(args: argparse.Namespace) -> int:
    from agent_assist.llm.tasks_context import TaskContext
    from agent_assist.llm.tasks_summary import summarize_call
    from agent_assist.session import pack_source

    path = Path(args.target).expanduser()
    kept = None if path.is_file() else _stored_call(args.target, path)  # an unknown id fails here
    backend = open_backend(args)  # a missing model fails before any transcription
    context = TaskContext.load(pack_source(args.pack_index))
    try:
        if kept is None:
            call_id, finals, stored, code = _transcribe(path, args)
        else:
            call_id, finals, stored, code = args.target, kept, True, 0
        print(f"summarizing {len(finals)} utterances with {backend.model} ...", file=sys.stderr)
        summary = summarize_call(backend, finals, call_id=call_id, context=context)
    finally:
        backend.close()
    if stored:
        _store(summary)
    if summary.backend_error:
        print(f"warning: the language model is unavailable ({summary.backend_error}); "
              "the summary was made by rules from the transcript", file=sys.stderr)  # fmt: skip
    elif summary.fallback and summary.errors:
        print("note: the model's answers were not valid summaries, so it was made by rules: "
              + " | ".join(summary.errors), file=sys.stderr)  # fmt: skip
    if args.json:
        print(json.dumps({
            "call_id": call_id, "summary": summary.data(), "valid": summary.valid,
            "fallback": summary.fallback, "model": summary.model, "backend": summary.backend,
            "prompt_version": summary.prompt_version, "attempts": summary.attempts,
            "errors": list(summary.errors), "total_s": round(summary.total_s, 3),
            "transcript": summary.transcript, "utterances": len(finals), "stored": stored,
            "backend_error": summary.backend_error,
        }))  # fmt: skip
        return code
    how = summary_how(valid=summary.valid, fallback=summary.fallback, model=summary.model,
                      unavailable=bool(summary.backend_error))  # fmt: skip
    print(f"call {call_id}: {len(finals)} utterances")
    print(summary_block(summary.data(), how=how), end="")
    where = f"stored with call {call_id}" if stored else "not stored"
    print(f"-- {summary.total_s:.1f} s of generation; {where}", file=sys.stderr)
    return code


def _stored_call(target: str, path: Path) -> list[FinalUtterance]:
    """The final utterances of the stored call ``target``; a clear error if there is none."""
    if path.is_dir():
        raise AudioError(f"{path} is a folder, not an audio file", "give an audio file or a call id")
    from agent_assist.store import Database

    with Database.open() as db:
        call = db.get_call(target)
        finals = db.utterances(target) if call is not None else []
    if call is not None:
        if not finals:
            print(f"note: call {target} has no utterances", file=sys.stderr)
        return finals
    if path.suffix.lower() in _AUDIO or os.sep in target or "/" in target:
        raise AudioError(f"audio file {path} does not exist", "check the path")
    raise UserError(
        f"no call '{target}' in the call history",
        "list the recent calls and their ids with `agent-assist calls`, or give an audio file",
    )


def _transcribe(path: Path, args: argparse.Namespace) -> tuple[str, list[FinalUtterance], bool, int]:
    """(call id, finals, stored?, exit code) of the file through the streaming pipeline.

    The exit code is not 0 when the file was damaged part-way (what was read
    is summarized) or the call could not be stored; ``run_call`` said why.
    """
    from agent_assist.audio.file_source import FileSource
    from agent_assist.cli.call_run import run_call
    from agent_assist.clock import SystemClock

    print(f"transcribing {path.name} ...", file=sys.stderr)
    source = FileSource(path, realtime=False, clock=SystemClock())
    result = run_call(source, args, printer=None)
    return result.call_id, result.finals, result.stored, result.code


def _store(summary: CallSummary) -> None:
    """The summary, with the call (through the same recorder a live call uses)."""
    from agent_assist.domain import CallSummaryReady
    from agent_assist.store import CallRecorder, Database

    event = CallSummaryReady(
        summary.call_id, summary.to_json(), summary.disposition, summary.valid, summary.fallback,
        summary.model, summary.backend, summary.prompt_version, summary.total_s,
    )  # fmt: skip
    with Database.open() as db:
        CallRecorder(db)(event)
