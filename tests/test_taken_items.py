"""`item N from S item M`: another standard's item under this standard's number, on small rule
files with totals worked by hand; each check of a taken item at its line; Suzhou's 附件2, which
takes six items of 附件1, built from them with provenance covering 附件1."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT

from policy_dsl.compiler import ast, formatter, parser, pipeline
from policy_dsl.compiler.diagnostics import CompileError, Diagnostic
from policy_dsl.runtime import InputRecord, Pack, outcome_json, score_batch

SOURCE = """\
standard source {
  region demo "示例"
  title "来源表"
  version 2026
  effective 2026-01-01 to open
  applies to "示例机构"
  total 10
}

enum level_kind "级别" {
  high "高"
  low "低"
}

fact errors "差错（次）": count
fact level "级别": level_kind
fact rate "达标占比": percent in 0..100

let met_share "达标占比（折算）" = rate

category "一、管理" 10 {
  item 1 "差错" 4 {
    method "每次差错扣1分"
    basis "示例依据"
    award full_points "满分" [SRC-1]
    deduct 1 per errors "每次差错扣1分" [SRC-1, G3]
    zero when level is low "低级别不得分" [SRC-1]
  }

  item 2 "达标" 6 {
    method "达标占比分档"
    basis "示例依据"
    award tiers met_share { >= 80%: 6, >= 50%: 3, else: 0 } "达标占比分档" [SRC-2, G6]
  }
}
"""

TAKER_HEADER = """\
standard taker {
  region demo "示例"
  title "引用表"
  version 2026
  effective 2026-01-01 to open
  applies to "示例机构"
  total 13
}
"""

TAKER_DECLARATIONS = """\
enum level_kind "级别" {
  high "高"
  low "低"
}

fact visits "人次": count
fact errors "差错（本表）": count
fact level "级别": level_kind
fact rate "达标占比": percent in 0..100

