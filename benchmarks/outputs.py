"""Whole-process timing of `policyc score -o` in each output format, on one generated batch.

Run from the repository root: .venv/bin/python benchmarks/outputs.py [RECORDS]
(default 20,000 Suzhou inpatient institutions; best of 3 runs per format).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

POLICYC = Path(sys.executable).with_name("policyc")
FORMATS = ("jsonl", "csv", "xlsx", "parquet")
RUNS = 3


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    with tempfile.TemporaryDirectory() as folder:
        batch = Path(folder) / "batch.jsonl"
        with batch.open("w", encoding="utf-8") as stream:
            subprocess.run([sys.executable, "benchmarks/make_batch.py", str(count)],
                           stdout=stream, check=True)
        for fmt in FORMATS:
            target = Path(folder) / f"results.{fmt}"
            best = float("inf")
            for _ in range(RUNS):
                started = time.perf_counter()
                subprocess.run([str(POLICYC), "score", "--pack", "suzhou/inpatient-2023",
                                str(batch), "-o", str(target)], check=True,
                               stderr=subprocess.DEVNULL)
                best = min(best, time.perf_counter() - started)
            size = target.stat().st_size / 1024 / 1024
            print(f"{fmt:8} {count:,} records: {best:6.2f} s, {count / best:8,.0f} records/s, "
                  f"{size:6.1f} MiB")


if __name__ == "__main__":
    main()
