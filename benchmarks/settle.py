"""In-process timing of one framework settlement (`settle`), with and without reason lines.

Run from the repository root: .venv/bin/python benchmarks/settle.py
"""

from __future__ import annotations

import timeit
from decimal import Decimal
from pathlib import Path

from policy_dsl.runtime import load_pack, settle

PACK = "jilin/medical-inpatient-2026"
RUNS = 50_000


def main() -> None:
    pack = load_pack(PACK, packs_dir=Path("generated"))
    # two subordinates (the composite) and a provincial criticism (a downgrade)
    record = {"id": "J", "assessment_year": 2026, "agreement_start": "2020-01-01",
              "deposit": "200000", "subordinate_scores": ["80", "70"],
              "opinion_events": ["provincial"], "deductions": [], "bonuses": []}
    inputs = pack.read_record(record).settlement
    rules = pack.FRAMEWORK  # type: ignore[attr-defined]
    own = Decimal("85.55")
    for explain in (False, True):
        def once(explain: bool = explain) -> None:
            settle(rules, inputs, own, explain)

        best = min(timeit.repeat(once, number=RUNS, repeat=3))
        print(f"settle, explain={explain}: {best / RUNS * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
