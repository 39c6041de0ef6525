"""The pipeline's own cost in `policyc score`: the whole process against the sum of its parts.

Run from the repository root, on a generated JSON Lines batch:

    .venv/bin/python benchmarks/generate.py --pack suzhou/inpatient-2023 --count 100000 \
        --seed 1 -o /tmp/b100k.jsonl
    .venv/bin/python benchmarks/pipeline.py /tmp/b100k.jsonl            # --jobs 1 and 2
    .venv/bin/python benchmarks/pipeline.py /tmp/b100k.jsonl --runs 3 --jobs 1

Parts, in this process, each timed alone over every record (µs a record, best of `--runs`):
reading (the input's records: `InputSource.records`, decoding included), `read_record`,
`compute_cohorts`, `evaluate` (explanations off) and the result line (`outcome_json` +
`json.dumps`). Then `policyc score FILE -o OUT --quiet` as a fresh process (median of
`--runs`; wall time, CPU time of the process and its workers, peak RSS of the largest), and
a process that only starts (scoring one record). The pipeline's overhead is the whole, less
the start, less the parts: what the passes themselves cost (ids, the store, outcomes,
tallies, writing). With `--jobs 2` the parts' sum is halved (two processes share them).

Figures move with the machine's load: read CPU time beside wall time.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import localcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACK = "suzhou/inpatient-2023"
POLICYC = Path(sys.executable).with_name("policyc")


def parts(path: Path, runs: int) -> dict[str, float]:
    """µs a record of each part, in this process."""
    from policy_dsl.reading import open_input
    from policy_dsl.runtime import load_pack
    from policy_dsl.runtime.arithmetic import DIVISION
    from policy_dsl.runtime.batch import Outcome, outcome_json
    from policy_dsl.runtime.inputs import InputRecord

    pack = load_pack(PACK, packs_dir=ROOT / "generated")
    records: list[Any] = []

    def best(step: Callable[[], object]) -> float:
        times = []
        for _ in range(runs):
            gc.collect()
            gc.disable()  # the parts alone, not the collector walking what this holds
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
            gc.enable()
        return min(times) * 1e6 / max(1, len(records))

    def read() -> None:
        records[:] = list(open_input(path, path.name, pack).records())

    found = {"reading": best(read)}
    raws = [record.raw for record in records if record.raw is not None]
    with localcontext(DIVISION):
        found["read_record"] = best(lambda: [pack.read_record(raw) for raw in raws])
        facts = [pack.read_record(raw) for raw in raws]
        found["compute_cohorts"] = best(lambda: pack.compute_cohorts(facts))
        cohorts = pack.compute_cohorts(facts)
        found["evaluate"] = best(lambda: [pack.evaluate(each, cohort, False)
                                          for each, cohort in zip(facts, cohorts,
                                                                  strict=True)])
        scores = [pack.evaluate(each, cohort, False)
                  for each, cohort in zip(facts, cohorts, strict=True)]
    record = InputRecord(1, "X", None, None, "line")
    outcomes = [Outcome(record, score, None, provenance=pack.provenance) for score in scores]
    found["result line"] = best(lambda: [json.dumps(outcome_json(outcome),
                                                    ensure_ascii=False) + "\n"
                                         for outcome in outcomes])
    found["count"] = len(records)
    return found


def whole(path: Path, jobs: int, runs: int) -> tuple[float, float, int]:
    """Median wall and CPU seconds, and the largest peak RSS (KiB), of `policyc score`."""
    walls, cpus, peaks = [], [], []
    with tempfile.TemporaryDirectory() as directory:
        for _ in range(runs):
            start = time.perf_counter()
            process = subprocess.Popen(
                [str(POLICYC), "score", "--pack", PACK, "--packs", str(ROOT / "generated"),
                 str(path), "-o", str(Path(directory) / "out.jsonl"), "--quiet",
                 "--jobs", str(jobs)], stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(process.pid, 0)
            walls.append(time.perf_counter() - start)
            if os.waitstatus_to_exitcode(status) not in (0, 3):
                raise SystemExit(f"policyc score failed (status {status})")
            cpus.append(usage.ru_utime + usage.ru_stime)  # with the workers it reaped
            peaks.append(usage.ru_maxrss)
    return statistics.median(walls), statistics.median(cpus), max(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("batch", type=Path, help="a JSON Lines batch of Suzhou inpatient")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--jobs", default="1,2", help="comma-separated (default 1,2)")
    options = parser.parse_args()
    # the processes first: one forked from this one after it holds the batch would count
    # the batch in its peak memory
    with tempfile.TemporaryDirectory() as directory:
        one = Path(directory) / "one.jsonl"
        with options.batch.open("rb") as stream:
            one.write_bytes(stream.readline())
        start_wall, _, _ = whole(one, 1, max(3, options.runs))
    runs = {jobs: whole(options.batch, jobs, options.runs)
            for jobs in [int(each) for each in options.jobs.split(",")]}
    found = parts(options.batch, options.runs)
    count = int(found.pop("count"))
    for name, micros in found.items():
        print(f"{name:28} {micros:7.2f} µs/record")
    summed = sum(found.values())
    print(f"{'parts, summed':28} {summed:7.2f} µs/record")
    print(f"{'a process that only starts':28} {start_wall:7.2f} s")
    for jobs, (wall, cpu, peak) in runs.items():
        share = summed / jobs
        overhead = (wall - start_wall) * 1e6 / count - share
        print(f"policyc score --jobs {jobs}: {wall:6.2f} s wall = {wall * 1e6 / count:6.2f} "
              f"µs/record, {cpu:6.2f} s CPU, peak {peak / 1024:5.0f} MiB; "
              f"overhead beyond start and parts{'/' + str(jobs) if jobs > 1 else ''}: "
              f"{overhead:6.2f} µs/record")


if __name__ == "__main__":
    main()
