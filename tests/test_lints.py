"""Lints (compiler/lints.py): each broken rule file in tests/lints/ gives its code at the line
and column its first line names (`# expect: CODE LINE:COL`), and nothing else; the shipped
rule files and plugins give no lint at all."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from policy_dsl.compiler import ast, parser, pipeline
from policy_dsl.compiler.diagnostics import Diagnostic
from policy_dsl.compiler.lints import CODES

ROOT = Path(__file__).resolve().parents[1]
CASES = sorted((ROOT / "tests" / "lints").glob("*.policy"))


def lint_file(path: Path) -> list[Diagnostic]:
    text = path.read_text(encoding="utf-8")
    standard = parser.parse_text(text, path.name)
    assert isinstance(standard, ast.Standard)
    _, _, found = pipeline.compile_standard(standard, text, {})
    return found


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_broken_file_gives_its_code_at_its_place(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    found = lint_file(path)
    if first == "# expect: none":
        assert found == [], [d.render(path.read_text(encoding="utf-8")) for d in found]
        return
    code, place = first.removeprefix("# expect: ").split()
    line, column = (int(n) for n in place.split(":"))
    assert [(d.code, d.span.line, d.span.column) for d in found] == [(code, line, column)], \
        [d.render(path.read_text(encoding="utf-8")) for d in found]
    assert found[0].severity == CODES[code][0]
    assert found[0].hint


def test_shipped_rule_files_and_plugins_give_no_lint() -> None:
    result = pipeline.build(ROOT)
    lints = [d.render(text) for d, text in result.diagnostics if d.code.startswith("L")]
    assert lints == []
    assert len(result.packs) >= 7  # every shipped pack, the city packs included


VERSION = '''\
standard demo {{
  region example "示例市"
  title "示例标准（仅用于测试，非真实政策）"
  version {version}
  effective {period}
  applies to "示例机构"
  total 5
}}
fact flagged "标记": bool
category "一、示例" 5 {{
  item 1 "示例项目" 5 {{
    basis "示例依据（测试用）"
    award 5 when flagged "标记的，得5分" [T-1]
  }}
}}
'''


def build_versions(tmp_path: Path, *periods: tuple[int, str]) -> pipeline.BuildResult:
    (tmp_path / "regions" / "example").mkdir(parents=True)
    for version, period in periods:
        (tmp_path / "regions" / "example" / f"demo-{version}.policy").write_text(
            VERSION.format(version=version, period=period), encoding="utf-8")
    return pipeline.build(tmp_path)


def test_overlapping_versions_are_an_error_at_the_later_effective_line(tmp_path: Path) -> None:
    result = build_versions(tmp_path, (2023, "2023-01-01 to 2024-06-30"),
                            (2024, "2024-01-01 to open"))
    found = [d for d, _ in result.diagnostics if d.code == "L409"]
    assert [(d.span.file, d.span.line, d.span.column, d.severity) for d in found] == [
        ("regions/example/demo-2024.policy", 5, 3, "error")]
    assert "version 2023 (regions/example/demo-2023.policy:5)" in found[0].message
    assert not result.ok


def test_consecutive_versions_are_clean(tmp_path: Path) -> None:
    result = build_versions(tmp_path, (2023, "2023-01-01 to 2023-12-31"),
                            (2024, "2024-01-01 to open"))
    assert [d.code for d, _ in result.diagnostics] == []
    assert result.ok


# ---------------------------------------------------------------- the standard's bonus limit
BONUS = '''\
standard demo {{
  region example "示例市"
  title "示例标准（仅用于测试，非真实政策）"
  version 2024
  effective 2024-01-01 to open
  applies to "示例机构"
  total {total}
  {included}
  bonus limit 6 "加分项合计不超过6分（示例）" [T-9]
}}
fact a "甲": bool
fact forwarded "转发次数": count
fact shown "宣传方式数": count
category "一、示例" 10 {{
  item 1 "示例项目" 10 {{
    basis "示例依据（测试用）"
    award 10 when a "甲的，得10分" [T-1]
  }}
}}
category "二、加分" 10 {{
  bonus item 2 "加分一" 5 {{
    basis "示例依据（测试用）"
    award 1 per forwarded "每次加1分" [T-2]
  }}
  bonus item 3 "加分二" 5 {{
    basis "示例依据（测试用）"
    award 1 per shown "每种加1分" [T-3]
  }}
}}
'''


@pytest.mark.parametrize(("included", "total", "applicable_max"),
                         [("bonus included", 20, 20), ("", 10, 10)])
def test_bonus_limit_caps_the_bonus_items_together(tmp_path: Path, included: str, total: int,
                                                   applicable_max: int) -> None:
    """Two bonus items of 5, a limit of 6: 4 + 4 = 8 earned by the items, 6 counted.
    Item 1 earns 10, so earned = 10 + 6 = 16. With `bonus included` the bonus points are part
    of the maximum (10 + 5 + 5 = 20); without, they count apart (maximum 10)."""
    from policy_dsl.runtime import InputRecord, score_batch
    from policy_dsl.runtime.packs import load_pack

    text = BONUS.format(included=included, total=total)
    standard = parser.parse_text(text, "demo.policy")
    assert isinstance(standard, ast.Standard)
    assert standard.header.bonus_limit == 6
    assert standard.header.bonus_limit_reason is not None
    assert standard.header.bonus_limit_reason.citations == ("T-9",)
    (tmp_path / "regions" / "example").mkdir(parents=True)
    (tmp_path / "regions" / "example" / "demo.policy").write_text(text, encoding="utf-8")
    result = pipeline.build(tmp_path)
    assert result.ok, [d.render(t) for d, t in result.diagnostics]
    pipeline.write_files(result.files, tmp_path / "generated")
    module = load_pack("example/demo-2024", packs_dir=tmp_path / "generated")
    (outcome,) = score_batch(module, [InputRecord(1, "x", {"a": True, "forwarded": 4,
                                                           "shown": 4})])
    assert outcome.score is not None
    assert [i.earned for i in outcome.score.items] == [10, 4, 4]
    assert outcome.score.earned == 16
    assert outcome.score.applicable_max == applicable_max


# ---------------------------------------------------------------- test --coverage
def test_coverage_names_a_standard_without_any_case() -> None:
    """Only 附件1's cases run: 附件2 and the Kunshan city pack (both in region suzhou) have
    no case in this run, and the coverage report says so; Jilin is not targeted."""
    from policy_dsl.casebook import cases, coverage

    results, errors = cases.run_files([ROOT / "regions/suzhou/tests/inpatient-2023.yaml"],
                                      ROOT, ROOT / "generated")
    assert errors == [] and results
    untested = coverage.without_cases(results, ROOT / "generated", ["suzhou"])
    assert untested == {"suzhou/kunshan-outpatient-2023": "plugins/kunshan_example.cases.yaml",
                        "suzhou/outpatient-2023": "regions/suzhou/tests/"}
    text = coverage.report(coverage.measure(results, ROOT / "generated"), untested).splitlines()
    assert "  suzhou/outpatient-2023: no regression case at all (add one in " \
        "regions/suzhou/tests/ with `pack: suzhou/outpatient-2023`)" in text
    assert "  suzhou/kunshan-outpatient-2023: no regression case at all (add one in " \
        "plugins/kunshan_example.cases.yaml with `pack: suzhou/kunshan-outpatient-2023`)" \
        in text
    every = cases.run_files(cases.find_case_files(ROOT), ROOT, ROOT / "generated")[0]
    assert coverage.without_cases(every, ROOT / "generated") == {}


# ---------------------------------------------------------------- test --mutate: equivalent
MUTATED = '''\
standard demo {
  region example "示例市"
  title "示例标准（仅用于测试，非真实政策）"
  version 2024
  effective 2024-01-01 to open
  applies to "示例机构"
  total 5
}
fact rate "比率": percent in 0..100
category "一、示例" 5 {
  item 1 "示例项目" 5 {
    basis "示例依据（测试用）"
    award full_points "满分" [T-1]
    deduct 3 when rate < 50% cap 5 "比率低于50%的，扣3分" [T-2]
  }
}
'''

MUTATED_CASES = '''\
pack: example/demo-2024
defaults: {}
cases:
  - name: low rate
    readings: [T-2]
    explain: '30% < 50% → 5 − 3 = 2.'
    facts: {rate: 30}
    expect: {items: {1: 2}}
  - name: high rate
    readings: [T-2]
    explain: '80% → 5.'
    facts: {rate: 80}
    expect: {items: {1: 5}}
'''


def test_mutate_labels_equivalent_mutants_apart(tmp_path: Path) -> None:
    """The cap 5 on a rule taking at most 3 never binds (L408): 5 → 4 changes no result, so
    it is equivalent. `< 50%` → `<= 50%` is not caught by the cases (30% and 80%), but the
    probe at 50% shows it changes a result: a real survivor, not an equivalent one."""
    from policy_dsl.casebook import mutation

    (tmp_path / "regions" / "example" / "tests").mkdir(parents=True)
    (tmp_path / "regions" / "example" / "demo.policy").write_text(MUTATED, encoding="utf-8")
    cases = tmp_path / "regions" / "example" / "tests" / "demo.yaml"
    cases.write_text(MUTATED_CASES, encoding="utf-8")
    result = pipeline.build(tmp_path)
    pipeline.write_files(result.files, tmp_path / "generated")
    report = mutation.run(tmp_path, [cases], tmp_path / "generated", echo=lambda _: None)
    equivalent = {(m.line, m.original, m.replacement) for m in report.equivalent}
    survivors = {(m.line, m.original, m.replacement) for m in report.survivors}
    assert (14, "5", "4") in equivalent
    assert (14, "<", "<=") in survivors
    assert report.counted == report.mutants - len(report.equivalent)


def test_changed_threshold_in_a_shipped_file_is_named_against_its_method(tmp_path: Path) -> None:
    """附件1 item 1: the method says 三级 ≥80%; a rule changed to 85% disagrees with it.
    The warning points at the 80% in the method text and names the rule's line."""
    import shutil

    shutil.copytree(ROOT / "regions" / "suzhou", tmp_path / "regions" / "suzhou")
    policy = tmp_path / "regions" / "suzhou" / "inpatient-2023.policy"
    text = policy.read_text(encoding="utf-8")
    assert text.count("{ tertiary: 80%") == 1
    policy.write_text(text.replace("{ tertiary: 80%", "{ tertiary: 85%"), encoding="utf-8")
    found = [d for d, _ in pipeline.build(tmp_path).diagnostics if d.code.startswith("L")]
    lines = text.splitlines()
    method_line = next(i for i, line in enumerate(lines, 1) if "三级医疗机构≥80%" in line)
    rule_line = next(i for i, line in enumerate(lines, 1) if "deduct 0.1 per 1% of" in line)
    assert [(d.code, d.span.line, d.span.column) for d in found] == [
        ("L401", method_line, lines[method_line - 1].index("80%") + 1)]
    assert f"the nearest is 85% at line {rule_line}" in found[0].message


