"""all-MiniLM-L6-v2 through ONNX Runtime: the sentence-transformers vectors, or an int8 copy, fast.

Why: embedding is nearly all of a pack build and a fixed cost of every live
query. On the 2-core target PC, ONNX Runtime ran the exported model 2-2.5x
faster than PyTorch with identical vectors (cosine 1.000000 on every chunk of
the example pack), and a query process that never imports torch starts in a
fraction of the time and memory. The graph is exported once from the installed
(hash-checked) safetensors with ``torch.onnx`` and cached beside them in
``onnx/model.onnx``; ``source.json`` records what it came from, so a changed
model is exported again. It is exported with the model's *eager* attention:
the default (SDPA) export adds mask handling (``Where``/``IsNaN`` over every
attention matrix) that made the same vectors up to 20% slower, and its int8
copy ~25% slower. Tokenisation is the model's own ``tokenizer.json`` (Hugging Face
``tokenizers``); pooling is the model's mean pooling and L2 normalisation, as
its ``modules.json`` prescribes.

``precision="int8"``: the exported graph with its MatMul weights quantised to
int8 (``onnxruntime.quantization.quantize_dynamic``: signed weights, one scale
per output channel, activations quantised per batch at run time), cached as
``onnx/model-int8.onnx`` with ``model-int8.json`` naming its fp32 source, the
quantisation settings and the ONNX Runtime version, so it is made again when
any of them changes. Measured on the 2-core dev PC (AVX-512 VNNI): a pack
build 2.1x faster than fp32 (6.2 vs 3.0 MB of text per minute) at cosine
0.979-1.0 (mean 0.994) to the fp32 vectors, with the same retrieval quality
(``benchmarks/pack_bench.py``). Per-tensor weight scales lost accuracy
(cosine down to 0.87), ``reduce_range`` lost more, and unsigned weights ran at
fp32 speed. Because the activation scale is per batch, a text's int8 vector
moves slightly with its batch mates (cosine >= 0.985 between a text embedded
alone and in a batch, as a query is; the retrieval figures include this);
vectors of the two precisions are different spaces (``embedder.Embedder.id``).
On a CPU without VNNI, ONNX Runtime's int8 kernels can saturate and run
slower; this was not measured here (``--precision fp32`` is the way out).

Thread rules: ``OnnxEncoder.encode`` may be called from several threads (an
ONNX Runtime session is thread-safe); export and quantisation write a
temporary file and rename it, so two processes making one at once both end
with a whole file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = ["OnnxEncoder", "Precision", "ensure_int8", "ensure_onnx"]

Precision = Literal["int8", "fp32"]
ONNX_NAME = "onnx/model.onnx"
INT8_NAME = "onnx/model-int8.onnx"
QUANTIZATION: dict[str, Any] = {
    "weights": "QInt8",
    "per_channel": True,
    "reduce_range": False,
    "ops": ["MatMul", "Gemm"],
}
"""The int8 recipe (see the module doc for why); part of the int8 graph's stamp."""


def _source_stamp(model_dir: Path) -> dict[str, Any]:
    weights = model_dir / "model.safetensors"
    stat = weights.stat()
    return {
        "weights": weights.name,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "opset": 17,
        "attention": "eager",
    }


def _cached(target: Path, stamp_path: Path, stamp: dict[str, Any], make: Any) -> Path:
    """``target`` if ``stamp_path`` holds ``stamp``, else ``make(tmp)`` renamed onto it, then stamped."""
    with contextlib.suppress(OSError, ValueError):
        if target.is_file() and json.loads(stamp_path.read_text()) == stamp:
            return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".make-", suffix=".onnx", dir=target.parent)
    os.close(fd)
    try:
        make(Path(tmp_name))
        os.replace(tmp_name, target)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    stamp_path.write_text(json.dumps(stamp))
    return target


def ensure_onnx(model_dir: Path) -> Path:
    """The exported ONNX graph of ``model_dir``, exporting it first if missing or stale."""
    target = model_dir / ONNX_NAME
    stamp = _source_stamp(model_dir)
    return _cached(target, target.parent / "source.json", stamp, lambda tmp: _export(model_dir, tmp))


def ensure_int8(model_dir: Path) -> Path:
    """The int8 graph of ``model_dir``, quantised from ``ensure_onnx`` first if missing or stale.

    Stale means: the fp32 export, the quantisation recipe or the ONNX Runtime
    version differs from those it was made with (a second or two to redo).
    """
    import onnxruntime

    source = ensure_onnx(model_dir)
    target = model_dir / INT8_NAME
    stamp = {
        "source": _source_stamp(model_dir),
        "quantization": QUANTIZATION,
        "onnxruntime": onnxruntime.__version__,
    }
    stamp_path = target.with_suffix(".json")
    return _cached(target, stamp_path, stamp, lambda tmp: _quantize(source, tmp))


class _NoPreprocessAdvice(logging.Filter):
    """Drops the quantiser's "consider pre-processing" warning (it logs on the root logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "onnxruntime" not in record.pathname or record.levelno > logging.WARNING


def _quantize(source: Path, out: Path) -> None:
    """Dynamic int8 quantisation of ``source``'s MatMul weights (``QUANTIZATION``) into ``out``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quiet = _NoPreprocessAdvice()
    logging.getLogger().addFilter(quiet)
    try:
        quantize_dynamic(
            str(source),
            str(out),
            op_types_to_quantize=list(QUANTIZATION["ops"]),
            weight_type=QuantType.QInt8,
            per_channel=bool(QUANTIZATION["per_channel"]),
            reduce_range=bool(QUANTIZATION["reduce_range"]),
        )
    finally:
        logging.getLogger().removeFilter(quiet)


def _export(model_dir: Path, out: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import torch
    import transformers
    from transformers import AutoModel

    transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    class _Encoder(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    model = AutoModel.from_pretrained(
        str(model_dir),
        local_files_only=True,
        attn_implementation="eager",  # see the module doc
    ).eval()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = tuple(torch.ones((2, 8), dtype=torch.int64) for _ in names)
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notes
        torch.onnx.export(
            _Encoder(model),
            example,
            str(out),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


class OnnxEncoder:
    """Tokenise, run the exported graph (fp32 or int8), mean-pool and normalise."""

    def __init__(
        self, model_dir: Path, *, threads: int | None = None, precision: Precision = "fp32"
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        self.max_tokens = int(config.get("max_seq_length", 256))
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self.max_tokens)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(2, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        graph = ensure_int8(model_dir) if precision == "int8" else ensure_onnx(model_dir)
        self.precision = precision
        self._session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self.dim = int(self._session.get_outputs()[0].shape[-1] or 384)

    def encode(self, texts: list[str], batch_size: int = 16) -> npt.NDArray[np.float32]:
        """L2-normalised vectors, one row per text, in input order.

        Texts are batched by token length (as sentence-transformers does), so a
        batch pads little.
        """
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for r, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[r, :n] = encodings[i].ids
                mask[r, :n] = 1
            hidden = self._session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            summed = (hidden * mask[..., None]).sum(axis=1)
            pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[rows] = pooled
        return out
