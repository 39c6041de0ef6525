"""In-process timing of reading input files (`read_records`), and of hostile lines.

Run from the repository root: .venv/bin/python benchmarks/read_inputs.py [RECORDS]

CPU time of this process (the machine is shared). Reads a synthetic batch (`make_batch.py`,
default 100,000 records) as JSON Lines, as a JSON array and as CSV, best of 3; then single
hostile records, each best of 5: a huge exponent, a 5,000-digit number, 100,000 `[`, a
string of 200,000 escaped quotes that never closes.
"""

from __future__ import annotations

import csv
import io
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_batch import record

from policy_dsl.runtime import read_records


def best(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = random.Random(2026)
    records = [record(index, rng) for index in range(count)]
    lines = "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n"
    array = "[" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "]"
    header = sorted({key for r in records for key in r})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for r in records:
        writer.writerow([json.dumps(r[k], ensure_ascii=False) if isinstance(r.get(k), list)
                         else r.get(k, "") for k in header])
    table = buffer.getvalue()
    for name, text, fmt in (("JSON Lines", lines, "jsonl"), ("JSON array", array, "json"),
                            ("CSV", table, "csv")):
        seconds = best(3, lambda text=text, fmt=fmt: read_records(text, fmt))  # type: ignore[misc]
        print(f"{name:11} {count:,} records, {len(text) / 1e6:.0f} MB: {seconds:.2f} s "
              f"({seconds / count * 1e6:.1f} µs a record)")
    hostile = {
        "9e999999": '{"id": "A", "visits": 9e999999}',
        "5,000 digits": '{"id": "A", "visits": ' + "9" * 5000 + "}",
        "100,000 [": "[" * 100_000,
        'unclosed "\\"…': '{"id": "A", "_note": "' + '\\"' * 200_000 + "[" * 100,
    }
    for name, line in hostile.items():
        seconds = best(5, lambda line=line: read_records(line, "jsonl"))  # type: ignore[misc]
        print(f"hostile {name:16} {seconds * 1e6:,.0f} µs")


if __name__ == "__main__":
    main()
