"""``ask``, ``suggest``, ``summarize``, ``calls`` and the model during a call, from the command line.

Fast tests: the call wiring of ``run_call`` (store, printer, retriever, generation
worker, close order) with a scripted pipeline, a fake searcher and a fake
backend; how a call decides whether to use the model; clear errors. Slow
tests: the real SmolLM2, the real embedder and the example pack installed in a
data folder of their own. They assert structure and behaviour, never wording.
"""

from __future__ import annotations

import argparse
import io
import json
import socket
import sqlite3
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from agent_assist.cli.live_llm import CallAssist, call_assist
from agent_assist.cli.main import main
from agent_assist.cli.render import TranscriptPrinter
from agent_assist.domain import (
    CallEnded,
    CallStarted,
    FinalUtterance,
    Speaker,
    SuggestionReady,
)
from agent_assist.knowledge.index import Hit
from agent_assist.llm.backend import (
    BackendState,
    BackendUnavailable,
    Generation,
    GenerationRequest,
    TokenSink,
)
from agent_assist.llm.schema import summary_schema, validate
from agent_assist.llm.tasks_context import TaskContext, load_dispositions
from tests.conftest import ROOT, SMOLLM2

EXAMPLE = ROOT / "knowledge" / "northwind-home"
SAMPLE = ROOT / "assets" / "sample_call.flac"
CODES = tuple(d.code for d in load_dispositions(EXAMPLE))
SNIPPET = "We refund the duplicate charge in full. The refund reaches the card within 5 business days."
DRAFT = "We refund the duplicate charge in full [1]."


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# ---- fakes for the call wiring ----------------------------------------------------


class ScriptedBackend:
    """A ``LLMBackend`` that drafts ``DRAFT``, a valid summary, or a coaching note."""

    name = "fake"
    model = "fake-llm"

    def __init__(self) -> None:
        self.state, self.detail = BackendState.READY, ""
        self.requests: list[GenerationRequest] = []
        self.closed = False

    def probe(self) -> BackendState:
        return self.state

    def generate(
        self,
        request: GenerationRequest,
        *,
        on_token: TokenSink | None = None,
        cancel: threading.Event | None = None,
    ) -> Generation:
        self.requests.append(request)
        if request.json_schema is not None:
            code = request.json_schema["properties"]["disposition"]["enum"][0]
            text = json.dumps({
                "reason_for_contact": "Charged twice", "key_facts": ["Two charges"],
                "identifiers": [], "actions_taken": ["Refunded the duplicate charge"],
                "resolution": "Refunded", "follow_ups": [], "sentiment_start": "negative",
                "sentiment_end": "positive", "disposition": code,
            })  # fmt: skip
        elif "<snippet" in request.messages[-1].content:
            text = DRAFT
        else:
            text = "You confirmed the refund and the timeline clearly."
        for word in text.split(" "):
            if on_token is not None:
                on_token(word + " ")
        return Generation(text, "stop", len(text.split()), 0.01, 0.02, self.model, self.name)

    def close(self) -> None:
        self.closed = True


class FakeSearcher:
    def search(self, query: str, k: int) -> list[Hit]:
        hit = Hit("northwind-home", "refunds#what-to-do", "refunds", "Refunds", ("Refunds", "What to do"),
                  "what-to-do", SNIPPET, 1 / 61, 0.7)  # fmt: skip
        return [hit][:k]


def open_fake_searcher() -> FakeSearcher:
    """A searcher factory (the retriever calls it on its thread; a class would pass as a searcher)."""
    return FakeSearcher()


