"""The `policyc` console script: the CLI when the compiler extra is installed, else one line.

A runtime-only install (`pip install policy-dsl`) has the console script but not the compiler's
libraries; instead of a traceback it says what to install and exits 2 (wrong usage), also when
only some of them are missing (`policy_dsl.cli.main` asks the same question when a command's
import fails). This module imports only the standard library, so it works in either install.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from typing import NoReturn

DISTRIBUTION = "policy-dsl"
EXTRA = "compiler"
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_OF_EXTRA = re.compile(rf"""extra\s*==\s*["']{EXTRA}["']""")


def missing_requirements() -> list[str]:
    """The distributions of the compiler extra (as this install's metadata lists them) that are
    not installed; none when policy_dsl runs from a source tree without metadata."""
    try:
        requirements = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        return []
    missing = []
    for requirement in requirements:
        _, _, marker = requirement.partition(";")
        name = _NAME.match(requirement)
        if name is None or not _OF_EXTRA.search(marker):
            continue
        try:
            metadata.distribution(name.group())
        except metadata.PackageNotFoundError:
            missing.append(name.group())
    return missing


def exit_needing_extra(missing: list[str]) -> NoReturn:
    print(f"policyc needs the {EXTRA} extra: pip install '{DISTRIBUTION}[{EXTRA}]' "
          f"(missing: {', '.join(missing)})", file=sys.stderr)
    sys.exit(EXIT_USAGE)


def main() -> None:
    try:
        from .cli import main as cli_main
    except ModuleNotFoundError:
        missing = missing_requirements()  # read only now: it costs ~30 ms
        if missing:
            exit_needing_extra(missing)
        raise
    except KeyboardInterrupt:
        print("policyc: interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    cli_main()


if __name__ == "__main__":
    main()
