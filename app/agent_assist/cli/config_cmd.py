"""``agent-assist config list|get|set|reset|path|check-policy``: settings from the command line.

Why: IT and support check what a desktop runs with (and why) without opening
the app: every value is shown with its source (default, site default, user,
or locked by policy with the reason). ``set`` on a locked key fails with the
reason and a non-zero exit code (``SettingLocked``), so scripts notice.

Thread rules: the CLI's main thread; each command reads the files once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agent_assist.config import SCHEMA, Settings, Source, get_setting, load_policy, policy_path
from agent_assist.config.errors import ConfigError

__all__ = ["add_parser"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``config`` and its subcommands; each sets ``func`` returning an exit code."""
    config = subparsers.add_parser(
        "config",
        help="show and change settings (and see what the IT policy locks)",
        description="Settings live in settings.toml in your config folder (`config path`); "
        "an IT policy file can lock any of them.",
    )
    config.set_defaults(func=_list)
    sub = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND")

    p = sub.add_parser("list", help="every setting: value and where it comes from")
    p.set_defaults(func=_list)

    p = sub.add_parser("get", help="one setting's value (and its source on stderr with -v)")
    p.add_argument("key", metavar="KEY")
    p.set_defaults(func=_get)

    p = sub.add_parser("set", help="change a setting (refused when the IT policy locks it)")
    p.add_argument("key", metavar="KEY")
    p.add_argument("value", metavar="VALUE", help="true/false, a number, or text ('' for empty)")
    p.set_defaults(func=_set)

    p = sub.add_parser("reset", help="forget your value of a setting (back to the default)")
    p.add_argument("key", metavar="KEY")
    p.set_defaults(func=_reset)

    p = sub.add_parser("path", help="where the settings file and the IT policy file are")
    p.set_defaults(func=_path)

    p = sub.add_parser("check-policy", help="check an IT policy file before deploying it")
    p.add_argument("file", nargs="?", type=Path, metavar="FILE", help="default: the policy in force")
    p.set_defaults(func=_check_policy)


def _describe_source(settings: Settings, key: str) -> str:
    source = settings.source(key)
    if source is Source.LOCKED:
        return f"locked by policy ({settings.lock_reason(key)})"
    return str(source)


def _show_warnings(settings: Settings) -> None:
    for line in settings.warnings:
        print(f"warning: {line}")


def _list(args: argparse.Namespace) -> int:
    settings = Settings.load()
    rows = [("KEY", "VALUE", "SOURCE")]
    for s in SCHEMA:
        value = s.format(settings.get(s.key))
        rows.append((s.key, value if value else '""', _describe_source(settings, s.key)))
    width = [max(len(r[i]) for r in rows) for i in range(2)]
    for key, value, source in rows:
        print(f"{key.ljust(width[0])}  {value.ljust(width[1])}  {source}")
    for key, value in settings.unknown.items():
        print(f"{key}  {value!r}  unknown (kept in the file)")
    _show_warnings(settings)
    return 0


def _get(args: argparse.Namespace) -> int:
    settings = Settings.load()
    setting = settings.setting(args.key)
    print(setting.format(settings.get(args.key)))
    if args.verbose:
        print(f"source: {_describe_source(settings, args.key)}")
    return 0


def _set(args: argparse.Namespace) -> int:
    settings = Settings.load()
    setting = settings.setting(args.key)
    try:
        value = setting.parse(args.value)
    except ValueError as exc:
        raise ConfigError(f"{args.key}: {exc}", f"use {setting.describe_allowed()}") from exc
    settings.set(args.key, value)  # SettingLocked / ConfigError render as error + fix
    print(f"{args.key} = {setting.format(settings.get(args.key))}  (saved in {settings.path})")
    return 0


def _reset(args: argparse.Namespace) -> int:
    settings = Settings.load()
    settings.reset(args.key)
    setting = settings.setting(args.key)
    print(f"{args.key} = {setting.format(settings.get(args.key))}  ({settings.source(args.key)})")
    return 0


def _path(args: argparse.Namespace) -> int:
    settings = Settings.load()
    policy = policy_path()
    print(f"settings: {settings.path}{'' if settings.path.exists() else '  (not written yet)'}")
    print(f"policy:   {policy}{'' if policy.exists() else '  (none)'}")
    return 0


def _check_policy(args: argparse.Namespace) -> int:
    path: Path = args.file or policy_path()
    if not path.exists():
        raise ConfigError(
            f"no policy file at {path}", "give the file to check: config check-policy FILE"
        )
    policy = load_policy(path)  # PolicyError: rendered with file, line and fix
    for line in policy.warnings:
        print(f"warning: {line}")
    for key, value in sorted(policy.locked.items()):
        print(f"locked   {key} = {_format(key, value)}  ({policy.reason_for(key)})")
    for key, value in sorted(policy.defaults.items()):
        print(f"default  {key} = {_format(key, value)}")
    print(f"{path}: OK ({len(policy.locked)} locked, {len(policy.defaults)} site defaults)")
    return 0


def _format(key: str, value: object) -> str:
    setting = get_setting(key)
    return setting.format(value) if setting else repr(value)
