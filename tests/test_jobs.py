"""`policyc score`'s two passes and `--jobs`: the first pass's store (in memory, spilled
beyond its budget) and JSON Lines read in parts by several processes.

Expected scores are not recomputed here: each test compares two ways of running the same
batch (one process and several, in memory and spilled), whose output and messages must agree
to the byte, and counts records in and out.
"""

from __future__ import annotations

import io
import itertools
import json
import pickle
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers import GENERATED, pack
from hypothesis import given, settings
from hypothesis import strategies as st
from test_streaming import PACK, batch, score_cli

from policy_dsl.jobs import Part, line_parts
from policy_dsl.reading import read_input
from policy_dsl.runtime import store as fact_store
from policy_dsl.runtime.batch import outcome_json, plan_batch, stored_outcomes
from policy_dsl.runtime.store import FactStore

# ---------------------------------------------------------------- parts of a file

LINES = st.lists(st.sampled_from(['{"id": 1}', '{"id": "二"}', "", "  ", "\r", "\u3000",
                                  "{not json", '{"a": "x\\ny"}', "\ufeff{}"]), max_size=30)


@settings(max_examples=300, deadline=None)
@given(lines=LINES, count=st.integers(1, 7), last_break=st.booleans(),
       crlf=st.booleans())
def test_parts_are_whole_lines_numbered_as_in_the_file(lines: list[str], count: int,
                                                       last_break: bool, crlf: bool) -> None:
    """The parts cover the file once, in order, each starting after a line break (or at
    the start), at most `count` of them, each numbered by the line breaks before it."""
    data = ("\r\n" if crlf else "\n").join(lines).encode("utf-8")
    data += b"\n" if last_break and data else b""
    parts = line_parts(io.BytesIO(data), count)
    assert 1 <= len(parts) <= count
    assert parts[0].start == 0 and parts[-1].stop == len(data)
    for before, after in itertools.pairwise(parts):
        assert before.stop == after.start and before.start < before.stop
        assert data[after.start - 1:after.start] == b"\n"
    for part in parts:
        assert part.line == data[:part.start].count(b"\n") + 1


def test_parts_of_a_file_on_disk(tmp_path: Path) -> None:
    """Three parts of ten lines of 10 bytes (100 bytes): cut after bytes 39 and 69 (the
    line breaks after bytes 33 and 66), so lines 1..4, 5..7 and 8..10."""
    path = tmp_path / "ten.jsonl"
    path.write_bytes(b"".join(b'{"id": %d}\n' % (n % 10) for n in range(10)))
    with path.open("rb") as stream:
        parts = line_parts(stream, 3)
    assert [(p.start, p.stop, p.line) for p in parts] == [(0, 40, 1), (40, 70, 5),
                                                          (70, 100, 8)]


# ---------------------------------------------------------------- --jobs over parts


def _percent_facts() -> list[str]:
    return [fact.name for fact in pack(PACK).INFO.facts if fact.type == "percent"]


