"""The faster-whisper adapter on real models and real recordings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent_assist.stt.whisper import DecodeOptions, WhisperTranscriber
from tests.conftest import load_speech, speech_items

BY_ID = {i["id"]: i for i in speech_items()}


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]", " ", text.lower()).split()


@pytest.mark.model
def test_final_decode_text_and_word_times(tiny: Any) -> None:
    item = BY_ID["lh_2412-153948-0000"]
    audio = load_speech(item)
    result = tiny.transcribe(audio, DecodeOptions(beam_size=5, word_timestamps=True))
    assert _words(result.text)[:6] == _words(item["reference"])[:6]
    assert 0.3 < result.confidence <= 1.0
    duration = len(audio) / 16000
    starts = [w.start for w in result.words]
    assert starts == sorted(starts)
    assert all(0 <= w.start <= w.end <= duration for w in result.words)
    assert len(result.words) == len(result.text.split())


@pytest.mark.model
def test_silence_and_noise_give_no_text(tiny: Any) -> None:
    assert tiny.transcribe(np.zeros(16000 * 2, np.float32), DecodeOptions()).text == ""
    noise = np.random.default_rng(0).normal(0, 0.01, 16000 * 2).astype(np.float32)
    assert len(tiny.transcribe(noise, DecodeOptions()).text.split()) <= 3


@pytest.mark.model
def test_generation_is_bounded_by_the_audio_length(tiny: Any) -> None:
    # A short command: whatever the decoder does, it cannot run on for long.
    audio = load_speech(BY_ID["ps_goforward"])
    for context in (2.0, 4.0, 12.0):
        result = tiny.transcribe(audio, DecodeOptions(context_s=context))
        assert len(result.tokens) <= len(audio) / 16000 * 8 + 8


@pytest.mark.model
def test_partial_prefix_is_forced(tiny: Any) -> None:
    audio = load_speech(BY_ID["lh_2412-153948-0000"])[: 16000 * 3]
    first = tiny.transcribe(audio, DecodeOptions())
    again = tiny.transcribe(audio, DecodeOptions(), prefix=first.tokens[:3])
    assert again.tokens[:3] == first.tokens[:3]


@pytest.mark.slow
@pytest.mark.model
def test_base_multilingual_model_is_selectable(models_home: Path) -> None:
    import os

    from agent_assist.models import install

    os.environ["AGENT_ASSIST_HOME"] = str(models_home)
    install("whisper-base", progress=False)
    from agent_assist.stt.loader import load_transcriber

    base = load_transcriber("base", language=None)
    assert isinstance(base, WhisperTranscriber) and base.multilingual
    item = BY_ID["fw_stereo_right"]
    result = base.transcribe(load_speech(item), DecodeOptions(beam_size=5))
    assert "horizon" in result.text.lower()
