"""Every Suzhou and Jilin reading in POLICY-NOTES has a test that names it; every Suzhou item
reading is cited by its rule file."""

from __future__ import annotations

import re

import pytest
from helpers import ROOT

NOTES = ROOT.parent / "shared" / "POLICY-NOTES.md"
TESTS = ROOT / "tests"
RULE_FILES = {"SZ": ROOT / "regions" / "suzhou" / "inpatient-2023.policy",
              "SZ2": ROOT / "regions" / "suzhou" / "outpatient-2023.policy"}


def reading_ids(prefix: str) -> list[str]:
    if not NOTES.exists():
        pytest.skip("the shared POLICY-NOTES.md is not beside this checkout")
    text = NOTES.read_text(encoding="utf-8")
    ids: set[str] = set()
    for bold in re.findall(r"^- \*\*([^*]+)\*\*", text, flags=re.MULTILINE):
        ids.update(re.findall(rf"\b{prefix}-[0-9A-Z]+\b", bold))  # "SZ2-12, SZ2-13"
    return sorted(ids)


def named_in_tests(reading: str) -> bool:
    """A test names a reading in its name (sz2_4) or its docstring/comments (SZ2-4)."""
    spelled = (reading, reading.lower().replace("-", "_"))
    return any(any(s in path.read_text(encoding="utf-8") for s in spelled)
               for path in TESTS.glob("test_*.py") if path.name != "test_readings.py")


@pytest.mark.parametrize("prefix", ["SZ", "SZ2", "JL"])
def test_every_reading_has_a_test(prefix: str) -> None:
    ids = reading_ids(prefix)
    assert len(ids) >= 10
    assert [r for r in ids if not named_in_tests(r)] == []


@pytest.mark.parametrize("prefix", ["SZ", "SZ2"])
def test_every_item_reading_is_cited_by_its_rule_file(prefix: str) -> None:
    """SZ-1..SZ-14 in 附件1's file, SZ2-1..SZ2-13 in 附件2's (SZ-C, SZ-T are batch-wide)."""
    text = RULE_FILES[prefix].read_text(encoding="utf-8")
    cited = set(re.findall(rf"\b({prefix}-[0-9]+)\b", text))
    items = [r for r in reading_ids(prefix) if re.fullmatch(rf"{prefix}-[0-9]+", r)]
    assert [r for r in items if r not in cited] == []


@pytest.mark.parametrize("prefix", ["SZ", "SZ2", "JL", "G"])
def test_every_reading_has_a_regression_case(prefix: str) -> None:
    """Every reading id is exercised by some case file (regions' and plugins')."""
    import yaml

    from policy_dsl.casebook.cases import find_case_files

    used: set[str] = set()
    for path in find_case_files(ROOT):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in data["cases"]:
            used.update(case["readings"])
    ids = reading_ids(prefix) if prefix != "G" else _general_ids()
    assert [r for r in ids if r not in used] == []


def _general_ids() -> list[str]:
    if not NOTES.exists():
        pytest.skip("the shared POLICY-NOTES.md is not beside this checkout")
    text = NOTES.read_text(encoding="utf-8")
    return sorted(set(re.findall(r"^- \*\*(G\d+)\b", text, flags=re.MULTILINE)))
