"""Property tests of the table readers: xlsx workbooks (openpyxl) and Parquet files (pyarrow)
as agencies hold them, through `policyc score` as the CLI runs it.

Each sheet or file is built from full-marks records (`helpers.py`) with hostile cells: numbers
huge, tiny and negative zero, 0.1 + 0.2, percent-formatted cells, numbers as text with commas,
% and full-width digits, dates, times and durations, booleans and 是/否, error cells (#N/A),
formulas without a computed value, blanks, long text; headers by name and by Chinese label in
any order, blank rows anywhere, several sheets; every Arrow column type, row groups of any size.
The same values, as Python gives them, are scored by `score_records` (the oracle): a row
comes out as an error exactly when its values are one, and otherwise with the same points.
For every file: never exit 70 or a traceback; N data rows in, N lines out, in order, each
error starting with its row (`row N`, the sheet's row number; `record N` in Parquet).

How a spreadsheet number is read is the oracle's own rule (a float is the Decimal of its
shortest repr, a percent-formatted cell 100 times it); the tests after the properties check
that rule against points worked out by hand.

The normal run tries a couple of dozen files per property (seconds). A longer run:

    POLICY_FUZZ_EXAMPLES=2000 .venv/bin/pytest -q tests/test_tables_fuzz.py
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import math
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy
import openpyxl
import pyarrow
import pyarrow.parquet
import pytest
from click.testing import CliRunner
from helpers import GENERATED, full_marks_inpatient, pack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE

from policy_dsl import score_records
from policy_dsl.cli import cli
from policy_dsl.reading import ID_LABELS
from policy_dsl.runtime.inputs import MAX_CELL, TEMPLATE_HELP_MARK

PACK = "suzhou/inpatient-2023"
INFO = {fact.name: fact for fact in pack(PACK).INFO.facts}
BASE = full_marks_inpatient()
FACTS = [name for name in BASE if name != "id"]
# Facts whose points show the number itself (procurement_score × 20% is item 3, to the digit):
# changed more often, so that a number read inexactly shows in the points.
SHOWN_NUMBERS = [name for name in FACTS if INFO[name].type == "score"]
PERCENTS = [name for name in FACTS if INFO[name].type == "percent"]
EXAMPLES = int(os.environ.get("POLICY_FUZZ_EXAMPLES", "30"))
FUZZ = settings(max_examples=EXAMPLES, deadline=timedelta(seconds=20),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
BAD = object()  # the oracle's record for a row whose error only the table reader sees


def run(path: Path, *options: str) -> tuple[int, list[dict[str, Any]], str]:
    """`policyc score` on the file: exit code, result lines, standard error. Fails on an
    exception, on exit 70, and on output that is not JSON objects, one a line."""
    result = CliRunner().invoke(cli, ["score", "--pack", PACK, "--packs", str(GENERATED),
                                      *options, str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exc_info
    assert result.exit_code in (0, 3), (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(isinstance(line, dict) and {"id", "error"} <= set(line) for line in lines)
    return result.exit_code, lines, result.stderr


@dataclass
class Row:
    """What one data row must come out as: its position (`row N`, `record N`), its id, the
    oracle's record (a mapping as Python holds it, or `BAD`), and the facts whose cells were
    changed (one of them is named when the row is an error)."""

    position: int
    record_id: object
    oracle: object
    changed: tuple[str, ...] = ()


def check(out: list[dict[str, Any]], rows: list[Row], unit: str, code: int) -> None:
    """One line per row, in order, with its id; an error exactly where the oracle has one
    (starting with the row's position, naming a changed fact), the oracle's points where
    there is none."""
    assert len(out) == len(rows), (len(out), len(rows))
    oracle = list(score_records(PACK, [row.oracle for row in rows], packs_dir=GENERATED))
    for line, row, expected in zip(out, rows, oracle, strict=True):
        error = line["error"]
        assert line["id"] == row.record_id, (line, row)
        assert (error is None) == (expected.error is None), (line, row, expected.error)
        if error is None:
            assert expected.total is not None and expected.items is not None
            assert Decimal(line["total"]) == expected.total, (line, expected)
            assert {int(number): None if points is None else Decimal(points)
                    for number, points in line["items"].items()} == expected.items, line
            continue
        assert re.match(rf"{unit} {row.position}[: ]", error), (error, row.position)
        if row.oracle is BAD or row.changed:
            named = [*row.changed, "id"] if row.oracle is BAD else row.changed
            assert any(re.search(rf"\b{re.escape(name)}\b", error) for name in named), \
                (error, row.changed)
    assert code == (0 if all(line["error"] is None for line in out) else 3)


def header_for(name: str, by_label: bool) -> str:
    """A column's header: the fact's name or its Chinese label (`id` as 机构编码)."""
    if not by_label:
        return name
    if name == "id":
        return ID_LABELS[0]
    return INFO[name].label or name if name in INFO else name


def as_cell(value: object) -> object:
    """A full-marks value as a person types it into a sheet: 是/否, JSON text for lists."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return value


# ---------------------------------------------------------------- xlsx cells

# A cell: what is written, its number format (None: General), the value the oracle gets (or
# BAD when only the sheet can say it is wrong).
Cell = tuple[object, str | None, object]

PERCENT_FORMATS = ["0%", "0.0%", "0.00%", "#,##0.00%", "0.0%;[Red]-0.0%"]
NUMBER_TEXTS = ["85.5", "85", " 85 ", "1,000", "1,000.5", "85.5%", "85.5 %", "８５", "8,5",
                "1e3", "1E400", "NaN", "Infinity", "-0", "0.30000000000000004", "2.0", "+3",
                ".5", "5.", "0x10", "1_000", "٣", "--1", "1" * 70]
WORD_TEXTS = ["是", "否", "true", "FALSE", "yes", "1", "0", "三级", "tertiary", "公立", "private",
              "[]", "[{}]", '["电子屏"]', '["poster", "poster"]', "[", "null", "{}", "中文",
              "\u3000三级\u3000", "tertiary\n", "a\tb"]
FLOATS = [0.1 + 0.2, 2.0, -0.0, 0.0, 1e300, -1e300, 5e-324, 2.2250738585072014e-308,
          1e15, 999999999999999.9, 1e-29, 85.5, 99.99999999999999, 0.855, 79.99, 1 / 3]
INTEGERS = [0, 1, 2, -1, 5, 99, 100, 101, 10**15 - 1, 10**15, 2**53, -(2**53), 2**62]


def _text(value: str) -> str:
    """A text openpyxl can write: no XML-illegal control characters, no line feed turned
    around, not a formula or an error code."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value).replace("\r", "")
    return "'" + value if value.startswith("=") or value in ERROR_CODES else value


def _number(value: float) -> int | Decimal:
    """The oracle's reading of a number cell. openpyxl writes a number with 16 significant
    digits ("%.16g": 0.1 + 0.2 as 0.3, 2.0 as 2, -0.0 as -0; Excel writes 17); a sheet's
    number is read from that text as a whole number, or else as the Decimal of its double's
    shortest repr."""
    text = f"{value:.16g}"  # as openpyxl writes it ("%.16g")
    return Decimal(repr(float(text))) if any(mark in text for mark in ".eE") else int(text)


@st.composite
def cells(draw: st.DrawFn) -> Cell:
    kind = draw(st.sampled_from(["integer", "float", "percent", "number_text", "word",
                                 "text", "blank", "date", "datetime", "time", "duration",
                                 "bool", "error", "formula", "long_text"]))
    if kind == "integer":
        number = draw(st.one_of(st.sampled_from(INTEGERS), st.integers(-1000, 1000)))
        return number, None, _number(number)
    if kind == "float":
        value = draw(st.one_of(st.sampled_from(FLOATS),
                               st.floats(allow_nan=False, allow_infinity=False)))
        return value, None, _number(value)
    if kind == "percent":  # a fraction in a percent-formatted cell: 100 times it
        value = draw(st.one_of(st.sampled_from([0.855, 0.775, 0.765, 0.98, 0.97, 0.29, 0.57,
                                                0.005, 1.5, -0.1, 0.1 + 0.2, 1e-30, 1e20]),
                               st.floats(-2, 2, allow_nan=False)))
        return value, draw(st.sampled_from(PERCENT_FORMATS)), _number(value) * 100
    if kind == "number_text":
        text = draw(st.sampled_from(NUMBER_TEXTS))
        return text, None, text
    if kind == "word":
        text = draw(st.sampled_from(WORD_TEXTS))
        return text, None, text
    if kind == "text":
        text = _text(draw(st.text(max_size=20)))
        return text, None, text
    if kind == "blank":  # an empty cell, or only spaces: a missing fact
        text = draw(st.sampled_from([None, "", " ", "\t", "\u3000", "\n"]))
        return text, None, None
    if kind == "date":
        date = draw(st.dates(dt.date(1900, 3, 1), dt.date(9999, 12, 31)))
        return date, None, date
    if kind == "datetime":
        moment = draw(st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(9999, 12, 31)))
        moment = moment.replace(microsecond=0)
        return moment, None, moment
    if kind == "time":
        moment = draw(st.times()).replace(microsecond=0)
        return moment, None, moment
    if kind == "duration":
        length = timedelta(seconds=draw(st.integers(1, 10**6)))
        return length, None, length
    if kind == "bool":
        value = draw(st.booleans())
        return value, None, value
    if kind == "error":  # #DIV/0!, #N/A: the record's error, unless in a note column
        return draw(st.sampled_from(ERROR_CODES)), None, BAD
    if kind == "formula":  # openpyxl saves no computed value: an empty cell to a reader
        return draw(st.sampled_from(["=1+1", "=A1", "=1/0", '="85"'])), None, None
    text = "长" * draw(st.sampled_from([1000, 30_000]))
    return text, None, text


# Values within each kind of fact's bounds, where points turn on the exact number: a
# percent cell at a threshold's edge (97% is tier ≥96, 95.99% below), a score × 20%.
PERCENT_FRACTIONS = [1.0, 0.855, 0.97, 0.765, 0.0, 0.775, 0.98, 0.9599, 0.29, 0.57, 0.005,
                     0.1 + 0.2, 1 / 3, 0.999, 0.0999]  # 100% and 0% are stored as 1 and 0
TYPICAL_NUMBERS = [85.3, 0.1 + 0.2, 79.99, 1 / 3, 99.99999999999999, 0.5, 96.5, 33.3, 100.0]


def typed_cells(name: str) -> st.SearchStrategy[Cell]:
    """Cells a person would type for this fact: mostly valid, each a different reading."""
    kind = INFO[name].type
    numbers = st.sampled_from(TYPICAL_NUMBERS).map(lambda v: (v, None, _number(v)))
    if kind == "percent":
        return st.one_of(
            st.tuples(st.sampled_from(PERCENT_FRACTIONS), st.sampled_from(PERCENT_FORMATS))
            .map(lambda pair: (pair[0], pair[1], _number(pair[0]) * 100)),
            numbers, st.sampled_from(["85.5%", "77.5", " 98 ", "96.5 %"]).map(
                lambda text: (text, None, text)))
    if kind == "count":
        return st.one_of(st.integers(0, 12).map(lambda v: (v, None, v)),
                         st.sampled_from([2.0, 0.0, 3.0]).map(lambda v: (v, None, _number(v))),
                         st.sampled_from(["1,000", "2", "0"]).map(lambda t: (t, None, t)))
    if kind in ("score", "number", "money", "points"):
        return numbers
    if kind == "bool":
        return st.sampled_from([True, False, "是", "否", 1, 0, "true", "否 "]).map(
            lambda v: (v, None, v))
    if INFO[name].members:
        words = [word for pair in INFO[name].members for word in pair]
        if kind.startswith("set"):
            return st.lists(st.sampled_from(words), max_size=3).map(
                lambda chosen: (json.dumps(chosen, ensure_ascii=False), None,
                                json.dumps(chosen, ensure_ascii=False)))
        return st.sampled_from(words).map(lambda word: (word, None, word))
    return st.just(("[]", None, "[]"))


@st.composite
def xlsx_rows(draw: st.DrawFn) -> dict[str, Cell]:
    """A row's changed cells, by fact (or `_note`), over a full-marks record."""
    changed = draw(st.lists(st.sampled_from([*FACTS, "_note", *3 * (PERCENTS + SHOWN_NUMBERS)]),
                            max_size=4, unique=True))
    return {name: draw(cells() if name == "_note" else
                       st.one_of(typed_cells(name), typed_cells(name), cells()))
            for name in changed}


IDS = st.sampled_from(["text", "text", "text", "number", "whole_float", "chinese", "blank",
                       "date", "error", "bool", "fraction"])


def _id_cell(kind: str, index: int) -> tuple[object, object, bool]:
    """An id cell: what is written, the id the line shows, and whether it is an error."""
    return {"text": (f"R{index}", f"R{index}", False),
            "number": (1000 + index, 1000 + index, False),
            "whole_float": (1000.0 + index, 1000 + index, False),
            "chinese": (f"苏州第{index}医院", f"苏州第{index}医院", False),
            "blank": (None, None, False),
            "date": (dt.date(2024, 1, 1) + timedelta(days=index), None, True),
            "error": ("#REF!", None, True),
            "bool": (True, None, True),
            "fraction": (index + 0.5, None, True)}[kind]


BLANK_ROWS = st.lists(st.sampled_from([[], [None, None], ["", " "], ["\u3000"]]), max_size=2)


@st.composite
def workbooks(draw: st.DrawFn) -> tuple[bytes, list[Row], list[str]]:
    """A workbook of one data sheet (and perhaps others), its rows' expectations, and the
    options that choose the sheet."""
    names = draw(st.permutations(["id", *FACTS, *(["_note"] if draw(st.booleans()) else [])]))
    header: list[object] = [header_for(name, draw(st.booleans())) for name in names]
    header += draw(st.sampled_from([[], [None], [" ", None]]))  # formatted, empty columns
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = draw(st.sampled_from(["自评表", "Sheet1", " 数据 ", "2023年度"]))
    for blank in draw(BLANK_ROWS):
        sheet.append(blank)
    sheet.append(header)
    if draw(st.booleans()):
        sheet.append([TEMPLATE_HELP_MARK + "类型、范围"])  # `policyc template`'s help row
    rows: list[Row] = []
    for index, changes in enumerate(draw(st.lists(xlsx_rows(), max_size=8))):
        for blank in draw(BLANK_ROWS):
            sheet.append(blank)
        id_written, record_id, id_bad = _id_cell(draw(IDS), index)
        oracle: dict[str, object] = {"id": record_id}
        values: list[object] = []
        formats: dict[int, str] = {}
        for column, name in enumerate(names, start=1):
            if name in changes:
                written, number_format, read = changes[name]
                if number_format:
                    formats[column] = number_format
                oracle[name] = "#N/A" if read is BAD and name == "_note" else read
                id_bad |= read is BAD and name != "_note"
            elif name == "id":
                written = id_written
            else:
                written = as_cell(BASE.get(name))
                oracle[name] = written
            values.append(written)
        sheet.append(values)
        for column, number_format in formats.items():
            sheet.cell(sheet.max_row, column).number_format = number_format
        changed = tuple(name for name in changes if name != "_note")
        rows.append(Row(sheet.max_row, record_id, BAD if id_bad else oracle, changed))
    options: list[str] = []
    if draw(st.booleans()):  # other sheets: before the data one (then chosen by name)
        before = draw(st.booleans())
        other = book.create_sheet("说明", 0 if before else None)
        other.append(["本表填写说明"] if draw(st.booleans()) else [])
        if before:
            options = ["--sheet", sheet.title]
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), rows, options


