"""Pack documents in every promised format, and every bad input as a clear problem.

Real files are made here by the same libraries people's tools use (pypdf,
python-docx, openpyxl); the 500 MB document is a sparse file, refused without
being read.
"""

from __future__ import annotations

import importlib.util
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from agent_assist.cli.main import main
from agent_assist.errors import UserError
from agent_assist.knowledge.archive import PackError
from agent_assist.knowledge.chunking import chunk_document
from agent_assist.knowledge.documents import Document, DocumentError
from agent_assist.knowledge.formats_base import MAX_DOCUMENT_BYTES
from agent_assist.knowledge.formats_sheet import parse_faq_xlsx
from agent_assist.knowledge.loading import load_documents, parse_article
from agent_assist.knowledge.validate import validate_pack
from tests.conftest import ROOT

EXAMPLE = ROOT / "knowledge" / "northwind-home"
GENERATOR = ROOT / "knowledge" / "northwind-home-src" / "make_binary_docs.py"
MANIFEST = (
    '[pack]\nid = "acme"\nname = "Acme"\nversion = "1.0.0"\nlanguage = "en"\n'
    'owner = "Ops"\ndescription = "Test pack"\n'
)
CP1252 = "Caf\xe9 cr\xe8me is served every morning.\n"


def write_pdf(
    path: Path, pages: list[list[str]], outline: tuple[tuple[int, str, int], ...] = ()
) -> Path:
    """A text PDF (Helvetica), one list of lines per page; ``outline`` is (depth 1|2, title, page)."""
    from pypdf import PdfWriter
    from pypdf.generic import ContentStream, DictionaryObject, NameObject

    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
        }
    )
    for lines in pages:
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        shown = " ".join(f"({line}) Tj T*" for line in lines)
        stream = ContentStream(None, None)
        stream.set_data(f"BT /F1 12 Tf 14 TL 72 720 Td {shown} ET".encode("cp1252"))
        page.replace_contents(stream)
    parent: Any = None
    for depth, title, page_index in outline:
        item = writer.add_outline_item(
            title=title, page_number=page_index, parent=parent if depth > 1 else None
        )
        parent = item if depth == 1 else parent
    with path.open("wb") as out:
        writer.write(out)
    return path


def encrypt_pdf(source: Path, target: Path, user: str, owner: str) -> Path:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=source)
    writer.encrypt(user, owner)  # RC4: needs no crypto package
    with target.open("wb") as out:
        writer.write(out)
    return target


def write_docx(path: Path, build: Any) -> Path:
    import docx

    document = docx.Document()
    build(document)
    document.save(str(path))
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def outline_of(doc: Document) -> list[tuple[tuple[str, ...], str, int]]:
    return [(s.path, s.anchor, s.line) for s in doc.sections]


# --- formats ------------------------------------------------------------------------


