"""Settings, IT policy and ``agent-assist config``: no Qt."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from agent_assist.cli.main import main
from agent_assist.config import (
    SCHEMA,
    SECTIONS,
    ConfigError,
    Policy,
    PolicyError,
    SettingLocked,
    Settings,
    Source,
    WindowState,
    get_setting,
    load_policy,
    settings_path,
    system_policy_path,
)
from agent_assist.config.tomlfile import line_of
from agent_assist.paths import config_dir

POLICY = """\
reason = "Managed by Northwind IT (CHG-1234)"

[locked]
"privacy.store_audio" = false
llm.server_url = "http://llm.northwind.local:8080"

[reasons]
"privacy.store_audio" = "Recording needs written consent (PRV-7)"

[defaults]
"speech.model" = "base"
"privacy.retention_days" = 90
"""


@pytest.fixture
def policy_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY)
    monkeypatch.setenv("AGENT_ASSIST_POLICY", str(path))
    return path


@pytest.fixture(autouse=True)
def _no_system_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A policy on this machine must not leak into tests (each test may set its own)."""
    monkeypatch.setenv("AGENT_ASSIST_POLICY", str(tmp_path / "no-policy.toml"))
    monkeypatch.delenv("AGENT_ASSIST_CONFIG_DIR", raising=False)


def test_schema_is_consistent() -> None:
    keys = [s.key for s in SCHEMA]
    assert len(keys) == len(set(keys))
    for s in SCHEMA:
        assert s.section in SECTIONS, s.key
        assert s.check(s.default) == s.default, s.key
        assert s.parse(s.format(s.default)) == s.default, s.key
        assert s.label and s.description
    assert get_setting("nope") is None


def test_parse_and_check_values() -> None:
    store = get_setting("privacy.store_audio")
    days = get_setting("privacy.retention_days")
    theme = get_setting("appearance.theme")
    url = get_setting("llm.server_url")
    assert store and days and theme and url
    assert store.parse("on") is True and store.parse("No") is False
    assert days.parse("14") == 14
    assert days.check(14.0) == 14
    assert theme.parse("dark") == "dark"
    for setting, bad in [
        (store, "maybe"),
        (days, "-1"),
        (days, "ten"),
        (theme, "pink"),
        (url, "ftp://x"),
    ]:
        with pytest.raises(ValueError):
            setting.parse(bad)
    with pytest.raises(ValueError):
        store.check(1)  # no ints for bools
    with pytest.raises(ValueError):
        days.check(True)  # no bools for ints


def test_config_dir_follows_the_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert config_dir() == Path(os.environ["AGENT_ASSIST_HOME"]) / "config"
    monkeypatch.setenv("AGENT_ASSIST_CONFIG_DIR", str(tmp_path / "cfg"))
    assert settings_path() == tmp_path / "cfg" / "settings.toml"


def test_defaults_without_a_file() -> None:
    settings = Settings.load()
    assert not settings.path.exists()
    for s in SCHEMA:
        assert settings.get(s.key) == s.default
        assert settings.source(s.key) is Source.DEFAULT
    assert settings.warnings == []
    with pytest.raises(ConfigError, match="unknown setting"):
        settings.get("audio.nope")


def test_user_values_are_saved_and_read_back() -> None:
    settings = Settings.load()
    settings.set("privacy.retention_days", 7)
    settings.set("appearance.theme", "dark")
    data = tomllib.loads(settings.path.read_text())
    assert data["privacy"]["retention_days"] == 7
    again = Settings.load()
    assert again.get("privacy.retention_days") == 7
    assert again.source("appearance.theme") is Source.USER
    again.reset("appearance.theme")
    assert Settings.load().get("appearance.theme") == "system"


def test_bad_values_are_refused_with_the_fix() -> None:
    settings = Settings.load()
    with pytest.raises(ConfigError) as err:
        settings.set("privacy.retention_days", 99999)
    assert "privacy.retention_days" in err.value.message
    assert err.value.fix and "0 to 3650" in err.value.fix
    assert settings.get("privacy.retention_days") == 30


def test_policy_locks_win_with_their_reason(policy_file: Path) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True)
    path.write_text("[privacy]\nstore_audio = true\nretention_days = 5\n")
    settings = Settings.load()
    assert settings.get("privacy.store_audio") is False  # the user's true loses
    assert settings.source("privacy.store_audio") is Source.LOCKED
    assert settings.lock_reason("privacy.store_audio") == "Recording needs written consent (PRV-7)"
    assert settings.lock_reason("llm.server_url") == "Managed by Northwind IT (CHG-1234)"  # global
    assert settings.lock_reason("speech.model") is None
    # site defaults: apply until the user chooses
    assert settings.get("speech.model") == "base"
    assert settings.source("speech.model") is Source.SITE
    assert settings.get("privacy.retention_days") == 5  # the user's value beats the site default
    seen: list[tuple[str, Any]] = []
    settings.subscribe(lambda k, v: seen.append((k, v)))
    with pytest.raises(SettingLocked) as err:
        settings.set("privacy.store_audio", True)
    assert "PRV-7" in err.value.message and str(policy_file) in (err.value.fix or "")
    assert seen == []
    settings.reset("privacy.retention_days")
    assert settings.get("privacy.retention_days") == 90
    assert seen == [("privacy.retention_days", 90)]


