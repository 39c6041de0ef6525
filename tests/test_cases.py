"""Regression case files: `policyc test`, its failure report, case-file errors, coverage,
mutation, and the pytest plugin."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from helpers import GENERATED, ROOT

from policy_dsl.casebook import cases, coverage, mutation


def policyc(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policy_dsl.cli", *args], cwd=cwd,
                          capture_output=True, text=True, encoding="utf-8", check=False)


def project_copy(tmp_path: Path) -> Path:
    for folder in ("regions", "generated", "plugins"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def test_policyc_test_passes_on_the_reference_regions() -> None:
    result = policyc("test", "suzhou", "jilin")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("passed, 0 failed")


def test_a_wrong_expected_value_gives_a_readable_failure(tmp_path: Path) -> None:
    """What a policy author sees: the case, the difference, the item's reason lines with
    their points, clauses and lines, and the case's own arithmetic; exit code 5."""
    root = project_copy(tmp_path)
    case_file = root / "regions" / "suzhou" / "tests" / "inpatient-2023.yaml"
    text = case_file.read_text(encoding="utf-8")
    wrong = "expect: {items: {1: 2.8}, total: \"99.80\"}"
    assert wrong in text
    case_file.write_text(text.replace(wrong, "expect: {items: {1: 2.9}, total: \"99.80\"}"),
                         encoding="utf-8")
    result = policyc("test", "suzhou/inpatient-2023", "--root", str(root), cwd=root)
    assert result.returncode == 5
    report = result.stdout
    assert "FAIL regions/suzhou/tests/inpatient-2023.yaml:" in report
    assert "三级 share 77.5% is two complete steps short" in report
    assert "item 1: expected 2.9, got 2.8" in report
    assert "item 1 执行医保目录和支付标准: 2.8 of 3" in report
    assert "-0.2  未达到相应标准的，每降低1个百分点扣0.1分，最多扣1分 [SZ-1, G4, G6] (line" \
        in report
    assert "77.5% is 2.5 points short" in report
    assert "Traceback" not in report + result.stderr
    assert report.strip().splitlines()[-1].endswith("passed, 1 failed")


@pytest.mark.parametrize(("change", "message"), [
    ("    readings: [SZ-1, G4]\n", "    readings: [SZ-1, G4]\n    expectation: 1\n"),
    ("facts: {catalogue_drug_share: 77.5}", "facts: {catalogue_drug_shares: 77.5}"),
    ("expect: {items: {1: 2.8}, total: \"99.80\"}", "expect: {item: {1: 2.8}}"),
])
def test_unknown_keys_and_facts_are_errors_with_file_and_line(tmp_path: Path, change: str,
                                                               message: str) -> None:
    source = (ROOT / "regions" / "suzhou" / "tests" / "inpatient-2023.yaml").read_text(
        encoding="utf-8")
    path = tmp_path / "cases.yaml"
    path.write_text(source.replace(change, message, 1), encoding="utf-8")
    with pytest.raises(cases.CaseFileError) as error:
        cases.load_cases(path, tmp_path, GENERATED)
    line = source.splitlines().index(
        next(s for s in source.splitlines() if change.strip().split("\n")[0] in s)) + 1
    assert error.value.line in {line, line + 1}
    assert str(error.value).startswith(f"cases.yaml:{error.value.line}: ")


def test_case_numbers_are_exact_decimals(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent("""\
        pack: suzhou/inpatient-2023
        cases:
          - name: n
            readings: [G2]
            explain: x
            facts: {catalogue_drug_share: 0.1}
            expect: {}
    """), encoding="utf-8")
    [case] = cases.load_cases(path, tmp_path, GENERATED)
    assert repr(case.records[0]["catalogue_drug_share"]) == "Decimal('0.1')"


def test_reference_packs_are_fully_covered() -> None:
    """Every rule of the reference regions' packs, both ways, and every framework outcome,
    is reached by some case."""
    files = cases.find_case_files(ROOT, ["suzhou", "jilin"])
    results, errors = cases.run_files(files, ROOT, GENERATED)
    assert errors == [] and all(r.passed for r in results)
    measured = {c.pack: c for c in coverage.measure(results, GENERATED)}
    for name in ("suzhou/inpatient-2023", "suzhou/outpatient-2023",
                 "jilin/medical-inpatient-2026", "jilin/medical-outpatient-2026",
                 "jilin/pharmacy-2026", "framework jilin"):
        assert (measured[name].reached, measured[name].missing,
                measured[name].framework_missing) == (measured[name].branches, (), ())


