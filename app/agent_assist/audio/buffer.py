"""A bounded chunk queue per channel, so audio never piles up without limit.

Two policies, chosen by the source kind:

* ``block`` (replay): ``put`` waits for room, so a fast replay runs exactly as
  fast as transcription consumes it.
* ``drop_oldest`` (live devices): ``put`` never waits; when full the oldest chunk
  is discarded and counted in ``dropped_seconds``. A healthy pipeline never drops.

Thread rules: any number of producers and one consumer; all methods are
thread-safe. ``wait_for_data`` lets the consumer sleep on a condition instead of
polling.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Literal

from agent_assist.domain import AudioChunk

__all__ = ["ChunkBuffer"]

Policy = Literal["block", "drop_oldest"]


class ChunkBuffer:
    def __init__(self, max_seconds: float = 30.0, policy: Policy = "drop_oldest") -> None:
        self.max_seconds = max_seconds
        self.policy: Policy = policy
        self._chunks: deque[AudioChunk] = deque()
        self._seconds = 0.0
        self._closed = False
        self.dropped_seconds = 0.0
        self._cond = threading.Condition()

    @property
    def seconds(self) -> float:
        """Audio currently queued (the consumer's backlog)."""
        with self._cond:
            return self._seconds

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed

    def put(self, chunk: AudioChunk) -> None:
        with self._cond:
            if self.policy == "block":
                while self._full_for(chunk) and self._chunks and not self._closed:
                    self._cond.wait()
            if self._closed:
                return  # the call is over (possibly while we waited)
            while self._full_for(chunk) and self._chunks:
                old = self._chunks.popleft()
                self._seconds -= old.duration
                self.dropped_seconds += old.duration
            self._chunks.append(chunk)
            self._seconds += chunk.duration
            self._cond.notify_all()

    def _full_for(self, chunk: AudioChunk) -> bool:
        return self._seconds + chunk.duration > self.max_seconds

    def get_all(self, max_seconds: float | None = None) -> list[AudioChunk]:
        """Take what is queued (possibly nothing) without waiting.

        ``max_seconds`` bounds the audio taken (at least one chunk), so a
        consumer can work through a backlog in small steps.
        """
        with self._cond:
            if max_seconds is None:
                chunks = list(self._chunks)
                self._chunks.clear()
                self._seconds = 0.0
            else:
                chunks, taken = [], 0.0
                while self._chunks and (not chunks or taken + self._chunks[0].duration <= max_seconds):
                    chunk = self._chunks.popleft()
                    taken += chunk.duration
                    chunks.append(chunk)
                self._seconds = max(0.0, self._seconds - taken)
            self._cond.notify_all()
            return chunks

    def close(self) -> None:
        """No more puts; wakes every waiter."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def drained(self) -> bool:
        """Closed and empty: the consumer has seen the last chunk."""
        with self._cond:
            return self._closed and not self._chunks

    def wait_for_data(self, timeout: float | None = None, min_seconds: float = 0.0) -> bool:
        """Block until audio is queued (at least ``min_seconds`` of it, if given,
        or ``timeout`` passes with some queued) or the buffer closes. True if so.

        ``min_seconds`` lets the consumer work in batches: fewer wake-ups and
        fewer VAD calls per second of audio, which is most of the idle cost.
        """
        with self._cond:

            def enough() -> bool:
                if self._closed:
                    return True
                return self._seconds >= min_seconds if min_seconds > 0 else bool(self._chunks)

            ready = self._cond.wait_for(enough, timeout)
            if not ready and min_seconds > 0:
                ready = self._cond.wait_for(lambda: bool(self._chunks) or self._closed)
            return ready
