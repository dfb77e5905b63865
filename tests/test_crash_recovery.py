"""SIGKILL in the middle of a real call, then restart: nothing committed is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
@pytest.mark.model
def test_kill_9_mid_call_keeps_every_final(tiny_home: Path) -> None:
    home = tiny_home
    env = {**os.environ, "AGENT_ASSIST_HOME": str(home)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agent_assist",
            "transcribe",
            str(ROOT / "assets" / "sample_call.flac"),
            "--format",
            "jsonl",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    printed: list[dict[str, object]] = []
    for line in proc.stdout:
        event = json.loads(line)
        if event["type"] == "final_utterance":
            printed.append(event)
            if len(printed) == 5:
                break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL

    from agent_assist.store import Database

    db = Database.open(home / "agent-assist.sqlite3")
    call_id = str(printed[0]["call_id"])
    assert call_id in db.interrupted
    call = db.get_call(call_id)
    assert call is not None and call.status == "interrupted"
    stored = {u.utterance_id: u.text for u in db.utterances(call_id)}
    for event in printed:
        assert stored.get(str(event["utterance_id"])) == event["text"]
    assert db.quick_check() == ["ok"]
    db.close()
    # A second open finds nothing new to sweep and keeps the call as it was.
    with Database.open(home / "agent-assist.sqlite3") as again:
        assert again.interrupted == ()
        assert len(again.utterances(call_id)) == len(stored)
