"""In-process cost of a pack's `read_record` and `evaluate` (no explanation), in µs a record.

    python benchmarks/readers.py [suzhou/inpatient-2023 jilin/medical-inpatient-2026 ...]

Suzhou inpatient reads the benchmark batch (benchmarks/make_batch.py, 20,000 records);
another pack reads the valid records among tests/golden_records.py's seeded ones (its cases
with facts changed), as JSON decoding leaves them (texts for the batch's decimals, ints, bools,
lists). Each figure is the median of 7 `timeit` runs over the whole set, in the process's CPU
time (less noisy than the wall clock on a shared machine).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import timeit
from decimal import localcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "benchmarks")]

import golden_records  # noqa: E402
import make_batch  # noqa: E402

from policy_dsl.runtime import RecordInvalid, load_pack  # noqa: E402
from policy_dsl.runtime.arithmetic import DIVISION  # noqa: E402

RUNS = 7


def records(name: str) -> list[dict[str, object]]:
    if name == "suzhou/inpatient-2023":
        rng = make_batch.random.Random(2023)
        return [json.loads(json.dumps(make_batch.record(i, rng))) for i in range(20_000)]
    pack = load_pack(name, packs_dir=golden_records.GENERATED)
    chosen = []
    for record in golden_records.hostile_records(pack, 20_000, seed=3):
        try:
            pack.read_record(record)
        except (RecordInvalid, Exception):
            continue
        chosen.append(record)
    return chosen


def measure(name: str) -> None:
    pack = load_pack(name, packs_dir=golden_records.GENERATED)
    raws = records(name)
    read = pack.read_record
    evaluate = pack.evaluate
    with localcontext(DIVISION):
        facts = [read(raw) for raw in raws]
        cohorts = pack.compute_cohorts(facts)
        pairs = [(f, c) for f, c in zip(facts, cohorts, strict=True)
                 if not isinstance(c, Exception)]

        def reading() -> None:
            for raw in raws:
                read(raw)

        def scoring() -> None:
            for f, c in pairs:
                evaluate(f, c, False)

        def explaining() -> None:
            for f, c in pairs:
                evaluate(f, c, True)

        for label, work, count in (("read_record", reading, len(raws)),
                                   ("evaluate (no explanation)", scoring, len(pairs)),
                                   ("evaluate (explained)", explaining, len(pairs))):
            times = timeit.repeat(work, number=1, repeat=RUNS, timer=time.process_time)
            print(f"{name}: {label}: {statistics.median(times) / count * 1e6:.2f} µs a record "
                  f"(median of {RUNS} runs over {count} records)")


if __name__ == "__main__":
    for name in sys.argv[1:] or ["suzhou/inpatient-2023", "jilin/medical-inpatient-2026"]:
        measure(name)
