"""``AssistEngine``: one call with every model, loaded in the background.

Fast tests: level meters, muting and the start-while-loading path with a
fake speech model and a synthetic stereo file; the wrap-up store. Slow tests:
the sample call (or its first minute) replayed faster than real time through
the real tiny.en, embedder, example pack and SmolLM2, asserting behaviour,
never wording.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from agent_assist.audio.file_source import FileSource
from agent_assist.domain import (
    AudioLevel,
    CallEnded,
    CallFinished,
    CallSummaryReady,
    Event,
    FinalUtterance,
    KnowledgeCards,
    ModelStatus,
    Speaker,
    SuggestionReady,
)
from agent_assist.events import EventBus
from agent_assist.pipeline.levels import FLOOR_DBFS, LevelMeter, dbfs
from agent_assist.session import AssistEngine, EngineOptions
from agent_assist.stt.whisper import Transcript
from tests.conftest import ROOT, own_home

SAMPLE = ROOT / "assets" / "sample_call.flac"
EXAMPLE = ROOT / "knowledge" / "northwind-home"
DEAD_AIR = (64.2, 68.4)  # the agent's 5 s hold after turn 10: silence on both channels


class Recorder:
    """Collects every event; ``first`` waits (no polling) for one matching a test."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._cond = threading.Condition()

    def __call__(self, event: Event) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def of(self, kind: type[Any]) -> list[Any]:
        with self._cond:
            return [e for e in self.events if isinstance(e, kind)]

    def first(self, test: Any, timeout: float) -> Any:
        with self._cond:
            found: list[Event] = []

            def seen() -> bool:
                found[:] = [e for e in self.events if test(e)][:1]
                return bool(found)

            assert self._cond.wait_for(seen, timeout), "event never came"
            return found[0]

    def states(self, component: str) -> list[str]:
        return [e.state for e in self.of(ModelStatus) if e.component == component]


# ---- fast: levels, muting, loading, wrap-up ---------------------------------------


def test_level_meter_reads_dbfs_per_channel() -> None:
    from agent_assist.domain import AudioChunk

    assert dbfs(0.0) == FLOOR_DBFS and abs(dbfs(1.0)) < 1e-9
    meter = LevelMeter(0.1)
    tone = (0.5 * np.sin(np.arange(1600) / 5)).astype(np.float32)
    meter.add(AudioChunk(Speaker.AGENT, tone[:800], 0.0))
    assert meter.take() == []  # 0.05 s is not a reading yet
    meter.add(AudioChunk(Speaker.AGENT, tone[800:], 0.05))
    meter.add(AudioChunk(Speaker.CUSTOMER, np.zeros(1600, np.float32), 0.0))
    readings = {r.speaker: r for r in meter.take()}
    assert -10.0 < readings[Speaker.AGENT].rms_dbfs < -8.0  # a 0.5 sine: -9 dBFS RMS
    assert readings[Speaker.CUSTOMER].rms_dbfs == FLOOR_DBFS
    assert readings[Speaker.AGENT].position == pytest.approx(0.1)
    assert meter.take() == []


class SlowDecoder:
    """A speech model that is still loading until ``loaded`` is set; decodes to one word."""

    def __init__(self) -> None:
        self.loaded = threading.Event()
        self.calls = 0

    def factory(self, options: EngineOptions) -> SlowDecoder:
        self.loaded.wait(30)
        return self

    def transcribe(self, audio: Any, options: Any, prefix: Any = (), previous: Any = ()) -> Transcript:
        self.calls += 1
        return Transcript("", 0.0, 1.0)


def _stereo_tone(path: Path, seconds: float = 3.0) -> Path:
    """Left (agent): a tone; right (customer): another (muted in the test)."""
    t = np.arange(int(16000 * seconds)) / 16000
    left, right = 0.3 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 660 * t)
    sf.write(path, np.stack([left, right], axis=1).astype(np.float32), 16000)
    return path


def test_a_call_starts_while_speech_loads_and_a_muted_channel_is_silence(tmp_path: Path) -> None:
    slow = SlowDecoder()
    seen = Recorder()
    options = EngineOptions(use_llm=False, knowledge=False, partials=False)
    engine = AssistEngine(options, EventBus(), decoder_factory=slow.factory, subscribers=[seen])
    try:
        engine.load()
        assert engine.status()["speech"].state == "loading"
        assert engine.status()["llm"].state == "off" and engine.status()["knowledge"].state == "off"
        source = FileSource(_stereo_tone(tmp_path / "tone.wav"), realtime=False)
        t0 = time.perf_counter()
        call_id = engine.start_call(source)
        engine.set_muted(Speaker.CUSTOMER, True)
        assert time.perf_counter() - t0 < 0.5 and engine.in_call and engine.call_id == call_id
        seen.first(lambda e: isinstance(e, AudioLevel), 10)  # levels flow before speech is ready
        slow.loaded.set()
        assert engine.wait_call_done(30)
    finally:
        engine.close()
    assert seen.states("speech") == ["loading", "ready"]
    levels = seen.of(AudioLevel)
    agent = [e for e in levels if e.speaker == Speaker.AGENT]
    customer = [e for e in levels if e.speaker == Speaker.CUSTOMER]
    assert len(agent) >= 25 and len(customer) >= 25  # ~10 a second per channel over 3 s
    assert all(-15 < e.rms_dbfs < -10 and not e.muted for e in agent)  # 0.3 sine: -13.5 dBFS
    assert all(e.rms_dbfs == FLOOR_DBFS and e.muted for e in customer)
    finished = seen.of(CallFinished)
    assert [f.call_id for f in finished] == [call_id] and not finished[0].summarized
    ended = seen.of(CallEnded)[0]
    assert ended.reason == "completed" and seen.events.index(ended) < seen.events.index(finished[0])
    from agent_assist.store import Database

    with Database.open() as db:
        call = db.get_call(call_id)
        assert call is not None and call.status == "completed"


