"""The call pipeline's scheduling: finals always, partials only when there is time."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pytest

from agent_assist.audio.base import ChunkSink
from agent_assist.domain import SAMPLE_RATE, AudioChunk, CallEnded, FinalUtterance, PartialText, Speaker
from agent_assist.events import EventBus
from agent_assist.pipeline import CallPipeline, PipelineConfig
from agent_assist.stt.whisper import DecodeOptions, Transcript
from tests.conftest import load_speech, speech_items


@dataclass
class SlowDecoder:
    """A decoder far slower than real time for partials (a starved CPU)."""

    partial_s: float = 0.05
    final_s: float = 0.01
    calls: list[bool] = field(default_factory=list)

    def transcribe(
        self,
        audio: npt.NDArray[np.float32],
        options: DecodeOptions,
        prefix: tuple[int, ...] = (),
        previous: tuple[int, ...] = (),
    ) -> Transcript:
        self.calls.append(options.word_timestamps)
        time.sleep(self.final_s if options.word_timestamps else self.partial_s)
        return Transcript(f"{len(audio)} samples", 0.9, 0.0)


class BurstSource:
    """A *live* source that delivers audio far faster than real time, as a
    capture thread would after the worker stalled: the worker must catch up."""

    live = True
    name = "burst"
    speakers = (Speaker.AGENT, Speaker.CUSTOMER)

    def __init__(self, audio: dict[Speaker, np.ndarray]) -> None:
        self.audio = audio
        self._thread: threading.Thread | None = None

    def start(self, sink: ChunkSink) -> None:
        def run() -> None:
            n = 512
            length = max(len(a) for a in self.audio.values())
            for i in range(0, length, n):
                for speaker, a in self.audio.items():
                    sink.put(AudioChunk(speaker, a[i : i + n], i / SAMPLE_RATE))
            for speaker in self.audio:
                sink.end(speaker)

        self._thread = threading.Thread(target=run)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.join()


def _two_channels() -> dict[Speaker, np.ndarray]:
    by_id = {i["id"]: i for i in speech_items()}
    a = load_speech(by_id["lh_2412-153948-0000"])
    b = load_speech(by_id["sb_example1"])
    gap = np.zeros(SAMPLE_RATE, np.float32)
    agent = np.concatenate([a, gap, np.zeros(len(b), np.float32), gap])
    customer = np.concatenate([np.zeros(len(a), np.float32), gap, b, gap])
    return {Speaker.AGENT: agent, Speaker.CUSTOMER: customer}


def test_when_cpu_is_short_partials_are_dropped_never_finals() -> None:
    audio = _two_channels()
    bus = EventBus()
    events: list[object] = []
    bus.subscribe(events.append)
    decoder = SlowDecoder()
    pipeline = CallPipeline(BurstSource(audio), decoder, bus, config=PipelineConfig(max_lag_s=0.5))
    pipeline.run()
    finals = [e for e in events if isinstance(e, FinalUtterance)]
    assert {f.speaker for f in finals} == {Speaker.AGENT, Speaker.CUSTOMER}
    # Behind: the worker swallows the backlog (VAD only) and shows few or no
    # partials, where a relaxed machine shows one per 0.4 s of speech.
    speech_s = sum(f.end - f.start for f in finals)
    assert pipeline.stats.partials < 0.5 * speech_s / 0.4
    assert len([c for c in decoder.calls if c]) == len(finals)  # each final decoded once
    assert pipeline.stats.audio_dropped_s == 0.0
    ended = [e for e in events if isinstance(e, CallEnded)]
    assert len(ended) == 1
    assert ended[0].duration == pytest.approx(max(len(a) for a in audio.values()) / SAMPLE_RATE)


def test_with_time_to_spare_every_partial_is_decoded() -> None:
    audio = _two_channels()
    bus = EventBus()
    events: list[object] = []
    bus.subscribe(events.append)
    decoder = SlowDecoder(partial_s=0.0, final_s=0.0)
    config = PipelineConfig(drop_partials_when_behind=False)
    pipeline = CallPipeline(BurstSource(audio), decoder, bus, config=config)
    pipeline.run()
    partials = [e for e in events if isinstance(e, PartialText)]
    speech_s = sum(f.end - f.start for f in events if isinstance(f, FinalUtterance))
    assert pipeline.stats.partials_skipped == 0
    assert len(partials) >= 0.6 * speech_s / 0.4  # about one per interval of speech


def test_a_stopped_call_still_finishes_what_was_heard() -> None:
    audio = _two_channels()
    bus = EventBus()
    events: list[object] = []
    bus.subscribe(events.append)

    class Endless(BurstSource):
        """Live audio that never ends by itself (stop() ends it)."""

        def start(self, sink: ChunkSink) -> None:
            self._stop = threading.Event()

            def run() -> None:
                n, i = 512, 0
                agent = self.audio[Speaker.AGENT]
                while not self._stop.is_set() and i < len(agent):
                    for speaker, a in self.audio.items():
                        sink.put(AudioChunk(speaker, a[i : i + n], i / SAMPLE_RATE))
                    i += n
                    if i > 8 * SAMPLE_RATE:
                        self._stop.wait(0.01)  # keep talking until stopped
                for speaker in self.audio:
                    sink.end(speaker)

            self._thread = threading.Thread(target=run)
            self._thread.start()

        def stop(self) -> None:
            self._stop.set()
            super().stop()

    pipeline = CallPipeline(Endless(audio), SlowDecoder(0.0, 0.0), bus)
    pipeline.start()
    time.sleep(0.5)
    pipeline.stop("stopped by user")
    assert isinstance(events[-1], CallEnded) and events[-1].reason == "stopped by user"
    assert any(isinstance(e, FinalUtterance) and e.speaker is Speaker.AGENT for e in events)


class FailingDecoder(SlowDecoder):
    """Finals (and early finals) fail ``fail_times`` times, then work."""

    def __init__(self, fail_times: int) -> None:
        super().__init__(0.0, 0.0)
        self.fail_times = fail_times

    def transcribe(
        self,
        audio: npt.NDArray[np.float32],
        options: DecodeOptions,
        prefix: tuple[int, ...] = (),
        previous: tuple[int, ...] = (),
    ) -> Transcript:
        if options.word_timestamps and self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError("decoder hiccup")
        return super().transcribe(audio, options, prefix, previous)


def _run_with(decoder: SlowDecoder) -> tuple[list[object], CallPipeline]:
    bus = EventBus()
    events: list[object] = []
    bus.subscribe(events.append)
    pipeline = CallPipeline(BurstSource(_two_channels()), decoder, bus)
    pipeline.run()
    return events, pipeline


def test_a_decoder_hiccup_is_retried_and_the_final_kept() -> None:
    from agent_assist.domain import PipelineError

    healthy, _ = _run_with(SlowDecoder(0.0, 0.0))
    events, _ = _run_with(FailingDecoder(fail_times=1))
    finals = [e for e in events if isinstance(e, FinalUtterance)]
    assert len(finals) == len([e for e in healthy if isinstance(e, FinalUtterance)])
    assert len([e for e in events if isinstance(e, PipelineError)]) == 1


def test_a_broken_decoder_reports_errors_without_spinning() -> None:
    from agent_assist.domain import PipelineError

    events, _ = _run_with(FailingDecoder(fail_times=10**6))
    errors = [e for e in events if isinstance(e, PipelineError)]
    assert not [e for e in events if isinstance(e, FinalUtterance)]
    assert 0 < len(errors) <= 20  # two tries per utterance, one early try per pause
    assert isinstance(events[-1], CallEnded)
