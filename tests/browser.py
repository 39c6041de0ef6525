"""A real headless browser for the tests of pages: Debian's `chromium`.

`find_chromium()` returns its path, installing it (with the CJK fonts the pages name) through
apt when it is missing and the tests run as root; otherwise it says why it cannot.
`chromium(...)` runs one headless command with a throwaway profile and no network chatter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from policy_dsl.publish.pdf import run_browser

PACKAGES = ("chromium", "fonts-noto-cjk")


class NoBrowser(RuntimeError):
    """Chromium is absent and cannot be installed here; the message says why."""


def find_chromium() -> str:
    found = shutil.which("chromium")
    if found:
        return found
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        raise NoBrowser("chromium is not installed and the tests do not run as root; install "
                        "it with `apt-get install chromium fonts-noto-cjk`")
    if shutil.which("apt-get") is None:
        raise NoBrowser("chromium is not installed and there is no apt-get to install it")
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=600"]
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    update = subprocess.run([*apt, "update", "-qq"], capture_output=True, text=True,
                            check=False, timeout=1800, env=environment)
    install = subprocess.run([*apt, "install", "-y", "-qq", *PACKAGES], capture_output=True,
                             text=True, check=False, timeout=1800, env=environment)
    found = shutil.which("chromium")
    if found is None:
        raise NoBrowser("chromium could not be installed with apt-get: "
                        f"{(update.stderr + install.stderr).strip()[-500:]}")
    return found


def chromium(binary: str, url: str, *options: str) -> subprocess.CompletedProcess[str]:
    """One headless run (`--dump-dom`, `--screenshot=…`, `--print-to-pdf=…`) on `url`."""
    return run_browser(binary, url, *options)


def file_url(path: Path) -> str:
    return path.resolve().as_uri()