def test_change_callbacks_fire_once_per_change() -> None:
    settings = Settings.load()
    seen: list[tuple[str, Any]] = []
    unsubscribe = settings.subscribe(lambda k, v: seen.append((k, v)))
    settings.subscribe(lambda k, v: 1 / 0)  # a broken subscriber does not stop the others
    settings.set("window.compact", True, save=False)
    settings.set("window.compact", True, save=False)  # same value: no callback
    assert settings.dirty and not settings.path.exists()
    settings.save()
    assert not settings.dirty
    unsubscribe()
    settings.set("window.compact", False)
    assert seen == [("window.compact", True)]


def test_bad_values_in_the_file_name_file_line_and_fix() -> None:
    path = settings_path()
    path.parent.mkdir(parents=True)
    path.write_text('[privacy]\nstore_audio = "yes"\n\n[appearance]\ntheme = "pink"\n')
    settings = Settings.load()
    assert settings.get("privacy.store_audio") is False
    assert settings.get("appearance.theme") == "system"
    text = "\n".join(settings.warnings)
    assert f"{path}, line 2: privacy.store_audio" in text
    assert f"{path}, line 5: appearance.theme" in text
    assert "one of system, light, dark" in text
    assert "config set" in text


def test_a_damaged_file_is_moved_aside_and_defaults_used() -> None:
    path = settings_path()
    path.parent.mkdir(parents=True)
    path.write_text("[privacy\nstore_audio = tru\n")
    settings = Settings.load()
    assert settings.get("privacy.store_audio") is False
    assert not path.exists()
    moved = list(path.parent.glob("settings.toml.bad-*"))
    assert len(moved) == 1 and moved[0].read_text().startswith("[privacy")
    assert "damaged" in settings.warnings[0] and str(moved[0]) in settings.warnings[0]
    settings.set("window.compact", True)  # and the app can write a fresh file
    assert Settings.load().get("window.compact") is True


def test_not_utf8_is_damaged_too() -> None:
    path = settings_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"[privacy]\nstore_audio = \xff\n")
    settings = Settings.load()
    assert "not UTF-8" in settings.warnings[0]


def test_unknown_keys_are_kept(tmp_path: Path) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True)
    path.write_text('[future]\nfeature = [1, 2]\n\n[privacy]\nlater_thing = "x"\n')
    settings = Settings.load()
    assert settings.unknown == {"future.feature": [1, 2], "privacy.later_thing": "x"}
    assert any("unknown setting kept" in w and "line 2" in w for w in settings.warnings)
    settings.set("privacy.retention_days", 3)
    data = tomllib.loads(path.read_text())
    assert data["future"]["feature"] == [1, 2]
    assert data["privacy"] == {"later_thing": "x", "retention_days": 3}


