"""Where the app keeps its files. ``AGENT_ASSIST_HOME`` overrides all of them
(tests point it at a temporary folder)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["config_dir", "data_dir", "database_path", "models_dir", "project_root"]

APP_NAME = "agent-assist"


def data_dir() -> Path:
    override = os.environ.get("AGENT_ASSIST_HOME")
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    """The user's settings (``settings.toml``) and window state live here.

    ``AGENT_ASSIST_CONFIG_DIR`` overrides it; otherwise ``AGENT_ASSIST_HOME``
    (tests) puts it in ``<home>/config``; otherwise the platform's user config
    folder. Not created here: reading settings must not create folders.
    """
    override = os.environ.get("AGENT_ASSIST_CONFIG_DIR")
    if override:
        return Path(override)
    home = os.environ.get("AGENT_ASSIST_HOME")
    if home:
        return Path(home) / "config"
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def database_path() -> Path:
    return data_dir() / "agent-assist.sqlite3"


def models_dir() -> Path:
    """Installed (joined, verified) model files live here."""
    path = data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def project_root() -> Path:
    """The source checkout (holds ``assets/`` and ``models/manifest.toml``)."""
    return Path(__file__).resolve().parents[2]
