"""pytest plugin (entry point `pytest11`): every region's case files become test items.

`regions/<region>/tests/*.yaml` and `plugins/*.cases.yaml` are collected beside the unit tests,
one test item per case, and a failing case is reported as `policyc test` reports it: the
differences, each item's reason lines, and the case's own arithmetic.

pytest loads this plugin in every environment where policy_dsl is installed, a runtime-only
one too: the case files' reader (which needs PyYAML, from the compiler extra) is imported only
when a case file is collected.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .cases import Case, CaseFileError


def _is_case_file(path: Path) -> bool:
    in_region = (path.suffix == ".yaml" and path.parent.name == "tests"
                 and path.parent.parent.parent.name == "regions")
    return in_region or (path.name.endswith(".cases.yaml") and path.parent.name == "plugins")


def _project_root(path: Path) -> Path:
    for parent in path.parents:
        if (parent / "regions").is_dir() and (parent / "generated").is_dir():
            return parent
    return path.parent


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _is_case_file(file_path):
        collector: pytest.Collector = CaseFile.from_parent(parent, path=file_path)
        return collector
    return None


class CaseFailed(Exception):
    """A case whose result differs from what its file expects; the message is the report."""


class CaseFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        try:
            from .cases import CaseFileError, load_cases
        except ModuleNotFoundError as error:
            raise self.CollectError(f"case files need the compiler extra ({error.name} is not "
                                    "installed): pip install 'policy-dsl[compiler]'") from None
        root = _project_root(self.path)
        try:
            cases = load_cases(self.path, root, root / "generated")
        except CaseFileError as error:
            yield BrokenCaseFile.from_parent(self, name="case file", error=error)
            return
        seen: dict[str, int] = {}
        for case in cases:
            seen[case.name] = seen.get(case.name, 0) + 1
            name = case.name if seen[case.name] == 1 else f"{case.name} ({seen[case.name]})"
            yield CaseItem.from_parent(self, name=name, case=case, packs_dir=root / "generated")


class CaseItem(pytest.Item):
    def __init__(self, *, case: Case, packs_dir: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.packs_dir = packs_dir

    def runtest(self) -> None:
        from .cases import run_case

        result = run_case(self.case, self.packs_dir)
        if not result.passed:
            raise CaseFailed(result.report)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"case {self.case.name}"


class BrokenCaseFile(pytest.Item):
    def __init__(self, *, error: CaseFileError, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def runtest(self) -> None:
        raise self.error

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        return f"error in case file: {excinfo.value}"

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.error.line - 1, "case file"
