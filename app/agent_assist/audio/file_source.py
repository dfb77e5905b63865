"""Replay of a recorded call from a file, as if it were happening now.

Why: QA replays, the demo and every end-to-end test feed the pipeline from
files, so a file must look exactly like a live call: 16 kHz mono chunks per
speaker with exact call-time ``start`` (output sample index / 16 kHz).

* Formats: whatever libsndfile reads (WAV, FLAC, OGG/Vorbis/Opus and, since
  libsndfile 1.1, MP3); anything else ffmpeg decodes (M4A/AAC, or MP3 with an
  older libsndfile) falls back to PyAV, which faster-whisper already installs.
  Files are decoded in blocks, never loaded whole.
* Channels: mono is one ``Speaker.MIXED`` channel; stereo is left = agent,
  right = customer, unless ``channel_map`` says otherwise or ``mix=True``
  folds everything into ``MIXED``. More than two channels are refused unless
  a ``channel_map`` picks them (``None`` drops a channel) or ``mix=True``:
  guessing which of six channels is the customer would give a transcript
  with the wrong speakers, which is worse than a clear error.
* Damage: every problem that can be seen up front (missing, not audio, empty,
  truncated, too many channels) raises ``AudioError`` from the constructor,
  naming the file and a fix. A truncated file (its end cannot be decoded) is
  refused rather than half-played: the transcript of a partial call would
  look complete and mislead QA. Damage only found mid-file ends the replay at
  the last good sample, reports ``DeviceState.LOST`` with the reason, and is
  kept in ``error``; never a traceback.
* Pacing: ``realtime=True`` hands over each chunk once its end time has come
  (``clock.sleep_until(started_at + chunk.end)``), so a ``ManualClock`` runs
  a "real-time" replay instantly with exact times; ``realtime=False`` pushes
  as fast as ``sink.put`` accepts (the pipeline's blocking buffer throttles).

Thread rules: construct, ``start`` and ``stop`` from one controlling thread.
The replay runs on its own daemon thread, which alone calls the sink (``put``
in call-time order, agent before customer at equal times, then ``end`` for
every speaker, also after ``stop`` or damage). ``stop`` returns within about
one chunk unless the sink's ``put`` blocks; the pipeline closes its buffer to
release it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt
import soundfile as sf

from agent_assist.audio.base import ChunkSink
from agent_assist.audio.resample import StreamResampler, mix_matrix
from agent_assist.clock import Clock, SystemClock
from agent_assist.domain import SAMPLE_RATE, AudioChunk, DeviceState, Speaker
from agent_assist.errors import AudioError

if TYPE_CHECKING:
    from av.audio.stream import AudioStream

__all__ = ["FileSource"]

log = logging.getLogger(__name__)
F32 = npt.NDArray[np.float32]
_CONVERT = "convert it with: ffmpeg -i INPUT call.wav  (or sox INPUT call.wav)"


class _Reader(Protocol):
    rate: int
    channels: int

    def read(self, frames: int) -> F32:
        """Up to ``frames`` frames as ``(n, channels)`` float32; empty at the end."""
        ...

    def close(self) -> None: ...


class _SoundFileReader:
    def __init__(self, path: Path) -> None:
        self._file = sf.SoundFile(str(path))
        self.rate = int(self._file.samplerate)
        self.channels = int(self._file.channels)
        self.frames = int(self._file.frames)

    def read(self, frames: int) -> F32:
        return np.asarray(self._file.read(frames, dtype="float32", always_2d=True), dtype=np.float32)

    def readable_to_end(self) -> bool:
        """Whether the last half second decodes (a cut-off file fails here)."""
        try:
            self._file.seek(max(0, self.frames - self.rate // 2))
            self._file.read(self.rate // 2, dtype="float32")
            self._file.seek(0)
        except (sf.SoundFileError, RuntimeError):
            return False
        return True

    def close(self) -> None:
        self._file.close()


class _AvReader:
    """ffmpeg decoding through PyAV for what libsndfile cannot read."""

    def __init__(self, path: Path) -> None:
        import av

        self._container = av.open(str(path))
        if not self._container.streams.audio:
            self._container.close()
            raise ValueError("no audio stream")
        stream = self._container.streams.audio[0]
        layout = stream.codec_context.layout
        self.rate = int(stream.codec_context.sample_rate)
        self.channels = int(layout.nb_channels)
        if stream.duration is not None and stream.time_base is not None:
            self.seconds: float | None = float(stream.duration * stream.time_base)
        elif self._container.duration is not None:
            self.seconds = self._container.duration / av.time_base
        else:
            self.seconds = None
        self._resampler = av.AudioResampler(format="flt", layout=layout, rate=self.rate)
        self._decoded = self._decode(stream)
        self._pending = np.zeros((0, self.channels), dtype=np.float32)

    def _decode(self, stream: AudioStream) -> Iterator[F32]:
        for frame in self._container.decode(stream):
            for out in self._resampler.resample(frame):
                yield out.to_ndarray().reshape(-1, self.channels).astype(np.float32)
        for out in self._resampler.resample(None):
            yield out.to_ndarray().reshape(-1, self.channels).astype(np.float32)

    def read(self, frames: int) -> F32:
        parts = [self._pending]
        have = len(self._pending)
        while have < frames:
            block = next(self._decoded, None)
            if block is None:
                break
            parts.append(block)
            have += len(block)
        data = np.concatenate(parts)
        self._pending = data[frames:]
        return data[:frames]

    def close(self) -> None:
        self._container.close()


def _reason(exc: Exception) -> str:
    """A decoder's complaint without libsndfile's "Error opening '…': Error :" noise."""
    text = str(exc).split("': ", 1)[-1].strip()
    text = text.removeprefix("Error :").removeprefix("Error:").strip().rstrip(".")
    return text or type(exc).__name__


def _open_reader(path: Path) -> _Reader:
    """Open ``path`` with libsndfile, else PyAV; ``AudioError`` if neither can."""
    if not path.exists():
        raise AudioError(f"audio file not found: {path}", "check the path and the file name")
    if path.is_dir():
        raise AudioError(f"{path} is a folder, not an audio file", "give the path of one audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path} is empty (0 bytes)", "record or export the call again")
    if not os.access(path, os.R_OK):
        raise AudioError(f"cannot read {path}: permission denied", "check the file's permissions")
    try:
        return _SoundFileReader(path)
    except (sf.SoundFileError, RuntimeError) as exc:
        sf_error = _reason(exc)
    if "not recognised" not in sf_error.lower():
        raise AudioError(
            f"{path} is truncated or corrupt and cannot be decoded ({sf_error})",
            "copy or export the recording again",
        )
    try:
        return _AvReader(path)
    except Exception:  # any ffmpeg failure means the same thing here
        pass
    raise AudioError(
        f"{path} is not an audio file Agent Assist can read",
        f"use WAV, FLAC, OGG or MP3; {_CONVERT}",
    )


def _default_map(channels: int, mix: bool) -> list[Speaker | None]:
    if mix or channels == 1:
        return [Speaker.MIXED] * channels
    return [Speaker.AGENT, Speaker.CUSTOMER]


def _same_on_both_channels(reader: _Reader, seconds: float = 20.0) -> bool:
    """A "stereo" file whose two channels carry the same signal is mono in
    disguise (common for exported recordings); transcribing it as agent and
    customer would show every line twice."""
    try:
        block = reader.read(int(reader.rate * seconds))
    except Exception:  # damage is reported when the replay reaches it
        return False
    if len(block) == 0 or block.shape[1] != 2:
        return False
    left, right = block[:, 0].astype(np.float64), block[:, 1].astype(np.float64)
    energy = float(np.sum(left**2) + np.sum(right**2))
    return energy > 0 and float(np.sum((left - right) ** 2)) < 1e-3 * energy


class FileSource:
    """An ``AudioSource`` replaying one file; validated when constructed.

    Args:
        path: the recording (WAV/FLAC/OGG/MP3, or anything ffmpeg reads).
        realtime: pace chunks to ``clock`` (a live call) or push at full speed.
        clock: paces real-time replay and stamps ``started_at``.
        chunk_seconds: length of each chunk handed to the sink (32 ms = one VAD
            frame, like a typical PortAudio block; fewer hand-overs cost less idle CPU).
        channel_map: the speaker of each file channel (``None`` drops one);
            default mono → MIXED, stereo → (AGENT, CUSTOMER), except a stereo
            file whose channels are identical, which is mono in disguise.
        mix: fold all channels into one ``Speaker.MIXED`` channel.
    """

    live = False

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        realtime: bool = False,
        clock: Clock | None = None,
        chunk_seconds: float = 0.032,
        channel_map: Sequence[Speaker | None] | None = None,
        mix: bool = False,
        block_seconds: float = 0.5,
    ) -> None:
        if mix and channel_map is not None:
            raise ValueError("give channel_map or mix=True, not both")
        self.path = Path(path)
        self.realtime = realtime
        self.clock: Clock = clock or SystemClock()
        self._chunk = max(1, round(chunk_seconds * SAMPLE_RATE))
        self._block_seconds = block_seconds
        reader = _open_reader(self.path)
        try:
            self.rate, self.channels = reader.rate, reader.channels
            self.duration = self._probe_duration(reader)
        finally:
            reader.close()
        if self.duration <= 0:
            raise AudioError(f"{self.path} has no audio (0 seconds)", "record or export the call again")
        if channel_map is None and not mix and self.channels > 2:
            raise AudioError(
                f"{self.path} has {self.channels} channels; Agent Assist takes mono or stereo "
                "with one speaker per channel",
                f"keep the agent and customer channels: sox {self.path.name} call.wav remix 1 2 "
                "(or replay with --mix to treat all channels as one mixed voice)",
            )
        if channel_map is None and not mix and self.channels == 2:
            reader = _open_reader(self.path)
            try:
                if _same_on_both_channels(reader):
                    log.info("%s: both channels carry the same audio; replaying it as mono", self.path)
                    mix = True
            finally:
                reader.close()
        cmap = list(channel_map) if channel_map is not None else _default_map(self.channels, mix)
        if len(cmap) != self.channels:
            raise AudioError(
                f"{self.path} has {self.channels} channels but the channel map names {len(cmap)}",
                "give one speaker (or None to drop it) per channel",
            )
        self._speakers, self._matrix = mix_matrix(cmap)
        if not self._speakers:
            raise ValueError("channel_map drops every channel")
        if Speaker.MIXED in self._speakers and len(self._speakers) > 1:
            raise ValueError("Speaker.MIXED cannot be combined with AGENT/CUSTOMER")
        self.started_at: float | None = None
        self.error: AudioError | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _probe_duration(self, reader: _Reader) -> float:
        if isinstance(reader, _SoundFileReader):
            if reader.frames > 0 and not reader.readable_to_end():
                raise AudioError(
                    f"{self.path} is truncated or corrupt: its end cannot be decoded",
                    "copy or export the recording again; to keep the readable part: "
                    f"ffmpeg -i {self.path.name} readable.wav",
                )
            return reader.frames / reader.rate
        if isinstance(reader, _AvReader) and reader.seconds is not None:
            return reader.seconds
        total = 0  # no duration in the container: count by decoding (rare)
        while len(block := reader.read(reader.rate * 10)):
            total += len(block)
        return total / reader.rate

    # ---- AudioSource ---------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.name

    @property
    def speakers(self) -> tuple[Speaker, ...]:
        return self._speakers

    def start(self, sink: ChunkSink) -> None:
        if self._thread is not None:
            raise RuntimeError("a FileSource plays once")
        self.started_at = self.clock.now()
        self._thread = threading.Thread(
            target=self._run, args=(sink, self.started_at), name=f"replay:{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.wait(timeout=10.0)
        if self._thread is not None and self._thread.is_alive():
            log.warning("replay of %s did not stop: the sink's put is blocked", self.name)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the replay ended (or was stopped); True if it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # ---- replay thread -------------------------------------------------
    def _run(self, sink: ChunkSink, t0: float) -> None:
        emitted = 0
        pending = np.zeros((0, len(self._speakers)), dtype=np.float32)
        reader: _Reader | None = None
        try:
            reader = _open_reader(self.path)
            resampler = StreamResampler(reader.rate, len(self._speakers))
            block_frames = max(1, int(reader.rate * self._block_seconds))
            done = False
            while not done and not self._stop.is_set():
                try:
                    block = reader.read(block_frames)
                except Exception as exc:  # libsndfile/ffmpeg decoder errors
                    self._damaged(sink, emitted + len(pending), exc)
                    block = np.zeros((0, reader.channels), dtype=np.float32)
                    done = True
                if len(block) == 0:
                    out, done = resampler.flush(), True
                else:
                    out = resampler.process(block @ self._matrix)
                pending = np.concatenate([pending, out.reshape(-1, len(self._speakers))])
                take = len(pending) if done else len(pending) - len(pending) % self._chunk
                for offset in range(0, take, self._chunk):
                    if self._stop.is_set():
                        break
                    emitted = self._emit(sink, t0, emitted, pending[offset : offset + self._chunk])
                pending = pending[take:]
        except AudioError as exc:  # the file changed since the constructor checked it
            self.error = exc
            log.warning("%s", exc)
        except Exception:
            log.exception("replay of %s failed", self.name)
        finally:
            if reader is not None:
                reader.close()
            for speaker in self._speakers:
                sink.end(speaker)

    def _emit(self, sink: ChunkSink, t0: float, emitted: int, block: F32) -> int:
        start = emitted / SAMPLE_RATE
        if self.realtime:
            self.clock.sleep_until(t0 + (emitted + len(block)) / SAMPLE_RATE)
        for column, speaker in enumerate(self._speakers):
            sink.put(AudioChunk(speaker, np.ascontiguousarray(block[:, column]), start))
        return emitted + len(block)

    def _damaged(self, sink: ChunkSink, position: int, exc: Exception) -> None:
        at = position / SAMPLE_RATE
        reason = _reason(exc)
        self.error = AudioError(
            f"{self.path} is damaged after {at:.1f} s ({reason}); the replay stopped there",
            "copy or export the recording again",
        )
        log.warning("%s", self.error)
        for speaker in self._speakers:
            sink.status(speaker, self.name, DeviceState.LOST, str(self.error))
