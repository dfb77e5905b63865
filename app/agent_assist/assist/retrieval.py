"""Live knowledge retrieval: customer turns in, *knowledge cards* out, off the STT path.

``LiveRetriever`` subscribes to the event bus. For each final utterance of the
customer (or of the single mixed channel) it searches the knowledge pack with
the latest turn, one turn of context and the current intent (a seam for the
intent issue), keeps the hits that are similar enough, new in this call and
not duplicates, and publishes a ``KnowledgeCards`` event -- or nothing, when
its confidence (the best kept card's cosine similarity) is below the threshold.

Why a thread of its own: a search embeds the query on the CPU (10-60 ms a turn
on the 2-core reference PC while the sample call plays in real time; seconds
for the first one if the embedder is still loading) and the bus runs
subscribers on the STT worker, whose finals must not wait. The bus callback
only puts the event on a ``queue.Queue``. The worker blocks on the queue; when
it wakes it takes everything queued, so a newer customer turn supersedes an
older one not yet searched and a slow search never builds a backlog. The turn
of a call that is ending is still searched (before the call's state is
dropped), and ``close()`` finishes queued work before it returns.

Defaults, measured with the real embedder on the built example pack
(northwind-home). Material: the sample call as tiny.en transcribed it (25
customer finals) and as scripted (16 customer turns), 17 on-topic customer
sentences, 17 off-topic ones and 13 chit-chat turns (the last three sets are in
tests/test_live_retrieval.py). 29 turns should get a card, 49 should get
nothing; a card is right when its chunk is one a support lead would show:

* similarity separates topics: the best hit of every on-topic sentence scored
  0.49-0.83, of every off-topic one 0.15-0.41, of chit-chat 0.11-0.29. So
  ``min_similarity`` = ``min_confidence`` = 0.45, in the gap: at 0.40 one
  off-topic sentence got a card; at 0.50 precision rose to 0.86 but an
  on-topic sentence lost its card; at 0.55 recall fell to 0.66;
* confidence = the best new card's similarity. A calibrated mix was not
  needed (nothing off-topic came near), and the fused RRF score cannot compare
  queries (every first hit scores about 1/61);
* query: the previous final (either speaker, <= 25 words), then the latest
  turn twice (``latest_weight`` 2). Against the latest turn alone: recall 0.86
  vs 0.76 for precision 0.83 vs 0.84 -- context pays for follow-ups like "So
  will I get the money back?". Plain concatenation (0.80 precision / 0.79
  recall), two turns of context (0.78 / 0.86) and fusing separate searches of
  the latest turn and of the context (0.77 / 0.76) were worse;
* ``max_drop`` 0.05: precision 0.83 vs 0.73 without it, for the same recall,
  and 48 cards instead of 82;
* ``min_content_words`` 2 skips "okay, I can do that", "thank you for your
  help", "yes, just a second" before any search; 3 also skipped "what should
  I do with the broken one?" (recall 0.79).

With the defaults: precision of shown cards 0.83 (40 of 48), top card right in
26 of 30 emissions, 25 of the 29 turns that should get a card get a right one
(0.86), and all 49 chit-chat, courtesy, identity and off-topic turns emit
nothing. Most wrong cards answer the vague opener ("a problem with my coffee
machine subscription and I also need to return something" shows the
machine-return rules) or a misheard turn ("Those payments are $30,000"), which
an intent should fix. In the transcribed sample call the double charge ("I was
charged rise for this month", as tiny.en heard it) shows the double-charge
article, and the cracked jug the jug and damaged-in-transit articles.

Thread rules: construct, ``wait_idle`` and ``close`` from any one controlling
thread. The bus callback runs on whatever thread publishes and only enqueues.
The searcher, the ``current_intent`` hook and every subscriber of the
``KnowledgeCards``/``PipelineError`` events it publishes run on the worker
thread. ``stats`` is written by the worker; read it after ``wait_idle`` or
``close``.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from agent_assist.assist.options import RetrievalOptions
from agent_assist.assist.query import CallHistory, Turn, build_query, content_words
from agent_assist.assist.select import Shown, select_cards
from agent_assist.clock import Clock, SystemClock
from agent_assist.domain import (
    CallEnded,
    CallStarted,
    Event,
    FinalUtterance,
    KnowledgeCards,
    PipelineError,
)
from agent_assist.events import EventBus

if TYPE_CHECKING:
    from agent_assist.knowledge.index import Hit

__all__ = [
    "IntentHook",
    "LiveRetriever",
    "RetrievalOptions",
    "RetrievalStats",
    "Searcher",
    "SearcherFactory",
]

log = logging.getLogger(__name__)


@runtime_checkable
class Searcher(Protocol):
    """Ranked snippets for a query: a ``PackIndex``, or a search over several packs."""

    def search(self, query: str, k: int) -> Sequence[Hit]: ...


SearcherFactory = Callable[[], Searcher]
"""Opens a searcher on the worker thread (a ``PackIndex``'s SQLite connection
may only be used on the thread that opened it, and loading the embedder takes
seconds that should not delay the call)."""

IntentHook = Callable[[str], str | None]
"""``call_id`` -> the current intent label of that call, or None."""


@dataclass(slots=True)
class RetrievalStats:
    """Counters for benchmarks and the health view."""

    searched: int = 0
    superseded: int = 0
    skipped_short: int = 0
    emitted: int = 0
    below_threshold: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)


@dataclass(slots=True)
class _CallState:
    history: CallHistory
    shown: Shown = field(default_factory=Shown)


@dataclass(frozen=True, slots=True)
class _Received:
    event: FinalUtterance | CallStarted | CallEnded
    at: float  # clock reading in the bus callback: latency counts from here


@dataclass(frozen=True, slots=True)
class _Job:
    final: FinalUtterance
    query: str
    received_at: float


_Item = _Received | None  # None: stop


class LiveRetriever:
    """Subscribes to ``bus`` at once; ``close()`` unsubscribes and joins its thread.

    ``searcher`` is used as given (the caller owns and closes it), or, when it
    is a factory, opened on the worker thread and closed there at the end.
    ``current_intent`` (settable later as an attribute) is asked for the call's
    intent label on the worker thread; it must be quick and thread-safe.
    """

    def __init__(
        self,
        searcher: Searcher | SearcherFactory,
        bus: EventBus,
        *,
        clock: Clock | None = None,
        options: RetrievalOptions | None = None,
        current_intent: IntentHook | None = None,
    ) -> None:
        self.bus = bus
        self.clock = clock or SystemClock()
        self.options = options or RetrievalOptions()
        self.current_intent = current_intent
        self.stats = RetrievalStats()
        self._searcher: Searcher | None = None
        self._factory: SearcherFactory | None = None
        if isinstance(searcher, Searcher):
            self._searcher = searcher
        else:
            self._factory = searcher
        self._open_error = ""
        self._calls: dict[str, _CallState] = {}
        self._queue: queue.Queue[_Item] = queue.Queue()  # unbounded: put never blocks
        self._idle = threading.Condition()  # guards _outstanding and _closed
        self._outstanding = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="retrieval", daemon=True)
        self._thread.start()
        self._unsubscribe = bus.subscribe(self._on_event)

    # ---- any thread ------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        """The bus callback: enqueue what matters and return at once."""
        if isinstance(event, (FinalUtterance, CallStarted, CallEnded)):
            self._enqueue(_Received(event, self.clock.now()))

    def _enqueue(self, item: _Item) -> bool:
        """Queue ``item`` (None: the stop) unless closed; never blocks for long."""
        with self._idle:
            if self._closed:
                return False
            self._closed = item is None
            self._outstanding += 1
            self._queue.put(item)  # unbounded: returns at once
        return True

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until everything queued so far is processed (False on timeout)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._outstanding == 0, timeout)

    def close(self, timeout: float | None = None) -> None:
        """Stop listening, finish queued turns, stop and join the worker. Idempotent."""
        if self._enqueue(None):
            self._unsubscribe()
        self._thread.join(timeout)

    # ---- worker thread ---------------------------------------------------
    def _run(self) -> None:
        try:
            self._open()
            while True:
                batch = [self._queue.get()]  # blocks; no polling
                while True:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                try:
                    stop = self._process(batch)
                except Exception:  # a bug: keep the worker (and the call) alive
                    log.exception("retrieval worker failed on a batch")
                    stop = None in batch
                finally:
                    with self._idle:
                        self._outstanding -= len(batch)
                        self._idle.notify_all()
                if stop:
                    return
        finally:
            self._close_searcher()

    def _process(self, batch: list[_Item]) -> bool:
        """Apply a batch in order; search only the newest pending turn of a call.

        A pending turn is searched before anything that is not a later final
        of the same call (a call's end, another call) is applied.
        """
        pending: _Job | None = None
        for item in batch:
            if item is None:
                self._search(pending)
                return True
            event = item.event
            if pending is not None and (
                event.call_id != pending.final.call_id or not isinstance(event, FinalUtterance)
            ):
                self._search(pending)
                pending = None
            if isinstance(event, CallStarted):
                self._calls[event.call_id] = self._new_state()
            elif isinstance(event, CallEnded):
                self._calls.pop(event.call_id, None)
            elif isinstance(event, FinalUtterance):
                job = self._take_turn(event, item.at)
                if job is not None:
                    if pending is not None:
                        self.stats.superseded += 1
                    pending = job
        self._search(pending)
        return False

    def _new_state(self) -> _CallState:
        return _CallState(CallHistory(max(1, self.options.context_turns) + 1))

    def _take_turn(self, final: FinalUtterance, received_at: float) -> _Job | None:
        """Remember ``final``; a job when it is a customer turn worth searching."""
        opts = self.options
        state = self._calls.setdefault(final.call_id, self._new_state())
        state.history.add(Turn(final.speaker, final.text))
        if final.speaker not in opts.speakers:
            return None
        if len(content_words(final.text)) < opts.min_content_words:
            self.stats.skipped_short += 1
            return None
        context = state.history.context(turns=opts.context_turns, words=opts.context_words)
        intent = self._intent(final.call_id)
        query = build_query(final.text, context, intent, latest_weight=opts.latest_weight)
        return _Job(final, query, received_at)

    def _intent(self, call_id: str) -> str | None:
        hook = self.current_intent
        if hook is None:
            return None
        try:
            return hook(call_id)
        except Exception:  # a broken hook costs the intent, not the search
            log.exception("current_intent hook failed")
            return None

    def _open(self) -> None:
        """First thing on the worker: open a searcher given as a factory."""
        if self._factory is None:
            return
        try:
            self._searcher = self._factory()
        except Exception as exc:
            log.exception("opening the knowledge searcher failed")
            self._open_error = f"knowledge search unavailable: {type(exc).__name__}: {exc}"

    def _close_searcher(self) -> None:
        close = getattr(self._searcher, "close", None)
        if self._factory is not None and callable(close):
            try:
                close()
            except Exception:
                log.exception("closing the knowledge searcher failed")

    def _fail(self, call_id: str, message: str) -> None:
        self.stats.errors += 1
        self.bus.publish(PipelineError(call_id, "retrieval", message, False, self.clock.now()))

    def _search(self, job: _Job | None) -> None:
        if job is None:
            return
        opts = self.options
        call_id = job.final.call_id
        if self._searcher is None:
            if self._open_error:  # said once, not once per turn
                self._fail(call_id, self._open_error)
                self._open_error = ""
            return
        try:
            hits = self._searcher.search(job.query, opts.candidates)
        except Exception as exc:
            log.exception("knowledge search failed")
            self._fail(call_id, f"search failed: {type(exc).__name__}: {exc}")
            return
        self.stats.searched += 1
        state = self._calls.setdefault(call_id, self._new_state())
        cards = select_cards(
            hits,
            state.shown,
            min_similarity=opts.min_similarity,
            max_cards=opts.max_cards,
            max_drop=opts.max_drop,
            near_duplicate=opts.near_duplicate,
        )
        confidence = max((c.similarity for c in cards), default=0.0)
        if not cards or confidence < opts.min_confidence:
            self.stats.below_threshold += 1
            return
        state.shown.add(cards)
        now = self.clock.now()
        latency = max(0.0, now - job.received_at)
        self.stats.emitted += 1
        self.stats.latencies.append(latency)
        self.bus.publish(
            KnowledgeCards(
                call_id, job.final.utterance_id, job.query, tuple(cards), confidence, latency, now
            )
        )
