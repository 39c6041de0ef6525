"""Checked AST -> the published table (`policy_dsl.publish.table`), with 计分规则 in Chinese.

The table's other columns are the rule file's own words; 计分规则 is written here from the
rules a pack is generated from: thresholds, steps, tiers, lookups, caps, weights, per-count
rules, for-each rules, zero-when and not-applicable conditions, the assessment panel's
entries, each with its reading ids. Facts appear by their labels and enum members by theirs,
so a changed number in a rule is a changed number in the published table.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal

from .. import __version__
from ..publish.table import Clause, Group, Row, Section, Table, points_text
from . import ast, codegen
from .checker import FULL_POINTS, Type, walk
from .pipeline import CheckedStandard

SYMBOLS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "=", "!=": "≠"}
ARITHMETIC = {"+": "+", "-": "−", "*": "×", "/": "÷"}
PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
ROUNDING = {
    "floor": "按完整步长计，G4",
    "ceil": "不足一个步长按一个步长计，G4",
    "exact": "按实际差额折算，不取整，G4",
}
AGGREGATES = {"sum": "之和", "max": "中最高者", "min": "中最低者"}
UNITS = {"次", "项", "件", "例", "人", "家", "个", "份", "笔", "次/项"}  # 每次扣1分
BAND_VALUES_SHOWN = 12  # a longer rank band is shown by its first and last values


def table(standard: CheckedStandard) -> Table:
    """The standard as its published table."""
    words = _Words(standard)
    tree = standard.standard
    sections = tuple(
        Section(category.label, category.points,
                tuple(words.row(item) for item in category.items))
        for category in tree.categories)
    header = tree.header
    subtitle = "　".join(part for part in (
        header.region_label, f"适用于：{header.applies_to}" if header.applies_to else None,
        f"版本：{header.version}" if header.version is not None else None,
        _period(header.effective_from, header.effective_to)) if part)
    return Table(title=header.title or header.name, subtitle=subtitle, sections=sections,
                 notes=tuple(words.notes()), pack=codegen.pack_name(tree), source=tree.path,
                 sha256=tree.source_sha256)


def _number(value: Decimal) -> str:
    return points_text(value)


def _date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _period(start: dt.date | None, end: dt.date | None) -> str | None:
    if start is None:
        return None
    return f"有效期：{_date(start)}至{_date(end)}" if end else f"自{_date(start)}起施行"


def _unit(label: str) -> str:
    """The unit a count's label names at its end: 经查实的价格问题（次） -> 次."""
    found = re.search(r"（([^（）]+)）$", label)
    unit = re.split(r"[，,]", found.group(1))[0] if found else ""
    return unit if unit in UNITS else "个"


def _quoted(label: str) -> str:
    return f"「{label}」"


