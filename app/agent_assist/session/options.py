"""``EngineOptions``: what one engine runs with, as plain values (the CLI maps its flags here,
the app its settings)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_STT_MODEL", "LOAD_WAIT_S", "SUMMARY_WAIT_S", "EngineOptions"]

DEFAULT_STT_MODEL = "tiny.en"
LOAD_WAIT_S = 10.0
"""How long the CLI lets an in-process language model finish loading before capture."""
SUMMARY_WAIT_S = 90.0
"""How long a call's end waits for its summary and coaching note."""


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """The models and features of an ``AssistEngine``.

    Attributes:
        stt_model: speech model: an alias (tiny.en, base), a manifest id or a
            CTranslate2 model folder.
        language: spoken language code, or "auto" (multilingual models).
        threads: CPU threads for speech recognition.
        llm: language model id (``models list``) or chat .gguf path; None = the
            default; with ``llm_server`` the model name to ask the server for.
        llm_server: an OpenAI-compatible server URL instead of in-process generation.
        use_llm: draft reply suggestions and the end-of-call summary at all.
        knowledge: show knowledge cards (installed packs, or ``pack_index``).
        pack_index: search this built index folder instead of the installed packs.
        store: record calls in the call history.
        partials: decode tentative text while someone speaks.
        install_example: with no pack installed, install the bundled example pack
            (in the background) first, as ``demo`` does.
        summary_wait_s: how long a call's end waits for the summary and note.
        levels: publish ``AudioLevel`` events for level meters.
        store_audio: keep each call's audio as a WAV under ``<data>/audio/``
            (``privacy.store_audio``; needs ``store``). Off: no audio touches the disk.
        retention_days: delete calls (rows, search entries, audio) that started
            more than this many days ago, at ``load`` and daily
            (``privacy.retention_days``). 0 keeps them: the default here, so an
            engine not given the setting (the CLI) never deletes history.
    """

    stt_model: str = DEFAULT_STT_MODEL
    language: str = "en"
    threads: int = 1
    llm: str | None = None
    llm_server: str | None = None
    use_llm: bool = True
    knowledge: bool = True
    pack_index: Path | None = None
    store: bool = True
    partials: bool = True
    install_example: bool = False
    summary_wait_s: float = SUMMARY_WAIT_S
    levels: bool = True
    store_audio: bool = False
    retention_days: int = 0
