"""`policyc notice` and `policyc report`, checked as people see them: the pages are opened in
headless Chromium (`--dump-dom`), and the numbers shown are compared with the results file.

Expected values come from the result lines themselves (counted here independently of the
report's module) and, for the shipped Jilin samples, from the hand-worked refunds the README
gives: JL-H001 良 at 85.55 → 100% − 2% × (90 − 85.55) = 91.10% of 200000 = 182200.00;
JL-H002 良 at 85.50 → 91.00% of 500000 = 455000.00; JL-H003 downgraded 优 → 合格 (national,
two grades), 合格 refund as 95.00: 100% − 2.5% × 0 ... = 75.00% of 300000 = 225000.00;
JL-H005 voluntary exit with violations refunds as 合格 at 70: 100% − 2.5% × 20 = 50% of 120000
= 60000.00. Total 182200 + 455000 + 225000 + 60000 = 922200.00.
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from decimal import Decimal as D
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from browser import NoBrowser, chromium, file_url, find_chromium
from helpers import ROOT
from helpers import pack as load_pack
from test_cli import policyc

from policy_dsl.runtime import iter_outcomes, read_records
from policy_dsl.runtime.explain import explain_outcome

JILIN = "jilin/medical-inpatient-2026"
SUZHOU = "suzhou/inpatient-2023"
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def browser() -> str:
    try:
        return find_chromium()
    except NoBrowser as error:
        pytest.skip(str(error))


class Dom(HTMLParser):
    """What a reader sees: the text of each element with an id, and each table's rows."""

    def __init__(self) -> None:
        super().__init__()
        self.text: dict[str, str] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self.items: dict[str, dict[str, str]] = {}  # data-item rows: their data- attributes
        self.item_text: dict[str, str] = {}
        self._open: list[tuple[str, str | None]] = []
        self._table: list[str] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._item: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        ident = found.get("id")
        if tag in ("br", "meta", "col", "img", "input", "link"):
            return
        self._open.append((tag, ident))
        if ident:
            self.text[ident] = ""
        if tag == "table":
            self._table.append(ident or "")
            self.tables.setdefault(ident or "", [])
        elif tag == "tr":
            self._row = []
            if found.get("data-item"):
                self._item = str(found["data-item"])
                self.items[self._item] = {k: v or "" for k, v in found.items()}
                self.item_text[self._item] = ""
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            open_tag, _ = self._open.pop()
            if open_tag == tag:
                break
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table[-1]].append(self._row)
            self._row = None
            self._item = None
        elif tag == "table" and self._table:
            self._table.pop()

    def handle_data(self, data: str) -> None:
        for _, ident in self._open:
            if ident:
                self.text[ident] += data
        if self._cell is not None:
            self._cell.append(data)
        if self._item is not None:
            self.item_text[self._item] += data


def seen(browser: str, page: Path) -> Dom:
    result = chromium(browser, file_url(page), "--dump-dom")
    assert result.returncode == 0, result.stderr[-500:]
    dom = Dom()
    dom.feed(result.stdout)
    return dom


def result_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def scored(tmp_path: Path, pack: str, records: Path, name: str = "results.jsonl") -> Path:
    out = tmp_path / name
    run = policyc("score", "--pack", pack, str(records), "-o", str(out))
    assert run.returncode in (0, 3), run.stderr
    return out


