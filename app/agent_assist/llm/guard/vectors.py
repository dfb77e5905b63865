"""Sentence vectors for the guard, cached: the same snippets come back turn after turn.

``SentenceEncoder`` is what the guard needs of ``knowledge.embedder.Embedder``
(a fake with ``id`` and ``encode`` serves in tests). ``cached_vectors`` keeps the
rows of the last 4096 texts per encoder id, so checking a second draft against
the same knowledge cards embeds only the draft.

Thread rules: the cache is locked; any thread. Two threads missing the same
text may both embed it (harmless). The encoder must be safe to share.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["SentenceEncoder", "cached_vectors", "clear_cache"]


class SentenceEncoder(Protocol):
    """What the guard needs of ``knowledge.embedder.Embedder`` (fakes welcome in tests)."""

    id: str

    def encode(self, texts: list[str], *, batch_size: int = 16) -> npt.NDArray[np.float32]: ...


class _VectorCache:
    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, str], npt.NDArray[np.float32]] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def vectors(self, encoder: SentenceEncoder, texts: list[str]) -> npt.NDArray[np.float32]:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if (encoder.id, t) not in self._items))
        if missing:
            fresh = encoder.encode(missing)
            with self._lock:
                for text, row in zip(missing, fresh, strict=True):
                    self._items[(encoder.id, text)] = row
                    self._items.move_to_end((encoder.id, text))
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
        with self._lock:
            rows = [self._items.get((encoder.id, t)) for t in texts]
            for t in texts:
                if (encoder.id, t) in self._items:
                    self._items.move_to_end((encoder.id, t))
        if any(r is None for r in rows):  # evicted meanwhile by another thread
            return encoder.encode(texts)
        return np.stack([r for r in rows if r is not None])


_CACHE = _VectorCache()


def cached_vectors(encoder: SentenceEncoder, texts: list[str]) -> npt.NDArray[np.float32]:
    """One L2-normalised row per text, from the shared cache when seen before."""
    return _CACHE.vectors(encoder, texts)


def clear_cache() -> None:
    """Forget every cached vector (benchmarks measure the cold case with it)."""
    _CACHE.clear()
