"""The data path of issue 10: records read, validated and scored one at a time in two passes,
the msgspec fast path for JSON records (the strict decoder judges it), labels as JSON keys,
and the progress line.

Expected scores are not recomputed here: each test compares two ways of reading the same
records (file and standard input, JSON Lines and CSV, the fast and the strict decoder), whose
results must agree to the byte, and counts records in and out.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import pty
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import GENERATED, ROOT, full_marks_inpatient, pack
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_dsl import progress, score_records
from policy_dsl.cli import cli
from policy_dsl.reading import fast_records, read_input
from policy_dsl.runtime import InputRecord, score_batch
from policy_dsl.runtime.batch import CohortInputs, plan_batch, planned_outcomes
from policy_dsl.runtime.inputs import _decoded_record
from policy_dsl.runtime.strict_json import MAX_DEPTH, SLOW, StrictDecoder

PACK = "suzhou/inpatient-2023"
FAST = fast_records()
needs_msgspec = pytest.mark.skipif(FAST is None, reason="msgspec is not installed")


def batch(count: int) -> list[dict[str, Any]]:
    """`count` records from benchmarks/make_batch.py (seeded), as dicts."""
    made = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_batch.py"),
                           str(count)], capture_output=True, text=True, check=True)
    return [json.loads(line) for line in made.stdout.splitlines()]


def score_cli(data: bytes, *args: str, fmt: str = "jsonl") -> tuple[int, bytes, str]:
    result = CliRunner().invoke(cli, ["score", "--pack", PACK, "--packs", str(GENERATED),
                                      "--format", fmt, *args], input=data)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exc_info
    return result.exit_code, result.stdout_bytes, result.stderr


# ---------------------------------------------------------------- the fast decoder


def both(text: str) -> tuple[InputRecord, InputRecord]:
    """The record as the strict decoder reads it, and as the fast path does."""
    data = text.encode("utf-8", "surrogatepass")
    strict = _decoded_record(StrictDecoder(), text, 1, "line")
    fast = _decoded_record(StrictDecoder(), text, 1, "line", FAST, data)
    return strict, fast


@needs_msgspec
@pytest.mark.parametrize("text", [
    '{"id": "a", "x": 1, "x": 2}',  # a repeated key
    '{"id": "a", "x" : 1, "x":2}',  # ... with a space before the colon
    '{"id": "a", "o": {"k": 1, "k": 2}}',  # ... in a nested object
    '{"id": "a", "s": "\\":", "x": 1, "x": 2}',  # ... beside a string holding \":
    '{"id": "a", "x": NaN}', '{"id": "a", "x": -Infinity}',
    '{"id": "a", "x": "\\ud800"}', '{"id": "a", "\\udc00": 1}',
    '{"id": "a", "x": ' + "[" * 40 + "]" * 40 + "}",
    '{"id": "a", "x": 1' + "0" * 5000 + "}",  # beyond Python's int digit limit
    '{"id": "a", "x": 1e999999999999999999}',  # beyond Decimal's exponent
    '{"id": "a", "x": 0.1000000000000000000000000000001}',  # 31 digits: exact
    '{"id": "a", "x": "tab\there"}',  # a control character inside a string
    '{"id": 1.5}', '{"id": 123456789012345678901234567890123}',
    '[1, 2]', '"x"', '5', 'null', 'true',
    '{"id": "a", "x": 85.50, "y": -0, "z": 1E+2}',
])
def test_the_fast_path_reads_every_hostile_record_as_the_strict_decoder(text: str) -> None:
    strict, fast = both(text)
    assert fast == strict
    assert type(fast.raw) is type(strict.raw)


@needs_msgspec
def test_a_repeated_key_is_sent_to_the_strict_decoder_by_the_key_count() -> None:
    """msgspec keeps the last of a repeated key; the count of keys written (`"` then `:`) is
    one more than the count decoded, so the text goes to the strict decoder, which says so."""
    assert FAST is not None
    assert FAST.decode(b'{"x": 1, "x" : 2}') is SLOW
    assert FAST.decode(b'{"x": 1, "y": 2}') == {"x": 1, "y": 2}
    # a string holding \": counts one key too many: the strict decoder reads it (exactly)
    assert FAST.decode(b'{"s": "a\\":b"}') is SLOW
    strict, fast = both('{"id": "a", "x": 1, "x" : 2}')
    assert fast.error == strict.error == "the key 'x' appears more than once in one object"


@needs_msgspec
def test_the_key_count_holds_when_strings_hold_colons() -> None:
    """The text's colons count its keys from above only: a colon inside a string (a time of
    day) leaves the count of `"` then `:` to prove that no key repeats."""
    assert FAST is not None
    assert FAST.decode(b'{"t": "08:30", "u": "a:b:c"}') == {"t": "08:30", "u": "a:b:c"}
    assert FAST.decode(b'{"x": "08:30", "x": 1}') is SLOW
    assert FAST.decode(b'{"v": [{"a": 1, "a": 2}], "w": "x:y"}') is SLOW  # in an entry
    assert FAST.decode(b'{"v": [{"a": 1, "b": 2}, {"a": 3}], "w": []}') == \
        {"v": [{"a": 1, "b": 2}, {"a": 3}], "w": []}


@needs_msgspec
def test_nesting_deeper_than_the_limit_is_found_in_the_decoded_value() -> None:
    """msgspec reads nesting up to its own limit; the fast path measures the levels it gave
    (an empty list counts as one) and sends a text deeper than MAX_DEPTH to the strict
    decoder, which says so; MAX_DEPTH levels exactly, and many shallow entries, stay fast."""
    assert FAST is not None
    inside = MAX_DEPTH - 1  # the record's own braces are the first level
    deepest = b'{"x": ' + b"[" * inside + b"]" * inside + b"}"
    assert FAST.decode(deepest) == {"x": json.loads(b"[" * inside + b"]" * inside)}
    deeper = b'{"x": [' + b"[" * inside + b"]" * inside + b"]}"
    assert FAST.decode(deeper) is SLOW
    wide = b'{"v": [' + b", ".join([b'{"a": [1]}'] * 40) + b"]}"
    assert FAST.decode(wide) == {"v": [{"a": [1]}] * 40}
    strict, fast = both('{"id": "a", "x": ' + "[" * 40 + "]" * 40 + "}")
    assert fast.error == strict.error == f"nested deeper than {MAX_DEPTH} levels of [ ] and {{ }}"
    assert FAST.decode(b'{"s": "a\\\\b"}') == {"s": "a\\b"}  # a backslash, no \\u


def _json_text(value: object) -> str:
    """JSON text of a value in which an object is a list of pairs, so that a key may repeat."""
    if isinstance(value, tuple):  # an object: its pairs
        return "{" + ", ".join(f"{json.dumps(k)}: {_json_text(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_json_text(entry) for entry in value) + "]"
    return json.dumps(value)


KEYS = st.sampled_from(["a", "b", "c", "v", "w", "{", "x:y", "[["])
def _nested_lists(levels: int) -> list[object]:
    value: list[object] = []
    for _ in range(levels - 1):
        value = [value]
    return value


SCALARS = st.one_of(st.integers(-5, 5), st.booleans(), st.none(),
                    st.sampled_from(["", "{", "}", "[", "a:b", '"', "{[{"]),
                    st.integers(MAX_DEPTH - 4, MAX_DEPTH + 2).map(_nested_lists))  # deep
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.lists(st.tuples(KEYS, inner), max_size=4).map(tuple)),
    max_leaves=12)
RECORDS = st.lists(st.tuples(KEYS, VALUES), max_size=6).map(tuple)


@needs_msgspec
@settings(max_examples=300, deadline=None)
@given(st.lists(RECORDS, min_size=1, max_size=6))
def test_the_fast_decoder_of_one_input_reads_each_record_as_the_strict_one(
        records: list[tuple[tuple[str, object], ...]]) -> None:
    """One fast decoder reads an input's records in turn (learning where records keep their
    objects): each is refused (left to the strict decoder) or read exactly as the strict
    decoder reads it; a record with a repeated key (or nested too deep) is always refused."""
    fast = fast_records()
    assert fast is not None
    for record in records:
        text = _json_text(record)
        try:
            strict: object = StrictDecoder().loads(text)
        except ValueError:
            strict = SLOW
        value = fast.decode(text.encode())
        if strict is SLOW:
            assert value is SLOW, text
        elif value is not SLOW:
            assert repr(value) == repr(strict), text


@needs_msgspec
def test_where_records_keep_their_objects_is_learnt_and_never_trusted() -> None:
    """After records whose objects were under "v", a record with another object elsewhere,
    a repeated key in an entry, a `{` in a string or deep lists elsewhere is still read
    exactly (or left to the strict decoder)."""
    fast = fast_records()
    assert fast is not None
    assert fast.decode(b'{"v": [{"a": 1}], "n": 1}') == {"v": [{"a": 1}], "n": 1}
    assert fast.decode(b'{"v": [{"a": 1}, {"a": 2}]}') == {"v": [{"a": 1}, {"a": 2}]}
    assert fast.decode(b'{"v": [{"a": 1, "a": 2}]}') is SLOW
    assert fast.decode(b'{"v": [], "w": {"b": 1, "b": 2}}') is SLOW
    assert fast.decode(b'{"v": [], "w": {"b": 1}}') == {"v": [], "w": {"b": 1}}
    assert fast.decode(b'{"v": [{"a": 1}], "v": [{"a": 1}]}') is SLOW
    assert fast.decode(b'{"v": [{"a": 1}], "s": "{"}') == {"v": [{"a": 1}], "s": "{"}
    deep = b'{"v": [], "x": ' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}"
    assert fast.decode(deep) is SLOW


@needs_msgspec
def test_an_unreadable_number_goes_to_the_strict_decoder_whatever_the_context() -> None:
    """Decimal() gives a quiet NaN for an exponent beyond its range when the caller's context
    does not trap InvalidOperation: the fast path traps it itself then."""
    from decimal import InvalidOperation, localcontext

    assert FAST is not None
    text = b'{"x": 1e999999999999999999999}'
    assert FAST.decode(text) is SLOW
    with localcontext() as context:
        context.traps[InvalidOperation] = False
        assert FAST.decode(text) is SLOW
        assert FAST.decode(b'{"x": 1e5}') == {"x": Decimal("1e5")}


@needs_msgspec
def test_numbers_never_pass_through_binary_floats() -> None:
    assert FAST is not None
    value = FAST.decode(b'{"x": 0.1, "y": 85.55, "z": 7}')
    assert value == {"x": Decimal("0.1"), "y": Decimal("85.55"), "z": 7}
    assert isinstance(value, dict) and isinstance(value["x"], Decimal)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5)
    | st.decimals(allow_nan=False, allow_infinity=False).map(str),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["a", "b", "id", "\u6807"]), children, max_size=3),
    max_leaves=8)


@needs_msgspec
@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "id", "\\u0061", "x\\\"y"]),
                          json_values), max_size=5),
       st.sampled_from(["", " ", "\t"]), st.sampled_from(["", "NaN", "\"\\udfff\""]))
def test_any_object_text_reads_the_same_on_both_paths(
        members: list[tuple[str, Any]], space: str, odd: str) -> None:
    """Objects written by hand (keys repeated at will, spaces before colons, escapes, NaN
    and a lone surrogate mixed in): the fast path gives exactly the strict decoder's record."""
    parts = [f'"{key}"{space}:{space}{json.dumps(value)}' for key, value in members]
    if odd:
        parts.append(f'"odd": {odd}')
    strict, fast = both("{" + ", ".join(parts) + "}")
    assert fast == strict


