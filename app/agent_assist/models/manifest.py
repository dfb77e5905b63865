"""The model manifest (``models/manifest.toml``) parsed into frozen dataclasses.

Why: the manifest is the single source of truth for which model files the app
trusts (package, version, size and sha256 of every file). A typo there must fail
loudly with the file name, the model and the field, never as a ``KeyError`` deep
inside an install, so every field is checked here once and unknown keys are
rejected.

Thread rules: ``load_manifest`` only reads one small file; the returned objects
are immutable and may be shared between threads freely.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from agent_assist.errors import ModelError
from agent_assist.models.fields import Fields as _Fields
from agent_assist.models.fields import ManifestError
from agent_assist.paths import project_root

__all__ = [
    "FileSpec",
    "Manifest",
    "ManifestError",
    "ModelSpec",
    "PackageSpec",
    "PartSpec",
    "default_manifest_path",
    "load_manifest",
]

Role = Literal["stt-fast", "stt-accurate", "embedder", "llm"]
Kind = Literal["pypi", "local"]
ROLES: tuple[Role, ...] = ("stt-fast", "stt-accurate", "embedder", "llm")
KINDS: tuple[Kind, ...] = ("pypi", "local")
_NOUNS = {"stt-fast": "speech model", "stt-accurate": "speech model", "embedder": "embedding model"}
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True)
class PackageSpec:
    name: str  # distribution name, as given to pip
    version: str  # exact pinned version
    module: str  # import name, located with find_spec and never imported
    no_deps: bool = False  # install with `pip install --no-deps` (its own deps are not ours)

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class PartSpec:
    """One source file in a package: ``source`` is ``<module>/<path inside it>``."""

    source: str
    size: int
    sha256: str

    @property
    def module(self) -> str:
        return self.source.split("/", 1)[0]


@dataclass(frozen=True)
class FileSpec:
    """One installed file; ``parts`` are concatenated in order (one part if not split)."""

    name: str  # relative POSIX path inside the installed model folder
    size: int
    sha256: str
    parts: tuple[PartSpec, ...]

    @property
    def is_split(self) -> bool:
        return len(self.parts) > 1


@dataclass(frozen=True)
class ModelSpec:
    id: str
    role: Role
    description: str
    kind: Kind
    format: str
    language: str | None
    aliases: tuple[str, ...]
    default: bool
    chat_template: str | None
    entry: str | None  # file inside the folder that model_path() returns, if any
    packages: tuple[PackageSpec, ...]
    files: tuple[FileSpec, ...]
    path: Path | None  # kind == "local" only, resolved; None when not configured

    @property
    def noun(self) -> str:
        """How messages name this model: "speech model", "language model", ..."""
        return _NOUNS.get(self.role, "language model")

    @property
    def source_label(self) -> str:
        if self.kind == "local":
            return f"local: {self.path}" if self.path else "local (no path set)"
        return " + ".join(p.requirement for p in self.packages)

    @property
    def pip_command(self) -> str:
        flag = "--no-deps " if any(p.no_deps for p in self.packages) else ""
        return f"pip install {flag}" + " ".join(p.requirement for p in self.packages)

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True)
class Manifest:
    path: Path
    models: tuple[ModelSpec, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.models)

    def get(self, model_id: str) -> ModelSpec:
        """The model with this id or alias; ``ModelError`` listing the known ids otherwise."""
        for model in self.models:
            if model_id == model.id or model_id in model.aliases:
                return model
        raise ModelError(
            f"unknown model '{model_id}' (known: {', '.join(self.ids)})",
            fix="run `agent-assist models list` to see the models",
        )

    def default(self, role: Role) -> ModelSpec:
        """The model marked ``default = true`` for ``role`` (else the first with that role)."""
        candidates = [m for m in self.models if m.role == role]
        if not candidates:
            raise ModelError(f"{self.path} names no model with role {role!r}")
        return next((m for m in candidates if m.default), candidates[0])


def default_manifest_path() -> Path:
    return project_root() / "models" / "manifest.toml"


def load_manifest(path: Path | None = None) -> Manifest:
    """Read and validate the manifest (default: ``<project root>/models/manifest.toml``)."""
    path = Path(path) if path is not None else default_manifest_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(
            f"model manifest {path} not found", fix="restore models/manifest.toml from the release"
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        _Fields({}, "", path).fail(f"cannot read it: {exc}")
    top = _Fields(data, "", path)
    schema = top.req_int("schema")
    if schema != 1:
        top.fail(f"'schema' is {schema}, this version of the app reads schema 1")
    models = tuple(_model(f, i) for i, f in enumerate(top.tables("models", required=True)))
    top.finish()
    seen: dict[str, str] = {}
    for model in models:
        for name in (model.id, *model.aliases):
            if name in seen:
                top.fail(f"model name {name!r} is used by both {seen[name]!r} and {model.id!r}")
            seen[name] = model.id
    return Manifest(path=path, models=models)


def _model(f: _Fields, index: int) -> ModelSpec:
    model_id = f.req_str("id")
    if not _ID.match(model_id):
        f.fail(f"'id' {model_id!r} must be lowercase letters, digits, '.', '_' or '-'")
    f.where = f"models[{index}] {model_id!r}"
    role = f.choice("role", ROLES)
    kind = f.choice("kind", KINDS)
    packages = tuple(_package(p) for p in f.tables("packages", required=kind == "pypi"))
    modules = {p.module for p in packages}
    files = tuple(_file(t, modules) for t in f.tables("files", required=kind == "pypi"))
    raw_path = f.opt_str("path")
    if kind == "local" and (packages or files):
        f.fail("a kind = \"local\" model takes a 'path', not 'packages' or 'files'")
    if kind == "pypi" and raw_path is not None:
        f.fail("'path' is only for kind = \"local\" models")
    names = [spec.name for spec in files]
    if len(set(names)) != len(names):
        f.fail("two 'files' entries have the same name")
    entry = f.opt_str("entry")
    if entry is not None and entry not in names:
        f.fail(f"'entry' {entry!r} is not one of its files")
    path = None
    if raw_path:
        path = Path(raw_path).expanduser()
        path = path if path.is_absolute() else (f.file.parent / path).resolve()
    spec = ModelSpec(
        id=model_id,
        role=role,
        description=f.req_str("description"),
        kind=kind,
        format=f.req_str("format"),
        language=f.opt_str("language"),
        aliases=f.str_list("aliases"),
        default=f.opt_bool("default"),
        chat_template=f.opt_str("chat_template"),
        entry=entry,
        packages=packages,
        files=files,
        path=path,
    )
    f.finish()
    return spec


def _package(f: _Fields) -> PackageSpec:
    name, version, module = f.req_str("name"), f.req_str("version"), f.req_str("module")
    spec = PackageSpec(name, version, module, no_deps=f.opt_bool("no_deps"))
    f.finish()
    return spec


def _file(f: _Fields, modules: set[str]) -> FileSpec:
    name = f.req_str("name")
    f.where += f" {name!r}"
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts or "\\" in name:
        f.fail(f"'name' {name!r} must be a relative path inside the model folder")
    size, sha = f.req_int("size"), f.sha256("sha256")
    join = f.opt_str("join")
    if join is None:
        parts: tuple[PartSpec, ...] = (PartSpec(f.source("from", modules), size, sha),)
    elif join == "concat":
        parts = tuple(
            PartSpec(p.source("from", modules), p.req_int("size"), p.sha256("sha256"))
            for p in f.tables("parts", required=True)
        )
        if sum(p.size for p in parts) != size:
            f.fail(f"the sizes of its parts do not add up to 'size' = {size}")
    else:
        f.fail(f"'join' must be \"concat\", got {join!r}")
    f.finish()
    return FileSpec(name=name, size=size, sha256=sha, parts=parts)
