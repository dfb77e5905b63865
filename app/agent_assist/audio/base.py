"""The contract between audio sources and the pipeline.

A source is started with a ``ChunkSink`` and pushes into it from its own thread
until it runs out (a file) or is stopped (a device). ``live`` sources must never
block in ``put`` (PortAudio's callback may not wait), so the pipeline gives them
a drop-oldest buffer; replay sources may block, which is how "as fast as
possible" replay is throttled to the speed of transcription.
"""

from __future__ import annotations

from typing import Protocol

from agent_assist.domain import AudioChunk, DeviceState, Speaker

__all__ = ["AudioSource", "ChunkSink"]


class ChunkSink(Protocol):
    def put(self, chunk: AudioChunk) -> None:
        """Hand over one chunk (16 kHz mono float32)."""
        ...

    def status(self, speaker: Speaker, device: str, state: DeviceState, detail: str = "") -> None:
        """Report a device opening, vanishing, coming back or closing."""
        ...

    def end(self, speaker: Speaker) -> None:
        """No more audio will come for ``speaker`` (file ended, source stopped)."""
        ...


class AudioSource(Protocol):
    @property
    def name(self) -> str:
        """Human-readable description, e.g. the file name or device names."""
        ...

    @property
    def speakers(self) -> tuple[Speaker, ...]:
        """The channels this source delivers, one ``Speaker`` each."""
        ...

    @property
    def live(self) -> bool:
        """True for devices (never block ``put``), False for replay."""
        ...

    def start(self, sink: ChunkSink) -> None:
        """Begin pushing chunks into ``sink`` from the source's own thread(s)."""
        ...

    def stop(self) -> None:
        """Stop pushing and release devices/threads; ``sink.end`` is called per speaker."""
        ...