def test_coverage_names_an_unreached_rule_by_line(tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    source = (ROOT / "regions" / "suzhou" / "tests" / "outpatient-2023.yaml").read_text(
        encoding="utf-8")
    path.write_text(source[:source.index("  - name: catalogue share one step short")],
                    encoding="utf-8")
    results, _ = cases.run_files([path], tmp_path, GENERATED)
    [measured] = coverage.measure(results, GENERATED)
    text = coverage.report([measured])
    assert measured.reached < measured.branches
    assert "regions/suzhou/outpatient-2023.policy:" in text
    assert "no case where it takes effect: 未达到标准的，每降低1个百分点扣0.1分，最多扣2分" in text


SMALL_RULE_FILE = textwrap.dedent('''\
    standard demo {
      region example "示例市 2024"
      title "示例标准（仅用于测试，非真实政策）"
      version 2024
      effective 2024-01-01 to open
      applies to "示例机构"
      total 5
    }
    # 90% in a comment is left alone
    fact rate "比率": percent in 0..100
    fact incidents "次数": count in 0..
    category "一、示例" 5 {
      item 1 "示例项目 3分" 5 {
        award tiers rate { >= 90%: 2, >= 80%: 0.5, else: 0 } "比率≥90%得2分" [T-1]
        award 2.5 when rate < 60% "r"
        deduct 1 per incidents cap 2 "每次扣1分" [T-2]
      }
    }
''')


def test_mutants_are_the_numbers_and_comparisons_of_the_parse() -> None:
    """Every number, percent and comparison once, at its own line and column; not the
    version, the dates, the item number, the input bounds, texts, comments or citations.
    Numbers lose one unit of their last digit (0 becomes 1); comparisons flip."""
    found = [(m.line, m.column, m.original, m.replacement)
             for m in mutation.mutants(Path("r.policy"), SMALL_RULE_FILE)]
    assert found == [
        (7, 9, "5", "4"),  # total
        (12, 17, "5", "4"),  # the category's points
        (13, 20, "5", "4"),  # the item's points (not its number 1 at column 8)
        (14, 24, ">=", ">"), (14, 27, "90%", "89%"), (14, 32, "2", "1"),
        (14, 35, ">=", ">"), (14, 38, "80%", "79%"), (14, 43, "0.5", "0.4"),
        (14, 54, "0", "1"),
        (15, 11, "2.5", "2.4"), (15, 25, "<", "<="), (15, 27, "60%", "59%"),
        (16, 12, "1", "0"), (16, 32, "2", "1")]


def test_a_derived_standards_item_numbers_are_not_mutated() -> None:
    """`based on`: the item numbers its changes name are names, not values; the points and
    caps it sets are values."""
    text = textwrap.dedent('''\
        standard pharmacy based on medical_inpatient {
          title "示例（测试用）"
        }
        item 2 points 4
        item 3 cap deductions at 1.5 "最多扣1.5分"
        remove item 4
        text item 1 basis "第6条"
    ''')
    found = [(m.line, m.column, m.original, m.replacement)
             for m in mutation.mutants(Path("d.policy"), text)]
    assert found == [(4, 15, "4", "3"), (5, 26, "1.5", "1.4")]


def test_a_mutant_rewrites_only_its_span_and_stays_a_rule_file() -> None:
    from policy_dsl.compiler import parser

    lines = SMALL_RULE_FILE.splitlines(keepends=True)
    for mutant in mutation.mutants(Path("r.policy"), SMALL_RULE_FILE):
        changed = mutant.text.splitlines(keepends=True)
        assert changed[:mutant.line - 1] == lines[:mutant.line - 1]
        assert changed[mutant.line:] == lines[mutant.line:]
        at = mutant.column - 1
        assert lines[mutant.line - 1][at:at + len(mutant.original)] == mutant.original
        assert changed[mutant.line - 1] == lines[mutant.line - 1][:at] + mutant.replacement \
            + lines[mutant.line - 1][at + len(mutant.original):]
        parser.parse_text(mutant.text, "r.policy")  # still parses
    eighty = [m for m in mutation.mutants(Path("r.policy"), SMALL_RULE_FILE)
              if m.original == "80%"]
    assert [str(m) for m in eighty] == ["r.policy:14:38: 80% → 79%"]


def test_mutants_of_the_reference_regions() -> None:
    """The mutants `policyc test suzhou jilin --mutate` makes, file by file: 210, the same
    set the earlier regex over the text made (274 before the Jilin outpatient and pharmacy
    models were written `based on` the inpatient one: their 5 repeated numbers each are now
    the inpatient model's; 264 before Suzhou's 附件2 took six items from 附件1: their 54
    numbers are now 附件1's)."""
    counts = {path.relative_to(ROOT).as_posix(): len(list(mutation.mutants(
                  path, path.read_text(encoding="utf-8"))))
              for region in ("suzhou", "jilin")
              for path in sorted((ROOT / "regions" / region).glob("*.policy"))}
    assert counts == {
        "regions/suzhou/inpatient-2023.policy": 128,
        "regions/suzhou/outpatient-2023.policy": 51,
        "regions/jilin/framework-2025.policy": 26,
        "regions/jilin/model-medical-inpatient-2026.policy": 5,
        "regions/jilin/model-medical-outpatient-2026.policy": 0,
        "regions/jilin/model-pharmacy-2026.policy": 0}
    assert sum(counts.values()) == 210


def test_mutation_check_reports_an_uncaught_change(tmp_path: Path) -> None:
    """A small region with one case that cannot see its tiers' thresholds move."""
    from test_compiler import MINIMAL

    from policy_dsl.compiler import pipeline

    region = tmp_path / "regions" / "example"
    (region / "tests").mkdir(parents=True)
    (region / "demo.policy").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "plugins").mkdir()
    built = pipeline.build(tmp_path)
    pipeline.write_files(built.files, tmp_path / "generated")
    (region / "tests" / "demo.yaml").write_text(textwrap.dedent("""\
        pack: example/demo-2024
        cases:
          - name: rate 95%, two incidents
            readings: [T-1, T-2]
            explain: 'tier 2 + 3 − 2 = 3 of 5 → 60.00'
            facts: {level: high, rate: 95, incidents: 2, flagged: false}
            expect: {items: {1: 3}, total: "60.00"}
    """), encoding="utf-8")
    lines: list[str] = []
    report = mutation.run(tmp_path, cases.find_case_files(tmp_path), tmp_path / "generated",
                          echo=lines.append)
    assert not report.ok
    assert "  not caught: regions/example/demo.policy:19:26: >= → >" in lines
    assert report.caught + len(report.survivors) == report.mutants
    assert lines[-1].startswith(f"{report.mutants} mutants: ")


