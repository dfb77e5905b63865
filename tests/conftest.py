"""Shared fixtures: an isolated data folder per test, the real installed models.

Every test gets its own ``AGENT_ASSIST_HOME`` so nothing touches the user's
call history. Models are installed (copied) once per session into a shared folder.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# GUI tests render offscreen (no display on CI); screenshots use the same platform.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SPEECH = SHARED / "speech"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("AGENT_ASSIST_HOME", str(home))
    return home


@contextlib.contextmanager
def data_home(path: Path) -> Iterator[Path]:
    """Point ``AGENT_ASSIST_HOME`` at ``path`` for a block (session fixtures
    cannot use monkeypatch), restoring it after."""
    old = os.environ.get("AGENT_ASSIST_HOME")
    os.environ["AGENT_ASSIST_HOME"] = str(path)
    try:
        yield path
    finally:
        if old is None:
            os.environ.pop("AGENT_ASSIST_HOME", None)
        else:
            os.environ["AGENT_ASSIST_HOME"] = old


@pytest.fixture(scope="session")
def models_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with the speech models installed (session-wide)."""
    from agent_assist.models import install

    with data_home(tmp_path_factory.mktemp("models-home")) as home:
        install("whisper-tiny.en", progress=False)
    return home


@pytest.fixture(scope="session")
def embed_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with the knowledge embedder installed and exported to ONNX (session-wide)."""
    from agent_assist.knowledge.embedder import Embedder
    from agent_assist.models import install

    with data_home(tmp_path_factory.mktemp("embed-home")) as home:
        install("all-minilm-l6-v2", progress=False)
        Embedder()  # the one-time ONNX export, cached in the model folder
    return home


@pytest.fixture(scope="session")
def embedder(embed_home: Path) -> Any:
    """The real all-MiniLM-L6-v2 embedder (ONNX Runtime), loaded once."""
    from agent_assist.knowledge.embedder import Embedder

    with data_home(embed_home):
        return Embedder()


def link_embedder(home: Path, embed_home: Path) -> Path:
    """Make ``home`` (a fresh data folder, e.g. for a CLI subprocess) see the installed embedder."""
    (home / "models").mkdir(parents=True, exist_ok=True)
    target = home / "models" / "all-minilm-l6-v2"
    if not target.exists():
        os.symlink(embed_home / "models" / "all-minilm-l6-v2", target)
    return home


SMOLLM2 = "smollm2-135m-instruct"


@pytest.fixture(scope="session")
def llm_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with SmolLM2-135M-Instruct installed (session-wide)."""
    from agent_assist.models import install

    with data_home(tmp_path_factory.mktemp("llm-home")) as home:
        install(SMOLLM2, progress=False)
    return home


@pytest.fixture(scope="session")
def smollm2_path(llm_home: Path) -> Path:
    """The installed SmolLM2 GGUF file (or folder) in ``llm_home``."""
    from agent_assist.models import model_path

    with data_home(llm_home):
        return model_path(SMOLLM2)


@pytest.fixture
def tiny_home(models_home: Path, tmp_path: Path) -> Path:
    """A fresh data folder (for a subprocess) whose tiny.en links to the installed one."""
    home = tmp_path / "tiny-home"
    (home / "models").mkdir(parents=True)
    os.symlink(models_home / "models" / "whisper-tiny.en", home / "models" / "whisper-tiny.en")
    return home


@pytest.fixture(scope="session")
def tiny_path(models_home: Path) -> Path:
    path = models_home / "models" / "whisper-tiny.en"
    assert (path / "model.bin").is_file()
    return path


@pytest.fixture(scope="session")
def tiny(tiny_path: Path) -> Any:
    """The real faster-whisper tiny.en transcriber, loaded once."""
    from agent_assist.stt.whisper import WhisperTranscriber

    return WhisperTranscriber(tiny_path)


def speech_items(tier: str | None = "A") -> list[dict[str, Any]]:
    items = [
        json.loads(line) for line in (SPEECH / "manifest.jsonl").read_text().splitlines() if line.strip()
    ]
    return [i for i in items if tier is None or i["tier"] == tier]


def load_speech(item: dict[str, Any]) -> np.ndarray:
    """One manifest item as 16 kHz mono float32 (its channel, if stereo)."""
    import soundfile as sf
    import soxr

    audio, rate = sf.read(SPEECH / item["file"], dtype="float32", always_2d=True)
    if item.get("channel") == "left":
        mono = audio[:, 0]
    elif item.get("channel") == "right":
        mono = audio[:, 1]
    else:
        mono = audio.mean(axis=1)
    return np.asarray(soxr.resample(mono, rate, 16000), dtype=np.float32)


EXAMPLE_PACK = ROOT / "knowledge" / "northwind-home"


@pytest.fixture(scope="session")
def assist_home(
    tmp_path_factory: pytest.TempPathFactory,
    models_home: Path,
    embed_home: Path,
    llm_home: Path,
    embedder: Any,
) -> Path:
    """A data folder with tiny.en, the embedder, SmolLM2 and the example pack installed
    (session-wide; tests that store calls should use ``own_home`` on it)."""
    from agent_assist.knowledge.installed import PackStore

    home = tmp_path_factory.mktemp("assist-home")
    (home / "models").mkdir()
    for src, name in ((models_home, "whisper-tiny.en"), (embed_home, "all-minilm-l6-v2"),
                      (llm_home, SMOLLM2)):  # fmt: skip
        os.symlink(src / "models" / name, home / "models" / name)
    PackStore(home / "packs").install(EXAMPLE_PACK, embedder)
    return home


def own_home(shared: Path, folder: Path) -> Path:
    """``folder`` as a data folder that sees ``shared``'s models and packs but keeps
    its own call history and settings."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("models", "packs"):
        os.symlink(shared / name, folder / name)
    return folder
