"""`standard X based on Y`: each change a derived standard makes to its base, on small rule
files with totals worked by hand; every error at its line and column; the shipped derived
standards (the Jilin models) built from their base with provenance covering it."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT

from policy_dsl.compiler import ast, diff, inherit, parser, pipeline, plugins
from policy_dsl.compiler.diagnostics import CompileError, Diagnostic
from policy_dsl.runtime import InputRecord, Pack, outcome_json, score_batch

BASE = """\
standard base {
  region demo "示例"
  title "基础表"
  version 2026
  effective 2026-01-01 to open
  applies to "示例机构"
  total 10
}

fact errors "差错（次）": count
fact rate "达标占比": percent in 0..100

category "一、管理" 10 {
  item 1 "差错" 4 {
    method "每次差错扣1分"
    basis "示例"
    award full_points "满分"
    deduct 1 per errors "每次差错扣1分"
  }
  item 2 "达标" 6 {
    basis "示例"
    award tiers rate { >= 80%: 6, >= 50%: 3, else: 0 } "达标占比分档"
  }
}
"""

BASE_PATH = "regions/demo/base-2026.policy"
DERIVED_PATH = "regions/demo/derived-2026.policy"


def derived(header: str, body: str = "") -> str:
    return f"standard derived based on base {{\n{header}}}\n{body}"


def build(derived_text: str, base_text: str = BASE) -> dict[str, Pack]:
    return pipeline.packs_in_memory({BASE_PATH: base_text, DERIVED_PATH: derived_text}, "<test>")


def score(pack: Pack, **facts: Any) -> dict[str, Any]:
    outcome = score_batch(pack, [InputRecord(1, "I1", {"id": "I1", **facts})])[0]
    result: dict[str, Any] = json.loads(json.dumps(outcome_json(outcome, explain=False)))
    assert result["error"] is None, result["error"]
    return result


def errors(derived_text: str, base_text: str = BASE) -> list[Diagnostic]:
    with pytest.raises(CompileError) as raised:
        build(derived_text, base_text)
    return list(raised.value.diagnostics)


# ---------------------------------------------------------------- each change, scored


def test_nothing_changed_scores_as_the_base() -> None:
    """errors 3: item 1 = 4 − 3 × 1 = 1; rate 60% (≥ 50%): item 2 = 3; earned 1 + 3 = 4."""
    packs = build(derived('  title "派生表"\n'))
    for name in ("demo/base-2026", "demo/derived-2026"):
        result = score(packs[name], errors=3, rate=60)
        assert (result["items"], result["earned"]) == ({"1": "1", "2": "3"}, "4")
    info = packs["demo/derived-2026"].INFO
    assert (info.title, info.version, info.region) == ("派生表", 2026, "demo")


def test_header_fields_replace_the_base_s_and_open_is_given_too() -> None:
    closed = BASE.replace("to open", "to 2026-12-31")
    tree = _resolved(derived("  version 2027\n  effective 2027-01-01 to open\n"), closed)
    header = tree.header
    assert (header.version, str(header.effective_from), header.effective_to) == (
        2027, "2027-01-01", None)
    assert (header.title, header.applies_to, header.total) == ("基础表", "示例机构", D(10))
    kept = _resolved(derived("  version 2027\n"), closed).header
    assert (str(kept.effective_from), str(kept.effective_to)) == ("2026-01-01", "2026-12-31")


def test_item_points_and_a_replaced_item() -> None:
    """item 1 points 6 (award full_points follows: 6 − 3 = 3); item 2 replaced by a 4-point
    item (rate 60% ≥ 50% → 2); the category is now 6 + 4 = 10: earned 3 + 2 = 5."""
    packs = build(derived("", """
