"""Speech to text: streaming VAD segmentation and faster-whisper decoding.

No Qt and no threads of its own: the pipeline owns the thread that calls in.
"""
