"""Property tests of the input contract, through `policyc score` as the CLI runs it.

Files are built from full-marks records (`helpers.py`) and hostile fragments: text that is
not JSON, NaN and Infinity, deep nesting, repeated keys, odd ids, huge numbers, lone
surrogates, U+2028 and other separators inside strings, NUL, quotes that do not close. For
every file: exactly one output line per record found, in input order, each a JSON object in
UTF-8 with the right id (or null) and an error naming the right line; never exit 70, never
an exception, and each run within the deadline.

The normal run tries a few dozen files per property (seconds). A longer run:

    POLICY_FUZZ_EXAMPLES=20000 .venv/bin/pytest -q tests/test_input_fuzz.py
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from click.testing import CliRunner
from helpers import GENERATED, full_marks_inpatient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_dsl.cli import cli
from policy_dsl.runtime.inputs import MAX_CELL

PACK = "suzhou/inpatient-2023"
EXAMPLES = int(os.environ.get("POLICY_FUZZ_EXAMPLES", "30"))
FUZZ = settings(max_examples=EXAMPLES, deadline=timedelta(seconds=10),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

VALID, ERROR, ANY = "valid", "error", "any"  # what a fragment's record must come out as
SEPARATORS = "\u2028\u2029\u0085\x1c\x1d\x1e\x0b\x0c\t\x00\r"
ODD_IDS = ["1.5", "1e999", "1.0", "-0.0", "1E3", "true", "false", "{}", "[]", '{"a": 1}',
           '"\\ud800"', '"\\udfff x"', "1" * 5000, "NaN", "-Infinity", '"' + "x" * 201 + '"']
HUGE_NUMBERS = ["9e999999", "-9e999999", "1e-999999", "1" * 5000, "0." + "1" * 5000,
                "1e999999999999999999999"]
NON_FINITE = ["NaN", "Infinity", "-Infinity"]


def run(data: bytes, fmt: str) -> tuple[int, list[dict[str, Any]], str]:
    """`policyc score` on `data`: exit code, output lines, standard error. Fails on an
    exception, on exit 70, and on output that is not UTF-8 JSON objects, one a line."""
    result = CliRunner().invoke(cli, ["score", "--pack", PACK, "--packs", str(GENERATED),
                                      "--format", fmt, "-"], input=data)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exc_info
    assert result.exit_code in (0, 3), (result.exit_code, result.stderr)
    text = result.stdout_bytes.decode("utf-8")
    assert text == "" or text.endswith("\n")
    lines = [json.loads(line) for line in text.split("\n")[:-1]]
    assert all(isinstance(line, dict) and {"id", "error"} <= set(line) for line in lines)
    return result.exit_code, lines, result.stderr


def check_lines(out: list[dict[str, Any]], expected: list[tuple[int, object, str]],
                unit: str) -> None:
    """One line per record, in order: the expected id, an error when one is due (starting
    with the record's position), none for a valid record."""
    assert len(out) == len(expected), (len(out), len(expected))
    for line, (position, record_id, kind) in zip(out, expected, strict=True):
        error = line["error"]
        if kind != ANY:
            assert line["id"] == record_id, (line, position, record_id)
        if kind == VALID:
            assert error is None and line["total"] is not None, line
        if kind == ERROR:
            assert error is not None, line
        if error is not None:
            assert re.match(rf"{unit} {position}[: ]", error), (error, position)


# ---------------------------------------------------------------- JSON fragments

# A fragment is made for a record id: its JSON text (one line), the id the output must show,
# and whether the record must be valid, an error, or either.
Fragment = Callable[[str], tuple[str, object, str]]


def _record_text(record: dict[str, Any], ascii_only: bool) -> str:
    return json.dumps(record, ensure_ascii=ascii_only)


def _with(text: str, extra: str) -> str:
    """`text` (an object) with `extra` (`"key": value`) added before its closing brace."""
    return text[:-1] + ", " + extra + "}"


@st.composite
def fragments(draw: st.DrawFn, syntax_errors: bool = True) -> Fragment:
    kind = draw(st.sampled_from(
        ["valid", "valid", "separators", "number_id", "huge_note", "non_finite", "deep",
         "deep_line", "repeated_key", "odd_id", "surrogate", "not_object", "nul_note",
         "huge_field"]
        + (["text", "mutation", "unclosed"] if syntax_errors else [])))
    ascii_only = draw(st.booleans())
    field = draw(st.sampled_from(["satisfaction_score", "catalogue_drug_share", "deposit",
                                  "_note", "level", "complaints"]))
    if kind == "valid":
        return lambda rid: (_record_text(full_marks_inpatient(id=rid), ascii_only), rid, VALID)
    if kind == "separators":
        name = draw(st.text(alphabet=SEPARATORS + "ab中", max_size=12))
        return lambda rid: (_record_text(full_marks_inpatient(id=rid, _note=name), ascii_only),
                            rid, VALID)
    if kind == "number_id":
        return lambda rid: (_record_text(full_marks_inpatient(id=int(rid[1:]) + 10**6),
                                         ascii_only), int(rid[1:]) + 10**6, VALID)
    if kind == "huge_note":
        number = draw(st.sampled_from(HUGE_NUMBERS[:5]))
        return lambda rid: (_with(_record_text(full_marks_inpatient(id=rid), ascii_only),
                                  f'"_note": {{"n": [{number}]}}'), rid, VALID)
    if kind == "huge_field":  # the field readers refuse it, naming the field, at once
        number = draw(st.sampled_from(HUGE_NUMBERS))
        fact = draw(st.sampled_from(["satisfaction_score", "catalogue_drug_share",
                                     "price_violations", "procurement_score"]))

        def huge(rid: str) -> tuple[str, object, str]:
            record = full_marks_inpatient(id=rid)
            record.pop(fact)
            return _with(_record_text(record, ascii_only), f'"{fact}": {number}'), rid, ERROR
        return huge
    if kind == "nul_note":
        return lambda rid: (_with(_record_text(full_marks_inpatient(id=rid), ascii_only),
                                  '"_note": "a\x00b\\u0000"'), rid, VALID)
    if kind == "non_finite":
        value = draw(st.sampled_from(NON_FINITE + HUGE_NUMBERS[5:]))
        nested = draw(st.booleans())
        extra = f'"_x": {{"y": [{value}]}}' if nested else f'"{field}": {value}'

        def non_finite(rid: str) -> tuple[str, object, str]:
            record = full_marks_inpatient(id=rid)
            record.pop(field, None)
            return _with(_record_text(record, ascii_only), extra), rid, ERROR
        return non_finite
    if kind == "deep":
        depth = draw(st.integers(33, 3000))
        return lambda rid: (_with(_record_text(full_marks_inpatient(id=rid), ascii_only),
                                  '"_note": ' + "[" * depth + "]" * depth), None, ERROR)
    if kind == "deep_line":
        depth = draw(st.integers(33, 100_000))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":[', "]}")]))
        closed = not syntax_errors or draw(st.booleans())  # an array needs its entries whole
        return lambda rid: (opener * depth + (closer * depth if closed else ""), None, ERROR)
    if kind == "repeated_key":
        key = draw(st.sampled_from(["id", "level", "complaints", "satisfaction_score"]))

        def repeated(rid: str) -> tuple[str, object, str]:
            record = full_marks_inpatient(id=rid)
            value = json.dumps(record[key])
            return _with(_record_text(record, ascii_only), f'"{key}": {value}'), rid, ERROR
        return repeated
    if kind == "odd_id":
        written = draw(st.sampled_from(ODD_IDS))

        def odd(rid: str) -> tuple[str, object, str]:
            record = full_marks_inpatient(id="@")
            return (_record_text(record, True).replace('"@"', written, 1), None, ERROR)
        return odd
    if kind == "surrogate":
        where = draw(st.sampled_from(['"name": "a\\ud800"', '"_note": ["\\udc00"]',
                                      '"\\udbff": 1']))
        return lambda rid: (_with(_record_text(full_marks_inpatient(id=rid), ascii_only),
                                  where), rid, ERROR)
    if kind == "not_object":
        value = draw(st.sampled_from(["1", '"x"', "null", "[]", "[{}]", "true", "NaN"]))
        return lambda rid: (value, None, ERROR)
    if kind == "text":
        text = draw(st.text(max_size=40).map(lambda t: t.replace("\n", " ")))
        return lambda rid: (text, None, ANY)
    if kind == "unclosed":
        return lambda rid: ('{"id": "' + rid + '", "_note": "abc', None, ERROR)
    # mutation: a valid record's text with a few characters changed
    edits = draw(st.lists(st.tuples(st.integers(0, 2000), st.sampled_from(
        ['"', "{", "}", "[", "]", ",", ":", "\\", "\x00", "\u2028", "\r", "", "1e9", "N"])),
        min_size=1, max_size=3))

    def mutated(rid: str) -> tuple[str, object, str]:
        text = _record_text(full_marks_inpatient(id=rid), ascii_only)
        for at, new in edits:
            at %= len(text)
            text = text[:at] + new + text[at + 1:]
        return text, None, ANY
    return mutated


