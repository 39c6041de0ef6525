"""Why an institution got its points: a scored outcome as an explanation, and as text.

`explain_outcome` turns an outcome scored with explanations (`iter_outcomes(..., explain=True)`)
into an `Explanation`: the pack, the institution, the total and its rescaling, every item with
every rule's line and the values it used (`Operand`s recorded by the pack), and under a
framework the settlement's own steps (never recomputed here). `render_text` writes it as
Chinese sentences; `explanation_json` as JSON with exact decimals as strings. The words of the
operator parts (达到/低于, 扣/得/加, 个完整步长) live in `WORDS`, and only there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .arithmetic import ZERO, plain
from .batch import Outcome
from .framework import RENEWAL_WORDS, Lang, Settlement, SettlementLine, yuan
from .packs import Pack
from .results import Operand, Reason, Value

# Every word an explanation adds around the rule file's own texts.
WORDS = {
    "award": "得", "bonus": "加", "deduct": "扣",
    "no_award": "不得分", "no_bonus": "不加分", "no_deduct": "不扣分",
    "below": "低", "above": "高", "not_below": "不低于标准", "not_above": "不高于标准",
    ">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "=", "!=": "≠",
    "no_tier": "未达到任何一档",
    "floor": "个完整步长", "ceil": "个步长（不足一步按一步计）", "exact": "个步长",
    "percentage_points": " 个百分点",
    "yes": "是", "no": "否", "missing": "未填报",
    "condition_false": "条件不成立",
    "zero_holds": "本项按 0 计",
    "zero_not_holding": "不适用本条",
    "item_not_applicable": "本项不适用",
    "part_not_applicable": "本分项不涉及，按满分计",
    "standard": "标准",
    "cap": "超过上限 {cap}，按 {cap} 计",
    "deduction_cap": "扣分 {uncapped} 超过上限 {cap}，按 {cap} 计",
    "floor_zero": "{what}得分 {uncapped} 低于 0，按 0 计",
    "ceiling": "{what}得分 {uncapped} 超过{cap_label} {cap}，按 {cap} 计",
    "rank": "在 {ranked} 家中排第 {rank}",
    "unranked": "未参加排名",
    "group": "同组（{group}）{size} 家的平均",
    "given": "按给定值",
    "entries": "{label} {count} 条",
    "rank_phrase": "{subject}，{rank}，{label} {value}",
    "points_unit": " 分",
    "item": "第{number}项 {label}",
    "category": "（{category}）",
    "bonus_item": "（加分项）",
    "of": "{earned} / {points}",
    "not_applicable": "不适用（本项满分 {points} 不计入适用满分）",
    "line": "（规则文件第{line}行）",
    "total": "总分 {total}",
    "rescaled": "总分 {total}：得分 {earned} ÷ 适用满分 {applicable_max} × {rescale} = {total}"
                "（不适用的项目不计入，按{rescale}分制折算）[G5]",
    "unrescaled": "总分 {total}（得分 {earned}，适用满分 {applicable_max}）",
    "institution": "机构：{id}{name}",
    "settlement": "考核结算（{framework}）：",
    "result": "结果：{fields}",
}

STATUS = {"assessed": "已考核", "deferred": "顺延至下一年度考核", "terminated": "因违规解除协议",
          "voluntary_exit": "主动退出"}
RENEWAL = RENEWAL_WORDS
STEP = {"terminated": "解除协议", "exit": "主动退出", "deferred": "顺延考核",
        "composite": "综合得分", "grade": "等次", "veto": "一票否决", "downgrade": "降档",
        "refund": "质量保证金返还", "renewal": "续签", "publicity": "公示",
        "referral": "移交线索"}

VALUE_ROLES = {"fact", "derived", "cohort"}
_RUNTIME_LINE = 0  # the runtime's own floors and caps have no rule-file line


@dataclass(frozen=True, slots=True)
class RuleStep:
    """One line of an item: the rule's reason, its signed points and the values it used."""

    reason: Reason
    points: Decimal
    uses: tuple[Operand, ...]
    sentence: str  # the values and the arithmetic in words (`render_step`), may be empty


@dataclass(frozen=True, slots=True)
class ItemExplanation:
    number: int
    label: str
    category: str
    bonus: bool
    points: Decimal  # the item's maximum
    earned: Decimal | None  # None: not applicable to this institution (G5)
    steps: tuple[RuleStep, ...]


