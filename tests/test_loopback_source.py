"""Loopback capture of an *output* with soundcard, through a private PulseAudio.

``LoopbackSource`` exists for Windows (no WASAPI loopback in PortAudio), but
soundcard records PulseAudio ``<sink>.monitor`` sources the same way, so these
tests play espeak-ng speech into the null sink ``softphone`` of a throw-away
server (fixtures from ``test_audio_device``) and check what arrives on the
customer channel, and when. Nothing touches the user's own sound server.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from agent_assist.audio.device_source import DeviceSource
from agent_assist.audio.loopback_source import CombinedSource, LoopbackSource, loopback_target
from agent_assist.audio.pulse import PulseServer
from agent_assist.domain import SAMPLE_RATE, DeviceState
from agent_assist.errors import AudioError
from tests import test_audio_device as tad
from tests.test_audio_device import (
    AGENT,
    CUSTOMER,
    NEEDS_PULSE,
    LiveSink,
    assert_contiguous,
    audio_of,
    call_time,
    play,
    speech_bounds,
    wait_captured,
)

pulse = tad.pulse  # the fixtures, reused: a private server with sinks softphone + headset
speech = tad.speech
NEEDS_SOUNDCARD = pytest.mark.skipif(
    importlib.util.find_spec("soundcard") is None,
    reason="needs the soundcard package (pip install 'soundcard>=0.4.3')",
)
OPEN, LOST, REOPENED, CLOSED = (
    DeviceState.OPEN,
    DeviceState.LOST,
    DeviceState.REOPENED,
    DeviceState.CLOSED,
)


@pytest.fixture
def lone_pulse(monkeypatch: pytest.MonkeyPatch) -> Iterator[PulseServer]:
    """A private server with the softphone sink only: when it goes, nothing can take its streams."""
    runtime = Path(tempfile.mkdtemp(prefix="aa-pulse-"))
    for var in ("PULSE_SOURCE", "PULSE_SINK", "PULSE_RUNTIME_PATH"):
        monkeypatch.delenv(var, raising=False)
    server = PulseServer(runtime, sinks=("softphone",)).start()
    for key, value in server.env.items():
        monkeypatch.setenv(key, value)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(runtime, ignore_errors=True)


@pytest.mark.audio
@NEEDS_PULSE
@NEEDS_SOUNDCARD
def test_loopback_capture_puts_speech_at_the_right_call_time(pulse: PulseServer, speech: dict) -> None:
    clip, (clip_on, clip_off) = speech[CUSTOMER]
    source = LoopbackSource("softphone")
    assert source.device.loopback_id == "softphone.monitor"
    assert source.speakers == (CUSTOMER,) and source.live
    sink, played_at, stopped_at = tad.capture_clip(pulse, source, clip, clip_off)
    tad.assert_clip_landed(sink, played_at, stopped_at, (clip_on, clip_off))
    assert [(s[0], s[1]) for s in sink.statuses] == [
        (CUSTOMER, OPEN),
        (CUSTOMER, CLOSED),
    ]
    assert sink.ended == [CUSTOMER]


@pytest.mark.audio
@NEEDS_PULSE
@NEEDS_SOUNDCARD
def test_agent_microphone_and_customer_loopback_share_one_call(pulse: PulseServer, speech: dict) -> None:
    source = DeviceSource.from_names(agent="headset.monitor", customer="loopback:softphone")
    assert isinstance(source, CombinedSource)
    assert source.speakers == (AGENT, CUSTOMER)
    assert source.name == "agent: pulse:headset.monitor + customer: loopback:softphone"
    sink, customer_at, agent_at = tad.capture_two(pulse, speech, source)

    cut = round(agent_at * SAMPLE_RATE)
    customer, agent = audio_of(sink.chunks_of(CUSTOMER)), audio_of(sink.chunks_of(AGENT))
    on, off = speech_bounds(customer)
    assert (
        customer_at + speech[CUSTOMER][1][0] - 0.05 <= on <= customer_at + speech[CUSTOMER][1][0] + 0.5
    )
    assert off <= agent_at + 0.1
    assert np.max(np.abs(customer[cut + 1600 :])) < 1e-3  # silent while the agent talks
    on, _ = speech_bounds(agent)
    assert agent_at + speech[AGENT][1][0] - 0.05 <= on <= agent_at + speech[AGENT][1][0] + 0.5
    assert np.max(np.abs(agent[: cut - 800])) < 1e-3  # silent while the customer talks
    for speaker in (AGENT, CUSTOMER):
        assert_contiguous(sink.chunks_of(speaker))
        assert sink.chunks_of(speaker)[0].start == 0.0
    assert sink.chunks_of(AGENT)[-1].end == pytest.approx(sink.chunks_of(CUSTOMER)[-1].end, abs=0.2)
    states = [(s[0], s[1]) for s in sink.statuses]
    assert sorted(states) == sorted((sp, st) for sp in (AGENT, CUSTOMER) for st in (OPEN, CLOSED))
    assert sorted(sink.ended) == [AGENT, CUSTOMER]


@pytest.mark.audio
@NEEDS_PULSE
@NEEDS_SOUNDCARD
@pytest.mark.parametrize("how", ["moved", "killed"])
def test_losing_the_output_reports_and_reopens_without_losing_audio(
    how: str, speech: dict, request: pytest.FixtureRequest
) -> None:
    """``moved``: the server moves the stream to another source; ``killed``: none is left."""
    server: PulseServer = request.getfixturevalue("pulse" if how == "moved" else "lone_pulse")
    clip, (clip_on, clip_off) = speech[CUSTOMER]
    source = LoopbackSource("softphone", retry_initial=0.2, retry_max=1.0, watch_interval=0.2)
    sink = LiveSink()
    source.start(sink)
    try:
        wait_captured(sink, (CUSTOMER,), 0.3)
        played_at = call_time(source)
        play(server, clip, "softphone")
        wait_captured(sink, (CUSTOMER,), played_at + clip_off + 0.3)
        unloaded_at = call_time(source)
        server.unload_module(server.module_of("softphone"))
        sink.wait_for(lambda: sink.has_state(LOST), 10, "LOST")
        server.load_null_sink("softphone")
        sink.wait_for(lambda: sink.has_state(REOPENED), 15, "REOPENED")
        wait_captured(sink, (CUSTOMER,), call_time(source))  # audio flows again
        replayed_at = call_time(source)
        play(server, clip, "softphone")
        wait_captured(sink, (CUSTOMER,), replayed_at + clip_off + 0.3)
    finally:
        source.stop()
        stopped_at = call_time(source)

    states = [s[1] for s in sink.statuses]
    assert states == [OPEN, LOST, REOPENED, CLOSED]
    lost = sink.statuses[1]
    assert lost[2], "LOST carries the reason"
    before = sink.chunks_of(CUSTOMER, upto=lost[3])  # delivered before LOST was reported
    assert before[-1].end >= unloaded_at - 0.2  # everything up to the loss arrived
    on, off = speech_bounds(audio_of(before))
    assert off - on == pytest.approx(clip_off - clip_on, abs=0.1)  # the first utterance is whole
    chunks = sink.chunks_of(CUSTOMER)
    assert_contiguous(chunks)  # the outage is filled: call time never jumps
    on, off = speech_bounds(audio_of(chunks)[round(replayed_at * SAMPLE_RATE) :])
    assert on <= clip_on + 0.5 and off - on == pytest.approx(clip_off - clip_on, abs=0.1)
    assert chunks[-1].end == pytest.approx(stopped_at, abs=0.3)
    assert sink.ended == [CUSTOMER]


@pytest.mark.audio
@NEEDS_PULSE
@NEEDS_SOUNDCARD
def test_a_silent_stretch_from_a_suspended_output_is_filled(pulse: PulseServer) -> None:
    """A suspended sink's monitor delivers nothing (the read blocks): not a loss, but a gap."""
    source = LoopbackSource("softphone")
    sink = LiveSink()
    source.start(sink)
    try:
        wait_captured(sink, (CUSTOMER,), 0.3)
        pulse.pactl("suspend-sink", "softphone", "1")
        threading.Event().wait(2.0)  # let the silence last
        pulse.pactl("suspend-sink", "softphone", "0")
        wait_captured(sink, (CUSTOMER,), call_time(source) + 0.3)
    finally:
        source.stop()
        stopped_at = call_time(source)
    assert [s[1] for s in sink.statuses] == [OPEN, CLOSED]
    chunks = sink.chunks_of(CUSTOMER)
    assert_contiguous(chunks)
    assert chunks[-1].end == pytest.approx(stopped_at, abs=0.3)  # the stretch was filled


