"""The privacy settings made real for one engine: call audio kept (or not) and retention.

``privacy.store_audio`` (``EngineOptions.store_audio``): ``Privacy.tee`` wraps
the call's ``AudioSource`` in a ``RecordingSource`` whose sink hands each chunk
to a ``store.CallAudioWriter`` and then to the pipeline, so the WAV holds what
the pipeline heard (a muted channel as silence, as in the transcript). Off
(the default), no source is wrapped and no audio ever reaches the disk. Audio
is kept only with the call history on (``store``): a WAV no call row points at
would never be found or purged.

Why a tee on the capture side rather than in the STT worker: the worker is
the pipeline's (another room), and the capture thread's share is one
``Queue.put_nowait`` per chunk (measured 0.8 us on the 2-core dev PC; the
interleaving, 16-bit conversion, write, header patch and flush cost ~14 us per
20 ms of stereo audio and run on the writer's own thread), so neither the
PortAudio callback nor the STT worker waits on the disk. A replay waits for
room in the writer's bounded queue, as it waits for the pipeline's buffer.

``privacy.retention_days`` (``EngineOptions.retention_days``, 0 = keep):
``RetentionTimer`` runs ``store.purge_older_than`` once at ``Privacy.open``
(the engine's ``load``) and then every 24 hours, on a daemon thread that
waits on an ``Event`` between runs (no polling); ``close`` wakes and joins it.

Thread rules: ``open``/``close`` on the engine's loading/closing thread;
``tee``/``attach`` on the thread starting a call (cheap: a thread start, no
disk); ``detach`` on the call's controller thread after the source stopped
(drains the queue and finishes the file: milliseconds).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from agent_assist.audio.base import AudioSource, ChunkSink
from agent_assist.clock import Clock
from agent_assist.domain import AudioChunk, DeviceState, PipelineError, Speaker
from agent_assist.events import EventBus
from agent_assist.store import CallAudioWriter, CallRecorder, Database, Purged, audio_path_for
from agent_assist.store.audio import repair_interrupted
from agent_assist.store.retention import purge_older_than

__all__ = ["DAY_S", "Privacy", "RecordingSource", "RetentionTimer"]

log = logging.getLogger(__name__)

DAY_S = 24 * 3600.0


class _TeeSink:
    """The sink a wrapped source pushes into: the writer first, then the pipeline."""

    def __init__(self, sink: ChunkSink, owner: RecordingSource) -> None:
        self._sink, self._owner = sink, owner

    def put(self, chunk: AudioChunk) -> None:
        writer = self._owner.writer
        if writer is not None:
            kept = chunk
            if chunk.speaker in self._owner.muted():  # what the pipeline hears: silence
                kept = AudioChunk(chunk.speaker, np.zeros_like(chunk.samples), chunk.start)
            writer.put(kept)
        self._sink.put(chunk)  # the pipeline's sink silences a muted chunk itself

    def status(self, speaker: Speaker, device: str, state: DeviceState, detail: str = "") -> None:
        self._sink.status(speaker, device, state, detail)

    def end(self, speaker: Speaker) -> None:
        writer = self._owner.writer
        if writer is not None:
            writer.end(speaker)
        self._sink.end(speaker)


class RecordingSource:
    """An ``AudioSource`` that also records what it delivers (``writer``, set by ``attach``).

    Everything else (``name``, ``speakers``, ``live``, ``realtime``, ``error``)
    is the wrapped source's.
    """

    def __init__(self, source: AudioSource) -> None:
        self.source = source
        self.writer: CallAudioWriter | None = None
        self.muted: Callable[[], frozenset[Speaker]] = frozenset

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def speakers(self) -> tuple[Speaker, ...]:
        return self.source.speakers

    @property
    def live(self) -> bool:
        return self.source.live

    def start(self, sink: ChunkSink) -> None:
        self.source.start(_TeeSink(sink, self))

    def stop(self) -> None:
        self.source.stop()

    def __getattr__(self, name: str) -> Any:
        if name == "source":  # not set yet (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.source, name)


class RetentionTimer:
    """Purges calls older than ``days`` now and every ``interval_s`` (see the module doc).

    ``now`` gives the purge's "now" (tests pass a fixed future date); each
    result is appended to ``runs`` and ``wait_runs`` waits for them.
    """

    def __init__(
        self,
        database: Database,
        days: int,
        *,
        interval_s: float = DAY_S,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.database, self.days, self.interval_s = database, days, interval_s
        self._now = now or (lambda: datetime.now(UTC))
        self.runs: list[Purged] = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wait_runs(self, count: int, timeout: float | None = None) -> bool:
        """Block until at least ``count`` purges have run (tests)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.runs) >= count, timeout)

    def close(self, timeout: float | None = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                result = purge_older_than(self.database, self.days, self._now())
            except Exception as exc:  # a busy or closed database: try again next time
                if not self._stop.is_set():
                    log.warning("retention: the purge failed: %s", exc)
                result = Purged()
            with self._cond:
                self.runs.append(result)
                self._cond.notify_all()
            if self._stop.wait(self.interval_s):
                return


class Privacy:
    """Call audio and retention for one ``AssistEngine`` (see the module doc)."""

    def __init__(self, store_audio: bool, retention_days: int, bus: EventBus, clock: Clock) -> None:
        self.store_audio, self.retention_days = store_audio, retention_days
        self._bus, self._clock = bus, clock
        self._database: Database | None = None
        self._recorder: CallRecorder | None = None
        self.retention: RetentionTimer | None = None
        """The daily purge (None with ``retention_days == 0`` or without the store)."""
        self._writers: dict[str, CallAudioWriter] = {}

    def open(self, database: Database, recorder: CallRecorder) -> None:
        """The store is open: fix the audio of calls a crash cut off, start the retention timer."""
        self._database, self._recorder = database, recorder
        try:
            repair_interrupted(database)
        except Exception as exc:
            log.warning("could not check the audio of interrupted calls: %s", exc)
        if self.retention_days > 0:
            self.retention = RetentionTimer(database, self.retention_days)
            self.retention.start()

    def update(self, store_audio: bool, retention_days: int) -> None:
        """New settings, for the calls that start from now on; a changed retention
        restarts the purge (at once, then daily; 0 stops it). Joins the old timer:
        call it off the GUI thread."""
        self.store_audio = store_audio
        if retention_days == self.retention_days:
            return
        self.retention_days = retention_days
        old, self.retention = self.retention, None
        if old is not None:
            old.close()
        if retention_days > 0 and self._database is not None:
            self.retention = RetentionTimer(self._database, retention_days)
            self.retention.start()

    def tee(self, source: AudioSource) -> AudioSource:
        """``source`` wrapped to record its audio, or ``source`` itself when audio is not kept."""
        if not self.store_audio or self._database is None:
            return source
        return RecordingSource(source)

    def attach(self, source: AudioSource, pipeline: Any) -> Path | None:
        """Start recording ``pipeline``'s call if ``source`` came from ``tee``; the WAV's path."""
        if not isinstance(source, RecordingSource) or self._database is None:
            return None
        call_id = str(pipeline.call_id)
        path = audio_path_for(self._database.path, call_id)

        def failed(exc: Exception) -> None:
            self._bus.publish(PipelineError(call_id, "store", f"the call audio is no longer saved: {exc}",
                                            False, self._clock.now()))  # fmt: skip

        source.writer = CallAudioWriter(path, source.speakers, block=not source.live, on_error=failed)
        source.muted = lambda: getattr(pipeline, "muted", frozenset())
        self._writers[call_id] = source.writer
        if self._recorder is not None:
            self._recorder.expect_audio(call_id, str(path))
        return path

    def detach(self, call_id: str) -> None:
        """The call's capture has stopped: finish its WAV."""
        writer = self._writers.pop(call_id, None)
        if writer is not None:
            writer.close()

    def close(self) -> None:
        for call_id in list(self._writers):
            self.detach(call_id)
        if self.retention is not None:
            self.retention.close()
