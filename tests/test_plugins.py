"""City plugins: each hook's effect on a built pack and on a scored institution, and the
errors a plugin author meets (unknown items, conflicts, a plugin that raises or returns
nonsense, a misspelt hook)."""

from __future__ import annotations

import datetime as dt
import re
import sys
import textwrap
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pluggy
import pytest
from helpers import ROOT, full_marks_outpatient, item, pack, score_one

from policy_dsl.compiler import hookspecs, pipeline, plugins
from policy_dsl.plugin import CityStandard, ItemPoints, RemoveItem, hookimpl

CHANGCHUN = "jilin/changchun-medical-inpatient-2026"
KUNSHAN = "suzhou/kunshan-outpatient-2023"


# ---------------------------------------------------------------- the example plugins' packs

def test_changchun_pack_has_the_added_replaced_and_repointed_items() -> None:
    """JL-18 (cities adjust items and points): add_items (item 3, 10), item_points (item 1:
    100 → 90), replace_items (bonus item 2: 12 points), deduction_caps (item 3 at 6),
    bonus_limit (12)."""
    info = pack(CHANGCHUN).INFO
    items = {i.number: i for i in info.items}
    assert sorted(items) == [1, 2, 3]
    assert (items[1].points, items[2].points, items[3].points) == (D(90), D(12), D(10))
    assert items[2].bonus and items[3].label.startswith("示例")
    assert info.framework == "jilin"


def changchun_record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"id": "CC", "assessment_year": 2026,
                              "agreement_start": "2020-01-01", "deposit": "100000",
                              "deductions": [], "bonuses": []}
    record.update(changes)
    return record


def entry(item_number: str, points: str) -> dict[str, str]:
    return {"item": item_number, "points": points, "evidence": "示例证据"}


def test_changchun_scores_by_its_overrides() -> None:
    """JL-18: item 1: 90 − 5 = 85. Item 3: 10 − min(8, cap 6) = 4. Bonus item 2: 11 (within
    its 12 and the city's limit 12; the framework's 10 would make it 10 and the score 99).
    Own score 85 + 4 + 11 = 100 → 优, full refund."""
    record = changchun_record(deductions=[entry("1", "5"), entry("3", "8")],
                              bonuses=[entry("2", "11")])
    outcome = score_one(CHANGCHUN, record)
    assert outcome["items"] == {"1": "85", "2": "11", "3": "4"}
    assert (outcome["final_score"], outcome["grade"], outcome["refund_ratio"]) == (
        "100.00", "优", "100.00")
    # the provincial model has no item 3, and its bonus item takes at most 10
    model = score_one("jilin/medical-inpatient-2026", record)
    assert "deductions[1].item: item '3' takes no deductions" in model["error"]
    assert "bonuses[0].points: 11 is more than item 2's 10 points" in model["error"]


def test_changchun_bonus_limit_above_10_is_a_warning_citing_jl8() -> None:
    """JL-8 "原则上不超过10分": a city's limit of 12 builds, with a warning naming the clause."""
    result = pipeline.build(ROOT, manager=plugins.plugin_manager([ROOT / "plugins"], ROOT,
                                                                 entry_points=False))
    warnings = [d for d, _ in result.diagnostics if d.severity == "warning"]
    assert result.ok
    assert any(d.code == "W301" and "[JL-8]" in d.message and CHANGCHUN in d.message
               for d in warnings)


def test_kunshan_pack_removes_repoints_replaces_and_caps() -> None:
    """remove_items (13 gone, and its facts with it), item_points (12: 5 → 10),
    replace_items (11: complaints capped at 2), deduction_caps (2: 5 → 4)."""
    info = pack(KUNSHAN).INFO
    assert [i.number for i in info.items] == list(range(1, 13))
    assert {f.name for f in info.facts}.isdisjoint({"policies_forwarded", "display_channels"})
    record = full_marks_outpatient(price_violations=6,
                                   complaints=[{"deduction": 1}] * 3)
    for fact in ("policies_forwarded", "display_channels"):
        del record[fact]
    outcome = score_one(KUNSHAN, record)
    # item 2: 5 − min(6, 4) = 1 (Suzhou: 5 − min(6, 5) = 0)
    # item 11: 3 − min(3, 2) = 1 (Suzhou: 3 − 3 = 0)
    # item 12: 3 + 2 + 2 = 7 within 10 (Suzhou: capped at 5)
    assert (item(outcome, 2), item(outcome, 11), item(outcome, 12)) == (D(1), D(1), D(7))
    # the total: 100 − 4 (item 2) − 2 (item 11) − 3 (item 12 short of its 10) = 91 of 100
    assert (outcome["earned"], outcome["applicable_max"], outcome["total"]) == (
        "91", "100", "91.00")


def test_kunshan_rejects_the_removed_items_facts() -> None:
    outcome = score_one(KUNSHAN, full_marks_outpatient())
    assert "policies_forwarded: is not a fact of this standard" in outcome["error"]


