"""Installed knowledge packs: every version kept, atomic installs, rollback.

Why this shape: a supervisor ships a pack version, and a bad one must be
undoable at once (``rollback``) without the original folder; an install that
dies half-way (bad content, full disk, a killed process) must leave agents
with exactly the packs they had. So each version lives in its own folder and
one small file, ``state.json``, names what is installed and active. Replacing
that file (temp file + ``os.replace``) is the single commit point of every
change; anything on disk that it does not name is debris from an interrupted
change and is swept the next time the store is locked.

Layout of ``<data dir>/packs/`` (managed by agent-assist; do not edit by hand)::

    state.json                    {"packs": {id: {"active", "versions": {v: {folder, …}}}}, "history"}
    .lock                         held during a change: "pid host time"
    .staging/<tmp>/               an install being prepared (same filesystem, so rename is atomic)
    <pack-id>/<version>/pack/     the validated copy of the pack source
    <pack-id>/<version>/index/    its index (``build_index``: vectors, chunks, index.json)

A reinstall of a kept version goes to a fresh folder (``1.2.0~2``) and the
state is switched to it; the old folder is deleted after the commit.

Interrupt safety (Ctrl-C, a KeyboardInterrupt at any point of a change): a
folder is only ever deleted when the ``state.json`` on disk does not name it
-- a staging folder, a version a committed change replaced or removed, or
(after a failed commit) the new folder, judged by re-reading the state, never
by how far the code got. A delete that is cut short leaves unnamed debris,
which the sweep removes. So the active version's folder survives every
interrupt, and the state names either the old or the new version, whole.

The last install wins: installing a version older than the active one is
allowed and makes it active (installing is an explicit supervisor choice).
``rollback`` without ``--to`` activates the highest kept version below the
active one.

Thread rules: any thread; changes (install/remove/rollback/rebuild) serialise
across threads and processes on the ``.lock`` file; readers (``list``,
``active_indexes``) take no lock because ``state.json`` is only ever replaced
whole. Installs embed for seconds to minutes: never call one on a GUI thread.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent_assist.knowledge.archive import PackError, unpack_zip
from agent_assist.knowledge.embedder import BUILD_PRECISION, Embedder, Precision
from agent_assist.knowledge.index import PackIndex, build_index
from agent_assist.knowledge.multi import check_embedder
from agent_assist.knowledge.validate import validate_pack
from agent_assist.paths import data_dir

__all__ = ["InstalledPack", "PackStore", "Progress", "version_key"]

Progress = Callable[[int, int], None]
"""Called with (chunks embedded so far, total chunks) while an index is built."""

LOCK_WAIT_S = 5.0
"""How long a change waits for another one to finish before giving up."""
LOCK_STALE_S = 3600.0
"""Where a holder's pid cannot be checked (not POSIX), a lock this old is stale."""
HISTORY_MAX = 200
_IGNORED = shutil.ignore_patterns(".index", ".git", "__pycache__", ".DS_Store")
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+.*)?$")


@dataclass(frozen=True, slots=True)
class InstalledPack:
    """One installed pack as ``list()`` shows it (``version`` is the active one).

    ``previous`` is set only on the result of ``install``/``rollback``/``rebuild``:
    the version that was active before that change (None if there was none).
    """

    id: str
    name: str
    version: str
    versions: tuple[str, ...]  # every kept version, oldest first
    chunks: int
    installed_at: str  # ISO 8601 UTC, of the active version
    embedder: str
    folder: Path  # the active version's folder (holds pack/ and index/)
    previous: str | None = None


def version_key(version: str) -> tuple[Any, ...]:
    """Semantic-version order (a pre-release sorts before its release)."""
    m = _SEMVER.match(version)
    if not m:
        return (-1, version)
    pre = m.group(4)
    pre_key = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")) if pre else ()
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)), 0 if pre else 1, pre_key)