def test_save_wrapup_keeps_the_agents_edit(tmp_path: Path) -> None:
    from agent_assist.store import Database

    engine = AssistEngine(EngineOptions(use_llm=False, knowledge=False), decoder_factory=lambda o: None)  # type: ignore[arg-type,return-value]
    engine.load()
    try:
        db = Database.open()
        db.connection().execute(
            "INSERT INTO calls (id, started_at, status) VALUES ('c1', '2026-01-01', 'completed')"
        )
        db.close()
        assert engine.save_wrapup("c1", '{"reason_for_contact": "edited"}', "billing_refund")
        assert engine.save_wrapup("c1", '{"reason_for_contact": "again"}', "other")  # replaces
        assert not engine.save_wrapup("no-such-call", "{}", "other")
        assert not engine.set_feedback("no-such-suggestion", 1)
    finally:
        engine.close()
    conn = sqlite3.connect(Path(os.environ["AGENT_ASSIST_HOME"]) / "agent-assist.sqlite3")
    rows = conn.execute("SELECT call_id, summary_json, disposition FROM wrapups").fetchall()
    conn.close()
    assert rows == [("c1", '{"reason_for_contact": "again"}', "other")]


def test_an_extra_worker_is_built_at_load_and_closed_with_the_engine() -> None:
    from agent_assist.session import EngineContext

    built: list[tuple[EventBus, EngineContext]] = []
    closed = threading.Event()

    class Worker:
        def intent_label(self, call_id: str) -> str | None:
            return "billing"

        def close(self) -> None:
            closed.set()

    def make(bus: EventBus, ctx: EngineContext) -> Worker:
        built.append((bus, ctx))
        return Worker()

    options = EngineOptions(use_llm=False, knowledge=False, store=False, pack_index=EXAMPLE / ".x")
    engine = AssistEngine(options, extra_workers=[make], decoder_factory=lambda o: SlowDecoder())
    engine.load()
    [(bus, ctx)] = built
    assert ctx.pack_folder == EXAMPLE == engine.pack_folder and ctx.embedder is engine.embedder
    assert ctx.options is options and isinstance(bus, EventBus) and bus is not engine.bus
    engine.close()
    assert closed.is_set()


# ---- slow: the real models ------------------------------------------------------------


