"""Record, then compare, what `policyc score` writes for every pack, with and without
`--explain`, on seeded inputs: the benchmark batch (Suzhou inpatient), every regression case's
records and a few thousand changed or hostile records per pack (tests/golden_records.py).
`pack_sha256` is masked: it changes with every build. For a change that must not change any
result (code generation, the runtime's readers):

    python benchmarks/golden.py record /tmp/golden-before    # on the old code
    python benchmarks/golden.py compare /tmp/golden-before   # new code: exit 1 if any differs
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "benchmarks")]

import golden_records  # noqa: E402
import make_batch  # noqa: E402

from policy_dsl.runtime import load_pack  # noqa: E402

HOSTILE_PER_PACK = 3000
BATCH = 3000
POLICYC = str(Path(sys.executable).with_name("policyc"))


def _json(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    return str(value)  # dates


def inputs(directory: Path) -> list[tuple[str, Path]]:
    """Write each pack's input file; (pack, path) pairs."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[tuple[str, Path]] = []
    for name in golden_records.packs():
        pack = load_pack(name, packs_dir=golden_records.GENERATED)
        records = golden_records.case_records(pack) + golden_records.hostile_records(
            pack, HOSTILE_PER_PACK, seed=1)
        if name == "suzhou/inpatient-2023":
            rng = make_batch.random.Random(2023)
            records += [make_batch.record(i, rng) for i in range(BATCH)]
        path = directory / (name.replace("/", "__") + ".jsonl")
        with path.open("w", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False, default=_json) + "\n")
        written.append((name, path))
    return written


def outputs(directory: Path) -> dict[str, list[str]]:
    results: dict[str, list[str]] = {}
    for name, path in inputs(directory / "in"):
        for explain in (False, True):
            command = [POLICYC, "score", "--pack", name, str(path)]
            if explain:
                command.append("--explain")
            done = subprocess.run(command, capture_output=True, check=False)
            lines = []
            for text in done.stdout.decode("utf-8").splitlines():
                line = json.loads(text)
                line["pack_sha256"] = "<masked>"
                lines.append(json.dumps(line, ensure_ascii=False))
            lines.append(f"exit {done.returncode}")
            results[f"{name} explain={explain}"] = lines
    return results


def main() -> int:
    action, where = sys.argv[1], Path(sys.argv[2])
    if action == "record":
        where.mkdir(parents=True, exist_ok=True)
        (where / "outputs.json").write_text(json.dumps(outputs(where), ensure_ascii=False))
        return 0
    before = json.loads((where / "outputs.json").read_text())
    after = outputs(where / "after")
    failed = 0
    for key, lines in before.items():
        now = after.get(key, [])
        same = lines == now
        failed += not same
        print(f"{'same' if same else 'DIFFERENT'}: {key} ({len(lines)} lines)")
        if not same:
            for old, new in zip(lines, now, strict=False):
                if old != new:
                    print(f"  before: {old[:400]}\n  after:  {new[:400]}")
                    break
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