@FUZZ
@given(workbooks())
def test_xlsx_one_line_per_row_as_the_oracle_reads_it(
        tmp_path: Path, book: tuple[bytes, list[Row], list[str]]) -> None:
    data, rows, options = book
    (tmp_path / "in.xlsx").write_bytes(data)
    code, out, _ = run(tmp_path / "in.xlsx", *options)
    check(out, rows, "row", code)


# ---------------------------------------------------------------- xlsx headers


@st.composite
def wrong_headers(draw: st.DrawFn) -> tuple[list[object], str]:
    """A header with one thing wrong, and what the one message must quote."""
    names = [header_for(name, draw(st.booleans())) for name in ["id", *FACTS]]
    kind = draw(st.sampled_from(["unknown", "twice", "name_and_label", "blank", "merged",
                                 "number"]))
    at = draw(st.integers(1, len(names) - 1))
    if kind == "unknown":
        names[at] = names[at][:-1] if len(names[at]) > 2 else names[at] + "x"
        return list(names), "names no fact"
    if kind == "twice":
        names.insert(at, names[at])
        return list(names), "appears twice"
    if kind == "name_and_label":
        fact = FACTS[at - 1]
        names[at] = fact
        names.insert(at, INFO[fact].label)
        return list(names), "both give"
    if kind in ("blank", "merged"):
        cells: list[object] = list(names)
        cells.insert(at, None if kind == "merged" else " ")
        return cells, "has no name"
    cells = list(names)
    cells[at] = draw(st.sampled_from([2023, 1.5, True]))
    return cells, "names no fact"


