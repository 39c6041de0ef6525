"""Why an institution got its points: a scored outcome as an explanation, and as text.

`explain_outcome` turns an outcome scored with explanations (`iter_outcomes(..., explain=True)`)
into an `Explanation`: the pack, the institution, the total and its rescaling, every item with
every rule's line and the values it used (`Operand`s recorded by the pack), and under a
framework the settlement's own steps (never recomputed here). `render_text` writes it as
Chinese sentences; `explanation_json` as JSON with exact decimals as strings. The words of the
operator parts (达到/低于, 扣/得/加, 个完整步长) live in `WORDS`, and only there; their English
twins in `WORDS_EN` (`render_text(..., lang="en")`: every text this module writes is English,
the rule file's own texts stay as written).
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
    "file_line": "（{file} 第{line}行）",
    "total": "总分 {total}",
    "rescaled": "总分 {total}：得分 {earned} ÷ 适用满分 {applicable_max} × {rescale} = {total}"
                "（不适用的项目不计入，按{rescale}分制折算）[G5]",
    "unrescaled": "总分 {total}（得分 {earned}，适用满分 {applicable_max}）",
    "institution": "机构：{id}{name}",
    "settlement": "考核结算（{framework}）：",
    "result": "结果：{fields}",
    "comma": "，", "colon": "：", "semicolon": "；", "open": "（", "close": "）",
}

# The same words in English (`--lang en`); a test keeps the keys and placeholders the same.
WORDS_EN = {
    "award": "award", "bonus": "bonus", "deduct": "deduct",
    "no_award": "no points", "no_bonus": "no bonus", "no_deduct": "no deduction",
    "below": "below by", "above": "above by", "not_below": "not below the standard",
    "not_above": "not above the standard",
    ">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "=", "!=": "≠",
    "no_tier": "no tier reached",
    "floor": "whole steps", "ceil": "steps (a part of a step counts as one)", "exact": "steps",
    "percentage_points": " percentage points",
    "yes": "yes", "no": "no", "missing": "not reported",
    "condition_false": "the condition does not hold",
    "zero_holds": "the item counts as 0",
    "zero_not_holding": "this rule does not apply",
    "item_not_applicable": "the item does not apply",
    "part_not_applicable": "the part does not concern it: full points",
    "standard": "standard",
    "cap": "over the cap {cap}, counted as {cap}",
    "deduction_cap": "deductions {uncapped} over the cap {cap}, counted as {cap}",
    "floor_zero": "score of {what} {uncapped} below 0, counted as 0",
    "ceiling": "score of {what} {uncapped} over {cap_label} {cap}, counted as {cap}",
    "rank": "ranked {rank} of {ranked}",
    "unranked": "not ranked",
    "group": "mean of the {size} in its group ({group})",
    "given": "as given",
    "entries": "{label}: {count} entries",
    "rank_phrase": "{subject}, {rank}, {label} {value}",
    "points_unit": " points",
    "item": "Item {number} {label}",
    "category": " ({category})",
    "bonus_item": " (bonus item)",
    "of": "{earned} / {points}",
    "not_applicable": "not applicable (its {points} points are left out of the applicable "
                      "maximum)",
    "line": " (rule file line {line})",
    "file_line": " ({file} line {line})",
    "total": "total {total}",
    "rescaled": "total {total}: earned {earned} ÷ applicable maximum {applicable_max} × "
                "{rescale} = {total} (items not applicable are left out, rescaled to "
                "{rescale}) [G5]",
    "unrescaled": "total {total} (earned {earned}, applicable maximum {applicable_max})",
    "institution": "institution: {id}{name}",
    "settlement": "settlement ({framework}):",
    "result": "result: {fields}",
    "comma": ", ", "colon": ": ", "semicolon": "; ", "open": " (", "close": ")",
}
WORDS_IN: dict[Lang, dict[str, str]] = {"zh": WORDS, "en": WORDS_EN}

STATUS = {"assessed": "已考核", "deferred": "顺延至下一年度考核", "terminated": "因违规解除协议",
          "voluntary_exit": "主动退出"}
RENEWAL = RENEWAL_WORDS
STEP = {"terminated": "解除协议", "exit": "主动退出", "deferred": "顺延考核",
        "composite": "综合得分", "grade": "等次", "veto": "一票否决", "downgrade": "降档",
        "refund": "质量保证金返还", "renewal": "续签", "publicity": "公示",
        "referral": "移交线索"}
STATUS_EN = {"assessed": "assessed", "deferred": "deferred to the next year's assessment",
             "terminated": "agreement ended for violations", "voluntary_exit": "voluntary exit"}
STEP_EN = {"terminated": "agreement ended", "exit": "voluntary exit", "deferred": "deferred",
           "composite": "composite score", "grade": "grade", "veto": "veto",
           "downgrade": "downgrade", "refund": "deposit refund", "renewal": "renewal",
           "publicity": "publicity", "referral": "referral"}
RENEWAL_EN = {"direct": "renewed directly", "review": "renewal by the normal review",
              "with_suspension": "renewed with one month's suspension to put things right",
              "none": "not renewed"}
# The runtime's own labels and reasons (results.py: G3's floors and ceilings), in English.
RUNTIME_EN = {"分项": "the part", "本项": "the item", "扣分": "deductions",
              "分项分值": "the part's points", "本项分值": "the item's points",
              "扣分上限": "the deduction cap",
              "得分不低于0（扣完为止）": "score not below 0 (deductions stop at 0)",
              "得分不超过本项分值": "score not over the item's points",
              "分项得分不低于0": "part score not below 0",
              "分项得分不超过分项分值": "part score not over the part's points"}

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
def number(value: Value, unit: str, lang: Lang = "zh") -> str:
    """A value as an explanation shows it: 77.5%, 0.2, 是, 三级, 未填报."""
    words = WORDS_IN[lang]
    if value is None:
        return words["missing"]
    if isinstance(value, bool):
        return words["yes"] if value else words["no"]
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


def _labelled(operand: Operand, lang: Lang) -> str:
    if operand.unit in {"bool", "enum", "text", "date"}:
        colon = WORDS_IN[lang]["colon"]
        return f"{operand.label}{colon}{number(operand.value, operand.unit, lang)}"
    return f"{operand.label} {number(operand.value, operand.unit, lang)}"


def _values(uses: Sequence[Operand], skip: set[str], lang: Lang) -> list[str]:
    """Each fact, derived value and cohort value as a phrase, with what it came from:
    a derived value's inputs, a rank and how many were ranked, a peer group and its size."""
    words = WORDS_IN[lang]
    phrases: list[str] = []
    details: list[str] = []

    def close() -> None:
        if phrases and details:
            phrases[-1] += words["open"] + words["comma"].join(details) + words["close"]
        details.clear()

    role_of = {operand.role for operand in uses}
    rank = next((o.value for o in uses if o.role == "rank"), None)
    ranked = next((o.value for o in uses if o.role == "ranked"), None)
    for operand in uses:
        if operand.role in VALUE_ROLES:
            close()
            phrases.append("" if operand.label in skip else _labelled(operand, lang))
        elif operand.role == "entries":
            close()
            phrases.append(words["entries"].format(label=_unit_of(operand.label)[0],
                                                   count=operand.value))
        elif operand.role == "input" and "rank" in role_of and phrases:
            # `第三方满意度评分 96.5，在 412 家中排第 3，满意度调查加减分 0.8`
            place = words["rank"].format(ranked=ranked, rank=rank) if rank is not None \
                else words["unranked"]
            cohort = next(o for o in uses if o.role == "cohort")
            phrases[-1] = words["rank_phrase"].format(
                subject=_labelled(operand, lang), rank=place, label=cohort.label,
                value=number(cohort.value, cohort.unit, lang))
        elif operand.role == "input":
            details.append(_labelled(operand, lang))
        elif operand.role == "group":
            size = next((o.value for o in uses if o.role == "group_size"), 0)
            given = any(o.role == "source" and o.value == "given" for o in uses)
            details.append(words["given"] if given
                           else words["group"].format(group=operand.value, size=size))
    close()
    return [phrase for phrase in phrases if phrase]


