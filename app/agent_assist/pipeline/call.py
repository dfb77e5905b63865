"""One call through the pipeline: audio source → per-channel streams → events.

Threading: the audio source pushes from its own thread(s) into one bounded
``ChunkBuffer``. A single STT worker thread owns the Whisper model and every
``ChannelStream``; it drains the buffer, runs VAD (cheap), decodes pending
*finals* first, then at most one *partial* per pass for the channel most
overdue. When the worker's backlog exceeds ``max_lag_s`` of wall time it skips
partials (never finals), so a slow machine shows fewer tentative updates but
never falls behind on committed text. With nothing queued it blocks on the
buffer's condition (no polling). Subscribers run on the worker thread and must
be quick; the store writes one row, the UI bridge re-emits a queued signal.

Muting (``set_muted``): a muted channel's chunks are replaced by silence of
the same length as they arrive, so nothing of it is transcribed or stored and
call time stays exact. With ``PipelineConfig.levels`` the worker publishes an
``AudioLevel`` per channel about ten times a second (``levels.py``).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np

from agent_assist.audio.base import AudioSource
from agent_assist.audio.buffer import ChunkBuffer
from agent_assist.clock import Clock, SystemClock
from agent_assist.domain import (
    AudioChunk,
    AudioLevel,
    CallEnded,
    CallStarted,
    DeviceState,
    DeviceStatus,
    Event,
    PipelineError,
    Speaker,
)
from agent_assist.events import EventBus
from agent_assist.pipeline.levels import LevelMeter
from agent_assist.stt.streaming import ChannelStream, Decoder, StreamOptions
from agent_assist.stt.vad import StreamingVad

__all__ = ["CallPipeline", "PipelineConfig", "PipelineStats", "new_call_id"]

log = logging.getLogger(__name__)


def new_call_id() -> str:
    """Sortable and readable: ``20261122-142501-3fa2``."""
    return f"{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Knobs of the call pipeline.

    Attributes:
        stream: the per-channel streaming policy.
        max_lag_s: backlog (seconds of unprocessed audio per channel) above which
            partial and early-final decodes are skipped so finals keep up.
        partials: decode partial text at all (a batch transcription that prints
            finals only turns them off and runs 2-3x faster).
        drop_partials_when_behind: False decodes every partial even when behind
            (fast replays for tests and CPU benchmarks want the full work).
        live_buffer_s / replay_buffer_s: bound of the audio queue (all channels).
        batch_s: the worker wakes for this much new audio per channel (two VAD
            frames): idle CPU fell from 4.4% to about half of that, for ~30 ms
            more latency on average.
        idle_batch_s: the same while nobody speaks: noticing speech start up to
            ~0.1 s later costs no final latency, and halves what idle costs.
        levels: publish ``AudioLevel`` events (level meters), one per channel
            per ``level_interval_s`` of audio at most.
    """

    stream: StreamOptions = field(default_factory=StreamOptions)
    max_lag_s: float = 0.8
    partials: bool = True
    drop_partials_when_behind: bool = True
    live_buffer_s: float = 60.0
    replay_buffer_s: float = 4.0
    batch_s: float = 0.064
    idle_batch_s: float = 0.16
    levels: bool = False
    level_interval_s: float = 0.1


@dataclass(slots=True)
class PipelineStats:
    """Counters the benchmarks and the health view read after (or during) a call."""

    finals: int = 0
    partials: int = 0
    partials_skipped: int = 0
    speculative: int = 0
    decode_seconds: float = 0.0
    decode_cpu_seconds: float = 0.0
    max_backlog_s: float = 0.0
    audio_dropped_s: float = 0.0


