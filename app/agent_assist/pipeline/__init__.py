"""The call: wires an audio source through streaming STT to event subscribers.

Owns the threads, queues, back-pressure and cancellation; imports no Qt.
"""

from agent_assist.pipeline.call import CallPipeline, PipelineConfig, PipelineStats
from agent_assist.pipeline.levels import LevelMeter

__all__ = ["CallPipeline", "LevelMeter", "PipelineConfig", "PipelineStats"]
