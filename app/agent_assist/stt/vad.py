"""Streaming voice-activity detection with the Silero VAD that faster-whisper ships.

Why streaming: the live path must know *as audio arrives* whether someone is
talking, so silence costs one tiny ONNX call per 32 ms frame and no decoding.
faster-whisper's own ``get_speech_timestamps`` needs the whole file; here the
same model runs frame batches with its LSTM state (``h``, ``c``) and the 64-sample
context carried between calls, which gives the same probabilities incrementally.

Thread rules: a ``StreamingVad`` belongs to one channel and one thread. The ONNX
session underneath is shared and thread-safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from agent_assist.domain import SAMPLE_RATE

__all__ = ["FRAME_SAMPLES", "FRAME_SECONDS", "SpeechSegmenter", "StreamingVad", "VadOptions"]

FRAME_SAMPLES = 512
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE
_CONTEXT = 64


def _session() -> Any:
    from faster_whisper.vad import get_vad_model

    return get_vad_model().session


class StreamingVad:
    """Speech probability per 32 ms frame, fed any number of samples at a time.

    ``floor_dbfs``: frames quieter than this (RMS) are silence without asking
    the model, and the model's state restarts after them as after silence.
    An idle line (muted mic, no call audio) then costs almost nothing; any
    real voice is far above -60 dBFS.
    """

    def __init__(self, session: Any | None = None, floor_dbfs: float = -60.0) -> None:
        self._session = session if session is not None else _session()
        self._floor = float(10 ** (floor_dbfs / 20))
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)

    def feed(self, samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Return one probability per complete frame now available (maybe none)."""
        data = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        n = len(data) // FRAME_SAMPLES
        self._pending = data[n * FRAME_SAMPLES :].copy()
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        frames = data[: n * FRAME_SAMPLES].reshape(n, FRAME_SAMPLES)
        quiet = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1)) < self._floor
        probs = np.zeros(n, dtype=np.float32)
        i = 0
        while i < n:  # runs of quiet frames reset the state; runs of sound go to the model
            j = i
            while j < n and quiet[j] == quiet[i]:
                j += 1
            if quiet[i]:
                self._h[:] = 0.0
                self._c[:] = 0.0
                self._context[:] = 0.0
            else:
                probs[i:j] = self._run(frames[i:j])
            i = j
        return probs

    def _run(self, frames: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        n = len(frames)
        contexts = np.empty((n, _CONTEXT), dtype=np.float32)
        contexts[0] = self._context
        if n > 1:
            contexts[1:] = frames[:-1, -_CONTEXT:]
        batch = np.ascontiguousarray(np.concatenate([contexts, frames], axis=1), dtype=np.float32)
        probs, self._h, self._c = self._session.run(None, {"input": batch, "h": self._h, "c": self._c})
        self._context = frames[-1, -_CONTEXT:].copy()
        return np.asarray(probs, dtype=np.float32).reshape(-1)


@dataclass(frozen=True, slots=True)
class VadOptions:
    """Tuning knobs of utterance segmentation.

    Attributes:
        threshold: a frame with probability above this starts (or continues) speech.
        neg_threshold: below this a frame counts as silence; between the two the
            previous state holds (hysteresis against flicker).
        min_silence_s: silence that ends an utterance. Lower means faster finals
            but more utterances split at a breath; 0.4 s measured as the balance.
        min_speech_s: shorter blips (a cough, a click) are dropped, never decoded.
        pre_roll_s / post_roll_s: audio kept before speech starts and after it ends,
            so first and last phonemes are not clipped (0.3 s each measured best on
            the sample call: customer WER 9.9% vs 12.2% with 0.2/0.15).
        max_utterance_s: a monologue is cut into finals this long at most, so
            nothing waits for a pause that never comes.
    """

    threshold: float = 0.5
    neg_threshold: float = 0.35
    min_silence_s: float = 0.4
    min_speech_s: float = 0.25
    pre_roll_s: float = 0.3
    post_roll_s: float = 0.3
    max_utterance_s: float = 15.0


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """``continued``: the previous utterance was cut at ``max_utterance_s`` here."""

    at: float
    continued: bool = False


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    """``at`` is the end of speech (before the trailing silence) in call time."""

    at: float
    forced: bool = False


class SpeechSegmenter:
    """Turns frame probabilities into speech start/end decisions (pure logic).

    Times are channel seconds: frame index × 32 ms plus the channel's start.
    """

    def __init__(self, options: VadOptions, start: float = 0.0) -> None:
        self.options = options
        self._t = start
        self.in_speech = False
        self.speech_start = 0.0
        self.last_voiced = start
        self._silence_frames = 0

    @property
    def now(self) -> float:
        return self._t

    @property
    def silence_s(self) -> float:
        """Trailing silence inside the current utterance (0 when not speaking)."""
        return self._silence_frames * FRAME_SECONDS if self.in_speech else 0.0

    def feed(self, probs: npt.NDArray[np.float32]) -> list[SpeechStarted | SpeechEnded]:
        out: list[SpeechStarted | SpeechEnded] = []
        o = self.options
        min_silence_frames = max(1, round(o.min_silence_s / FRAME_SECONDS))
        for p in probs:
            frame_start = self._t
            self._t += FRAME_SECONDS
            if not self.in_speech:
                if p >= o.threshold:
                    self.in_speech = True
                    self.speech_start = frame_start
                    self.last_voiced = self._t
                    self._silence_frames = 0
                    out.append(SpeechStarted(frame_start))
                continue
            if p >= o.neg_threshold:
                self._silence_frames = 0
                self.last_voiced = self._t
            else:
                self._silence_frames += 1
            if self._silence_frames >= min_silence_frames:
                self.in_speech = False
                out.append(SpeechEnded(self.last_voiced))
            elif self._t - self.speech_start >= o.max_utterance_s:
                out.append(SpeechEnded(self._t, forced=True))
                self.speech_start = self._t
                out.append(SpeechStarted(self._t, continued=True))
        return out
