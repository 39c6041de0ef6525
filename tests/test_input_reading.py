"""The input contract: every record found comes out once, in order, as a result or as an
error naming it; a file is refused only when its records cannot be told apart (issue 8).

The CLI runs in-process (`CliRunner` on `policy_dsl.cli.cli`), the way `policyc score` runs.
The full-marks records of `helpers.py` earn 100 of 100 (total "100.00"), item by item as
their docstrings say; a record beside them changes nothing in their scores unless a test
says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal as D
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import GENERATED, full_marks_inpatient, item, pack, score_all

from policy_dsl.cli import cli
from policy_dsl.runtime import InputRecord, InputUnreadable, read_records, score_batch
from policy_dsl.runtime.inputs import MAX_CELL
from policy_dsl.runtime.strict_json import MAX_DEPTH, StrictDecoder

PACK = "suzhou/inpatient-2023"


def score_cli(data: str | bytes, fmt: str, *args: str,
              pack_name: str = PACK) -> tuple[int, list[dict[str, Any]], str]:
    """Exit code, output lines (each must be JSON in UTF-8) and standard error."""
    result = CliRunner().invoke(
        cli, ["score", "--pack", pack_name, "--packs", str(GENERATED), "--format", fmt,
              *args, "-"],
        input=data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exc_info
    text = result.stdout_bytes.decode("utf-8")  # strict: the output is always UTF-8
    return result.exit_code, [json.loads(line) for line in text.split("\n") if line], \
        result.stderr


def jsonl(*records: Mapping[str, Any] | str) -> str:
    return "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)
                     for r in records) + "\n"


def one(text: str, fmt: str = "jsonl") -> InputRecord:
    [record] = read_records(text, fmt)  # type: ignore[arg-type]
    return record


# ---------------------------------------------------------------- ids


@pytest.mark.parametrize(("written", "problem"), [
    ("1.5", "id: expected a text or a whole number, got '1.5'"),
    ("1e999", "id: expected a text or a whole number, got '1E+999'"),
    ("1.0", "id: expected a text or a whole number, got '1.0'"),
    ("true", "id: expected a text or a whole number, got true"),
    ("{}", "id: expected a text or a whole number, got an object"),
    ("[1]", "id: expected a text or a whole number, got a list"),
    ('"\\ud800"', "id: text with an unpaired surrogate"),
    ("1" * 5000, "id: a number of more than 30 digits; write a long id as a text"),
    ('"' + "x" * 201 + '"', "id: longer than 200 characters"),
    ("NaN", "id: NaN is not a number"),
])
def test_a_bad_id_is_that_records_error(written: str, problem: str) -> None:
    record = one('{"id": ' + written + ', "level": "tertiary"}')
    assert (record.id, record.raw) == (None, None)
    assert record.error is not None and record.error.startswith(problem), record.error


@pytest.mark.parametrize(("written", "expected"), [
    ('"H1"', "H1"), ("12345", 12345), ("-7", -7), ('"  "', None), ("null", None),
    ("1" * 30, int("1" * 30)),
    ('"' + "x" * 200 + '"', "x" * 200), ('" H 1 "', " H 1 "), ('"\\t"', None), ('""', None),
    ('"医院-1"', "医院-1"), ('"\\u3000"', None),  # an ideographic space is blank too
])
def test_ids_are_texts_or_whole_numbers(written: str, expected: object) -> None:
    record = one('{"id": ' + written + "}")
    assert (record.id, record.error) == (expected, None)


def test_bad_ids_through_the_cli_keep_their_lines_with_id_null() -> None:
    """A lone surrogate cannot be written as UTF-8: the record's line says so, escaped, and
    every line is JSON (the full-marks records around it score 100.00)."""
    text = jsonl(full_marks_inpatient(id="A"), '{"id": "\\ud800"}', '{"id": 1.5}',
                 '{"id": 1e999}', '{"id": true}', full_marks_inpatient(id="B"))
    code, out, _ = score_cli(text, "jsonl")
    assert code == 3
    assert [o["id"] for o in out] == ["A", None, None, None, None, "B"]
    assert [o["total"] for o in (out[0], out[5])] == ["100.00", "100.00"]
    assert out[1]["error"].startswith("line 2: id: text with an unpaired surrogate "
                                      "(\\ud800-\\udfff)")
    assert out[2]["error"].startswith("line 3: id: expected a text or a whole number, got "
                                      "'1.5'")


def test_surrogates_anywhere_are_the_records_error_and_never_reach_the_output() -> None:
    """In a value, a key, or an ignored note: the message escapes it (`\\ud800`)."""
    text = jsonl('{"id": "A", "name": "x\\udc00y"}', '{"id": "B", "\\ud800k": 1}',
                 '{"id": "C", "_note": ["\\ud83d"]}', '{"id": "D", "_note": "\\ud83d\\ude00"}')
    records = read_records(text, "jsonl")
    assert [r.id for r in records] == ["A", "B", "C", "D"]
    assert records[0].error == "name: text with an unpaired surrogate (\\ud800-\\udfff), " \
        "which is not Unicode"
    assert records[1].error is not None and "the key '\\ud800k'" in records[1].error
    assert records[2].error is not None and records[2].error.startswith("_note[0]: text with")
    assert records[3].error is None  # a proper pair is one character: 😀
    assert records[3].raw is not None and records[3].raw["_note"] == "\U0001f600"
    code, out, _ = score_cli(text, "jsonl")
    assert code == 3
    assert [o["id"] for o in out] == ["A", "B", "C", "D"]


# ---------------------------------------------------------------- strict JSON


def test_a_repeated_key_is_the_records_error_naming_the_key() -> None:
    records = read_records(jsonl('{"id": "A", "level": "primary", "level": "tertiary"}',
                                 '{"id": "B", "complaints": [{"deduction": 1, "deduction": 0}]}'),
                           "jsonl")
    assert [(r.id, r.error) for r in records] == [
        ("A", "the key 'level' appears more than once in one object"),
        ("B", "complaints[0]: the key 'deduction' appears more than once in one object")]


@pytest.mark.parametrize(("record", "problem"), [
    ('{"id": "A", "satisfaction_score": NaN}', "satisfaction_score: NaN is not a number"),
    ('{"id": "A", "deposit": Infinity}', "deposit: Infinity is not a number"),
    ('{"id": "A", "x": -Infinity}', "x: -Infinity is not a number"),
    ('{"id": "A", "_note": {"a": [1, NaN]}}', "_note.a[1]: NaN is not a number"),
    ('{"id": "A", "complaints": [{"deduction": NaN}]}',
     "complaints[0].deduction: NaN is not a number"),
    ('{"id": "A", "x": 1e999999999999999999999}',
     "x: the number '1e999999999999999999999' is beyond exact decimal arithmetic"),
])
def test_nan_and_infinity_anywhere_are_the_records_error(record: str, problem: str) -> None:
    read = one(record)
    assert (read.id, read.raw) == ("A", None)
    assert read.error is not None and read.error.startswith(problem), read.error


def test_numbers_are_exact_decimals_made_from_their_text() -> None:
    """No float on the way in; long whole numbers and huge exponents are kept as written
    (the field readers judge them), and nothing raises on Python's int digit limit."""
    raw = one('{"a": 0.1, "b": 85.55, "c": 3, "d": ' + "9" * 5000 + ', "e": 9e999999, '
              '"f": -0.0}').raw
    assert raw is not None
    assert raw["a"] == D("0.1") and raw["b"] == D("85.55")
    assert raw["c"] == 3 and type(raw["c"]) is int
    assert isinstance(raw["d"], D) and raw["d"] == D("9" * 5000)
    assert isinstance(raw["e"], D) and raw["e"].as_tuple().exponent == 999999
    assert str(raw["f"]) == "-0.0"