# ---------------------------------------------------------------- errors for plugin authors

class _Plugin:
    """A temporary plugin: hook implementations given as plain functions."""

    def __init__(self, **hooks: Any) -> None:
        for name, function in hooks.items():
            setattr(self, name, hookimpl(function))


CITY = CityStandard(base="jilin/medical-inpatient-2026", name="test_city",
                    title="测试城市（测试用）", version=2026, effective_from=dt.date(2026, 1, 1))


def build_with(*extra: _Plugin) -> pipeline.BuildResult:
    manager = plugins.plugin_manager([], ROOT, entry_points=False)
    manager.register(_Plugin(policyc_city_standards=lambda: [CITY]), name="test-city")
    for index, plugin in enumerate(extra):
        manager.register(plugin, name=f"test-plugin-{index + 1}")
    return pipeline.build(ROOT, manager=manager)


def messages(result: pipeline.BuildResult, severity: str = "error") -> list[str]:
    return [f"{d.code} {d.message}" for d, _ in result.diagnostics if d.severity == severity]


def test_unknown_item_is_an_error_not_an_addition() -> None:
    result = build_with(_Plugin(policyc_remove_items=lambda city: [RemoveItem(number=9)]))
    assert any(m.startswith("X312 plugin test-plugin-1, RemoveItem: no item 9")
               for m in messages(result))
    assert "jilin/test-city-2026" not in {p.name for p in result.packs}


def test_two_plugins_on_one_item_conflict() -> None:
    first = _Plugin(policyc_item_points=lambda city: [ItemPoints(number=1, points=100)])
    second = _Plugin(policyc_item_points=lambda city: [ItemPoints(number=1, points=100)])
    result = build_with(first, second)
    assert any("X306 plugins test-plugin-1, test-plugin-2 all override item 1" in m
               for m in messages(result))


def test_precedence_settles_a_conflict() -> None:
    """The plugin declaring precedence wins (a warning names both); 100 points kept."""
    first = _Plugin(policyc_item_points=lambda city: [ItemPoints(number=1, points=100,
                                                                 precedence=True)])
    second = _Plugin(policyc_item_points=lambda city: [ItemPoints(number=1, points=90)])
    result = build_with(first, second)
    assert result.ok, messages(result)
    assert any(m.startswith("W307 ") and "test-plugin-1 takes precedence over plugin "
               "test-plugin-2 for item 1" in m for m in messages(result, "warning"))
    assert "jilin/test-city-2026" in {p.name for p in result.packs}


def test_totals_still_add_up_after_overrides() -> None:
    """JL-8: a city moving item 1 to 90 without another item leaves 90, not 100."""
    result = build_with(_Plugin(policyc_item_points=lambda city: [ItemPoints(1, 90)]))
    assert any("deduction items add up to 90; framework jilin fixes them at 100" in m
               for m in messages(result))


def test_a_plugin_that_raises_is_named_with_its_hook() -> None:
    def broken(city: CityStandard) -> list[RemoveItem]:
        raise ValueError("spreadsheet not found")

    result = build_with(_Plugin(policyc_remove_items=broken))
    assert any(m == "X302 plugin test-plugin-1, hook policyc_remove_items, raised "
               "ValueError: spreadsheet not found" for m in messages(result))


def test_a_plugin_that_returns_nonsense_is_named_with_its_hook() -> None:
    result = build_with(_Plugin(policyc_item_points=lambda city: "item 1: 90"))
    assert any(m.startswith("X303 plugin test-plugin-1, hook policyc_item_points, returned "
                            "'item 1: 90'; expected a list of ItemPoints")
               for m in messages(result))


def test_a_syntax_error_in_a_plugins_item_points_into_its_text() -> None:
    from policy_dsl.plugin import AddItem

    bad = _Plugin(policyc_add_items=lambda city: [AddItem("扣分项", 'item 4 "x" 5 { award 5 }')])
    result = build_with(bad)
    assert any(d.code == "P100" and d.span.file == "test-plugin-1 (policyc_add_items)"
               for d, _ in result.diagnostics)


def test_a_city_over_a_base_no_rule_file_builds_is_x305() -> None:
    orphan = CityStandard(base="jilin/nowhere-2026", name="orphan", title="t", version=2026,
                          effective_from=dt.date(2026, 1, 1))
    manager = plugins.plugin_manager([], ROOT, entry_points=False)
    manager.register(_Plugin(policyc_city_standards=lambda: [orphan]), name="orphan-city")
    result = pipeline.build(ROOT, manager=manager)
    assert any(m.startswith("X305 plugin orphan-city: city standard orphan names base pack "
                            "'jilin/nowhere-2026', which no rule file builds")
               for m in messages(result)), messages(result)