def _outcome(points: Decimal, sign: str | None, bonus: bool, lang: Lang) -> str:
    words = WORDS_IN[lang]
    if sign == "deduct" or (sign is None and points < ZERO):
        return f"{words['deduct']} {plain(-points)}" if points else words["no_deduct"]
    verb = "bonus" if bonus else "award"
    return f"{words[verb]} {plain(points)}" if points else words[f"no_{verb}"]


def render_step(uses: Sequence[Operand], points: Decimal, bonus: bool = False,
                lang: Lang = "zh") -> str:
    """The values a rule used and its arithmetic, in words; empty when it used none."""
    if not uses:
        return ""
    words = WORDS_IN[lang]
    comma = words["comma"]
    by_role: dict[str, Operand] = {}
    for operand in uses:
        by_role.setdefault(operand.role, operand)
    sign = by_role["sign"].value if "sign" in by_role else None
    verb = _outcome(points, sign if isinstance(sign, str) else None, bonus, lang)
    if "uncapped" in by_role:  # the runtime's own caps, floors and ceilings (G3)
        return _adjustment(by_role, lang)
    if "not_applicable" in by_role:
        word = "part_not_applicable" if points else "item_not_applicable"
        return comma.join(_values(uses, set(), lang)) + f" → {words[word]}"
    if "sign" not in by_role and "condition" in by_role:  # `zero when`
        holds = by_role["condition"].value is True
        phrases = _values(uses, set(), lang) or [words["condition_false"]]
        return comma.join(phrases) + \
            f" → {words['zero_holds'] if holds else words['zero_not_holding']}"
    if all(operand.role in {"sign", "cap"} for operand in uses):
        return ""  # a fixed award: its reason says it all
    if "entry" in by_role:
        entries = [f"{o.label}{words['colon']}{number(o.value, 'points', lang)}"
                   for o in uses if o.role == "entry"]
        return words["semicolon"].join(entries) + f" → {verb}"
    if "steps" in by_role:
        return _step_sentence(uses, by_role, verb, lang)
    phrases = _values(uses, set(), lang)
    if "count" in by_role:
        count, amount = by_role["count"], by_role["amount"]
        label, unit = _unit_of(count.label)
        uncapped = Decimal(count.value if isinstance(count.value, Decimal | int) else 0) \
            * Decimal(amount.value if isinstance(amount.value, Decimal | int) else 0)
        signed = uncapped if sign == "award" else -uncapped
        phrases.append(f"{label} {number(count.value, count.unit, lang)}{unit} × "
                       f"{number(amount.value, 'points', lang)} = "
                       f"{_outcome(signed, str(sign), bonus, lang)}")
        return comma.join(phrases) + _cap(by_role, uncapped, verb, lang)
    if "condition" in by_role and by_role["condition"].value is False:
        return comma.join(phrases or [words["condition_false"]]) + f" → {verb}"
    if "tier" in by_role:
        tier = by_role["tier"]
        if tier.value is None:
            return comma.join(phrases) + f"{comma}{words['no_tier']} → {verb}"
        return (comma.join(phrases) + f" {words.get(tier.label, tier.label)} "
                f"{number(tier.value, tier.unit, lang)} → {verb}")
    if "weight" in by_role:
        weight = by_role["weight"]
        return comma.join(phrases) + f" × {number(weight.value, 'percent', lang)} = {plain(points)}"
    return comma.join(phrases) + f" → {verb}"


