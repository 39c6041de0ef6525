"""`policyc score -o` as tables (CSV, xlsx, Parquet) and `policyc schema`.

Every format is read back with an independent reader (the csv module, openpyxl, pyarrow) and
compared, value by value, with the JSON Lines output of the same input: the same exact
decimals, one row per input record, in order, errors in place.
"""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import openpyxl
import pyarrow.parquet
import pytest
from helpers import GENERATED, ROOT

from policy_dsl.casebook.cases import find_case_files, load_cases

POLICYC = Path(sys.executable).with_name("policyc")
SCHEMA_FILE = ROOT / "docs" / "result-line.schema.json"

FORMULA_ID = "=HYPERLINK(\"http://x\",\"点击\")"
SUZHOU_EXTRA = [  # after examples/suzhou-inpatient.jsonl and examples/with-errors.jsonl
    json.dumps({"id": FORMULA_ID, "level": "三级"}, ensure_ascii=False),
    json.dumps({"id": "-7", "level": "三级"}),
]
JILIN_EXTRA = [
    json.dumps({"id": "JL-BAD", "assessment_year": 2026, "agreement_start": "2018-03-01",
                "deposit": "二十万"}, ensure_ascii=False),
    json.dumps({"id": "@JL-X", "assessment_year": 2026, "agreement_start": "2018-03-01",
                "deposit": "100000", "deductions": [], "bonuses": []}),
]


def policyc(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(POLICYC), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, encoding="utf-8", check=False)


def batch(tmp_path: Path, pack: str) -> Path:
    """A batch for `pack` with valid records, not-assessed ones (Jilin) and errors."""
    if pack.startswith("suzhou"):
        lines = [*(ROOT / "examples" / "suzhou-inpatient.jsonl").read_text("utf-8")
                 .splitlines(),
                 *(ROOT / "examples" / "with-errors.jsonl").read_text("utf-8").splitlines(),
                 *SUZHOU_EXTRA]
    else:
        lines = [*(ROOT / "examples" / "jilin-medical-inpatient.jsonl").read_text("utf-8")
                 .splitlines(), *JILIN_EXTRA]
    path = tmp_path / "institutions.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def score(pack: str, source: Path, *options: str | Path) -> subprocess.CompletedProcess[str]:
    return policyc("score", "--pack", pack, "--packs", GENERATED, source, *options)


def json_lines(pack: str, source: Path) -> list[dict[str, Any]]:
    result = score(pack, source)
    assert result.returncode in (0, 3), result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def adjustments_text(adjustments: list[dict[str, Any]] | None) -> str | None:
    """The short text the tables give, written out again from the JSON line."""
    if adjustments is None:
        return None
    return "; ".join(
        ("veto" if a["kind"] == "veto" else f"downgrade {a['grades']} ({a['event']})")
        + ("" if a["applied"] else " not applied") for a in adjustments)


SETTLEMENT = ("status", "own_score", "final_score", "grade_before_adjustment", "grade",
              "adjustments", "refund_ratio", "refund_amount", "deposit", "withheld",
              "renewal", "publicize", "referral")


def expected_row(line: dict[str, Any], items: list[str]) -> dict[str, Any]:
    """A JSON line as the table's row: plain names, JSON's own strings for numbers."""
    row: dict[str, Any] = {name: line[name] for name in ("id", "total", "earned",
                                                           "applicable_max")}
    for number in items:
        row[f"item_{number}"] = None if line["items"] is None else line["items"][number]
    if "status" in line:
        row.update({name: line[name] for name in SETTLEMENT})
        row["adjustments"] = adjustments_text(line["adjustments"])
    row.update(pack=line["pack"], pack_sha256=line["pack_sha256"], error=line["error"])
    return row


PACKS = ["suzhou/inpatient-2023", "jilin/medical-inpatient-2026"]
NUMERIC = {"total", "earned", "applicable_max", "own_score", "final_score", "refund_ratio",
           "refund_amount", "deposit", "withheld"}


def item_numbers(pack: str) -> list[tuple[str, str]]:
    described = json.loads(policyc("describe", "--pack", pack, "--format", "json").stdout)
    return [(str(item["number"]), f"{item['number']} {item['label']}")
            for item in described["items"]]


