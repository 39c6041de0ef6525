"""What a framework does with a score: composite, grade, downgrades and veto, settlement.

The numbers and words (grade bands, refund formulas, weights, months) come from the
framework's rule file, compiled into each pack under it as a `FrameworkRules` value; this
module holds only the mechanisms (JL-8 … JL-17 in POLICY-NOTES).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

from .arithmetic import DIVISION, HUNDRED, ZERO, divide, plain, round_money, round_points
from .packs import FactInfo
from .results import Reason
from .values import (
    FIRST_YEAR,
    LAST_YEAR,
    FieldError,
    Raw,
    read_count,
    read_date,
    read_json_list,
    read_number,
    read_optional_bool,
    read_optional_date,
    read_optional_text,
    shown,
)

Lang = Literal["zh", "en"]  # the language of the settlement's lines (Chinese by default)

STATUSES = ("assessed", "terminated", "voluntary_exit")
EVENT_LEVELS = {"national": "national", "国家": "national", "国家医保局": "national",
                "provincial": "provincial", "省": "provincial", "省医保部门": "provincial"}
# The input fields every pack under a framework reads besides its own facts.
FRAMEWORK_INPUTS = (
    FactInfo("status", "考核状态", "assessed | terminated | voluntary_exit", None, None,
             "optional", "assessed"),
    FactInfo("assessment_year", "考核年度", "year", None, None, "required", None),
    FactInfo("agreement_start", "协议起始日期", "date", None, None,
             "required when status is assessed", None),
    FactInfo("deposit", "质量保证金（元）", "money", ZERO, None, "required", None),
    FactInfo("subordinate_scores", "下属机构（人员）考核得分", "list of score", ZERO,
             None, "optional", "[]"),  # the upper bound is the framework's: framework_inputs()
    FactInfo("opinion_events", "被通报批评的重大负面舆情", "list of national | provincial",
             None, None, "optional", "[]"),
    FactInfo("veto", "检查中发现需解除服务协议情形（一票否决）", "bool", None, None, "optional",
             "false"),
    FactInfo("previous_grade", "上一年度考核等次", "grade", None, None, "optional", None),
    FactInfo("other_breach", "存在其他违约情形", "bool", None, None, "optional", "false"),
    FactInfo("violations_found", "主动退出时核查发现违规违约问题", "bool", None, None,
             "required when status is voluntary_exit", None),
    FactInfo("fraud_clues", "发现涉嫌骗取医保基金的线索", "bool", None, None, "optional",
             "false"),
)
FRAMEWORK_FIELDS = frozenset(info.name for info in FRAMEWORK_INPUTS)


def framework_inputs(rules: FrameworkRules) -> tuple[FactInfo, ...]:
    """FRAMEWORK_INPUTS with the bounds a framework's rules set (as `describe` shows them)."""
    return tuple(replace(info, high=subordinate_score_limit(rules))
                 if info.name == "subordinate_scores" else info for info in FRAMEWORK_INPUTS)


# The framework's clauses, one value each, as its rule file gives them (percents in
# percentage points); each keeps its reason: the clause's text, readings and line.


@dataclass(frozen=True, slots=True)
class GradeRule:
    label: str
    floor: Decimal
    refund: Decimal  # percent
    step: Decimal | None  # percent per point below `below`
    below: Decimal | None
    renewal: str
    repeat_grade: str | None
    repeat_renewal: str | None
    publicize: bool
    reason: Reason

    def refund_ratio(self, score: Decimal) -> Decimal:
        """The refund ratio at `score`, in percent, rounded to 2 decimals half-up (JL-12)."""
        return round_points(max(ZERO, min(HUNDRED, self._unrounded_ratio(score))))

    def _unrounded_ratio(self, score: Decimal) -> Decimal:
        if self.step is not None and self.below is not None and score < self.below:
            return self.refund - self.step * (self.below - score)
        return self.refund

    def refund_working(self, score: Decimal, lang: Lang = "zh") -> str:
        """How `refund_ratio(score)` is reached, with its numbers, for a person to check."""
        ratio = self.refund_ratio(score)
        if self.step is None or self.below is None:
            return f"{ratio}%"
        if score >= self.below:
            return (f"{ratio}%（{plain(score)}分不低于{plain(self.below)}分）" if lang == "zh"
                    else f"{ratio}% (at or above {plain(self.below)})")
        exact = self._unrounded_ratio(score)
        text = (f"{plain(self.refund)}% − {plain(self.step)}% × ({plain(self.below)} − "
                f"{plain(score)}) = ")
        if exact == ratio:
            return f"{text}{ratio}%"
        kept = ""
        if not ZERO <= exact <= HUNDRED:
            kept = "，限定在 0%～100% 之间" if lang == "zh" else ", kept within 0%..100%"
        return f"{text}{plain(exact)}%{kept} → {ratio}%"


