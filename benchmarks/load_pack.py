"""In-process timing of `load_pack`: the first load (read, hash, check, compile and execute
the pack) and later loads (read the manifest, read and hash the pack, check; the module is
reused).

Run from the repository root: .venv/bin/python benchmarks/load_pack.py
"""

from __future__ import annotations

import time
import timeit
from pathlib import Path

from policy_dsl.runtime import load_pack

PACK = "suzhou/inpatient-2023"
RUNS = 500


def main() -> None:
    started = time.perf_counter()
    load_pack(PACK, packs_dir=Path("generated"))
    first = time.perf_counter() - started
    later = timeit.timeit(lambda: load_pack(PACK, packs_dir=Path("generated")), number=RUNS)
    print(f"{PACK}: first load {first * 1000:.1f} ms, later loads {later / RUNS * 1000:.2f} ms")


if __name__ == "__main__":
    main()