def test_an_unreadable_number_is_found_whatever_the_callers_decimal_context() -> None:
    """A host that does not trap InvalidOperation would get a quiet NaN from Decimal():
    the reader still reports the number."""
    from decimal import InvalidOperation, localcontext

    with localcontext() as context:
        context.traps[InvalidOperation] = False
        record = one('{"id": "A", "_note": 1e999999999999999999999}')
    assert record.error == ("_note: the number '1e999999999999999999999' is beyond exact "
                            "decimal arithmetic")


def test_nesting_is_bounded_without_recursion() -> None:
    """32 levels (the record's own braces included) are read; 33 are the record's error,
    also under an ignored note; a line of 100,000 `[` is one record's error, not a crash."""
    def nested(levels: int) -> str:  # the record is level 1, the note's lists the rest
        return '{"id": "A", "_note": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}"

    assert one(nested(MAX_DEPTH)).error is None
    assert one(nested(MAX_DEPTH + 1)).error == "nested deeper than 32 levels of [ ] and { }"
    brackets_in_strings = '{"id": "A", "_note": "' + "[" * 100 + '"}'
    assert one(brackets_in_strings).error is None
    records = read_records("[" * 100_000 + "\n" + '{"id": "B"}\n' + "{" * 100_000, "jsonl")
    assert [(r.position, r.id, r.raw is None) for r in records] == [
        (1, None, True), (2, "B", False), (3, None, True)]


