"""`policyc check`: every broken rule file under tests/broken/ gives the findings its first
line expects (`# expect: CODE LINE:COLUMN, ...`), exactly those, never a traceback; the
shipped rule files are clean; json output for editors and CI; --lang; explain-code."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import ROOT

from policy_dsl.cli import cli
from policy_dsl.compiler import ast, checker, codes, parser, pipeline
from policy_dsl.compiler.diagnostics import Diagnostic

BROKEN = sorted((Path(__file__).parent / "broken").glob("*.policy"))
EXPECTED = re.compile(r"([A-Z]\d{3}) (\d+):(\d+)")


def expected(path: Path) -> list[tuple[str, int, int]]:
    first = path.read_bytes().split(b"\n", 1)[0].decode("ascii")
    assert first.startswith("# expect: "), path
    return [(code, int(line), int(column)) for code, line, column in EXPECTED.findall(first)]


def findings(*paths: Path) -> list[Diagnostic]:
    return [d for d, _ in pipeline.check(ROOT, list(paths)).diagnostics]


def test_there_are_forty_and_more_broken_files_covering_every_rule_file_code() -> None:
    assert len(BROKEN) >= 40
    covered = {code for path in BROKEN for code, _, _ in expected(path)}
    rule_file_codes = {c for c, e in codes.CODES.items()
                       if e.base in ("standard", "framework", "under-framework")}
    assert sorted(rule_file_codes - covered) == []


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_a_broken_file_gives_the_expected_findings(path: Path) -> None:
    found = sorted((d.code, d.span.line, d.span.column) for d in findings(path))
    assert found == sorted(expected(path)), "\n".join(d.render() for d in findings(path))


def test_every_finding_has_a_registered_code_and_a_message_for_people() -> None:
    for path in BROKEN:
        for diagnostic in findings(path):
            assert diagnostic.code in codes.CODES, diagnostic.code
            assert diagnostic.code != "C299", diagnostic.render()


def test_several_syntax_errors_are_all_reported_with_the_fix_for_full_width() -> None:
    (full_width,) = findings(ROOT / "tests/broken/p104-full-width-colon.policy")
    assert full_width.hint == 'write: fact rate "比率": percent in 0..100'
    (unclosed,) = findings(ROOT / "tests/broken/p105-item-not-closed.policy")
    assert unclosed.message == "this 'item' block opened with '{' is never closed"
    assert unclosed.hint is not None and "before line 34" in unclosed.hint


def policyc(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from policy_dsl.cli import main; main()", *args],
        capture_output=True, text=True, encoding="utf-8", timeout=300, cwd=ROOT,
        env={**os.environ, "POLICYC_DEBUG": "", **env})


def test_check_on_every_broken_file_at_once_never_a_traceback() -> None:
    run = policyc("check", "tests/broken", "--lang", "en")
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    for path in BROKEN:
        for code, line, column in expected(path):
            severity = codes.CODES[code].severity
            assert f"tests/broken/{path.name}:{line}:{column}: {severity} {code}: " in run.stdout


@pytest.mark.parametrize("path", sorted((ROOT / "regions").glob("*/*.policy")),
                         ids=lambda p: p.name)
def test_check_on_each_shipped_file_has_no_error(path: Path) -> None:
    """Each shipped rule file alone, with its framework and the plugins over it: no error.
    The only warning is the example Changchun plugin's bonus limit above JL-8's advice."""
    found = findings(path)
    assert [d for d in found if d.severity == "error"] == []
    assert {(d.code, d.span.file) for d in found} <= {("W301", "plugins/changchun_example.py")}


def test_a_case_file_that_no_longer_fits_its_rule_file_is_k501(tmp_path: Path) -> None:
    """A fact renamed in the rule file: its case file still names the old fact, which
    `check` finds against the pack just built (generated/ is not even there). The fact is one
    of 附件2's own items (附件1, which it takes items from, is beside it)."""
    region = tmp_path / "regions" / "suzhou"
    (region / "tests").mkdir(parents=True)
    for name in ("inpatient-2023.policy", "outpatient-2023.policy"):
        (region / name).write_text((ROOT / "regions/suzhou" / name).read_text(
            encoding="utf-8"), encoding="utf-8")
    rule_file = region / "outpatient-2023.policy"
    rule_file.write_text(rule_file.read_text(encoding="utf-8").replace(
        "settlement_data_accurate", "settlement_data_correct"), encoding="utf-8")
    case_file = region / "tests" / "outpatient-2023.yaml"
    text = (ROOT / "regions/suzhou/tests/outpatient-2023.yaml").read_text(encoding="utf-8")
    case_file.write_text(text, encoding="utf-8")
    line = text[:text.index("  settlement_data_accurate: true")].count("\n") + 1
    result = CliRunner().invoke(cli, ["check", "--root", str(tmp_path), "--format", "json",
                                      str(rule_file)])
    found = [(f["code"], f["file"], f["span"]["line"]) for f in json.loads(result.stdout)]
    assert found == [("K501", "regions/suzhou/tests/outpatient-2023.yaml", line)], found
    assert result.exit_code == 1


