"""The sidebar's live panels: real domain events in, visible state and signals out (offscreen Qt)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from agent_assist.domain import (
    AudioLevel,
    BackendStatus,
    CallEnded,
    CallStarted,
    CallSummaryReady,
    ChecklistProgress,
    ChecklistStep,
    DeviceState,
    DeviceStatus,
    Event,
    FinalUtterance,
    IntentDetected,
    KnowledgeCard,
    KnowledgeCards,
    ModelStatus,
    NoteReady,
    PartialText,
    PipelineError,
    SentenceCheck,
    Speaker,
    SuggestionDropped,
    SuggestionReady,
    SuggestionStarted,
    SuggestionToken,
    TalkStats,
)

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(r"does not support (propagateSizeHints|raise)")]

A, C = Speaker.AGENT, Speaker.CUSTOMER
CALL = "call-1"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def light(qapp: Any) -> Any:
    from agent_assist.ui.theme import apply_theme

    apply_theme(qapp, "light")
    return qapp


CARDS = (
    KnowledgeCard("northwind-home", "refunds#duplicate", "refunds", "Refunds and duplicate charges",
                  ("Refunds and duplicate charges", "Duplicate charges"), "duplicate-charges",
                  "If a customer was charged twice for the same order, refund the duplicate charge to the "
                  "original payment method. Refunds take 3 to 5 business days to appear on the statement; "
                  "send the confirmation email before ending the call.", 0.82, 0.031),
    KnowledgeCard("northwind-home", "refunds#timeline", "refunds", "Refunds and duplicate charges",
                  ("Refunds and duplicate charges", "Refund timeline"), "refund-timeline",
                  "Card refunds usually appear within 3 to 5 business days; bank transfers can take up to "
                  "10 days.", 0.71, 0.029),
)  # fmt: skip

READY = SuggestionReady(
    CALL, "u3", "s1",
    "I can refund the duplicate charge to your original card right away [1]. It usually shows on your "
    "statement within 3 to 5 business days [1][2].",
    (1, 2), ("refunds#duplicate", "refunds#timeline"), ("u3",), False, True,
    "2/2 sentences supported",
    (SentenceCheck("I can refund…", (1,), True, 0.8),), "smollm2", "llama.cpp", "suggest-2", 0.2, 1.4, 1.9,
)  # fmt: skip

SUMMARY = {
    "reason_for_contact": "Customer was charged twice for order 48213.",
    "key_facts": ["Duplicate charge of 59.90 USD on 12 March", "Paid by Visa"],
    "identifiers": ["48213"],
    "actions_taken": ["Refunded the duplicate charge", "Sent the confirmation email"],
    "resolution": "Refund issued; 3 to 5 business days.",
    "follow_ups": [],
    "sentiment_start": "negative",
    "sentiment_end": "positive",
    "disposition": "REFUND-ISSUED",
}

DISPOSITIONS = [("REFUND-ISSUED", "Refund issued"), ("REPLACEMENT-SENT", "Replacement sent"),
                ("GOODWILL-CREDIT", "Goodwill credit given")]  # fmt: skip


def live_call() -> list[Event]:
    """A plausible stretch of a call, as the engine publishes it."""
    return [
        ModelStatus("speech", "ready", "tiny.en"),
        ModelStatus("knowledge", "ready", "northwind-home"),
        ModelStatus("llm", "loading", "smollm2-135m-instruct"),
        CallStarted(CALL, "devices", (A, C)),
        DeviceStatus(CALL, A, "Headset microphone", DeviceState.OPEN),
        DeviceStatus(CALL, C, "Monitor of Speakers", DeviceState.OPEN),
        FinalUtterance(
            CALL, "u1", A, 0.5, 2.5, "Thank you for calling Northwind Home, this is Sam.", 0.9
        ),
        FinalUtterance(
            CALL,
            "u2",
            C,
            3.0,
            8.0,
            "Hi, I was charged twice for my order last week and I'd "
            "like the extra charge refunded please.",
            0.9,
        ),
        FinalUtterance(CALL, "u3", A, 8.5, 10.0, "I'm sorry about that, let me look at the order.", 0.9),
        PartialText(CALL, "u4", C, 10.5, 12.0, "it was the order ending in four eight"),
        IntentDetected(CALL, "u2", "refund", "Refund request", 0.78),
        TalkStats(CALL, 5.5, 5.0, 12.0),
        KnowledgeCards(CALL, "u2", "charged twice for my order, extra charge refunded", CARDS, 0.82),
        AudioLevel(CALL, A, -30.0, -18.0),
        AudioLevel(CALL, C, -22.0, -9.0),
        ChecklistProgress(
            CALL,
            "refund",
            "refund",
            (
                ChecklistStep("verify", "Verify the customer's identity", True, "u3"),
                ChecklistStep("order", "Confirm the order number", False),
                ChecklistStep("refund", "Issue the refund to the original payment method", False),
                ChecklistStep("email", "Send the confirmation email", False),
            ),
        ),
        READY,
    ]


# -- screenshots ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_panels_render_in_both_themes(qapp: Any, qtbot: Any, tmp_path: Path, mode: str) -> None:
    """Render the live panels and the wrap-up at sidebar width, and save PNGs to look at.

    ``AGENT_ASSIST_UI_SHOTS=DIR`` keeps them in DIR (otherwise a tmp folder).
    """
    from agent_assist.ui.panels import (
        CallBar,
        CardsView,
        ChecklistView,
        CueStrip,
        SuggestionView,
        TranscriptView,
        WrapupView,
    )
    from agent_assist.ui.qt import QtWidgets
    from agent_assist.ui.theme import apply_theme

    apply_theme(qapp, mode)
    out = Path(os.environ.get("AGENT_ASSIST_UI_SHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    clock = FakeClock()
    page = QtWidgets.QWidget()
    page.setObjectName("sidebar")
    qtbot.addWidget(page)
    bar, cues = CallBar(clock=clock), CueStrip(clock=clock)
    transcript, suggestion = TranscriptView(), SuggestionView()
    cards, checklist = CardsView(), ChecklistView()
    panels = [bar, cues, transcript, suggestion, cards, checklist]
    layout = QtWidgets.QVBoxLayout(page)
    layout.setContentsMargins(0, 8, 0, 8)
    layout.setSpacing(8)
    for panel in panels:
        layout.addWidget(panel, 2 if panel is transcript else (3 if panel is cards else 0))
    page.resize(380, 1180)
    page.show()
    for event in live_call():
        for panel in panels:
            panel.on_event(event)
    clock.now += 75
    bar.tick()
    clock.now -= 66  # 9 s of silence since the last words
    cues.tick()
    cues.on_event(DeviceStatus(CALL, C, "Monitor of Speakers", DeviceState.LOST, "source vanished"))
    qapp.processEvents()
    assert page.grab().save(str(out / f"live-{mode}.png"))

    wrap = WrapupView()
    qtbot.addWidget(wrap)
    wrap.set_dispositions(DISPOSITIONS)
    wrap.resize(380, 900)
    wrap.show()
    wrap.on_event(CallEnded(CALL, 181.0))
    wrap.on_event(CallSummaryReady(CALL, json.dumps(SUMMARY), "REFUND-ISSUED", True, False, "smollm2",
                                   "llama.cpp", "summary-3", 6.2))  # fmt: skip
    wrap.on_event(NoteReady(CALL, "coaching", "Good empathy at the start. Confirm the order number before "
                            "promising a refund.", "smollm2", "llama.cpp", "coaching-1", 2.0))  # fmt: skip
    qapp.processEvents()
    assert wrap.grab().save(str(out / f"wrapup-{mode}.png"))
    apply_theme(qapp, "light")


# -- call bar ------------------------------------------------------------------------------------


def test_call_bar_buttons_timer_meters_devices_and_chips(light: Any, qtbot: Any) -> None:
    from agent_assist.ui.panels import CallBar
    from agent_assist.ui.qt import Qt

    clock = FakeClock()
    bar = CallBar(clock=clock)
    qtbot.addWidget(bar)
    with qtbot.waitSignal(bar.start_requested):
        qtbot.mouseClick(bar.button, Qt.MouseButton.LeftButton)
    assert bar.call_state == "starting" and not bar.button.isEnabled()
    bar.on_event(CallStarted(CALL, "devices", (A, C)))
    assert bar.call_state == "active" and bar.button.text() == "End call"
    clock.now += 65
    bar.tick()
    assert bar.timer_label.text() == "1:05"
    clock.now += 1
    bar.tick()
    assert bar.timer_label.text() == "1:06"
    bar.on_event(AudioLevel(CALL, A, -40.0, -30.0, position=200.0))  # a replay runs ahead
    bar.tick()
    assert bar.timer_label.text() == "3:20"

    meter = bar.channels[C].meter
    bar.on_event(AudioLevel(CALL, C, -30.0, -20.0))
    assert meter.value() == pytest.approx(0.5)
    bar.on_event(AudioLevel(CALL, C, -60.0, -60.0))
    assert meter.value() == pytest.approx(0.5)  # falls smoothly, not at once
    meter.step()
    assert 0.4 < meter.value() < 0.5
    for _ in range(20):
        meter.step()
    assert meter.value() == 0.0

    with qtbot.waitSignal(bar.mute_toggled) as muted:
        qtbot.mouseClick(bar.channels[A].mute, Qt.MouseButton.LeftButton)
    assert muted.args == ["agent", True]
    bar.on_event(AudioLevel(CALL, A, -100.0, -100.0, muted=False))  # the engine says: not muted
    assert not bar.channels[A].mute.isChecked()

    bar.on_event(DeviceStatus(CALL, C, "Monitor of Speakers", DeviceState.LOST, "gone"))
    dot = bar.channels[C].dot
    assert dot.property("state") == "lost"
    assert "Monitor of Speakers" in dot.toolTip() and "gone" in dot.toolTip()

    bar.on_event(ModelStatus("speech", "loading", "tiny.en"))
    assert bar.model_state("speech") == "loading"
    bar.on_event(ModelStatus("speech", "ready", "tiny.en"))
    bar.on_event(ModelStatus("embedder", "ready"))
    bar.on_event(
        ModelStatus("knowledge", "down", detail="no pack installed; fix: agent-assist pack install")
    )
    assert bar.model_state("speech") == "ready"
    assert bar.model_state("knowledge") == "down"
    assert "no pack installed" in bar.chips["knowledge"].toolTip()
    bar.on_event(BackendStatus("down", "connection refused"))
    assert bar.model_state("llm") == "down"
    bar.set_compact(True)
    assert bar.chips["speech"].isHidden() and not bar.chips["knowledge"].isHidden()

    with qtbot.waitSignal(bar.stop_requested):
        bar.button.click()
    bar.on_event(CallEnded(CALL, 70.0))
    assert bar.call_state == "idle" and bar.timer_label.text() == "1:10"
    clock.now += 10
    bar.tick()
    assert bar.timer_label.text() == "1:10"  # stopped


# -- transcript ----------------------------------------------------------------------------------


def test_transcript_follows_and_jump_to_live(light: Any, qtbot: Any) -> None:
    from agent_assist.ui.panels import TranscriptView
    from agent_assist.ui.qt import QtCore

    view = TranscriptView()
    qtbot.addWidget(view)
    view.resize(380, 300)
    view.show()
    qtbot.waitExposed(view)
    view.on_event(CallStarted(CALL, "test", (A, C)))
    assert not view.empty.isHidden() or view.model.rowCount() == 0
    for i in range(30):
        speaker = A if i % 2 else C
        view.on_event(
            FinalUtterance(
                CALL, f"u{i}", speaker, i * 3.0, i * 3.0 + 2, f"Line {i} " + "word " * 12, 0.9
            )
        )
    QtCore.QCoreApplication.processEvents()
    bar = view.list.verticalScrollBar()
    assert bar.maximum() > 0
    assert bar.value() == bar.maximum() and view.following
    assert view.jump.isHidden()

    bar.setValue(0)  # the agent scrolls up
    assert not view.following and view.jump.isVisible()
    view.on_event(PartialText(CALL, "u99", C, 100.0, 101.0, "and another thing"))
    QtCore.QCoreApplication.processEvents()
    assert bar.value() == 0  # stays where the agent is reading

    qtbot.mouseClick(view.jump, QtCore.Qt.MouseButton.LeftButton)
    QtCore.QCoreApplication.processEvents()
    assert view.following and view.jump.isHidden()
    assert bar.value() == bar.maximum()
    view.on_event(FinalUtterance(CALL, "u99", C, 100.0, 102.0, "and another thing " + "long " * 30, 0.9))
    QtCore.QCoreApplication.processEvents()
    assert bar.value() == bar.maximum()  # keeps following as the line grows

    # wrapped rows are taller than one line
    short = view.list.visualRect(view.model.index(0))
    long = view.list.visualRect(view.model.index(view.model.row_of("u99")))
    assert long.height() > short.height()


# -- cue strip -----------------------------------------------------------------------------------


def test_cue_strip_intent_dead_air_talk_and_alerts(light: Any, qtbot: Any) -> None:
    from agent_assist.ui.panels import CueStrip

    clock = FakeClock()
    strip = CueStrip(clock=clock)
    qtbot.addWidget(strip)
    strip.on_event(CallStarted(CALL, "test", (A, C)))
    strip.on_event(IntentDetected(CALL, "u2", "refund", "Refund request", 0.78))
    assert strip.intent_name.text() == "Refund request" and strip.intent_pct.text() == "78%"

    clock.now += 2
    strip.tick()
    assert strip.dead_air.isHidden()
    clock.now += 2
    strip.tick()
    assert not strip.dead_air.isHidden() and strip.dead_air.text() == "Silence 0:04"
    assert strip.dead_air.property("state") == ""
    clock.now += 5
    strip.tick()
    assert strip.dead_air.property("state") == "long"
    strip.on_event(AudioLevel(CALL, C, -70.0, -60.0))  # line noise: still silent
    strip.tick()
    assert not strip.dead_air.isHidden()
    strip.on_event(AudioLevel(CALL, C, -25.0, -12.0))  # someone speaks
    assert strip.dead_air.isHidden()
    strip.set_dead_air_limit(20)
    clock.now += 9
    strip.tick()
    assert strip.dead_air.property("state") == ""

    strip.on_event(TalkStats(CALL, 30.0, 10.0, 45.0))
    assert strip.talk_agent.text() == "You 75%" and strip.talk_customer.text() == "25% Customer"
    assert strip.talk_bar.fraction == pytest.approx(0.75)

    strip.on_event(DeviceStatus(CALL, C, "Monitor", DeviceState.LOST, "vanished"))
    strip.on_event(PipelineError(CALL, "speech", "decoder fell behind"))
    strip.on_event(BackendStatus("down", "connection refused"))
    texts = strip.alert_texts()
    assert texts[0].startswith("Reply suggestions paused: connection refused")
    assert any("customer's audio was lost" in t for t in texts)
    strip.on_event(DeviceStatus(CALL, C, "Monitor", DeviceState.REOPENED))
    assert not any("audio was lost" in t for t in strip.alert_texts())
    alert = strip._alerts["pipeline:speech"]
    with qtbot.waitSignal(strip.alert_dismissed) as dismissed:
        alert.close_button.click()
    assert dismissed.args == ["pipeline:speech"]
    assert strip.alert_texts() == ["Reply suggestions paused: connection refused"]
    assert strip.sentiment.isHidden()  # no sentiment events exist: nothing is shown
    strip.on_event(CallEnded(CALL, 60.0))
    assert strip.dead_air.isHidden()


# -- cards ---------------------------------------------------------------------------------------


def test_cards_view_highlight_pin_open(light: Any, qtbot: Any) -> None:
    from agent_assist.ui.panels import CardsView
    from agent_assist.ui.panels.cards_view import highlight_html

    view = CardsView()
    qtbot.addWidget(view)
    assert not view.empty.isHidden()
    view.on_event(KnowledgeCards(CALL, "u2", "I was charged twice for the order", CARDS, 0.8))
    cards = view.card_widgets()
    assert [c.chunk_id for c in cards] == ["refunds#duplicate", "refunds#timeline"]
    assert cards[0].number.text() == "[1]" and cards[1].number.text() == "[2]"
    snippet = cards[0].snippet.text()
    assert "<b" in snippet and ">charged<" in snippet and ">order<" in snippet
    assert ">the<" not in snippet  # stop words are not highlighted
    assert cards[0].source.text() == "northwind-home · Refunds and duplicate charges › Duplicate charges"
    assert cards[0].match.text() == "82% match"
    assert "refunded" in highlight_html("It was refunded.", "refund", "#000")

    with qtbot.waitSignal(view.open_article) as opened:
        cards[1].open_button.click()
    assert opened.args[0] is CARDS[1]
    with qtbot.waitSignal(view.pin_toggled) as pinned:
        cards[1].pin_button.click()
    assert pinned.args == ["refunds#timeline", True]
    assert [c.chunk_id for c in view.card_widgets()] == ["refunds#timeline", "refunds#duplicate"]
    assert view.card_widgets()[0].pin_button.isChecked()
    assert view.highlight("refunds#duplicate") and not view.highlight("nope")
    view.set_compact(True)
    assert view.card_widgets()[0].source.isHidden()


# -- suggestion ----------------------------------------------------------------------------------


def test_suggestion_drafts_streams_and_is_ready(light: Any, qtbot: Any) -> None:
    from agent_assist.ui.panels import SuggestionView
    from agent_assist.ui.panels.suggestion_view import strip_citations
    from agent_assist.ui.qt import QtGui

    view = SuggestionView()
    qtbot.addWidget(view)
    assert view.state == "empty" and view.card.isHidden()
    view.on_event(SuggestionStarted(CALL, "u3", "s1"))
    assert view.state == "drafting" and view.verdict.text() == "drafting…"
    view.on_event(SuggestionToken(CALL, "u3", "s1", "I can refund"))
    view.on_event(SuggestionToken(CALL, "u3", "s1", "I can refund the duplicate"))
    assert view.text.text() == "I can refund the duplicate"
    assert view.text.property("tentative") is True
    assert view.action_row.isHidden()

    view.on_event(READY)
    assert view.state == "ready" and view.suggestion_id == "s1"
    assert view.verdict.text() == "✓ Grounded"
    assert [b.text() for b in view.citation_buttons()] == ["[1]", "[2]"]
    with qtbot.waitSignal(view.citation_clicked) as cited:
        view.citation_buttons()[1].click()
    assert cited.args == ["refunds#timeline"]
    with qtbot.waitSignal(view.copied) as copied:
        view.copy_button.click()
    assert copied.args == ["s1"]
    clip = QtGui.QGuiApplication.clipboard().text()
    assert "[" not in clip and clip.startswith(
        "I can refund the duplicate charge to your original card right away."
    )
    assert strip_citations("Yes [1][2], it is [1, 2].") == "Yes, it is."
    with qtbot.waitSignal(view.feedback) as voted:
        view.up.click()
    assert voted.args == ["s1", 1]
    with qtbot.waitSignal(view.feedback) as voted:
        view.down.click()
    assert voted.args == ["s1", -1]
    assert view.down.isChecked() and not view.up.isChecked()

    # a newer draft that is superseded goes away and the ready one comes back
    view.on_event(SuggestionStarted(CALL, "u5", "s2"))
    view.on_event(SuggestionDropped(CALL, "u5", "s2", "superseded"))
    assert view.state == "ready" and view.suggestion_id == "s1" and view.down.isChecked()

    extractive = SuggestionReady(CALL, "u6", "s3", "Refunds take 3 to 5 business days [2].", (2,),
                                 READY.snippet_ids, ("u6",), True, True, "quoted", (), "m", "b", "v", None,
                                 0.1, 0.2)  # fmt: skip
    view.on_event(extractive)
    assert view.verdict.text() == "From the article"
    view.on_event(BackendStatus("down", "connection refused"))
    assert not view.notice.isHidden()
    assert view.notice_text.text() == "Suggestions unavailable: connection refused"
    view.on_event(BackendStatus("ready"))
    assert view.notice.isHidden()
    view.on_event(CallStarted("call-2", "test", (A, C)))
    assert view.state == "empty"


# -- checklist -----------------------------------------------------------------------------------


def test_checklist_ticks_and_counts(light: Any, qtbot: Any) -> None:
    from agent_assist.ui.panels import ChecklistView

    view = ChecklistView()
    qtbot.addWidget(view)
    assert view.body.isHidden()
    steps = (
        ChecklistStep("verify", "Verify identity", False),
        ChecklistStep("refund", "Issue refund", False),
    )
    view.on_event(IntentDetected(CALL, "u2", "refund", "Refund request", 0.8))
    view.on_event(ChecklistProgress(CALL, "refund", "refund", steps))
    assert not view.body.isHidden()
    assert view.count.text() == "0/2 done" and view.intent.text() == "· Refund request"
    view.on_event(
        ChecklistProgress(
            CALL, "refund", "refund", (steps[0], ChecklistStep("refund", "Issue refund", True, "u9"))
        )
    )
    assert view.count.text() == "1/2 done"
    assert view.animating and view.glow(1) > 0.5 and view.glow(0) == 0.0
    qtbot.waitUntil(lambda: not view.animating, timeout=3000)
    view.on_event(CallStarted("call-2", "test", (A, C)))
    assert view.body.isHidden()


# -- wrap-up -------------------------------------------------------------------------------------


def test_wrapup_waits_fills_edits_and_saves(light: Any, qtbot: Any) -> None:
    from agent_assist.ui.panels import WrapupView

    view = WrapupView()
    qtbot.addWidget(view)
    view.set_dispositions(DISPOSITIONS)
    view.on_event(CallStarted(CALL, "test", (A, C)))
    assert view.state == "idle"
    view.on_event(CallEnded(CALL, 120.0))
    assert view.state == "waiting" and view.status.text() == "Waiting for the summary…"
    assert view.form.isHidden()
    view.on_event(
        CallSummaryReady(CALL, json.dumps(SUMMARY), "REFUND-ISSUED", False, True, "", "rules", "", 0.1)
    )
    assert view.state == "ready" and not view.form.isHidden()
    assert view.kind.text() == "Made by rules"
    assert view.disposition_code() == "REFUND-ISSUED"
    assert (
        view.fields["key_facts"].toPlainText()
        == "Duplicate charge of 59.90 USD on 12 March\nPaid by Visa"
    )
    assert view.sentiment_start.currentText() == "Negative"
    view.on_event(NoteReady(CALL, "coaching", "Confirm the order first.", "m", "b", "v", 1.0))
    assert view.note.text() == "Confirm the order first."

    view.fields["follow_ups"].setPlainText("Call back Friday\n\n  check   refund  ")
    view.fields["reason_for_contact"].setPlainText("Double charge")
    view.disposition.setCurrentIndex(2)
    view.sentiment_end.setCurrentIndex(1)
    with qtbot.waitSignal(view.save_requested) as saved:
        view.save_button.click()
    call_id, summary_json, disposition = saved.args
    data = json.loads(summary_json)
    assert call_id == CALL and disposition == "GOODWILL-CREDIT"
    assert list(data) == list(SUMMARY)
    assert data["follow_ups"] == ["Call back Friday", "check refund"]
    assert data["reason_for_contact"] == "Double charge"
    assert data["disposition"] == "GOODWILL-CREDIT" and data["sentiment_end"] == "neutral"
    assert data["identifiers"] == ["48213"]
    view.mark_saved()
    assert view.state == "saved" and view.saved_label.text() == "Saved"


def test_theme_follows_the_system_and_can_be_forced(qapp: Any) -> None:
    from agent_assist.ui.theme import DARK, LIGHT, apply_theme, tokens

    assert apply_theme(qapp, "system") is LIGHT  # offscreen reports Unknown: light
    assert apply_theme(qapp, "dark") is DARK and tokens() is DARK
    assert qapp.palette().window().color().name() == DARK.background
    assert apply_theme(qapp, "bogus") is LIGHT
    apply_theme(qapp, "light")