# ---------------------------------------------------------------- the analysis is sound
SOUND = '''\
standard demo {
  region example "示例市"
  title "示例标准（仅用于测试，非真实政策）"
  version 2024
  effective 2024-01-01 to open
  applies to "示例机构"
  total 40
}
enum grade_level "级别" { high "高" mid "中" low "低" }
record product "产品" {
  cases "例数": count in 1..
}
fact level "级别": grade_level
fact rate "比率": percent in 0..100
fact quality "得分": score
fact incidents "次数": count
fact flagged "标记": bool
fact products "产品": list of product
category "一、示例" 40 {
  item 1 "示例项目" 40 {
    basis "示例依据（测试用）"
    award tiers rate { >= 90%: 2, >= 80%: 1.5, > 60%: 1, else: 0 } "分档" [T-1]
    award quality * 20% "得分×20%" [T-2]
    award if flagged then 3 else lookup level { high: 1, mid: 0.5, low: 0 } "条件" [T-3]
    deduct 1.5 per incidents cap 4 "每次扣1.5分，最多扣4分" [T-4]
    deduct 0.1 per 1% of rate below lookup level { high: 80%, mid: 70%, low: 50% }
      steps floor cap 3 "每低1个百分点扣0.1分，最多扣3分" [T-5]
    deduct for each p in products: if p.cases >= 2 then 3 else 1 "每个产品扣1或3分" [T-6]
    deduct 2 when rate < 30% and flagged "低于30%且标记的，扣2分" [T-7]
  }
}
'''


