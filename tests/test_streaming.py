"""The per-channel streaming processor, driven step by step (real VAD, fake decoder)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from agent_assist.clock import ManualClock
from agent_assist.domain import SAMPLE_RATE, AudioChunk, FinalUtterance, PartialText, Silence, Speaker
from agent_assist.stt.streaming import ChannelStream, StreamOptions
from agent_assist.stt.vad import VadOptions
from agent_assist.stt.whisper import DecodeOptions, Transcript
from tests.conftest import load_speech, speech_items


@dataclass
class CountingDecoder:
    """Stands in for Whisper in logic tests: records what it was asked to decode."""

    calls: list[tuple[float, DecodeOptions]] = field(default_factory=list)

    def transcribe(
        self,
        audio: npt.NDArray[np.float32],
        options: DecodeOptions,
        prefix: tuple[int, ...] = (),
        previous: tuple[int, ...] = (),
    ) -> Transcript:
        self.calls.append((len(audio) / SAMPLE_RATE, options))
        return Transcript(f"{len(audio)} samples", 0.9, 0.0)


def _timeline() -> tuple[np.ndarray, list[tuple[float, float]]]:
    """1 s silence, speech, 2 s silence, speech, 6 s silence; returns audio and speech spans."""
    by_id = {i["id"]: i for i in speech_items()}
    a = load_speech(by_id["ps_goforward"])
    b = load_speech(by_id["sb_example1"])
    parts, spans, t = [], [], 0.0
    for piece in (np.zeros(SAMPLE_RATE), a, np.zeros(2 * SAMPLE_RATE), b, np.zeros(6 * SAMPLE_RATE)):
        if piece.any():
            spans.append((t, t + len(piece) / SAMPLE_RATE))
        parts.append(piece.astype(np.float32))
        t += len(piece) / SAMPLE_RATE
    return np.concatenate(parts), spans


def _drive(stream: ChannelStream, audio: np.ndarray, clock: ManualClock) -> list[object]:
    events: list[object] = []
    step = SAMPLE_RATE // 50
    for i in range(0, len(audio), step):
        stream.insert_audio(AudioChunk(Speaker.CUSTOMER, audio[i : i + step], i / SAMPLE_RATE))
        clock.advance(step / SAMPLE_RATE)
        events.extend(stream.take_events())
        while stream.finals_pending:
            events.append(stream.decode_final())
        if stream.partial_overdue() >= 0:
            events.append(stream.decode_partial())
    stream.finish()
    while stream.finals_pending:
        events.append(stream.decode_final())
    events.extend(stream.take_events())
    return [e for e in events if e is not None]


def test_finals_follow_speech_and_silence_costs_nothing() -> None:
    audio, spans = _timeline()
    decoder = CountingDecoder()
    clock = ManualClock()
    stream = ChannelStream("c1", Speaker.CUSTOMER, decoder, clock, StreamOptions())
    events = _drive(stream, audio, clock)
    finals = [e for e in events if isinstance(e, FinalUtterance)]
    partials = [e for e in events if isinstance(e, PartialText)]

    # Each spoken stretch gives at least one final inside (a little around) it.
    for lo, hi in spans:
        inside = [f for f in finals if f.start >= lo - 0.3 and f.end <= hi + 0.6]
        assert inside, f"no final for speech {lo:.1f}-{hi:.1f}"
    assert all(f.speaker is Speaker.CUSTOMER for f in finals)
    assert len({f.utterance_id for f in finals}) == len(finals)
    # Finals decode with the beam and word timestamps, partials greedily without.
    assert {o.beam_size for _, o in decoder.calls if o.word_timestamps} == {5}
    assert all(o.beam_size == 1 for _, o in decoder.calls if not o.word_timestamps)
    # Decoded audio is the speech (plus short pads), not the 9 s of silence.
    speech = sum(hi - lo for lo, hi in spans)
    finals_audio = sum(d for d, o in decoder.calls if o.word_timestamps)
    assert finals_audio < speech + 1.5
    # Partials arrive during speech, each for the utterance then in progress.
    assert partials
    assert all(any(lo - 0.3 <= p.end <= hi + 0.5 for lo, hi in spans) for p in partials)


def test_partial_cadence_is_at_most_the_interval() -> None:
    audio, _ = _timeline()
    decoder = CountingDecoder()
    clock = ManualClock()
    stream = ChannelStream("c1", Speaker.AGENT, decoder, clock, StreamOptions(partial_interval_s=0.4))
    events = _drive(stream, audio, clock)
    by_utt: dict[str, list[float]] = {}
    for e in events:
        if isinstance(e, PartialText):
            by_utt.setdefault(e.utterance_id, []).append(e.end)
    gaps = [b - a for ends in by_utt.values() for a, b in itertools.pairwise(ends)]
    # One every interval while words flow; a pause inside speech may stretch one.
    assert gaps and np.mean(np.array(gaps) <= 0.4 + 0.05) >= 0.8 and max(gaps) <= 1.0


def test_silence_event_after_a_quiet_stretch() -> None:
    audio, spans = _timeline()
    clock = ManualClock()
    stream = ChannelStream(
        "c1", Speaker.AGENT, CountingDecoder(), clock, StreamOptions(silence_event_s=3.0)
    )
    events = _drive(stream, audio, clock)
    silences = [e for e in events if isinstance(e, Silence)]
    assert silences, "6 s of trailing silence must be reported"
    assert spans[-1][0] < silences[-1].since <= spans[-1][1]


def test_pure_silence_never_decodes() -> None:
    decoder = CountingDecoder()
    clock = ManualClock()
    stream = ChannelStream("c1", Speaker.AGENT, decoder, clock)
    _drive(stream, np.zeros(SAMPLE_RATE * 20, dtype=np.float32), clock)
    assert decoder.calls == []
    # and the kept audio stays bounded (pre-roll only)
    assert len(stream._audio) < 2 * SAMPLE_RATE


def test_final_is_decoded_ahead_during_the_pause_and_not_again() -> None:
    by_id = {i["id"]: i for i in speech_items()}
    speech = load_speech(by_id["ps_goforward"])
    audio = np.concatenate(
        [np.zeros(SAMPLE_RATE // 2, np.float32), speech, np.zeros(SAMPLE_RATE, np.float32)]
    )
    decoder = CountingDecoder()
    clock = ManualClock()
    stream = ChannelStream("c1", Speaker.AGENT, decoder, clock, StreamOptions(speculate_after_s=0.2))
    step = 320
    speculated_at = None
    for i in range(0, len(audio), step):
        stream.insert_audio(AudioChunk(Speaker.AGENT, audio[i : i + step], i / SAMPLE_RATE))
        if stream.speculation_due():
            assert not stream.finals_pending
            stream.decode_speculative()
            speculated_at = stream.position
        if stream.finals_pending:
            break
    assert speculated_at is not None and stream.finals_pending == 1
    finals_decoded = sum(1 for _, o in decoder.calls if o.word_timestamps)
    final = stream.decode_final()
    assert final is not None
    assert sum(1 for _, o in decoder.calls if o.word_timestamps) == finals_decoded  # no second decode
    assert stream.position - speculated_at >= 0.15  # the pause went on after the early decode


def test_speech_resuming_discards_the_early_decode() -> None:
    by_id = {i["id"]: i for i in speech_items()}

    def trimmed(x: np.ndarray) -> np.ndarray:
        loud = np.flatnonzero(np.abs(x) > 0.05 * np.abs(x).max())
        return x[loud[0] : loud[-1] + 1]

    a, b = trimmed(load_speech(by_id["ps_cards_001"])), trimmed(load_speech(by_id["ps_cards_003"]))
    pause = np.zeros(
        int(0.3 * SAMPLE_RATE), np.float32
    )  # longer than speculate, shorter than min silence
    audio = np.concatenate([a, pause, b, np.zeros(SAMPLE_RATE, np.float32)])
    decoder = CountingDecoder()
    clock = ManualClock()
    stream = ChannelStream("c1", Speaker.AGENT, decoder, clock, StreamOptions(speculate_after_s=0.2))
    for i in range(0, len(audio), 320):
        stream.insert_audio(AudioChunk(Speaker.AGENT, audio[i : i + 320], i / SAMPLE_RATE))
        if stream.speculation_due():
            stream.decode_speculative()
    finals = []
    while stream.finals_pending:
        finals.append(stream.decode_final())
    assert len(finals) == 1 and finals[0] is not None
    assert (
        sum(1 for _, o in decoder.calls if o.word_timestamps) == 2
    )  # the early decode, then the real one
    # The emitted final covers both words, not just the speech before the pause.
    assert finals[0].end >= len(a) / SAMPLE_RATE + 0.3 + 0.5


def test_buffer_wakes_on_data_and_batches() -> None:
    import threading

    from agent_assist.audio.buffer import ChunkBuffer

    buf = ChunkBuffer(max_seconds=1.0, policy="drop_oldest")
    chunk = AudioChunk(Speaker.AGENT, np.zeros(320, np.float32), 0.0)
    threading.Timer(0.05, buf.put, args=(chunk,)).start()
    assert buf.wait_for_data(timeout=5.0)  # wakes on the first chunk
    assert buf.get_all() == [chunk]
    buf.put(chunk)
    assert buf.wait_for_data(timeout=0.05, min_seconds=0.1)  # not enough yet: falls back to any data
    for _ in range(100):
        buf.put(chunk)  # 2 s into a 1 s buffer: the oldest are dropped
    assert buf.seconds <= 1.0 and buf.dropped_seconds >= 1.0


def test_a_monologue_is_cut_into_finals_and_memory_stays_bounded() -> None:
    by_id = {i["id"]: i for i in speech_items()}
    speech = load_speech(by_id["lh_2412-153948-0000"])  # 11.7 s of continuous reading
    audio = np.concatenate([speech, speech, speech, np.zeros(SAMPLE_RATE, np.float32)])
    decoder = CountingDecoder()
    clock = ManualClock()
    options = StreamOptions(vad=VadOptions(max_utterance_s=5.0, min_silence_s=1.5))
    stream = ChannelStream("c1", Speaker.AGENT, decoder, clock, options)
    biggest = 0
    finals = []
    for i in range(0, len(audio), 512):
        stream.insert_audio(AudioChunk(Speaker.AGENT, audio[i : i + 512], i / SAMPLE_RATE))
        biggest = max(biggest, len(stream._audio))
        while stream.finals_pending:
            finals.append(stream.decode_final())
    stream.finish()
    while stream.finals_pending:
        finals.append(stream.decode_final())
    assert biggest < 8 * SAMPLE_RATE  # never much more than one max-length utterance
    spans = [(f.start, f.end) for f in finals if f is not None]
    assert len(spans) >= 6
    for (_, a_end), (b_start, _) in itertools.pairwise(sorted(spans)):
        assert b_start >= a_end - 0.35  # consecutive pieces do not re-decode the same audio
