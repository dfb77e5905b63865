"""Tests for the storage room: migrations, recorder, search, errors, kill safety."""

from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_assist.domain import (
    CallEnded,
    CallStarted,
    DeviceState,
    DeviceStatus,
    Event,
    FinalUtterance,
    PartialText,
    PipelineError,
    Silence,
    Speaker,
    Word,
)
from agent_assist.errors import UserError
from agent_assist.events import EventBus
from agent_assist.store import MIGRATIONS, CallRecorder, Database
from agent_assist.store.database import translate_error

CHILD = Path(__file__).with_name("store_crash_child.py")
_spec = importlib.util.spec_from_file_location("store_crash_child", CHILD)
assert _spec is not None and _spec.loader is not None
crash_child = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(crash_child)


def utterance(call_id: str, n: int, text: str, speaker: Speaker = Speaker.CUSTOMER) -> FinalUtterance:
    words = tuple(Word(w, n + i * 0.2, n + i * 0.2 + 0.15, 0.9) for i, w in enumerate(text.split()))
    return FinalUtterance(call_id, f"{call_id}-u{n}", speaker, float(n), n + 0.9, text, 0.75, words)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "calls.sqlite3")
    yield database
    database.close()


def test_migrations_apply_once_and_reopen_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite3"
    with Database.open(path) as first:
        names = [fn.__name__ for fn in MIGRATIONS]
        assert first.applied_migrations == tuple(names)
        conn = first.connection()
        assert [r[0] for r in conn.execute("SELECT name FROM _migrations").fetchall()] == names
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
        schema = conn.execute("SELECT group_concat(sql) FROM sqlite_master").fetchone()[0]
    with Database.open(path) as second:
        assert second.applied_migrations == ()
        conn = second.connection()
        assert conn.execute("SELECT count(*) FROM _migrations").fetchone()[0] == len(names)
        assert conn.execute("SELECT group_concat(sql) FROM sqlite_master").fetchone()[0] == schema


def test_new_migration_applies_on_reopen_and_failure_rolls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "calls.sqlite3"
    Database.open(path).close()

    def m900_broken(conn: object) -> None:
        conn.execute("CREATE TABLE half_done (x)")  # type: ignore[attr-defined]
        raise RuntimeError("boom")

    monkeypatch.setattr("agent_assist.store.migrations.MIGRATIONS", [*MIGRATIONS, m900_broken])
    with pytest.raises(RuntimeError, match="boom"):
        Database.open(path)
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT name FROM sqlite_master WHERE name='half_done'").fetchall() == []
        assert raw.execute("SELECT count(*) FROM _migrations").fetchone()[0] == len(MIGRATIONS)
    raw.close()

    def m901_notes(conn: object) -> None:
        conn.execute("CREATE TABLE notes (x)")  # type: ignore[attr-defined]

    monkeypatch.setattr("agent_assist.store.migrations.MIGRATIONS", [*MIGRATIONS, m901_notes])
    with Database.open(path) as again:
        assert again.applied_migrations == ("m901_notes",)


