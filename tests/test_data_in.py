"""Data in as agencies hold it (issue 10, "Input"): xlsx workbooks with Chinese headers and
percent cells, CSV saved as GB18030/GBK by Chinese Excel, Parquet files; headers checked
once for the file; every record out once, in order, whatever the format.

Fixtures are written here, with openpyxl and pyarrow, from `full_marks_inpatient` (附件1,
100 points; its docstring has the arithmetic). Expected points are worked out by hand in
each test.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow
import pyarrow.parquet
import pytest
from click.testing import CliRunner
from helpers import GENERATED, ROOT, full_marks_inpatient, pack

from policy_dsl.cli import cli
from policy_dsl.reading import FRACTION_WARNING_RECORDS

PACK = "suzhou/inpatient-2023"
LABELS = {fact.name: fact.label for fact in pack(PACK).INFO.facts}


def run(path: Path, *options: str) -> tuple[int, list[dict[str, Any]], str]:
    """`policyc score` on the file: exit code, result lines, standard error."""
    result = CliRunner().invoke(cli, ["score", "--pack", PACK, "--packs", str(GENERATED),
                                      *options, str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exc_info
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return result.exit_code, lines, result.stderr


def _cell(value: object) -> object:
    """A record's value as a person types it into a sheet."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        for number in (int, float):  # 85, 0.5: as Excel stores a typed number
            try:
                return number(value)
            except ValueError:
                continue
    return value


def workbook(path: Path, records: list[dict[str, Any]], *, labels: bool = True,
             percent_cells: dict[str, str] | None = None, sheet: str = "自评表",
             header: list[str] | None = None) -> Path:
    """An xlsx file of `records`, one row each, headed by the facts' Chinese labels (`id` as
    机构编码). `percent_cells` holds facts typed as fractions in percent-formatted cells."""
    book = openpyxl.Workbook()
    sheet_ = book.active
    assert sheet_ is not None
    sheet_.title = sheet
    names = list(records[0])
    sheet_.append(header or [("机构编码" if name == "id" else LABELS[name]) if labels else name
                             for name in names])
    for record in records:
        row = []
        for name in names:
            value = record.get(name)
            if percent_cells and name in percent_cells and value is not None:
                row.append(float(Decimal(str(value)) / 100))
            else:
                row.append(None if value is None else _cell(value))
        sheet_.append(row)
        if percent_cells:
            for column, name in enumerate(names, start=1):
                if name in percent_cells:
                    sheet_.cell(sheet_.max_row, column).number_format = percent_cells[name]
    book.save(path)
    return path


# ---------------------------------------------------------------- xlsx


def test_xlsx_with_chinese_headers_and_percent_cells(tmp_path: Path) -> None:
    """Item 1 of a tertiary hospital with a drug share of 77.5% (the cell holds 0.775, shown
    as 77.5%): 1 + 1 + the share's point (threshold 80%: 2.5 points short → 2 complete
    steps (G4) → 1 − 0.2 = 0.8) = 2.8. The other items in full: 100 − 3 + 2.8 = 99.80."""
    records = [full_marks_inpatient(id="H1", catalogue_drug_share="77.5"),
               full_marks_inpatient(id="H2")]
    path = workbook(tmp_path / "in.xlsx", records,
                    percent_cells={"catalogue_drug_share": "0.0%",
                                   "settlement_list_upload_rate": "0%"})
    code, out, err = run(path)
    assert code == 0, err
    assert [line["id"] for line in out] == ["H1", "H2"]
    assert out[0]["items"]["1"] == "2.8" and out[0]["total"] == "99.80"
    assert out[1]["items"]["1"] == "3" and out[1]["total"] == "100.00"


def test_a_percent_cell_is_read_exactly(tmp_path: Path) -> None:
    """0.855 formatted as 85.5% is 85.5 points of percent, not 0.855 and not the float's
    binary expansion: at 85.5% ≥ 80% item 1 is in full (3), where 0.855% would give
    1 + 1 + max(0, 1 − 0.1 × floor((80 − 0.855) / 1)) = 2."""
    path = workbook(tmp_path / "in.xlsx", [full_marks_inpatient(catalogue_drug_share="85.5")],
                    percent_cells={"catalogue_drug_share": "0.00%"})
    code, out, err = run(path)
    assert code == 0, err
    assert out[0]["items"]["1"] == "3"
    assert "catalogue_drug_share" not in err  # no warning: the cell said percent