@dataclass(frozen=True, slots=True)
class Explanation:
    pack: str
    title: str
    id: object
    name: str | None
    total: Decimal | None  # None: not assessed this year (framework status)
    earned: Decimal | None
    applicable_max: Decimal | None
    rescale: Decimal | None  # the scale the total is rescaled to (None: not rescaled)
    items: tuple[ItemExplanation, ...]
    framework: str | None
    settlement: Settlement | None


class NotExplained(Exception):
    """The record cannot be explained: it has an input error (the message names the fields)."""


def explain_outcome(pack: Pack, outcome: Outcome) -> Explanation:
    """The explanation of an outcome scored with `explain=True`."""
    info = pack.INFO
    record = outcome.record
    name = record.raw.get("name") if record.raw is not None else None
    if outcome.error is not None or outcome.score is None:
        raise NotExplained(outcome.error or f"{record.where}: no score")
    score = outcome.score
    item_infos = {item.number: item for item in info.items}
    items = []
    for item in score.items:
        about = item_infos[item.number]
        bonus = about.bonus
        steps = tuple(RuleStep(line.reason, line.delta, line.uses,
                               render_step(line.uses, line.delta, bonus))
                      for line in item.lines)
        items.append(ItemExplanation(item.number, about.label, about.category, bonus,
                                     item.points, item.earned, steps))
    settlement = outcome.settlement
    assessed = settlement is None or settlement.status == "assessed"
    rules = pack.FRAMEWORK
    return Explanation(
        pack=info.name, title=info.title, id=record.id,
        name=name if isinstance(name, str) else None,
        total=score.total if assessed else None,
        earned=score.earned if assessed else None,
        applicable_max=score.applicable_max if assessed else None,
        rescale=info.rescale, items=tuple(items),
        framework=rules.title if rules is not None else None, settlement=settlement)


# ------------------------------------------------------------------ one rule's sentence
def number(value: Value, unit: str) -> str:
    """A value as an explanation shows it: 77.5%, 0.2, 是, 三级, 未填报."""
    if value is None:
        return WORDS["missing"]
    if isinstance(value, bool):
        return WORDS["yes"] if value else WORDS["no"]
    if isinstance(value, Decimal | int):
        return _decimal(value) + ("%" if unit == "percent" else "")
    return value