def test_recorder_writes_calls_utterances_and_events(db: Database) -> None:
    bus = EventBus()
    bus.subscribe(CallRecorder(db))
    events: list[Event] = [
        CallStarted("c1", "mic+loopback", (Speaker.AGENT, Speaker.CUSTOMER)),
        DeviceStatus("c1", Speaker.AGENT, "Headset Mic", DeviceState.OPEN),
        PartialText("c1", "c1-u1", Speaker.CUSTOMER, 1.0, 1.5, "I would"),
        utterance("c1", 1, "I would like a refund please"),
        utterance("c1", 0, "Thanks for calling how can I help", Speaker.AGENT),
        Silence("c1", Speaker.CUSTOMER, 2.0, 6.5),
        PipelineError("c1", "stt", "decoder hiccup"),
        CallEnded("c1", 42.5),
    ]
    for event in events:
        bus.publish(event)

    call = db.get_call("c1")
    assert call is not None
    assert call.status == "completed"
    assert call.source == "mic+loopback"
    assert call.speakers == (Speaker.AGENT, Speaker.CUSTOMER)
    assert call.duration == 42.5
    assert call.ended_at is not None and call.ended_at >= call.started_at
    assert call.utterance_count == 2
    assert db.list_calls() == [call]
    assert db.get_call("nope") is None

    stored = db.utterances("c1")
    assert [u.utterance_id for u in stored] == ["c1-u0", "c1-u1"]  # ordered by start
    assert stored[1] == events[3]  # words, confidence, speaker round-trip
    rows = db.connection().execute("SELECT type, payload FROM events ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["device_status", "silence", "pipeline_error"]
    assert json.loads(rows[0][1])["state"] == "open"
    assert json.loads(rows[1][1])["duration"] == 6.5
    assert json.loads(rows[2][1]) == {
        "stage": "stt",
        "message": "decoder hiccup",
        "fatal": False,
        "emitted_at": 0.0,
    }


def test_recorder_stores_transcription_latency_of_real_time_finals(db: Database) -> None:
    recorder = CallRecorder(db)
    recorder(CallStarted("c1", "mic", (Speaker.AGENT,), emitted_at=100.0))
    live = FinalUtterance("c1", "c1-u1", Speaker.AGENT, 1.0, 2.0, "hello there", 0.9, emitted_at=102.45)
    fast = FinalUtterance("c1", "c1-u2", Speaker.AGENT, 3.0, 9.0, "replayed fast", 0.9, emitted_at=100.2)
    recorder(live)
    recorder(fast)
    rows = dict(db.connection().execute("SELECT id, latency_s FROM utterances").fetchall())
    assert rows["c1-u1"] == pytest.approx(0.45)
    assert rows["c1-u2"] is None  # a file replayed faster than real time: not a latency


def test_recorder_on_a_worker_thread_and_late_subscription(db: Database) -> None:
    recorder = CallRecorder(db)

    def worker() -> None:  # no CallStarted seen: a placeholder call row is made
        recorder(utterance("late", 3, "my order never arrived"))
        recorder(Silence("late", Speaker.AGENT, 4.0, 3.0))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert [u.text for u in db.utterances("late")] == ["my order never arrived"]
    call = db.get_call("late")
    assert call is not None and call.status == "active"


def test_fts_search_finds_an_utterance(db: Database) -> None:
    recorder = CallRecorder(db)
    recorder(CallStarted("c2", "file", (Speaker.MIXED,)))
    recorder(utterance("c2", 0, "I was charged twice for the subscription", Speaker.MIXED))
    recorder(utterance("c2", 1, "I can refund the duplicate charge today", Speaker.MIXED))
    hits = db.search("refunds")  # porter stemming
    assert [h.utterance.utterance_id for h in hits] == ["c2-u1"]
    assert "[refund]" in hits[0].snippet
    assert [h.utterance.utterance_id for h in db.search("charged subscription")] == ["c2-u0"]
    assert db.search("can't OR \"") == []  # FTS syntax is quoted, never an error
    assert db.search("   ") == []


def test_open_marks_active_calls_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite3"
    with Database.open(path) as first:
        recorder = CallRecorder(first)
        recorder(CallStarted("dead", "mic", (Speaker.AGENT,)))
        recorder(utterance("dead", 5, "hello there", Speaker.AGENT))
        recorder(CallStarted("done", "mic", (Speaker.AGENT,)))
        recorder(CallEnded("done", 3.0))
    with Database.open(path) as second:
        assert second.interrupted == ("dead",)
        dead = second.get_call("dead")
        assert dead is not None and dead.status == "interrupted" and dead.duration == 5.9
        done = second.get_call("done")
        assert done is not None and done.status == "completed"
    with Database.open(path) as third:
        assert third.interrupted == ()


@pytest.mark.parametrize("damage", ["garbage", "page_one"])
def test_corrupt_file_is_a_user_error(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "calls.sqlite3"
    if damage == "garbage":
        path.write_bytes(b"this is not sqlite at all\n" * 400)
    else:
        with Database.open(path) as good:
            CallRecorder(good)(CallStarted("c", "mic", (Speaker.AGENT,)))
        data = bytearray(path.read_bytes())
        data[100:4096] = bytes(range(256)) * 15 + bytes(156)
        path.write_bytes(data)
    with pytest.raises(UserError) as info:
        Database.open(path)
    assert str(path) in info.value.message
    assert "damaged" in info.value.message
    assert info.value.fix is not None and "move it aside" in info.value.fix


def test_unwritable_locations_are_user_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="cannot create"):
        Database.open(blocker / "sub" / "calls.sqlite3")
    # A real SQLITE_READONLY error (root ignores file modes, so make one via mode=ro).
    path = tmp_path / "calls.sqlite3"
    Database.open(path).close()
    raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as info:
        raw.execute("DELETE FROM calls")
    raw.close()
    error = translate_error(path, info.value)
    assert error is not None and "read-only" in error.message and str(path) in error.message


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores modes")
def test_read_only_folder_is_a_user_error(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(UserError, match=r"cannot (open or )?create"):
            Database.open(folder / "calls.sqlite3")
    finally:
        folder.chmod(0o755)


def test_per_utterance_write_is_fast(db: Database) -> None:
    recorder = CallRecorder(db)
    recorder(CallStarted("fast", "mic", (Speaker.AGENT,)))
    times = []
    for n in range(200):
        event = utterance("fast", n, "could you confirm the last four digits of the card")
        t0 = time.perf_counter()
        recorder(event)
        times.append(time.perf_counter() - t0)
    times.sort()
    assert times[len(times) // 2] < 0.005, f"median write {times[len(times) // 2] * 1e3:.2f} ms"


def test_sigkill_mid_call_keeps_every_reported_utterance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wanted = 150
    monkeypatch.setenv("AGENT_ASSIST_HOME", str(tmp_path))
    env = {**os.environ, "AGENT_ASSIST_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, str(CHILD)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(20.0, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None and proc.stderr is not None
        printed: list[str] = []
        while len(printed) < wanted:
            line = proc.stdout.readline()
            assert line, f"child ended early: {proc.stderr.read()}"
            printed.append(line.strip())
        with Database.open() as peek:  # another process, while the child still records
            assert peek.interrupted == ()
        proc.kill()  # SIGKILL on POSIX
        printed += [
            line.strip() for line in proc.stdout.read().splitlines(keepends=True) if line.endswith("\n")
        ]
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    call_id = crash_child.CALL_ID
    with Database.open() as db:
        assert db.path == tmp_path / "agent-assist.sqlite3"
        assert db.interrupted == (call_id,)
        call = db.get_call(call_id)
        assert call is not None and call.status == "interrupted"
        stored = {u.utterance_id: u.text for u in db.utterances(call_id)}
        assert len(printed) >= wanted
        for utterance_id in printed:
            assert stored.get(utterance_id) == crash_child.text_for(int(utterance_id[1:]))
        assert len(stored) - len(printed) in (0, 1)  # at most the one in flight
        assert db.connection().execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_a_call_still_recording_is_never_swept(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite3"
    with Database.open(path) as first:
        CallRecorder(first)(CallStarted("live", "mic", (Speaker.AGENT,)))
        with Database.open(path) as second:  # e.g. the history view opening its own
            assert second.interrupted == ()
            call = second.get_call("live")
            assert call is not None and call.status == "active"


def test_a_thread_s_connection_is_closed_when_the_thread_ends(db: Database) -> None:
    """Threads come and go in a long-running app: connections must not pile up."""
    recorder = CallRecorder(db)
    recorder(CallStarted("many", "file", (Speaker.CUSTOMER,)))
    assert db.open_connections == 1  # this thread's

    def worker(n: int) -> None:
        recorder(utterance("many", n, f"turn number {n}"))

    for n in range(60):
        thread = threading.Thread(target=worker, args=(n,))
        thread.start()
        thread.join()
        assert db.open_connections <= 2
    deadline = time.monotonic() + 2
    while db.open_connections > 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert db.open_connections == 1
    assert len(db.utterances("many")) == 60  # every thread's commit kept


def test_close_from_the_main_thread_closes_every_connection(tmp_path: Path) -> None:
    database = Database.open(tmp_path / "calls.sqlite3")
    opened: list[Any] = []
    after_close: list[str] = []
    ready, done = threading.Event(), threading.Event()

    def worker() -> None:
        opened.append(database.connection())
        ready.set()
        done.wait(5)
        try:
            database.connection()
        except RuntimeError as exc:  # "closed", not a dead handle
            after_close.append(str(exc))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    ready.wait(5)
    while len(opened) < 3:
        time.sleep(0.01)
    main = database.connection()
    assert database.open_connections == 4
    database.close()
    assert database.open_connections == 0
    for conn in [*opened, main]:
        with pytest.raises(sqlite3.ProgrammingError):
            conn.execute("SELECT 1")
    done.set()
    for thread in threads:
        thread.join()
    assert len(after_close) == 3 and all("closed" in m for m in after_close)
    with pytest.raises(RuntimeError, match="closed"):
        database.connection()
