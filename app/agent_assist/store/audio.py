"""Call audio on disk (``privacy.store_audio``): one WAV per call, written as the call goes.

Why a WAV written incrementally: the transcript survives a crash with at most
the utterance in progress lost (``database.py``), and the audio must do as
well. ``CallAudioWriter`` uses the standard library's ``wave`` writer, which
rewrites the RIFF and ``data`` sizes after every ``writeframes``; the writer
then flushes the file to the OS. So after each flush the file on disk is a
complete, valid WAV of everything written so far, and a SIGKILL loses only
the frames still queued (at most one batch, a fraction of a second). If the
process dies between appending frames and patching the sizes, the header
merely under-counts; ``repair_wav`` (run by the engine for calls found
``interrupted``) makes it cover every whole frame on disk.

Format: 16 kHz 16-bit PCM, one channel per speaker of the source: a stereo
call is left = agent, right = customer (as the README's replay convention),
a single device is one mixed channel. Chunks are placed by their call time
(``AudioChunk.start``), so a gap becomes silence and the file's length is the
call's; a channel that lags the other by more than ``max_skew_s`` (a device
lost mid-call) is filled with silence rather than holding the other back.

Thread rules: ``put`` and ``end`` run on the capture thread (PortAudio's
callback, or the replay thread). With ``block=False`` (live sources) ``put``
is one ``Queue.put_nowait`` -- about a microsecond, never a disk access -- and
a chunk that finds the queue full is dropped (counted in ``dropped_s``; its
span is written as silence, so call time stays exact). With ``block=True``
(replays) ``put`` waits for room, which throttles a full-speed replay to the
disk, as the pipeline's own buffer does. The writer thread alone converts,
interleaves, writes and flushes; ``close`` (the engine's call controller
thread) drains the queue, finishes the header and joins it. A disk error is
logged, handed to ``on_error`` once and the rest of the call's audio is
discarded; the call itself goes on.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import struct
import threading
import wave
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from agent_assist.domain import SAMPLE_RATE, AudioChunk, Speaker
from agent_assist.store.database import Database

__all__ = [
    "AUDIO_DIRNAME",
    "CallAudioWriter",
    "Interleaver",
    "audio_dir",
    "audio_path_for",
    "repair_interrupted",
    "repair_wav",
]

log = logging.getLogger(__name__)

AUDIO_DIRNAME = "audio"
"""Call audio lives in ``<data folder>/audio/`` (next to the database)."""
_ORDER = {Speaker.AGENT: 0, Speaker.CUSTOMER: 1, Speaker.MIXED: 2}


def audio_dir(database_path: Path) -> Path:
    """The folder of call audio for the database at ``database_path`` (not created here)."""
    return database_path.parent / AUDIO_DIRNAME


def audio_path_for(database_path: Path, call_id: str) -> Path:
    """Where ``call_id``'s WAV goes (the id made safe as a file name)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", call_id).lstrip(".") or "call"
    return audio_dir(database_path) / f"{safe}.wav"


