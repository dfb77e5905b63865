"""The live call cues (agent_assist.intel): intent, self-ticking checklist, talk time.

Unit tests run without models (a bag-of-words stand-in for the embedder);
the ``model`` tests use the real all-MiniLM-L6-v2 on the example pack
knowledge/northwind-home and the sample call's script (assets/sample_call.json),
with the hand labels of tests/data/intel_cases.toml.
"""

from __future__ import annotations

import hashlib
import json
import threading
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from agent_assist.clock import ManualClock
from agent_assist.domain import (
    CallEnded,
    CallStarted,
    ChecklistProgress,
    Event,
    FinalUtterance,
    IntentDetected,
    PipelineError,
    Speaker,
    TalkStats,
)
from agent_assist.errors import PackError
from agent_assist.events import EventBus
from agent_assist.intel import (
    ChecklistTracker,
    IntelWorker,
    IntentModel,
    IntentOptions,
    IntentScore,
    IntentTracker,
    StepMatcher,
    TalkClock,
    load_checklists,
    load_intents,
    merged_length,
)
from agent_assist.intel.pack import Intent
from agent_assist.intel.text import contains_phrase, sentences, tokens
from tests.conftest import ROOT

PACK = ROOT / "knowledge" / "northwind-home"
CASES = tomllib.loads((ROOT / "tests" / "data" / "intel_cases.toml").read_text())
SCRIPT = json.loads((ROOT / "assets" / "sample_call.json").read_text())


