"""Finding an installed model for the code that loads it.

Why: loaders (faster-whisper, llama.cpp, sentence-transformers) fail with
obscure errors on a missing or truncated file. ``model_path`` checks first that
every file is present with the right size (a few ``stat`` calls, cheap enough
for every start) and raises a ``ModelError`` that names the model and the exact
command that fixes it. Full hashing is left to ``verify``.

Thread rules: only stats files; safe from any thread, cheap enough for a UI
thread.
"""

from __future__ import annotations

from pathlib import Path

from agent_assist.errors import ModelError
from agent_assist.models.manifest import Manifest, load_manifest
from agent_assist.models.store import install_dir, quick_problems

__all__ = ["model_path", "stt_model_for"]

STT_ROLES = ("stt-fast", "stt-accurate")


def model_path(model_id: str, *, manifest: Manifest | None = None) -> Path:
    """The installed folder of ``model_id`` (id or alias), or its ``entry`` file (the GGUF
    of an llm); for a local model, its configured path.

    Raises ``ModelError`` (with the fix) when it is unknown, not installed or damaged.
    """
    manifest = manifest or load_manifest()
    spec = manifest.get(model_id)
    if spec.kind == "local":
        if spec.path is None:
            raise ModelError(
                f"{spec.noun} '{spec.id}' has no path configured",
                fix=f"set `path` for '{spec.id}' in {manifest.path}",
            )
        if not spec.path.exists():
            raise ModelError(
                f"{spec.noun} '{spec.id}' not found at {spec.path}",
                fix=f"correct `path` for '{spec.id}' in {manifest.path}",
            )
        return spec.path
    folder = install_dir(spec)
    problems = quick_problems(spec, folder)
    if len(problems) == len(spec.files):
        raise ModelError(
            f"{spec.noun} '{spec.id}' is not installed",
            fix=f"run `agent-assist models install {spec.id}`",
        )
    if problems:
        name, problem = problems[0]
        raise ModelError(
            f"{spec.noun} '{spec.id}' is damaged: {name} is {problem}",
            fix=f"run `agent-assist models install --force {spec.id}`",
        )
    return folder / spec.entry if spec.entry else folder


def stt_model_for(name: str, *, manifest: Manifest | None = None) -> Path:
    """The folder of a speech model named by alias (``"tiny.en"``, ``"base"``) or id."""
    manifest = manifest or load_manifest()
    stt = [m for m in manifest.models if m.role in STT_ROLES]
    spec = next((m for m in stt if name == m.id or name in m.aliases), None)
    if spec is None:
        names = ", ".join(n for m in stt for n in (*m.aliases, m.id))
        raise ModelError(
            f"'{name}' is not a known speech model (known: {names})",
            fix="run `agent-assist models list` to see the models",
        )
    return model_path(spec.id, manifest=manifest)
