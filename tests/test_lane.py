"""The column lane (`lane.py`, `policyc score --engine`): every record it cannot vouch
for goes to the record path, and the output is the record path's, byte for byte.

Expected results are not recomputed here: each test scores the same bytes with `--engine
record` (the oracle) and `--engine columns`, and asserts the same standard output, standard
error and exit code; then it asserts, from the lane's counters, which records the lane
scored itself and which it sent to the record path (so that a test of a guard fails when the
guard does not send its record, even if the output happens to agree). The pack is
suzhou/inpatient-2023, whose generated column form (`COLUMNS`, `score_columns`) the lane
calls.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner
from helpers import GENERATED, ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_dsl import lane
from policy_dsl.cli import cli
from policy_dsl.runtime.arithmetic import plain

sys.path.insert(0, str(ROOT / "benchmarks"))
import generate

PACK = "suzhou/inpatient-2023"
COUNT = 40


def batch_lines(count: int = COUNT, seed: int = 11) -> list[str]:
    """`count` valid records as `benchmarks/generate.py` writes them, a JSON text each."""
    return [generate.json_text(record) for record in generate.records(PACK, count, seed)]


LINES = batch_lines()


def text(lines: list[str], end: str = "\n") -> bytes:
    return ("\n".join(lines) + end).encode("utf-8")


def run(data: bytes, *args: str, engine: str, pack: str = PACK,
        source: str = "-") -> tuple[int, bytes, str]:
    lane.LAST_STATS = None
    result = CliRunner().invoke(cli, ["score", "--pack", pack, "--packs", str(GENERATED),
                                      "--engine", engine, "--quiet", *args, source],
                                input=data)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exc_info
    return result.exit_code, result.stdout_bytes, result.stderr


def both(data: bytes, *args: str, source: str = "-") -> tuple[tuple[int, bytes, str],
                                                              lane.LaneStats]:
    """The record path's result, asserted equal to the lane's; and the lane's counters."""
    oracle = run(data, *args, engine="record", source=source)
    by_columns = run(data, *args, engine="columns", source=source)
    stats = lane.LAST_STATS
    assert by_columns == oracle
    assert stats is not None, "the column lane was not taken"
    return oracle, stats


def test_the_lane_scores_a_valid_batch_itself() -> None:
    (code, out, err), stats = both(text(LINES))
    assert code == 0, err
    assert stats.vouched == COUNT and stats.record_path == 0
    assert len(out.splitlines()) == COUNT
    assert err == f"{PACK}: scored {COUNT} of {COUNT} record(s); 0 error(s)\n"


def test_auto_takes_the_lane_when_it_can_and_record_does_not(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lane, "AUTO_MIN_BYTES", 0)
    run(text(LINES), engine="auto")
    assert lane.LAST_STATS is not None and lane.LAST_STATS.vouched == COUNT
    run(text(LINES), engine="record")
    assert lane.LAST_STATS is None


def test_auto_keeps_the_record_path_for_a_small_input() -> None:
    """Under AUTO_MIN_BYTES (16 MiB) the lane's imports cost more than it saves."""
    assert len(text(LINES)) < lane.AUTO_MIN_BYTES
    run(text(LINES), engine="auto")
    assert lane.LAST_STATS is None


