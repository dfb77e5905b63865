"""The bundled sample call (assets/sample_call.flac) agrees with its ground truth JSON.

Fast and model-free: it only reads the FLAC and checks that the audio really has
speech where the JSON says each turn is (on the right channel), silence
elsewhere, a stretch of dead air and an interruption. Regenerate the asset with
``python assets/sample_call/make_sample_call.py`` after editing the script.
"""

from __future__ import annotations

import itertools
import json
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
FLAC = ROOT / "assets" / "sample_call.flac"
TRUTH = ROOT / "assets" / "sample_call.json"
SCRIPT = ROOT / "assets" / "sample_call" / "script.toml"

SR = 16_000
CHANNEL = {"agent": 0, "customer": 1}
SILENCE = 10 ** (-55 / 20)  # peak level below which a channel counts as silent
FRAME = 160  # 10 ms analysis frames


def dbfs(x: npt.NDArray[np.float32]) -> float:
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return 20 * np.log10(max(rms, 1e-12))


def frame_peaks(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    n = len(x) // FRAME
    return np.abs(x[: n * FRAME]).reshape(n, FRAME).max(axis=1)


def runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """[start, end) index pairs of the True runs in a boolean array."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


@pytest.fixture(scope="module")
def truth() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(TRUTH.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def audio() -> npt.NDArray[np.float32]:
    data, sr = sf.read(FLAC, dtype="float32", always_2d=True)
    assert sr == SR
    return data


def test_flac_format_matches_json(truth: dict[str, Any]) -> None:
    info = sf.info(str(FLAC))
    assert info.format == "FLAC"
    assert info.subtype == "PCM_16"
    assert info.samplerate == truth["sample_rate"] == SR
    assert info.channels == 2
    assert truth["channels"] == {"left": "agent", "right": "customer"}
    assert info.frames / SR == pytest.approx(truth["duration"], abs=1e-3)
    assert 120 <= truth["duration"] <= 180  # a 2-3 minute call
    assert FLAC.stat().st_size < 5_000_000  # small enough to commit


def test_turns_are_well_formed(truth: dict[str, Any]) -> None:
    turns = truth["turns"]
    assert 25 <= len(turns) <= 35
    assert [t["index"] for t in turns] == list(range(len(turns)))
    assert {t["speaker"] for t in turns} == {"agent", "customer"}
    for t in turns:
        assert set(t) == {"index", "speaker", "text", "start", "end"}
        assert t["text"].strip()
        assert 0 < t["start"] < t["end"] <= truth["duration"]
    for speaker in CHANNEL:
        own = [t for t in turns if t["speaker"] == speaker]
        for a, b in itertools.pairwise(own):
            assert a["end"] < b["start"], f"turns {a['index']} and {b['index']} collide"


def test_json_matches_script(truth: dict[str, Any]) -> None:
    """The committed JSON was generated from the committed script (same turns, same words)."""
    script = tomllib.loads(SCRIPT.read_text(encoding="utf-8"))
    assert [(t["speaker"], " ".join(t["text"].split())) for t in script["turns"]] == [
        (t["speaker"], t["text"]) for t in truth["turns"]
    ]


def test_each_turn_has_speech_on_its_own_channel(
    truth: dict[str, Any], audio: npt.NDArray[np.float32]
) -> None:
    for t in truth["turns"]:
        ch = CHANNEL[t["speaker"]]
        a, b = round(t["start"] * SR), round(t["end"] * SR)
        seg = audio[a:b, ch]
        assert dbfs(seg) > -35, f"turn {t['index']} is too quiet ({dbfs(seg):.1f} dBFS)"
        # The bounds are the real speech bounds: sound right at both edges...
        assert np.abs(seg[:FRAME]).max() > SILENCE, f"turn {t['index']} starts late"
        assert np.abs(seg[-FRAME:]).max() > SILENCE, f"turn {t['index']} ends early"
        # ...and mostly speech inside: no more than a third of the turn is pauses.
        assert (frame_peaks(seg) > SILENCE).mean() > 2 / 3


def test_channels_are_silent_outside_their_turns(
    truth: dict[str, Any], audio: npt.NDArray[np.float32]
) -> None:
    for speaker, ch in CHANNEL.items():
        outside = np.ones(len(audio), dtype=bool)
        for t in truth["turns"]:
            if t["speaker"] == speaker:
                # +-2 samples: the JSON times are rounded to 0.1 ms.
                outside[max(0, round(t["start"] * SR) - 2) : round(t["end"] * SR) + 2] = False
        leak = np.abs(audio[outside, ch]).max()
        assert leak < SILENCE, f"{speaker} channel has sound outside its turns ({leak:.4f})"
        # The other side's turns and the pauses leave a good share of silence.
        assert outside.mean() > 0.3


def test_dead_air_of_at_least_three_seconds(
    truth: dict[str, Any], audio: npt.NDArray[np.float32]
) -> None:
    both_silent = (frame_peaks(audio[:, 0]) < SILENCE) & (frame_peaks(audio[:, 1]) < SILENCE)
    first = truth["turns"][0]["start"]
    last = max(t["end"] for t in truth["turns"])
    gaps = [
        (s * FRAME / SR, e * FRAME / SR)
        for s, e in runs(both_silent)
        if (e - s) * FRAME >= 3 * SR and s * FRAME / SR > first and e * FRAME / SR < last
    ]
    assert gaps, "no stretch of >= 3 s with both channels silent during the call"
    # It agrees with the JSON: a gap of >= 3 s between consecutive turns.
    spans = sorted((t["start"], t["end"]) for t in truth["turns"])
    ends = np.maximum.accumulate([e for _, e in spans])
    json_gaps = [
        (float(end), nxt[0]) for end, nxt in zip(ends[:-1], spans[1:], strict=True) if nxt[0] - end >= 3
    ]
    assert json_gaps == [(pytest.approx(a, abs=0.02), pytest.approx(b, abs=0.02)) for a, b in gaps]
    assert truth["dead_air"] == [{"start": a, "end": b} for a, b in json_gaps]


def test_interruption_overlaps_agent_and_customer(
    truth: dict[str, Any], audio: npt.NDArray[np.float32]
) -> None:
    agent = [t for t in truth["turns"] if t["speaker"] == "agent"]
    customer = [t for t in truth["turns"] if t["speaker"] == "customer"]
    overlaps = [
        (max(a["start"], c["start"]), min(a["end"], c["end"]))
        for a in agent
        for c in customer
        if a["start"] < c["end"] and c["start"] < a["end"]
    ]
    assert overlaps, "no agent turn overlaps a customer turn"
    assert any(e - s >= 0.5 for s, e in overlaps)
    # Both channels really carry sound during the overlap.
    for s, e in overlaps:
        seg = audio[round(s * SR) : round(e * SR)]
        assert dbfs(seg[:, 0]) > -40
        assert dbfs(seg[:, 1]) > -40
    assert [(o["start"], o["end"]) for o in truth["overlaps"]] == [
        (pytest.approx(s, abs=1e-3), pytest.approx(e, abs=1e-3)) for s, e in sorted(overlaps)
    ]