@pytest.fixture(scope="module", params=PACKS)
def scored(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[str, Path, list[dict[str, Any]]]:
    pack = request.param
    folder = tmp_path_factory.mktemp("out")
    source = batch(folder, pack)
    return pack, source, json_lines(pack, source)


def test_the_batches_have_what_the_tests_need(scored: tuple[str, Path,
                                                            list[dict[str, Any]]]) -> None:
    pack, _, lines = scored
    assert any(line["error"] for line in lines) and any(line["total"] for line in lines)
    if pack.startswith("jilin"):
        assert {"deferred", "voluntary_exit"} <= {line["status"] for line in lines}
        assert any(line["adjustments"] for line in lines)
    else:  # item 3 does not apply to a private hospital (SZ-H003)
        assert any(line["items"] and None in line["items"].values() for line in lines)


def test_csv_has_the_json_lines_values(scored: tuple[str, Path, list[dict[str, Any]]],
                                       tmp_path: Path) -> None:
    pack, source, lines = scored
    target = tmp_path / "results.csv"
    result = score(pack, source, "-o", target)
    assert result.returncode == 3 and result.stdout == ""
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfid,total,earned,applicable_max,")
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    rows = list(csv.reader(data.decode("utf-8-sig").splitlines()))
    items = item_numbers(pack)
    assert rows[0][4:4 + len(items)] == [header for _, header in items]
    assert len(rows) - 1 == len(lines)  # N in, N rows out
    names = ["id", "total", "earned", "applicable_max", *(f"item_{n}" for n, _ in items)]
    names += [*(SETTLEMENT if pack.startswith("jilin") else ()), "pack", "pack_sha256",
              "error"]
    assert rows[0][len(names) - 3:] == ["pack", "pack_sha256", "error"]
    for row, line in zip(rows[1:], lines, strict=True):
        expected = expected_row(line, [n for n, _ in items])
        for name, cell in zip(names, row, strict=True):
            want = expected[name]
            if name == "id" and str(want).startswith(("=", "-", "@")):
                want = "'" + want  # never a formula in a spreadsheet
            if isinstance(want, bool):
                want = "true" if want else "false"
            assert cell == ("" if want is None else str(want)), (line["id"], name)


def test_xlsx_has_the_json_lines_values_and_a_summary(
        scored: tuple[str, Path, list[dict[str, Any]]], tmp_path: Path) -> None:
    pack, source, lines = scored
    target = tmp_path / "results.xlsx"
    assert score(pack, source, "-o", target).returncode == 3
    workbook = openpyxl.load_workbook(target)
    assert workbook.sheetnames == ["results", "summary"]
    sheet = workbook["results"]
    assert sheet.freeze_panes == "B2"
    assert sheet.column_dimensions["A"].width >= 10
    items = item_numbers(pack)
    header = [cell.value for cell in sheet[1]]
    assert header[4:4 + len(items)] == [h for _, h in items]
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == len(lines)
    names = ["id", "total", "earned", "applicable_max", *(f"item_{n}" for n, _ in items),
             *(SETTLEMENT if pack.startswith("jilin") else ()), "pack", "pack_sha256", "error"]
    for row, line in zip(rows, lines, strict=True):
        expected = expected_row(line, [n for n, _ in items])
        for name, cell in zip(names, row, strict=True):
            want = expected[name]
            if want is None or want == "":  # no adjustments: a blank cell, as in CSV
                assert cell.value is None, (line["id"], name)
            elif name in NUMERIC or name.startswith("item_"):
                assert cell.data_type == "n", (line["id"], name)
                # Excel keeps the double; 15 significant digits give back the exact decimal
                assert Decimal(repr(cell.value)) == Decimal(want), (line["id"], name)
                places = len(want.partition(".")[2])
                assert cell.number_format in (
                    "0" if places == 0 else "0." + "0" * places, "#,##0.00"), name
            elif isinstance(want, bool):
                assert cell.value is want
            else:
                assert cell.data_type in ("s", "inlineStr"), (line["id"], name)
                assert cell.value == str(want), (line["id"], name)
    # an id that looks like a formula stays text
    with zipfile.ZipFile(target) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode("utf-8")


def test_parquet_has_the_json_lines_values(scored: tuple[str, Path, list[dict[str, Any]]],
                                           tmp_path: Path) -> None:
    pack, source, lines = scored
    target = tmp_path / "results.parquet"
    assert score(pack, source, "-o", target).returncode == 3
    table = pyarrow.parquet.read_table(target)
    schema = table.schema
    assert str(schema.field("total").type) == "decimal128(38, 2)"
    assert str(schema.field("earned").type) == "decimal128(38, 4)"
    assert str(schema.field("item_1").type) == "decimal128(38, 4)"
    assert str(schema.field("id").type) == "string"
    assert schema.metadata[b"pack"] == pack.encode()
    items = item_numbers(pack)
    assert schema.field("item_1").metadata[b"label"].decode() == items[0][1]
    if pack.startswith("jilin"):
        assert str(schema.field("refund_amount").type) == "decimal128(38, 2)"
        assert str(schema.field("withheld").type) == "decimal128(38, 2)"
        assert str(schema.field("publicize").type) == "bool"
    rows = table.to_pylist()
    assert len(rows) == len(lines)
    for row, line in zip(rows, lines, strict=True):
        expected = expected_row(line, [n for n, _ in items])
        assert list(row) == list(expected)
        for name, want in expected.items():
            got = row[name]
            if isinstance(got, Decimal):
                assert got == Decimal(want), (line["id"], name)
                assert got.normalize() == Decimal(want).normalize()
            else:
                assert got == want, (line["id"], name)


def test_the_output_format_can_be_given(tmp_path: Path) -> None:
    source = batch(tmp_path, "jilin/medical-inpatient-2026")
    target = tmp_path / "results.dat"
    score("jilin/medical-inpatient-2026", source, "-o", target, "--output-format", "parquet")
    assert pyarrow.parquet.read_table(target).num_rows == 7
    unknown = tmp_path / "results.txt"  # any other extension: JSON Lines, as before
    score("jilin/medical-inpatient-2026", source, "-o", unknown)
    plain = score("jilin/medical-inpatient-2026", source)
    assert unknown.read_text("utf-8") == plain.stdout
    to_stdout = score("jilin/medical-inpatient-2026", source, "--output-format", "csv")
    assert to_stdout.stdout.startswith("\ufeffid,total,")


@pytest.mark.parametrize(("options", "words"), [
    (("--output-format", "xlsx"), "xlsx is written to a file: give -o FILE.xlsx"),
    (("-o", "x.csv", "--explain"), "--explain adds reason lines to JSON Lines"),
])
def test_table_options_that_do_not_go_together(tmp_path: Path, options: tuple[str, ...],
                                               words: str) -> None:
    source = batch(tmp_path, "jilin/medical-inpatient-2026")
    result = policyc("score", "--pack", "jilin/medical-inpatient-2026", "--packs", GENERATED,
                     source, *options, cwd=tmp_path)
    assert result.returncode == 2 and words in result.stderr
    assert not (tmp_path / "x.csv").exists()


def test_the_summary_sheet_by_hand(tmp_path: Path) -> None:
    """Three Jilin institutions, an error and a voluntary exit, graded by JL-12:
    A: 100 − 5 = 95 ≥ 90 → 优, refund 100% of 100,000 = 100,000.00;
    B: 100 − 14.5 = 85.5 → 良, 100% − 2% × (90 − 85.5) = 91%, of 200,000 = 182,000.00;
    C: 100 − 25 = 75 → 合格, 100% − 2.5% × (90 − 75) = 62.5%, of 80,000 = 50,000.00;
    E: exits without violations (JL-14): 100% of 60,000 = 60,000.00; D: an error;
    F: in the agreement since 2026-08-15, under 6 months on 1 January (JL-13): deferred.
    Refunds: 100,000 + 182,000 + 50,000 + 60,000 = 392,000.00."""
    def institution(key: str, deposit: str, deducted: str) -> dict[str, Any]:
        return {"id": key, "assessment_year": 2026, "agreement_start": "2018-03-01",
                "deposit": deposit, "bonuses": [],
                "deductions": [{"item": "1", "points": deducted, "evidence": "记录"}]}

    records = [institution("A", "100000", "5"), institution("B", "200000", "14.5"),
               institution("C", "80000", "25"), {"id": "D", "assessment_year": "去年"},
               {"id": "E", "assessment_year": 2026, "status": "voluntary_exit",
                "violations_found": False, "deposit": "60000", "deductions": [],
                "bonuses": []},
               {"id": "F", "assessment_year": 2026, "agreement_start": "2026-08-15",
                "deposit": "100000", "deductions": [], "bonuses": []}]
    source = tmp_path / "three.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                      encoding="utf-8")
    target = tmp_path / "three.xlsx"
    assert score("jilin/medical-inpatient-2026", source, "-o", target).returncode == 3
    sheet = openpyxl.load_workbook(target)["summary"]
    rows = {row[0]: row[1:] for row in sheet.iter_rows(min_row=4, values_only=True)
            if row[0]}
    assert rows["records"][0] == 6 and rows["scored"][0] == 5 and rows["errors"][0] == 1
    assert rows["not assessed: deferred"][0] == 1
    assert rows["deferred (no grade)"] == (1, None)  # no refund decided: blank, not 0
    assert rows["not assessed: voluntary_exit"][0] == 1
    assert rows["voluntary_exit (no grade)"] == (1, 60000)
    assert rows["优"] == (1, 100000) and rows["良"] == (1, 182000)
    assert rows["合格"] == (1, 50000) and rows["基本合格"] == (0, 0)
    assert rows["不合格"] == (0, 0)
    assert rows["refunds total"][1] == 392000
    grades = [row[0] for row in sheet.iter_rows(values_only=True)]
    assert grades.index("优") < grades.index("良") < grades.index("合格")  # the framework's order


def test_every_regression_case_fits_the_parquet_columns(tmp_path: Path) -> None:
    """The points scale (4) holds every result of every shipped pack's regression cases."""
    for pack, source in _every_pack_batch(tmp_path):
        target = source.with_suffix(".parquet")
        result = score(pack, source, "-o", target)
        assert result.returncode == 3 and "decimals" not in result.stderr, result.stderr
        lines = len(source.read_text("utf-8").splitlines())
        assert pyarrow.parquet.read_table(target).num_rows == lines


def test_the_summary_of_a_pack_without_framework_has_bands(tmp_path: Path) -> None:
    """examples/suzhou-inpatient.jsonl: 93.00, 76.00, 86.67, 78.00 → 70–80: 2, 80–90: 1,
    90–100: 1; with-errors.jsonl adds 3 errors."""
    source = batch(tmp_path, "suzhou/inpatient-2023")
    target = tmp_path / "sz.xlsx"
    score("suzhou/inpatient-2023", source, "-o", target)
    rows = {row[0]: row[1] for row in openpyxl.load_workbook(target)["summary"]
            .iter_rows(min_row=4, values_only=True) if row[0]}
    assert (rows["records"], rows["scored"], rows["errors"]) == (9, 4, 5)
    assert (rows["70–80"], rows["80–90"], rows["90–100"], rows["0–10"]) == (2, 1, 1, 0)


def test_parquet_refuses_a_value_it_cannot_hold_exactly(tmp_path: Path) -> None:
    """A panel's deduction of 0.00005 points makes earned 99.99995: 5 decimals, more than
    the points columns' 4. Nothing is rounded and no file is written."""
    record = {"id": "JL-FINE", "assessment_year": 2026, "agreement_start": "2018-03-01",
              "deposit": "100000", "bonuses": [],
              "deductions": [{"item": "1", "points": "0.00005", "evidence": "记录"}]}
    source = tmp_path / "fine.jsonl"
    source.write_text(json.dumps(record) + "\n", encoding="utf-8")
    target = tmp_path / "fine.parquet"
    result = score("jilin/medical-inpatient-2026", source, "-o", target)
    assert result.returncode == 3
    assert "record 1 (id JL-FINE): earned 99.99995 has 5 decimals, more than the " \
        "column's 4" in result.stderr
    assert list(tmp_path.iterdir()) == [source]
    csv_target = tmp_path / "fine.csv"  # CSV holds it exactly
    assert score("jilin/medical-inpatient-2026", source, "-o", csv_target).returncode == 0
    assert ",99.99995," in csv_target.read_text("utf-8-sig")


@pytest.fixture(scope="module")
def big_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("batch") / "batch.jsonl"
    with path.open("w", encoding="utf-8") as stream:
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_batch.py"), "30000"],
                       stdout=stream, check=True)
    return path


