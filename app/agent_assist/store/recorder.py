"""``CallRecorder``: the event-bus subscriber that writes calls to the database.

Why one committed transaction per final utterance: the transcript must survive
the app being killed mid-call, losing at most the utterance still being
recognised. Partial text is not stored -- it is superseded within a second and
would multiply the writes for nothing.

What it writes:

* ``CallStarted`` -> a ``calls`` row, status ``active`` (with ``audio_path`` if
  ``expect_audio`` named the call's WAV first, so the row never lacks it);
* ``FinalUtterance`` -> one ``utterances`` row (and its FTS entry, by trigger);
* ``Silence`` / ``DeviceStatus`` / ``PipelineError`` -> an ``events`` row with
  the event's fields as JSON;
* ``CallEnded`` -> status ``completed``, ``ended_at``, ``duration``, reason;
* ``SuggestionReady`` -> one ``suggestions`` row (what it was built from, the
  grounding verdict as JSON; feedback is set later by ``Database.set_feedback``);
* ``CallSummaryReady`` -> the call's ``summaries`` row (a newer one replaces it);
* ``NoteReady`` -> an ``events`` row (``note``). Streamed tokens, started and
  dropped suggestions and backend status are not stored.

An event for a call the recorder never saw start (it subscribed late) first
creates a placeholder ``calls`` row, so nothing is lost to a foreign key.

Thread rules: call it from any thread -- normally the pipeline worker, via
``EventBus.publish``. It writes synchronously on that thread through the
``Database``'s per-thread connection (measured well under a millisecond per
utterance in WAL mode), so once it returns the row is committed. Problems the
user can fix surface as ``UserError`` (which the bus logs).
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
from typing import Any

from agent_assist.domain import (
    AudioLevel,
    BackendStatus,
    CallEnded,
    CallStarted,
    CallSummaryReady,
    ChecklistProgress,
    DeviceStatus,
    Event,
    FinalUtterance,
    IntentDetected,
    KnowledgeCards,
    ModelStatus,
    NoteReady,
    PartialText,
    PipelineError,
    Silence,
    SuggestionReady,
    TalkStats,
)
from agent_assist.store.database import Database, now_iso

__all__ = ["CallRecorder"]

_EVENT_TYPES: dict[type[Any], str] = {
    Silence: "silence",
    DeviceStatus: "device_status",
    PipelineError: "pipeline_error",
    KnowledgeCards: "knowledge_cards",  # what the agent was shown, for review and feedback
    NoteReady: "note",
    IntentDetected: "intent",  # the cue strip's intent, for the history timeline
    ChecklistProgress: "checklist",
}


class CallRecorder:
    """Subscribe an instance to the ``EventBus``: ``bus.subscribe(CallRecorder(db))``."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._known_calls: set[str] = set()
        self._started_at: dict[str, float] = {}  # call id -> CallStarted.emitted_at (clock time)
        self._audio: dict[str, str] = {}  # call id -> its WAV, until its CallStarted is written

    def expect_audio(self, call_id: str, path: str) -> None:
        """Store ``path`` as ``call_id``'s audio file with its ``calls`` row (call before it starts)."""
        self._audio[call_id] = path

    def __call__(self, event: Event) -> None:
        if isinstance(
            event, (PartialText, BackendStatus, AudioLevel, ModelStatus, TalkStats)
        ) or not isinstance(
            event,
            (CallStarted, FinalUtterance, CallEnded, SuggestionReady, CallSummaryReady, *_EVENT_TYPES),
        ):
            return
        try:
            with self._db.translating():
                self._write(event)
        except BaseException:
            self._known_calls.discard(event.call_id)  # its row may have been rolled back
            raise

    def _write(self, event: Event) -> None:
        db = self._db.connection()
        now = now_iso()
        with db.atomic():
            match event:
                case CallStarted():
                    db.execute(
                        "INSERT INTO calls (id, started_at, status, source, speakers, owner_pid,"
                        " owner_host, audio_path) VALUES (?, ?, 'active', ?, ?, ?, ?, ?)"
                        " ON CONFLICT (id) DO UPDATE SET source = excluded.source,"
                        " speakers = excluded.speakers,"
                        " audio_path = coalesce(excluded.audio_path, calls.audio_path)",
                        [
                            event.call_id,
                            now,
                            event.source,
                            json.dumps(list(event.speakers)),
                            os.getpid(),
                            socket.gethostname(),
                            self._audio.pop(event.call_id, None),
                        ],
                    )
                    self._known_calls.add(event.call_id)
                    self._db.recording.add(event.call_id)
                    self._started_at[event.call_id] = event.emitted_at
                case FinalUtterance():
                    self._ensure_call(event.call_id, now)
                    words = [dataclasses.asdict(w) for w in event.words]
                    db.execute(
                        'INSERT INTO utterances (id, call_id, speaker, start, "end", text,'
                        " confidence, words, created_at, latency_s)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                        [
                            event.utterance_id,
                            event.call_id,
                            str(event.speaker),
                            event.start,
                            event.end,
                            event.text,
                            event.confidence,
                            json.dumps(words),
                            now,
                            self._latency(event),
                        ],
                    )
                case CallEnded():
                    self._ensure_call(event.call_id, now)
                    db.execute(
                        "UPDATE calls SET status = 'completed', ended_at = ?, duration = ?,"
                        " end_reason = ? WHERE id = ?",
                        [now, event.duration, event.reason, event.call_id],
                    )
                    self._known_calls.discard(event.call_id)
                    self._db.recording.discard(event.call_id)
                case SuggestionReady():
                    self._ensure_call(event.call_id, now)
                    _write_suggestion(db, event, now)
                case CallSummaryReady():
                    self._ensure_call(event.call_id, now)
                    db.execute(
                        "INSERT OR REPLACE INTO summaries (call_id, json, model, prompt_version,"
                        " valid, fallback, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [
                            event.call_id,
                            event.summary_json,
                            event.model,
                            event.prompt_version,
                            int(event.valid),
                            int(event.fallback),
                            now,
                        ],
                    )
                case (
                    Silence()
                    | DeviceStatus()
                    | PipelineError()
                    | KnowledgeCards()
                    | NoteReady()
                    | IntentDetected()
                    | ChecklistProgress()
                ):
                    self._ensure_call(event.call_id, now)
                    payload = dataclasses.asdict(event)
                    del payload["call_id"]
                    db.execute(
                        "INSERT INTO events (call_id, type, payload, created_at) VALUES (?, ?, ?, ?)",
                        [event.call_id, _EVENT_TYPES[type(event)], json.dumps(payload), now],
                    )

    def _latency(self, final: FinalUtterance) -> float | None:
        """Seconds from the end of the final's audio to its event, for the health view.

        Only meaningful when the audio came in real time: a file replayed at full
        speed finishes its audio long before the clock gets there (negative), and a
        value past a minute means the clock and the audio disagree; both are NULL.
        """
        started = self._started_at.get(final.call_id)
        if started is None or not final.emitted_at:
            return None
        latency = final.emitted_at - (started + final.end)
        return round(latency, 4) if 0.0 <= latency < 60.0 else None

    def _ensure_call(self, call_id: str, now: str) -> None:
        """Create a placeholder row for a call whose start we did not see."""
        if call_id in self._known_calls:
            return
        self._db.connection().execute(
            "INSERT INTO calls (id, started_at, status) VALUES (?, ?, 'active')"
            " ON CONFLICT (id) DO NOTHING",
            [call_id, now],
        )
        self._known_calls.add(call_id)


def _write_suggestion(db: Any, event: SuggestionReady, now: str) -> None:
    verdict = {
        "grounded": event.grounded,
        "summary": event.verdict,
        "citations": list(event.citations),
        "sentences": [dataclasses.asdict(s) for s in event.sentences],
        "latency_s": event.latency_s,
    }
    db.execute(
        "INSERT INTO suggestions (id, call_id, utterance_ids, snippet_ids, text, extractive, grounded,"
        " verdict, model, backend, prompt_version, first_token_s, total_s, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        [
            event.suggestion_id,
            event.call_id,
            json.dumps(list(event.utterance_ids)),
            json.dumps(list(event.snippet_ids)),
            event.text,
            int(event.extractive),
            int(event.grounded),
            json.dumps(verdict),
            event.model,
            event.backend,
            event.prompt_version,
            event.first_token_s,
            event.total_s,
            now,
        ],
    )
