"""Turn the real ABCD agent guidelines into a knowledge pack, at test/benchmark time.

ABCD (Action-Based Conversations Dataset, MIT; ``../shared/data/abcd/``) ships a
retail agent guideline: 10 flows, 55 subflows, each a step-by-step procedure,
and three real agent/customer dialogues labelled with their subflow. Each
subflow becomes one Markdown article (``<flow>.<subflow>``, one section per
action, its instructions as a last section), and the customer turns of the
dialogues become eval queries whose expected article is the dialogue's subflow.

The pack is written into a temporary folder and never committed into
``knowledge/`` (the text is third-party). Used by ``benchmarks/pack_bench.py``
and ``tests/test_pack_eval.py``.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ABCD = ROOT.parent / "shared" / "data" / "abcd"

__all__ = ["ABCD", "AbcdPack", "make_abcd_pack"]


@dataclass(frozen=True, slots=True)
class AbcdPack:
    root: Path
    turn_queries: Path  # each customer turn alone
    context_queries: Path  # each customer turn with the customer's previous two turns
    articles: int
    turns: int


def _flow_id(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _article(flow: str, subflow: str, body: dict[str, object]) -> str:
    lines = [f"# {flow}: {subflow}", ""]
    for action in body.get("actions", []):  # type: ignore[attr-defined]
        lines += [f"## {action['button']}", "", action["text"], ""]
        lines += [f"- {item}" for item in action.get("subtext", [])]
        lines.append("")
    instructions = body.get("instructions") or []
    if instructions:
        lines += ["## Instructions", ""] + [f"- {item}" for item in instructions]  # type: ignore[union-attr]
    return "\n".join(lines).strip() + "\n"


def make_abcd_pack(dest: Path) -> AbcdPack:
    """Write the ABCD-derived pack into ``dest`` (created) and its two query files."""
    guidelines = json.loads((ABCD / "guidelines.json").read_text())
    ontology = json.loads((ABCD / "ontology.json").read_text())["intents"]["subflows"]
    dialogues = json.loads((ABCD / "abcd_sample.json").read_text())
    articles = dest / "articles"
    articles.mkdir(parents=True, exist_ok=True)
    count = 0
    for flow_name, flow in guidelines.items():
        flow_id = _flow_id(flow_name)
        # ontology subflow ids are listed in the guideline's order
        for sub_id, (sub_name, body) in zip(ontology[flow_id], flow["subflows"].items(), strict=True):
            doc_id = f"{flow_id}.{sub_id}"
            text = f"---\nid: {doc_id}\ncategory: {flow_id}\n---\n" + _article(flow_name, sub_name, body)
            (articles / f"{doc_id}.md").write_text(text, encoding="utf-8")
            count += 1
    (dest / "pack.toml").write_text(
        '[pack]\nid = "abcd-guidelines"\nname = "ABCD agent guidelines (benchmark)"\n'
        'version = "1.0.0"\nlanguage = "en"\nowner = "benchmarks"\n'
        'description = "Built at test time from ../shared/data/abcd (MIT); never committed"\n'
    )
    turns: list[tuple[str, str]] = []
    context: list[tuple[str, str]] = []
    for dialogue in dialogues:
        scenario = dialogue["scenario"]
        subflow = re.sub(r"_\d+$", "", scenario["subflow"])  # timing_4 -> timing (FAQ question no.)
        expected = f"{scenario['flow']}.{subflow}"
        said: list[str] = []
        for speaker, text in dialogue["original"]:
            if speaker != "customer":
                continue
            said.append(text)
            turns.append((text, expected))
            context.append((" ".join(said[-3:]), expected))
    eval_dir = dest / "eval"
    eval_dir.mkdir(exist_ok=True)
    paths = []
    for name, rows in (("turns.csv", turns), ("context.csv", context)):
        path = eval_dir / name
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["query", "expected"])
            writer.writerows(rows)
        paths.append(path)
    return AbcdPack(dest, paths[0], paths[1], count, len(turns))


if __name__ == "__main__":
    import sys

    pack = make_abcd_pack(Path(sys.argv[1]))
    print(f"{pack.articles} articles, {pack.turns} customer turns -> {pack.root}")
