"""LLM benchmark: live reply suggestions, call summaries, grounding, both backends.

Run: ``.venv/bin/python benchmarks/llm_bench.py [--quick] [--backend local|http|both]``
Writes ``benchmarks/results/llm-<backend>.json`` and prints a table with the
targets of issue 4 (SmolLM2-135M-Instruct on the 2-core machine):

* suggestions: the real live path -- a customer ``FinalUtterance`` is published
  on the bus, ``LiveRetriever`` searches the example pack, ``GenerationWorker``
  drafts, checks and publishes. Measured from the publish to the first streamed
  token (``SuggestionToken``) and to ``SuggestionReady``; cases are the example
  pack's 54 eval queries and the sample call's customer turns, one at a time;
* grounding: of those, how many drafts the guard accepted, how many it rejected
  (shown as an extractive quote instead) and how many turns got nothing;
* summaries: the sample call (3 min) over 20 seeds and a 10-minute call, played
  into the real ``GenerationWorker`` (which warms the summary prompt during the
  call when the backend keeps a summary slot); wall time from ``CallEnded`` to
  ``CallSummaryReady`` and schema validity of every result (model-made or
  rule-based); also the summary with nothing warmed, for comparison;
* the same through the OpenAI-compatible HTTP backend against
  ``python -m llama_cpp.server`` started here on a loopback port.

Percentiles over many events, because this 2-core machine is noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from agent_assist.assist.generation import GenerationOptions, GenerationWorker  # noqa: E402
from agent_assist.assist.retrieval import LiveRetriever  # noqa: E402
from agent_assist.domain import (  # noqa: E402
    CallEnded,
    CallStarted,
    CallSummaryReady,
    Event,
    FinalUtterance,
    Speaker,
    SuggestionDropped,
    SuggestionReady,
    SuggestionToken,
)
from agent_assist.events import EventBus  # noqa: E402
from agent_assist.knowledge.embedder import Embedder  # noqa: E402
from agent_assist.knowledge.evaluate import load_queries  # noqa: E402
from agent_assist.knowledge.index import PackIndex, build_index  # noqa: E402
from agent_assist.llm.backend import SUMMARY_SLOT  # noqa: E402
from agent_assist.llm.loader import load_backend  # noqa: E402
from agent_assist.llm.schema import summary_schema, validate  # noqa: E402
from agent_assist.llm.tasks_context import TaskContext  # noqa: E402
from agent_assist.llm.tasks_summary import summarize_call  # noqa: E402
from agent_assist.models import model_path  # noqa: E402

EXAMPLE = ROOT / "knowledge" / "northwind-home"
SCRIPT = ROOT / "assets" / "sample_call.json"
RESULTS = ROOT / "benchmarks" / "results"


def pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


def _utterance(i: int, speaker: str, text: str, start: float, end: float) -> FinalUtterance:
    who = Speaker.CUSTOMER if speaker == "customer" else Speaker.AGENT
    return FinalUtterance("bench", f"u{i}", who, start, end, text, 0.9)


def script_turns(repeat: float = 1.0) -> list[FinalUtterance]:
    """The sample call's scripted turns (``repeat`` > 1: the call again and again, for length)."""
    turns = json.loads(SCRIPT.read_text())["turns"]
    duration = json.loads(SCRIPT.read_text())["duration"]
    out: list[FinalUtterance] = []
    n = int(len(turns) * repeat)
    for i in range(n):
        t = turns[i % len(turns)]
        shift = (i // len(turns)) * duration
        out.append(_utterance(i, t["speaker"], t["text"], t["start"] + shift, t["end"] + shift))
    return out


def suggestions(
    backend: Any, index: PackIndex, context: TaskContext, cases: list[str]
) -> dict[str, Any]:
    bus = EventBus()
    retriever = LiveRetriever(index, bus)
    worker = GenerationWorker(backend, bus, context=context)
    first: dict[str, float] = {}
    ready: dict[str, tuple[float, SuggestionReady]] = {}
    dropped: dict[str, str] = {}

    def on_event(event: Event) -> None:  # worker threads: record arrival times only
        now = time.perf_counter()
        if isinstance(event, SuggestionToken):
            first.setdefault(event.utterance_id, now)
        elif isinstance(event, SuggestionReady):
            ready[event.utterance_id] = (now, event)
        elif isinstance(event, SuggestionDropped):
            dropped[event.utterance_id] = event.reason

    bus.subscribe(on_event)
    first_s: list[float] = []
    complete_s: list[float] = []
    rows = []
    for i, text in enumerate(cases):
        uid, call = f"s{i}", f"bench-{i}"  # a call per case: cards are never repeated within a call
        bus.publish(CallStarted(call, "bench", (Speaker.AGENT, Speaker.CUSTOMER)))
        started = time.perf_counter()
        bus.publish(FinalUtterance(call, uid, Speaker.CUSTOMER, 1.0, 4.0, text, 0.9))
        retriever.wait_idle(30)  # cards published (or none: then no suggestion either)
        worker.wait_idle(60)
        if uid in first:
            first_s.append(first[uid] - started)
        at, s = ready.get(uid, (0.0, None))
        if s is not None:
            complete_s.append(at - started)
        rows.append(
            {
                "turn": text,
                "suggestion": s.text if s else None,
                "extractive": s.extractive if s else None,
                "grounded": s.grounded if s else None,
                "dropped": dropped.get(uid),
            }
        )
    worker.close(30)
    retriever.close(10)
    shown = [r for r in rows if r["suggestion"]]
    return {
        "cases": len(cases),
        "first_token_after_final_s": {
            "p50": pct(first_s, 50),
            "p95": pct(first_s, 95),
            "n": len(first_s),
        },
        "complete_after_final_s": {
            "p50": pct(complete_s, 50),
            "p95": pct(complete_s, 95),
            "n": len(complete_s),
        },
        "shown": len(shown),
        "model_drafts_shown": sum(1 for r in shown if not r["extractive"]),
        "drafts_rejected_shown_extractive": sum(1 for r in shown if r["extractive"]),
        "shown_fully_supported": sum(1 for r in shown if r["grounded"]),
        "nothing_shown": len(rows) - len(shown),
        "examples": rows[:8],
    }


def _evict_prompt_cache(backend: Any) -> None:
    """Generate one token from an unrelated chat in every context, so the next prompt
    shares no prefix with the last summary's (llama.cpp reuses a shared prefix's
    evaluation; twenty summaries of one transcript in a row would otherwise time
    only the first's prompt)."""
    from agent_assist.llm.backend import ChatMessage, GenerationRequest

    for slot in ("", *getattr(backend, "warm_slots", tuple)()):
        request = GenerationRequest((ChatMessage("user", "Say OK."),), max_tokens=1, cache_slot=slot)
        backend.generate(request)


def _summary_via_worker(
    backend: Any, context: TaskContext, turns: list[FinalUtterance], call: str, seed: int
) -> tuple[float, CallSummaryReady]:
    """Play ``turns`` as a call into a ``GenerationWorker`` (which warms the summary
    prompt as it goes, if the backend can); seconds from ``CallEnded`` to the summary.

    The last two lines come just before the hang-up, too late to be warmed (as
    in a real call, where warming waits for a pause); the rest are warmed one by
    one. No knowledge cards are published, so no suggestions: they run on the
    backend's other context and would not touch the summary's.
    """
    bus = EventBus()
    done = threading.Event()
    got: list[tuple[float, CallSummaryReady]] = []

    def on_event(event: Event) -> None:
        if isinstance(event, CallSummaryReady):
            got.append((time.perf_counter(), event))
            done.set()

    bus.subscribe(on_event)
    options = GenerationOptions(coaching=False, warm_delay_s=0.0, summary_seed=seed)
    worker = GenerationWorker(backend, bus, context=context, options=options)
    try:
        bus.publish(CallStarted(call, "bench", (Speaker.AGENT, Speaker.CUSTOMER)))
        for i, t in enumerate(turns):
            bus.publish(replace(t, call_id=call))
            if i < len(turns) - 2:
                worker.wait_idle(120, warming=True)
        started = time.perf_counter()
        bus.publish(CallEnded(call, turns[-1].end))
        if not done.wait(180):
            raise RuntimeError("no summary within 180 s")
        return got[0][0] - started, got[0][1]
    finally:
        worker.close(30)


def summaries(backend: Any, context: TaskContext, seeds: int, long_runs: int) -> dict[str, Any]:
    codes = tuple(d.code for d in context.dispositions)
    schema = summary_schema(codes)
    warms = SUMMARY_SLOT in getattr(backend, "warm_slots", tuple)()
    out: dict[str, Any] = {"warmed_during_call": warms}
    for label, turns, runs in (
        ("sample_call_3min", script_turns(), seeds),
        ("call_10min", script_turns(600 / json.loads(SCRIPT.read_text())["duration"]), long_runs),
    ):
        times, valid_schema, model_made = [], 0, 0
        dispositions: list[str] = []
        for seed in range(runs):
            _evict_prompt_cache(backend)  # nothing of this transcript is evaluated yet
            seconds, ready = _summary_via_worker(backend, context, turns, f"{label}-{seed}", seed + 1)
            data = json.loads(ready.summary_json)
            times.append(seconds)
            valid_schema += not validate(data, schema)
            model_made += ready.valid
            dispositions.append(str(data["disposition"]))
        cold = []  # the same summary with nothing warmed (e.g. `agent-assist summarize` later)
        for seed in range(max(1, runs // 4)):
            _evict_prompt_cache(backend)
            started = time.perf_counter()
            summarize_call(backend, turns, context=context, call_id=label, seed=seed + 1)
            cold.append(time.perf_counter() - started)
        out[label] = {
            "runs": runs,
            "seconds_p50": pct(times, 50),
            "seconds_max": round(max(times), 2),
            "seconds": [round(t, 2) for t in times],
            "schema_valid": f"{valid_schema}/{runs}",
            "model_made_valid": f"{model_made}/{runs}",
            "rule_based_fallback": runs - model_made,
            "dispositions": dispositions,
            "cold_seconds_p50": pct(cold, 50),
            "cold_runs": len(cold),
        }
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def llama_server(gguf: Path) -> Any:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048", "--n_threads", "1", "--n_threads_batch", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/v1/models", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("llama_cpp.server did not start") from None
                time.sleep(0.2)  # waiting for another process to listen: nothing to block on
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def run(kind: str, quick: bool, index: PackIndex, context: TaskContext) -> dict[str, Any]:
    cases = [q.query for q in load_queries(EXAMPLE / "eval" / "queries.csv")]
    cases += [t.text for t in script_turns() if t.speaker == Speaker.CUSTOMER]
    if quick:
        cases = cases[:12]
    seeds, long_runs = (3, 1) if quick else (20, 3)

    def measure(backend: Any) -> dict[str, Any]:
        result = {"backend": backend.name, "model": backend.model}
        print(f"  suggestions ({len(cases)} turns) ...", flush=True)
        result["suggestions"] = suggestions(backend, index, context, cases)
        print("  summaries ...", flush=True)
        result["summaries"] = summaries(backend, context, seeds, long_runs)
        backend.close()
        return result

    if kind == "local":
        return measure(load_backend(n_threads=1, cache_slots=(SUMMARY_SLOT,)))  # as a live app
    gguf = model_path("smollm2-135m-instruct")
    gguf = next(gguf.glob("*.gguf")) if gguf.is_dir() else gguf
    with llama_server(gguf) as url:
        return measure(load_backend(server_url=url))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backend", choices=("local", "http", "both"), default="both")
    args = parser.parse_args()
    embedder = Embedder(threads=1)
    with tempfile.TemporaryDirectory(prefix="llm-bench-") as tmp:
        build_index(EXAMPLE, Path(tmp) / "index", embedder)
        index = PackIndex(Path(tmp) / "index", embedder)
        context = TaskContext.load(EXAMPLE, embedder=embedder)
        for kind in ("local", "http") if args.backend == "both" else (args.backend,):
            print(f"{kind} backend ...", flush=True)
            result = run(kind, args.quick, index, context)
            RESULTS.mkdir(exist_ok=True)
            (RESULTS / f"llm-{kind}.json").write_text(json.dumps(result, indent=2) + "\n")
            _table(kind, result)


def _table(kind: str, r: dict[str, Any]) -> None:
    s = r["suggestions"]
    print(f"\n{kind}: {r['model']} via {r['backend']}")
    f, c = s["first_token_after_final_s"], s["complete_after_final_s"]
    print(f"  suggestion first token after final  p50 {f['p50']} s   (target <= 0.8)")
    print(f"  suggestion complete after final     p95 {c['p95']} s   (target <= 3)")
    print(
        f"  turns {s['cases']}: shown {s['shown']} (model draft {s['model_drafts_shown']}, "
        f"extractive after rejection {s['drafts_rejected_shown_extractive']}), "
        f"fully supported {s['shown_fully_supported']}/{s['shown']}, nothing {s['nothing_shown']}"
    )
    warmed = r["summaries"]["warmed_during_call"]
    print(f"  summaries from hang-up (prompt warmed during the call: {warmed})")
    for label, m in r["summaries"].items():
        if not isinstance(m, dict):
            continue
        target = 8 if label.startswith("sample") else 20
        print(
            f"  summary {label}: p50 {m['seconds_p50']} s, max {m['seconds_max']} s (target <= {target}); "
            f"schema-valid {m['schema_valid']}, model-made {m['model_made_valid']}; "
            f"not warmed p50 {m['cold_seconds_p50']} s"
        )


if __name__ == "__main__":
    main()