def _decimal(value: Decimal | int) -> str:
    """Exact when it has at most 4 decimals (77.5, 0.2); a long quotient (a peer mean of
    13.333…) is shown to 2 decimals, marked ≈ (the JSON keeps it exact)."""
    text = plain(value)
    decimals = len(text.partition(".")[2])
    if decimals <= 4:
        return text
    return "≈" + str(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _labelled(operand: Operand) -> str:
    if operand.unit in {"bool", "enum", "text", "date"}:
        return f"{operand.label}：{number(operand.value, operand.unit)}"
    return f"{operand.label} {number(operand.value, operand.unit)}"


def _values(uses: Sequence[Operand], skip: set[str]) -> list[str]:
    """Each fact, derived value and cohort value as a phrase, with what it came from:
    a derived value's inputs, a rank and how many were ranked, a peer group and its size."""
    phrases: list[str] = []
    details: list[str] = []

    def close() -> None:
        if phrases and details:
            phrases[-1] += "（" + "，".join(details) + "）"
        details.clear()

    role_of = {operand.role for operand in uses}
    rank = next((o.value for o in uses if o.role == "rank"), None)
    ranked = next((o.value for o in uses if o.role == "ranked"), None)
    for operand in uses:
        if operand.role in VALUE_ROLES:
            close()
            phrases.append("" if operand.label in skip else _labelled(operand))
        elif operand.role == "entries":
            close()
            phrases.append(WORDS["entries"].format(label=_unit_of(operand.label)[0],
                                                   count=operand.value))
        elif operand.role == "input" and "rank" in role_of and phrases:
            # `第三方满意度评分 96.5，在 412 家中排第 3，满意度调查加减分 0.8`
            place = WORDS["rank"].format(ranked=ranked, rank=rank) if rank is not None \
                else WORDS["unranked"]
            cohort = next(o for o in uses if o.role == "cohort")
            phrases[-1] = WORDS["rank_phrase"].format(
                subject=_labelled(operand), rank=place, label=cohort.label,
                value=number(cohort.value, cohort.unit))
        elif operand.role == "input":
            details.append(_labelled(operand))
        elif operand.role == "group":
            size = next((o.value for o in uses if o.role == "group_size"), 0)
            given = any(o.role == "source" and o.value == "given" for o in uses)
            details.append(WORDS["given"] if given
                           else WORDS["group"].format(group=operand.value, size=size))
    close()
    return [phrase for phrase in phrases if phrase]


def _outcome(points: Decimal, sign: str | None, bonus: bool) -> str:
    if sign == "deduct" or (sign is None and points < ZERO):
        return f"{WORDS['deduct']} {plain(-points)}" if points else WORDS["no_deduct"]
    verb = "bonus" if bonus else "award"
    return f"{WORDS[verb]} {plain(points)}" if points else WORDS[f"no_{verb}"]


def render_step(uses: Sequence[Operand], points: Decimal, bonus: bool = False) -> str:
    """The values a rule used and its arithmetic, in words; empty when it used none."""
    if not uses:
        return ""
    by_role: dict[str, Operand] = {}
    for operand in uses:
        by_role.setdefault(operand.role, operand)
    sign = by_role["sign"].value if "sign" in by_role else None
    verb = _outcome(points, sign if isinstance(sign, str) else None, bonus)
    if "uncapped" in by_role:  # the runtime's own caps, floors and ceilings (G3)
        return _adjustment(by_role)
    if "not_applicable" in by_role:
        word = "part_not_applicable" if points else "item_not_applicable"
        return "，".join(_values(uses, set())) + f" → {WORDS[word]}"
    if "sign" not in by_role and "condition" in by_role:  # `zero when`
        holds = by_role["condition"].value is True
        phrases = _values(uses, set()) or [WORDS["condition_false"]]
        return "，".join(phrases) + \
            f" → {WORDS['zero_holds'] if holds else WORDS['zero_not_holding']}"
    if all(operand.role in {"sign", "cap"} for operand in uses):
        return ""  # a fixed award: its reason says it all
    if "entry" in by_role:
        entries = [f"{o.label}：{number(o.value, 'points')}" for o in uses if o.role == "entry"]
        return "；".join(entries) + f" → {verb}"
    if "steps" in by_role:
        return _step_sentence(uses, by_role, verb)
    phrases = _values(uses, set())
    if "count" in by_role:
        count, amount = by_role["count"], by_role["amount"]
        label, unit = _unit_of(count.label)
        uncapped = Decimal(count.value if isinstance(count.value, Decimal | int) else 0) \
            * Decimal(amount.value if isinstance(amount.value, Decimal | int) else 0)
        phrases.append(f"{label} {number(count.value, count.unit)}{unit} × "
                       f"{number(amount.value, 'points')} = "
                       f"{_outcome(uncapped if sign == 'award' else -uncapped, str(sign), bonus)}")
        return "，".join(phrases) + _cap(by_role, uncapped, verb)
    if "condition" in by_role and by_role["condition"].value is False:
        return "，".join(phrases or [WORDS["condition_false"]]) + f" → {verb}"
    if "tier" in by_role:
        tier = by_role["tier"]
        if tier.value is None:
            return "，".join(phrases) + f"，{WORDS['no_tier']} → {verb}"
        return ("，".join(phrases) + f" {WORDS.get(tier.label, tier.label)} "
                f"{number(tier.value, tier.unit)} → {verb}")
    if "weight" in by_role:
        weight = by_role["weight"]
        return "，".join(phrases) + f" × {number(weight.value, 'percent')} = {plain(points)}"
    return "，".join(phrases) + f" → {verb}"


def _unit_of(label: str) -> tuple[str, str]:
    """`经查实的价格问题（次）` → (`经查实的价格问题`, ` 次`): the unit a count's label names."""
    if label.endswith("）") and "（" in label:
        head, _, unit = label[:-1].rpartition("（")
        unit = unit.split("，")[0]
        if 0 < len(unit) <= 3:
            return head, f" {unit}"
    return label, ""


def _cap(by_role: dict[str, Operand], uncapped: Decimal, verb: str) -> str:
    cap = by_role.get("cap")
    if cap is None or not isinstance(cap.value, Decimal) or uncapped <= cap.value:
        return ""
    return "，" + WORDS["cap"].format(cap=plain(cap.value)) + f" → {verb}"


def _step_sentence(uses: Sequence[Operand], by_role: dict[str, Operand], verb: str) -> str:
    """`目录内药品占比 77.5%（三级标准 80%），低 2.5 个百分点 → 2 个完整步长 × 0.1 = 扣 0.2`."""
    threshold, direction = by_role["threshold"], by_role["direction"]
    key = next((o for o in uses if o.role == "fact" and o.unit == "enum"
                and o.label == threshold.label), None)
    skip = {key.label} if key is not None else set()
    phrases = _values(uses, skip)
    shown = number(threshold.value, threshold.unit)
    standard = f"（{key.value}{WORDS['standard']} {shown}）" if key is not None \
        else f"（{WORDS['standard']} {shown}）"
    if any(o.role in VALUE_ROLES and o.label == threshold.label and o is not key
           for o in uses):
        standard = ""  # the threshold is a value shown with its origin (a peer-group mean)
    value = next((o.value for o in uses if o.role in VALUE_ROLES and o.label not in skip), None)
    text = (phrases[0] if phrases else "") + standard
    if len(phrases) > 1:
        text += "，" + "，".join(phrases[1:])
    if not isinstance(value, Decimal | int) or not isinstance(threshold.value, Decimal | int):
        return text + f" → {verb}"
    gap = threshold.value - value if direction.value == "below" else value - threshold.value
    if gap <= 0:
        word = "not_below" if direction.value == "below" else "not_above"
        return text + f"，{WORDS[word]} → {verb}"
    unit = WORDS["percentage_points"] if threshold.unit == "percent" else ""
    steps, amount = by_role["steps"], by_role["amount"]
    counted = Decimal(steps.value) if isinstance(steps.value, Decimal | int) else ZERO
    per_step = amount.value if isinstance(amount.value, Decimal) else ZERO
    uncapped = counted * per_step
    sign = by_role["sign"].value if "sign" in by_role else "deduct"
    text += (f"，{WORDS[str(direction.value)]} {_decimal(gap)}{unit} → {plain(counted)} "
             f"{WORDS[steps.label]} × {plain(per_step)} = "
             f"{_outcome(uncapped if sign == 'award' else -uncapped, str(sign), False)}")
    return text + _cap(by_role, uncapped, verb)


def _adjustment(by_role: dict[str, Operand]) -> str:
    uncapped = by_role["uncapped"]
    cap = by_role.get("cap")
    value = uncapped.value if isinstance(uncapped.value, Decimal) else ZERO
    if cap is not None and uncapped.label == "扣分":
        return WORDS["deduction_cap"].format(uncapped=plain(value),
                                             cap=number(cap.value, "points"))
    if cap is None:
        return WORDS["floor_zero"].format(what=uncapped.label, uncapped=plain(value))
    return WORDS["ceiling"].format(what=uncapped.label, uncapped=plain(value),
                                   cap_label=cap.label, cap=number(cap.value, "points"))


# ------------------------------------------------------------------ text
def render_text(explanation: Explanation, item: int | None = None, lang: Lang = "zh") -> str:
    """The explanation as Chinese text: header, total, each item (or only `item`), and under a
    framework the settlement's steps as the runtime recorded them (their computation lines in
    `lang`: the rule files' texts are Chinese whatever the language)."""
    out = [f"{explanation.pack}  {explanation.title}",
           WORDS["institution"].format(id=explanation.id,
                                       name=f" {explanation.name}" if explanation.name else "")]
    if explanation.total is not None:
        out.append(_total_line(explanation))
    for entry in explanation.items:
        if item is not None and entry.number != item:
            continue
        out.append("")
        out += _item_lines(entry)
    settlement = explanation.settlement
    if settlement is not None and item is None:
        out.append("")
        out.append(WORDS["settlement"].format(framework=explanation.framework or ""))
        out += [_settlement_line(line, lang) for line in settlement.lines]
        out.append(WORDS["result"].format(fields="，".join(_settlement_fields(settlement))))
    return "\n".join(out) + "\n"


def _total_line(explanation: Explanation) -> str:
    total, earned = explanation.total, explanation.earned
    applicable_max, rescale = explanation.applicable_max, explanation.rescale
    assert total is not None and earned is not None and applicable_max is not None
    fields = {"total": str(total), "earned": plain(earned),
              "applicable_max": plain(applicable_max),
              "rescale": plain(rescale) if rescale is not None else ""}
    if rescale is not None and applicable_max != rescale and applicable_max != ZERO:
        return WORDS["rescaled"].format(**fields)
    return WORDS["unrescaled"].format(**fields)


def _cites(reason: Reason) -> str:
    return f" [{', '.join(reason.citations)}]" if reason.citations else ""


def _item_lines(entry: ItemExplanation) -> list[str]:
    head = WORDS["item"].format(number=entry.number, label=entry.label) \
        + WORDS["category"].format(category=entry.category) \
        + (WORDS["bonus_item"] if entry.bonus and "加分" not in entry.category else "")
    if entry.earned is None:
        lines = [head + "：" + WORDS["not_applicable"].format(points=plain(entry.points))]
    else:
        lines = [head + "：" + WORDS["of"].format(earned=plain(entry.earned),
                                                 points=plain(entry.points))]
    for step in entry.steps:
        points = f"{'+' if step.points > 0 else ''}{plain(step.points)}"
        where = WORDS["line"].format(line=step.reason.line) \
            if step.reason.line != _RUNTIME_LINE else ""
        lines.append(f"  {points:>6}  {step.reason.text}{_cites(step.reason)}{where}")
        if step.sentence:
            lines.append(f"          {step.sentence}")
    return lines


def _settlement_line(line: SettlementLine, lang: Lang) -> str:
    where = WORDS["line"].format(line=line.reason.line)
    return (f"  {STEP.get(line.step, line.step)}：{line.reason.text}{_cites(line.reason)}"
            f"{where}\n          {line.detail_in(lang)}")


def _settlement_fields(settlement: Settlement) -> list[str]:
    fields = [f"状态 {STATUS.get(settlement.status, settlement.status)}"]
    if settlement.own_score is not None:
        fields.append(f"自身得分 {settlement.own_score}")
    if settlement.final_score is not None:
        fields.append(f"最终得分 {settlement.final_score}")
    if settlement.grade is not None:
        before = settlement.grade_before_adjustment
        moved = f"（调整前 {before}）" if before and before != settlement.grade else ""
        fields.append(f"等次 {settlement.grade}{moved}")
    if settlement.refund_ratio is not None:
        fields.append(f"返还比例 {settlement.refund_ratio}%")
    if settlement.refund_amount is not None:
        fields.append(f"返还金额 {settlement.refund_amount} 元")
    if settlement.withheld is not None:
        fields.append(f"扣除质量保证金 {yuan(settlement.withheld)} 元")
    if settlement.renewal is not None:
        fields.append(RENEWAL.get(settlement.renewal, settlement.renewal))
    if settlement.publicize:
        fields.append("予以公示")
    if settlement.referral:
        fields.append("移交欺诈骗保线索")
    return fields


# ------------------------------------------------------------------ JSON
def _exact(value: Decimal | None) -> str | None:
    """A settled figure as the runtime rounded it (91.10, 182200.00)."""
    return None if value is None else str(value)


def _json_value(value: Value) -> object:
    return plain(value) if isinstance(value, Decimal) else value


def explanation_json(explanation: Explanation, item: int | None = None,
                     lang: Lang = "zh") -> dict[str, object]:
    """The same structure as JSON: exact decimals as strings, every operand with its role;
    the settlement's `detail` lines in `lang`, every other field a code, id or number."""
    def number_or_none(value: Decimal | None) -> str | None:
        return None if value is None else plain(value)

    settlement = explanation.settlement
    return {
        "pack": explanation.pack, "title": explanation.title,
        "id": explanation.id, "name": explanation.name,
        "total": None if explanation.total is None else str(explanation.total),
        "earned": number_or_none(explanation.earned),
        "applicable_max": number_or_none(explanation.applicable_max),
        "rescale": number_or_none(explanation.rescale),
        "items": [{
            "number": entry.number, "label": entry.label, "category": entry.category,
            "bonus": entry.bonus, "points": plain(entry.points),
            "earned": number_or_none(entry.earned), "applicable": entry.earned is not None,
            "rules": [{
                "reason": step.reason.text, "cites": list(step.reason.citations),
                "line": step.reason.line or None, "points": plain(step.points),
                "uses": [{"role": o.role, "label": o.label, "value": _json_value(o.value),
                          "unit": o.unit} for o in step.uses],
                "sentence": step.sentence,
            } for step in entry.steps],
        } for entry in explanation.items if item is None or entry.number == item],
        "settlement": None if settlement is None or item is not None else {
            "framework": explanation.framework,
            "steps": [{"step": line.step, "reason": line.reason.text,
                       "cites": list(line.reason.citations), "line": line.reason.line,
                       "detail": line.detail_in(lang)} for line in settlement.lines],
            "status": settlement.status,
            "grade": settlement.grade,
            "own_score": _exact(settlement.own_score),
            "final_score": _exact(settlement.final_score),
            "refund_ratio": _exact(settlement.refund_ratio),
            "refund_amount": _exact(settlement.refund_amount),
            "deposit": None if settlement.deposit is None else yuan(settlement.deposit),
            "withheld": None if settlement.withheld is None else yuan(settlement.withheld),
            "renewal": settlement.renewal,
        },
    }