def test_auto_keeps_the_record_path_when_the_lane_would_vouch_for_few(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A file whose first MiB the lane would score less than 80% of itself (here every
    number written as text) goes to the record path whole; one with a few such lines
    still takes the lane. The output is the record path's either way."""
    monkeypatch.setattr(lane, "AUTO_MIN_BYTES", 0)
    quoted = [re.sub(r'"catalogue_drug_share": ([0-9.]+)', r'"catalogue_drug_share": "\1"',
                     line) for line in LINES]
    assert quoted != LINES
    code, out, err = run(text(quoted), engine="auto")
    assert lane.LAST_STATS is None
    assert (code, out, err) == run(text(quoted), engine="record")
    few = quoted[:COUNT // 10] + LINES[COUNT // 10:]  # 10% of the lines: the lane is taken
    run(text(few), engine="auto")
    assert lane.LAST_STATS is not None and lane.LAST_STATS.record_path == COUNT // 10


# ---------------------------------------------------------------- the guards, one by one


def sub(pattern: str, replacement: str) -> Callable[[str], str]:
    """A change to one line: the first match of `pattern` replaced (asserted to match)."""
    def change(line: str) -> str:
        changed, count = re.subn(pattern, replacement, line, count=1)
        assert count == 1, (pattern, line)
        return changed
    return change


def appended(extra: str) -> Callable[[str], str]:
    return lambda line: line[:-1] + extra + "}"


# name: (the change to line 6, whether the changed line still holds one record)
GUARDS: dict[str, tuple[Callable[[str], str], bool]] = {
    "escape in the id": (sub(r'"id": "B', r'"id": "\\u0042'), True),
    "escaped quote and colon in a string": (sub(r'"name": "', r'"name": "a\\":b'), True),
    "byte-order mark in a string": (sub(r'"name": "', '"name": "\ufeff'), True),
    "byte-order mark before the object": (lambda line: "\ufeff" + line, True),
    "carriage return": (lambda line: line + "\r", True),
    "tab between tokens": (sub(r', "level"', ',\t"level"'), True),
    "spaces around the object": (lambda line: " " + line + " ", True),
    "repeated key": (appended(', "price_violations": 1'), True),
    "null value": (sub(r'"name": "[^"]*"', '"name": null'), True),
    "null for a required fact": (sub(r'"price_violations": \d+', '"price_violations": null'),
                                 True),
    "unknown key": (appended(', "remarks": 1'), True),
    "unknown key inside a list's object": (
        sub(r'"complaints": \[', '"complaints": [{"deduction": 0.5, "x": 1}, '), True),
    "null inside a list's object": (
        sub(r'"complaints": \[', '"complaints": [{"deduction": null}, '), True),
    "space before a colon": (sub(r'"level":', '"level" :'), True),
    "number as a string": (sub(r'"catalogue_drug_share": ([0-9.]+)',
                               r'"catalogue_drug_share": "\1"'), True),
    "count as a string": (sub(r'"price_violations": (\d+)', r'"price_violations": "\1"'), True),
    "word for a number": (sub(r'"price_violations": \d+', '"price_violations": "n/a"'), True),
    "true/false as a string": (sub(r'"dual_channel": (true|false)', r'"dual_channel": "\1"'),
                               True),
    "id as a number": (sub(r'"id": "B0*(\d+)"', r'"id": 9\1'), True),
    "name as a number": (sub(r'"name": "[^"]*"', '"name": 5'), True),
    "exponent": (sub(r'"catalogue_drug_share": ([0-9.]+)',
                     r'"catalogue_drug_share": \g<1>0e-1'), True),
    "leading zero": (sub(r'"price_violations": (\d+)', r'"price_violations": 0\1'), True),
    "minus zero": (sub(r'"price_violations": \d+', '"price_violations": -0'), True),
    "minus zero point zero": (sub(r'"price_violations": \d+', '"price_violations": -0.0'),
                              True),
    "five decimals": (sub(r'"nonstandard_code_rate": ([0-9.]+)',
                          r'"nonstandard_code_rate": 0.00001'), True),
    "seventeen digits": (sub(r'"all_settlements": \d+',
                             '"all_settlements": 10000000000000000'), True),
    "a count beyond the lane's limit": (sub(r'"all_settlements": \d+',
                                            '"all_settlements": 100000000000000'), True),
    "label for the id": (sub(r'"id":', '"机构编码":'), True),
    "label for a fact": (sub(r'"level":', '"医疗机构级别":'), True),
    "enum alias": (sub(r'"level": "[a-z]+"', '"level": "三级"'), True),
    "id with a space before": (sub(r'"id": "', '"id": " '), True),
    "id with an ideographic space after": (sub(r'"id": "([^"]*)"', '"id": "\\1\u3000"'), True),
    "empty id": (sub(r'"id": "[^"]*"', '"id": ""'), True),
    "no id": (sub(r'"id": "[^"]*", ', ''), True),
    "id of 201 characters": (sub(r'"id": "[^"]*"', '"id": "' + "B" * 201 + '"'), True),
    "raw control character in the id": (sub(r'"id": "B', '"id": "\x01B'), True),
    "string for a list": (sub(r'"display_channels": \[[^\]]*\]', '"display_channels": "poster"'),
                          True),
    "null in a list": (sub(r'"display_channels": \[[^\]]*\]', '"display_channels": [null]'),
                       True),
    "deeper than the schema": (sub(r'"violations": \[', '"violations": [[[]], '), True),
    "not an object": (lambda line: "[1, 2]", True),
    "not JSON": (lambda line: '{"id": "B", tru}', True),
    "two objects on a line": (lambda line: line + " " + LINES[7], True),
    "blank line": (lambda line: "", False),
    "white space alone": (lambda line: " \u3000\t ", False),
}


@pytest.mark.parametrize("name", list(GUARDS))
def test_a_guard_sends_its_record_to_the_record_path(name: str) -> None:
    change, holds_a_record = GUARDS[name]
    lines = list(LINES)
    lines[5] = change(lines[5])
    (code, out, err), stats = both(text(lines))
    records = COUNT if holds_a_record else COUNT - 1
    assert len(out.splitlines()) == records
    assert stats.vouched == COUNT - 1, (name, stats)
    assert stats.record_path == (1 if holds_a_record else 0), (name, stats)
    assert code in (0, 3), err


def test_every_changed_line_of_a_batch_at_once() -> None:
    """All the guards' lines in one file, between valid ones: each its own line."""
    lines: list[str] = []
    for number, (change, _) in enumerate(GUARDS.values()):
        lines += [LINES[number % COUNT], change(LINES[(number + 1) % COUNT])]
    (code, _, err), stats = both(text(lines))
    assert code == 3
    assert stats.vouched >= len(GUARDS) - 1  # the valid lines (two may share an id)
    assert "line 2 " in err


def test_invalid_utf8_is_refused_whole_by_either_engine() -> None:
    data = text(LINES).replace(b"\xe7\xa4\xba", b"\xff\xa4\xba", 1)
    oracle = run(data, engine="record")
    assert oracle[0] == 3 and "not UTF-8" in oracle[2]
    assert run(data, engine="columns") == oracle


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_bad_byte_in_a_later_block_stops_the_run_before_any_output(
        jobs: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lane leaves the whole file's UTF-8 check to its blocks: a bad byte on line 33
    (the fifth block of 7 lines) stops the run with the record path's message, exit 3, and
    `-o` is not written."""
    monkeypatch.setattr(lane, "BLOCK_LINES", 7)
    lines = [line.encode("utf-8") for line in LINES]
    lines[32] = lines[32].replace(b"\xe7\xa4\xba", b"\xff\xa4\xba", 1)
    data = b"\n".join(lines) + b"\n"
    oracle = run(data, engine="record")
    assert oracle[0] == 3 and "<stdin>:33: not UTF-8 text (UTF-8 fails at line 33" in oracle[2]
    out = tmp_path / "out.jsonl"
    assert run(data, "--jobs", jobs, "-o", str(out), engine="columns") == oracle
    assert lane.LAST_STATS is None and not out.exists()


def test_ids_spaces_are_pythons() -> None:
    """ID_SPACES: every character `str.strip` removes, but the control characters (which
    send their line to the record path anyway)."""
    spaces = {chr(code) for code in range(0x110000) if chr(code).isspace()}
    assert set(lane.ID_SPACES) == spaces - {chr(code) for code in range(0x20)}


# ---------------------------------------------------------------- blocks and the batch


def test_line_numbers_after_block_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lane, "BLOCK_LINES", 7)
    lines = list(LINES)
    lines[22] = GUARDS["word for a number"][0](lines[22])
    lines[29] = GUARDS["unknown key"][0](lines[29])
    lines.insert(14, "")  # a blank line: the later lines' numbers move by one
    (code, _, err), stats = both(text(lines))
    assert code == 3
    assert stats.blocks == 6 and stats.record_path == 2
    assert "line 24 (id B0000022)" in err and "line 31 (id B0000029)" in err


def test_an_id_repeated_across_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both records are vouched in the first pass; the second sends both to the record
    path, whose errors name each other's line."""
    monkeypatch.setattr(lane, "BLOCK_LINES", 8)
    lines = list(LINES)
    lines[33] = lines[33].replace('"B0000033"', '"B0000002"')
    (code, out, err), stats = both(text(lines))
    assert code == 3
    assert stats.vouched == COUNT and stats.demoted == 2
    assert "appears more than once (also at line 34)" in err
    errors = [json.loads(line)["error"] for line in out.splitlines()]
    assert [n for n, error in enumerate(errors) if error] == [2, 33]


def test_an_id_repeated_by_a_record_the_record_path_reads() -> None:
    lines = list(LINES)
    lines[9] = GUARDS["escape in the id"][0](lines[9]).replace("0000009", "0000003")
    (code, _, err), stats = both(text(lines))
    assert code == 3 and stats.demoted == 1 and stats.record_path == 1
    assert "id B0000003 is used again; first at line 4" in err


def test_a_batch_whose_every_block_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lane, "BLOCK_LINES", 9)
    for change in (GUARDS["not JSON"][0], GUARDS["string for a list"][0],
                   GUARDS["space before a colon"][0]):
        (_, out, _), stats = both(text([change(line) for line in LINES]))
        assert stats.vouched == 0 and stats.record_path == COUNT and stats.blocks == 5
        assert len(out.splitlines()) == COUNT


@pytest.mark.parametrize("data", [b"", b"\n", b"\n \n\r\n", "\ufeff".encode()],
                         ids=["empty", "a line break", "blank lines", "a BOM alone"])
def test_an_empty_file(data: bytes) -> None:
    (code, out, err), stats = both(data)
    assert (code, out) == (0, b"")
    assert err == f"{PACK}: scored 0 of 0 record(s); 0 error(s)\n"
    assert stats.vouched == 0


def test_a_file_without_a_final_line_break(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_bytes(text(LINES, end=""))
    (_, out, _), stats = both(b"", source=str(path))
    assert stats.vouched == COUNT
    assert out.endswith(b"}\n")


def test_standard_input_and_a_file_agree(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_bytes(text(LINES))
    assert both(b"", source=str(path))[0] == both(text(LINES))[0]


@pytest.mark.parametrize("jobs", ["2", "3"])
def test_jobs_write_what_one_thread_writes(jobs: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--jobs N` works on N blocks at a time in threads: 6 blocks of 7 lines, with records
    for the record path in three of them and an id repeated across two."""
    monkeypatch.setattr(lane, "BLOCK_LINES", 7)
    lines = list(LINES)
    lines[3] = GUARDS["unknown key"][0](lines[3])
    lines[17] = GUARDS["word for a number"][0](lines[17])
    lines[36] = lines[36].replace('"B0000036"', '"B0000009"')
    one, _ = both(text(lines))
    many, stats = both(text(lines), "--jobs", jobs)
    assert many == one
    assert (stats.blocks, stats.vouched, stats.record_path, stats.demoted) == (6, 38, 2, 2)


def test_warnings_are_the_record_paths() -> None:
    """Every percent given as a fraction (a warning naming the column) and an unknown key
    (a warning naming its first record): vouched and record-path records together."""
    lines = [re.sub(r'"catalogue_drug_share": ([0-9.]+)',
                    lambda match: f'"catalogue_drug_share": '
                                  f'{Decimal(match.group(1)) / 100}', line)
             for line in LINES]
    lines[12] = GUARDS["number as a string"][0](lines[12])
    lines[20] = GUARDS["unknown key"][0](lines[20])
    (code, _, err), stats = both(text(lines))
    assert "percent column 'catalogue_drug_share'" in err
    assert "the key 'remarks' names no fact of this standard (first at line 21" in err
    assert stats.record_path == 2 and code == 3


def test_a_fraction_above_one_in_the_lane_stops_the_warning() -> None:
    lines = [re.sub(r'"catalogue_drug_share": ([0-9.]+)', '"catalogue_drug_share": 0.5', line)
             for line in LINES]
    lines[30] = lines[30].replace('"catalogue_drug_share": 0.5', '"catalogue_drug_share": 1.5')
    (_, _, err), stats = both(text(lines))
    assert "percent column" not in err and stats.vouched == COUNT


# ---------------------------------------------------------------- --engine and -o


@pytest.mark.parametrize(("args", "reason"), [
    (["--explain"], "writes no explanations"),
    (["--output-format", "csv"], "writes JSON Lines only"),
    (["--format", "json"], "reads JSON Lines in UTF-8 only"),
    (["--pack", "suzhou/outpatient-2023"], "has no column plan"),
    (["--pack", "jilin/medical-inpatient-2026"], "settles under a framework"),
])
def test_engine_columns_is_refused_with_its_reason(args: list[str], reason: str) -> None:
    data = b"[]" if "json" in args else text(LINES)
    code, out, err = run(data, *args, engine="columns")
    assert code == 2 and out == b""
    assert err.startswith("policyc: --engine columns: the ") and reason in err
    assert err.count("\n") == 1
    if args != ["--explain"]:  # auto scores it the record path's way
        assert run(data, *args, engine="auto")[0] in (0, 3)


def test_an_output_file_is_written_whole_or_not_at_all(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.jsonl"
    target.write_bytes(b"before\n")
    monkeypatch.setattr(lane, "BLOCK_LINES", 10)
    calls = []
    score_block = lane.column_form.score_block

    def failing(pack: Any, block: Any, cohorts: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("a fault in the third block")
        return score_block(pack, block, cohorts)

    monkeypatch.setattr(lane.column_form, "score_block", failing)
    result = CliRunner().invoke(cli, ["score", "--pack", PACK, "--packs", str(GENERATED),
                                      "--engine", "columns", "-o", str(target), "-"],
                                input=text(LINES))
    assert isinstance(result.exception, RuntimeError)  # main() makes it exit 70
    assert target.read_bytes() == b"before\n"
    assert [path.name for path in tmp_path.iterdir()] == ["out.jsonl"]
    monkeypatch.undo()
    code, _, _ = run(text(LINES), "-o", str(target), engine="columns")
    assert code == 0 and len(target.read_bytes().splitlines()) == COUNT


# ---------------------------------------------------------------- writing numbers


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-(2**62), 2**62), min_size=1, max_size=20))
def test_numbers_are_written_as_plain_writes_them(values: list[int]) -> None:
    texts = lane._plain_text(pa, np, np.array(values, dtype=np.int64), 6).to_pylist()
    assert texts == [plain(Decimal(value).scaleb(-6)) for value in values]
    cents = [value // 10**4 for value in values]
    totals = lane._decimal_text(pa, np, np.array(cents, dtype=np.int64), 2).to_pylist()
    assert totals == [str(Decimal(value).scaleb(-2)) for value in cents]


# ---------------------------------------------------------------- hypothesis


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.integers(0, COUNT - 1), st.sampled_from(sorted(GUARDS))),
                        max_size=6),
       block_lines=st.sampled_from([3, 16, 32_768]), end=st.sampled_from(["\n", ""]),
       jobs=st.sampled_from(["1", "2"]))
def test_any_mix_of_changed_lines_scores_as_the_record_path(
        changes: list[tuple[int, str]], block_lines: int, end: str, jobs: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lane, "BLOCK_LINES", block_lines)
    lines = list(LINES[:20])
    for number, name in changes:
        with contextlib.suppress(AssertionError):  # a change that no longer applies
            lines[number % 20] = GUARDS[name][0](lines[number % 20])
    both(text(lines, end), "--format", "jsonl",  # a first line `[1, 2]` is still JSON Lines
         "--jobs", jobs)