# ---------------------------------------------------------------- two passes


def test_cohort_inputs_keep_only_what_compute_cohorts_reads() -> None:
    """The first pass keeps, per valid record, only the facts the cohort values need:
    the satisfaction score it is ranked by and its own adjustment (SZ-12) in 附件1; the
    growths, peer group and given means in 附件2 (SZ2-4). Cohort values computed from them
    are those computed from the whole facts."""
    for name, fields in [("suzhou/inpatient-2023",
                          {"satisfaction_score", "direct_survey_adjustment"}),
                         ("suzhou/outpatient-2023",
                          {"cost_growth", "visits_growth", "peer_group",
                           "peer_cost_growth_given", "peer_visits_growth_given"})]:
        chosen = pack(name)
        records = batch(30) if name == PACK else batch_outpatient()
        facts = [chosen.read_record(record) for record in records]
        slim = CohortInputs(chosen, facts[0])
        kept = [slim.of(each) for each in facts]
        assert {field.name for field in dataclasses.fields(kept[0])} == fields
        assert chosen.compute_cohorts(kept) == chosen.compute_cohorts(facts)


def batch_outpatient() -> list[Any]:
    chosen = pack("suzhou/outpatient-2023")
    path = ROOT / "examples" / "suzhou-outpatient.csv"
    valid = []
    for record in read_input(path.read_bytes(), path.name, chosen).records:
        try:
            chosen.read_record(record.raw or {})
        except Exception:
            continue
        valid.append(record.raw)
    assert len(valid) >= 2
    return valid