def test_an_unclosed_string_with_escaped_quotes_costs_linear_time() -> None:
    """A line of `"\\"\\"\\"…` with many brackets: the bracket count skips strings without
    backtracking (one pass), and the line is its record's error."""
    line = '{"id": "A", "_note": "' + '\\"' * 200_000 + "[" * 100
    assert one(line).error is not None


def test_json_lines_split_on_newline_only() -> None:
    """U+2028, U+2029, U+0085, \\x1c-\\x1e, \\x0b and \\x0c inside strings are data (as are
    tabs: control characters in strings are kept); \\r\\n ends a line; blank lines are passed
    over and line numbers stay those of the file."""
    odd = "\u2028\u2029\u0085\x1c\x1d\x1e\x0b\x0c\t"
    text = ('{"id": "A", "name": "a' + odd + 'b"}\r\n\r\n   \n'
            '{"id": "B", "_note": "' + odd + '"}\n\n{"id": "C"}')
    records = read_records(text, "jsonl")
    assert [(r.position, r.id, r.error) for r in records] == [
        (1, "A", None), (4, "B", None), (6, "C", None)]
    assert records[0].raw is not None and records[0].raw["name"] == "a" + odd + "b"


def test_the_strict_decoder_for_list_cells() -> None:
    """CSV cells holding lists go through the same strict decoder."""
    decoder = StrictDecoder()
    assert decoder.loads('[{"deduction": 1.5}]') == [{"deduction": D("1.5")}]
    for text, words in [("[NaN]", r"\[0\]: NaN is not a number"), ("[" * 40, "nested deeper"),
                        ('[{"a": 1, "a": 2}]', "the key 'a' appears more than once"),
                        ("[1,", "not valid JSON")]:
        with pytest.raises(ValueError, match=words):
            decoder.loads(text)


# ---------------------------------------------------------------- JSON array


def test_a_wrong_entry_of_an_array_is_that_records_error() -> None:
    text = json.dumps([full_marks_inpatient(id="A")])[:-1] + (
        ', 7, {"id": "B", "x": NaN}, {"id": "C", "a": 1, "a": 1}, {"id": 2.5}, '
        '{"id": "D", "_note": ' + "[" * 40 + "]" * 40 + "}, " +
        json.dumps(full_marks_inpatient(id="E")) + "]")
    code, out, _ = score_cli(text, "json")
    assert code == 3
    assert [o["id"] for o in out] == ["A", None, "B", "C", None, None, "E"]
    assert [o["error"] for o in out[1:6]] == [
        "record 2: expected an object {...}",
        "record 3 (id B): x: NaN is not a number (JSON has no NaN or Infinity)",
        "record 4 (id C): the key 'a' appears more than once in one object",
        "record 5: id: expected a text or a whole number, got '2.5' (a number with a fraction "
        "or an exponent)",
        "record 6: nested deeper than 32 levels of [ ] and { }"]
    assert out[0]["total"] == out[6]["total"] == "100.00"


