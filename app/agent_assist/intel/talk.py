"""Talk time per speaker, from the call-time bounds of final utterances.

Why finals: they are committed and carry call-time ``start``/``end``, so the
talk ratio matches the transcript and needs no audio. A speaker's intervals
are merged before summing, so two finals that overlap (a re-segmented
utterance) count once; the agent and the customer talking over each other
count for both. The single mixed channel (``Speaker.MIXED``) is nobody's in
particular and counts for neither, though it lengthens the call.

Thread rules: one ``TalkClock`` per call, used by one thread.
"""

from __future__ import annotations

from agent_assist.domain import FinalUtterance, Speaker, TalkStats

__all__ = ["TalkClock", "merged_length"]


def merged_length(intervals: list[tuple[float, float]]) -> float:
    """Seconds covered by the union of ``intervals`` ((start, end); empty ones ignored)."""
    total = 0.0
    cur_start = cur_end = None
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if cur_end is None or start > cur_end:
            if cur_end is not None and cur_start is not None:
                total += cur_end - cur_start
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_end is not None and cur_start is not None:
        total += cur_end - cur_start
    return total


class TalkClock:
    """Accumulates one call's finals; ``stats`` gives its ``TalkStats``."""

    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        self.elapsed = 0.0
        self._spans: dict[Speaker, list[tuple[float, float]]] = {
            Speaker.AGENT: [],
            Speaker.CUSTOMER: [],
        }

    def add(self, final: FinalUtterance) -> None:
        self.elapsed = max(self.elapsed, final.end)
        spans = self._spans.get(final.speaker)
        if spans is not None and final.end > final.start:
            spans.append((final.start, final.end))

    def end(self, duration: float) -> None:
        """The call ended at ``duration`` seconds of call time."""
        self.elapsed = max(self.elapsed, duration)

    def stats(self, emitted_at: float = 0.0) -> TalkStats:
        return TalkStats(
            self.call_id,
            round(merged_length(self._spans[Speaker.AGENT]), 3),
            round(merged_length(self._spans[Speaker.CUSTOMER]), 3),
            round(self.elapsed, 3),
            emitted_at,
        )
