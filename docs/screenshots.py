"""Regenerate the screenshots in docs/ from the shipped samples, with headless Chromium.

    .venv/bin/python docs/screenshots.py            # all three
    .venv/bin/python docs/screenshots.py report     # or some of: render, notice, report

Each picture is made by the commands a user runs (`policyc render`, `policyc notice`,
`policyc score` then `policyc report`), from files in the repository, then photographed with
Debian's `chromium` (`POLICYC_CHROMIUM` names another) at a fixed window size:

- docs/render-suzhou-inpatient.png: the published table of suzhou/inpatient-2023;
- docs/notice-suzhou-inpatient.png: the result notice of SZ-H002 (examples/suzhou-inpatient.jsonl);
- docs/report-jilin-medical-inpatient.png: the annual report of 2,500 generated Jilin hospitals
  (benchmarks/make_batch.py --jilin 2500: illustrative data, not policy).

The packs are those in generated/ (run `policyc build` first if a rule file changed). A page is
photographed only when its command succeeded; the script says which files it wrote, and exits
1 naming what failed. The pictures depend on the fonts installed (fonts-noto-cjk), so two
machines may differ by a few pixels: commit them when the pages changed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BATCH = 2500  # institutions in the report's generated batch
# name: (window width, height), as the README shows them
SIZES = {"render": (1600, 1000), "notice": (860, 1500), "report": (860, 2300)}


def policyc(*args: str) -> None:
    """Run policyc (beside this Python) from the repository's root; stop on failure."""
    command = Path(sys.executable).parent / "policyc"
    if not command.exists():
        found = shutil.which("policyc")
        if found is None:
            raise SystemExit("screenshots: policyc is not installed beside this Python; run "
                             "with the venv's python (.venv/bin/python docs/screenshots.py)")
        command = Path(found)
    run = subprocess.run([str(command), *args], cwd=ROOT, capture_output=True, text=True,
                         check=False)
    if run.returncode not in (0, 3):  # 3: some records had input errors (the batch has one)
        raise SystemExit(f"screenshots: policyc {' '.join(args)} failed ({run.returncode}): "
                         f"{run.stderr.strip()[-500:]}")


def render(work: Path) -> Path:
    page = work / "table.html"
    policyc("render", "--pack", "suzhou/inpatient-2023", "-o", str(page))
    return page


def notice(work: Path) -> Path:
    policyc("notice", "--pack", "suzhou/inpatient-2023", "examples/suzhou-inpatient.jsonl",
            "--id", "SZ-H002", "-o", str(work / "notices"), "--year", "2023", "--agency",
            "示例市医疗保障事业管理中心（示例）")
    return work / "notices" / "SZ-H002.html"


def report(work: Path) -> Path:
    batch = work / "batch.jsonl"
    with batch.open("w", encoding="utf-8") as out:
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_batch.py"), "--jilin",
                        str(BATCH)], stdout=out, check=True)
    results = work / "results.jsonl"
    policyc("score", "--pack", "jilin/medical-inpatient-2026", str(batch), "-o", str(results))
    page = work / "report.html"
    policyc("report", "--pack", "jilin/medical-inpatient-2026", str(results), "-o", str(page),
            "--year", "2026")
    return page


PAGES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "render": (render, "render-suzhou-inpatient.png"),
    "notice": (notice, "notice-suzhou-inpatient.png"),
    "report": (report, "report-jilin-medical-inpatient.png"),
}


def photograph(browser: str, page: Path, target: Path, size: tuple[int, int]) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    from policy_dsl.publish.pdf import run_browser

    with tempfile.TemporaryDirectory(prefix="screenshot-") as folder:
        shot = Path(folder) / "shot.png"
        run = run_browser(browser, page.resolve().as_uri(), f"--screenshot={shot}",
                          f"--window-size={size[0]},{size[1]}")
        if run.returncode != 0 or not shot.exists() or shot.stat().st_size == 0:
            raise SystemExit(f"screenshots: chromium could not photograph {page.name}: "
                             f"{run.stderr.strip()[-300:]}")
        changed = not target.exists() or target.read_bytes() != shot.read_bytes()
        shutil.copyfile(shot, target)
    print(f"{'wrote' if changed else 'unchanged'} {target.relative_to(ROOT)} "
          f"({size[0]}x{size[1]}, from {page.name})")


def main(names: list[str]) -> None:
    unknown = [name for name in names if name not in PAGES]
    if unknown:
        raise SystemExit(f"screenshots: no page {', '.join(unknown)}; pages: "
                         f"{', '.join(PAGES)}")
    sys.path.insert(0, str(ROOT / "src"))
    from policy_dsl.publish.pdf import NoPrinter, browser

    try:
        binary = browser()
    except NoPrinter as error:
        raise SystemExit(f"screenshots: {error}") from None
    with tempfile.TemporaryDirectory(prefix="policyc-screenshots-") as folder:
        for name in names or list(PAGES):
            make, target = PAGES[name]
            photograph(binary, make(Path(folder)), DOCS / target, SIZES[name])


if __name__ == "__main__":
    main(sys.argv[1:])