def test_pytest_collects_case_files_with_readable_failures(tmp_path: Path) -> None:
    """Plain pytest runs every region's cases (entry point pytest11), one item per case."""
    root = project_copy(tmp_path)
    case_file = root / "regions" / "jilin" / "tests" / "pharmacy-2026.yaml"
    case_file.write_text(case_file.read_text(encoding="utf-8").replace(
        "refund_ratio: \"91.10\"", "refund_ratio: \"91.20\""), encoding="utf-8")
    (root / "pyproject.toml").write_text("[tool.pytest.ini_options]\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "regions/jilin", "plugins"],
                            cwd=root, capture_output=True, text=True, encoding="utf-8",
                            check=False)
    assert result.returncode == 1, result.stdout
    assert "refund_ratio: expected 91.20, got 91.10" in result.stdout
    assert "1 failed, " in result.stdout and " passed" in result.stdout


def test_a_case_fails_when_scores_without_explanation_differ(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A pack scores through `score` without explanations and `_explain_<n>` with them, both
    written from the same rules; a case runs both and reports any difference."""
    case_file = ROOT / "regions" / "suzhou" / "tests" / "inpatient-2023.yaml"
    case = cases.load_cases(case_file, ROOT, GENERATED)[0]
    pack = cases.load_pack(case.pack, packs_dir=GENERATED)
    assert cases.run_case(case, GENERATED, pack).passed
    honest = pack.module.score

    def off_by_a_cent(r: object, c: object) -> object:
        result = honest(r, c)
        return result._replace(total=result.total - Decimal("0.01"))

    monkeypatch.setattr(pack.module, "score", off_by_a_cent)
    result = cases.run_case(case, GENERATED, pack)
    assert not result.passed
    assert "scored without explanation, the result differs" in result.differences[0]
