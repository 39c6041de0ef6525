"""The annual report's charts: static SVG from matplotlib (Agg, no network at view time).

Each chart draws numbers the report already computed (`report.Report`): counts are counted
exactly before matplotlib sees them, which only places bars. Texts are drawn as paths, so the
SVG shows the same glyphs on any machine; the CJK font is Noto Sans CJK (Debian's
`fonts-noto-cjk`), named explicitly, and its absence is an error (`NoCJKFont`), never a page
of empty boxes.
"""

from __future__ import annotations

import io
from collections import Counter
from decimal import Decimal
from functools import cache
from typing import Any

from .report import Report

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "Noto Sans SC")
INK = "#1f3b57"
ACCENT = "#b03a2e"
BAND_FILLS = ("#e8f0e3", "#f4f4f4")


class NoCJKFont(RuntimeError):
    """No font with Chinese glyphs is installed for matplotlib."""


@cache
def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager, pyplot

    installed = {font.name for font in font_manager.fontManager.ttflist}
    family = next((name for name in CJK_FONTS if name in installed), None)
    if family is None:
        raise NoCJKFont("no CJK font for the report's charts: install Debian's fonts-noto-cjk "
                        f"(one of {', '.join(CJK_FONTS)})")
    matplotlib.rcParams.update({
        "font.family": "sans-serif", "font.sans-serif": [family, "DejaVu Sans"],
        "svg.fonttype": "path", "svg.hashsalt": "policyc", "axes.unicode_minus": False,
        "font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
    })
    return pyplot


def _whole_numbers() -> Any:
    """A tick locator for counts: whole numbers only."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _svg(figure: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    _pyplot().close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # inline: no XML declaration or doctype


def grade_chart(report: Report) -> str:
    """Institutions per grade, in the framework's order."""
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(figsize=(5.2, 2.6))
    labels = [row.grade for row in report.grades]
    counts = [row.institutions for row in report.grades]
    bars = axes.bar(labels, counts, color=INK, width=0.6)
    axes.bar_label(bars, labels=[str(c) for c in counts], padding=2)
    axes.set_ylabel("机构数")
    axes.yaxis.set_major_locator(_whole_numbers())
    axes.set_title("考核等次分布")
    axes.margins(y=0.15)
    return _svg(figure)


def score_histogram(report: Report) -> str:
    """Institutions per whole point of score, with the grade bands (or 10-point bands)
    shaded and labelled."""
    pyplot = _pyplot()
    counts: Counter[int] = Counter(int(score // 1) for score in report.scores)
    figure, axes = pyplot.subplots(figsize=(7.2, 2.8))
    # from a little below the lowest score (or the lowest band's floor shown) up to 100
    low = max(0, min([*counts, 100]) - 5)
    high = max([*counts, 100])
    for index, band in enumerate(report.bands):
        top = high + 1 if band.high is None else int(band.high)
        bottom = low if index == len(report.bands) - 1 else max(low, int(band.low))
        if top <= low:
            continue
        axes.axvspan(bottom, top, color=BAND_FILLS[index % 2], zorder=0)
        axes.text((bottom + top) / 2, 1.0, band.label, transform=axes.get_xaxis_transform(),
                  ha="center", va="bottom", fontsize=8, color="#333")
        if band.low > low and index < len(report.bands) - 1:
            axes.axvline(int(band.low), color=ACCENT, linewidth=0.8, linestyle="--", zorder=1)
    points = sorted(counts)
    axes.bar([p + 0.5 for p in points], [counts[p] for p in points], width=0.9, color=INK,
             zorder=2)
    axes.set_xlim(low, high + 1)
    axes.yaxis.set_major_locator(_whole_numbers())
    axes.set_xlabel("得分（每 1 分一档）")
    axes.set_ylabel("机构数")
    return _svg(figure)


def item_chart(report: Report) -> str:
    """Each item's mean points as a percent of its maximum."""
    pyplot = _pyplot()
    rows = [row for row in report.items if row.share is not None]
    figure, axes = pyplot.subplots(figsize=(7.2, 0.32 * max(len(rows), 3) + 0.8))
    labels = [f"{row.number} {row.label[:16]}" for row in rows][::-1]
    shares = [row.share or Decimal(0) for row in rows][::-1]
    bars = axes.barh(labels, [float(s) for s in shares], color=INK, height=0.6)
    axes.bar_label(bars, labels=[f"{s}%" for s in shares], padding=2, fontsize=7.5)
    axes.set_xlim(0, 112)
    axes.set_xlabel("平均得分占该项分值的百分比")
    return _svg(figure)
