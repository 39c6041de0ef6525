"""The Python API: `policy_dsl.score_records` and `policy_dsl.score_frame`.

Results are compared with the JSON lines `policyc score` writes for the same records, and the
arithmetic of each changed fact is the README's own (附件1 item 1, SZ-1/G4: a share of 77.5%
against 三级's 80% is two complete steps short: 3 − 0.2 = 2.8, total 99.80).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import subprocess
import sys
from decimal import Decimal
from typing import Any

import numpy
import pandas
import pytest
from helpers import DROP, GENERATED, ROOT, full_marks_inpatient, pack, score_all

import policy_dsl
from policy_dsl import Result, score_frame, score_records

SUZHOU = "suzhou/inpatient-2023"
JILIN = "jilin/medical-inpatient-2026"


def results(name: str, records: list[Any]) -> list[Result]:
    return list(score_records(name, records, packs_dir=GENERATED))


def as_json(result: Result) -> dict[str, Any]:
    """A Result written back as the JSON line's fields (decimals as their strings)."""
    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    line: dict[str, Any] = {
        "id": result.id, "total": text(result.total), "earned": text(result.earned),
        "applicable_max": text(result.applicable_max),
        "items": None if result.items is None else {
            str(number): text(points) for number, points in result.items.items()},
        "error": result.error}
    if result.status is not None or result.pack.startswith("jilin"):
        line.update(status=result.status, own_score=text(result.own_score),
                    final_score=text(result.final_score),
                    grade_before_adjustment=result.grade_before_adjustment,
                    grade=result.grade, refund_ratio=text(result.refund_ratio),
                    refund_amount=text(result.refund_amount), deposit=text(result.deposit),
                    withheld=text(result.withheld), renewal=result.renewal,
                    publicize=result.publicize, referral=result.referral)
    line.update(pack=result.pack, pack_sha256=result.pack_sha256)
    return line


def without_explanation(line: dict[str, Any]) -> dict[str, Any]:
    dropped = {"explanation", "settlement_explanation", "adjustments"}
    return {key: value for key, value in line.items() if key not in dropped}


def jilin_records() -> list[dict[str, Any]]:
    text = (ROOT / "examples" / "jilin-medical-inpatient.jsonl").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_results_are_the_json_lines_values_typed() -> None:
    records = [full_marks_inpatient(id="A"),
               full_marks_inpatient(id="B", catalogue_drug_share="77.5"),
               full_marks_inpatient(id="C", level="四级")]
    got = results(SUZHOU, records)
    assert [r.id for r in got] == ["A", "B", "C"]
    assert got[1].items is not None and got[1].items[1] == Decimal("2.8")
    assert got[1].total == Decimal("99.80") and str(got[1].total) == "99.80"
    assert got[2].total is None and got[2].error is not None and "level" in got[2].error
    lines = score_all(SUZHOU, records)
    assert [as_json(r) for r in got] == [without_explanation(line) for line in lines]
    assert all(isinstance(v, Decimal) for r in got[:2] for v in r.items.values() if v)


def test_framework_results_and_a_loaded_pack() -> None:
    records = jilin_records()
    got = list(score_records(pack(JILIN), records))
    lines = score_all(JILIN, records)
    assert [as_json(r) for r in got] == [without_explanation(line) for line in lines]
    first = got[0]  # JL-H001: 85.55 → 良, 100% − 2% × (90 − 85.55) = 91.10%, of 200,000
    assert (first.grade, first.refund_ratio, first.refund_amount) == \
        ("良", Decimal("91.10"), Decimal("182200.00"))
    # withheld: 200,000 − 182,200.00 = 17,800.00
    assert (first.deposit, first.withheld) == (Decimal("200000.00"), Decimal("17800.00"))
    assert got[2].adjustments is not None and got[2].adjustments[0].kind == "downgrade"
    assert got[3].status == "deferred" and got[3].total is None
    assert first.pack == JILIN and first.pack_sha256 == pack(JILIN).sha256
    with pytest.raises(AttributeError):
        first.total = Decimal(0)  # type: ignore[misc]  # frozen


