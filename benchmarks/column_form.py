"""The column form of a pack (runtime/columns.py), in-process: how long Arrow's parse,
`read_columns` (with the pack's `check_columns`) and `score_block` take per record, beside
the record path's `read_record` + `compute_cohorts` + `score` over the same batch.

    .venv/bin/python benchmarks/column_form.py --count 100000 --runs 3

No I/O but the parse of the JSON Lines bytes, no result lines (the lane writes them); the
cohort values are the record path's, brought to SCALE by `fixed_cohorts` (timed apart).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from decimal import Decimal
from pathlib import Path

import pyarrow.json as pj

from policy_dsl.runtime import load_pack
from policy_dsl.runtime.columns import arrow_schema, fixed_cohorts, read_columns, score_block

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import generate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pack", default="suzhou/inpatient-2023")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    pack = load_pack(args.pack, packs_dir=ROOT / "generated")
    plan = pack.COLUMNS
    if plan is None:
        sys.exit(f"{args.pack} has no column form")
    records = list(generate.records(args.pack, args.count, seed=1))
    data = "".join(generate.json_text(r) + "\n" for r in records).encode()
    raws = [json.loads(line, parse_float=Decimal) for line in data.splitlines()]
    options = pj.ParseOptions(explicit_schema=arrow_schema(plan),
                              unexpected_field_behavior="error")
    times: dict[str, list[float]] = {"parse (arrow)": [], "read_columns": [],
                                     "fixed_cohorts": [], "score_block": [],
                                     "record path (read, cohorts, score)": []}
    for _ in range(args.runs):
        started = time.perf_counter()
        table = pj.read_json(io.BytesIO(data), parse_options=options,
                             read_options=pj.ReadOptions(use_threads=False,
                                                         block_size=1 << 24))
        parsed = time.perf_counter()
        block = read_columns(pack, table)
        read = time.perf_counter()
        facts = [pack.read_record(raw) for raw in raws]
        cohorts = pack.compute_cohorts(facts)
        for f, c in zip(facts, cohorts, strict=True):
            pack.evaluate(f, c, explain=False)
        recorded = time.perf_counter()
        values = {bound.name: [getattr(c, bound.name) for c in cohorts]
                  for bound in plan.cohorts}
        converted = time.perf_counter()
        columns, exact = fixed_cohorts(plan, values)
        fixed = time.perf_counter()
        score_block(pack, block, columns)
        scored = time.perf_counter()
        times["parse (arrow)"].append(parsed - started)
        times["read_columns"].append(read - parsed)
        times["fixed_cohorts"].append(fixed - converted)
        times["score_block"].append(scored - fixed)
        times["record path (read, cohorts, score)"].append(recorded - read)
    count = len(records)
    print(f"{args.pack}, {count:,} records, best of {args.runs}; vouched "
          f"{int((block.vouched & exact).sum()):,}")
    print("| part | µs/record |")
    print("|---|---:|")
    for name, spent in times.items():
        print(f"| {name} | {min(spent) / count * 1e6:.2f} |")


if __name__ == "__main__":
    main()