@dataclass(frozen=True, slots=True)
class Composite:
    """JL-11: final = own × `own`% + the subordinates' mean × `subordinates`%."""

    own: Decimal
    subordinates: Decimal
    reason: Reason


@dataclass(frozen=True, slots=True)
class OtherBreach:
    """JL-12: a direct renewal becomes `renewal` when another breach exists."""

    renewal: str
    reason: Reason


@dataclass(frozen=True, slots=True)
class Downgrade:
    """JL-12: grades down for a national or a provincial criticism."""

    national: int
    provincial: int
    reason: Reason


@dataclass(frozen=True, slots=True)
class Veto:
    """JL-12: a veto finding gives this grade."""

    grade: str
    reason: Reason


@dataclass(frozen=True, slots=True)
class Tenure:
    """JL-13: an agreement shorter than `months` in the year defers the assessment."""

    months: int
    reason: Reason


@dataclass(frozen=True, slots=True)
class Terminated:
    """JL-14: the refund when the agreement was ended for violations."""

    refund: Decimal
    reason: Reason


@dataclass(frozen=True, slots=True)
class ExitWithViolations:
    """JL-15: a voluntary exit with violations refunds as `grade` at `score`."""

    grade: str
    score: Decimal
    reason: Reason


@dataclass(frozen=True, slots=True)
class ExitWithoutViolations:
    """JL-15: a voluntary exit without violations refunds `refund`."""

    refund: Decimal
    reason: Reason


@dataclass(frozen=True, slots=True)
class Referral:
    """JL-17: fraud clues are flagged for referral."""

    reason: Reason


@dataclass(frozen=True, slots=True)
class FrameworkRules:
    """Everything a pack under a framework settles with; a clause the framework does not
    give is None (the rule file's checker requires grades, terminated, exit without
    violations)."""

    name: str
    title: str
    grades: tuple[GradeRule, ...]  # highest first; the last one's floor is the bottom
    bonus_limit: Decimal | None
    deductions_total: Decimal  # JL-8: the deduction items' total (100)
    composite: Composite | None
    other_breach: OtherBreach | None
    downgrade: Downgrade | None
    veto: Veto | None
    tenure: Tenure | None
    terminated: Terminated
    exit_with_violations: ExitWithViolations | None
    exit_without_violations: ExitWithoutViolations
    referral: Referral | None

    def grade(self, label: str) -> GradeRule:
        return next(g for g in self.grades if g.label == label)

    def grade_for(self, score: Decimal) -> GradeRule:
        for grade in self.grades:
            if score >= grade.floor:
                return grade
        return self.grades[-1]


@dataclass(frozen=True, slots=True)
class FrameworkInputs:
    """The framework's own inputs for one institution (beside the standard's facts)."""

    status: str
    assessment_year: int
    agreement_start: dt.date | None
    deposit: Decimal
    subordinate_scores: tuple[Decimal, ...]
    opinion_events: tuple[str, ...]
    veto: bool
    previous_grade: str | None
    other_breach: bool
    violations_found: bool
    fraud_clues: bool