@FUZZ
@given(wrong_headers(), st.integers(0, 30), st.booleans())
def test_a_wrong_xlsx_header_is_one_message_and_no_scoring(
        tmp_path: Path, wrong: tuple[list[object], str], count: int, merge: bool) -> None:
    header, words = wrong
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    if merge and None in header:  # a merged header cell: its others read as empty
        column = header.index(None) + 1
        sheet.merge_cells(start_row=1, start_column=column - 1, end_row=1, end_column=column)
    for index in range(count):
        sheet.append([f"R{index}", *(as_cell(BASE[name]) for name in FACTS)])
    book.save(tmp_path / "in.xlsx")
    code, out, err = run(tmp_path / "in.xlsx")
    assert (code, out) == (3, [])
    assert len(err.strip().splitlines()) == 1, err
    assert "in.xlsx: row 1: " in err and words in err, err


# ---------------------------------------------------------------- Parquet

# A column encoding: the Arrow type, and how a full-marks value is stored in it.
Encoding = tuple[pyarrow.DataType, Callable[[object], object]]


def _decimal(value: object) -> Decimal:
    return Decimal(str(value))


def _encodings(name: str) -> list[Encoding]:
    """The column types a fact's full-marks value can be stored in."""
    def holds(encoding: Encoding) -> bool:
        try:
            pyarrow.array([encoding[1](BASE[name])], encoding[0])
        except (pyarrow.ArrowInvalid, OverflowError):
            return False
        return True
    return [encoding for encoding in _candidates(name) if holds(encoding)]