let met_share "达标占比（折算）" = rate
"""

SOURCE_PATH = "regions/demo/source-2026.policy"
TAKER_PATH = "regions/demo/taker-2026.policy"


def taker(categories: str, declarations: str = TAKER_DECLARATIONS) -> str:
    return f"{TAKER_HEADER}\n{declarations}\n{categories}"


# item 2 of the source as this table's 3 (citing TK-3), between two items of its own;
# item 1 as this table's 4, with its own method
TAKES = """\
category "一、本表" 13 {
  item 1 "人次" 3 {
    basis "示例依据"
    award 3 when visits > 0 "有人次" [TK-1]
  }

  item 3 from source item 2 cite TK-3 for SRC-2

  item 4 from demo/source-2026 item 1 cite TK-4 for SRC-1 {
    method "每次差错扣1分，扣完为止（本表）"
  }
}
"""


def build(taker_text: str, source_text: str = SOURCE) -> dict[str, Pack]:
    return pipeline.packs_in_memory({SOURCE_PATH: source_text, TAKER_PATH: taker_text},
                                    "<test>")


def errors(taker_text: str, source_text: str = SOURCE) -> list[Diagnostic]:
    with pytest.raises(CompileError) as raised:
        build(taker_text, source_text)
    return list(raised.value.diagnostics)


def score(pack: Pack, explain: bool = False, **facts: Any) -> dict[str, Any]:
    outcome = score_batch(pack, [InputRecord(1, "I1", {"id": "I1", **facts})])[0]
    result: dict[str, Any] = json.loads(json.dumps(outcome_json(outcome, explain=explain)))
    assert result["error"] is None, result["error"]
    return result


def at(diagnostic: Diagnostic) -> tuple[str, str, int, int]:
    return diagnostic.code, diagnostic.span.file, diagnostic.span.line, diagnostic.span.column


def line_of(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


# ---------------------------------------------------------------- taken items, scored


def test_taken_items_score_as_in_their_standard_under_their_new_numbers() -> None:
    """visits 2: item 1 = 3. rate 60% (≥ 50%, < 80%): item 3 (source's 2) = 3. errors 1, level
    high: item 4 (source's 1) = 4 − 1 × 1 = 3. Earned 3 + 3 + 3 = 9 of 13 (no rescaling:
    total 9.00). The source itself: 3 + 3 = 6 of 10."""
    packs = build(taker(TAKES))
    result = score(packs["demo/taker-2026"], visits=2, errors=1, level="high", rate=60)
    assert (result["items"], result["earned"], result["total"]) == (
        {"1": "3", "3": "3", "4": "3"}, "9", "9.00")
    source = score(packs["demo/source-2026"], errors=1, level="high", rate=60)
    assert (source["items"], source["earned"]) == ({"1": "3", "2": "3"}, "6")


def test_a_taken_item_keeps_its_rules_zero_when_and_enum_included() -> None:
    """level low: item 4's `zero when level is low` → 0 whatever the errors; rate 85% (≥ 80%):
    item 3 = 6; visits 0: item 1 = 0. Earned 0 + 6 + 0 = 6."""
    result = score(build(taker(TAKES))["demo/taker-2026"], visits=0, errors=0, level="low",
                   rate=85)
    assert (result["items"], result["earned"]) == ({"1": "0", "3": "6", "4": "0"}, "6")


def test_taken_items_stand_where_written_with_their_texts_and_citations() -> None:
    pack = build(taker(TAKES))["demo/taker-2026"]
    items = {i.number: i for i in pack.INFO.items}
    assert [i.number for i in pack.INFO.items] == [1, 3, 4]
    assert (items[3].label, items[3].points, items[4].label, items[4].points) == (
        "达标", D(6), "差错", D(4))
    assert items[4].method == "每次差错扣1分，扣完为止（本表）"  # the block's own text
    assert items[4].basis == "示例依据"  # the texts the block does not give: the source's
    result = score(pack, explain=True, visits=1, errors=2, level="high", rate=40)
    cited = {(line["reason"], tuple(line["cites"]))
             for n in ("3", "4") for line in result["explanation"][n]}
    assert ("每次差错扣1分", ("TK-4", "G3")) in cited  # SRC-1 → TK-4, G3 kept
    assert ("达标占比分档", ("TK-3", "G6")) in cited
    assert not any("SRC-1" in c or "SRC-2" in c for _, cites in cited for c in cites)


def test_the_pack_names_the_standard_its_items_come_from() -> None:
    tree = _resolved(taker(TAKES))
    assert [b.path for b in tree.bases] == [SOURCE_PATH]
    assert tree.takes == ()
    taken = {i.number: i for i in tree.items}[4]
    assert taken.span.file == SOURCE_PATH  # its rules are where the source writes them
    assert [kind for kind, _ in taken.changed_at] == ["number", "method"]
    assert taken.where("method").file == TAKER_PATH


def test_a_derived_standard_keeps_the_items_its_base_took() -> None:
    """child based on taker, with item 1 at 2 points (total 12): visits 1 → 2; rate 50% → 3;
    errors 5, level high → 4 − 5, floored at 0. Earned 2 + 3 + 0 = 5 of 12."""
    child = ('standard child based on taker {\n  total 12\n}\n\nitem 1 points 2\n')
    packs = pipeline.packs_in_memory({SOURCE_PATH: SOURCE, TAKER_PATH: taker(TAKES),
                                      "regions/demo/child-2026.policy": child}, "<test>")
    pack = packs["demo/child-2026"]
    result = score(pack, visits=1, errors=5, level="high", rate=50)
    assert (result["items"], result["earned"]) == ({"1": "2", "3": "3", "4": "0"}, "5")


def test_a_standard_based_on_another_takes_items_against_both_declarations() -> None:
    """derived based on source adds a category taking source's item 2 again as item 3 (its
    facts come from the base): rate 90% → 6 and 6; errors 0, level high → 4. 16 of 16."""
    derived = ('standard derived based on source {\n  total 16\n}\n\n'
               'category "二、再用" 6 {\n  item 3 from source item 2\n}\n')
    packs = pipeline.packs_in_memory({SOURCE_PATH: SOURCE,
                                      "regions/demo/derived-2026.policy": derived}, "<test>")
    result = score(packs["demo/derived-2026"], errors=0, level="high", rate=90)
    assert (result["items"], result["earned"]) == ({"1": "4", "2": "6", "3": "6"}, "16")


# ---------------------------------------------------------------- each check, located


def test_an_item_the_source_does_not_have() -> None:
    text = taker(TAKES.replace("from source item 2", "from source item 7"))
    (found,) = errors(text)
    assert at(found) == ("B511", TAKER_PATH, line_of(text, "item 3 from"), 3)
    assert found.hint == "items of demo/source-2026: 1, 2"


def test_a_number_the_standard_has_already() -> None:
    text = taker(TAKES.replace("item 3 from", "item 1 from"))
    (found,) = errors(text)
    assert at(found) == ("B512", TAKER_PATH, line_of(text, "item 1 from"), 3)
    assert f"has an item 1 already (line {line_of(text, 'item 1 ')})" in found.message


def test_two_taken_items_under_one_number() -> None:
    text = taker(TAKES.replace("item 4 from", "item 3 from"))
    (found,) = errors(text)
    assert at(found) == ("B512", TAKER_PATH, line_of(text, "item 3 from demo/"), 3)


@pytest.mark.parametrize(("removed", "what"), [
    ('fact errors "差错（本表）": count\n', "fact 'errors'"),
    ('let met_share "达标占比（折算）" = rate\n', "derived value 'met_share'"),
])
def test_a_fact_or_value_the_standard_does_not_declare(removed: str, what: str) -> None:
    text = taker(TAKES, TAKER_DECLARATIONS.replace(removed, ""))
    (found,) = errors(text)
    assert found.code == "B513" and what in found.message
    # the hint is the source's own declaration, to copy
    assert found.hint is not None and removed.split(" ")[1] in found.hint


def test_the_facts_a_taken_derived_value_uses_are_needed_too() -> None:
    """item 3 uses `met_share`, which is `rate`: without `rate` it cannot be read the same way."""
    text = taker(TAKES, TAKER_DECLARATIONS.replace('fact rate "达标占比": percent in 0..100\n',
                                                   "").replace("= rate", "= 0%"))
    found = errors(text)
    assert sorted((d.code, d.message.split("'")[1]) for d in found) == [
        ("B513", "rate"), ("B514", "met_share")]


@pytest.mark.parametrize(("declared", "shown"), [
    ('fact rate "达标占比": number', "percent in 0..100"),        # another type
    ('fact rate "达标占比": percent in 0..90', "percent in 0..100"),  # other bounds
    ('fact rate "达标占比": percent in 0..100 optional', "required"),  # other presence
])
def test_a_fact_declared_otherwise(declared: str, shown: str) -> None:
    text = taker(TAKES, TAKER_DECLARATIONS.replace(
        'fact rate "达标占比": percent in 0..100', declared))
    found = [d for d in errors(text) if d.code == "B514"]
    assert found and "'rate'" in found[0].message and shown in found[0].message
    assert at(found[0])[1:3] == (TAKER_PATH, line_of(text, "item 3 from"))


def test_an_enum_with_other_members_is_declared_otherwise() -> None:
    text = taker(TAKES, TAKER_DECLARATIONS.replace('  low "低"\n', '  mid "中"\n  low "低"\n'))
    (found,) = errors(text)
    assert found.code == "B514" and "enum level_kind: high, mid, low" in found.message


def test_a_label_of_its_own_is_not_a_difference() -> None:
    """The taker labels `errors` 差错（本表）, the source 差错（次）: labels are the table's."""
    assert "demo/taker-2026" in build(taker(TAKES))