def test_a_crash_mid_write_leaves_the_old_file(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.load()
    settings.set("privacy.retention_days", 11)
    before = settings.path.read_bytes()

    def crash(*_args: Any, **_kwargs: Any) -> None:
        raise OSError("simulated power cut before the rename")

    with monkeypatch.context() as m, pytest.raises(OSError, match="power cut"):
        m.setattr(os, "replace", crash)
        settings.set("privacy.retention_days", 12)
    assert settings.get("privacy.retention_days") == 12 and settings.dirty  # applied, not yet saved
    assert settings.path.read_bytes() == before
    assert [p.name for p in settings.path.parent.iterdir()] == ["settings.toml"]  # no temp left
    assert Settings.load().get("privacy.retention_days") == 11
    # a temp file left by a real crash (killed after writing it) is ignored
    (settings.path.parent / ".settings.toml.abc.tmp").write_text("privacy.retention_days = 99")
    assert Settings.load().get("privacy.retention_days") == 11


def test_reload_notifies_what_changed_on_disk() -> None:
    settings = Settings.load()
    other = Settings.load()
    seen: list[tuple[str, Any]] = []
    settings.subscribe(lambda k, v: seen.append((k, v)))
    other.set("appearance.theme", "dark")
    settings.reload()
    assert seen == [("appearance.theme", "dark")]


# ---- policy -------------------------------------------------------------------------------------


def test_policy_locations() -> None:
    assert system_policy_path("linux") == Path("/etc/agent-assist/policy.toml")
    assert system_policy_path("darwin") == Path("/Library/Application Support/AgentAssist/policy.toml")
    assert system_policy_path("win32").parts[-2:] == ("AgentAssist", "policy.toml")


def test_no_policy_file_means_no_locks(tmp_path: Path) -> None:
    policy = load_policy(tmp_path / "absent.toml")
    assert policy == Policy()
    assert not policy.is_locked("privacy.store_audio")


def test_an_unparsable_policy_refuses_to_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("[locked\nprivacy.store_audio = false\n")
    monkeypatch.setenv("AGENT_ASSIST_POLICY", str(path))
    with pytest.raises(PolicyError) as err:
        Settings.load()
    assert str(path) in err.value.message and "line 1" in err.value.message
    assert err.value.fix and "check-policy" in err.value.fix


def test_a_bad_locked_value_refuses_to_start_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('reason = "x"\n[locked]\n"privacy.retention_days" = "thirty"\n')
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    assert f"{path}, line 3: [locked] privacy.retention_days" in err.value.message
    assert err.value.fix == "use a whole number from 0 to 3650"


def test_unknown_policy_keys_only_warn(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[locked]\n"future.thing" = 1\n"window.compact" = true\n[extra]\na = 1\n')
    policy = load_policy(path)
    assert policy.locked == {"window.compact": True}
    assert any("future.thing" in w and "line 2" in w for w in policy.warnings)
    assert any("'extra'" in w for w in policy.warnings)
    assert policy.reason_for("window.compact") == "set by your IT administrator"


# ---- window state -------------------------------------------------------------------------------


def test_window_state_round_trip_and_damage() -> None:
    state = WindowState()
    state.set("main.geometry", "AdnQywADAAAAAAAA")
    state.set("main.page", 2)
    state.save()
    again = WindowState()
    assert again.get("main.geometry") == "AdnQywADAAAAAAAA" and again.get("main.page") == 2
    again.path.write_text("not = [toml")
    assert WindowState().get("main.page", 0) == 0


def test_line_of_finds_dotted_quoted_and_sectioned_keys() -> None:
    text = '[locked]\n"a.b" = 1\nc.d = 2\n[e]\nf = 3\n'
    assert line_of(text, "a.b", "locked") == 2
    assert line_of(text, "c.d", "locked") == 3
    assert line_of(text, "e.f") == 5
    assert line_of(text, "x.y") is None


# ---- CLI ----------------------------------------------------------------------------------------


def test_cli_list_get_set_path(policy_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "set", "appearance.theme", "dark"]) == 0
    assert "appearance.theme = dark" in capsys.readouterr().out
    assert main(["config", "get", "appearance.theme"]) == 0
    assert capsys.readouterr().out == "dark\n"
    assert main(["config", "list"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line.strip()}
    assert lines["appearance.theme"].endswith("user")
    assert lines["speech.model"].endswith("site default")
    assert lines["window.compact"].endswith("default")
    assert "locked by policy (Recording needs written consent (PRV-7))" in lines["privacy.store_audio"]
    assert main(["config", "path"]) == 0
    out = capsys.readouterr().out
    assert str(settings_path()) in out and str(policy_file) in out


def test_cli_set_on_a_locked_key_fails_with_the_reason(
    policy_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "set", "privacy.store_audio", "true"]) == SettingLocked.exit_code
    err = capsys.readouterr().err
    assert "locked by your IT policy: Recording needs written consent (PRV-7)" in err
    assert f"fix: ask your IT administrator to change it in {policy_file}" in err
    assert main(["config", "set", "privacy.retention_days", "lots"]) == ConfigError.exit_code
    assert "fix: use a whole number" in capsys.readouterr().err
    assert main(["config", "get", "no.such"]) == ConfigError.exit_code


def test_cli_check_policy(policy_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check-policy"]) == 0
    assert "OK (2 locked, 2 site defaults)" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text("[locked]\nprivacy.store_audio = nope\n")
    assert main(["config", "check-policy", str(bad)]) == PolicyError.exit_code
    assert str(bad) in capsys.readouterr().err


def test_the_example_policy_is_valid_and_all_key_forms_work(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "packaging" / "policy.example.toml"
    policy = load_policy(example)
    assert policy.warnings == ()
    assert policy.locked["supervisor.enabled"] is False
    assert "PRV-7" in (policy.reason_for("privacy.store_audio") or "")
    forms = tmp_path / "forms.toml"
    forms.write_text(
        '[locked]\n"window.compact" = true\nwindow.always_on_top = true\n'
        "[locked.privacy]\nstore_audio = false\n"
    )
    assert load_policy(forms).locked == {
        "window.compact": True,
        "window.always_on_top": True,
        "privacy.store_audio": False,
    }


def test_terminal_calls_read_the_privacy_settings_under_the_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_assist.cli.call_run import privacy_settings
    from agent_assist.config.store import settings_path

    assert privacy_settings() == (False, 30)  # the defaults: no audio, a month of calls
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text("[privacy]\nstore_audio = true\nretention_days = 7\n")
    assert privacy_settings() == (True, 7)
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    monkeypatch.setenv("AGENT_ASSIST_POLICY", str(policy))
    assert privacy_settings() == (False, 7)  # IT's lock wins over the user's choice
