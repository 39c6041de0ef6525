"""AST -> findings: names, types, points that add up, and the other build-time checks.

`check(standard)` returns a `Checked` result: the diagnostics (errors and warnings) and, when
there are no errors, what the code generator needs to know about the standard (the type of
every expression, and which names are facts, derived values or cohort values).
"""

from __future__ import annotations

import difflib
import keyword
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from . import ast
from .diagnostics import Diagnostic, Related

# Base types a fact may have, and how they are represented when scored.
NUMERIC_BASES = frozenset({"count", "number", "score", "points", "money"})
BASE_TYPES = NUMERIC_BASES | {"bool", "percent", "date", "text"}
FULL_POINTS = "full_points"  # in a rule: the points of its item (or part)
RESERVED_NAMES = frozenset({"id", "true", "false", "none", "self", "cls", FULL_POINTS}) \
    | BASE_TYPES

# Built-in functions: name -> (number of arguments, what they take, what they give).
FUNCTIONS: dict[str, tuple[int, str]] = {
    "growth": (2, "growth(this_year, last_year): the change against last year, as a percent"),
    "share": (2, "share(part, whole): part as a percent of whole"),
    "ratio": (2, "ratio(a, b): a divided by b, as a number"),
    "min": (2, "min(a, b)"),
    "max": (2, "max(a, b)"),
    "clamp": (3, "clamp(value, low, high)"),
    "count": (1, "count(list): how many entries a list or set has"),
}


@dataclass(frozen=True, slots=True)
class Type:
    """The type of an expression.

    kind: bool, number, percent, date, text, enum, record, list, set. `name` is the enum or
    record name (for list and set: of their elements); `base` is the fact's declared base type
    (count, money, score ...), kept for validation and display.
    """

    kind: str
    name: str | None = None
    base: str | None = None

    def __str__(self) -> str:
        if self.kind in {"list", "set"}:
            return f"{self.kind} of {self.name}"
        if self.kind in {"enum", "record"}:
            return f"{self.name}"
        return self.base or self.kind


BOOL = Type("bool")
NUMBER = Type("number")
PERCENT = Type("percent")


@dataclass
class Checked:
    """What the checker learnt: findings, expression types, and what each name is."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    types: dict[int, Type] = field(default_factory=dict)
    fact_types: dict[str, Type] = field(default_factory=dict)
    let_types: dict[str, Type] = field(default_factory=dict)
    cohort_types: dict[str, Type] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    def type_of(self, expr: ast.Expr) -> Type:
        return self.types[id(expr)]


class _Scope:
    """Names visible in one expression: loop variables, and optional facts known given."""

    def __init__(self, variables: dict[str, Type] | None = None,
                 given: frozenset[str] = frozenset()) -> None:
        self.variables = variables or {}
        self.given = given

    def with_variable(self, name: str, type_: Type) -> _Scope:
        return _Scope({**self.variables, name: type_}, self.given)

    def with_given(self, names: frozenset[str]) -> _Scope:
        return _Scope(self.variables, self.given | names)


def check(standard: ast.Standard,
          frameworks: Mapping[str, ast.Framework] | None = None) -> Checked:
    """Check a standard (against the framework it names, from `frameworks`)."""
    return _Checker(standard, frameworks or {}).run()


def used_names(standard: ast.Standard) -> set[str]:
    """The facts a standard's rules, values and conditions use."""
    checker = _Checker(standard, {})
    checker.run()
    return checker.used


# ---------------------------------------------------------------- frameworks

TENURE_MONTHS = 120  # a tenure longer than ten years is surely a typing mistake


def check_framework(framework: ast.Framework) -> list[Diagnostic]:
    """A framework's own consistency: grades in order, the grades its clauses name exist."""
    found: list[Diagnostic] = []

    def error(code: str, message: str, span: ast.Span, hint: str | None = None) -> None:
        found.append(Diagnostic(code, message, span, hint))

    for key, value in (("region", framework.region), ("title", framework.title),
                       ("effective", framework.effective_from)):
        if value is None:
            error("C215", f"the framework does not say its '{key}'", framework.span)
    required: tuple[tuple[type[ast.FrameworkClause], ast.FrameworkClause | None], ...] = (
        (ast.DeductionsTotal, framework.deductions_total),
        (ast.Terminated, framework.terminated),
        (ast.ExitWithoutViolations, framework.exit_without_violations))
    for kind, clause in required:
        if clause is None:
            error("C221", f"the framework has no '{kind.keyword}' clause", framework.span)
    for refund in (framework.terminated, framework.exit_without_violations):
        if refund is not None and not 0 <= refund.refund <= 100:
            error("C216", "a refund ratio lies between 0% and 100%", refund.span)
    composite = framework.composite
    if composite is not None and composite.own + composite.subordinates != 100:
        error("C234", f"the composite's weights must add up to 100%, not "
              f"{composite.own + composite.subordinates}%", composite.span)
    tenure = framework.tenure
    if tenure is not None and tenure.months > TENURE_MONTHS:
        error("C243", f"a tenure of {tenure.months} months is more than {TENURE_MONTHS}",
              tenure.span, hint="the tenure is counted in months (JL-13: 6 months)")
    if not framework.grades:
        error("C221", "the framework declares no grades", framework.span,
              hint='add: grade "优" from 90 refund 100% renewal direct "..."')
        return found
    found += _check_grades(framework)
    return found