item 1 points 6
replace item 2 "达标（新）" 4 {
  basis "示例"
  award tiers rate { >= 80%: 4, >= 50%: 2, else: 0 } "达标占比分档（新）"
}
"""))
    result = score(packs["demo/derived-2026"], errors=3, rate=60)
    assert (result["items"], result["earned"]) == ({"1": "3", "2": "2"}, "5")
    items = {i.number: i for i in packs["demo/derived-2026"].INFO.items}
    assert (items[1].points, items[2].points, items[2].label) == (D(6), D(4), "达标（新）")


def test_a_deduction_cap() -> None:
    """errors 3 would take 3 of item 1's 4 points; capped at 2: 4 − 2 = 2 (rate 90%: 6);
    earned 2 + 6 = 8."""
    packs = build(derived("", 'item 1 cap deductions at 2 "最多扣2分" [G3]\n'))
    result = score(packs["demo/derived-2026"], errors=3, rate=90)
    assert (result["items"], result["earned"]) == ({"1": "2", "2": "6"}, "8")
    assert score(packs["demo/base-2026"], errors=3, rate=90)["earned"] == "7"  # 1 + 6


def test_removed_item_takes_its_only_fact_and_a_new_item_and_fact() -> None:
    """Item 2 removed (its fact rate goes with it); item 3 (2 points, a new fact) added to the
    base's category; total 4 + 2 = 6. errors 1, visits 5: 4 − 1 = 3, and 2: earned 5 of 6."""
    packs = build(derived("  total 6\n", """
remove item 2
fact visits "人次": count
add to category "一、管理" {
  item 3 "人次" 2 {
    basis "示例"
    award 2 when visits > 0 "有人次"
  }
}
"""))
    pack = packs["demo/derived-2026"]
    assert [f.name for f in pack.INFO.facts] == ["errors", "visits"]
    result = score(pack, errors=1, visits=5)
    assert (result["items"], result["earned"], result["applicable_max"]) == (
        {"1": "3", "3": "2"}, "5", "6")


def test_a_new_category() -> None:
    """A category of its own: 10 + 5 = 15 points; errors 0, rate 40% (< 50%: 0), bonus 5:
    earned 4 + 0 + 5 = 9."""
    packs = build(derived("  total 15\n", """
fact extra "其他": count
category "二、其他" 5 {
  item 3 "其他" 5 {
    basis "示例"
    award 5 when extra > 0 "有其他"
  }
}
"""))
    result = score(packs["demo/derived-2026"], errors=0, rate=40, extra=1)
    assert (result["items"], result["earned"]) == ({"1": "4", "2": "0", "3": "5"}, "9")


def test_texts_and_a_replaced_fact() -> None:
    tree = _resolved(derived("", """
text item 1 method "每次差错扣1分，扣完为止" "（示例）"
replace fact rate "达标占比（新口径）": percent in 0..100
"""))
    item = tree.items[0]
    assert item.texts.method == "每次差错扣1分，扣完为止\n（示例）"
    assert item.texts.basis == "示例"  # the texts not named stay the base's
    assert {f.name: f.label for f in tree.facts}["rate"] == "达标占比（新口径）"
    assert tree.bases[0].path == BASE_PATH


def test_a_change_that_breaks_the_total_is_the_checker_error() -> None:
    """item 1 points 5: the category becomes 5 + 6 = 11, the standard's total is 10."""
    found = errors(derived("", "item 1 points 5\n"))
    assert [d.code for d in found] and all(d.code.startswith("C") for d in found)
    assert any("11" in d.message for d in found)


def test_a_chain_of_bases_and_a_base_by_pack_name_in_another_region() -> None:
    """c based on derived based on base: item 1 at 6 (derived), then capped at 1 (c): errors
    3: 6 − 1 = 5; rate 80%: 6; earned 11 of 12. c is in region other: its base is named with
    its region."""
    texts = {BASE_PATH: BASE,
             DERIVED_PATH: derived("  total 12\n", 'item 1 points 6\n'),
             "regions/other/c-2027.policy":
                 'standard c based on demo/derived-2026 {\n  region other "另一地"\n'
                 '  version 2027\n}\nitem 1 cap deductions at 1 "最多扣1分"\n'}
    packs = pipeline.packs_in_memory(texts, "<test>")
    result = score(packs["other/c-2027"], errors=3, rate=80)
    assert (result["items"], result["earned"]) == ({"1": "5", "2": "6"}, "11")


# ---------------------------------------------------------------- errors, located


def _resolved(text: str, base_text: str = BASE) -> ast.Standard:
    trees = [parser.parse_text(base_text, BASE_PATH), parser.parse_text(text, DERIVED_PATH)]
    standards = [t for t in trees if isinstance(t, ast.Standard)]
    resolved, found = inherit.resolve(standards, {BASE_PATH: base_text, DERIVED_PATH: text})
    assert found == []
    return resolved[DERIVED_PATH]


def _one(found: list[Diagnostic]) -> Diagnostic:
    assert len(found) == 1, found
    return found[0]


def at(diagnostic: Diagnostic) -> tuple[str, str, int, int]:
    span = diagnostic.span
    return diagnostic.code, span.file, span.line, span.column


def test_an_unknown_item_is_an_error_at_its_line_with_the_known_ones() -> None:
    found = _one(errors(derived("", "\nitem 9 points 3\n")))  # line 4 of the derived file
    assert at(found) == ("B503", DERIVED_PATH, 4, 1)
    assert found.message == "base has no item 9" and found.hint == "items: 1, 2"