def _candidates(name: str) -> list[Encoding]:
    kind = INFO[name].type
    text: Encoding = (pyarrow.string(), lambda v: str(as_cell(v)))
    large: Encoding = (pyarrow.large_string(), lambda v: str(as_cell(v)))
    dictionary: Encoding = (pyarrow.dictionary(pyarrow.int32(), pyarrow.string()),
                            lambda v: str(as_cell(v)))
    if kind == "count":
        integers = (pyarrow.int8(), pyarrow.int16(), pyarrow.int32(), pyarrow.int64(),
                    pyarrow.uint8(), pyarrow.uint16(), pyarrow.uint32(), pyarrow.uint64())
        return [text, large, dictionary, *((integer, int) for integer in integers),
                (pyarrow.float32(), float), (pyarrow.float64(), float),
                (pyarrow.decimal128(10, 0), _decimal), (pyarrow.decimal128(12, 2), _decimal)]
    if kind in ("percent", "score", "number", "money", "points"):
        return [text, large, (pyarrow.float32(), float), (pyarrow.float64(), float),
                (pyarrow.decimal128(5, 2), _decimal), (pyarrow.decimal128(38, 10), _decimal),
                (pyarrow.decimal128(9, 0), _decimal), (pyarrow.decimal256(40, 12), _decimal)]
    if kind == "bool":
        return [text, dictionary, (pyarrow.bool_(), bool), (pyarrow.int8(), int)]
    if kind.startswith(("list", "set")):
        entries = pyarrow.list_(pyarrow.struct([("item", pyarrow.string()),
                                                ("points", pyarrow.float32())]))
        return [text, large, (entries, list), (pyarrow.list_(pyarrow.string()), list)]
    return [text, large, dictionary]  # enums: a code or a label


# Other values for a column, by its Arrow type: (stored, what the oracle gets).
def _hostile(kind: pyarrow.DataType, draw: st.DrawFn) -> tuple[object, object]:
    if pyarrow.types.is_floating(kind):
        narrow = kind == pyarrow.float32()
        value = draw(st.one_of(
            st.sampled_from(TYPICAL_NUMBERS), st.sampled_from(TYPICAL_NUMBERS),
            st.sampled_from([float("nan"), float("inf"), float("-inf"), -0.0, 1e-30, 3e38,
                             2.5, 1e16]),
            st.floats(width=32 if narrow else 64)))
        if value != value:
            return value, None  # NaN: a missing value
        if narrow:
            return value, Decimal(str(numpy.float32(value)))  # numpy's shortest repr
        return value, value
    if pyarrow.types.is_decimal(kind):
        places = kind.scale
        digits = draw(st.integers(-(10 ** min(kind.precision, 20)) + 1,
                                  10 ** min(kind.precision, 20) - 1))
        value = Decimal(digits).scaleb(-places)
        return value, value
    if pyarrow.types.is_integer(kind):
        info = numpy.iinfo(kind.to_pandas_dtype())
        value = draw(st.one_of(st.sampled_from([int(info.min), int(info.max), 0, 1, 2]),
                               st.integers(int(info.min), int(info.max))))
        return value, value
    if pyarrow.types.is_boolean(kind):
        value = draw(st.booleans())
        return value, value
    if pyarrow.types.is_list(kind):
        return None, None
    text = draw(st.one_of(st.sampled_from(NUMBER_TEXTS + WORD_TEXTS), st.text(max_size=10)))
    return text, text


@dataclass
class Column:
    name: str
    header: str
    kind: pyarrow.DataType
    values: list[object]


@st.composite
def parquet_files(draw: st.DrawFn) -> tuple[bytes, list[Row]]:
    count = draw(st.integers(0, 12))
    columns: list[Column] = []
    oracles: list[dict[str, object]] = [{} for _ in range(count)]
    changed = [draw(st.lists(st.sampled_from(FACTS + 8 * SHOWN_NUMBERS), max_size=2, unique=True))
               for _ in range(count)]  # a cell or two of each row, the rest full marks
    for name in draw(st.permutations(FACTS)):
        kind, store = draw(st.sampled_from(_encodings(name)))
        values: list[object] = []
        for index in range(count):
            if name in changed[index] and not pyarrow.types.is_list(kind) and \
                    draw(st.integers(0, 3)):
                stored, read = _hostile(kind.value_type if pyarrow.types.is_dictionary(kind)
                                        else kind, draw)
            elif name in changed[index]:
                stored = read = None
            else:
                stored = store(BASE[name])
                read = stored if pyarrow.types.is_floating(kind) or \
                    pyarrow.types.is_decimal(kind) else BASE[name] \
                    if pyarrow.types.is_list(kind) or kind == pyarrow.bool_() else stored
            values.append(stored)
            oracles[index][name] = read
        columns.append(Column(name, header_for(name, draw(st.booleans())), kind, values))
    id_kind = draw(st.sampled_from(["string", "int64", "uint64", "dictionary", "float64",
                                    "binary", "large_string"]))
    ids: list[object] = []
    rows: list[Row] = []
    for index in range(count):
        record_id: object = f"R{index}"
        stored_id: object = record_id
        if id_kind in ("int64", "float64"):
            record_id = 1000 + index
            stored_id = float(record_id) if id_kind == "float64" else record_id
        elif id_kind == "uint64":
            record_id = stored_id = 2**64 - 1 - index  # beyond int64: still exact
        elif id_kind == "binary":
            stored_id, record_id = f"R{index}".encode(), None
        ids.append(stored_id)
        oracles[index]["id"] = record_id
        rows.append(Row(index + 1, record_id,
                        BAD if id_kind == "binary" else oracles[index], tuple(changed[index])))
    id_type = {"string": pyarrow.string(), "int64": pyarrow.int64(),
               "uint64": pyarrow.uint64(), "float64": pyarrow.float64(),
               "binary": pyarrow.binary(), "large_string": pyarrow.large_string(),
               "dictionary": pyarrow.dictionary(pyarrow.int8(), pyarrow.string())}[id_kind]
    columns.insert(draw(st.integers(0, len(columns))),
                   Column("id", header_for("id", draw(st.booleans())), id_type, ids))
    table = pyarrow.table({column.header: pyarrow.array(column.values, column.kind)
                           for column in columns})
    buffer = io.BytesIO()
    pyarrow.parquet.write_table(table, buffer, row_group_size=draw(st.integers(1, 13)),
                                compression=draw(st.sampled_from(["snappy", "none", "zstd"])),
                                use_dictionary=draw(st.booleans()))
    return buffer.getvalue(), rows


