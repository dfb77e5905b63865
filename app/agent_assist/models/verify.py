"""Verifying installed models: the sha256 of every file against the manifest.

Why: a model file damaged by a full disk, an interrupted copy or a stray edit
loads fine in CTranslate2/llama.cpp more often than not and then produces
garbage. ``verify`` is the one place that re-reads every byte; it tells the
user which file is wrong and the command that repairs it, and refreshes the
stamp that lets ``models list`` show "verified" cheaply.

Thread rules: blocking, reads every installed byte; run it from a worker thread
or the CLI. It never modifies model files (only the stamp next to them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agent_assist.models.manifest import Manifest, ModelSpec, load_manifest
from agent_assist.models.store import (
    clear_stamp,
    install_dir,
    quick_problems,
    sha256_file,
    write_stamp,
)

__all__ = ["VerifyReport", "verify"]

Status = Literal["ok", "missing", "corrupt", "skipped"]


@dataclass(frozen=True)
class VerifyReport:
    id: str
    status: Status  # "skipped": a local model with no path configured
    path: Path | None
    problems: tuple[str, ...] = ()  # one per bad file: "model.bin: sha256 mismatch"
    fix: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "skipped")


def verify(model_id: str | None = None, *, manifest: Manifest | None = None) -> list[VerifyReport]:
    """Hash every installed file of one model (id or alias) or of all models.

    Raises ``ModelError`` only for an unknown id; problems are reported, not raised.
    """
    manifest = manifest or load_manifest()
    specs = [manifest.get(model_id)] if model_id is not None else list(manifest.models)
    return [_verify_one(spec, manifest) for spec in specs]


def _verify_one(spec: ModelSpec, manifest: Manifest) -> VerifyReport:
    if spec.kind == "local":
        if spec.path is None:
            return VerifyReport(spec.id, "skipped", None, ("no `path` set",))
        if spec.path.exists():
            return VerifyReport(spec.id, "ok", spec.path)
        return VerifyReport(
            spec.id,
            "missing",
            spec.path,
            (f"{spec.path} does not exist",),
            fix=f"correct `path` for '{spec.id}' in {manifest.path}",
        )
    folder = install_dir(spec)
    quick = dict(quick_problems(spec, folder))
    if len(quick) == len(spec.files):
        clear_stamp(folder)
        return VerifyReport(
            spec.id,
            "missing",
            folder,
            ("not installed",),
            fix=f"run `agent-assist models install {spec.id}`",
        )
    problems = []
    for file in spec.files:
        if file.name in quick:
            problems.append(f"{file.name}: {quick[file.name]}")
        elif sha256_file(folder / file.name) != file.sha256:
            problems.append(f"{file.name}: sha256 mismatch")
    if problems:
        clear_stamp(folder)
        return VerifyReport(
            spec.id,
            "corrupt",
            folder,
            tuple(problems),
            fix=f"run `agent-assist models install --force {spec.id}`",
        )
    write_stamp(spec, folder)
    return VerifyReport(spec.id, "ok", folder)
