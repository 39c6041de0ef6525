"""Diagnostics in Chinese, all of them (issue 9: `--lang zh|en`).

`policyc check --lang zh` on every broken rule file under tests/ prints no English sentence
where a Chinese one is due: messages, hints and related notes are Chinese; what stays as it is
are the codes, names, numbers, file positions and quoted source. Every registered code has a
Chinese title and Chinese message templates, and the templates of messages the broken files do
not bring out are checked against messages as the checks compose them (`SAMPLES`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import ROOT
from test_cli import policyc

from policy_dsl.cli import cli
from policy_dsl.compiler import codes

RULE_FILES = sorted([*(ROOT / "tests" / "broken").glob("*.policy"),
                     *(ROOT / "tests" / "lints").glob("*.policy")])
FINDING = re.compile(r"^(?:\S+:\d+:\d+: (?:错误|警告) [A-Z]\d{3}: (?P<message>.*)"
                     r"|  提示: (?P<hint>.*)|  \S+:\d+:\d+: (?P<related>.*))$")
# What may stay as written: quoted source and names, backquoted commands, file positions.
QUOTED = re.compile(r"“[^”]*”|'[^']*'|\"[^\"]*\"|`[^`]*`|「[^」]*」|\S+\.policy:\d+:\d+"
                    r"|^改为：.*")  # the hint that shows the line fixed
ENGLISH = re.compile(r"[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,}){2,}")


def english_left(text: str) -> str | None:
    """A run of three English words outside quotes, or None."""
    found = ENGLISH.search(QUOTED.sub(" ", text))
    return found.group(0) if found else None


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_check_in_chinese_prints_no_english_sentence(path: Path) -> None:
    run = CliRunner().invoke(cli, ["check", "--root", str(ROOT), "--lang", "zh",
                                   str(path.relative_to(ROOT))])
    assert run.exit_code in (0, 1), run.output
    assert run.exception is None or isinstance(run.exception, SystemExit), run.output
    shown = [m for m in map(FINDING.match, run.stdout.splitlines()) if m]
    assert shown or path.name.startswith("clean-"), run.stdout
    for match in shown:
        text = match.group("message") or match.group("hint") or match.group("related") or ""
        assert english_left(text) is None, (path.name, text)


def test_the_same_files_in_english_keep_their_english() -> None:
    run = policyc("check", "--lang", "en", "tests/broken/c208-cap-larger-than-item.policy")
    assert "error C208: the cap 6 is larger than the 5 points of item 1" in run.stdout


def test_every_code_has_both_titles_and_chinese_messages() -> None:
    for entry in codes.CODES.values():
        assert entry.summary and entry.summary_zh, entry.code
        assert re.search(r"[\u4e00-\u9fff]", entry.summary_zh), entry.code
        assert codes.MESSAGES_ZH.get(entry.code), f"{entry.code} has no Chinese messages"


# (code, the English message as the check composes it, its Chinese) for messages the broken
# files do not bring out; the arithmetic of each is the check's own.
SAMPLES = [
    ("P000", "cannot read the file (No such file or directory)",
     "无法读取该文件（No such file or directory）"),
    ("P100", "the file ends too early; expected one of 'cap', a number",
     "文件提前结束；应为 以下之一：'cap', 数字"),
    ("P200", "'grade' is given twice in framework jilin", "“grade”在框架 jilin 中写了两次"),
    ("P200", "fact 'rate' has two ranges", "事实“rate”写了两个取值范围"),
    ("P200", "item 3 has two 'method' texts", "项目 3 有两段“method”文字"),
    ("P200", "item 3 caps its deductions twice", "项目 3 写了两次扣分上限"),
    ("C201", "grade 优 is declared twice", "等次“优”重复声明"),
    ("C201", "name 'high' appears twice in enum grade_level",
     "名称“high”在 enum grade_level 中出现了两次"),
    ("C205", "the step is a percent, but must be a number like the value it goes with",
     "步长是百分比，但应与比较的值一致，是数字"),
    ("C205", "a 'when' condition needs a bool, but this is a number",
     "“when”条件需要是非值，但这里是数字"),
    ("C205", "cannot add a percent and a number", "不能把百分比和数字相加"),
    ("C205", "count() needs a list or a set, not percent", "count() 需要列表或集合，不能是百分比"),
    ("C205", "'is high' tests an enum value, not number", "“is high”用于检验枚举值，不能用于数字"),
    ("C208", "the deduction cap 6 is lar"
             "ger than item 2's 5 points", "扣分上限 6 大于项目 2 的分值 5"),
    ("C212", "'total' cannot name a fact: it is reserved", "“total”是保留字，不能用作事实名称"),
    ("C212", "'max' is a built-in name and cannot name a derived value",
     "“max”是内置名称，不能用作派生值名称"),
    ("C218", "'growth' takes 2 argument(s), not 1", "函数“growth”需要 2 个参数，而不是 1 个"),
    ("C219", "pack suzhou/inpatient-2023 is also built from regions/suzhou/a.policy",
     "规则包 suzhou/inpatient-2023 也由 regions/suzhou/a.policy 生成"),
    ("C221", "the framework declares no grades", "框架没有声明任何等次"),
    ("C226", "'c' is not an entry of a list here", "“c”在此处不是列表中的条目"),
    ("C230", "all items add up to 105, not the total 110",
     "全部项目分值之和为 105，不等于总分 110"),
    ("C231", "bonus items add up to 12, above the framework's 10 (第八条) [JL-8]",
     "加分项合计 12，超过框架规定的 10（第八条）[JL-8]"),
    ("C237", "'level' is grade_level: only numbers and percents take a range",
     "“level”是 grade_level：只有数字和百分比可以写取值范围"),
    ("C242", "a step must be larger than 0", "步长必须大于 0"),
    ("C243", "a tenure of 30 months is more than 12", "履约期限 30 个月，超过 12 个月"),
    ("C245", "a rank needs a number or a percent, not bool", "排名需要数字或百分比，不能是是非值"),
    ("C246", "'entries from panel' n"
             "eeds a list of entries", "“entries from panel”需要一个条目列表"),
    ("C299", "internal fault while checking this file (KeyError: 'x')",
     "检查此文件时编译器内部出错（KeyError: 'x'）"),
    ("B501", "no standard 'model_pharmacie' to base changchun on in region jilin",
     "地区 jilin 中没有可作为 changchun 基础的标准“model_pharmacie”"),
    ("B502", "standard a is based on itself through the standards it names: a (x.policy) -> "
     "b (y.policy)", "标准 a 经由它所指的标准以自身为基础：a (x.policy) -> b (y.policy)"),
    ("B503", "medical_inpatient has no item 99", "基础标准 medical_inpatient 没有项目 99"),
    ("B504", "medical_inpatient has no fact 'complaint'",
     "基础标准 medical_inpatient 没有事实“complaint”"),
    ("B505", "fact 'rate' is removed but item 2, 3 still uses it",
     "事实“rate”已删除，但项目 2, 3 仍在使用它"),
    ("B506", "item 3's points is changed twice (also on line 7)",
     "项目 3 的 points 被修改了两次（另见第 7 行）"),
    ("B508", "'inpatient' names several standards: a, b", "“inpatient”对应多个标准：a, b"),
    ("B509", "medical_inpatient declares fact 'rate' already",
     "基础标准 medical_inpatient 已声明事实“rate”"),
    ("B510", "'remove item' changes a base standard's item or fact, but standard demo is not "
     "based on another", "“remove item”修改的是基础标准的项目或事实，但标准 demo 没有声明基础标准"),
    ("X300", "plugin plugins/x.py cannot be loaded: raised ImportError: no module x",
     "插件 plugins/x.py 无法加载：抛出了 ImportError：no module x"),
    ("X302", "plugin plugins/x.py, hook policyc_item_points, raised RuntimeError: boom",
     "插件 plugins/x.py 的钩子 policyc_item_points：抛出了 RuntimeError：boom"),
    ("X308", "plugin plugins/x.py, hook policyc_item_points, did not finish running it within "
     "5 s (abandoned)", "插件 plugins/x.py 的钩子 policyc_item_points：5 秒内未完成（已放弃）"),
    ("X303", "plugin plugins/x.py, hook policyc_item_points, returned a dict; expected a list "
     "of ItemPoints", "插件 plugins/x.py 的钩子 policyc_item_p"
                      "oints 返回了 a dict；应返回 ItemPoints 的列表"),
    ("X306", "plugins a, b all override item 3", "插件 a, b 都覆盖了项目 3"),
    ("X309", "plugin plugins/x.py: function policyc_city_standards is named like a hook but is "
     "not marked @hookimpl, so it would never be called",
     "插件 plugins/x.py：函数 policyc_city_stand"
     "ards 的名称像钩子，但没有标注 @hookimpl，因此永远不会被调用"),
    ("X312", "plugin x, RemoveItem: no item 9 in medical_inpatient (an override names an "
     "existing item)", "plugin x, RemoveItem：基础标准 medic"
                       "al_inpatient 中没有项目 9（覆盖只能指向已有项目）"),
    ("W307", "plugin a takes precedence over plugin b for the bonus limit",
     "插件 a 对加分上限的覆盖优先于插件 b"),
    ("L401", "the reason text says 5分, but no rule of item 2 uses a number at all",
     "理由文字写的是 5分，但项目 2 没有任何规则使用数字"),
    ("L404", "part 甲 can earn at most 1 of its 2 points (best case: a = true)",
     "分项“甲”最多只能得 1 分（满分 2；最好的情形：a = true）"),
    ("L409", "suzhou/inpatient version 2024 is in force from 2024-01-01, but version 2023 "
     "(regions/suzhou/inpatient-2023.policy:4) is in force 2023-01-01 to open: the periods "
     "overlap", "suzhou/inpatient 的 2024 版自 2024-01-01 起生效，但 2023 版"
     "（regions/suzhou/inpatient-2023.policy:4）的有效期为 2023-01-01 至 长期：两个有效期重叠"),
    ("K501", "unknown key 'expectt' in a case; expected expect, facts, name",
     "用例中有未知的键 'expectt'；应为 expect, facts, name 之一"),
    ("K501", "'catalogue_drug_shares' is not a fact of this pack (see `policyc describe --pack "
     "...`)", "'catalogue_drug_shares' 不是该规则包的事实（见 `policyc describe --pack ...`）"),
]


@pytest.mark.parametrize(("code", "english", "chinese"), SAMPLES,
                         ids=[f"{code}-{i}" for i, (code, _, _) in enumerate(SAMPLES)])
def test_a_message_as_the_check_composes_it_reads_in_chinese(code: str, english: str,
                                                             chinese: str) -> None:
    assert codes.message_in("zh", code, english) == chinese
    # what the OS, Python or a plugin says is quoted as it is
    assert english_left(chinese) is None or code in ("P0"
                                                     "00", "C299", "X303", "X312", "K501"), chinese


HINTS = [
    ("grades: 优, 良", "已有等次：优, 良"),
    ("items: 1, 2, 3", "已有项目：1, 2, 3"),
    ("did you mean policyc_city_standards?", "是不是要写 policyc_city_standards？"),
    ("share(part, whole): part as a percent of whole",
     "用法：share(part, whole): part as a percent of whole"),
    ("an award is missing or too small, or the part's points are too high",
     "缺少加分规则或分值太小，或分项的分值定得太高"),
    ("end version 2023 the day before 2024-01-01, or start this one later",
     "让 2023 版在 2024-01-01 前一天失效，或推迟本版的生效日期"),
    ("`replace item 3 ...` changes it", "要修改它，请用 `replace item 3 ...`"),
    ("one of them may declare precedence=True to take precedence",
     "其中一个可以声明 precedence=True 以优先"),
]


@pytest.mark.parametrize(("english", "chinese"), HINTS)
def test_hints_read_in_chinese(english: str, chinese: str) -> None:
    assert codes.hint_in("zh", english) == chinese
