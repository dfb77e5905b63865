"""Live call cues benchmark: intent accuracy and thresholds, checklist step matching.

Run: ``.venv/bin/python benchmarks/intel_bench.py``
Writes ``benchmarks/results/intel.json`` and prints:

* intent scoring variants (nearest example, mean of the 2/3 nearest, centroid):
  leave-one-out top-1 accuracy on the example pack's own intent examples, top-1
  accuracy on held-out customer sentences (tests/data/intel_cases.toml), and
  the best score of those against the best score of off-topic and chit-chat
  turns (the threshold must sit between);
* the sample call's customer turns (assets/sample_call.json, labelled by hand)
  with context weights, and the sticky tracker's intent sequence per margin;
* checklist steps: cosine of agent sentences to the evidence phrases of their
  checklist, for sentences that complete a step and ones that do not, and the
  precision/recall of semantic ticks per threshold.
"""

from __future__ import annotations

import json
import os
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from agent_assist.intel.checklist import StepMatcher  # noqa: E402
from agent_assist.intel.intent import (  # noqa: E402
    IntentModel,
    IntentOptions,
    IntentScore,
    IntentTracker,
    combine,
)
from agent_assist.intel.pack import load_checklists, load_intents  # noqa: E402
from agent_assist.knowledge.embedder import Embedder  # noqa: E402

PACK = ROOT / "knowledge" / "northwind-home"
CASES = tomllib.loads((ROOT / "tests" / "data" / "intel_cases.toml").read_text())
CALL = json.loads((ROOT / "assets" / "sample_call.json").read_text())
RESULTS = ROOT / "benchmarks" / "results" / "intel.json"


def centroid_scores(model: IntentModel, vecs: Any, v: Any, exclude: int | None) -> list[IntentScore]:
    owner = np.array([n for n, i in enumerate(model.intents) for _ in i.examples])
    out = []
    for n, intent in enumerate(model.intents):
        rows = [r for r in np.flatnonzero(owner == n) if r != exclude]
        c = vecs[rows].mean(axis=0)
        c /= np.linalg.norm(c)
        out.append(IntentScore(intent, float(c @ v)))
    return sorted(out, key=lambda s: s.score, reverse=True)


def intent_variants(emb: Embedder, intents: Any, vecs: Any) -> dict[str, Any]:
    held = CASES["held_out"]
    neg = CASES["negatives"]["texts"]
    hv = emb.encode([h["text"] for h in held])
    nv = emb.encode(neg)
    out: dict[str, Any] = {}
    for name, k in (("nearest", 1), ("top2", 2), ("top3", 3), ("centroid", 0)):
        model = IntentModel.from_vectors(intents, vecs, emb, IntentOptions(top_k=max(k, 1)))

        def score(
            v: Any, exclude: int | None = None, *, _k: int = k, _m: IntentModel = model
        ) -> list[IntentScore]:
            return centroid_scores(_m, vecs, v, exclude) if _k == 0 else _m.scores(v, exclude=exclude)

        owner = [i.id for i in intents for _ in i.examples]
        loo = [score(vecs[r], r)[0] for r in range(len(owner))]
        loo_acc = sum(s.intent.id == owner[r] for r, s in enumerate(loo)) / len(owner)
        hs = [score(v)[0] for v in hv]
        held_acc = sum(s.intent.id in h["intents"] for s, h in zip(hs, held, strict=True)) / len(held)
        ns = sorted((score(v)[0].score for v in nv), reverse=True)
        pos = sorted([s.score for s in hs] + [s.score for s in loo])
        # threshold: the one maximising (right positives kept + negatives rejected)
        best = max(
            (
                (sum(p >= t for p in pos) / len(pos) + sum(n < t for n in ns) / len(ns), t)
                for t in np.arange(0.30, 0.80, 0.01)
            ),
        )
        out[name] = {
            "loo_acc": round(loo_acc, 3),
            "held_out_acc": round(held_acc, 3),
            "held_out_misses": [
                (h["text"], s.intent.id)
                for s, h in zip(hs, held, strict=True)
                if s.intent.id not in h["intents"]
            ],
            "positive_scores_p5_min": [round(float(np.percentile(pos, 5)), 3), round(pos[0], 3)],
            "held_out_min": round(min(s.score for s in hs), 3),
            "negative_top3": [round(n, 3) for n in ns[:3]],
            "balanced_threshold": round(float(best[1]), 2),
            "balanced": round(best[0] / 2, 3),
        }
    return out


def _sticky(rows: list[list[IntentScore]], ids: list[str], opts: IntentOptions) -> list[Any]:
    tracker = IntentTracker(opts)
    seq = []
    for uid, sc in zip(ids, rows, strict=True):
        changed = tracker.update(sc)
        if changed is not None:
            seq.append((uid, changed.intent.id, round(changed.score, 3)))
    return seq


