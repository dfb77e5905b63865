"""Streaming transcription benchmark: latency, partial cadence, CPU, accuracy, idle, memory.

Run: ``.venv/bin/python benchmarks/stt_bench.py [--model tiny.en|base] [--quick]``
Writes ``benchmarks/results/stt-<model>.json`` and prints a table with the
targets of issue 2. Every heavy measurement runs in a child process so its CPU
time and peak RSS are its own. Figures are medians/percentiles over many events
or repeated runs, because this 2-core machine is noisy.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from agent_assist.audio.file_source import FileSource  # noqa: E402
from agent_assist.clock import SystemClock  # noqa: E402
from agent_assist.domain import Event, FinalUtterance, PartialText, Speaker  # noqa: E402
from agent_assist.events import EventBus  # noqa: E402
from agent_assist.pipeline import CallPipeline, PipelineConfig  # noqa: E402
from agent_assist.stt.loader import load_transcriber  # noqa: E402

SAMPLE = ROOT / "assets" / "sample_call.flac"
TRUTH = ROOT / "assets" / "sample_call.json"
SPEECH = ROOT.parent / "shared" / "data" / "speech"


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def run_call(
    source: FileSource, model: str, *, live_policy: bool
) -> tuple[list[tuple[float, Event]], Any, float, float]:
    """Run one call; returns (wall-stamped events, stats, cpu seconds, wall seconds)."""
    decoder = load_transcriber(model)
    bus = EventBus()
    seen: list[tuple[float, Event]] = []
    bus.subscribe(lambda e: seen.append((time.monotonic(), e)))
    config = PipelineConfig(drop_partials_when_behind=live_policy)
    pipeline = CallPipeline(source, decoder, bus, config=config)
    c0, w0 = time.process_time(), time.monotonic()
    pipeline.run()
    return seen, pipeline.stats, time.process_time() - c0, time.monotonic() - w0


def _speech_spans(finals: list[Event]) -> list[tuple[float, float]]:
    """Call-time stretches of continuous speech, from the finals' word timings."""
    spans: list[tuple[float, float]] = []
    for f in finals:
        if not isinstance(f, FinalUtterance):
            continue
        for w in f.words:
            if spans and w.start - spans[-1][1] < 0.3:
                spans[-1] = (spans[-1][0], max(spans[-1][1], w.end))
            else:
                spans.append((w.start, w.end))
    return spans


# ---- child measurements (each in its own process) -------------------------
def child_realtime(model: str) -> dict[str, Any]:
    """Sample call in real time: final latency after each turn, partial cadence, lag."""
    truth = json.loads(TRUTH.read_text())
    source = FileSource(SAMPLE, realtime=True, clock=SystemClock())
    seen, stats, cpu, wall = run_call(source, model, live_policy=True)
    t0 = source.started_at or 0.0
    latencies, gaps = [], []
    for turn in truth["turns"]:
        speaker = Speaker(turn["speaker"])
        finals = [
            (w, e)
            for w, e in seen
            if isinstance(e, FinalUtterance)
            and e.speaker is speaker
            and e.start < turn["end"] + 0.3
            and e.end > turn["start"] - 0.3
        ]
        if finals:
            w, _ = max(finals, key=lambda we: we[1].end)
            latencies.append(w - (t0 + turn["end"]))
        # Updates (partials or finals) while words are flowing in this turn:
        # a gap counts when its midpoint falls inside speech, i.e. between
        # recognised words less than 0.3 s apart (a pause shows nothing new).
        spans = _speech_spans([e for _, e in finals])
        lo, hi = t0 + turn["start"] + 0.5, t0 + turn["end"]
        marks = sorted(
            w
            for w, e in seen
            if isinstance(e, (PartialText, FinalUtterance))
            and e.speaker is speaker
            and lo <= w <= hi + 0.6
        )
        marks = [lo, *marks] if marks else []
        for a, b in itertools.pairwise(marks):
            mid = (a + b) / 2 - t0
            if a < hi and any(s0 <= mid <= s1 for s0, s1 in spans):
                gaps.append(b - a)
    return {
        "turns": len(truth["turns"]),
        "turns_with_final": len(latencies),
        "final_latency_p50_s": pct(latencies, 50),
        "final_latency_p95_s": pct(latencies, 95),
        "final_latency_max_s": max(latencies, default=float("nan")),
        "partial_gap_p50_s": pct(gaps, 50),
        "partial_gap_p95_s": pct(gaps, 95),
        "partial_gaps_within_0_5_s": float(np.mean(np.array(gaps) <= 0.5)) if gaps else float("nan"),
        "partials_shown": stats.partials,
        "partials_skipped": stats.partials_skipped,
        "max_backlog_s": stats.max_backlog_s,
        "cpu_ratio_realtime": cpu / wall,
    }