class BagOfWords:
    """A stand-in embedder: hashed word counts, L2-normalised (similar words -> similar rows)."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.threads: set[str] = set()

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        self.threads.add(threading.current_thread().name)
        if self.fail:
            raise RuntimeError("model file is damaged")
        out = np.zeros((len(texts), 256), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in tokens(text):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 256] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


def final(
    text: str, speaker: Speaker, start: float, end: float, uid: str = "", call_id: str = "c1"
) -> FinalUtterance:
    return FinalUtterance(call_id, uid or f"u{start:g}", speaker, start, end, text, 0.9)


class Rig:
    """A bus with an ``IntelWorker`` and every event it published."""

    def __init__(self, pack: Path | None, embedder: Any) -> None:
        self.bus = EventBus()
        self.events: list[Event] = []
        self.bus.subscribe(self.events.append)
        self.worker = IntelWorker(self.bus, pack, embedder, clock=ManualClock())

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def say(self, *finals: FinalUtterance) -> None:
        for f in finals:
            self.bus.publish(f)
        assert self.worker.wait_idle(60)


# ---- text normalisation and evidence ---------------------------------------


def test_tokens_spell_numbers_as_digits_and_stem() -> None:
    assert tokens("Thirty-nine dollars, in three to five days!") == [
        "39",
        "dollar",
        "in",
        "3",
        "to",
        "5",
        "day",
    ]
    assert tokens("a confirmation, email") == tokens("A CONFIRMED email")
    assert tokens("You'd like to cancel") == ["youd", "like", "to", "cancel"]
    assert sentences("Thank you. Is there anything else? Bye") == [
        "Thank you.",
        "Is there anything else?",
        "Bye",
    ]


def test_evidence_phrases_match_with_slack_but_not_loosely() -> None:
    said = tokens("It should be back in three to five days, and you will get an email to confirm it.")
    assert contains_phrase(said, tokens("3 to 5 business days"))  # one middle word missing
    assert contains_phrase(said, tokens("confirmation email"))  # order and suffix differ
    assert not contains_phrase(tokens("back in a few minutes"), tokens("in a few days"))
    assert not contains_phrase(tokens("the order was lost, what number"), tokens("order number"))
    assert contains_phrase(tokens("can you give me your order number"), tokens("order number"))
    assert not contains_phrase(tokens("anything"), tokens("anything else"))


# ---- the pack ---------------------------------------------------------------


def test_the_example_packs_intents_and_checklists_load() -> None:
    intents = load_intents(PACK)
    checklists = load_checklists(PACK)
    assert len(intents) == 16 and sum(len(i.examples) for i in intents) == 137
    refund = next(c for c in checklists if c.id == "refund-request")
    assert "billing.double_charge" in refund.intents
    assert [s.id for s in refund.steps][:2] == ["recording-notice", "verify-identity"]


def test_a_pack_without_files_has_none_and_bad_toml_is_a_pack_error(tmp_path: Path) -> None:
    assert load_intents(tmp_path) == () and load_checklists(tmp_path) == ()
    (tmp_path / "intents.toml").write_text('[[intent]]\nid = "x"\nexamples = "not a list"\n')
    assert load_intents(tmp_path) == ()  # skipped, not fatal
    (tmp_path / "checklists.toml").write_text("[[checklist]\n")
    with pytest.raises(PackError):
        load_checklists(tmp_path)


# ---- checklist matching -----------------------------------------------------


def _refund_tracker(encoder: Any = None) -> ChecklistTracker:
    checklists = load_checklists(PACK)
    return ChecklistTracker(checklists, StepMatcher(checklists, encoder))


def test_steps_done_before_the_intent_is_known_count_once_the_checklist_appears() -> None:
    tracker = _refund_tracker()
    matcher = tracker.matcher
    assert not tracker.add_agent_turn(matcher.turn("a1", "And do you have your order number?"))
    assert tracker.progress("c1") is None  # no intent yet: no checklist
    assert tracker.set_intent("billing.double_charge")
    progress = tracker.progress("c1")
    assert progress is not None and progress.checklist_id == "refund-request"
    done = {s.id: s.done_by for s in progress.steps if s.done}
    assert done == {"verify-identity": "a1"}
    # later turns tick more; a ticked step stays ticked and keeps its first utterance
    assert tracker.add_agent_turn(
        matcher.turn("a2", "It will be back in three to five days. Anything else?")
    )
    assert not tracker.add_agent_turn(matcher.turn("a3", "Your order number again, please?"))
    progress = tracker.progress("c1")
    assert progress is not None
    done = {s.id: s.done_by for s in progress.steps if s.done}
    assert done == {"verify-identity": "a1", "state-timeline": "a2", "close-call": "a2"}


def test_another_intent_shows_its_checklist_scanned_from_the_calls_start() -> None:
    tracker = _refund_tracker()
    tracker.set_intent("billing.double_charge")
    tracker.add_agent_turn(tracker.matcher.turn("a1", "There is a 50 USD cancellation fee."))
    tracker.set_intent("subscription.cancel")
    progress = tracker.progress("c1")
    assert progress is not None and progress.checklist_id == "cancellation"
    assert [s.id for s in progress.steps if s.done] == ["explain-terms"]
    tracker.set_intent("billing.invoice")  # no checklist lists it
    assert tracker.progress("c1") is None


def test_semantic_ticks_use_the_encoder_and_the_threshold() -> None:
    checklists = load_checklists(PACK)
    refund = next(c for c in checklists if c.id == "refund-request")
    step = next(s for s in refund.steps if s.id == "close-call")
    loose = StepMatcher(checklists, BagOfWords(), semantic_threshold=0.3)
    strict = StepMatcher(checklists, BagOfWords(), semantic_threshold=0.99)
    said = "Ask me if there is something before closing."  # shares words with the step text
    assert not loose.lexical(refund, step, loose.turn("a", said))
    assert loose.matches(refund, step, loose.turn("a", said))
    assert not strict.matches(refund, step, strict.turn("a", said))


# ---- intent -----------------------------------------------------------------


def _scores(**by_id: float) -> list[IntentScore]:
    out = [IntentScore(Intent(i, i.upper(), ("x",)), s) for i, s in by_id.items()]
    return sorted(out, key=lambda s: s.score, reverse=True)


def test_the_intent_is_sticky_and_needs_the_threshold() -> None:
    opts = IntentOptions(threshold=0.55, candidate=0.50, strong=0.65, margin=0.08)
    tracker = IntentTracker(opts)
    assert tracker.update(_scores(a=0.45, b=0.2)) is None  # below everything
    assert tracker.update(_scores(a=0.52, b=0.2)) is None  # a candidate, once
    assert tracker.update(_scores(b=0.30, a=0.2)) is None  # ... not twice in a row
    assert tracker.update(_scores(a=0.52, b=0.2)) is None
    second = tracker.update(_scores(a=0.51, b=0.3))  # twice in a row
    assert second is not None and second.intent.id == "a"
    assert tracker.update(_scores(b=0.62, a=0.56)) is None  # not clearly more confident
    assert tracker.update(_scores(b=0.62, a=0.40)) is None  # clearly, but once and not strong
    assert tracker.update(_scores(a=0.60, b=0.40)) is None
    assert tracker.update(_scores(b=0.62, a=0.40)) is None  # the lead was broken: once again
    assert tracker.current is not None and tracker.current.id == "a"
    assert tracker.update(_scores(b=0.58, a=0.30)) is not None  # twice in a row
    assert tracker.current is not None and tracker.current.id == "b"
    strong = tracker.update(_scores(c=0.70, b=0.30))  # strong: at once
    assert strong is not None and strong.intent.id == "c"
    fresh = IntentTracker(opts)
    assert fresh.update(_scores(a=0.56)) is not None  # the threshold alone sets a first intent


def test_intent_model_scores_the_mean_of_the_nearest_examples() -> None:
    intents = [
        Intent("cancel", "Cancel", ("cancel my subscription", "end my plan")),
        Intent("jug", "Broken jug", ("the jug arrived cracked", "broken glass jug")),
    ]
    model = IntentModel(intents, BagOfWords(), IntentOptions(top_k=1, context_weight=0.5))
    scores = model.scores(model.encode_turn("my jug is cracked"))
    assert scores[0].intent.id == "jug" and scores[0].score > scores[1].score
    # context pulls a vague follow-up towards the topic it follows
    vague = model.scores(model.encode_turn("what now", "the jug arrived cracked"))
    assert vague[0].intent.id == "jug"
    assert model.scores(model.encode_turn("cancel"), exclude=0)[0].score < 1.0


# ---- talk time --------------------------------------------------------------


def test_talk_time_merges_overlaps_per_speaker() -> None:
    assert merged_length([(0, 2), (1, 3), (5, 6), (4, 4)]) == 4
    clock = TalkClock("c1")
    clock.add(final("hi", Speaker.AGENT, 0, 2))
    clock.add(final("hi again", Speaker.AGENT, 1.5, 3))  # overlaps the first
    clock.add(final("hello", Speaker.CUSTOMER, 2.5, 4))  # crosstalk counts for both
    clock.add(final("both", Speaker.MIXED, 4, 9))  # nobody's, but the call is longer
    stats = clock.stats()
    assert (stats.agent_s, stats.customer_s, stats.elapsed_s) == (3.0, 1.5, 9.0)
    clock.end(12.0)
    assert clock.stats().elapsed_s == 12.0


# ---- the worker ---------------------------------------------------------------


def test_without_a_pack_the_worker_publishes_talk_stats_only() -> None:
    rig = Rig(None, None)
    rig.say(
        CallStarted("c1", "test", (Speaker.AGENT, Speaker.CUSTOMER)),
        final("Hello, order number please?", Speaker.AGENT, 0, 2),
        final("I was charged twice", Speaker.CUSTOMER, 2, 4),
    )
    rig.bus.publish(CallEnded("c1", 10.0))
    rig.worker.close(10)
    assert {type(e) for e in rig.events} == {CallStarted, FinalUtterance, TalkStats, CallEnded}
    stats = rig.of(TalkStats)
    assert len(stats) == 3 and stats[-1] == TalkStats("c1", 2.0, 2.0, 10.0, 0.0)


def test_worker_detects_intent_and_ticks_the_checklist_off_the_bus_thread() -> None:
    encoder = BagOfWords()
    rig = Rig(PACK, encoder)
    rig.say(
        final("Can I have your order number?", Speaker.AGENT, 0, 2, "a1"),
        final("I was charged twice this month", Speaker.CUSTOMER, 2, 4, "c1"),
    )
    intents = rig.of(IntentDetected)
    assert [(i.intent_id, i.utterance_id) for i in intents] == [("billing.double_charge", "c1")]
    assert 0 < intents[0].confidence <= 1
    assert rig.worker.intent_label("c1") == "Charged twice"
    progress = rig.of(ChecklistProgress)
    assert progress[-1].checklist_id == "refund-request"
    assert [s.id for s in progress[-1].steps if s.done] == ["verify-identity"]  # retroactive
    rig.say(final("Is there anything else?", Speaker.AGENT, 5, 6, "a2"))
    assert [s.id for s in rig.of(ChecklistProgress)[-1].steps if s.done] == [
        "verify-identity",
        "close-call",
    ]
    n = len(rig.of(ChecklistProgress))
    rig.say(final("Okay.", Speaker.AGENT, 7, 8, "a3"))  # nothing ticks: nothing published
    assert len(rig.of(ChecklistProgress)) == n
    assert len(rig.of(TalkStats)) == 4
    rig.worker.close(10)
    assert encoder.threads == {"intel"}  # examples and turns embedded on the worker


def test_a_failing_embedder_is_one_pipeline_error_and_talk_stats_go_on() -> None:
    rig = Rig(PACK, lambda: BagOfWords(fail=True))
    rig.say(
        final("I was charged twice", Speaker.CUSTOMER, 0, 2),
        final("I was charged twice again", Speaker.CUSTOMER, 2, 4),
    )
    errors = rig.of(PipelineError)
    assert len(errors) == 1 and errors[0].stage == "intel" and "damaged" in errors[0].message
    assert not rig.of(IntentDetected) and len(rig.of(TalkStats)) == 2
    rig.worker.close(10)
    rig.worker.close(10)  # idempotent


def test_a_bad_pack_file_is_a_pipeline_error(tmp_path: Path) -> None:
    (tmp_path / "intents.toml").write_text("[[intent\n")
    rig = Rig(tmp_path, BagOfWords())
    rig.say(final("hello", Speaker.CUSTOMER, 0, 1))
    assert [e.stage for e in rig.of(PipelineError)] == ["intel"]
    assert len(rig.of(TalkStats)) == 1
    rig.worker.close(10)


# ---- with the real embedder ---------------------------------------------------


def _heard(rig: Rig) -> None:
    """The sample call as tiny.en transcribed it, final by final."""
    for n, row in enumerate(CASES["transcribed_call"]):
        rig.say(final(row["text"], Speaker(row["speaker"]), row["start"], row["end"], f"h{n}"))


LOO_BAR = 0.65  # measured 0.679 (93/137) with the shipped top-2 scoring
HELD_OUT_BAR = 0.95  # measured 1.00 (20/20)


@pytest.mark.slow
@pytest.mark.model
def test_the_packs_intents_classify_their_own_and_held_out_examples(embedder: Any) -> None:
    intents = load_intents(PACK)
    model = IntentModel(intents, embedder)
    rows = embedder.encode([e for i in intents for e in i.examples])
    owner = [i.id for i in intents for _ in i.examples]
    loo = sum(model.scores(rows[r], exclude=r)[0].intent.id == owner[r] for r in range(len(owner)))
    assert loo / len(owner) >= LOO_BAR, loo
    held = CASES["held_out"]
    vectors = embedder.encode([h["text"] for h in held])
    right = sum(model.scores(v)[0].intent.id in h["intents"] for v, h in zip(vectors, held, strict=True))
    assert right / len(held) >= HELD_OUT_BAR, right
    threshold = model.options.threshold
    for text, v in zip(
        CASES["negatives"]["texts"], embedder.encode(CASES["negatives"]["texts"]), strict=True
    ):
        assert model.scores(v)[0].score < threshold, text


@pytest.mark.slow
@pytest.mark.model
def test_the_sample_call_gets_its_intents_and_ticks_the_right_steps(embedder: Any) -> None:
    rig = Rig(PACK, embedder)
    rig.say(CallStarted("c1", "sample", (Speaker.AGENT, Speaker.CUSTOMER)))
    for turn in SCRIPT["turns"]:
        rig.say(
            final(
                turn["text"], Speaker(turn["speaker"]), turn["start"], turn["end"], f"t{turn['index']}"
            )
        )
    rig.say(CallEnded("c1", SCRIPT["duration"]))
    rig.worker.close(10)
    assert not rig.of(PipelineError)
    # the sticky intent: the double charge, then the cracked jug, and nothing else
    assert [(e.intent_id, e.utterance_id) for e in rig.of(IntentDetected)] == [
        ("billing.double_charge", "t9"),
        ("returns.damaged_item", "t16"),
    ]
    last = rig.of(ChecklistProgress)[-1]
    assert last.checklist_id == "refund-request" and last.intent_id == "returns.damaged_item"
    done = {s.id: s.done_by for s in last.steps if s.done}
    labels = {f"t{k}": set(v) for k, v in CASES["sample_call"]["agent"].items()}
    for step, by in done.items():  # every tick is one a person reading the script would make
        assert step in labels.get(by, set()), (step, by)
    assert done["verify-identity"] == "t4"  # said before the intent was known
    # the agent never says the call is recorded
    assert set(done) == {
        "verify-identity",
        "confirm-issue",
        "offer-resolution",
        "state-timeline",
        "close-call",
    }
    talk = rig.of(TalkStats)
    assert len(talk) == len(SCRIPT["turns"]) + 1
    agent_s = merged_length([(t["start"], t["end"]) for t in SCRIPT["turns"] if t["speaker"] == "agent"])
    assert talk[-1].agent_s == pytest.approx(agent_s, abs=0.01)
    assert talk[-1].elapsed_s == pytest.approx(SCRIPT["duration"], abs=0.01)


@pytest.mark.slow
@pytest.mark.model
def test_the_transcribed_sample_call_gets_the_same_intents_and_ticks(embedder: Any) -> None:
    """What the live app sees: split turns and misheard words ("charged rise", "$30,000")."""
    rig = Rig(PACK, embedder)
    _heard(rig)
    rig.worker.close(10)
    texts = {f"h{n}": row["text"] for n, row in enumerate(CASES["transcribed_call"])}
    detected = [(e.intent_id, texts[e.utterance_id]) for e in rig.of(IntentDetected)]
    assert detected == [
        ("billing.double_charge", "Those payments are $30,000."),
        ("returns.damaged_item", "It came yesterday and it has a big crack down the side."),
    ]
    last = rig.of(ChecklistProgress)[-1]
    assert last.checklist_id == "refund-request"
    done = {s.id: texts[s.done_by] for s in last.steps if s.done}
    assert done == {
        "verify-identity": "For security, can you tell me the first light of your address?",
        "confirm-issue": "Oh no, I'm sorry about that. Did the box look damaged when it arrived?",
        "offer-resolution": done["offer-resolution"],
        "state-timeline": done["state-timeline"],
        "close-call": "You are welcome, Laura. Isn't there anything else I can tell you with today?",
    }
    assert "refunded the second payment" in done["state-timeline"]