class Interleaver:
    """Lines per-speaker chunks up by call time into frames of every channel (pure, one thread).

    ``add`` takes a chunk; ``take`` returns the frames every channel has
    reached (``(n, channels)`` float32), or with ``final`` everything, the
    short channels padded with silence.
    """

    def __init__(self, speakers: Sequence[Speaker], max_skew_s: float = 5.0) -> None:
        self.speakers = tuple(sorted(speakers, key=lambda s: _ORDER.get(s, 9)))
        self._pending: dict[Speaker, list[npt.NDArray[np.float32]]] = {s: [] for s in self.speakers}
        self._length = dict.fromkeys(self.speakers, 0)  # frames pending per channel
        self._ended: set[Speaker] = set()
        self._max_skew = round(max_skew_s * SAMPLE_RATE)
        self.written = 0  # frames handed out by ``take``

    def add(self, chunk: AudioChunk) -> None:
        sp = chunk.speaker
        if sp not in self._pending:
            return
        have = self.written + self._length[sp]  # frame index just after this channel's audio
        at = round(chunk.start * SAMPLE_RATE)
        samples = np.asarray(chunk.samples, dtype=np.float32)
        if at > have:  # a gap (a dropped chunk, a device that came back): silence
            self._append(sp, np.zeros(at - have, dtype=np.float32))
        elif at < have:  # overlaps what is already there (filled while it lagged): keep the rest
            samples = samples[have - at :]
        self._append(sp, samples)

    def end(self, speaker: Speaker) -> None:
        """No more audio will come for ``speaker``: it no longer holds the others back."""
        self._ended.add(speaker)

    def take(self, final: bool = False) -> npt.NDArray[np.float32] | None:
        lengths = self._length
        longest = max(lengths.values())
        waiting = [n for s, n in lengths.items() if s not in self._ended]
        n = longest if final or not waiting else max(min(waiting), longest - self._max_skew)
        if n <= 0:
            return None
        out = np.zeros((n, len(self.speakers)), dtype=np.float32)
        for i, sp in enumerate(self.speakers):
            have = lengths[sp]
            if not have:
                continue
            data = (
                np.concatenate(self._pending[sp]) if len(self._pending[sp]) > 1 else self._pending[sp][0]
            )
            used = min(have, n)
            out[:used, i] = data[:used]
            rest = data[used:]
            self._pending[sp] = [rest] if len(rest) else []
            lengths[sp] = len(rest)
        self.written += n
        return out

    def _append(self, sp: Speaker, samples: npt.NDArray[np.float32]) -> None:
        if len(samples):
            self._pending[sp].append(samples)
            self._length[sp] += len(samples)


class _End:
    __slots__ = ("speaker",)

    def __init__(self, speaker: Speaker) -> None:
        self.speaker = speaker


_Item = AudioChunk | _End | threading.Event | None  # Event: "flushed up to here"; None: close


