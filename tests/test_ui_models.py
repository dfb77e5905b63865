"""The sidebar's list models: fed real domain events, checked by QAbstractItemModelTester and by behaviour."""

from __future__ import annotations

from typing import Any

import pytest

from agent_assist.domain import (
    CallStarted,
    ChecklistProgress,
    ChecklistStep,
    FinalUtterance,
    KnowledgeCard,
    KnowledgeCards,
    PartialText,
    Speaker,
    SuggestionReady,
)

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(r"does not support (propagateSizeHints|raise)")]

A, C = Speaker.AGENT, Speaker.CUSTOMER


def card(n: int, title: str = "", sim: float = 0.7) -> KnowledgeCard:
    return KnowledgeCard("northwind-home", f"chunk-{n}", f"doc-{n}", title or f"Article {n}",
                         (title or f"Article {n}", "Section"), f"a{n}", f"Snippet text number {n}.", sim)  # fmt: skip


def cards_event(*numbers: int, uid: str = "u1", query: str = "refund please") -> KnowledgeCards:
    return KnowledgeCards("call-1", uid, query, tuple(card(n) for n in numbers), 0.8)


def ready(*snippet_ids: str) -> SuggestionReady:
    return SuggestionReady("call-1", "u1", "s1", "Text [1].", (1,), snippet_ids, ("u1",), False, True,
                           "grounded", (), "m", "b", "v1", 0.1, 0.5, 0.9)  # fmt: skip


def test_transcript_partials_become_finals_in_place(qtmodeltester: Any) -> None:
    from agent_assist.ui.models import TranscriptModel

    model = TranscriptModel()
    qtmodeltester.check(model)
    model.apply(CallStarted("call-1", "test", (A, C)))
    model.apply(PartialText("call-1", "u1", C, 0.0, 1.0, "I was"))
    model.apply(PartialText("call-1", "u1", C, 0.0, 1.5, "I was charged"))
    assert model.rowCount() == 1
    index = model.index(0)
    assert index.data(TranscriptModel.TextRole) == "I was charged"
    assert index.data(TranscriptModel.FinalRole) is False
    model.apply(PartialText("call-1", "u2", A, 1.2, 1.6, "Okay"))
    model.apply(FinalUtterance("call-1", "u1", C, 0.0, 2.0, "I was charged twice.", 0.9))
    assert model.rowCount() == 2
    assert model.index(0).data(TranscriptModel.TextRole) == "I was charged twice."
    assert model.index(0).data(TranscriptModel.FinalRole) is True
    assert model.index(0).data(TranscriptModel.SpeakerRole) == "customer"
    assert model.index(0).data(TranscriptModel.EndRole) == 2.0
    assert model.index(1).data(TranscriptModel.SpeakerRole) == "agent"
    # a late partial never changes committed text
    model.apply(PartialText("call-1", "u1", C, 0.0, 2.0, "I was charged"))
    assert model.index(0).data(TranscriptModel.TextRole) == "I was charged twice."
    # a final with no partial is appended; an empty final removes its tentative row
    model.apply(FinalUtterance("call-1", "u3", A, 3.0, 4.0, "Let me check.", 0.9))
    model.apply(FinalUtterance("call-1", "u2", A, 1.2, 1.6, "", 0.9))
    assert [model.index(r).data(TranscriptModel.UtteranceRole) for r in range(model.rowCount())] == [
        "u1",
        "u3",
    ]
    assert model.row_of("u3") == 1
    model.apply(CallStarted("call-2", "test", (A, C)))
    assert model.rowCount() == 0


def test_cards_newest_first_pinned_on_top_limited(qtmodeltester: Any) -> None:
    from agent_assist.ui.models import CardsModel

    model = CardsModel(limit=3)
    qtmodeltester.check(model)
    model.apply(cards_event(1, 2))
    assert [model.index(r).data(CardsModel.ChunkRole) for r in range(2)] == ["chunk-1", "chunk-2"]
    assert [model.index(r).data(CardsModel.NumberRole) for r in range(2)] == [1, 2]
    assert model.index(0).data(CardsModel.QueryRole) == "refund please"
    assert model.index(0).data(CardsModel.SourceRole) == "northwind-home · Article 1 › Section"
    model.pin(1)  # chunk-2 pinned: moves to the top
    assert model.index(0).data(CardsModel.ChunkRole) == "chunk-2"
    assert model.index(0).data(CardsModel.PinnedRole) is True
    model.apply(cards_event(3, 4, 1, uid="u2", query="damaged item"))
    chunks = [model.index(r).data(CardsModel.ChunkRole) for r in range(model.rowCount())]
    assert chunks == [
        "chunk-2",
        "chunk-3",
        "chunk-4",
        "chunk-1",
    ]  # pinned + newest 3, chunk-1 not repeated
    assert model.index(1).data(CardsModel.NumberRole) == 1
    assert model.index(0).data(CardsModel.NumberRole) == 0  # not among the latest snippets
    model.apply(cards_event(5, uid="u3"))
    chunks = [model.index(r).data(CardsModel.ChunkRole) for r in range(model.rowCount())]
    assert chunks == ["chunk-2", "chunk-5", "chunk-3", "chunk-4"]  # the limit drops the oldest
    # the suggestion's snippet ids renumber the cards
    model.apply(ready("chunk-4", "chunk-5"))
    numbers = {model.index(r).data(CardsModel.ChunkRole): model.index(r).data(CardsModel.NumberRole)
               for r in range(model.rowCount())}  # fmt: skip
    assert numbers == {"chunk-2": 0, "chunk-5": 2, "chunk-3": 0, "chunk-4": 1}
    assert model.chunk_for_number(1) == "chunk-4"
    # a new call keeps pins only
    model.apply(CallStarted("call-2", "test", (A, C)))
    assert [model.index(r).data(CardsModel.ChunkRole) for r in range(model.rowCount())] == ["chunk-2"]
    model.pin(0)
    assert model.index(0).data(CardsModel.PinnedRole) is False


def test_checklist_replaces_steps_and_reports_ticks(qtmodeltester: Any, qtbot: Any) -> None:
    from agent_assist.ui.models import ChecklistModel

    model = ChecklistModel()
    qtmodeltester.check(model)
    steps = (
        ChecklistStep("verify", "Verify the account", False),
        ChecklistStep("refund", "Issue refund", False),
    )
    model.apply(ChecklistProgress("call-1", "refund-checklist", "refund", steps))
    assert model.rowCount() == 2 and model.done_count == 0
    assert model.intent_id == "refund"
    done = (ChecklistStep("verify", "Verify the account", True, "u3"), steps[1])
    with qtbot.waitSignal(model.step_ticked) as blocker:
        model.apply(ChecklistProgress("call-1", "refund-checklist", "refund", done))
    assert blocker.args == [0]
    assert model.index(0).data(ChecklistModel.DoneRole) is True
    assert model.index(0).data(ChecklistModel.DoneByRole) == "u3"
    assert model.done_count == 1
    other = (ChecklistStep("x", "Something else", False),)
    model.apply(ChecklistProgress("call-1", "other", "damaged", other))
    assert model.rowCount() == 1 and model.checklist_id == "other"
    model.apply(CallStarted("call-2", "test", (A, C)))
    assert model.rowCount() == 0
