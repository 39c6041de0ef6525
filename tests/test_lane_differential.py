"""The column lane against the record path: `policyc score --engine columns` must write the
same bytes (the -o file or stdout), the same standard error and the same exit code as
`--engine record` for any input (DESIGN: the record path is the oracle).

Expected results are not recomputed here: every test scores one batch two ways and compares
them to the byte. The batches (tests/lane_hostile.py) are benchmarks/generate.py's seeded
records of each pack with hostile changes at known lines: one kind for each raw-bytes guard
of the lane and for each edge of its fixed-point columns (bounds and one unit beyond, 4, 5
and 28 decimals, exponents, huge counts, labels, aliases, ids, nulls, nested entries, a zero
share denominator, long lines, deep nesting), and whole-file changes (a byte-order mark,
CRLF, no final newline, a truncated last line, percents as fractions). Where `--engine
columns` refuses a pack (exit 2: it has no column plan), `--engine auto` is compared
instead. A difference names the first differing line of each side, its input line and the
mutation that made it (none found so far against the lane and the generated column form of
suzhou/inpatient-2023).

Until `policyc score` has `--engine`, the lane's tests skip; the harness is proven on the
same batches by comparing `--jobs 1` with `--jobs 3` (identical today).
"""

from __future__ import annotations

import random
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from helpers import GENERATED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lane_hostile import (
    BOM,
    COLUMNS,
    FILE_KINDS,
    KINDS,
    PACKS,
    RECORD,
    SUZHOU,
    Batch,
    Difference,
    Run,
    base_records,
    boundary_records,
    build,
    compare,
    differ,
    first_difference,
    generate,
    has_engine_option,
    lane_or_auto,
    lane_refusal,
    score,
    spread,
)

# Kinds that make the whole file unreadable (not UTF-8): alone in their own batches.
WHOLE_FILE = ("not_utf8", "cut_utf8_character")
needs_lane = pytest.mark.skipif(not has_engine_option(),
                                reason="policyc score has no --engine yet (the column lane)")


@pytest.fixture(scope="module")
def ways(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, ...]]:
    """Per pack, what to compare with the record path: the lane, or auto where the lane
    refuses the pack."""
    folder = tmp_path_factory.mktemp("ways")
    return {pack: lane_or_auto(pack, folder) for pack in PACKS}


def failures(found: list[Difference]) -> str:
    return f"{len(found)} difference(s):\n\n" + "\n\n".join(str(d) for d in found)


# ---------------------------------------------------------------- the harness itself


def test_the_harness_names_the_line_and_the_mutation(tmp_path: Path) -> None:
    """A lane that got record 7 wrong (its items changed): the difference is in the output
    at line 8, whose input is line 9 (a blank line was put before record 3), and names
    record 7's mutation; equal runs give no difference."""
    batch = build("suzhou/inpatient-2023", 12, [(3, "blank_line_before"),
                                                (7, "trailing_zeros")])
    assert [m.kind for m in batch.mutations] == ["blank_line_before", "trailing_zeros"]
    assert batch.mutations[1].line == 9 and batch.record_lines[7] == 9
    path = tmp_path / "b.jsonl"
    path.write_bytes(batch.data)
    right = score(batch.pack, path, ("--jobs", "1"))
    assert right.code == 0 and right.output.count(b"\n") == 12
    lines = right.output.split(b"\n")
    lines[7] = lines[7].replace(b'"items": {"1": ', b'"items": {"1": "0", "x": ')
    wrong = Run(right.code, b"\n".join(lines), right.stdout, right.stderr)
    assert differ(batch, (RECORD, COLUMNS), right, right) is None
    found = differ(batch, (RECORD, COLUMNS), right, wrong)
    assert found is not None and (found.what, found.line) == ("output", 8)
    text = str(found)
    assert "input line 9:" in text and "mutation: trailing_zeros" in text
    assert "blank_line_before" not in text.split("suzhou/inpatient-2023:")[0]
    assert first_difference(b"a\nb\n", b"a\nb\nc\n") == (3, b"", b"c")
    other = differ(batch, (RECORD, COLUMNS), right, Run(3, b"", b"", "x"))
    assert other is not None and other.what == "exit code"


