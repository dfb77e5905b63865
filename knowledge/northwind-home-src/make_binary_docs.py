"""Write the example pack's binary articles (a PDF and a Word file) from the text below.

Why a script: the example pack shows every format a pack may hold, but a PDF
or a .docx cannot be reviewed in a diff. Their words live here, as plain text
anyone can edit; run this after changing them and commit both:

    .venv/bin/python knowledge/northwind-home-src/make_binary_docs.py

The PDF is written with pypdf alone (standard Helvetica, one bookmark per
section) and the Word file with python-docx (Title and Heading styles, a
table), the same libraries the pack loader reads them with. All content is
fictional demo material about the fictional Northwind Home.
"""

from __future__ import annotations

import datetime
import io
import sys
import textwrap
import zipfile
from pathlib import Path

ARTICLES = Path(__file__).resolve().parents[1] / "northwind-home" / "articles"

# (title, [(heading, [paragraph, ...]), ...]); a paragraph starting "- " or "1. " is a list item
BEREAVEMENT = (
    "When an account holder has died",
    [
        (
            "Before you start",
            [
                "Calls about a customer who has died are often made by a partner, a child or a friend "
                "who is handling many accounts at once. Slow down, use the account holder's name, and "
                "do not read scripts about offers or pauses.",
                "Never ask the caller to prove the death on the first call. Everything in this article "
                "can be started on the caller's word; only a refund to someone else's account needs a "
                "document later.",
            ],
        ),
        (
            "Who can act on the account",
            [
                "Anyone who can give the account holder's full name, order number and first line of "
                "address can ask us to cancel the subscription and arrange the machine return.",
                "A refund or a credit balance is paid back to the card on the account. If that card has "
                "been closed, the executor emails a copy of the death certificate and the estate's bank "
                "details to the account team, who pay by bank transfer within 10 business days.",
                "We do not give the caller the account holder's password, order history or payment "
                "details.",
            ],
        ),
        (
            "What to do",
            [
                "1. Say you are sorry for their loss, and ask how you can help today.",
                "2. Verify: the account holder's full name, order number and first line of address.",
                "3. Cancel the subscription with immediate effect. There is no 30-day notice period.",
                "4. If the account is inside the 6-month minimum term, ask a team lead to waive the "
                "early cancellation fee. Agents cannot waive it themselves; team leads always do in "
                "this case.",
                "5. Book a free courier collection for the machine. The caller has 60 days instead of "
                "14, and no non-return fee applies.",
                "6. Offer to close the account once the machine is back. Closing deletes the saved "
                "card and stops all emails.",
                "7. Use disposition CANCELLATION-PROCESSED and add the note BEREAVEMENT.",
            ],
        ),
        (
            "What to tell the caller",
            [
                "\"I'm very sorry for your loss. I've cancelled the subscription today, so there will "
                "be no more payments. A courier will collect the machine at a time that suits you, and "
                "there's no charge for that and no rush.\"",
            ],
        ),
    ],
)

GIFT_PRICES = [
    ("Plan", "6 months", "12 months"),
    ("Basic", "174 USD", "319 USD"),
    ("Plus", "234 USD", "429 USD"),
    ("Family", "294 USD", "539 USD"),
]

