"""What a city plugin imports: the hook marker and the override types.

    from policy_dsl.plugin import CityStandard, ItemPoints, hookimpl

    @hookimpl
    def policyc_city_standards():
        return [CityStandard(base="jilin/medical-inpatient-2026", name="...", ...)]

The hooks are documented in `policy_dsl.compiler.hookspecs` and in the README.
"""

from .compiler.hookspecs import (
    AddItem,
    BonusLimit,
    CityStandard,
    DeductionCap,
    ItemPoints,
    RemoveItem,
    ReplaceItem,
    hookimpl,
)

__all__ = ["AddItem", "BonusLimit", "CityStandard", "DeductionCap", "ItemPoints", "RemoveItem",
           "ReplaceItem", "hookimpl"]
