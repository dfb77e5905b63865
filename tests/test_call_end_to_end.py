"""The sample call through the real pipeline, real tiny.en, via the CLI, into the store."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from agent_assist.cli.main import main
from tests.conftest import ROOT

SAMPLE = ROOT / "assets" / "sample_call.flac"
TRUTH = json.loads((ROOT / "assets" / "sample_call.json").read_text())

# Words each side must be heard saying (normalised to lower-case, no punctuation).
KEY_WORDS = {
    "agent": ["northwind", "daniel", "refunded", "return label", "friday", "goodbye"],
    "customer": ["coffee machine", "maple street", "bank statement", "crack", "crushed", "nice day"],
}


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


@pytest.fixture(scope="module")
def transcript(
    models_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[dict[str, Any]], Path]:
    """Run `agent-assist transcribe sample_call.flac --format jsonl` once (fast replay)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "AGENT_ASSIST_HOME": str(models_home)}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "agent_assist",
            "transcribe",
            str(SAMPLE),
            "--format",
            "jsonl",
            "--partials",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()], models_home


@pytest.mark.slow
@pytest.mark.model
def test_every_turn_is_heard_on_its_own_channel(transcript: tuple[list[dict[str, Any]], Path]) -> None:
    events, _ = transcript
    finals = [e for e in events if e["type"] == "final_utterance"]
    for turn in TRUTH["turns"]:
        mine = [
            f
            for f in finals
            if f["speaker"] == turn["speaker"]
            and _overlap(f["start"], f["end"], turn["start"], turn["end"]) > 0
        ]
        assert mine, f"turn {turn['index']} ({turn['speaker']}: {turn['text'][:40]}) has no final"
    # no final on a channel where that speaker was silent
    for f in finals:
        spoken = [
            t
            for t in TRUTH["turns"]
            if t["speaker"] == f["speaker"]
            and _overlap(f["start"], f["end"], t["start"] - 0.3, t["end"] + 0.3) > 0
        ]
        assert spoken, f"final {f['text']!r} on {f['speaker']} at {f['start']:.1f}s matches no turn"


@pytest.mark.slow
@pytest.mark.model
def test_utterance_order_and_key_words(transcript: tuple[list[dict[str, Any]], Path]) -> None:
    events, _ = transcript
    finals = sorted((e for e in events if e["type"] == "final_utterance"), key=lambda f: f["start"])

    def turn_of(f: dict[str, Any]) -> int:
        turns = [t for t in TRUTH["turns"] if t["speaker"] == f["speaker"]]
        best = max(turns, key=lambda t: _overlap(f["start"], f["end"], t["start"], t["end"]))
        return int(best["index"])

    order = [turn_of(f) for f in finals]
    assert order == sorted(order), f"finals out of call order: {order}"
    for speaker, words in KEY_WORDS.items():
        said = _norm(" ".join(f["text"] for f in finals if f["speaker"] == speaker))
        missing = [w for w in words if w not in said]
        assert not missing, f"{speaker} channel lacks {missing}: {said}"
    # Word timings lie inside their utterance and run forward.
    for f in finals:
        starts = [w["start"] for w in f["words"]]
        assert starts == sorted(starts)
        assert all(f["start"] - 0.01 <= w["start"] <= w["end"] <= f["end"] + 0.01 for w in f["words"])


@pytest.mark.slow
@pytest.mark.model
def test_partials_precede_their_final(transcript: tuple[list[dict[str, Any]], Path]) -> None:
    events, _ = transcript
    seen_final: set[str] = set()
    partial_ids = set()
    for e in events:
        if e["type"] == "final_utterance":
            seen_final.add(e["utterance_id"])
        elif e["type"] == "partial_text":
            assert e["utterance_id"] not in seen_final, "a partial arrived after its final"
            partial_ids.add(e["utterance_id"])
    assert len(partial_ids) >= len(TRUTH["turns"]) // 2
    assert events[0]["type"] == "call_started" and events[-1]["type"] == "call_ended"
    assert events[-1]["reason"] == "completed"
    assert events[-1]["duration"] == pytest.approx(TRUTH["duration"], abs=0.1)


@pytest.mark.slow
@pytest.mark.model
def test_call_is_stored_completed_with_every_final(
    transcript: tuple[list[dict[str, Any]], Path],
) -> None:
    from agent_assist.store import Database

    events, home = transcript
    call_id = events[0]["call_id"]
    finals = [e for e in events if e["type"] == "final_utterance"]
    with Database.open(home / "agent-assist.sqlite3") as db:
        call = db.get_call(call_id)
        stored = db.utterances(call_id)
        hits = db.search("Maple")
    assert call is not None and call.status == "completed"
    assert [u.utterance_id for u in stored] == [
        f["utterance_id"] for f in sorted(finals, key=lambda f: f["start"])
    ]
    assert hits


def test_main_without_command_and_display_prints_help(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    assert main([]) == 0
    out, err = capsys.readouterr()
    assert "transcribe" in out
    assert "no display" in err
