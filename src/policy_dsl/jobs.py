"""`policyc score --jobs N`: a batch in N processes, output unchanged.

JSON Lines in UTF-8 (`score_parts_in_processes`): both passes in N processes forked from the
main one. The file is cut into N parts at line breaks (`line_parts`); each process reads,
validates and keeps its part's records (a `FactStore` of its own) and sends back each
record's position and id, its cohort inputs and what the warnings are made from; the main
process merges them in input order (repeated ids, cohort values, warnings), as one pass over
the whole file would, and sends each process its part's plan; each then scores its part into
chunk files, which the main process writes out in input order.

Other inputs (`score_in_processes`): the first pass (reading and validating every record into
the store, ids, cohort inputs, cohort values) runs once, in the main process. The records are
then cut into chunks of consecutive indexes; N worker processes, forked from the main one (so
each has the pack, the plan and the store without copying them), each score their chunk
exactly as one process does (`stored_outcomes`), and write it to a temporary file: the JSON
lines themselves, or the results pickled for a table. The main process takes the chunks in
input order and writes them out as `--jobs 1` would, byte for byte.

A record's fault in a worker is that record's error, as in one process. Ctrl-C and a closed
standard output end the workers with the main process (the workers ignore SIGINT, so only
the main process says "interrupted"); a worker that dies is an internal fault (exit 70).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import multiprocessing
import os
import pickle
import signal
import sys
import tempfile
import traceback
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from decimal import localcontext
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as connection_wait
from multiprocessing.process import BaseProcess
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast

from .reading import FractionWatch, InputSource, fast_records
from .runtime import Outcome, Pack, result_line
from .runtime.arithmetic import DIVISION
from .runtime.batch import (
    BatchPlan,
    CohortInputsFound,
    RepeatedIds,
    cohort_facts_kind,
    planned,
    read_pass,
    sendable,
    stored_outcomes,
)
from .runtime.framework import Lang
from .runtime.inputs import InputRecord, iter_json_lines
from .runtime.store import FactStore, make_picklable

if TYPE_CHECKING:
    from .runtime.snapshot import CohortSnapshot

MAX_CHUNK = 20_000  # records per chunk: what the main process may wait behind
ERRORS_SHOWN = 10


@dataclass
class Tally:
    """Errors as they pass: how many, the first `ERRORS_SHOWN` messages, and faults."""

    records: int = 0
    count: int = 0
    faults: int = 0
    first: list[str] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.records += 1
        if outcome.error is None:
            return
        self.count += 1
        self.faults += outcome.fault
        if len(self.first) < ERRORS_SHOWN:
            self.first.append(outcome.error)

    def merge(self, other: Tally) -> None:
        self.records += other.records
        self.count += other.count
        self.faults += other.faults
        self.first.extend(other.first[:ERRORS_SHOWN - len(self.first)])


@dataclass(frozen=True)
class _Job:
    pack: Pack
    plan: BatchPlan
    store: FactStore  # the first pass's entries (a spilled part is read from its file)
    explain: bool
    lang: Lang  # of the settlement's computation lines
    lines: bool  # JSON lines (else pickled results for a table)
    directory: str


_job: _Job | None = None  # set in the main process before the workers are forked


def chunks(count: int, jobs: int) -> list[tuple[int, int]]:
    """Index ranges: about four chunks per process (so none waits long for the slowest),
    at most `MAX_CHUNK` records each."""
    size = max(1, min(MAX_CHUNK, -(-count // (jobs * 4))))
    return [(start, min(start + size, count)) for start in range(0, count, size)]


def _ignore_interrupt() -> None:
    """In a new process: Ctrl-C is the main process's to handle (see `_forking`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextlib.contextmanager
