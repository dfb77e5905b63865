"""The models room: manifest, install (copy/join/link), verify, locate, CLI. Fast tests use a
fake model package in ``tmp_path`` on ``sys.path``; ``model`` tests install the real PyPI model
packages into a temporary ``AGENT_ASSIST_HOME`` and check the real hashes."""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
from pathlib import Path

import pytest

from agent_assist.cli.models_cmd import add_parser
from agent_assist.errors import ModelError, UserError
from agent_assist.models import ManifestError, install, load_manifest, model_path, stt_model_for, verify

FAKE_MODULE = "aa_fake_model_pkg"
PART1, PART2, CONFIG = os.urandom(70_000), os.urandom(50_001), b'{"fake": true}\n'
GGUF = os.urandom(30_000)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


PKG = f'{{ name = "aa-fake-model-pkg", version = "1.0", module = "{FAKE_MODULE}" }}'
FAKE_MANIFEST = f"""
schema = 1

[[models]]
id = "fake-stt"
role = "stt-fast"
description = "a fake speech model"
kind = "pypi"
format = "ctranslate2"
aliases = ["fake"]
packages = [{PKG}]
files = [
  {{ name = "model.bin", join = "concat", size = {len(PART1) + len(PART2)}, \
     sha256 = "{sha(PART1 + PART2)}", parts = [
    {{ from = "{FAKE_MODULE}/data/model.bin.part1", size = {len(PART1)}, sha256 = "{sha(PART1)}" }},
    {{ from = "{FAKE_MODULE}/data/model.bin.part2", size = {len(PART2)}, sha256 = "{sha(PART2)}" }},
  ] }},
  {{ name = "config.json", from = "{FAKE_MODULE}/data/config.json", size = {len(CONFIG)}, \
     sha256 = "{sha(CONFIG)}" }},
]

[[models]]
id = "fake-llm"
role = "llm"
description = "a fake GGUF"
kind = "pypi"
format = "gguf"
entry = "m.gguf"
packages = [{PKG}]
files = [{{ name = "m.gguf", from = "{FAKE_MODULE}/m.gguf", size = 30000, sha256 = "{sha(GGUF)}" }}]

[[models]]
id = "ghost"
role = "embedder"
description = "its package is not installed"
kind = "pypi"
format = "sentence-transformers"
packages = [{{ name = "no-such-pkg-zz", version = "1.0", module = "no_such_pkg_zz" }}]
files = [{{ name = "m.st", from = "no_such_pkg_zz/m.st", size = 1, sha256 = "{"0" * 64}" }}]

[[models]]
id = "mine"
role = "llm"
description = "user-supplied"
kind = "local"
format = "gguf"
path = "mine.gguf"
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("AGENT_ASSIST_HOME", str(home))
    return home


@pytest.fixture
def fake(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake model package on sys.path; returns the manifest path."""
    pkg = tmp_path / "site" / FAKE_MODULE
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('model packages are never imported')\n")
    files = {"data/model.bin.part1": PART1, "data/model.bin.part2": PART2, "m.gguf": GGUF}
    for name, data in {**files, "data/config.json": CONFIG}.items():
        (pkg / name).write_bytes(data)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(FAKE_MANIFEST)
    return manifest