class CallAudioWriter:
    """Writes one call's audio to ``path`` on a thread of its own (see the module doc).

    ``max_queue`` bounds the chunks waiting for the writer (a device delivers
    about 50-100 a second, so the default holds some 20-40 s of audio if the
    disk stalls).
    """

    def __init__(
        self,
        path: Path,
        speakers: Sequence[Speaker],
        *,
        block: bool,
        max_queue: int = 2048,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self.path = path
        self.block = block
        self.dropped_s = 0.0
        """Seconds of audio dropped because the writer fell behind (live sources only)."""
        self.error: Exception | None = None
        self._mix = Interleaver(speakers)
        self._queue: queue.Queue[_Item] = queue.Queue(max_queue)
        self._on_error = on_error
        self._closed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"audio-{path.stem}", daemon=True)
        self._thread.start()

    @property
    def channels(self) -> int:
        return len(self._mix.speakers)

    @property
    def frames(self) -> int:
        """Frames written so far (writer thread's count; approximate from other threads)."""
        return self._mix.written

    # ---- capture thread --------------------------------------------------------
    def put(self, chunk: AudioChunk) -> None:
        if self._closed:
            return
        if self.block:
            self._queue.put(chunk)
            return
        try:
            self._queue.put_nowait(chunk)
        except queue.Full:
            self.dropped_s += chunk.duration

    def end(self, speaker: Speaker) -> None:
        if not self._closed:
            with contextlib.suppress(queue.Full):
                self._queue.put(_End(speaker), block=self.block)

    # ---- any thread --------------------------------------------------------------
    def sync(self, timeout: float | None = None) -> bool:
        """Block until what was queued before is written and flushed (tests, checks)."""
        done = threading.Event()
        self._queue.put(done, timeout=timeout)
        return done.wait(timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        """Write what is queued, finish the file and stop the thread (after capture stopped)."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()  # seen after the next batch even if the queue stays full
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            log.warning("call audio %s: the writer did not drain in %s s", self.path, timeout)
            return
        self._thread.join(timeout)
        if self.dropped_s:
            log.warning("call audio %s: %.1f s dropped (the disk was slow)", self.path, self.dropped_s)

    # ---- writer thread -----------------------------------------------------------
    def _run(self) -> None:
        out: wave.Wave_write | None = None
        file: BinaryIO | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            file = open(self.path, "wb")  # noqa: SIM115 -- closed below, after wave's own close
            out = wave.open(file, "wb")  # noqa: SIM115 -- closed below (it never closes ``file``)
            out.setnchannels(self.channels)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(b"")  # the header: a valid, empty WAV from the start
            file.flush()
        except Exception as exc:
            self._fail(exc)
        closing = False
        while not closing:
            items = [self._queue.get()]
            with contextlib.suppress(queue.Empty):
                while len(items) < 256:
                    items.append(self._queue.get_nowait())
            closing = None in items or (self._stop.is_set() and self._queue.empty())
            synced = [item for item in items if isinstance(item, threading.Event)]
            if self.error is None and out is not None and file is not None:
                try:
                    for item in items:
                        if isinstance(item, _End):
                            self._mix.end(item.speaker)
                        elif isinstance(item, AudioChunk):
                            self._mix.add(item)
                    frames = self._mix.take(final=closing)
                    if frames is not None:
                        out.writeframes(_pcm16(frames))  # also rewrites the header's sizes
                        file.flush()  # to the OS: survives the process being killed
                except Exception as exc:  # disk full, read-only, removed: the call goes on
                    self._fail(exc)
            for event in synced:
                event.set()
        with contextlib.suppress(Exception):
            if out is not None:
                out.close()  # patches the header one last time; leaves ``file`` open
        with contextlib.suppress(Exception):
            if file is not None:
                file.close()

    def _fail(self, exc: Exception) -> None:
        if self.error is not None:
            return
        self.error = exc
        log.warning("cannot write the call audio %s: %s", self.path, exc)
        if self._on_error is not None:
            try:
                self._on_error(exc)
            except Exception:
                log.exception("on_error failed")


def _pcm16(frames: npt.NDArray[np.float32]) -> bytes:
    """Interleaved little-endian 16-bit PCM (the array is ``(n, channels)``, row-major)."""
    return (np.clip(frames, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def repair_wav(path: Path) -> bool:
    """Make a WAV's RIFF and ``data`` sizes cover every whole frame on disk; True if patched.

    For a file whose writer died between appending frames and patching the
    header (see the module doc). Only a plain PCM file as ``CallAudioWriter``
    writes it (``fmt `` then ``data``) is touched; anything else is left alone.
    """
    try:
        with open(path, "r+b") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return False
            block_align = 0
            while True:
                chunk = f.read(8)
                if len(chunk) < 8:
                    return False
                kind, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if kind == b"fmt ":
                    fmt = f.read(size)
                    block_align = struct.unpack("<H", fmt[12:14])[0] if len(fmt) >= 14 else 0
                    continue
                if kind == b"data":
                    break
                f.seek(size + (size & 1), 1)
            data_at = f.tell()
            total = f.seek(0, 2)
            if block_align <= 0:
                return False
            data_size = (total - data_at) // block_align * block_align
            if data_size == size:
                return False
            f.seek(data_at - 4)
            f.write(struct.pack("<I", data_size))
            f.seek(4)
            f.write(struct.pack("<I", data_at - 8 + data_size))
            return True
    except OSError as exc:
        log.warning("cannot repair the call audio %s: %s", path, exc)
        return False


def repair_interrupted(database: Database) -> int:
    """``repair_wav`` the audio of every ``interrupted`` call; how many were patched.

    Every one, not only those this open marked: another open in the same process
    (the sidebar's history) may have marked them first. A whole file is left as
    it is, so this is cheap, and crashes are rare.
    """
    with database.translating():
        rows = (
            database.connection()
            .execute(
                "SELECT audio_path FROM calls WHERE audio_path IS NOT NULL AND status = 'interrupted'"
            )
            .fetchall()
        )
    return sum(repair_wav(Path(row[0])) for row in rows if Path(row[0]).is_file())