def _check_grades(framework: ast.Framework) -> list[Diagnostic]:
    """The grades highest first down to 0, and every clause that names a grade."""
    found: list[Diagnostic] = []

    def error(code: str, message: str, span: ast.Span, hint: str | None = None) -> None:
        found.append(Diagnostic(code, message, span, hint))

    grades = framework.grades
    labels = [g.label for g in grades]
    known = "grades: " + ", ".join(labels)
    previous: ast.GradeRule | None = None
    declared: set[str] = set()
    for grade in grades:
        if grade.label in declared:
            error("C201", f"grade {grade.label} is declared twice", grade.span)
        declared.add(grade.label)
        if previous is not None and grade.floor >= previous.floor:
            error("C229", f"grade {grade.label} starts at {grade.floor}, not below "
                  f"{previous.label}'s {previous.floor}", grade.span,
                  hint="list grades from the highest down")
        if not 0 <= grade.refund <= 100:
            error("C216", "a refund ratio lies between 0% and 100%", grade.span)
        if grade.repeat_grade is not None and grade.repeat_grade not in labels:
            error("C228", f"no grade is called {grade.repeat_grade}", grade.span, hint=known)
        previous = grade
    if grades[-1].floor != 0:
        error("C229", f"the lowest grade ({grades[-1].label}) must start at 0", grades[-1].span)
    veto = framework.veto
    if veto is not None and veto.grade not in labels:
        error("C228", f"no grade is called {veto.grade}", veto.span, hint=known)
    leaving = framework.exit_with_violations
    if leaving is not None and leaving.grade not in labels:
        error("C228", f"no grade is called {leaving.grade}", leaving.span, hint=known)
    elif leaving is not None:
        index = labels.index(leaving.grade)
        top = grades[index - 1].floor if index > 0 else None
        if leaving.score < grades[index].floor or (top is not None and leaving.score >= top):
            band = f"from {grades[index].floor}" + (f" below {top}" if top is not None else "")
            error("C229", f"a voluntary exit refunds as {leaving.grade} at {leaving.score}, "
                  f"outside {leaving.grade}'s band ({band})", leaving.span)
    downgrade = framework.downgrade
    if downgrade is not None:
        for event, steps in (("national", downgrade.national),
                             ("provincial", downgrade.provincial)):
            if steps >= len(grades):
                error("C243", f"a {event} downgrade of {steps} grades is more than the "
                      f"framework's {len(grades)} grades allow", downgrade.span)
    return found