def run_cli(*argv: str) -> int:
    """What ``cli.main`` does: parse, dispatch, render a UserError."""
    parser = argparse.ArgumentParser(prog="agent-assist")
    add_parser(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    try:
        return int(args.func(args))
    except UserError as err:
        print(err.render())
        return err.exit_code


def test_install_joins_parts_and_verifies(fake: Path, home: Path) -> None:
    manifest = load_manifest(fake)
    reports = install(manifest=manifest, progress=False)
    assert [r.id for r in reports] == ["fake-stt", "fake-llm", "ghost", "mine"]
    assert [r.status for r in reports] == ["installed", "installed", "skipped", "skipped"]
    assert "pip install no-such-pkg-zz==1.0" in reports[2].note
    folder = home / "models" / "fake-stt"
    assert (folder / "model.bin").read_bytes() == PART1 + PART2
    assert not list(folder.glob(".*.tmp"))
    assert [r.status for r in verify(manifest=manifest)] == ["ok", "ok", "missing", "missing"]
    assert model_path("fake-stt", manifest=manifest) == folder
    assert stt_model_for("fake", manifest=manifest) == folder
    assert model_path("fake-llm", manifest=manifest) == home / "models" / "fake-llm" / "m.gguf"
    assert install("fake-stt", manifest=manifest, progress=False)[0].status == "up-to-date"
    src, dest = fake.parent / "site" / FAKE_MODULE / "m.gguf", model_path("fake-llm", manifest=manifest)
    install("fake-llm", force=True, link=True, manifest=manifest, progress=False)
    assert dest.stat().st_ino == src.stat().st_ino  # hardlinked: tmp_path is one filesystem


def test_corrupt_file_is_reported_and_repaired(fake: Path, home: Path) -> None:
    manifest = load_manifest(fake)
    install("fake-stt", manifest=manifest, progress=False)
    target = home / "models" / "fake-stt" / "model.bin"
    with target.open("r+b") as fh:  # flip bytes, same size
        fh.seek(1000)
        fh.write(bytes(b ^ 0xFF for b in PART1[1000:1004]))
    (report,) = verify("fake-stt", manifest=manifest)
    assert report.status == "corrupt"
    assert report.problems == ("model.bin: sha256 mismatch",)
    assert report.fix == "run `agent-assist models install --force fake-stt`"
    with target.open("r+b") as fh:
        fh.truncate(10)
    with pytest.raises(ModelError) as info:
        model_path("fake-stt", manifest=manifest)
    assert "damaged" in info.value.message
    assert info.value.fix == "run `agent-assist models install --force fake-stt`"
    install("fake-stt", force=True, manifest=manifest, progress=False)
    assert verify("fake-stt", manifest=manifest)[0].status == "ok"


def test_missing_model_unknown_name_missing_package(fake: Path, home: Path) -> None:
    manifest = load_manifest(fake)
    with pytest.raises(ModelError) as info:
        stt_model_for("fake", manifest=manifest)
    assert info.value.message == "speech model 'fake-stt' is not installed"
    assert info.value.fix == "run `agent-assist models install fake-stt`"
    with pytest.raises(ModelError, match="not a known speech model"):
        stt_model_for("fake-llm", manifest=manifest)
    with pytest.raises(ModelError, match="unknown model 'nope'"):
        model_path("nope", manifest=manifest)
    with pytest.raises(ModelError) as info:  # its package is not installed
        install("ghost", manifest=manifest, progress=False)
    assert "no-such-pkg-zz==1.0" in info.value.message
    assert "pip install no-such-pkg-zz==1.0" in (info.value.fix or "")


def test_package_content_mismatch_leaves_nothing(fake: Path, home: Path, tmp_path: Path) -> None:
    (tmp_path / "site" / FAKE_MODULE / "data" / "model.bin.part2").write_bytes(b"tampered")
    with pytest.raises(ModelError) as info:
        install("fake-stt", manifest=load_manifest(fake), progress=False)
    assert "model.bin.part2" in info.value.message
    assert "--force-reinstall" in (info.value.fix or "")
    assert not (home / "models" / "fake-stt" / "model.bin").exists()
    assert not list((home / "models" / "fake-stt").glob(".*tmp"))


def test_local_model(fake: Path, home: Path, tmp_path: Path) -> None:
    manifest = load_manifest(fake)
    assert install("mine", manifest=manifest)[0].status == "skipped"
    with pytest.raises(ModelError) as info:
        model_path("mine", manifest=manifest)
    assert str(fake) in (info.value.fix or "")
    (tmp_path / "mine.gguf").write_bytes(b"GGUF")
    assert model_path("mine", manifest=manifest) == tmp_path / "mine.gguf"
    assert verify("mine", manifest=manifest)[0].status == "ok"
    fake.write_text(FAKE_MANIFEST.replace('path = "mine.gguf"\n', ""))
    assert verify("mine", manifest=load_manifest(fake))[0].status == "skipped"
    with pytest.raises(ModelError, match="no path configured"):
        model_path("mine", manifest=load_manifest(fake))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('id = "fake-llm"\n', "", "missing required field 'id'"),
        ("size = 30000,", 'size = "big",', "'size' must be an integer, got str"),
        ('role = "llm"\n', 'role = "chatbot"\n', "'role' must be one of"),
        ('entry = "m.gguf"\n', 'entry = "m.gguf"\ncolour = "red"\n', "unknown field(s) 'colour'"),
        (f'sha256 = "{sha(GGUF)}"', 'sha256 = "abc"', "'sha256' must be 64 lowercase hex"),
        ('id = "fake-llm"\n', 'id = "fake-stt"\n', "used by both"),
        ("schema = 1\n", "schema = 1\n[[", "cannot read it"),
    ],
)
def test_bad_manifest_names_file_and_field(
    fake: Path, tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in FAKE_MANIFEST
    bad = tmp_path / "bad.toml"
    bad.write_text(FAKE_MANIFEST.replace(old, new, 1))
    with pytest.raises(ManifestError) as info:
        load_manifest(bad)
    assert str(bad) in info.value.message
    assert expected in info.value.message
    assert info.value.fix and str(bad) in info.value.fix
    with pytest.raises(ManifestError, match="not found"):
        load_manifest(tmp_path / "nope.toml")


def test_cli_verify_corrupt_exits_nonzero(
    fake: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("models", "install", "--manifest", str(fake), "--no-progress") == 0
    out = capsys.readouterr().out
    assert "installed   fake-stt" in out and "skipped     ghost" in out
    (home / "models" / "fake-stt" / "config.json").write_bytes(b'{"fake": TRUE}\n')
    assert run_cli("models", "verify", "fake", "--manifest", str(fake)) == ModelError.exit_code
    captured = capsys.readouterr()
    assert "corrupt   fake-stt  config.json: sha256 mismatch" in captured.out
    assert "fix: run `agent-assist models install --force fake-stt`" in captured.err
    assert "Traceback" not in captured.out + captured.err
    assert run_cli("models", "--manifest", str(fake), "list") == 0
    table = capsys.readouterr().out
    assert any(line.split()[:4] == ["fake-stt", "stt-fast", "yes", "not"] for line in table.splitlines())
    assert run_cli("models", "install", "ghost", "--manifest", str(fake)) == ModelError.exit_code
    assert "fix: run `pip install no-such-pkg-zz==1.0`" in capsys.readouterr().out


# --- the real model packages ---------------------------------------------------------

REAL_IDS = ["whisper-tiny.en", "whisper-base", "all-minilm-l6-v2", "smollm2-135m-instruct"]


@pytest.fixture
def real(home: Path) -> None:
    modules = [p.module for m in load_manifest().models for p in m.packages]
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"model packages not installed: {', '.join(missing)}")


def test_real_manifest_is_complete() -> None:
    manifest = load_manifest()
    pypi = [m for m in manifest.models if m.kind == "pypi"]
    assert [m.id for m in pypi] == REAL_IDS
    assert [m.role for m in pypi] == ["stt-fast", "stt-accurate", "embedder", "llm"]
    (joined,) = [f for f in manifest.get("base").files if f.is_split]
    assert joined.sha256.startswith("d01c3014") and joined.sha256.endswith("a6a9")
    assert manifest.default("stt-fast").id == "whisper-tiny.en"
    assert manifest.get("smollm2-135m-instruct").chat_template == "chatml"


@pytest.mark.model
@pytest.mark.slow
def test_real_install_and_verify_all(real: None, home: Path) -> None:
    reports = install(progress=False)
    assert [(r.id, r.status) for r in reports[:4]] == [(i, "installed") for i in REAL_IDS]
    assert [(r.id, r.status) for r in verify()] == [
        *((i, "ok") for i in REAL_IDS),
        ("local-llm", "skipped"),
    ]
    joined = home / "models" / "whisper-base" / "model.bin"
    digest = hashlib.sha256(joined.read_bytes()).hexdigest()
    assert digest.startswith("d01c3014") and digest.endswith("a6a9")
    assert stt_model_for("tiny.en") == home / "models" / "whisper-tiny.en"
    assert (stt_model_for("base") / "model.bin").stat().st_size == 145217532
    assert model_path("smollm2-135m-instruct").name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert (model_path("all-minilm-l6-v2") / "1_Pooling" / "config.json").is_file()


@pytest.mark.model
def test_real_corrupt_tiny_en(real: None, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install("whisper-tiny.en", progress=False)
    target = home / "models" / "whisper-tiny.en" / "model.bin"
    with target.open("r+b") as fh:
        fh.seek(4096)
        fh.write(b"\x00\x01\x02\x03")
    (report,) = verify("tiny.en")
    assert report.status == "corrupt" and report.problems == ("model.bin: sha256 mismatch",)
    assert run_cli("models", "verify", "whisper-tiny.en") == ModelError.exit_code
    captured = capsys.readouterr()
    assert "corrupt" in captured.out and "Traceback" not in captured.out + captured.err
    os.truncate(target, 1024)
    with pytest.raises(ModelError) as info:
        stt_model_for("tiny.en")
    assert info.value.fix == "run `agent-assist models install --force whisper-tiny.en`"
    with pytest.raises(ModelError, match="speech model 'whisper-base' is not installed"):
        model_path("whisper-base")