@pytest.mark.parametrize("change", ["remove item 7", 'replace item 7 "x" 1 { award 1 "x" }',
                                    'text item 7 basis "x"', 'item 7 cap deductions at 1 "x"'])
def test_every_item_change_names_an_existing_item(change: str) -> None:
    assert at(_one(errors(derived("", change + "\n")))) == ("B503", DERIVED_PATH, 3, 1)


def test_an_unknown_fact_and_category_with_did_you_mean() -> None:
    found = errors(derived("", 'remove fact eror\nadd to category "一、管里" {\n'
                           '  item 3 "x" 1 { award 1 "x" }\n}\n'))
    assert [at(d) for d in found] == [("B504", DERIVED_PATH, 3, 1),
                                      ("B503", DERIVED_PATH, 4, 1)]
    assert found[0].hint == "did you mean 'errors'?"
    assert found[1].hint == "did you mean '一、管理'?"


def test_a_removed_fact_still_used_names_the_item() -> None:
    found = _one(errors(derived("", "\n\nremove fact errors\n")))
    assert at(found) == ("B505", DERIVED_PATH, 5, 1)
    assert "item 1 still uses it" in found.message


def test_a_change_made_twice_is_an_error_at_the_second() -> None:
    found = errors(derived("", "item 1 points 5\nitem 1 points 6\nremove item 2\n"
                           "item 2 points 1\n"))
    assert [at(d) for d in found] == [("B506", DERIVED_PATH, 4, 1),
                                      ("B506", DERIVED_PATH, 6, 1)]
    assert "also on line 3" in found[0].message and "also on line 5" in found[1].message


def test_a_declaration_the_base_has_already() -> None:
    found = _one(errors(derived("", 'fact rate "x": count\n')))
    assert at(found) == ("B509", DERIVED_PATH, 3, 1)
    assert found.hint is not None and "replace fact rate" in found.hint


def test_a_missing_base_with_a_hint() -> None:
    found = _one(errors("standard derived based on bsae {\n}\n"))
    assert at(found) == ("B501", DERIVED_PATH, 1, 27)
    assert found.hint == "did you mean 'base'?"


def test_a_base_in_another_region_must_be_named_with_its_region() -> None:
    texts = {BASE_PATH: BASE, "regions/other/d-2026.policy":
             'standard d based on base {\n  region other "另一地"\n}\n'}
    with pytest.raises(CompileError) as raised:
        pipeline.packs_in_memory(texts, "<test>")
    found = _one(list(raised.value.diagnostics))
    assert at(found) == ("B501", "regions/other/d-2026.policy", 1, 21)
    assert found.hint == "a base in another region is named with its region: `based on " \
        "demo/base-2026`"


def test_a_cycle_names_the_chain() -> None:
    texts = {"regions/demo/a.policy": "standard a based on b {\n}\n",
             "regions/demo/b.policy": "standard b based on a {\n}\n"}
    with pytest.raises(CompileError) as raised:
        pipeline.packs_in_memory(texts, "<test>")
    found = list(raised.value.diagnostics)
    assert [at(d) for d in found] == [("B502", "regions/demo/a.policy", 1, 21),
                                      ("B502", "regions/demo/b.policy", 1, 21)]
    assert "a (regions/demo/a.policy) -> b (regions/demo/b.policy) -> a " in found[0].message


def test_a_standard_based_on_itself() -> None:
    texts = {"regions/demo/a.policy": "standard a based on a {\n}\n"}
    with pytest.raises(CompileError) as raised:
        pipeline.packs_in_memory(texts, "<test>")
    assert [d.code for d in raised.value.diagnostics] == ["B502"]


def test_several_versions_are_ambiguous() -> None:
    # two versions in force one after the other (overlapping ones would be L409 as well)
    texts = {BASE_PATH: BASE.replace("2026-01-01 to open", "2026-01-01 to 2026-12-31"),
             "regions/demo/base-2027.policy": BASE.replace("version 2026", "version 2027")
             .replace("2026-01-01 to open", "2027-01-01 to open"),
             DERIVED_PATH: derived('  version 2028\n')}
    with pytest.raises(CompileError) as raised:
        pipeline.packs_in_memory(texts, "<test>")
    found = _one(list(raised.value.diagnostics))
    assert found.code == "B508" and found.hint == "name one by its pack name, e.g. `based on " \
        "demo/base-2026`"


def test_a_change_in_a_standard_based_on_nothing() -> None:
    with pytest.raises(CompileError) as raised:
        parser.parse_text('standard s {\n}\n\nitem 1 points 3\n', "s.policy")
    found = _one(list(raised.value.diagnostics))
    assert at(found) == ("B510", "s.policy", 4, 1)
    assert found.hint is not None and "standard s based on BASE" in found.hint