def _unit_of(label: str) -> tuple[str, str]:
    """`经查实的价格问题（次）` → (`经查实的价格问题`, ` 次`): the unit a count's label names."""
    if label.endswith("）") and "（" in label:
        head, _, unit = label[:-1].rpartition("（")
        unit = unit.split("，")[0]
        if 0 < len(unit) <= 3:
            return head, f" {unit}"
    return label, ""


def _cap(by_role: dict[str, Operand], uncapped: Decimal, verb: str, lang: Lang) -> str:
    cap = by_role.get("cap")
    if cap is None or not isinstance(cap.value, Decimal) or uncapped <= cap.value:
        return ""
    words = WORDS_IN[lang]
    return words["comma"] + words["cap"].format(cap=plain(cap.value)) + f" → {verb}"


def _step_sentence(uses: Sequence[Operand], by_role: dict[str, Operand], verb: str,
                   lang: Lang) -> str:
    """`目录内药品占比 77.5%（三级标准 80%），低 2.5 个百分点 → 2 个完整步长 × 0.1 = 扣 0.2`."""
    words = WORDS_IN[lang]
    comma = words["comma"]
    threshold, direction = by_role["threshold"], by_role["direction"]
    key = next((o for o in uses if o.role == "fact" and o.unit == "enum"
                and o.label == threshold.label), None)
    skip = {key.label} if key is not None else set()
    phrases = _values(uses, skip, lang)
    shown = number(threshold.value, threshold.unit, lang)
    space = " " if lang == "en" else ""
    standard = f"{words['open']}{key.value}{space}{words['standard']} {shown}{words['close']}" \
        if key is not None else f"{words['open']}{words['standard']} {shown}{words['close']}"
    if any(o.role in VALUE_ROLES and o.label == threshold.label and o is not key
           for o in uses):
        standard = ""  # the threshold is a value shown with its origin (a peer-group mean)
    value = next((o.value for o in uses if o.role in VALUE_ROLES and o.label not in skip), None)
    text = (phrases[0] if phrases else "") + standard
    if len(phrases) > 1:
        text += comma + comma.join(phrases[1:])
    if not isinstance(value, Decimal | int) or not isinstance(threshold.value, Decimal | int):
        return text + f" → {verb}"
    gap = threshold.value - value if direction.value == "below" else value - threshold.value
    if gap <= 0:
        word = "not_below" if direction.value == "below" else "not_above"
        return text + f"{comma}{words[word]} → {verb}"
    unit = words["percentage_points"] if threshold.unit == "percent" else ""
    steps, amount = by_role["steps"], by_role["amount"]
    counted = Decimal(steps.value) if isinstance(steps.value, Decimal | int) else ZERO
    per_step = amount.value if isinstance(amount.value, Decimal) else ZERO
    uncapped = counted * per_step
    sign = by_role["sign"].value if "sign" in by_role else "deduct"
    text += (f"{comma}{words[str(direction.value)]} {_decimal(gap)}{unit} → {plain(counted)} "
             f"{words[steps.label]} × {plain(per_step)} = "
             f"{_outcome(uncapped if sign == 'award' else -uncapped, str(sign), False, lang)}")
    return text + _cap(by_role, uncapped, verb, lang)


