"""Streaming VAD: the real Silero model fed incrementally, and the segmenter's rules."""

from __future__ import annotations

import numpy as np
import pytest

from agent_assist.stt.vad import (
    FRAME_SECONDS,
    SpeechEnded,
    SpeechSegmenter,
    SpeechStarted,
    StreamingVad,
    VadOptions,
)
from tests.conftest import load_speech, speech_items


def _jfk() -> np.ndarray:
    item = next(i for i in speech_items() if i["id"] == "fw_jfk")
    return load_speech(item)


def test_incremental_feeding_matches_one_shot() -> None:
    audio = _jfk()[: 16000 * 4]
    whole = StreamingVad().feed(audio)
    vad = StreamingVad()
    parts = []
    rng = np.random.default_rng(1)
    i = 0
    while i < len(audio):
        n = int(rng.integers(1, 1500))
        parts.append(vad.feed(audio[i : i + n]))
        i += n
    pieces = np.concatenate(parts)
    assert len(pieces) == len(whole) == len(audio) // 512
    np.testing.assert_allclose(pieces, whole, atol=1e-4)


def test_speech_scores_high_and_silence_low() -> None:
    vad = StreamingVad()
    silence = vad.feed(np.zeros(16000 * 2, dtype=np.float32))
    speech = vad.feed(_jfk()[: 16000 * 3])
    assert silence.max() < 0.2
    assert np.mean(speech > 0.5) > 0.5


def _frames(pattern: list[tuple[float, float]]) -> np.ndarray:
    """(probability, seconds) runs → per-frame probabilities."""
    return np.concatenate([np.full(round(s / FRAME_SECONDS), p, np.float32) for p, s in pattern])


def test_segmenter_start_end_with_hysteresis() -> None:
    seg = SpeechSegmenter(VadOptions(min_silence_s=0.4))
    # 1 s silence, 1 s speech, 0.2 s in the hysteresis band (still speech), 0.6 s silence
    out = seg.feed(_frames([(0.1, 1.0), (0.9, 1.0), (0.4, 0.2), (0.1, 0.6)]))
    assert [type(e) for e in out] == [SpeechStarted, SpeechEnded]
    start, end = out[0], out[1]
    assert start.at == pytest.approx(1.0, abs=FRAME_SECONDS)
    assert isinstance(end, SpeechEnded)
    assert end.at == pytest.approx(2.2, abs=2 * FRAME_SECONDS)
    assert not end.forced


def test_segmenter_short_pause_does_not_split() -> None:
    seg = SpeechSegmenter(VadOptions(min_silence_s=0.4))
    out = seg.feed(_frames([(0.9, 1.0), (0.1, 0.25), (0.9, 1.0), (0.1, 0.5)]))
    assert [type(e) for e in out] == [SpeechStarted, SpeechEnded]


def test_segmenter_cuts_a_monologue_at_max_length() -> None:
    seg = SpeechSegmenter(VadOptions(max_utterance_s=5.0))
    out = seg.feed(_frames([(0.9, 12.0)]))
    ends = [e for e in out if isinstance(e, SpeechEnded)]
    starts = [e for e in out if isinstance(e, SpeechStarted)]
    assert len(ends) == 2 and all(e.forced for e in ends)
    assert [s.continued for s in starts] == [False, True, True]
    assert ends[0].at == pytest.approx(5.0, abs=FRAME_SECONDS)


def test_digital_silence_skips_the_model_and_restarts_its_state() -> None:
    calls = []

    class CountingSession:
        def __init__(self, real: object) -> None:
            self.real = real

        def run(self, *args: object) -> object:
            calls.append(1)
            return self.real.run(*args)  # type: ignore[attr-defined]

    from agent_assist.stt.vad import _session

    vad = StreamingVad(CountingSession(_session()))
    assert not vad.feed(np.zeros(512 * 150, np.float32)).any()
    assert calls == []
    speech = _jfk()[: 16000 * 3]
    after_quiet = vad.feed(speech)
    np.testing.assert_allclose(after_quiet, StreamingVad().feed(speech), atol=1e-4)
