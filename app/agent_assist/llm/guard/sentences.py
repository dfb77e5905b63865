"""Sentence splitting and citation parsing for generated answers and pack snippets.

Why our own splitter: the guard checks every sentence of a draft against the
snippets it cites, so a wrong split either glues an unsupported claim onto a
supported one or cuts "e.g." into two fragments that match nothing. The rules
are the ones that matter for this text:

* a line break always ends a sentence (pack snippets are lists and steps), and a
  list marker (``-``, ``*``, ``1.``, ``2)``) is not part of the sentence;
* ``.``, ``!``, ``?`` and ``…`` end a sentence only before white space and a
  likely sentence start, so decimals (``28.50 USD``), times and versions stay whole;
* abbreviations never end a sentence (``e.g.``, ``i.e.``, ``Mr.``, ``vs.``); an
  initialism (``U.S.``, ``a.m.``) or ``etc.`` ends one only when the next word
  is a typical sentence opener (``The``, ``You``, ``We`` …);
* closing quotes and brackets after the stop, and citations such as ``[1]`` or
  ``[1][2]`` written after it, belong to the sentence they follow; a citation
  followed by a sentence opener ends a sentence even when the model forgot the stop.

Thread rules: pure functions on strings; any thread.
"""

from __future__ import annotations

import re

__all__ = ["citations", "sentence_spans", "split_sentences", "strip_citations"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_LIST_MARKER = re.compile(r"[ \t]*(?:[-*•]|\d{1,2}[.)])[ \t]+")
_TERMINAL = re.compile(r"(?:\.{3}|…|[.!?])+")
_CLOSERS = "\"'”’)]»"
_CITATION_RUN = re.compile(r"(?:[ \t]*\[\s*\d+(?:\s*(?:[,;–-]|and)\s*\d+)*\s*\])+")
_CITATION = re.compile(r"\[\s*(\d+(?:\s*(?:[,;–-]|and)\s*\d+)*)\s*\]")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")
_INITIALISM = re.compile(r"(?:[A-Za-z]\.){2,}$")
_NEXT_WORD = re.compile(r"\s+[\"'“‘(\[]?([A-Za-z']+|\d)")
_STARTS = re.compile(r"\s+[\"'“‘(\[]?[A-Z0-9]")

# Never the end of a sentence, whatever follows ("e.g. Plus", "Mr. Lee").
_ABBREVIATIONS = _words("e.g eg i.e ie mr mrs ms dr vs approx incl cf tel ext jr sr")
# After an initialism or "etc.", these words start a new sentence ("the U.S. We ship …").
_OPENERS = _words("""the a an it its we you your our they their this that these those there he she i
    if please then so but however also when once after before for in on at
    my his her what how why yes no thank thanks sorry""")


def _ends_here(text: str, stop: int, after: int, end: int) -> bool:
    """Whether the terminal run at ``text[stop:after]`` ends a sentence of the line ending at ``end``."""
    if after >= end or not text[after:end].strip():
        return True
    if not _STARTS.match(text, after, end):
        return False
    if text[stop] != ".":
        return True
    head = text[max(0, stop - 40) : stop]  # the word before; bounded, so long lines stay linear
    match = _WORD_BEFORE.search(head)
    if match is None:
        return True
    word = match.group(1)
    lowered = word.lower().rstrip(".")
    nxt = _NEXT_WORD.match(text, after, end)
    next_word = nxt.group(1).lower() if nxt else ""
    if lowered in _ABBREVIATIONS:
        return False
    if _INITIALISM.search(word + ".") or lowered == "etc":
        return next_word in _OPENERS
    # a lone capital letter is an initial ("J. Smith"), not a sentence end
    return not (len(word) == 1 and word.isupper())


def _line_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    marker = _LIST_MARKER.match(text, start, end)
    if marker:
        start = marker.end()
    spans: list[tuple[int, int]] = []
    begin = start
    pos = start
    cite = _CITATION_RUN.search(text, pos, end)
    while pos < end:
        stop = _TERMINAL.search(text, pos, end)
        if cite and cite.start() < pos:  # searched again only when passed: linear in the line
            cite = _CITATION_RUN.search(text, pos, end)
        if cite and (stop is None or cite.start() < stop.start()):
            # "… 3 to 5 days [1] We also …": a citation, then a sentence opener
            after = cite.end()
            nxt = _NEXT_WORD.match(text, after, end)
            if nxt and nxt.group(1).lower() in _OPENERS and nxt.group(1)[0].isupper():
                spans.append((begin, after))
                begin = pos = after
                continue
            pos = after
            continue
        if stop is None:
            break
        after = stop.end()
        while after < end and text[after] in _CLOSERS:
            after += 1
        run = _CITATION_RUN.match(text, after, end)
        if run:
            after = run.end()
            while after < end and text[after] in ".!?":
                after += 1
        if _ends_here(text, stop.start(), after, end):
            spans.append((begin, after))
            begin = after
        pos = after
    spans.append((begin, end))
    out = []
    for s, e in spans:
        piece = text[s:e]
        lead = len(piece) - len(piece.lstrip())
        size = len(piece.strip())
        if size:
            out.append((s + lead, s + lead + size))
    return out


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every sentence in ``text``, list markers and spaces excluded."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        spans.extend(_line_spans(text, offset, offset + len(line.rstrip("\r\n"))))
        offset += len(line)
    return spans


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` in order (see the module doc for the rules)."""
    return [text[s:e] for s, e in sentence_spans(text)]


def citations(sentence: str) -> set[int]:
    """Snippet numbers cited in ``sentence``: ``[1]``, ``[1][2]``, ``[1, 2]``, ``[1-3]``."""
    found: set[int] = set()
    for match in _CITATION.finditer(sentence):
        for part in re.split(r"\s*(?:[,;]|and)\s*", match.group(1)):
            bounds = [int(n) for n in re.split(r"\s*[–-]\s*", part) if n]
            if len(bounds) == 2 and 0 < bounds[1] - bounds[0] < 20:
                found.update(range(bounds[0], bounds[1] + 1))
            else:
                found.update(bounds)
    return found


def strip_citations(text: str) -> str:
    """``text`` without citation brackets, with the spaces they leave tidied."""
    stripped = _CITATION.sub("", text)
    stripped = re.sub(r"[ \t]+([.,;:!?])", r"\1", stripped)
    return re.sub(r"[ \t]{2,}", " ", stripped).strip()