def test_an_interrupted_parquet_run_leaves_no_file(big_batch: Path, tmp_path: Path) -> None:
    target = tmp_path / "results.parquet"
    process = subprocess.Popen([str(POLICYC), "score", "--pack", "suzhou/inpatient-2023",
                                "--packs", str(GENERATED), str(big_batch), "-o", str(target)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any(p.stat().st_size for p in tmp_path.iterdir()):  # the first row group
        assert process.poll() is None, "policyc ended before the test could interrupt it"
        assert time.monotonic() < deadline, "no output after 120 s"
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 130, errors
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- the result line's schema


def test_the_schema_file_is_what_policyc_schema_prints() -> None:
    printed = policyc("schema")
    assert printed.returncode == 0
    assert SCHEMA_FILE.read_text("utf-8") == printed.stdout, (
        "docs/result-line.schema.json is stale; regenerate it with "
        "`.venv/bin/policyc schema > docs/result-line.schema.json`")
    schema = json.loads(printed.stdout)
    assert schema["$id"] == "urn:policy-dsl:result-line:v2" and schema["version"] == 2
    jsonschema.Draft202012Validator.check_schema(schema)


def _every_pack_batch(tmp_path: Path) -> list[tuple[str, Path]]:
    """For each shipped pack (cities included), its regression cases' records as one batch,
    with a record of a wrong value and a line that is not JSON."""
    batches: dict[str, list[dict[str, Any]]] = {}
    for path in find_case_files(ROOT):
        for case in load_cases(path, ROOT, GENERATED):
            batches.setdefault(case.pack, []).extend(case.records)
    assert len(batches) == 7, sorted(batches)
    made = []
    for number, (pack, records) in enumerate(sorted(batches.items())):
        source = tmp_path / f"{number}.jsonl"
        wrong = {**records[0], "id": "WRONG", "assessment_year": "去年", "level": "四级"}
        unique = [{**r, "id": f"{r.get('id', 'R')}-{n}"} for n, r in enumerate(records)]
        lines = [json.dumps(r, ensure_ascii=False, default=str) for r in [*unique, wrong]]
        source.write_text("\n".join([*lines, "{not json"]) + "\n", encoding="utf-8")
        made.append((pack, source))
    return made


def test_every_packs_output_is_valid_under_the_schema(tmp_path: Path) -> None:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text("utf-8")))
    seen = {"error": 0, "scored": 0, "explained": 0, "settled": 0}
    for pack, source in _every_pack_batch(tmp_path):
        for options in ((), ("--explain",)):
            result = score(pack, source, *options)
            assert result.returncode == 3, result.stderr
            for line in result.stdout.splitlines():
                value = json.loads(line)
                errors = sorted(validator.iter_errors(value), key=str)
                assert not errors, f"{pack}: {errors[0].message} in {line[:200]}"
                seen["error" if value["error"] else "scored"] += 1
                seen["explained"] += "explanation" in value
                seen["settled"] += "settlement_explanation" in value
    assert all(seen.values()), seen