def sample_call(emb: Embedder, intents: Any, vecs: Any) -> dict[str, Any]:
    """Per-turn accuracy of the scripted call, and the tracker on the script and the transcript."""
    labels = {int(k): v for k, v in CASES["sample_call"]["customer"].items()}
    turns = [t for t in CALL["turns"] if t["speaker"] == "customer"]
    heard = [t for t in CASES["transcribed_call"] if t["speaker"] == "customer"]
    tv = emb.encode([t["text"] for t in turns])
    hv = emb.encode([t["text"] for t in heard])
    out: dict[str, Any] = {}
    for weight in (0.0, 0.3, 0.5, 0.7, 1.0):
        for threshold in (0.50, 0.55, 0.60):
            opts = IntentOptions(context_weight=weight, threshold=threshold)
            model = IntentModel.from_vectors(intents, vecs, emb, opts)

            def rows(v: Any, _w: float = weight, _m: IntentModel = model) -> list[list[IntentScore]]:
                return [
                    _m.scores(v[n] if n == 0 or _w == 0 else combine(v[n], v[n - 1], _w))
                    for n in range(len(v))
                ]

            script_rows, heard_rows = rows(tv), rows(hv)
            right, per_turn = 0, []
            for t, sc in zip(turns, script_rows, strict=True):
                got = sc[0].intent.id if sc[0].score >= threshold else ""
                right += got in labels[t["index"]]
                per_turn.append((t["index"], got, round(sc[0].score, 3), sc[0].intent.id))
            seqs = {}
            for margin in (0.0, 0.05, 0.08, 0.12):
                for strong, candidate in ((threshold, threshold), (0.65, 0.50)):
                    o = IntentOptions(
                        threshold=threshold, margin=margin, strong=strong, candidate=candidate
                    )
                    key = f"m{margin}" + ("_one_turn" if strong == threshold else "_two_turn")
                    seqs[key] = {
                        "script": _sticky(script_rows, [f"t{t['index']}" for t in turns], o),
                        "transcript": _sticky(heard_rows, [f"h{n}" for n in range(len(heard))], o),
                    }
            out[f"w{weight}_t{threshold}"] = {
                "turn_acc": round(right / len(turns), 3),
                "turns": per_turn,
                "sticky": seqs,
            }
    return out


def steps(emb: Embedder) -> dict[str, Any]:
    checklists = {c.id: c for c in load_checklists(PACK)}
    matcher = StepMatcher(list(checklists.values()), emb)
    labels = {int(k): set(v) for k, v in CASES["sample_call"]["agent"].items()}
    pairs: list[tuple[float, bool, bool, str]] = []  # similarity, should tick, lexical, what
    for t in CALL["turns"]:
        if t["speaker"] != "agent":
            continue
        c = checklists["refund-request"]
        turn = matcher.turn(str(t["index"]), t["text"])
        for s in c.steps:
            pairs.append(
                (
                    matcher.similarity(c, s, turn),
                    s.id in labels.get(t["index"], set()),
                    matcher.lexical(c, s, turn),
                    f"{t['index']}:{s.id}",
                )
            )
    for a in CASES["agent_sentences"]:
        c = checklists[a["checklist"]]
        turn = matcher.turn("x", a["text"])
        for s in c.steps:
            pairs.append(
                (
                    matcher.similarity(c, s, turn),
                    s.id == a["step"],
                    matcher.lexical(c, s, turn),
                    f"{a['text'][:40]}:{s.id}",
                )
            )
    out: dict[str, Any] = {"pairs": len(pairs), "positives": sum(p[1] for p in pairs)}
    for t in (0.40, 0.44, 0.50, 0.56, 0.60, 0.64):
        tp = sum(1 for s, y, lex, _ in pairs if y and (lex or s >= t))
        fp = [w for s, y, lex, w in pairs if not y and (lex or s >= t)]
        fn = [w for s, y, lex, w in pairs if y and not (lex or s >= t)]
        out[str(t)] = {
            "precision": round(tp / max(1, tp + len(fp)), 3),
            "recall": round(tp / max(1, sum(p[1] for p in pairs)), 3),
            "false_ticks": fp,
            "missed": fn,
        }
    lex_tp = sum(1 for _, y, lex, _ in pairs if y and lex)
    lex_fp = [w for _, y, lex, w in pairs if lex and not y]
    out["lexical_only"] = {
        "precision": round(lex_tp / max(1, lex_tp + len(lex_fp)), 3),
        "recall": round(lex_tp / max(1, sum(p[1] for p in pairs)), 3),
        "false_ticks": lex_fp,
    }
    out["top_negative_similarities"] = sorted(
        ((round(s, 3), w) for s, y, _, w in pairs if not y), reverse=True
    )[:8]
    out["positive_similarities"] = sorted((round(s, 3), w) for s, y, _, w in pairs if y)
    return out


def main() -> None:
    emb = Embedder(threads=1)
    intents = load_intents(PACK)
    t0 = time.perf_counter()
    vecs = emb.encode([e for i in intents for e in i.examples])
    embed_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(20):
        emb.encode(["I was charged twice for this month, both payments are thirty nine dollars."])
    turn_ms = (time.perf_counter() - t0) / 20 * 1000
    report = {
        "examples": len(vecs),
        "intents": len(intents),
        "embed_examples_s": round(embed_s, 2),
        "embed_one_turn_ms": round(turn_ms, 1),
        "variants": intent_variants(emb, intents, vecs),
        "sample_call": sample_call(emb, intents, vecs),
        "steps": steps(emb),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
