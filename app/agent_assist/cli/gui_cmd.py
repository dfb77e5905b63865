"""Opening the sidebar from the command line: ``agent-assist`` alone, and ``agent-assist demo``.

``agent-assist`` with no command opens the app ready for live calls (devices
from the settings); ``demo`` opens it and plays the sample call through it.
Without a display (a server, CI, an SSH session) ``demo`` falls back to the
terminal view with a note, and ``agent-assist`` alone prints its help with the
same note -- a missing screen is not an error worth a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_gui_args", "engine_options", "run_gui"]


def add_gui_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--screenshot",
        metavar="PATH",
        type=Path,
        help="save a PNG of the window when --exit-after elapses (docs and checks)",
    )
    p.add_argument(
        "--exit-after",
        metavar="SECONDS",
        type=float,
        help="quit after this many seconds (ends the call cleanly first)",
    )


def engine_options(args: argparse.Namespace, *, demo: bool, settings: Any = None) -> Any:
    """The engine's options: the settings, with the command line's explicit choices on top
    (except where IT locked the setting: the policy wins, with a note)."""
    from agent_assist.session import EngineOptions

    base = EngineOptions()
    values: dict[str, Any] = {}
    if settings is not None:
        server = settings.get("llm.backend") == "server"
        store_audio, retention_days = settings.privacy()
        values = {
            "speech.model": settings.get("speech.model") or base.stt_model,
            "speech.language": settings.get("speech.language") or base.language,
            "llm.enabled": bool(settings.get("llm.enabled")),
            "llm.model": settings.get("llm.model") or None,
            "llm.server_url": (settings.get("llm.server_url") or None) if server else None,
            "knowledge.enabled": bool(settings.get("knowledge.enabled")),
            "privacy.store_audio": store_audio,
            "privacy.retention_days": retention_days,
        }
    overrides = {
        "speech.model": getattr(args, "model", None)
        if getattr(args, "model", None) != "tiny.en"
        else None,
        "speech.language": getattr(args, "language", None)
        if getattr(args, "language", "en") != "en"
        else None,
        "llm.enabled": False if getattr(args, "no_llm", False) else None,
        "llm.model": getattr(args, "llm", None),
        "llm.server_url": getattr(args, "llm_server", None),
        "knowledge.enabled": False if getattr(args, "no_knowledge", False) else None,
    }
    for key, value in overrides.items():
        if value is None:
            continue
        if settings is not None and settings.is_locked(key):
            print(
                f"note: {key} is locked by IT ({settings.lock_reason(key)}); ignoring the option",
                file=sys.stderr,
            )
            continue
        values[key] = value
    return EngineOptions(
        stt_model=values.get("speech.model") or base.stt_model,
        language=values.get("speech.language") or base.language,
        threads=getattr(args, "threads", None) or base.threads,
        llm=values.get("llm.model"),
        llm_server=values.get("llm.server_url"),
        use_llm=values.get("llm.enabled", True),
        knowledge=values.get("knowledge.enabled", True),
        pack_index=getattr(args, "pack_index", None),
        store=not getattr(args, "no_store", False),
        partials=getattr(args, "partials", True) is not False,
        install_example=demo,
        store_audio=values.get("privacy.store_audio", False),
        retention_days=values.get("privacy.retention_days", 0),
    )


def run_gui(args: argparse.Namespace, *, demo: bool, sample: Path | None = None) -> int:
    """Open the sidebar (``demo``: and play ``sample`` through it); the exit code."""
    from agent_assist.config import PolicyError, Settings
    from agent_assist.ui.app import GuiOptions, run_app

    if getattr(args, "exit_after", None) is None and getattr(args, "screenshot", None) is not None:
        args.exit_after = 20.0
    try:
        settings = Settings.load()
    except PolicyError as err:
        from agent_assist.ui.app import show_fatal

        show_fatal(err.render())  # launched from a desktop menu, nobody reads stderr
        raise
    for warning in settings.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    options = GuiOptions(
        engine=engine_options(args, demo=demo, settings=settings),
        settings=settings,
        demo=demo,
        realtime=not getattr(args, "fast", False),
        sample=sample,
        agent_device=getattr(args, "agent", None),
        customer_device=getattr(args, "customer", None),
        single_device=getattr(args, "device", None),
        screenshot=getattr(args, "screenshot", None),
        exit_after=getattr(args, "exit_after", None),
    )
    print(
        "Agent Assist: opening the sidebar"
        + (f" and playing {sample.name}" if demo and sample else "")
        + " (models load in the background)",
        file=sys.stderr,
    )
    return run_app(options)
