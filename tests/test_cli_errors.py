"""Bad input through the real command line: one clear message, non-zero exit, no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import SPEECH


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENT_ASSIST_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "agent_assist", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _assert_clean_failure(out: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert out.returncode != 0
    assert "Traceback" not in out.stderr + out.stdout
    assert out.stderr.startswith("error: "), out.stderr
    assert "\nfix: " in out.stderr, out.stderr
    for phrase in phrases:
        assert phrase in out.stderr, out.stderr


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, Path]:
    files = {
        "text": tmp_path / "notes.wav",
        "truncated": tmp_path / "truncated.flac",
        "empty": tmp_path / "empty.wav",
        "six": tmp_path / "surround.wav",
    }
    files["text"].write_text("this is not audio\n" * 50)
    data = (SPEECH / "lhotse" / "2412-153948-0000.flac").read_bytes()
    files["truncated"].write_bytes(data[: len(data) // 2])
    sf.write(files["empty"], np.zeros((0, 1), np.float32), 16000)
    sf.write(files["six"], np.zeros((48000, 6), np.float32), 48000)
    return files


@pytest.mark.parametrize(
    ("name", "phrase"),
    [
        ("missing", "not found"),
        ("text", "not an audio file"),
        ("truncated", "truncated or corrupt"),
        ("empty", "no audio (0 seconds)"),
        ("six", "6 channels"),
    ],
)
def test_bad_audio_file(name: str, phrase: str, bad_files: dict[str, Path], tmp_path: Path) -> None:
    path = bad_files.get(name, tmp_path / "missing.wav")
    out = _cli("transcribe", str(path), home=tmp_path / "home")
    _assert_clean_failure(out, phrase, path.name)


def test_missing_model(tmp_path: Path) -> None:
    out = _cli(
        "transcribe", str(SPEECH / "pocketsphinx" / "goforward.wav"), home=tmp_path / "empty-home"
    )
    _assert_clean_failure(out, "not installed", "agent-assist models install")


@pytest.mark.model
@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_model(damage: str, models_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(models_home / "models" / "whisper-tiny.en", home / "models" / "whisper-tiny.en")
    model_bin = home / "models" / "whisper-tiny.en" / "model.bin"
    if damage == "truncate":
        model_bin.write_bytes(model_bin.read_bytes()[:1000])
    else:
        model_bin.write_bytes(np.random.default_rng(0).bytes(model_bin.stat().st_size))
    out = _cli("transcribe", str(SPEECH / "pocketsphinx" / "goforward.wav"), home=home)
    _assert_clean_failure(out, "whisper-tiny.en" if damage == "truncate" else "speech model")
    verify = _cli("models", "verify", "whisper-tiny.en", home=home)
    assert verify.returncode != 0 and "corrupt" in verify.stdout + verify.stderr


def test_data_folder_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = _cli("transcribe", str(SPEECH / "pocketsphinx" / "goforward.wav"), home=blocker / "home")
    _assert_clean_failure(out, "AGENT_ASSIST_HOME")


@pytest.mark.model
def test_language_the_english_model_cannot_do(models_home: Path, tmp_path: Path) -> None:
    out = _cli(
        "transcribe",
        str(SPEECH / "pocketsphinx" / "goforward.wav"),
        "--language",
        "de",
        home=models_home,
    )
    _assert_clean_failure(out, "English-only", "--model base")
    out = _cli(
        "transcribe",
        str(SPEECH / "pocketsphinx" / "goforward.wav"),
        "--model",
        "base",
        "--language",
        "xx",
        home=models_home,
    )
    _assert_clean_failure(out)


def test_text_times_grow_an_hour_field() -> None:
    from agent_assist.cli.render import _clock

    assert _clock(75.25, hours=False) == "01:15.2"
    assert _clock(3725.0, hours=False) == "1:02:05.0"
    assert _clock(3725.5) == "01:02:05.500"
