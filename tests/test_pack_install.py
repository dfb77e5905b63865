"""Installed packs: every version kept, atomic installs, rollback, remove, multi-pack search.

Fast tests use a stand-in ``build_index`` (no model) to check atomicity and
bookkeeping; tests marked ``model`` install the example pack with the real
embedder (three versions built once per module, then copied per test).
"""

from __future__ import annotations

import gc
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_assist.knowledge import installed
from agent_assist.knowledge.archive import PackError
from agent_assist.knowledge.embedder import EMBEDDER_ID, EMBEDDER_IDS
from agent_assist.knowledge.installed import PackStore, version_key
from tests.conftest import ROOT

EXAMPLE = ROOT / "knowledge" / "northwind-home"
PACK = "northwind-home"

MINI_TOML = """[pack]
id = "acme-mini"
name = "Acme router help"
version = "1.0.0"
language = "en"
owner = "Support Operations"
description = "A one-article pack for tests"
"""
MINI_ARTICLE = """---
id: router-reset
category: devices
tags: [router]
---
# Resetting the Zephyr X9 router

## What to do
Hold the pinhole button on the back of the Zephyr X9 for ten seconds until the light blinks amber.
The router restarts with factory Wi-Fi settings printed on its label.
"""


def _copy_pack(dest: Path, version: str) -> Path:
    shutil.copytree(EXAMPLE, dest)
    toml = dest / "pack.toml"
    toml.write_text(toml.read_text().replace('version = "1.0.0"', f'version = "{version}"'))
    return dest


def _mini(dest: Path) -> Path:
    (dest / "articles").mkdir(parents=True)
    (dest / "pack.toml").write_text(MINI_TOML)
    (dest / "articles" / "router-reset.md").write_text(MINI_ARTICLE)
    return dest


def _zip_folder(folder: Path, archive: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + path.relative_to(folder).as_posix())
    return archive


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file's bytes and every folder under ``root`` (the lock file never outlives a change)."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


def _fake_build(root: Path, out: Path, embedder: Any, **_: Any) -> dict[str, Any]:
    """Stands in for build_index: writes an index.json like the real one, embeds nothing."""
    manifest = (root / "pack.toml").read_text()
    pack_id = manifest.split('id = "')[1].split('"')[0]
    version = manifest.split('version = "')[1].split('"')[0]
    info = {"pack": pack_id, "version": version, "embedder": EMBEDDER_ID, "dim": 384, "chunks": 3}
    out.mkdir(parents=True)
    (out / "index.json").write_text(json.dumps(info))
    return info


class _NoModel:
    """An embedder for the stand-in build (never asked to embed)."""

    dim = 384
    path = Path("none")


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("sources")
    found = {v: _copy_pack(base / f"nw-{v}", v) for v in ("1.0.0", "1.1.0", "1.2.0", "1.3.0")}
    found["1.1.0.zip"] = _zip_folder(found["1.1.0"], base / "nw-1.1.0.zip", prefix="northwind-home/")
    found["mini"] = _mini(base / "mini")
    found["mini-1.1.0"] = _mini(base / "mini-1.1.0")
    toml = found["mini-1.1.0"] / "pack.toml"
    toml.write_text(toml.read_text().replace('version = "1.0.0"', 'version = "1.1.0"'))
    bad = _copy_pack(base / "bad", "1.x")
    (bad / "intents.toml").write_text(
        (bad / "intents.toml").read_text().replace("refunds-double-charge", "no-such-article", 1)
    )
    found["bad"] = bad
    return found