@pytest.mark.parametrize(("text", "where"), [
    ('[{"id": "A"},\n {"id": "B"', "input:2:12: not valid JSON"),
    ('[{"id": "A"}]\n]', "input:2:1: not valid JSON (Extra data)"),
    ('[{"id": "A"},\n {"id": ' + "[" * 50 + "]" * 50 + "},\n {bad}]", "input:3:3: not valid JSON"),
    ('[{"id": ' + "[" * 50 + "]" * 50 + "}",
     "input:1:110: not valid JSON (the array is not closed)"),
    ('{"id": "A"}', "input: expected a JSON array of records"),
])
def test_an_unreadable_array_refuses_the_file_with_line_and_column(text: str, where: str) -> None:
    with pytest.raises(InputUnreadable) as refused:
        read_records(text, "json")
    assert str(refused.value).startswith(where), refused.value


def test_an_unreadable_array_is_exit_3_with_no_output() -> None:
    code, out, err = score_cli('[{"id": "A"},\n {"id": "B"', "json")
    assert (code, out) == (3, [])
    assert ":2:12: not valid JSON (Expecting ',' delimiter)" in err


def test_an_empty_array_has_no_records() -> None:
    assert read_records(" [ ] ", "json") == []
    assert read_records("[" + "[" * 40 + "]" * 40 + "]", "json")[0].error is not None


# ---------------------------------------------------------------- CSV


def test_an_unclosed_quote_refuses_the_file_at_the_line_where_it_opened() -> None:
    """Today the rows after it vanish into the cell; now the file is refused, at line 3
    column 3 where the quote opens."""
    text = 'id,name\nA,x\nB,"y\nC,z\nD,w\n'
    with pytest.raises(InputUnreadable) as refused:
        read_records(text, "csv")
    assert str(refused.value).startswith("input:3:3: the quote that opens this cell is "
                                         "never closed")


def test_a_quote_closing_in_a_later_row_is_reported_where_it_opened() -> None:
    """The quote opened at line 2 closes at line 4 (`"` before `q`), where `q` follows."""
    text = 'id,name\nA,"x\nB,y\nC,"q"\n'
    with pytest.raises(InputUnreadable) as refused:
        read_records(text, "csv")
    assert str(refused.value).startswith(
        "input:2:3: the quote that opens this cell closes at line 4, column 3, followed by "
        "'q' instead of a comma")


def test_quoted_cells_may_span_lines_and_hold_quotes() -> None:
    text = 'id,name\nA,"two\nlines, ""quoted"""\nB,plain\n'
    records = read_records(text, "csv")
    assert [(r.position, r.id) for r in records] == [(2, "A"), (4, "B")]
    assert records[0].raw == {"id": "A", "name": 'two\nlines, "quoted"'}


@pytest.mark.parametrize(("header", "problem"), [
    ("id,level,level", "input:1: the column 'level' appears twice in the header "
                       "(columns 2 and 3)"),
    ("id, level ,level", "input:1: the column 'level' appears twice"),
    ("id,,level", "input:1: column 2 of the header has no name"),
    ("id,level,", "input:1: column 3 of the header has no name"),
])
def test_a_header_must_name_each_column_once(header: str, problem: str) -> None:
    with pytest.raises(InputUnreadable) as refused:
        read_records(header + "\nA,tertiary,primary\n", "csv")
    assert str(refused.value).startswith(problem)


def test_an_oversized_cell_is_its_rows_error_and_later_rows_are_read() -> None:
    big = "x" * (MAX_CELL + 1)
    text = f'id,name\nA,{big}\nB,"{big}\nstill the cell"\nC,ok\nD,{"y" * MAX_CELL}\n'
    records = read_records(text, "csv")
    assert [(r.position, r.id, r.raw is None) for r in records] == [
        (2, "A", True), (3, "B", True), (5, "C", False), (6, "D", False)]
    assert records[0].error == "'name': the cell holds 1,048,577 characters, more than the " \
        "limit of 1,048,576"


def test_csv_text_given_from_python_with_a_lone_surrogate() -> None:
    """A file is UTF-8 and cannot hold one; text handed to `read_records` can: the cell is
    its row's error, the id is no id, a header name is escaped."""
    records = read_records("id,name,x\ud800\nA,ok,1\nB,a\udc00,1\n\ud801,z,1\n", "csv")
    assert [(r.id, r.error) for r in records] == [
        ("A", None),
        ("B", "'name': text with an unpaired surrogate (\\ud800-\\udfff), which is not "
              "Unicode"),
        (None, "id: text with an unpaired surrogate (\\ud800-\\udfff), which is not Unicode")]
    assert records[0].raw == {"id": "A", "name": "ok", "x\\ud800": "1"}