def test_two_passes_give_what_one_list_gave() -> None:
    """Repeated ids (neither scored, each naming the other), an invalid record, cohort values
    over the valid ones: the streaming passes over an iterator agree with score_batch over
    the list, outcome by outcome."""
    records = batch(60)
    records[7]["id"] = records[3]["id"]
    records[11]["level"] = "huge"
    inputs = [InputRecord(i + 1, r.get("id"), r, None, "line") for i, r in enumerate(records)]
    chosen = pack(PACK)
    listed = score_batch(chosen, inputs, explain=False)
    plan = plan_batch(chosen, iter(inputs))
    streamed = list(planned_outcomes(chosen, plan, iter(inputs), explain=False))
    assert [(o.error, o.score and o.score.total) for o in streamed] == \
        [(o.error, o.score and o.score.total) for o in listed]
    assert streamed[3].error is not None and "line 8" in streamed[3].error
    assert streamed[7].error is not None and "line 4" in streamed[7].error
    assert sum(o.error is None for o in streamed) == 57


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_every_format_from_a_file_and_from_standard_input_gives_the_same_bytes(
        tmp_path: Path, fmt: str) -> None:
    """N in, N out, in order, errors in place; standard input (copied to a temporary file
    for the two passes) gives what the file gives."""
    records = batch(40)
    records[5]["id"] = records[2]["id"]
    records[9]["catalogue_drug_share"] = "many"
    if fmt == "jsonl":
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    elif fmt == "json":
        data = json.dumps(records, ensure_ascii=False, indent=1).encode()
    else:
        columns = list(dict.fromkeys(key for r in records for key in r))
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([["" if (v := r.get(c)) is None else
                           json.dumps(v) if isinstance(v, list) else
                           str(v).lower() if isinstance(v, bool) else str(v) for c in columns]
                          for r in records])
        data = text.getvalue().encode()
    path = tmp_path / f"batch.{fmt}"
    path.write_bytes(data)
    code_file, from_file, _ = score_cli(b"", str(path), fmt=fmt)
    code_stdin, from_stdin, _ = score_cli(data, "-", fmt=fmt)
    assert code_file == code_stdin == 3
    assert from_file == from_stdin
    lines = [json.loads(line) for line in from_file.decode().splitlines()]
    assert [line["id"] for line in lines] == [r["id"] for r in records]
    assert [i for i, line in enumerate(lines) if line["error"]] == [2, 5, 9]


