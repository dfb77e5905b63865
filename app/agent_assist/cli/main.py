"""``agent-assist``: the command line. Each command is a thin call into the engine.

Errors the user can fix print ``error:``/``fix:`` lines and exit non-zero
(``UserError.exit_code``); anything unexpected prints one line naming the log
file that holds the traceback, never the traceback itself.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from agent_assist import __version__
from agent_assist.errors import UserError

__all__ = ["build_parser", "main"]

log = logging.getLogger("agent_assist")


def _setup_logging(verbose: bool) -> str:
    from agent_assist.paths import data_dir

    log_dir = data_dir() / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "agent-assist.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    if verbose:
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(logging.DEBUG)
        root.addHandler(console)
        root.setLevel(logging.DEBUG)
    return str(path)


def build_parser() -> argparse.ArgumentParser:
    from agent_assist.cli import call_cmds, config_cmd, llm_cmds, models_cmd, pack_cmd

    parser = argparse.ArgumentParser(
        prog="agent-assist",
        description="Private, offline copilot for contact-center agents: live two-channel "
        "transcription, knowledge cards and reply suggestions on this machine. Without a "
        "command it opens the sidebar, ready for live calls.",
    )
    parser.add_argument("--version", action="version", version=f"agent-assist {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    call_cmds.add_parsers(sub)
    llm_cmds.add_parsers(sub)  # ask, suggest, summarize
    models_cmd.add_parser(sub)
    pack_cmd.add_parser(sub)
    config_cmd.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        from agent_assist.ui.app import has_display

        if not has_display():
            parser.print_help()
            print(
                "\nnote: no display found, so no sidebar; `agent-assist demo` shows the terminal view",
                file=sys.stderr,
            )
            return 0
        from agent_assist.cli.gui_cmd import run_gui

        args.func = lambda a: run_gui(a, demo=False)
    try:
        log_path = _setup_logging(args.verbose)
    except OSError as exc:
        print(
            f"error: cannot write the log in the data folder: {exc}\n"
            "fix: make the folder writable, or point AGENT_ASSIST_HOME at one that is",
            file=sys.stderr,
        )
        return 2
    try:
        code: int = args.func(args)
        return code
    except UserError as err:
        print(err.render(), file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        log.exception("unexpected error")
        print(f"internal error: {type(exc).__name__}: {exc} (details: {log_path})", file=sys.stderr)
        return 70


if __name__ == "__main__":
    raise SystemExit(main())
