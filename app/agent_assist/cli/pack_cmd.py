"""``agent-assist pack …``: supervisor commands for knowledge packs.

Only ``validate`` exists so far (issue 3 adds build, install, search, eval).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    pack = sub.add_parser("pack", help="validate knowledge packs (build/install/search come next)")
    commands = pack.add_subparsers(dest="pack_command", metavar="SUBCOMMAND", required=True)
    p = commands.add_parser("validate", help="list every problem in a pack folder, with file and line")
    p.add_argument("path", type=Path, help="the pack folder (with pack.toml), or a .zip of it")
    p.set_defaults(func=_validate)


def _validate(args: argparse.Namespace) -> int:
    import tempfile

    from agent_assist.knowledge.archive import unpack_zip
    from agent_assist.knowledge.validate import validate_pack

    root: Path = args.path
    if root.suffix.lower() == ".zip" and root.is_file():
        with tempfile.TemporaryDirectory(prefix="agent-assist-pack-") as tmp:
            return _report(unpack_zip(root, Path(tmp)), validate_pack)
    return _report(root, validate_pack)


def _report(root: Path, validate_pack: Any) -> int:
    problems = validate_pack(root)
    for problem in problems:
        print(problem.render(root))
    if problems:
        print(f"{len(problems)} problem(s) in {root}")
        return 1
    print(f"{root}: valid")
    return 0