def test_names_and_labels_mixed_whole_floats_and_empty_cells(tmp_path: Path) -> None:
    """Names and labels in one header; 2.0 stored for a count is the count 2 (the items are
    those of the same record in JSON with price_violations 2); an empty cell of a required
    fact is that record's error naming the field."""
    plain = full_marks_inpatient(id="J", price_violations=2)
    names = list(plain)
    header = [name if index % 2 else ("机构编码" if name == "id" else LABELS[name])
              for index, name in enumerate(names)]
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    sheet.append([float(2) if name == "price_violations" else _cell(plain[name])
                  for name in names])
    sheet.append([None if name == "level" else "K" if name == "id" else _cell(plain[name])
                  for name in names])
    book.save(tmp_path / "in.xlsx")
    code, out, _ = run(tmp_path / "in.xlsx")
    _, expected, _ = run(_jsonl(tmp_path / "in.jsonl", [plain]))
    assert code == 3
    assert out[0]["items"] == expected[0]["items"] and out[0]["error"] is None
    assert out[1]["id"] == "K" and out[1]["error"].startswith("row 3 (id K): level: ")


def test_dates_in_date_cells_and_as_iso_text(tmp_path: Path) -> None:
    """A framework pack's agreement_start: an Excel date cell and the text 2020-01-01 give
    the same result."""
    jilin = "jilin/medical-inpatient-2026"
    with open(Path("examples/jilin-medical-inpatient.jsonl"), encoding="utf-8") as lines:
        record = json.loads(lines.readline())
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    names = list(record)
    sheet.append(names)
    for record_id, start in (("D1", dt.datetime(2020, 1, 1)), ("D2", "2020-01-01")):
        sheet.append([record_id if name == "id" else start if name == "agreement_start"
                      else json.dumps(record[name], ensure_ascii=False)
                      if isinstance(record[name], list | dict) else record[name]
                      for name in names])
    book.save(tmp_path / "in.xlsx")
    result = CliRunner().invoke(cli, ["score", "--pack", jilin, "--packs", str(GENERATED),
                                      str(tmp_path / "in.xlsx")])
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["error"] for line in out] == [None, None], result.stderr
    assert {k: v for k, v in out[0].items() if k != "id"} == \
        {k: v for k, v in out[1].items() if k != "id"}


def test_sheet_by_name(tmp_path: Path) -> None:
    path = tmp_path / "in.xlsx"
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = "说明"
    first.append(["本表填写说明"])
    data = book.create_sheet("数据")
    record = full_marks_inpatient(id="S1")
    data.append(list(record))
    data.append([_cell(value) for value in record.values()])
    book.save(path)
    code, out, err = run(path, "--sheet", "数据")
    assert code == 0 and [line["id"] for line in out] == ["S1"], err
    code, out, err = run(path, "--sheet", "没有")
    assert (code, out) == (3, []) and "no sheet '没有'; the sheets are '说明', '数据'" in err


# ---------------------------------------------------------------- headers


def test_an_unknown_header_is_reported_once_before_scoring(tmp_path: Path) -> None:
    records = [full_marks_inpatient(id=f"U{n}") for n in range(50)]
    header = ["机构编码", *(LABELS[name] for name in list(records[0])[1:])]
    header[header.index(LABELS["price_violations"])] = "经查实的价格问题"  # the unit left off
    header[header.index(LABELS["drg_score"])] = "drg_scores"
    path = workbook(tmp_path / "in.xlsx", records, header=header)
    code, out, err = run(path)
    assert (code, out) == (3, [])
    assert err.count("names no fact") == 1 and len(err.strip().splitlines()) == 1
    assert "'经查实的价格问题' (column 8; did you mean '经查实的价格问题（次）', the fact " \
        "price_violations?)" in err
    assert "'drg_scores' (column 12; did you mean 'drg_score'?)" in err


@pytest.mark.parametrize("twice", [("catalogue_drug_share", LABELS["catalogue_drug_share"]),
                                   ("id", "机构编码")])
def test_a_fact_named_twice_refuses_the_file(tmp_path: Path, twice: tuple[str, str]) -> None:
    (tmp_path / "in.csv").write_text(f"{twice[0]},{twice[1]}\n1,2\n", encoding="utf-8")
    code, out, err = run(tmp_path / "in.csv")
    assert (code, out) == (3, [])
    assert f"the columns '{twice[0]}' and '{twice[1]}' both give" in err


# ---------------------------------------------------------------- CSV encodings


