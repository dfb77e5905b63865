"""The models room: which models the app uses, installing them, checking them.

Why: every model comes from a pinned PyPI package (or a user-supplied local
path) listed with sha256 hashes in ``models/manifest.toml``; the app never
downloads anything and never loads a file it has not checked. Loaders call
``model_path``/``stt_model_for``; the CLI calls ``install``/``verify``.

Thread rules: ``load_manifest``, ``model_path`` and ``stt_model_for`` are cheap and
thread-safe; ``install`` and ``verify`` block on hundreds of MB of I/O, so run
them in a worker thread or the CLI. See each module's docstring.
"""

from agent_assist.models.install import InstallReport, install
from agent_assist.models.locate import model_path, stt_model_for
from agent_assist.models.manifest import (
    FileSpec,
    Manifest,
    ManifestError,
    ModelSpec,
    PackageSpec,
    PartSpec,
    load_manifest,
)
from agent_assist.models.verify import VerifyReport, verify

__all__ = [
    "FileSpec",
    "InstallReport",
    "Manifest",
    "ManifestError",
    "ModelSpec",
    "PackageSpec",
    "PartSpec",
    "VerifyReport",
    "install",
    "load_manifest",
    "model_path",
    "stt_model_for",
    "verify",
]