class PackStore:
    """The installed packs under ``root`` (default ``<data dir>/packs``)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or data_dir() / "packs"
        self.state_path = self.root / "state.json"
        self.lock_path = self.root / ".lock"
        self.staging = self.root / ".staging"
        self.staging.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(PackError), self._locked(wait=0):
            pass  # sweeps what a killed process left, when no change is running

    # -- reading ---------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        try:
            text = self.state_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"packs": {}, "history": []}
        try:
            state: dict[str, Any] = json.loads(text)
            assert isinstance(state.get("packs"), dict)
        except (ValueError, AssertionError) as exc:
            raise PackError(
                f"{self.state_path} is damaged ({exc})",
                f"restore it from a backup, or delete {self.root} and install the packs again",
            ) from exc
        return state

    def list(self) -> builtins.list[InstalledPack]:
        """Every installed pack, by id, with its active version."""
        return [self._describe(pid, e) for pid, e in sorted(self._state()["packs"].items())]

    def _describe(
        self, pack_id: str, entry: dict[str, Any], previous: str | None = None
    ) -> InstalledPack:
        version = entry["active"]
        meta = entry["versions"][version]
        folder = self.root / pack_id / meta["folder"]
        try:
            info = json.loads((folder / "index" / "index.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = {}
        return InstalledPack(
            pack_id,
            meta.get("name", pack_id),
            version,
            tuple(sorted(entry["versions"], key=version_key)),
            int(info.get("chunks", 0)),
            meta.get("installed_at", ""),
            str(info.get("embedder", "?")),
            folder,
            previous,
        )

    def active_indexes(self, embedder: Embedder) -> builtins.list[PackIndex]:
        """Open the active index of every installed pack (one query embedding per precision).

        Raises ``PackError`` naming the folder and ``pack rebuild ID`` when an
        index was built by an embedder ``embedder`` cannot query (another model);
        an index of the other precision is queried at it (``PackIndex``). The
        caller closes the indexes.
        """
        opened: builtins.list[PackIndex] = []
        try:
            for pack in self.list():
                folder = pack.folder / "index"
                check_embedder(folder, embedder, f"rebuild it: `agent-assist pack rebuild {pack.id}`")
                opened.append(PackIndex(folder, embedder))
        except BaseException:
            for index in opened:
                index.close()
            raise
        return opened

    # -- changing --------------------------------------------------------------

    def install(
        self,
        source: Path,
        embedder: Embedder,
        *,
        reinstall: bool = False,
        progress: Progress | None = None,
        precision: Precision = BUILD_PRECISION,
    ) -> InstalledPack:
        """Validate, copy and index a pack folder or ``.zip``, then make it active.

        Any failure leaves the installed set as it was. A kept version is
        refused unless ``reinstall``. ``precision``: of the index's vectors
        (``index.build_index``).
        """
        with self._locked():
            stage = Path(tempfile.mkdtemp(prefix="install-", dir=self.staging))
            try:
                pack_dir = self._stage_source(source, stage)
                problems = validate_pack(pack_dir)
                if problems:
                    lines = "\n  ".join(p.render(pack_dir) for p in problems)
                    raise PackError(
                        f"cannot install {source}: {len(problems)} problem(s):\n  {lines}",
                        "fix them (see `agent-assist pack validate PATH`) and install again; "
                        "nothing was changed",
                    )
                manifest = tomllib.loads((pack_dir / "pack.toml").read_text(encoding="utf-8"))["pack"]
                pack_id, version = str(manifest["id"]), str(manifest["version"])
                state = self._state()
                entry = state["packs"].get(pack_id, {"active": None, "versions": {}})
                if version in entry["versions"] and not reinstall:
                    raise PackError(
                        f"{pack_id} {version} is already installed",
                        "give the pack a new version in pack.toml, or add --reinstall to replace it",
                    )
                earlier = [  # unchanged chunks keep their vectors (same embedder only)
                    self.root / pack_id / meta["folder"] / "index" for meta in entry["versions"].values()
                ]
                build_index(
                    pack_dir,
                    stage / "index",
                    embedder,
                    progress=progress,
                    reuse=earlier,
                    precision=precision,
                )
                return self._commit_install(state, entry, stage, pack_id, version, str(manifest["name"]))
            finally:
                shutil.rmtree(stage, ignore_errors=True)

    def rebuild(
        self,
        pack_id: str,
        embedder: Embedder,
        *,
        progress: Progress | None = None,
        precision: Precision = BUILD_PRECISION,
    ) -> InstalledPack:
        """Re-index the active version from its kept copy (after an embedder change; to int8)."""
        entry = self._entry(self._state(), pack_id)
        folder = self.root / pack_id / entry["versions"][entry["active"]]["folder"]
        return self.install(
            folder / "pack", embedder, reinstall=True, progress=progress, precision=precision
        )

    def rollback(self, pack_id: str, to: str | None = None) -> InstalledPack:
        """Activate ``to``, or the highest kept version below the active one."""
        with self._locked():
            state = self._state()
            entry = self._entry(state, pack_id)
            current = entry["active"]
            kept = sorted(entry["versions"], key=version_key)
            if to is None:
                older = [v for v in kept if version_key(v) < version_key(current)]
                if not older:
                    raise PackError(
                        f"{pack_id} {current} is the oldest kept version; there is nothing to roll back to",
                        f"kept versions: {', '.join(kept)}; use --to VERSION, or install an older one",
                    )
                to = older[-1]
            elif to not in entry["versions"]:
                raise PackError(f"{pack_id} {to} is not installed", f"kept versions: {', '.join(kept)}")
            entry["active"] = to
            self._write_state(state, "rollback", pack_id, to, current)
            return self._describe(pack_id, entry, current)

    def remove(self, pack_id: str, version: str | None = None) -> None:
        """Remove a whole pack, or one kept version that is not the active one."""
        with self._locked():
            state = self._state()
            entry = self._entry(state, pack_id)
            if version is None:
                del state["packs"][pack_id]
                self._write_state(state, "remove", pack_id, None, entry["active"])
                shutil.rmtree(self.root / pack_id, ignore_errors=True)  # leftovers: swept later
                return
            if version not in entry["versions"]:
                raise PackError(
                    f"{pack_id} {version} is not installed",
                    f"kept versions: {', '.join(sorted(entry['versions'], key=version_key))}",
                )
            if version == entry["active"]:
                raise PackError(
                    f"{pack_id} {version} is the active version",
                    f"roll back first (`agent-assist pack rollback {pack_id}`), or remove the whole pack",
                )
            folder = entry["versions"].pop(version)["folder"]
            self._write_state(state, "remove", pack_id, version, entry["active"])
            shutil.rmtree(self.root / pack_id / folder, ignore_errors=True)

    # -- internals -------------------------------------------------------------

    def _entry(self, state: dict[str, Any], pack_id: str) -> dict[str, Any]:
        entry: dict[str, Any] | None = state["packs"].get(pack_id)
        if entry is None:
            names = ", ".join(sorted(state["packs"])) or "none"
            raise PackError(f"no installed pack '{pack_id}'", f"installed packs: {names} (`pack list`)")
        return entry

    def _stage_source(self, source: Path, stage: Path) -> Path:
        """Copy the folder (or unpack the zip) to ``stage/pack``: what is validated is what is kept."""
        target = stage / "pack"
        if source.is_file() and source.suffix.lower() == ".zip":
            os.replace(unpack_zip(source, stage / "unzipped"), target)
            shutil.rmtree(stage / "unzipped", ignore_errors=True)  # the wrapper folder, if any
        elif source.is_dir():
            shutil.copytree(source, target, ignore=_IGNORED)
        else:
            raise PackError(
                f"{source} is not a pack folder or .zip", "give the folder holding pack.toml"
            )
        return target

    def _commit_install(
        self,
        state: dict[str, Any],
        entry: dict[str, Any],
        stage: Path,
        pack_id: str,
        version: str,
        name: str,
    ) -> InstalledPack:
        pack_root = self.root / pack_id
        pack_root.mkdir(exist_ok=True)
        folder, n = version, 1
        while (pack_root / folder).exists():
            n += 1
            folder = f"{version}~{n}"
        old = entry["versions"].get(version, {}).get("folder")
        previous = entry["active"]
        try:
            os.replace(stage, pack_root / folder)
            now = datetime.now(UTC).isoformat(timespec="seconds")
            entry["versions"][version] = {"folder": folder, "name": name, "installed_at": now}
            entry["active"] = version
            state["packs"][pack_id] = entry
            self._write_state(state, "install", pack_id, version, previous)
        except BaseException:  # also Ctrl-C: it may come after state.json was switched
            self._undo_unless_committed(pack_id, folder)
            raise
        if old:  # no longer named by state.json: a delete cut short is swept next time
            shutil.rmtree(pack_root / old, ignore_errors=True)
        return self._describe(pack_id, entry, previous)

    def _undo_unless_committed(self, pack_id: str, folder: str) -> None:
        """After a failed or interrupted commit: delete the new version folder (and the
        pack folder, if the pack is not installed) -- unless ``state.json`` on disk names
        it. The on-disk state decides, not how far the code got: an interrupt can land
        after ``os.replace`` switched the state and before the caller learns of it, and
        deleting then would delete the active version. Anything left here (a damaged
        state, a second Ctrl-C) is unnamed debris, swept under the next lock."""
        try:
            entry = self._state()["packs"].get(pack_id)
        except PackError:
            return
        if entry and any(meta.get("folder") == folder for meta in entry["versions"].values()):
            return
        shutil.rmtree(self.root / pack_id / folder if entry else self.root / pack_id, ignore_errors=True)

    def _write_state(
        self, state: dict[str, Any], action: str, pack_id: str, version: str | None, previous: str | None
    ) -> None:
        """The commit point: write a temp file, flush it to disk, ``os.replace`` it."""
        at = datetime.now(UTC).isoformat(timespec="seconds")
        event = {"at": at, "action": action, "pack": pack_id, "version": version, "previous": previous}
        state["history"] = [*state.get("history", []), event][-HISTORY_MAX:]
        fd, tmp = tempfile.mkstemp(prefix="state-", suffix=".tmp", dir=self.root)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(state, out, indent=2)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.state_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if os.name == "posix":  # make the rename durable; it is committed either way,
            with contextlib.suppress(OSError):  # so a failure here must not undo the change
                dir_fd = os.open(self.root, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)

    @contextlib.contextmanager
    def _locked(self, wait: float | None = None) -> Iterator[None]:
        """Hold ``.lock`` (created with O_EXCL) for one change, then sweep debris.

        Why a lock file, not fcntl/msvcrt: it works the same on every OS and
        filesystem we run on. A lock whose pid is gone (POSIX, same host), or
        older than ``LOCK_STALE_S`` elsewhere, is stale and taken over.
        (Two processes taking over the same stale lock at the same instant could both
        proceed; acceptable on a single-user desktop, where the lock is rarely contended.)
        """
        deadline = time.monotonic() + (LOCK_WAIT_S if wait is None else wait)
        while True:
            try:
                fd = os.open(self.lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                break
            except FileExistsError:
                if self._lock_is_stale():
                    self.lock_path.unlink(missing_ok=True)
                    continue
                if time.monotonic() >= deadline:
                    holder = ""
                    with contextlib.suppress(OSError):
                        holder = "pid host time: " + self.lock_path.read_text(errors="replace").strip()
                    raise PackError(
                        f"another pack change is running ({holder or self.lock_path})",
                        f"wait for it to finish; if no agent-assist is running, delete {self.lock_path}",
                    ) from None
                time.sleep(0.1)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(f"{os.getpid()} {socket.gethostname()} {time.time():.0f}\n")
            self._sweep()
            yield
        finally:
            self.lock_path.unlink(missing_ok=True)

    def _lock_is_stale(self) -> bool:
        try:
            text, age = self.lock_path.read_text(), time.time() - self.lock_path.stat().st_mtime
        except OSError:
            return False
        try:
            pid_s, host, _ = text.split()
            pid = int(pid_s)
        except ValueError:  # being written right now, or its writer died before writing
            return age > 60
        if os.name != "posix" or host != socket.gethostname():
            return age > LOCK_STALE_S
        try:
            os.kill(pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        return False

    def _sweep(self) -> None:
        """Under the lock: delete staging dirs, temp state files and unreferenced folders."""
        for path in self.staging.iterdir():
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        for tmp in self.root.glob("state-*.tmp"):
            tmp.unlink(missing_ok=True)
        if not self.state_path.exists():
            return  # never sweep versions against a state that is not there
        packs = self._state()["packs"]
        for pack_root in self.root.iterdir():
            if not pack_root.is_dir() or pack_root.name.startswith("."):
                continue
            entry = packs.get(pack_root.name)
            kept = {v["folder"] for v in entry["versions"].values()} if entry else set()
            for folder in pack_root.iterdir():
                if folder.name not in kept:
                    shutil.rmtree(folder, ignore_errors=True)
            if entry is None:
                shutil.rmtree(pack_root, ignore_errors=True)