def test_every_rule_stays_within_its_analysed_range(tmp_path: Path) -> None:
    """For random inputs within the declared bounds, what each rule gives or takes in the
    built pack lies within the range the interval analysis computed for it."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from policy_dsl.compiler import checker
    from policy_dsl.compiler.lints import Analysis
    from policy_dsl.runtime import InputRecord, score_batch
    from policy_dsl.runtime.packs import load_pack

    standard = parser.parse_text(SOUND, "demo.policy")
    assert isinstance(standard, ast.Standard)
    checked = checker.check(standard)
    assert checked.ok, [d.render(SOUND) for d in checked.diagnostics]
    analysis = Analysis(standard, checked)
    analysis.full_points = standard.items[0].points
    ranges = {rule.span.line: (rule.sign, analysis.delta(rule))  # type: ignore[union-attr]
              for rule in standard.items[0].body}
    (tmp_path / "regions" / "example").mkdir(parents=True)
    (tmp_path / "regions" / "example" / "demo.policy").write_text(SOUND, encoding="utf-8")
    result = pipeline.build(tmp_path)
    assert result.ok
    pipeline.write_files(result.files, tmp_path / "generated")
    pack = load_pack("example/demo-2024", packs_dir=tmp_path / "generated")
    tenths = st.integers(0, 1000).map(lambda n: str(n / 10))

    @settings(max_examples=200, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(level=st.sampled_from(["high", "mid", "low"]), rate=tenths, quality=tenths,
           incidents=st.integers(0, 20), flagged=st.booleans(),
           cases=st.lists(st.integers(1, 4), max_size=4))
    def check(level: str, rate: str, quality: str, incidents: int, flagged: bool,
              cases: list[int]) -> None:
        record = {"level": level, "rate": rate, "quality": quality, "incidents": incidents,
                  "flagged": flagged, "products": [{"cases": c} for c in cases]}
        (outcome,) = score_batch(pack, [InputRecord(1, "x", record)])
        assert outcome.score is not None
        seen = 0
        for line in outcome.score.items[0].lines:
            if line.reason.line not in ranges:
                continue
            sign, found = ranges[line.reason.line]
            given_or_taken = line.delta if sign == "award" else -line.delta
            assert found.lo is None or given_or_taken >= found.lo, (line, found)
            assert found.hi is None or given_or_taken <= found.hi, (line, found)
            seen += 1
        assert seen == len(ranges)

    check()


# ---------------------------------------------------------------- parts proven within points
PARTS = '''\
standard demo {
  region example "示例市"
  title "示例标准（仅用于测试，非真实政策）"
  version 2024
  effective 2024-01-01 to open
  applies to "示例机构"
  total 10
}
fact a "甲": bool
fact rate "比率": percent in 0..100
fact times "次数": count
category "一、示例" 10 {
  item 1 "示例项目" 10 {
    basis "示例依据（测试用）"
    part "条件加档次" 2 {
      award 1 when a "甲的，得1分" [T-1]
      award tiers rate { >= 50%: 1, >= 30%: 0.5, else: 0 } "比率达30%得0.5分，达50%得1分" [T-2]
    }
    part "按次无上限" 2 {
      award 0.5 per times "每次得0.5分" [T-3]
    }
    part "超出分项" 2 {
      award 3 when a "甲的，得3分" [T-4]
    }
    part "可扣成负" 2 {
      award 2 "得2分" [T-5]
      deduct 3 when a "甲的，扣3分" [T-6]
    }
    part "按比率扣分" 2 {
      award 2 "得2分" [T-7]
      deduct 0.1 per 1% of rate below 90% steps floor cap 2
        "低于90%的，每低1%扣0.1分，最多扣2分" [T-8]
    }
  }
}
'''


def test_a_part_is_proven_within_its_points_only_where_the_bounds_settle_it(
        tmp_path: Path) -> None:
    """Part 1 gives 0 to 1 + 1 = 2 (its points): no clamp in `score`. Part 2 gives 0.5 a
    time, times unbounded; part 3 gives 3 of 2; part 4 gives 2 - 3 = -1 when a: each keeps
    its clamp. Part 5 gives 2 - min(0.1 * steps, 2), 0 to 2: no clamp.
    Scored both ways (explained: close_part's clamp; `score`: none where proven) at
    intermediate values, the points agree."""
    from policy_dsl.compiler import checker
    from policy_dsl.compiler.lints import Analysis, part_within_points
    from policy_dsl.runtime import InputRecord, score_batch
    from policy_dsl.runtime.packs import load_pack

    standard = parser.parse_text(PARTS, "demo.policy")
    assert isinstance(standard, ast.Standard)
    checked = checker.check(standard, {})
    assert checked.ok, checked.diagnostics
    analysis = Analysis(standard, checked)
    parts = [e for e in standard.items[0].body if isinstance(e, ast.Part)]
    assert [part_within_points(p, analysis) for p in parts] == [True, False, False, False, True]

    (tmp_path / "regions" / "example").mkdir(parents=True)
    (tmp_path / "regions" / "example" / "demo.policy").write_text(PARTS, encoding="utf-8")
    result = pipeline.build(tmp_path)
    pipeline.write_files(result.files, tmp_path / "generated")
    source = (tmp_path / "generated" / "example_demo_2024.py").read_text(encoding="utf-8")
    score_source = source[source.index("\ndef score("):source.index("\ndef evaluate(")]
    assert score_source.count("awards += part  # within [0, 2]") == 2
    assert score_source.count("awards += part if ZERO <= part <= _D2") == 3
    module = load_pack("example/demo-2024", packs_dir=tmp_path / "generated")
    # a, rate 40% (tier 0.5), 3 times: part 1 = 1 + 0.5 = 1.5; part 2 = min(1.5, 2) = 1.5;
    # part 3 = min(3, 2) = 2; part 4 = max(2 - 3, 0) = 0; part 5: 90 - 40 = 50 steps,
    # 2 - min(5, 2) = 0. Item 1 = 1.5 + 1.5 + 2 + 0 + 0 = 5.
    # Not a, rate 85% (tier 1), 2 times: 0 + 1 = 1; 1; 0; 2 - 0 = 2; 5 steps, 2 - 0.5 =
    # 1.5. Item 1 = 1 + 1 + 0 + 2 + 1.5 = 5.5.
    records = [InputRecord(1, "x", {"a": True, "rate": "40", "times": 3}),
               InputRecord(2, "y", {"a": False, "rate": "85", "times": 2})]
    for explain in (True, False):
        outcomes = score_batch(module, records, explain=explain)
        assert [o.score.items[0].earned for o in outcomes if o.score] == [5, Decimal("5.5")]


def test_a_negative_conditional_amount_is_never_taken_as_proof() -> None:
    """award 3, award -1 when a, in a part of 2: the ranges say 3 - 1 = 2 (the conditional
    amount's 0 is not in its range), but without a the part gives 3, above its 2 points: the
    clamp stays."""
    from policy_dsl.compiler import checker
    from policy_dsl.compiler.lints import Analysis, part_within_points

    text = PARTS.replace('award 1 when a "甲的，得1分" [T-1]',
                         'award 3 "得3分" [T-1]\n      award -1 when a "甲的，减1分" [T-1]'
                         ).replace('award tiers rate { >= 50%: 1, >= 30%: 0.5, else: 0 } '
                                   '"比率达30%得0.5分，达50%得1分" [T-2]', '')
    standard = parser.parse_text(text, "demo.policy")
    assert isinstance(standard, ast.Standard)
    checked = checker.check(standard, {})
    assert checked.ok, checked.diagnostics
    first = standard.items[0].body[0]
    assert isinstance(first, ast.Part)
    assert not part_within_points(first, Analysis(standard, checked))