class ScriptedPipeline:
    """Stands in for ``CallPipeline`` inside ``run_call``: publishes a short call on its
    own thread, waiting (as a real call would, turns apart) for the suggestion."""

    calls = 0

    def __init__(self, source: Any, decoder: Any, bus: Any, config: Any = None) -> None:
        ScriptedPipeline.calls += 1
        self.call_id = f"call-{ScriptedPipeline.calls}"
        self.bus = bus
        self._done = threading.Event()
        self._suggested = threading.Event()
        bus.subscribe(lambda e: self._suggested.set() if isinstance(e, SuggestionReady) else None)

    def start(self) -> None:
        threading.Thread(target=self._run, name="stt-fake", daemon=True).start()

    def _run(self) -> None:
        c = self.call_id
        self.bus.publish(CallStarted(c, "scripted", (Speaker.AGENT, Speaker.CUSTOMER)))
        lines = [
            (Speaker.AGENT, "Thank you for calling, how can I help?"),
            (Speaker.CUSTOMER, "I was charged twice for my subscription this month."),
        ]
        for n, (who, text) in enumerate(lines):
            self.bus.publish(FinalUtterance(c, f"{c}:{n}", who, n * 3.0, n * 3.0 + 2, text, 0.9))
        self._suggested.wait(10)
        self.bus.publish(FinalUtterance(c, f"{c}:9", Speaker.AGENT, 9.0, 11.0, "I refunded it.", 0.9))
        self.bus.publish(CallEnded(c, 12.0))
        self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def stop(self, reason: str = "completed") -> None:
        self._done.wait(10)


def _run_scripted_call(monkeypatch: pytest.MonkeyPatch, fmt: str) -> tuple[str, str, ScriptedBackend]:
    from agent_assist.cli import call_run

    monkeypatch.setattr("agent_assist.pipeline.CallPipeline", ScriptedPipeline)
    monkeypatch.setattr("agent_assist.stt.loader.load_transcriber", lambda *a, **k: None)
    backend = ScriptedBackend()
    loader = threading.Thread(target=backend.probe)
    loader.start()
    assist = CallAssist(backend, TaskContext.load(EXAMPLE), loader)
    args = argparse.Namespace(model="tiny.en", language="en", threads=1, no_store=False, partials=False)
    out = io.StringIO()
    printer = TranscriptPrinter(fmt, out)  # type: ignore[arg-type]
    source = SimpleNamespace(live=False, realtime=False, error=None)
    result = call_run.run_call(
        source, args, printer=printer, knowledge=open_fake_searcher, assist=assist
    )
    assert result.code == 0 and result.stored and len(result.finals) == 3
    return result.call_id, out.getvalue(), backend