class _Words:
    """Rules in words, for one checked standard."""

    def __init__(self, standard: CheckedStandard) -> None:
        self.standard = standard
        tree = standard.standard
        self.types = standard.checked
        self.labels: dict[str, str] = {fact.name: fact.label for fact in tree.facts}
        self.labels.update({let.name: let.label for let in tree.lets})
        self.labels.update({cohort.name: cohort.label for cohort in tree.cohorts})
        self.derived: dict[str, ast.LetDecl | ast.CohortDecl] = {
            declared.name: declared for declared in (*tree.lets, *tree.cohorts)}
        self.enums = {enum.name: enum for enum in tree.enums}
        self.records = {record.name: record for record in tree.records}
        self.points = Decimal(0)  # of the item or part whose rules are being written
        self.bonus = False
        self.scope: dict[str, Type] = {}  # loop variables: the element type of their list

    # ------------------------------------------------------------ items
    def row(self, item: ast.Item) -> Row:
        self.bonus = item.bonus
        groups: list[Group] = []
        own: list[Clause] = []
        if item.not_applicable is not None:
            own.append(self.not_applicable(item.not_applicable, "本项不计分，" + (
                f"总分按适用项满分折算为{_number(self.rescale)}分"
                if self.rescale is not None else "不计入得分和满分")))
        # beside parts, the item's own rules are headed 本项 so they do not read as a part's
        heading = "本项" if any(isinstance(e, ast.Part) for e in item.body) else None
        for entry in item.body:
            if isinstance(entry, ast.Part):
                if own:
                    groups.append(Group(heading, tuple(own)))
                    own = []
                groups.append(self.part(entry))
            else:
                self.points = item.points
                own.append(self.rule(entry, "本项"))
        if item.deduction_cap is not None:
            cap = item.deduction_cap
            own.append(Clause(f"本项扣分以{_number(cap.points)}分为限", cap.reason.citations))
        if own:
            groups.append(Group(heading, tuple(own)))
        explained = [self.derivation(name) for name in self.derived_names(item)]
        if explained:
            groups.append(Group("其中", tuple(explained)))
        texts = item.texts
        return Row(item.number, item.label, item.points, item.bonus, texts.content or "",
                   texts.method or "", texts.basis or "", texts.procedure or "", tuple(groups))

    def part(self, part: ast.Part) -> Group:
        self.points = part.points
        clauses = []
        if part.not_applicable is not None:
            clauses.append(self.not_applicable(
                part.not_applicable, f"本分项按满分{_number(part.points)}分计"))
        clauses.extend(self.rule(rule, "本分项") for rule in part.rules)
        return Group(f"{part.label}（{_number(part.points)}分）", tuple(clauses))

    def not_applicable(self, rule: ast.NotApplicable, then: str) -> Clause:
        return Clause(f"不适用：{self.expr(rule.condition)}的，{then}",
                      rule.reason.citations)

    @property
    def rescale(self) -> Decimal | None:
        return self.standard.standard.header.rescale

    # ------------------------------------------------------------ rules
    def rule(self, rule: ast.Rule, owner: str) -> Clause:
        readings = rule.reason.citations
        if isinstance(rule, ast.ZeroRule):
            return Clause(f"{self.expr(rule.condition)}的，{owner}得0分", readings)
        verb = "扣" if rule.sign == "deduct" else ("加" if self.bonus else "得")
        cap = f"，最多{verb}{_number(rule.cap)}分" if rule.cap is not None else ""
        match rule:
            case ast.EntriesRule(source=source):
                text = (f"{verb}考核小组认定的{_quoted(self.labels.get(source, source))}"
                        f"中记在本项的各条分值（{self.entry_terms(source)}）")
            case ast.StepRule():
                text = self.step_rule(rule, verb)
            case ast.EachRule():
                element = self.element_type(rule.source)
                self.scope[rule.variable] = element
                try:
                    guard = (f"满足{self.expr(rule.condition)}的"
                             if rule.condition is not None else "")
                    text = (f"每个{guard}{self.element_label(element)}"
                            f"{self.amount(rule.amount, verb)}")
                finally:
                    del self.scope[rule.variable]
            case ast.AmountRule():
                text = self.amount_rule(rule, verb)
        return Clause(text + cap, readings)

    def entry_terms(self, source: str) -> str:
        """What each of the panel's entries must hold, from its record's declared fields."""
        fact = next((f for f in self.standard.standard.facts if f.name == source), None)
        record = self.records.get(fact.type.name) if fact is not None else None
        evidence = next((f for f in record.fields if f.name == "evidence"), None) \
            if record else None
        held = f"须注明{_quoted(evidence.label)}，" if evidence is not None else ""
        return f"每条{held}不超过本项设定分值"

    def amount_rule(self, rule: ast.AmountRule, verb: str) -> str:
        if isinstance(rule.amount, ast.Name) and rule.amount.name == FULL_POINTS \
                and rule.per is None and rule.condition is None:
            return f"基本分：满分{_number(self.points)}分"
        text = self.amount(rule.amount, verb)
        if rule.per is not None:
            text = f"{self.per(rule.per)}{text}"
        if rule.condition is not None:
            text = f"{self.expr(rule.condition)}的，{text}"
        return text

    def amount(self, amount: ast.Expr, verb: str) -> str:
        """得1分, 扣分：…; the amount of a rule, with its verb."""
        if isinstance(amount, ast.Number):
            return f"{verb}{_number(amount.value)}分"
        return f"{verb}分：{self.expr(amount, points=True)}"

    def per(self, count: ast.Expr) -> str:
        """「经查实的价格问题（次）」每次 — what a per-count rule counts."""
        if isinstance(count, ast.Name):
            label = self.labels.get(count.name, count.name)
            return f"{_quoted(label)}每{_unit(label)}"
        if isinstance(count, ast.Call) and count.function == "count" and count.args:
            return f"{self.expr(count.args[0])}每一项"
        return f"按{self.expr(count)}计，每1"

    def step_rule(self, rule: ast.StepRule, verb: str) -> str:
        """「…」每低于80% 1个百分点扣0.1分（按完整步长计，G4）."""
        direction = "低于" if rule.direction == "below" else "高于"
        threshold = rule.threshold
        if isinstance(threshold, ast.Lookup):
            limit = f"相应标准（{self.expr(threshold)}）"
        else:
            limit = self.expr(threshold)
            if isinstance(threshold, ast.Number | ast.Percent):
                limit += " "
        step = rule.step
        step_text = (f"{_number(step.value)}个百分点" if isinstance(step, ast.Percent)
                     else self.expr(step))
        amount = self.amount(rule.amount, verb)
        return (f"{self.expr(rule.value)}每{direction}{limit}{step_text}{amount}"
                f"（{ROUNDING[rule.rounding]}）")

    # ------------------------------------------------------------ values used
    def derived_names(self, item: ast.Item) -> list[str]:
        """The derived and cohort values an item's rules use, and those they use, in order."""
        found: list[str] = []
        pending = [name for expr in _expressions(item) for name in _names(expr)]
        while pending:
            name = pending.pop(0)
            if name in self.derived and name not in found:
                found.append(name)
                pending.extend(_names_of_derived(self.derived[name]))
        return found

    def derivation(self, name: str) -> Clause:
        declared = self.derived[name]
        label = _quoted(declared.label)
        match declared:
            case ast.LetDecl(expr=expr):
                return Clause(f"{label}＝{self.expr(expr)}")
            case ast.CohortMean():
                text = (f"{label}：同一{self.expr(declared.group)}中一同评价的各机构"
                        f"{self.expr(declared.value)}的平均值（含本机构，至少"
                        f"{declared.min_size}家）")
                if declared.override is not None:
                    override = _quoted(self.labels.get(declared.override, declared.override))
                    text = f"{label}：提供{override}的，取其值；否则为" + text[len(label) + 1:]
                return Clause(text)
            case ast.CohortRank():
                return Clause(self.ranking(declared))

    def ranking(self, rank: ast.CohortRank) -> str:
        order = "从高到低" if rank.order == "descending" else "从低到高"
        ties = "较好" if rank.ties == "best" else "较差"
        text = (f"{_quoted(rank.label)}：按{self.expr(rank.value)}{order}排名（并列取{ties}"
                f"名次），前{rank.top.size}名依次{_band(rank.top)}；"
                f"后{rank.bottom.size}名自最后一名起依次{_band(rank.bottom)}；其余0分")
        if rank.unranked is not None:
            text += f"；未参与排名的：{self.expr(rank.unranked, points=True)}"
        return text

    # ------------------------------------------------------------ expressions
    def label_of(self, name: str) -> str:
        if name == FULL_POINTS:
            return f"满分{_number(self.points)}分"
        if name in self.scope:
            return "该项"
        return _quoted(self.labels.get(name, name))

    def element_type(self, source: ast.Expr) -> Type:
        container = self.types.type_of(source)
        return Type("record" if container.kind == "list" else "enum", container.name)

    def element_label(self, element: Type) -> str:
        if element.kind == "record" and element.name in self.records:
            return _quoted(self.records[element.name].label)
        if element.name in self.enums:
            return _quoted(self.enums[element.name].label)
        return "项"

    def member(self, subject: ast.Expr, member: str) -> str:
        type_ = self.types.type_of(subject)
        enum = self.enums.get(type_.name or "")
        labels = {m.name: m.label for m in enum.members} if enum else {}
        return labels.get(member, member)

    def expr(self, node: ast.Expr, points: bool = False) -> str:
        """An expression in words; `points` adds 分 to the numbers that are points."""
        unit = "分" if points else ""
        match node:
            case ast.Number(value=value):
                return f"{_number(value)}{unit}"
            case ast.Percent(value=value):
                return f"{_number(value)}%"
            case ast.Boolean(value=value):
                return "是" if value else "否"
            case ast.Name(name=name):
                return self.label_of(name)
            case ast.Field(record=variable, field=field_name):
                record = self.records.get(self.scope[variable].name or "") \
                    if variable in self.scope else None
                fields = {f.name: f.label for f in record.fields} if record else {}
                return _quoted(fields.get(field_name, field_name))
            case ast.Negate(operand=operand):
                return f"−{self.operand(operand, points)}"
            case ast.Arithmetic(op=op, left=left, right=right):
                return (f"{self.term(left, op, points, right_side=False)}{ARITHMETIC[op]}"
                        f"{self.term(right, op, points and op in '+-', right_side=True)}")
            case ast.Compare(op=op, left=left, right=right):
                return f"{self.compared(left)}{SYMBOLS[op]}{self.compared(right)}"
            case ast.Logical(op=op, left=left, right=right):
                joined = "且" if op == "and" else "或"
                return f"{self.logical_operand(left, op)}{joined}" \
                       f"{self.logical_operand(right, op)}"
            case ast.Not(operand=ast.Name() as name):
                return f"{self.expr(name)}为否"
            case ast.Not(operand=operand):
                return f"并非（{self.expr(operand)}）"
            case ast.IsMember(subject=subject, member=member, negated=negated):
                return f"{self.expr(subject)}{'不为' if negated else '为'}" \
                       f"“{self.member(subject, member)}”"
            case ast.HasMember(subject=subject, member=member):
                element = self.element_type(subject)
                enum = self.enums.get(element.name or "")
                label = next((m.label for m in enum.members if m.name == member), member) \
                    if enum else member
                return f"{self.expr(subject)}含“{label}”"
            case ast.Given(name=name):
                return f"提供了{self.label_of(name)}"
            case ast.Call():
                return self.call(node, points)
            case ast.Aggregate():
                return self.aggregate(node, points)
            case ast.IfThenElse(condition=condition, then=then, otherwise=otherwise):
                return (f"{self.expr(condition)}的，{self.expr(then, points)}；"
                        f"其他情形，{self.expr(otherwise, points)}")
            case ast.Tiers(subject=subject, tiers=tiers, otherwise=otherwise):
                steps = [f"{SYMBOLS[t.op]}{self.expr(t.threshold)}：{self.expr(t.result, points)}"
                         for t in tiers]
                last = self.expr(otherwise, points) if otherwise is not None \
                    else f"0{unit}"
                return f"按{self.expr(subject)}（{'；'.join(steps)}；否则{last}）"
            case ast.Lookup(subject=subject, cases=cases):
                listed = "、".join(f"{self.member(subject, case.member)}"
                                  f"{self.expr(case.result, points)}" for case in cases)
                if isinstance(subject, ast.Name) and subject.name in self.scope:
                    return listed
                return f"按{self.expr(subject)}：{listed}"
        raise AssertionError(f"unknown expression {node!r}")  # pragma: no cover

    def operand(self, node: ast.Expr, points: bool = False) -> str:
        """An operand of a function or a sign, in brackets when it is not a single term."""
        text = self.expr(node, points)
        simple = isinstance(node, ast.Number | ast.Percent | ast.Name | ast.Field | ast.Call
                            | ast.Boolean)
        return text if simple else f"（{text}）"

    def term(self, node: ast.Expr, op: str, points: bool, right_side: bool) -> str:
        """An operand of + − × ÷, in brackets only where the order of operations needs them."""
        if isinstance(node, ast.Arithmetic):
            looser = PRECEDENCE[node.op] < PRECEDENCE[op]
            regrouped = right_side and PRECEDENCE[node.op] == PRECEDENCE[op] and op in "-/"
            text = self.expr(node, points)
            return f"（{text}）" if looser or regrouped else text
        return self.operand(node, points)

    def compared(self, node: ast.Expr) -> str:
        return self.expr(node) if isinstance(node, ast.Arithmetic) else self.operand(node)

    def logical_operand(self, node: ast.Expr, op: str) -> str:
        text = self.expr(node)
        mixed = isinstance(node, ast.Logical) and node.op != op
        return f"（{text}）" if mixed or isinstance(node, ast.IfThenElse) else text

    def call(self, node: ast.Call, points: bool) -> str:
        args = [self.operand(arg, points) for arg in node.args]
        match node.function, args:
            case "growth", [this_year, last_year]:
                return f"（{this_year}−{last_year}）÷{last_year}"
            case "share", [part, whole]:
                return f"{part}÷{whole}（百分比）"
            case "ratio", [part, whole]:
                return f"{part}÷{whole}"
            case "min", [a, b]:
                return f"{a}与{b}中的较小者"
            case "max", [a, b]:
                return f"{a}与{b}中的较大者"
            case "clamp", [value, low, high]:
                return f"{value}（不低于{low}、不高于{high}）"
            case "count", [source]:
                return f"{source}的项数"
        return f"{node.function}（{'，'.join(args)}）"

    def aggregate(self, node: ast.Aggregate, points: bool) -> str:
        source = self.expr(node.source)
        self.scope[node.variable] = self.element_type(node.source)
        try:
            body = self.expr(node.body, points and node.function in AGGREGATES)
        finally:
            del self.scope[node.variable]
        match node.function:
            case "count":
                return f"{source}中{body}的项数"
            case "any":
                return f"{source}中有一项{body}"
            case "all":
                return f"{source}中各项均{body}"
        return f"{source}各项{AGGREGATES[node.function]}（{body}）"

    # ------------------------------------------------------------ 备注
    def notes(self) -> Iterator[str]:
        tree = self.standard.standard
        header = tree.header
        bonus = [item for item in tree.items if item.bonus]
        numbers = "、".join(f"第{item.number}项" for item in bonus)
        total = f"本标准总分{_number(header.total)}分" if header.total is not None else ""
        if bonus and header.bonus_included:
            yield f"{total}{'，' if total else ''}加分项（{numbers}）计入总分。"
        elif bonus:
            yield (f"{total}{'（不含加分项）；' if total else ''}加分项（{numbers}）另计"
                   f"{self.bonus_limit()}。")
        elif total:
            yield f"{total}。"
        yield "各项及各分项得分不低于0分、不高于其设定分值（G3）。"
        not_applicable = [item for item in tree.items if item.not_applicable is not None]
        if not_applicable:
            yield self.rescaling(not_applicable)
        if self.standard.framework is not None:
            yield self.grades(self.standard.framework)
        yield "总分四舍五入保留两位小数（G2）。"
        period = _period(header.effective_from, header.effective_to)
        if period:
            yield f"{period}。"
        if header.source:
            yield f"来源：{header.source}。"
        plugins = "".join(f"；城市插件 {p.path}（SHA-256 {p.sha256}）"
                          for p in self.standard.plugins)
        yield (f"“计分规则”一栏由规则文件生成，与计分所用的规则一致；其余各栏为标准原文。"
               f"本表由 policyc {__version__} 生成：规则包 {codegen.pack_name(tree)}，规则文件 "
               f"{tree.path}（SHA-256 {tree.source_sha256}）{plugins}。")

    def bonus_limit(self) -> str:
        header = self.standard.standard.header
        if header.bonus_limit is not None:
            return f"，合计不超过{_number(header.bonus_limit)}分"
        framework = self.standard.framework
        limit = framework.bonus_limit if framework else None
        if limit is None:
            return ""
        readings = "".join(f"，{r}" for r in limit.reason.citations)
        return f"，合计不超过{_number(limit.points)}分（{limit.reason.text}{readings}）"

    def rescaling(self, items: list[ast.Item]) -> str:
        header = self.standard.standard.header
        parts = []
        readings: list[str] = []
        for item in items:
            assert item.not_applicable is not None
            condition = self.expr(item.not_applicable.condition)
            parts.append(f"第{item.number}项（{item.label}）在{condition}时不适用")
            readings.extend(r for r in item.not_applicable.reason.citations
                            if r not in readings)
        text = "；".join(parts) + "。不适用的项目不计入得分和满分"
        full = sum((item.points for item in self.standard.standard.items), Decimal(0))
        if header.rescale is not None:
            scale = _number(header.rescale)
            examples = [f"第{item.number}项不适用的，按×{scale}/{_number(full - item.points)}"
                        for item in items]
            if len(items) > 1:
                left = full - sum((item.points for item in items), Decimal(0))
                examples.append(f"以上{len(items)}项均不适用的，按×{scale}/{_number(left)}")
            examples_text = "；".join(examples)
            text += (f"，总分＝评价项目总得分×{_number(header.rescale)}÷适用项目满分"
                     f"（{examples_text}）")
        return f"{text}。[{', '.join(readings)}]" if readings else f"{text}。"

    def grades(self, framework: ast.Framework) -> str:
        lowest = min((g.floor for g in framework.grades if g.floor > 0), default=Decimal(0))
        bands = [f"{grade.label}≥{_number(grade.floor)}分" if grade.floor > 0
                 else f"{grade.label}低于{_number(lowest)}分" for grade in framework.grades]
        readings: list[str] = []
        for grade in framework.grades:
            readings.extend(r for r in grade.reason.citations if r not in readings)
        title = framework.title or framework.name
        return f"考核等次（{title}）：{'；'.join(bands)}。[{', '.join(readings)}]"


