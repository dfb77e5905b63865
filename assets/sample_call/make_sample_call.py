#!/usr/bin/env python3
"""Render the bundled sample call (assets/sample_call.flac + assets/sample_call.json).

The call is a fictional customer-service conversation described in script.toml
(next to this file). Every turn is spoken by espeak-ng, one voice per speaker,
converted to 16 kHz with sox (with a gentle 100 Hz high-pass, like a wideband
VoIP headset), trimmed to its real speech bounds and placed on a stereo
timeline: left = agent, right = customer. Pauses, the dead air while the agent
looks something up and the interruption (overlapping speech on the two
channels) come from the timing hints in the script.

Outputs:
  assets/sample_call.flac   16 kHz, 2 channels, 16-bit FLAC
  assets/sample_call.json   ground truth: duration, sample rate, channel map and
                            every turn with its exact start/end in seconds

Usage:
  python assets/sample_call/make_sample_call.py
  python assets/sample_call/make_sample_call.py --telephone /tmp/sample_call_8k.flac

The output is deterministic: the same script, voices and tool versions give the
same bytes on every run (sox runs with a fixed random seed and no dither; the
optional noise floor comes from a seeded generator).

Needs: espeak-ng and sox on PATH, Python with numpy and soundfile.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

HERE = Path(__file__).resolve().parent
ASSETS = HERE.parent
SAMPLE_RATE = 16_000
SPEAKERS = ("agent", "customer")  # channel 0 (left), channel 1 (right)

# Voices: chosen by transcribing the rendered call with faster-whisper tiny.en
# (see README.md for the measured WER). "+m1"/"+f4" are espeak-ng voice variants;
# the customer has a British accent, the agent an American one.
DEFAULT_VOICES: dict[str, dict[str, float | str]] = {
    "agent": {"voice": "en-us+m1", "speed": 160, "pitch": 45},
    "customer": {"voice": "en-gb+f4", "speed": 145, "pitch": 40},
}
# Peak level of each channel after normalisation (dBFS): a slight level
# difference between the agent's headset and the customer's line.
PEAK_DBFS = {"agent": -3.0, "customer": -5.0}
# Trim threshold relative to the turn's own peak: everything quieter at the
# start/end of espeak's output is silence (or resampler ringing).
TRIM_DB = -45.0
# Optional faint noise floor (--noise-dbfs, RMS). Off by default: even a -84 dBFS
# floor makes the FLAC ~50 % bigger, and the gaps are then true digital silence.
NOISE_SEED = 4817


@dataclass(frozen=True)
class Turn:
    index: int
    speaker: str
    text: str
    gap: float
    overlap: float
    note: str


@dataclass(frozen=True)
class Placed:
    turn: Turn
    start: int  # sample index on the timeline
    audio: npt.NDArray[np.float32]

    @property
    def end(self) -> int:
        return self.start + len(self.audio)


def load_script(path: Path) -> tuple[dict[str, object], list[Turn]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    timing = data.get("timing", {})
    default_gap = float(timing.get("default_gap", 0.5))
    turns = []
    for i, raw in enumerate(data["turns"]):
        speaker = raw["speaker"]
        if speaker not in SPEAKERS:
            raise ValueError(f"turn {i}: unknown speaker {speaker!r}")
        turns.append(
            Turn(
                index=i,
                speaker=speaker,
                text=" ".join(raw["text"].split()),
                gap=float(raw.get("gap", default_gap)),
                overlap=float(raw.get("overlap", 0.0)),
                note=str(raw.get("note", "")),
            )
        )
    return data, turns


def run(cmd: list[str], stdin: bytes | None = None) -> bytes:
    proc = subprocess.run(cmd, input=stdin, capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return proc.stdout


def synthesize(text: str, voice: str, speed: float, pitch: float) -> npt.NDArray[np.float32]:
    """espeak-ng -> sox (16 kHz mono float, 100 Hz high-pass) -> trimmed float32."""
    wav = run(["espeak-ng", "-v", voice, "-s", str(int(speed)), "-p", str(int(pitch)), "--stdout", text])
    # -R: fixed random seed, -D: no dither -> byte-identical output on every run.
    out = ["-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1", "-"]
    effects = ["rate", "-v", str(SAMPLE_RATE), "highpass", "100"]
    raw = run(["sox", "-R", "-D", "-t", "wav", "-", *out, *effects], stdin=wav)
    audio = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    return trim(audio)


def trim(audio: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak == 0.0:
        raise RuntimeError("espeak-ng produced silence")
    loud = np.flatnonzero(np.abs(audio) >= peak * 10 ** (TRIM_DB / 20))
    return audio[loud[0] : loud[-1] + 1].copy()


def place(turns: list[Turn], rendered: list[npt.NDArray[np.float32]], lead_in: float) -> list[Placed]:
    """Put the turns on the timeline (in samples) following the gap/overlap hints."""
    placed: list[Placed] = []
    quiet_from = round(lead_in * SAMPLE_RATE)  # latest end of any earlier turn
    for turn, audio in zip(turns, rendered, strict=True):
        if turn.overlap > 0:
            if not placed:
                raise ValueError("the first turn cannot overlap")
            prev = placed[-1]
            if prev.turn.speaker == turn.speaker:
                raise ValueError(f"turn {turn.index}: overlap with the same speaker")
            start = prev.end - round(turn.overlap * SAMPLE_RATE)
            if start <= prev.start:
                raise ValueError(f"turn {turn.index}: overlap longer than the previous turn")
        elif not placed:
            start = quiet_from  # the first turn starts right after the lead-in
        else:
            start = quiet_from + round(turn.gap * SAMPLE_RATE)
        same_channel = [p for p in placed if p.turn.speaker == turn.speaker]
        if same_channel and start < same_channel[-1].end:
            raise ValueError(f"turn {turn.index}: starts before its speaker's previous turn ends")
        placed.append(Placed(turn, start, audio))
        quiet_from = max(quiet_from, start + len(audio))
    return placed


def mix(placed: list[Placed], total: int, noise_dbfs: float | None) -> npt.NDArray[np.int16]:
    stereo = np.zeros((total, 2), dtype=np.float64)
    for p in placed:
        ch = SPEAKERS.index(p.turn.speaker)
        stereo[p.start : p.end, ch] += p.audio
    for ch, speaker in enumerate(SPEAKERS):
        peak = float(np.max(np.abs(stereo[:, ch])))
        if peak > 0:
            stereo[:, ch] *= 10 ** (PEAK_DBFS[speaker] / 20) / peak
    if noise_dbfs is not None:
        rng = np.random.default_rng(NOISE_SEED)
        stereo += rng.standard_normal(stereo.shape) * 10 ** (noise_dbfs / 20)
    return np.clip(np.round(stereo * 32767.0), -32768, 32767).astype(np.int16)


def seconds(samples: int) -> float:
    return round(samples / SAMPLE_RATE, 4)


def dead_air(placed: list[Placed], min_len: float) -> list[dict[str, float]]:
    """Stretches of at least min_len seconds between turns where nobody speaks."""
    spans = sorted((p.start, p.end) for p in placed)
    out = []
    cursor = spans[0][1]
    for s, e in spans[1:]:
        if s - cursor >= min_len * SAMPLE_RATE:
            out.append({"start": seconds(cursor), "end": seconds(s)})
        cursor = max(cursor, e)
    return out


def overlaps(placed: list[Placed]) -> list[dict[str, float | int]]:
    out: list[dict[str, float | int]] = []
    for i, a in enumerate(placed):
        for b in placed[i + 1 :]:
            if a.turn.speaker != b.turn.speaker and b.start < a.end and a.start < b.end:
                out.append(
                    {
                        "turns": [a.turn.index, b.turn.index],
                        "start": seconds(max(a.start, b.start)),
                        "end": seconds(min(a.end, b.end)),
                    }
                )
    return out


def parse_voice(spec: str | None, default: dict[str, float | str]) -> dict[str, float | str]:
    """Parse a voice[:speed[:pitch]] override, falling back to the defaults."""
    if not spec:
        return dict(default)
    parts = spec.split(":")
    out = dict(default)
    out["voice"] = parts[0]
    if len(parts) > 1 and parts[1]:
        out["speed"] = float(parts[1])
    if len(parts) > 2 and parts[2]:
        out["pitch"] = float(parts[2])
    return out


def telephone(src: Path, dst: Path) -> None:
    """Narrowband copy: 8 kHz, 300-3400 Hz band-pass, back to 16 kHz (for robustness tests)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    sox = ["sox", "-R", "-D", str(src), "-b", "16", str(dst)]
    run([*sox, "rate", "-v", "8000", "sinc", "300-3400", "rate", "-v", str(SAMPLE_RATE)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--script", type=Path, default=HERE / "script.toml")
    ap.add_argument(
        "--out",
        type=Path,
        default=ASSETS / "sample_call.flac",
        help="output FLAC; the JSON is written next to it (default: assets/sample_call.flac)",
    )
    ap.add_argument("--agent-voice", help="override, voice[:speed[:pitch]], e.g. en-us+m1:160")
    ap.add_argument("--customer-voice", help="override, voice[:speed[:pitch]], e.g. en-gb+f4:145:40")
    ap.add_argument(
        "--telephone",
        type=Path,
        metavar="OUT",
        help="also write a narrowband (8 kHz telephone band) version to OUT",
    )
    ap.add_argument(
        "--noise-dbfs",
        type=float,
        metavar="DB",
        help="add a seeded white noise floor at this RMS level, e.g. -80 (default: none)",
    )
    args = ap.parse_args(argv)

    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            print(f"error: {tool} not found on PATH", file=sys.stderr)
            return 2

    data, turns = load_script(args.script)
    timing = data.get("timing", {})
    voices = {
        "agent": parse_voice(args.agent_voice, DEFAULT_VOICES["agent"]),
        "customer": parse_voice(args.customer_voice, DEFAULT_VOICES["customer"]),
    }

    rendered = []
    for t in turns:
        v = voices[t.speaker]
        rendered.append(synthesize(t.text, str(v["voice"]), float(v["speed"]), float(v["pitch"])))

    placed = place(turns, rendered, float(timing.get("lead_in", 0.8)))
    total = max(p.end for p in placed) + round(float(timing.get("tail", 1.0)) * SAMPLE_RATE)
    pcm = mix(placed, total, args.noise_dbfs)

    out_flac: Path = args.out
    out_flac.parent.mkdir(parents=True, exist_ok=True)
    sf.write(out_flac, pcm, SAMPLE_RATE, format="FLAC", subtype="PCM_16")

    truth = {
        "title": data.get("title", ""),
        "duration": seconds(total),
        "sample_rate": SAMPLE_RATE,
        "channels": {"left": "agent", "right": "customer"},
        "voices": {
            s: {
                "voice": voices[s]["voice"],
                "speed": int(voices[s]["speed"]),
                "pitch": int(voices[s]["pitch"]),
            }
            for s in SPEAKERS
        },
        "turns": [
            {
                "index": p.turn.index,
                "speaker": p.turn.speaker,
                "text": p.turn.text,
                "start": seconds(p.start),
                "end": seconds(p.end),
            }
            for p in placed
        ],
        "dead_air": dead_air(placed, 3.0),
        "overlaps": overlaps(placed),
        "notes": [
            {"turn": p.turn.index, "at": seconds(p.start), "note": p.turn.note}
            for p in placed
            if p.turn.note
        ],
    }
    out_json = out_flac.with_suffix(".json")
    out_json.write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    print(f"wrote {out_flac} ({seconds(total):.1f} s, {out_flac.stat().st_size / 1e6:.2f} MB)")
    print(f"wrote {out_json} ({len(placed)} turns)")
    if args.telephone:
        telephone(out_flac, args.telephone)
        print(f"wrote {args.telephone} (telephone band)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