def test_every_kind_changes_its_record_and_keeps_the_others() -> None:
    """Each kind changes the bytes of its record's line (or the file) and nothing else:
    the other records' lines are the clean batch's."""
    clean = build("suzhou/inpatient-2023", 6, []).data.split(b"\n")
    for name in KINDS:
        batch = build("suzhou/inpatient-2023", 6, [(2, name)])
        if not batch.mutations:
            continue
        lines = batch.data.split(b"\n")
        first = batch.mutations[0].line
        last = batch.record_lines[2]
        assert lines[:first - 1] == clean[:2], name
        assert lines[last:] == clean[3:], name
        assert lines[first - 1:last] != clean[2:3], name
    for name in FILE_KINDS:
        assert build("suzhou/inpatient-2023", 6, [], file_kinds=[name]).data != \
            b"\n".join(clean), name


def test_the_harness_on_jobs_over_a_hostile_batch(tmp_path: Path) -> None:
    """--jobs 3 against --jobs 1 (identical today) over every kind at once: no difference,
    one output line per record, every mutation applied."""
    rng = random.Random(5)
    batch = build("suzhou/inpatient-2023", 300, spread(300, [k for k in KINDS
                                                             if k not in WHOLE_FILE], rng),
                  file_kinds=["bom_at_the_start", "percents_as_fractions"])
    # all but the kinds for facts 附件1 has not: a date, a year
    assert len(KINDS) - len(WHOLE_FILE) - len(batch.mutations) == 2
    found = compare(batch, tmp_path, ("--jobs", "1"), ("--jobs", "3"))
    assert found is None, str(found)
    out = score(batch.pack, tmp_path / "batch.jsonl", ("--jobs", "1"))
    assert out.output.count(b"\n") == len(batch.record_lines) == 300
    assert "misspelt_fact" in out.stderr  # the unknown key's warning


# ---------------------------------------------------------------- the lane


@needs_lane
def test_the_lane_is_taken_for_suzhou_inpatient(tmp_path: Path) -> None:
    """The pack the design is for has a column plan: --engine columns scores it."""
    assert lane_refusal("suzhou/inpatient-2023", tmp_path) is None


@needs_lane
@pytest.mark.parametrize("pack", PACKS)
def test_a_clean_batch(pack: str, ways: dict[str, tuple[str, ...]], tmp_path: Path) -> None:
    """1,500 generated records (every threshold at, under and over its edge): the same
    bytes; where the lane is taken, it scored nearly all of them itself (else every other
    test here compares the record path with itself)."""
    from policy_dsl import lane

    lane.LAST_STATS = None
    found = compare(build(pack, 1500, []), tmp_path, RECORD, ways[pack])
    assert found is None, str(found)
    if ways[pack] == COLUMNS:
        assert lane.LAST_STATS is not None and lane.LAST_STATS.vouched >= 1400, \
            lane.LAST_STATS


@needs_lane
@pytest.mark.parametrize("kind", [*KINDS, *FILE_KINDS])
def test_each_kind_alone(kind: str, ways: dict[str, tuple[str, ...]], tmp_path: Path) -> None:
    """Records of each pack with `kind` at the first and the last record and around the
    lane's 64-line pieces (a whole-file kind over the file): the same bytes, stderr and
    exit code. 100 records where the lane is taken (a refused piece is cut in halves down
    to 64 lines), 30 where auto is compared."""
    found: list[Difference] = []
    for pack in PACKS:
        count = 100 if ways[pack] == COLUMNS else 30
        if kind in FILE_KINDS:
            batch = build(pack, count, [], file_kinds=[kind])
        else:
            places = [0, 13, 49, 50, 63, 64, 99] if count == 100 else [0, 13, 29]
            batch = build(pack, count, [(i, kind) for i in places])
            if not batch.mutations:
                continue  # no fact of the pack that the kind applies to
        difference = compare(batch, tmp_path, RECORD, ways[pack])
        if difference is not None:
            found.append(difference)
    assert not found, failures(found)


@needs_lane
@pytest.mark.parametrize("pack", PACKS)
def test_every_kind_in_one_batch(pack: str, ways: dict[str, tuple[str, ...]],
                                 tmp_path: Path) -> None:
    """400 records with every record-level kind once (twice for most) at seeded places,
    a byte-order mark and CRLF line ends: the same bytes."""
    rng = random.Random(f"{pack}:together")
    kinds = [k for k in KINDS if k not in WHOLE_FILE] * 2
    batch = build(pack, 400, spread(400, kinds, rng),
                  file_kinds=["bom_at_the_start", "crlf_everywhere"])
    found = compare(batch, tmp_path, RECORD, ways[pack])
    assert found is None, str(found)