@needs_msgspec
def test_the_output_is_the_same_byte_for_byte_on_both_decoders(
        monkeypatch: pytest.MonkeyPatch) -> None:
    records = batch(80)
    records[4]["extra"] = 1
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    lines[10] = lines[10][:-1] + ', "level": "primary"}'  # a repeated key
    lines[20] = lines[20][:-1] + ', "x": NaN}'
    data = ("\n".join(lines) + "\n").encode()
    fast = score_cli(data, "-")
    monkeypatch.setenv("POLICY_DSL_JSON", "stdlib")
    strict = score_cli(data, "-")
    assert fast == strict
    assert b"appears more than once" in fast[1] and b"NaN is not a number" in fast[1]


# ---------------------------------------------------------------- labels as keys


def test_json_keys_may_be_the_facts_labels() -> None:
    """A record keyed by labels (as `policyc describe` prints them) scores as the one keyed
    by names; a key naming no fact is reported once for the file, with the closest fact."""
    chosen = pack(PACK)
    by_name = full_marks_inpatient()
    labels = {fact.name: fact.label for fact in chosen.INFO.facts}
    by_label = {labels.get(key, key): value for key, value in by_name.items()}
    assert "医疗机构级别" in by_label
    wrong = {**by_name, "id": "W", "医疗机构级": "tertiary"}
    data = "\n".join(json.dumps(r, ensure_ascii=False)
                     for r in (by_name, {**by_label, "id": "L"}, wrong, wrong | {"id": "W2"}))
    code, out, err = score_cli(data.encode(), "-")
    first, second, third, fourth = (json.loads(line) for line in out.decode().splitlines())
    assert first["error"] is None and first["total"] == "100.00"
    assert second["error"] is None and second["items"] == first["items"]
    assert third["error"] is not None and fourth["error"] is not None
    assert code == 3
    assert err.count("names no fact") == 1
    assert "in 2 record(s); did you mean '医疗机构级别', the fact level?" in err


