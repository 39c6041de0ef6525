"""Rule coverage of regression cases: which rules, and which of their two outcomes, no case
reaches, by rule-file line.

Every rule leaves a reason line when it runs, so coverage is read off the cases' own
explanations; nothing is traced. A rule with two outcomes (a condition, a count, steps, a
list, a zero rule) is covered when some case saw it take points and some case saw it take
none; a rule shown only when it holds (not applicable, a deduction cap) when some case saw it
hold and some case scored its item without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .cases import CaseResult
from .runtime import RuleInfo, load_pack

APPLIES = "takes effect"
NOT = "does not take effect"


@dataclass(frozen=True)
class PackCoverage:
    pack: str
    source: str
    reached: int
    branches: int
    missing: tuple[tuple[RuleInfo, str], ...]

    @property
    def percent(self) -> float:  # for display only
        return 100.0 if self.branches == 0 else 100.0 * self.reached / self.branches


def measure(results: Sequence[CaseResult], packs_dir: Path) -> list[PackCoverage]:
    seen: dict[str, set[tuple[int, str]]] = {}
    packs = {name: load_pack(name, packs_dir=packs_dir)
             for name in {result.case.pack for result in results}}
    for result in results:
        marks = seen.setdefault(result.case.pack, set())
        rules = _rules(packs[result.case.pack])
        for outcome in result.outcomes:
            if outcome.score is None:
                continue
            for item in outcome.score.items:
                present = {id(line.reason): line.delta for line in item.lines}
                for rule in rules:
                    if rule.item != item.number:
                        continue
                    key = id(rule.reason)
                    if rule.kind == "delta":
                        if key in present:
                            marks.add((key, APPLIES if present[key] != 0 else NOT))
                    elif key in present:
                        marks.add((key, APPLIES))
                    elif item.earned is not None:
                        marks.add((key, NOT))
    coverages = []
    for pack_name in sorted(seen):
        pack = packs[pack_name]
        missing = []
        branches = 0
        for rule in _rules(pack):
            wanted = (APPLIES, NOT) if rule.two_sided or rule.kind == "shown" else (APPLIES,)
            branches += len(wanted)
            missing += [(rule, w) for w in wanted if (id(rule.reason), w) not in seen[pack_name]]
        coverages.append(PackCoverage(pack_name, pack.INFO.source, branches - len(missing),
                                      branches, tuple(missing)))
    return coverages


def _rules(pack: object) -> tuple[RuleInfo, ...]:
    rules: tuple[RuleInfo, ...] = getattr(pack, "RULES", ())
    return rules


def report(coverages: Sequence[PackCoverage]) -> str:
    lines = ["rule coverage:"]
    for coverage in coverages:
        lines.append(f"  {coverage.pack}: {coverage.reached} of {coverage.branches} rule "
                     f"outcomes reached ({coverage.percent:.1f}%)")
        for rule, branch in coverage.missing:
            lines.append(f"    {coverage.source}:{rule.reason.line} item {rule.item}: "
                         f"never {branch}: {rule.reason.text}")
    return "\n".join(lines)
