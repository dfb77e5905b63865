"""Audio as the engine sees it: mono float32 at 16 kHz, tagged with a speaker."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16_000
"""Every chunk past the audio room is 16 kHz mono float32 in [-1, 1]."""


class Speaker(enum.StrEnum):
    """Who a channel carries. ``MIXED`` is single-device mode (both voices)."""

    AGENT = "agent"
    CUSTOMER = "customer"
    MIXED = "mixed"


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """A run of samples from one channel.

    ``start`` is the position of the first sample in seconds of *call time*
    (samples since the channel opened / 16 kHz), so it is exact under replay
    and independent of the wall clock.
    """

    speaker: Speaker
    samples: npt.NDArray[np.float32]
    start: float

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    @property
    def end(self) -> float:
        return self.start + self.duration