def jilin_batch(count: int, seed: int = 11) -> list[dict[str, Any]]:
    """Jilin institutions over every branch of the framework (benchmarks/make_batch.py; the
    same batch docs/screenshots.py reports on)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from make_batch import jilin_batch as made
    finally:
        sys.path.pop(0)
    return made(count, seed)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def check_report_against_lines(dom: Dom, lines: list[dict[str, Any]], framework: bool) -> None:
    """Every count and sum the page shows, against the result lines counted here."""
    errors = sum(1 for line in lines if line["error"] is not None)
    assert dom.text["count-records"].strip().endswith(str(len(lines)))
    assert dom.text["count-errors"].strip().endswith(str(errors))
    assert dom.text["count-scored"].strip().endswith(str(len(lines) - errors))
    if not framework:
        return
    valid = [line for line in lines if line["error"] is None]
    grades = Counter(line["grade"] for line in valid if line["grade"] is not None)
    shown = {row[0]: int(row[1]) for row in dom.tables["grades"][1:] if row[0] in grades
             or row[0] in ("优", "良", "合格", "基本合格", "不合格")}
    assert shown == {g: grades[g] for g in shown}
    assert sum(shown.values()) == sum(grades.values())
    refunds = sum((D(line["refund_amount"]) for line in valid
                   if line["refund_amount"] is not None), D(0))
    assert dom.text["refunds-total"].strip() == f"{refunds:,.2f}"
    # withheld: each deposit less its refund, where a refund is decided (not a deferral)
    withheld = sum((D(line["deposit"]) - D(line["refund_amount"]) for line in valid
                    if line["refund_amount"] is not None), D(0))
    assert dom.text["withheld-total"].strip() == f"{withheld:,.2f}"
    for status in ("deferred", "terminated", "voluntary_exit"):
        expected = sum(1 for line in valid if line["status"] == status)
        assert dom.text[f"count-{status}"].strip().endswith(str(expected))
    publicized = sorted(line["id"] for line in valid if line["publicize"])
    listed = sorted(row[0] for row in dom.tables.get("publicize", [])[1:])
    assert listed == publicized


def test_report_of_the_jilin_samples_shows_the_hand_worked_refunds(tmp_path: Path,
                                                                    browser: str) -> None:
    results = scored(tmp_path, JILIN, EXAMPLES / "jilin-medical-inpatient.jsonl")
    page = tmp_path / "report.html"
    run = policyc("report", "--pack", JILIN, str(results), "-o", str(page))
    assert run.returncode == 0, run.stderr
    dom = seen(browser, page)
    grades = {row[0]: (row[1], row[2], row[3]) for row in dom.tables["grades"][1:]}
    # 良: refunds 182200.00 + 455000.00; withheld (200000 − 182200) + (500000 − 455000)
    # = 17800 + 45000 = 62800.00
    assert grades["良"] == ("2", "637,200.00", "62,800.00")
    # 合格: JL-H003, downgraded from 优: 300000 − 225000 = 75000.00 withheld
    assert grades["合格"] == ("1", "225,000.00", "75,000.00")
    assert grades["优"] == ("0", "0.00", "0.00")
    # not assessed: JL-H005's exit withholds 120000 − 60000 = 60000; JL-H004 (deferred) has
    # no refund decided yet
    assert grades["未参加考核（主动退出等）"] == ("2", "60,000.00", "60,000.00")
    assert dom.text["refunds-total"].strip() == "922,200.00"
    # 62800 + 75000 + 60000 = 197800 = deposits 1120000 − refunds 922200
    assert dom.text["withheld-total"].strip() == "197,800.00"
    assert dom.text["withheld-sum"].strip() == "197,800.00"
    assert dom.text["count-deferred"].strip().endswith("1")  # JL-H004: under 6 months
    assert dom.text["count-voluntary_exit"].strip().endswith("1")  # JL-H005
    assert [row[0] for row in dom.tables["adjusted"][1:]] == ["JL-H003"]
    assert "降档：优 → 合格" in dom.tables["adjusted"][1][3]
    # 85.55 and 85.50 are 4.45 and 4.5 above 80 and below 90: no likely dispute
    assert "near-boundary" in dom.text and "无" in dom.text["near-boundary"]
    assert dom.text["pack-sha256"] == load_pack(JILIN).sha256
    check_report_against_lines(dom, result_lines(results), framework=True)
    assert "<svg" in page.read_text("utf-8") and "http" not in \
        page.read_text("utf-8").split("<svg", 1)[1].split("xmlns", 1)[0]


def test_report_of_a_generated_jilin_batch_matches_its_results(tmp_path: Path,
                                                                browser: str) -> None:
    rows = jilin_batch(2500)
    inputs = write_jsonl(tmp_path / "batch.jsonl", rows)
    results = scored(tmp_path, JILIN, inputs)
    lines = result_lines(results)
    previous = tmp_path / "previous.jsonl"  # last year: each institution's previous_grade
    previous.write_text("".join(json.dumps({**line, "grade": row.get("previous_grade")},
                                           ensure_ascii=False) + "\n"
                                for line, row in zip(lines, rows, strict=True)), "utf-8")
    page = tmp_path / "report.html"
    run = policyc("report", "--pack", JILIN, str(results), "-o", str(page), "--previous",
                  str(previous))
    assert run.returncode == 0, run.stderr
    dom = seen(browser, page)
    check_report_against_lines(dom, lines, framework=True)
    # transitions: counted here from the two files by id
    order = ["优", "良", "合格", "基本合格", "不合格"]
    moves: Counter[tuple[str, str]] = Counter()
    fell = []
    for line, row in zip(lines, rows, strict=True):
        if line["error"] is None and line["grade"] and row.get("previous_grade"):
            moves[(row["previous_grade"], line["grade"])] += 1
            if order.index(line["grade"]) - order.index(row["previous_grade"]) >= 2:
                fell.append(line["id"])
    shown = {(a, b): int(n) for a, b, n in dom.tables["transitions"][1:]}
    assert shown == dict(moves)
    assert sorted(r[0] for r in dom.tables.get("fell-two", [])[1:]) == sorted(fell)
    repeated = sorted(line["id"] for line, row in zip(lines, rows, strict=True)
                      if line["error"] is None and line["grade"] == "基本合格"
                      and row.get("previous_grade") == "基本合格")
    assert repeated, "the batch has consecutive 基本合格"
    assert sorted(r[0] for r in dom.tables["repeated"][1:]) == repeated
    # likely disputes: the final score within 0.5 of 90, 80, 70 or 60
    near = sorted(line["id"] for line in lines if line["error"] is None
                  and line["final_score"] is not None
                  and any(abs(D(line["final_score"]) - f) <= D("0.5") for f in (90, 80, 70, 60)))
    assert near and sorted(r[0] for r in dom.tables["near-boundary"][1:]) == near
    # item 1: mean points over the assessed, 2 decimals half-up
    points = [D(line["items"]["1"]) for line in lines if line["items"] is not None]
    mean = (sum(points, D(0)) / len(points)).quantize(D("0.01"))
    assert dom.tables["items"][1][4] == str(mean)


def test_report_of_a_suzhou_batch_has_ten_point_bands_and_no_grades(tmp_path: Path,
                                                                    browser: str) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from make_batch import record
    finally:
        sys.path.pop(0)
    rng = random.Random(5)
    inputs = write_jsonl(tmp_path / "batch.jsonl", [record(i, rng) for i in range(3000)])
    results = scored(tmp_path, SUZHOU, inputs)
    lines = result_lines(results)
    page = tmp_path / "report.html"
    assert policyc("report", "--pack", SUZHOU, str(inputs), "-o", str(page)).returncode == 0
    dom = seen(browser, page)
    check_report_against_lines(dom, lines, framework=False)
    assert "grades" not in dom.tables and "本标准不设考核等次" in page.read_text("utf-8")
    totals = [D(line["total"]) for line in lines if line["total"] is not None]
    bands = {row[0]: int(row[2]) for row in dom.tables["bands"][1:]}
    assert bands["80–90"] == sum(1 for t in totals if 80 <= t < 90)
    assert bands["90–100"] == sum(1 for t in totals if t >= 90)
    assert sum(bands.values()) == len(totals)


def test_report_refuses_results_of_another_pack_and_broken_lines(tmp_path: Path) -> None:
    results = scored(tmp_path, JILIN, EXAMPLES / "jilin-medical-inpatient.jsonl")
    run = policyc("report", "--pack", SUZHOU, str(results), "-o", str(tmp_path / "r.html"))
    assert run.returncode == 2 and "made with jilin/medical-inpatient-2026" in run.stderr
    assert not (tmp_path / "r.html").exists()
    broken = tmp_path / "broken.jsonl"
    text = results.read_text("utf-8").splitlines()
    text[2] = text[2].replace('"refund_amount": "225000.00"', '"refund_amount": 225000.0')
    assert text[2] != results.read_text("utf-8").splitlines()[2]
    broken.write_text("\n".join(text) + "\n", "utf-8")
    run = policyc("report", "--pack", JILIN, str(broken), "-o", str(tmp_path / "r.html"))
    assert run.returncode == 3 and "line 3: refund_amount" in run.stderr


def test_report_of_results_without_withheld_says_so(tmp_path: Path, browser: str) -> None:
    """Results written before the result line's schema v2 carry no `withheld`: the report
    shows no withheld sums (never 0) and says to score again."""
    results = scored(tmp_path, JILIN, EXAMPLES / "jilin-medical-inpatient.jsonl")
    older = write_jsonl(tmp_path / "older.jsonl", [
        {k: v for k, v in line.items() if k not in ("deposit", "withheld")}
        for line in result_lines(results)])
    page = tmp_path / "report.html"
    assert policyc("report", "--pack", JILIN, str(older), "-o", str(page)).returncode == 0
    dom = seen(browser, page)
    assert dom.text["withheld-total"].strip() == "—"
    assert dom.text["refunds-total"].strip() == "922,200.00"
    assert "重新评分" in page.read_text("utf-8") and "withheld-sum" not in dom.text


def test_report_as_xlsx_has_a_sheet_per_table_with_the_same_numbers(tmp_path: Path) -> None:
    results = scored(tmp_path, JILIN, EXAMPLES / "jilin-medical-inpatient.jsonl")
    book = tmp_path / "report.xlsx"
    run = policyc("report", "--pack", JILIN, str(results), "-o", str(book))
    assert run.returncode == 0, run.stderr
    workbook = openpyxl.load_workbook(book)
    assert {"counts", "grades", "bands", "items", "publicize", "errors"} <= \
        set(workbook.sheetnames)
    grades = {row[0]: (row[1], row[2], row[3]) for row in
              workbook["grades"].iter_rows(min_row=2, values_only=True)}
    assert grades["良"][0] == 2 and D(str(grades["良"][1])) == D("637200")
    assert D(str(grades["良"][2])) == D("62800")  # 17800 + 45000 (see the HTML test)
    assert D(str(grades["合格"][2])) == D("75000")
    counts = dict(workbook["counts"].iter_rows(min_row=1, values_only=True))
    assert D(str(counts["refunds total (yuan)"])) == D("922200")
    assert D(str(counts["deposits withheld (yuan)"])) == D("197800")
    assert D(str(counts["deposits withheld from institutions not assessed (yuan)"])) == \
        D("60000")
    assert [r[0] for r in workbook["publicize"].iter_rows(min_row=2, values_only=True)] == \
        ["JL-H001", "JL-H002"]


# ---------------------------------------------------------------- notices


@pytest.mark.parametrize(("pack", "sample"), [(SUZHOU, "suzhou-inpatient.jsonl"),
                                              (JILIN, "jilin-medical-inpatient.jsonl"),
                                              ("suzhou/outpatient-2023",
                                               "suzhou-outpatient.csv")])
def test_a_notice_for_each_sample_institution_matches_its_explanation(
        tmp_path: Path, browser: str, pack: str, sample: str) -> None:
    out = tmp_path / "notices"
    run = policyc("notice", "--pack", pack, str(EXAMPLES / sample), "-o", str(out),
                  "--agency", "示例市医疗保障事业管理中心")
    chosen = load_pack(pack)
    records = read_records((EXAMPLES / sample).read_text("utf-8-sig"),
                           "csv" if sample.endswith(".csv") else "jsonl", sample)
    outcomes = list(iter_outcomes(chosen, records, explain=True))
    errors = [o for o in outcomes if o.error is not None]
    assert run.returncode == (3 if errors else 0), run.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{o.record.id}.html" for o in outcomes if o.error is None)
    for outcome in errors:  # e.g. SZ-C004, whose base is 0: no notice, named on stderr
        assert str(outcome.record.id) in run.stderr
    for outcome in outcomes:
        if outcome.error is not None:
            continue
        explanation = explain_outcome(chosen, outcome)
        dom = seen(browser, out / f"{outcome.record.id}.html")
        assert dom.text["institution-id"] == str(explanation.id)
        assert dom.text["agency"] == "示例市医疗保障事业管理中心"
        assert dom.text["pack-sha256"] == chosen.sha256
        if explanation.total is not None:
            assert dom.text["total"] == str(explanation.total)
            assert set(dom.items) == {str(item.number) for item in explanation.items}
        for item in explanation.items if explanation.total is not None else ():
            shown = dom.items[str(item.number)]
            assert shown["data-earned"] == ("" if item.earned is None else
                                            format(item.earned.normalize(), "f")
                                            if item.earned == item.earned.to_integral()
                                            else str(item.earned.normalize()))
            for step in item.steps:
                if step.points != 0:
                    assert step.reason.text in dom.item_text[str(item.number)]
                    if step.sentence:
                        assert step.sentence in dom.item_text[str(item.number)]
        settlement = explanation.settlement
        if settlement is not None and settlement.refund_amount is not None:
            assert dom.text["refund-amount"] == f"{settlement.refund_amount:,.2f} 元"
        if settlement is not None and settlement.grade is not None:
            assert dom.text["grade"] == settlement.grade


def test_a_notice_without_agency_shows_a_blank_and_the_dispute_placeholder(
        tmp_path: Path) -> None:
    out = tmp_path / "n"
    run = policyc("notice", "--pack", JILIN, str(EXAMPLES / "jilin-medical-inpatient.jsonl"),
                  "--id", "JL-H002", "-o", str(out))
    assert run.returncode == 0, run.stderr
    assert [p.name for p in out.iterdir()] == ["JL-H002.html"]
    page = (out / "JL-H002.html").read_text("utf-8")
    assert "（经办机构名称）" in page and "【待经办机构填写】" in page
    # 11 Art.: 90 × 70% + (80 + 70) / 2 × 30% = 63 + 22.5 = 85.5; 良: 100% − 2% × 4.5 = 91%
    assert "85.50" in page and "91.00%" in page and "455,000.00 元" in page
    assert "2026年度" in page  # from the record's assessment_year
    missing = policyc("notice", "--pack", JILIN,
                      str(EXAMPLES / "jilin-medical-inpatient.jsonl"), "--id", "nobody",
                      "-o", str(tmp_path / "m"))
    assert missing.returncode == 3 and "'nobody'" in missing.stderr


def test_hostile_ids_and_names_are_escaped_and_never_leave_the_directory(
        tmp_path: Path) -> None:
    first = json.loads((EXAMPLES / "jilin-medical-inpatient.jsonl").read_text("utf-8")
                       .splitlines()[0])
    hostile = [{**first, "id": "../escape", "name": "<script>alert(1)</script>"},
               {**first, "id": "/etc/passwd"}, {**first, "id": ".."},
               {**first, "id": "a/b\\c<img src=x onerror=alert(1)>"},
               {**first, "id": "./escape"}]  # the same file name as ../escape: numbered
    inputs = write_jsonl(tmp_path / "hostile.jsonl", hostile)
    out = tmp_path / "out"
    run = policyc("notice", "--pack", JILIN, str(inputs), "-o", str(out))
    assert run.returncode == 0, run.stderr
    written = sorted(p.name for p in out.iterdir())
    assert len(written) == 5 and not (tmp_path / "escape.html").exists()
    assert {"escape.html", "escape-5.html", "etc_passwd.html", "record-3.html"} <= set(written)
    assert all("/" not in name and not name.startswith(".") for name in written)
    page = (out / "escape.html").read_text("utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in "".join((out / name).read_text("utf-8") for name in written)


def test_an_institution_with_an_input_error_gets_no_notice_and_exit_3(tmp_path: Path) -> None:
    rows = jilin_batch(10)  # row 7 has deposit "not money"
    inputs = write_jsonl(tmp_path / "ten.jsonl", rows)
    out = tmp_path / "out"
    run = policyc("notice", "--pack", JILIN, str(inputs), "-o", str(out))
    assert run.returncode == 3
    assert "JB00007" in run.stderr and "deposit" in run.stderr
    assert sorted(p.stem for p in out.iterdir()) == [f"JB{i:05d}" for i in range(10) if i != 7]


def test_a_notice_prints_to_pdf_from_the_same_html(tmp_path: Path, browser: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICYC_CHROMIUM", browser)
    out = tmp_path / "pdf"
    run = policyc("notice", "--pack", SUZHOU, str(EXAMPLES / "suzhou-inpatient.jsonl"),
                  "--id", "SZ-H002", "--format", "pdf", "-o", str(out))
    assert run.returncode == 0, run.stderr
    data = (out / "SZ-H002.pdf").read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page") >= 2  # A4: 2+ pages