def test_a_citation_the_item_does_not_make() -> None:
    text = taker(TAKES.replace("cite TK-3 for SRC-2", "cite TK-3 for SRC-1"))
    (found,) = errors(text)
    line = line_of(text, "cite TK-3")
    column = text.splitlines()[line - 1].index("TK-3") + 1
    assert at(found) == ("B515", TAKER_PATH, line, column)
    assert found.hint == "its rules cite: G6, SRC-2"


def test_taking_from_each_other_is_a_cycle() -> None:
    a = taker(TAKES).replace("standard taker", "standard a")
    b = SOURCE.replace("standard source", "standard b").replace(
        '  item 2 "达标" 6 {', '  item 9 from a item 1\n\n  item 2 "达标" 6 {').replace(
        "total 10", "total 13").replace('"一、管理" 10', '"一、管理" 13')
    texts = {"regions/demo/a.policy": a.replace("from source", "from b").replace(
        "from demo/source-2026", "from b"), "regions/demo/b.policy": b}
    with pytest.raises(CompileError) as raised:
        pipeline.packs_in_memory(texts, "<test>")
    found = list(raised.value.diagnostics)
    assert [d.code for d in found] == ["B502", "B502"]
    assert "takes an item from itself through the standards it names" in found[0].message


def test_an_unknown_source_with_a_hint() -> None:
    (found,) = errors(taker(TAKES.replace("from source item 2", "from sourse item 2")))
    assert found.code == "B501" and found.message == (
        "no standard 'sourse' to take items from in region demo")
    assert found.hint == "did you mean 'source'?"


# ---------------------------------------------------------------- fmt