@needs_lane
@pytest.mark.parametrize("pack", SUZHOU)
def test_random_values_in_bulk(pack: str, ways: dict[str, tuple[str, ...]],
                               tmp_path: Path) -> None:
    """600 records, each with about half its facts drawn again (0 to 4 decimals, bounds and
    a unit beyond, counts up to 10**9 + 1), some with every number at a bound, at or a unit
    beside a whole number, or a score making a half-cent total: the same bytes."""
    plan = [(i, "random_values") for i in range(600)]
    plan += [(i, "extremes_high" if i % 2 else "extremes_low") for i in range(0, 600, 12)]
    plan += [(i, "score_for_a_cent_tie") for i in range(3, 600, 7)]
    plan += [(i, "whole_number_edges") for i in range(5, 600, 4)]
    found = compare(build(pack, 600, plan), tmp_path, RECORD, ways[pack])
    assert found is None, str(found)


@needs_lane
def test_standard_input_and_output(ways: dict[str, tuple[str, ...]], tmp_path: Path) -> None:
    """`-` in and standard output out, with --jobs 2 on the lane's side: the same bytes."""
    pack = "suzhou/inpatient-2023"
    rng = random.Random("stdin")
    batch = build(pack, 200, spread(200, [k for k in KINDS if k not in WHOLE_FILE], rng),
                  file_kinds=["percents_as_fractions"])
    found = compare(batch, tmp_path, RECORD, ways[pack], to_file=False, stdin=True)
    assert found is None, str(found)
    found = compare(batch, tmp_path, RECORD, (*ways[pack], "--jobs", "2"))
    assert found is None, str(found)


@needs_lane
def test_across_block_boundaries(ways: dict[str, tuple[str, ...]], tmp_path: Path) -> None:
    """7,000 records (about 8.7 MB: beyond the lane's 8 MiB block) with kinds on both sides
    of each cut, ids repeated across blocks, lines of up to 3 MB and one of 9 MB (longer
    than a block); in one process and in two."""
    pack = "suzhou/inpatient-2023"
    clean = build(pack, 7000, [])
    cuts = boundary_records(clean.data)
    assert cuts, "the batch is one block: make it bigger"
    rng = random.Random("blocks")
    kinds = ["id_repeated_far", "repeated_key_spaced", "a_unit_above_high", "null_required",
             "blank_line_before", "crlf_line", "enum_alias", "five_decimals",
             "number_as_string", "zero_share_denominator", "trailing_zeros", "long_line",
             "id_repeated_nearby", "not_json", "huge_count", "escape_in_an_id"]
    plan = [(cut + offset, rng.choice(kinds)) for cut in cuts for offset in (-2, -1, 0, 1)]
    plan += spread(7000, kinds, rng)[2:]
    rows = base_records(pack, 7000)
    rows[cuts[0] + 3]["name"] = "长" * 3_000_000  # a line of 9 MB, longer than a block
    batch = build(pack, 7000, plan, file_kinds=["no_final_newline"], records=rows)
    found = compare(batch, tmp_path, RECORD, ways[pack])
    assert found is None, str(found)
    found = compare(batch, tmp_path, RECORD, (*ways[pack], "--jobs", "2"))
    assert found is None, str(found)


TINY = {
    "empty": b"", "one line break": b"\n", "a byte-order mark": BOM,
    "a byte-order mark and a line break": BOM + b"\n", "CRLF alone": b"\r\n",
    "blank lines": b"\n \n\t\n\xe3\x80\x80\n", "an empty object": b"{}\n",
    "not JSON": b"{\n", "an array": b"[]\n", "null": b"null\n",
}


@needs_lane
@pytest.mark.parametrize("name", TINY)
def test_tiny_files(name: str, ways: dict[str, tuple[str, ...]], tmp_path: Path) -> None:
    """Files of no record or one odd line: the same bytes, messages and exit code."""
    pack = "suzhou/inpatient-2023"
    found = compare(Batch(pack, TINY[name]), tmp_path, RECORD, ways[pack])
    assert found is None, str(found)


