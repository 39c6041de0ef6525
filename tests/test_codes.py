"""The registry of diagnostic codes keeps the checks, their examples and the docs in step.

Every rule-file example is checked: its wrong edit of the base file gives its code, its right
text (in the base) gives nothing. Every code is raised somewhere in the tests: by its example,
by a broken rule file under tests/broken/, or (plugin codes) by the plugin tests.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import ROOT

from policy_dsl.compiler import ast, checker, codes, parser
from policy_dsl.compiler.diagnostics import CompileError, Diagnostic

TESTS = Path(__file__).parent
CHECKED_BASES = ("standard", "framework", "under-framework")


def findings(text: str, base: str) -> list[Diagnostic]:
    try:
        tree = parser.parse_text(text, "example.policy")
    except CompileError as error:
        return list(error.diagnostics)
    if isinstance(tree, ast.Framework):
        return checker.check_framework(tree)
    frameworks = {}
    if base == "under-framework":
        framework = parser.parse_text(codes.BASE_FRAMEWORK, "fw.policy")
        assert isinstance(framework, ast.Framework)
        frameworks[framework.name] = framework
    return checker.check(tree, frameworks).diagnostics


CHECKED = [c for c in codes.CODES.values()
           if c.base in CHECKED_BASES and c.wrong and c.right]


@pytest.mark.parametrize("base", CHECKED_BASES)
def test_the_example_files_are_clean(base: str) -> None:
    assert findings(codes.base_text(base), base) == []  # type: ignore[arg-type]


@pytest.mark.parametrize("entry", CHECKED, ids=lambda c: c.code)
def test_the_wrong_example_gives_its_code(entry: codes.Code) -> None:
    base = codes.base_text(entry.base)
    assert base.count(entry.right) >= 1, f"{entry.code}: the right text is not in the base"
    wrong = base.replace(entry.right, entry.wrong, 1)
    found = findings(wrong, entry.base)
    assert entry.code in {d.code for d in found}, [d.render() for d in found]
    assert all(d.severity == entry.severity for d in found if d.code == entry.code)


def expected_in_broken_files() -> set[str]:
    found: set[str] = set()
    for path in [*(TESTS / "broken").glob("*.policy"), *(TESTS / "lints").glob("*.policy")]:
        first = path.read_bytes().split(b"\n", 1)[0].decode("ascii")
        found.update(re.findall(r"\b([A-Z]\d{3})\b", first))
    return found


def named_in_plugin_tests() -> set[str]:
    """Codes the plugin tests assert (and the check, lint and based-on tests)."""
    text = "".join(p.read_text(encoding="utf-8") for p in [
        *TESTS.glob("test_*plugins*.py"), TESTS / "test_check.py", TESTS / "test_lints.py",
        TESTS / "test_based_on.py"])
    return set(re.findall(r'"([CXWLKB]\d{3})"', text)) | set(re.findall(r"\b([XW]\d{3}) ", text))


def test_every_code_is_raised_by_some_test() -> None:
    raised = {c.code for c in CHECKED} | expected_in_broken_files() | named_in_plugin_tests()
    raised |= {"C299", "P000"}  # internal faults and unreadable files: test_broken_rule_files
    assert sorted(set(codes.CODES) - raised) == []


def test_every_code_the_compiler_raises_is_registered() -> None:
    source = "".join(p.read_text(encoding="utf-8")
                     for p in (ROOT / "src/policy_dsl/compiler").glob("*.py")
                     if p.name != "codes.py")
    used = set(re.findall(r'"([A-Z]\d{3})"', source))
    assert sorted(used - set(codes.CODES)) == []


def test_every_code_has_both_summaries_and_the_docs_are_current() -> None:
    for entry in codes.CODES.values():
        assert entry.summary and entry.summary_zh, entry.code
    docs = ROOT / "docs" / "diagnostics.md"
    assert docs.is_file() and docs.read_text(encoding="utf-8") == codes.markdown(), (
        "docs/diagnostics.md is stale: run "
        "`policyc explain-code --all --markdown > docs/diagnostics.md`")
