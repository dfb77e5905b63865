"""Ask the handbook and the hand-over note: the panel, the window and the controller with a fake
engine whose Futures complete on other threads, as the generation worker's do (offscreen Qt)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, InvalidStateError
from pathlib import Path
from typing import Any

import pytest

from agent_assist.domain import CallEnded, CallStarted, Event, KnowledgeCard, NoteReady, Speaker
from agent_assist.errors import UserError
from agent_assist.knowledge.index import Hit
from agent_assist.llm.tasks import NOT_IN_PACK, Answer
from agent_assist.llm.tasks_notes import Note

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(r"does not support (propagateSizeHints|raise)")]

CALL = "call-1"
CARD = KnowledgeCard("northwind-home", "refunds#duplicate", "refunds", "Refunds and duplicate charges",
                     ("Refunds and duplicate charges", "Duplicate charges"), "duplicate-charges",
                     "Refund the duplicate charge to the original payment method.", 0.82)  # fmt: skip


HIT = Hit("northwind-home", "refunds#timeline", "refunds", "Refunds and duplicate charges",
          ("Refunds and duplicate charges", "Refund timeline"), "refund-timeline",
          "Card refunds usually appear within 3 to 5 business days.", 0.03, 0.71)  # fmt: skip


def answer(question: str, text: str = "", *, found: bool = True) -> Answer:
    if not found:
        return Answer(question, NOT_IN_PACK, False)
    text = text or "Refund the duplicate charge to the original card [1]. It takes 3 to 5 days [2]."
    return Answer(question, text, True, (1, 2), (CARD, HIT), model="smollm2", backend="llama.cpp")


def note(text: str, error: str = "") -> Note:
    return Note(CALL, "transfer", text, "smollm2", "llama.cpp", "transfer-1", 0.2, 1.0, "", error)


def finish(future: Future[Any], value: object) -> None:
    """Complete ``future`` on a thread of its own (as the generation worker does)."""

    def run() -> None:
        with contextlib.suppress(InvalidStateError):  # cancelled by the app meanwhile
            if isinstance(value, BaseException):
                future.set_exception(value)
            else:
                future.set_result(value)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()


class FakeEngine:
    """What ``AppController`` needs of the engine; ``ask``/``request_transfer_note`` hand out
    Futures the test completes. ``running`` marks them started (they cannot be cancelled then)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, Future[Answer]]] = []
        self.notes: list[Future[Note]] = []
        self.running = False
        self.fail_now: UserError | None = None
        self._subscribers: list[Callable[[Event], None]] = []

    in_call = False
    pack_folder: Path | None = None

    def subscribe(self, fn: Callable[[Event], None]) -> Callable[[], None]:
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn)

    def publish(self, event: Event) -> None:
        for fn in list(self._subscribers):
            fn(event)

    def _future(self) -> Future[Any]:
        future: Future[Any] = Future()
        if self.fail_now is not None:
            future.set_exception(self.fail_now)  # as the engine's failed_future
        elif self.running:
            future.set_running_or_notify_cancel()
        return future

    def ask(self, question: str) -> Future[Answer]:
        future = self._future()
        self.asked.append((question, future))
        return future

    def request_transfer_note(self) -> Future[Note]:
        future = self._future()
        self.notes.append(future)
        return future

    def load(self) -> None: ...
    def start_call(self, source: Any) -> str:
        return CALL

    def stop_call(self, reason: str = "") -> None: ...
    def set_muted(self, speaker: Speaker, muted: bool) -> None: ...
    def set_feedback(self, suggestion_id: str, value: int) -> object:
        return True

    def save_wrapup(self, call_id: str, summary_json: str, disposition: str) -> object:
        return True

    def wait_call_done(self, timeout: float | None = None) -> bool:
        return True

    def close(self, timeout: float | None = None) -> None: ...


@pytest.fixture
def app(qapp: Any, qtbot: Any) -> Iterator[tuple[Any, FakeEngine]]:
    """A sidebar window wired to a fake engine by the real controller."""
    from agent_assist.ui.controller import AppController
    from agent_assist.ui.theme import apply_theme
    from agent_assist.ui.window import SidebarWindow

    apply_theme(qapp, "light")
    window = SidebarWindow()
    qtbot.addWidget(window)
    engine = FakeEngine()
    controller = AppController(window, engine, lambda: None)
    window.resize(380, 900)
    window.show()
    yield window, engine
    controller.bridge.close()
    controller._pool.shutdown(wait=True)


