"""EXAMPLE plugin for a county-level city under Suzhou (昆山市). Not real policy.

Builds `suzhou/kunshan-outpatient-2023` from Suzhou's 附件2 table: it removes the
publicity bonus item (13; its facts go with it), gives its 5 points to the pay-after-treatment
bonus item (12, now 10), replaces the satisfaction item (11) with one that caps complaint
deductions at 2, and caps the price item's deductions (2) at 4 instead of 5. Every change is
invented to show the hooks; the labels say 示例.
"""

from __future__ import annotations

import datetime as dt

from policy_dsl.plugin import (
    CityStandard,
    DeductionCap,
    ItemPoints,
    RemoveItem,
    ReplaceItem,
    hookimpl,
)

CITY = CityStandard(
    base="suzhou/outpatient-2023",
    name="kunshan_outpatient",
    title="示例：昆山市定点医疗机构（没有住院服务）绩效评价指标（演示插件，非真实政策）",
    version=2023,
    effective_from=dt.date(2023, 1, 1),
    effective_to=dt.date(2023, 12, 31),
)


def _mine(city: CityStandard) -> bool:
    return city.name == CITY.name


@hookimpl
def policyc_city_standards() -> list[CityStandard]:
    return [CITY]


@hookimpl
def policyc_remove_items(city: CityStandard) -> list[RemoveItem] | None:
    return [RemoveItem(number=13)] if _mine(city) else None


@hookimpl
def policyc_item_points(city: CityStandard) -> list[ItemPoints] | None:
    return [ItemPoints(number=12, points=10)] if _mine(city) else None


@hookimpl
def policyc_replace_items(city: CityStandard) -> list[ReplaceItem] | None:
    if not _mine(city):
        return None
    return [ReplaceItem(number=11, text='''
        item 11 "示例：就诊人员满意度提高（投诉扣分以2分为限）" 3 {
          content "及时处理与医保相关的投诉举报，提高参保人员对医疗机构医保服务满意度"
          basis "来源：《全国医疗保障定点医疗机构示范点标准（试行）》：（七）其他 27.投诉处理"
          award full_points "无就诊人员举报投诉的，得满分" [SZ2-11]
          deduct for each c in complaints: c.deduction cap 2 "示例：投诉扣分合计以2分为限" [SZ2-11]
        }''')]


@hookimpl
def policyc_deduction_caps(city: CityStandard) -> list[DeductionCap] | None:
    if not _mine(city):
        return None
    return [DeductionCap(number=2, points=4, reason="示例：本项扣分以4分为限")]
