"""File replay and resampling, on real recordings and on damaged files made from them."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from agent_assist.audio.buffer import ChunkBuffer
from agent_assist.audio.file_source import FileSource
from agent_assist.audio.resample import StreamResampler, mix_matrix, resample, to_float32
from agent_assist.clock import ManualClock, SystemClock
from agent_assist.domain import SAMPLE_RATE, AudioChunk, DeviceState, Speaker
from agent_assist.errors import AudioError

SPEECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "speech"
STEREO = SPEECH / "faster-whisper" / "stereo_diarization.wav"  # 16 kHz, a speaker per channel
JFK = SPEECH / "faster-whisper" / "jfk.flac"  # 44.1 kHz stereo 24-bit, 11 s
LJ = SPEECH / "lhotse" / "LJ002-0020.wav"  # 22.05 kHz mono

AGENT, CUSTOMER, MIXED = Speaker.AGENT, Speaker.CUSTOMER, Speaker.MIXED


class RecordingSink:
    """A ``ChunkSink`` that keeps everything and the clock reading at each put."""

    def __init__(self, clock: ManualClock | None = None) -> None:
        self.clock = clock
        self.chunks: list[AudioChunk] = []
        self.put_at: list[float] = []
        self.statuses: list[tuple[Speaker, str, DeviceState, str]] = []
        self.ended: list[Speaker] = []
        self.first = threading.Event()

    def put(self, chunk: AudioChunk) -> None:
        self.chunks.append(chunk)
        self.put_at.append(self.clock.now() if self.clock else 0.0)
        self.first.set()

    def status(self, speaker: Speaker, device: str, state: DeviceState, detail: str = "") -> None:
        self.statuses.append((speaker, device, state, detail))

    def end(self, speaker: Speaker) -> None:
        self.ended.append(speaker)

    def audio(self, speaker: Speaker) -> np.ndarray:
        return np.concatenate([c.samples for c in self.chunks if c.speaker == speaker])


def play(source: FileSource, sink: RecordingSink | None = None) -> RecordingSink:
    sink = sink or RecordingSink()
    source.start(sink)
    assert source.wait(timeout=60)
    return sink


def assert_contiguous(chunks: list[AudioChunk]) -> None:
    for a, b in itertools.pairwise(chunks):
        assert b.start == pytest.approx(a.end, abs=1e-9)


def test_realtime_replay_with_manual_clock_gives_exact_chunk_times(tmp_path: Path) -> None:
    rate, seconds = 44_100, 1.234
    t = np.arange(int(rate * seconds)) / rate
    stereo = np.stack([np.sin(2 * np.pi * 300 * t), np.sin(2 * np.pi * 700 * t)], axis=1) * 0.3
    path = tmp_path / "call.wav"
    sf.write(path, stereo, rate)
    clock = ManualClock(100.0)

    source = FileSource(path, realtime=True, clock=clock, chunk_seconds=0.02)
    sink = play(source, RecordingSink(clock))

    assert source.started_at == 100.0
    assert source.speakers == (AGENT, CUSTOMER)
    assert [c.speaker for c in sink.chunks[:4]] == [AGENT, CUSTOMER, AGENT, CUSTOMER]
    for speaker in (AGENT, CUSTOMER):
        chunks = [c for c in sink.chunks if c.speaker == speaker]
        for k, chunk in enumerate(chunks[:-1]):
            assert chunk.start == k * 320 / SAMPLE_RATE
            assert len(chunk.samples) == 320
        assert_contiguous(chunks)
        assert chunks[-1].end == pytest.approx(seconds, abs=2 / SAMPLE_RATE)
    for chunk, at in zip(sink.chunks, sink.put_at, strict=True):
        assert at == pytest.approx(100.0 + chunk.end, abs=1e-9)  # handed over when its end came
    assert clock.now() == pytest.approx(100.0 + sink.chunks[-1].end, abs=1e-9)
    assert sorted(sink.ended) == [AGENT, CUSTOMER]
    left = sink.audio(AGENT)[1000:17000]
    assert np.argmax(np.abs(np.fft.rfft(left))) == 300  # 1 Hz bins over 1 s: the left tone
    assert np.argmax(np.abs(np.fft.rfft(sink.audio(CUSTOMER)[1000:17000]))) == 700


def test_fast_replay_of_stereo_call_keeps_one_speaker_per_channel() -> None:
    data, rate = sf.read(STEREO, dtype="float32")
    assert rate == SAMPLE_RATE and data.shape[1] == 2

    source = FileSource(STEREO, realtime=False, clock=SystemClock())
    sink = play(source)

    assert source.duration == pytest.approx(len(data) / rate)
    assert source.name == STEREO.name and not source.live and source.error is None
    np.testing.assert_array_equal(sink.audio(AGENT), data[:, 0])  # 16 kHz: exact pass-through
    np.testing.assert_array_equal(sink.audio(CUSTOMER), data[:, 1])
    assert_contiguous([c for c in sink.chunks if c.speaker == AGENT])
    assert sorted(sink.ended) == [AGENT, CUSTOMER] and not sink.statuses


def test_fast_replay_of_22khz_mono_file_resamples_to_16khz() -> None:
    info = sf.info(LJ)
    assert info.samplerate == 22_050 and info.channels == 1

    source = FileSource(LJ, realtime=False, clock=SystemClock())
    sink = play(source)

    audio = sink.audio(MIXED)
    assert source.speakers == (MIXED,) and {c.speaker for c in sink.chunks} == {MIXED}
    assert abs(len(audio) - info.frames * SAMPLE_RATE / info.samplerate) <= 1
    assert sink.chunks[-1].end == pytest.approx(info.duration, abs=1e-4)
    reference, _ = sf.read(LJ, dtype="float32")
    expected = soxr.resample(reference, info.samplerate, SAMPLE_RATE)
    n = min(len(expected), len(audio))
    assert np.max(np.abs(audio[:n] - expected[:n])) < 1e-3  # streamed == whole-file resampling
    assert sink.ended == [MIXED]


def test_mix_and_channel_map_choose_the_speakers() -> None:
    mixed = play(FileSource(JFK, realtime=False, mix=True))
    assert {c.speaker for c in mixed.chunks} == {MIXED}
    assert mixed.chunks[-1].end == pytest.approx(11.0, abs=1e-3)

    swapped = play(FileSource(STEREO, realtime=False, channel_map=(CUSTOMER, AGENT)))
    data, _ = sf.read(STEREO, dtype="float32")
    np.testing.assert_array_equal(swapped.audio(CUSTOMER), data[:, 0])

    only_right = play(FileSource(STEREO, realtime=False, channel_map=(None, CUSTOMER)))
    assert {c.speaker for c in only_right.chunks} == {CUSTOMER}
    np.testing.assert_array_equal(only_right.audio(CUSTOMER), data[:, 1])


def test_six_channels_with_an_explicit_channel_map_play(tmp_path: Path) -> None:
    six = np.zeros((4800, 6), dtype=np.float32)
    six[:, 2] = 0.5
    path = tmp_path / "surround.wav"
    sf.write(path, six, 48_000)
    cmap = (None, None, AGENT, None, None, CUSTOMER)
    sink = play(FileSource(path, realtime=False, channel_map=cmap))
    assert np.mean(sink.audio(AGENT)[200:-200]) == pytest.approx(0.5, abs=1e-3)
    assert np.max(np.abs(sink.audio(CUSTOMER))) == 0.0
    assert len(sink.audio(AGENT)) == 1600


@pytest.mark.parametrize("fmt", ["mp3", "ogg", "opus", "m4a"])
def test_compressed_formats_replay(tmp_path: Path, fmt: str) -> None:
    mono, rate = sf.read(LJ, dtype="float32")
    path = tmp_path / f"call.{fmt}"
    if fmt == "m4a":  # libsndfile cannot read AAC: this goes through the PyAV fallback
        import av

        with av.open(str(path), "w") as out:
            stream = out.add_stream("aac", rate=rate, layout="mono")
            for i in range(0, len(mono), 1024):
                frame = av.AudioFrame.from_ndarray(
                    mono[None, i : i + 1024], format="fltp", layout="mono"
                )
                frame.sample_rate = rate
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
    else:
        container, codec = {"mp3": ("MP3", "MPEG_LAYER_III"), "ogg": ("OGG", "VORBIS")}.get(
            fmt, ("OGG", "OPUS")
        )
        if fmt == "opus":  # Opus runs at 48 kHz
            mono, rate = soxr.resample(mono, rate, 48_000).astype(np.float32), 48_000
        sf.write(path, mono, rate, format=container, subtype=codec)
    source = FileSource(path, realtime=False)
    sink = play(source)
    assert source.error is None and sink.ended == [MIXED]
    assert source.duration == pytest.approx(len(mono) / rate, abs=0.1)
    assert sink.chunks[-1].end == pytest.approx(source.duration, abs=0.1)
    assert np.sqrt(np.mean(sink.audio(MIXED) ** 2)) > 0.01  # the speech came through


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    raw = JFK.read_bytes()
    files = {
        "missing": tmp_path / "no_such_call.wav",
        "text": tmp_path / "notes.wav",
        "empty": tmp_path / "empty.wav",
        "zero_seconds": tmp_path / "zero_seconds.wav",
        "half_flac": tmp_path / "half.flac",
        "header_only_flac": tmp_path / "header_only.flac",
        "six_channels": tmp_path / "six_channels.wav",
    }
    files["text"].write_text("Agent notes: customer called about a refund.\n")
    files["empty"].write_bytes(b"")
    sf.write(files["zero_seconds"], np.zeros((0, 1), dtype=np.float32), SAMPLE_RATE)
    files["half_flac"].write_bytes(raw[: len(raw) // 2])
    files["header_only_flac"].write_bytes(raw[:2000])
    sf.write(files["six_channels"], np.zeros((48_000, 6), dtype=np.float32), 48_000)
    return files


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("missing", "not found"),
        ("text", "not an audio file"),
        ("empty", "empty"),
        ("zero_seconds", "no audio (0 seconds)"),
        ("half_flac", "truncated or corrupt"),
        ("header_only_flac", "truncated or corrupt"),
        ("six_channels", "6 channels; Agent Assist takes mono or stereo"),
    ],
)
def test_bad_files_give_one_clear_audio_error(tmp_path: Path, kind: str, words: str) -> None:
    path = _bad_files(tmp_path)[kind]
    with pytest.raises(AudioError) as caught:
        FileSource(path, realtime=False)
    err = caught.value
    assert path.name in err.message and words in err.message
    assert err.fix and "\n" not in err.message.strip()
    assert err.render().startswith("error: ")
    if kind == "six_channels":
        assert "remix 1 2" in err.fix


def test_damage_in_the_middle_stops_the_replay_there_without_a_traceback(tmp_path: Path) -> None:
    raw = bytearray(JFK.read_bytes())
    raw[len(raw) // 2 : len(raw) // 2 + 30_000] = bytes(30_000)
    path = tmp_path / "damaged.flac"
    path.write_bytes(bytes(raw))

    source = FileSource(path, realtime=False)  # the end decodes, so it is accepted up front
    sink = play(source)

    assert source.error is not None and path.name in source.error.message
    assert "damaged after" in source.error.message
    assert [s[2] for s in sink.statuses] == [DeviceState.LOST, DeviceState.LOST]
    assert sorted(sink.ended) == [AGENT, CUSTOMER]
    assert 2.0 < sink.chunks[-1].end < 10.0  # what decoded before the damage was played


def test_stop_ends_a_realtime_replay_early() -> None:
    source = FileSource(JFK, realtime=True, clock=SystemClock())
    sink = RecordingSink()
    source.start(sink)
    assert sink.first.wait(10)
    began = time.monotonic()
    source.stop()
    assert time.monotonic() - began < 1.0
    # jfk.flac is mono stored as two identical channels: one MIXED channel
    assert source.wait(0) and sink.ended == [Speaker.MIXED]
    assert sink.chunks[-1].end < 2.0


def test_blocking_buffer_throttles_a_fast_replay_and_loses_nothing() -> None:
    buffer = ChunkBuffer(max_seconds=0.2, policy="block")
    got: list[AudioChunk] = []

    class BufferSink(RecordingSink):
        def put(self, chunk: AudioChunk) -> None:
            buffer.put(chunk)

        def end(self, speaker: Speaker) -> None:
            buffer.close()

    def consume() -> None:
        while buffer.wait_for_data(timeout=10, min_seconds=0.1) and not buffer.drained():
            got.extend(buffer.get_all())
        got.extend(buffer.get_all())

    consumer = threading.Thread(target=consume)
    consumer.start()
    play(FileSource(LJ, realtime=False), BufferSink())
    consumer.join(timeout=30)
    assert buffer.dropped_seconds == 0.0
    assert_contiguous(got)
    assert got[-1].end == pytest.approx(sf.info(LJ).duration, abs=1e-4)


def test_streaming_resampler_matches_whole_signal_resampling() -> None:
    rate = 44_100
    t = np.arange(rate * 2) / rate
    signal = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    stream = StreamResampler(rate, 1)
    pieces = [stream.process(signal[i : i + 882]) for i in range(0, len(signal), 882)]
    streamed = np.concatenate([*pieces, stream.flush()])
    whole = resample(signal, rate)
    assert len(streamed) == len(whole) == 32_000
    assert np.max(np.abs(streamed - whole)) < 1e-4  # no clicks at the 20 ms block edges
    assert np.max(np.abs(np.diff(streamed))) < 0.2  # a 440 Hz tone at 16 kHz moves < 0.09/sample


def test_resample_helpers() -> None:
    assert to_float32(np.array([-32768, 0, 16384], dtype=np.int16)).tolist() == [-1.0, 0.0, 0.5]
    assert to_float32(np.array([0, 128], dtype=np.uint8)).tolist() == [-1.0, 0.0]
    speakers, matrix = mix_matrix([AGENT, CUSTOMER, AGENT, None])
    assert speakers == (AGENT, CUSTOMER)
    assert matrix.tolist() == [[0.5, 0.0], [0.0, 1.0], [0.5, 0.0], [0.0, 0.0]]
    buffer = np.ones(8, dtype=np.float32)
    out = StreamResampler(SAMPLE_RATE, 1).process(buffer)
    buffer[:] = 0  # PortAudio reuses its buffer: the chunk must not change
    assert out.tolist() == [1.0] * 8


def test_stereo_with_identical_channels_is_treated_as_mono(tmp_path: Path) -> None:
    from agent_assist.audio.file_source import FileSource

    tone = np.sin(np.linspace(0, 2000, 16000)).astype(np.float32) * 0.3
    same = tmp_path / "same.wav"
    sf.write(same, np.stack([tone, tone], axis=1), 16000)
    assert FileSource(same).speakers == (Speaker.MIXED,)
    apart = tmp_path / "apart.wav"
    sf.write(apart, np.stack([tone, np.zeros_like(tone)], axis=1), 16000)
    assert FileSource(apart).speakers == (Speaker.AGENT, Speaker.CUSTOMER)
