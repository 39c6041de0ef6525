"""The typed syntax tree of a rule file.

Every node is a frozen dataclass carrying the `Span` it came from, so that any later stage
(checker, plugins, code generator) can point a policy author at the exact place in the rule
file. Children are tuples, never lists: a tree, once parsed, does not change; a stage that
wants a different tree (a city plugin, say) builds a new one with `dataclasses.replace`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar, Literal


@dataclass(frozen=True, slots=True)
class Span:
    """Where a node stands in its rule file (lines and columns count from 1)."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Constant:
    """A number, a percent or a comparison operator as the rule file writes it: its text, its
    exact span, and the grammar rules it stands in, innermost first (("number", "cap",
    "step_rule", ...)), so that a tool rewriting rule files (mutation) knows what it is
    without reading the text again. Many numbers reach the tree only as a node's Decimal
    field (an item's points, a cap); `parser.constants` gives each of them its own span."""

    kind: Literal["number", "percent", "compare"]
    text: str
    within: tuple[str, ...]
    span: Span


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class Number:
    value: Decimal
    span: Span
    # The literal as the rule file writes it (`1.0`), for `policyc fmt`; "" when the compiler
    # made the number itself.
    text: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Percent:
    """A percentage literal such as `80%`; `value` is in percentage points (80)."""

    value: Decimal
    span: Span
    text: str = field(default="", compare=False)  # as written (`80.0%`), for `policyc fmt`


@dataclass(frozen=True, slots=True)
class Boolean:
    value: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Name:
    """A fact, derived value, cohort value or loop variable."""

    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class Field:
    """`record.field`, where `record` is a loop variable over a list of records."""

    record: str
    field: str
    span: Span


@dataclass(frozen=True, slots=True)
class Negate:
    operand: Expr
    span: Span


ArithmeticOp = Literal["+", "-", "*", "/"]


@dataclass(frozen=True, slots=True)
class Arithmetic:
    op: ArithmeticOp
    left: Expr
    right: Expr
    span: Span


CompareOp = Literal[">=", "<=", "==", "!=", ">", "<"]


@dataclass(frozen=True, slots=True)
class Compare:
    op: CompareOp
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Logical:
    op: Literal["and", "or"]
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class IsMember:
    """`level is tertiary` (or `is not`): an enum value compared with one of its members."""

    subject: Expr
    member: str
    negated: bool
    span: Span


@dataclass(frozen=True, slots=True)
class HasMember:
    """`v.kinds has judicial_referral`: membership in a set of enum members."""

    subject: Expr
    member: str
    span: Span


@dataclass(frozen=True, slots=True)
class Given:
    """`given loss_amount`: true when an optional fact was supplied."""

    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class Call:
    """A built-in function: growth, share, ratio, min, max, clamp, count."""

    function: str
    args: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Aggregate:
    """`max(k in v.kinds: expr)`: sum, max, min, count, any or all over a list or set."""

    function: str
    variable: str
    source: Expr
    body: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class IfThenElse:
    condition: Expr
    then: Expr
    otherwise: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Tier:
    op: CompareOp
    threshold: Expr
    result: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Tiers:
    """The first tier whose comparison holds gives the value; none holding gives `otherwise`."""

    subject: Expr
    tiers: tuple[Tier, ...]
    otherwise: Expr | None
    span: Span


@dataclass(frozen=True, slots=True)
class LookupCase:
    member: str
    result: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Lookup:
    """A value for each member of an enum: `lookup level { tertiary: 80%, ... }`."""

    subject: Expr
    cases: tuple[LookupCase, ...]
    span: Span


Expr = (
    Number
    | Percent
    | Boolean
    | Name
    | Field
    | Negate
    | Arithmetic
    | Compare
    | Logical
    | Not
    | IsMember
    | HasMember
    | Given
    | Call
    | Aggregate
    | IfThenElse
    | Tiers
    | Lookup
)


# ---------------------------------------------------------------- declarations


@dataclass(frozen=True, slots=True)
class TypeRef:
    """A fact's type: a base type name (`percent`, an enum's name, ...), maybe in a list or set."""

    name: str
    container: Literal["list", "set"] | None
    span: Span


@dataclass(frozen=True, slots=True)
class EnumMember:
    name: str
    label: str
    span: Span