def test_the_schema_refuses_what_is_not_a_result_line() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text("utf-8")))
    good = {"id": "A", "total": "93.00", "earned": "93", "applicable_max": "100",
            "items": {"1": "3", "2": None}, "error": None, "pack": "suzhou/inpatient-2023",
            "pack_sha256": "0" * 64}
    assert validator.is_valid(good)
    for wrong in ({"total": 93.0}, {"total": "93"}, {"earned": "93.0"}, {"bogus": 1},
                  {"error": "line 1: x"}, {"pack_sha256": "abc"}):
        assert not validator.is_valid({**good, **wrong}), wrong
    assert not validator.is_valid({k: v for k, v in good.items() if k != "pack"})


def test_values_excel_cannot_hold_and_awkward_ids(tmp_path: Path) -> None:
    """A value of 20 significant digits is written as its exact text in xlsx (Excel keeps
    15); an id with a quote, a comma and a line break is quoted per RFC 4180 in CSV."""
    from policy_dsl.api import Result
    from policy_dsl.runtime import load_pack
    from policy_dsl.tables import columns_for, write_csv, write_xlsx

    suzhou = load_pack("suzhou/outpatient-2023", packs_dir=GENERATED)
    long_value = Decimal("12.345678901234567891")
    awkward = 'A "x", y\nz'
    rows = [Result(id=awkward, total=Decimal("12.35"), earned=long_value,
                   applicable_max=Decimal("100"), items={1: Decimal("0.5")}, error=None,
                   pack=suzhou.INFO.name, pack_sha256=suzhou.sha256)]
    columns = columns_for(suzhou)
    with (tmp_path / "x.xlsx").open("wb") as stream:
        write_xlsx(stream, suzhou, columns, iter(rows))
    sheet = openpyxl.load_workbook(tmp_path / "x.xlsx")["results"]
    assert sheet["C2"].value == "12.345678901234567891" and sheet["C2"].data_type == "s"
    assert sheet["A2"].value == awkward
    assert sheet["E2"].value == 0.5 and sheet["E2"].number_format == "0.0"
    with (tmp_path / "x.csv").open("wb") as stream:
        write_csv(stream, columns, iter(rows))
    data = (tmp_path / "x.csv").read_text("utf-8-sig")
    assert data.splitlines()[1].startswith('"A ""x"", y')
    (row,) = list(csv.reader(data.splitlines(keepends=True)[1:]))
    assert row[:5] == [awkward, "12.35", "12.345678901234567891", "100", "0.5"]
