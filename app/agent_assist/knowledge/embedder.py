"""Sentence embeddings with all-MiniLM-L6-v2, on the CPU, from the installed model.

The model folder comes from the models manifest (installed and hash-checked),
never from a hub. Vectors are L2-normalised float32, so inner product is cosine
similarity in FAISS. Backends and precisions:

* ``onnx`` (default): the model exported once to ONNX and run by ONNX Runtime
  (``embedder_onnx``); 2-2.5x faster than torch on the 2-core target and no
  torch import. ``precision="fp32"`` (the default) gives the exact vectors of
  sentence-transformers (cosine 1.000000); ``precision="int8"`` runs an
  int8-quantised copy of the graph: ~2x faster again, at cosine ~0.994 to the
  exact vectors and the same retrieval quality (measured; see
  ``embedder_onnx``).
* ``torch``: sentence-transformers itself, the reference, fp32 only, and the
  fallback when the export cannot run (``onnx`` package missing).

Who uses which: pack indexes are built at ``BUILD_PRECISION`` (int8: it is
what brings a build over 5 MB of text per minute on the 2-core target) and
queried at the precision they were built with; everything else (the grounding
check, intents, checklists) keeps the exact fp32 vectors its thresholds were
measured on.

``Embedder.id`` names the vector space: ``all-minilm-l6-v2`` for the exact
vectors (the id every index had before int8 existed, so those indexes stay
valid) and ``all-minilm-l6-v2+onnx-int8`` for the int8 ones. An index records
the id it was built with. Vectors of the two precisions never meet in one
index or one search: an incremental build only reuses vectors of its own id
(``index.known_vectors``), and a query is always embedded by the precision its
index was built with (``for_index``), so packs built before int8 keep working
without a rebuild; an index whose id this installation cannot produce is
refused with the rebuild command (``multi.check_embedder``).

Thread rules: one ``Embedder`` may be shared by threads (``at``/``for_index``
load a sibling once, under a lock). Loading takes a second (ONNX; the first
use after an install or upgrade also exports/quantises, seconds) or several
(torch import): load once, off any GUI thread.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from agent_assist.knowledge.embedder_onnx import Precision
from agent_assist.models import model_path

__all__ = [
    "BUILD_PRECISION",
    "EMBEDDER_ID",
    "EMBEDDER_IDS",
    "MODEL_ID",
    "Embedder",
    "Precision",
    "embedder_id",
]

MODEL_ID = "all-minilm-l6-v2"
"""The model's id in the models manifest (``models install``, ``model_path``)."""
BUILD_PRECISION: Precision = "int8"
"""The precision ``index.build_index`` embeds a pack at unless told otherwise (module doc)."""
EMBEDDER_IDS: dict[Precision, str] = {"fp32": MODEL_ID, "int8": f"{MODEL_ID}+onnx-int8"}
"""Vector-space id per precision; fp32 keeps the model id that older indexes record."""
EMBEDDER_ID = EMBEDDER_IDS["fp32"]
"""The id of ``Embedder()`` (fp32, the default)."""
log = logging.getLogger(__name__)

Backend = Literal["auto", "onnx", "torch"]


def embedder_id(precision: Precision) -> str:
    return EMBEDDER_IDS[precision]


class Embedder:
    def __init__(
        self,
        path: Path | None = None,
        *,
        backend: Backend = "auto",
        threads: int | None = None,
        precision: Precision = "fp32",
    ) -> None:
        """``precision`` int8 needs ONNX: with ``backend="auto"`` and no ONNX, this
        falls back to torch at fp32 (``id`` says so); ``backend="torch"`` is fp32 only."""
        if backend == "torch" and precision != "fp32":
            raise ValueError("the torch backend embeds at fp32 only")
        self.path = path or model_path(MODEL_ID)
        self.threads = threads
        self._onnx: Any = None
        self._model: Any = None
        self._siblings: dict[str, Embedder | None] = {}
        self._lock = threading.Lock()
        if backend in ("auto", "onnx"):
            try:
                from agent_assist.knowledge.embedder_onnx import OnnxEncoder

                self._onnx = OnnxEncoder(self.path, threads=threads, precision=precision)
            except ImportError as exc:
                if backend == "onnx":
                    raise
                log.warning("ONNX export unavailable (%s); embedding with PyTorch", exc)
        if self._onnx is not None:
            self.backend = "onnx"
            self.precision: Precision = precision
            self.id = embedder_id(precision)
            self.dim = int(self._onnx.dim)
            return
        self.backend = "torch"
        self.precision = "fp32"
        self.id = embedder_id("fp32")
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

    def at(self, precision: Precision) -> Embedder | None:
        """This model at ``precision``: ``self``, or a sibling loaded on first need (same
        path and threads, then kept); None when it cannot run here (int8 without ONNX)."""
        if precision == self.precision:
            return self
        with self._lock:
            if precision not in self._siblings:
                self._siblings[precision] = self._sibling(precision)
            return self._siblings[precision]

    def for_index(self, index_embedder: object) -> Embedder | None:
        """The embedder for queries to an index built by ``index_embedder`` (its recorded id).

        ``self`` or its sibling at the index's precision (``at``); None for
        another model, or int8 without ONNX (the caller refuses the index with
        the rebuild command).

        Why follow the index rather than refuse it: an index built before int8
        existed (or with ``--precision fp32``) then keeps working with no
        action, where refusing would turn an agent's knowledge cards off until
        a supervisor rebuilt every pack. Costs: a second model in memory (the
        int8 one: ~50 MB RSS, 0.1 s to load) beside the fp32 embedder the
        grounding check and intents use, and when packs of both precisions
        are installed their similarities, merged in one ranking by
        ``MultiPackSearcher``, differ by ~0.01 -- far below what separates a
        right card from a wrong one.
        """
        precision = next((p for p, i in EMBEDDER_IDS.items() if i == index_embedder), None)
        return None if precision is None else self.at(precision)

    def _sibling(self, precision: Precision) -> Embedder | None:
        try:
            return Embedder(self.path, backend="onnx", threads=self.threads, precision=precision)
        except Exception as exc:  # no ONNX Runtime, a failed quantisation, a full disk
            log.warning("cannot embed at %s here (%s)", precision, exc)
            return None

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
