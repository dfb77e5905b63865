"""Excel FAQ tables (``faq.xlsx``): one question/answer pair per row.

Why Excel: supervisors keep FAQ lists in spreadsheets; asking them to export
CSV is where the encoding and quoting go wrong. Columns are found by their
header (``question``, ``answer``; any case, any order) in row 1 of every sheet
that has them, so extra columns (owner, last review) and extra sheets (notes)
are fine. The row number is the citation line. A damaged file, an encrypted or
old ``.xls`` workbook, or no sheet with those headers raise a ``DocumentError``
naming the file and the fix. openpyxl is imported inside the function.

Thread rules: pure functions over files; any thread (each call opens and
closes its own workbook).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from agent_assist.knowledge.documents import Document, faq_document
from agent_assist.knowledge.formats_base import DocumentError, read_bytes, require_zip

__all__ = ["FaqRow", "parse_faq_xlsx", "read_faq_xlsx"]


@dataclass(frozen=True, slots=True)
class FaqRow:
    """One non-empty row of an FAQ sheet; ``row`` is the spreadsheet row number."""

    sheet: str
    row: int
    question: str
    answer: str


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def read_faq_xlsx(path: Path) -> list[FaqRow]:
    """Every non-empty row of every sheet whose first row has ``question`` and
    ``answer`` headers (any case, any column order; other sheets are ignored)."""
    data = read_bytes(path)
    require_zip(path, data, ".xlsx", "Excel")
    import openpyxl

    fix = "open it in Excel and save it again as .xlsx"
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # any failure of a third-party parser on a bad file
        raise DocumentError(path, f"is not a readable .xlsx ({type(exc).__name__}: {exc})", fix) from exc
    rows: list[FaqRow] = []
    found = False
    seen: list[str] = []  # the headers of sheets that lack them, for the message
    try:
        for sheet in book.worksheets:
            values = sheet.iter_rows(values_only=True)
            names = [_cell(v).lower() for v in next(values, ())]
            if "question" not in names or "answer" not in names:
                seen.append(f"'{sheet.title}' has {', '.join(n for n in names if n) or 'none'}")
                continue
            found = True
            q, a = names.index("question"), names.index("answer")
            for number, row in enumerate(values, 2):
                question = _cell(row[q]) if q < len(row) else ""
                answer = _cell(row[a]) if a < len(row) else ""
                if question or answer:
                    rows.append(FaqRow(sheet.title, number, question, answer))
    except Exception as exc:  # a damaged sheet inside a valid zip
        raise DocumentError(path, f"is not a readable .xlsx ({type(exc).__name__}: {exc})", fix) from exc
    finally:
        book.close()
    if not found:
        raise DocumentError(
            path,
            f"has no 'question' and 'answer' headers in row 1 of any sheet ({'; '.join(seen)})",
            "put the headers question and answer in row 1 of the FAQ sheet",
            line=1,
        )
    return rows


def parse_faq_xlsx(path: Path) -> list[Document]:
    """One document per complete row of ``faq.xlsx`` (rows missing a question or
    an answer are skipped here; ``pack validate`` reports them)."""
    return [
        faq_document(path, r.question, r.answer, r.row)
        for r in read_faq_xlsx(path)
        if r.question and r.answer
    ]