def test_n_in_n_out_in_order_with_errors_in_place() -> None:
    records: list[Any] = [full_marks_inpatient(id=f"H{n}") for n in range(6)]
    records[1] = "not a record"
    records[3] = full_marks_inpatient(id="H3", catalogue_drug_share="八十")
    records[4] = {"id": "H4"}
    got = results(SUZHOU, records)
    assert len(got) == 6
    assert [r.id for r in got] == ["H0", None, "H2", "H3", "H4", "H5"]
    assert [r.error is None for r in got] == [True, False, True, False, False, True]
    assert got[1].error == "record 2: expected a mapping of fact names to values, got str"
    assert got[3].error is not None
    assert got[3].error.startswith("record 4 (id H3): catalogue_drug_share:")


def test_a_generator_is_consumed_once_and_an_empty_input_gives_nothing() -> None:
    got = results(SUZHOU, list(full_marks_inpatient(id=str(n)) for n in range(3)))
    assert [r.total for r in got] == [Decimal("100.00")] * 3
    assert results(SUZHOU, []) == []


@pytest.mark.parametrize("missing", [None, math.nan, numpy.nan, pandas.NA, pandas.NaT,
                                     Decimal("NaN"), numpy.float64("nan")])
@pytest.mark.parametrize("fact", ["catalogue_drug_share", "satisfaction_score",
                                  "eprescription_flow_rate"])
def test_nan_and_na_are_missing_values(missing: object, fact: str) -> None:
    """Whatever the fact, a NaN or NA in it gives exactly what leaving it out gives (a
    required fact: the record's error; an optional one: scored without it)."""
    with_missing, left_out = results(SUZHOU, [full_marks_inpatient(id=DROP, **{fact: missing}),
                                              full_marks_inpatient(id=DROP, **{fact: DROP})])
    assert with_missing.error == left_out.error.replace("record 2", "record 1") \
        if left_out.error else with_missing.error is None
    assert with_missing.total == left_out.total
    if fact == "catalogue_drug_share":
        assert with_missing.error is not None and "catalogue_drug_share: is missing" in \
            with_missing.error


def test_numpy_numbers_are_read_exactly() -> None:
    """numpy.int64 counts as an int; numpy.float64(77.5) is 77.5 (its shortest repr), so
    item 1 is 2.8 as for "77.5"; 0.1 + 0.2 as a float is 0.30000000000000004, kept so."""
    plain, numeric = results(SUZHOU, [
        full_marks_inpatient(id="A", catalogue_drug_share="77.5", price_violations=1),
        full_marks_inpatient(id="B", catalogue_drug_share=numpy.float64(77.5),
                             price_violations=numpy.int64(1),
                             in_drg=numpy.bool_(True))])
    assert numeric.error is None and numeric.items == plain.items
    assert numeric.items is not None and numeric.items[1] == Decimal("2.8")
    assert policy_dsl.api.python_value(numpy.float64(0.1) + numpy.float64(0.2)) == \
        Decimal("0.30000000000000004")
    assert policy_dsl.api.python_value(numpy.float64(0.1)) == Decimal("0.1")


@pytest.mark.parametrize("infinite", [math.inf, -math.inf, numpy.float64("inf")])
def test_infinity_is_that_records_field_error(infinite: object) -> None:
    good, bad, after = results(SUZHOU, [full_marks_inpatient(id="A"),
                                        full_marks_inpatient(id="B",
                                                             catalogue_drug_share=infinite),
                                        full_marks_inpatient(id="C")])
    assert bad.error is not None
    assert bad.error == "record 2 (id B): catalogue_drug_share: expected a percent such as " \
        f"85.5 or \"85.5%\", got {json.dumps(float(infinite))}: not a finite number"
    assert good.total == after.total == Decimal("100.00")


def test_numpy_ids_and_list_cells() -> None:
    record = full_marks_inpatient(id=numpy.int64(7),
                                  display_channels=numpy.array(["电子屏", "海报"]))
    (result,) = results(SUZHOU, [record])
    assert result.id == 7 and type(result.id) is int
    assert result.error is None


