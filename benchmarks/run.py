"""The benchmark of issue 10: records/s and peak memory of scoring Suzhou 附件1, against a lean
hand-written Decimal scorer of the same table, printed as a markdown table for the README.

Run from the repository root:

    .venv/bin/python benchmarks/run.py                       # 10k and 100k, 3 runs a cell
    .venv/bin/python benchmarks/run.py --sizes 10k --runs 1  # a quick look
    .venv/bin/python benchmarks/run.py --sizes 1m --formats jsonl,parquet   # long

Cells (median of `--runs`, each run a fresh process, its peak RSS from `os.wait4`):
- lean: `lean_suzhou_inpatient.score_batch` over pre-parsed records, in-process, timed alone.
- scoring alone: the pack's `read_record` + `compute_cohorts` + `evaluate` (explanations off)
  over the generated dicts (exact Decimals, as a reader gives them), in-process, timed alone.
- end to end: `policyc score --pack suzhou/inpatient-2023 FILE -o results.jsonl`, the whole
  process, for JSON Lines, CSV, xlsx and Parquet input, `--jobs 1` and `--jobs 2` when
  `policyc score --help` offers `--jobs` (else those cells are skipped, with a note).
xlsx input is capped (`--xlsx-cap`, default 100,000 records): writing and reading a
million-row workbook takes longer than the rest of the run together.

The targets (issue 10, JSON Lines in and out, whole process): one process at least half the
lean rate, `--jobs 2` at least the lean rate; each is reported as pass, or short by the
factor still missing. Peak memory of the in-process cells includes the generated batch they
score (it is their input).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

PACK = "suzhou/inpatient-2023"
SEED = 2023
POLICYC = Path(sys.executable).with_name("policyc")
FORMATS = ("jsonl", "csv", "xlsx", "parquet")


def size(text: str) -> int:
    text = text.strip().lower().replace(",", "").replace("_", "")
    for suffix, factor in (("k", 1_000), ("m", 1_000_000)):
        if text.endswith(suffix):
            return int(float(text[:-1]) * factor)
    return int(text)


def shown_size(count: int) -> str:
    if count % 1_000_000 == 0:
        return f"{count // 1_000_000}M"
    return f"{count // 1000}k" if count % 1000 == 0 else f"{count:,}"


# ---------------------------------------------------------------- in-process (a child each)


def child(kind: str, count: int, runs: int) -> None:
    """Time `kind` over a generated batch in this process; print times and peak RSS."""
    import gc
    import resource
    from decimal import localcontext

    import generate
    import lean_suzhou_inpatient as lean

    module = generate.load(PACK)
    batch = list(generate.records(PACK, count, SEED, pack_module=module))
    times: list[float] = []
    rows = lean.prepared(batch) if kind == "lean" else batch
    # the input batch lives through every run: out of the cyclic collector's way, as a
    # long-lived service's data would be, so that its size does not slow the runs
    gc.collect()
    gc.freeze()
    if kind == "lean":
        for _ in range(runs):
            started = time.perf_counter()
            lean.score_batch(rows)
            times.append(time.perf_counter() - started)
    else:
        from policy_dsl.runtime.arithmetic import DIVISION
        for _ in range(runs):
            started = time.perf_counter()
            with localcontext(DIVISION):
                facts = [module.read_record(row) for row in batch]
                cohorts = module.compute_cohorts(facts)
                for one, cohort in zip(facts, cohorts, strict=True):
                    module.evaluate(one, cohort, False)
            times.append(time.perf_counter() - started)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"times": times, "peak_kib": peak}))


def in_process(kind: str, count: int, runs: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", kind, "--sizes", str(count),
                          "--runs", str(runs)], check=True, capture_output=True, text=True,
                         cwd=ROOT)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# ---------------------------------------------------------------- whole process


def whole_process(command: Sequence[str]) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of one run of `command`."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n"
                         f"{errors.decode(errors='replace')[-2000:]}")
    return wall, usage.ru_maxrss


def jobs_supported() -> bool:
    out = subprocess.run([str(POLICYC), "score", "--help"], capture_output=True, text=True,
                         cwd=ROOT)
    return "--jobs" in out.stdout


# ---------------------------------------------------------------- the report


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or model
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{model}, {os.cpu_count()} cores; Python {platform.python_version()} "
            f"({platform.python_implementation()}), {platform.system()} "
            f"{platform.release()}; load average at start {load}")


def verdict(rate: float, needed: float) -> str:
    return "pass" if rate >= needed else f"short ×{needed / rate:.1f}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10k,100k", help="e.g. 10k,100k,1m")
    parser.add_argument("--runs", type=int, default=3, help="runs a cell (median)")
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--jobs", default="1,2", help="--jobs values to run end to end")
    parser.add_argument("--engines", default="auto",
                        help="`policyc score --engine` values to run end to end, e.g. "
                        "auto,record (auto: the column lane for JSON Lines)")
    parser.add_argument("--xlsx-cap", type=size, default=100_000,
                        help="largest batch read from xlsx (default 100k)")
    parser.add_argument("--child", choices=("lean", "scoring"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = [size(s) for s in args.sizes.split(",") if s.strip()]
    if args.child:
        child(args.child, sizes[0], args.runs)
        return

    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    wanted_jobs = [int(j) for j in args.jobs.split(",") if j.strip()]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    has_jobs = jobs_supported()
    notes: list[str] = []
    if not has_jobs:
        notes.append("`policyc score` has no `--jobs` option in this build: the `--jobs 2` "
                     "cells are skipped, and `--jobs 1` is the plain command.")
    rows: list[list[str]] = []
    targets: list[str] = []
    print(f"machine: {machine()}", file=sys.stderr)
    for count in sizes:
        label = shown_size(count)

        def rate_of(seconds: list[float], count: int = count) -> float:
            return count / statistics.median(seconds)

        print(f"{label}: lean, in-process", file=sys.stderr)
        lean = in_process("lean", count, args.runs)
        lean_rate = rate_of(lean["times"])
        rows.append([label, "lean scorer (reference)", "pre-parsed", "–",
                     f"{lean_rate:,.0f}", f"{statistics.median(lean['times']):.2f} s",
                     f"{lean['peak_kib'] / 1024:,.0f} MiB", "1.0"])
        print(f"{label}: scoring alone, in-process", file=sys.stderr)
        alone = in_process("scoring", count, args.runs)
        alone_rate = rate_of(alone["times"])
        rows.append([label, "scoring alone (read_record + cohorts + evaluate)", "dicts", "–",
                     f"{alone_rate:,.0f}", f"{statistics.median(alone['times']):.2f} s",
                     f"{alone['peak_kib'] / 1024:,.0f} MiB", f"{lean_rate / alone_rate:.1f}"])
        with tempfile.TemporaryDirectory() as folder:
            for fmt in formats:
                if fmt == "xlsx" and count > args.xlsx_cap:
                    notes.append(f"xlsx input skipped at {label} (cap {args.xlsx_cap:,}: "
                                 "`--xlsx-cap`).")
                    continue
                source = Path(folder) / f"batch.{fmt}"
                print(f"{label}: writing {source.name}", file=sys.stderr)
                # in a child: a parent holding the batch would count in the peak memory of
                # every `policyc` it starts (Linux keeps the forked image's high-water mark
                # across exec)
                subprocess.run([sys.executable, str(HERE / "generate.py"), "--pack", PACK,
                                "--count", str(count), "--seed", str(SEED), "--format", fmt,
                                "-o", str(source)], check=True, cwd=ROOT)
                target = Path(folder) / "results.jsonl"
                for engine, jobs in itertools.product(engines, wanted_jobs):
                    if jobs != 1 and not has_jobs:
                        continue
                    command = [str(POLICYC), "score", "--pack", PACK, str(source),
                               "-o", str(target)]
                    if has_jobs:
                        command += ["--jobs", str(jobs)]
                    if engine != "auto":
                        command += ["--engine", engine]
                    what = "end to end (`policyc score`, whole process)" if engine == "auto" \
                        else f"end to end (`policyc score --engine {engine}`, whole process)"
                    print(f"{label}: policyc score {fmt} --jobs {jobs} --engine {engine}",
                          file=sys.stderr)
                    runs = [whole_process(command) for _ in range(args.runs)]
                    wall = statistics.median(r[0] for r in runs)
                    peak = max(r[1] for r in runs)
                    rate = count / wall
                    rows.append([label, what, fmt, str(jobs), f"{rate:,.0f}", f"{wall:.2f} s",
                                 f"{peak / 1024:,.0f} MiB", f"{lean_rate / rate:.1f}"])
                    if fmt == "jsonl" and jobs == 1 and engine == engines[0]:
                        targets.append(f"{label}, one process: {rate:,.0f}/s against half the "
                                       f"lean rate {lean_rate / 2:,.0f}/s: "
                                       f"{verdict(rate, lean_rate / 2)}")
                    if fmt == "jsonl" and jobs == 2 and engine == engines[0]:
                        targets.append(f"{label}, `--jobs 2`: {rate:,.0f}/s against the lean "
                                       f"rate {lean_rate:,.0f}/s: {verdict(rate, lean_rate)}")
                source.unlink()
        if "jsonl" in formats and not has_jobs and 2 in wanted_jobs:
            targets.append(f"{label}, `--jobs 2`: not measured (no `--jobs` option)")
    print(f"Machine: {machine()}. Median of {args.runs} run(s) a cell; peak memory is the "
          "largest RSS of the process (in-process cells include their input batch); "
          "ratio = lean rate ÷ the cell's rate (lower is better, 0.5 and 1.0 are the "
          f"targets). Batch: `benchmarks/generate.py --pack {PACK} --seed {SEED}`.\n")
    print("| records | what | input | jobs | records/s | time | peak memory | lean ÷ this |")
    print("| --- | --- | --- | --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if targets:
        print("\nTargets (issue 10; JSON Lines in and out, whole process):\n")
        for line in targets:
            print(f"- {line}")
    for note in notes:
        print(f"\nNote: {note}")


if __name__ == "__main__":
    main()