def test_two_files_building_one_pack_is_c219(tmp_path: Path) -> None:
    for name in ("a.policy", "b.policy"):
        (tmp_path / name).write_text(codes.BASE_STANDARD, encoding="utf-8")
    found = findings(tmp_path)
    assert [(d.code, d.message) for d in found] == [
        ("C219", f"pack example/demo-2024 is also built from {tmp_path / 'a.policy'}")]


def test_a_binding_framework_bonus_limit_is_c231() -> None:
    """The rule language writes only advisory limits (W301); a framework made in code may
    bind: the same excess is then an error."""
    framework = parser.parse_text(codes.BASE_FRAMEWORK, "fw.policy")
    assert isinstance(framework, ast.Framework) and framework.bonus_limit is not None
    binding = dataclasses.replace(framework, bonus_limit=dataclasses.replace(
        framework.bonus_limit, advisory=False))
    text = codes.UNDER_FRAMEWORK.replace("  framework demo_fw\n",
                                         "  framework demo_fw\n  bonus limit 2\n")
    standard = parser.parse_text(text, "demo.policy")
    assert isinstance(standard, ast.Standard)
    advised = checker.check(standard, {"demo_fw": framework}).diagnostics
    bound = checker.check(standard, {"demo_fw": binding}).diagnostics
    assert [(d.code, d.severity) for d in advised] == [("W301", "warning")]
    assert [(d.code, d.severity) for d in bound] == [("C231", "error")]
    assert bound[0].message == advised[0].message == (
        "the standard's bonus limit is 2, above the framework's 1 (加分项原则上不超过1分) "
        "[demo_fw]")


def test_check_json_for_editors_and_ci() -> None:
    result = CliRunner().invoke(cli, ["check", "--root", str(ROOT), "--format", "json",
                                      "tests/broken/c201-fact-declared-twice.policy"])
    assert result.exit_code == 1
    (finding,) = json.loads(result.stdout)
    # line 20: `fact flagged "标记2": bool` (24 characters), the first at line 19 (23)
    assert finding == {
        "code": "C201", "severity": "error",
        "file": "tests/broken/c201-fact-declared-twice.policy",
        "span": {"line": 20, "column": 1, "end_line": 20, "end_column": 25},
        "message": "'flagged' is declared twice (first as a fact at "
                   "tests/broken/c201-fact-declared-twice.policy:19:1)",
        "title": "a name is declared twice",
        "hint": "every enum, record, fact and value needs its own name",
        "related": [{"file": "tests/broken/c201-fact-declared-twice.policy",
                     "span": {"line": 19, "column": 1, "end_line": 19, "end_column": 24},
                     "message": "'flagged' is first declared here"}]}


def test_deny_warnings_fails_on_a_warning_only() -> None:
    path = "tests/broken/w301-bonus-above-the-framework-advice.policy"
    runner = CliRunner()
    assert runner.invoke(cli, ["check", "--root", str(ROOT), path]).exit_code == 0
    assert runner.invoke(cli, ["check", "--root", str(ROOT), "--deny-warnings",
                               path]).exit_code == 1
    clean = "regions/suzhou/outpatient-2023.policy"
    assert runner.invoke(cli, ["check", "--root", str(ROOT), "--deny-warnings",
                               clean]).exit_code == 0


