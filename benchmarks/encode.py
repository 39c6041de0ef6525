"""From a record's facts to its result line's bytes, part by part, in-process (issue 10).

Run from the repository root:

    .venv/bin/python benchmarks/encode.py [--pack NAME] [--count N] [--runs R] [BATCH.jsonl]

Without a batch, `generate.py` makes N records of the pack (seed 1, all valid; default 20,000
Suzhou inpatient institutions). Read and validated first (not timed), then, in µs a record
(the best of R runs, garbage collection off):

- score: the pack's `evaluate` without explanations, the cohort values computed beforehand;
- outcome: the `Outcome` the second pass makes of each score;
- dumps: `json.dumps(outcome_json(...), ensure_ascii=False) + "\\n"` (how lines were made);
- result_line: the same text written directly (runtime/result_lines.py);
- write: `write_result_lines` into a UTF-8 file (result_line, joined, encoded, written);
- facts → bytes: score + outcome + write, the encode helper's part of `policyc score`.

It checks that result_line gives dumps' text on every record before timing anything.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import localcontext
from pathlib import Path
from typing import Any

from policy_dsl.runtime import InputRecord, Outcome, load_pack, outcome_json, read_records
from policy_dsl.runtime.arithmetic import DIVISION
from policy_dsl.runtime.result_lines import result_line, write_result_lines

ROOT = Path(__file__).resolve().parents[1]


def best_of(runs: int, count: int, work: Callable[[], object]) -> float:
    """The fastest of `runs` runs of `work`, in µs per record."""
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("batch", nargs="?", type=Path)
    parser.add_argument("--pack", default="suzhou/inpatient-2023")
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    pack = load_pack(args.pack, packs_dir=ROOT / "generated")
    with tempfile.TemporaryDirectory() as folder:
        batch = args.batch
        if batch is None:
            batch = Path(folder) / "batch.jsonl"
            subprocess.run([sys.executable, str(ROOT / "benchmarks/generate.py"), "--pack",
                            args.pack, "--count", str(args.count), "--seed", "1", "-o",
                            str(batch)], check=True)
        records = read_records(batch.read_text(encoding="utf-8"), "jsonl")
        with localcontext(DIVISION):
            facts = [pack.read_record(r.raw) for r in records if r.raw is not None]
            records = [r for r in records if r.raw is not None]
            cohorts = pack.compute_cohorts(facts)
        valid = [(InputRecord(r.position, r.id, None, None, r.unit), f, c)
                 for r, f, c in zip(records, facts, cohorts, strict=True)
                 if not isinstance(c, Exception)]
        count = len(valid)
        provenance = pack.provenance
        rules = pack.FRAMEWORK
        gc.disable()
        with localcontext(DIVISION):
            def scores() -> list[Any]:
                return [pack.evaluate(f, c, False) for _, f, c in valid]

            def outcomes(made: list[Any]) -> list[Outcome]:
                return [Outcome(record, score, None, None, rules is not None,
                                provenance=provenance)
                        for (record, _, _), score in zip(valid, made, strict=True)]

            if rules is not None:
                print("a pack under a framework: settle() is not timed here", file=sys.stderr)
            made = scores()
            outs = outcomes(made)
            for outcome in outs:
                assert result_line(outcome) == json.dumps(
                    outcome_json(outcome), ensure_ascii=False) + "\n"
            timings = {
                "score": best_of(args.runs, count, scores),
                "outcome": best_of(args.runs, count, lambda: outcomes(made)),
                "dumps": best_of(args.runs, count, lambda: [
                    json.dumps(outcome_json(o), ensure_ascii=False) + "\n" for o in outs]),
                "result_line": best_of(args.runs, count, lambda: [result_line(o) for o in outs]),
            }
            target = Path(folder) / "results.jsonl"

            def write() -> None:
                with target.open("w", encoding="utf-8") as stream:
                    write_result_lines(outs, stream.write)

            timings["write"] = best_of(args.runs, count, write)
        gc.enable()
    timings["facts → bytes"] = timings["score"] + timings["outcome"] + timings["write"]
    print(f"{args.pack}, {count:,} records, best of {args.runs}, µs a record:")
    for label, micros in timings.items():
        print(f"  {label:14} {micros:6.2f}")


if __name__ == "__main__":
    main()