def test_an_added_item_with_a_number_in_use_is_x313() -> None:
    from policy_dsl.plugin import AddItem

    added = 'item 1 "新增" 5 { basis "示例" award 5 "示例" }'
    result = build_with(_Plugin(policyc_add_items=lambda city: [AddItem("扣分项", added)]))
    assert any(m.startswith("X313 plugin test-plugin-1, AddItem: item 1 exists already")
               for m in messages(result)), messages(result)


def test_a_replacing_item_numbered_differently_is_x314() -> None:
    from policy_dsl.plugin import ReplaceItem

    new = 'item 7 "替换" 5 { basis "示例" award 5 "示例" }'
    result = build_with(_Plugin(policyc_replace_items=lambda city: [ReplaceItem(1, new)]))
    assert any(m.startswith("X314 ") and "numbered 7, not 1" in m
               for m in messages(result)), messages(result)


def test_a_plugin_warning_about_several_packs_is_shown_once_with_them() -> None:
    """A bonus limit of 12 for every city: W301 (JL-8 advises 10) is found in each city
    pack, and shown once, naming both packs."""
    from policy_dsl.plugin import BonusLimit

    second_city = CityStandard(base=CITY.base, name="test_town", title="t",
                               version=CITY.version, effective_from=CITY.effective_from)
    manager = plugins.plugin_manager([], ROOT, entry_points=False)
    manager.register(_Plugin(policyc_city_standards=lambda: [CITY, second_city]),
                     name="test-city")
    manager.register(_Plugin(policyc_bonus_limit=lambda city: [BonusLimit(points=12)]),
                     name="test-plugin-1")
    result = pipeline.build(ROOT, manager=manager)
    repeated = [d for d, _ in result.diagnostics if d.code == "W301"]
    assert len(repeated) == 2
    shown = [(d, packs) for d, _, packs in pipeline.grouped_warnings(result.diagnostics)
             if d.code == "W301"]
    assert [sorted(packs) for _, packs in shown] == [["jilin/test-city-2026",
                                                      "jilin/test-town-2026"]]
    assert shown[0][0].message.startswith("the standard's bonus limit is 12")


def test_a_misspelt_hook_is_rejected() -> None:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)

    class Misspelt:
        @hookimpl
        def policyc_item_point(self, city: CityStandard) -> None:
            return None

    manager.register(Misspelt(), name="misspelt")
    with pytest.raises(pluggy.PluginValidationError):
        manager.check_pending()


def test_plugins_load_from_an_installed_package_entry_point(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """A city's IT team ships its plugin as a package with an entry point in the
    `policy_dsl.plugins` group; `policyc build` finds it like plugins/."""
    (tmp_path / "city_plugin_demo.py").write_text(textwrap.dedent('''
        import datetime as dt
        from policy_dsl.plugin import CityStandard, hookimpl

        @hookimpl
        def policyc_city_standards():
            return [CityStandard(base="jilin/pharmacy-2026", name="demo_pharmacy",
                                 title="演示（测试用）", version=2026,
                                 effective_from=dt.date(2026, 1, 1))]
    '''), encoding="utf-8")
    dist = tmp_path / "city_plugin_demo-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: city-plugin-demo\n"
                                   "Version: 0.1\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[policy_dsl.plugins]\ndemo = city_plugin_demo\n",
                                           encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    manager = plugins.plugin_manager([], ROOT, entry_points=True)
    result = pipeline.build(ROOT, manager=manager)
    assert "jilin/demo-pharmacy-2026" in {p.name for p in result.packs}
    sys.modules.pop("city_plugin_demo", None)


# ---------------------------------------------------------------- every hook documented, tested

HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("policyc_"))


def test_every_hook_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [hook for hook in HOOKS if f"`{hook}" not in readme] == []


def test_every_hook_is_exercised_by_the_example_plugins() -> None:
    used = set()
    for path in (ROOT / "plugins").glob("*.py"):
        used |= set(re.findall(r"def (policyc_\w+)", path.read_text(encoding="utf-8")))
    assert sorted(used) == HOOKS


def test_points_that_are_not_a_number_are_named() -> None:
    result = build_with(_Plugin(policyc_item_points=lambda city: [ItemPoints(1, "ninety")]))
    assert any(m.startswith("X304 plugin test-plugin-1, ItemPoints: 'ninety' is not a number")
               for m in messages(result))


def test_a_city_name_cannot_carry_code() -> None:
    manager = plugins.plugin_manager([], ROOT, entry_points=False)
    bad = CityStandard(base="jilin/pharmacy-2026", name='x"; import os #', title="t",
                       version=2026, effective_from=dt.date(2026, 1, 1))
    manager.register(_Plugin(policyc_city_standards=lambda: [bad]), name="bad-city")
    result = pipeline.build(ROOT, manager=manager)
    assert any(m.startswith("X311 plugin bad-city: a city standard's name is lower-case ASCII")
               for m in messages(result))
    assert all("import os" not in pack.module for pack in result.packs)