@pytest.fixture
def fake_store(sources: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PackStore:
    """Three versions installed through the stand-in build."""
    monkeypatch.setattr(installed, "build_index", _fake_build)
    store = PackStore(tmp_path / "packs")
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        store.install(sources[version], _NoModel())  # type: ignore[arg-type]
    return store


def test_versions_sort_semantically() -> None:
    ordered = ["0.9.0", "1.0.0-rc.1", "1.0.0-rc.2", "1.0.0", "1.2.0", "1.10.0"]
    assert sorted(reversed(ordered), key=version_key) == ordered


def test_install_keeps_versions_and_the_last_install_wins(
    fake_store: PackStore, sources: dict[str, Path]
) -> None:
    [pack] = fake_store.list()
    assert (pack.id, pack.version, pack.versions) == (PACK, "1.2.0", ("1.0.0", "1.1.0", "1.2.0"))
    assert pack.embedder == EMBEDDER_ID and pack.installed_at.endswith("+00:00")
    assert (fake_store.root / PACK / "1.2.0" / "pack" / "pack.toml").is_file()
    assert (fake_store.root / PACK / "1.2.0" / "index" / "index.json").is_file()
    assert not any(fake_store.staging.iterdir()) and not fake_store.lock_path.exists()
    fake_store.remove(PACK, "1.0.0")
    older = fake_store.install(sources["1.0.0"], _NoModel())  # type: ignore[arg-type]
    assert (older.version, older.previous) == ("1.0.0", "1.2.0")  # older versions may be installed
    history = json.loads(fake_store.state_path.read_text())["history"]
    assert [h["action"] for h in history] == ["install"] * 3 + ["remove", "install"]


def test_rollback_and_remove(fake_store: PackStore) -> None:
    back = fake_store.rollback(PACK)
    assert (back.version, back.previous) == ("1.1.0", "1.2.0")
    assert fake_store.rollback(PACK).version == "1.0.0"
    with pytest.raises(PackError, match="oldest kept version") as err:
        fake_store.rollback(PACK)
    assert "--to" in (err.value.fix or "")
    assert fake_store.rollback(PACK, to="1.2.0").version == "1.2.0"
    with pytest.raises(PackError, match=r"9\.9\.9 is not installed"):
        fake_store.rollback(PACK, to="9.9.9")
    with pytest.raises(PackError, match="is the active version"):
        fake_store.remove(PACK, "1.2.0")
    with pytest.raises(PackError, match="no installed pack 'nope'"):
        fake_store.remove("nope")
    fake_store.remove(PACK, "1.1.0")
    assert fake_store.list()[0].versions == ("1.0.0", "1.2.0")
    assert not (fake_store.root / PACK / "1.1.0").exists()
    fake_store.remove(PACK)
    assert fake_store.list() == [] and not (fake_store.root / PACK).exists()


def test_an_invalid_pack_changes_nothing(fake_store: PackStore, sources: dict[str, Path]) -> None:
    before = _snapshot(fake_store.root)
    with pytest.raises(PackError) as err:
        fake_store.install(sources["bad"], _NoModel())  # type: ignore[arg-type]
    assert "pack.toml:4: version '1.x'" in err.value.message
    assert "intents.toml:" in err.value.message and "no-such-article" in err.value.message
    assert "nothing was changed" in (err.value.fix or "")
    assert _snapshot(fake_store.root) == before


def test_a_kept_version_is_refused_without_reinstall(
    fake_store: PackStore, sources: dict[str, Path]
) -> None:
    before = _snapshot(fake_store.root)
    with pytest.raises(PackError, match=r"1\.1\.0 is already installed") as err:
        fake_store.install(sources["1.1.0"], _NoModel())  # type: ignore[arg-type]
    assert "--reinstall" in (err.value.fix or "")
    assert _snapshot(fake_store.root) == before
    again = fake_store.install(sources["1.1.0"], _NoModel(), reinstall=True)  # type: ignore[arg-type]
    assert again.folder.name == "1.1.0~2" and not (fake_store.root / PACK / "1.1.0").exists()
    assert again.versions == ("1.0.0", "1.1.0", "1.2.0") and again.previous == "1.2.0"


def test_a_failure_while_building_changes_nothing(
    fake_store: PackStore, sources: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(root: Path, out: Path, embedder: Any, **_: Any) -> dict[str, Any]:
        out.mkdir(parents=True)
        (out / "vectors.faiss").write_bytes(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(installed, "build_index", broken)
    before = _snapshot(fake_store.root)
    with pytest.raises(OSError, match="No space left"):
        fake_store.install(sources["1.3.0"], _NoModel())  # type: ignore[arg-type]
    assert _snapshot(fake_store.root) == before
    assert not any(fake_store.staging.iterdir())


@pytest.mark.parametrize("source", ["1.3.0", "mini"])
def test_a_failure_at_the_commit_changes_nothing(
    fake_store: PackStore, sources: dict[str, Path], monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    def refuse(*args: Any) -> None:
        raise OSError(30, "Read-only file system")

    before = _snapshot(fake_store.root)
    monkeypatch.setattr(PackStore, "_write_state", refuse)
    with pytest.raises(OSError, match="Read-only"):
        fake_store.install(sources[source], _NoModel())  # type: ignore[arg-type]
    assert _snapshot(fake_store.root) == before  # the moved version folder (and new pack folder) undone


def test_zip_installs_and_a_malicious_zip_writes_nothing(
    fake_store: PackStore, sources: dict[str, Path], tmp_path: Path
) -> None:
    fake_store.remove(PACK, "1.1.0")
    pack = fake_store.install(sources["1.1.0.zip"], _NoModel())  # type: ignore[arg-type]
    assert pack.version == "1.1.0" and (pack.folder / "pack" / "articles").is_dir()
    assert not (pack.folder / "unzipped").exists()
    before = _snapshot(fake_store.root)
    evil = _zip_folder(sources["1.3.0"], tmp_path / "evil.zip")
    with zipfile.ZipFile(evil, "a") as zf:
        zf.writestr("../../evil.txt", "owned")
    with pytest.raises(PackError, match="outside the pack"):
        fake_store.install(evil, _NoModel())  # type: ignore[arg-type]
    assert _snapshot(fake_store.root) == before
    assert not list(tmp_path.rglob("evil.txt"))


def test_debris_of_a_killed_install_is_swept_on_open(fake_store: PackStore) -> None:
    before = _snapshot(fake_store.root)
    root = fake_store.root
    (root / ".staging" / "install-dead" / "pack").mkdir(parents=True)
    (root / PACK / "1.3.0" / "index").mkdir(parents=True)  # moved into place, never committed
    (root / "other-pack" / "1.0.0").mkdir(parents=True)
    (root / "state-x.tmp").write_text("{")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    fake_store.lock_path.write_text(f"{int(dead.stdout)} {socket.gethostname()} 0\n")
    PackStore(root)
    assert _snapshot(root) == before


def test_a_live_lock_blocks_changes(fake_store: PackStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(installed, "LOCK_WAIT_S", 0.2)
    fake_store.lock_path.write_text(f"{os.getpid()} {socket.gethostname()} 0\n")
    with pytest.raises(PackError, match="another pack change is running") as err:
        fake_store.rollback(PACK)
    assert str(fake_store.lock_path) in (err.value.fix or "")
    assert fake_store.list()[0].version == "1.2.0"


def test_concurrent_changes_take_turns(
    fake_store: PackStore, sources: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow_build(root: Path, out: Path, embedder: Any, **_: Any) -> dict[str, Any]:
        time.sleep(0.3)
        return _fake_build(root, out, embedder)

    monkeypatch.setattr(installed, "build_index", slow_build)
    errors: list[BaseException] = []

    def install(name: str) -> None:
        try:
            PackStore(fake_store.root).install(sources[name], _NoModel())  # type: ignore[arg-type]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=install, args=(n,)) for n in ("1.3.0", "mini")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert {(p.id, p.version) for p in fake_store.list()} == {(PACK, "1.3.0"), ("acme-mini", "1.0.0")}


def test_a_damaged_state_file_is_reported(fake_store: PackStore) -> None:
    fake_store.state_path.write_text("{not json")
    with pytest.raises(PackError, match=r"state\.json is damaged"):
        fake_store.list()


def _interrupt_at(step: int, codes: set[Any], fired: list[int]) -> Any:
    """A trace function raising KeyboardInterrupt (as Ctrl-C does) before the
    ``step``-th line run in the functions of ``codes``; then tracing stops."""
    seen = 0

    def local(frame: Any, event: str, arg: Any) -> Any:
        nonlocal seen
        if event == "line":
            if seen == step:
                fired.append(frame.f_lineno)
                raise KeyboardInterrupt
            seen += 1
        return local

    def on_call(frame: Any, event: str, arg: Any) -> Any:
        return local if frame.f_code in codes else None

    return on_call


def _check_consistent(root: Path, versions: set[str]) -> str:
    """state.json is whole, names an active version in ``versions`` whose folder is
    complete; after the next open's sweep only named folders are left. The active one."""
    state = json.loads((root / "state.json").read_text())
    entry = state["packs"]["acme-mini"]
    assert entry["active"] in versions
    for meta in entry["versions"].values():
        folder = root / "acme-mini" / meta["folder"]
        assert (folder / "pack" / "pack.toml").is_file() and (folder / "index" / "index.json").is_file()
    assert not (root / ".lock").exists()
    store = PackStore(root)  # sweeps
    assert [p.version for p in store.list() if p.id == "acme-mini"] == [entry["active"]]
    named = {meta["folder"] for meta in entry["versions"].values()}
    assert {f.name for f in (root / "acme-mini").iterdir()} == named
    assert not any(store.staging.iterdir()) and not list(root.glob("state-*.tmp"))
    return str(entry["active"])


@pytest.mark.parametrize(("source", "reinstall"), [("mini", True), ("mini-1.1.0", False)])
def test_ctrl_c_at_any_step_of_the_commit_keeps_the_active_version(
    sources: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    reinstall: bool,
) -> None:
    """KeyboardInterrupt before every line of the commit (``_commit_install``, ``_write_state``):
    the old or the new version is active, whole; nothing named is deleted; debris is swept."""
    monkeypatch.setattr(installed, "build_index", _fake_build)
    base = tmp_path / "base"
    PackStore(base).install(sources["mini"], _NoModel())  # type: ignore[arg-type]
    codes = {PackStore._commit_install.__code__, PackStore._write_state.__code__}
    outcomes: dict[str, int] = {}
    step = 0
    while True:
        root = tmp_path / f"run-{step}"
        shutil.copytree(base, root)
        store = PackStore(root)
        fired: list[int] = []
        # An interrupt just before a `with` block's exit skips the exit (Python's own
        # behaviour): the temp file is then closed by the garbage collector, with a warning.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            sys.settrace(_interrupt_at(step, codes, fired))
            try:
                store.install(sources[source], _NoModel(), reinstall=reinstall)  # type: ignore[arg-type]
            except KeyboardInterrupt:
                assert fired, "interrupted elsewhere"
            finally:
                sys.settrace(None)
            gc.collect()
        active = _check_consistent(root, {"1.0.0", "1.1.0"})
        outcomes[active] = outcomes.get(active, 0) + 1
        if not fired:
            break
        step += 1
    assert step > 15  # every line of both functions was a place to interrupt
    assert set(outcomes) == ({"1.0.0"} if reinstall else {"1.0.0", "1.1.0"})
    if reinstall:  # the switch to the fresh folder happened in the later steps
        state = json.loads((tmp_path / f"run-{step}" / "state.json").read_text())
        assert state["packs"]["acme-mini"]["versions"]["1.0.0"]["folder"] == "1.0.0~2"


def test_ctrl_c_while_deleting_the_replaced_folder_is_swept_later(
    sources: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(installed, "build_index", _fake_build)
    store = PackStore(tmp_path / "packs")
    store.install(sources["mini"], _NoModel())  # type: ignore[arg-type]
    replaced = store.root / "acme-mini" / "1.0.0"
    real_rmtree = shutil.rmtree

    def cut_short(path: Any, *args: Any, **kwargs: Any) -> None:
        if Path(path) == replaced:
            (replaced / "index" / "index.json").unlink()  # half deleted, then Ctrl-C
            raise KeyboardInterrupt
        real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(installed.shutil, "rmtree", cut_short)
    with pytest.raises(KeyboardInterrupt):
        store.install(sources["mini"], _NoModel(), reinstall=True)  # type: ignore[arg-type]
    monkeypatch.setattr(installed.shutil, "rmtree", real_rmtree)
    state = json.loads(store.state_path.read_text())
    assert state["packs"]["acme-mini"]["versions"]["1.0.0"]["folder"] == "1.0.0~2"
    assert (store.root / "acme-mini" / "1.0.0~2" / "index" / "index.json").is_file()
    assert _check_consistent(store.root, {"1.0.0"}) == "1.0.0"
    assert not replaced.exists()


# -- the real embedder ------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, embedder: Any, sources: dict[str, Path]) -> Path:
    """Versions 1.0.0, 1.1.0 (from a zip) and 1.2.0 plus acme-mini, really indexed."""
    root = tmp_path_factory.mktemp("built") / "packs"
    store = PackStore(root)
    for name in ("1.0.0", "1.1.0.zip", "1.2.0", "mini"):
        store.install(sources[name], embedder)
    return root


@pytest.fixture
def real_store(built: Path, tmp_path: Path) -> PackStore:
    shutil.copytree(built, tmp_path / "packs")
    return PackStore(tmp_path / "packs")


@pytest.fixture
def cli_home(embed_home: Path, built: Path, tmp_path: Path) -> Iterator[Path]:
    """The test's AGENT_ASSIST_HOME with the embedder linked in and the built packs copied."""
    home = Path(os.environ["AGENT_ASSIST_HOME"])
    (home / "models").mkdir(parents=True)
    os.symlink(embed_home / "models" / "all-minilm-l6-v2", home / "models" / "all-minilm-l6-v2")
    shutil.copytree(built, home / "packs")
    yield home


@pytest.mark.slow
@pytest.mark.model
def test_search_merges_packs_and_embeds_the_query_once(
    real_store: PackStore, embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_assist.knowledge.multi import MultiPackSearcher

    packs = {p.id: p for p in real_store.list()}
    assert packs[PACK].chunks > 100 and packs["acme-mini"].chunks >= 1
    calls: list[list[str]] = []
    int8 = embedder.at("int8")  # the packs were built at int8, so their queries are embedded at it
    encode = int8.encode
    monkeypatch.setattr(int8, "encode", lambda texts, **kw: calls.append(texts) or encode(texts, **kw))
    searcher = MultiPackSearcher(real_store.active_indexes(embedder))
    try:
        hits = searcher.search("how do I reset the Zephyr router", 5)
        assert hits[0].pack == "acme-mini" and hits[0].doc_id == "router-reset"
        assert len(calls) == 1
        hits = searcher.search("I was charged twice for my subscription", 5)
        assert hits[0].pack == PACK and "refunds-double-charge" in [h.doc_id for h in hits]
        assert "acme-mini" not in [h.pack for h in hits]  # its one chunk matches "for" only
        assert [(h.score, h.similarity) for h in hits] == sorted(
            ((h.score, h.similarity) for h in hits), reverse=True
        )
    finally:
        searcher.close()


@pytest.mark.slow
@pytest.mark.model
@pytest.mark.parametrize("field", ["embedder", "dim"])
def test_an_index_from_another_embedder_is_refused(
    real_store: PackStore, embedder: Any, field: str
) -> None:
    [pack] = [p for p in real_store.list() if p.id == PACK]
    path = pack.folder / "index" / "index.json"
    info = json.loads(path.read_text())
    info[field] = "other-model" if field == "embedder" else 768
    path.write_text(json.dumps(info))
    with pytest.raises(PackError, match="was built with embedder") as err:
        real_store.active_indexes(embedder)
    assert str(path.parent) in err.value.message
    assert "agent-assist pack rebuild northwind-home" in (err.value.fix or "")


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from agent_assist.cli.main import main

    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow
@pytest.mark.model
def test_cli_list_rollback_remove_and_search(
    cli_home: Path,
    sources: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, _ = _main(capsys, "pack", "list")
    assert code == 0
    header, mini, nw = out.splitlines()
    assert mini.split()[:3] == ["acme-mini", "1.0.0", "1.0.0"]
    assert header.split()[:2] == ["ID", "ACTIVE"]
    assert nw.startswith(PACK) and "1.2.0" in nw and "1.0.0, 1.1.0, 1.2.0" in nw
    code, out, _ = _main(capsys, "pack", "rollback", PACK)
    assert (code, out.strip()) == (0, f"{PACK}: active version 1.1.0 (was 1.2.0)")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, _, err = _main(capsys, "pack", "remove", PACK, "--version", "1.2.0")
    assert code != 0 and err.startswith("error: ") and "fix: add --yes" in err
    code, out, _ = _main(capsys, "pack", "remove", PACK, "--version", "1.2.0", "--yes")
    assert code == 0 and "removed" in out
    code, out, _ = _main(capsys, "pack", "search", "the jug arrived cracked", "-k", "3")
    assert code == 0 and out.startswith(f"1. {PACK}: ")
    code, out, _ = _main(capsys, "pack", "remove", "acme-mini", "--yes")
    assert code == 0
    code, out, _ = _main(capsys, "pack", "list")
    assert "acme-mini" not in out and "1.0.0, 1.1.0" in out
    code, _, err = _main(capsys, "pack", "install", str(sources["bad"]))
    assert code == 6 and err.startswith("error: ") and "pack.toml:4:" in err and "\nfix: " in err
    code, _, err = _main(capsys, "pack", "install", str(sources["1.0.0"]))
    assert code == 6 and "already installed" in err and "--reinstall" in err


@pytest.mark.slow
@pytest.mark.model
def test_cli_install_mismatch_and_rebuild(
    cli_home: Path, sources: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    mini = "acme-mini"
    code, out, _ = _main(capsys, "pack", "install", str(sources["mini-1.1.0"]))
    assert code == 0, out
    assert f"installed {mini} 1.1.0: 1 chunks" in out and "(was 1.0.0)" in out
    index = cli_home / "packs" / mini / "1.1.0" / "index"
    info = json.loads((index / "index.json").read_text())
    (index / "index.json").write_text(json.dumps({**info, "embedder": "older-model"}))
    code, _, err = _main(capsys, "pack", "search", "reset the router")
    assert code == 6 and str(index) in err
    assert f"fix: rebuild it: `agent-assist pack rebuild {mini}`" in err
    code, _, err = _main(capsys, "pack", "search", "reset the router", "--index", str(index))
    assert code == 6 and "agent-assist pack build PACK --out" in err
    code, out, _ = _main(capsys, "pack", "rebuild", mini)
    assert code == 0 and f"rebuilt {mini} 1.1.0" in out and "(unchanged)" in out
    rebuilt = json.loads((cli_home / "packs" / mini / "1.1.0~2" / "index" / "index.json").read_text())
    assert rebuilt["embedder"] == EMBEDDER_IDS["int8"] and not index.exists()
    code, out, _ = _main(capsys, "pack", "search", "reset the router", "-k", "2")
    assert code == 0 and out.startswith(f"1. {mini}: router-reset#")
    assert len([line for line in out.splitlines() if line[:1].isdigit()]) == 2