@FUZZ
@given(parquet_files())
def test_parquet_one_line_per_record_as_the_oracle_reads_it(
        tmp_path: Path, file: tuple[bytes, list[Row]]) -> None:
    data, rows = file
    (tmp_path / "in.parquet").write_bytes(data)
    code, out, _ = run(tmp_path / "in.parquet")
    check(out, rows, "record", code)


# ---------------------------------------------------------------- numbers by hand


def _book(path: Path, rows: list[dict[str, object]],
          formats: dict[tuple[int, str], str] | None = None) -> Path:
    """A sheet headed by fact names, one full-marks row per entry of `rows` (its changes);
    `formats` gives (row index, fact) a number format."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    names = list(BASE)
    sheet.append(names)
    for index, changes in enumerate(rows):
        record = {**BASE, "id": f"H{index}"}
        sheet.append([changes[name] if name in changes else as_cell(record[name])
                      for name in names])
        for (row, name), number_format in (formats or {}).items():
            if row == index:
                sheet.cell(index + 2, names.index(name) + 1).number_format = number_format
    book.save(path)
    return path


def test_xlsx_numbers_are_read_as_written_not_as_binary_floats(tmp_path: Path) -> None:
    """Each row is full marks (100) but for one cell; the item it moves, by hand:
    H0: procurement_score 85.3 → item 3 = 85.3 × 20% = 17.06 (the double 85.3 would be
        17.0599999999999994315658113919198513031005859375).
    H1: procurement_score 1/3, saved as 0.3333333333333333 → 0.06666666666666666.
    H2: a 0.0% cell holding 0.765 (shown 76.5%) → share 76.5; 80 − 76.5 = 3.5 → 3 complete
        steps (G4) → 1 − 0.3 = 0.7 → item 1 = 1 + 1 + 0.7 = 2.7.
    H3: a 0% cell holding 0.97 → upload rate 97 ≥ 96 → 1 of 2 → item 7 = 1+1+1+1 = 4.
    H4: a 0.00% cell holding 0.9599 → 95.99 < 96 → 0 → item 7 = 3.
    H5: a 0% cell holding the whole number 1 → 100% ≥ 80% → item 1 = 3.
    H6: the text "76.5%" in a General cell → 76.5 → item 1 = 2.7, as H2."""
    path = _book(tmp_path / "in.xlsx", [
        {"procurement_score": 85.3}, {"procurement_score": 1 / 3},
        {"catalogue_drug_share": 0.765}, {"settlement_list_upload_rate": 0.97},
        {"settlement_list_upload_rate": 0.9599}, {"catalogue_drug_share": 1},
        {"catalogue_drug_share": "76.5%"}],
        {(2, "catalogue_drug_share"): "0.0%", (3, "settlement_list_upload_rate"): "0%",
         (4, "settlement_list_upload_rate"): "0.00%", (5, "catalogue_drug_share"): "0%"})
    code, out, err = run(path)
    assert code == 0, err
    items = [line["items"] for line in out]
    assert items[0]["3"] == "17.06" and out[0]["total"] == "97.06"  # 100 − 20 + 17.06
    assert items[1]["3"] == "0.06666666666666666"
    assert [items[2]["1"], items[3]["7"], items[4]["7"], items[5]["1"], items[6]["1"]] == \
        ["2.7", "4", "3", "3", "2.7"]


def _parquet(path: Path, changes: dict[str, pyarrow.Array], count: int) -> Path:
    """`count` full-marks records (ids P0…), as strings, but for the columns given."""
    columns = {name: pyarrow.array([f"P{n}" if name == "id" else str(as_cell(BASE[name]))
                                    for n in range(count)]) for name in BASE}
    columns.update(changes)
    pyarrow.parquet.write_table(pyarrow.table(columns), path)
    return path


def test_parquet_numbers_are_read_as_written_not_as_binary_floats(tmp_path: Path) -> None:
    """procurement_score 85.3 in every numeric column type gives item 3 = 85.3 × 20% = 17.06
    (a float32 85.3 widened to a double would be 85.30000305175781 → 17.060000610351562);
    drg_score 0.1 as float32 gives item 4 = 0.1 × 20% = 0.02; a float16 85.5 is 85.5 →
    item 3 = 17.1, and a float16 85.3 (the half nearest it is 85.3125) is 85.3, its own
    shortest text. NaN is a missing (required) fact, Infinity and 2^64 − 1 field errors."""
    scores = [85.3, 85.3, 85.3, 85.5, 85.3, math.nan, math.inf]
    path = _parquet(tmp_path / "in.parquet", {
        "procurement_score": pyarrow.array(
            scores, pyarrow.float32()),
        "drg_score": pyarrow.array([0.1, 100, 100, 100, 100, 100, 100], pyarrow.float32()),
        "price_violations": pyarrow.array([0, 0, 0, 0, 2**64 - 1, 0, 0], pyarrow.uint64())},
        len(scores))
    code, out, _ = run(path)
    assert code == 3
    assert out[0]["items"]["3"] == "17.06" and out[0]["items"]["4"] == "0.02"
    assert out[3]["items"]["3"] == "17.1"  # float32 85.5 (exact)
    assert "price_violations" in out[4]["error"] and "too large" in out[4]["error"]
    assert out[5]["error"] == ("record 6 (id P5): procurement_score: is missing; it is "
                               "required when ownership is public")
    assert out[6]["error"].startswith("record 7 (id P6): procurement_score: ")
    for kind, value in ((pyarrow.float64(), 85.3), (pyarrow.decimal128(5, 2), Decimal("85.30")),
                        (pyarrow.float16(), numpy.float16(85.3)), (pyarrow.string(), "85.3")):
        _parquet(tmp_path / "one.parquet", {"procurement_score": pyarrow.array([value], kind)}, 1)
        code, out, err = run(tmp_path / "one.parquet")
        assert code == 0 and out[0]["items"]["3"] == "17.06", (kind, err)


# ---------------------------------------------------------------- sheets as others write them


def _three_rows() -> bytes:
    """A workbook of three full-marks rows (R0, R1, R2), as openpyxl writes it."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(BASE))
    for index in range(3):
        sheet.append([f"R{index}" if name == "id" else as_cell(BASE[name]) for name in BASE])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _patched(path: Path, edit: Callable[[str], str]) -> Path:
    """The three-row workbook with its sheet's XML edited, as another program might write
    it (a wrong size, a cut-off file, cells openpyxl never writes)."""
    source = zipfile.ZipFile(io.BytesIO(_three_rows()))
    with zipfile.ZipFile(path, "w") as target:
        for member in source.infolist():
            data = source.read(member.filename)
            if member.filename == "xl/worksheets/sheet1.xml":
                data = edit(data.decode("utf-8")).encode("utf-8")
            target.writestr(member, data)
    return path


