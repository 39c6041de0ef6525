"""In-process timing of the decode part of `policyc score`: a JSON Lines line's bytes to the
pack's validated facts (issue 10's speed targets; the goal of this part is 7 µs a record).

Run from the repository root:

    .venv/bin/python benchmarks/generate.py --pack suzhou/inpatient-2023 --count 20000 \
        --seed 1 -o /tmp/b20k.jsonl
    .venv/bin/python benchmarks/decode_parts.py /tmp/b20k.jsonl

CPU time of this process (the machine is shared), best of 3, garbage collector off, µs a
record, for each part in turn:
- the fast JSON decoder (`FastRecords.decode`: msgspec, the depth limit and the repeated-key
  proof), and msgspec's own decoding alone for comparison;
- `InputSource.records()`: the above, each line as an `InputRecord`, labels as keys, the
  fraction watch;
- the pack's `read_record` over those records;
- the whole: line bytes to facts.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from decimal import Decimal, localcontext
from pathlib import Path

import msgspec

from policy_dsl.reading import fast_records, open_input
from policy_dsl.runtime.arithmetic import DIVISION
from policy_dsl.runtime.packs import load_pack


def best(count: int, label: str, work: Callable[[], object]) -> object:
    times, result = [], None
    for _ in range(3):
        gc.collect()
        start = time.process_time()
        result = work()
        times.append(time.process_time() - start)
    print(f"{label:44s} {min(times) / count * 1e6:6.2f} µs/record")
    return result


def main() -> None:
    path = Path(sys.argv[1])
    pack = load_pack("suzhou/inpatient-2023", packs_dir="generated")
    lines = path.read_bytes().splitlines()
    count = len(lines)
    fast = fast_records()
    assert fast is not None, "msgspec is not installed (the dev extra)"
    plain = msgspec.json.Decoder(float_hook=Decimal)
    gc.disable()
    best(count, "msgspec decode alone", lambda: [plain.decode(line) for line in lines])
    best(count, "FastRecords.decode", lambda: [fast.decode(line) for line in lines])
    records = best(count, "records() (decode, InputRecord, keys, watch)",
                   lambda: list(open_input(path, path.name, pack).records()))
    assert isinstance(records, list)
    with localcontext(DIVISION):
        best(count, "read_record", lambda: [pack.read_record(r.raw) for r in records])
        best(count, "line bytes to facts", lambda: [
            pack.read_record(r.raw) for r in open_input(path, path.name, pack).records()])


if __name__ == "__main__":
    main()
