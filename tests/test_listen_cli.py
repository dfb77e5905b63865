"""`agent-assist listen` end to end: real PulseAudio, real PortAudio, real model, Ctrl-C.

A private PulseAudio server stands in for the desk: the softphone's output is a
null sink whose monitor is the customer channel, the headset another. Speech is
played into both; the CLI transcribes them live; SIGINT (Ctrl-C) ends the call,
which must finish cleanly and be stored as completed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_assist.audio.pulse import PulseServer
from agent_assist.domain import Speaker
from tests.test_audio_device import NEEDS_PULSE, play, pulse, speech  # noqa: F401  (fixtures)


def _listen(server: PulseServer, home: Path) -> subprocess.Popen[str]:
    """`agent-assist listen` on the two null sinks' monitors; killed after 120 s at most."""
    env = {**os.environ, **server.env, "AGENT_ASSIST_HOME": str(home)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agent_assist",
            "listen",
            "--agent",
            "headset.monitor",
            "--customer",
            "softphone.monitor",
            "--format",
            "jsonl",
            "--no-partials",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    watchdog = threading.Timer(120.0, proc.kill)
    watchdog.daemon = True
    watchdog.start()
    return proc


def _events_until(lines: Iterator[str], done: object) -> list[dict[str, object]]:
    seen: list[dict[str, object]] = []
    for line in lines:
        seen.append(json.loads(line))
        if callable(done) and done(seen):
            break
    return seen


@NEEDS_PULSE
@pytest.mark.audio
@pytest.mark.model
@pytest.mark.slow
def test_listen_transcribes_both_channels_and_ctrl_c_ends_the_call(
    pulse: PulseServer,  # noqa: F811
    speech: dict[Speaker, tuple[Path, tuple[float, float]]],  # noqa: F811
    tiny_home: Path,
) -> None:
    home = tiny_home
    proc = _listen(pulse, home)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        first = json.loads(proc.stdout.readline())
        assert first["type"] == "call_started"
        play(pulse, speech[Speaker.CUSTOMER][0], "softphone")
        play(pulse, speech[Speaker.AGENT][0], "headset")
        finals: list[dict[str, object]] = []
        for line in proc.stdout:
            event = json.loads(line)
            if event["type"] == "final_utterance":
                finals.append(event)
            if {f["speaker"] for f in finals} == {"agent", "customer"}:
                break
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    events = [json.loads(x) for x in rest.splitlines()]
    assert events[-1]["type"] == "call_ended" and events[-1]["reason"] == "stopped by user"
    said = {
        s: " ".join(str(f["text"]).lower() for f in finals if f["speaker"] == s)
        for s in ("agent", "customer")
    }
    assert "internet" in said["customer"], said
    assert "password" in said["agent"], said

    from agent_assist.store import Database

    with Database.open(home / "agent-assist.sqlite3") as db:
        call = db.get_call(str(first["call_id"]))
        assert call is not None and call.status == "completed"
        assert len(db.utterances(call.id)) >= 2


@NEEDS_PULSE
@pytest.mark.audio
@pytest.mark.model
@pytest.mark.slow
def test_softphone_sink_vanishing_mid_call_keeps_what_was_heard(
    pulse: PulseServer,  # noqa: F811
    speech: dict[Speaker, tuple[Path, tuple[float, float]]],  # noqa: F811
    tiny_home: Path,
) -> None:
    home = tiny_home
    proc = _listen(pulse, home)
    assert proc.stdout is not None
    try:
        first = _events_until(proc.stdout, lambda seen: True)[0]
        play(pulse, speech[Speaker.CUSTOMER][0], "softphone")
        before = _events_until(
            proc.stdout, lambda seen: any(e["type"] == "final_utterance" for e in seen)
        )
        pulse.unload_module(pulse.module_of("softphone"))  # the softphone's output disappears
        lost = _events_until(proc.stdout, lambda seen: any(e.get("state") == "lost" for e in seen))
        pulse.load_null_sink("softphone")
        back = _events_until(proc.stdout, lambda seen: any(e.get("state") == "reopened" for e in seen))
        play(pulse, speech[Speaker.CUSTOMER][0], "softphone")
        after = _events_until(
            proc.stdout, lambda seen: any(e["type"] == "final_utterance" for e in seen)
        )
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert any(e.get("speaker") == "customer" for e in lost + back)
    finals_before = [e for e in before if e["type"] == "final_utterance"]
    finals_after = [e for e in after if e["type"] == "final_utterance"]
    assert "internet" in str(finals_before[0]["text"]).lower()
    assert "internet" in str(finals_after[0]["text"]).lower()

    from agent_assist.store import Database

    with Database.open(home / "agent-assist.sqlite3") as db:
        stored = {u.utterance_id for u in db.utterances(str(first["call_id"]))}
    # what was final before the loss is still there, and so is what came after
    assert {str(f["utterance_id"]) for f in finals_before + finals_after} <= stored


@NEEDS_PULSE
@pytest.mark.audio
def test_devices_lists_inputs_and_loopback_outputs(pulse: PulseServer, tmp_path: Path) -> None:  # noqa: F811
    env = {**os.environ, **pulse.env, "AGENT_ASSIST_HOME": str(tmp_path / "home")}
    out = subprocess.run(
        [sys.executable, "-m", "agent_assist", "devices"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    inputs, _, outputs = out.stdout.partition("outputs whose sound can be captured")
    assert "softphone.monitor" in inputs and "headset.monitor" in inputs
    pytest.importorskip("soundcard")
    assert "softphone" in outputs