class _Sink:
    """The ``ChunkSink`` a source pushes into; routes to the buffer and the bus."""

    def __init__(self, pipeline: CallPipeline) -> None:
        self._p = pipeline
        self._ended: set[Speaker] = set()
        self._lock = threading.Lock()

    def put(self, chunk: AudioChunk) -> None:
        if chunk.speaker in self._p.muted:  # silence of the same length: call time stays exact
            chunk = AudioChunk(chunk.speaker, np.zeros_like(chunk.samples), chunk.start)
        self._p.buffer.put(chunk)

    def status(self, speaker: Speaker, device: str, state: DeviceState, detail: str = "") -> None:
        self._p.publish(
            DeviceStatus(self._p.call_id, speaker, device, state, detail, self._p.clock.now())
        )

    def end(self, speaker: Speaker) -> None:
        with self._lock:
            self._ended.add(speaker)
            done = self._ended >= set(self._p.source.speakers)
        if done:
            self._p.buffer.close()


class CallPipeline:
    """Runs one call. ``start()`` → events flow → ``stop()`` or the source ends.

    Thread rules: ``start``/``stop``/``wait`` from any one controlling thread;
    ``set_muted`` from any thread (the capture thread reads an immutable set).
    Events are published on the worker thread, except ``CallStarted`` (the
    controlling thread) and ``DeviceStatus`` (the source's threads), so
    subscribers must be thread-safe.
    """

    def __init__(
        self,
        source: AudioSource,
        decoder: Decoder,
        bus: EventBus,
        *,
        clock: Clock | None = None,
        config: PipelineConfig | None = None,
        call_id: str | None = None,
        vad_session: Any | None = None,
    ) -> None:
        self.source = source
        self.decoder = decoder
        self.bus = bus
        self.clock = clock or SystemClock()
        self.config = config or PipelineConfig()
        self.call_id = call_id or new_call_id()
        self.stats = PipelineStats()
        policy: Literal["block", "drop_oldest"] = "drop_oldest" if source.live else "block"
        size = self.config.live_buffer_s if source.live else self.config.replay_buffer_s
        self.buffer = ChunkBuffer(max_seconds=size, policy=policy)
        # Made by the worker (``_make_streams``): loading the VAD model takes ~0.4 s the
        # first time, which the thread starting a call (the GUI's) must not wait for.
        self.streams: dict[Speaker, ChannelStream] = {}
        self._vad_session = vad_session
        self._worker = threading.Thread(target=self._run, name=f"stt-{self.call_id}", daemon=True)
        self._done = threading.Event()
        self._stop_reason = "completed"
        self._started = False
        self.muted: frozenset[Speaker] = frozenset()
        self._meter = LevelMeter(self.config.level_interval_s) if self.config.levels else None

    # ---- control -------------------------------------------------------
    def publish(self, event: Event) -> None:
        self.bus.publish(event)

    def start(self) -> str:
        if self._started:
            raise RuntimeError("a CallPipeline runs once")
        self._started = True
        self.publish(CallStarted(self.call_id, self.source.name, self.source.speakers, self.clock.now()))
        self._worker.start()
        try:
            self.source.start(_Sink(self))
        except BaseException as exc:
            self._stop_reason = f"failed to start: {exc}"
            self.buffer.close()
            self._worker.join()
            raise
        return self.call_id

    def set_muted(self, speaker: Speaker, muted: bool) -> None:
        """Mute (or unmute) ``speaker``'s channel from the next chunk captured on."""
        self.muted = self.muted | {speaker} if muted else self.muted - {speaker}

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every channel ended and its audio is transcribed."""
        return self._done.wait(timeout)

    def stop(self, reason: str = "completed") -> None:
        """End the call: stop capture, finish what was heard, publish ``CallEnded``."""
        if not self._done.is_set():
            self._stop_reason = reason
        self.source.stop()
        self.buffer.close()
        self._worker.join()

    def run(self) -> None:
        """Start, wait for the source to run out, stop (blocking; for the CLI)."""
        self.start()
        try:
            self.wait()
        finally:
            self.stop(self._stop_reason)

    # ---- worker --------------------------------------------------------
    def _backlog(self) -> float:
        """Seconds of audio per channel waiting for the worker."""
        return self.buffer.seconds / max(1, len(self.source.speakers))

    def _make_streams(self) -> None:
        session = self._vad_session
        for sp in self.source.speakers:
            vad = StreamingVad(session) if session is not None else None
            self.streams[sp] = ChannelStream(
                self.call_id, sp, self.decoder, self.clock, self.config.stream, vad
            )

    def _run(self) -> None:
        try:
            self._make_streams()
            self._loop()
        except Exception as exc:  # a bug, not a user error: report, end the call
            log.exception("STT worker failed")
            self._stop_reason = f"failed: {type(exc).__name__}: {exc}"
            self.publish(
                PipelineError(
                    self.call_id, "stt", f"{type(exc).__name__}: {exc}", True, self.clock.now()
                )
            )
        finally:
            self.buffer.close()  # a dead worker must not leave a replay blocked in put()
            duration = max((s.position for s in self.streams.values()), default=0.0)
            self.stats.audio_dropped_s = self.buffer.dropped_seconds
            self.publish(CallEnded(self.call_id, duration, self._stop_reason, self.clock.now()))
            self._done.set()

    def _feed(self) -> None:
        """Hand queued audio to the channels (VAD only, cheap).

        Live: take the whole backlog, so partials are decoded on the latest
        audio only (intermediate ones are dropped). Replay without dropping:
        step through it so every partial falls where it would live.
        """
        step = None if self.config.drop_partials_when_behind else 0.1 * len(self.source.speakers)
        meter = self._meter
        for chunk in self.buffer.get_all(step):
            stream = self.streams.get(chunk.speaker)
            if stream is not None:
                stream.insert_audio(chunk)
                if meter is not None:
                    meter.add(chunk)
        if meter is not None:
            muted, now = self.muted, self.clock.now()
            for r in meter.take():
                self.publish(AudioLevel(self.call_id, r.speaker, r.rms_dbfs, r.peak_dbfs,
                                        r.speaker in muted, now, r.position))  # fmt: skip

    def _publish_notices(self) -> None:
        for stream in self.streams.values():
            for event in stream.take_events():
                self.publish(event)

    def _decode(self, stream: ChannelStream, kind: Literal["final", "speculative", "partial"]) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        event: Event | None = None
        try:
            if kind == "final":
                event = stream.decode_final()
            elif kind == "speculative":
                stream.decode_speculative()
                self.stats.speculative += 1
            else:
                event = stream.decode_partial()
        except Exception as exc:
            log.exception("decode failed")
            self.publish(
                PipelineError(self.call_id, "stt", f"decode failed: {exc}", False, self.clock.now())
            )
            return
        finally:
            self.stats.decode_seconds += time.perf_counter() - t0
            self.stats.decode_cpu_seconds += time.process_time() - c0
        if event is None:
            return
        if kind == "final":
            self.stats.finals += 1
        else:
            self.stats.partials += 1
        self.publish(event)

    def _loop(self) -> None:
        cfg = self.config
        while True:
            backlog = self._backlog()  # measured before draining: how far behind we are
            self.stats.max_backlog_s = max(self.stats.max_backlog_s, backlog)
            behind = cfg.drop_partials_when_behind and backlog > cfg.max_lag_s
            self._feed()
            self._publish_notices()
            decoded = False
            for stream in self.streams.values():
                while stream.finals_pending:
                    self._decode(stream, "final")
                    decoded = True
                if not behind and stream.speculation_due():
                    self._decode(stream, "speculative")
                    decoded = True
            if decoded:
                continue  # audio kept arriving while we decoded
            if self.buffer.drained():
                for stream in self.streams.values():
                    stream.finish()
                    while stream.finals_pending:
                        self._decode(stream, "final")
                return
            overdue = [(s.partial_overdue(), s) for s in self.streams.values() if cfg.partials]
            due = [(o, s) for o, s in overdue if o >= 0]
            if due:
                _, stream = max(due, key=lambda pair: pair[0])
                if behind:
                    stream.skip_partial()
                    self.stats.partials_skipped += 1
                else:
                    self._decode(stream, "partial")
                continue
            speaking = any(s.segmenter.in_speech for s in self.streams.values())
            batch_s = cfg.batch_s if speaking else cfg.idle_batch_s
            self.buffer.wait_for_data(timeout=batch_s * 2, min_seconds=batch_s * len(self.streams))
