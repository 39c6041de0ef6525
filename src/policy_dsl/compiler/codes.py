"""The registry of diagnostic codes: one code, one check (as ruff's `codes.rs`).

Every finding the compiler reports carries one of these codes. Each entry says how severe the
finding is, what it means in one line (in English and Chinese: the shipped rule files' authors
read Chinese), and shows a wrong and a right example. `policyc explain-code CODE` prints an
entry; `docs/diagnostics.md` is generated from this module (`policyc explain-code --all
--markdown > docs/diagnostics.md`), and a test keeps it current.

Rule-file examples are edits of a small base file (BASE_STANDARD or BASE_FRAMEWORK): `right`
is text of the base, and `wrong` replaces it. A test checks every such example: the wrong
edit gives exactly its code, the right one gives none. Plugin examples (Python) are shown
only; their codes are raised by the plugin tests.

Code families: P parse (the text is not a rule file), C check (the rule file says something
impossible or inconsistent), X/W plugins (errors / warnings about city plugins), L lints.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]
Lang = Literal["zh", "en"]
Base = Literal["standard", "framework", "under-framework", "plugin", "file"]

LANGS: tuple[Lang, ...] = ("zh", "en")


@dataclass(frozen=True)
class Code:
    code: str
    severity: Severity
    summary: str  # one line, English
    summary_zh: str  # one line, Chinese
    wrong: str = ""
    right: str = ""
    base: Base = "standard"
    note: str = ""  # more about the check (English), shown by explain-code

    def title(self, lang: Lang) -> str:
        return self.summary_zh if lang == "zh" else self.summary

    @property
    def family(self) -> str:
        return FAMILIES[self.code[0]]


FAMILIES = {
    "P": "parse: the text is not a rule file",
    "C": "check: the rule file says something impossible or inconsistent",
    "X": "plugins: a city plugin cannot be used",
    "W": "plugins and frameworks: warnings",
    "L": "lints: what builds but is very likely a mistake",
    "K": "case files: a regression case file does not fit its pack",
    "B": "reuse: a derived standard's changes, or items taken from another standard, do not fit",
}


# A small standard that checks clean; examples edit one piece of it.
BASE_STANDARD = """\
standard demo {
  region example "示例市"
  title "示例标准（示例，非真实政策）"
  version 2024
  effective 2024-01-01 to open
  applies to "示例机构"
  total 10
  rescale to 100
}
enum grade_level "级别" { high "高" low "低" }
record complaint "投诉" {
  deduction "扣分": number in 0..10
}
fact level "级别": grade_level
fact rate "比率": percent in 0..100
fact incidents "次数": count
fact flagged "标记": bool
fact complaints "投诉": list of complaint
fact extra "附加分": number in 0..5 optional
let drug_share "占比" = rate
cohort peer_rate "同级均值" = mean rate by level at least 3
category "一、示例" 10 {
  item 1 "示例项目" 5 {
    basis "示例依据"
    part "比率" 2 {
      award tiers drug_share { >= 90%: 2, >= 80%: 1, else: 0 } "比率分档"
    }
    award 3 "基础分"
    deduct 1 per incidents cap 3 "每次扣1分"
    zero when flagged and level is high "标记即不得分"
  }
  item 2 "第二项" 5 {
    basis "示例依据"
    award lookup level { high: 4, low: 3 } "按级别"
    award extra when given extra cap 1 "附加分"
    deduct for each c in complaints: c.deduction cap 5 "投诉扣分"
    deduct 0.5 per 1% of rate below peer_rate steps floor cap 2 "低于同级均值"
  }
}
"""

# A small framework that checks clean.
BASE_FRAMEWORK = """\
framework demo_fw {
  region example "示例省"
  title "示例框架（示例）"
  effective 2026-01-01 to open
  deductions total 10 "扣分项总分10分"
  bonus limit 1 advisory "加分项原则上不超过1分"
  composite own 70% subordinates 30% "自身70%，下属30%"
  grade "好" from 8 refund 100% renewal direct "8分以上"
  grade "中" from 6 refund 100% minus 2% per point below 8 renewal review "6分以上"
  grade "差" from 0 refund 0% renewal none "6分以下"
  downgrade national 2 provincial 1 "通报批评降档"
  veto grade "差" "一票否决"
  tenure 6 months "不满6个月的，纳入下一年度"
  terminated refund 0% "解除协议"
  exit with violations refund as "中" at 6 "按“中”最低比例返还"
  exit without violations refund 100% "主动退出"
}
"""

# BASE_STANDARD under BASE_FRAMEWORK.
UNDER_FRAMEWORK = BASE_STANDARD.replace("  rescale to 100\n", "  framework demo_fw\n")


def base_text(base: Base) -> str:
    return {"standard": BASE_STANDARD, "framework": BASE_FRAMEWORK,
            "under-framework": UNDER_FRAMEWORK}.get(base, "")


def _codes(*entries: Code) -> dict[str, Code]:
    table: dict[str, Code] = {}
    for entry in entries:
        assert entry.code not in table, entry.code
        table[entry.code] = entry
    return table


CODES: dict[str, Code] = _codes(
    # ------------------------------------------------------------ P: parse
    Code("P000", "error", "the rule file cannot be read", "无法读取规则文件", base="file",
         note="The file is missing, unreadable or a directory. Nothing else is checked."),
    Code("P001", "error", "the rule file is not UTF-8 text", "规则文件不是 UTF-8 编码",
         base="file", wrong="(bytes of a GBK-encoded file)", right="(the same text saved as "
         "UTF-8)", note="Convert files saved as GBK or GB18030 to UTF-8 in the editor."),
    Code("P100", "error", "syntax error: the text does not follow the rule language",
         "语法错误：文本不符合规则语言", wrong='    award 3 基础分', right='    award 3 "基础分"',
         note="The parser reports every syntax error of a file (up to 50), each at its line, "
         "with what was expected there, then skips to the next line it can resume at."),
    Code("P101", "error", "nested too deep", "嵌套层数过多",
         wrong="    zero when " + "not " * 300 + "flagged and level is high \"标记即不得分\"",
         right='    zero when flagged and level is high "标记即不得分"',
         note="Blocks, rules and expressions nest at most a few hundred levels; split a long "
         "expression into derived values (let)."),
    Code("P102", "error", "unknown escape in a quoted text", "引号文本中有未知的转义",
         wrong='    award 3 "基础\\分"', right='    award 3 "基础分"',
         note='A quoted text admits \\" (a quote), \\\\ (a backslash) and \\n (a new line).'),
    Code("P103", "error", "a number has too many digits", "数字位数过多",
         wrong="    award 3" + "0" * 40 + ' "基础分"', right='    award 3 "基础分"'),
    Code("P104", "error", "full-width punctuation outside a quoted text",
         "引号外使用了全角标点",
         wrong='    award 3 “基础分”', right='    award 3 "基础分"',
         note="Chinese input methods type “ ” ： ， （ ） 【 】 ； — outside quoted texts the "
         "rule language needs the ASCII character; the hint shows the line fixed."),
    Code("P105", "error", "a block opened with '{' is never closed", "以“{”开始的块没有闭合",
         wrong='    zero when flagged and level is high "标记即不得分"\n\n  item 2',
         right='    zero when flagged and level is high "标记即不得分"\n  }\n  item 2',
         note="Reported at the line where the unclosed block was opened (the item, part or "
         "category), not at the end of the file."),
    Code("P200", "error", "a clause or option is given twice", "同一子句或选项写了两次",
         wrong='  version 2024\n  version 2025', right="  version 2024"),
    Code("P201", "error", "not a calendar date", "不是有效的日历日期",
         wrong="  effective 2024-02-30 to open", right="  effective 2024-01-01 to open"),
    Code("P202", "error", "a whole number too large for its place", "整数过大",
         base="framework", wrong='  tenure 6000000000 months "不满6个月的，纳入下一年度"',
         right='  tenure 6 months "不满6个月的，纳入下一年度"'),
    # ------------------------------------------------------------ C: check
    Code("C201", "error", "a name is declared twice", "名称重复声明",
         wrong='fact incidents "次数": count\nfact incidents "次数2": count',
         right='fact incidents "次数": count',
         note="The second declaration is reported; the first is a related location."),
    Code("C202", "error", "two items have the same number", "两个评价项目编号相同",
         wrong='  item 1 "第二项" 5 {', right='  item 2 "第二项" 5 {'),
    Code("C203", "error", "unknown name (a fact, derived or cohort value)", "未知的名称",
         wrong="    deduct 1 per incident cap 3 \"每次扣1分\"",
         right="    deduct 1 per incidents cap 3 \"每次扣1分\"",
         note="The hint suggests the closest declared name (did you mean ...)."),
    Code("C204", "error", "a fact is declared but never used", "事实已声明但从未使用",
         wrong='fact flagged "标记": bool\nfact spare "备用": bool',
         right='fact flagged "标记": bool'),
    Code("C205", "error", "a value of the wrong type", "值的类型不对",
         wrong="{ >= 90: 2, >= 80%: 1, else: 0 }", right="{ >= 90%: 2, >= 80%: 1, else: 0 }",
         note="A percent where a number is expected, an enum compared with a number, "
         "arithmetic on texts ... the message names both types."),
    Code("C206", "error", "an enum has no such member", "枚举没有该成员",
         wrong="level is highest", right="level is high"),
    Code("C207", "error", "a lookup gives no value for some members of its enum",
         "查表未覆盖枚举的全部成员",
         wrong="lookup level { high: 4 }", right="lookup level { high: 4, low: 3 }"),
    Code("C208", "error", "a cap larger than the points it caps", "封顶值大于所在项目或部分的分值",
         wrong="deduct 1 per incidents cap 6", right="deduct 1 per incidents cap 3"),
    Code("C209", "error", "tiers out of order: a later tier can never be reached",
         "分档顺序错误：后面的档位永远达不到",
         wrong="{ >= 80%: 1, >= 90%: 2, else: 0 }", right="{ >= 90%: 2, >= 80%: 1, else: 0 }"),
    Code("C210", "error", "an item has no legal basis", "评价项目缺少指标依据",
         wrong='    part "比率" 2 {', right='    basis "示例依据"\n    part "比率" 2 {',
         note="Every item cites its basis (指标依据); the wrong example has none."),
    Code("C211", "error", "a category's items do not add up to its points",
         "类别下各项目分值之和不等于类别分值",
         wrong='  item 1 "示例项目" 6 {', right='  item 1 "示例项目" 5 {'),
    Code("C212", "error", "a name that cannot be used (reserved, built-in or not lower case)",
         "名称不可用（保留字、内置名或非小写）",
         wrong='fact Flagged "标记": bool', right='fact flagged "标记": bool'),
    Code("C213", "error", "an optional fact used where it may be missing",
         "可选事实在可能缺失处被直接使用",
         wrong="award extra cap 1", right="award extra when given extra cap 1"),
    Code("C214", "error", "unknown type", "未知的类型",
         wrong='fact complaints "投诉": list of complain',
         right='fact complaints "投诉": list of complaint'),
    Code("C215", "error", "the header of a standard or framework lacks a clause",
         "标准或框架的表头缺少子句",
         wrong='  applies to "示例机构"\n', right='  applies to "示例机构"\n  total 10\n'),
    Code("C216", "error", "a refund ratio outside 0%..100%", "返还比例不在 0%–100% 之间",
         base="framework", wrong="  terminated refund 120%", right="  terminated refund 0%"),
    Code("C218", "error", "unknown function, or the wrong number of arguments",
         "未知的函数或参数个数不对",
         wrong="let drug_share \"占比\" = maxi(rate, 0%)",
         right="let drug_share \"占比\" = rate"),
    Code("C219", "error", "two rule files build the same pack", "两个规则文件生成同一个规则包",
         base="file", note="Two standards with the same name, version and region; give one "
         "another name or version. Found only when building several files together."),
    Code("C220", "error", "unknown framework", "未知的框架", base="under-framework",
         wrong="  framework demo_framework", right="  framework demo_fw"),
    Code("C221", "error", "a framework lacks a clause it needs (grades, terminated, exit ...)",
         "框架缺少必需的子句", base="framework",
         wrong="  exit with", right='  terminated refund 0% "解除协议"\n  exit with',
         note="The right example is the framework with its 'terminated refund' clause; "
         "every framework says what termination and exit refund."),
    Code("C222", "error", "'given' tests a fact, and this name is not one",
         "“given”只能用于事实", wrong="when given drug_share", right="when given extra"),
    Code("C223", "error", "'full_points' (an item's points) used outside an item",
         "“full_points”（项目满分）在项目之外使用",
         wrong='let drug_share "占比" = rate * full_points', right='let drug_share "占比" = rate'),
    Code("C224", "error", "a derived value used before it is derived", "派生值在定义之前被使用",
         wrong='let drug_share "占比" = rate\nlet base_share "基准" = later_share\n'
         'let later_share "后" = rate',
         right='let drug_share "占比" = rate',
         note="Derived values (let) are computed in the order written; the wrong example uses "
         "later_share before its let."),
    Code("C225", "error", "a cohort value used outside the items", "同组值只能在评价项目中使用",
         wrong='let drug_share "占比" = peer_rate', right='let drug_share "占比" = rate'),
    Code("C226", "error", "a record has no such field, or the name is not a list entry here",
         "记录没有该字段", wrong="c.deductions cap 5", right="c.deduction cap 5"),
    Code("C227", "error", "a member appears twice in one lookup", "查表中同一成员出现两次",
         wrong="lookup level { high: 4, low: 3, high: 2 }",
         right="lookup level { high: 4, low: 3 }"),
    Code("C228", "error", "no grade has this name", "没有这个名称的等次", base="framework",
         wrong='  veto grade "极差" "一票否决"', right='  veto grade "差" "一票否决"'),
    Code("C229", "error", "grades out of order, or a score outside its grade's band",
         "等次顺序错误，或分数不在该等次范围内", base="framework",
         wrong='  grade "中" from 9 refund', right='  grade "中" from 6 refund'),
    Code("C230", "error", "the categories do not add up to the standard's total",
         "各类别分值之和不等于总分", wrong="  total 12", right="  total 10"),
    Code("C231", "error", "the standard's bonus is above its framework's binding bonus limit",
         "加分超过框架规定的加分上限", base="file",
         note="A framework's 'bonus limit N advisory' gives W301 instead; the rule language "
         "has no binding form yet (the AST has it), so this is raised only by a framework built "
         "in code. A standard's own 'bonus limit' caps the bonus items together when scoring."),
    Code("C232", "error", "the parts of an item add up to more than the item",
         "项目下各部分分值之和超过项目分值",
         wrong='    part "比率" 6 {', right='    part "比率" 2 {'),
    Code("C233", "error", "deduction items do not add up to the framework's total",
         "扣分项合计不等于框架规定的总分", base="file",
         wrong="  deductions total 100   # framework\n  total 90              # standard",
         right="  deductions total 100   # framework\n  total 100             # standard"),
    Code("C234", "error", "the composite's weights do not add up to 100%",
         "综合得分的权重之和不是 100%", base="framework",
         wrong="  composite own 70% subordinates 20%",
         right="  composite own 70% subordinates 30%"),
    Code("C235", "error", "the effective period ends before it starts", "有效期的结束早于开始",
         wrong="  effective 2024-01-01 to 2023-12-31", right="  effective 2024-01-01 to open"),
    Code("C236", "error", "'rescale to' needs a positive number of points",
         "“rescale to”需要正的分值", wrong="  rescale to 0", right="  rescale to 100"),
    Code("C237", "error", "a fact's range is on a type without order, or runs backwards",
         "事实的取值范围用在无序类型上，或上下限颠倒",
         wrong='fact rate "比率": percent in 100..0', right='fact rate "比率": percent in 0..100'),
    Code("C238", "error", "a record field cannot be optional", "记录字段不能是可选的",
         wrong='  deduction "扣分": number in 0..10 optional',
         right='  deduction "扣分": number in 0..10'),
    Code("C239", "error", "a default must be a plain value", "默认值必须是一个简单的值",
         wrong='fact extra "附加分": number in 0..5 default rate',
         right='fact extra "附加分": number in 0..5 optional'),
    Code("C240", "error", "'required when' on a condition that cannot decide it",
         "“required when”的条件无法判定",
         wrong='fact extra "附加分": number in 0..5 required when extra > 1',
         right='fact extra "附加分": number in 0..5 optional',
         note="The condition may not use the fact itself or values derived from optional "
         "facts."),
    Code("C241", "error", "a fact that overrides a cohort value must be optional",
         "覆盖同组值的事实必须是可选的",
         wrong="mean rate by level at least 3 unless given incidents",
         right="mean rate by level at least 3"),
    Code("C242", "error", "a count or step out of range (at least 1, a step above 0)",
         "计数或步长超出范围", wrong="mean rate by level at least 0",
         right="mean rate by level at least 3"),
    Code("C243", "error", "a framework limit out of range (tenure, downgrade steps)",
         "框架中的期限或降档数超出范围", base="framework",
         wrong='  downgrade national 5 provincial 1', right='  downgrade national 2 provincial 1'),
    Code("C244", "error", "'given' on a fact that is always given", "对总是有值的事实使用了“given”",
         wrong='    award 3 when given incidents "基础分"', right='    award 3 "基础分"',
         note="Only optional facts can be missing; 'given incidents' is always true."),
    Code("C245", "error", "a cohort over values of the wrong type", "同组值的类型不对",
         wrong="mean level by level at least 3", right="mean rate by level at least 3"),
    Code("C246", "error", "a rule counts steps or entries over a value of the wrong type",
         "规则的步长或逐条计分用在了类型不对的值上",
         wrong="deduct for each c in level: c.deduction",
         right="deduct for each c in complaints: c.deduction"),
    Code("C299", "error", "internal fault of the compiler on this file", "编译器内部错误",
         base="file", note="A fault in policyc that this file brings out: report it with the "
         "file (POLICYC_DEBUG=1 shows the traceback). The build goes on with other files."),
    # ------------------------------------------------------------ B: based on (inherit.py)
    Code("B501", "error", "no standard of that name to base a standard on or take an item "
         "from", "找不到作为基础或引用来源的标准", base="file",
         wrong="standard changchun_pharmacy based on model_pharmacie {",
         right="standard changchun_pharmacy based on model_pharmacy {",
         note="A base is a standard of the same region by its name, or any pack by its pack "
         "name (suzhou/inpatient-2023)."),
    Code("B502", "error", "a standard is based on itself or takes an item from itself "
         "(directly or through others)", "标准以自身为基础或引用自身的项目（直接或间接）",
         base="file",
         wrong="standard a based on b { ... }\nstandard b based on a { ... }",
         right="standard a { ... }\nstandard b based on a { ... }"),
    Code("B503", "error", "a change names an item or category the base does not have",
         "修改指向基础标准中不存在的项目或类别", base="file",
         wrong="remove item 99", right="remove item 9"),
    Code("B504", "error", "a change names a fact the base does not have",
         "修改指向基础标准中不存在的事实", base="file",
         wrong="remove fact complaint", right="remove fact complaints"),
    Code("B505", "error", "a removed fact is still used", "删除的事实仍被使用", base="file",
         note="Remove or replace the items that use it too."),
    Code("B506", "error", "an item, fact or header field is changed twice",
         "同一项目、事实或表头字段被修改了两次", base="file",
         wrong="item 3 points 5\nitem 3 points 6", right="item 3 points 6"),
    Code("B508", "error", "the base's name matches several standards",
         "基础标准名称对应多个标准", base="file",
         wrong="based on inpatient", right="based on suzhou/inpatient-2023"),
    Code("B509", "error", "a new declaration, category or item takes a name or number the base "
         "has", "新增的声明、类别或项目与基础标准重名或重号", base="file",
         wrong='add to category "一、示例" { item 1 ... }',
         right='add to category "一、示例" { item 14 ... }'),
    Code("B510", "error", "a change of a base's item or fact in a standard not based on another",
         "未声明基础标准却修改基础标准的项目或事实", base="file",
         wrong="standard demo {\n  ...\n}\nremove item 3",
         right="standard demo based on model_pharmacy {\n  ...\n}\nremove item 3"),
    Code("B511", "error", "a taken item names an item its standard does not have",
         "引用的项目在来源标准中不存在", base="file",
         wrong="item 5 from inpatient item 16", right="item 5 from inpatient item 6",
         note="`item N from S item M` takes item M of standard S (named as in `based on`)."),
    Code("B512", "error", "a taken item's number is one the standard has already",
         "引用项目的编号与本标准已有的项目重复", base="file",
         wrong='item 4 "合理控制医疗费用" 8 { ... }\nitem 4 from inpatient item 6',
         right='item 4 "合理控制医疗费用" 8 { ... }\nitem 5 from inpatient item 6'),
    Code("B513", "error", "a taken item uses a fact or value the standard does not declare",
         "引用的项目使用了本标准未声明的事实或值", base="file",
         wrong="item 5 from inpatient item 6   # no `fact violations ...` in this file",
         right='fact violations "违法违规使用医保基金行为": list of violation\n'
         "item 5 from inpatient item 6",
         note="The standard that takes an item declares every fact, derived value and cohort "
         "value the item uses (and the enums and records of their types), so its inputs are "
         "read the same way; nothing is declared behind the author's back."),
    Code("B514", "error", "a taken item uses a fact or value the standard declares otherwise",
         "引用的项目所用的事实或值在本标准中的声明不同", base="file",
         wrong='fact nonstandard_code_rate "业务编码非标率": number\n'
         "item 7 from inpatient item 8",
         right='fact nonstandard_code_rate "业务编码非标率": percent in 0..100\n'
         "item 7 from inpatient item 8",
         note="Types, bounds, when a fact is required, its default, an enum's members, a "
         "record's fields and a derived or cohort value's definition must be the ones the item "
         "was written for; labels may differ."),
    Code("B515", "error", "`cite NEW for OLD` names a reading the taken item does not cite",
         "“cite … for …”中被替换的解读未被引用的项目引用", base="file",
         wrong="item 5 from inpatient item 6 cite SZ2-5 for SZ-5",
         right="item 5 from inpatient item 6 cite SZ2-5 for SZ-6"),
    # ------------------------------------------------------------ X, W: plugins
    Code("X300", "error", "a plugin cannot be loaded (its module fails at import)",
         "插件无法加载", base="plugin", wrong="import missing_module",
         right="from policy_dsl.plugin import hookimpl"),
    Code("X301", "error", "a hook implementation pluggy would refuse (unknown hook or "
         "parameter)", "插件的钩子名称或参数不存在", base="plugin",
         wrong="@hookimpl\ndef policyc_city_standard(): ...",
         right="@hookimpl\ndef policyc_city_standards(): ..."),
    Code("X302", "error", "a hook raised an exception", "插件钩子抛出异常", base="plugin",
         wrong="@hookimpl\ndef policyc_city_standards():\n    raise RuntimeError",
         right="@hookimpl\ndef policyc_city_standards():\n    return []"),
    Code("X303", "error", "a hook returned something of the wrong shape",
         "插件钩子的返回值形状不对",
         base="plugin", wrong="    return {'name': 'x'}", right="    return [CityStandard(...)]"),
    Code("X304", "error", "an override's points are not a number of points",
         "覆盖项的分值不是数字", base="plugin", wrong="ChangePoints(3, points=1.5)",
         right="ChangePoints(3, points='1.5')"),
    Code("X305", "error", "a city standard names a base pack no rule file builds",
         "城市标准的基础规则包不存在", base="plugin",
         wrong="CityStandard('changchun_pharmacy', base='jilin_pharmacy')",
         right="CityStandard('changchun_pharmacy', base='model_pharmacy')"),
    Code("X306", "error", "several plugins override the same thing", "多个插件覆盖了同一处",
         base="plugin"),
    Code("X308", "error", "a hook call took too long", "插件钩子调用超时", base="plugin",
         note="A hook call may take at most a few seconds (POLICYC_HOOK_SECONDS)."),
    Code("X309", "error", "a function named like a hook is not marked @hookimpl",
         "函数名像钩子却没有标注 @hookimpl", base="plugin",
         wrong="def policyc_city_standards(): ...",
         right="@hookimpl\ndef policyc_city_standards(): ..."),
    Code("X310", "error", "a city standard would build a pack that exists already",
         "城市标准生成的规则包名称已存在", base="plugin"),
    Code("X311", "error", "a city standard's name is not lower-case ASCII",
         "城市标准名称不是小写 ASCII", base="plugin",
         wrong="CityStandard('Changchun', ...)", right="CityStandard('changchun', ...)"),
    Code("X312", "error", "an override names an item or category the base does not have",
         "覆盖项指向基础标准中不存在的项目或类别", base="plugin",
         wrong="RemoveItem(9)", right="RemoveItem(3)"),
    Code("X313", "error", "an added item's number exists already in the base",
         "新增项目的编号在基础标准中已存在", base="plugin"),
    Code("X314", "error", "a replacing item is numbered differently from the item it replaces",
         "替换项目的编号与被替换项目不同", base="plugin"),
    # ------------------------------------------------------------ L: lints (compiler/lints.py)
    Code("L401", "warning", "a method, procedure or reason text states a number (with a unit) "
         "that the item's rules do not use", "说明文字中的数字（带单位）与规则不一致",
         base="file", wrong='method "占比低于60%的，扣1分"\ndeduct 1 when share < 70% "..."',
         right='method "占比低于70%的，扣1分"\ndeduct 1 when share < 70% "..."',
         note="Numbers with a unit (分, %, 元, 次) in the item's method and in reason texts. "
         "Examples: tests/lints/text-number-*.policy."),
    Code("L402", "warning", "an award (or a weighted score) can give more than the part or item "
         "it is in", "加分（或加权得分）可能超过所在部分或项目的分值", base="file",
         wrong='part "比率" 2 {\n  award 3 when flagged "..."\n}',
         right='part "比率" 2 {\n  award 2 when flagged "..."\n}',
         note="Found from the facts' declared bounds, with an input that shows it. Example: "
         "tests/lints/award-beyond-part.policy, weight-beyond-item.policy."),
    Code("L403", "warning", "an item's parts add up to less than the item's points",
         "项目下各部分分值之和小于项目分值", base="file",
         note="Example: tests/lints/parts-short-of-item.policy."),
    Code("L404", "warning", "no input lets an item or part reach its full points",
         "任何输入都无法让项目或部分得满分", base="file",
         note="Example: tests/lints/item-never-full.policy."),
    Code("L405", "warning", "an item always earns its full points: its deductions can never "
         "take anything", "项目总是得满分：扣分规则永远扣不到分", base="file",
         note="Example: tests/lints/item-never-loses.policy."),
    Code("L406", "warning", "a tier no input can reach, given the declared bounds",
         "在声明的取值范围内，任何输入都到不了的分档", base="file",
         wrong='fact rate "比率": percent in 0..100\n... tiers rate { > 100%: 2, else: 0 }',
         right='fact rate "比率": percent in 0..100\n... tiers rate { >= 90%: 2, else: 0 }',
         note="Examples: tests/lints/tier-*.policy."),
    Code("L407", "warning", "a comparison that no input can make true, given the declared "
         "bounds", "在声明的取值范围内永远不成立的比较", base="file",
         note="Example: tests/lints/comparison-beyond-bounds.policy."),
    Code("L408", "warning", "a cap that can never bind: what it caps never reaches it",
         "永远不起作用的封顶", base="file",
         note="Examples: tests/lints/rule-cap-never-binds.policy, deduction-cap-never-binds."),
    Code("L409", "error", "two versions of one standard are in force over overlapping periods",
         "同一标准的两个版本有效期重叠", base="file",
         wrong="effective 2024-01-01 to open      # version 2024\n"
         "effective 2025-01-01 to open      # version 2025",
         right="effective 2024-01-01 to 2024-12-31  # version 2024\n"
         "effective 2025-01-01 to open        # version 2025"),
    # ------------------------------------------------------------ K: case files
    Code("K501", "error", "a regression case file does not fit the pack built from its rule "
         "file", "回归测试用例文件与规则包不符", base="file",
         wrong="defaults:\n  catalogue_drug_shares: 96%", right="defaults:\n  "
         "catalogue_drug_share: 96%",
         note="`policyc check` reads the case files of the packs it builds (a fact the pack no "
         "longer has, an unknown key, a malformed value), against the pack just built, not "
         "generated/; the first mistake of each file, at its line."),
    Code("W301", "warning", "the standard's bonus exceeds the framework's advisory limit",
         "加分超过框架建议的上限", base="under-framework",
         wrong="  framework demo_fw\n  bonus limit 2\n", right="  framework demo_fw\n",
         note="Frameworks say bonus points are limited 'in principle' (原则上); a standard "
         "may go beyond, and is warned."),
    Code("W307", "warning", "one plugin takes precedence over another's override",
         "一个插件的覆盖优先于另一个插件", base="plugin"),
)


def lookup(code: str) -> Code | None:
    return CODES.get(code.strip().upper())


def register(entries: Iterable[Code]) -> None:
    """Add codes defined by another stage (the lints) to the registry."""
    for entry in entries:
        if entry.code in CODES and CODES[entry.code] != entry:
            raise ValueError(f"code {entry.code} is registered twice")
        CODES[entry.code] = entry


def language(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> Lang:
    """The language of messages: --lang, else POLICYC_LANG, else the locale (LC_ALL, then
    LC_MESSAGES, then LANG starting with zh: Chinese), else English."""
    env = os.environ if environ is None else environ
    for value in (explicit, env.get("POLICYC_LANG")):
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(variable)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


SEVERITY_WORDS: dict[Lang, dict[str, str]] = {
    "en": {"error": "error", "warning": "warning", "hint": "hint"},
    "zh": {"error": "错误", "warning": "警告", "hint": "提示"},
}


def explain(code: str, lang: Lang = "en") -> str:
    """The entry as `policyc explain-code CODE` prints it."""
    entry = CODES[code]
    lines = [f"{entry.code} ({entry.severity}): {entry.summary}", f"  {entry.summary_zh}", "",
             f"Family: {entry.family}."]
    if entry.note:
        lines += ["", entry.note]
    if entry.wrong:
        lines += ["", "Wrong:" if lang == "en" else "错误写法：", _indent(entry.wrong)]
    if entry.right:
        lines += ["", "Right:" if lang == "en" else "正确写法：", _indent(entry.right)]
    return "\n".join(lines) + "\n"


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in textwrap.dedent(text).splitlines())


def markdown() -> str:
    """docs/diagnostics.md: every code, by family."""
    out = ["# Diagnostic codes", "",
           "<!-- generated from src/policy_dsl/compiler/codes.py: do not edit; regenerate "
           "with `policyc explain-code --all --markdown > docs/diagnostics.md` -->", "",
           "Every finding of `policyc check` and `policyc build` has one of these codes "
           "(`policyc explain-code CODE` prints one). Rule-file examples are edits of the "
           "small standard and framework at the end of this page.", ""]
    for family, title in FAMILIES.items():
        entries = [c for c in CODES.values() if c.code.startswith(family)]
        if not entries:
            continue
        out += [f"## {family}: {title}", "", "| code | severity | summary | 说明 |",
                "|---|---|---|---|"]
        out += [f"| [{c.code}](#{c.code.lower()}) | {c.severity} | {c.summary} | "
                f"{c.summary_zh} |" for c in entries]
        out.append("")
        for c in entries:
            out += [f"### {c.code}", "", f"**{c.summary}** ({c.severity}) · {c.summary_zh}", ""]
            if c.note:
                out += [c.note, ""]
            language_tag = "python" if c.base == "plugin" else ""
            if c.wrong:
                out += ["Wrong:", "", f"```{language_tag}", textwrap.dedent(c.wrong), "```", ""]
            if c.right:
                out += ["Right:", "", f"```{language_tag}", textwrap.dedent(c.right), "```", ""]
    out += ["## The example files", "", "Standard (`BASE_STANDARD`):", "", "```",
            BASE_STANDARD.rstrip("\n"), "```", "", "Framework (`BASE_FRAMEWORK`):", "", "```",
            BASE_FRAMEWORK.rstrip("\n"), "```", ""]
    return "\n".join(out)


# ---------------------------------------------------------------- messages in Chinese
#
# Each code's messages in Chinese: the English message (as the check composes it, with the
# names and numbers of the finding) matched by a pattern, and the Chinese template filled
# with the same parts. A message no pattern matches is shown as the code's Chinese title
# followed by the English message. A test checks every pattern against real findings.

Translation = tuple[str, str]  # (pattern of the English message, Chinese template)

MESSAGES_ZH: dict[str, tuple[Translation, ...]] = {
    "P000": ((r"cannot read the file \((?P<reason>.+)\)", "无法读取该文件（{reason}）"),),
    "P001": ((r"the file is not UTF-8 text: byte (?P<byte>0x..) cannot start or continue a "
              r"character \(.*\)", "文件不是 UTF-8 文本：字节 {byte} 不是合法的字符编码"),),
    "P100": ((r"unexpected character (?P<char>.+)", "此处不能出现字符 {char}"),
             (r"unexpected (?P<t_found>.+?); expected (?P<t_expected>.+)",
              "此处不应出现 {t_found}；应为 {t_expected}"),
             (r"the file ends too early; expected (?P<t_expected>.+)",
              "文件提前结束；应为 {t_expected}")),
    "P101": ((r"this nests more than (?P<n>\d+) levels deep .*",
              "嵌套超过 {n} 层（块、规则和表达式合计）"),),
    "P102": ((r"unknown escape (?P<escape>'.+') in a quoted text",
             "引号文本中有未知的转义 {escape}"),),
    "P103": ((r"a number has at most (?P<n>\d+) digits; this one has (?P<m>\d+)",
              "数字最多 {n} 位，这个有 {m} 位"),),
    "P104": ((r"full-width (?P<char>'.') outside a quoted text: use the ASCII character "
              r"(?P<ascii>'.')", "引号外使用了全角字符 {char}：请改用半角（ASCII）字符 {ascii}"),),
    "P105": ((r"this '(?P<what>\w+)' block opened with '\{' is never closed",
              "此处以“{{”开始的 {what} 块没有闭合（缺少“}}”）"),
             (r"this block opened with '\{' is never closed",
              "此处以“{{”开始的块没有闭合（缺少“}}”）")),
    "P200": ((r"'(?P<what>.+)' is given twice in the standard's header",
              "“{what}”在标准表头中写了两次"),
             (r"'(?P<what>.+)' is given twice in framework (?P<name>.+)",
              "“{what}”在框架 {name} 中写了两次"),
             (r"fact '(?P<name>.+)' says more than once whether it is required",
              "事实“{name}”多次说明是否必填"),
             (r"fact '(?P<name>.+)' has two ranges", "事实“{name}”写了两个取值范围"),
             (r"item (?P<n>\d+) has two '(?P<kind>.+)' texts", "项目 {n} 有两段“{kind}”文字"),
             (r"item (?P<n>\d+) has two 'not applicable' rules",
              "项目 {n} 有两条“not applicable”（不适用）规则"),
             (r"item (?P<n>\d+) caps its deductions twice", "项目 {n} 写了两次扣分上限"),
             (r"part (?P<label>.+) has two 'not applicable' rules",
              "分项“{label}”有两条“not applicable”（不适用）规则")),
    "P201": ((r"(?P<date>.+) is not a calendar date", "{date} 不是有效的日期"),),
    "P202": ((r"(?P<n>\d+) is too large a number here", "{n} 作为此处的整数过大"),),
    "C201": ((r"'(?P<name>.+)' is declared twice \(first as .+ at (?P<at>.+)\)",
              "名称“{name}”重复声明（首次声明于 {at}）"),
             (r"grade (?P<name>.+) is declared twice", "等次“{name}”重复声明"),
             (r"(?P<t_what>.+) '(?P<name>.+)' appears twice in (?P<where>.+)",
              "{t_what}“{name}”在 {where} 中出现了两次")),
    "C202": ((r"item (?P<n>\d+) is numbered twice \(first at (?P<at>.+)\)",
              "项目编号 {n} 重复（首次出现于 {at}）"),),
    "C203": ((r"'(?P<name>.+)' is not declared", "名称“{name}”未声明"),
             (r"unknown fact '(?P<name>.+)'", "未知的事实“{name}”")),
    "C204": ((r"fact '(?P<name>.+)' is declared but never used", "事实“{name}”已声明但从未使用"),),
    "C205": ((r"(?P<t_what>.+) is (?P<t_got>an? .+), but must be (?P<t_want>an? .+) "
              r"like the value it goes with", "{t_what}是{t_got}，但应与比较的值一致，是{t_want}"),
             (r"(?P<t_what>.+) needs a (?P<t_want>\w+), but this is (?P<t_got>an? .+)",
              "{t_what}需要{t_want}，但这里是{t_got}"),
             (r"cannot negate (?P<t_type>.+)", "不能对{t_type}取负"),
             (r"'(?P<op>.+)' compares numbers, percents or dates, not (?P<t_type>.+)",
              "“{op}”只能比较数字、百分比或日期，不能比较{t_type}"),
             (r"'is (?P<member>.+)' tests an enum value, not (?P<t_type>.+)",
              "“is {member}”用于检验枚举值，不能用于{t_type}"),
             (r"'has (?P<member>.+)' tests a set, not (?P<t_type>.+)",
              "“has {member}”用于检验集合，不能用于{t_type}"),
             (r"count\(\) needs a list or a set, not (?P<t_type>.+)",
              "count() 需要列表或集合，不能是{t_type}"),
             (r"(?P<function>\w+)\(\.\.\. in \.\.\.\) needs a list or a set, not (?P<t_type>.+)",
              "{function}(... in ...) 需要列表或集合，不能是{t_type}"),
             (r"(?P<function>\w+)\(\) needs numbers, not (?P<t_type>.+)",
              "{function}() 需要数字，不能是{t_type}"),
             (r"tiers need a number or a percent, not (?P<t_type>.+)",
              "分档需要数字或百分比，不能是{t_type}"),
             (r"lookup needs an enum value, not (?P<t_type>.+)", "查表需要枚举值，不能是{t_type}"),
             (r"'(?P<op>.+)' needs numbers or percents, not (?P<t_type>.+)",
              "“{op}”需要数字或百分比，不能是{t_type}"),
             (r"cannot add a (?P<t_right>\w+) and a (?P<t_left>\w+)",
              "不能把{t_right}和{t_left}相加"),
             (r"cannot subtract a (?P<t_right>\w+) and a (?P<t_left>\w+)",
              "不能把{t_right}和{t_left}相减"),
             (r"cannot multiply two percents", "两个百分比不能相乘"),
             (r"cannot divide a number by a percent", "数字不能除以百分比"),
             (r"(?P<t_what>.+) needs (?P<t_want>an? .+)", "{t_what}需要{t_want}")),
    "C206": ((r"enum (?P<enum>.+) has no member '(?P<member>.+)'",
              "枚举 {enum} 没有成员“{member}”"),),
    "C207": ((r"this lookup gives no value for (?P<members>.+) of enum (?P<enum>.+)",
              "查表没有给出枚举 {enum} 的成员 {members} 的值"),),
    "C208": ((r"the cap (?P<cap>\S+) is larger than the (?P<points>\S+) points of "
              r"(?P<t_of>.+)", "封顶值 {cap} 大于{t_of}的分值 {points}"),
             (r"the deduction cap (?P<cap>\S+) is larger than item (?P<n>\d+)'s (?P<points>\S+) "
              r"points", "扣分上限 {cap} 大于项目 {n} 的分值 {points}")),
    "C209": ((r"tiers out of order: .*",
             "分档顺序错误：先满足的档位生效，因此这一档永远不会用到"),),
    "C210": ((r"item (?P<n>\d+) \((?P<label>.+)\) has no legal basis",
              "项目 {n}（{label}）缺少指标依据"),),
    "C211": ((r"the items of (?P<category>.+) add up to (?P<sum>\S+), not (?P<points>\S+)",
              "“{category}”下各项目分值之和为 {sum}，而不是 {points}"),),
    "C212": ((r"(?P<t_what>.+) name '(?P<name>.+)' must be lower case",
              "{t_what}名称“{name}”必须小写"),
             (r"'(?P<name>.+)' cannot name a (?P<t_what>.+): it is reserved",
              "“{name}”是保留字，不能用作{t_what}名称"),
             (r"'(?P<name>.+)' is a built-in name and cannot name a (?P<t_what>.+)",
              "“{name}”是内置名称，不能用作{t_what}名称")),
    "C213": ((r"'(?P<name>.+)' is optional and may be missing here",
              "“{name}”是可选事实，此处可能缺失"),),
    "C214": ((r"'list of (?P<name>.+)' needs a record type named .+",
              "“list of {name}”需要名为 {name} 的记录类型"),
             (r"'set of (?P<name>.+)' needs an enum named .+",
              "“set of {name}”需要名为 {name} 的枚举"),
             (r"unknown type '(?P<name>.+)'", "未知的类型“{name}”")),
    "C215": ((r"the (?P<t_what>standard|framework) does not say its '(?P<key>.+)'",
              "{t_what}的表头缺少“{key}”"),),
    "C216": ((r"a refund ratio lies between 0% and 100%", "返还比例应在 0% 到 100% 之间"),),
    "C218": ((r"unknown function '(?P<name>.+)'", "未知的函数“{name}”"),
             (r"'(?P<name>.+)' takes (?P<n>\S+) argument\(s\), not (?P<m>\d+)",
              "函数“{name}”需要 {n} 个参数，而不是 {m} 个")),
    "C219": ((r"pack (?P<pack>.+) is also built from (?P<other>.+)",
              "规则包 {pack} 也由 {other} 生成"),),
    "C220": ((r"unknown framework '(?P<name>.+)'", "未知的框架“{name}”"),),
    "C221": ((r"the framework has no '(?P<clause>.+)' clause", "框架缺少“{clause}”子句"),
             (r"the framework declares no grades", "框架没有声明任何等次")),
    "C222": ((r"'given' needs a fact; '(?P<name>.+)' is not one",
              "“given”只能用于事实，“{name}”不是事实"),),
    "C223": ((r"'full_points' means an item's points: .*",
             "“full_points”表示项目满分，只能在项目的规则中使用"),),
    "C224": ((r"'(?P<name>.+)' is used before it is derived", "“{name}”在定义之前被使用"),),
    "C225": ((r"cohort value '(?P<name>.+)' can be used only in items",
              "同组值“{name}”只能在评价项目中使用"),),
    "C226": ((r"record (?P<record>.+) has no field '(?P<field>.+)'",
              "记录 {record} 没有字段“{field}”"),
             (r"'(?P<name>.+)' is not an entry of a list here", "“{name}”在此处不是列表中的条目")),
    "C227": ((r"'(?P<member>.+)' appears twice in this lookup",
             "成员“{member}”在查表中出现了两次"),),
    "C228": ((r"no grade is called (?P<grade>.+)", "没有名为“{grade}”的等次"),),
    "C229": ((r"grade (?P<grade>.+) starts at (?P<floor>\S+), not below (?P<other>.+)'s "
              r"(?P<other_floor>\S+)", "等次“{grade}”起点 {floor} 不低于“{other}”的 {other_floor}"),
             (r"a voluntary exit refunds as (?P<grade>.+) at (?P<score>\S+), outside .*",
              "主动退出按“{grade}”{score} 分返还，但该分数不在此等次范围内"),
             (r"the lowest grade \((?P<grade>.+)\) must start at 0",
              "最低等次（{grade}）必须从 0 分开始")),
    "C230": ((r"(?P<t_which>.+) add up to (?P<sum>\S+), not the total (?P<total>\S+)",
              "{t_which}之和为 {sum}，不等于总分 {total}"),),
    "C231": ((r"the standard's bonus limit is (?P<value>\S+), above the framework's "
              r"(?P<limit>\S+) \((?P<reason>.*)\) \[(?P<cites>.*)\]",
              "标准的加分上限为 {value}，超过框架规定的 {limit}（{reason}）[{cites}]"),
             (r"bonus items add up to (?P<value>\S+), above the framework's (?P<limit>\S+) "
              r"\((?P<reason>.*)\) \[(?P<cites>.*)\]",
              "加分项合计 {value}，超过框架规定的 {limit}（{reason}）[{cites}]")),
    "C232": ((r"the parts of item (?P<n>\d+) add up to (?P<sum>\S+), more than its (?P<points>\S+)"
              r" points", "项目 {n} 各部分之和 {sum} 超过项目分值 {points}"),),
    "C233": ((r"deduction items add up to (?P<sum>\S+); framework (?P<fw>.+) fixes them at "
              r"(?P<total>\S+)", "扣分项合计 {sum}，框架 {fw} 规定为 {total}"),),
    "C234": ((r"the composite's weights must add up to 100%, not (?P<sum>\S+)",
              "综合得分权重之和应为 100%，而不是 {sum}"),),
    "C235": ((r"the effective period ends before it starts", "有效期的结束日期早于开始日期"),),
    "C236": ((r"'rescale to' needs a positive number of points", "“rescale to”需要正的分值"),),
    "C237": ((r"the range of '(?P<name>.+)' runs from (?P<low>\S+) down to (?P<high>\S+)",
              "“{name}”的取值范围从 {low} 降到 {high}，上下限颠倒"),
             (r"'(?P<name>.+)' is (?P<t_type>.+): only numbers and percents take a range",
              "“{name}”是{t_type}：只有数字和百分比可以写取值范围")),
    "C238": ((r"record fields are always required \('(?P<name>.+)' in (?P<record>.+)\)",
              "记录字段总是必填的（{record} 的“{name}”不能是可选的）"),),
    "C239": ((r"a default must be a plain value .*",
             "默认值必须是简单的值（数字、百分比、true 或 false）"),),
    "C240": ((r"'(?P<name>.+)' cannot be required on a condition about itself",
              "“{name}”不能以关于自身的条件为必填条件"),),
    "C241": ((r"'(?P<name>.+)' overrides a cohort value, so it must be optional",
              "“{name}”覆盖同组值，必须是可选事实"),),
    "C242": ((r"'at least' needs 1 or more", "“at least”至少为 1"),
             (r"a band needs 0 or more places", "排名区段的名次数不能为负"),
             (r"a step must be larger than 0", "步长必须大于 0")),
    "C243": ((r"a (?P<t_event>\w+) downgrade of (?P<n>\d+) grades is more than .*",
              "{t_event}降 {n} 档，超过了框架的等次数"),
             (r"a tenure of (?P<n>\d+) months is more than (?P<m>\d+)",
              "履约期限 {n} 个月，超过 {m} 个月")),
    "C244": ((r"'(?P<name>.+)' is always given .*", "“{name}”总是有值，“given {name}”永远成立"),),
    "C245": ((r"a mean needs a number or a percent, not (?P<t_type>.+)",
              "均值只能对数字或百分比计算，不能对{t_type}"),
             (r"a cohort is grouped by an enum or a text, not (?P<t_type>.+)",
              "同组值按枚举或文本分组，不能按{t_type}"),
             (r"a rank is taken "
              r"over one fact .*", "排名只能按一个事实排列（没有该事实的机构不参加排名）"),
             (r"a rank needs a number or a percent, not (?P<t_type>.+)",
              "排名需要数字或百分比，不能是{t_type}")),
    "C246": ((r"'for each' needs a list or a set, not (?P<t_type>.+)",
              "“for each”需要列表或集合，不能是{t_type}"),
             (r"steps are counted on a number or a percent, not (?P<t_type>.+)",
              "步长只能按数字或百分比计算，不能是{t_type}"),
             (r"'entries from (?P<name>.+)' needs a list of entries",
              "“entries from {name}”需要一个条目列表"),
             (r"record (?P<record>.+) needs a field '(?P<field>.+)' of type (?P<types>.+) for "
              r"'entries from'", "“entries from”要求记录 {record}"
                                 " 有类型为 {types} 的字段“{field}”")),
    "C299": ((r"internal fault while (?P<t_stage>.+) this file \((?P<error>.*)\)",
              "{t_stage}此文件时编译器内部出错（{error}）"),),
    "B501": ((r"no standard '(?P<name>.+)' to base (?P<standard>.+) on in region (?P<region>.+)",
              "地区 {region} 中没有可作为 {standard} 基础的标准“{name}”"),
             (r"no standard '(?P<name>.+)' to base (?P<standard>.+) on",
              "没有可作为 {standard} 基础的标准“{name}”")),
    "B502": ((r"standard (?P<name>\S+) is based on itself through the standards it names: "
              r"(?P<chain>.+)", "标准 {name} 经由它所指的标准以自身为基础：{chain}"),
             (r"standard (?P<name>\S+) takes an item from itself through the standards it "
              r"names: (?P<chain>.+)", "标准 {name} 经由它所指的标准引用了自身的项目：{chain}"),
             (r"standard (?P<name>\S+) is based on itself", "标准 {name} 以自身为基础"),
             (r"standard (?P<name>\S+) takes an item from itself", "标准 {name} 引用了自身的项目")),
    "B503": ((r"(?P<base>.+) has no category (?P<category>'.+'|\".+\")",
              "基础标准 {base} 没有类别 {category}"),
             (r"(?P<base>.+) has no item (?P<n>\d+)", "基础标准 {base} 没有项目 {n}")),
    "B504": ((r"(?P<base>.+) has no fact '(?P<name>.+)'", "基础标准 {base} 没有事实“{name}”"),),
    "B505": ((r"fact '(?P<name>.+)' is removed but (?P<t_where>.+) still uses it",
              "事实“{name}”已删除，但{t_where}仍在使用它"),),
    "B506": ((r"item (?P<n>\d+) is changed twice \(also on line (?P<line>\d+)\); .*",
              "项目 {n} 被修改了两次（另见第 {line}"
              " 行）；替换或删除一个项目后不能再对它做其他修改"),
             (r"(?P<t_what>.+) is changed twice \(also on line (?P<line>\d+)\)",
              "{t_what}被修改了两次（另见第 {line} 行）")),
    "B508": ((r"'(?P<name>.+)' names several standards: (?P<names>.+)",
              "“{name}”对应多个标准：{names}"),),
    "B509": ((r"(?P<base>.+) declares (?P<t_kind>\w+) '(?P<name>.+)' already",
              "基础标准 {base} 已声明{t_kind}“{name}”"),
             (r"(?P<base>.+) has a category (?P<category>'.+'|\".+\") already",
              "基础标准 {base} 已有类别 {category}"),
             (r"(?P<base>.+) has an item (?P<n>\d+) already", "基础标准 {base} 已有项目 {n}")),
    "B510": ((r"'(?P<word>.+)' changes a base standard's item or fact, but standard "
              r"(?P<name>.+) is not based on another",
              "“{word}”修改的是基础标准的项目或事实，但标准 {name} 没有声明基础标准"),),
    "X300": ((r"plugin (?P<plugin>\S+) cannot be loaded: (?P<t_what>.+)",
              "插件 {plugin} 无法加载：{t_what}"),),
    "X301": ((r"plugin (?P<plugin>\S+): (?P<name>\S+) is marked @hookimpl but there is no such "
              r"hook", "插件 {plugin}：{name} 标注了 @hookimpl，但没有这个钩子"),
             (r"plugin (?P<plugin>\S+): hook (?P<name>\S+) takes (?P<params>.+), which the hook "
              r"does not give", "插件 {plugin}：钩子 {name} 的参数 {params} 不是该钩子提供的"),
             (r"plugin (?P<plugin>"
              r"\S+): (?P<error>.+)", "插件 {plugin} 的钩子实现无法使用：{error}")),
    "X302": ((r"plugin (?P<plugin>\S+), hook (?P<hook>\S+), (?P<t_what>.+)",
              "插件 {plugin} 的钩子 {hook}：{t_what}"),),
    "X303": ((r"plugin (?P<plugin>\S+), hook (?P<hook>\S+), returned (?P<shown>.+); expected a "
              r"list of (?P<type>\w+)", "插件 {plugin} 的钩子 {hook} 返"
                                        "回了 {shown}；应返回 {type} 的列表"),
             (r"plugin (?P<plugin>\S+), hook (?P<hook>\S+), returned (?P<type>\w+) with "
              r"(?P<problem>.+)", "插件 {plugin} 的钩子 {hook} 返回的 {type} 有问题：{problem}")),
    "X304": ((r"(?P<where>.+): (?P<points>.+) is not a number of points \(0 or more\)",
              "{where}：{points} 不是分值（应为 0 或正数）"),),
    "X305": ((r"plugin (?P<plugin>\S+): city standard (?P<city>\S+) names base pack "
              r"(?P<base>.+), which no rule file builds",
              "插件 {plugin}：城市标准 {city} 的基础规则包 {base} 不由任何规则文件生成"),),
    "X306": ((r"plugins (?P<plugins>.+) all override (?P<t_what>.+)",
              "插件 {plugins} 都覆盖了{t_what}"),),
    "X308": ((r"plugin (?P<plugin>\S+), hook (?P<hook>\S+), (?P<t_what>.+)",
              "插件 {plugin} 的钩子 {hook}：{t_what}"),),
    "X309": ((r"plugin (?P<plugin>\S+): function (?P<name>\S+) is named like a hook but is not "
              r"marked @hookimpl, so it would never be called",
              "插件 {plugin}：函数 {name} 的名称像钩"
              "子，但没有标注 @hookimpl，因此永远不会被调用"),),
    "X310": ((r"plugin (?P<plugin>\S+): city standard (?P<city>\S+) would build pack "
              r"(?P<pack>\S+), which (?P<other>.+) builds already",
              "插件 {plugin}：城市标准 {city} 要生成的规则包 {pack} 已由 {other} 生成"),),
    "X311": ((r"plugin (?P<plugin>\S+): a city standard's name is lower-case ASCII .*; got "
              r"(?P<got>.+)", "插件 {plugin}：城市标准名称须为小写"
                              " ASCII（字母、数字、_），版本为年份，"
              "有效期为日期；实际为 {got}"),),
    "X312": ((r"(?P<where>.+): no category (?P<category>.+)", "{where}：没有类别 {category}"),
             (r"(?P<where>.+): no item (?P<n>\d+) in (?P<base>\S+) .*",
              "{where}：基础标准 {base} 中没有项目 {n}（覆盖只能指向已有项目）")),
    "X313": ((r"(?P<where>.+): item (?P<n>\d+) exists already in (?P<base>.+)",
              "{where}：项目 {n} 在 {base} 中已存在"),),
    "X314": ((r"(?P<where>.+): the replacing item is numbered (?P<new>\d+), not (?P<old>\d+)",
              "{where}：替换项目的编号是 {new}，而不是 {old}"),),
    "W301": ((r"the standard's bonus limit is (?P<value>\S+), above the framework's "
              r"(?P<limit>\S+) \((?P<reason>.*)\) \[(?P<cites>.*)\]",
              "标准的加分上限为 {value}，超过框架建议的 {limit}（{reason}）[{cites}]"),
             (r"bonus items add up to (?P<value>\S+), above the framework's (?P<limit>\S+) "
              r"\((?P<reason>.*)\) \[(?P<cites>.*)\]",
              "加分项合计 {value}，超过框架建议的 {limit}（{reason}）[{cites}]")),
    "W307": ((r"plugin (?P<winner>\S+) takes precedence over plugin (?P<plugin>\S+) for "
              r"(?P<t_what>.+)", "插件 {winner} 对{t_what}的覆盖优先于插件 {plugin}"),),
    "L401": ((r"the (?P<t_kind>\w+) text says (?P<said>.+), but no rule of item (?P<n>\d+) "
              r"uses (?P<value>\S+); the nearest is (?P<nearest>\S+) at line (?P<line>\d+)",
              "{t_kind}文字写的是 {said}，但项目 {n} 没"
              "有规则使用 {value}；最接近的是第 {line} 行的 "
              "{nearest}"),
             (r"the (?P<t_kind>\w+) text says (?P<said>.+), but no rule of item (?P<n>\d+) "
              r"uses a (?P<t_type>percent|number) at all",
              "{t_kind}文字写的是 {said}，但项目 {n} 没有任何规则使用{t_type}")),
    "L402": ((r"this award can give (?P<amount>\S+), more than the (?P<points>\S+) points of "
              r"(?P<t_owner>.+)", "这条加分规则最多可得 {amount}，超过{t_owner}的分值 {points}"),
             (r"this award can give (?P<amount>\S+) \(when (?P<when>.+)\), more than the "
              r"(?P<points>\S+) points of (?P<t_owner>.+)",
              "这条加分规则最多可得 {amount}（{when} 时），超过{t_owner}的分值 {points}"),),
    "L403": ((r"the parts of item (?P<n>\d+) add up to (?P<sum>\S+), less than its "
              r"(?P<points>\S+) points, and no rule of the item awards the rest",
              "项目 {n} 各分项之和为 {sum}，少于项目分值 {points}，且项目中没有规则给出其余分数"),),
    "L404": ((r"(?P<t_owner>item \d+|part .+) can earn at most (?P<best>\S+) of its "
              r"(?P<points>\S+) points \(best case: (?P<at>.+)\)",
              "{t_owner}最多只能得 {best} 分（满分 {points}；最好的情形：{at}）"),),
    "L405": ((r"item (?P<n>\d+) earns its full (?P<points>\S+) points whatever the input: none "
              r"of its deductions can ever take anything",
              "无论输入如何，项目 {n} 都得满分 {points}：它的扣分规则永远扣不到分"),),
    "L406": ((r"no input reaches this tier: its subject is (?P<range>.+) by the facts' declared "
              r"bounds, and earlier tiers take the rest",
              "任何输入都到不了这一档：按事实声明的取值范围，分档对"
              "象在 {range} 之间，其余情形已被前面的档位取走"),),
    "L407": ((r"no input makes this comparison true: the left side is (?P<left>.+), the right "
              r"(?P<right>.+)", "任何输入都不能使这个比较成立：左边在 {"
                                "left} 之间，右边为 {right}"),),
    "L408": ((r"the cap (?P<cap>\S+) never binds: the rule gives or takes at most (?P<most>\S+) "
              r"\(at (?P<at>.+)\)", "封顶值 {cap} 永远不起作用：这条规则"
                                    "最多得（扣）{most} 分（{at} 时）"),
             (r"the deduction cap (?P<cap>\S+) never binds: the item's deductions together take "
              r"at most (?P<most>\S+) \(at (?P<at>.+)\)",
              "扣分上限 {cap} 永远不起作用：该项目的扣分合计最多 {most} 分（{at} 时）")),
    "L409": ((r"(?P<standard>\S+) version (?P<later>\d+) is in force from (?P<start>\S+), but "
              r"version (?P<earlier>\d+) \((?P<at>.+)\) is"
              r" in force (?P<from>\S+) to (?P<t_end>\S+): "
              r"the periods overlap", "{standard} 的 {later} 版自 {start} 起生效，但 {earlier} 版"
              "（{at}）的有效期为 {from} 至 {t_end}：两个有效期重叠"),),
    "K501": ((r"unknown key (?P<key>'.+') in (?P<t_where>.+); expected (?P<expected>.+)",
              "{t_where}中有未知的键 {key}；应为 {expected} 之一"),
             (r"(?P<key>'.+') is not a fact of this pack .*",
              "{key} 不是该规则包的事实（见 `policyc describe --pack ...`）"),
             (r"not valid YAML: (?P<problem>.+)", "不是有效的 YAML：{problem}"),
             (r"the case has no '(?P<key>.+)'", "用例缺少“{key}”"),
             (r"expected keys pack, defaults and cases", "应有 pack、defaults 和 cases 三个键"),
             (r"'pack' names the pack to run, .*",
              "“pack”写要运行的规则包名称，例如 suzhou/inpatient-2023"),
             (r"'defaults' holds facts", "“defaults”下写事实"),
             (r"'cases' lists at least one case", "“cases”下至少列出一个用例"),
             (r"each case is a mapping with name, readings, explain",
              "每个用例是含 name、readings、explain 的映射"),
             (r"'readings' lists reading ids", "“readings”列出解读编号"),
             (r"a case gives either 'facts' .*",
              "一个用例要么给出 facts（一家机构），要么给出 batch（多家一起评分）"),
             (r"'expect' maps results to values", "“expect”写结果字段及其期望值"),
             (r"'batch' lists institutions", "“batch”列出机构")),
    "B511": ((r"(?P<name>\S+) has no item (?P<n>\d+) to take", "{name} 没有可引用的第 {n} 项"),),
    "B512": ((r"item (?P<n>\d+) is taken from (?P<name>\S+), but this standard has an item "
              r"\d+ already \(line (?P<line>\d+)\)",
              "第 {n} 项引自 {name}，但本标准已有第 {n} 项（第 {line} 行）"),),
    "B513": tuple((rf"item (?P<m>\d+) of (?P<name>\S+) uses {kind} '(?P<what>.+)', which this "
                  r"standard does not declare",
                   f"{{name}} 的第 {{m}} 项用到{word}“{{what}}”，本标准没有声明它")
                  for kind, word in (("fact", "事实"), ("derived value", "派生值"),
                                               ("cohort value", "同组值"))),
    "B514": ((r"item (?P<m>\d+) of (?P<name>\S+) uses (?:fact|derived value|cohort value) "
              r"'(?P<what>.+?)' as (?P<theirs>.+); this standard declares it as (?P<mine>.+)",
              "{name} 的第 {m} 项使用的“{what}”是 {theirs}；本标准声明为 {mine}"),),
    "B515": ((r"item (?P<m>\d+) of (?P<name>\S+) does not cite (?P<old>\S+), so .*",
              "{name} 的第 {m} 项没有引用 {old}，这一替换不起作用"),),
}

# Words inside messages and hints (the groups named t_...): types, places, kinds.
TERMS_ZH: dict[str, str] = {
    "number": "数字", "a number": "数字", "percent": "百分比", "a percent": "百分比",
    "bool": "是非值", "a bool": "是非值", "date": "日期", "a date": "日期", "text": "文本",
    "a text": "文本", "count": "计数", "a count": "计数", "points": "分值", "score": "得分",
    "money": "金额", "a money": "金额", "a points": "分值", "a score": "得分",
    "record": "记录", "enum": "枚举", "an enum": "枚举", "list": "列表", "set": "集合",
    "standard": "标准", "framework": "框架", "region": "地区", "fact": "事实", "let": "派生值",
    "cohort": "同组值", "value": "值", "member": "成员", "field": "字段", "category": "类别",
    "item": "项目", "part": "分项", "enum member": "枚举成员", "record field": "记录字段",
    "the default": "默认值", "the step": "步长", "the threshold": "阈值",
    "the right side": "比较的右边", "a 'when' condition": "“when”条件",
    "a 'not applicable' condition": "“not applicable”条件",
    "a 'zero when' condition": "“zero when”条件", "a 'required w"
                                                "hen' condition": "“required when”条件",
    "the value for unranked institutions": "未参加排名机构的取值",
    "the items": "各项目", "deduction items": "扣分项", "the deduction items": "扣分项",
    "the items with the bonus items": "各项目（含加分项）",
    "method": "评分办法", "reason": "理由", "procedure": "操作方法", "content": "评价内容",
    "national": "被国家医保局通报批评", "provincial": "被省医保部门通报批评",
    "open": "长期", "a declaration": "某个声明", "checking": "检查", "building": "生成",
    "parsing": "解析", "a test": "检验",
    "the end of the file": "文件结尾", "a symbol": "符号",
}
# Phrases replaced inside longer texts (lists of what the parser expected, types).
PHRASES_ZH: tuple[tuple[str, str], ...] = (
    ("one of ", "以下之一："), ('a quoted text ("...")', "英文双引号括起的文字（\"...\"）"),
    ("a name (letters, digits, _)", "名称（字母、数字、_）"),
    ("a percentage such as 80%", "百分比（如 80%）"), ("a whole number", "整数"),
    ("a date such as 2023-01-01", "日期（如 2023-01-01）"),
    ("a reading id such as SZ-1", "解读编号（如 SZ-1）"),
    ("a comparison (>=, >, <=, <, ==, !=)", "比较符（>=、>、<=、<、==、!=）"),
    ("the end of the file", "文件结尾"), ("a symbol", "符号"), ("a number", "数字"),
    ("list of ", "列表："), ("set of ", "集合："),
)
# Texts inside messages that are themselves composed (t_... groups): whole-text patterns.
TERM_PATTERNS_ZH: tuple[Translation, ...] = (
    (r"did not finish (?P<doing>.+) within (?P<s>\S+) s \(abandoned\)",
     "{s} 秒内未完成（已放弃）"),
    (r"called sys\.exit\((?P<code>.*)\) while (?P<doing>.+)", "调用了 sys.exit({code})"),
    (r"raised (?P<name>\w+): (?P<text>.*)", "抛出了 {name}：{text}"),
    (r"raised (?P<name>\w+)", "抛出了 {name}"),
    (r"has a syntax error: (?P<msg>.+)", "有语法错误：{msg}"),
    (r"item (?P<n>\d+)'s (?P<aspect>.+)", "项目 {n} 的 {aspect}"),
    (r"fact '(?P<name>.+)'", "事实“{name}”"),
    (r"items? (?P<n>[\d, ]+)", "项目 {n}"),
    (r"part (?P<label>.+)", "分项“{label}”"),
    (r"enum (?P<name>.+)", "枚举 {name}"),
    (r"record (?P<name>.+)", "记录 {name}"),
    (r"the bonus limit", "加分上限"),
    (r"the items other than bonus", "除加分项外的各项目分值"),
    (r"all items", "全部项目分值"),
    (r"derived value", "派生值"), (r"cohort value", "同组值"),
    (r"name", "名称"), (r"label", "标签"),
    (r"parsing", "解析"), (r"checking", "检查"), (r"linting", "静态检查"),
    (r"generating the pack of", "生成规则包"), (r"resolving `based on` in", "处理 based on"),
    (r"loading the plugins in", "加载插件"), (r"building a city standard from", "生成城市标准"),
    (r"a case file", "用例文件"), (r"a case", "用例"), (r"expect", "expect"),
)

# Hints, in Chinese (names, codes and quoted source stay as they are).
HINTS_ZH: tuple[Translation, ...] = (
    (r"did you mean '(?P<name>.+)'\?", "是不是要写“{name}”？"),
    (r"did you mean (?P<name>\S+)\?", "是不是要写 {name}？"),
    (r"write: (?P<fixed>.+)", "改为：{fixed}"),
    (r"add '\}' where the (?P<what>\w+) ends \(before (?:line (?P<line>\d+)|the end of the "
     r"file)\)", "在 {what} 结束处补上“}}”"),
    (r"a '\{' is not closed", "有一个“{{”没有闭合"),
    (r"use it in a rule, or remove it", "在规则中使用它，或删除它"),
    (r"every enum, record, fact and value needs its own name",
     "每个枚举、记录、事实和值都需要自己的名称"),
    (r"percents are written with a % sign \(80%\); a number is not a percent",
     "百分比要写 % 号（如 80%）；不带 % 的数字不是百分比"),
    (r"write percentages with a % sign, e\.g\. 80%", "百分比要写 % 号，如 80%"),
    (r"a percent is in percentage points; write both sides as percents or both as numbers",
     "百分比以百分点计；两边都写成百分比，或都写成数字"),
    (r"every member needs a value", "每个成员都需要一个值"),
    (r"a rule can never take more than its points", "规则得分或扣分不会超过其所在部分或项目的分值"),
    (r"list '>=' tiers from the highest threshold down, '<=' tiers from the lowest up",
     "“>=”分档按阈值从高到低排列，“<=”分档从低到高排列"),
    (r"add: basis \"来源：...\" \(the table's 指标依据\); where the table gives none, say so "
     r"in the text", "补上：basis \"来源：...\"（表中的指标依据）；表中没有的，在文字中说明"),
    (r"add: grade (?P<example>.+)", "补上等次，例如：grade {example}"),
    (r"fix an item's points or the category's", "修改项目分值或类别分值"),
    (r"bonus items count towards the total only with 'bonus included'",
     "只有写了“bonus included”，加分项才计入总分"),
    (r"write it as '(?P<name>.+)' \(snake_case\)", "写成“{name}”（小写加下划线）"),
    (r"choose another name \(names may not start with _\)", "换一个名称（名称不能以 _ 开头）"),
    (r"guard it: 'given (?P<name>\w+) and \.\.\.', .*",
     "先判断是否有值：“given {name} and ...”，或“if given {name} then ... else ...”，或给它默认值"),
    (r"add '(?P<key>.+) \.\.\.' inside '(?P<where>.+)'", "在“{where}”中补上“{key} ...”"),
    (r"frameworks are declared in framework files under regions/",
     "框架在 regions/ 下的框架文件中声明"),
    (r"declare it: fact (?P<name>\S+) \"label\": type",
     "先声明它：fact {name} \"名称\": 类型"),
    (r"derived values can use only those declared above them", "派生值只能使用在它之前声明的值"),
    (r"the tenure is counted in months \(JL-13: 6 months\)", "履约期限按月计（JL-13：6 个月）"),
    (r"an entry names its item, its points and its evidence \(JL-6\)",
     "每个条目写明项目、分值和依据（JL-6）"),
    (r"grades: (?P<grades>.+)", "已有等次：{grades}"),
    (r"types: (?P<names>.+)", "可用的类型：{names}"),
    (r"functions: (?P<names>.+)", "可用的函数：{names}"),
    (r"members: (?P<names>.+)", "已有成员：{names}"),
    (r"bases: (?P<names>.+)", "可用的基础标准：{names}"),
    (r"items: (?P<names>.+)", "已有项目：{names}"),
    (r"categories: (?P<names>.+)", "已有类别：{names}"),
    (r"facts: (?P<names>.+)", "已有事实：{names}"),
    (r"hooks: (?P<names>.+)", "可用的钩子：{names}"),
    (r"(?P<hook>policyc_\w+) gives: (?P<names>.+)", "{hook} 提供的参数：{names}"),
    (r"(?P<usage>(?:growth|share|ratio|min|max|clamp|count)\(.*)", "用法：{usage}"),
    (r"list grades from the highest down", "等次按从高到低排列"),
    (r"write the low bound first", "先写下限"),
    (r"save rule files as UTF-8 .*", "请把规则文件保存为 UTF-8（GBK、GB18030 文件需先转换）"),
    (r"separate the entries of tiers and lookup blocks with commas",
     "分档和查表的各项之间用英文逗号分隔"),
    (r"every item, fact and rule needs a quoted label or reason text here",
     "此处需要用英文双引号括起的名称或理由文字"),
    (r"Chinese text goes inside quotes .*",
     "中文文字要放在英文双引号（\"...\"）内；名称只能用英文字母、数字和 _"),
    (r"texts are quoted with double quotes .*", "文字用英文双引号（\"...\"）括起"),
    (r"split a long expression into derived values .*",
     "把过长的表达式拆成派生值（let 名称 \"说明\" = ...）再使用"),
    (r"items of (?P<name>\S+): (?P<items>.+)", "{name} 的项目：{items}"),
    (r"give the taken item a number of its own: .*", "给引用的项目另编一个本标准没有的号"),
    (r"declare it as (?P<name>\S+) does: (?P<declaration>.+?)(?:, and its (?P<kind>enum|record) "
     r"(?P<type>\w+) \(line (?P<line>\d+)\))?", "照 {name} 的写法声明：{declaration}"),
    (r"declare '(?P<what>.+)' as (?P<name>\S+) does, or write the item out",
     "照 {name} 的写法声明“{what}”，或把该项目完整写出"),
    (r"its rules cite: (?P<ids>.+)", "该项目的规则引用了：{ids}"),
    (r"its rules cite nothing", "该项目的规则没有引用任何解读"),
    (r"name another standard, or write the item out", "引用其他标准的项目，或把该项目完整写出"),
    (r"the escapes are .*", "可用的转义只有 \\\"（引号）、\\\\（反斜杠）和 \\n（换行）"),
    (r"use one of: optional, required when <condition>, default <value>",
     "只用其中一种：optional、required when <条件>、default <值>"),
    (r"join them into one: several quoted lines may follow",
     "合并为一段：后面可以接多行引号文字"),
    (r"join the conditions with 'or'", "用“or”把条件合并为一条"),
    (r"write `standard (?P<name>\S+) based on BASE \{` .*",
     "写成 `standard {name} based on 基础标准 {{`（基础标准：同一地区的标准，或规则包名称，如 "
     "suzhou/inpatient-2023）"),
    (r"name another standard, or remove `based on`", "改为另一个标准，或删除 `based on`"),
    (r"name one by its pack name, e\.g\. `based on (?P<name>.+)`",
     "用规则包名称指明其中一个，例如 `based on {name}`"),
    (r"a base in another region is named with its region: `based on (?P<name>.+)`",
     "其他地区的基础标准要带地区名：`based on {name}`"),
    (r"one standard of the chain must stand on its own \(no `based on`\)",
     "链条中至少要有一个标准不依赖其他标准（不写 `based on`）"),
    (r"`replace fact (?P<name>\S+) \.\.\.` changes it", "要修改它，请用 `replace fact {name} ...`"),
    (r"give the new one a name of its own", "给新增的声明另起一个名称"),
    (r"add items to it with `add to category (?P<label>.+) \{ item \.\.\. \}`",
     "用 `add to category {label} {{ item ... }}` 向其中添加项目"),
    (r"`replace item (?P<n>\d+) \.\.\.` changes it", "要修改它，请用 `replace item {n} ...`"),
    (r"keep one: a replacing item says everything itself",
     "只保留一处：替换的项目已写明全部内容"),
    (r"remove or replace what uses it too, or keep the fact",
     "把使用它的地方一并删除或替换，或保留这个事实"),
    (r"keep one of the two", "两处只保留一处"),
    (r"give one of them another standard name or version",
     "给其中一个另起标准名称或版本号"),
    (r"give the city standard a name of its own, .*",
     "给城市标准另起名称，例如以城市名开头（changchun_medical_inpatient）"),
    (r"the part or item is capped at its points, so the excess is lost: check the amount "
     r"\(or the weight\) against the table",
     "部分或项目的得分以其分值为上限，超出部分不计：请按表格核对分值（或权重）"),
    (r"fix a part's points or the item's, or award the rest in the item",
     "修改分项或项目的分值，或在项目中给出其余分数"),
    (r"an award is missing or too small, or the (?P<t_owner>part|item)'s points are too high",
     "缺少加分规则或分值太小，或{t_owner}的分值定得太高"),
    (r"check the deductions' amounts and conditions against the facts' bounds and the "
     r"table's 评分办法", "请按事实的取值范围和表格的评分办法核对扣分数额和条件"),
    (r"check the threshold against the fact's bounds .*",
     "请按事实的取值范围核对阈值（0..100 的百分比永远到不了 120%），或删除这一档"),
    (r"check the number against the fact's declared bounds", "请按事实声明的取值范围核对这个数"),
    (r"check the cap and the amounts against the table, or remove the cap",
     "请按表格核对封顶值和分值，或删除封顶"),
    (r"check the cap and the deductions against the table, or remove the cap",
     "请按表格核对扣分上限和扣分规则，或删除上限"),
    (r"make the text and the rule agree .*",
     "让文字与规则一致（得分由规则决定；文字是经办机构公布的内容）"),
    (r"end version (?P<earlier>\d+) the day before (?P<start>\S+), or start this one later",
     "让 {earlier} 版在 {start} 前一天失效，或推迟本版的生效日期"),
    (r"a plugin module only defines its hooks; do the work inside them",
     "插件模块只定义钩子；具体工作放在钩子函数里做"),
    (r"put @hookimpl .* or rename it so it does not start with (?P<prefix>\S+)",
     "在它上面加 @hookimpl（from policy_dsl.plugi"
     "n import hookimpl），或改名使其不以 {prefix} 开头"),
    (r"a hook returns its overrides \(or None\); it never ends the build itself",
     "钩子只返回覆盖项（或 None），不能自行结束构建"),
    (r"a hook call may take at most a few seconds .*",
     "一次钩子调用最多几秒（POLICYC_HOOK_SECONDS）；检查是否有不会结束的循环，或应放在构建之外的工作"),
    (r"see (?P<type>\w+) in policy_dsl\.plugin for the type of each field",
     "各字段的类型见 policy_dsl.plugin 中的 {type}"),
    (r"replace it with ReplaceItem, or give a new number", "用 ReplaceItem 替换它，或另给一个编号"),
    (r"one of them may declare precedence=True to take precedence",
     "其中一个可以声明 precedence=True 以优先"),
    (r"this is a fault in policyc that this file brings out; .*",
     "这是 policyc 的缺陷，由此文件引发；请连同文件一起报告（POLICYC_DEBUG=1 可显示调用栈），"
     "同时检查文件中不寻常的写法"),
)


def _translated(text: str, table: Iterable[Translation]) -> str | None:
    """`text` by the first pattern of `table` it matches, its parts filled in; a part whose
    group is named t_... is itself composed English (a type, a place) and is translated."""
    for pattern, template in table:
        match = re.fullmatch(pattern, text, flags=re.DOTALL)
        if match:
            parts = {k: v or "" for k, v in match.groupdict().items()}
            for key in [k for k in parts if k.startswith("t_")]:
                parts[key] = _spaced(_term(parts[key]), template, key)
            return template.format(**parts)
    return None


def _spaced(value: str, template: str, key: str) -> str:
    """A composed part set off by a space where it meets Chinese with a letter or digit
    ("项目 1 的分值", not "项目 1的分值")."""
    at = template.find("{" + key + "}")
    if at < 0 or not value:
        return value
    before = template[at - 1] if at > 0 else ""
    after = template[at + len(key) + 2:at + len(key) + 3]
    if _is_han(before) and value[0].isascii() and value[0].isalnum():
        value = " " + value
    if _is_han(after) and value[-1].isascii() and value[-1].isalnum():
        value = value + " "
    return value


def _is_han(char: str) -> bool:
    return bool(char) and "\u4e00" <= char <= "\u9fff"


def _term(text: str) -> str:
    """A composed part of a message in Chinese: a known word, a known phrase pattern, or the
    text with the known phrases inside it replaced (lists of what the parser expected)."""
    if text in TERMS_ZH:
        return TERMS_ZH[text]
    article = re.fullmatch(r"an? (.+)", text)
    if article and article.group(1) in TERMS_ZH:
        return TERMS_ZH[article.group(1)]
    translated = _translated(text, TERM_PATTERNS_ZH)
    if translated is not None:
        return translated
    for english, chinese in PHRASES_ZH:
        text = text.replace(english, chinese)
    return text


def message_in(lang: Lang, code: str, message: str) -> str:
    """A finding's message in `lang`: the code's Chinese template where one fits, else the
    code's Chinese title before the English message."""
    if lang == "en":
        return message
    translated = _translated(message, MESSAGES_ZH.get(code, ()))
    if translated is not None:
        return translated
    entry = CODES.get(code)
    return f"{entry.summary_zh}：{message}" if entry else message


# The related locations' notes (a duplicate's first declaration).
RELATED_ZH: tuple[Translation, ...] = (
    (r"'(?P<name>.+)' is first declared here", "“{name}”首次声明于此"),
    (r"item (?P<n>\d+) is first here", "项目 {n} 首次出现于此"),
    (r"item (?P<n>\d+) is here", "项目 {n} 在此"),
    (r"this standard declares it here", "本标准在此声明"),
    (r"(?P<name>\S+) declares it here", "{name} 在此声明"),
)


def related_in(lang: Lang, note: str) -> str:
    if lang == "en":
        return note
    return _translated(note, RELATED_ZH) or note


def hint_in(lang: Lang, hint: str) -> str:
    if lang == "en":
        return hint
    return _translated(hint, HINTS_ZH) or hint