def hostile_lines(count: int, fractions: bool = False) -> bytes:
    """`count` records as JSON Lines with what a part's reader must get right: a BOM,
    CRLF line ends, blank lines (also blank by Unicode alone), a line that is not JSON, ids
    repeated far apart, an unknown key in the last part, a fact under its label; with
    `fractions`, every percent fact written as a fraction (a warning)."""
    records: list[dict[str, Any]] = batch(count)
    records[3]["id"] = records[count - 5]["id"]  # repeated across parts
    records[count // 2]["id"] = records[count // 2 + 1]["id"]  # maybe across a cut
    records[count - 2]["unknown_fact"] = 1
    records[7]["id"] = str(records[7]["id"]) + " "  # the same id as text, spaced
    records[8]["id"] = records[7]["id"].strip()
    label = next(fact for fact in pack(PACK).INFO.facts if fact.label)
    if label.name in records[11]:
        records[11][label.label] = records[11].pop(label.name)
    if fractions:
        for record in records:
            for name in _percent_facts():
                if isinstance(record.get(name), str | int):  # "85.5" -> "0.855"
                    record[name] = str(Decimal(str(record[name])) / 100)
    lines = [json.dumps(r, ensure_ascii=False, default=str) for r in records]
    lines[20] = "{not json"
    lines[30] = lines[30] + "\r"
    lines.insert(40, "")
    lines.insert(41, " \u3000 ")
    lines.insert(count // 3, "\r")
    text = "\ufeff" + "\n".join(lines) + "\n\n"
    return text.encode("utf-8").replace(b"\n", b"\r\n", 5)


@pytest.mark.parametrize("fractions", [False, True], ids=["scores", "fractions"])
def test_jobs_over_parts_say_and_write_what_one_process_does(tmp_path: Path,
                                                            fractions: bool) -> None:
    """--jobs 2, 3 and 7 (more processes than cores) over a hostile JSON Lines file: the
    same bytes out, the same messages (warnings, counts, the first errors) and exit code as
    --jobs 1; every record once, in order, its error naming its line."""
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(hostile_lines(300, fractions))
    made: dict[str, tuple[int, bytes, str]] = {}
    for jobs in ("1", "2", "3", "7"):
        target = tmp_path / f"out-{jobs}.jsonl"
        code, _, err = score_cli(b"", str(path), "-o", str(target), "--jobs", jobs)
        made[jobs] = (code, target.read_bytes(), err)
    assert made["1"][0] == 3
    assert "unknown_fact" in made["1"][2]
    assert ("percent column" in made["1"][2]) == fractions
    for jobs in ("2", "3", "7"):
        assert made[jobs] == made["1"]
    lines = [json.loads(line) for line in made["1"][1].decode().splitlines()]
    assert len(lines) == 300
    errors = [line["error"] for line in lines if line["error"]]
    assert any(error.startswith("line 21: not valid JSON") for error in errors)


def test_jobs_over_parts_write_every_table_format_as_one_process(tmp_path: Path) -> None:
    """A table out (CSV, Parquet) from processes over parts: the same bytes."""
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(hostile_lines(120))
    for output in ("csv", "parquet"):
        made = {}
        for jobs in ("1", "2"):
            target = tmp_path / f"out-{jobs}.{output}"
            code, _, err = score_cli(b"", str(path), "-o", str(target), "--jobs", jobs)
            assert code == 3, err
            made[jobs] = target.read_bytes()
        assert made["1"] == made["2"]


def test_jobs_over_an_empty_or_blank_file(tmp_path: Path) -> None:
    for data in (b"", b"\n\n\r\n", b"\xef\xbb\xbf"):
        path = tmp_path / "blank.jsonl"
        path.write_bytes(data)
        target = tmp_path / "out.jsonl"
        code, _, err = score_cli(b"", str(path), "-o", str(target), "--jobs", "2")
        assert (code, target.read_bytes()) == (0, b""), err
        assert "scored 0 of 0 record(s)" in err


# ---------------------------------------------------------------- the store


def test_a_store_over_its_budget_spills_and_gives_the_same_outcomes() -> None:
    """A budget of about 40 records' facts: the rest (2,560 of 2,600, more than two spill
    steps) pickled to a file and read back, from any start, as the in-memory store gives
    them; every outcome the same."""
    chosen = pack(PACK)
    data = hostile_lines(2600)
    records = read_input(data, "b.jsonl", chosen).records
    with FactStore(chosen) as whole, FactStore(chosen, budget=1) as probe:
        plan = plan_batch(chosen, records, None, whole)
        plan_batch(chosen, records[:1], None, probe)
        size = probe.facts_size + fact_store._ENTRY_SIZE
        with FactStore(chosen, budget=40 * size) as spilled:
            again = plan_batch(chosen, records, None, spilled)
            assert again == plan
            assert whole.path is None and len(whole.kept) == 2600
            assert spilled.path is not None and 30 <= len(spilled.kept) <= 40
            for start, stop in [(0, 2600), (35, 1100), (1200, 1201), (2599, 2600),
                                (len(spilled.kept), 2600)]:
                assert list(spilled.entries(start, stop)) == list(whole.entries(start, stop))
            expected = [outcome_json(o) for o in stored_outcomes(chosen, plan, whole, False)]
            assert [outcome_json(o) for o in stored_outcomes(chosen, again, spilled, False)] \
                == expected
            assert len(expected) == 2600
        assert spilled.path is None  # closed: the file removed


def test_score_spilling_writes_what_it_writes_in_memory(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """policyc score with a memory budget of 64 KiB (most records spilled), in one process
    and over parts in two: the output of the whole batch in memory."""
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(hostile_lines(1500))
    target = tmp_path / "memory.jsonl"
    _, _, err = score_cli(b"", str(path), "-o", str(target))
    expected = target.read_bytes()
    monkeypatch.setattr(fact_store, "MEMORY_BUDGET", 64 << 10)
    for jobs in ("1", "2"):
        spilled = tmp_path / f"spilled-{jobs}.jsonl"
        _, _, spilled_err = score_cli(b"", str(path), "-o", str(spilled), "--jobs", jobs)
        assert spilled.read_bytes() == expected
        assert spilled_err == err
    assert GENERATED.is_dir()


def test_values_sent_by_field_come_back_in_place() -> None:
    """Cohort values sent a list per field: the objects made again, equal, in order, with
    an exception (as its outcome shows it) and None where they were; a list of mixed
    classes goes whole."""
    from policy_dsl.jobs import ByField
    from policy_dsl.runtime.values import FieldError, RecordInvalid

    kind = pack(PACK).module.Cohorts
    names = [field.name for field in __import__("dataclasses").fields(kind)]
    made = [kind(**{name: Decimal(n) if n % 2 else n for name in names}) for n in range(5)]
    invalid = RecordInvalid([FieldError("satisfaction_score", "not a number")])
    values: list[Any] = [made[0], invalid, made[1], None, made[2], made[3], made[4]]
    sent = ByField.of(values)
    assert sent.kind == "Cohorts" and sorted(sent.others) == [1, 3]
    back = pickle.loads(pickle.dumps(sent)).objects(kind)
    # a RecordInvalid does not pickle (its errors are not its args): sent by its text
    assert isinstance(back[1], Exception) and str(back[1]) == str(invalid) == \
        "satisfaction_score: not a number"
    assert back[3] is None
    assert [back[i] for i in (0, 2, 4, 5, 6)] == made
    mixed = ByField.of([made[0], Part(0, 1, 1)])
    assert mixed.whole is not None and mixed.objects(kind) == [made[0], Part(0, 1, 1)]


def test_a_fault_sent_from_another_process_reads_as_it_did() -> None:
    """The cohort fault a part's process gets says what one process says: the class's
    name and the message, also for an exception whose class cannot be pickled."""
    from policy_dsl.runtime.batch import _fault, sendable
    from policy_dsl.runtime.inputs import InputRecord

    class Local(ArithmeticError):  # defined here: pickle cannot find it
        pass

    record = InputRecord(7, "SZ-1", None, None, "line")
    for error in (Local("division by zero in a cohort"), ZeroDivisionError("x / 0")):
        sent = pickle.loads(pickle.dumps(sendable(error)))
        assert _fault(record, sent) == _fault(record, error)
    assert "Local: division by zero in a cohort; please report it" in _fault(
        record, sendable(Local("division by zero in a cohort")))


def test_jobs_over_parts_take_cohort_values_from_a_snapshot(tmp_path: Path) -> None:
    """--cohorts SNAPSHOT with --jobs 2 over parts: each process takes its records' values
    from the snapshot, as one process does (the first 200 records scored against the
    snapshot of all 300)."""
    from click.testing import CliRunner

    from policy_dsl.cli import cli

    whole = tmp_path / "whole.jsonl"
    whole.write_bytes(hostile_lines(300))
    snapshot = tmp_path / "snapshot.json"
    made = CliRunner().invoke(cli, ["cohorts", "--pack", PACK, "--packs", str(GENERATED),
                                    str(whole), "-o", str(snapshot)])
    assert snapshot.exists(), made.output
    some = tmp_path / "some.jsonl"
    some.write_bytes(b"".join(whole.read_bytes().splitlines(keepends=True)[:200]))
    outputs = {}
    for jobs in ("1", "2"):
        target = tmp_path / f"out-{jobs}.jsonl"
        code, _, err = score_cli(b"", str(some), "-o", str(target), "--cohorts",
                                 str(snapshot), "--jobs", jobs)
        outputs[jobs] = (code, target.read_bytes(), err)
    assert outputs["1"] == outputs["2"]
    assert outputs["1"][1].count(b"\n") == 200 - 3  # the first 200 lines hold 3 blank ones