def test_wrong_cell_counts_nul_bytes_and_blank_rows() -> None:
    """Too many or too few cells are the row's error; NUL is data; rows of empty cells are
    passed over (spreadsheets write them), and positions are each row's first line."""
    text = "\n,,\nid,name\nA,x,extra\nB\n ,  \nC,a\x00b\n\nD,y\n"
    records = read_records(text, "csv")
    assert [(r.position, r.id, r.error) for r in records] == [
        (4, "A", "more cells (3) than the header has columns (2)"),
        (5, "B", "fewer cells (1) than the header has columns (2)"),
        (7, "C", None), (9, "D", None)]


def test_a_list_cell_with_nan_or_deep_nesting_is_a_field_error() -> None:
    """A CSV cell holding a list is decoded strictly too (the field readers' `_cell_json`):
    the field is named."""
    record = full_marks_inpatient(id="A")
    header = list(record)
    row = [json.dumps(v, ensure_ascii=False) if isinstance(v, list) else
           ("true" if v is True else "false" if v is False else str(v))
           for v in record.values()]
    bad_row = [("[NaN]" if key == "complaints" else "[" * 40 if key == "violations" else cell)
               for key, cell in zip(header, row, strict=True)]

    def as_csv(*rows: list[str]) -> str:
        return "\n".join(",".join(f'"{c.replace(chr(34), 2 * chr(34))}"' for c in r)
                         for r in rows)

    code, out, _ = score_cli(as_csv(header, row, ["B", *bad_row[1:]]), "csv")
    assert code == 3
    assert out[0]["total"] == "100.00"
    assert "violations: expected a JSON list, got '[[[[" in out[1]["error"]
    assert "complaints: expected a JSON list, got '[NaN]'" in out[1]["error"]


# ---------------------------------------------------------------- duplicate ids


def test_repeated_ids_are_errors_naming_each_other() -> None:
    text = jsonl(full_marks_inpatient(id="H1"), full_marks_inpatient(id="H2"),
                 full_marks_inpatient(id="H1"), '{"id": "H1", "level": "四级"}',
                 full_marks_inpatient(id=7), full_marks_inpatient(id="7 "))
    code, out, _ = score_cli(text, "jsonl")
    assert code == 3
    assert [o["error"] for o in out] == [
        "line 1 (id H1): id H1 appears more than once (also at lines 3 and 4)",
        None,
        "line 3 (id H1): id H1 is used again; first at line 1",
        "line 4 (id H1): id H1 is used again; first at line 1",
        "line 5 (id 7): id 7 appears more than once (also at line 6)",
        "line 6 (id 7 ): id 7  is used again; first at line 5",
    ]
    assert out[1]["total"] == "100.00"


def test_a_repeated_id_with_its_own_error_reports_both() -> None:
    records = read_records(jsonl('{"id": "A"}', '{"id": "A", "x": NaN}'), "jsonl")
    [first, second] = score_batch(pack(PACK), records)
    assert first.error == "line 1 (id A): id A appears more than once (also at line 2)"
    assert second.error == ("line 2 (id A): id A is used again; first at line 1; x: NaN is "
                            "not a number (JSON has no NaN or Infinity)")


def test_repeated_ids_take_no_part_in_the_ranking() -> None:
    """SZ-C, SZ-12: the pair D (survey 99) shares an id, so neither is ranked: P (90) is
    rank 1 (+1.0) and Q (80) rank 2 (+0.9). With a complaint of 1: item 12 =
    2 − 1 + 1.0 = 2 and 2 − 1 + 0.9 = 1.9. (Were D ranked, P would get +0.8: 1.8.)"""
    records = [
        full_marks_inpatient(id="D", satisfaction_score="99"),
        full_marks_inpatient(id="P", satisfaction_score="90", complaints=[{"deduction": 1}]),
        full_marks_inpatient(id="D", satisfaction_score="99"),
        full_marks_inpatient(id="Q", satisfaction_score="80", complaints=[{"deduction": 1}]),
    ]
    results = score_all(PACK, records)
    assert [r["id"] for r in results] == ["D", "P", "D", "Q"]
    assert results[0]["total"] is None and results[2]["total"] is None
    assert [item(results[1], 12), item(results[3], 12)] == [D("2"), D("1.9")]