GIFT = (
    "Gift subscriptions",
    [
        (
            "How a gift works",
            [
                "A gift subscription is Brew Club paid in full up front by one person (the giver) for "
                "someone else (the recipient). Gifts last 6 or 12 months; the 12-month gift costs the "
                "same as 11 months.",
                "The giver buys it on the website or by phone and chooses the date we email the "
                "recipient a gift code. The recipient redeems the code in their own account, and the "
                "machine is dispatched within 2 business days of redeeming.",
            ],
        ),
        ("Prices", ["Prices include the machine, delivery and the usual filters and descaler."]),
        (
            "Redeeming a gift code",
            [
                "1. The recipient creates an account, or signs in to an existing one.",
                "2. They enter the 12-character gift code under Account > Gifts.",
                "3. They confirm the delivery address. No card is needed.",
                "A code can be redeemed within 12 months of purchase. An expired code cannot be "
                "redeemed; offer the giver a refund instead (see below).",
            ],
        ),
        (
            "When the gift ends",
            [
                "We email the recipient 30 days before the last gift month. They can carry on as a "
                "normal monthly subscriber by adding a card, with no new minimum term. Otherwise the "
                "subscription ends and the usual machine return applies: a free return label and 14 "
                "days to send the machine back.",
            ],
        ),
        (
            "Refunds and changes",
            [
                "- An unredeemed gift is refunded in full to the giver on request.",
                "- Once redeemed, a gift cannot be refunded or paused.",
                "- The recipient can upgrade the plan during the gift; they pay the monthly "
                "difference by card. Downgrades wait until the gift ends.",
            ],
        ),
        (
            "What to tell the customer",
            [
                '"The gift code is in your email from us. Enter it under Account, then Gifts, and '
                "we'll send the machine within 2 business days. You won't be charged anything during "
                'the gift."',
            ],
        ),
    ],
)


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def write_pdf(path: Path, title: str, sections: list[tuple[str, list[str]]]) -> None:
    """A text PDF: wrapped lines on US Letter pages, one bookmark per section."""
    from pypdf import PdfWriter
    from pypdf.generic import ContentStream, DictionaryObject, NameObject

    def font(name: str) -> DictionaryObject:
        return DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject(name),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )

    # (font, size, text) lines, then laid out onto pages of at most 36 lines
    lines: list[tuple[str, int, str]] = [("/F2", 18, title), ("/F1", 11, "")]
    starts: list[tuple[str, int]] = []  # (heading, line index)
    for heading, paragraphs in sections:
        starts.append((heading, len(lines)))
        lines.append(("/F2", 13, heading))
        for paragraph in paragraphs:
            indent = "    " if paragraph[:2] in ("- ", *(f"{n}." for n in range(10))) else ""
            wrapped = textwrap.wrap(paragraph, 88, subsequent_indent=indent)
            lines += [("/F1", 11, w) for w in wrapped] + [("/F1", 11, "")]
    per_page = 36
    writer = PdfWriter()
    resources = DictionaryObject(
        {
            NameObject("/Font"): DictionaryObject(
                {NameObject("/F1"): font("/Helvetica"), NameObject("/F2"): font("/Helvetica-Bold")}
            )
        }
    )
    for first in range(0, len(lines), per_page):
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = resources
        ops = ["BT", "72 730 Td", "17 TL"]
        for name, size, text in lines[first : first + per_page]:
            ops += [f"{name} {size} Tf", f"({_pdf_escape(text)}) Tj", "T*"]
        stream = ContentStream(None, None)
        stream.set_data(" ".join([*ops, "ET"]).encode("cp1252"))
        page.replace_contents(stream)
    for heading, index in starts:
        writer.add_outline_item(title=heading, page_number=index // per_page)
    writer.add_metadata({"/Title": title, "/Author": "Northwind Home Support Operations"})
    with path.open("wb") as out:
        writer.write(out)


def write_docx(
    path: Path,
    title: str,
    sections: list[tuple[str, list[str]]],
    table: list[tuple[str, ...]],
    table_after: str,
) -> None:
    """A Word file: Title and Heading 1 styles, list styles, one table."""
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.category = "subscription"
    document.core_properties.keywords = "gift, present, gift code, voucher, prepaid"
    document.core_properties.author = "Northwind Home Support Operations"
    document.add_heading(title, 0)
    for heading, paragraphs in sections:
        document.add_heading(heading, 1)
        for paragraph in paragraphs:
            if paragraph.startswith("- "):
                document.add_paragraph(paragraph[2:], style="List Bullet")
            elif paragraph[:2].rstrip(".").isdigit() and paragraph[1:3] == ". ":
                document.add_paragraph(paragraph[3:], style="List Number")
            else:
                document.add_paragraph(paragraph)
        if heading == table_after:
            grid = document.add_table(rows=len(table), cols=len(table[0]))
            grid.style = "Table Grid"
            for r, row in enumerate(table):
                for c, value in enumerate(row):
                    grid.cell(r, c).text = value
    stamp = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    document.core_properties.created = document.core_properties.modified = stamp
    buffer = io.BytesIO()
    document.save(buffer)
    # the same text gives the same bytes: zip entries carry no time of writing
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, (2025, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, src.read(info))


def main(out: Path = ARTICLES) -> int:
    write_pdf(out / "policies-bereavement.pdf", *BEREAVEMENT)
    write_docx(out / "subscription-gift.docx", *GIFT, GIFT_PRICES, "Prices")
    print(f"wrote policies-bereavement.pdf and subscription-gift.docx to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ARTICLES))
