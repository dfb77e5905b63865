"""Per-channel loudness for level meters, from the chunks the STT worker drains.

Why here and not in the capture callback: PortAudio's callback must not run
subscribers, and the worker already touches every chunk. The cost is one dot
product and one ``max`` per 32 ms chunk. A meter reading covers what was
drained since the channel's last reading, once that is about ``interval_s``
of audio (~10 readings a second per channel); while the worker
is busy decoding, readings pause and the next one covers the whole backlog
(at most one reading per channel per drain), so a meter never floods the bus.

Thread rules: one ``LevelMeter`` belongs to one STT worker thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from agent_assist.domain import SAMPLE_RATE, AudioChunk, Speaker

__all__ = ["FLOOR_DBFS", "LevelMeter", "Reading", "dbfs"]

FLOOR_DBFS = -100.0
_FLOOR = 10 ** (FLOOR_DBFS / 20)


def dbfs(amplitude: float) -> float:
    """``amplitude`` (linear, 1 = full scale) in dBFS, never below ``FLOOR_DBFS``."""
    return 20.0 * math.log10(max(amplitude, _FLOOR))


@dataclass(frozen=True, slots=True)
class Reading:
    speaker: Speaker
    rms_dbfs: float
    peak_dbfs: float
    position: float  # call time at the end of the audio measured


@dataclass(slots=True)
class _Acc:
    sumsq: float = 0.0
    samples: int = 0
    peak: float = 0.0
    end: float = 0.0


class LevelMeter:
    """Accumulates chunks per channel; ``take`` returns the readings that are due."""

    def __init__(self, interval_s: float = 0.1) -> None:
        # 90 %: chunks come in 32 ms steps, and three of them (96 ms) make a reading
        self.interval_samples = max(1, round(0.9 * interval_s * SAMPLE_RATE))
        self._acc: dict[Speaker, _Acc] = {}

    def add(self, chunk: AudioChunk) -> None:
        samples = chunk.samples
        if not len(samples):
            return
        acc = self._acc.setdefault(chunk.speaker, _Acc())
        acc.sumsq += float(np.dot(samples, samples))
        acc.samples += len(samples)
        acc.peak = max(acc.peak, float(np.max(np.abs(samples))))
        acc.end = max(acc.end, chunk.end)

    def take(self) -> list[Reading]:
        """One reading per channel holding about ``interval_s`` of audio; those reset."""
        out: list[Reading] = []
        for speaker, acc in self._acc.items():
            if acc.samples < self.interval_samples:
                continue
            rms = math.sqrt(acc.sumsq / acc.samples)
            out.append(Reading(speaker, dbfs(rms), dbfs(acc.peak), acc.end))
            self._acc[speaker] = _Acc()
        return out
