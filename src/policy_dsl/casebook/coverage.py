"""Rule coverage of regression cases: which rules, and which of their two outcomes, no case
reaches, by rule-file line.

Every rule leaves a reason line when it runs, so coverage is read off the cases' own
explanations; nothing is traced. A rule with two outcomes (a condition, a count, steps, a
list, a zero rule) is covered when some case saw it take points and some case saw it take
none; a rule shown only when it holds (not applicable, a deduction cap) when some case saw it
hold and some case scored its item without it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..runtime import FrameworkRules, RuleInfo, load_pack
from ..runtime.packs import ManifestEntry, read_index
from .cases import CaseResult

APPLIES = "takes effect"
NOT = "does not take effect"


@dataclass(frozen=True)
class PackCoverage:
    pack: str
    source: str
    reached: int
    branches: int
    missing: tuple[tuple[RuleInfo, str], ...]
    framework_missing: tuple[str, ...] = ()  # the framework's outcomes no case reached

    @property
    def percent(self) -> float:  # for display only
        return 100.0 if self.branches == 0 else 100.0 * self.reached / self.branches


def measure(results: Sequence[CaseResult], packs_dir: Path | None) -> list[PackCoverage]:
    seen: dict[str, set[tuple[int, str]]] = {}
    packs = {name: load_pack(name, packs_dir=packs_dir)
             for name in {result.case.pack for result in results}}
    for result in results:
        marks = seen.setdefault(result.case.pack, set())
        pack_rules = packs[result.case.pack].RULES
        for outcome in result.outcomes:
            if outcome.score is None:
                continue
            for item in outcome.score.items:
                present = {id(line.reason): line.delta for line in item.lines}
                for rule in pack_rules:
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
        for rule in pack.RULES:
            wanted = (APPLIES, NOT) if rule.two_sided or rule.kind == "shown" else (APPLIES,)
            branches += len(wanted)
            missing += [(rule, w) for w in wanted if (id(rule.reason), w) not in seen[pack_name]]
        coverages.append(PackCoverage(pack_name, pack.INFO.source, branches - len(missing),
                                      branches, tuple(missing)))
    frameworks = {name: pack.FRAMEWORK for name, pack in packs.items()
                  if pack.FRAMEWORK is not None}
    for name in sorted({rules.name for rules in frameworks.values()}):
        under = sorted(n for n, rules in frameworks.items() if rules.name == name)
        framework = frameworks[under[0]]
        outcomes = _framework_outcomes(framework)
        reached = {o for r in results if r.case.pack in under
                   for o in _framework_reached(r, framework)}
        framework_missing = tuple(o for o in outcomes if o not in reached)
        coverages.append(PackCoverage(f"framework {name}", ", ".join(sorted(under)),
                                      len(outcomes) - len(framework_missing), len(outcomes),
                                      (), framework_missing))
    return coverages


def _framework_outcomes(rules: FrameworkRules) -> tuple[str, ...]:
    """What a framework can do with a score: each grade, each status, each adjustment."""
    outcomes = [f"grade {g.label}" for g in rules.grades]
    outcomes += [f"status {s}" for s in ("assessed", "deferred", "terminated",
                                         "voluntary_exit")]
    outcomes += ["voluntary exit with violations", "composite with subordinates",
                 "downgrade", "veto", "renewal after another breach"]
    outcomes += [f"renewal {g.repeat_renewal} after {g.repeat_grade}" for g in rules.grades
                 if g.repeat_grade is not None]
    return tuple(outcomes)


def _framework_reached(result: CaseResult, rules: FrameworkRules) -> set[str]:
    reached: set[str] = set()
    for outcome in result.outcomes:
        settlement = outcome.settlement
        if settlement is None:
            continue
        reached.add(f"status {settlement.status}")
        if settlement.grade_before_adjustment:
            reached.add(f"grade {settlement.grade_before_adjustment}")
        if settlement.status == "voluntary_exit" and \
                settlement.refund_ratio != rules.exit_without_violations.refund:
            reached.add("voluntary exit with violations")
        if settlement.final_score is not None and settlement.own_score is not None \
                and settlement.final_score != settlement.own_score:
            reached.add("composite with subordinates")
        reached |= {a.kind for a in settlement.adjustments}
        if settlement.grade is None:
            continue
        grade = rules.grade(settlement.grade)
        breach = rules.other_breach
        if grade.renewal == "direct" and breach is not None \
                and settlement.renewal == breach.renewal:
            reached.add("renewal after another breach")
        if grade.repeat_grade is not None and settlement.renewal == grade.repeat_renewal:
            reached.add(f"renewal {grade.repeat_renewal} after {grade.repeat_grade}")
    return reached


def without_cases(results: Sequence[CaseResult], packs_dir: Path | None,
                  targets: Sequence[str] = ()) -> dict[str, str]:
    """The packs (of the targeted regions or packs; all when none are given) that no case
    of the run scores, a standard without any regression case, each with where its cases
    would go: the region's tests/, or for a city pack its plugin's case file."""
    tested = {result.case.pack for result in results}
    chosen = [entry for entry in read_index(packs_dir)
              if not targets or any(t in {entry.region, entry.name}
                                    or entry.name.startswith(f"{t}/") for t in targets)]
    return {entry.name: _case_file_place(entry) for entry in sorted(chosen, key=lambda e: e.name)
            if entry.name not in tested}


def _case_file_place(entry: ManifestEntry) -> str:
    plugin = next((s.path for s in entry.sources if s.role == "plugin"), None)
    if plugin is not None:
        return f"plugins/{Path(plugin).stem}.cases.yaml"
    return f"regions/{entry.region}/tests/"


def untested_lines(untested: Mapping[str, str]) -> list[str]:
    """Each pack without a case, and where to add one."""
    return [f"  {name}: no regression case at all (add one in {place} with `pack: {name}`)"
            for name, place in untested.items()]


def report(coverages: Sequence[PackCoverage], untested: Mapping[str, str] | None = None
           ) -> str:
    lines = ["rule coverage:"]
    lines += untested_lines(untested or {})
    for coverage in coverages:
        lines.append(f"  {coverage.pack}: {coverage.reached} of {coverage.branches} "
                     f"outcomes reached ({coverage.percent:.1f}%)")
        for rule, branch in coverage.missing:
            reached = "no case where it takes effect" if branch == APPLIES \
                else "every case has it take effect"
            lines.append(f"    {rule.reason.file or coverage.source}:{rule.reason.line} "
                         f"item {rule.item}: "
                         f"{reached}: {rule.reason.text}")
        for outcome in coverage.framework_missing:
            lines.append(f"    framework: no case reaches {outcome}")
    return "\n".join(lines)
