"""The runtime's shared mechanisms, and the wall between runtime and compiler."""

from __future__ import annotations

import ast
from decimal import Decimal as D
from pathlib import Path

import pytest

from policy_dsl.runtime import Band, group_means, rank_adjustments, read_records, steps
from policy_dsl.runtime.cohorts import competition_ranks
from policy_dsl.runtime.values import FieldError, read_bool, read_percent

SRC = Path(__file__).resolve().parents[1] / "src" / "policy_dsl"


def test_competition_ranks_share_the_better_rank() -> None:
    values = [D(90), D(95), D(95), None, D(80)]
    assert competition_ranks(values, descending=True, ties_best=True) == [3, 1, 1, None, 4]
    assert competition_ranks(values, descending=True, ties_best=False) == [3, 2, 2, None, 4]
    assert competition_ranks(values, descending=False, ties_best=True) == [2, 3, 3, None, 1]


def test_rank_adjustment_top_band_wins_over_bottom_band() -> None:
    """Three ranked: ranks 1, 2, 3 are top 1..3 (+1.0, +0.9, +0.8), never bottom."""
    top, bottom = Band(10, D("1.0"), D("-0.1")), Band(10, D("-1.0"), D("0.1"))
    assert rank_adjustments([D(3), D(2), D(1), None], True, True, top, bottom) == [
        D("1.0"), D("0.9"), D("0.8"), None]


def test_group_mean_includes_the_record_itself() -> None:
    means = group_means([D(10), D(0), D(26), D(5)], ["a", "a", "a", "b"])
    assert [(m.mean, m.size) for m in means] == [(D(12), 3), (D(12), 3), (D(12), 3), (D(5), 1)]


@pytest.mark.parametrize(("value", "rounding", "expected"), [
    (D("77.5"), "floor", D(2)),   # 2.5 short of 80 → 2 complete steps (G4)
    (D("77.5"), "ceil", D(3)),
    (D("77.5"), "exact", D("2.5")),
    (D("80"), "floor", D(0)),
    (D("85"), "floor", D(0)),
])
def test_steps_below_a_threshold(value: D, rounding: str, expected: D) -> None:
    assert steps(value, D(80), D(1), "below", rounding) == expected  # type: ignore[arg-type]


def test_readers_accept_chinese_words_and_percent_signs() -> None:
    errors: list[FieldError] = []
    assert read_bool({"x": "是"}, "x", errors) is True
    assert read_bool({"x": "否"}, "x", errors) is False
    assert read_percent({"p": "85.5%"}, "p", errors) == D("85.5")
    assert errors == []
    read_percent({"p": "0.8a"}, "p", errors)
    assert [str(e) for e in errors] == [
        'p: expected a percent such as 85.5 or "85.5%", got \'0.8a\'']


def test_json_numbers_are_read_as_exact_decimals() -> None:
    [record] = read_records('{"p": 0.1, "q": 85.55}', "jsonl")
    assert record.raw == {"p": D("0.1"), "q": D("85.55")}


def test_csv_rows_with_wrong_cell_counts_are_errors_not_lost() -> None:
    records = read_records("\ufeffid,a\n1,x\n2,y,z\n3\n", "csv")
    assert [(r.position, r.id, r.error is None) for r in records] == [
        (2, "1", True), (3, "2", False), (4, "3", False)]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


def test_runtime_imports_nothing_of_the_compiler() -> None:
    for path in (SRC / "runtime").glob("*.py"):
        imported = _imports(path)
        assert not any("compiler" in name or name.startswith("..") for name in imported), path


def _package_imports(package: str) -> set[str]:
    """The policy_dsl modules a package's modules import, as absolute names."""
    names = set()
    for path in (SRC / package).glob("*.py"):
        for name in _imports(path):
            if name.startswith(".."):
                names.add("policy_dsl." + name[2:])
            elif name.startswith("."):
                names.add(f"policy_dsl.{package}." + name[1:])
            elif name.startswith("policy_dsl"):
                names.add(name)
    return names


def _within(names: set[str], package: str) -> set[str]:
    return {n for n in names if n == f"policy_dsl.{package}"
            or n.startswith(f"policy_dsl.{package}.")}


def test_the_casebook_sits_above_compiler_and_runtime() -> None:
    """casebook may import runtime and compiler; runtime imports neither; the compiler does
    not import the casebook."""
    casebook = _package_imports("casebook")
    assert _within(casebook, "runtime") and _within(casebook, "compiler")  # the wall is real
    assert not _within(_package_imports("runtime"), "casebook")
    assert not _within(_package_imports("runtime"), "compiler")
    assert not _within(_package_imports("compiler"), "casebook")
    for path in (SRC / "compiler").glob("*.py"):  # nor `from .. import casebook`
        imported = [alias.name for node in ast.walk(ast.parse(path.read_text("utf-8")))
                    if isinstance(node, ast.ImportFrom) for alias in node.names]
        assert "casebook" not in imported, path


def test_generated_packs_import_only_the_runtime() -> None:
    """... and numpy only inside the column form's functions: a pack imports without it."""
    for path in (SRC.parents[1] / "generated").glob("*.py"):
        imported = _imports(path)
        assert imported <= {"__future__", "datetime", "collections.abc", "dataclasses",
                            "decimal", "policy_dsl.runtime", "policy_dsl.runtime.columns",
                            "numpy"}, path
        module = ast.parse(path.read_text("utf-8"))
        top = {alias.name for node in module.body if isinstance(node, ast.Import)
               for alias in node.names}
        assert "numpy" not in top, path


def test_scores_do_not_depend_on_the_callers_decimal_context() -> None:
    """G2: a host application with a 3-digit decimal context still gets exact scores:
    private, one price violation, share 79%: 78.9 × 100 / 80 = 98.625 → 98.63."""
    from decimal import localcontext

    from helpers import DROP, full_marks_inpatient, score_one

    record = full_marks_inpatient(ownership="private", procurement_score=DROP,
                                  price_violations=1, catalogue_drug_share="79")
    with localcontext() as context:
        context.prec = 3
        result = score_one("suzhou/inpatient-2023", record)
    assert (result["earned"], result["total"]) == ("78.9", "98.63")


def test_a_fractional_count_is_an_input_error_not_a_crash() -> None:
    """JSON numbers arrive as exact decimals; a count of 49.5 is reported, with its value."""
    [record] = read_records('{"visits": 49.5}', "jsonl")
    assert record.raw is not None
    errors: list[FieldError] = []
    from policy_dsl.runtime import read_count

    read_count(record.raw, "visits", errors)
    assert [str(e) for e in errors] == ['visits: expected a whole number 0 or more, got 49.5']


def test_scores_without_explanation_are_the_same_scores() -> None:
    """explain=False (policyc score without --explain) keeps every number, drops the lines:
    private, one price violation → 79 of 80 → 98.75 either way."""
    from helpers import DROP, full_marks_inpatient, pack

    from policy_dsl.runtime import InputRecord, score_batch

    record = full_marks_inpatient(ownership="private", procurement_score=DROP,
                                  price_violations=1)
    [explained] = score_batch(pack("suzhou/inpatient-2023"), [InputRecord(1, "x", record)])
    [quiet] = score_batch(pack("suzhou/inpatient-2023"), [InputRecord(1, "x", record)],
                          explain=False)
    assert explained.score is not None and quiet.score is not None
    assert (quiet.score.total, quiet.score.earned) == (D("98.75"), D(79))
    assert [i.earned for i in quiet.score.items] == [i.earned for i in explained.score.items]
    assert all(i.lines == () for i in quiet.score.items)
    assert all(i.lines for i in explained.score.items)
