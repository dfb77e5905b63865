"""Event subscribers that print a call as it happens: text, JSON lines, WebVTT, SRT.

Knowledge cards print under the customer line they answer: in text as
``  kb> [0.62] Title > Section  (pack/doc#anchor)`` with the start of the
snippet on the next line, in JSON lines as a ``knowledge_cards`` record;
subtitles leave them out.

The language model's output (text forms in ``render_assist``): a reply
suggestion as ``  say> "…" [1]  (grounded|extractive)`` under the cards it
cites, the end-of-call summary and the coaching note as blocks, and a
``  llm> down: …`` line when the model stops answering (and ``ready again``
when it is back). JSON lines: ``suggestion_ready``, ``suggestion_dropped``,
``call_summary_ready`` (with the summary as an object), ``note_ready`` and
``backend_status`` records. ``SuggestionStarted`` and the streamed
``SuggestionToken`` drafts are for the GUI and never printed.

Thread rules: a printer is called on the pipeline's worker thread and, for
knowledge cards, on the retriever's, for the model's output on the
generation worker's; it only writes to its stream, under a lock that keeps
lines whole.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import shutil
import threading
from typing import Any, Literal, TextIO

from agent_assist.cli.render_assist import (
    note_block,
    status_line,
    suggestion_line,
    summary_block,
    summary_how,
)
from agent_assist.domain import (
    BackendStatus,
    CallEnded,
    CallSummaryReady,
    DeviceStatus,
    Event,
    FinalUtterance,
    KnowledgeCard,
    KnowledgeCards,
    NoteReady,
    PartialText,
    PipelineError,
    SuggestionDropped,
    SuggestionReady,
    SuggestionStarted,
    SuggestionToken,
)

__all__ = ["FORMATS", "TranscriptPrinter", "card_lines", "event_to_dict", "jsonable"]

Format = Literal["text", "jsonl", "vtt", "srt"]
FORMATS: tuple[Format, ...] = ("text", "jsonl", "vtt", "srt")

_COLOURS = {"agent": "\x1b[36m", "customer": "\x1b[33m", "mixed": "\x1b[35m"}
_DIM, _RESET, _CLEAR = "\x1b[2m", "\x1b[0m", "\r\x1b[2K"
_KB = "\x1b[32m"
SNIPPET_CHARS = 110


_NOT_PRINTED = (SuggestionStarted, SuggestionToken)  # the GUI's: a draft being written


def jsonable(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses (nested too) as dicts, enums as their
    values, tuples and (sorted) sets as lists, floats to 3 decimals (NaN, inf: None)."""
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return round(value, 3) if math.isfinite(value) else None
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(jsonable(k)): jsonable(v) for k, v in value.items()}
    return str(value)  # a Path, a datetime: as text rather than a crash mid-call


def event_to_dict(event: Event) -> dict[str, Any]:
    """A flat JSON-ready dict with a ``type`` key (snake_case event name).

    A ``CallSummaryReady`` carries its summary as an object under ``summary``
    (not as a JSON string inside JSON).
    """
    name = type(event).__name__
    snake = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
    data = {f.name: jsonable(getattr(event, f.name)) for f in dataclasses.fields(event)}
    if isinstance(event, CallSummaryReady):
        try:
            data["summary"] = json.loads(data.pop("summary_json"))
        except ValueError:
            data["summary"] = None
    return {"type": snake, **data}


