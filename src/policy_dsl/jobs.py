"""`policyc score --jobs N`: the second pass over a batch in N processes, output unchanged.

The first pass (reading and validating every record into the store, ids, cohort inputs,
cohort values) runs once, in the main process. The records are then cut into chunks of
consecutive indexes; N worker processes, forked from the main one (so each has the pack and
the plan without copying them), each read their chunk of the store, score it exactly as one
process does (`stored_outcomes`), and write it to a temporary file: the JSON lines
themselves, or the results pickled for a table. The main process takes the chunks in input
order and writes them out as `--jobs 1` would, byte for byte.

A record's fault in a worker is that record's error, as in one process. Ctrl-C and a closed
standard output end the workers with the main process (the workers ignore SIGINT, so only
the main process says "interrupted"); a worker that dies is an internal fault (exit 70).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import pickle
import signal
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any

from .runtime import Outcome, Pack, outcome_json
from .runtime.batch import BatchPlan, stored_outcomes
from .runtime.framework import Lang
from .runtime.store import FactStore

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
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _score_chunk(span: tuple[int, int]) -> tuple[str, Tally]:
    """In a worker: score records start..stop-1 into a temporary file."""
    assert _job is not None
    from .api import result_of

    start, stop = span
    tally = Tally()
    handle, path = tempfile.mkstemp(dir=_job.directory, suffix=".chunk")
    with os.fdopen(handle, "wb") as out:
        for outcome in stored_outcomes(_job.pack, _job.plan, _job.store, _job.explain, start,
                                       stop):
            tally.add(outcome)
            if _job.lines:
                line = outcome_json(outcome, _job.explain, _job.lang)
                out.write((json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8"))
            else:
                pickle.dump(result_of(outcome), out, protocol=pickle.HIGHEST_PROTOCOL)
    return path, tally


def score_in_processes(pack: Pack, plan: BatchPlan, store: FactStore, explain: bool, lang: Lang,
                       jobs: int, lines: bool, tally: Tally,
                       progress: Callable[[int], None] | None = None) -> Iterator[Any]:
    """The chunks' output in input order: for JSON Lines each chunk's bytes (to write as
    they are), else each `Result`. `tally` gathers the errors."""
    global _job
    with tempfile.TemporaryDirectory(prefix="policyc-jobs-") as directory:
        _job = _Job(pack, plan, store, explain, lang, lines, directory)
        context = multiprocessing.get_context("fork")
        executor = ProcessPoolExecutor(jobs, mp_context=context, initializer=_ignore_interrupt)
        finished = False
        try:
            for path, part in executor.map(_score_chunk, chunks(plan.count, jobs)):
                tally.merge(part)
                with open(path, "rb") as chunk:
                    if lines:
                        yield chunk.read()
                    else:
                        yield from _unpickled(chunk)
                os.unlink(path)
                if progress is not None:
                    progress(part.records)
            finished = True
        finally:
            _job = None
            if not finished:  # interrupted, or the output closed: the workers go too
                for process in list(getattr(executor, "_processes", {}).values()):
                    with contextlib.suppress(Exception):
                        process.terminate()
            executor.shutdown(wait=True, cancel_futures=True)


def _unpickled(chunk: IO[bytes]) -> Iterator[Any]:
    while True:
        try:
            yield pickle.load(chunk)
        except EOFError:
            return