def read_framework_inputs(raw: Raw, rules: FrameworkRules,
                          errors: list[FieldError]) -> FrameworkInputs:
    status = read_optional_text(raw, "status", errors) or "assessed"
    if status not in STATUSES:
        errors.append(FieldError("status", f"{shown(status)} is not one of "
                                 f"{', '.join(STATUSES)}"))
    year = read_count(raw, "assessment_year", errors, low=Decimal(FIRST_YEAR),
                      high=Decimal(LAST_YEAR))
    start = (read_date(raw, "agreement_start", errors) if status == "assessed"
             else read_optional_date(raw, "agreement_start", errors))
    deposit = read_number(raw, "deposit", errors, low=ZERO)
    scores = _subordinate_scores(raw, rules, errors)
    events: list[str] = []
    for index, value in enumerate(read_json_list(raw, "opinion_events", "opinion_events",
                                                 errors, False)):
        level = EVENT_LEVELS.get(value.strip()) if isinstance(value, str) else None
        if level is None:
            errors.append(FieldError(f"opinion_events[{index}]",
                                     f"{shown(value)} is not national or provincial"))
        else:
            events.append(level)
    previous = read_optional_text(raw, "previous_grade", errors)
    labels = [g.label for g in rules.grades]
    if previous is not None and previous not in labels:
        errors.append(FieldError("previous_grade", f"{shown(previous)} is not one of "
                                 f"{', '.join(labels)}"))
    # JL-15: whether violations were found decides between 50% and 100% of the deposit, so
    # a voluntary exit must say it; for the other statuses it plays no part.
    violations = read_optional_bool(raw, "violations_found", errors,
                                    required=status == "voluntary_exit")
    if violations is None and status == "voluntary_exit":
        errors[-1] = FieldError("violations_found", "is missing; it is required for a "
                                "voluntary exit (JL-15: refund 50% with violations, 100% "
                                "without)")
    return FrameworkInputs(
        status=status, assessment_year=year, agreement_start=start, deposit=deposit,
        subordinate_scores=scores, opinion_events=tuple(events),
        veto=_flag(raw, "veto", errors), previous_grade=previous,
        other_breach=_flag(raw, "other_breach", errors),
        violations_found=bool(violations),
        fraud_clues=_flag(raw, "fraud_clues", errors))


def subordinate_score_limit(rules: FrameworkRules) -> Decimal:
    """JL-8, JL-11: a subordinate's score is on the framework's scale, deductions total plus
    the bonus limit (100 + 10)."""
    return rules.deductions_total + (rules.bonus_limit or ZERO)


def _subordinate_scores(raw: Raw, rules: FrameworkRules,
                        errors: list[FieldError]) -> tuple[Decimal, ...]:
    high = subordinate_score_limit(rules)
    scores: list[Decimal] = []
    subordinates = read_json_list(raw, "subordinate_scores", "subordinate_scores", errors, False)
    for index, value in enumerate(subordinates):
        number = read_number({"score": value}, "score", errors, low=ZERO, high=high,
                             path=f"subordinate_scores[{index}]")
        scores.append(number)
    return tuple(scores)


def _flag(raw: Raw, key: str, errors: list[FieldError]) -> bool:
    return bool(read_optional_bool(raw, key, errors))