def _band(band: ast.RankBand) -> str:
    """加1.0、0.9、…、0.1分: the values of a rank band, place by place."""
    values = [band.start + place * band.step for place in range(band.size)]
    shown = [_number(abs(v)) for v in values]
    if len(shown) > BAND_VALUES_SHOWN:
        shown = [*shown[:2], "…", shown[-1]]
    if all(v >= 0 for v in values):
        return f"加{'、'.join(shown)}分"
    if all(v <= 0 for v in values):
        return f"扣{'、'.join(shown)}分"
    signed = [f"{'+' if v > 0 else '−' if v < 0 else ''}{_number(abs(v))}" for v in values]
    if len(signed) > BAND_VALUES_SHOWN:
        signed = [*signed[:2], "…", signed[-1]]
    return f"{'、'.join(signed)}分"


def _expressions(item: ast.Item) -> Iterator[ast.Expr]:
    """Every expression of an item's rules and conditions, in file order."""
    if item.not_applicable is not None:
        yield item.not_applicable.condition
    for entry in item.body:
        if isinstance(entry, ast.Part):
            if entry.not_applicable is not None:
                yield entry.not_applicable.condition
            for rule in entry.rules:
                yield from _rule_expressions(rule)
        else:
            yield from _rule_expressions(entry)


def _rule_expressions(rule: ast.Rule) -> Iterable[ast.Expr]:
    match rule:
        case ast.AmountRule():
            return [e for e in (rule.amount, rule.per, rule.condition) if e is not None]
        case ast.StepRule():
            return [rule.value, rule.threshold, rule.step, rule.amount]
        case ast.EachRule():
            return [e for e in (rule.source, rule.amount, rule.condition) if e is not None]
        case ast.ZeroRule():
            return [rule.condition]
    return []


def _names(expr: ast.Expr) -> list[str]:
    return [node.name for node in walk(expr) if isinstance(node, ast.Name)]


def _names_of_derived(declared: ast.LetDecl | ast.CohortDecl) -> list[str]:
    match declared:
        case ast.LetDecl(expr=expr):
            return _names(expr)
        case ast.CohortMean():
            return _names(declared.value) + _names(declared.group)
        case ast.CohortRank():
            unranked = _names(declared.unranked) if declared.unranked is not None else []
            return _names(declared.value) + unranked
    return []
