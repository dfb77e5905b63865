"""Finding audio inputs: PortAudio devices, plus PulseAudio/PipeWire sources on Linux.

Why: agents pick their microphone and the softphone's output by (part of) a
name, and every mistake must end in a message listing what *is* available,
not a traceback. PortAudio is loaded lazily: ``import sounddevice`` raises
``OSError`` when the PortAudio library is missing, which becomes an
``AudioError`` with the install command.

On Linux, Debian's PortAudio 19.6 has no PulseAudio host API: the sound server
appears only as the ALSA devices ``pulse`` and ``default``. The individual
server sources (microphones, and the ``.monitor`` of every output, which is
how the customer side of a softphone call is captured) are listed here from
``pactl`` as ``pulse:<source>`` entries; ``device_source`` opens them through
the ``pulse`` device with ``PULSE_SOURCE`` set. PipeWire's pulse server works
the same way.

Thread rules: listing and lookup may run on any thread. ``rescan`` restarts
PortAudio (to see devices plugged in after start-up), which would close every
open stream, so it is refused while any ``DeviceSource`` stream is open
(``stream_opened``/``stream_closed`` keep the count).
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from agent_assist.audio import pulse
from agent_assist.errors import AudioError

__all__ = [
    "InputDevice",
    "find_input_device",
    "list_input_devices",
    "load_sounddevice",
    "rescan",
]

PULSE_PREFIX = "pulse:"
_lock = threading.Lock()
_open_streams = [0]  # our streams open right now (a list: mutable without `global`)


@dataclass(frozen=True, slots=True)
class InputDevice:
    """One input a ``DeviceSource`` can open.

    ``index`` is the PortAudio device index (for a PulseAudio source, the index
    of the ALSA ``pulse`` device it is opened through); ``pulse_source`` is the
    server's source name for ``pulse:<source>`` entries, else ``None``.
    """

    index: int
    name: str
    hostapi: str
    channels: int
    default_samplerate: float
    is_default: bool = False
    pulse_source: str | None = None

    def describe(self) -> str:
        mark = "*" if self.is_default else " "
        return (
            f"{mark} {self.index:>3}  {self.name}  ({self.hostapi}, {self.channels} ch, "
            f"{self.default_samplerate:g} Hz)"
        )


def _portaudio_fix(platform: str = sys.platform) -> str:
    if platform.startswith("linux"):
        return "install PortAudio: sudo apt install libportaudio2  (Fedora: sudo dnf install portaudio)"
    return "reinstall the sounddevice package: pip install --force-reinstall sounddevice"


def load_sounddevice() -> ModuleType:
    """The ``sounddevice`` module; ``AudioError`` if PortAudio cannot be loaded."""
    try:
        import sounddevice
    except OSError as exc:  # "PortAudio library not found"
        raise AudioError(f"audio capture is unavailable: {exc}", _portaudio_fix()) from exc
    module: ModuleType = sounddevice
    return module


def stream_opened() -> None:
    with _lock:
        _open_streams[0] += 1


def stream_closed() -> None:
    with _lock:
        _open_streams[0] = max(0, _open_streams[0] - 1)


def rescan() -> bool:
    """Re-initialise PortAudio so new devices appear; False while streams are open."""
    sd: Any = load_sounddevice()
    with _lock:
        if _open_streams[0]:
            return False
        sd._terminate()
        sd._initialize()
        return True


def _portaudio_inputs() -> list[InputDevice]:
    sd: Any = load_sounddevice()
    try:
        default_in = int(sd.default.device[0])
        hostapis = sd.query_hostapis()
        devices = sd.query_devices()
    except sd.PortAudioError as exc:
        raise AudioError(f"cannot list audio devices: {exc}", _portaudio_fix()) from exc
    return [
        InputDevice(
            index=int(d["index"]),
            name=str(d["name"]),
            hostapi=str(hostapis[d["hostapi"]]["name"]),
            channels=int(d["max_input_channels"]),
            default_samplerate=float(d["default_samplerate"]),
            is_default=int(d["index"]) == default_in,
        )
        for d in devices
        if d["max_input_channels"] > 0
    ]


def list_input_devices(*, include_pulse: bool = True, rescan_first: bool = False) -> list[InputDevice]:
    """Every input: PortAudio devices, then ``pulse:<source>`` entries (Linux)."""
    if rescan_first:
        rescan()
    devices = _portaudio_inputs()
    via = next((d for d in devices if d.name == "pulse"), None)
    if include_pulse and via is not None:
        devices += [
            InputDevice(
                index=via.index,
                name=PULSE_PREFIX + s.name,
                hostapi="PulseAudio",
                channels=s.channels,
                default_samplerate=s.rate,
                pulse_source=s.name,
            )
            for s in pulse.list_sources()
        ]
    return devices


def _match(devices: list[InputDevice], query: str) -> list[InputDevice]:
    q = query.casefold()
    for key in (lambda d: d.name.casefold() == q, lambda d: q in d.name.casefold()):
        found = [d for d in devices if key(d)]
        if found:
            return found
    return []


def find_input_device(query: str | int | None = None) -> InputDevice:
    """The input named by ``query``: an index, a name or part of one, ``None`` = default.

    An exact (case-insensitive) name wins over a partial one; ``pulse:<source>``
    entries match by source name too, so ``softphone.monitor`` finds
    ``pulse:softphone.monitor``. If nothing matches, PortAudio is rescanned once
    (a device plugged in since start-up) before giving up.
    """
    for attempt in range(2):
        devices = list_input_devices()
        if query is None:
            found = [d for d in devices if d.is_default]
        elif isinstance(query, int) or query.strip().isdigit():
            found = [d for d in devices if d.index == int(query) and d.pulse_source is None]
        else:
            found = _match(devices, query.strip())
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = "\n  ".join(d.name for d in found)
            raise AudioError(
                f"audio device '{query}' matches {len(found)} devices:\n  {names}",
                "give more of the name (or the device number from `agent-assist devices`)",
            )
        if attempt == 0 and not rescan():
            break
    listing = "\n".join(d.describe() for d in devices) or "  (none)"
    what = "no default audio input" if query is None else f"no audio input matches '{query}'"
    raise AudioError(
        f"{what}; available inputs:\n{listing}",
        "pick one of the names above (any unique part of it works); on Linux the "
        "customer side is the softphone output's '.monitor' source",
    )
