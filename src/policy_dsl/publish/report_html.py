"""The annual report as one self-contained HTML page: the numbers of `report.Report`, the
charts inline as SVG (`charts`), A4 portrait print CSS; no script, no network."""

from __future__ import annotations

from .. import __version__
from . import charts
from .html import environment
from .report import Report, most_lost

STATUS_WORDS = {"deferred": "顺延考核", "terminated": "解除协议", "voluntary_exit": "主动退出"}
RENEWAL_WORDS = {"direct": "直接续签", "review": "按正常程序续签",
                 "with_suspension": "暂停1个月整改后续签", "none": "不予续签"}


def render_report_html(report: Report, agency: str | None = None,
                       year: int | None = None) -> str:
    env = environment()
    drawn = {"histogram": charts.score_histogram(report), "items": charts.item_chart(report),
             "grades": charts.grade_chart(report) if report.grades else ""}
    return env.get_template("report.html.jinja").render(
        r=report, charts=drawn, most_lost=most_lost(report), agency=agency, year=year,
        status_words=STATUS_WORDS, renewal_words=RENEWAL_WORDS, version=__version__,
        pack=report.pack, pack_sha256=report.pack_sha256)
