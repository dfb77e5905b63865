"""`pack validate`: every problem at once, each with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_assist.cli.main import main
from agent_assist.knowledge.validate import validate_pack
from tests.conftest import ROOT

EXAMPLE = ROOT / "knowledge" / "northwind-home"

GOOD_MANIFEST = """[pack]
id = "acme"
name = "Acme"
version = "1.0.0"
language = "en"
owner = "Ops"
description = "Test pack"
"""


def _article(folder: Path, name: str, article_id: str, title: bool = True) -> None:
    body = f"---\nid: {article_id}\ncategory: billing\n---\n" + (
        "# Title\n## Part\ntext\n" if title else "text\n"
    )
    (folder / "articles").mkdir(parents=True, exist_ok=True)
    (folder / "articles" / name).write_text(body)


def _messages(root: Path) -> list[str]:
    return [p.render(root) for p in validate_pack(root)]


def test_a_good_pack_is_valid(tmp_path: Path) -> None:
    (tmp_path / "pack.toml").write_text(GOOD_MANIFEST)
    _article(tmp_path, "refunds.md", "refunds")
    (tmp_path / "intents.toml").write_text(
        '[[intent]]\nid = "billing.refund"\nname = "Refund"\n'
        'articles = ["refunds"]\nexamples = ["I want my money back"]\n'
    )
    assert _messages(tmp_path) == []


def test_every_problem_is_reported_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "pack.toml").write_text(GOOD_MANIFEST.replace('version = "1.0.0"', "version = 3"))
    _article(tmp_path, "a.md", "same")
    _article(tmp_path, "same.md", "same", title=False)
    (tmp_path / "intents.toml").write_text(
        '[[intent]]\nid = "x.y"\nname = "X"\narticles = ["nope"]\nexamples = "one"\n'
    )
    (tmp_path / "rules.toml").write_text(
        '[[rule]]\nid = "r1"\ndescription = "d"\nkind = "maybe"\nphrases = ["p"]\n'
    )
    (tmp_path / "dispositions.toml").write_text("[[disposition]\ncode = 'X'\n")
    (tmp_path / "faq.csv").write_bytes("question,answer\nCaf\xe9?,Oui\n".encode("latin-1"))
    eval_dir = tmp_path / "eval"
    eval_dir.mkdir()
    (eval_dir / "queries.csv").write_text("query,expected\nwhere is my refund,missing-article\n")
    found = "\n".join(_messages(tmp_path))
    assert "pack.toml:4: 'version' must be a non-empty string, not 3" in found
    assert "articles/a.md:2: id 'same' differs from the file name 'a'" in found
    assert "articles/same.md:2: duplicate article id 'same'" in found
    assert "articles/same.md:5: needs a title line" in found
    assert "intents.toml:4: intent 'x.y' names unknown article 'nope'" in found
    assert "intents.toml:2: id 'x.y': 'examples' must be a list of strings" in found
    assert "rules.toml:4: rule 'r1': kind must be must_say or must_not_say" in found
    assert "dispositions.toml:1: not valid TOML" in found
    assert "faq.csv: cannot read as UTF-8 CSV" in found
    assert "eval/queries.csv:2: expected article 'missing-article' is not in the pack" in found


@pytest.mark.parametrize("manifest", ["", "[pack]\nid = 'Bad Id'\n"])
def test_missing_or_wrong_manifest_fields(tmp_path: Path, manifest: str) -> None:
    (tmp_path / "pack.toml").write_text(manifest)
    _article(tmp_path, "a.md", "a")
    found = "\n".join(_messages(tmp_path))
    assert "pack.toml" in found and ("needs a [pack] table" in found or "missing 'name'" in found)


def test_an_empty_pack_and_a_missing_manifest(tmp_path: Path) -> None:
    found = "\n".join(_messages(tmp_path))
    assert "pack.toml: missing" in found and "the pack is empty" in found


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pack", "validate", str(tmp_path)]) == 1
    assert "problem(s)" in capsys.readouterr().out


@pytest.mark.skipif(not (EXAMPLE / "pack.toml").exists(), reason="example pack not written yet")
def test_the_example_pack_is_valid() -> None:
    assert _messages(EXAMPLE) == []


def test_cli_validates_a_zip_and_refuses_a_hostile_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import zipfile

    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr("acme/pack.toml", GOOD_MANIFEST)
        zf.writestr("acme/articles/a.md", "---\nid: a\n---\n# A\ntext\n")
    assert main(["pack", "validate", str(good)]) == 0
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("../escape.md", "x")
    assert main(["pack", "validate", str(bad)]) == 6
    assert "outside the pack" in capsys.readouterr().err


def test_a_pack_of_only_faq_xlsx_is_valid(tmp_path: Path) -> None:
    import openpyxl

    (tmp_path / "pack.toml").write_text(GOOD_MANIFEST)
    book = openpyxl.Workbook()
    book.active.append(["Question", "Answer"])
    book.active.append(["Do you ship abroad?", "Not yet."])
    book.save(tmp_path / "faq.xlsx")
    assert _messages(tmp_path) == []


def test_duplicate_ids_across_formats_and_folders(tmp_path: Path) -> None:
    (tmp_path / "pack.toml").write_text(GOOD_MANIFEST)
    _article(tmp_path, "refunds.md", "refunds")
    (tmp_path / "articles" / "old").mkdir()
    (tmp_path / "articles" / "old" / "refunds.txt").write_text("Refunds\n\nOld text.\n")
    assert _messages(tmp_path) == [
        "articles/refunds.md:2: duplicate article id 'refunds' (also old/refunds.txt)"
    ]
