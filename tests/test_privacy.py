"""The privacy settings enforced: call audio kept as a WAV (or never written), retention purges.

Fast throughout: calls are replayed from synthetic files at full speed with a
fake speech model (as ``test_session.py``'s fast tests), and retention gets
an injected "now" instead of waiting days.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from agent_assist.audio.file_source import FileSource
from agent_assist.domain import (
    AudioChunk,
    CallEnded,
    CallStarted,
    CallSummaryReady,
    FinalUtterance,
    Silence,
    Speaker,
    SuggestionReady,
)
from agent_assist.events import EventBus
from agent_assist.session import AssistEngine, EngineOptions
from agent_assist.session.privacy import RetentionTimer
from agent_assist.store import CallAudioWriter, CallRecorder, Database, purge_older_than, repair_wav
from agent_assist.store.audio import Interleaver, audio_dir, repair_interrupted
from agent_assist.store.retention import call_tables
from agent_assist.stt.whisper import Transcript

SR = 16000


class NullDecoder:
    """A speech model that hears nothing (the audio path is what these tests check)."""

    def transcribe(self, audio: Any, options: Any, prefix: Any = (), previous: Any = ()) -> Transcript:
        return Transcript("", 0.0, 1.0)


def _tones(path: Path, seconds: float, channels: int) -> Path:
    t = np.arange(int(SR * seconds)) / SR
    waves = [0.3 * np.sin(2 * np.pi * f * t) for f in (440, 660)[:channels]]
    sf.write(path, np.stack(waves, axis=1).astype(np.float32), SR)
    return path


def _home() -> Path:
    return Path(os.environ["AGENT_ASSIST_HOME"])


def _run_call(tmp_path: Path, options: EngineOptions, channels: int = 2, seconds: float = 3.0,
              mute: Speaker | None = None) -> str:  # fmt: skip
    engine = AssistEngine(options, EventBus(), decoder_factory=lambda o: NullDecoder())
    try:
        engine.load()
        call_id = engine.start_call(FileSource(_tones(tmp_path / "call.wav", seconds, channels),
                                               realtime=False))  # fmt: skip
        if mute is not None:
            engine.set_muted(mute, True)
        assert engine.wait_call_done(30)
    finally:
        engine.close()
    return call_id


# ---- store_audio ------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [2, 1])
def test_store_audio_keeps_the_call_as_a_wav_the_history_points_at(
    tmp_path: Path, channels: int
) -> None:
    options = EngineOptions(use_llm=False, knowledge=False, partials=False, store_audio=True)
    call_id = _run_call(tmp_path, options, channels, seconds=3.0,
                        mute=Speaker.CUSTOMER if channels == 2 else None)  # fmt: skip
    with Database.open() as db:
        call = db.get_call(call_id)
    assert call is not None and call.status == "completed" and call.audio_path is not None
    path = Path(call.audio_path)
    assert path.is_file() and path.parent == audio_dir(_home() / "agent-assist.sqlite3")
    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.subtype) == (SR, channels, "PCM_16")
    assert info.frames == 3 * SR  # every sample of the call, no more
    assert call.duration == pytest.approx(info.frames / SR, abs=0.05)
    audio, _ = sf.read(str(path), dtype="float32", always_2d=True)
    left = audio[:, 0]
    assert 0.2 < np.sqrt(np.mean(left**2)) < 0.22  # the agent's 0.3 sine (RMS 0.212)
    if channels == 2:
        assert np.all(audio[:, 1] == 0.0)  # the muted customer is silence, as in the transcript


def test_audio_off_writes_nothing_under_the_data_folder(tmp_path: Path) -> None:
    call_id = _run_call(tmp_path, EngineOptions(use_llm=False, knowledge=False, partials=False))
    with Database.open() as db:
        call = db.get_call(call_id)
    assert call is not None and call.status == "completed" and call.audio_path is None
    audio_files = [p for p in _home().rglob("*") if p.suffix.lower() in {".wav", ".flac", ".raw"}]
    assert audio_files == [] and not (_home() / "audio").exists()


def test_audio_is_not_kept_without_the_call_history(tmp_path: Path) -> None:
    options = EngineOptions(use_llm=False, knowledge=False, partials=False, store=False,
                            store_audio=True)  # fmt: skip
    _run_call(tmp_path, options)
    assert not (_home() / "audio").exists()


def test_the_wav_is_valid_after_every_flush_and_a_cut_off_header_is_repaired(tmp_path: Path) -> None:
    path = tmp_path / "audio" / "c1.wav"
    writer = CallAudioWriter(path, (Speaker.AGENT, Speaker.CUSTOMER), block=True)
    try:
        for i in range(10):  # 0.1 s chunks, customer first: the channel order is fixed anyway
            t = i * 0.1
            writer.put(AudioChunk(Speaker.CUSTOMER, np.full(1600, -0.25, np.float32), t))
            writer.put(AudioChunk(Speaker.AGENT, np.full(1600, 0.5, np.float32), t))
            if i in (0, 4):
                assert writer.sync(5)
                info = sf.info(str(path))  # read while the writer still has it open
                assert (info.frames, info.channels) == ((i + 1) * 1600, 2)
        assert writer.sync(5)
        audio, _ = sf.read(str(path), dtype="float32")
        assert audio.shape == (16000, 2)
        assert np.allclose(audio[:, 0], 0.5, atol=1e-4) and np.allclose(audio[:, 1], -0.25, atol=1e-4)
    finally:
        writer.close()
    # A process killed between appending frames and patching the sizes: the header under-counts.
    with open(path, "r+b") as f:
        f.seek(0, 2)
        f.write(b"\x01\x00\x02\x00" * 800)  # 800 more stereo frames
        f.write(b"\x01\x00")  # and half a frame
    assert sf.info(str(path)).frames == 16000
    assert repair_wav(path)
    assert sf.info(str(path)).frames == 16800
    assert not repair_wav(path)  # already right


def test_interleaver_places_chunks_by_call_time() -> None:
    mix = Interleaver((Speaker.CUSTOMER, Speaker.AGENT), max_skew_s=1.0)
    assert mix.speakers == (Speaker.AGENT, Speaker.CUSTOMER)  # left = agent
    mix.add(AudioChunk(Speaker.AGENT, np.ones(1600, np.float32), 0.0))
    assert mix.take() is None  # the customer has not reached 0.1 s yet
    mix.add(AudioChunk(Speaker.CUSTOMER, np.ones(800, np.float32), 0.05))  # a gap: silence first
    out = mix.take()
    assert out is not None and out.shape == (1600, 2)
    assert out[:800, 1].sum() == 0 and out[800:, 1].sum() == 800
    mix.add(AudioChunk(Speaker.AGENT, np.ones(2 * SR, np.float32), 0.1))  # the customer lags 2 s
    out = mix.take()
    assert out is not None and len(out) == SR  # held back at most max_skew_s
    mix.add(AudioChunk(Speaker.CUSTOMER, np.full(SR, 2.0, np.float32), 0.1))  # late: overlap dropped
    mix.end(Speaker.CUSTOMER)
    out = mix.take()
    assert out is not None and len(out) == SR and mix.written == 2 * SR + 1600
    assert mix.take(final=True) is None


def test_a_live_source_never_waits_for_the_disk(tmp_path: Path) -> None:
    writer = CallAudioWriter(tmp_path / "live.wav", (Speaker.MIXED,), block=False, max_queue=4)
    disk = threading.Event()  # a stalled disk: the writer thread waits on it
    take = writer._mix.take
    writer._mix.take = lambda final=False: (disk.wait(10), take(final))[1]  # type: ignore[method-assign]
    t0 = time.perf_counter()
    for i in range(200):
        writer.put(AudioChunk(Speaker.MIXED, np.full(320, 0.5, np.float32), i * 0.02))
    assert time.perf_counter() - t0 < 0.05 and writer.dropped_s > 3.0
    disk.set()
    assert writer.sync(5)
    writer.put(AudioChunk(Speaker.MIXED, np.full(320, 0.5, np.float32), 4.0))
    writer.close()
    audio, _ = sf.read(str(tmp_path / "live.wav"), dtype="float32")
    assert len(audio) == 201 * 320  # call time stays exact: what was dropped is silence
    assert 0 < np.count_nonzero(audio) < len(audio) / 2


# ---- retention ----------------------------------------------------------------------------


NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "calls.sqlite3")
    yield database
    database.close()


def _call(db: Database, call_id: str, started: datetime, text: str) -> Path:
    """A completed call with an utterance, a suggestion, a summary, events, a wrap-up and audio."""
    recorder = CallRecorder(db)
    wav = audio_dir(db.path) / f"{call_id}.wav"
    wav.parent.mkdir(exist_ok=True)
    sf.write(wav, np.zeros(SR, np.float32), SR)
    recorder.expect_audio(call_id, str(wav))
    recorder(CallStarted(call_id, "file", (Speaker.CUSTOMER,)))
    recorder(FinalUtterance(call_id, f"{call_id}-u1", Speaker.CUSTOMER, 0.0, 1.0, text, 0.9))
    recorder(Silence(call_id, Speaker.CUSTOMER, 1.0, 4.0))
    recorder(SuggestionReady(
        call_id, f"{call_id}-u1", f"{call_id}-s1", "Offer a refund [1].", (1,), ("chunk-1",),
        (f"{call_id}-u1",), False, True, "grounded", (), "m", "b", "v1", 0.1, 0.5, 0.7,
    ))  # fmt: skip
    recorder(CallSummaryReady(call_id, "{}", "other", True, False, "m", "b", "v1", 1.0))
    recorder(CallEnded(call_id, 5.0))
    db.save_wrapup(call_id, "{}", "other")
    db.connection().execute("UPDATE calls SET started_at = ? WHERE id = ?",
                            [started.isoformat(timespec="milliseconds"), call_id])  # fmt: skip
    db.connection().commit()
    return wav


def _rows(db: Database, call_id: str) -> dict[str, int]:
    conn = db.connection()
    counts = {t: conn.execute(f"SELECT count(*) FROM [{t}] WHERE call_id = ?", [call_id]).fetchone()[0]
              for t in call_tables(conn)}  # fmt: skip
    counts["calls"] = conn.execute("SELECT count(*) FROM calls WHERE id = ?", [call_id]).fetchone()[0]
    return counts


def test_purge_removes_old_calls_everywhere_and_keeps_new_ones(db: Database) -> None:
    old = _call(db, "old", NOW - timedelta(days=31), "I want a refund for the blender")
    new = _call(db, "new", NOW - timedelta(days=29), "my kettle invoice is wrong")
    orphan = audio_dir(db.path) / "crashed-before-its-row.wav"
    sf.write(orphan, np.zeros(10, np.float32), SR)
    os.utime(orphan, ((NOW - timedelta(days=40)).timestamp(),) * 2)
    assert set(call_tables(db.connection())) >= {"utterances", "events", "suggestions", "summaries",
                                                 "wrapups"}  # fmt: skip
    assert all(_rows(db, "old").values()) and db.search("blender")

    purged = purge_older_than(db, 30, NOW)

    assert purged.calls == ("old",) and purged.files == 2
    assert not any(_rows(db, "old").values())
    assert all(_rows(db, "new").values())
    assert db.search("blender") == [] and db.search("refund") == []
    fts = db.connection().execute(
        "SELECT count(*) FROM utterances_fts WHERE utterances_fts MATCH 'refund'"
    )
    assert fts.fetchone()[0] == 0
    assert [h.utterance.call_id for h in db.search("invoice")] == ["new"]
    assert not old.exists() and not orphan.exists() and new.exists()
    assert db.quick_check() == ["ok"]
    assert purge_older_than(db, 30, NOW).calls == ()  # nothing left to do


def test_zero_days_keeps_everything_and_active_calls_are_never_purged(db: Database) -> None:
    wav = _call(db, "ancient", NOW - timedelta(days=3000), "an old refund")
    assert purge_older_than(db, 0, NOW).calls == ()
    assert wav.exists() and db.get_call("ancient") is not None
    with pytest.raises(ValueError):
        purge_older_than(db, -1, NOW)
    CallRecorder(db)(CallStarted("live", "mic", (Speaker.AGENT,)))
    db.connection().execute("UPDATE calls SET started_at = '2000-01-01T00:00:00.000+00:00'"
                            " WHERE id = 'live'")  # fmt: skip
    db.connection().commit()
    assert purge_older_than(db, 1, NOW).calls == ("ancient",)
    assert db.get_call("live") is not None


def test_the_engine_purges_at_load_and_a_timer_repeats_it(tmp_path: Path) -> None:
    with Database.open() as db:
        _call(db, "stale", datetime.now(UTC) - timedelta(days=45), "a stale refund")
        _call(db, "fresh", datetime.now(UTC) - timedelta(days=2), "a fresh refund")
    for days, kept in ((0, {"stale", "fresh"}), (30, {"fresh"})):
        options = EngineOptions(use_llm=False, knowledge=False, retention_days=days)
        engine = AssistEngine(options, EventBus(), decoder_factory=lambda o: NullDecoder())
        engine.load()
        try:
            timer = engine.privacy.retention
            assert (timer is None) == (days == 0)
            if timer is not None:
                assert timer.wait_runs(1, 10) and timer.runs[0].calls == ("stale",)
        finally:
            engine.close()
        with Database.open() as db:
            assert {c.id for c in db.list_calls()} == kept

    with Database.open() as db:  # the daily repeat, with a short day and a moving "now"
        days = iter(range(0, 100, 20))
        timer = RetentionTimer(db, 30, interval_s=0.01, now=lambda: datetime.now(UTC) + timedelta(
            days=next(days, 100)))  # fmt: skip
        timer.start()
        assert timer.wait_runs(3, 10)
        timer.close()
        assert [r.calls for r in timer.runs[:3]] == [(), (), ("fresh",)]
        assert not timer._thread.is_alive()


def test_the_audio_of_an_interrupted_call_is_repaired_on_open(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite3"
    wav = audio_dir(path) / "cut.wav"
    code = f"""