def _csv(records: list[dict[str, Any]], labels: bool = True) -> str:
    names = list(records[0])
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([("机构编码" if name == "id" else LABELS[name]) if labels else name
                     for name in names])
    for record in records:
        writer.writerow([_cell(record[name]) for name in names])
    return text.getvalue()


def _jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    return path


def test_gbk_csv_from_chinese_excel(tmp_path: Path) -> None:
    """The same two institutions as UTF-8 JSON and as a GB18030 CSV with Chinese headers
    and 是/否 give the same results; item 1 of H1 at 77.5% is 2.8 (see above)."""
    records = [full_marks_inpatient(id="H1", catalogue_drug_share="77.5"),
               full_marks_inpatient(id="H2")]
    (tmp_path / "in.csv").write_bytes(_csv(records).encode("gb18030"))
    assert (tmp_path / "in.csv").read_bytes() != _csv(records).encode("utf-8")
    code, out, err = run(tmp_path / "in.csv")
    _, expected, _ = run(_jsonl(tmp_path / "in.jsonl", records))
    assert code == 0, err
    assert out == expected and out[0]["items"]["1"] == "2.8"
    code, same, _ = run(tmp_path / "in.csv", "--encoding", "gbk")
    assert (code, same) == (0, expected)


def test_an_undecodable_csv_names_the_line_and_the_encodings_tried(tmp_path: Path) -> None:
    text = _csv([full_marks_inpatient(id="H1"), full_marks_inpatient(id="H2")])
    data = text.encode("utf-8").replace(b"H2", b"H\xff2")  # 0xFF: neither UTF-8 nor GB18030
    (tmp_path / "in.csv").write_bytes(data)
    code, out, err = run(tmp_path / "in.csv")
    assert (code, out) == (3, [])
    assert f"{tmp_path / 'in.csv'}:3: not UTF-8 or GB18030 text (UTF-8 fails at line 3, " \
        "byte " in err
    assert "GB18030 at line 1" in err  # the UTF-8 Chinese header is not GB18030 either
    code, _, err = run(tmp_path / "in.csv", "--encoding", "utf-8")
    assert code == 3 and ":3: not UTF-8 text (UTF-8 fails at line 3, byte " in err


# ---------------------------------------------------------------- Parquet


def test_parquet_decimal_float_and_integer_columns(tmp_path: Path) -> None:
    """A decimal128 drug share of 77.50 is exact; a float64 one of 77.5 is read as its
    shortest repr (77.5): both give item 1 = 2.8. NaN in a required fact is that record's
    missing fact; Infinity its field error; the others are scored."""
    records = [full_marks_inpatient(id=f"P{n}") for n in range(4)]
    names = list(records[0])
    columns: dict[str, pyarrow.Array] = {}
    for name in names:
        values = [r[name] for r in records]
        if name == "catalogue_drug_share":
            columns[name] = pyarrow.array([Decimal("77.50"), Decimal("85"), None,
                                           Decimal("85")], pyarrow.decimal128(5, 2))
        elif name == "negotiated_drug_rate":
            columns[name] = pyarrow.array([77.5, 70.0, 70.0, math.inf], pyarrow.float64())
        elif name == "settlement_list_upload_rate":
            columns[name] = pyarrow.array([99.0, math.nan, 99.0, 99.0], pyarrow.float64())
        elif name == "price_violations":
            columns[name] = pyarrow.array([0, 0, 0, 0], pyarrow.int64())
        else:
            columns[name] = pyarrow.array([_cell(value) for value in values])
    path = tmp_path / "in.parquet"
    pyarrow.parquet.write_table(pyarrow.table(columns), path)
    code, out, _ = run(path)
    assert code == 3
    assert [line["id"] for line in out] == ["P0", "P1", "P2", "P3"]
    assert out[0]["error"] is None and out[0]["items"]["1"] == "2.8"
    assert out[1]["error"] == ("record 2 (id P1): settlement_list_upload_rate: is missing; "
                               "this field is required")
    assert out[2]["error"] == ("record 3 (id P2): catalogue_drug_share: is missing; this "
                               "field is required")
    assert out[3]["error"].startswith("record 4 (id P3): negotiated_drug_rate: expected a "
                                      "percent")
    assert "finite" in out[3]["error"]