@pytest.mark.audio
@NEEDS_PULSE
@NEEDS_SOUNDCARD
def test_stop_does_not_hang_on_a_hung_output(pulse: PulseServer) -> None:
    source = LoopbackSource("softphone")
    source.stop_timeout = 0.5
    sink = LiveSink()
    source.start(sink)
    wait_captured(sink, (CUSTOMER,), 0.3)
    pulse.pactl("suspend-sink", "softphone", "1")  # the reader blocks in soundcard's record
    threading.Event().wait(0.5)
    began = time.monotonic()
    source.stop()
    assert time.monotonic() - began < 2.0
    assert [s[1] for s in sink.statuses] == [OPEN, CLOSED] and sink.ended == [CUSTOMER]
    captured = len(sink.chunks)
    pulse.pactl("suspend-sink", "softphone", "0")  # the abandoned reader wakes up and ends
    assert source._thread is not None
    source._thread.join(10)
    assert not source._thread.is_alive()
    assert len(sink.chunks) == captured  # nothing reached the sink after end()


@pytest.mark.audio
@NEEDS_PULSE
@NEEDS_SOUNDCARD
def test_bad_output_names_explain_themselves(pulse: PulseServer) -> None:
    with pytest.raises(AudioError) as caught:
        LoopbackSource("no-such-softphone")
    message = caught.value.message
    assert "no-such-softphone" in message and "softphone" in message and "headset" in message
    assert "loopback:" in (caught.value.fix or "")
    with pytest.raises(AudioError, match="matches 2 devices"):
        LoopbackSource("Null Output")  # both null sinks have that name
    with pytest.raises(AudioError, match="nope"):
        DeviceSource.from_names(agent="headset.monitor", customer="loopback:nope")

    assert loopback_target("Loopback: softphone") == "softphone"
    assert loopback_target("softphone.monitor", platform="linux") is None
    assert loopback_target("headset.monitor", platform="win32") is None  # an input has it
    assert loopback_target("Null Output", platform="win32") == "Null Output"  # no input has it
    with pytest.raises(AudioError, match="matches 2 devices"):
        loopback_target("monitor", platform="win32")

    source = DeviceSource.from_names(agent="headset.monitor", customer="loopback:softphone")
    pulse.unload_module(pulse.module_of("softphone"))  # gone between lookup and start
    sink = LiveSink()
    with pytest.raises(AudioError) as caught:
        source.start(sink)
    assert "softphone" in caught.value.message and caught.value.fix
    assert [(s[0], s[1]) for s in sink.statuses] == [(AGENT, OPEN), (AGENT, CLOSED)]
    assert sink.ended == [AGENT]  # the agent's input, already started, was stopped again


def test_missing_soundcard_is_an_audio_error_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "soundcard", None)  # as if it were not installed
    with pytest.raises(AudioError) as caught:
        LoopbackSource("Speakers")
    assert "needs soundcard" in caught.value.message
    assert "pip install" in (caught.value.fix or "") and "soundcard" in (caught.value.fix or "")