@dataclass(frozen=True, slots=True)
class EnumDecl:
    name: str
    label: str
    members: tuple[EnumMember, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class FactDecl:
    """An input fact, or a field of a record type.

    `presence` is "required", "optional" or "conditional" (then `required_when` holds the
    condition); a fact with a `default` is optional and takes the default when absent.
    """

    name: str
    label: str
    type: TypeRef
    low: Decimal | None
    high: Decimal | None
    presence: Literal["required", "optional", "conditional"]
    required_when: Expr | None
    default: Expr | None
    span: Span


@dataclass(frozen=True, slots=True)
class RecordDecl:
    name: str
    label: str
    fields: tuple[FactDecl, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class LetDecl:
    """A value derived from one institution's facts."""

    name: str
    label: str
    expr: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class CohortMean:
    """The plain mean of `value` over the valid records sharing `group` in one batch."""

    name: str
    label: str
    value: Expr
    group: Expr
    min_size: int
    override: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class RankBand:
    size: int
    start: Decimal
    step: Decimal
    span: Span


@dataclass(frozen=True, slots=True)
class CohortRank:
    """An adjustment from a record's rank by `value` among the valid records of one batch."""

    name: str
    label: str
    value: Expr
    order: Literal["descending", "ascending"]
    ties: Literal["best", "worst"]
    top: RankBand
    bottom: RankBand
    unranked: Expr | None
    span: Span


CohortDecl = CohortMean | CohortRank


# ---------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class Reason:
    """The text shown for a rule in every explanation, and the reading ids it cites."""

    text: str
    citations: tuple[str, ...]
    span: Span


Sign = Literal["award", "deduct"]


@dataclass(frozen=True, slots=True)
class AmountRule:
    """`award 2 when x`, `deduct 1 per price_violations cap 3`."""

    sign: Sign
    amount: Expr
    per: Expr | None
    condition: Expr | None
    cap: Decimal | None
    reason: Reason
    span: Span


Rounding = Literal["floor", "ceil", "exact"]


@dataclass(frozen=True, slots=True)
class StepRule:
    """`deduct 0.1 per 1% of share below threshold steps floor cap 1` (POLICY-NOTES G4)."""

    sign: Sign
    amount: Expr
    step: Expr
    value: Expr
    direction: Literal["below", "above"]
    threshold: Expr
    rounding: Rounding
    cap: Decimal | None
    reason: Reason
    span: Span


@dataclass(frozen=True, slots=True)
class EachRule:
    """`deduct for each p in products: expr`: one amount per entry of a list."""

    sign: Sign
    variable: str
    source: Expr
    amount: Expr
    condition: Expr | None
    cap: Decimal | None
    reason: Reason
    span: Span


@dataclass(frozen=True, slots=True)
class ZeroRule:
    """`zero when refused_to_correct`: the item scores 0 whatever else it earned."""

    condition: Expr
    reason: Reason
    span: Span


@dataclass(frozen=True, slots=True)
class EntriesRule:
    """`deduct entries from deductions`: the assessment panel's entries for this item.

    Each entry names an item by its number, with points and evidence; the entries of a list
    are checked against the standard's items (its catalogue) when a record is read.
    """

    sign: Sign
    source: str
    cap: Decimal | None
    reason: Reason
    span: Span


Rule = AmountRule | StepRule | EachRule | ZeroRule | EntriesRule


@dataclass(frozen=True, slots=True)
class NotApplicable:
    """On an item: left out of earned and maximum. On a part: awarded in full (G5)."""

    condition: Expr
    reason: Reason
    span: Span


@dataclass(frozen=True, slots=True)
class Part:
    """A sub-item with its own points, floored at 0 and capped at its points."""

    label: str
    points: Decimal
    not_applicable: NotApplicable | None
    rules: tuple[Rule, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class DeductionCap:
    """`cap deductions at 3`: the item's deductions together take at most this many points."""

    points: Decimal
    reason: Reason
    span: Span


@dataclass(frozen=True, slots=True)
class ItemTexts:
    """The source table's own words, kept for explanations and publication."""

    content: str | None = None  # 评价内容
    method: str | None = None  # 评分办法
    procedure: str | None = None  # 操作方法
    basis: str | None = None  # 指标依据


@dataclass(frozen=True, slots=True)
class Item:
    number: int
    label: str
    points: Decimal
    bonus: bool
    texts: ItemTexts
    not_applicable: NotApplicable | None
    deduction_cap: DeductionCap | None
    body: tuple[Part | Rule, ...]
    span: Span
    # where a derived standard changed this base item: ("points" or a text's kind, the line)
    changed_at: tuple[tuple[str, Span], ...] = ()

    def where(self, what: str) -> Span:
        """Where the item's `what` (points, method, ...) was last written."""
        return next((span for name, span in reversed(self.changed_at) if name == what),
                    self.span)


@dataclass(frozen=True, slots=True)
class Category:
    label: str
    points: Decimal
    items: tuple[Item, ...]
    span: Span
    # `item 5 from inpatient item 6`: items taken from another standard, each with its place
    # among `items`. The inherit stage (inherit.py) puts them there; a resolved standard's
    # categories take nothing.
    takes: tuple[TakeItem, ...] = ()


# ---------------------------------------------------------------- the standard


@dataclass(frozen=True, slots=True)
class Header:
    name: str
    region: str | None
    region_label: str | None
    title: str | None
    version: int | None
    effective_from: dt.date | None
    effective_to: dt.date | None
    applies_to: str | None
    framework: str | None
    total: Decimal | None
    bonus_included: bool
    bonus_limit: Decimal | None
    rescale: Decimal | None
    source: str | None
    span: Span
    # `bonus limit 10 "reason" [JL-8]`: the bonus items together earn at most the limit
    bonus_limit_reason: Reason | None = None


@dataclass(frozen=True, slots=True)
class Standard:
    """One rule file: a standard's header and everything it declares, in file order."""

    header: Header
    enums: tuple[EnumDecl, ...]
    records: tuple[RecordDecl, ...]
    facts: tuple[FactDecl, ...]
    lets: tuple[LetDecl, ...]
    cohorts: tuple[CohortDecl, ...]
    categories: tuple[Category, ...]
    path: str
    source_sha256: str
    # `standard X based on Y`: Y as written, and X's changes to it. The inherit stage
    # (inherit.py) resolves them: its result has no overrides and names, in `bases`, every
    # rule file it was made from, nearest first.
    based_on: BaseRef | None = None
    overrides: tuple[Override, ...] = ()
    bases: tuple[BaseSource, ...] = ()

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for category in self.categories for item in category.items)

    @property
    def takes(self) -> tuple[TakeItem, ...]:
        """The items it takes from other standards (none once the inherit stage ran)."""
        return tuple(take for category in self.categories for take in category.takes)


# ---------------------------------------------------------------- a derived standard


@dataclass(frozen=True, slots=True)
class BaseRef:
    """`based on medical_inpatient` (a standard of the same region) or `based on
    suzhou/inpatient-2023` (a pack, of any region)."""

    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class BaseSource:
    """A rule file a derived standard was made from: its path, hash and text (for the lines
    under messages and the pack's provenance)."""

    path: str
    sha256: str
    text: str


@dataclass(frozen=True, slots=True)
class ReplaceItem:
    item: Item
    span: Span


@dataclass(frozen=True, slots=True)
class RemoveItem:
    number: int
    span: Span


@dataclass(frozen=True, slots=True)
class ItemPoints:
    number: int
    points: Decimal
    span: Span


@dataclass(frozen=True, slots=True)
class ItemCap:
    number: int
    cap: DeductionCap
    span: Span


@dataclass(frozen=True, slots=True)
class ItemText:
    number: int
    kind: Literal["content", "method", "procedure", "basis"]
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class AddItems:
    """`add to category "label" { item ... }`: new items in one of the base's categories."""

    category: str
    items: tuple[Item, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class CiteFor:
    """`cite SZ2-5 for SZ-6`: a taken item's rules cite `new` where they cited `old`."""

    new: str
    old: str
    span: Span


@dataclass(frozen=True, slots=True)
class TakeItem:
    """`item 5 from inpatient item 6 cite SZ2-5 for SZ-6 { content "..." }`, in a category:
    item 6 of standard `inpatient` (a name or pack name, as in `based on`), numbered 5 here,
    its rules citing SZ2-5 where they cited SZ-6, and the texts written in the block instead
    of its own. `position`: its place among the category's items (0: first)."""

    number: int
    source: BaseRef
    source_number: int
    cites: tuple[CiteFor, ...]
    texts: tuple[tuple[Literal["content", "method", "procedure", "basis"], str, Span], ...]
    position: int
    span: Span


@dataclass(frozen=True, slots=True)
class ReplaceFact:
    fact: FactDecl
    span: Span


@dataclass(frozen=True, slots=True)
class RemoveFact:
    name: str
    span: Span


Override = (ReplaceItem | RemoveItem | ItemPoints | ItemCap | ItemText | AddItems
            | ReplaceFact | RemoveFact)


# ---------------------------------------------------------------- a framework


Renewal = Literal["direct", "review", "with_suspension", "none"]


@dataclass(frozen=True, slots=True)
class GradeRule:
    """A grade from its lowest score up, with what it does to the deposit and the agreement.

    Refund ratio = `refund` − `step` × (`below` − score) where a step is given, else `refund`.
    """

    keyword: ClassVar[str] = "grade"
    label: str
    floor: Decimal
    refund: Decimal  # percentage points
    step: Decimal | None
    below: Decimal | None
    renewal: Renewal
    repeat_grade: str | None  # the same grade the year before ...
    repeat_renewal: Renewal | None  # ... changes the renewal to this
    publicize: bool
    reason: Reason
    span: Span


# One node per framework clause; `keyword` is how the clause starts in a rule file.
# Percents are in percentage points (70 for `70%`).


@dataclass(frozen=True, slots=True)
class DeductionsTotal:
    """`deductions total 100`: a standard's deduction items add up to exactly this (JL-8)."""

    keyword: ClassVar[str] = "deductions total"
    points: Decimal
    reason: Reason
    span: Span


@dataclass(frozen=True, slots=True)
class BonusLimit:
    """`bonus limit 10 advisory`: the bonus items' limit; `advisory`: above it is a warning."""

    keyword: ClassVar[str] = "bonus limit"
    points: Decimal
    advisory: bool
    reason: Reason
    span: Span


@dataclass(frozen=True, slots=True)
class Composite:
    """`composite own 70% subordinates 30%`: the final score's weights (JL-11)."""

    keyword: ClassVar[str] = "composite"
    own: Decimal
    subordinates: Decimal
    reason: Reason
    span: Span


@dataclass(frozen=True, slots=True)
class OtherBreach:
    """`other breach renewal review`: a direct renewal becomes this on another breach."""

    keyword: ClassVar[str] = "other breach"
    renewal: Renewal
    reason: Reason
    span: Span


@dataclass(frozen=True, slots=True)
class Downgrade:
    """`downgrade national 2 provincial 1`: grades down per criticised event (JL-12)."""

    keyword: ClassVar[str] = "downgrade"
    national: int
    provincial: int
    reason: Reason
    span: Span


@dataclass(frozen=True, slots=True)
class Veto:
    """`veto grade "不合格"`: the grade a veto finding gives, whatever the score."""

    keyword: ClassVar[str] = "veto"
    grade: str
    reason: Reason
    span: Span


@dataclass(frozen=True, slots=True)
class Tenure:
    """`tenure 6 months`: a shorter agreement in the year defers the assessment (JL-13)."""

    keyword: ClassVar[str] = "tenure"
    months: int
    reason: Reason
    span: Span


@dataclass(frozen=True, slots=True)
class Terminated:
    """`terminated refund 0%`: the refund when the agreement was ended for violations."""

    keyword: ClassVar[str] = "terminated"
    refund: Decimal
    reason: Reason
    span: Span


@dataclass(frozen=True, slots=True)
class ExitWithViolations:
    """`exit with violations refund as "合格" at 70`: refund as that grade at that score."""

    keyword: ClassVar[str] = "exit with violations"
    grade: str
    score: Decimal
    reason: Reason
    span: Span


@dataclass(frozen=True, slots=True)
class ExitWithoutViolations:
    """`exit without violations refund 100%`."""

    keyword: ClassVar[str] = "exit without violations"
    refund: Decimal
    reason: Reason
    span: Span


@dataclass(frozen=True, slots=True)
class Referral:
    """`referral when fraud clues`: suspected fraud is flagged for referral (JL-17)."""

    keyword: ClassVar[str] = "referral"
    reason: Reason
    span: Span


@dataclass(frozen=True, slots=True)
class Evidence:
    """`evidence required`: every deduction and bonus rests on viewable evidence (JL-6)."""

    keyword: ClassVar[str] = "evidence"
    reason: Reason
    span: Span


FrameworkClause = (
    GradeRule
    | DeductionsTotal
    | BonusLimit
    | Composite
    | OtherBreach
    | Downgrade
    | Veto
    | Tenure
    | Terminated
    | ExitWithViolations
    | ExitWithoutViolations
    | Referral
    | Evidence
)


@dataclass(frozen=True, slots=True)
class Framework:
    """A framework file: what every standard under it inherits (JL-*).

    Each clause but `grade` is given at most once; a clause not given is None.
    """

    name: str
    region: str | None
    region_label: str | None
    title: str | None
    version: int | None
    effective_from: dt.date | None
    effective_to: dt.date | None
    source: str | None
    grades: tuple[GradeRule, ...]  # highest first
    deductions_total: DeductionsTotal | None
    bonus_limit: BonusLimit | None
    composite: Composite | None
    other_breach: OtherBreach | None
    downgrade: Downgrade | None
    veto: Veto | None
    tenure: Tenure | None
    terminated: Terminated | None
    exit_with_violations: ExitWithViolations | None
    exit_without_violations: ExitWithoutViolations | None
    referral: Referral | None
    evidence: Evidence | None
    path: str
    source_sha256: str
    span: Span