def test_an_unknown_keys_warning_names_the_id_given_under_its_label() -> None:
    """The warning for a key that names no fact points at its first record as the record's
    own error does: with its id, also when the id is given under its label (机构编码)."""
    facts = {key: value for key, value in full_marks_inpatient().items() if key != "id"}
    lines = [json.dumps({"机构编码": "H-1", **facts}, ensure_ascii=False),
             json.dumps({"机构编码": "H-2", **facts, "医疗机构级": "tertiary"},
                        ensure_ascii=False)]
    code, out, err = score_cli("\n".join(lines).encode(), "-")
    second = json.loads(out.decode().splitlines()[1])
    assert code == 3 and second["id"] == "H-2" and second["error"].startswith("line 2 (id H-2)")
    assert "(first at line 2 (id H-2), in 1 record(s);" in err, err


def test_the_id_under_its_label_is_the_records_id() -> None:
    """机构编码 (or 定点医疗机构编码) as a JSON key is the id, as it is as a header: the result
    line carries it, and a bad one is that record's id error (it was once dropped without a
    word, leaving every line's id null)."""
    record = full_marks_inpatient()
    facts = {key: value for key, value in record.items() if key != "id"}
    lines = [json.dumps({"机构编码": "H-1", **facts}, ensure_ascii=False),
             json.dumps({"定点医疗机构编码": 7, **facts}, ensure_ascii=False),
             json.dumps({"机构编码": True, **facts}, ensure_ascii=False)]
    code, out, _err = score_cli("\n".join(lines).encode(), "-")
    first, second, third = (json.loads(line) for line in out.decode().splitlines())
    assert (first["id"], first["total"]) == ("H-1", "100.00")
    assert (second["id"], second["total"]) == (7, "100.00")
    assert third["id"] is None and "id: expected a text or a whole number" in third["error"]
    assert code == 3
    results = list(score_records(pack(PACK), [{"机构编码": "H-2", **facts}]))
    assert [result.id for result in results] == ["H-2"]


def test_a_fact_given_by_name_and_label_is_that_records_error() -> None:
    record = dict(full_marks_inpatient(), 医疗机构级别="primary")
    read = read_input(json.dumps(record, ensure_ascii=False).encode(), "x.jsonl", pack(PACK))
    [only] = read.records
    assert only.raw is None and only.error is not None
    assert "both give the fact level" in only.error


# ---------------------------------------------------------------- progress