# ---------------------------------------------------------------- settlement


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A downgrade for a public-opinion event, or the veto, with its reason."""

    kind: str  # downgrade | veto
    event: str | None  # national | provincial for a downgrade
    grades: int  # how many grades down (the veto: to its grade)
    applied: bool  # several events: only the largest downgrade applies
    reason: Reason


@dataclass(frozen=True, slots=True)
class SettlementLine:
    """One step the settlement took: the clause it applied (text, readings, line in the
    framework file) and, in `detail`, the numbers it used, in Chinese, in the framework's
    own words (`detail_en`: the same in English)."""

    step: str  # one of SETTLEMENT_STEPS
    reason: Reason
    detail: str
    detail_en: str

    def detail_in(self, lang: Lang) -> str:
        return self.detail if lang == "zh" else self.detail_en


# The words of the settlement's lines for the framework's codes (JL-12).
RENEWAL_WORDS = {"direct": "直接续签", "review": "按正常程序审核续签",
                 "with_suspension": "续签但暂停服务1个月整改", "none": "不予续签"}
EVENT_WORDS = {"national": "被国家医保局通报批评", "provincial": "被省医保部门通报批评"}


SETTLEMENT_STEPS = ("terminated", "exit", "deferred", "composite", "grade", "veto",
                    "downgrade", "refund", "renewal", "publicity", "referral")


@dataclass(frozen=True, slots=True)
class Settlement:
    status: str  # assessed | deferred | terminated | voluntary_exit
    own_score: Decimal | None
    final_score: Decimal | None
    grade_before_adjustment: str | None
    grade: str | None
    adjustments: tuple[Adjustment, ...]
    refund_ratio: Decimal | None
    refund_amount: Decimal | None
    renewal: str | None
    publicize: bool
    referral: bool
    deposit: Decimal | None = None  # the quality deposit (an input), yuan
    # The part of the deposit not refunded: deposit − refund_amount, exact (None where no
    # refund is decided yet: a deferred assessment).
    withheld: Decimal | None = None
    lines: tuple[SettlementLine, ...] = ()  # empty unless an explanation was asked for


def served_long_enough(start: dt.date, year: int, months: int) -> bool:
    """JL-13: start + `months` calendar months ≤ 1 January of the following year.

    A day the later month lacks is its last day (31 August + 6 months: the end of
    February). No loop: the day is computed, and a later date past the calendar's end is
    later than any 1 January there is.
    """
    month_index = start.month - 1 + months
    shifted_year, shifted_month = start.year + month_index // 12, month_index % 12 + 1
    if shifted_year > dt.MAXYEAR or year + 1 > dt.MAXYEAR:
        return shifted_year <= year
    day = min(start.day, calendar.monthrange(shifted_year, shifted_month)[1])
    return dt.date(shifted_year, shifted_month, day) <= dt.date(year + 1, 1, 1)


Steps = list[SettlementLine] | None  # None: the caller wants the results only


def settle(rules: FrameworkRules, inputs: FrameworkInputs, own_exact: Decimal | None,
           explain: bool = True) -> Settlement:
    """The framework's result for one institution, from its exact own score; with
    `explain`, one line for each step taken, citing its clause."""
    steps: Steps = [] if explain else None
    referral = rules.referral if inputs.fraud_clues else None  # JL-17, whatever the status
    settled = _settle(rules, inputs, own_exact, referral is not None, steps)
    withheld = None if settled.refund_amount is None else \
        DIVISION.subtract(inputs.deposit, settled.refund_amount)  # exact: < 10^15, cents
    settlement = replace(settled, deposit=inputs.deposit, withheld=withheld)
    if steps is None:
        return settlement
    if referral is not None:
        steps.append(SettlementLine(
            "referral", referral.reason,
            "发现涉嫌骗取医疗保障基金支出的线索：移送医疗保障行政部门",
            "fraud clues found: flagged for referral to the administrative department"))
    return replace(settlement, lines=tuple(steps))


def _settle(rules: FrameworkRules, inputs: FrameworkInputs, own_exact: Decimal | None,
            referral: bool, steps: Steps) -> Settlement:
    deposit = inputs.deposit
    if inputs.status == "terminated":  # JL-14, settled before tenure (JL-N)
        ratio = round_points(rules.terminated.refund)
        amount = _refund(deposit, ratio)
        if steps is not None:
            steps.append(SettlementLine(
                "terminated", rules.terminated.reason,
                f"因违法违规被解除服务协议：不纳入当年度考核，不再续签；返还比例 {ratio}%："
                f"{_money(deposit, ratio, amount, 'zh')}",
                f"agreement ended for violations: not assessed, no renewal; refund {ratio}%: "
                f"{_money(deposit, ratio, amount, 'en')}"))
        return _not_assessed("terminated", ratio, amount, "none", referral)
    if inputs.status == "voluntary_exit":  # JL-15
        leaving = rules.exit_with_violations
        if inputs.violations_found and leaving is not None:
            grade = rules.grade(leaving.grade)
            ratio = grade.refund_ratio(leaving.score)
            amount = _refund(deposit, ratio)
            if steps is not None:
                steps.append(SettlementLine(
                    "exit", leaving.reason,
                    f"主动退出，核查发现违规违约问题：按“{grade.label}”最低比例（"
                    f"{plain(leaving.score)}分）返还：{grade.refund_working(leaving.score)}；"
                    f"{_money(deposit, ratio, amount, 'zh')}；不再续签",
                    f"voluntary exit with violations found: refund as {grade.label} at "
                    f"{plain(leaving.score)}: {grade.refund_working(leaving.score, 'en')}; "
                    f"{_money(deposit, ratio, amount, 'en')}; no renewal"))
        else:
            clean = rules.exit_without_violations
            ratio = round_points(clean.refund)
            amount = _refund(deposit, ratio)
            if steps is not None:
                steps.append(SettlementLine(
                    "exit", clean.reason,
                    f"主动退出，未发现违规违约问题：返还比例 {ratio}%："
                    f"{_money(deposit, ratio, amount, 'zh')}；不再续签",
                    f"voluntary exit, no violations found: refund {ratio}%: "
                    f"{_money(deposit, ratio, amount, 'en')}; no renewal"))
        return _not_assessed("voluntary_exit", ratio, amount, "none", referral)
    tenure = rules.tenure
    start = inputs.agreement_start
    if (tenure is not None and start is not None and not served_long_enough(
            start, inputs.assessment_year, tenure.months)):  # JL-13
        if steps is not None:
            year = inputs.assessment_year
            steps.append(SettlementLine(
                "deferred", tenure.reason,
                f"{start.isoformat()} 起履行服务协议，至 {year + 1}-01-01 不满 {tenure.months} "
                f"个月：不纳入 {year} 年度考核，纳入 {year + 1} 年度考核，当年度质量保证金届时"
                f"一并返还",
                f"agreement since {start.isoformat()}: less than {tenure.months} months "
                f"before {inputs.assessment_year + 1}-01-01, so not assessed for "
                f"{inputs.assessment_year}; assessed with {inputs.assessment_year + 1}, when "
                f"this year's deposit is settled too"))
        return _not_assessed("deferred", None, None, None, referral)
    own = own_exact if own_exact is not None else ZERO
    final = round_points(_composite(rules.composite, own, inputs.subordinate_scores, steps))
    before = rules.grade_for(final)
    if steps is not None:
        steps.append(SettlementLine(
            "grade", before.reason,
            f"最终考核得分 {final}：“{before.label}”等次（{_band(rules, before, 'zh')}）",
            f"final score {final}: {before.label} ({_band(rules, before, 'en')})"))
    grade, adjustments = _adjust(rules, inputs, before, steps)
    ratio, amount = _refund_as(rules, grade, before, final, deposit, steps)
    renewal = _renewal(rules, inputs, grade, steps)
    if steps is not None:
        steps.append(SettlementLine(
            "publicity", grade.reason,
            f"“{grade.label}”等次：{'向社会宣传' if grade.publicize else '不予宣传'}",
            f"{grade.label}: {'publicized' if grade.publicize else 'not publicized'}"))
    return Settlement(status="assessed", own_score=round_points(own), final_score=final,
                      grade_before_adjustment=before.label, grade=grade.label,
                      adjustments=adjustments, refund_ratio=ratio, refund_amount=amount,
                      renewal=renewal, publicize=grade.publicize, referral=referral)


def _not_assessed(status: str, ratio: Decimal | None, amount: Decimal | None,
                  renewal: str | None, referral: bool) -> Settlement:
    """JL-N: no score, no grade; never publicized."""
    return Settlement(status=status, own_score=None, final_score=None,
                      grade_before_adjustment=None, grade=None, adjustments=(),
                      refund_ratio=ratio, refund_amount=amount, renewal=renewal,
                      publicize=False, referral=referral)


def _composite(composite: Composite | None, own: Decimal, subordinates: tuple[Decimal, ...],
               steps: Steps) -> Decimal:
    """JL-11: the exact final score (own, or weighted with the subordinates' mean)."""
    if composite is None:
        return own
    if not subordinates:
        if steps is not None:
            steps.append(SettlementLine(
                "composite", composite.reason,
                f"无下属机构（人员）考核得分：最终考核得分 = 自身考核得分 {_number(own)}",
                f"no subordinate scores: final score = own score {_number(own)}"))
        return own
    count = len(subordinates)
    added = sum(subordinates, ZERO)
    mean = divide(added, count, "the number of subordinates")
    final = (own * composite.own + mean * composite.subordinates) / HUNDRED
    if steps is not None:
        steps.append(SettlementLine(
            "composite", composite.reason,
            f"自身考核得分 {_number(own)} × {plain(composite.own)}% + {count} 个下属机构（人员）"
            f"考核得分的平均数（{plain(added)} ÷ {count} = {_number(mean)}）× "
            f"{plain(composite.subordinates)}% = {_number(final)} → {round_points(final)}",
            f"own score {_number(own)} × {plain(composite.own)}% + the mean of {count} "
            f"subordinate score{'s' if count > 1 else ''} ({plain(added)} / {count} = "
            f"{_number(mean)}) × {plain(composite.subordinates)}% = {_number(final)} "
            f"→ {round_points(final)}"))
    return final


def _band(rules: FrameworkRules, grade: GradeRule, lang: Lang) -> str:
    index = rules.grades.index(grade)
    top = rules.grades[index - 1].floor if index > 0 else None
    if lang == "zh":
        below = f"、{plain(top)}分以下" if top is not None else ""
        return f"{plain(grade.floor)}分（含）以上{below}"
    return f"from {plain(grade.floor)}" + (f" below {plain(top)}" if top is not None else "")


def _adjust(rules: FrameworkRules, inputs: FrameworkInputs, before: GradeRule,
            steps: Steps) -> tuple[GradeRule, tuple[Adjustment, ...]]:
    """JL-12: the veto, else the largest downgrade of the criticisms (not their sum)."""
    position = rules.grades.index(before)
    if inputs.veto and rules.veto is not None:
        veto = rules.grade(rules.veto.grade)
        if steps is not None:
            steps.append(SettlementLine(
                "veto", rules.veto.reason,
                f"检查中发现需解除服务协议情形，一票否决：“{before.label}” → “{veto.label}”",
                f"veto finding: {before.label} → {veto.label}"))
            if rules.downgrade is not None:
                steps += [SettlementLine("downgrade", rules.downgrade.reason,
                                         f"{EVENT_WORDS[event]}：不再降档，一票否决已定为"
                                         f"“{veto.label}”",
                                         f"{event} criticism: not applied, the veto already "
                                         f"gives {veto.label}")
                          for event in inputs.opinion_events]
        moved = max(rules.grades.index(veto) - position, 0)
        return veto, (Adjustment("veto", None, moved, True, rules.veto.reason),)
    downgrade = rules.downgrade
    if not inputs.opinion_events or downgrade is None:
        return before, ()
    sizes = [downgrade.national if e == "national" else downgrade.provincial
             for e in inputs.opinion_events]
    largest = max(sizes)
    first_largest = sizes.index(largest)
    lowest = len(rules.grades) - 1
    after = rules.grades[min(position + largest, lowest)]
    adjustments = tuple(Adjustment("downgrade", event, size, index == first_largest,
                                   downgrade.reason)
                        for index, (event, size) in enumerate(zip(inputs.opinion_events, sizes,
                                                                  strict=True)))
    if steps is not None:
        stopped = position + largest > lowest
        stop = " (grades stop at the lowest)" if stopped else ""
        stop_zh = "（降至最低等次为止）" if stopped else ""
        for adjustment in adjustments:
            what = (f"{adjustment.event} criticism: down {adjustment.grades} "
                    f"grade{'s' if adjustment.grades != 1 else ''}")
            event = EVENT_WORDS.get(adjustment.event or "", "通报批评")
            what_zh = f"{event}，降{adjustment.grades}档"
            steps.append(SettlementLine(
                "downgrade", downgrade.reason,
                f"{what_zh}：“{before.label}” → “{after.label}”{stop_zh}" if adjustment.applied
                else f"{what_zh}：不适用，多起时只取降档最多的一起",
                f"{what}: {before.label} → {after.label}{stop}" if adjustment.applied
                else f"{what}: not applied, only the largest downgrade applies"))
    return after, adjustments


def _refund_as(rules: FrameworkRules, grade: GradeRule, before: GradeRule, final: Decimal,
               deposit: Decimal, steps: Steps) -> tuple[Decimal, Decimal]:
    """JL-12: the ratio and amount, by the grade's rule at the final score; after an
    adjustment, by the new grade's rule with the score capped at the top of its band."""
    index = rules.grades.index(grade)
    top = rules.grades[index - 1].floor if grade is not before and index > 0 else None
    score = final if top is None else min(final, top)
    ratio = grade.refund_ratio(score)
    amount = _refund(deposit, ratio)
    if steps is not None:
        capped = "" if top is None else (f", the score capped at the top of its band: "
                                         f"min({final}, {plain(top)}) = {plain(score)}")
        capped_zh = "" if top is None else (f"，得分以该等次上限计：min({final}, {plain(top)}) "
                                            f"= {plain(score)}")
        steps.append(SettlementLine(
            "refund", grade.reason,
            f"按“{grade.label}”等次返还质量保证金{capped_zh}：{grade.refund_working(score)}；"
            f"{_money(deposit, ratio, amount, 'zh')}",
            f"refund as {grade.label}{capped}: {grade.refund_working(score, 'en')}; "
            f"{_money(deposit, ratio, amount, 'en')}"))
    return ratio, amount


def _renewal(rules: FrameworkRules, inputs: FrameworkInputs, grade: GradeRule,
             steps: Steps) -> str:
    """JL-12: the grade's renewal; twice the same grade, or another breach, changes it."""
    renewal = grade.renewal
    if steps is not None:
        steps.append(SettlementLine(
            "renewal", grade.reason, f"“{grade.label}”等次：{_renewal_words(renewal)}",
            f"{grade.label}: renewal {renewal}"))
    if grade.repeat_grade is not None and inputs.previous_grade == grade.repeat_grade \
            and grade.repeat_renewal is not None:
        if steps is not None:
            steps.append(SettlementLine(
                "renewal", grade.reason,
                f"连续两年考核结果为“{grade.repeat_grade}”：{_renewal_words(renewal)} → "
                f"{_renewal_words(grade.repeat_renewal)}",
                f"the year before was {grade.repeat_grade} as well: renewal {renewal} → "
                f"{grade.repeat_renewal}"))
        renewal = grade.repeat_renewal
    breach = rules.other_breach
    if renewal == "direct" and inputs.other_breach and breach is not None:
        if steps is not None:
            steps.append(SettlementLine(
                "renewal", breach.reason,
                f"有其他违约情形：{_renewal_words(renewal)} → {_renewal_words(breach.renewal)}",
                f"another breach: renewal {renewal} → {breach.renewal}"))
        renewal = breach.renewal
    return renewal


def _renewal_words(renewal: str) -> str:
    return RENEWAL_WORDS.get(renewal, renewal)


def _refund(deposit: Decimal, ratio: Decimal) -> Decimal:
    return round_money(deposit * ratio / HUNDRED)


def _money(deposit: Decimal, ratio: Decimal, amount: Decimal, lang: Lang) -> str:
    """The refund's arithmetic: the deposit × the ratio, and in Chinese what is withheld."""
    if lang == "zh":
        return (f"质量保证金 {plain(deposit)} × {ratio}% = 返还 {amount} 元，扣除 "
                f"{yuan(DIVISION.subtract(deposit, amount))} 元")
    return f"{plain(deposit)} × {ratio}% = {amount} yuan"


def yuan(value: Decimal) -> str:
    """An exact amount of money with its cents (17800.00, 2E+5 as 200000.00); an amount with
    more decimals keeps them all (nothing is rounded, whatever the decimal context)."""
    whole, _, cents = plain(value).partition(".")
    return f"{whole}.{cents.ljust(2, '0')}"


def _number(value: Decimal) -> str:
    """A number as a person reads it: in full up to 4 decimals, else cut at 4 with '…'."""
    text = plain(value)
    whole, _, fraction = text.partition(".")
    return text if len(fraction) <= 4 else f"{whole}.{fraction[:4]}…"


SETTLEMENT_FIELDS = ("status", "own_score", "final_score", "grade_before_adjustment", "grade",
                     "adjustments", "refund_ratio", "refund_amount", "deposit", "withheld",
                     "renewal", "publicize", "referral")


def settlement_explanation(settlement: Settlement,
                           lang: Lang = "zh") -> list[dict[str, object]]:
    """The settlement's steps for `--explain`: each with its clause and its numbers (`detail`
    in `lang`; the other fields are codes, ids and numbers, the same in every language)."""
    return [{"step": line.step, "reason": line.reason.text,
             "cites": list(line.reason.citations), "line": line.reason.line,
             "detail": line.detail_in(lang)} for line in settlement.lines]


def settlement_json(settlement: Settlement) -> dict[str, object]:
    def number(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    def money(value: Decimal | None) -> str | None:
        return None if value is None else yuan(value)

    return {
        "status": settlement.status,
        "own_score": number(settlement.own_score),
        "final_score": number(settlement.final_score),
        "grade_before_adjustment": settlement.grade_before_adjustment,
        "grade": settlement.grade,
        "adjustments": [{"kind": a.kind, "event": a.event, "grades": a.grades,
                         "applied": a.applied, "reason": a.reason.text,
                         "cites": list(a.reason.citations)} for a in settlement.adjustments],
        "refund_ratio": number(settlement.refund_ratio),
        "refund_amount": number(settlement.refund_amount),
        "deposit": money(settlement.deposit),
        "withheld": money(settlement.withheld),
        "renewal": settlement.renewal,
        "publicize": settlement.publicize,
        "referral": settlement.referral,
    }