def test_fmt_lays_a_taken_item_out_and_is_idempotent() -> None:
    messy = taker(TAKES.replace("  item 3 from source item 2 cite TK-3 for SRC-2",
                                "  item 3   from source item 2 cite TK-3 for SRC-2,TK-9 for G6"
                                "  # trailing")
                  .replace('    method "每次差错扣1分，扣完为止（本表）"',
                           '      method "每次差错扣1分，"\n  "扣完为止（本表）"'))
    once = formatter.format_text(messy, TAKER_PATH)
    assert "  item 3 from source item 2 cite TK-3 for SRC-2, TK-9 for G6  # trailing\n" in once
    assert ('  item 4 from demo/source-2026 item 1 cite TK-4 for SRC-1 {\n'
            '    method "每次差错扣1分，"\n'
            '           "扣完为止（本表）"\n'
            '  }\n') in once
    assert formatter.format_text(once, TAKER_PATH) == once


# ---------------------------------------------------------------- Suzhou 附件2


SUZHOU_TAKEN = {3: 3, 5: 6, 7: 8, 8: 9, 12: 13, 13: 14}  # 附件2's number: 附件1's


def test_suzhou_outpatient_takes_six_items_of_inpatient_with_its_own_readings() -> None:
    compiled = pipeline.compile_texts({
        path: (ROOT / path).read_bytes() for path in (
            "regions/suzhou/inpatient-2023.policy", "regions/suzhou/outpatient-2023.policy")})
    inpatient = compiled.standards["suzhou/inpatient-2023"].standard
    outpatient = compiled.standards["suzhou/outpatient-2023"].standard
    assert [b.path for b in outpatient.bases] == ["regions/suzhou/inpatient-2023.policy"]
    theirs = {i.number: i for i in inpatient.items}
    for number, item in ((i.number, i) for i in outpatient.items):
        source = SUZHOU_TAKEN.get(number)
        from_inpatient = item.span.file == "regions/suzhou/inpatient-2023.policy"
        assert from_inpatient == (source is not None), number
        if source is None:
            continue
        assert (item.label, item.points, item.bonus, item.body[0].span) == (
            theirs[source].label, theirs[source].points, theirs[source].bonus,
            theirs[source].body[0].span)
        cited = {c for rule in _reasons(item) for c in rule.citations}
        assert f"SZ2-{number}" in cited and f"SZ-{source}" not in cited, number
    # where 附件2's wording differs, its own (source lines 570 and 677 of the Suzhou text)
    own = {i.number: i for i in outpatient.items}
    assert own[8].texts.content is not None and "功能的应用，医保医院信息系统联通。" in \
        own[8].texts.content
    assert own[12].texts.content == "接入苏州市先诊疗后付费平台并运行"
    assert theirs[13].texts.content == "接入苏州市先诊疗后付费平台并运行。"


def test_suzhou_outpatient_pack_names_inpatient_as_a_base() -> None:
    index = json.loads((ROOT / "generated" / "index.json").read_text(encoding="utf-8"))
    entry = next(p for p in index["packs"] if p["name"] == "suzhou/outpatient-2023")
    assert [s["path"] for s in entry["sources"] if s["role"] == "base"] == [
        "regions/suzhou/inpatient-2023.policy"]


def _reasons(item: ast.Item) -> list[ast.Reason]:
    found: list[ast.Reason] = []
    for entry in item.body:
        rules = entry.rules if isinstance(entry, ast.Part) else (entry,)
        found += [rule.reason for rule in rules]
        if isinstance(entry, ast.Part) and entry.not_applicable is not None:
            found.append(entry.not_applicable.reason)
    return found


def _resolved(text: str) -> ast.Standard:
    compiled = pipeline.compile_texts({SOURCE_PATH: SOURCE, TAKER_PATH: text})
    assert compiled.errors == [], compiled.errors
    return compiled.standards["demo/taker-2026"].standard


def test_a_resolved_standard_parses_back_with_nothing_to_take() -> None:
    tree = parser.parse_text(taker(TAKES), TAKER_PATH)
    assert isinstance(tree, ast.Standard)
    assert [(t.number, t.source.name, t.source_number, t.position) for t in tree.takes] == [
        (3, "source", 2, 1), (4, "demo/source-2026", 1, 2)]