@needs_lane
@pytest.mark.parametrize("ending", ["", "\n", "\r\n", "\n\n"])
@pytest.mark.parametrize("bom", [False, True])
def test_one_record(ending: str, bom: bool, ways: dict[str, tuple[str, ...]],
                    tmp_path: Path) -> None:
    """One valid record, with or without a byte-order mark, ending in nothing, LF, CRLF or
    a blank line: the same bytes."""
    pack = "suzhou/inpatient-2023"
    text = build(pack, 1, []).data.rstrip(b"\n") + ending.encode()
    found = compare(Batch(pack, (BOM if bom else b"") + text, record_lines=[1]), tmp_path,
                    RECORD, ways[pack])
    assert found is None, str(found)


@needs_lane
@pytest.mark.parametrize("count", [9, 10, 11])
@pytest.mark.parametrize("pack", SUZHOU)
def test_the_fraction_warning_at_its_edges(pack: str, count: int,
                                           ways: dict[str, tuple[str, ...]],
                                           tmp_path: Path) -> None:
    """catalogue_drug_share as a fraction of 1 in 9, 10 and 11 records (the warning needs
    10 values, some not 0, all within 0..1), alone and with one record the lane leaves to
    the record path (its name escaped; the share "0.5%" as text; another fact null: the
    record is wrong but its share is seen) or that is not JSON (its share unseen): the same
    warning or none."""
    found: list[Difference] = []
    for change in ("", "escape_in_a_value", "percent_text", "null_required", "not_json",
                   "zero"):
        rows = base_records(pack, count)
        for row in rows:
            row["catalogue_drug_share"] = row["catalogue_drug_share"] / 100
        plan = [(0, change)] if change in KINDS else []
        if change == "percent_text":
            rows[0]["catalogue_drug_share"] = "0.5%"
        if change == "zero":
            for row in rows:
                row["catalogue_drug_share"] = Decimal(0)
            rows[0]["catalogue_drug_share"] = Decimal("0.0001")
        batch = build(pack, count, plan, records=rows)
        difference = compare(batch, tmp_path, RECORD, ways[pack])
        if difference is not None:
            found.append(difference)
    assert not found, failures(found)


@needs_lane
def test_across_line_count_boundaries(ways: dict[str, tuple[str, ...]],
                                      tmp_path: Path) -> None:
    """70,000 lines, nearly all blank: records on the lines around 32,768 and 65,536 (the
    lane's blocks of 32k lines), some of them mutated; ids repeated across the cuts."""
    pack = "suzhou/inpatient-2023"
    # records 0..9 on lines 101..110, 10..19 on 32,764..32,774, 20..29 on 65,533..65,542
    padding = {0: 100, 10: 32_768 - 115, 20: 32_768 - 10}
    plan = [(9, "id_repeated_far"), (11, "crlf_line"), (12, "five_decimals"),
            (13, "blank_line_before"), (19, "escape_in_a_value"), (21, "id_repeated_far"),
            (22, "a_unit_above_high"), (25, "enum_alias")]
    batch = build(pack, 30, plan, padding=padding)
    assert [batch.record_lines[i] for i in (0, 10, 19, 20, 29)] == [101, 32_764, 32_774,
                                                                     65_533, 65_542]
    found = compare(batch, tmp_path, RECORD, ways[pack])
    assert found is None, str(found)


def _refused_runs(case: str, folder: Path) -> tuple[str, Path, tuple[str, ...]]:
    """A run the lane cannot take (DESIGN): its pack, input file and options."""
    pack = "jilin/pharmacy-2026" if case == "a framework's pack" else "suzhou/inpatient-2023"
    batch = build(pack, 30, [(4, "unknown_key")])
    path = folder / "in.jsonl"
    path.write_bytes(batch.data)
    if case == "--explain":
        return pack, path, ("--explain",)
    if case == "--cohorts":
        snapshot = folder / "cohorts.json"
        made = score(pack, path, ("--jobs", "1"))  # warm the pack; then the snapshot:
        assert made.code == 3
        from click.testing import CliRunner

        from policy_dsl.cli import cli
        result = CliRunner().invoke(cli, ["cohorts", "--pack", pack, "--packs", str(GENERATED),
                                          str(path), "-o", str(snapshot)])
        assert result.exit_code in (0, 3), result.output
        return pack, path, ("--cohorts", str(snapshot))
    if case == "CSV out":
        return pack, path, ("-o", str(folder / "out.csv"))
    if case == "a JSON array in":
        array = folder / "in.json"
        lines = [text for text in batch.data.decode().splitlines() if text.strip()]
        array.write_text("[\n" + ",\n".join(lines) + "\n]\n", encoding="utf-8")
        return pack, array, ()
    if case == "CSV in":
        table = folder / "in.csv"
        generate.write(base_records(pack, 30), pack, "csv", table)
        return pack, table, ()
    if case == "GB18030 CSV in":
        table = folder / "in.csv"
        generate.write(base_records(pack, 30), pack, "csv-gb18030", table)
        return pack, table, ()
    return pack, path, ()


