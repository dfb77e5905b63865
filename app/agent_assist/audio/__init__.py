"""Audio capture and replay: sources push 16 kHz mono chunks into a sink.

No Qt here. Sources own their threads (PortAudio's callback thread, or a replay
thread); everything they hand over is an ``AudioChunk`` at 16 kHz.
"""
