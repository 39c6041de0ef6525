"""`policyc render`: the standard as the table an agency publishes (Jilin measures, Art. 6).

The expected items, points and category headings are copied by hand from the Suzhou source
(附件1, shared/sources/003_408aefbd14c23be5.txt); the expected 计分规则 texts carry the source's
numbers (≥80%/90%/95%, 每降低1个百分点扣0.1分, 最多扣1分 ...), so a rule that drifts from the
source, or a writer that drops a row, fails here. The HTML is opened in a real Chromium.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
from collections.abc import Iterator
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest
from browser import NoBrowser, chromium, file_url, find_chromium
from helpers import ROOT
from test_cli import policyc

from policy_dsl.compiler import pipeline, render
from policy_dsl.publish.html import render_html
from policy_dsl.publish.markdown import render_md
from policy_dsl.publish.table import COLUMNS, Table
from policy_dsl.publish.xlsx import render_xlsx

INPATIENT = "suzhou/inpatient-2023"

# 附件1, item by item: number, 评价项目, 设定分值 (13 and 14 are marked 加分 in the source)
INPATIENT_ITEMS = [
    (1, "执行医保目录和支付标准", "3"),
    (2, "执行医疗服务价格政策", "3"),
    (3, "协同推进药品耗材招采使用改革落地", "20"),
    (4, "协同推进医保支付方式改革落地", "20"),
    (5, "协同推进国家医保谈判药管理改革落地", "3"),
    (6, "规范使用医保基金", "15"),
    (7, "严格管理医保基金", "5"),
    (8, "医保信息业务编码应用", "5"),
    (9, "医保信息化应用落地", "8"),
    (10, "优质诊疗服务提供", "4"),
    (11, "强化服务协议重要约定管理", "2"),
    (12, "就诊人员满意度提高", "2"),
    (13, "先诊疗后付费项目接入", "5"),
    (14, "医保政策宣传引导", "5"),
]
BONUS_ITEMS = {13, 14}
# 附件1's category rows, verbatim: 2+6+... items; 6 + 43 + 20 + 13 + 8 + 10 = 100 points
INPATIENT_CATEGORIES = [
    ("一、医保政策执行（共2项，6分）", "6", [1, 2]),
    ("二、医保改革政策落地（共3项，43分）", "43", [3, 4, 5]),
    ("三、医保基金管理使用（共2项，20分）", "20", [6, 7]),
    ("四、医保标准化信息化建设（共2项，13分）", "13", [8, 9]),
    ("五、医保管理服务提升（共3项，8分）", "8", [10, 11, 12]),
    ("六、地方自主评价（共2项，10分）", "10", [13, 14]),
]

# 计分规则 texts with the source's numbers, one or more per item (item -> expected fragments)
INPATIENT_SCORING = {
    # 操作方法 3: 未达到相应标准的，每降低1个百分点，扣0.1分，最多扣1分
    # (三级≥80%, 二级≥90%, 一级及以下≥95%)
    1: ["每低于相应标准（按「医疗机构级别」：三级80%、二级90%、一级及以下95%）1个百分点扣0.1分"
        "（按完整步长计，G4），最多扣1分 [SZ-1, G4, G6]"],
    # 每次扣1分 ... 本项扣分以3分为限
    2: ["「经查实的价格问题（次）」每次扣1分 [SZ-2]", "本项扣分以3分为限 [SZ-2, G3]"],
    # 按20%的权重; 民营 not applicable, ×100/80
    3: ["不适用：「举办性质」为“民营”的，本项不计分，总分按适用项满分折算为100分 [SZ-3, G5]",
        "得分：「药品耗材招采专项评价得分」×20% [SZ-3]"],
    4: ["不适用：「纳入DRG付费」为否的", "得分：「DRG支付方式改革绩效评价得分」×20% [SZ-4]"],
    # 查实1例扣1分，同一产品查实2例的，扣3分
    5: ["每个「未按临床需求配备的国谈药品」扣分：「查实例数」≥2的，3分；其他情形，1分 [SZ-5]"],
    # 一次扣1分 / 3分 / 仅责令退回损失 2分 / 5分 / 仅责令退回骗取 4分 / 移送司法 5分;
    # 拒不改正 不得分
    6: ["责令改正（退回）通知书1分、行政处罚：退回损失并处1-2倍罚款3分、仅责令退回损失，"
        "不予行政处罚2分、行政处罚：退回骗取金额并处2-5倍罚款5分、仅责令退回骗取金额，不予"
        "行政处罚4分、移送司法部门5分", "「拒不改正」的，本项得0分 [SZ-6]",
        "「医保基金损失或骗取金额（元）」≥「上年度统筹地区医保基金待遇支出（元）」×0.1%"],
    # DRG: 低于98%扣1分，低于96%扣2分; others: 低于90%扣1分，低于80%扣2分 (of 2)
    7: ["「纳入DRG付费」的，按「结算清单上传率」（≥98%：2分；≥96%：1分；否则0分）；其他情形，"
        "按「结算清单上传率」（≥90%：2分；≥80%：1分；否则0分）"],
    8: ["「业务编码非标率」<1%的，得3分 [SZ-8, G6]"],
    # 达30%得1分；达40%得1.5分；达50%得2分; 流转率高于50%得0.5分，高于80%得1分
    9: ["按「医保电子凭证结算率」（≥50%：2分；≥40%：1.5分；≥30%：1分；否则0分） [SZ-9, G6]",
        "（>80%：1分；>50%：0.5分；否则0分）",
        "不适用：「具备双通道资质」为否的，本分项按满分2分计 [SZ-9, G5]",
        "「医保电子凭证结算率」＝「使用医保电子凭证结算笔数（门诊、住院）」÷"
        "「结算总笔数（门诊、住院）」（百分比）"],
    10: ["「查实的诊疗服务违规情形（项）」每项扣1分 [SZ-10, G3]"],
    11: ["「查实的协议重要约定违规情形（项）」>0的，本项得0分 [SZ-11]"],
    # 满意度评分最高的前10家，分别加0.1-1分；最低的10家，分别扣0.1-1分
    12: ["前10名依次加1.0、0.9、0.8、0.7、0.6、0.5、0.4、0.3、0.2、0.1分",
         "后10名自最后一名起依次扣1.0、0.9、0.8、0.7、0.6、0.5、0.4、0.3、0.2、0.1分"],
    # 加3分; 12月 5% 加2分; 2024年 10% 加2分
    13: ["「接入苏州市先诊疗后付费平台并正常运行」的，加3分 [SZ-13]",
         "「2023年12月先诊疗后付费结算量占当月全部结算量」≥5%的，加2分",
         "「2024年先诊疗后付费平均结算量占全部结算量」≥10%的，加2分"],
    # 每1次加1分；每一项加0.5分
    14: ["「按通知转发医保重要政策（次，提供截图）」每次加1分 [SZ-14]",
         "「醒目位置宣传医保政策的方式（提供照片）」每一项加0.5分 [SZ-14]"],
}


def table_of(pack: str, root: Path = ROOT) -> Table:
    standard, findings = pipeline.standard_for(root, pack)
    assert standard is not None, [d.message for d, _ in findings]
    return render.table(standard)


def project_copy(tmp_path: Path) -> Path:
    for folder in ("regions", "plugins", "generated"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def packs() -> list[str]:
    index = (ROOT / "generated" / "index.json").read_text(encoding="utf-8")
    return re.findall(r'"name": "([^"]+)"', index)


# ---------------------------------------------------------------- the table model


def test_items_points_and_categories_are_the_source_tables() -> None:
    table = table_of(INPATIENT)
    assert [(r.number, r.label, str(r.points)) for r in table.rows] == INPATIENT_ITEMS
    assert [(s.heading, str(s.points), [r.number for r in s.rows]) for s in table.sections] \
        == INPATIENT_CATEGORIES
    assert {r.number for r in table.rows if r.bonus} == BONUS_ITEMS
    assert table.rows[12].title == "先诊疗后付费项目接入（加分项）"


@pytest.mark.parametrize("number", sorted(INPATIENT_SCORING))
def test_scoring_column_states_the_rules_with_the_sources_numbers(number: int) -> None:
    row = next(r for r in table_of(INPATIENT).rows if r.number == number)
    text = "\n".join(row.scoring_lines())
    for fragment in INPATIENT_SCORING[number]:
        assert fragment in text, f"item {number}: {fragment!r} not in\n{text}"


def test_steps_against_a_fixed_and_a_peer_threshold() -> None:
    """附件2: 占比≥95%，每降低1个百分点，扣0.1分，最多扣2分; 费用增幅高于本组平均增长率的，
    每超出5%扣1分 (G4: complete steps), the peer mean of the batch unless one is given."""
    rows = {r.number: "\n".join(r.scoring_lines()) for r in table_of("suzhou/outpatient-2023").rows}
    assert "「医保目录内药品占医院药品供应目录的品种数占比」每低于95% 1个百分点扣0.1分" \
           "（按完整步长计，G4），最多扣2分 [SZ2-1, G4, G6]" in rows[1]
    assert "「门诊次均费用增幅」每高于「本组平均门诊次均费用增幅」5个百分点扣1分" \
           "（按完整步长计，G4） [SZ2-4, G4]" in rows[4]
    # SZ2-4: growth = (this year − last year) / last year; the plain mean of the peer group
    assert "「门诊次均费用增幅」＝（「本年度参保患者门诊次均医药费用（元）」−「上年度参保患者门诊" \
           "次均医药费用（元）」）÷「上年度参保患者门诊次均医药费用（元）」" in rows[4]
    assert "否则为同一「费用控制分组（本组医疗机构）」中一同评价的各机构「门诊次均费用增幅」的" \
           "平均值（含本机构，至少2家）" in rows[4]


def test_verbatim_texts_are_the_rule_files() -> None:
    row = table_of(INPATIENT).rows[0]
    assert row.content.startswith("严格执行并及时更新基本医疗保险和生育保险药品")
    assert row.method.splitlines()[2] == (
        "3.医保目录内药品占医院药品供应目录的品种数占比，三级医疗机构"
        "≥80%的，二级医疗机构≥90%的，一级及以下医疗机构≥95%的，得1分")
    assert row.basis.startswith("来源：《基本医疗保险用药管理暂行办法》")
    assert row.procedure.splitlines()[-1] == "医疗机构自评分，医保部门核验。"


def test_parts_are_headed_with_their_points_and_item_rules_apart() -> None:
    rows = {r.number: r for r in table_of(INPATIENT).rows}
    assert [g.heading for g in rows[1].scoring] == [
        "按月及时更新目录数据库（1分）", "执行目录政策（1分）", "目录内药品品种数占比（1分）"]
    # item 5's for-each deduction is the item's, not its last part's
    assert [g.heading for g in rows[5].scoring] == [
        "谈判药品配备率（1分）", "国谈药进院专题会议（2分）", "本项"]


@pytest.mark.parametrize("pack", packs())
def test_facts_and_members_appear_by_label_never_by_code(pack: str) -> None:
    table = table_of(pack)
    for row in table.rows:
        text = "\n".join(row.scoring_lines())
        assert not re.findall(r"[a-z_]{3,}", text), f"item {row.number}: a code in\n{text}"


def test_notes_give_rescaling_bonus_period_source_and_the_rule_files_hash() -> None:
    notes = "\n".join(table_of(INPATIENT).notes)
    digest = hashlib.sha256((ROOT / "regions/suzhou/inpatient-2023.policy").read_bytes())
    # 备注1 of 附件1: 民营 总分为80分，按×100/80 折算; SZ-4: outside DRG likewise; both: 60
    assert ("第3项不适用的，按×100/80；第4项不适用的，按×100/80；"
            "以上2项均不适用的，按×100/60") in notes
    assert "加分项（第13项、第14项）计入总分" in notes
    assert "有效期：2023年1月1日至2023年12月31日" in notes
    assert "来源：苏州市2023年评价版 附件1" in notes
    assert (f"规则包 suzhou/inpatient-2023，规则文件 regions/suzhou/inpatient-2023.policy"
            f"（SHA-256 {digest.hexdigest()}）") in notes


def test_framework_pack_notes_the_bonus_limit_and_grades() -> None:
    notes = "\n".join(table_of("jilin/medical-inpatient-2026").notes)
    # 第八条：加分项原则上不超过10分; 第十条: 优 90, 良 80, 合格 70, 基本合格 60
    assert "加分项（第2项）另计，合计不超过10分（第八条：加分项原则上不超过10分，JL-8）" in notes
    assert "优≥90分；良≥80分；合格≥70分；基本合格≥60分；不合格低于60分" in notes


def test_city_pack_is_the_base_with_its_plugins_overrides() -> None:
    table = table_of("jilin/changchun-medical-inpatient-2026")
    # the example plugin: item 1 down to 90, item 3 added (10, capped at 6), bonus item 2 of 12
    assert [(r.number, str(r.points), r.bonus) for r in table.rows] == [
        (1, "90", False), (3, "10", False), (2, "12", True)]
    assert [str(s.points) for s in table.sections] == ["100", "12"]
    scoring = "\n".join(table.rows[1].scoring_lines())
    assert "本项扣分以6分为限 [JL-18]" in scoring
    assert "扣考核小组认定的「扣分记录」中记在本项的各条分值" in scoring
    notes = "\n".join(table.notes)
    digest = hashlib.sha256((ROOT / "plugins/changchun_example.py").read_bytes()).hexdigest()
    assert f"城市插件 plugins/changchun_example.py（SHA-256 {digest}）" in notes
    assert "合计不超过12分" in notes


# ---------------------------------------------------------------- a changed rule, a changed table


def test_a_changed_number_in_a_rule_changes_the_published_table(tmp_path: Path) -> None:
    root = project_copy(tmp_path)
    rule_file = root / "regions" / "suzhou" / "inpatient-2023.policy"
    text = rule_file.read_text(encoding="utf-8")
    for old, new in [("{ tertiary: 80%,", "{ tertiary: 82%,"),
                     ("{ >= 50%: 2, >= 40%: 1.5,", "{ >= 55%: 2, >= 40%: 1.5,"),
                     ("cap deductions at 3 ", "cap deductions at 2.5 ")]:
        assert text.count(old) == 1
        text = text.replace(old, new)
    rule_file.write_text(text, encoding="utf-8")
    result = policyc("render", "--pack", INPATIENT, "--format", "md", "--root", str(root),
                     "--packs", str(root / "generated"))
    assert result.returncode == 0, result.stderr
    assert "三级82%、二级90%" in result.stdout and "三级80%" not in result.stdout
    assert "≥55%：2分；≥40%：1.5分；≥30%：1分；否则0分" in result.stdout
    assert "本项扣分以2.5分为限" in result.stdout
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert digest in result.stdout


def test_a_rule_file_with_errors_is_reported_not_rendered(tmp_path: Path) -> None:
    root = project_copy(tmp_path)
    rule_file = root / "regions" / "suzhou" / "inpatient-2023.policy"
    text = rule_file.read_text(encoding="utf-8")
    rule_file.write_text(text.replace("deduct 1 per price_violations",
                                      "deduct 1 per price_violation"), encoding="utf-8")
    result = policyc("render", "--pack", INPATIENT, "--root", str(root))
    assert result.returncode == 1
    assert "regions/suzhou/inpatient-2023.policy:174:18: error C203: 'price_violation' is not " \
           "declared" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


# ---------------------------------------------------------------- hostile texts


def hostile_copy(tmp_path: Path) -> Path:
    """A copy whose item 1 label, a fact label and a method text try to become markup."""
    root = project_copy(tmp_path)
    rule_file = root / "regions" / "suzhou" / "inpatient-2023.policy"
    text = rule_file.read_text(encoding="utf-8")
    for old, new in [
        ('item 1 "执行医保目录和支付标准" 3',
         'item 1 "<script>alert(1)</script>执行 | 目录 & </td>" 3'),
        ('"目录调整后5个工作日内按月更新目录数据库": bool',
         '"<img src=x onerror=alert(2)>更新**目录**": bool'),
        ('"2.严格执行国家和省基本医疗保险药品目录',
         '"2.</textarea><b>严格</b>执行国家和省基本医疗保险药品目录'),
    ]:
        assert text.count(old) == 1
        text = text.replace(old, new)
    rule_file.write_text(text, encoding="utf-8")
    return root


def test_html_escapes_every_text(tmp_path: Path) -> None:
    page = render_html(table_of(INPATIENT, hostile_copy(tmp_path)))
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;执行 | 目录 &amp; &lt;/td&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;更新**目录**" in page


def test_markdown_escapes_every_text_and_keeps_eight_columns(tmp_path: Path) -> None:
    text = render_md(table_of(INPATIENT, hostile_copy(tmp_path)))
    row = next(line for line in text.splitlines() if line.startswith("| 1 |"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;执行 \\| 目录 &amp; &lt;/td&gt;" in row
    assert "&lt;img src=x onerror=alert(2)&gt;更新\\*\\*目录\\*\\*" in row
    cells = re.split(r"(?<!\\)\|", row.strip())[1:-1]
    assert len(cells) == len(COLUMNS)


def test_markdown_is_one_row_per_item_with_line_breaks() -> None:
    text = render_md(table_of(INPATIENT))
    lines = text.splitlines()
    header = "| " + " | ".join(COLUMNS) + " |"
    assert header in lines
    item_rows = [line for line in lines if re.match(r"\| \d+ \|", line)]
    assert [int(line.split("|")[1]) for line in item_rows] == [n for n, _, _ in INPATIENT_ITEMS]
    assert "| 14 | 医保政策宣传引导（加分项） | 5（加分） |" in text
    assert "1.查看医院HIS系统医保目录数据更新时效情况" in item_rows[0]
    assert "<br>2.查看医院HIS系统医保目录政策维护内容情况" in item_rows[0]
    assert "| **一、医保政策执行（共2项，6分）** |" in text
    assert "## 备注" in text


# ---------------------------------------------------------------- xlsx, read back


def test_xlsx_reads_back_with_every_item_points_category_total_and_rule() -> None:
    table = table_of(INPATIENT)
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(table)))
    sheet = book.active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[2] == COLUMNS
    items = [(r[0], r[1], Decimal(str(r[2]))) for r in rows[3:] if isinstance(r[0], int)]
    expected = [(n, label + ("（加分项）" if n in BONUS_ITEMS else ""), Decimal(points))
                for n, label, points in INPATIENT_ITEMS]
    assert items == expected
    categories = [(r[0], Decimal(str(r[2]))) for r in rows[3:]
                  if isinstance(r[0], str) and "（共" in r[0]]
    assert categories == [(heading, Decimal(points)) for heading, points, _ in INPATIENT_CATEGORIES]
    # each category total is what its items add up to, as read back
    sums: list[Decimal] = []
    for r in rows[3:]:
        if isinstance(r[0], str) and "（共" in r[0]:
            sums.append(Decimal(0))
        elif isinstance(r[0], int):
            sums[-1] += Decimal(str(r[2]))
    assert sums == [Decimal(points) for _, points, _ in INPATIENT_CATEGORIES]
    scoring = {r[0]: r[7] for r in rows[3:] if isinstance(r[0], int)}
    for number, fragments in INPATIENT_SCORING.items():
        for fragment in fragments:
            assert fragment in scoring[number], (number, fragment)
    merged = {str(cells) for cells in sheet.merged_cells.ranges}
    assert {"A4:B4", "D4:H4", "A1:H1"} <= merged  # title, first category row
    assert sheet.freeze_panes == "A4"
    assert sheet.print_title_rows == "$3:$3"
    assert sheet.page_setup.orientation == "landscape"
    assert str(sheet.page_setup.paperSize) == "9"  # A4
    assert sheet.cell(5, 5).alignment.wrap_text
    assert any(isinstance(r[0], str) and r[0] == "备注" for r in rows)


# ---------------------------------------------------------------- the CLI


def test_render_writes_each_format_from_the_extension(tmp_path: Path) -> None:
    for name in ("table.html", "table.xlsx", "table.md"):
        result = policyc("render", "--pack", INPATIENT, "-o", str(tmp_path / name))
        assert result.returncode == 0, result.stderr
        assert "14 items in 6 categories" in result.stderr
    assert (tmp_path / "table.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert (tmp_path / "table.xlsx").read_bytes()[:2] == b"PK"
    assert (tmp_path / "table.md").read_text(encoding="utf-8").startswith("# 定点医疗机构")


def test_render_to_stdout_by_year_and_usage_errors() -> None:
    html = policyc("render", "--pack", "suzhou/inpatient", "--year", "2023", "--format", "html")
    assert html.returncode == 0, html.stderr
    assert html.stdout.startswith("<!DOCTYPE html>") and "规范使用医保基金" in html.stdout
    assert policyc("render", "--pack", INPATIENT).stdout.startswith("# ")  # md by default
    unknown = policyc("render", "--pack", "suzhou/nowhere-2023")
    assert unknown.returncode == 2 and "no pack named suzhou/nowhere-2023" in unknown.stderr
    xlsx = policyc("render", "--pack", INPATIENT, "--format", "xlsx")
    assert xlsx.returncode == 2 and "give -o FILE.xlsx" in xlsx.stderr
    guess = policyc("render", "--pack", INPATIENT, "-o", "table.pdf")
    assert guess.returncode == 2 and "give --format" in guess.stderr


# ---------------------------------------------------------------- in a real browser


@pytest.fixture(scope="session")
def browser() -> str:
    try:
        return find_chromium()
    except NoBrowser as reason:
        pytest.skip(f"no headless browser: {reason}")


class _Cells(HTMLParser):
    """The rendered DOM's item and category rows: their data attributes and cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[dict[str, str | None], list[str]]] = []
        self.cell: list[str] | None = None
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts += 1
        if tag == "tr":
            self.rows.append((dict(attrs), []))
        elif tag in ("td", "th") and self.rows:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1][1].append("".join(self.cell))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def rendered_rows(browser: str, page: Path) -> _Cells:
    result = chromium(browser, file_url(page), "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    cells = _Cells()
    cells.feed(result.stdout)
    return cells


def item_rows(cells: _Cells) -> Iterator[tuple[dict[str, str | None], list[str]]]:
    return ((attrs, texts) for attrs, texts in cells.rows
            if "item" in (attrs.get("class") or "").split())


def test_chromium_renders_every_item_and_category_total(browser: str, tmp_path: Path) -> None:
    page = tmp_path / "inpatient.html"
    assert policyc("render", "--pack", INPATIENT, "-o", str(page)).returncode == 0
    cells = rendered_rows(browser, page)
    assert cells.rows[0][1] == list(COLUMNS)
    items = [(int(texts[0]), texts[1], texts[2]) for _, texts in item_rows(cells)]
    assert items == [(n, label + ("（加分项）" if n in BONUS_ITEMS else ""),
                      points + ("（加分）" if n in BONUS_ITEMS else ""))
                     for n, label, points in INPATIENT_ITEMS]
    categories = [(texts[0], attrs["data-points"]) for attrs, texts in cells.rows
                  if attrs.get("class") == "category"]
    assert categories == [(heading, points) for heading, points, _ in INPATIENT_CATEGORIES]
    scoring = {int(texts[0]): texts[7] for _, texts in item_rows(cells)}
    assert "（≥50%：2分；≥40%：1.5分；≥30%：1分；否则0分）" in scoring[9]
    assert "本项扣分以3分为限" in scoring[2]


def test_chromium_prints_it_on_a4_landscape_pages(browser: str, tmp_path: Path) -> None:
    page = tmp_path / "inpatient.html"
    page.write_text(render_html(table_of(INPATIENT)), encoding="utf-8")
    pdf, png = tmp_path / "inpatient.pdf", tmp_path / "inpatient.png"
    printed = chromium(browser, file_url(page), f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    assert printed.returncode == 0, printed.stderr[-2000:]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    pages = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert len(pages) >= 3  # 14 items do not fit one page
    width, height = (float(v) for v in pages[0])
    assert round(width) == 842 and round(height) == 595  # A4 landscape in points
    shot = chromium(browser, file_url(page), f"--screenshot={png}", "--window-size=1600,1000")
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 50_000


def test_chromium_shows_hostile_texts_as_text(browser: str, tmp_path: Path) -> None:
    page = tmp_path / "hostile.html"
    page.write_text(render_html(table_of(INPATIENT, hostile_copy(tmp_path / "copy"))),
                    encoding="utf-8")
    cells = rendered_rows(browser, page)
    assert cells.scripts == 0
    first = next(texts for _, texts in item_rows(cells))
    assert first[1] == "<script>alert(1)</script>执行 | 目录 & </td>"
    assert "</textarea><b>严格</b>执行" in first[4]
    assert "「<img src=x onerror=alert(2)>更新**目录**」的，得1分" in first[7]


def test_chromium_renders_a_city_pack(browser: str, tmp_path: Path) -> None:
    page = tmp_path / "changchun.html"
    result = policyc("render", "--pack", "jilin/changchun-medical-inpatient-2026", "-o", str(page))
    assert result.returncode == 0, result.stderr
    cells = rendered_rows(browser, page)
    assert [(texts[0], texts[2]) for _, texts in item_rows(cells)] == [
        ("1", "90"), ("3", "10"), ("2", "12（加分）")]
    assert [attrs["data-points"] for attrs, _ in cells.rows if attrs.get("class") == "category"] \
        == ["100", "12"]


def test_a_standard_not_built_yet_renders_from_its_rule_file(tmp_path: Path) -> None:
    root = project_copy(tmp_path)
    text = (root / "regions/suzhou/outpatient-2023.policy").read_text(encoding="utf-8")
    assert text.count("standard outpatient {") == 1
    (root / "regions/suzhou/clinic-2023.policy").write_text(
        text.replace("standard outpatient {", "standard clinic {"), encoding="utf-8")
    result = policyc("render", "--pack", "suzhou/clinic-2023", "--root", str(root),
                     "--packs", str(root / "generated"))
    assert result.returncode == 0, result.stderr
    assert "规则包 suzhou/clinic-2023，规则文件 regions/suzhou/clinic-2023.policy" in result.stdout
