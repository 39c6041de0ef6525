"""Mutation check of a region's regression cases: change one number or one comparison at a
time in the region's rule files, rebuild in memory, run the region's cases, and report each
change that no case (and no build-time check) caught.

What is changed: every number in a rule (points, amounts, thresholds, steps, caps, band sizes,
weights; a whole number n becomes n − 1, a decimal loses one unit of its last digit, 0 becomes
1) and every comparison (>= ↔ >, <= ↔ <, == ↔ !=). Left alone: texts and comments, item
numbers, the version and dates, and facts' input bounds (`in 0..100`, which validation cases
check rather than scores).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .cases import Case, CaseFileError, load_cases, run_case
from .compiler import ast, checker, codegen, parser
from .compiler.diagnostics import CompileError
from .runtime.packs import Pack, compile_pack

TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|\[[^\]\n]*\]|\d{4}-\d{2}-\d{2}'
                   r'|(?<![\w.])\d+(?:\.\d+)?%?|>=|<=|==|!=|>|<')
FLIPS = {">=": ">", ">": ">=", "<=": "<", "<": "<=", "==": "!=", "!=": "=="}


@dataclass(frozen=True)
class Mutant:
    path: Path
    line: int
    column: int
    original: str
    replacement: str
    text: str  # the whole mutated file

    def __str__(self) -> str:
        return f"{self.path.as_posix()}:{self.line}:{self.column}: {self.original} → " \
               f"{self.replacement}"


@dataclass
class MutationReport:
    mutants: int = 0
    caught_by_cases: int = 0
    caught_by_checks: int = 0
    survivors: list[Mutant] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def caught(self) -> int:
        return self.caught_by_cases + self.caught_by_checks

    @property
    def ok(self) -> bool:
        return self.mutants > 0 and self.caught * 100 >= 95 * self.mutants


def mutants(path: Path, text: str) -> Iterator[Mutant]:
    lines_before = [0]
    for index, char in enumerate(text):
        if char == "\n":
            lines_before.append(index + 1)
    for match in TOKEN.finditer(text):
        token = match.group()
        if token[0] in '"#[' or re.fullmatch(r"\d{4}-\d{2}-\d{2}", token):
            continue
        start = match.start()
        line_start = text.rfind("\n", 0, start) + 1
        before = text[line_start:start]
        if token in FLIPS:
            replacement = FLIPS[token]
        else:
            if re.search(r"\b(item|version)\s+$", before) or re.search(r"\bin\s+-?$", before) \
                    or before.endswith(".."):
                continue
            replacement = _changed_number(token)
        line = text.count("\n", 0, start) + 1
        yield Mutant(path, line, start - line_start + 1, token, replacement,
                     text[:start] + replacement + text[match.end():])


def _changed_number(token: str) -> str:
    percent = "%" if token.endswith("%") else ""
    digits = token.rstrip("%")
    value = Decimal(digits)
    unit = Decimal(1).scaleb(value.as_tuple().exponent)  # type: ignore[arg-type]
    changed = value - unit if value > 0 else value + unit
    return f"{changed}{percent}"


def run(root: Path, case_files: Sequence[Path], packs_dir: Path | None,
        echo: Callable[[str], None] = print) -> MutationReport:
    """Mutate the rule files of the regions whose case files are given."""
    started = time.perf_counter()
    report = MutationReport()
    by_region: dict[Path, list[Case]] = {}
    for path in case_files:
        if path.parent.name != "tests":
            continue  # a city plugin's cases: its base region is mutated through its own cases
        try:
            cases = load_cases(path, root, packs_dir)
        except CaseFileError as error:
            echo(f"error: {error}")
            report.survivors.clear()
            return report
        by_region.setdefault(path.parent.parent, []).extend(cases)
    for region, cases in sorted(by_region.items()):
        files = sorted(region.glob("*.policy"))
        texts = {path: path.read_text(encoding="utf-8") for path in files}
        echo(f"{region.relative_to(root).as_posix()}: {len(cases)} cases, "
             f"{len(files)} rule files")
        for path in files:
            for mutant in mutants(path.relative_to(root), texts[path]):
                report.mutants += 1
                verdict = _try(mutant, texts, root, cases, packs_dir)
                if verdict == "checks":
                    report.caught_by_checks += 1
                elif verdict == "cases":
                    report.caught_by_cases += 1
                else:
                    report.survivors.append(mutant)
    report.seconds = time.perf_counter() - started
    for survivor in report.survivors:
        echo(f"  not caught: {survivor}")
    percent = 100 * report.caught / report.mutants if report.mutants else 0.0
    echo(f"{report.mutants} mutants: {report.caught_by_cases} caught by cases, "
         f"{report.caught_by_checks} by build-time checks, {len(report.survivors)} not caught "
         f"({percent:.1f}% caught) in {report.seconds:.0f} s")
    return report


def _try(mutant: Mutant, texts: dict[Path, str], root: Path, cases: Sequence[Case],
         packs_dir: Path | None) -> str:
    """'checks' when the mutated rules do not build, 'cases' when a case fails, else ''."""
    try:
        packs = _build(mutant, texts, root)
    except CompileError:
        return "checks"
    for case in cases:
        pack = packs.get(case.pack)
        if pack is None:
            return "cases"  # the case's pack no longer exists
        try:
            if not run_case(case, packs_dir, pack).passed:
                return "cases"
        except Exception:  # a mutant that crashes a pack is a caught mutant
            return "cases"
    return ""


def _build(mutant: Mutant, texts: dict[Path, str], root: Path) -> dict[str, Pack]:
    trees: list[ast.Standard | ast.Framework] = []
    sources: dict[str, str] = {}
    for path, text in texts.items():
        display = path.relative_to(root).as_posix()
        if display == mutant.path.as_posix():
            text = mutant.text
        tree = parser.parse_text(text, display)
        trees.append(tree)
        sources[display] = text
    frameworks = {t.name: t for t in trees if isinstance(t, ast.Framework)}
    for framework in frameworks.values():
        problems = [d for d in checker.check_framework(framework) if d.severity == "error"]
        if problems:
            raise CompileError(problems)
    packs: dict[str, Pack] = {}
    for tree in trees:
        if not isinstance(tree, ast.Standard):
            continue
        checked = checker.check(tree, frameworks)
        if not checked.ok:
            raise CompileError(checked.diagnostics)
        generated = codegen.generate(tree, checked, sources[tree.path],
                                     frameworks.get(tree.header.framework or ""))
        packs[generated.name] = compile_pack(generated.source, f"<mutant {mutant}>")
    return packs