@pytest.fixture
def home(assist_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The models and example pack of ``assist_home`` with a call history of this test's own."""
    own = own_home(assist_home, tmp_path / "engine-home")
    monkeypatch.setenv("AGENT_ASSIST_HOME", str(own))
    return own


@pytest.fixture(scope="module")
def first_minute(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample call's first 60 s (greeting, identity, the double charge)."""
    audio, rate = sf.read(SAMPLE, dtype="float32", frames=60 * 16000)
    path = tmp_path_factory.mktemp("crop") / "first_minute.wav"
    sf.write(path, audio, rate)
    return path


@pytest.fixture
def engines() -> Iterator[list[AssistEngine]]:
    made: list[AssistEngine] = []
    yield made
    for engine in made:
        engine.close(30)


def _engine(engines: list[AssistEngine], options: EngineOptions) -> tuple[AssistEngine, Recorder]:
    seen = Recorder()
    engine = AssistEngine(options, EventBus(), subscribers=[seen])
    engines.append(engine)
    return engine, seen


@pytest.mark.slow
@pytest.mark.model
def test_the_sample_call_with_every_model(home: Path, engines: list[AssistEngine]) -> None:
    engine, seen = _engine(engines, EngineOptions(partials=False))
    source = FileSource(SAMPLE, realtime=False)
    t0 = time.perf_counter()
    engine.load()
    t1 = time.perf_counter()
    loading = engine.status()
    call_id = engine.start_call(source)
    t2 = time.perf_counter()
    assert t1 - t0 < 1.0 and t2 - t1 < 0.5  # neither waits for a model
    assert loading["speech"].state == "loading" and loading["llm"].state == "loading"
    assert engine.wait_call_done(600)
    for component in ("speech", "embedder", "knowledge", "llm"):
        assert seen.states(component) == ["loading", "ready"], component
    finals = seen.of(FinalUtterance)
    assert {f.speaker for f in finals} == {Speaker.AGENT, Speaker.CUSTOMER} and len(finals) > 20
    assert seen.of(KnowledgeCards) and seen.of(SuggestionReady)
    [summary] = seen.of(CallSummaryReady)
    assert summary.call_id == call_id
    finished = engine.finished
    assert finished is not None and finished.summarized and finished.reason == "completed"
    levels = seen.of(AudioLevel)
    for speaker in (Speaker.AGENT, Speaker.CUSTOMER):
        mine = [e for e in levels if e.speaker == speaker]
        quiet = [e for e in mine if DEAD_AIR[0] + 0.3 <= e.position <= DEAD_AIR[1]]
        assert len(mine) > 900 and len(quiet) >= 20  # ~10 a second over 179 s
        assert all(e.rms_dbfs <= -90 for e in quiet)
        assert max(e.rms_dbfs for e in mine) > -35  # speech
    customer = [e for e in levels if e.speaker == Speaker.CUSTOMER and 51 <= e.position <= 57]
    assert max(e.rms_dbfs for e in customer) > -35  # the double charge, spoken
    [suggestion] = seen.of(SuggestionReady)[-1:]
    assert engine.set_feedback(suggestion.suggestion_id, 1)
    assert engine.save_wrapup(call_id, summary.summary_json, summary.disposition)
    engine.close(30)
    from agent_assist.store import Database

    with Database.open() as db:
        call = db.get_call(call_id)
        assert call is not None and call.status == "completed" and call.utterance_count == len(finals)
        assert db.summary(call_id) is not None
        assert db.get_suggestion(suggestion.suggestion_id).feedback == 1  # type: ignore[union-attr]


@pytest.mark.slow
@pytest.mark.model
def test_no_language_model_and_a_muted_agent(
    home: Path, first_minute: Path, engines: list[AssistEngine]
) -> None:
    engine, seen = _engine(engines, EngineOptions(partials=False, llm="no-such-model"))
    engine.load()
    llm = engine.status()["llm"]
    assert llm.state == "down" and "fix" in llm.detail
    failure = engine.failure("llm")
    assert failure is not None and failure.fix
    engine.start_call(FileSource(first_minute, realtime=False))
    engine.set_muted(Speaker.AGENT, True)
    assert engine.muted() == {Speaker.AGENT}
    assert engine.wait_call_done(300)
    finals = seen.of(FinalUtterance)
    assert finals and {f.speaker for f in finals} == {Speaker.CUSTOMER}
    assert seen.of(KnowledgeCards)  # cards work without the model
    assert not seen.of(SuggestionReady) and not seen.of(CallSummaryReady)
    agent = [e for e in seen.of(AudioLevel) if e.speaker == Speaker.AGENT]
    assert agent and all(e.muted and e.rms_dbfs == FLOOR_DBFS for e in agent)
    assert engine.finished is not None and not engine.finished.summarized
    assert engine.ask("How long does a refund take?").exception() is failure


@pytest.mark.slow
@pytest.mark.model
def test_stop_call_returns_at_once_and_the_summary_follows(
    home: Path, first_minute: Path, engines: list[AssistEngine]
) -> None:
    engine, seen = _engine(engines, EngineOptions(partials=False, knowledge=False))
    engine.load()
    call_id = engine.start_call(FileSource(first_minute, realtime=True))
    seen.first(lambda e: isinstance(e, FinalUtterance) and e.speaker == Speaker.CUSTOMER, 120)
    t0 = time.perf_counter()
    engine.stop_call()
    assert time.perf_counter() - t0 < 0.5
    assert not seen.of(CallSummaryReady)
    summary = seen.first(lambda e: isinstance(e, CallSummaryReady), 300)
    assert summary.call_id == call_id
    finished = seen.first(lambda e: isinstance(e, CallFinished), 60)
    assert finished.reason == "stopped by agent" and finished.summarized
    assert seen.events.index(summary) < seen.events.index(finished)


@pytest.mark.slow
@pytest.mark.model
def test_close_mid_call_stores_the_call_as_ended(
    home: Path, first_minute: Path, engines: list[AssistEngine]
) -> None:
    engine, seen = _engine(engines, EngineOptions(partials=False, knowledge=False, use_llm=False))
    engine.load()
    call_id = engine.start_call(FileSource(first_minute, realtime=True))
    seen.first(lambda e: isinstance(e, FinalUtterance), 120)
    engine.close(10)
    from agent_assist.store import Database

    with Database.open() as db:  # a new open would mark a call left active "interrupted"
        assert db.interrupted == ()
        call = db.get_call(call_id)
        assert call is not None and call.status == "completed" and call.end_reason == "app closed"
        assert call.utterance_count >= 1