def _forking() -> Iterator[None]:
    """Ctrl-C held back while processes are forked, and delivered after. A signal that came
    during a fork would be handled inside the interpreter's at-fork hooks (logging's
    `_releaseLock`), where its KeyboardInterrupt is printed as "Exception ignored" and lost:
    the run would go on to the end."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _score_chunk(span: tuple[int, int]) -> tuple[str, Tally]:
    """In a worker: score records start..stop-1 into a temporary file."""
    assert _job is not None
    start, stop = span
    return _written_chunk(stored_outcomes(_job.pack, _job.plan, _job.store, _job.explain,
                                          start, stop),
                          _job.directory, _job.explain, _job.lang, _job.lines)


def _written_chunk(outcomes: Iterable[Outcome], directory: str, explain: bool, lang: Lang,
                   lines: bool) -> tuple[str, Tally]:
    """The outcomes written to a new temporary file in `directory`: their JSON lines, or
    their results pickled; the file's path and their tally."""
    from .api import result_of

    tally = Tally()
    handle, path = tempfile.mkstemp(dir=directory, suffix=".chunk")
    with os.fdopen(handle, "wb") as out:
        for outcome in outcomes:
            tally.add(outcome)
            if lines:
                out.write(result_line(outcome, explain, lang).encode("utf-8"))
            else:
                pickle.dump(result_of(outcome), out, protocol=pickle.HIGHEST_PROTOCOL)
    return path, tally


def score_in_processes(pack: Pack, plan: BatchPlan, store: FactStore, explain: bool, lang: Lang,
                       jobs: int, lines: bool, tally: Tally,
                       progress: Callable[[int], None]) -> Iterator[Any]:
    """The chunks' output in input order: for JSON Lines each chunk's bytes (to write as
    they are), else each `Result`. `tally` gathers the errors."""
    global _job
    with tempfile.TemporaryDirectory(prefix="policyc-jobs-") as directory:
        _job = _Job(pack, plan, store, explain, lang, lines, directory)
        context = multiprocessing.get_context("fork")
        executor = ProcessPoolExecutor(jobs, mp_context=context, initializer=_ignore_interrupt)
        finished = False
        try:
            with _forking():  # the processes start as the chunks are handed out
                scored = executor.map(_score_chunk, chunks(plan.count, jobs))
            for path, part in scored:
                yield from _chunk_output(path, part, lines, tally, progress)
            finished = True
        finally:
            _job = None
            if not finished:  # interrupted, or the output closed: the workers go too
                for process in list(getattr(executor, "_processes", {}).values()):
                    with contextlib.suppress(Exception):
                        process.terminate()
            executor.shutdown(wait=True, cancel_futures=True)


def _chunk_output(path: str, part: Tally, lines: bool, tally: Tally,
                  progress: Callable[[int], None]) -> Iterator[Any]:
    """One chunk a process wrote, taken in: its bytes (JSON Lines) or its `Result`s, its
    tally merged, its file removed, its records counted as done."""
    tally.merge(part)
    with open(path, "rb") as chunk:
        if lines:
            yield chunk.read()
        else:
            yield from _unpickled(chunk)
    os.unlink(path)
    progress(part.records)


def _unpickled(chunk: IO[bytes]) -> Iterator[Any]:
    while True:
        try:
            yield pickle.load(chunk)
        except EOFError:
            return


# ---------------------------------------------------------------- both passes in processes


def splittable(source: InputSource) -> bool:
    """Whether both passes can run in processes over parts of the file: JSON Lines in UTF-8
    (its lines are found by their bytes alone) for a pack (its columns known)."""
    return source.fmt == "jsonl" and source.encoding == "utf-8" and \
        source.pack is not None and source.columns is not None


@dataclass(frozen=True)
class Part:
    """A part of a JSON Lines file read by one process: bytes start..stop-1, whole lines,
    the first of them numbered `line` in the file."""

    start: int
    stop: int
    line: int