def test_a_call_prints_and_stores_the_suggestion_and_the_summary(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent_assist.store import Database

    call_id, text, backend = _run_scripted_call(monkeypatch, "text")
    lines = text.splitlines()
    kb = next(i for i, line in enumerate(lines) if line.startswith("  kb> "))
    say = next(i for i, line in enumerate(lines) if line.startswith("  say> "))
    head = next(i for i, line in enumerate(lines) if line.startswith("== call summary"))
    assert kb < say < head  # the suggestion under its cards; the summary after the call
    assert lines[say].endswith("(grounded)") and "[1]" in lines[say]
    assert "schema-valid" in lines[head] and any(line.startswith("== coaching note") for line in lines)
    assert backend.closed  # the worker and then the backend were closed
    assert "a summary" in capsys.readouterr().err
    with Database.open() as db:
        [suggestion] = db.suggestions(call_id)
        summary = db.summary(call_id)
    assert suggestion.snippet_ids == ("refunds#what-to-do",) and suggestion.grounded
    assert summary is not None and summary.valid and summary.data["disposition"] in CODES


def test_a_call_in_json_lines_has_the_model_records_and_no_tokens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    call_id, text, _ = _run_scripted_call(monkeypatch, "jsonl")
    records = [json.loads(line) for line in text.splitlines()]
    kinds = [r["type"] for r in records]
    assert "suggestion_token" not in kinds and "suggestion_started" not in kinds
    assert kinds.index("knowledge_cards") < kinds.index("suggestion_ready")
    assert kinds.index("call_ended") < kinds.index("call_summary_ready")
    ready = next(r for r in records if r["type"] == "suggestion_ready")
    assert ready["call_id"] == call_id and ready["citations"] == [1] and ready["sentences"]
    summary = next(r for r in records if r["type"] == "call_summary_ready")["summary"]
    assert validate(summary, summary_schema(CODES)) == []
    assert any(r["type"] == "note_ready" and r["kind"] == "coaching" for r in records)


def _args(command: str, **kw: Any) -> argparse.Namespace:
    base = dict(command=command, llm=None, llm_server=None, no_llm=False, assist=False,
                no_knowledge=False, pack_index=None)  # fmt: skip
    return argparse.Namespace(**{**base, **kw})


def test_when_a_call_uses_the_model(capsys: pytest.CaptureFixture[str]) -> None:
    from agent_assist.cli.live_assist import SharedEmbedder

    shared = SharedEmbedder()
    assert call_assist(_args("transcribe"), shared) is None  # a batch job: only with --assist
    assert call_assist(_args("listen", no_llm=True), shared) is None
    # the default model is not installed in this fresh data folder: a note, and the call goes on
    assert call_assist(_args("demo"), shared) is None
    assert "note: no reply suggestions" in capsys.readouterr().err
    with pytest.raises(BackendUnavailable) as err:  # asked for by name: an error (exit 7)
        call_assist(_args("demo", llm="no-such-model"), shared)
    assert err.value.exit_code == 7 and err.value.fix
    url = f"http://127.0.0.1:{closed_port()}"
    assist = call_assist(_args("transcribe", llm_server=url), shared)
    assert assist is not None
    assist.loader.join(10)  # the probe ran off the main thread and found it down
    assert assist.backend.state == BackendState.DOWN and assist.backend.detail


def test_a_missing_model_or_unknown_call_is_one_clear_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = cli(capsys, "ask", "--llm", "no-such-model", "How long does a refund take?")
    assert code == 7 and out == "" and err.startswith("error: ") and "\nfix: " in err
    code, _, err = cli(capsys, "ask", "--llm", "/nowhere/model.gguf", "Where is my parcel?")
    assert code == 7 and "error: " in err and "Traceback" not in err
    code, out, err = cli(capsys, "summarize", "20990101-000000-dead")
    assert code == 2 and out == "" and "agent-assist calls" in err and "\nfix: " in err
    code, _, err = cli(capsys, "summarize", "/nowhere/call.flac")
    assert code == 4 and "does not exist" in err


def test_calls_lists_the_history(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "calls")
    assert code == 0 and "no calls" in out
    call_id, _, _ = _run_scripted_call(monkeypatch, "text")
    capsys.readouterr()
    code, out, _ = cli(capsys, "calls", "--limit", "5")
    [row] = [line for line in out.splitlines() if line.startswith(call_id)]
    assert code == 0 and "completed" in row and "(model)" in row


# ---- the real model, embedder and example pack ----------------------------------


@pytest.fixture(scope="module")
def cli_home(assist_home: Path) -> tuple[Path, set[str]]:
    """(a data folder with tiny.en, the embedder, SmolLM2 and the example pack installed,
    the chunk ids of the installed pack)."""
    [index] = (assist_home / "packs").glob("northwind-home/*/index/chunks.sqlite")
    db = sqlite3.connect(index)
    chunks = {row[0] for row in db.execute("SELECT id FROM chunks")}
    db.close()
    return assist_home, chunks


@pytest.fixture
def home(cli_home: tuple[Path, set[str]], monkeypatch: pytest.MonkeyPatch) -> set[str]:
    monkeypatch.setenv("AGENT_ASSIST_HOME", str(cli_home[0]))
    return cli_home[1]


@pytest.mark.slow
@pytest.mark.model
def test_ask_cites_real_chunks_or_says_it_is_not_in_the_pack(
    home: set[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "ask", "--json", "How long does a card refund take to arrive?")
    answer = json.loads(out)
    assert code == 0 and answer["found"] and answer["answer"] and answer["citations"]
    for c in answer["citations"]:
        assert c["chunk_id"] in home and c["pack"] == "northwind-home" and c["heading_path"]
        assert c["chunk_id"] == f"{c['doc_id']}#{c['anchor']}" and f"[{c['n']}]" in answer["answer"]
    assert (
        answer["model"] == SMOLLM2 and answer["backend"] == "llama-cpp" and not answer["backend_error"]
    )
    code, out, _ = cli(capsys, "ask", "How long does a card refund take to arrive?")
    cited = [line for line in out.splitlines() if line.startswith("  [")]
    assert code == 0 and cited and all("northwind-home/" in line and " > " in line for line in cited)
    code, out, _ = cli(capsys, "ask", "Which team won the football world cup in 1966?")
    assert code == 0 and out == "not in the knowledge pack\n"


@pytest.mark.slow
@pytest.mark.model
def test_suggest_shows_cards_the_reply_and_its_verdict(
    home: set[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "suggest", "--json", "I was charged twice for my subscription this month")
    result = json.loads(out)
    assert code == 0 and result["cards"] and result["confidence"] >= 0.45
    assert [c["n"] for c in result["cards"]] == list(range(1, len(result["cards"]) + 1))
    assert all(c["chunk_id"] in home and c["similarity"] >= 0.45 for c in result["cards"])
    s = result["suggestion"]
    if s is None:  # allowed: no sentence the snippets support
        assert result["reason"]
    else:
        assert s["text"] and s["grounded"] and isinstance(s["extractive"], bool)
        assert s["snippet_ids"] == [c["chunk_id"] for c in result["cards"]]
        assert s["citations"] and all(1 <= n <= len(result["cards"]) for n in s["citations"])
        assert s["sentences"] and all(isinstance(x["supported"], bool) for x in s["sentences"])
        assert s["model"] == SMOLLM2 and s["total_s"] >= 0
        if s["extractive"]:  # the draft was checked and rejected: its verdict is there too
            assert s["draft_sentences"] is not None
    code, out, _ = cli(capsys, "suggest", "--json", "My neighbour recommended you to me last summer.")
    off = json.loads(out)
    assert code == 0 and off["cards"] == [] and off["suggestion"] is None and off["reason"]


@pytest.mark.slow
@pytest.mark.model
def test_summarize_an_audio_file_then_the_stored_call_with_the_backend_down(
    home: set[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from agent_assist.store import Database

    schema = summary_schema(CODES)
    code, out, err = cli(capsys, "summarize", str(SAMPLE), "--json")
    result = json.loads(out)
    assert code == 0 and "Traceback" not in err
    assert validate(result["summary"], schema) == [] and result["summary"]["disposition"] in CODES
    assert result["stored"] and result["utterances"] > 20 and result["model"] == SMOLLM2
    assert result["valid"] != result["fallback"]
    call_id = result["call_id"]
    with Database.open() as db:
        stored = db.summary(call_id)
        assert stored is not None and stored.data == result["summary"]
        assert len(db.utterances(call_id)) == result["utterances"]
    url = f"http://127.0.0.1:{closed_port()}"
    code, out, err = cli(capsys, "summarize", call_id, "--json", "--llm-server", url)
    down = json.loads(out)
    assert code == 0 and "warning: " in err
    assert down["fallback"] and not down["valid"] and down["backend_error"]
    assert validate(down["summary"], schema) == [] and down["summary"]["disposition"] in CODES
    with Database.open() as db:
        replaced = db.summary(call_id)
        assert replaced is not None and replaced.fallback
    code, out, _ = cli(capsys, "summarize", call_id)
    assert code == 0 and out.splitlines()[1].startswith("== call summary")


@pytest.mark.slow
@pytest.mark.model
def test_ask_answers_from_the_pack_when_the_server_is_down(
    home: set[str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    code, out, err = cli(capsys, "ask", "--json", "--llm-server", url, "Can I use vinegar to descale?")
    answer = json.loads(out)
    assert code == 0 and "warning: " in err
    assert answer["found"] and answer["extractive"] and answer["backend_error"]
    assert all(c["chunk_id"] in home for c in answer["citations"]) and answer["citations"]
    code, out, err = cli(capsys, "suggest", "--llm-server", url, "my glass jug arrived cracked")
    assert code == 0 and "  say> " in out and "(extractive)" in out and "warning: " in err
