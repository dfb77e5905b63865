"""Sentence embeddings with all-MiniLM-L6-v2 (sentence-transformers, CPU).

The model folder comes from the models manifest (installed and hash-checked),
never from a hub. Vectors are L2-normalised float32, so inner product is
cosine similarity in FAISS.

Thread rules: one ``Embedder`` may be shared; torch serialises its own work.
Loading takes seconds (torch import): load once, off any GUI thread.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agent_assist.models import model_path

__all__ = ["EMBEDDER_ID", "Embedder"]

EMBEDDER_ID = "all-minilm-l6-v2"


class Embedder:
    def __init__(self, path: Path | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar on stderr
        import transformers

        transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        from sentence_transformers import SentenceTransformer

        self.path = path or model_path(EMBEDDER_ID)
        self._model: Any = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        getter = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dim = getter()
        self.dim = int(dim) if dim else 384

    def encode(
        self, texts: list[str], *, batch_size: int = 32, progress: bool = False
    ) -> npt.NDArray[np.float32]:
        vectors = self._model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            show_progress_bar=progress,
            convert_to_numpy=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)
