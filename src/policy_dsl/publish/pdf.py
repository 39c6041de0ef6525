"""PDF by printing the same HTML in headless Chromium (`--print-to-pdf`): one layout, the
page's own A4 print CSS, never a second one. `POLICYC_CHROMIUM` names the browser where it is
not `chromium` (or `chromium-browser`, `google-chrome`) on the PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars")
NAMES = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT = 120  # seconds for one page


class NoPrinter(RuntimeError):
    """No headless browser to print with, or it failed (the message says which)."""


def browser() -> str:
    given = os.environ.get("POLICYC_CHROMIUM")
    found = shutil.which(given) if given else next(
        (path for name in NAMES if (path := shutil.which(name))), None)
    if found is None:
        raise NoPrinter("PDF needs headless Chromium: install it (Debian: apt-get install "
                        "chromium fonts-noto-cjk) or set POLICYC_CHROMIUM; or write --format "
                        "html and print that")
    return found


def run_browser(binary: str, url: str, *options: str) -> subprocess.CompletedProcess[str]:
    """One headless run (`--dump-dom`, `--screenshot=…`, `--print-to-pdf=…`) on `url`, with a
    throwaway profile and no network chatter."""
    with tempfile.TemporaryDirectory(prefix="policyc-chromium-") as profile:
        return subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", *options, url],
            capture_output=True, text=True, encoding="utf-8", errors="replace",
            timeout=TIMEOUT, check=False)


def print_pdf(html: Path, pdf: Path, binary: str) -> None:
    result = run_browser(binary, html.resolve().as_uri(), "--no-pdf-header-footer",
                         f"--print-to-pdf={pdf}")
    if result.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        raise NoPrinter(f"chromium could not print {html.name}: "
                        f"{result.stderr.strip()[-300:]}")