BLANK_LINES = st.sampled_from(["", " ", "\t", "\r", "\u3000"])


@FUZZ
@given(st.lists(st.tuples(fragments(), st.lists(BLANK_LINES, max_size=2)), max_size=12),
       st.sampled_from(["\n", "\r\n"]))
def test_json_lines_one_output_line_per_record(
        parts: list[tuple[Fragment, list[str]]], newline: str) -> None:
    lines: list[str] = []
    expected: list[tuple[int, object, str]] = []
    for index, (fragment, blanks) in enumerate(parts):
        text, record_id, kind = fragment(f"R{index}")
        lines.append(text)
        if text.strip():
            expected.append((len(lines), record_id, kind))
        lines += blanks
    data = newline.join(lines).encode("utf-8", "surrogatepass")
    code, out, _ = run(data, "jsonl")
    check_lines(out, expected, "line")
    assert code == (0 if all(line["error"] is None for line in out) else 3)


@FUZZ
@given(st.lists(fragments(syntax_errors=False), max_size=12),
       st.sampled_from([", ", ",\n", " ,\r\n  "]))
def test_json_array_one_output_line_per_entry(parts: list[Fragment], separator: str) -> None:
    entries = [fragment(f"R{index}") for index, fragment in enumerate(parts)]
    data = ("[" + separator.join(text for text, _, _ in entries) + "]").encode(
        "utf-8", "surrogatepass")
    code, out, _ = run(data, "json")
    check_lines(out, [(index, record_id, kind) for index, (_, record_id, kind)
                      in enumerate(entries, start=1)], "record")
    assert code == (0 if all(line["error"] is None for line in out) else 3)


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["jsonl", "json", "csv"]))
def test_any_bytes_give_json_lines_or_a_refusal(data: bytes, fmt: str) -> None:
    code, out, err = run(data, fmt)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        assert (code, out) == (3, []) and "not UTF-8" in err
        return
    if fmt == "jsonl":
        assert len(out) == sum(1 for line in text.split("\n") if line.strip())