def test_the_progress_line_is_drawn_on_a_terminal_and_cleared(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On a pty: records, rate and time left, redrawn in place, cleared at the end."""
    ticks = iter(range(100))
    monkeypatch.setattr(progress.time, "monotonic", lambda: float(next(ticks)))
    main, secondary = pty.openpty()
    with open(secondary, "w", encoding="utf-8", closefd=True) as terminal:
        assert list(progress.with_progress(range(4), 8, stream=terminal)) == [0, 1, 2, 3]
    drawn = _read_all(main).decode()
    # one second a record: 1/8 done after 1 s, 1/s, 7 s left; 4/8 after 4 s, 4 s left
    assert "1/8 records · 1/s · 0:07 left" in drawn
    assert "[############------------]  50% 4/8 records · 1/s · 0:04 left" in drawn
    assert drawn.endswith("\r\x1b[K")


def test_no_progress_line_when_not_a_terminal_or_quiet() -> None:
    piped = io.StringIO()
    assert list(progress.with_progress(range(3), 3, stream=piped)) == [0, 1, 2]
    assert piped.getvalue() == ""
    main, secondary = pty.openpty()
    with open(secondary, "w", encoding="utf-8") as terminal:
        list(progress.with_progress(range(3), 3, enabled=False, stream=terminal))
    os.set_blocking(main, False)
    with pytest.raises(OSError):  # nothing to read (EAGAIN, or EIO once the other end closed)
        os.read(main, 100)
    os.close(main)


def test_policyc_score_draws_progress_on_a_terminal_only(tmp_path: Path) -> None:
    """The real command with its standard error on a pty: the line is drawn (and cleared)
    there; with --quiet, or with standard error a pipe, no control characters at all."""
    path = tmp_path / "b.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in batch(30000)))
    policyc = [sys.executable, "-c", "from policy_dsl.console import main; main()", "score",
               "--pack", PACK, "--packs", str(GENERATED), str(path), "-o", os.devnull]
    for extra, drawn in (([], True), (["--quiet"], False)):
        main, secondary = pty.openpty()
        done = subprocess.run([*policyc, *extra], stderr=secondary, stdout=subprocess.DEVNULL,
                              check=False, timeout=300)
        os.close(secondary)
        seen = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        os.close(main)
        assert done.returncode == 0
        assert (b"records \xc2\xb7" in seen) is drawn, seen[-300:]
        assert b"scored 30000 of 30000" in seen
    piped = subprocess.run(policyc, capture_output=True, check=False, timeout=300)
    assert b"\x1b" not in piped.stderr and b"\r" not in piped.stderr


# ---------------------------------------------------------------- --jobs


@pytest.fixture(scope="module")
def jobs_batch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """2,600 records with every kind of error in place (repeated ids, an invalid value, an
    unknown key, a line that is not JSON), in every input format: more than two spool
    steps (1,024 records) and chunks that do not start on one."""
    import openpyxl
    import pyarrow
    import pyarrow.parquet

    records = batch(2600)
    records[10]["id"] = records[2000]["id"]
    records[1500]["level"] = "huge"
    records[2100]["unknown_fact"] = 1
    directory = tmp_path_factory.mktemp("jobs")
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    lines[1800] = "{not json"
    paths = {fmt: directory / f"batch.{fmt}" for fmt in ("jsonl", "json", "csv", "xlsx",
                                                          "parquet")}
    paths["jsonl"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    paths["json"].write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    columns = [key for key in dict.fromkeys(key for r in records for key in r)
               if key != "unknown_fact"]  # a header naming no fact refuses a table
    rows = [["" if (v := r.get(c)) is None else json.dumps(v) if isinstance(v, list) else
             str(v).lower() if isinstance(v, bool) else str(v) for c in columns]
            for r in records]
    with paths["csv"].open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows([columns, *rows])
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("batch")
    sheet.append(columns)
    for row in rows:
        sheet.append([cell or None for cell in row])
    book.save(paths["xlsx"])
    table = pyarrow.table({c: [row[i] or None for row in rows] for i, c in enumerate(columns)})
    pyarrow.parquet.write_table(table, paths["parquet"], row_group_size=700)
    return paths


@pytest.mark.parametrize("output", ["jsonl", "csv", "xlsx", "parquet"])
@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "xlsx", "parquet"])
def test_jobs_give_the_same_output_byte_for_byte(
        jobs_batch: dict[str, Path], tmp_path: Path, fmt: str, output: str) -> None:
    """--jobs 1 and --jobs 3 (more processes than two cores: JSON Lines in three parts of the
    file, the other inputs in twelve chunks of at most 217 records) write the same file, for
    every input and output format; every record is in it once, in order, its error in place."""
    if fmt in ("xlsx", "parquet") and output not in ("jsonl", "parquet"):
        pytest.skip("the output writers are format-blind: jsonl and parquet cover them")
    made = {}
    for jobs in ("1", "3"):
        target = tmp_path / f"out-{jobs}.{output}"
        code, _, err = score_cli(b"", str(jobs_batch[fmt]), "-o", str(target), "--jobs", jobs,
                                 fmt=fmt)
        assert code == 3, err
        errors = {"jsonl": 5, "json": 4}.get(fmt, 3)  # not JSON; an unknown key; the others
        assert f"scored {2600 - errors} of 2600 record(s); {errors} error(s)" in err, err
        made[jobs] = target.read_bytes()
    if output == "xlsx":  # a workbook's zip holds the time it was written: compare the cells
        import openpyxl

        sheets = [[[c for c in row] for row in openpyxl.load_workbook(
            io.BytesIO(data), read_only=True)["results"].iter_rows(values_only=True)]
            for data in made.values()]
        assert sheets[0] == sheets[1] and len(sheets[0]) == 2601
        return
    assert made["1"] == made["3"]
    if output == "jsonl":
        lines = [json.loads(line) for line in made["1"].decode().splitlines()]
        assert len(lines) == 2600
        assert [i for i, line in enumerate(lines) if line["error"]][:2] == [10, 1500]


def test_jobs_interrupted_leave_no_file_and_no_process(tmp_path: Path,
                                                      jobs_batch: dict[str, Path]) -> None:
    """Ctrl-C during a --jobs run: exit 130, no output file (nor a temporary one), and no
    worker left running."""
    import signal
    import time

    big = tmp_path / "big.jsonl"
    big.write_bytes(jobs_batch["jsonl"].read_bytes() * 8)  # repeated ids: slower is fine
    target = tmp_path / "results.jsonl"
    policyc = Path(sys.executable).with_name("policyc")
    process = subprocess.Popen([str(policyc), "score", "--pack", PACK, "--packs",
                                str(GENERATED), str(big), "-o", str(target), "--jobs", "2",
                                "--engine", "record"],  # the worker processes
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    children: list[int] = []
    while not children:  # the workers exist once the first pass is done
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
        children = _children(process.pid)
    process.send_signal(signal.SIGINT)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 130, errors
    assert errors.strip().splitlines()[-1] == "policyc: interrupted"
    assert "Traceback" not in errors
    assert [p.name for p in tmp_path.iterdir()] == ["big.jsonl"]
    time.sleep(0.5)
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()
                and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def test_jobs_with_a_closed_pipe_exit_141_quietly(jobs_batch: dict[str, Path]) -> None:
    """`policyc score --jobs 2 ... | head -1`: exit 141, nothing on standard error but the
    first pass's warning."""
    policyc = Path(sys.executable).with_name("policyc")
    process = subprocess.Popen([str(policyc), "score", "--pack", PACK, "--packs",
                                str(GENERATED), str(jobs_batch["json"]), "--jobs", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    first = json.loads(process.stdout.readline())
    assert first["id"] == "B0000000"
    process.stdout.close()
    errors = process.stderr.read()
    assert process.wait(timeout=120) == 141
    assert b"Traceback" not in errors and b"interrupted" not in errors


def test_score_frame_accepts_label_columns() -> None:
    """A DataFrame headed with the facts' labels scores as one headed with their names."""
    import pandas

    from policy_dsl import score_frame

    chosen = pack(PACK)
    labels = {fact.name: fact.label for fact in chosen.INFO.facts}
    rows = batch(5)
    by_name = score_frame(chosen, pandas.DataFrame(rows))
    by_label = score_frame(chosen, pandas.DataFrame(
        [{labels.get(key, key): value for key, value in row.items()} for row in rows]))
    assert by_label.equals(by_name)
    assert by_name["error"].isna().all()


@pytest.mark.parametrize("blank", ["\x1c", " \x1f\t", "\u3000", "\x85", "\x0b\x0c"])
def test_a_line_blank_by_unicode_is_passed_over(blank: str) -> None:
    """Blank as Python's str.strip() sees it (separators \\x1c-\\x1f, an ideographic space),
    though bytes.strip() keeps them: no record, as before."""
    from policy_dsl.runtime.inputs import iter_json_lines

    lines = [b'{"id": "a"}\n', blank.encode() + b"\n", b'{"id": "b"}\n']
    assert [r.id for r in iter_json_lines(lines, fast=FAST)] == ["a", "b"]
    assert [r.id for r in iter_json_lines(lines)] == ["a", "b"]


def _read_all(main: int) -> bytes:
    """Everything written to a pty whose other end is closed (a read gives one write)."""
    seen = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    return seen
