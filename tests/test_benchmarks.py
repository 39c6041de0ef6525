"""The benchmark's own parts (benchmarks/): the generator reaches every rule of every pack and
writes every input format so that it reads back as the same records; the lean Suzhou
scorer agrees with the pack, record by record, item by item, or it would measure nothing."""

from __future__ import annotations

import dataclasses
import io
import sys
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import generate  # noqa: E402
import lean_suzhou_inpatient as lean  # noqa: E402

from policy_dsl.casebook.cases import Case, CaseResult, load_cases  # noqa: E402
from policy_dsl.casebook.coverage import measure, report  # noqa: E402
from policy_dsl.reading import read_input  # noqa: E402
from policy_dsl.runtime.arithmetic import DIVISION  # noqa: E402
from policy_dsl.runtime.batch import outcome_json, score_batch  # noqa: E402
from policy_dsl.runtime.inputs import InputRecord  # noqa: E402
from policy_dsl.runtime.packs import read_index  # noqa: E402

PACKS = sorted(entry.name for entry in read_index(generate.GENERATED))
INPATIENT = "suzhou/inpatient-2023"


def _inputs(batch: list[dict[str, Any]]) -> list[InputRecord]:
    return [InputRecord(i + 1, row["id"], row) for i, row in enumerate(batch)]


def test_every_pack_has_a_generator() -> None:
    assert sorted(generate.GENERATORS) == PACKS


@pytest.mark.parametrize("pack", PACKS)
def test_a_generated_batch_is_valid_and_reaches_every_rule_outcome(pack: str) -> None:
    module = generate.load(pack)
    batch = list(generate.records(pack, 2_000, pack_module=module))
    outcomes = score_batch(module, _inputs(batch), explain=True)
    assert [o.error for o in outcomes if o.error] == []
    case = Case("generated", 0, pack, "generated batch", (), "", batch, {}, True)
    coverages = measure([CaseResult(case, [], "", outcomes)], generate.GENERATED)
    assert all(c.reached == c.branches for c in coverages), report(coverages)
    assert coverages[0].branches > 0


def test_the_same_seed_gives_the_same_records_and_another_seed_others() -> None:
    first = list(generate.records(INPATIENT, 50, seed=7))
    assert first == list(generate.records(INPATIENT, 50, seed=7))
    assert first != list(generate.records(INPATIENT, 50, seed=8))


@pytest.mark.parametrize("pack", [INPATIENT, "jilin/changchun-medical-inpatient-2026"])
def test_bad_records_are_errors_and_the_others_are_scored(pack: str) -> None:
    module = generate.load(pack)
    batch = list(generate.records(pack, 300, bad_share=0.2, pack_module=module))
    outcomes = score_batch(module, _inputs(batch), explain=False)
    bad = [o.record.id for o in outcomes if str(o.record.id).startswith("X")]
    assert 30 <= len(bad) <= 90  # about a fifth of 300
    for outcome in outcomes:
        assert (outcome.error is not None) == str(outcome.record.id).startswith("X"), \
            outcome.error
        assert not outcome.fault


def _scored(pack: str, data: bytes, name: str) -> list[dict[str, object]]:
    module = generate.load(pack)
    records = read_input(data, name, module).records
    return [outcome_json(o) for o in score_batch(module, records, explain=False)]


@pytest.mark.parametrize("pack", [INPATIENT, "suzhou/kunshan-outpatient-2023",
                                  "jilin/changchun-medical-inpatient-2026"])
@pytest.mark.parametrize("fmt", ["json", "csv", "csv-gb18030", "parquet", "xlsx"])
def test_every_format_reads_back_as_the_same_records(pack: str, fmt: str,
                                                     tmp_path: Path) -> None:
    module = generate.load(pack)
    batch = list(generate.records(pack, 200, seed=11, pack_module=module))
    if pack.startswith("suzhou/"):
        # The top of its bounds: 100%, which a workbook stores as the whole number 1.
        batch[0]["catalogue_drug_share"] = Decimal(100)
    reference = tmp_path / "batch.jsonl"
    generate.write(batch, pack, "jsonl", reference, module)
    suffix = fmt.removesuffix("-gb18030")
    path = tmp_path / f"batch.{suffix}"
    generate.write(batch, pack, fmt, path, module)
    expected = _scored(pack, reference.read_bytes(), reference.name)
    assert [e["error"] for e in expected if e.get("error")] == []
    assert _scored(pack, path.read_bytes(), path.name) == expected


