"""The column lane: `policyc score` over JSON Lines a block of columns at a time (issue 10).

The record path reads, validates and scores one record at a time in Decimal arithmetic; it
stays the oracle and the fallback. The lane reads the input in blocks of whole lines
(`BLOCK_BYTES`, at most `BLOCK_LINES` lines), parses each block with Arrow's JSON reader and
the pack's column schema (`columns.arrow_schema`: numbers as decimal text, never a binary
float), reads the table into fixed-point columns (`columns.read_columns`), scores the records
it vouches for a block at a time with numpy (`columns.score_block`, generated from the rule
file beside the record path's `score`), and writes their result lines with Arrow's string
kernels: the same characters `result_line` writes.

**Vouching, not re-validating.** The lane never decides that a record is wrong. A record is
scored by the lane only when the lane can show that the record path would accept it and
score it alike; every other record goes to the record path, with its true line number, and
gets exactly the record path's result or error. So a guard that is too strict costs speed,
never correctness. A line goes to the record path when (the guards, each for the case it
covers):

- the block is not valid UTF-8: the whole file's text is checked then (the lane leaves
  that check to its blocks, `InputSource(check_text=False)`), which stops the run with the
  record path's message naming the line; if the file changed since, the whole block;
- the line does not start with `{` and end with `}` (a blank or whitespace-only line, which
  the record path passes over; a byte-order mark at the start; spaces around the object;
  not an object);
- it holds a backslash (escapes: a lone surrogate, a key or an id spelled with escapes, a
  string holding `\"`), a carriage return, a tab or another control character, or a
  byte-order mark anywhere (`LINE_GUARD`);
- a number is written with a leading zero, as `-0` or `-0.0`, with an exponent, with more
  than 4 decimals, or with 17 digits or more in a row (`LINE_GUARD`; the lane's limits are
  far below);
- the count of `":` on the line differs from the number of keys Arrow found in the record,
  nested ones included (a repeated key, a `null` value, a key written `"k" :`), or a list
  holds a null;
- the count of `"` on the line differs from twice the keys and texts Arrow found: every
  string written is a key or a text value of the schema, so this finds a key that names no
  fact (unknown keys are passed over by Arrow, `unexpected_field_behavior="ignore"`, and
  counted here: a label such as 机构编码 too), a number, count or true/false given as a
  string (`"85.5"`: the record path reads it, Arrow would too, but the lane does not vouch
  for it), and an unknown key inside a list's object;
- Arrow refuses the block (a wrong type such as `"n/a"` for a count, an id given as a
  number, a string for a list, invalid JSON, a depth it does not expect, a repeated key):
  the lines whose keys are given a value of the wrong kind of JSON (`_kind_guard`) are left
  out and the rest read again; when Arrow still refuses, the lines are cut in `SPLIT`
  pieces, each read alone, those it refuses cut again, down to single lines, within
  `READS` reads a block; the pieces refused in the end go to the record path. A piece in
  which Arrow finds another number of records than lines (two objects on one line) is
  refused too;
- the id is missing, empty, longer than `MAX_ID` characters, or has white space around it
  (as Python's `str.strip` sees it), so that the record path would read it otherwise;
- `read_columns` does not vouch for the record: a value beyond the lane's limits or the
  fact's bounds, an unknown enum code (an alias such as 三级 included), a count that is not
  whole, a required fact missing (`check_columns`, generated from the rule file);
- after the first pass: its id is used more than once in the batch (the record path writes
  both errors), its cohort values are not exact at `columns.SCALE` or are an error, or its
  total is 0 from a negative earned sum (the record path writes "-0.00"): the line is read
  again from the file and scored by the record path.

The batch is otherwise what the record path makes of it: one `RepeatedIds` over every
record (vouched ids too), one `FractionWatch` (the vouched records' percent columns counted
a column at a time, merged with the record path's), unknown keys gathered from the record
path's records in input order, the cohort values computed once by the pack's
`compute_cohorts` over every valid record (the vouched ones' inputs from `cohort_facts`,
exact), and the second pass writes every record in input order, counted in the tally.

Memory: per block the lane keeps the vouched records' columns (`ColumnBlock.take`: int64 and
bool arrays and the ids), their line numbers and byte offsets; the Arrow tables are let go.
The record path's records go to a `FactStore` (which spills to disk beyond its budget).

Threads: with `workers` > 1 (`--jobs`), both passes work on that many blocks at a time in
threads (`_InOrder`): a block's reading, guards, parsing and column checks (`_examined`),
and its scoring and lines (`_block_scored`), change nothing shared; what does (ids, cohort
inputs, the store, the tally, the output) is done a block at a time in input order on the
calling thread. Arrow's kernels and numpy let go of the interpreter's lock for most of it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar, cast

from .reading import FractionWatch, InputSource, fast_records
from .runtime import columns as column_form
from .runtime.arithmetic import DIVISION
from .runtime.batch import (
    BatchPlan,
    CohortInputs,
    CohortInputsFound,
    Outcome,
    RepeatedIds,
    cohort_facts_kind,
    entry_outcome,
    planned,
    planned_outcomes,
    validated_entry,
)
from .runtime.inputs import MAX_ID, InputRecord, iter_json_lines
from .runtime.packs import Pack
from .runtime.result_lines import line_tail, result_line
from .runtime.store import Entry, FactStore

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Ints = npt.NDArray[np.int64]
    Bools = npt.NDArray[np.bool_]

BLOCK_BYTES = 8 << 20  # bytes read at a time (cut back to the last line break)
BLOCK_LINES = 32_768  # lines in a block at most
SPLIT = 16  # pieces a refused piece of lines is cut in
READS = 64  # Arrow reads of a block's pieces at most, once it refused the block: a refused
# piece is cut again only while some are left (each read costs a fixed ~0.1-0.5 ms)

# White space as Python's `str.strip` sees it, beyond the control characters that make a
# line go to the record path anyway: an id with one of these around it is read otherwise.
ID_SPACES = ("\u0020\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
             "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")

# The guards on a line's bytes (see the module's doc), as one regular expression (RE2):
# a backslash, a control character (\r and \t included) or a byte-order mark; 17 digits in
# a row; a number written with a leading zero, as -0 or -0.0, with an exponent, or with more
# than 4 decimals.
LINE_GUARD = (r"[\\\x00-\x09\x0b-\x1f\x{feff}]|[0-9]{17}|[:,\[]\s*(?:-?0[0-9]|-0(?:\.0*)?[^.0-9]"
              r"|-?[0-9][0-9.]*[eE]|-?[0-9]+\.[0-9]{5})")


LAST_STATS: LaneStats | None = None  # the last run's, in this process (tests, debugging)


def refusal(source: InputSource, pack: Pack, *, explain: bool, cohorts: bool,
            output_format: str) -> str | None:
    """Why the lane cannot score this run (one line), or None when it can."""
    if source.fmt != "jsonl" or source.encoding != "utf-8":
        return "the column lane reads JSON Lines in UTF-8 only"
    if output_format != "jsonl":
        return "the column lane writes JSON Lines only"
    if explain:
        return "the column lane writes no explanations (--explain)"
    if cohorts:
        return "the column lane computes cohort values over the batch (no --cohorts)"
    if pack.FRAMEWORK is not None:
        return f"the pack {pack.NAME} settles under a framework, which the column lane does not"
    if source.columns is None:
        return "the column lane needs a pack's columns"
    if any(importlib.util.find_spec(name) is None for name in ("numpy", "pyarrow")):
        return ("the column lane needs numpy and pyarrow (pip install "
                "'policy-dsl[tables]')")
    if pack.COLUMNS is None:
        return f"the pack {pack.NAME} has no column plan (see COLUMNS in its module)"
    return None


# `--engine auto` keeps the record path, although the lane could be taken, for a file under
# AUTO_MIN_BYTES: below it the lane's fixed cost (importing numpy and pyarrow, about 0.4 s)
# is more than it saves (10,000 Suzhou inpatient records, 12 MB: lane 0.9 s, record 0.73 s;
# 100,000: 2.5 s against 5.0 s). And for a file whose first AUTO_SAMPLE_BYTES it would vouch
# for less than AUTO_MIN_SHARE of: every line it cannot vouch for is read by both (numbers
# written as text, CRLF line ends: 8.1 s against the record path's 5.6 s on 100,000), and
# `--jobs` then works.
AUTO_MIN_BYTES = 16 << 20
AUTO_SAMPLE_BYTES = 1 << 20
AUTO_MIN_SHARE = 0.8


def auto_declines(source: InputSource, pack: Pack) -> str | None:
    """Why `--engine auto` keeps the record path for a run the lane could take (one line),
    or None when it takes the lane."""
    with source.opener() as stream:
        size = stream.seek(0, os.SEEK_END)
        if size < AUTO_MIN_BYTES:
            return f"the input is under {AUTO_MIN_BYTES >> 20} MiB"
        stream.seek(0)
        sample = stream.read(AUTO_SAMPLE_BYTES)
    cut = sample.rfind(b"\n") + 1
    if cut == 0:  # not one whole line in the sample: the lane reads on
        return None
    with FactStore(pack) as store:
        share = Lane(source, pack, store).vouched_share(sample[:cut])
    if share < AUTO_MIN_SHARE:
        return (f"the lane would score {share:.0%} of the input's first "
                f"{AUTO_SAMPLE_BYTES >> 20} MiB itself")
    return None


# ---------------------------------------------------------------- the first pass


@dataclass
class _Piece:
    """Consecutive vouched records of a block (one Arrow table's), for the second pass."""

    columns: Any  # ColumnBlock of the vouched records alone
    indexes: Ints  # their batch indexes
    lines: Ints  # their line numbers
    offsets: Ints  # the byte offset of each one's line in the file


@dataclass
class _Block:
    """What the first pass keeps of a block: its records' batch indexes, the vouched ones'
    columns, and how many of its records the store holds (the others)."""

    start: int
    count: int
    pieces: list[_Piece] = field(default_factory=list)
    stored: int = 0


# A piece's lines by the lane (`Lane._scored`): their bytes, each line's offsets in them,
# their batch indexes, and the demoted records (index, line's byte offset, line number).
_Scored = tuple[bytes, "Ints", "Ints", list[tuple[int, int, int]]]


@dataclass
class _Examined:
    """What `Lane._examined` found in a block (see there)."""

    starts: Ints
    bounds: Any
    vouched_lines: Bools
    pieces: list[tuple[Ints, Any, list[list[Decimal | None]]]]
    refused: int  # Arrow's refused reads
    utf8: bool  # whether the block is UTF-8


@dataclass
class LaneStats:
    """How the records went: by the lane or by the record path (tests and the debug log)."""

    vouched: int = 0
    record_path: int = 0
    blocks: int = 0
    refused_pieces: int = 0
    demoted: int = 0


class Lane:
    """One run of the column lane over an input source (see the module's doc)."""

    def __init__(self, source: InputSource, pack: Pack, store: FactStore,
                 workers: int = 1) -> None:
        import numpy as np
        import pyarrow as pa

        self.np = np
        self.pa = pa
        self.source = source
        self.pack = pack
        self.store = store
        self.workers = max(1, workers)
        plan = pack.COLUMNS
        assert plan is not None  # `refusal` says so
        self.plan = plan
        if pack.COHORTS and tuple(plan.cohort_facts) != tuple(pack.COHORT_FACTS):
            raise ValueError(f"{pack.NAME}: the column plan's cohort facts are not the pack's")
        self.schema = column_form.arrow_schema(plan)
        self.id_spaces = f"^[{ID_SPACES}]|[{ID_SPACES}]$"
        self.kind_guard = _kind_guard(self.schema)
        import pyarrow.json as pj

        self.parse_options = pj.ParseOptions(explicit_schema=self.schema,
                                             unexpected_field_behavior="ignore",
                                             newlines_in_values=False)
        self.blocks: list[_Block] = []
        self.stored_indexes: list[int] = []
        self.stats = LaneStats()
        self.fast = fast_records()
        self.percents = [fact.name for fact in pack.INFO.facts if fact.type == "percent"
                         and fact.name in self.schema.names]

    # ------------------------------------------------------------ reading

    def first_pass(self, progress: Callable[[int], None]) -> BatchPlan:
        """Every line read: vouched records kept as columns, the others validated into the
        store; repeated ids, cohort values and the source's warnings as the record path
        makes them."""
        ids = RepeatedIds()
        over_batch = bool(self.pack.COHORTS)
        found = CohortInputsFound() if over_batch else None
        fractions = FractionWatch(self.pack)
        index = 0
        with self.source.opener() as stream:
            for (data, first_line, offset), examined in self._examined_blocks(stream):
                block = self._gathered(data, first_line, offset, index, examined, ids, found,
                                       fractions)
                self.blocks.append(block)
                index += block.count
                progress(block.count)
        self.store.finish()
        with localcontext(DIVISION):
            plan = planned(self.pack, ids, found, None)
        columns = self.source.columns
        assert columns is not None
        self.source.warnings = fractions.warnings(self.source.name, columns) + \
            columns.unknown_key_warnings()
        return plan

    def _examined_blocks(self, stream: BinaryIO
                         ) -> Iterator[tuple[tuple[bytes, int, int], _Examined]]:
        """Each block of the input (its bytes, first line number and byte offset) with what
        `_examined` found in it, in input order. With more than one worker, blocks are
        examined in threads, at most `workers` ahead of the one given out: Arrow's parsing,
        its string kernels and numpy let go of the interpreter's lock for most of the work,
        and `_examined` changes nothing shared."""
        blocks = _blocks(stream, self.np)
        if self.workers == 1:
            for block in blocks:
                yield block, self._examined(block[0])
            return
        with _InOrder(self.workers) as threads:
            yield from threads.map(blocks, lambda block: self._examined(block[0]))

    def _examined(self, data: bytes) -> _Examined:
        """A block's lines read: each one's start and bounds, which of them the lane vouches
        for, and the vouched records' columns by piece (their line indexes, ColumnBlock,
        cohort inputs by fact). Changes nothing of the run's state (threads run it)."""
        np = self.np
        starts, bounds, written, quotes, parsed, refused, utf8 = self._parsed_block(data)
        vouched_lines = np.zeros(len(starts), dtype=np.bool_)
        pieces: list[tuple[Ints, Any, list[list[Decimal | None]]]] = []
        for piece_lines, table in parsed:
            vouched, block_columns = self._checked(table, written[piece_lines],
                                                   quotes[piece_lines])
            if not vouched.any():
                continue
            vouched_lines[piece_lines[vouched]] = True
            kept = block_columns if vouched.all() else block_columns.take(vouched)
            inputs = [kept.cohort_facts(name) for name in self.plan.cohort_facts]
            # the Arrow table let go: the second pass reads the columns and ids alone
            pieces.append((piece_lines[vouched], replace(kept, table=cast("Any", None)),
                           inputs))
            del table, block_columns
        return _Examined(starts, bounds, vouched_lines, pieces, refused, utf8)

    def _parsed_block(self, data: bytes) -> tuple[Ints, Any, Ints, Ints,
                                                  list[tuple[Ints, Any]], int, bool]:
        """A block's lines: each one's start, the bounds of every line, each one's `":`
        and `"` counts, the Arrow table of the lines the guards let through (with their
        indexes; one table, or none), how many reads Arrow refused, and whether the block
        is UTF-8."""
        np, pa = self.np, self.pa
        raw = np.frombuffer(data, dtype=np.uint8)
        breaks = np.flatnonzero(raw == 10)
        ends = breaks if len(data) and data[-1] == 10 else \
            np.append(breaks, len(data))  # each line's end (its line break or the data's)
        starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
        line_count = len(ends)
        bounds = np.append(starts, len(data)).astype(np.int32)  # lines with their breaks
        lines = pa.Array.from_buffers(pa.string(), line_count,
                                      [None, pa.py_buffer(bounds.tobytes()), pa.py_buffer(data)])
        try:
            lines.validate(full=True)  # UTF-8
        except pa.ArrowInvalid:
            utf8 = False
            clean = np.zeros(line_count, dtype=np.bool_)
        else:
            utf8 = True
            lengths = ends - starts
            has_bytes = lengths > 0
            first = raw[np.minimum(starts, max(len(data) - 1, 0))] if len(data) else starts
            last = raw[np.maximum(ends - 1, 0)] if len(data) else ends
            clean = has_bytes & (first == ord("{")) & (last == ord("}"))
            clean &= ~np.asarray(_matches(lines, LINE_GUARD), dtype=np.bool_)
        written, quotes = _quotes_and_keys(raw, starts, ends, np)
        reads = list(self._parsed_pieces(data, lines, bounds.tolist(), np.flatnonzero(clean)))
        parsed = [(piece, table) for piece, table in reads if table is not None]
        if len(parsed) > 1:  # one table: each costs its own fixed overhead below
            parsed = [(np.concatenate([piece for piece, _ in parsed]),
                       pa.concat_tables([table for _, table in parsed]))]
        return starts, bounds, written, quotes, parsed, len(reads) - len(parsed), utf8

    def vouched_share(self, data: bytes) -> float:
        """The share of the lines of `data` (whole lines) the lane would vouch for: what
        `--engine auto` samples a file's start with. Nothing of the run's state changes."""
        starts, _, written, quotes, parsed, _, _ = self._parsed_block(data)
        vouched = sum(int(self._checked(table, written[piece_lines], quotes[piece_lines])[0]
                          .sum()) for piece_lines, table in parsed)
        return vouched / len(starts) if len(starts) else 1.0

    def _checked(self, table: Any, written: Ints, quotes: Ints) -> tuple[Bools, Any]:
        """Per record of `table`, whether the lane vouches for it (`_vouched`, then
        `read_columns`), with the ColumnBlock (None when no record passed the first)."""
        vouched = self._vouched(table, written, quotes)
        if not vouched.any():
            return vouched, None
        block_columns = column_form.read_columns(self.pack, table)
        vouched &= self.np.asarray(block_columns.vouched, dtype=self.np.bool_)
        return vouched, block_columns

    def _parsed_pieces(self, data: bytes, lines: Any, bounds: Any,
                       chosen: Ints) -> Iterator[tuple[Ints, Any]]:
        """Arrow tables of the chosen lines, in order, each with its lines' indexes: one
        table when Arrow reads them all. When it refuses them: the lines whose keys are given
        a value of the wrong kind of JSON (`kind_guard`) are left out and the rest read
        again; when Arrow still refuses, the lines are cut in `SPLIT` pieces, each read
        alone, and those it refuses cut again (down to single lines, `READS` reads at
        most). Each read Arrow refuses is given with the table None (counted in the
        stats); the lines of the pieces it refuses in the end are left out."""
        np = self.np
        if not len(chosen):
            return
        whole = self._table(data, chosen, bounds)
        yield chosen, whole
        if whole is not None:
            return
        import pyarrow.compute as pc

        wrong = np.asarray(pc.match_substring_regex(lines.take(self.pa.array(chosen)),
                                                    self.kind_guard), dtype=np.bool_)
        pending = [chosen[~wrong]]
        reads = READS
        while pending:  # bounded: each piece is read once, or cut in smaller ones
            piece = pending.pop()
            if not len(piece):
                continue
            reads -= 1
            table = self._table(data, piece, bounds)
            yield piece, table
            if table is not None:
                continue
            if len(piece) > 1 and reads > 0:
                pending += reversed(np.array_split(piece, SPLIT))  # the first piece first

    def _table(self, data: bytes, piece: Ints, bounds: Any) -> Any:
        """The Arrow table of these lines of `data`, or None when Arrow refuses them (or
        finds another number of records in them than lines)."""
        import pyarrow.json as pj

        np = self.np
        if len(piece) == len(bounds) - 1:
            text = data
        else:  # the runs of consecutive lines, joined
            cuts = np.flatnonzero(np.diff(piece) != 1)
            firsts = np.concatenate(([piece[0]], piece[cuts + 1])).tolist()
            lasts = np.concatenate((piece[cuts], [piece[-1]])).tolist()
            text = b"".join([data[bounds[first]:bounds[last + 1]]
                             for first, last in zip(firsts, lasts, strict=True)])
        if not text.endswith(b"\n"):
            text += b"\n"
        size = max(len(text), 1 << 16)  # one Arrow block: Arrow's own threads measured slower
        try:
            table = pj.read_json(io.BytesIO(text), parse_options=self.parse_options,
                                 read_options=pj.ReadOptions(use_threads=False,
                                                             block_size=size))
        except (self.pa.ArrowInvalid, self.pa.ArrowNotImplementedError):
            return None
        return table if table.num_rows == len(piece) else None

    def _vouched(self, table: Any, written: Ints, quotes: Ints) -> Bools:
        """Per record of `table`: its `":` count (`written`, per line) is its keys' count,
        its `"` count (`quotes`) twice its keys' and texts' count, and its id is one the
        record path reads as it is."""
        import pyarrow.compute as pc

        np = self.np
        keys, texts = _keys_per_row(table, np)
        record_ids = table.column("id")
        length: Any = pc.utf8_length(record_ids)
        spaced: Any = pc.match_substring_regex(record_ids, self.id_spaces)
        lengths = np.asarray(length.fill_null(0), dtype=np.int64)  # a null id: 0
        ids_ok = (lengths > 0) & (lengths <= MAX_ID) & \
            ~np.asarray(spaced.fill_null(True), dtype=np.bool_)
        result: Bools = (written == keys) & (quotes == 2 * (keys + texts)) & ids_ok
        return result

    def _watch_fractions(self, columns: Any, fractions: FractionWatch) -> None:
        """The vouched records' percent columns (at SCALE), shown to `fractions` as the
        record path shows it each record: how many give each, whether one is not 0,
        whether all lie within 0..1."""
        scale = column_form.SCALE
        for name in self.percents:
            values = columns.numbers.get(name)
            if values is None:  # not in the plan: no vouched record gives it
                continue
            given = columns.given.get(name)
            if given is not None:
                values = values[given]
            if not len(values):
                continue
            fractions.add_counts(name, len(values), bool(values.any()),
                                 bool(((values >= 0) & (values <= scale)).all()))

    def _gathered(self, data: bytes, first_line: int, offset: int, start: int,
                  examined: _Examined, ids: RepeatedIds, found: CohortInputsFound | None,
                  fractions: FractionWatch) -> _Block:
        """The block's records in input order: the vouched ones' ids, cohort inputs and
        percent columns; the others read and validated by the record path into the store."""
        np = self.np
        if not examined.utf8:  # raises InputUnreadable, naming the line, unless the file
            self.source.check_text()  # changed since: then the block goes to the record path
        starts, bounds, vouched_lines, pieces = (examined.starts, examined.bounds,
                                                 examined.vouched_lines, examined.pieces)
        self.stats.blocks += 1
        self.stats.refused_pieces += examined.refused
        for _, piece_columns, _ in pieces:
            self._watch_fractions(piece_columns.columns, fractions)
        others = np.flatnonzero(~vouched_lines)
        others_read: list[tuple[int, InputRecord]] = []  # line index, record
        columns = self.source.columns
        assert columns is not None
        if len(others):  # the record path over them, the lines between them as blank
            chosen = set(others.tolist())
            first, last = int(others[0]), int(others[-1])
            edges = bounds[first:last + 2].tolist()
            texts = [data[edges[n]:edges[n + 1]] if first + n in chosen else b""
                     for n in range(last - first + 1)]
            for record in columns.named_keys(iter_json_lines(
                    texts, fast=self.fast, first_line=first_line + first)):
                others_read.append((record.position - first_line, record))
        vouched_index = np.flatnonzero(vouched_lines)
        lane_count = len(vouched_index)
        count = lane_count + len(others_read)
        block = _Block(start, count)
        # each record's place in the block: the vouched lines and the others' merged by line
        other_lines = np.array([line for line, _ in others_read], dtype=np.int64)
        order = np.argsort(np.concatenate((vouched_index, other_lines)), kind="stable")
        place = np.empty(count, dtype=np.int64)
        place[order] = np.arange(count, dtype=np.int64)
        lane_indexes = start + place[:lane_count]
        other_indexes = (start + place[lane_count:]).tolist()
        kind = cohort_facts_kind(tuple(self.pack.COHORT_FACTS)) if found is not None else None
        lane_ids: list[str] = []
        lane_inputs: list[Any] = []
        taken = 0
        for piece_lines, piece_columns, inputs in pieces:
            size = len(piece_lines)
            block.pieces.append(_Piece(piece_columns, lane_indexes[taken:taken + size],
                                       first_line + piece_lines,
                                       offset + starts[piece_lines]))
            lane_ids.extend(piece_columns.ids)
            if kind is not None:
                lane_inputs.extend(map(kind, *inputs))
            taken += size
        self.stats.vouched += lane_count
        self.stats.record_path += len(others_read)
        lane_lines = (first_line + vouched_index).tolist()
        if not others_read:
            ids.add_many(start, lane_lines, lane_ids, "line")
            if found is not None:
                found.inputs.extend(lane_inputs)
                found.where.extend(lane_indexes.tolist())
            return block
        # the slow way, record by record in input order
        by_index: dict[int, tuple[int, str, Any]] = {
            index: (line, record_id, facts) for index, line, record_id, facts in zip(
                lane_indexes.tolist(), lane_lines, lane_ids,
                lane_inputs if found is not None else [None] * lane_count, strict=True)}
        read_at = dict(zip(other_indexes, (record for _, record in others_read), strict=True))
        copy: CohortInputs | None = None
        for index in range(start, start + count):
            if index in by_index:
                line, record_id, inputs = by_index[index]
                ids.add(index, line, record_id, "line")
                if found is not None:
                    found.inputs.append(inputs)
                    found.where.append(index)
                continue
            record = read_at[index]
            ids.see(index, record)
            fractions.see(record)
            entry = validated_entry(self.pack, record)
            self.store.add(entry)
            self.stored_indexes.append(index)
            block.stored += 1
            facts = entry[5]
            if found is not None and facts is not None:
                if copy is None:
                    copy = CohortInputs(self.pack, facts)
                found.inputs.append(copy.of(facts))
                found.where.append(index)
        return block

    # ------------------------------------------------------------ scoring

    def second_pass(self, plan: BatchPlan, add: Callable[[Outcome], None],
                    vouched: Callable[[int], None],
                    progress: Callable[[int], None]) -> Iterator[bytes]:
        """Each block's result lines in input order, as bytes; `add` is given every outcome
        of the record path (for the tally), `vouched` how many lines the lane wrote."""
        stored = self.store.entries()
        tail = line_tail(self.pack.provenance)
        with contextlib.ExitStack() as stack:
            if self.workers == 1:
                blocks: Iterator[tuple[_Block, list[_Scored]]] = (
                    (block, self._block_scored(block, plan, tail)) for block in self.blocks)
            else:  # as the first pass's blocks (`_examined_blocks`)
                threads = stack.enter_context(_InOrder(self.workers))
                blocks = threads.map(self.blocks,
                                     lambda block: self._block_scored(block, plan, tail))
            for block, scored in blocks:
                block.pieces = []  # let go as written
                yield self._block_lines(block, scored, plan, stored, add, vouched)
                progress(block.count)

    def _block_scored(self, block: _Block, plan: BatchPlan, tail: str) -> list[_Scored]:
        return [self._scored(piece, plan, tail) for piece in block.pieces]

    def _block_lines(self, block: _Block, scored: list[_Scored], plan: BatchPlan,
                     stored: Iterator[Entry], add: Callable[[Outcome], None],
                     vouched: Callable[[int], None]) -> bytes:
        """A block's result lines in input order: the lane's, and the record path's for the
        records it did not vouch for (from the store) or demoted (read again)."""
        self.stats.demoted += sum(len(demoted) for _, _, _, demoted in scored)
        lane_lines = sum(len(indexes) for _, _, indexes, _ in scored)
        vouched(lane_lines)
        if lane_lines == block.count:  # every record by the lane, in order
            return b"".join(text for text, _, _, _ in scored)
        by_index: dict[int, bytes] = {}
        again: dict[int, tuple[int, int]] = {}  # demoted: their line's offset, number
        for text, offsets, indexes, demoted in scored:
            for number, index in enumerate(indexes.tolist()):
                by_index[index] = text[offsets[number]:offsets[number + 1]]
            for index, line_offset, line in demoted:
                again[index] = (line_offset, line)
        out: list[bytes] = []
        for index in range(block.start, block.start + block.count):  # outcomes in order
            text_of = by_index.get(index)
            if text_of is None:
                if index in again:
                    outcome = self._record_path_outcome(plan, index, *again[index])
                else:
                    outcome = entry_outcome(self.pack, plan, index, next(stored))
                add(outcome)
                text_of = result_line(outcome).encode("utf-8")
            out.append(text_of)
        return b"".join(out)

    def _scored(self, piece: _Piece, plan: BatchPlan, tail: str) -> _Scored:
        """A piece's lines by the lane: their bytes, each line's offsets in them, their
        batch indexes; and the records the record path must score after all (index, byte
        offset and number of the line): an id used more than once, cohort values that are
        an error or not exact at SCALE, a total of 0 from a negative sum ("-0.00")."""
        np = self.np
        indexes = piece.indexes
        demote = np.zeros(len(indexes), dtype=np.bool_)
        if plan.repeated:
            demote |= np.isin(indexes, np.fromiter(plan.repeated, dtype=np.int64))
        cohort_values: dict[str, Ints] = {}
        if plan.cohort_of is not None:
            cohort_values, exact = self._cohort_values(plan, indexes)
            demote |= ~exact
        if demote.all():
            scores = None
        else:  # every record scored; the demoted ones' lines are left out below
            with np.errstate(all="ignore"):  # their cohort values may be 0s in place
                scores = column_form.score_block(self.pack, piece.columns, cohort_values)
            demote |= (np.asarray(scores.total) == 0) & (np.asarray(scores.earned) < 0)
        demoted = [(int(indexes[n]), int(piece.offsets[n]), int(piece.lines[n]))
                   for n in np.flatnonzero(demote)]
        kept = ~demote
        if scores is None or not kept.any():
            return b"", np.zeros(1, dtype=np.int64), indexes[:0], demoted
        ids = piece.columns.ids
        if demote.any():
            ids = [ids[n] for n in np.flatnonzero(kept).tolist()]
            scores = replace(scores, items=scores.items[:, kept],
                             applicable=scores.applicable[:, kept],
                             earned=scores.earned[kept], total=scores.total[kept],
                             applicable_max=scores.applicable_max[kept])
        text, offsets = _result_lines(self.pa, np, ids, scores, tail)
        return text, offsets, indexes[kept], demoted

    def _cohort_values(self, plan: BatchPlan, indexes: Ints) -> tuple[dict[str, Ints], Bools]:
        """Each cohort value of these records as int64 at SCALE (`fixed_cohorts`), and
        which records have all of theirs (not an error, exact at SCALE, within the bounds
        the column form was proven for)."""
        np = self.np
        assert plan.cohort_of is not None
        values = [plan.cohort_of[index] for index in indexes.tolist()]
        given = np.array([plan.cohort_fault is None and value is not None
                          and not isinstance(value, Exception) for value in values],
                         dtype=np.bool_)
        # each distinct value object converted once (a batch's ranks share a few values)
        distinct: dict[tuple[int, ...], int] = {}
        uses = np.zeros(len(values), dtype=np.int64)
        firsts: list[Any] = []
        for number, (value, ok) in enumerate(zip(values, given.tolist(), strict=True)):
            if not ok:
                continue
            key = tuple(id(getattr(value, bound.name)) for bound in self.plan.cohorts)
            place = distinct.setdefault(key, len(firsts))
            if place == len(firsts):
                firsts.append(value)
            uses[number] = place
        if not firsts:  # no record has its values
            return {bound.name: np.zeros(len(values), dtype=np.int64)
                    for bound in self.plan.cohorts}, given
        by_name = {bound.name: [getattr(value, bound.name) for value in firsts]
                   for bound in self.plan.cohorts}
        fixed, exact = column_form.fixed_cohorts(self.plan, by_name)
        columns = {name: column[uses] for name, column in fixed.items()}
        result: Bools = given & (exact[uses] if by_name else True)
        return columns, result

    def _record_path_outcome(self, plan: BatchPlan, index: int, offset: int,
                             line: int) -> Outcome:
        """A vouched record scored by the record path after all: its line read again."""
        with self.source.opener() as stream:
            stream.seek(offset)
            text = stream.readline()
        columns = self.source.columns
        assert columns is not None
        records = list(columns.named_keys(iter_json_lines([text], fast=self.fast,
                                                          first_line=line)))
        return next(planned_outcomes(self.pack, plan, records, False, index))


T = TypeVar("T")
R = TypeVar("R")


class _InOrder:
    """Work on the items of an iterable in `workers` threads, given back in order (`map`),
    at most `workers` items ahead of the one given out (so at most that many blocks are held
    beyond the caller's). The threads end with the `with` block, waiting for the work under
    way; the rest is not started."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="policyc-lane")

    def __enter__(self) -> _InOrder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def map(self, items: Iterable[T], work: Callable[[T], R]) -> Iterator[tuple[T, R]]:
        """Each item with `work(item)`, in the items' order."""
        pending: deque[tuple[T, Future[R]]] = deque()
        for item in items:  # bounded: the items, each submitted once
            pending.append((item, self.pool.submit(work, item)))
            if len(pending) > self.workers:
                first, future = pending.popleft()
                yield first, future.result()
        while pending:  # bounded: what was submitted
            first, future = pending.popleft()
            yield first, future.result()


def _blocks(stream: BinaryIO, np: Any) -> Iterator[tuple[bytes, int, int]]:
    """The input in blocks of whole lines: each block's bytes, the number of its first line
    and its byte offset in the file."""
    line, offset = 1, 0
    rest = b""
    chunk = stream.read(BLOCK_BYTES)
    while chunk or rest:  # bounded: every round reads on, or gives out what is left
        data = rest + chunk if rest else chunk
        if chunk:
            cut = data.rfind(b"\n") + 1
            if cut == 0:  # no line break yet: a long line, read on
                rest = data
                chunk = stream.read(BLOCK_BYTES)
                continue
        else:
            cut = len(data)  # the last line, without a line break
        breaks = data.count(b"\n", 0, cut)
        if breaks > BLOCK_LINES:
            raw = np.frombuffer(data, dtype=np.uint8, count=cut)
            cut = int(np.flatnonzero(raw == 10)[BLOCK_LINES - 1]) + 1
            breaks = BLOCK_LINES
        block, rest = data[:cut], data[cut:]
        yield block, line, offset
        line += breaks
        offset += cut
        chunk = stream.read(BLOCK_BYTES) if chunk else b""


def _quotes_and_keys(raw: Any, starts: Ints, ends: Ints, np: Any) -> tuple[Ints, Ints]:
    """Per line [starts, ends) of `raw` (the block's bytes as uint8): how many `":` it
    holds and how many `"`: the quotes' positions found once with numpy, then counted
    between each line's bounds by binary search (Arrow's count_substring walks every line
    once per pattern)."""
    quotes = np.flatnonzero(raw == ord('"'))
    after = quotes + 1
    keys = quotes[after < len(raw)]
    keys = keys[raw[keys + 1] == ord(":")]

    def within(positions: Ints) -> Ints:
        counts: Ints = np.searchsorted(positions, ends) - np.searchsorted(positions, starts)
        return counts

    return within(keys), within(quotes)


def _matches(lines: Any, pattern: str) -> Any:
    import pyarrow.compute as pc

    return pc.match_substring_regex(lines, pattern)


def _kind_guard(schema: Any) -> str:
    """A regular expression (RE2) finding a key given a value of the wrong kind of JSON:
    a string for a number or a true/false, anything but a string for a text, a list for a
    list, an object for an object. (A key of the same name at another depth may match too:
    a line too many goes to the record path, never one too few.)"""
    import pyarrow as pa

    texts: set[str] = set()
    lists: set[str] = set()
    objects: set[str] = set()
    others: set[str] = set()

    def walk(fields: Any) -> None:  # bounded: the schema's depth
        for each in fields:
            kind = each.type
            if pa.types.is_string(kind):
                texts.add(each.name)
            elif pa.types.is_struct(kind):
                objects.add(each.name)
                walk(list(kind))
            elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
                lists.add(each.name)
                if pa.types.is_struct(kind.value_type):
                    walk(list(kind.value_type))
            else:
                others.add(each.name)

    walk(list(schema))
    guards = [f'"(?:{"|".join(sorted(map(re.escape, names)))}){tail}'
              for names, tail in ((others, r'":\s*"'), (texts, r'":\s*[^"\s]'),
                                  (lists, r'":\s*[^\[\s]'), (objects, r'":\s*[^{\s]'))
              if names]
    return "|".join(guards) or "$^"


_NULL_IN_LIST = 1 << 40  # keys counted for a null inside a list: never a line's `":` count


def _keys_per_row(table: Any, np: Any) -> tuple[Ints, Ints]:
    """How many keys each record of `table` gives, nested objects' keys included (a null
    value is no key; a null inside a list counts `_NULL_IN_LIST`), and how many text
    values (each written between two quotes, as each key is)."""
    keys = np.zeros(table.num_rows, dtype=np.int64)
    texts = np.zeros(table.num_rows, dtype=np.int64)
    for column in table.columns:
        array = column.combine_chunks()
        nested, nested_texts = _nested_keys(array, np)
        keys += np.asarray(array.is_valid(), dtype=np.int64) + nested
        texts += nested_texts
    return keys, texts


def _nested_keys(array: Any, np: Any) -> tuple[Ints, Ints]:
    """Per element of `array`: the keys written inside its value (0 for a plain value), and
    the texts it holds (1 for a text)."""
    import pyarrow as pa

    kind = array.type
    if pa.types.is_string(kind):
        zeros: Ints = np.zeros(len(array), dtype=np.int64)
        return zeros, np.asarray(array.is_valid(), dtype=np.int64)
    if pa.types.is_struct(kind):
        valid = np.asarray(array.is_valid(), dtype=np.int64)
        keys = np.zeros(len(array), dtype=np.int64)
        texts = np.zeros(len(array), dtype=np.int64)
        for number in range(kind.num_fields):
            child = array.field(number)
            child_keys, child_texts = _nested_keys(child, np)
            keys += np.asarray(child.is_valid(), dtype=np.int64) + child_keys
            texts += child_texts
        return keys * valid, texts * valid
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        offsets = np.asarray(array.offsets, dtype=np.int64)
        values = array.values
        inner, inner_texts = _nested_keys(values, np)
        inner = inner + np.asarray(values.is_null(), dtype=np.int64) * _NULL_IN_LIST
        return _segment_sums(inner, offsets, np), _segment_sums(inner_texts, offsets, np)
    none: Ints = np.zeros(len(array), dtype=np.int64)
    return none, none


def _segment_sums(values: Ints, offsets: Ints, np: Any) -> Ints:
    running = np.concatenate(([0], np.cumsum(values, dtype=np.int64)))
    sums: Ints = running[offsets[1:]] - running[offsets[:-1]]
    return sums


# ---------------------------------------------------------------- writing


def _result_lines(pa: Any, np: Any, ids: list[str], scores: Any,
                  tail: str) -> tuple[bytes, Ints]:
    """The result lines of scored records, as `result_line` writes them (no framework, no
    explanation), built a column at a time; and each line's offsets in the bytes."""
    import pyarrow.compute as pc

    count = len(ids)
    if not count:
        return b"", np.zeros(1, dtype=np.int64)
    scale_digits = 6
    parts: list[Any] = [
        '{"id": "', pa.array(ids, type=pa.string()), '", "total": "',
        _decimal_text(pa, np, np.asarray(scores.total) // 10**(scale_digits - 2), 2),
        '", "earned": "', _plain_text(pa, np, scores.earned, scale_digits),
        '", "applicable_max": "', _plain_text(pa, np, scores.applicable_max, scale_digits),
        '", "items": {']
    items = np.asarray(scores.items)
    applicable = np.asarray(scores.applicable, dtype=np.bool_)
    numbers = scores.item_numbers
    for row, number in enumerate(numbers):
        text = pc.binary_join_element_wise('"', _plain_text(pa, np, items[row], scale_digits),
                                           '"', "")
        if not applicable[row].all():
            text = pc.if_else(pa.array(applicable[row]), text, "null")
        separator = ", " if row < len(numbers) - 1 else ""
        parts += [f'"{number}": ', text, separator]
    parts.append('}, "error": null' + tail)
    joined = pc.binary_join_element_wise(*parts, "")
    if isinstance(joined, pa.ChunkedArray):
        joined = joined.combine_chunks()
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32,
                            count=len(joined) + 1, offset=4 * joined.offset).astype(np.int64)
    first, end = int(offsets[0]), int(offsets[-1])
    text = joined.buffers()[2].slice(first, end - first).to_pybytes()
    result: Ints = offsets - first
    return text, result


def _decimal_text(pa: Any, np: Any, unscaled: Any, digits: int) -> Any:
    """The exact decimal text of fixed-point int64s, by Arrow's decimal-to-string cast."""
    import pyarrow.compute as pc

    values = np.asarray(unscaled, dtype=np.int64)
    words = np.empty((len(values), 2), dtype=np.int64)
    words[:, 0] = values
    words[:, 1] = values >> 63  # the sign, extended to 128 bits
    array = pa.Array.from_buffers(pa.decimal128(38, digits), len(values),
                                  [None, pa.py_buffer(words.tobytes())])
    return pc.cast(array, pa.string())


def _plain_text(pa: Any, np: Any, unscaled: Any, digits: int) -> Any:
    """As `arithmetic.plain` writes them: '19.6', '2', '0', '-0.5'."""
    import pyarrow.compute as pc

    text = _decimal_text(pa, np, unscaled, digits)
    return pc.utf8_rtrim(pc.utf8_rtrim(text, characters="0"), characters=".")
