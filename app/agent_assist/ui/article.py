"""The full article behind a knowledge card, opened from the card ("Open article").

``load_article`` runs on a worker thread (it parses the pack's document, which
for a PDF or DOCX takes a moment); ``ArticleDialog`` shows the result: every
section with its heading, the one the card came from marked and scrolled into
view, and the source file named. A pack that was removed meanwhile, or a
document that no longer parses, shows that message instead of the article.

Thread rules: ``load_article`` on any thread (no Qt); the dialog on the GUI thread.
"""

from __future__ import annotations

import html
from pathlib import Path

from agent_assist.domain import KnowledgeCard
from agent_assist.errors import UserError
from agent_assist.knowledge.documents import Document
from agent_assist.ui.qt import QtCore, QtWidgets

__all__ = ["ArticleDialog", "load_article"]


def load_article(card: KnowledgeCard, folder: Path | None = None) -> Document | str:
    """The document ``card`` cites, from the installed pack ``card.pack`` (or ``folder``);
    a sentence saying why not, when it cannot be read."""
    from agent_assist.knowledge.installed import PackStore
    from agent_assist.knowledge.loading import load_documents

    roots = [p.folder / "pack" for p in PackStore().list() if p.id == card.pack]
    if folder is not None:
        roots.append(folder)
    for root in roots:
        if not root.is_dir():
            continue
        try:
            docs = load_documents(root)
        except UserError as err:
            return f"The article could not be read: {err.message}"
        for doc in docs:
            if doc.id == card.doc_id:
                return doc
    return f"The article '{card.title}' is no longer in an installed pack ({card.pack})."


def article_html(doc: Document, anchor: str) -> str:
    """The article as simple HTML; the cited section gets a marker and an anchor."""
    parts = [f"<h2>{html.escape(doc.title)}</h2>"]
    for section in doc.sections:
        heading = " › ".join(section.path[1:] if len(section.path) > 1 else section.path)
        cited = section.anchor == anchor
        style = ' style="background-color: rgba(37, 99, 235, 0.10);"' if cited else ""
        parts.append(f'<a name="{html.escape(section.anchor)}"></a><div{style}>')
        if heading and heading != doc.title:
            parts.append(f"<h4>{html.escape(heading)}{' ◂ cited' if cited else ''}</h4>")
        for para in section.text.split("\n\n"):
            if para.strip():
                parts.append(f"<p>{html.escape(para.strip())}</p>")
        parts.append("</div>")
    return "\n".join(parts)


class ArticleDialog(QtWidgets.QDialog):
    """A non-modal reader window for one article (Esc closes it)."""

    def __init__(
        self, card: KnowledgeCard, article: object, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("articleDialog")
        self.setWindowTitle(card.title)
        self.resize(560, 640)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        self.browser = QtWidgets.QTextBrowser()
        self.browser.setAccessibleName(f"Article: {card.title}")
        self.browser.setOpenLinks(False)
        layout.addWidget(self.browser, 1)
        source = QtWidgets.QLabel()
        source.setObjectName("muted")
        source.setWordWrap(True)
        layout.addWidget(source)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
        if isinstance(article, Document):
            self.browser.setHtml(article_html(article, card.anchor))
            source.setText(f"{card.pack} · {article.source.name}")
            QtCore.QTimer.singleShot(0, self.browser, lambda: self.browser.scrollToAnchor(card.anchor))
        else:
            message = str(article) if article else "The article could not be opened."
            self.browser.setPlainText(message)
            source.setText(card.pack)
