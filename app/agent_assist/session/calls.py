"""One call of an ``AssistEngine``: how it is built and its controller thread.

Why apart from ``engine.py``: building a call (pipeline config, the audio tee
when ``store_audio`` keeps the audio, the live retriever with the extra
workers' intent hook) and ending it in order are one story, and the engine
module keeps the lifecycle, loading and on-demand requests.

Thread rules: ``build_call`` runs in ``AssistEngine.start_call`` under the
engine's lock on the caller's thread (the GUI's): it constructs objects and
starts the audio writer's thread, nothing else -- no model, no disk.
``run_call`` is the body of the call's controller thread (``call-<id>``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from agent_assist import pipeline as pipeline_room  # its CallPipeline is looked up per call
from agent_assist.assist import LiveRetriever
from agent_assist.audio.base import AudioSource
from agent_assist.domain import CallFinished, PipelineError
from agent_assist.errors import UserError
from agent_assist.session.parts import CallRun
from agent_assist.stt.streaming import Decoder

if TYPE_CHECKING:
    from agent_assist.session.engine import AssistEngine

__all__ = ["build_call", "run_call"]

log = logging.getLogger(__name__)


def build_call(engine: AssistEngine, source: AudioSource, decoder: Decoder) -> CallRun:
    """The call's pipeline (its audio recorded when kept) and retriever, not started yet."""
    o = engine.options
    live = bool(source.live or getattr(source, "realtime", False))
    config = pipeline_room.PipelineConfig(
        partials=o.partials, drop_partials_when_behind=live, levels=o.levels
    )
    kwargs: dict[str, Any] = {"config": config}
    if engine._clock_given:
        kwargs["clock"] = engine.clock
    source = engine.privacy.tee(source)  # the source itself unless audio is kept
    pipe = pipeline_room.CallPipeline(source, decoder, engine.bus, **kwargs)
    engine.privacy.attach(source, pipe)
    retriever = None
    try:
        if o.knowledge and engine.models.slots["knowledge"].status.state != "down":
            hooks = [
                getattr(w, name, None)
                for w in engine._extras
                for name in ("current_intent", "intent_label")
            ]
            retriever = LiveRetriever(
                engine.open_searcher, engine._lanes["retrieval"], clock=engine.clock,
                current_intent=next((h for h in hooks if callable(h)), None),
            )  # fmt: skip
    except BaseException:
        engine.privacy.detach(pipe.call_id)  # the audio writer started in attach: stop it
        raise
    return CallRun(pipe, retriever, pipe.call_id)


def run_call(engine: AssistEngine, call: CallRun) -> None:
    """The call's controller thread: start, wait for the end, close in order.

    Order: pipeline stopped (``CallEnded`` stored) -> the audio file finished
    -> ``ended`` set -> retriever closed -> the summary waited for ->
    ``CallFinished``.
    """
    try:
        call.pipeline.start()
    except Exception as exc:  # a device that cannot open: the pipeline published CallEnded
        call.error = exc
        log.warning("call %s could not start: %s", call.call_id, exc)
        message = exc.render() if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        engine.bus.publish(PipelineError(call.call_id, "audio", message, True, engine.clock.now()))
    else:
        call.wake.wait()
        call.pipeline.stop(call.reason)
    engine.privacy.detach(call.call_id)
    call.ended.set()
    if call.retriever is not None:
        call.retriever.close()
    worker = engine._worker
    summarized = worker is not None and worker.wait_idle(engine.options.summary_wait_s)
    reason = call.end_reason or call.reason
    call.finished = CallFinished(call.call_id, reason, summarized and not engine._closed,
                                 engine.clock.now())  # fmt: skip
    engine.bus.publish(call.finished)
    call.done.set()
