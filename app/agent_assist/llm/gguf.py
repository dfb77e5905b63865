"""GGUF files before llama.cpp opens them: the header's metadata, and the memory a model needs.

Why: llama.cpp aborts or prints to stderr on a bad file, and a model too big
for memory can push the agent's PC into swap mid-call, so ``LlamaCppBackend``
checks both first and says what is wrong in words: the file starts with the
GGUF magic and has a readable header, and file size x 1.2 + the KV cache of
each context fits in the memory available.

Thread rules: pure functions and file reads; any thread.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import IO, Any

__all__ = ["GGUF_MAGIC", "BadGGUF", "available_memory", "gguf_metadata", "memory_needed"]

GGUF_MAGIC = b"GGUF"
_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9


class BadGGUF(ValueError):
    """Not a GGUF file (v2+), or its header is damaged or cut short; the message says how."""


def gguf_metadata(path: Path) -> dict[str, Any]:
    """The scalar and string key/values of a GGUF header (arrays become their length).

    Raises ``BadGGUF`` for a file that is not GGUF (v2+) or whose header is cut short.
    """
    with path.open("rb") as f:
        head = f.read(24)
        if head[:4] != GGUF_MAGIC:
            raise BadGGUF(f"it starts with {head[:4]!r}, not {GGUF_MAGIC!r}")
        if len(head) < 24:
            raise BadGGUF("its header is cut short")
        version, _, n_kv = struct.unpack("<IQQ", head[4:])
        if version < 2 or n_kv > 100_000:
            raise BadGGUF(f"unsupported GGUF version {version} or a damaged header")
        meta: dict[str, Any] = {}
        for _ in range(n_kv):
            key = _string(f)
            meta[key] = _value(f, _unpack(f, "<I"))
        return meta


def _unpack(f: IO[bytes], fmt: str) -> Any:
    size = struct.calcsize(fmt)
    raw = f.read(size)
    if len(raw) != size:
        raise BadGGUF("its header is cut short")
    return struct.unpack(fmt, raw)[0]


def _string(f: IO[bytes]) -> str:
    n = _unpack(f, "<Q")
    if n > 1 << 24:
        raise BadGGUF("its header holds an impossible string length")
    return f.read(n).decode("utf-8", "replace")


def _value(f: IO[bytes], kind: int) -> Any:
    if kind in _SCALARS:
        return _unpack(f, _SCALARS[kind])
    if kind == _STRING:
        return _string(f)
    if kind != _ARRAY:
        raise BadGGUF(f"its header has an unknown value type {kind}")
    item, n = _unpack(f, "<I"), _unpack(f, "<Q")
    if item in _SCALARS:
        f.seek(n * struct.calcsize(_SCALARS[item]), os.SEEK_CUR)
    else:
        for _ in range(n):
            _value(f, item)
    return n


def memory_needed(path: Path, meta: dict[str, Any], n_ctx: int, contexts: int = 1) -> int:
    """Bytes to run the model: weights (mapped) x 1.2 + an f16 KV cache of ``n_ctx`` per context."""
    arch = meta.get("general.architecture", "")
    layers, embd = meta.get(f"{arch}.block_count"), meta.get(f"{arch}.embedding_length")
    heads = meta.get(f"{arch}.attention.head_count")
    kv_heads = meta.get(f"{arch}.attention.head_count_kv", heads)
    size = path.stat().st_size
    dims = [v for v in (layers, embd, heads, kv_heads) if isinstance(v, int) and v > 0]
    if len(dims) == 4:
        layers, embd, heads, kv_heads = dims
        kv = 2 * layers * n_ctx * (embd * kv_heads // heads) * 2
    else:
        kv = size // 4  # unknown architecture keys: a rough guess
    return int(size * 1.2) + kv * contexts


def available_memory() -> int | None:
    """Bytes of memory available now (Linux MemAvailable, else free pages), None if unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None