def test_record_accounting_in_every_format(tmp_path: Path) -> None:
    """N records in, N lines out, in order, each bad one its own error, in xlsx, Parquet and
    GB18030 CSV alike."""
    records = [full_marks_inpatient(id=f"A{n}") for n in range(7)]
    records[2] = full_marks_inpatient(id="A2", level="四级")
    records[5] = full_marks_inpatient(id="A5", price_violations="-1")
    sources = [workbook(tmp_path / "in.xlsx", records)]
    (tmp_path / "in.csv").write_bytes(_csv(records).encode("gb18030"))
    sources.append(tmp_path / "in.csv")
    table = pyarrow.table({name: [str(_cell(r[name])) for r in records] for name in records[0]})
    pyarrow.parquet.write_table(table, tmp_path / "in.parquet")
    sources.append(tmp_path / "in.parquet")
    for source in sources:
        code, out, err = run(source)
        assert code == 3, (source, err)
        assert [line["id"] for line in out] == [f"A{n}" for n in range(7)], source
        assert [line["error"] is None for line in out] == \
            [True, True, False, True, True, False, True], source
        assert "level" in out[2]["error"] and "price_violations" in out[5]["error"]


# ---------------------------------------------------------------- warnings, extras


def test_a_percent_column_of_fractions_gets_one_warning(tmp_path: Path) -> None:
    count = FRACTION_WARNING_RECORDS
    records = [full_marks_inpatient(id=f"F{n}", catalogue_drug_share=f"0.{80 + n}",
                                    negotiated_drug_rate="0.7")
               for n in range(count)]
    (tmp_path / "in.csv").write_text(_csv(records), encoding="utf-8")
    code, out, err = run(tmp_path / "in.csv")
    assert (code, len(out)) == (0, count)
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert len(warnings) == 3  # the two columns, and nonstandard_code_rate: 0.5 in each
    assert f"percent column '{LABELS['catalogue_drug_share']}' (catalogue_drug_share) lies " \
        "within 0..1" in warnings[0]
    assert "(negotiated_drug_rate)" in warnings[1]
    assert "(nonstandard_code_rate)" in warnings[2]
    _, _, err = run(_jsonl(tmp_path / "few.jsonl", records[:count - 1]))
    assert "warning" not in err  # fewer records say too little


def test_a_percent_column_with_one_value_beyond_1_is_watched_no_longer(tmp_path: Path) -> None:
    """A column leaves the watch at its first value beyond 1 and does not come back: the
    records after it, all fractions, do not make it a column of fractions."""
    count = FRACTION_WARNING_RECORDS
    records = [full_marks_inpatient(id=f"F{n}", catalogue_drug_share="0.9",
                                    negotiated_drug_rate="0.7" if n != 1 else "70")
               for n in range(count + 2)]
    (tmp_path / "in.csv").write_text(_csv(records), encoding="utf-8")
    code, out, err = run(tmp_path / "in.csv")
    assert (code, len(out)) == (0, count + 2)
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert len(warnings) == 2  # catalogue_drug_share and nonstandard_code_rate
    assert "(catalogue_drug_share)" in warnings[0] and "(nonstandard_code_rate)" in warnings[1]


