"""What a framework does with a score: composite, grade, downgrades and veto, settlement.

The numbers and words (grade bands, refund formulas, weights, months) come from the
framework's rule file, compiled into each pack under it as a `FrameworkRules` value; this
module holds only the mechanisms (JL-8 … JL-17 in POLICY-NOTES).
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from .arithmetic import HUNDRED, ZERO, divide, round_money, round_points
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
    return tuple(dataclasses.replace(info, high=subordinate_score_limit(rules))
                 if info.name == "subordinate_scores" else info for info in FRAMEWORK_INPUTS)


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
        ratio = self.refund
        if self.step is not None and self.below is not None and score < self.below:
            ratio -= self.step * (self.below - score)
        return round_points(max(ZERO, min(HUNDRED, ratio)))


@dataclass(frozen=True, slots=True)
class FrameworkRules:
    name: str
    title: str
    grades: tuple[GradeRule, ...]  # highest first; the last one's floor is the bottom
    bonus_limit: Decimal | None
    deductions_total: Decimal  # JL-8: the deduction items' total (100)
    composite_own: Decimal  # percent
    composite_subordinates: Decimal
    composite_reason: Reason | None
    other_breach_renewal: str | None
    other_breach_reason: Reason | None
    downgrade_national: int
    downgrade_provincial: int
    downgrade_reason: Reason | None
    veto_grade: str | None
    veto_reason: Reason | None
    tenure_months: int | None
    tenure_reason: Reason | None
    terminated_refund: Decimal
    terminated_reason: Reason | None
    exit_grade: str | None
    exit_score: Decimal | None
    exit_violations_reason: Reason | None
    exit_clean_refund: Decimal
    exit_clean_reason: Reason | None
    referral_reason: Reason | None

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


def settle(rules: FrameworkRules, inputs: FrameworkInputs,
           own_exact: Decimal | None) -> Settlement:
    """The framework's result for one institution, from its exact own score."""
    referral = inputs.fraud_clues
    if inputs.status == "terminated":  # JL-14, settled before tenure (JL-N)
        ratio = round_points(rules.terminated_refund)
        return Settlement("terminated", None, None, None, None, (), ratio,
                          round_money(inputs.deposit * ratio / HUNDRED),
                          "none", False, referral)
    if inputs.status == "voluntary_exit":  # JL-15
        if inputs.violations_found and rules.exit_grade and rules.exit_score is not None:
            ratio = rules.grade(rules.exit_grade).refund_ratio(rules.exit_score)
        else:
            ratio = round_points(rules.exit_clean_refund)
        return Settlement("voluntary_exit", None, None, None, None, (), ratio,
                          round_money(inputs.deposit * ratio / HUNDRED), "none", False,
                          referral)
    if (rules.tenure_months is not None and inputs.agreement_start is not None
            and not served_long_enough(inputs.agreement_start, inputs.assessment_year,
                                       rules.tenure_months)):  # JL-13
        return Settlement("deferred", None, None, None, None, (), None, None, None, False,
                          referral)
    own = own_exact if own_exact is not None else ZERO
    final_exact = own
    if inputs.subordinate_scores:  # JL-11
        mean = divide(sum(inputs.subordinate_scores, ZERO), len(inputs.subordinate_scores),
                      "the number of subordinates")
        final_exact = (own * rules.composite_own + mean * rules.composite_subordinates) / HUNDRED
    final = round_points(final_exact)
    before = rules.grade_for(final)
    grade, adjustments = _adjust(rules, inputs, before)
    refund_score = final
    if grade is not before:  # JL-12: refund as the new grade, score capped at its band's top
        above = rules.grades[rules.grades.index(grade) - 1] if grade is not rules.grades[0] \
            else None
        if above is not None:
            refund_score = min(final, above.floor)
    ratio = grade.refund_ratio(refund_score)
    renewal = grade.renewal
    if grade.repeat_grade is not None and inputs.previous_grade == grade.repeat_grade:
        renewal = grade.repeat_renewal or renewal
    if renewal == "direct" and inputs.other_breach and rules.other_breach_renewal:
        renewal = rules.other_breach_renewal
    return Settlement("assessed", round_points(own), final, before.label, grade.label,
                      adjustments, ratio, round_money(inputs.deposit * ratio / HUNDRED),
                      renewal, grade.publicize, referral)


def _adjust(rules: FrameworkRules, inputs: FrameworkInputs,
            before: GradeRule) -> tuple[GradeRule, tuple[Adjustment, ...]]:
    if inputs.veto and rules.veto_grade is not None and rules.veto_reason is not None:
        veto = rules.grade(rules.veto_grade)
        steps = rules.grades.index(veto) - rules.grades.index(before)
        return veto, (Adjustment("veto", None, max(steps, 0), True, rules.veto_reason),)
    if not inputs.opinion_events or rules.downgrade_reason is None:
        return before, ()
    sizes = [rules.downgrade_national if e == "national" else rules.downgrade_provincial
             for e in inputs.opinion_events]
    largest = max(sizes)
    first_largest = sizes.index(largest)
    adjustments = tuple(Adjustment("downgrade", event, size, index == first_largest,
                                   rules.downgrade_reason)
                        for index, (event, size) in enumerate(zip(inputs.opinion_events, sizes,
                                                                  strict=True)))
    position = min(rules.grades.index(before) + largest, len(rules.grades) - 1)
    return rules.grades[position], adjustments


SETTLEMENT_FIELDS = ("status", "own_score", "final_score", "grade_before_adjustment", "grade",
                     "adjustments", "refund_ratio", "refund_amount", "renewal", "publicize",
                     "referral")


def settlement_json(settlement: Settlement) -> dict[str, object]:
    def number(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

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
        "renewal": settlement.renewal,
        "publicize": settlement.publicize,
        "referral": settlement.referral,
    }
