"""Resolve a model name to an installed, verified folder and load the transcriber."""

from __future__ import annotations

from pathlib import Path

from agent_assist.stt.whisper import WhisperTranscriber

__all__ = ["load_transcriber"]


def load_transcriber(
    model: str, *, language: str | None = "en", cpu_threads: int = 1
) -> WhisperTranscriber:
    """``model``: an alias (tiny.en, base), a manifest id, or a model folder path."""
    path = Path(model)
    if not path.is_dir():
        from agent_assist.models import stt_model_for

        path = stt_model_for(model)
    return WhisperTranscriber(path, language=language, cpu_threads=cpu_threads)