PRICE_CELL = f'r="{openpyxl.utils.get_column_letter(list(BASE).index("price_violations") + 1)}2"'


@pytest.mark.parametrize("dimension", ["A1", "A1:C2", None])
def test_the_size_a_sheet_declares_does_not_cut_rows_or_columns(
        tmp_path: Path, dimension: str | None) -> None:
    """Some exporters write <dimension ref="A1"/> whatever the sheet holds: every row and
    column is read all the same (openpyxl's read-only mode believed it: no row, or three
    columns of two rows, and exit 0)."""
    path = _patched(tmp_path / "in.xlsx", lambda xml: re.sub(
        r'<dimension ref="[^"]*" ?/>', "" if dimension is None else
        f'<dimension ref="{dimension}"/>', xml))
    code, out, err = run(path)
    assert (code, [line["id"] for line in out]) == (0, ["R0", "R1", "R2"]), err
    assert all(line["total"] == "100.00" for line in out)


@pytest.mark.parametrize(("edit", "words"), [
    (lambda xml: xml[:len(xml) // 2], "cannot be read after row"),  # cut off
    (lambda xml: re.sub(rf'(<c {PRICE_CELL}[^>]*>)<v>0</v>', r"\1<v>abc</v>", xml),
     "cannot be read after row 1 (ValueError"),
    (lambda xml: re.sub(rf'(<c {PRICE_CELL}[^>]*>)<v>0</v>', r"\1<v>nan</v>", xml),
     "cannot be read after row 1"),
    (lambda xml: xml.replace(PRICE_CELL, 'r="ZZZZ2"'), "cannot be read after row 1"),
    (lambda xml: xml.replace('<row r="4"', '<row r="1048577"'), "goes on beyond row 1,048,576"),
    (lambda xml: xml.replace('<row r="4"', '<row r="2000000000"'), "beyond row 1,048,576"),
])
def test_a_sheet_that_no_program_could_have_saved_is_refused_in_one_line(
        tmp_path: Path, edit: Callable[[str], str], words: str) -> None:
    """XML cut off, a number cell holding text or nan, a column beyond XFD, a row beyond the
    last a worksheet has (openpyxl would count up to it: hours): exit 3, one line naming the
    file and the sheet, no record scored (these were exit 70, or a hang)."""
    code, out, err = run(_patched(tmp_path / "in.xlsx", edit))
    assert (code, out) == (3, [])
    assert len(err.strip().splitlines()) == 1 and words in err, err
    assert err.startswith(f"policyc: {tmp_path / 'in.xlsx'}: sheet 'Sheet' ")


def test_error_cells_styles_and_formulas_from_other_programs(tmp_path: Path) -> None:
    """R0's price_violations is an error cell (#N/A), R1's names a style the workbook does
    not hold, R2's is a formula =1+1 saved with its value 2, as Excel saves it. R0 and R1 are
    their own field errors; R2 reads 2 as a JSON record with price_violations 2 does."""
    cells = iter([f'<c {PRICE_CELL} t="e"><v>#N/A</v></c>',
                  f'<c {PRICE_CELL.replace("2", "3")} s="99"><v>1</v></c>',
                  f'<c {PRICE_CELL.replace("2", "4")}><f>1+1</f><v>2</v></c>'])

    def edit(xml: str) -> str:
        letter = PRICE_CELL[3:-2]
        return re.sub(rf'<c r="{letter}[234]"[^>]*><v>0</v></c>', lambda _: next(cells), xml)
    code, out, _ = run(_patched(tmp_path / "in.xlsx", edit))
    assert code == 3 and [line["id"] for line in out] == ["R0", "R1", "R2"]
    assert out[0]["error"] == ("row 2 (id R0): price_violations: the cell holds the error "
                               "'#N/A' (a formula that failed); enter the value itself")
    assert out[1]["error"].startswith("row 3 (id R1): price_violations: the cell names a "
                                      "style the workbook does not hold")
    expected = next(score_records(PACK, [{**BASE, "id": "R2", "price_violations": 2}],
                                  packs_dir=GENERATED))
    assert out[2]["error"] is None and Decimal(out[2]["total"]) == expected.total
    assert expected.total != Decimal(100)  # the 2 violations cost points: the cell was read


def test_a_date_out_of_range_in_a_date_cell_is_that_records_error(tmp_path: Path) -> None:
    """A count typed into a date-formatted column (10000000000 is no date): openpyxl reads it
    as the error #VALUE! (and warns, which stays off standard error)."""
    path = _book(tmp_path / "in.xlsx", [{"price_violations": 10**10}, {}],
                 {(0, "price_violations"): "yyyy-mm-dd"})
    code, out, err = run(path)
    assert code == 3 and out[1]["error"] is None
    assert out[0]["error"].startswith("row 2 (id H0): price_violations: the cell holds the "
                                      "error '#VALUE!' (a formula that failed, or a number "
                                      "formatted as a date that no date is)")
    assert "Warning" not in err


# ---------------------------------------------------------------- dates, by framework pack

JILIN = "jilin/medical-inpatient-2026"


def _jilin_record() -> dict[str, Any]:
    with open(Path(__file__).parents[1] / "examples" / "jilin-medical-inpatient.jsonl",
              encoding="utf-8") as lines:
        record: dict[str, Any] = json.loads(lines.readline())
    return record


def _score(path: Path, pack_name: str) -> tuple[int, list[dict[str, Any]]]:
    result = CliRunner().invoke(cli, ["score", "--pack", pack_name, "--packs", str(GENERATED),
                                      str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exc_info
    assert result.exit_code in (0, 3), result.stderr
    return result.exit_code, [json.loads(line) for line in result.stdout.splitlines()]


def test_dates_in_every_cell_kind(tmp_path: Path) -> None:
    """agreement_start (Jilin's framework) as a date cell, a midnight datetime and ISO text
    give the record's JSON result; a datetime at 12:30, a time, a day count and 2018/03/01
    are that record's error naming agreement_start."""
    record = _jilin_record()
    names = list(record)
    good = [dt.date(2018, 3, 1), dt.datetime(2018, 3, 1), "2018-03-01", " 2018-03-01 "]
    bad = [dt.datetime(2018, 3, 1, 12, 30), dt.time(12, 30), 43160, "2018/03/01"]
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(names)
    for index, start in enumerate(good + bad):
        sheet.append([f"D{index}" if name == "id" else start if name == "agreement_start"
                      else json.dumps(record[name], ensure_ascii=False)
                      if isinstance(record[name], list) else record[name] for name in names])
    book.save(tmp_path / "in.xlsx")
    code, out = _score(tmp_path / "in.xlsx", JILIN)
    (tmp_path / "in.jsonl").write_text(json.dumps(record, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    _, (expected,) = _score(tmp_path / "in.jsonl", JILIN)
    assert code == 3 and len(out) == len(good) + len(bad)
    for line in out[:len(good)]:
        assert {k: v for k, v in line.items() if k != "id"} == \
            {k: v for k, v in expected.items() if k != "id"}, line
    for index, line in enumerate(out[len(good):], start=len(good)):
        assert line["error"].startswith(f"row {index + 2} (id D{index}): agreement_start: "), \
            line["error"]


def test_parquet_dates_and_list_columns(tmp_path: Path) -> None:
    """Jilin's record with agreement_start as date32, a naive midnight timestamp and text,
    its deductions and bonuses as list<struct> columns with points as float32 (0.05 is
    0.05, not 0.05000000074505806) and as decimal128: all give the JSON record's result. A
    timestamp with a time zone is an instant, not a date: that record's error."""
    record = _jilin_record()
    starts = [dt.date(2018, 3, 1), dt.datetime(2018, 3, 1), "2018-03-01"]
    for points in (pyarrow.float32(), pyarrow.decimal128(6, 2)):
        entry = pyarrow.struct([("item", pyarrow.string()), ("points", points),
                                ("evidence", pyarrow.string())])
        for start in [*starts, dt.datetime(2018, 3, 1, tzinfo=dt.UTC)]:
            kind = pyarrow.timestamp("s", tz="UTC") if getattr(start, "tzinfo", None) else None
            columns = {name: pyarrow.array([value]) for name, value in record.items()
                       if not isinstance(value, list)}
            columns["agreement_start"] = pyarrow.array([start], kind)
            for name in ("deductions", "bonuses"):
                columns[name] = pyarrow.array([[
                    {**entry_value, "points": float(entry_value["points"])
                     if points == pyarrow.float32() else Decimal(entry_value["points"])}
                    for entry_value in record[name]]], pyarrow.list_(entry))
            pyarrow.parquet.write_table(pyarrow.table(columns), tmp_path / "in.parquet")
            code, out = _score(tmp_path / "in.parquet", JILIN)
            (tmp_path / "in.jsonl").write_text(json.dumps(record, ensure_ascii=False) + "\n",
                                               encoding="utf-8")
            _, expected = _score(tmp_path / "in.jsonl", JILIN)
            if kind is None:
                assert (code, out) == (0, expected), (points, start)
            else:
                assert out[0]["error"].startswith("record 1 (id JL-H001): agreement_start: ")


# ---------------------------------------------------------------- corrupt files


@functools.cache  # the same bytes for every example (a workbook holds the time it was saved)
def _valid_files() -> tuple[bytes, bytes]:
    table = pyarrow.table({"id": [f"R{n}" for n in range(300)],
                           "price_violations": list(range(300))})
    buffer = io.BytesIO()
    pyarrow.parquet.write_table(table, buffer, row_group_size=50)
    return _three_rows(), buffer.getvalue()


def _corrupt(name: str, xlsx: bytes, parquet: bytes) -> tuple[str, bytes]:
    not_a_book = io.BytesIO()
    with zipfile.ZipFile(not_a_book, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    middle = bytearray(parquet)
    middle[len(parquet) // 3:len(parquet) // 3 + 40] = b"\xff" * 40
    return {"empty.xlsx": ("xlsx", b""), "empty.parquet": ("parquet", b""),
            "cut.xlsx": ("xlsx", xlsx[:len(xlsx) // 2]),
            "cut_end.xlsx": ("xlsx", xlsx[:-1]),
            "cut.parquet": ("parquet", parquet[:len(parquet) // 2]),
            "cut_end.parquet": ("parquet", parquet[:-1]),
            "zip.xlsx": ("xlsx", not_a_book.getvalue()),
            "magic.parquet": ("parquet", b"PAR2" + parquet[4:]),
            "tail.parquet": ("parquet", parquet[:-4] + b"PARX"),
            "middle.parquet": ("parquet", bytes(middle)),
            "parquet_as.xlsx": ("xlsx", parquet), "xlsx_as.parquet": ("parquet", xlsx),
            }[name]


CORRUPT = ["empty.xlsx", "empty.parquet", "cut.xlsx", "cut_end.xlsx", "cut.parquet",
           "cut_end.parquet", "zip.xlsx", "magic.parquet", "tail.parquet", "middle.parquet",
           "parquet_as.xlsx", "xlsx_as.parquet"]


@pytest.mark.parametrize("name", CORRUPT)
def test_a_corrupt_file_is_one_located_line_and_exit_3(tmp_path: Path, name: str) -> None:
    kind, data = _corrupt(name, *_valid_files())
    path = tmp_path / name
    path.write_bytes(data)
    code, out, err = run(path)
    assert (code, out) == (3, []), err
    assert len(err.strip().splitlines()) == 1 and err.startswith(f"policyc: {path}: "), err
    assert ("workbook" if kind == "xlsx" else "Parquet") in err


def test_corrupt_files_through_the_console_script(tmp_path: Path) -> None:
    """The same through the installed `policyc` (its own error handling, not click's
    test runner): exit 3, one line, no traceback."""
    policyc = Path(sys.executable).with_name("policyc")
    for name in ("cut.xlsx", "middle.parquet"):
        path = tmp_path / name
        path.write_bytes(_corrupt(name, *_valid_files())[1])
        done = subprocess.run([str(policyc), "score", "--pack", PACK, "--packs",
                               str(GENERATED), str(path)],
                              capture_output=True, text=True, check=False)
        assert (done.returncode, done.stdout) == (3, ""), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


@FUZZ
@given(st.sampled_from(["xlsx", "parquet"]), st.data())
def test_damaged_files_never_fault(tmp_path: Path, kind: str, data: st.DataObject) -> None:
    """A valid file cut short, or with bytes overwritten anywhere: its records, or one line
    refusing it; never exit 70, never a traceback. (Parquet pages carry no checksum: a
    damaged value may be read as another value, as from any file that holds it.)"""
    xlsx, parquet = _valid_files()
    original = xlsx if kind == "xlsx" else parquet
    damaged = bytearray(original)
    if data.draw(st.booleans()):
        del damaged[data.draw(st.integers(0, len(original) - 1)):]
    else:
        for _ in range(data.draw(st.integers(1, 8))):
            damaged[data.draw(st.integers(0, len(original) - 1))] = data.draw(st.integers(0, 255))
    path = tmp_path / f"in.{kind}"
    path.write_bytes(bytes(damaged))
    code, out, err = run(path)
    if not out:
        assert code == 3 and len(err.strip().splitlines()) == 1, err
        assert err.startswith(f"policyc: {path}: ")
    unit = "row" if kind == "xlsx" else "record"
    for line in out:
        assert line["error"] is None or re.match(rf"{unit} \d+[: ]", line["error"]), line


# ---------------------------------------------------------------- empty and odd sheets


def test_empty_sheets_header_only_and_oversized_cells(tmp_path: Path) -> None:
    """An empty sheet and a sheet with only its header have no records (exit 0, as an empty
    CSV); a zero-row Parquet file with a wrong header is refused once; a Parquet text of
    more than MAX_CELL characters is its record's error, and the next record is read (a
    sheet's cell holds at most 32,767 characters, as in Excel)."""
    book = openpyxl.Workbook()
    book.create_sheet("表头").append(list(BASE))
    book.save(tmp_path / "in.xlsx")
    assert run(tmp_path / "in.xlsx")[:2] == (0, [])
    assert run(tmp_path / "in.xlsx", "--sheet", "表头")[:2] == (0, [])
    path = _parquet(tmp_path / "big.parquet",
                    {"_note": pyarrow.array(["x" * (MAX_CELL + 1), "short"])}, 2)
    code, out, _ = run(path)
    assert code == 3 and [line["id"] for line in out] == ["P0", "P1"]
    assert out[0]["error"].startswith("record 1 (id P0): _note: the cell holds 1,048,577 "
                                      "characters") and out[1]["error"] is None
    table = pyarrow.table({"id": pyarrow.array([], pyarrow.string()),
                           "drg_scores": pyarrow.array([], pyarrow.float64())})
    pyarrow.parquet.write_table(table, tmp_path / "none.parquet")
    code, out, err = run(tmp_path / "none.parquet")
    assert (code, out) == (3, []) and len(err.strip().splitlines()) == 1
    assert "'drg_scores' (column 2; did you mean 'drg_score'?)" in err


def test_score_frame_reads_float32_columns_by_their_own_digits(tmp_path: Path) -> None:
    """A DataFrame read from Parquet keeps float32 columns as numpy float32: 85.3 is 85.3
    (item 3 = 85.3 × 20% = 17.06), as `policyc score` reads the file; NaN is missing."""
    from policy_dsl import score_frame

    path = _parquet(tmp_path / "in.parquet", {
        "procurement_score": pyarrow.array([85.3, math.nan], pyarrow.float32())}, 2)
    frame = pyarrow.parquet.read_table(path).to_pandas()
    assert str(frame["procurement_score"].dtype) == "float32"
    scored = score_frame(PACK, frame, packs_dir=GENERATED)
    assert scored["item_3"][0] == Decimal("17.06") and scored["error"][0] is None
    assert scored["error"][1] == ("record 2 (id P1): procurement_score: is missing; it is "
                                  "required when ownership is public")
    _, out, _ = run(path)
    assert out[0]["items"]["3"] == "17.06"