def ask(qtbot: Any, window: Any, question: str) -> None:
    from agent_assist.ui.qt import Qt

    window.ask.field.clear()
    qtbot.keyClicks(window.ask.field, question)
    qtbot.keyClick(window.ask.field, Qt.Key.Key_Return)


def test_answer_shows_with_citations_that_open_the_article(
    app: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_assist.ui import article
    from agent_assist.ui.qt import QtGui

    window, engine = app
    view = window.ask
    monkeypatch.setattr(article, "load_article", lambda card, folder=None: f"text of {card.anchor}")
    assert view.state == "idle" and view.result.isHidden()
    ask(qtbot, window, "  how long   do refunds take? ")
    assert [q for q, _ in engine.asked] == ["how long do refunds take?"]
    assert view.state == "busy" and view.text.text() == "Looking up: how long do refunds take?"
    assert view.field.isEnabled() and view.copy_button.isHidden()

    finish(engine.asked[0][1], answer("how long do refunds take?"))
    qtbot.waitUntil(lambda: view.state == "answer")
    assert view.verdict.text() == "✓ Grounded"
    assert 'href="cite:1"' in view.text.text() and 'href="cite:2"' in view.text.text()
    assert view.text.accessibleDescription().startswith(
        "Refund the duplicate charge to the original card."
    )
    chips = view.citation_buttons()
    assert [c.text() for c in chips] == ["[1]", "[2]"]
    assert all(c.accessibleName() and c.focusPolicy() for c in chips)

    with qtbot.waitSignal(view.citation_clicked) as cited:
        chips[0].click()
    assert cited.args == [CARD]
    with qtbot.waitSignal(view.citation_clicked) as cited:
        view.text.linkActivated.emit("cite:2")  # the [2] marker in the text
    card = cited.args[0]
    assert isinstance(card, KnowledgeCard) and (card.chunk_id, card.anchor) == (HIT.chunk_id, HIT.anchor)

    view.copy_button.click()
    assert QtGui.QGuiApplication.clipboard().text() == (
        "Refund the duplicate charge to the original card. It takes 3 to 5 days."
    )

    # The controller opened each cited article as a card's "Open article" does.
    qtbot.waitUntil(lambda: len(window.findChildren(article.ArticleDialog)) == 2)
    opened = [d.browser.toPlainText() for d in window.findChildren(article.ArticleDialog)]
    assert opened == ["text of duplicate-charges", "text of refund-timeline"]
    for dialog in window.findChildren(article.ArticleDialog):
        dialog.close()


def test_not_in_the_pack_and_a_model_that_is_down(app: Any, qtbot: Any) -> None:
    window, engine = app
    view = window.ask
    ask(qtbot, window, "do you sell cars?")
    finish(engine.asked[0][1], answer("do you sell cars?", found=False))
    qtbot.waitUntil(lambda: view.state == "not_found")
    assert view.text.text() == "Not in the knowledge pack"
    assert "do you sell cars?" in view.detail.text() and view.copy_button.isHidden()
    assert view.citation_buttons() == []

    ask(qtbot, window, "how do refunds work?")
    finish(engine.asked[1][1], UserError("the language model is off", "turn it on in the settings"))
    qtbot.waitUntil(lambda: view.state == "error")
    assert view.text.text() == "the language model is off"
    assert view.detail.text() == "turn it on in the settings" and view.verdict.text() == "Unavailable"

    # The engine's already-failed Future (no LLM at all) reports at once, on the GUI thread.
    engine.fail_now = UserError("speech only: no language model")
    ask(qtbot, window, "and now?")
    assert view.state == "error" and view.text.text() == "speech only: no language model"


def test_extractive_answer_says_so_and_names_the_model_problem(app: Any, qtbot: Any) -> None:
    window, engine = app
    view = window.ask
    ask(qtbot, window, "refund time?")
    quoted = Answer("refund time?", "Card refunds usually appear within 3 to 5 business days.", True,
                    (2,), (CARD, HIT), extractive=True, backend_error="connection refused")  # fmt: skip
    finish(engine.asked[0][1], quoted)
    qtbot.waitUntil(lambda: view.state == "answer")
    assert view.verdict.text() == "From the article"
    assert [c.text() for c in view.citation_buttons()] == ["[2]"]
    assert "connection refused" in view.detail.text()


@pytest.mark.parametrize("running", [False, True], ids=["queued", "generating"])
def test_a_newer_question_supersedes_the_older_one(app: Any, qtbot: Any, running: bool) -> None:
    window, engine = app
    view = window.ask
    engine.running = running  # a running job cannot be cancelled: its answer still comes back
    ask(qtbot, window, "first question")
    ask(qtbot, window, "second question")
    (_, older), (_, newer) = engine.asked
    assert older.cancelled() is not running
    assert view.state == "busy" and view.question == "second question"

    # Queued results arrive in order: when the newer shows, the older was already handled.
    finish(older, answer("first question", "Old answer [1]."))
    finish(newer, answer("second question", "New answer [1]."))
    qtbot.waitUntil(lambda: view.state == "answer")
    assert "New answer" in view.text.text()
    finish(older, answer("first question", "Old answer [1]."))  # no-op either way
    view.show_result("first question", answer("first question", "Old answer [1]."))
    assert "New answer" in view.text.text()


def test_escape_clears_the_field_then_the_answer(app: Any, qtbot: Any) -> None:
    from agent_assist.ui.qt import Qt

    window, engine = app
    view = window.ask
    ask(qtbot, window, "pending question")
    qtbot.keyClicks(view.field, "half typed")
    qtbot.keyClick(view.field, Qt.Key.Key_Escape)
    assert view.field.text() == "" and view.state == "busy"
    with qtbot.waitSignal(view.dismissed):
        qtbot.keyClick(view.field, Qt.Key.Key_Escape)
    assert view.state == "idle" and view.result.isHidden()
    assert engine.asked[0][1].cancelled()
    qtbot.keyClick(view.field, Qt.Key.Key_Return)  # nothing to ask
    assert len(engine.asked) == 1


def test_hand_over_note_in_a_call(app: Any, qtbot: Any) -> None:
    from agent_assist.ui.qt import QtGui

    window, engine = app
    view = window.ask
    assert not view.note_button.isEnabled()
    engine.publish(CallStarted(CALL, "test", (Speaker.AGENT, Speaker.CUSTOMER)))
    qtbot.waitUntil(view.note_button.isEnabled)

    view.note_button.click()
    dialog = view.note_dialog
    assert dialog is not None and dialog.isVisible()
    assert "Writing the hand-over note" in dialog.status.text() and not dialog.copy_button.isEnabled()
    view.note_button.click()  # a second click while it is being written only shows the dialog
    assert len(engine.notes) == 1

    text = "Customer was charged twice for order 48213; refund not yet issued. Next: refund to Visa."
    finish(engine.notes[0], note(text))
    qtbot.waitUntil(lambda: dialog.note == text)
    assert dialog.status.isHidden() and dialog.copy_button.isEnabled()
    dialog.copy_button.click()
    assert QtGui.QGuiApplication.clipboard().text() == text
    dialog.close_button.click()
    assert not dialog.isVisible()

    # The NoteReady event may arrive before the Future's result: either fills the dialog.
    view.note_button.click()
    engine.publish(NoteReady(CALL, "transfer", "From the event.", "smollm2", "llama.cpp", "t-1", 1.0))
    qtbot.waitUntil(lambda: dialog.note == "From the event.")
    finish(engine.notes[1], note("From the event."))

    # A model that could not write it, then one that is off.
    view.note_button.click()
    finish(engine.notes[2], note("", "connection refused"))
    qtbot.waitUntil(lambda: "connection refused" in dialog.status.text())
    assert dialog.note == "" and not dialog.copy_button.isEnabled()
    view.note_button.click()
    finish(engine.notes[3], UserError("the language model is off", "turn it on in the settings"))
    qtbot.waitUntil(lambda: dialog.status.text().startswith("the language model is off"))
    dialog.close()

    engine.publish(CallEnded(CALL, 60.0))
    qtbot.waitUntil(lambda: not view.note_button.isEnabled())


def test_compact_mode_hides_the_panel_and_controls_are_named(app: Any) -> None:
    from agent_assist.ui.qt import QtWidgets

    window, _ = app
    view = window.ask
    controls = view.findChildren(QtWidgets.QAbstractButton) + view.findChildren(QtWidgets.QLineEdit)
    assert controls and all(c.accessibleName() for c in controls)
    assert view.field.placeholderText() == "Ask the handbook…"
    window.set_compact(True)
    assert view.isHidden()
    window.set_compact(False)
    assert not view.isHidden()
