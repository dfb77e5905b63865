"""PulseAudio/PipeWire helpers: list server sources, and run a private server.

Why: on Linux the customer side of a call is the softphone output's
``.monitor`` source, which PortAudio cannot list (it sees the sound server
only as the ALSA device ``pulse``). ``list_sources`` asks ``pactl`` instead
(works with PulseAudio and PipeWire's pulse server; empty if there is no
``pactl`` or no server).

``PulseServer`` starts a throw-away PulseAudio daemon in its own runtime
folder with null sinks standing in for a softphone and a headset, so tests and
demos can play speech into a "call" and capture it through the real
PortAudio → ALSA → PulseAudio path without touching the user's audio.

Thread rules: the helpers run ``pactl``/``pulseaudio`` as subprocesses and
may be called from any thread; ``selected_source`` serialises its changes to
the process environment with a lock. A ``PulseServer`` belongs to the thread
that made it.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

__all__ = ["PulseServer", "PulseSource", "list_sources", "selected_source", "source_exists"]

_SPEC = re.compile(r"(\d+)ch\s+(\d+)Hz")
_ENV_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class PulseSource:
    name: str
    channels: int
    rate: float
    state: str


def _pactl(*args: str, env: Mapping[str, str] | None = None) -> str | None:
    """``pactl`` output, or ``None`` if pactl is missing or the server is unreachable."""
    if shutil.which("pactl") is None:
        return None
    try:
        done = subprocess.run(
            ["pactl", *args],
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def list_sources(env: Mapping[str, str] | None = None) -> list[PulseSource]:
    """The sound server's sources (microphones and ``<sink>.monitor``s)."""
    out = _pactl("list", "short", "sources", env=env) or ""
    sources = []
    for line in out.splitlines():
        fields = line.split("\t")
        if len(fields) < 4:
            continue
        spec = _SPEC.search(fields[3])
        channels, rate = (int(spec[1]), float(spec[2])) if spec else (2, 48_000.0)
        sources.append(PulseSource(fields[1], channels, rate, fields[-1].strip()))
    return sources


@contextmanager
def selected_source(name: str) -> Iterator[None]:
    """``PULSE_SOURCE=name`` for the libpulse connections made inside the block.

    libpulse reads ``PULSE_SOURCE`` when a client connects with no explicit
    source, as the ALSA ``pulse`` device does, so this picks the server source
    a PortAudio stream opened on ``pulse`` records from. Blocks are serialised
    by a lock (the environment is process-wide) and the old value is restored.
    """
    with _ENV_LOCK:
        saved = os.environ.get("PULSE_SOURCE")
        os.environ["PULSE_SOURCE"] = name
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop("PULSE_SOURCE", None)
            else:
                os.environ["PULSE_SOURCE"] = saved


def source_exists(name: str) -> bool | None:
    """Whether the server has source ``name``; ``None`` if that cannot be told."""
    out = _pactl("list", "short", "sources")
    if out is None:
        return None
    return any(line.split("\t")[1:2] == [name] for line in out.splitlines())


class PulseServer:
    """A private PulseAudio daemon under ``runtime_dir`` (for tests and demos).

    ``env`` is the environment for this process and its children that points
    every PulseAudio client (``pactl``, ``paplay``, the ALSA ``pulse`` device
    PortAudio opens) at this server instead of the user's.
    """

    def __init__(self, runtime_dir: Path, sinks: Sequence[str] = ("softphone",)) -> None:
        if shutil.which("pulseaudio") is None:
            raise FileNotFoundError("pulseaudio is not installed")
        self.dir = Path(runtime_dir)
        self.sinks = tuple(sinks)
        home = self.dir / "home"
        self.env = {
            "XDG_RUNTIME_DIR": str(self.dir),
            "PULSE_SERVER": f"unix:{self.dir / 'pulse' / 'native'}",
            "PULSE_COOKIE": str(home / ".config" / "pulse" / "cookie"),
        }
        self._server_env = {
            **os.environ,
            **self.env,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "PULSE_STATE_PATH": str(self.dir / "state"),
        }
        for key in ("PULSE_SOURCE", "PULSE_SINK", "PULSE_RUNTIME_PATH"):
            self._server_env.pop(key, None)
        self.log_path = self.dir / "pulseaudio.log"

    def start(self) -> PulseServer:
        (self.dir / "home").mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        loads = [f"--load=module-null-sink sink_name={name}" for name in self.sinks]
        subprocess.run(
            [
                "pulseaudio",
                "--daemonize=yes",
                "--exit-idle-time=-1",
                "-n",
                f"--log-target=file:{self.log_path}",
                "--load=module-native-protocol-unix auth-anonymous=1",
                *loads,
            ],
            env=self._server_env,
            check=True,
            timeout=30,
        )  # --daemonize returns once the daemon is ready
        return self

    def stop(self) -> None:
        """``pulseaudio --kill``, then wait for the daemon to exit (pidfd, no polling)."""
        pid_file = self.dir / "pulse" / "pid"
        pid = int(pid_file.read_text().split()[0]) if pid_file.is_file() else 0
        pidfd = -1
        try:
            if pid:
                pidfd = os.pidfd_open(pid)
        except OSError:
            pid = 0
        subprocess.run(["pulseaudio", "--kill"], env=self._server_env, check=False, timeout=30)
        if pidfd >= 0:
            select.select([pidfd], [], [], 10)
            os.close(pidfd)

    def __enter__(self) -> PulseServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def pactl(self, *args: str) -> str:
        done = subprocess.run(
            ["pactl", *args],
            env=self._server_env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pactl {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def load_null_sink(self, name: str) -> int:
        """Add a null sink (its monitor is ``<name>.monitor``); returns the module index."""
        return int(self.pactl("load-module", "module-null-sink", f"sink_name={name}").strip())

    def module_of(self, sink: str) -> int:
        """The module index that owns null sink ``sink``."""
        for line in self.pactl("list", "short", "modules").splitlines():
            index, module, *rest = line.split("\t")
            if module == "module-null-sink" and f"sink_name={sink}" in " ".join(rest).split():
                return int(index)
        raise KeyError(sink)

    def unload_module(self, index: int) -> None:
        self.pactl("unload-module", str(index))

    def sources(self) -> list[str]:
        return [s.name for s in list_sources(self._server_env)]

    def play(self, path: Path, sink: str) -> subprocess.Popen[bytes]:
        """Start playing ``path`` into ``sink`` with ``paplay`` (wait on the result)."""
        return subprocess.Popen(
            ["paplay", f"--device={sink}", str(path)],
            env=self._server_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
