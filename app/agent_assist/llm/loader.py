"""``load_backend``: one call from a setting ("a model id, a .gguf path or a server URL")
to an ``LLMBackend``.

Why: the CLI, the benchmarks and the app all choose a generator the same way:
``--llm-server URL`` means a shared OpenAI-compatible server, otherwise a model
from ``models/manifest.toml`` (by id or alias; the default llm when none is
given, SmolLM2-135M-Instruct) or any chat GGUF file the user or IT supplies.
A model that is unknown, not installed or damaged raises ``BackendUnavailable``
carrying the manifest's message and fix (``agent-assist models install ...``).

Thread rules: cheap (a few ``stat`` calls, no model load and no network), safe
from any thread. The backend it returns loads (``LlamaCppBackend.load``) or
probes (``OpenAIHttpBackend.probe``) on first use; call ``probe()`` on a worker
at start-up to know its state early.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from agent_assist.errors import ModelError
from agent_assist.llm.backend import BackendUnavailable, LLMBackend
from agent_assist.llm.http_openai import OpenAIHttpBackend, SchemaStyle
from agent_assist.llm.llama_local import LlamaCppBackend
from agent_assist.models import Manifest, load_manifest, model_path

__all__ = ["API_KEY_ENV", "load_backend", "resolve_gguf"]

API_KEY_ENV = "AGENT_ASSIST_LLM_API_KEY"  # so the key need not sit in a config file or a command line
_FROM_FILE = "from-file"


def load_backend(
    spec: str | None = None,
    *,
    server_url: str | None = None,
    api_key: str | None = None,
    schema_style: SchemaStyle = "llama.cpp",
    connect_timeout: float = 3.0,
    read_timeout: float = 20.0,
    n_ctx: int = 2048,
    n_threads: int = 1,
    seed: int = 0,
    chat_format: str | None = _FROM_FILE,
    manifest: Manifest | None = None,
    cache_slots: Sequence[str] = (),
) -> LLMBackend:
    """The backend for ``spec`` (model id, alias or .gguf path; None: the default llm).

    With ``server_url`` the backend is HTTP and ``spec`` is the model name sent to
    the server (None: whatever it serves). ``chat_format`` defaults to the
    manifest's ``chat_template`` for a manifest model and to the GGUF's own
    template (None) for a file; pass a llama-cpp-python format name to override.
    ``cache_slots``: extra in-process contexts (``LlamaCppBackend``); a live call
    passes ``(SUMMARY_SLOT,)`` so its summary prompt can be warmed.
    """
    if server_url:
        return OpenAIHttpBackend(
            server_url,
            model=spec or "default",
            api_key=api_key or os.environ.get(API_KEY_ENV) or None,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            schema_style=schema_style,
        )
    path, name, template = resolve_gguf(spec, manifest=manifest)
    return LlamaCppBackend(
        path,
        chat_format=template if chat_format == _FROM_FILE else chat_format,
        n_ctx=n_ctx,
        n_threads=n_threads,
        seed=seed,
        name=name,
        cache_slots=cache_slots,
    )


def resolve_gguf(spec: str | None, *, manifest: Manifest | None = None) -> tuple[Path, str, str | None]:
    """(GGUF file, model name to record, chat format) for a model id/alias or a path."""
    if spec is not None and (spec.lower().endswith(".gguf") or os.sep in spec or "/" in spec):
        path = Path(spec).expanduser()
        return _single_gguf(path), path.name, None
    try:
        manifest = manifest or load_manifest()
        model = manifest.get(spec) if spec else manifest.default("llm")
        if model.role != "llm":
            raise ModelError(
                f"'{spec}' is a {model.noun}, not a language model",
                fix="run `agent-assist models list` to see the language models (role llm)",
            )
        path = model_path(model.id, manifest=manifest)
    except ModelError as err:
        raise BackendUnavailable(err.message, fix=err.fix) from None
    return _single_gguf(path), model.id, model.chat_template


def _single_gguf(path: Path) -> Path:
    """``path`` itself, or the one .gguf file inside a folder (the local-llm case)."""
    if not path.is_dir():
        return path  # LlamaCppBackend.load reports a missing or non-GGUF file
    found = sorted(path.glob("*.gguf"))
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        raise BackendUnavailable(
            f"folder {path} must hold exactly one .gguf file (found: {names})",
            fix="give the path of the .gguf file itself",
        )
    return found[0]