def test_score_frame_one_row_per_input_row_in_order() -> None:
    rows = [full_marks_inpatient(id="A"),
            full_marks_inpatient(id="B", catalogue_drug_share=77.5),
            full_marks_inpatient(id="C", catalogue_drug_share=math.nan),
            full_marks_inpatient(id="D", catalogue_drug_share=math.inf)]
    frame = pandas.DataFrame(rows, index=["w", "x", "y", "z"])
    scored = score_frame(SUZHOU, frame, packs_dir=GENERATED)
    assert list(scored.index) == ["w", "x", "y", "z"]
    assert list(scored["id"]) == ["A", "B", "C", "D"]
    assert list(scored.columns[:5]) == ["id", "total", "earned", "applicable_max", "item_1"]
    assert list(scored.columns[-3:]) == ["pack", "pack_sha256", "error"]
    assert scored["total"].dtype == object
    assert scored.loc["x", "item_1"] == Decimal("2.8") and \
        isinstance(scored.loc["x", "item_1"], Decimal)
    assert scored.loc["x", "total"] == Decimal("99.80")
    assert scored.loc["w", "error"] is None
    assert "catalogue_drug_share: is missing" in scored.loc["y", "error"]
    assert scored.loc["y", "total"] is None
    assert "catalogue_drug_share: expected a percent" in scored.loc["z", "error"]
    assert scored.loc["z", "total"] is None


def test_score_frame_with_numpy_dtypes_and_a_framework() -> None:
    records = jilin_records()
    frame = pandas.DataFrame(records)
    frame["assessment_year"] = frame["assessment_year"].astype("Int64")  # pandas NA-able
    frame["agreement_start"] = pandas.to_datetime(frame["agreement_start"])  # NaT for JL-H005
    scored = score_frame(JILIN, frame, packs_dir=GENERATED)
    expected = [without_explanation(line) for line in score_all(JILIN, records)]
    assert list(scored["grade"]) == [line["grade"] for line in expected]
    assert list(scored["refund_amount"]) == [
        None if line["refund_amount"] is None else Decimal(line["refund_amount"])
        for line in expected]
    assert scored.loc[2, "adjustments"] == "downgrade 2 (national)"
    assert scored.loc[0, "publicize"] is True
    assert list(scored["error"]) == [None] * 5


def test_a_datetime_with_a_time_of_day_is_that_fields_error() -> None:
    (late,) = results(JILIN, [{**jilin_records()[0],
                               "agreement_start": pandas.Timestamp("2018-03-01 08:30")}])
    assert late.error is not None and "agreement_start" in late.error
    assert "2018-03-01T08:30:00" in late.error


def test_the_readme_example_runs_as_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("## Using policy_dsl from Python", 1)[1].split("\n## ", 1)[0]
    code, shown = re.findall(r"```python\n(.*?)```\n\nprints:\n\n```\n(.*?)```", section,
                             re.S)[0]
    monkeypatch.chdir(ROOT)
    printed = io.StringIO()
    namespace: dict[str, Any] = {}
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), namespace)
    assert printed.getvalue() == shown
    (frame_code,) = re.findall(r"```python\n(.*?)```", section, re.S)[1:]
    exec(compile(frame_code, "README.md", "exec"), namespace)
    scored = namespace["scored"]
    assert list(scored["total"]) == [Decimal("95.10"), Decimal("89.60"), Decimal("95.63"),
                                     None]
    assert list(scored["item_4"])[:3] == [8, 3, 8]


def test_importing_the_api_loads_no_optional_library() -> None:
    """`import policy_dsl` (and scoring records) needs the runtime alone: pandas only when
    score_frame is called, and nothing of the compiler."""
    code = ("import sys, policy_dsl; from pathlib import Path; "
            "r = list(policy_dsl.score_records('suzhou/outpatient-2023', [{'id': 1}], "
            "packs_dir=Path('generated'))); assert r[0].error; "
            "print(sorted({'pandas', 'numpy', 'pyarrow', 'openpyxl', 'click', 'lark', "
            "'jinja2'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "[]"