def test_tables_are_written_as_an_agency_keeps_them(tmp_path: Path) -> None:
    import openpyxl
    import pyarrow.parquet as pq

    module = generate.load(INPATIENT)
    batch = list(generate.records(INPATIENT, 30, pack_module=module))
    utf8 = generate.write_csv(batch, module, "utf-8")
    assert utf8.startswith(b"\xef\xbb\xbf")
    assert "机构编码,机构名称,医疗机构级别" in utf8.decode("utf-8-sig").splitlines()[0]
    gb = generate.write_csv(batch, module, "gb18030")
    with pytest.raises(UnicodeDecodeError):
        gb.decode("utf-8")
    assert gb.decode("gb18030") == utf8.decode("utf-8-sig")
    generate.write_xlsx(batch, module, tmp_path / "b.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "b.xlsx").worksheets[0]
    header = [cell.value for cell in sheet[1]]
    column = header.index("医保目录内药品占医院药品供应目录的品种数占比") + 1
    cell = sheet.cell(row=2, column=column)
    assert cell.number_format == "0.00%"
    assert Decimal(str(cell.value)) * 100 == batch[0]["catalogue_drug_share"]
    assert sheet.cell(row=2, column=header.index("纳入DRG付费") + 1).value in {"是", "否"}
    generate.write_parquet(batch, module, tmp_path / "b.parquet")
    schema = pq.read_schema(tmp_path / "b.parquet")
    assert str(schema.field("catalogue_drug_share").type).startswith("decimal128")
    assert str(schema.field("price_violations").type) == "int64"


def test_json_text_writes_decimals_exactly() -> None:
    row = {"a": Decimal("0.1"), "b": [Decimal("89.995"), 2], "c": "中文\"", "d": True}
    assert generate.json_text(row) == '{"a": 0.1, "b": [89.995, 2], "c": "中文\\"", "d": true}'


# ---------------------------------------------------------------- the lean scorer


def _pack_scores(module: Any, facts: list[Any]) -> list[Any]:
    with localcontext(DIVISION):
        cohorts = module.compute_cohorts(facts)
        return [module.evaluate(f, c, False) for f, c in zip(facts, cohorts, strict=True)]


def _assert_same(pack_scores: list[Any], lean_scores: list[lean.LeanScore],
                 ids: list[object]) -> None:
    assert len(pack_scores) == len(lean_scores)
    for record_id, ours, theirs in zip(ids, pack_scores, lean_scores, strict=True):
        assert (str(ours.total), ours.earned, ours.applicable_max,
                tuple(i.earned for i in ours.items)) == \
            (str(theirs.total), theirs.earned, theirs.applicable_max, theirs.items), record_id


def test_the_lean_scorer_agrees_with_the_pack_on_a_generated_batch() -> None:
    module = generate.load(INPATIENT)
    batch = list(generate.records(INPATIENT, 2_000, seed=2026, pack_module=module))
    with localcontext(DIVISION):
        facts = [module.read_record(row) for row in batch]
    pack_scores = _pack_scores(module, facts)
    lean_scores = lean.score_batch(lean.prepared(batch))
    _assert_same(pack_scores, lean_scores, [row["id"] for row in batch])
    # the batch is not all alike: totals spread, items not applicable, survey bands used
    assert len({s.total for s in lean_scores}) > 200
    assert any(s.items[2] is None for s in lean_scores)
    assert {s.items[11] for s in lean_scores} >= {Decimal(0), Decimal(2), Decimal("1.5")}


def test_the_lean_scorer_agrees_with_the_pack_on_the_regression_cases() -> None:
    module = generate.load(INPATIENT)
    cases = load_cases(ROOT / "regions/suzhou/tests/inpatient-2023.yaml", ROOT,
                       generate.GENERATED)
    compared = 0
    for case in cases:
        facts: list[Any] = []
        ids: list[object] = []
        seen: set[object] = set()
        for row in case.records:
            if row.get("id") in seen:
                continue
            try:
                with localcontext(DIVISION):
                    facts.append(module.read_record(row))
            except Exception:  # an invalid record: no score from either scorer
                continue
            seen.add(row.get("id"))
            ids.append(row.get("id"))
        if not facts:
            continue
        lean_scores = lean.score_batch(lean.prepared(dataclasses.asdict(f) for f in facts))
        _assert_same(_pack_scores(module, facts), lean_scores, [case.name] * len(ids))
        compared += len(facts)
    assert compared >= 60


def test_the_lean_scorer_by_hand() -> None:
    """A private hospital outside DRG (maximum 60, G5) with a catalogue share 2.5 points
    under 90% (二级): item 1 = 1 + 1 + (1 − 0.1 × 2) = 2.8; two price problems: 3 − 2 = 1;
    the rest full: 2.8 + 1 + 3 + 15 + 5 + 5 + 8 + 4 + 2 + 2 + 5 + 5 = 57.8 of 60 →
    57.8 × 100 / 60 = 96.333… → 96.33."""
    row = next(generate.records(INPATIENT, 1, seed=1))
    row.update(level="secondary", ownership="private", in_drg=False,
               catalogue_updated_on_time=True, catalogue_maintained_correctly=True,
               catalogue_drug_share=Decimal("87.5"), price_violations=2,
               fee_disclosure_failures=0, late_self_pricing_notices=0,
               negotiated_drug_rate=Decimal(70), negotiated_drug_rate_last_year=Decimal(70),
               negotiated_drug_meeting_held=True, unstocked_products=[], violations=[],
               refused_to_correct=False, serious_social_harm=False,
               financial_system_in_place=True, cooperates_with_fund_management=True,
               no_new_receivables=True, settlement_list_upload_rate=Decimal(90),
               cooperation_incidents=0, coding_full_coverage=True,
               nonstandard_code_rate=Decimal("0.5"), evoucher_settlements=5000,
               all_settlements=10000, mobile_payment_connected=True, dual_channel=False,
               systems_integration_done=True, care_violations=0, agreement_violations=0,
               complaints=[], pay_later_connected=True,
               pay_later_share_dec_2023=Decimal(5), pay_later_share_2024=Decimal(10),
               policies_forwarded=5, display_channels=[])
    for name in ("procurement_score", "drg_score", "satisfaction_score",
                 "direct_survey_adjustment", "eprescription_connected",
                 "eprescription_flow_rate", "fund_loss_amount"):
        row.pop(name, None)
    (result,) = lean.score_batch([lean.prepare(row)])
    assert result.items[0] == Decimal("2.8") and result.items[1] == 1
    assert result.items[2] is None and result.items[3] is None
    assert (result.earned, result.applicable_max, str(result.total)) == \
        (Decimal("57.8"), Decimal(60), "96.33")
    with localcontext(DIVISION):
        facts = [generate.load(INPATIENT).read_record(row)]
    _assert_same(_pack_scores(generate.load(INPATIENT), facts), [result], [row["id"]])


def test_generate_command_line_writes_the_chosen_format(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    generate.main(["--pack", "jilin/pharmacy-2026", "--count", "3"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[0].startswith('{"id": "J0000000"')
    generate.main(["--pack", "jilin/pharmacy-2026", "--count", "3", "-o",
                   str(tmp_path / "b.csv"), "--format", "csv-gb18030"])
    text = (tmp_path / "b.csv").read_bytes().decode("gb18030")
    assert len(text.splitlines()) == 4
    assert io.StringIO(text).readline().startswith("机构编码,机构名称,扣分记录")
