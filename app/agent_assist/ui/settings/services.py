"""What the Settings page asks of the engine: device lists, a level test, model checks, a probe.

Why a table of plain callables: the page stays testable with fakes (a verifier
that waits on an event proves the GUI thread is not blocked), and the real
implementations live here in one place. No Qt in this module.

Thread rules: every function here may block (PortAudio, ``pactl``, hashing
hundreds of MB, a network probe); the page calls them only on its job runner's
worker threads, never on the GUI thread. Errors the user can fix come back as
``UserError`` (the page shows the message and the fix).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["Check", "ModelChoice", "SettingsServices", "default_services"]

LevelCallback = Callable[[float], None]  # dBFS, about ten times a second


@dataclass(frozen=True)
class ModelChoice:
    id: str
    label: str
    installed: bool


@dataclass(frozen=True)
class Check:
    """The outcome of a verification or connection test, in words for the page."""

    ok: bool
    text: str


@dataclass(frozen=True)
class SettingsServices:
    list_devices: Callable[[], list[str]]
    level_test: Callable[[str, str, float, LevelCallback], Check]  # device, "agent"/"customer", seconds
    speech_models: Callable[[], list[ModelChoice]]
    llm_models: Callable[[], list[ModelChoice]]
    verify_model: Callable[[str], Check]
    test_connection: Callable[[str, str, str], Check]  # backend, server url, model


def _list_devices() -> list[str]:
    from agent_assist.audio.devices import list_input_devices

    names = [d.name for d in list_input_devices()]
    try:
        from agent_assist.audio.loopback_source import list_outputs

        names += [f"loopback:{o.label}" for o in list_outputs()]
    except Exception:  # soundcard missing or no sound server: inputs are enough
        pass
    return names


def _dbfs(samples: np.ndarray) -> float:
    if not len(samples):
        return -100.0
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return max(-100.0, 20 * math.log10(rms)) if rms > 0 else -100.0


def _level_test(device: str, role: str, seconds: float, on_level: LevelCallback) -> Check:
    from agent_assist.audio.device_source import DeviceSource
    from agent_assist.domain import AudioChunk, DeviceState, Speaker

    peak = [-100.0]
    trouble: list[str] = []

    class _Sink:
        def put(self, chunk: AudioChunk) -> None:
            level = _dbfs(chunk.samples)
            peak[0] = max(peak[0], level)
            on_level(level)

        def status(self, speaker: Speaker, device: str, state: DeviceState, detail: str = "") -> None:
            if state == DeviceState.LOST:
                trouble.append(detail or "the device stopped")

        def end(self, speaker: Speaker) -> None:
            pass

    name = device or None
    if role == "customer" and name:
        source = DeviceSource.from_names(customer=name, block_seconds=0.1)
    else:
        source = DeviceSource({Speaker.MIXED: name}, block_seconds=0.1)
    source.start(_Sink())
    try:
        threading.Event().wait(seconds)
    finally:
        source.stop()
    if trouble:
        return Check(False, f"The device stopped during the test: {trouble[0]}")
    if peak[0] <= -90:
        return Check(False, "No sound at all: is the device muted, or the wrong one?")
    if peak[0] < -50:
        return Check(True, f"Very quiet (peak {peak[0]:.0f} dB): speak up or raise the input volume.")
    return Check(True, f"Working (peak {peak[0]:.0f} dB).")


def _models(roles: tuple[str, ...]) -> list[ModelChoice]:
    from agent_assist.models import load_manifest
    from agent_assist.models.store import install_dir, quick_problems

    choices = []
    for spec in load_manifest().models:
        if spec.role not in roles:
            continue
        if spec.kind == "local":
            installed = spec.path is not None and spec.path.exists()
        else:
            installed = not quick_problems(spec, install_dir(spec))
        name = spec.aliases[0] if spec.aliases else spec.id
        state = "" if installed else " (not installed)"
        choices.append(ModelChoice(name, f"{name}{state}", installed))
    return choices


def _verify_model(model_id: str) -> Check:
    from agent_assist.models import verify

    report = verify(model_id)[0]
    if report.ok:
        return Check(True, f"Verified: every file of {report.id} matches its checksum.")
    problems = "; ".join(report.problems)
    return Check(
        False,
        f"{report.status.capitalize()}: {problems}." + (f" Fix: {report.fix}" if report.fix else ""),
    )


def _test_connection(backend: str, url: str, model: str) -> Check:
    from agent_assist.llm.backend import BackendState, BackendUnavailable
    from agent_assist.llm.http_openai import OpenAIHttpBackend
    from agent_assist.llm.loader import resolve_gguf

    if backend == "local":
        path, name, _template = resolve_gguf(model or None)
        return Check(True, f"Ready on this computer: {name} ({path.stat().st_size / 1e6:.0f} MB).")
    if not url:
        return Check(False, "Enter the server address first (http://HOST:PORT).")
    try:
        server = OpenAIHttpBackend(url, model=model or "default")
    except BackendUnavailable as err:
        return Check(False, err.message)
    if server.probe() == BackendState.READY:
        return Check(True, f"Connected: the server answers with {server.model or 'a model'}.")
    return Check(False, f"Cannot reach the server: {server.detail}")


def default_services() -> SettingsServices:
    """The real engine calls."""
    return SettingsServices(
        list_devices=_list_devices,
        level_test=_level_test,
        speech_models=lambda: _models(("stt-fast", "stt-accurate")),
        llm_models=lambda: _models(("llm",)),
        verify_model=_verify_model,
        test_connection=_test_connection,
    )