def _adjustment(by_role: dict[str, Operand], lang: Lang) -> str:
    words = WORDS_IN[lang]

    def label(text: str) -> str:
        return RUNTIME_EN.get(text, text) if lang == "en" else text

    uncapped = by_role["uncapped"]
    cap = by_role.get("cap")
    value = uncapped.value if isinstance(uncapped.value, Decimal) else ZERO
    if cap is not None and uncapped.label == "扣分":
        return words["deduction_cap"].format(uncapped=plain(value),
                                             cap=number(cap.value, "points", lang))
    if cap is None:
        return words["floor_zero"].format(what=label(uncapped.label), uncapped=plain(value))
    return words["ceiling"].format(what=label(uncapped.label), uncapped=plain(value),
                                   cap_label=label(cap.label),
                                   cap=number(cap.value, "points", lang))


# ------------------------------------------------------------------ text
def render_text(explanation: Explanation, item: int | None = None, lang: Lang = "zh") -> str:
    """The explanation as text: header, total, each item (or only `item`), and under a
    framework the settlement's steps as the runtime recorded them. Every text written here is
    in `lang`; the rule files' own texts (titles, labels, reasons) stay as written."""
    words = WORDS_IN[lang]
    out = [f"{explanation.pack}  {explanation.title}",
           words["institution"].format(id=explanation.id,
                                       name=f" {explanation.name}" if explanation.name else "")]
    if explanation.total is not None:
        out.append(_total_line(explanation, lang))
    for entry in explanation.items:
        if item is not None and entry.number != item:
            continue
        out.append("")
        out += _item_lines(entry, lang)
    settlement = explanation.settlement
    if settlement is not None and item is None:
        out.append("")
        out.append(words["settlement"].format(framework=explanation.framework or ""))
        out += [_settlement_line(line, lang) for line in settlement.lines]
        out.append(words["result"].format(
            fields=words["comma"].join(_settlement_fields(settlement, lang))))
    return "\n".join(out) + "\n"


def _total_line(explanation: Explanation, lang: Lang) -> str:
    words = WORDS_IN[lang]
    total, earned = explanation.total, explanation.earned
    applicable_max, rescale = explanation.applicable_max, explanation.rescale
    assert total is not None and earned is not None and applicable_max is not None
    fields = {"total": str(total), "earned": plain(earned),
              "applicable_max": plain(applicable_max),
              "rescale": plain(rescale) if rescale is not None else ""}
    if rescale is not None and applicable_max != rescale and applicable_max != ZERO:
        return words["rescaled"].format(**fields)
    return words["unrescaled"].format(**fields)


