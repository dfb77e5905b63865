"""Live capture: the agent's microphone and the customer side, one channel each.

Why two streams: transcripts need to know who spoke, and the surest way is to
take the voices from where they are still apart: the agent from the headset
microphone, the customer from the softphone's *output*. Single-device mode
(one input, ``Speaker.MIXED``) is the fallback when only one input exists.

Customer side per OS (what sounddevice/PortAudio can do):

* Linux: the softphone's output sink has a ``<sink>.monitor`` *source* on
  PulseAudio and PipeWire. Debian's PortAudio 19.6 sees the sound server only
  as the ALSA devices ``pulse``/``default``, so a server source is opened
  through the ``pulse`` device with the ``PULSE_SOURCE`` environment variable
  set to the source name while that stream is being opened (libpulse reads it
  when the ALSA plugin connects; it is set and restored under a lock, so two
  streams in one process can capture two different sources). ``devices``
  lists the sources as ``pulse:<source>`` (from ``pactl``).
* Windows: sounddevice has no WASAPI loopback (python-sounddevice issue 510).
  ``from_names`` hands a ``--customer`` of the form ``loopback:<output>`` (on
  Windows also any name no input matches) to ``loopback_source.LoopbackSource``
  (the ``soundcard`` package, extra ``[windows]``), joined with the agent's
  input by a ``CombinedSource``. A virtual cable (VB-Audio Cable) as the
  softphone's output, captured here by name, works too.
* macOS: route the softphone's output to a virtual device (BlackHole, plus a
  Multi-Output Device to still hear it) and select it by name.

Call time: ``chunk.start`` is samples handed over / 16 kHz, anchored to the
wall clock at ``start()``. When a stream starts late, loses input (overflow)
or comes back after a loss, the gap is filled with silence, so call time stays
equal to real elapsed time on every channel (late bursts are not gaps). The first block after an open is
placed where it *arrived* (minus its own length): a sound is never stamped
before it happened, at worst late by the device's buffering (tens of ms).

Device loss (unplugged headset, softphone sink removed, a hung device, the
sound server moving our stream to another source): seen from the stream
finishing on its own, no callback for ``stall_timeout`` s, or (PulseAudio
sources, checked with ``pactl`` every ``watch_interval`` s) the source having
vanished. Reported as ``LOST``; the resampler's tail is delivered first, so
nothing captured is lost. Reopening retries with exponential backoff and
reports ``REOPENED`` only once audio flows again.

Thread rules: PortAudio calls each channel's callback on its own thread; the
callback resamples and calls ``sink.put`` and ``sink`` must never block there
(the pipeline gives live sources a drop-oldest buffer). One supervisor thread
per source watches for loss and reopens (``Event.wait`` for backoff; no
polling). ``status`` is called from the supervisor and from ``start``/``stop``
on the controlling thread, so the sink must be thread-safe.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from agent_assist.audio import devices, pulse
from agent_assist.audio.base import AudioSource, ChunkSink
from agent_assist.audio.devices import InputDevice
from agent_assist.audio.resample import StreamResampler
from agent_assist.clock import Clock, SystemClock
from agent_assist.domain import SAMPLE_RATE, AudioChunk, DeviceState, Speaker
from agent_assist.errors import AudioError

__all__ = ["DeviceSource"]

log = logging.getLogger(__name__)
_RESYNC_S = 0.2  # after an overflow, a lag behind the wall clock beyond this is filled
_STARTUP_GRACE_S = 3.0  # extra time a freshly opened stream gets for its first callback


class _Channel:
    """One speaker's input stream, its resampler and its call-time counter."""

    def __init__(self, owner: DeviceSource, speaker: Speaker, device: InputDevice) -> None:
        self.owner = owner
        self.speaker = speaker
        self.device = device
        self.lock = threading.Lock()  # resampler + emitted, shared by callback and supervisor
        self.stream: Any = None
        self.resampler: StreamResampler | None = None
        self.rate = device.default_samplerate
        self.emitted = 0
        self.aligned = False
        self.died = False
        self.last_callback = 0.0  # time.monotonic() of the latest callback
        self.state = DeviceState.CLOSED
        self.backoff = owner.retry_initial
        self.retry_at = 0.0
        self.lost_at = 0.0
        self.probing = False  # reopened after a loss, no audio yet

    # ---- stream lifetime (controlling/supervisor thread) -----------------
    def open(self) -> None:
        sd: Any = devices.load_sounddevice()
        dev = self._resolve()
        tries = sorted({1, max(1, min(2, dev.channels))})
        for n, channels in enumerate(tries):
            try:
                stream = self._new_stream(sd, dev, channels)
                break
            except sd.PortAudioError:
                if n == len(tries) - 1:
                    raise
        with self.lock:
            self.resampler = StreamResampler(float(stream.samplerate), 1)
            self.rate = float(stream.samplerate)
            self.aligned = self.died = False
        self.device, self.stream = dev, stream
        self.last_callback = time.monotonic() + _STARTUP_GRACE_S
        devices.stream_opened()
        try:
            stream.start()
        except Exception:
            self.close()
            raise
        self.state = DeviceState.OPEN

    def _resolve(self) -> InputDevice:
        if self.device.pulse_source is not None or self.state != DeviceState.LOST:
            return self.device  # the ALSA "pulse" device itself does not go away
        return devices.find_input_device(self.device.name) if devices.rescan() else self.device

    def _new_stream(self, sd: Any, dev: InputDevice, channels: int) -> Any:
        rate = dev.default_samplerate
        kwargs = {
            "device": dev.index,
            "channels": channels,
            "samplerate": rate,
            "blocksize": max(1, round(rate * self.owner.block_seconds)),
            "dtype": "float32",
            "callback": self._callback,
            "finished_callback": self._finished,
        }
        if dev.pulse_source is None:
            return sd.InputStream(**kwargs)
        with pulse.selected_source(dev.pulse_source):  # read as the ALSA pcm connects
            return sd.InputStream(**kwargs)

    def close(self) -> None:
        """Abort the stream (never from its callback) and deliver the resampler tail."""
        stream, self.stream = self.stream, None
        if stream is not None:
            self.died = True  # the finished callback that follows is ours
            try:
                stream.abort(ignore_errors=True)
                stream.close(ignore_errors=True)
            except Exception as exc:  # a vanished device may fail even here
                log.debug("closing %s: %s", self.device.name, exc)
            devices.stream_closed()
        with self.lock:
            if self.resampler is not None:
                self._put(self.resampler.flush())
                self.resampler = None

    def trouble(self) -> str | None:
        """Why the open stream is no longer delivering, or ``None`` if it is."""
        if self.died or (self.stream is not None and not self.stream.active):
            return "the device stopped delivering audio (unplugged or removed)"
        if time.monotonic() - self.last_callback > self.owner.stall_timeout:
            return f"no audio from the device for {self.owner.stall_timeout:g} s"
        if self.device.pulse_source and pulse.source_exists(self.device.pulse_source) is False:
            return f"the sound server's source {self.device.pulse_source} disappeared"
        return None

    # ---- PortAudio threads ----------------------------------------------
    def _callback(self, indata: npt.NDArray[np.float32], frames: int, _t: Any, status: Any) -> None:
        self.last_callback = time.monotonic()
        overflow = bool(status.input_overflow)  # samples were lost before this block
        mono = indata[:, 0] if indata.shape[1] == 1 else indata.mean(axis=1, dtype=np.float32)
        try:
            with self.lock:
                if self.resampler is None:
                    return
                out = self.resampler.process(mono)
                elapsed = self.owner.clock.now() - self.owner.t0
                behind = elapsed - frames / self.rate - self.emitted / SAMPLE_RATE
                # Fill only where audio is missing: before a (re)opened stream's first block, or
                # after an overflow. A late burst is not a gap: its samples are all there.
                if behind > (0.0 if not self.aligned else _RESYNC_S if overflow else 1e9):
                    log.debug("%s: %.3f s of silence fills a gap", self.device.name, behind)
                    self._fill(behind)
                if not self.aligned:
                    self.aligned = True
                    self.owner.wake.set()  # the supervisor may be waiting for audio to flow
                self._put(out)
        except Exception:  # an exception here would abort the stream: log instead
            log.exception("audio callback for %s failed", self.device.name)

    def _finished(self) -> None:
        if not self.died:
            self.died = True
            self.owner.wake.set()

    def _fill(self, seconds: float) -> None:
        """Silence for a stretch the device did not deliver (caller holds ``lock``)."""
        remaining = round(seconds * SAMPLE_RATE)
        while remaining > 0:
            n = min(remaining, SAMPLE_RATE)
            self._put(np.zeros(n, dtype=np.float32))
            remaining -= n

    def _put(self, samples: npt.NDArray[np.float32]) -> None:
        if len(samples):
            self.owner.sink_put(AudioChunk(self.speaker, samples, self.emitted / SAMPLE_RATE))
            self.emitted += len(samples)