def test_messages_in_chinese() -> None:
    path = "tests/broken/c203-unknown-fact-did-you-mean.policy"
    chinese = CliRunner().invoke(cli, ["check", "--root", str(ROOT), "--lang", "zh", path])
    assert f"{path}:31:18: 错误 C203: 名称“incident”未声明" in chinese.stdout
    assert "  提示: 是不是要写“incidents”？" in chinese.stdout
    english = policyc("check", path, LANG="zh_CN.UTF-8", POLICYC_LANG="en")
    assert f"{path}:31:18: error C203: 'incident' is not declared" in english.stdout


def test_every_finding_of_the_broken_files_has_its_chinese_message() -> None:
    """Where a code has Chinese templates, they cover every message the broken files bring
    out (no English left in the message), and fill in the same names and numbers."""
    for path in BROKEN:
        for diagnostic in findings(path):
            if diagnostic.code not in codes.MESSAGES_ZH:
                continue
            chinese = codes.message_in("zh", diagnostic.code, diagnostic.message)
            title = codes.CODES[diagnostic.code].summary_zh
            assert not chinese.startswith(f"{title}："), (path.name, diagnostic.message)
            # a quoted name (not an apostrophe: "the framework's")
            for quoted in re.findall(r"(?<![A-Za-z])'([^']+)'", diagnostic.message)[:1]:
                assert quoted in chinese or "'" not in diagnostic.message, chinese


def test_every_hint_of_the_broken_files_is_in_chinese() -> None:
    for path in BROKEN:
        for diagnostic in findings(path):
            if diagnostic.hint:
                chinese = codes.hint_in("zh", diagnostic.hint)
                assert chinese != diagnostic.hint, (path.name, diagnostic.hint)


def test_codes_without_chinese_templates_show_the_chinese_title() -> None:
    assert codes.message_in("zh", "L402", "this award can give 3") == (
        "加分（或加权得分）可能超过所在部分或项目的分值：this award can give 3")
    assert codes.message_in("en", "C203", "'x' is not declared") == "'x' is not declared"


@pytest.mark.parametrize(("given", "environ", "lang"), [
    (None, {}, "en"), (None, {"LANG": "zh_CN.UTF-8"}, "zh"), (None, {"LANG": "en_US"}, "en"),
    (None, {"LC_ALL": "zh_TW", "LANG": "en_US"}, "zh"), (None, {"POLICYC_LANG": "zh"}, "zh"),
    ("en", {"POLICYC_LANG": "zh"}, "en"), ("zh", {"LANG": "C"}, "zh"),
])
def test_the_language_comes_from_the_option_then_the_environment(
        given: str | None, environ: dict[str, str], lang: str) -> None:
    assert codes.language(given, environ) == lang


def test_explain_code_prints_the_entry_and_refuses_unknown_codes() -> None:
    runner = CliRunner()
    shown = runner.invoke(cli, ["explain-code", "c209"])
    assert shown.exit_code == 0
    assert shown.stdout.startswith("C209 (error): tiers out of order")
    assert "Wrong:\n    { >= 80%: 1, >= 90%: 2, else: 0 }" in shown.stdout
    assert policyc("explain-code", "C999").returncode == 2


def test_build_quiet_leaves_out_excerpts_and_built_lines(tmp_path: Path) -> None:
    """The shipped tree's one warning (W301, from the example Changchun plugin): with its
    source line normally, without it under --quiet; errors are always shown in full."""
    loud = policyc("build", "--check")
    quiet = policyc("build", "--check", "--quiet")
    assert loud.returncode == quiet.returncode == 0, loud.stderr
    assert "W301" in loud.stderr and "W301" in quiet.stderr
    assert "    @hookimpl" in loud.stderr and "    @hookimpl" not in quiet.stderr
    concerns = "(concerns 1 pack(s): jilin/changchun-medical-inpatient-2026)"
    assert loud.stderr.count(concerns) == quiet.stderr.count(concerns) == 1
