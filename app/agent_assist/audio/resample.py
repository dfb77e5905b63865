"""Streaming conversion of any rate/channel layout to 16 kHz mono float32.

Why a *streaming* resampler: files are read and devices deliver audio in
blocks. Resampling each block on its own restarts the filter at every block
edge, which adds a click (and drifts the sample count) every 20 ms. soxr's
``ResampleStream`` keeps the filter state between blocks, so the output is the
same as resampling the whole recording at once, and ``flush`` returns the
filter's tail at the end.

Thread rules: a ``StreamResampler`` holds per-stream state and belongs to one
producer thread (a replay thread or one PortAudio callback); the free
functions are pure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import soxr

from agent_assist.domain import SAMPLE_RATE, Speaker

__all__ = ["StreamResampler", "mix_matrix", "resample", "to_float32", "to_mono"]

F32 = npt.NDArray[np.float32]


def to_float32(block: npt.NDArray[np.generic]) -> F32:
    """Samples as float32 in [-1, 1]; integer PCM is scaled by its full range."""
    if np.issubdtype(block.dtype, np.floating):
        return np.asarray(block, dtype=np.float32)
    if np.issubdtype(block.dtype, np.integer):
        info = np.iinfo(block.dtype.type)  # type: ignore[type-var]
        scale = float(-info.min) if info.min < 0 else (info.max + 1) / 2.0
        offset = 0.0 if info.min < 0 else scale
        return ((block.astype(np.float32) - offset) / scale).astype(np.float32)
    raise TypeError(f"unsupported sample type {block.dtype}")


def to_mono(block: npt.NDArray[np.generic]) -> F32:
    """Average the channels of a ``(frames, channels)`` block; 1-D passes through."""
    data = to_float32(block)
    if data.ndim == 1:
        return data
    if data.shape[1] == 1:
        return np.ascontiguousarray(data[:, 0])
    return np.asarray(data.mean(axis=1, dtype=np.float32), dtype=np.float32)


def mix_matrix(channel_map: Sequence[Speaker | None]) -> tuple[tuple[Speaker, ...], F32]:
    """The speakers a channel map yields and the matrix that mixes them.

    ``channel_map[i]`` is the speaker file/device channel ``i`` belongs to, or
    ``None`` to drop it. Channels mapped to the same speaker are averaged, so
    ``block @ matrix`` turns ``(frames, channels)`` into ``(frames, speakers)``
    with speakers in order of first appearance.
    """
    speakers = tuple(dict.fromkeys(s for s in channel_map if s is not None))
    matrix = np.zeros((len(channel_map), len(speakers)), dtype=np.float32)
    for column, speaker in enumerate(speakers):
        rows = [i for i, s in enumerate(channel_map) if s == speaker]
        matrix[rows, column] = 1.0 / len(rows)
    return speakers, matrix


class StreamResampler:
    """Block-by-block resampling of ``channels`` channels to ``out_rate``.

    ``process`` takes ``(frames,)`` for one channel or ``(frames, channels)``
    and returns the same layout at the new rate; output lags input by the
    filter delay (a few ms), which ``flush`` releases at the end. At equal
    rates it is an exact pass-through.
    """

    def __init__(
        self, in_rate: float, channels: int = 1, out_rate: int = SAMPLE_RATE, quality: str = "HQ"
    ) -> None:
        if in_rate <= 0 or channels < 1:
            raise ValueError(f"bad stream: {in_rate} Hz, {channels} channels")
        self.in_rate = float(in_rate)
        self.out_rate = out_rate
        self.channels = channels
        self.passthrough = self.in_rate == float(out_rate)
        self._stream: soxr.ResampleStream | None = None
        if not self.passthrough:
            self._stream = soxr.ResampleStream(
                self.in_rate, out_rate, channels, dtype="float32", quality=quality
            )

    def process(self, block: npt.NDArray[np.generic]) -> F32:
        if self._stream is None:  # a copy: callers may reuse their buffer (PortAudio does)
            return np.array(to_float32(block), dtype=np.float32, order="C", copy=True)
        data = np.ascontiguousarray(to_float32(block))
        return np.asarray(self._stream.resample_chunk(data), dtype=np.float32)

    def flush(self) -> F32:
        """The filter's tail; the resampler starts afresh afterwards."""
        shape = (0,) if self.channels == 1 else (0, self.channels)
        empty = np.zeros(shape, dtype=np.float32)
        if self._stream is None:
            return empty
        tail = np.asarray(self._stream.resample_chunk(empty, last=True), dtype=np.float32)
        self._stream.clear()
        return tail


def resample(audio: npt.NDArray[np.generic], in_rate: float) -> F32:
    """One-shot: mono or ``(frames, channels)`` audio at ``in_rate`` to 16 kHz mono."""
    mono = to_mono(audio)
    stream = StreamResampler(in_rate, 1)
    return np.concatenate([stream.process(mono), stream.flush()])