# ---------------------------------------------------------------- a build, provenance


def _build_tree(tmp_path: Path, base_text: str) -> dict[str, Any]:
    (tmp_path / "regions" / "demo").mkdir(parents=True, exist_ok=True)
    (tmp_path / BASE_PATH).write_text(base_text, encoding="utf-8")
    (tmp_path / DERIVED_PATH).write_text(derived("", "item 1 points 6\nitem 2 points 4\n"
                                                 ).replace("  total", ""), encoding="utf-8")
    result = pipeline.build(tmp_path, manager=plugins.plugin_manager([], entry_points=False))
    assert result.ok, [d for d, _ in result.diagnostics]
    return {p.name: p.index_entry for p in result.packs}


def test_the_pack_names_its_base_and_changes_when_the_base_changes(tmp_path: Path) -> None:
    # item 2's tiers reach 6 in a 4-point item: the base is changed to stay within 4
    base = BASE.replace("6 {\n    basis", "6 {\n    basis").replace(
        "total 10", "total 10")
    first = _build_tree(tmp_path, base.replace(">= 80%: 6", ">= 80%: 4"))
    entry = first["demo/derived-2026"]
    roles = [(s["role"], s["path"]) for s in entry["sources"]]
    assert roles == [("rule file", DERIVED_PATH), ("base", BASE_PATH)]
    changed = _build_tree(tmp_path, base.replace(">= 80%: 6", ">= 80%: 4").replace(
        ">= 50%: 3", ">= 50%: 2"))
    before = {s["role"]: s["sha256"] for s in entry["sources"]}
    after = {s["role"]: s["sha256"] for s in changed["demo/derived-2026"]["sources"]}
    assert before["rule file"] == after["rule file"] and before["base"] != after["base"]
    assert entry["pack_sha256"] != changed["demo/derived-2026"]["pack_sha256"]


def test_the_jilin_models_are_based_on_the_inpatient_model() -> None:
    index = json.loads((ROOT / "generated" / "index.json").read_text(encoding="utf-8"))
    entries = {p["name"]: p for p in index["packs"]}
    base = "regions/jilin/model-medical-inpatient-2026.policy"
    for name in ("jilin/medical-outpatient-2026", "jilin/pharmacy-2026"):
        bases = [s["path"] for s in entries[name]["sources"] if s["role"] == "base"]
        assert bases == [base]
        module = (ROOT / "generated" / entries[name]["module_file"]).read_text("utf-8")
        assert f"# Based on {base}, SHA-256 " in module


def _policyc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policy_dsl.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, check=False)


def test_diff_between_a_base_and_its_derived_standard_shows_exactly_the_overrides() -> None:
    report = json.loads(_policyc("diff", "--format", "json",
                                 "regions/jilin/model-medical-inpatient-2026.policy",
                                 "regions/jilin/model-pharmacy-2026.policy").stdout)
    pharmacy = "regions/jilin/model-pharmacy-2026.policy"
    found = [(c["item"], c["kind"], c["path"], c["after_span"]["file"], c["after_span"]["line"])
             for c in report["changes"]]
    assert found == [(None, "header", "standard", pharmacy, 7),
                     (None, "header", "title", pharmacy, 7),
                     (None, "header", "applies to", pharmacy, 7),
                     (1, "text", "basis", pharmacy, 12)]  # the `text item 1 basis` line
    assert "定点零售药店分类设置" in report["changes"][3]["after"]


def test_diff_shows_changed_points_at_the_derived_line(tmp_path: Path) -> None:
    (tmp_path / "regions" / "demo").mkdir(parents=True)
    (tmp_path / BASE_PATH).write_text(BASE, encoding="utf-8")
    (tmp_path / DERIVED_PATH).write_text(derived("", "\nitem 1 points 3\nitem 2 points 7\n"),
                                         encoding="utf-8")
    a, _ = pipeline.standard_from_file(tmp_path, tmp_path / BASE_PATH)
    b, found = pipeline.standard_from_file(tmp_path, tmp_path / DERIVED_PATH)
    assert a is not None and b is not None, found
    points = [(c.item, c.before, c.after, c.after_span.line)
              for c in diff.compare(diff.Side(a.standard), diff.Side(b.standard))
              if c.kind == "points" and c.after_span is not None]
    assert points == [(1, "4", "3", 4), (2, "6", "7", 5)]


def test_render_of_a_derived_standard_has_its_own_texts() -> None:
    result = _policyc("render", "--pack", "jilin/pharmacy-2026", "--format", "md")
    assert result.returncode == 0, result.stderr
    assert "定点零售药店分类设置" in result.stdout
    assert "开通住院服务机构" not in result.stdout
