"""Documents keep their structure; chunks keep their heading paths and stable ids."""

from __future__ import annotations

from pathlib import Path

from agent_assist.knowledge.chunking import chunk_document
from agent_assist.knowledge.documents import parse_faq, parse_markdown, slug

ARTICLE = """---
id: refunds-double-charge
category: billing
tags: [refund, charge]
---
# Double charge on a subscription

Intro line.

## When it happens
A payment retry can take the monthly fee twice.

## What to do
### Check the payments
Open the billing tab.

### Refund the extra one
Refund the second payment. It takes 3-5 business days.
"""


def test_markdown_sections_carry_their_heading_path(tmp_path: Path) -> None:
    path = tmp_path / "refunds-double-charge.md"
    path.write_text(ARTICLE)
    doc = parse_markdown(path)
    assert (doc.id, doc.title, doc.category, doc.tags) == (
        "refunds-double-charge",
        "Double charge on a subscription",
        "billing",
        ("refund", "charge"),
    )
    paths = [s.path for s in doc.sections]
    assert paths == [
        ("Double charge on a subscription",),
        ("Double charge on a subscription", "When it happens"),
        ("Double charge on a subscription", "What to do", "Check the payments"),
        ("Double charge on a subscription", "What to do", "Refund the extra one"),
    ]
    assert doc.sections[3].anchor == "what-to-do-refund-the-extra-one"
    assert doc.sections[3].line == 17  # the heading's line, for "open the full article"
    chunks = chunk_document(doc)
    assert chunks[3].id == "refunds-double-charge#what-to-do-refund-the-extra-one"
    assert chunks[3].embed_text.startswith(
        "Double charge on a subscription > What to do > Refund the extra one\n"
    )


def test_long_sections_split_at_sentences_never_mid_sentence(tmp_path: Path) -> None:
    sentence = "Agents confirm the order number before any refund is made. "
    path = tmp_path / "long.md"
    path.write_text("# Long\n## Policy\n" + sentence * 60)
    chunks = chunk_document(parse_markdown(path), max_words=60)
    assert len(chunks) > 3
    assert all(len(c.text.split()) <= 60 for c in chunks)
    assert all(c.text.endswith(".") for c in chunks)
    assert [c.id for c in chunks][:2] == ["long#policy~1", "long#policy~2"]
    assert all(c.heading_path == ("Long", "Policy") for c in chunks)


def test_faq_pairs_are_whole_chunks(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text(
        'question,answer\n"Can I pause, please?","Yes, for up to 3 months."\n'
        + "Q2?,"
        + "word " * 400
        + "\n"
    )
    docs = parse_faq(path)
    assert [d.title for d in docs] == ["Can I pause, please?", "Q2?"]
    chunks = [c for d in docs for c in chunk_document(d, max_words=50)]
    assert len(chunks) == 2
    assert chunks[0].text == "Q: Can I pause, please?\nA: Yes, for up to 3 months."
    assert chunks[0].id == "faq-can-i-pause-please#can-i-pause-please"


def test_slug() -> None:
    assert slug("What to do (refunds)!") == "what-to-do-refunds"
    assert slug("***") == "section"