def _cites(reason: Reason) -> str:
    return f" [{', '.join(reason.citations)}]" if reason.citations else ""


def _reason_text(reason: Reason, lang: Lang) -> str:
    """A rule's reason as written; the runtime's own (line 0: G3's floors) in `lang`."""
    if lang == "en" and reason.line == _RUNTIME_LINE:
        return RUNTIME_EN.get(reason.text, reason.text)
    return reason.text


def _item_lines(entry: ItemExplanation, lang: Lang) -> list[str]:
    words = WORDS_IN[lang]
    head = words["item"].format(number=entry.number, label=entry.label) \
        + words["category"].format(category=entry.category) \
        + (words["bonus_item"] if entry.bonus and "加分" not in entry.category else "")
    if entry.earned is None:
        lines = [head + words["colon"]
                 + words["not_applicable"].format(points=plain(entry.points))]
    else:
        lines = [head + words["colon"] + words["of"].format(earned=plain(entry.earned),
                                                             points=plain(entry.points))]
    for step in entry.steps:
        points = f"{'+' if step.points > 0 else ''}{plain(step.points)}"
        where = "" if step.reason.line == _RUNTIME_LINE else \
            words["line"].format(line=step.reason.line) if step.reason.file is None else \
            words["file_line"].format(file=step.reason.file, line=step.reason.line)
        lines.append(f"  {points:>6}  {_reason_text(step.reason, lang)}{_cites(step.reason)}"
                     f"{where}")
        sentence = step.sentence if lang == "zh" else \
            render_step(step.uses, step.points, entry.bonus, lang)
        if sentence:
            lines.append(f"          {sentence}")
    return lines


def _settlement_line(line: SettlementLine, lang: Lang) -> str:
    words = WORDS_IN[lang]
    where = words["line"].format(line=line.reason.line)
    step = (STEP if lang == "zh" else STEP_EN).get(line.step, line.step)
    return (f"  {step}{words['colon']}{line.reason.text}{_cites(line.reason)}"
            f"{where}\n          {line.detail_in(lang)}")


def _settlement_fields(settlement: Settlement, lang: Lang = "zh") -> list[str]:
    zh = lang == "zh"
    status = (STATUS if zh else STATUS_EN).get(settlement.status, settlement.status)
    fields = [f"状态 {status}" if zh else f"status {status}"]
    if settlement.own_score is not None:
        fields.append(f"{'自身得分' if zh else 'own score'} {settlement.own_score}")
    if settlement.final_score is not None:
        fields.append(f"{'最终得分' if zh else 'final score'} {settlement.final_score}")
    if settlement.grade is not None:
        before = settlement.grade_before_adjustment
        moved = "" if not before or before == settlement.grade else \
            f"（调整前 {before}）" if zh else f" (before adjustment {before})"
        fields.append(f"{'等次' if zh else 'grade'} {settlement.grade}{moved}")
    if settlement.refund_ratio is not None:
        fields.append(f"{'返还比例' if zh else 'refund ratio'} {settlement.refund_ratio}%")
    if settlement.refund_amount is not None:
        fields.append(f"返还金额 {settlement.refund_amount} 元" if zh
                      else f"refund {settlement.refund_amount} yuan")
    if settlement.withheld is not None:
        fields.append(f"扣除质量保证金 {yuan(settlement.withheld)} 元" if zh
                      else f"deposit withheld {yuan(settlement.withheld)} yuan")
    if settlement.renewal is not None:
        fields.append((RENEWAL if zh else RENEWAL_EN).get(settlement.renewal,
                                                          settlement.renewal))
    if settlement.publicize:
        fields.append("予以公示" if zh else "made public")
    if settlement.referral:
        fields.append("移交欺诈骗保线索" if zh else "fraud leads referred")
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
                "line": step.reason.line or None,
                **({} if step.reason.file is None else {"file": step.reason.file}),
                "points": plain(step.points),
                "uses": [{"role": o.role, "label": o.label, "value": _json_value(o.value),
                          "unit": o.unit} for o in step.uses],
                "sentence": step.sentence if lang == "zh" else
                render_step(step.uses, step.points, entry.bonus, lang),
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