REFUSED = ["--explain", "--cohorts", "CSV out", "a JSON array in", "CSV in", "GB18030 CSV in",
           "a framework's pack"]


@needs_lane
@pytest.mark.parametrize("case", REFUSED)
def test_the_lane_refuses_with_a_reason(case: str, tmp_path: Path) -> None:
    """Where the lane cannot be taken, --engine columns stops with exit 2 and one line
    saying why, writing nothing; --engine auto writes what --engine record writes."""
    pack, path, options = _refused_runs(case, tmp_path)
    refused = score(pack, path, (*COLUMNS, *options))
    assert refused.code == 2, refused
    assert refused.stderr.count("\n") == 1 and "columns" in refused.stderr, refused.stderr
    assert refused.stdout == b""
    record = score(pack, path, (*RECORD, *options))
    auto = score(pack, path, ("--engine", "auto", *options))
    assert auto == record, differ(Batch(pack, path.read_bytes()), (RECORD, ("auto",)),
                                  record, auto)


SPELLINGS = {
    "-o out.txt": ("in.jsonl", ("-o", "{folder}/out.txt")),
    "-o out.JSONL": ("in.jsonl", ("-o", "{folder}/out.JSONL")),
    "--output-format jsonl -o out.csv": ("in.jsonl", ("--output-format", "jsonl", "-o",
                                                      "{folder}/out.csv")),
    "in.txt": ("in.txt", ()),
    "in.ndjson": ("in.ndjson", ()),
    "--format jsonl in.csv": ("in.csv", ("--format", "jsonl")),
    "--jobs 3": ("in.jsonl", ("--jobs", "3")),
}


@needs_lane
@pytest.mark.parametrize("case", SPELLINGS)
def test_other_spellings_of_a_run(case: str, tmp_path: Path) -> None:
    """JSON Lines named otherwise, output named otherwise, more processes: --engine columns
    (or auto, where columns refuses) writes what --engine record writes."""
    pack = "suzhou/inpatient-2023"
    name, options = SPELLINGS[case]
    way = tuple(option.format(folder=tmp_path) for option in options)
    batch = build(pack, 120, spread(120, ["unknown_key", "enum_alias", "not_json",
                                          "five_decimals", "id_repeated_far"],
                                    random.Random(case)))
    path = tmp_path / name
    path.write_bytes(batch.data)
    runs = {engine: score(pack, path, (*engine, *way)) for engine in (RECORD, COLUMNS)}
    if runs[COLUMNS].code == 2:
        runs[COLUMNS] = score(pack, path, ("--engine", "auto", *way))
    found = differ(batch, (RECORD, COLUMNS), runs[RECORD], runs[COLUMNS])
    assert found is None, str(found)


RECORD_KINDS = sorted(k for k in KINDS if k not in WHOLE_FILE)


@needs_lane
@settings(max_examples=60, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pack=st.sampled_from(SUZHOU),
       plan=st.lists(st.tuples(st.integers(0, 19), st.sampled_from(RECORD_KINDS)),
                     min_size=1, max_size=5),
       file_kinds=st.lists(st.sampled_from(sorted(FILE_KINDS)), max_size=2, unique=True),
       seed=st.integers(0, 3))
def test_random_mutations(pack: str, plan: list[tuple[int, str]], file_kinds: list[str],
                          seed: int, ways: dict[str, tuple[str, ...]]) -> None:
    """20 records with 1 to 5 random mutations (several may fall on one record) and up to
    two whole-file changes: the same bytes, stderr and exit code."""
    batch = build(pack, 20, plan, seed=seed, file_kinds=file_kinds)
    with tempfile.TemporaryDirectory() as folder:
        found = compare(batch, Path(folder), RECORD, ways[pack])
    assert found is None, str(found)