def test_many_repeats_are_listed_briefly() -> None:
    records = [InputRecord(n, "X", {"id": "X"}, unit="line") for n in range(1, 9)]
    first = score_batch(pack(PACK), records)[0]
    assert first.error == ("line 1 (id X): id X appears more than once (also at lines 2, 3, "
                           "4, 5, 6 and 2 more)")


# ---------------------------------------------------------------- isolation


class _Faulty:
    """A real pack whose reading, scoring or cohort pass raises for one institution."""

    def __init__(self, stage: str, victim: str) -> None:
        self._pack = pack(PACK)
        self._stage, self._victim = stage, victim

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pack, name)

    def read_record(self, raw: Mapping[str, object]) -> Any:
        if self._stage == "read" and raw.get("id") == self._victim:
            raise KeyError("boom")
        return self._pack.read_record(raw)

    def compute_cohorts(self, facts: list[Any]) -> Any:
        if self._stage == "cohorts":
            raise ZeroDivisionError("cohort boom")
        return self._pack.compute_cohorts(facts)

    def evaluate(self, facts: Any, cohort: Any, explain: bool = True) -> Any:
        score = self._pack.evaluate(facts, cohort, explain)
        if self._stage == "evaluate" and score.exact < 100:
            raise ArithmeticError("evaluate boom")
        return score


@pytest.mark.parametrize(("stage", "message"), [
    ("read", "line 2 (id V): internal fault while scoring this record: KeyError: 'boom'; "
             "please report it"),
    ("evaluate", "line 2 (id V): internal fault while scoring this record: ArithmeticError: "
                 "evaluate boom; please report it"),
])
def test_a_fault_in_one_record_leaves_the_others_scored_and_exits_70(
        monkeypatch: pytest.MonkeyPatch, stage: str, message: str) -> None:
    """The victim V has one price violation (99 points, so `evaluate` faults on it); A and B
    earn 100 of 100 and are scored."""
    faulty = _Faulty(stage, "V")
    monkeypatch.setattr("policy_dsl.cli.load_pack", lambda *args, **kwargs: faulty)
    text = jsonl(full_marks_inpatient(id="A"), full_marks_inpatient(id="V", price_violations=1),
                 full_marks_inpatient(id="B"))
    code, out, err = score_cli(text, "jsonl")
    assert code == 70
    assert [(o["id"], o["total"], o["error"]) for o in out] == [
        ("A", "100.00", None), ("V", None, message), ("B", "100.00", None)]
    assert "internal fault while scoring 1 record(s)" in err


def test_a_records_fault_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """Silent by default (the runtime's logger has a NullHandler); a host that logs, or
    `POLICYC_DEBUG=1`, sees the traceback."""
    records = read_records(jsonl(full_marks_inpatient(id="V")), "jsonl")
    [outcome] = score_batch(_Faulty("read", "V"), records)  # type: ignore[arg-type]
    assert outcome.fault
    [logged] = caplog.records
    assert logged.getMessage() == "internal fault while scoring line 1 (id V)"
    assert logged.exc_info is not None and logged.exc_info[0] is KeyError


def test_a_fault_in_the_cohort_pass_is_every_valid_records_error() -> None:
    records = read_records(jsonl(full_marks_inpatient(id="A"), '{"id": "B"}'), "jsonl")
    outcomes = score_batch(_Faulty("cohorts", ""), records)  # type: ignore[arg-type]
    assert outcomes[0].fault
    assert (outcomes[0].error or "").startswith(
        "line 1 (id A): internal fault while scoring this record: ZeroDivisionError: cohort boom")
    assert not outcomes[1].fault  # B was invalid: its own error, not the fault
    assert re.match(r"line 2 \(id B\): \d+ required fields are missing: level, ",
                    outcomes[1].error or "")