def child_cpu(model: str, minutes: float) -> dict[str, Any]:
    """A long call (the sample call repeated) at full speed doing all live work."""
    audio, rate = sf.read(SAMPLE, dtype="float32", always_2d=True)
    reps = int(np.ceil(minutes * 60 / (len(audio) / rate)))
    long_call = np.concatenate([audio] * reps)[: int(minutes * 60 * rate)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long_call.flac"
        sf.write(path, long_call, rate)
        source = FileSource(path, realtime=False, clock=SystemClock())
        _, stats, cpu, wall = run_call(source, model, live_policy=False)
    duration = len(long_call) / rate
    return {
        "audio_s": duration,
        "cpu_s": cpu,
        "wall_s": wall,
        "cpu_ratio": cpu / duration,
        "wall_ratio": wall / duration,
        "partials": stats.partials,
        "finals": stats.finals,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def child_idle(model: str, seconds: float, noise_dbfs: float | None = None) -> dict[str, Any]:
    """Nobody speaking, in real time: digital silence, or room hiss at
    ``noise_dbfs`` (which the VAD must run on: it is above its energy floor)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "silence.wav"
        frames = int(seconds * 16000)
        if noise_dbfs is None:
            quiet = np.zeros((frames, 2), np.float32)
        else:
            rms = 10 ** (noise_dbfs / 20)
            quiet = np.random.default_rng(0).normal(0, rms, (frames, 2)).astype(np.float32)
        sf.write(path, quiet, 16000)
        source = FileSource(path, realtime=True, clock=SystemClock())
        decoder = load_transcriber(model)
        pipeline = CallPipeline(source, decoder, EventBus())
        c0, w0 = time.process_time(), time.monotonic()
        pipeline.run()
        cpu, wall = time.process_time() - c0, time.monotonic() - w0
    return {
        "seconds": wall,
        "cpu_percent_of_one_core": 100 * cpu / wall,
        "decodes": pipeline.stats.finals + pipeline.stats.partials,
    }


def child_wer(model: str) -> dict[str, Any]:
    """Streaming pipeline vs offline faster-whisper on the shared tier-A recordings."""
    import jiwer
    import soxr
    from faster_whisper import WhisperModel
    from whisper_normalizer.english import EnglishTextNormalizer

    norm = EnglishTextNormalizer()
    items = [json.loads(x) for x in (SPEECH / "manifest.jsonl").read_text().splitlines() if x.strip()]
    items = [i for i in items if i["tier"] == "A"]
    decoder = load_transcriber(model)
    offline = WhisperModel(str(decoder.model_dir), device="cpu", compute_type="int8", cpu_threads=2)
    refs, stream_hyps, offline_hyps = [], [], []
    for item in items:
        path = SPEECH / item["file"]
        channel = item.get("channel")
        info = sf.info(path)
        if channel in ("left", "right"):
            cmap = [Speaker.MIXED, None] if channel == "left" else [None, Speaker.MIXED]
            source = FileSource(path, channel_map=cmap)
        else:
            source = FileSource(path, mix=info.channels > 1)
        bus = EventBus()
        finals: list[FinalUtterance] = []
        bus.subscribe(
            lambda e, finals=finals: finals.append(e) if isinstance(e, FinalUtterance) else None
        )
        CallPipeline(source, decoder, bus, config=PipelineConfig(drop_partials_when_behind=False)).run()
        stream_hyps.append(norm(" ".join(f.text for f in sorted(finals, key=lambda f: f.start))))
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
        mono = (
            audio[:, 0]
            if channel == "left"
            else audio[:, 1]
            if channel == "right"
            else audio.mean(axis=1)
        )
        mono = soxr.resample(mono, rate, 16000).astype(np.float32)
        segments, _ = offline.transcribe(mono, language=decoder.language, beam_size=5)
        offline_hyps.append(norm(" ".join(s.text for s in segments)))
        refs.append(norm(item["reference"]))
    return {
        "items": len(items),
        "wer_streaming_pct": 100 * jiwer.wer(refs, stream_hyps),
        "wer_offline_pct": 100 * jiwer.wer(refs, offline_hyps),
        "differences": [
            {"ref": r, "streaming": s, "offline": o}
            for r, s, o in zip(refs, stream_hyps, offline_hyps, strict=True)
            if s != o
        ],
    }


CHILDREN = {"realtime": child_realtime, "cpu": child_cpu, "idle": child_idle, "wer": child_wer}


def spawn(kind: str, model: str, **kw: Any) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", kind, "--model", model, "--kw", json.dumps(kw)]
    out = subprocess.run(args, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="tiny.en")
    ap.add_argument("--quick", action="store_true", help="shorter long-call and idle runs, one repeat")
    ap.add_argument("--repeats", type=int, default=3, help="runs of the CPU measurement (median)")
    ap.add_argument("--only", nargs="*", choices=list(CHILDREN), help="run only these measurements")
    ap.add_argument("--child", choices=list(CHILDREN), help=argparse.SUPPRESS)
    ap.add_argument("--kw", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args.model, **json.loads(args.kw))))
        return 0

    only = set(args.only or CHILDREN)
    minutes = 2.0 if args.quick else 10.0
    repeats = 1 if args.quick else args.repeats
    out = ROOT / "benchmarks" / "results" / f"stt-{args.model}.json"
    previous = json.loads(out.read_text()) if out.exists() and args.only else {}
    result: dict[str, Any] = {
        **previous,
        "model": args.model,
        "machine_cores": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    if "realtime" in only:
        print("real-time replay of the sample call…", file=sys.stderr)
        result["realtime"] = spawn("realtime", args.model)
    if "cpu" in only:
        runs = []
        for i in range(repeats):
            print(f"{minutes:g}-minute call at full speed, run {i + 1}/{repeats}…", file=sys.stderr)
            runs.append(spawn("cpu", args.model, minutes=minutes))
        result["cpu_runs"] = runs
        result["cpu"] = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
    if "idle" in only:
        print("idle (silence in real time)…", file=sys.stderr)
        seconds = 10.0 if args.quick else 30.0
        result["idle"] = spawn("idle", args.model, seconds=seconds, noise_dbfs=-50.0)
        result["idle_digital_silence"] = spawn("idle", args.model, seconds=seconds)
    if "wer" in only:
        print("accuracy on shared/data/speech tier A…", file=sys.stderr)
        result["wer"] = spawn("wer", args.model)

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    print(f"\nwritten: {out.relative_to(ROOT)}")
    return 0


def print_table(r: dict[str, Any]) -> None:
    rows: list[tuple[str, str, str]] = []
    rt, cpu, idle, wer = r.get("realtime"), r.get("cpu"), r.get("idle"), r.get("wer")
    if rt:
        rows += [
            ("final latency p50", f"{rt['final_latency_p50_s']:.2f} s", "≤ 0.6 s"),
            ("final latency p95", f"{rt['final_latency_p95_s']:.2f} s", "≤ 1.2 s"),
            ("partial gap p95 during speech", f"{rt['partial_gap_p95_s']:.2f} s", "≤ 0.5 s"),
            ("max backlog (real time)", f"{rt['max_backlog_s']:.2f} s", "no growth"),
        ]
    if cpu:
        rows += [
            (f"CPU / audio, {cpu['audio_s'] / 60:.0f}-min call", f"{cpu['cpu_ratio']:.3f}", "≤ 0.3"),
            ("peak RSS (STT path)", f"{cpu['peak_rss_mb']:.0f} MB", "≤ 700 MB"),
        ]
    if idle:
        rows.append(
            ("idle CPU, room hiss -50 dBFS", f"{idle['cpu_percent_of_one_core']:.1f} %", "≤ 3 %")
        )
        quiet = r.get("idle_digital_silence")
        if quiet:
            rows.append(("idle CPU, digital silence", f"{quiet['cpu_percent_of_one_core']:.1f} %", ""))
    if wer:
        rows += [
            ("WER streaming", f"{wer['wer_streaming_pct']:.2f} %", "≤ offline + 1.5"),
            ("WER offline faster-whisper", f"{wer['wer_offline_pct']:.2f} %", ""),
        ]
    print(f"\nSTT benchmark, model {r['model']}")
    print(f"{'measure':34} {'value':>12}  target")
    for name, value, target in rows:
        print(f"{name:34} {value:>12}  {target}")


if __name__ == "__main__":
    raise SystemExit(main())
