"""Commands that run a call: ``transcribe``, ``listen``, ``demo``; and ``devices``, ``calls``.

Each builds an audio source and hands it to ``call_run.run_call``, which loads
the speech model, wires the store, a printer, the live knowledge retriever
(installed packs, or ``--pack-index``) and the generation worker (reply
suggestions under the cards and the end-of-call summary; ``live_llm``) to the
event bus and runs ``CallPipeline`` until the source ends or the user presses
Ctrl-C (which ends the call cleanly: finals for what was heard, the call row
marked completed, the cards for the last customer turn and the call's summary
printed). ``calls`` lists the call history, for ``summarize CALL_ID``.

Thread rules: every command runs on the main thread (see ``call_run``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from agent_assist.cli.gui_cmd import add_gui_args, run_gui
from agent_assist.cli.live_assist import add_knowledge_args, knowledge_source
from agent_assist.cli.live_llm import add_llm_args
from agent_assist.cli.render import FORMATS, TranscriptPrinter
from agent_assist.errors import UserError

__all__ = ["add_model_args", "add_parsers"]


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        default="tiny.en",
        help="speech model: tiny.en (fast, English, default), base (multilingual, more accurate), "
        "a model id from `agent-assist models list`, or a CTranslate2 model folder",
    )
    p.add_argument(
        "--language", default="en", help="spoken language code, or 'auto' (multilingual models)"
    )
    p.add_argument(
        "--threads", type=int, default=1, help="CPU threads for speech recognition (default 1)"
    )
    p.add_argument("--no-store", action="store_true", help="do not record the call in the call history")


def _add_output_args(p: argparse.ArgumentParser, *, live: bool) -> None:
    """Output format, partials, knowledge cards and the language model.

    ``live`` (listen, demo): partials and the model are on by default; a batch
    ``transcribe`` shows finals only and uses the model only with ``--assist``.
    """
    p.add_argument("--format", choices=FORMATS, default="text", help="output format (default text)")
    p.add_argument(
        "--partials",
        action=argparse.BooleanOptionalAction,
        default=live,
        help="show tentative text while someone is still speaking",
    )
    add_knowledge_args(p)
    add_llm_args(p, default_on=live)


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "transcribe",
        help="transcribe an audio file through the streaming pipeline",
        description="Transcribe an audio file. Knowledge cards show when a pack is installed; "
        "reply suggestions and the end-of-call summary only with --assist (or --llm/--llm-server).",
    )
    p.add_argument("file", type=Path, help="WAV/FLAC/OGG/MP3; stereo = agent left, customer right")
    p.add_argument("--realtime", action="store_true", help="replay at real speed (as a live call)")
    p.add_argument("--mix", action="store_true", help="treat a stereo file as one mixed channel")
    _add_output_args(p, live=False)
    add_model_args(p)
    p.set_defaults(func=_transcribe)

    p = sub.add_parser(
        "listen",
        help="transcribe a live call from audio devices (Ctrl-C ends it)",
        description="Transcribe a live call. Knowledge cards, reply suggestions under them and the "
        "end-of-call summary are on by default (--no-knowledge, --no-llm turn them off).",
    )
    p.add_argument("--agent", metavar="DEVICE", help="agent microphone (name or part of it)")
    p.add_argument(
        "--customer", metavar="DEVICE", help="customer side: the softphone's output monitor/loopback"
    )
    p.add_argument(
        "--device", metavar="DEVICE", help="single-device mode: one input with both voices mixed"
    )
    _add_output_args(p, live=True)
    add_model_args(p)
    p.set_defaults(func=_listen)

    p = sub.add_parser(
        "demo",
        help="play the bundled sample call through the sidebar in real time",
        description="Play the sample call as a live call, in the sidebar (--headless: in the "
        "terminal). Installs the example pack if no pack is; "
        "knowledge cards, reply suggestions and the end-of-call summary are on by default "
        "(--no-knowledge, --no-llm turn them off).",
    )
    p.add_argument("--fast", action="store_true", help="as fast as the CPU allows instead of real time")
    p.add_argument(
        "--headless",
        action="store_true",
        help="the terminal view instead of the sidebar (the default without a display)",
    )
    add_gui_args(p)
    _add_output_args(p, live=True)
    add_model_args(p)
    p.set_defaults(func=_demo)

    p = sub.add_parser("devices", help="list audio input devices")
    p.set_defaults(func=_devices)

    p = sub.add_parser("calls", help="the most recent calls in the call history (ids for summarize)")
    p.add_argument("--limit", type=int, default=20, help="how many calls (default 20)")
    p.set_defaults(func=_calls)


def _printer(args: argparse.Namespace) -> TranscriptPrinter:
    tty = sys.stdout.isatty()
    return TranscriptPrinter(args.format, sys.stdout, partials=args.partials, live_line=tty, colour=tty)


def _run(source: Any, args: argparse.Namespace) -> int:
    """Run one call from ``source`` with the store, printer, cards and model the args ask for."""
    from agent_assist.cli.call_run import run_call
    from agent_assist.cli.live_assist import SharedEmbedder
    from agent_assist.cli.live_llm import call_assist

    embedder = SharedEmbedder(threads=1)  # one for cards and grounding; the other core is speech's
    # Both resolved before the speech model loads: a mistake fails at once.
    knowledge = knowledge_source(args, install_example=args.command == "demo", embedder=embedder)
    assist = call_assist(args, embedder)
    printer = _printer(args)
    return run_call(
        source, args, printer=printer, knowledge=knowledge, assist=assist, embedder=embedder
    ).code


def _transcribe(args: argparse.Namespace) -> int:
    from agent_assist.audio.file_source import FileSource
    from agent_assist.clock import SystemClock

    source = FileSource(args.file, realtime=args.realtime, clock=SystemClock(), mix=args.mix)
    return _run(source, args)


def _listen(args: argparse.Namespace) -> int:
    from agent_assist.audio.device_source import DeviceSource

    if args.device and (args.agent or args.customer):
        raise UserError("--device (single-device mode) cannot be combined with --agent/--customer")
    source = DeviceSource.from_names(agent=args.agent, customer=args.customer, single=args.device)
    print(f"listening: {source.name} (Ctrl-C ends the call)", file=sys.stderr)
    return _run(source, args)


def _demo(args: argparse.Namespace) -> int:
    from agent_assist.audio.file_source import FileSource
    from agent_assist.clock import SystemClock
    from agent_assist.paths import project_root

    path = project_root() / "assets" / "sample_call.flac"
    if not path.is_file():
        raise UserError(
            f"the sample call {path} is missing",
            "regenerate it: python assets/sample_call/make_sample_call.py",
        )
    if not args.headless:
        from agent_assist.ui.app import has_display

        if has_display():
            return run_gui(args, demo=True, sample=path)
        print("note: no display found, so the terminal view (--headless)", file=sys.stderr)
    print(
        f"Agent Assist demo: {path.name} (agent left, customer right), "
        f"{'fast' if args.fast else 'real time'} — Ctrl-C stops",
        file=sys.stderr,
    )
    source = FileSource(path, realtime=not args.fast, clock=SystemClock())
    return _run(source, args)


def _devices(args: argparse.Namespace) -> int:
    from agent_assist.audio.devices import list_input_devices

    devices = list_input_devices()
    if not devices:
        raise UserError(
            "no audio input devices found",
            "plug in a headset, and check the sound server runs (Linux: `pactl list short sources`)",
        )
    print("inputs (--agent, --customer, --device):")
    for d in devices:
        print(d.describe())
    outputs = _loopback_outputs()
    if outputs:
        print("outputs whose sound can be captured (--customer loopback:NAME):")
        for line in outputs:
            print(line)
    return 0


def _loopback_outputs() -> list[str]:
    """Outputs for loopback capture, when soundcard is installed and can see any."""
    try:
        from agent_assist.audio.loopback_source import list_outputs

        return [o.describe() for o in list_outputs()]
    except (UserError, ImportError, OSError, RuntimeError):
        return []  # no soundcard, or no sound server: inputs are still listed


def _calls(args: argparse.Namespace) -> int:
    from agent_assist.store import Database

    with Database.open() as db:
        calls = db.list_calls(max(1, args.limit))
        summaries = {c.id: db.summary(c.id) for c in calls}
    if not calls:
        print("no calls in the call history yet (`agent-assist demo` makes one)")
        return 0
    print(f"{'CALL ID':<22} {'STARTED (UTC)':<20} {'STATUS':<11} {'LENGTH':>7} {'LINES':>5}  SUMMARY")
    for c in calls:
        length = f"{c.duration:.0f} s" if c.duration is not None else "-"
        s = summaries[c.id]
        made = (
            "-"
            if s is None
            else f"{s.data.get('disposition', '?')} ({'rules' if s.fallback else 'model'})"
        )
        print(
            f"{c.id:<22} {c.started_at[:19]:<20} {c.status:<11} {length:>7} {c.utterance_count:>5}  {made}"
        )
    return 0