def _clock(seconds: float, sep: str = ".", hours: bool = True) -> str:
    """``HH:MM:SS.mmm`` for subtitles; the short ``MM:SS.s`` for text grows an
    hour field only past an hour."""
    ms = round(max(0.0, seconds) * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    if hours:
        return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"
    short = f"{m:02d}:{s:02d}{sep}{ms // 100}"
    return f"{h}:{short}" if h else short


def _ascii(text: str) -> str:
    """Pack text for any terminal: typographic quotes and dashes as ASCII."""
    table = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"}
    return "".join(table.get(c, c) for c in text)


def card_lines(card: KnowledgeCard, *, colour: bool = False) -> str:
    """Two lines: similarity, heading path and citation; the snippet's start."""
    tag = f"{_KB}kb>{_RESET}" if colour else "kb>"
    heading = " > ".join(card.heading_path) or card.title
    snippet = " ".join(card.text.split())
    if len(snippet) > SNIPPET_CHARS:
        snippet = snippet[: SNIPPET_CHARS - 3].rstrip() + "..."
    return _ascii(
        f"  {tag} [{card.similarity:.2f}] {heading}  ({card.pack}/{card.chunk_id})\n         {snippet}\n"
    )


class TranscriptPrinter:
    """Writes events in one of ``FORMATS`` to ``out``.

    ``partials``: show tentative text. On a terminal (``live_line``) the partial
    is one line rewritten in place and replaced by the final; elsewhere each
    partial is its own line marked ``~`` (text) or a ``partial_text`` record
    (jsonl). WebVTT and SRT hold finals only.
    """

    def __init__(
        self,
        fmt: Format,
        out: TextIO,
        *,
        partials: bool = False,
        live_line: bool = False,
        colour: bool = False,
    ) -> None:
        self.fmt = fmt
        self.out = out
        self.partials = partials
        self.live_line = live_line
        self.colour = colour
        self._cues = 0
        self._partial_shown = False
        self._llm_down = False  # the last BackendStatus printed was "down"
        self._lock = threading.Lock()
        if fmt == "vtt":
            self._write("WEBVTT\n\n")

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def __call__(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, _NOT_PRINTED):
                return
            if self.fmt == "jsonl":
                if isinstance(event, PartialText) and not self.partials:
                    return
                self._write(json.dumps(event_to_dict(event)) + "\n")
            elif self.fmt == "text":
                self._text(event)
            elif isinstance(event, FinalUtterance):
                self._cue(event)

    def _who(self, speaker: str) -> str:
        if not self.colour:
            return speaker
        return f"{_COLOURS.get(speaker, '')}{speaker}{_RESET}"

    def _text(self, event: Event) -> None:
        clear = _CLEAR if self._partial_shown else ""
        if isinstance(event, FinalUtterance):
            self._partial_shown = False
            self._write(
                f"{clear}[{_clock(event.start, hours=False)}] {self._who(event.speaker.value)}: {event.text}\n"
            )
        elif isinstance(event, PartialText) and self.partials:
            if self.live_line:
                # One physical line: a wrapped one could not be rewritten in place.
                head = f"[{_clock(event.start, hours=False)}] {event.speaker.value}: "
                room = max(10, shutil.get_terminal_size().columns - 1 - len(head) - 2)
                text = event.text if len(event.text) <= room else "…" + event.text[-(room - 1) :]
                line = f"[{_clock(event.start, hours=False)}] {self._who(event.speaker.value)}: {text} …"
                self._write(
                    f"{_CLEAR}{_DIM if self.colour else ''}{line}{_RESET if self.colour else ''}"
                )
                self._partial_shown = True
            else:
                self._write(
                    f"[{_clock(event.start, hours=False)}] {event.speaker.value} ~ {event.text}\n"
                )
        elif isinstance(event, DeviceStatus):
            self._partial_shown = False
            self._write(
                f"{clear}-- {event.speaker.value} device {event.device}: {event.state.value} {event.detail}\n"
            )
        elif isinstance(event, KnowledgeCards):
            self._partial_shown = False
            self._write(clear + "".join(card_lines(c, colour=self.colour) for c in event.cards))
        elif isinstance(event, PipelineError):
            self._partial_shown = False
            self._write(f"{clear}-- error in {event.stage}: {event.message}\n")
        elif isinstance(event, CallEnded) and self._partial_shown:
            self._partial_shown = False
            self._write(clear)
        else:
            self._assist_text(event, clear)

    def _assist_text(self, event: Event, clear: str) -> None:
        """The language model's output (see ``render_assist``)."""
        text = ""
        if isinstance(event, SuggestionReady):
            text = suggestion_line(
                event.text, extractive=event.extractive, grounded=event.grounded, colour=self.colour
            )
        elif isinstance(event, SuggestionDropped) and event.reason.startswith("error"):
            text = f"  -- no suggestion: {event.reason}\n"  # superseded, ungrounded: not news
        elif isinstance(event, CallSummaryReady):
            try:
                data = json.loads(event.summary_json)
            except ValueError:
                data = {}
            how = summary_how(valid=event.valid, fallback=event.fallback, model=event.model,
                              unavailable=event.fallback and self._llm_down)  # fmt: skip
            text = summary_block(data, how=how, colour=self.colour)
        elif isinstance(event, NoteReady):
            text = note_block(event.kind, event.text, colour=self.colour)
        elif (
            isinstance(event, BackendStatus)
            and event.state in ("down", "ready")
            and (event.state == "down") != self._llm_down
        ):  # a change between down and ready; loading and busy are not news
            self._llm_down = event.state == "down"
            text = status_line(event.state, event.detail, colour=self.colour)
        if text:
            self._partial_shown = False
            self._write(clear + text)

    def _cue(self, event: FinalUtterance) -> None:
        self._cues += 1
        if self.fmt == "vtt":
            span = f"{_clock(event.start)} --> {_clock(event.end)}"
            self._write(f"{span}\n<v {event.speaker.value}>{event.text}\n\n")
        else:
            span = f"{_clock(event.start, ',')} --> {_clock(event.end, ',')}"
            self._write(f"{self._cues}\n{span}\n[{event.speaker.value}] {event.text}\n\n")