# ---------------------------------------------------------------- CSV

HEADER = [*full_marks_inpatient(), "_note"]


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _row(record_id: str, note: str = "") -> list[str]:
    record = full_marks_inpatient(id=record_id)
    return [*(_cell(value) for value in record.values()), note]


@st.composite
def csv_rows(draw: st.DrawFn) -> Callable[[str], tuple[list[str], object, str]]:
    kind = draw(st.sampled_from(["valid", "valid", "note", "blank", "more", "fewer",
                                 "list_cell", "oversized", "no_id"]))
    if kind == "valid":
        return lambda rid: (_row(rid), rid, VALID)
    if kind == "note":  # any text in an ignored column: quotes, line breaks, NUL, U+2028
        note = draw(st.text(alphabet=st.characters(codec="utf-8"), max_size=30))
        return lambda rid: (_row(rid, note), rid, VALID)
    if kind == "blank":
        cells = draw(st.lists(st.sampled_from(["", " ", "\t"]), max_size=4))
        return lambda rid: (cells, None, "blank")
    if kind == "more":
        return lambda rid: ([*_row(rid), "extra"], rid, ERROR)
    if kind == "fewer":
        cut = draw(st.integers(1, len(HEADER) - 1))
        return lambda rid: (_row(rid)[:cut], rid, ERROR)
    if kind == "list_cell":
        bad = draw(st.sampled_from(["[NaN]", "[" * 40, '[{"deduction": 1, "deduction": 1}]',
                                    "[1,", '["\\ud800"]', "[Infinity]"]))
        column = HEADER.index(draw(st.sampled_from(["complaints", "violations"])))
        return lambda rid: ([*_row(rid)[:column], bad, *_row(rid)[column + 1:]], rid, ERROR)
    if kind == "oversized":
        return lambda rid: (_row(rid, "x" * (MAX_CELL + 1)), rid, ERROR)
    # no_id: a record without an id is scored (its line has id null)
    return lambda rid: (["", *_row(rid)[1:]], None, VALID)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@FUZZ
@given(st.lists(csv_rows(), max_size=10),
       st.sampled_from([("\r\n", csv.QUOTE_MINIMAL), ("\n", csv.QUOTE_ALL)]))
def test_csv_one_output_line_per_row(rows: list[Callable[[str], tuple[list[str], object,
                                                                       str]]],
                                     style: tuple[str, int]) -> None:
    """(Python's writer leaves a lone \r unquoted when lines end in \n alone, and a lone
    \r ends a line, so those files quote every cell.)"""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=style[0], quoting=style[1])
    writer.writerow(HEADER)
    expected: list[tuple[int, object, str]] = []
    for index, make in enumerate(rows):
        cells, record_id, kind = make(f"R{index}")
        line = len(_LINE_BREAK.findall(buffer.getvalue())) + 1
        writer.writerow(cells)
        if kind != "blank":
            expected.append((line, record_id, kind))
    code, out, _ = run(buffer.getvalue().encode("utf-8"), "csv")
    check_lines(out, expected, "line")
    assert code == (0 if all(line["error"] is None for line in out) else 3)


@FUZZ
@given(st.lists(st.text(alphabet="abc 中\u2028\x00", max_size=8), min_size=1, max_size=6),
       st.data())
def test_csv_an_unclosed_quote_refuses_the_file_where_it_opens(notes: list[str],
                                                               data: st.DataObject) -> None:
    """Rows whose notes hold no quote, comma or line break; a quote opening one note runs
    to the end of the file: the file is refused, at that quote's line and column."""
    rows = [",".join(_row(f"R{i}", note)[:-1]).replace('"', "'") + "," + note
            for i, note in enumerate(notes)]
    broken = data.draw(st.integers(0, len(rows) - 1))
    column = len(rows[broken]) - len(notes[broken]) + 1
    rows[broken] = rows[broken][:column - 1] + '"' + notes[broken]
    text = ",".join(HEADER) + "\n" + "\n".join(rows) + "\n"
    code, out, err = run(text.encode("utf-8"), "csv")
    assert (code, out) == (3, [])
    assert f":{broken + 2}:{column}: the quote that opens this cell is never closed" in err