class _Checker:
    def __init__(self, standard: ast.Standard, frameworks: Mapping[str, ast.Framework]) -> None:
        self.standard = standard
        self.frameworks = frameworks
        self.result = Checked()
        self.enums = {e.name: e for e in standard.enums}
        self.records = {r.name: r for r in standard.records}
        self.facts = {f.name: f for f in standard.facts}
        self.lets = {x.name: x for x in standard.lets}
        self.cohorts = {c.name: c for c in standard.cohorts}
        self.used: set[str] = set()
        self.suggested: set[str] = set()  # names a 'did you mean' offered
        self.current_let: str | None = None
        self.in_rule = False

    # ------------------------------------------------------------ reporting
    def error(self, code: str, message: str, span: ast.Span, hint: str | None = None,
              related: tuple[Related, ...] = ()) -> None:
        self.result.diagnostics.append(Diagnostic(code, message, span, hint, related=related))

    def warn(self, code: str, message: str, span: ast.Span, hint: str | None = None) -> None:
        self.result.diagnostics.append(Diagnostic(code, message, span, hint, "warning"))

    def run(self) -> Checked:
        self.check_header()
        self.check_names()
        for fact in self.standard.facts:
            self.result.fact_types[fact.name] = self.check_fact(fact)
        for record in self.standard.records:
            for record_field in record.fields:
                self.check_fact(record_field, in_record=record.name)
        for fact in self.standard.facts:
            self.check_fact_conditions(fact)
        for let in self.standard.lets:
            self.current_let = let.name
            self.result.let_types[let.name] = self.infer(let.expr, _Scope())
            self.current_let = None
        for cohort in self.standard.cohorts:
            self.result.cohort_types[cohort.name] = self.check_cohort(cohort)
        self.check_points()
        self.check_against_framework()
        for item in self.standard.items:
            self.check_item(item)
        self.check_unused()
        return self.result

    # ------------------------------------------------------------ header and names
    def check_header(self) -> None:
        header = self.standard.header
        required = {"region": header.region, "version": header.version, "title": header.title,
                    "total": header.total, "applies to": header.applies_to,
                    "effective": header.effective_from}
        for key, value in required.items():
            if value is None:
                self.error("C215", f"the standard does not say its '{key}'", header.span,
                           hint=f"add '{key} ...' inside 'standard {header.name} {{ }}'")
        if (header.effective_from and header.effective_to
                and header.effective_to < header.effective_from):
            self.error("C235", "the effective period ends before it starts", header.span)
        if header.rescale is not None and header.rescale <= 0:
            self.error("C236", "'rescale to' needs a positive number of points", header.span)
        self.check_identifier(header.name, header.span, "standard")
        if header.region:
            self.check_identifier(header.region, header.span, "region")

    def check_identifier(self, name: str, span: ast.Span, what: str) -> None:
        if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name.startswith("_"):
            self.error("C212", f"'{name}' cannot name a {what}: it is reserved", span,
                       hint="choose another name (names may not start with _)")
        elif name != name.lower():
            self.error("C212", f"{what} name '{name}' must be lower case", span,
                       hint=f"write it as '{name.lower()}' (snake_case)")

    def check_names(self) -> None:
        seen: dict[str, tuple[str, ast.Span]] = {}
        declarations: list[tuple[str, str, ast.Span]] = (
            [(e.name, "enum", e.span) for e in self.standard.enums]
            + [(r.name, "record", r.span) for r in self.standard.records]
            + [(f.name, "fact", f.span) for f in self.standard.facts]
            + [(x.name, "derived value", x.span) for x in self.standard.lets]
            + [(c.name, "cohort value", c.span) for c in self.standard.cohorts]
        )
        for name, what, span in declarations:
            self.check_identifier(name, span, what)
            if name in RESERVED_NAMES or name in FUNCTIONS:
                self.error("C212", f"'{name}' is a built-in name and cannot name a {what}", span)
            if name in seen:
                other, where = seen[name]
                self.error("C201", f"'{name}' is declared twice (first as {_an(other)} at {where})",
                           span, hint="every enum, record, fact and value needs its own name",
                           related=(Related(where, f"'{name}' is first declared here"),))
            else:
                seen[name] = (what, span)
        for enum in self.standard.enums:
            self.check_unique([(m.name, m.span) for m in enum.members], f"enum {enum.name}")
            self.check_unique([(m.label, m.span) for m in enum.members],
                              f"enum {enum.name}", "label")
        for record in self.standard.records:
            self.check_unique([(f.name, f.span) for f in record.fields], f"record {record.name}")
        numbers: dict[int, ast.Span] = {}
        for item in self.standard.items:
            if item.number in numbers:
                self.error("C202", f"item {item.number} is numbered twice "
                           f"(first at {numbers[item.number]})", item.span,
                           related=(Related(numbers[item.number],
                                            f"item {item.number} is first here"),))
            numbers[item.number] = item.span

    def check_unique(self, entries: list[tuple[str, ast.Span]], where: str,
                     what: str = "name") -> None:
        seen: set[str] = set()
        for name, span in entries:
            if name in seen:
                self.error("C201", f"{what} '{name}' appears twice in {where}", span)
            seen.add(name)

    # ------------------------------------------------------------ facts
    def resolve_type(self, ref: ast.TypeRef) -> Type | None:
        if ref.container == "list":
            if ref.name in self.records:
                return Type("list", ref.name)
            self.error("C214", f"'list of {ref.name}' needs a record type named {ref.name}",
                       ref.span, hint=self.suggest(ref.name, self.records))
            return None
        if ref.container == "set":
            if ref.name in self.enums:
                return Type("set", ref.name)
            self.error("C214", f"'set of {ref.name}' needs an enum named {ref.name}", ref.span,
                       hint=self.suggest(ref.name, self.enums))
            return None
        if ref.name in self.enums:
            return Type("enum", ref.name)
        if ref.name == "bool":
            return BOOL
        if ref.name == "percent":
            return Type("percent", base="percent")
        if ref.name in NUMERIC_BASES:
            return Type("number", base=ref.name)
        if ref.name in {"date", "text"}:
            return Type(ref.name, base=ref.name)
        known = sorted(BASE_TYPES | set(self.enums))
        self.error("C214", f"unknown type '{ref.name}'", ref.span,
                   hint=self.suggest(ref.name, known) or "types: " + ", ".join(known))
        return None

    def check_fact(self, fact: ast.FactDecl, in_record: str | None = None) -> Type:
        type_ = self.resolve_type(fact.type) or NUMBER
        if fact.low is not None or fact.high is not None:
            if type_.kind not in {"number", "percent"}:
                self.error("C237", f"'{fact.name}' is {type_}: only numbers and percents take "
                           "a range", fact.span)
            elif fact.high is not None and fact.low is not None and fact.low > fact.high:
                self.error("C237", f"the range of '{fact.name}' runs from {fact.low} down to "
                           f"{fact.high}", fact.span, hint="write the low bound first")
        if in_record is not None and fact.presence != "required":
            self.error("C238", f"record fields are always required ('{fact.name}' in "
                       f"{in_record})", fact.span)
        if fact.default is not None:
            default_type = self.infer(fact.default, _Scope())
            if not isinstance(fact.default, ast.Number | ast.Percent | ast.Boolean):
                self.error("C239", "a default must be a plain value (a number, a percent, "
                           "true or false)", fact.default.span)
            else:
                self.expect_compatible(type_, default_type, fact.default.span, "the default")
        return type_

    def check_fact_conditions(self, fact: ast.FactDecl) -> None:
        if fact.required_when is not None:
            condition = self.infer(fact.required_when, _Scope())
            self.expect(condition, BOOL, fact.required_when.span, "a 'required when' condition")
            if fact.name in self.names_in(fact.required_when):
                self.error("C240", f"'{fact.name}' cannot be required on a condition about "
                           "itself", fact.required_when.span)

    # ------------------------------------------------------------ cohorts
    def check_cohort(self, cohort: ast.CohortDecl) -> Type:
        if isinstance(cohort, ast.CohortMean):
            value = self.infer(cohort.value, _Scope())
            if value.kind not in {"number", "percent"}:
                self.error("C245", f"a mean needs a number or a percent, not {value}",
                           cohort.value.span)
            group = self.infer(cohort.group, _Scope())
            if group.kind not in {"enum", "text"}:
                self.error("C245", f"a cohort is grouped by an enum or a text, not {group}",
                           cohort.group.span)
            if cohort.min_size < 1:
                self.error("C242", "'at least' needs 1 or more", cohort.span)
            if cohort.override is not None:
                self.check_override(cohort.override, value, cohort.span)
            return value
        if not isinstance(cohort.value, ast.Name) or cohort.value.name not in self.facts:
            self.error("C245", "a rank is taken over one fact (institutions without it are "
                       "unranked)", cohort.value.span)
            value = NUMBER
        else:
            self.used.add(cohort.value.name)
            value = self.result.fact_types[cohort.value.name]
            self.result.types[id(cohort.value)] = value
        if value.kind not in {"number", "percent"}:
            self.error("C245", f"a rank needs a number or a percent, not {value}",
                       cohort.value.span)
        for band in (cohort.top, cohort.bottom):
            if band.size < 0:
                self.error("C242", "a band needs 0 or more places", band.span)
        if cohort.unranked is not None:
            self.expect(self.infer(cohort.unranked, _Scope()), NUMBER, cohort.unranked.span,
                        "the value for unranked institutions")
        return NUMBER

    def check_override(self, name: str, value: Type, span: ast.Span) -> None:
        fact = self.facts.get(name)
        if fact is None:
            self.error("C203", f"unknown fact '{name}'", span,
                       hint=self.suggest(name, self.facts))
            return
        self.used.add(name)
        if fact.presence != "optional" or fact.default is not None:
            self.error("C241", f"'{name}' overrides a cohort value, so it must be optional",
                       fact.span)
        self.expect_compatible(value, self.result.fact_types[name], span, f"'{name}'")

    # ------------------------------------------------------------ points
    def check_points(self) -> None:
        header = self.standard.header
        regular = Decimal(0)
        bonus = Decimal(0)
        for category in self.standard.categories:
            items_sum = sum((item.points for item in category.items), Decimal(0))
            if items_sum != category.points:
                self.error("C211", f"the items of {category.label} add up to {items_sum}, "
                           f"not {category.points}", category.span,
                           hint="fix an item's points or the category's")
            for item in category.items:
                if item.bonus:
                    bonus += item.points
                else:
                    regular += item.points
        if header.total is not None:
            counted = regular + bonus if header.bonus_included else regular
            if counted != header.total:
                which = "all items" if header.bonus_included else "the items other than bonus"
                self.error("C230", f"{which} add up to {counted}, not the total {header.total}",
                           header.span, hint="bonus items count towards the total only with "
                           "'bonus included'" if not header.bonus_included and bonus else None)
        # bonus items may add up to more than the standard's bonus limit: the limit caps
        # what they earn together when an institution is scored (runtime total()).

    # ------------------------------------------------------------ items and rules
    def check_item(self, item: ast.Item) -> None:
        if not item.texts.basis:
            self.error("C210", f"item {item.number} ({item.label}) has no legal basis", item.span,
                       hint='add: basis "来源：..." (the table\'s 指标依据); where the table gives '
                       'none, say so in the text')
        if item.not_applicable is not None:
            self.expect(self.infer(item.not_applicable.condition, _Scope()), BOOL,
                        item.not_applicable.condition.span, "a 'not applicable' condition")
        if item.deduction_cap is not None and item.deduction_cap.points > item.points:
            self.error("C208", f"the deduction cap {item.deduction_cap.points} is larger than "
                       f"item {item.number}'s {item.points} points", item.deduction_cap.span)
        parts = [entry for entry in item.body if isinstance(entry, ast.Part)]
        parts_sum = sum((p.points for p in parts), Decimal(0))
        if parts_sum > item.points:
            self.error("C232", f"the parts of item {item.number} add up to {parts_sum}, more "
                       f"than its {item.points} points", item.span)
        for entry in item.body:
            if isinstance(entry, ast.Part):
                if entry.not_applicable is not None:
                    self.expect(self.infer(entry.not_applicable.condition, _Scope()), BOOL,
                                entry.not_applicable.condition.span,
                                "a 'not applicable' condition")
                for rule in entry.rules:
                    self.check_rule(rule, entry.points, f"part {entry.label}")
            else:
                self.check_rule(entry, item.points, f"item {item.number}")

    def check_rule(self, rule: ast.Rule, points: Decimal, owner: str) -> None:
        self.in_rule = True
        try:
            self._check_rule(rule, points, owner)
        finally:
            self.in_rule = False

    def _check_rule(self, rule: ast.Rule, points: Decimal, owner: str) -> None:
        scope = _Scope()
        if isinstance(rule, ast.ZeroRule):
            self.expect(self.infer(rule.condition, scope), BOOL, rule.condition.span,
                        "a 'zero when' condition")
            return
        if rule.cap is not None and rule.cap > points:
            self.error("C208", f"the cap {rule.cap} is larger than the {points} points of "
                       f"{owner}", rule.span, hint="a rule can never take more than its points")
        if isinstance(rule, ast.AmountRule):
            if rule.condition is not None:
                self.expect(self.infer(rule.condition, scope), BOOL, rule.condition.span,
                            "a 'when' condition")
                scope = scope.with_given(self.given_names(rule.condition))
            self.expect(self.infer(rule.amount, scope), NUMBER, rule.amount.span, "an amount")
            if rule.per is not None:
                self.expect(self.infer(rule.per, scope), NUMBER, rule.per.span,
                            "what 'per' counts")
        elif isinstance(rule, ast.StepRule):
            self.expect(self.infer(rule.amount, scope), NUMBER, rule.amount.span, "an amount")
            value = self.infer(rule.value, scope)
            if value.kind not in {"number", "percent"}:
                self.error("C246", f"steps are counted on a number or a percent, not {value}",
                           rule.value.span)
            self.expect_compatible(value, self.infer(rule.step, scope), rule.step.span,
                                   "the step")
            self.expect_compatible(value, self.infer(rule.threshold, scope),
                                   rule.threshold.span, "the threshold")
            if isinstance(rule.step, ast.Number | ast.Percent) and rule.step.value <= 0:
                self.error("C242", "a step must be larger than 0", rule.step.span)
        elif isinstance(rule, ast.EntriesRule):
            self.check_entries(rule)
        else:
            source = self.infer(rule.source, scope)
            if source.kind not in {"list", "set"} or source.name is None:
                self.error("C246", f"'for each' needs a list or a set, not {source}",
                           rule.source.span)
                return
            element = Type("record" if source.kind == "list" else "enum", source.name)
            scope = scope.with_variable(rule.variable, element)
            if rule.condition is not None:
                self.expect(self.infer(rule.condition, scope), BOOL, rule.condition.span,
                            "a 'when' condition")
            self.expect(self.infer(rule.amount, scope), NUMBER, rule.amount.span, "an amount")

    def check_entries(self, rule: ast.EntriesRule) -> None:
        """`deduct entries from L`: L is a list of records with item, points and evidence."""
        fact = self.facts.get(rule.source)
        if fact is None or fact.type.container != "list":
            self.error("C246", f"'entries from {rule.source}' needs a list of entries",
                       rule.span, hint=self.suggest(rule.source, self.facts))
            return
        self.used.add(rule.source)
        record = self.records.get(fact.type.name)
        if record is None:  # the fact's type names no record: C214 at the fact already
            return
        fields = {f.name: f.type.name for f in record.fields}
        wanted = {"item": {"text", "count"}, "points": NUMERIC_BASES, "evidence": {"text"}}
        for name, types in wanted.items():
            if fields.get(name) not in types:
                self.error("C246", f"record {record.name} needs a field '{name}' of type "
                           f"{' or '.join(sorted(types))} for 'entries from'", record.span,
                           hint="an entry names its item, its points and its evidence (JL-6)")

    # ------------------------------------------------------------ framework
    def check_against_framework(self) -> None:
        header = self.standard.header
        if header.framework is None:
            return
        framework = self.frameworks.get(header.framework)
        if framework is None:
            self.error("C220", f"unknown framework '{header.framework}'", header.span,
                       hint=self.suggest(header.framework, self.frameworks)
                       or "frameworks are declared in framework files under regions/")
            return
        regular = sum((i.points for i in self.standard.items if not i.bonus), Decimal(0))
        bonus = sum((i.points for i in self.standard.items if i.bonus), Decimal(0))
        total = framework.deductions_total
        if total is not None and regular != total.points:
            self.error("C233", f"deduction items add up to {regular}; framework "
                       f"{framework.name} fixes them at {total.points}", header.span)
        limit = framework.bonus_limit
        if limit is not None:
            cited = ", ".join(limit.reason.citations) or framework.name
            what, value = (("the standard's bonus limit is", header.bonus_limit)
                           if header.bonus_limit is not None
                           else ("bonus items add up to", bonus))
            if value > limit.points:
                message = (f"{what} {value}, above the framework's {limit.points} "
                           f"({limit.reason.text}) [{cited}]")
                if limit.advisory:
                    self.warn("W301", message, header.span)
                else:
                    self.error("C231", message, header.span)

    # ------------------------------------------------------------ expressions
    def infer(self, expr: ast.Expr, scope: _Scope) -> Type:
        type_ = self._infer(expr, scope)
        self.result.types[id(expr)] = type_
        return type_

    def _infer(self, expr: ast.Expr, scope: _Scope) -> Type:
        match expr:
            case ast.Number():
                return NUMBER
            case ast.Percent():
                return PERCENT
            case ast.Boolean():
                return BOOL
            case ast.Name(name=name):
                return self.infer_name(name, expr.span, scope)
            case ast.Field(record=variable, field=field_name):
                return self.infer_field(variable, field_name, expr.span, scope)
            case ast.Negate(operand=operand):
                type_ = self.infer(operand, scope)
                if type_.kind not in {"number", "percent"}:
                    self.error("C205", f"cannot negate {type_}", expr.span)
                return Type(type_.kind) if type_.kind in {"number", "percent"} else NUMBER
            case ast.Arithmetic():
                return self.infer_arithmetic(expr, scope)
            case ast.Compare(op=op, left=left, right=right):
                left_type, right_type = self.infer(left, scope), self.infer(right, scope)
                if op in {"==", "!="}:
                    self.expect_compatible(left_type, right_type, expr.span, "the right side")
                else:
                    if left_type.kind not in {"number", "percent", "date"}:
                        self.error("C205", f"'{op}' compares numbers, percents or dates, "
                                   f"not {left_type}", left.span)
                    else:
                        self.expect_compatible(left_type, right_type, right.span,
                                               "the right side")
                return BOOL
            case ast.Logical(op=op, left=left, right=right):
                self.expect(self.infer(left, scope), BOOL, left.span, f"'{op}'")
                inner = scope.with_given(self.given_names(left)) if op == "and" else scope
                self.expect(self.infer(right, inner), BOOL, right.span, f"'{op}'")
                return BOOL
            case ast.Not(operand=operand):
                self.expect(self.infer(operand, scope), BOOL, operand.span, "'not'")
                return BOOL
            case ast.IsMember(subject=subject, member=member):
                type_ = self.infer(subject, scope)
                if type_.kind != "enum":
                    self.error("C205", f"'is {member}' tests an enum value, not {type_}",
                               subject.span)
                else:
                    self.check_member(type_, member, expr.span)
                return BOOL
            case ast.HasMember(subject=subject, member=member):
                type_ = self.infer(subject, scope)
                if type_.kind != "set":
                    self.error("C205", f"'has {member}' tests a set, not {type_}", subject.span)
                else:
                    self.check_member(Type("enum", type_.name), member, expr.span)
                return BOOL
            case ast.Given(name=name):
                fact = self.facts.get(name)
                if fact is None:
                    self.error("C222", f"'given' needs a fact; '{name}' is not one", expr.span,
                               hint=self.suggest(name, self.facts))
                else:
                    self.used.add(name)
                    if (fact.presence == "required" or fact.default is not None
                            or fact.type.container is not None):
                        self.error("C244", f"'{name}' is always given (a missing list is "
                                   f"empty); 'given {name}' is always true", expr.span)
                return BOOL
            case ast.Call():
                return self.infer_call(expr, scope)
            case ast.Aggregate():
                return self.infer_aggregate(expr, scope)
            case ast.IfThenElse(condition=condition, then=then, otherwise=otherwise):
                self.expect(self.infer(condition, scope), BOOL, condition.span, "'if'")
                then_type = self.infer(then, scope.with_given(self.given_names(condition)))
                other_type = self.infer(otherwise, scope)
                self.expect_compatible(then_type, other_type, otherwise.span, "'else'")
                return Type(then_type.kind, then_type.name)
            case ast.Tiers():
                return self.infer_tiers(expr, scope)
            case ast.Lookup():
                return self.infer_lookup(expr, scope)
        raise AssertionError(f"unknown expression {expr!r}")  # pragma: no cover

    def infer_name(self, name: str, span: ast.Span, scope: _Scope) -> Type:
        if name in scope.variables:
            return scope.variables[name]
        if name == FULL_POINTS:
            if not self.in_rule:
                self.error("C223", f"'{FULL_POINTS}' means an item's points: it is used only "
                           "in the rules of an item", span)
            return Type("number", base="points")
        if name in self.facts:
            self.used.add(name)
            fact = self.facts[name]
            if (fact.presence == "optional" and fact.default is None
                    and fact.type.container is None and name not in scope.given):
                self.error("C213", f"'{name}' is optional and may be missing here", span,
                           hint=f"guard it: 'given {name} and ...', or "
                           f"'if given {name} then ... else ...', or give it a default")
            return self.result.fact_types[name]
        if name in self.lets:
            if name not in self.result.let_types:
                self.error("C224", f"'{name}' is used before it is derived", span,
                           hint="derived values can use only those declared above them")
                return NUMBER
            return self.result.let_types[name]
        if name in self.cohorts:
            if self.current_let is not None or name not in self.result.cohort_types:
                self.error("C225", f"cohort value '{name}' can be used only in items", span)
                return NUMBER
            return self.result.cohort_types[name]
        known = list(self.facts) + list(self.lets) + list(self.cohorts) + list(scope.variables)
        self.error("C203", f"'{name}' is not declared", span,
                   hint=self.suggest(name, known) or f"declare it: fact {name} \"label\": type")
        return NUMBER

    def infer_field(self, variable: str, field_name: str, span: ast.Span,
                    scope: _Scope) -> Type:
        record_type = scope.variables.get(variable)
        if record_type is None or record_type.kind != "record":
            self.error("C226", f"'{variable}' is not an entry of a list here", span)
            return NUMBER
        record = self.records.get(record_type.name or "")
        if record is None:  # a list of a record type that is not declared: C214 already
            return NUMBER
        for record_field in record.fields:
            if record_field.name == field_name:
                return self.resolve_type(record_field.type) or NUMBER
        self.error("C226", f"record {record.name} has no field '{field_name}'", span,
                   hint=self.suggest(field_name, [f.name for f in record.fields]))
        return NUMBER

    def infer_arithmetic(self, expr: ast.Arithmetic, scope: _Scope) -> Type:
        left, right = self.infer(expr.left, scope), self.infer(expr.right, scope)
        for side, type_ in ((expr.left, left), (expr.right, right)):
            if type_.kind not in {"number", "percent"}:
                self.error("C205", f"'{expr.op}' needs numbers or percents, not {type_}",
                           side.span)
                return NUMBER
        kinds = (left.kind, right.kind)
        if expr.op in {"+", "-"}:
            if left.kind != right.kind:
                self.error("C205", f"cannot {'add' if expr.op == '+' else 'subtract'} a "
                           f"{right.kind} and a {left.kind}", expr.span,
                           hint="a percent is in percentage points; write both sides as "
                           "percents or both as numbers")
            return Type(left.kind)
        if expr.op == "*":
            if kinds == ("percent", "percent"):
                self.error("C205", "cannot multiply two percents", expr.span)
            if is_weight(expr):
                return NUMBER  # score × 20%: a fifth of the score
            return PERCENT if "percent" in kinds else NUMBER
        if kinds == ("number", "percent"):
            self.error("C205", "cannot divide a number by a percent", expr.span)
        return NUMBER if left.kind == right.kind else PERCENT

    def infer_call(self, expr: ast.Call, scope: _Scope) -> Type:
        spec = FUNCTIONS.get(expr.function)
        if spec is None:
            self.error("C218", f"unknown function '{expr.function}'", expr.span,
                       hint=self.suggest(expr.function, FUNCTIONS)
                       or "functions: " + ", ".join(sorted(FUNCTIONS)))
            return NUMBER
        arity, usage = spec
        args = [self.infer(arg, scope) for arg in expr.args]
        if len(args) != arity:
            self.error("C218", f"'{expr.function}' takes {arity} argument(s), not {len(args)}",
                       expr.span, hint=usage)
            return NUMBER
        if expr.function == "count":
            if args[0].kind not in {"list", "set"}:
                self.error("C205", f"count() needs a list or a set, not {args[0]}", expr.span)
            return NUMBER
        for arg, type_ in zip(expr.args, args, strict=True):
            if type_.kind not in {"number", "percent"}:
                self.error("C205", f"{expr.function}() needs numbers, not {type_}", arg.span)
        if expr.function in {"growth", "share"}:
            for arg, type_ in zip(expr.args, args, strict=True):
                self.expect(type_, NUMBER, arg.span, f"{expr.function}()")
            return PERCENT
        if expr.function == "ratio":
            return NUMBER
        for arg, type_ in zip(expr.args[1:], args[1:], strict=True):
            self.expect_compatible(args[0], type_, arg.span, f"{expr.function}()")
        return Type(args[0].kind)

    def infer_aggregate(self, expr: ast.Aggregate, scope: _Scope) -> Type:
        source = self.infer(expr.source, scope)
        if source.kind not in {"list", "set"} or source.name is None:
            self.error("C205", f"{expr.function}(... in ...) needs a list or a set, not "
                       f"{source}", expr.source.span)
            return NUMBER
        element = Type("record" if source.kind == "list" else "enum", source.name)
        body = self.infer(expr.body, scope.with_variable(expr.variable, element))
        if expr.function in {"count", "any", "all"}:
            self.expect(body, BOOL, expr.body.span, f"{expr.function}()")
            return NUMBER if expr.function == "count" else BOOL
        if body.kind not in {"number", "percent"}:
            self.error("C205", f"{expr.function}() needs numbers, not {body}", expr.body.span)
        return Type(body.kind)

    def infer_tiers(self, expr: ast.Tiers, scope: _Scope) -> Type:
        subject = self.infer(expr.subject, scope)
        if subject.kind not in {"number", "percent"}:
            self.error("C205", f"tiers need a number or a percent, not {subject}",
                       expr.subject.span)
        result: Type | None = None
        previous: tuple[str, Decimal] | None = None
        for tier in expr.tiers:
            self.expect_compatible(subject, self.infer(tier.threshold, scope),
                                   tier.threshold.span, "the threshold")
            tier_type = self.infer(tier.result, scope)
            if result is None:
                result = tier_type
            else:
                self.expect_compatible(result, tier_type, tier.result.span, "every tier")
            if isinstance(tier.threshold, ast.Number | ast.Percent):
                value = tier.threshold.value
                if previous is not None:
                    op, last = previous
                    descending = op in {">=", ">"}
                    if (op in {">=", ">"}) != (tier.op in {">=", ">"}) or \
                            (descending and value > last) or (not descending and value < last):
                        self.error("C209", "tiers out of order: the first tier that holds "
                                   "wins, so this one is never reached", tier.span,
                                   hint="list '>=' tiers from the highest threshold down, "
                                   "'<=' tiers from the lowest up")
                previous = (tier.op, value)
        if expr.otherwise is not None and result is not None:
            self.expect_compatible(result, self.infer(expr.otherwise, scope),
                                   expr.otherwise.span, "'else'")
        return result or NUMBER

    def infer_lookup(self, expr: ast.Lookup, scope: _Scope) -> Type:
        subject = self.infer(expr.subject, scope)
        if subject.kind != "enum" or subject.name is None:
            self.error("C205", f"lookup needs an enum value, not {subject}", expr.subject.span)
            return NUMBER
        enum = self.enums[subject.name]
        result: Type | None = None
        seen: set[str] = set()
        for case in expr.cases:
            self.check_member(subject, case.member, case.span)
            if case.member in seen:
                self.error("C227", f"'{case.member}' appears twice in this lookup", case.span)
            seen.add(case.member)
            case_type = self.infer(case.result, scope)
            if result is None:
                result = case_type
            else:
                self.expect_compatible(result, case_type, case.result.span, "every case")
        missing = [m.name for m in enum.members if m.name not in seen]
        if missing:
            self.error("C207", f"this lookup gives no value for {', '.join(missing)} of enum "
                       f"{enum.name}", expr.span, hint="every member needs a value")
        return result or NUMBER

    # ------------------------------------------------------------ helpers
    def check_member(self, enum_type: Type, member: str, span: ast.Span) -> None:
        enum = self.enums.get(enum_type.name or "")
        if enum is not None and member not in {m.name for m in enum.members}:
            names = [m.name for m in enum.members]
            self.error("C206", f"enum {enum.name} has no member '{member}'", span,
                       hint=self.suggest(member, names) or "members: " + ", ".join(names))

    def expect(self, actual: Type, wanted: Type, span: ast.Span, what: str) -> None:
        if actual.kind != wanted.kind:
            self.error("C205", f"{what} needs a {wanted.kind}, but this is {_article(actual)}",
                       span, hint=_percent_hint(actual, wanted))

    def expect_compatible(self, left: Type, right: Type, span: ast.Span, what: str) -> None:
        if (left.kind, left.name) != (right.kind, right.name):
            self.error("C205", f"{what} is {_article(right)}, but must be {_article(left)} "
                       "like the value it goes with", span, hint=_percent_hint(right, left))

    def given_names(self, condition: ast.Expr) -> frozenset[str]:
        """Optional facts a condition proves present: `given x`, `given x and given y`."""
        if isinstance(condition, ast.Given):
            return frozenset({condition.name})
        if isinstance(condition, ast.Logical) and condition.op == "and":
            return self.given_names(condition.left) | self.given_names(condition.right)
        return frozenset()

    def names_in(self, expr: ast.Expr) -> set[str]:
        return {node.name for node in walk(expr) if isinstance(node, ast.Name | ast.Given)}

    def check_unused(self) -> None:
        for fact in self.standard.facts:
            if fact.name not in self.used and fact.name not in self.suggested:
                self.error("C204", f"fact '{fact.name}' is declared but never used", fact.span,
                           hint="use it in a rule, or remove it")

    def suggest(self, name: str, known: Iterable[str]) -> str | None:
        """'did you mean' the closest known name; that name is then not reported unused
        (C204): its use was misspelt, and the one finding says so."""
        close = difflib.get_close_matches(name, list(known), n=1)
        if not close:
            return None
        self.suggested.add(close[0])
        return f"did you mean '{close[0]}'?"


def is_weight(expr: ast.Arithmetic) -> bool:
    """`x * 20%`: a number times a percent literal, which the pack computes as x × 20 / 100."""
    return expr.op == "*" and (isinstance(expr.left, ast.Percent)
                               != isinstance(expr.right, ast.Percent))


def _article(type_: Type) -> str:
    text = str(type_)
    return f"an {text}" if text[0] in "aeiou" else f"a {text}"


def _percent_hint(actual: Type, wanted: Type) -> str | None:
    if {actual.kind, wanted.kind} == {"number", "percent"}:
        return "percents are written with a % sign (80%); a number is not a percent"
    return None


def walk(expr: ast.Expr) -> Iterator[ast.Expr]:
    yield expr
    for name in expr.__slots__:
        child = getattr(expr, name)
        children = child if isinstance(child, tuple) else (child,)
        for node in children:
            if isinstance(node, ast.Tier | ast.LookupCase):
                yield from walk(node.threshold if isinstance(node, ast.Tier) else node.result)
                if isinstance(node, ast.Tier):
                    yield from walk(node.result)
            elif hasattr(node, "span") and not isinstance(node, ast.Span):
                yield from walk(node)


def _an(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"
