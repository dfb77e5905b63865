"""Customer side from an *output* device's loopback, with the ``soundcard`` package.

Why: on Windows, sounddevice/PortAudio cannot record what an output plays (no
WASAPI loopback, python-sounddevice issue 510), yet the customer is the
softphone's output. soundcard can, and on Linux it records PulseAudio/PipeWire
``<sink>.monitor`` sources the same way, so the tests run it for real.

Call time as in ``DeviceSource``: samples handed over / 16 kHz from the clock at
``start()``, the first block after an open placed where it arrived (silence
before). Nothing is lost mid-stream (PulseAudio buffers, WASAPI returns idle
stretches as zeros), so a later lag is a gap only if the read blocked that long.
Loss: a failing read, or the PulseAudio source leaving the server's list (it
*moves* orphaned streams): ``LOST`` after the resampler's tail, reopening with
backoff, ``REOPENED`` once audio flows. A device hanging without failing only
blocks the read. soundcard connects to PulseAudio once, at import, and a call
on a dead connection aborts the process, so ``load_soundcard`` reconnects.

Thread rules: one reader thread per ``LoopbackSource`` owns the recorder (on
Windows it initialises COM) and calls ``sink.put``/``status`` (OPEN, LOST,
REOPENED); ``start``/``stop`` run on one controlling thread; ``stop`` reports
CLOSED and calls ``sink.end`` under the lock the reader puts under, so nothing
follows ``end``. Backoff waits on an ``Event`` that ``stop`` sets; a reader
stuck in a hung device is abandoned (daemon) after ``stop_timeout``.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from agent_assist.audio import devices
from agent_assist.audio.base import AudioSource, ChunkSink
from agent_assist.audio.resample import StreamResampler, to_mono
from agent_assist.clock import Clock, SystemClock
from agent_assist.domain import SAMPLE_RATE, AudioChunk, DeviceState, Speaker
from agent_assist.errors import AudioError

__all__ = ["CombinedSource", "LoopbackSource", "OutputDevice", "list_outputs", "load_soundcard"]

log = logging.getLogger(__name__)
LOOPBACK_PREFIX = "loopback:"
_ENV = ("PULSE_SERVER", "PULSE_RUNTIME_PATH", "XDG_RUNTIME_DIR", "PULSE_COOKIE")
_LOCK = threading.Lock()
_server: list[tuple[str | None, ...] | None] = [None]  # the env soundcard's connection used


def load_soundcard(*, reconnect: bool = True) -> Any:
    """``soundcard``, connected to the current sound server, else ``AudioError``;
    ``reconnect=False``: a dead connection is an error (a reader's recorder is on it)."""
    with _LOCK:
        fresh = "soundcard" not in sys.modules
        try:
            import soundcard
        except ImportError as exc:
            fix = "pip install 'agent-assist[windows]'  (or: pip install soundcard)"
            fix = fix if sys.platform == "win32" else "pip install soundcard  (needs libpulse0)"
            raise AudioError(f"recording an output's loopback needs soundcard: {exc}", fix) from exc
        except (OSError, AssertionError, RuntimeError, NotImplementedError) as exc:
            raise AudioError(
                f"soundcard cannot reach the sound system: {exc or type(exc).__name__}",
                "check that the sound server (PulseAudio/PipeWire, Windows Audio) runs",
            ) from exc
        key = tuple(os.environ.get(k) for k in _ENV)
        _server[0] = key if fresh else _server[0]
        pa: Any = sys.modules.get("soundcard.pulseaudio")  # Linux
        ready = (
            pa is None or pa._pulse._pa_context_get_state(pa._pulse.context) == pa._pa.PA_CONTEXT_READY
        )
        if pa is not None and not (ready and _server[0] == key):
            if not reconnect:
                raise AudioError("lost the connection to the sound server")
            try:  # the old connection is left alone: a stream may still refer to it
                pa._pulse = pa._PulseAudio()
            except (AssertionError, RuntimeError) as exc:
                raise AudioError("cannot connect to the sound server", "start it") from exc
            _server[0] = key
        module: Any = soundcard
        return module


def _loopbacks(*, reconnect: bool = True) -> dict[str, Any]:
    """soundcard's recordable sources (microphones and loopbacks) by id."""
    sc = load_soundcard(reconnect=reconnect)
    return {str(m.id): m for m in sc.all_microphones(include_loopback=True)}


@dataclass(frozen=True, slots=True)
class OutputDevice:
    """An output whose loopback soundcard can record; ``label`` is unique."""

    id: str
    name: str
    loopback_id: str
    label: str

    def describe(self) -> str:
        return f"  {self.name}" if self.label == self.name else f"  {self.name}  (id {self.id})"


def list_outputs() -> list[OutputDevice]:
    """Every output with a loopback (Windows: render endpoints, Linux: sinks)."""
    mics = _loopbacks()
    found = [(str(s.id), str(s.name)) for s in load_soundcard().all_speakers()]
    loops = [(i, n, i if i in mics else f"{i}.monitor") for i, n in found]  # WASAPI | Pulse
    names = [n for _, n, _ in loops]  # a name two outputs share is no label
    return [OutputDevice(i, n, lp, n if names.count(n) == 1 else i) for i, n, lp in loops if lp in mics]


def _find_output(query: str) -> OutputDevice:
    outputs = list_outputs()
    q = query.strip().casefold() or str(load_soundcard().default_speaker().id).casefold()
    for test in (str.__eq__, str.__contains__):  # exact, then part of a name or id
        hits = [o for o in outputs if any(test(k.casefold(), q) for k in (o.id, o.name, o.loopback_id))]
        if len(hits) == 1:
            return hits[0]
        if hits:
            break
    what = f"matches {len(hits)} devices" if hits else "matches no output (to record its loopback)"
    listing = "\n".join(o.describe() for o in hits or outputs) or "  (none)"
    raise AudioError(
        f"audio output '{query}' {what}; {'they' if hits else 'outputs'} are:\n{listing}",
        "name the softphone's output (any unique part or the id), e.g. --customer "
        "'loopback:Speakers'; `loopback:` alone is the default output; inputs: agent-assist devices",
    )


def loopback_target(customer: str | None, platform: str = sys.platform) -> str | None:
    """The output to record for ``--customer`` (``loopback:<output>``; on Windows also
    a name no input has, as outputs cannot be recorded otherwise), else ``None``."""
    if customer is None:
        return None
    if customer.casefold().startswith(LOOPBACK_PREFIX):
        return customer[len(LOOPBACK_PREFIX) :].strip()
    if platform != "win32" or customer.strip().isdigit():
        return None
    try:
        devices.find_input_device(customer)
    except AudioError as err:
        if not err.message.startswith("no audio input matches"):
            raise  # ambiguous: the user picks
        return customer
    return None


class LoopbackSource:
    """One speaker from an output's loopback; ``output`` (a name, part of one, an id)
    is looked up here, so a wrong name fails at once, listing the outputs."""

    live = True
    # the DeviceSource options that apply here too (same clock and timings):
    OPTIONS = frozenset({"clock", "block_seconds", "retry_initial", "retry_max", "watch_interval"})
    gap_threshold, open_timeout, stop_timeout = 0.5, 10.0, 2.0  # seconds

    def __init__(
        self,
        output: str,
        speaker: Speaker = Speaker.CUSTOMER,
        *,
        clock: Clock | None = None,
        samplerate: int = 48_000,
        block_seconds: float = 0.032,
        retry_initial: float = 0.5,
        retry_max: float = 5.0,
        watch_interval: float = 1.0,
    ) -> None:
        self.device = _find_output(output)
        self.device_name = LOOPBACK_PREFIX + self.device.label
        self.speaker, self.clock = speaker, clock or SystemClock()
        self.samplerate, self.block = samplerate, max(1, round(samplerate * block_seconds))
        self.retry_initial, self.retry_max = retry_initial, retry_max
        self.watch_interval = watch_interval
        self.name, self.speakers = f"{speaker.value}: {self.device_name}", (speaker,)
        self._lock = threading.Lock()  # _sink, _resampler, emitted: reader vs stop()
        self._stopping, self._ready = threading.Event(), threading.Event()
        self._sink: ChunkSink | None = None
        self._thread: threading.Thread | None = None
        self._start_error: Exception | None = None
        self._resampler: StreamResampler | None = None
        self._lost_at: float | None = None
        self.started_at: float | None = None
        self._aligned, self.emitted, self.t0 = False, 0, 0.0

    def start(self, sink: ChunkSink, *, anchor: float | None = None) -> None:
        """Open and start reading; ``anchor`` = call time zero (another source's)."""
        if self.started_at is not None:
            raise RuntimeError("a LoopbackSource starts once")
        self._sink = sink
        self.started_at = self.t0 = self.clock.now() if anchor is None else anchor
        self._thread = threading.Thread(target=self._run, name="loopback-reader", daemon=True)
        self._thread.start()
        if self._ready.wait(self.open_timeout) and self._start_error is None:
            return
        self._stopping.set()
        with self._lock:
            self._sink = None
        if isinstance(self._start_error, AudioError) and self._start_error.fix:
            raise self._start_error  # soundcard missing, or no sound server
        why = self._start_error or f"it did not open within {self.open_timeout:g} s"
        raise AudioError(
            f"cannot record the loopback of '{self.device.label}' for the {self.speaker.value}: {why}",
            "check that the output device is connected and enabled, then try again",
        ) from self._start_error

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(self.stop_timeout)
            if self._thread.is_alive():
                log.warning("%s: the reader is stuck in the device; abandoned", self.device_name)
        with self._lock:
            sink, self._sink = self._sink, None
            if sink is not None:
                sink.status(self.speaker, self.device_name, DeviceState.CLOSED)
                sink.end(self.speaker)

    # ---- reader thread ---------------------------------------------------
    def _run(self) -> None:
        mf: Any = sys.modules.get("soundcard.mediafoundation")
        try:  # Windows: COM on this thread too; soundcard did it on the importing one only
            _com = mf._COMLibrary() if mf is not None else None  # held for the thread's life
        except Exception as exc:  # e.g. initialised in another mode already: soundcard copes
            log.debug("COM initialisation on the loopback thread: %s", exc)
        backoff = self.retry_initial
        while not self._stopping.is_set():
            try:
                self._capture()
                break  # stopped
            except Exception as exc:
                if not self._ready.is_set():  # the first open failed: start() raises it
                    self._start_error = exc
                    self._ready.set()
                    return
                self._lose(exc)
                backoff = self.retry_initial if self._aligned else backoff  # fresh loss
                self._aligned = False
            self._stopping.wait(backoff)
            backoff = min(self.retry_max, backoff * 2)

    def _capture(self) -> None:
        """Open, then read until stopped; raises when the device fails or vanishes."""
        mic = _loopbacks().get(self.device.loopback_id)
        if mic is None:
            raise AudioError(f"the output '{self.device.label}' is not there")
        with mic.recorder(samplerate=self.samplerate, blocksize=self.block) as rec:
            with self._lock:
                self._resampler = StreamResampler(self.samplerate, 1)
            if not self._ready.is_set():
                self._status(DeviceState.OPEN)
                self._ready.set()
            check_at, pulse = self.clock.now(), "soundcard.pulseaudio" in sys.modules
            while not self._stopping.is_set():
                before = self.clock.now()
                block = np.asarray(rec.record(numframes=self.block), dtype=np.float32)
                self._deliver(block, self.clock.now() - before)
                if pulse and self.clock.now() >= check_at:  # (WASAPI fails the read itself)
                    check_at = self.clock.now() + self.watch_interval
                    if self.device.loopback_id not in _loopbacks(reconnect=False):
                        raise AudioError(f"the sound server's source {mic.id} disappeared")
        self._flush()

    def _deliver(self, block: npt.NDArray[np.float32], waited: float) -> None:
        with self._lock:
            if self._resampler is None or self._sink is None:
                return
            out = self._resampler.process(to_mono(block))
            duration = len(block) / self.samplerate
            behind = self.clock.now() - self.t0 - duration - self.emitted / SAMPLE_RATE
            gap = behind  # (re)opened: the block is placed where it arrived; later a lag
            if self._aligned:  # is a gap only if the device kept the read waiting that long
                gap = min(behind, waited - duration) if behind > self.gap_threshold else 0.0
            if gap > 0:
                log.debug("%s: %.3f s of silence fills a gap", self.device_name, gap)
                total = round(gap * SAMPLE_RATE)
                for i in range(0, total, SAMPLE_RATE):  # in pieces of one second
                    self._put(np.zeros(min(SAMPLE_RATE, total - i), dtype=np.float32))
            self._put(out)
            first, self._aligned = not self._aligned, True
        if first and self._lost_at is not None:
            self._status(DeviceState.REOPENED, f"back after {self.clock.now() - self._lost_at:.1f} s")
            self._lost_at = None

    def _lose(self, exc: Exception) -> None:
        self._flush()
        if self._lost_at is not None:  # still lost: a failed reopen
            log.debug("reopening %s failed: %s", self.device_name, exc)
            return
        self._lost_at = self.clock.now()
        reason = str(exc) if isinstance(exc, AudioError) else "the output stopped delivering audio"
        log.warning("%s lost: %s (%s: %s)", self.device_name, reason, type(exc).__name__, exc)
        self._status(DeviceState.LOST, reason)

    def _flush(self) -> None:
        with self._lock:
            if self._resampler is not None:
                self._put(self._resampler.flush())
                self._resampler = None

    def _put(self, samples: npt.NDArray[np.float32]) -> None:
        if len(samples) and self._sink is not None:  # caller holds _lock
            self._sink.put(AudioChunk(self.speaker, samples, self.emitted / SAMPLE_RATE))
            self.emitted += len(samples)

    def _status(self, state: DeviceState, detail: str = "") -> None:
        with self._lock:
            if self._sink is not None:
                self._sink.status(self.speaker, self.device_name, state, detail)


class CombinedSource:
    """Live sources as one, e.g. the agent's ``DeviceSource`` + a ``LoopbackSource``.

    Starts them in order, stops them all; they share the sink. ``LoopbackSource``s
    take the first source's call time zero, so channels line up (same clock!).
    """

    live = True

    def __init__(self, *sources: AudioSource) -> None:
        sp = [s for src in sources for s in src.speakers]
        bad = len(set(sp)) != len(sp) or (Speaker.MIXED in sp and len(sp) > 1) or not sp
        if bad or not all(s.live for s in sources):
            raise ValueError(f"cannot combine {sp}: live sources, each speaker once, MIXED alone")
        self.sources, self.speakers, self.name = sources, tuple(sp), " + ".join(s.name for s in sources)
        self.started_at: float | None = None

    def start(self, sink: ChunkSink) -> None:
        with ExitStack() as started:  # a failure stops those already started
            for src in self.sources:
                if isinstance(src, LoopbackSource):
                    src.start(sink, anchor=self.started_at)
                else:
                    src.start(sink)
                started.callback(src.stop)
                if self.started_at is None:
                    self.started_at = getattr(src, "started_at", None)
            started.pop_all()

    def stop(self) -> None:
        with ExitStack() as stack:  # every one is stopped even if one fails
            for src in self.sources:
                stack.callback(src.stop)