def line_parts(stream: BinaryIO, count: int) -> list[Part]:
    """`count` parts of about equal size (fewer for a file of fewer lines), cut after a
    line break; each part's first line number counted from the line breaks before it."""
    size = stream.seek(0, os.SEEK_END)
    cuts = [0]
    for number in range(1, count):
        stream.seek(max(size * number // count, cuts[-1]))
        stream.readline()  # on to the start of the next line
        if cuts[-1] < stream.tell() < size:
            cuts.append(stream.tell())
    cuts.append(size)
    parts = []
    line = 1
    stream.seek(0)
    for start, stop in itertools.pairwise(cuts):
        parts.append(Part(start, stop, line))
        left = stop - start
        while left > 0:  # bounded: the part's bytes, a block at a time
            block = stream.read(min(left, 1 << 20))
            if not block:
                break
            line += block.count(b"\n")
            left -= len(block)
    return parts


def _part_lines(stream: BinaryIO, part: Part) -> Iterator[bytes]:
    """The lines of `part`, each with its line break."""
    stream.seek(part.start)
    left = part.stop - part.start
    if left <= 0:
        return
    for line in stream:  # bounded: the part ends at a line break (or the file's end)
        yield line
        left -= len(line)
        if left <= 0:
            return


@dataclass
class PartRead:
    """What a process's first pass over its part found, sent to the main process: each
    record's position and id, the valid records' cohort inputs (indexes within the part),
    and what the warnings are made from (percent columns, keys that name no fact)."""

    positions: array[int]
    ids: list[object]
    unit: str
    inputs: ByField | None  # the cohort inputs of the part's valid records, in order
    where: array[int]  # the index (in the part) of each
    fractions: FractionWatch
    unknown_keys: dict[str, tuple[InputRecord, int]]


@dataclass
class ByField:
    """A list of dataclass objects sent to another process as a list per field (pickled
    several times faster than object by object), the values that are no such object (an
    exception, None) whole, by index; a list of anything else is sent whole."""

    kind: str | None  # the objects' class name (None: `whole` is the list)
    names: tuple[str, ...]
    columns: list[list[Any]]
    others: dict[int, Any]
    count: int
    whole: list[Any] | None = None

    @classmethod
    def of(cls, values: list[Any], names: tuple[str, ...] | None = None) -> ByField:
        """`values` by the fields `names` (default: all those of their one class)."""
        others = {index: value if value is None else sendable(value)
                  for index, value in enumerate(values)
                  if value is None or isinstance(value, Exception)}
        rows = [value for value in values if not (value is None or isinstance(value, Exception))] \
            if others else values
        kinds = {type(value) for value in rows}
        first = rows[0] if rows else None
        if first is None or not dataclasses.is_dataclass(first) or \
                (names is None and len(kinds) > 1):
            return cls(None, (), [], {}, len(values), values)
        if names is None:
            names = tuple(each.name for each in dataclasses.fields(first))
        columns = [[getattr(value, name) for value in rows] for name in names]
        return cls(type(first).__qualname__, names, columns, others, len(values))

    def objects(self, kind: Callable[..., Any]) -> list[Any]:
        """The list again, each object made by `kind` from its fields."""
        if self.whole is not None:
            return self.whole
        made = [kind(*row) for row in zip(*self.columns, strict=True)] if self.names else \
            [kind() for _ in range(self.count - len(self.others))]
        if not self.others:
            return made
        rest = iter(made)
        return [self.others[index] if index in self.others else next(rest)
                for index in range(self.count)]


@dataclass
class PartPlan:
    """A part's plan (`BatchPlan`, indexed from the part's first record), to send."""

    count: int
    repeated: dict[int, str]
    cohort_of: ByField | None
    cohort_fault: Exception | None

    def plan(self, pack: Pack, snapshot: CohortSnapshot | None) -> BatchPlan:
        cohort_of = None if self.cohort_of is None else self.cohort_of.objects(
            getattr(pack.module, self.cohort_of.kind or "", None) or _no_kind)
        return BatchPlan(self.count, self.repeated, cohort_of, self.cohort_fault, snapshot)


def _no_kind(*values: Any) -> Any:
    raise TypeError("cohort values sent by field without their class")


@dataclass(frozen=True)
class _Parts:
    source: InputSource
    pack: Pack
    snapshot: CohortSnapshot | None
    explain: bool
    lang: Lang
    lines: bool
    directory: str
    processes: int  # how many share the memory budget (`FactStore`)


def score_parts_in_processes(source: InputSource, pack: Pack, snapshot: CohortSnapshot | None,
                             explain: bool, lang: Lang, jobs: int, lines: bool, tally: Tally,
                             read: Callable[[int], None], first_pass_done: Callable[[int], None],
                             progress: Callable[[int], None]) -> Iterator[Any]:
    """Both passes in `jobs` processes, each over a part of the JSON Lines file
    (`splittable`): each reads and validates its part and keeps its records; the main
    process takes their ids and cohort inputs in input order, finds repeated ids and
    computes the cohort values (and the warnings, in `source.warnings`), sends each
    process those of its part, and each scores its part into chunk files. Yields what
    `score_in_processes` yields, in input order. `read`: records read so far (by step);
    `first_pass_done`: called with the number of records once the plan is made;
    `progress`: records scored (by chunk)."""
    with tempfile.TemporaryDirectory(prefix="policyc-jobs-") as directory:
        with source.opener() as stream:
            parts = line_parts(stream, jobs)
        job = _Parts(source, pack, snapshot, explain, lang, lines, directory, len(parts))
        make_picklable(pack)  # before the fork: facts may be sent both ways
        sys.stdout.flush()  # nothing written before the fork is written again by a process
        sys.stderr.flush()
        context = multiprocessing.get_context("fork")
        links: list[Connection] = []
        processes: list[BaseProcess] = []
        try:
            for part in parts:
                mine, theirs = context.Pipe()
                process = context.Process(target=_part_worker, args=(job, part, theirs),
                                          daemon=True)
                with _forking():
                    process.start()
                theirs.close()
                links.append(mine)
                processes.append(process)
            found = _gathered(links, read)
            counts = [len(part_read.positions) for part_read in found]
            plan = _merged(pack, snapshot, source, found)
            del found  # let go: only the plan's slices are needed now
            first_pass_done(plan.count)
            offset = 0
            for link, count in zip(links, counts, strict=True):
                link.send(_part_plan(plan, offset, count))
                offset += count
            del plan
            yield from _chunks_in_order(links, lines, tally, progress)
        finally:  # done, interrupted, or the output closed: the processes go
            for each in processes:
                if each.is_alive():
                    each.terminate()
            for each in processes:
                each.join()
            for link in links:
                link.close()


class WorkerFailed(RuntimeError):
    """A process scoring a part failed or died (an internal fault: exit 70)."""


def _received(link: Connection) -> Any:
    try:
        message = link.recv()
    except EOFError:
        raise WorkerFailed("a process scoring a part of the input died") from None
    if message[0] == "fault":
        raise WorkerFailed(f"a process scoring a part of the input failed:\n{message[1]}")
    return message


def _gathered(links: list[Connection], read: Callable[[int], None]) -> list[PartRead]:
    """Each process's `PartRead`, in the parts' order; `read` told of records read as the
    processes say."""
    found: dict[int, PartRead] = {}
    waiting = {id(link): number for number, link in enumerate(links)}
    while waiting:  # bounded: each process sends its PartRead once, or fails
        for link in connection_wait([links[number] for number in waiting.values()]):
            message = _received(cast("Connection", link))
            if message[0] == "read":
                read(message[1])
            else:
                found[waiting.pop(id(link))] = message[1]
    return [found[number] for number in range(len(links))]


def _merged(pack: Pack, snapshot: CohortSnapshot | None, source: InputSource,
            found: list[PartRead]) -> BatchPlan:
    """The batch's plan from its parts' first passes, as one pass over the whole file
    would make it; the source's warnings from theirs."""
    ids = RepeatedIds()
    inputs = CohortInputsFound() if found and found[0].inputs is not None else None
    fractions = FractionWatch(pack)
    columns = source.columns
    assert columns is not None
    index = 0
    for part in found:
        if inputs is not None and part.inputs is not None:
            inputs.inputs.extend(part.inputs.objects(cohort_facts_kind(part.inputs.names)))
            inputs.where.extend([index + each for each in part.where])
            part.inputs = None
        for position, record_id in zip(part.positions, part.ids, strict=True):
            ids.add(index, position, record_id, part.unit)
            index += 1
        part.ids = []  # let go as merged
        fractions.merge(part.fractions)
        for key, (first, count) in part.unknown_keys.items():
            earlier, before = columns.unknown_keys.get(key, (first, 0))
            columns.unknown_keys[key] = (earlier, before + count)
    with localcontext(DIVISION):
        plan = planned(pack, ids, inputs, snapshot)
    source.warnings = fractions.warnings(source.name, columns) + \
        columns.unknown_key_warnings()
    return plan


def _part_plan(plan: BatchPlan, offset: int, count: int) -> PartPlan:
    """The plan of the records offset..offset+count-1, indexed from 0."""
    repeated = {index - offset: problem for index, problem in plan.repeated.items()
                if offset <= index < offset + count}
    cohort_of = None if plan.cohort_of is None else \
        ByField.of(plan.cohort_of[offset:offset + count])
    fault = None if plan.cohort_fault is None else sendable(plan.cohort_fault)
    return PartPlan(count, repeated, cohort_of, fault)


def _chunks_in_order(links: list[Connection], lines: bool, tally: Tally,
                     progress: Callable[[int], None]) -> Iterator[Any]:
    """The chunks the processes write, in input order, as `score_in_processes` gives
    them; messages from any process are taken as they come (none waits to send)."""
    chunks: list[deque[tuple[str, Tally]]] = [deque() for _ in links]
    finished = [False] * len(links)
    current = 0
    while current < len(links):  # bounded: each process sends its chunks, then "done"
        if chunks[current]:
            path, part = chunks[current].popleft()
            yield from _chunk_output(path, part, lines, tally, progress)
            continue
        if finished[current]:
            current += 1
            continue
        open_links = [link for number, link in enumerate(links) if not finished[number]]
        for link in connection_wait(open_links):
            number = links.index(cast("Connection", link))
            message = _received(links[number])
            if message[0] == "chunk":
                chunks[number].append((message[1], message[2]))
            else:
                finished[number] = True


def _part_worker(job: _Parts, part: Part, link: Connection) -> None:
    """In a forked process: the first pass over `part`, its `PartRead` sent; then, given
    the part's plan, its records scored into chunk files, each announced as written."""
    _ignore_interrupt()
    try:
        with FactStore(job.pack, directory=job.directory, share=job.processes) as store:
            read, count = _read_part(job, part, store, link)
            link.send(("found", read))
            del read  # sent: the ids and cohort inputs are the main process's now
            plan = cast("PartPlan", link.recv()).plan(job.pack, job.snapshot)
            for start in range(0, count, MAX_CHUNK):
                stop = min(start + MAX_CHUNK, count)
                path, tally = _written_chunk(
                    stored_outcomes(job.pack, plan, store, job.explain, start, stop),
                    job.directory, job.explain, job.lang, job.lines)
                link.send(("chunk", path, tally))
        link.send(("done",))
    except BaseException:  # any failure is the main process's to report
        with contextlib.suppress(Exception):
            link.send(("fault", traceback.format_exc()))
    finally:
        link.close()


def _read_part(job: _Parts, part: Part, store: FactStore,
               link: Connection) -> tuple[PartRead, int]:
    pack = job.pack
    columns = job.source.columns
    assert columns is not None
    positions: array[int] = array("q")
    ids: list[object] = []
    units: list[str] = []

    def see(index: int, record: InputRecord) -> None:
        positions.append(record.position)
        ids.append(record.id)
        if index == 0:
            units.append(record.unit)

    fractions = FractionWatch(pack)
    with job.source.opener() as stream:
        records = columns.named_keys(iter_json_lines(
            _part_lines(stream, part), fast=fast_records(), first_line=part.line))
        watched = _watched(records, fractions)
        with localcontext(DIVISION):
            found = read_pass(pack, watched, see, store,
                              job.snapshot is None and bool(pack.COHORTS),
                              lambda count: link.send(("read", count)))
    unknown = {key: (InputRecord(first.position, first.id, None, first.error, first.unit),
                     count) for key, (first, count) in columns.unknown_keys.items()}
    inputs = None if found is None else ByField.of(found.inputs, tuple(pack.COHORT_FACTS))
    return PartRead(positions, ids, units[0] if units else "line", inputs,
                    array("q") if found is None else found.where, fractions,
                    unknown), len(positions)


def _watched(records: Iterable[InputRecord], fractions: FractionWatch) -> Iterator[InputRecord]:
    for record in records:
        fractions.see(record)
        yield record