def test_without_the_tables_extra_the_error_says_what_to_install(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = workbook(tmp_path / "in.xlsx", [full_marks_inpatient()])
    pyarrow.parquet.write_table(pyarrow.table({"id": ["x"]}), tmp_path / "in.parquet")
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    for source in (path, tmp_path / "in.parquet"):
        code, out, err = run(source)
        assert (code, out) == (2, [])
        assert "pip install 'policy-dsl[tables]'" in err


def test_a_file_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    (tmp_path / "in.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "in.parquet").write_bytes(b"PAR1 cut short")
    for name, words in (("in.xlsx", "not an xlsx workbook"),
                        ("in.parquet", "not a readable Parquet file")):
        code, out, err = run(tmp_path / name)
        assert (code, out) == (3, []) and words in err and "Traceback" not in err


def test_explain_reads_the_same_formats(tmp_path: Path) -> None:
    path = workbook(tmp_path / "in.xlsx", [full_marks_inpatient(id="E1")],
                    percent_cells={"catalogue_drug_share": "0%"})
    result = CliRunner().invoke(cli, ["explain", "--pack", PACK, "--packs", str(GENERATED),
                                      "--id", "E1", "--item", "1", "--format", "json",
                                      str(path)])
    assert result.exit_code == 0, result.stderr
    assert "85" in json.dumps(json.loads(result.stdout), ensure_ascii=False)


def test_bytes_of_any_shape_never_fault(tmp_path: Path) -> None:
    for data in (b"", b"PK\x03\x04", b"PAR1", b"\x00" * 64):
        for ext in ("xlsx", "parquet"):
            (tmp_path / f"in.{ext}").write_bytes(data)
            code, _, err = run(tmp_path / f"in.{ext}")
            assert code == 3 and "internal" not in err, (data, ext, err)


# ---------------------------------------------------------------- policyc validate


def validate(path: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["validate", "--pack", PACK, "--packs", str(GENERATED),
                                      str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exc_info
    return result.exit_code, result.stdout, result.stderr


def test_validate_sums_up_the_checks_by_field(tmp_path: Path) -> None:
    """Seven institutions in a sheet: two with level 四级, one without price_violations, one
    with drg_score 120 (0..100), one repeating another's id; three are clean. Nothing is
    scored: the summary counts records per check, with the first example of each."""
    records = [full_marks_inpatient(id=f"V{n}") for n in range(7)]
    records[1] = full_marks_inpatient(id="V1", level="四级")
    records[4] = full_marks_inpatient(id="V4", level="四级", drg_score="120")
    records[5] = full_marks_inpatient(id="V5", price_violations=None)
    records[6] = full_marks_inpatient(id="V0")
    code, out, err = validate(workbook(tmp_path / "in.xlsx", records))
    assert code == 3, err
    lines = out.splitlines()
    assert lines[0].endswith(": 7 record(s), 5 failing the input checks")
    rows = {tuple(line.split()[:3]) for line in lines[2:]}
    assert rows == {("level", "wrong", "value"), ("id", "repeated", "id"),
                    ("drg_score", "out", "of"), ("price_violations", "missing", "1")}
    level = next(line for line in lines if line.lstrip().startswith("level"))
    assert " 2  row 3 (id V1): level: '四级' is not one of" in level
    id_line = next(line for line in lines if line.lstrip().startswith("id "))
    assert " 2  row 2 (id V0): id V0 appears more than once (also at row 8)" in id_line
    drg = next(line for line in lines if line.lstrip().startswith("drg_score"))
    assert " 1  row 6 (id V4): drg_score: 120" in drg and "out of range" in drg


def test_validate_a_clean_file_is_exit_0(tmp_path: Path) -> None:
    records = [full_marks_inpatient(id=f"OK{n}") for n in range(3)]
    code, out, _ = validate(workbook(tmp_path / "in.xlsx", records))
    assert code == 0 and out.endswith(": 3 record(s), 0 failing the input checks\n")


def test_validate_sums_up_a_json_lines_file(tmp_path: Path) -> None:
    """Six lines: V0 (clean), " V0 " (its id again, written with spaces: the same institution),
    a line that is not JSON, V3 with level 四级, V3 again with level 四级 too, and V5 with a
    key that names no fact (级别, not the label 医疗机构级别). Every record fails a check, the
    two V3s two each, and each record counts once: 6 of 6. The repeated ids (4 records) name
    their lines, the records of V3 count under both checks, and 级别 is "not a fact"."""
    records = [full_marks_inpatient(id="V0"), full_marks_inpatient(id=" V0 "),
               full_marks_inpatient(id="V3", level="四级"),
               full_marks_inpatient(id="V3", level="四级")]
    lines = [json.dumps(record, ensure_ascii=False) for record in records]
    lines.insert(2, "{not json")
    lines.append(json.dumps(full_marks_inpatient(id="V5", 级别="三级"), ensure_ascii=False))
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = validate(path)
    assert code == 3, err
    summary = out.splitlines()
    assert summary[0].endswith(": 6 record(s), 6 failing the input checks")
    by_check = {tuple(line.split()[:3]): line for line in summary[2:]}
    assert set(by_check) == {("id", "repeated", "id"), ("level", "wrong", "value"),
                             ("(record)", "unreadable", "record"), ("级别", "not", "a")}
    assert " 1  line 6 (id V5): 级别: is not a fact of this standard" in \
        by_check["级别", "not", "a"]
    assert " 4  line 1 (id V0): id V0 appears more than once (also at line 2)" in \
        by_check["id", "repeated", "id"]
    assert " 2  line 4 (id V3): level: '四级'" in by_check["level", "wrong", "value"]
    assert " 1  line 3: not valid JSON" in by_check["(record)", "unreadable", "record"]


# ---------------------------------------------------------------- policyc template


def test_a_filled_in_template_is_scored(tmp_path: Path) -> None:
    """The xlsx template as an institution fills it (labels for enums, 是/否, a percent cell
    typed as 85% in a %-formatted cell): read as it stands, help row passed over. The
    full-marks hospital of 附件1 (see `full_marks_inpatient`) scores 100.00."""
    path = tmp_path / "template.xlsx"
    result = CliRunner().invoke(cli, ["template", "--pack", PACK, "--packs", str(GENERATED),
                                      "-o", str(path)])
    assert result.exit_code == 0, result.stderr
    book = openpyxl.load_workbook(path)
    sheet = book.active
    assert sheet is not None and sheet.freeze_panes == "C3"
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == ["机构编码", "机构名称", LABELS["level"], LABELS["ownership"]]
    help_cells = {name: sheet.cell(2, header.index(LABELS[name]) + 1).value
                  for name in ("level", "catalogue_drug_share", "procurement_score",
                               "violations")}
    assert help_cells["level"] == "选择：三级/二级/一级及以下；必填（level）"
    assert help_cells["procurement_score"] == \
        "分数；范围 0..100；条件必填（required when ownership is public）（procurement_score）"
    assert "如 [] 表示没有" in str(help_cells["violations"])
    lists = {str(validation.sqref): validation.formula1
             for validation in sheet.data_validations.dataValidation}
    level_column = openpyxl.utils.get_column_letter(header.index(LABELS["level"]) + 1)
    drg_column = openpyxl.utils.get_column_letter(header.index(LABELS["in_drg"]) + 1)
    assert lists[f"{level_column}3:{level_column}1002"] == '"三级,二级,一级及以下"'
    assert lists[f"{drg_column}3:{drg_column}1002"] == '"是,否"'
    record = full_marks_inpatient(id="T1", level="三级", ownership="公立")
    by_label = {("机构编码" if name == "id" else LABELS[name]): value
                for name, value in record.items()}
    for column, label in enumerate(header, start=1):
        if label in by_label:
            cell = sheet.cell(3, column, _cell(by_label[label]))
            if label == LABELS["catalogue_drug_share"]:
                cell.value, cell.number_format = 0.85, "0%"
    book.save(path)
    code, out, err = run(path)
    assert code == 0, err
    assert [(line["id"], line["total"]) for line in out] == [("T1", "100.00")]


def test_the_csv_template_has_a_bom_and_reads_as_no_records(tmp_path: Path) -> None:
    path = tmp_path / "template.csv"
    result = CliRunner().invoke(cli, ["template", "--pack", PACK, "--packs", str(GENERATED),
                                      "--format", "csv", "-o", str(path)])
    assert result.exit_code == 0, result.stderr
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf\xe6\x9c\xba\xe6\x9e\x84\xe7\xbc\x96\xe7\xa0\x81,")
    assert data.decode("utf-8-sig").splitlines()[1].startswith("【填写说明】")
    code, out, err = run(path)
    assert (code, out) == (0, []), err


def test_the_example_workbook_scores_as_its_json_lines() -> None:
    """examples/suzhou-inpatient.xlsx (Chinese headers, percents in %-formatted cells, 是/否,
    enum labels) holds the institutions of examples/suzhou-inpatient.jsonl: the same lines."""
    root = GENERATED.parent / "examples"
    _, from_xlsx, err = run(root / "suzhou-inpatient.xlsx")
    _, from_json, _ = run(root / "suzhou-inpatient.jsonl")
    assert from_xlsx == from_json and len(from_xlsx) == 4, err
    assert [line["total"] for line in from_xlsx] == ["93.00", "76.00", "86.67", "78.00"]


def test_standard_input_is_read_as_csv_when_it_is_not_json() -> None:
    """`-` has no extension: a text that starts with neither `{` nor `[` is a CSV (its header
    row), in UTF-8 or GB18030 as a file would be; the same results as the file itself."""
    example = ROOT / "examples" / "suzhou-outpatient.csv"
    as_file = CliRunner().invoke(cli, ["score", "--packs", str(GENERATED), "--pack",
                                       "suzhou/outpatient-2023", str(example)])
    text = example.read_text(encoding="utf-8-sig")
    for data in (text.encode("utf-8"), text.encode("gb18030")):
        piped = CliRunner().invoke(cli, ["score", "--packs", str(GENERATED), "--pack",
                                         "suzhou/outpatient-2023", "-"], input=data)
        assert piped.exit_code == as_file.exit_code == 3  # SZ-C004 cannot be scored (0 visits)
        assert piped.stdout == as_file.stdout
        assert '"id": "SZ-C001", "total": "95.10"' in piped.stdout