import numpy as np, os
from pathlib import Path
from agent_assist.domain import AudioChunk, CallStarted, Speaker
from agent_assist.store import CallAudioWriter, CallRecorder, Database
db = Database.open(Path({str(path)!r}))
recorder = CallRecorder(db)
recorder.expect_audio("cut", {str(wav)!r})
recorder(CallStarted("cut", "mic", (Speaker.AGENT,)))
writer = CallAudioWriter(Path({str(wav)!r}), (Speaker.AGENT,), block=True)
writer.put(AudioChunk(Speaker.AGENT, np.full(8000, 0.1, np.float32), 0.0))
assert writer.sync(5)
with open({str(wav)!r}, "ab") as f:  # frames on disk the header does not count yet
    f.write(b"\\x10\\x00" * 4000)
os._exit(0)  # no close, no header patch: as if killed
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert sf.info(str(wav)).frames == 8000
    with Database.open(path) as db:
        assert db.interrupted == ("cut",)
        call = db.get_call("cut")
        assert call is not None and call.audio_path == str(wav)
    with Database.open(path) as db:  # as the engine's open after the sidebar's history's
        assert db.interrupted == ()
        assert repair_interrupted(db) == 1
    assert sf.info(str(wav)).frames == 12000
    head = wav.read_bytes()[:44]
    assert struct.unpack("<I", head[40:44])[0] == 24000 and struct.unpack("<I", head[4:8])[0] == 24036


def test_changed_privacy_settings_reach_a_running_engine(tmp_path: Path) -> None:
    with Database.open() as db:
        _call(db, "stale", datetime.now(UTC) - timedelta(days=45), "a stale refund")
    engine = AssistEngine(
        EngineOptions(use_llm=False, knowledge=False, retention_days=0),
        EventBus(),
        decoder_factory=lambda o: NullDecoder(),
    )
    engine.load()
    try:
        assert engine.privacy.retention is None and not engine.privacy.store_audio
        engine.set_privacy(True, 30)  # the agent turns audio on; IT shortens retention
        timer = engine.privacy.retention
        assert engine.privacy.store_audio and timer is not None
        assert timer.wait_runs(1, 10) and timer.runs[0].calls == ("stale",)  # purged at once
        engine.set_privacy(False, 0)  # a legal hold: keep everything from now on
        assert engine.privacy.retention is None and not timer._thread.is_alive()
        assert not engine.privacy.store_audio
    finally:
        engine.close()