def test_suzhou_outpatient_taking_its_items_is_the_table_written_out() -> None:
    """附件2 written out in full (tests/fixtures, as it was before it took its items) and
    附件2 taking six items from 附件1 are the same standard, rule for rule and text for text;
    only positions, the hash and the base differ."""
    path = "regions/suzhou/outpatient-2023.policy"
    written_out = pipeline.compile_texts({path: (
        ROOT / "tests/fixtures/suzhou-outpatient-2023-written-out.policy").read_bytes()})
    taking = pipeline.compile_texts({p: (ROOT / p).read_bytes() for p in (
        path, "regions/suzhou/inpatient-2023.policy")})
    assert written_out.errors == [] and taking.errors == []

    def meaning(compiled: pipeline.Compiled) -> object:
        standard = compiled.standards["suzhou/outpatient-2023"].standard
        categories = tuple(dataclasses.replace(c, items=tuple(
            dataclasses.replace(i, changed_at=()) for i in c.items)) for c in standard.categories)
        return formatter.without_spans(dataclasses.replace(
            standard, categories=categories, bases=(), source_sha256=""))

    assert meaning(taking) == meaning(written_out)


def test_diff_of_the_written_out_table_and_the_one_taking_items_has_no_differences() -> None:
    from click.testing import CliRunner

    from policy_dsl.cli import cli

    result = CliRunner().invoke(cli, [
        "diff", "--root", str(ROOT), str(ROOT / "tests/fixtures/suzhou-outpatient-2023-written-out"
                                        ".policy"),
        str(ROOT / "regions/suzhou/outpatient-2023.policy")])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("no differences")


def test_check_of_the_taking_file_reports_a_mistake_in_the_item_it_takes(tmp_path: Path) -> None:
    """A misspelt fact in 附件1's item 6, which 附件2 takes as its item 5: `check` of 附件2
    alone reports it, at 附件1's line, and fails (it said nothing and exited 0 before)."""
    from click.testing import CliRunner

    from policy_dsl.cli import cli

    region = tmp_path / "regions" / "suzhou"
    region.mkdir(parents=True)
    for name in ("inpatient-2023.policy", "outpatient-2023.policy"):
        text = (ROOT / "regions" / "suzhou" / name).read_text(encoding="utf-8")
        (region / name).write_text(text.replace("zero when refused_to_correct ",
                                                "zero when refused_to_corect "), encoding="utf-8")
    inpatient = (region / "inpatient-2023.policy").read_text(encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", "--root", str(tmp_path), "--format", "json",
                                      str(region / "outpatient-2023.policy")])
    found = {(f["code"], f["file"], f["span"]["line"]) for f in json.loads(result.stdout)}
    assert ("C203", "regions/suzhou/inpatient-2023.policy",
            line_of(inpatient, "zero when refused_to_corect")) in found
    assert result.exit_code == 1


def test_a_taken_rule_names_the_rule_file_its_line_is_in() -> None:
    """附件2's item 5 is 附件1's item 6: its reason lines give 附件1's line numbers, so they
    name 附件1's file (in the pack, the result line's explanation, and explain's text), while
    附件2's own rules name no file (their line is the pack's own rule file's)."""
    from click.testing import CliRunner

    from policy_dsl.cli import cli
    from policy_dsl.runtime import load_pack

    pack = load_pack("suzhou/outpatient-2023", packs_dir=ROOT / "generated")
    taken = [rule.reason for rule in pack.RULES if rule.item == 5]
    own = [rule.reason for rule in pack.RULES if rule.item == 1]
    inpatient = ROOT / "regions" / "suzhou" / "inpatient-2023.policy"
    lines = inpatient.read_text(encoding="utf-8").splitlines()
    assert taken and all(r.file == "regions/suzhou/inpatient-2023.policy" for r in taken)
    assert "严格规范使用医保基金" in lines[240 - 1]  # the line explain cites below is 附件1's
    assert own and all(r.file is None for r in own)
    example = str(ROOT / "examples" / "suzhou-outpatient.csv")
    where = ["--packs", str(ROOT / "generated"), "--pack", "suzhou/outpatient-2023"]
    text = CliRunner().invoke(cli, ["explain", *where, example, "--id", "SZ-C001"]).stdout
    assert "[SZ2-5]（regions/suzhou/inpatient-2023.policy 第240行）" in text
    assert "[SZ2-1]（规则文件第147行）" in text
    scored = CliRunner().invoke(cli, ["score", *where, example, "--explain"]).stdout
    first = json.loads(scored.splitlines()[0])
    assert {e.get("file") for e in first["explanation"]["5"]} == \
        {"regions/suzhou/inpatient-2023.policy"}
    assert all("file" not in e for e in first["explanation"]["1"])