def test_plain_text_title_headings_and_paragraphs(tmp_path: Path) -> None:
    path = tmp_path / "gift-cards.txt"
    path.write_text(
        "Gift cards\n\nA gift card pays for accessories.\nIt never expires.\n\n"
        "How to redeem\n\nEnter the code at checkout.\n\n"
        "2.1 Partial use\n\nThe rest stays on the card.\n\n"
        "Limits\n======\nOne card per order.\n\nCodes\n-----\nTwelve characters.\n"
    )
    doc = parse_article(path)
    assert (doc.id, doc.title, doc.kind) == ("gift-cards", "Gift cards", "article")
    assert outline_of(doc) == [
        (("Gift cards",), "gift-cards", 3),
        (("Gift cards", "How to redeem"), "how-to-redeem", 6),
        (("Gift cards", "How to redeem", "Partial use"), "how-to-redeem-partial-use", 10),
        (("Gift cards", "Limits"), "limits", 14),
        (("Gift cards", "Limits", "Codes"), "limits-codes", 18),
    ]
    assert doc.sections[0].text == "A gift card pays for accessories.\nIt never expires."


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be"])
def test_text_with_a_byte_order_mark_is_read(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "notes.md"
    data = "---\nid: notes\n---\n# Caf\xe9 notes\n## Part\nCr\xe8me text\n".encode(encoding)
    path.write_bytes(data if encoding != "utf-16-be" else b"\xfe\xff" + data)
    doc = parse_article(path)
    assert doc.title == "Caf\xe9 notes" and doc.sections[0].text == "Cr\xe8me text"


def test_html_headings_title_and_boilerplate_removed(tmp_path: Path) -> None:
    path = tmp_path / "access.html"
    path.write_text(
        "<html><head><title>Access | Intranet</title><style>p{}</style></head><body>\n"
        "<nav>Home | Menu</nav><script>var secret = 1;</script>\n"
        "<h1>Accessibility</h1>\n<p>We help &amp; care.</p>\n"
        "<h2>Large print</h2>\n<ol><li>Ask</li><li>Send</li></ol>\n"
        "<h3>Costs</h3>\n<table><tr><th>Aid</th><th>Price</th></tr><tr><td>Guide</td><td>free</td></tr></table>\n"
        "<h2>Large print</h2>\n<p>Again.</p><footer>Copyright</footer></body></html>\n"
    )
    doc = parse_article(path)
    assert doc.title == "Accessibility"
    assert outline_of(doc) == [
        (("Accessibility",), "accessibility", 3),  # a heading's text cites the heading
        (("Accessibility", "Large print"), "large-print", 5),
        (("Accessibility", "Large print", "Costs"), "large-print-costs", 7),
        (("Accessibility", "Large print"), "large-print-2", 9),  # unique anchors
    ]
    texts = [s.text for s in doc.sections]
    assert texts[:3] == ["We help & care.", "1. Ask\n2. Send", "Aid | Price\nGuide | free"]
    everything = " ".join(texts)
    assert "secret" not in everything and "Menu" not in everything and "Copyright" not in everything


def test_html_title_tag_and_declared_charset(tmp_path: Path) -> None:
    path = tmp_path / "legacy.htm"
    path.write_bytes(
        b'<html><head><meta charset="windows-1252"><title>Old page</title></head>'
        b"<body><p>Caf\xe9 hours</p><h2>Menu</h2><p>Cr\xe8me</p></body></html>"
    )
    doc = parse_article(path)
    assert doc.title == "Old page"
    assert [(s.path, s.text) for s in doc.sections] == [
        (("Old page",), "Caf\xe9 hours"),
        (("Old page", "Menu"), "Cr\xe8me"),
    ]


def test_pdf_bookmarks_make_the_heading_tree(tmp_path: Path) -> None:
    path = write_pdf(
        tmp_path / "bereavement.pdf",
        [
            ["When a customer dies", "Be kind and slow.", "Who can act", "Anyone who verifies."],
            ["Steps", "Cancel at once.", "Script", "Say sorry."],
        ],
        ((1, "Who can act", 0), (2, "Steps", 1), (1, "Script", 1)),
    )
    doc = parse_article(path)
    assert (doc.id, doc.title) == ("bereavement", "When a customer dies")
    assert outline_of(doc) == [
        (("When a customer dies",), "when-a-customer-dies", 1),
        (("When a customer dies", "Who can act"), "who-can-act", 1),
        (("When a customer dies", "Who can act", "Steps"), "who-can-act-steps", 2),
        (("When a customer dies", "Script"), "script", 2),
    ]
    assert [s.text for s in doc.sections] == [
        "Be kind and slow.",
        "Anyone who verifies.",
        "Cancel at once.",
        "Say sorry.",
    ]


def test_pdf_without_bookmarks_is_one_section_per_page(tmp_path: Path) -> None:
    path = write_pdf(
        tmp_path / "rates.pdf", [["Shipping rates", "Standard 4.50 USD."], [], ["Express 9 USD."]]
    )
    doc = parse_article(path)
    assert doc.title == "Shipping rates"
    assert outline_of(doc) == [
        (("Shipping rates", "Page 1"), "page-1", 1),
        (("Shipping rates", "Page 3"), "page-3", 3),  # a blank page has no section
    ]
    chunk = chunk_document(doc)[1]
    assert chunk.id == "rates#page-3" and chunk.text == "Express 9 USD."


def test_pdf_with_only_an_owner_password_is_read(tmp_path: Path) -> None:
    plain = write_pdf(tmp_path / "plain.pdf", [["Owner locked", "Printing is restricted."]])
    locked = encrypt_pdf(plain, tmp_path / "locked.pdf", user="", owner="owner-secret")
    assert parse_article(locked).sections[0].text == "Owner locked\nPrinting is restricted."


def test_docx_styles_tables_lists_and_properties(tmp_path: Path) -> None:
    def build(d: Any) -> None:
        d.core_properties.category = "subscription"
        d.core_properties.keywords = "gift, voucher"
        d.add_heading("Gift subscriptions", 0)
        d.add_paragraph("Paid up front.")
        d.add_heading("Prices", 1)
        table = d.add_table(rows=2, cols=2)
        for r, row in enumerate([("Plan", "6 months"), ("Basic", "174 USD")]):
            for c, value in enumerate(row):
                table.cell(r, c).text = value
        d.add_heading("Redeeming", 1)
        d.add_paragraph("Sign in.", style="List Number")
        d.add_paragraph("Enter the code.", style="List Number")
        d.add_heading("Expired codes", 2)
        d.add_paragraph("Refund the giver.", style="List Bullet")

    doc = parse_article(write_docx(tmp_path / "gift.docx", build))
    assert (doc.id, doc.title, doc.category, doc.tags) == (
        "gift",
        "Gift subscriptions",
        "subscription",
        ("gift", "voucher"),
    )
    assert outline_of(doc) == [
        (("Gift subscriptions",), "gift-subscriptions", 2),
        (("Gift subscriptions", "Prices"), "prices", 3),
        (("Gift subscriptions", "Redeeming"), "redeeming", 5),
        (("Gift subscriptions", "Redeeming", "Expired codes"), "redeeming-expired-codes", 8),
    ]
    assert [s.text for s in doc.sections] == [
        "Paid up front.",
        "Plan | 6 months\nBasic | 174 USD",
        "1. Sign in.\n2. Enter the code.",
        "- Refund the giver.",
    ]


def test_docx_without_a_title_style_takes_its_first_heading(tmp_path: Path) -> None:
    def build(d: Any) -> None:
        d.add_heading("Office accounts", 1)
        d.add_paragraph("For teams.")
        d.add_heading("Billing", 2)
        d.add_paragraph("Monthly invoice.")

    doc = parse_article(write_docx(tmp_path / "office.docx", build))
    assert doc.title == "Office accounts"
    assert [s.path for s in doc.sections] == [("Office accounts",), ("Office accounts", "Billing")]


def test_faq_xlsx_by_header_name_with_row_numbers(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "faq.xlsx",
        {
            "Notes": [["Owner", "Support Ops"]],  # no headers: ignored
            "FAQ": [
                ["Owner", " ANSWER ", "Question"],
                ["ops", "Yes, within 30 days.", "Can I return a gift?"],
                [None, None, None],
                ["ops", 24, "How much is a jug?"],
                ["ops", None, "Half a row?"],
            ],
        },
    )
    docs = parse_faq_xlsx(path)
    assert [(d.title, d.sections[0].text, d.sections[0].line, d.kind) for d in docs] == [
        ("Can I return a gift?", "Q: Can I return a gift?\nA: Yes, within 30 days.", 2, "faq"),
        ("How much is a jug?", "Q: How much is a jug?\nA: 24", 4, "faq"),
    ]
    (tmp_path / "pack.toml").write_text(MANIFEST)
    assert [p.render(tmp_path) for p in validate_pack(tmp_path)] == [
        "faq.xlsx:5: sheet 'FAQ': needs both a question and an answer"
    ]


def test_documents_in_sub_folders_take_the_folder_as_category(tmp_path: Path) -> None:
    folder = tmp_path / "articles" / "billing"
    folder.mkdir(parents=True)
    (folder / "fees.txt").write_text("Fees\n\nNo hidden fees.\n")
    (folder / "~$fees.docx").write_bytes(b"Word lock file")  # skipped, like hidden files
    (folder / ".DS_Store").write_bytes(b"\x00\x01")
    (tmp_path / "pack.toml").write_text(MANIFEST)
    assert validate_pack(tmp_path) == []
    [doc] = load_documents(tmp_path)
    assert (doc.id, doc.category) == ("fees", "billing")


# --- bad input ----------------------------------------------------------------------


def _fake_ole(path: Path) -> Path:
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    return path


def _broken_docx(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
    return path


BAD_ARTICLES: list[tuple[str, Any, str]] = [
    (
        "broken.pdf",
        lambda p: p.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage, no xref, no trailer"),
        "articles/broken.pdf: is not a readable PDF (",
    ),
    (
        "renamed.pdf",
        lambda p: p.write_bytes(b"PK\x03\x04 this is a zip, not a PDF"),
        "articles/renamed.pdf: is not a PDF (it does not start with %PDF-); export or save it as PDF again",
    ),
    (
        "secret.pdf",
        lambda p: encrypt_pdf(
            write_pdf(p.with_suffix(".tmp"), [["Secret", "text"]]), p, user="open-sesame", owner="x"
        ),
        "articles/secret.pdf: is password-protected; save or print it as a new PDF without a password",
    ),
    (
        "scan.pdf",
        lambda p: write_pdf(p, [[], []]),
        "articles/scan.pdf: has no extractable text (2 pages); is it a scan? OCR it first",
    ),
    (
        "latin.txt",
        lambda p: p.write_bytes(("Title\n\n" + CP1252).encode("cp1252")),
        "articles/latin.txt: cannot read as UTF-8 text: byte 0xe9 on line 3 is not UTF-8"
        " (it looks like cp1252); save it as UTF-8",
    ),
    (
        "latin.md",
        lambda p: p.write_bytes(("# Title\n" + CP1252).encode("cp1252")),
        "articles/latin.md: cannot read as UTF-8 Markdown: byte 0xe9 on line 2 is not UTF-8"
        " (it looks like cp1252); save it as UTF-8",
    ),
    (
        "latin.html",
        lambda p: p.write_bytes(f"<h1>Title</h1><p>{CP1252}</p>".encode("cp1252")),
        "articles/latin.html: cannot read as UTF-8 HTML: byte 0xe9 on line 1 is not UTF-8"
        " (it looks like cp1252); save it as UTF-8",
    ),
    (
        "nobom.txt",
        lambda p: p.write_bytes("Title\n\nUTF-16 without its byte-order mark\n".encode("utf-16-le")),
        "articles/nobom.txt: cannot read as UTF-8 text: contains NUL bytes, so it is not plain text"
        " (it looks like UTF-16 without a byte-order mark); save it as UTF-8",
    ),
    (
        "damaged.docx",
        lambda p: p.write_bytes(b"this was never a Word file"),
        "articles/damaged.docx: is not a readable .docx (not a zip archive: damaged, or another"
        " format renamed); open it in Word and save it again as .docx",
    ),
    (
        "locked.docx",
        _fake_ole,
        "articles/locked.docx: is password-protected, or an old binary Office file, not a .docx;"
        " open it in Word, remove any password and save it as .docx",
    ),
    ("parts.docx", _broken_docx, "articles/parts.docx: is not a readable .docx ("),
    (
        "blank.docx",
        lambda p: write_docx(p, lambda d: d.add_paragraph("   ")),
        "articles/blank.docx: has no text; write the article into it, or remove the file",
    ),
    (
        "menu.html",
        lambda p: p.write_text("<nav>Home</nav><script>x()</script><h1>  </h1>"),
        "articles/menu.html: has no text (after removing scripts, styles and navigation)",
    ),
    ("empty.txt", lambda p: p.write_text("\n \n"), "articles/empty.txt: has no text"),
]


@pytest.mark.parametrize(("name", "make", "expected"), BAD_ARTICLES, ids=[b[0] for b in BAD_ARTICLES])
def test_each_bad_article_is_one_problem_naming_the_file(
    tmp_path: Path, name: str, make: Any, expected: str
) -> None:
    (tmp_path / "pack.toml").write_text(MANIFEST)
    (tmp_path / "articles").mkdir()
    path = tmp_path / "articles" / name
    make(path)
    path.with_suffix(".tmp").unlink(missing_ok=True)
    problems = validate_pack(tmp_path)
    assert len(problems) == 1, problems
    assert problems[0].file == path
    assert problems[0].render(tmp_path).startswith(expected), problems[0].render(tmp_path)
    with pytest.raises(DocumentError) as info:  # the build gets the same error, typed
        load_documents(tmp_path)
    assert isinstance(info.value, PackError) and isinstance(info.value, UserError)
    assert str(path) in info.value.render() and "\nfix: " in info.value.render()


BAD_FAQS: list[tuple[str, Any, str]] = [
    (
        "faq.csv",
        lambda p: p.write_bytes(f"question,answer\nOpen?,{CP1252}".encode("cp1252")),
        "faq.csv: cannot read as UTF-8 CSV: byte 0xe9 on line 2 is not UTF-8 (it looks like cp1252);"
        " save it as UTF-8 (in Excel: Save As > CSV UTF-8)",
    ),
    (
        "faq.xlsx",
        lambda p: p.write_bytes(b"question,answer\nrenamed CSV,yes\n"),
        "faq.xlsx: is not a readable .xlsx (not a zip archive",
    ),
    (
        "faq.xlsx",
        _fake_ole,
        "faq.xlsx: is password-protected, or an old binary Office file, not a .xlsx",
    ),
    (
        "faq.xlsx",
        lambda p: write_xlsx(p, {"Sheet1": [["Q", "A"], ["Open?", "Yes"]]}),
        "faq.xlsx:1: has no 'question' and 'answer' headers in row 1 of any sheet ('Sheet1' has q, a);"
        " put the headers question and answer in row 1 of the FAQ sheet",
    ),
    (
        "faq.xlsx",
        lambda p: write_xlsx(p, {"FAQ": [["Question", "Answer"]]}),
        "faq.xlsx:2: has headers but no question/answer rows",
    ),
]


@pytest.mark.parametrize(("name", "make", "expected"), BAD_FAQS)
def test_each_bad_faq_table_is_a_problem(tmp_path: Path, name: str, make: Any, expected: str) -> None:
    (tmp_path / "pack.toml").write_text(MANIFEST)
    make(tmp_path / name)
    rendered = [p.render(tmp_path) for p in validate_pack(tmp_path)]
    assert len(rendered) == 1 and rendered[0].startswith(expected), rendered


@pytest.mark.parametrize(
    "name", ["articles/huge.pdf", "articles/huge.md", "articles/huge.txt", "faq.xlsx"]
)
def test_an_oversized_document_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    (tmp_path / "pack.toml").write_text(MANIFEST)
    path = tmp_path / name
    path.parent.mkdir(exist_ok=True)
    with path.open("wb") as f:
        f.truncate(500 * 1024 * 1024)  # sparse: no disk used, and nothing to read
    originals = {name: getattr(Path, name) for name in ("open", "read_bytes", "read_text")}

    def guard(name: str) -> Any:
        def guarded(self: Path, *args: Any, **kwargs: Any) -> Any:
            assert self != path, f"the oversized file was read ({name})"
            return originals[name](self, *args, **kwargs)

        return guarded

    for name_ in originals:
        monkeypatch.setattr(Path, name_, guard(name_))
    started = time.perf_counter()
    rendered = [p.render(tmp_path) for p in validate_pack(tmp_path)]
    assert time.perf_counter() - started < 1.0
    assert rendered == [
        f"{name}: is too large: 500 MB (the limit for one document is {MAX_DOCUMENT_BYTES // 2**20} MB);"
        " split it into smaller documents, or remove what agents do not need (images, appendices)"
    ]


def test_every_bad_document_is_listed_at_once_by_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pack.toml").write_text(MANIFEST)
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "same.md").write_text("---\nid: same\n---\n# Same\ntext\n")
    (articles / "same.txt").write_text("Same\n\ntext\n")
    write_pdf(articles / "scan.pdf", [[]])
    (articles / "damaged.docx").write_bytes(b"nope")
    (articles / "slides.pptx").write_bytes(b"PK")
    assert main(["pack", "validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "articles/same.txt: duplicate article id 'same' (also same.md)" in out
    assert "articles/scan.pdf: has no extractable text (1 page); is it a scan?" in out
    assert "articles/damaged.docx: is not a readable .docx" in out
    assert "articles/slides.pptx: unsupported document type '.pptx'" in out
    assert "4 problem(s)" in out


def test_a_corrupt_pdf_reports_no_warnings_as_exceptions(tmp_path: Path) -> None:
    """pypdf's recovery chatter goes to logging; a truncated real PDF is still one clear error."""
    good = write_pdf(tmp_path / "good.pdf", [["Title", "text"]])
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(
        DocumentError, match=r"truncated\.pdf: (is not a readable PDF|has no extractable)"
    ):
        parse_article(truncated)


# --- the example pack ---------------------------------------------------------------


def test_the_example_pack_has_every_article_format() -> None:
    docs = {d.id: d for d in load_documents(EXAMPLE)}
    suffixes = {d.source.suffix for d in docs.values()}
    assert {".md", ".txt", ".html", ".pdf", ".docx", ".csv"} <= suffixes
    for doc_id in (
        "subscription-referrals",
        "policies-accessibility",
        "policies-bereavement",
        "subscription-gift",
    ):
        doc = docs[doc_id]
        assert len(doc.sections) >= 4 and all(s.path[0] == doc.title for s in doc.sections)
        anchors = [c.anchor for c in chunk_document(doc)]
        assert "what-to-tell-the-customer" in anchors or "what-to-tell-the-caller" in anchors
    assert docs["policies-bereavement"].sections[-1].line == 2  # the page it is on


def test_the_generator_reproduces_the_committed_binary_articles(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_binary_docs", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(tmp_path) == 0
    for name in ("policies-bereavement.pdf", "subscription-gift.docx"):
        fresh, committed = parse_article(tmp_path / name), parse_article(EXAMPLE / "articles" / name)
        assert (fresh.title, fresh.sections, fresh.tags) == (
            committed.title,
            committed.sections,
            committed.tags,
        ), f"{name} is stale: run {GENERATOR.relative_to(ROOT)}"


# ------------------------------------------------- Office files are zips: same rules as pack zips


def _office_zip(path: Path, entries: dict[str, bytes], stored: bool = False) -> Path:
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w", method) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def _flag_encrypted(path: Path) -> Path:
    """Set the 'encrypted' bit of every entry (local and central headers)."""
    data = bytearray(path.read_bytes())
    for signature, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = data.find(signature)
        while pos >= 0:
            data[pos + at] |= 0x01
            pos = data.find(signature, pos + 4)
    path.write_bytes(bytes(data))
    return path


def _bad_crc(path: Path, marker: bytes = b"Zephyr router text") -> Path:
    _office_zip(path, {"word/document.xml": marker * 50, "xl/workbook.xml": marker * 50}, stored=True)
    data = path.read_bytes()
    at = data.find(marker) + 3
    path.write_bytes(data[:at] + b"X" + data[at + 1 :])
    return path


def _bad_stream(path: Path) -> Path:
    _office_zip(path, {"word/document.xml": bytes(range(256)) * 400, "xl/workbook.xml": b"<w/>" * 999})
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("word/document.xml")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start : start + info.compress_size] = b"\xff" * info.compress_size  # not deflate
    path.write_bytes(bytes(data))
    return path


OFFICE_ZIPS: list[tuple[str, Any, str]] = [
    (
        "bomb",
        lambda p: _office_zip(p, {"word/document.xml": b"\0" * (8 * 2**20)}),
        "is not a safe {kind}: 'word/document.xml' expands 1",
    ),
    (
        "many",
        lambda p: _office_zip(p, {f"word/media/{i}.xml": b"" for i in range(10_001)}),
        "is not a safe {kind}: holds 10002 entries (limit 10000)",
    ),
    (
        "encrypted",
        lambda p: _flag_encrypted(_office_zip(p, {"word/document.xml": b"<w/>"})),
        "is not a safe {kind}: entry '[Content_Types].xml' is encrypted",
    ),
    (
        "crc",
        _bad_crc,
        "is not a readable {kind}: its part 'word/document.xml' is damaged (BadZipFile: Bad CRC",
    ),
    ("stream", _bad_stream, "is not a readable {kind}: its part 'word/document.xml' is damaged ("),
    (
        "truncated",
        lambda p: p.write_bytes(_office_zip(p, {"word/document.xml": b"<w/>" * 999}).read_bytes()[:-30]),
        "is not a readable {kind} (not a zip archive",
    ),
]


@pytest.mark.parametrize("kind", [".docx", ".xlsx"])
@pytest.mark.parametrize(("case", "make", "expected"), OFFICE_ZIPS, ids=[c[0] for c in OFFICE_ZIPS])
def test_office_zips_obey_the_pack_zip_rules(
    tmp_path: Path, case: str, make: Any, expected: str, kind: str
) -> None:
    """A zip bomb, an encrypted part, a bad CRC, a corrupt or truncated stream inside a
    .docx/.xlsx: one DocumentError naming the file, before python-docx/openpyxl see it."""
    (tmp_path / "pack.toml").write_text(MANIFEST)
    name = "articles/bad.docx" if kind == ".docx" else "faq.xlsx"
    path = tmp_path / name
    path.parent.mkdir(exist_ok=True)
    make(path)
    rendered = [p.render(tmp_path) for p in validate_pack(tmp_path)]
    assert len(rendered) == 1, rendered
    assert rendered[0].startswith(f"{name}: " + expected.format(kind=kind)), rendered[0]
    assert "; open it in " in rendered[0]


def test_an_office_file_over_the_total_unpacked_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_assist.knowledge import archive

    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 2**20)
    path = _office_zip(
        tmp_path / "big.docx", {f"word/media/{i}.bin": bytes(range(256)) * 2400 for i in range(2)}
    )
    with pytest.raises(
        DocumentError, match=r"big\.docx: is not a safe \.docx: unpacks to 1 MB \(limit 1 MB\)"
    ):
        parse_article(path)
