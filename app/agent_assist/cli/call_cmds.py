"""Commands that run a call: ``transcribe``, ``listen``, ``demo``, and ``devices``.

Each builds an audio source, loads the speech model, wires the store, a
printer and (with ``--pack-index``) the live knowledge retriever to the event
bus and runs ``CallPipeline`` until the source ends or the user presses Ctrl-C
(which ends the call cleanly: finals for what was heard, the call row marked
completed, the cards for the last customer turn printed).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent_assist.cli.live_assist import add_knowledge_args, knowledge_source, start_retriever
from agent_assist.cli.render import FORMATS, TranscriptPrinter
from agent_assist.domain import Event, FinalUtterance, KnowledgeCards
from agent_assist.errors import UserError

__all__ = ["add_parsers"]


def _add_model_args(p: argparse.ArgumentParser) -> None:
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


def _add_output_args(p: argparse.ArgumentParser, default_partials: bool) -> None:
    p.add_argument("--format", choices=FORMATS, default="text", help="output format (default text)")
    p.add_argument(
        "--partials",
        action=argparse.BooleanOptionalAction,
        default=default_partials,
        help="show tentative text while someone is still speaking",
    )
    add_knowledge_args(p)


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("transcribe", help="transcribe an audio file through the streaming pipeline")
    p.add_argument("file", type=Path, help="WAV/FLAC/OGG/MP3; stereo = agent left, customer right")
    p.add_argument("--realtime", action="store_true", help="replay at real speed (as a live call)")
    p.add_argument("--mix", action="store_true", help="treat a stereo file as one mixed channel")
    _add_output_args(p, default_partials=False)
    _add_model_args(p)
    p.set_defaults(func=_transcribe)

    p = sub.add_parser("listen", help="transcribe a live call from audio devices (Ctrl-C ends it)")
    p.add_argument("--agent", metavar="DEVICE", help="agent microphone (name or part of it)")
    p.add_argument(
        "--customer", metavar="DEVICE", help="customer side: the softphone's output monitor/loopback"
    )
    p.add_argument(
        "--device", metavar="DEVICE", help="single-device mode: one input with both voices mixed"
    )
    _add_output_args(p, default_partials=True)
    _add_model_args(p)
    p.set_defaults(func=_listen)

    p = sub.add_parser("demo", help="play the bundled sample call through the pipeline in real time")
    p.add_argument("--fast", action="store_true", help="as fast as the CPU allows instead of real time")
    p.add_argument("--headless", action="store_true", help="terminal view (the only view for now)")
    _add_output_args(p, default_partials=True)
    _add_model_args(p)
    p.set_defaults(func=_demo)

    p = sub.add_parser("devices", help="list audio input devices")
    p.set_defaults(func=_devices)


def _printer(args: argparse.Namespace) -> TranscriptPrinter:
    tty = sys.stdout.isatty()
    return TranscriptPrinter(args.format, sys.stdout, partials=args.partials, live_line=tty, colour=tty)


class _Tally:
    """Counts finals per speaker (STT thread) and knowledge cards (retriever
    thread) for the closing summary line."""

    def __init__(self) -> None:
        self.finals: dict[str, int] = {}
        self.cards = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, FinalUtterance):
            self.finals[event.speaker.value] = self.finals.get(event.speaker.value, 0) + 1
        elif isinstance(event, KnowledgeCards):
            self.cards += len(event.cards)

    def summary(self) -> str:
        per_side = ", ".join(f"{who} {n}" for who, n in sorted(self.finals.items())) or "nothing heard"
        cards = f", {self.cards} knowledge cards" if self.cards else ""
        return f"{sum(self.finals.values())} utterances ({per_side}){cards}"


class _GuardedRecorder:
    """The store's recorder; if writing fails (disk full, read-only), says so once
    and lets the call go on on screen, and the command exits non-zero."""

    def __init__(self, recorder: Callable[[Event], None]) -> None:
        self._recorder = recorder
        self.failure: Exception | None = None

    def __call__(self, event: Event) -> None:
        if self.failure is not None:
            return
        try:
            self._recorder(event)
        except Exception as exc:
            self.failure = exc
            print(f"\nwarning: the call is no longer being saved: {exc}", file=sys.stderr)


def _run(source: Any, args: argparse.Namespace) -> int:
    """Run one call from ``source`` with the model, store and printer the args ask for."""
    from agent_assist.events import EventBus
    from agent_assist.pipeline import CallPipeline, PipelineConfig
    from agent_assist.stt.loader import load_transcriber

    knowledge = knowledge_source(args, install_example=args.command == "demo")  # before model load
    language = None if args.language == "auto" else args.language
    decoder = load_transcriber(args.model, language=language, cpu_threads=args.threads)
    bus = EventBus()
    with contextlib.ExitStack() as stack:
        guard = None
        if not args.no_store:
            from agent_assist.store import CallRecorder, Database

            db = stack.enter_context(Database.open())
            for call_id in db.interrupted:
                print(
                    f"note: call {call_id} was cut off (its process ended); its utterances are kept",
                    file=sys.stderr,
                )
            guard = _GuardedRecorder(CallRecorder(db))
            bus.subscribe(guard)
        bus.subscribe(_printer(args))
        tally = _Tally()
        bus.subscribe(tally)
        if knowledge is not None:  # last: a card must not print before its line
            # Closed after the pipeline (below) and before the store: the
            # cards of the last customer turn still print and are seen.
            stack.callback(start_retriever(knowledge, bus).close)
        live = source.live or getattr(source, "realtime", False)
        config = PipelineConfig(partials=args.partials, drop_partials_when_behind=live)
        pipeline = CallPipeline(source, decoder, bus, config=config)
        reason = "completed"
        pipeline.start()
        try:
            pipeline.wait()
        except KeyboardInterrupt:
            print("\nending the call…", file=sys.stderr)
            reason = "stopped by user"
        finally:
            pipeline.stop(reason)
    where = "not stored (--no-store)" if guard is None else f"stored as call {pipeline.call_id}"
    print(f"-- {reason}: {tally.summary()}; {where}", file=sys.stderr)
    error = getattr(source, "error", None)
    if isinstance(error, UserError):  # a file damaged part-way: what was read is above
        print(error.render(), file=sys.stderr)
        return error.exit_code
    if guard is not None and guard.failure is not None:
        print(f"error: the call was not fully saved: {guard.failure}", file=sys.stderr)
        return 5
    return 0


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
