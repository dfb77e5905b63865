"""Sentence embeddings with all-MiniLM-L6-v2, on the CPU, from the installed model.

The model folder comes from the models manifest (installed and hash-checked),
never from a hub. Vectors are L2-normalised float32, so inner product is cosine
similarity in FAISS. Two backends give the same vectors (cosine 1.000000):

* ``onnx`` (default): the model exported once to ONNX and run by ONNX Runtime
  (``embedder_onnx``); 2-2.5x faster on the 2-core target and no torch import.
* ``torch``: sentence-transformers itself, the reference, and the fallback when
  the export cannot run (``onnx`` package missing).

``Embedder.id`` names the vector space; an index records it and is refused by
an installation whose embedder differs (see ``multi.check_embedder``).

Thread rules: one ``Embedder`` may be shared by threads. Loading takes a second
(ONNX) or several (torch import): load once, off any GUI thread.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from agent_assist.models import model_path

__all__ = ["EMBEDDER_ID", "Embedder"]

EMBEDDER_ID = "all-minilm-l6-v2"
log = logging.getLogger(__name__)

Backend = Literal["auto", "onnx", "torch"]


class Embedder:
    def __init__(
        self, path: Path | None = None, *, backend: Backend = "auto", threads: int | None = None
    ) -> None:
        self.id = EMBEDDER_ID
        self.path = path or model_path(EMBEDDER_ID)
        self._onnx: Any = None
        self._model: Any = None
        if backend in ("auto", "onnx"):
            try:
                from agent_assist.knowledge.embedder_onnx import OnnxEncoder

                self._onnx = OnnxEncoder(self.path, threads=threads)
            except ImportError as exc:
                if backend == "onnx":
                    raise
                log.warning("ONNX export unavailable (%s); embedding with PyTorch", exc)
        if self._onnx is not None:
            self.backend = "onnx"
            self.dim = int(self._onnx.dim)
            return
        self.backend = "torch"
        self._model = self._load_torch(threads)
        getter = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dim = getter()
        self.dim = int(dim) if dim else 384

    def _load_torch(self, threads: int | None) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar on stderr
        import transformers

        transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        from sentence_transformers import SentenceTransformer

        if threads:
            import torch

            torch.set_num_threads(threads)
        return SentenceTransformer(str(self.path), device="cpu", local_files_only=True)

    def encode(self, texts: list[str], *, batch_size: int = 16) -> npt.NDArray[np.float32]:
        """One L2-normalised row per text, in order."""
        if self._onnx is not None:
            vectors: Any = self._onnx.encode(texts, batch_size=batch_size)
        else:
            vectors = self._model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)
