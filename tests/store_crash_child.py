"""Helper for ``test_store.py``'s kill test: record utterances until killed.

Opens the database under ``AGENT_ASSIST_HOME``, publishes ``CallStarted`` and
then ``FinalUtterance`` events through a real ``EventBus`` + ``CallRecorder``,
printing each utterance id (flushed) only after the recorder has returned. The
test SIGKILLs this process mid-loop and checks every printed id was kept.
"""

from __future__ import annotations

import sys

from agent_assist.domain import CallStarted, FinalUtterance, Speaker, Word
from agent_assist.events import EventBus
from agent_assist.store import CallRecorder, Database

CALL_ID = "crash-call"
MAX_UTTERANCES = 200_000  # a backstop: the test kills us long before this


def text_for(index: int) -> str:
    return f"utterance {index} the customer asks about refund number {index}"


def main() -> int:
    db = Database.open()
    bus = EventBus()
    bus.subscribe(CallRecorder(db))
    bus.publish(CallStarted(CALL_ID, "crash-test", (Speaker.AGENT, Speaker.CUSTOMER)))
    for index in range(MAX_UTTERANCES):
        text = text_for(index)
        words = tuple(
            Word(w, index + i * 0.1, index + i * 0.1 + 0.08, 0.9) for i, w in enumerate(text.split())
        )
        utterance_id = f"u{index:06d}"
        bus.publish(
            FinalUtterance(
                CALL_ID,
                utterance_id,
                Speaker.CUSTOMER if index % 2 else Speaker.AGENT,
                float(index),
                index + 0.9,
                text,
                0.8,
                words,
            )
        )
        print(utterance_id, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
