"""Scoring gives byte-for-byte the outputs recorded before code generation changed.

tests/golden/digests.json holds, for every pack and with and without explanations, the SHA-256
of the JSON lines (pack_sha256 masked) that the packs gave on the seeded records of
tests/golden_records.py (regression-case records, and the same with facts changed to other
spellings, bounds, wrong types or nothing) when they were recorded. A change that must not
change any result (how packs are generated, how fields are read) keeps every digest; a change
that means to change results rewrites the file on purpose:

    python tests/test_golden_outputs.py   # rewrite tests/golden/digests.json

On a difference, `benchmarks/golden.py compare` shows the first line that differs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import golden_records

from policy_dsl.runtime import load_pack

DIGESTS = Path(__file__).parent / "golden" / "digests.json"
RECORDS_PER_PACK = 400


def current(name: str, explain: bool) -> str:
    pack = load_pack(name, packs_dir=golden_records.GENERATED)
    records = golden_records.case_records(pack) + golden_records.hostile_records(
        pack, RECORDS_PER_PACK, seed=7)
    return golden_records.digest(golden_records.output_lines(name, records, explain))


@pytest.mark.parametrize("explain", [False, True], ids=["scores", "explained"])
@pytest.mark.parametrize("name", golden_records.packs())
def test_outputs_are_those_recorded(name: str, explain: bool) -> None:
    recorded = json.loads(DIGESTS.read_text(encoding="utf-8"))
    assert current(name, explain) == recorded[f"{name} explain={explain}"]


if __name__ == "__main__":
    DIGESTS.write_text(json.dumps({f"{name} explain={explain}": current(name, explain)
                                   for name in golden_records.packs()
                                   for explain in (False, True)}, indent=2) + "\n")
