"""EXAMPLE city plugin for a Jilin city (长春市). Not real policy: invented to show the hooks.

The Jilin measures let each city adjust items and points (第十八条, JL-18). This example
builds `jilin/changchun-medical-inpatient-2026` from the provincial model
`jilin/medical-inpatient-2026`: it adds an item of its own, replaces the bonus item, moves
points from the model's deduction item to the new one, caps the new item's deductions, and
raises the bonus limit to 12 (which the framework reports as a warning citing JL-8: "原则上
不超过10分"). Every label says 示例 so that no one mistakes it for Changchun's rules.
"""

from __future__ import annotations

import datetime as dt

from policy_dsl.plugin import (
    AddItem,
    BonusLimit,
    CityStandard,
    DeductionCap,
    ItemPoints,
    ReplaceItem,
    hookimpl,
)

CITY = CityStandard(
    base="jilin/medical-inpatient-2026",
    name="changchun_medical_inpatient",
    title="示例：长春市定点医疗机构（开通住院服务）考核标准（演示插件，非真实政策）",
    version=2026,
    effective_from=dt.date(2026, 1, 1),
)


def _mine(city: CityStandard) -> bool:
    return city.name == CITY.name


@hookimpl
def policyc_city_standards() -> list[CityStandard]:
    return [CITY]


@hookimpl
def policyc_add_items(city: CityStandard) -> list[AddItem] | None:
    if not _mine(city):
        return None
    return [AddItem(category="扣分项", text='''
        item 3 "示例：医保信息化建设（演示项目）" 10 {
          content "示例：医保电子凭证、移动支付等应用情况（演示用，非真实政策）"
          basis "示例：吉医保发〔2025〕9号 第十八条允许统筹地区调整考核内容及评分"
          award full_points "示例项目满分" [JL-18]
          deduct entries from deductions "考核小组认定的扣分（每条须有可查看的依据）" [JL-6]
        }''')]


@hookimpl
def policyc_replace_items(city: CityStandard) -> list[ReplaceItem] | None:
    if not _mine(city):
        return None
    return [ReplaceItem(number=2, text='''
        bonus item 2 "示例：长春市加分项（演示项目）" 12 {
          content "示例：深度参与医保改革、阶段性重点任务（演示用，非真实政策）"
          basis "吉医保发〔2025〕9号 第七条、第八条；第十八条"
          award entries from bonuses "考核小组认定的加分（每条须有可查看的依据）" [JL-6, JL-8]
        }''')]


@hookimpl
def policyc_item_points(city: CityStandard) -> list[ItemPoints] | None:
    if not _mine(city):
        return None
    # the model's deduction item gives 10 of its 100 points to item 3: still 100 (JL-8)
    return [ItemPoints(number=1, points=90)]


@hookimpl
def policyc_deduction_caps(city: CityStandard) -> list[DeductionCap] | None:
    if not _mine(city):
        return None
    return [DeductionCap(number=3, points=6, reason="示例：本项扣分以6分为限",
                         citations=("JL-18",))]


@hookimpl
def policyc_bonus_limit(city: CityStandard) -> list[BonusLimit] | None:
    if not _mine(city):
        return None
    return [BonusLimit(points=12)]