def _open_error(ch: _Channel, exc: Exception) -> AudioError:
    what = f"cannot open audio input '{ch.device.name}' for the {ch.speaker.value}"
    source = ch.device.pulse_source
    if source and pulse.source_exists(source) is False:
        return AudioError(
            f"{what}: the sound server has no source '{source}' (any more)",
            "start the softphone (or plug in the device), then list inputs: agent-assist devices",
        )
    return AudioError(
        f"{what}: {exc}",
        "check that it is connected and not used exclusively by another program; "
        "list inputs with: agent-assist devices",
    )


class DeviceSource:
    """An ``AudioSource`` capturing one input per speaker from audio devices.

    ``inputs`` maps each speaker to an ``InputDevice`` or a name/index for
    ``find_input_device`` (``None`` = the default input): either
    ``{Speaker.MIXED: ...}`` (single-device mode) or ``AGENT`` and/or
    ``CUSTOMER``. Devices are looked up here, so a wrong name fails at once
    with the list of available inputs.
    """

    live = True

    def __init__(
        self,
        inputs: Mapping[Speaker, InputDevice | str | int | None],
        *,
        clock: Clock | None = None,
        block_seconds: float = 0.032,
        retry_initial: float = 0.5,
        retry_max: float = 5.0,
        stall_timeout: float = 3.0,
        watch_interval: float = 1.0,
    ) -> None:
        if not inputs:
            raise ValueError("DeviceSource needs at least one input")
        if Speaker.MIXED in inputs and len(inputs) > 1:
            raise ValueError("single-device mode (MIXED) cannot be combined with AGENT/CUSTOMER")
        self.clock: Clock = clock or SystemClock()
        self.block_seconds = block_seconds
        self.retry_initial, self.retry_max = retry_initial, retry_max
        self.stall_timeout, self.watch_interval = stall_timeout, watch_interval
        order = [s for s in (Speaker.AGENT, Speaker.CUSTOMER, Speaker.MIXED) if s in inputs]
        self._channels = [
            _Channel(self, s, d if isinstance(d, InputDevice) else devices.find_input_device(d))
            for s, d in ((s, inputs[s]) for s in order)
        ]
        self.wake = threading.Event()
        self._stopping = threading.Event()
        self._sink: ChunkSink | None = None
        self._supervisor: threading.Thread | None = None
        self.started_at: float | None = None
        self.t0 = 0.0

    @classmethod
    def from_names(
        cls,
        *,
        agent: str | None = None,
        customer: str | None = None,
        single: str | None = None,
        **options: Any,
    ) -> AudioSource:
        """From CLI-style names; nothing given = single-device mode on the default input.

        ``customer="loopback:<output>"`` (see the module docstring) records an output.
        """
        if single is not None and (agent or customer):
            raise AudioError(
                "single-device mode cannot be combined with agent/customer devices",
                "give either one device, or the agent and/or customer devices",
            )
        if agent is None and customer is None:
            return cls({Speaker.MIXED: single}, **options)
        # The customer side from an output's loopback (LoopbackSource, soundcard):
        from agent_assist.audio.loopback_source import CombinedSource, LoopbackSource, loopback_target

        if (output := loopback_target(customer)) is not None:
            same = {k: options[k] for k in options.keys() & LoopbackSource.OPTIONS}  # clock etc.
            theirs = LoopbackSource(output, **same)
            if agent is None:
                return theirs
            return CombinedSource(cls({Speaker.AGENT: agent}, **options), theirs)
        named = {Speaker.AGENT: agent, Speaker.CUSTOMER: customer}
        return cls({s: n for s, n in named.items() if n is not None}, **options)

    # ---- AudioSource ---------------------------------------------------
    @property
    def name(self) -> str:
        if len(self._channels) == 1 and self._channels[0].speaker == Speaker.MIXED:
            return self._channels[0].device.name
        return " + ".join(f"{c.speaker.value}: {c.device.name}" for c in self._channels)

    @property
    def speakers(self) -> tuple[Speaker, ...]:
        return tuple(c.speaker for c in self._channels)

    @property
    def devices(self) -> dict[Speaker, InputDevice]:
        return {c.speaker: c.device for c in self._channels}

    def start(self, sink: ChunkSink) -> None:
        if self.started_at is not None:
            raise RuntimeError("a DeviceSource starts once")
        self._sink = sink
        self.started_at = self.t0 = self.clock.now()
        for ch in self._channels:
            try:
                ch.open()
            except Exception as exc:
                self._sink = None
                for other in self._channels:
                    other.close()
                if isinstance(exc, AudioError):
                    raise
                raise _open_error(ch, exc) from exc
        for ch in self._channels:
            sink.status(ch.speaker, ch.device.name, DeviceState.OPEN)
        self._supervisor = threading.Thread(target=self._supervise, name="audio-devices", daemon=True)
        self._supervisor.start()

    def stop(self) -> None:
        self._stopping.set()
        self.wake.set()
        if self._supervisor is not None:
            self._supervisor.join()
        sink = self._sink
        if sink is None:
            return
        for ch in self._channels:
            ch.close()  # delivers the resampler tail, so the sink is still needed
            ch.state = DeviceState.CLOSED
            sink.status(ch.speaker, ch.device.name, DeviceState.CLOSED)
            sink.end(ch.speaker)
        self._sink = None

    def sink_put(self, chunk: AudioChunk) -> None:
        sink = self._sink
        if sink is not None:
            sink.put(chunk)

    # ---- supervisor thread ---------------------------------------------
    def _supervise(self) -> None:
        while not self._stopping.is_set():
            now = time.monotonic()
            waits = [c.retry_at - now for c in self._channels if c.state == DeviceState.LOST]
            self.wake.wait(max(0.0, min([self.watch_interval, *waits])))
            self.wake.clear()
            for ch in self._channels:
                if self._stopping.is_set():
                    break
                try:
                    self._check(ch)
                except Exception:  # keep watching the other channel whatever happens
                    log.exception("supervising %s failed", ch.device.name)

    def _check(self, ch: _Channel) -> None:
        """One supervision step: OPEN → LOST → (reopened, awaiting audio) → REOPENED."""
        sink = self._sink
        if sink is None:
            return
        if ch.state == DeviceState.LOST:
            if time.monotonic() >= ch.retry_at:
                try:
                    ch.open()
                    ch.probing = True  # REOPENED only once audio flows again
                except Exception as exc:
                    log.debug("reopening %s failed: %s", ch.device.name, exc)
                    self._retry_later(ch)
            return
        if ch.probing and ch.aligned:
            ch.probing = False
            gap = self.clock.now() - ch.lost_at
            sink.status(ch.speaker, ch.device.name, DeviceState.REOPENED, f"back after {gap:.1f} s")
            return
        reason = ch.trouble()
        if reason is None:
            return
        if ch.probing:  # reopened but still silent: retry quietly, backing off
            self._retry_later(ch)
            return
        ch.backoff, ch.lost_at = self.retry_initial / 2, self.clock.now()
        self._retry_later(ch)
        log.warning("audio input %s lost: %s", ch.device.name, reason)
        sink.status(ch.speaker, ch.device.name, DeviceState.LOST, reason)

    def _retry_later(self, ch: _Channel) -> None:
        ch.close()
        ch.state = DeviceState.LOST
        ch.backoff = min(self.retry_max, ch.backoff * 2)
        ch.retry_at = time.monotonic() + ch.backoff
