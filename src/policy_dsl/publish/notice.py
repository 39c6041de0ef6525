"""A result notice (考核结果告知书): one institution's result as a document it is sent.

Everything the notice says about points, reasons, the rescaling and the settlement comes from
the institution's `Explanation` (`runtime.explain`), the same structure `policyc explain`
prints, so the notice and the computation cannot disagree. This module only adds the
document's frame: who it is addressed to and by whom, the standard, and the pack's hash to
verify it by. Where the sources give no text (the agency's name when not given; a procedure
for disputes, on which the Jilin measures are silent) the notice shows a marked blank for the
agency to fill, never an invented one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import __version__
from ..runtime import Pack
from ..runtime.arithmetic import ZERO, plain
from ..runtime.explain import RENEWAL, STATUS, STEP, WORDS, Explanation, ItemExplanation
from .html import environment

AGENCY_BLANK = "（经办机构名称）"
YEAR_BLANK = "（考核年度）"
UNSAFE = re.compile(r"[^\w.-]+")  # \w: letters and digits of any script, and _
MAX_NAME = 80


@dataclass(frozen=True, slots=True)
class NoticeRow:
    """One item of the notice's table."""

    item: ItemExplanation
    shown: tuple[int, ...]  # which of the item's steps the table lists (indices)


def shown_steps(item: ItemExplanation) -> tuple[int, ...]:
    """The steps a notice lists for an item: every one that moved points, and for an item
    that does not apply, the reason it does not (a rule that did nothing is in `explain`)."""
    return tuple(index for index, step in enumerate(item.steps)
                 if step.points != ZERO or item.earned is None)


def total_sentence(explanation: Explanation) -> str | None:
    """The total and its rescaling, in `explain`'s words."""
    total, earned, maximum = explanation.total, explanation.earned, explanation.applicable_max
    if total is None or earned is None or maximum is None:
        return None
    rescale = explanation.rescale
    fields = {"total": str(total), "earned": plain(earned), "applicable_max": plain(maximum),
              "rescale": plain(rescale) if rescale is not None else ""}
    if rescale is not None and maximum not in (rescale, ZERO):
        return WORDS["rescaled"].format(**fields)
    return WORDS["unrescaled"].format(**fields)


def file_name(identifier: object, position: int, taken: set[str]) -> str:
    """A safe file name for an institution's notice (without extension): its id with every
    character other than letters, digits, `.`, `-` and `_` replaced, no leading dot (so
    `../x` is `x`, never a path), at most 80 characters; the record's position is added when
    two ids come out the same or an id is empty."""
    name = UNSAFE.sub("_", str(identifier)).lstrip("._")[:MAX_NAME] or f"record-{position}"
    if name.lower() in taken:
        name = f"{name}-{position}"
    taken.add(name.lower())
    return name


def render_notice_html(pack: Pack, explanation: Explanation, agency: str | None,
                       year: int | None) -> str:
    info = pack.INFO
    rows = [NoticeRow(item, shown_steps(item)) for item in explanation.items]
    settlement = explanation.settlement
    return environment().get_template("notice.html.jinja").render(
        e=explanation, info=info, rows=rows, settlement=settlement,
        total_sentence=total_sentence(explanation), agency=agency, agency_blank=AGENCY_BLANK,
        year=year, year_blank=YEAR_BLANK, status_words=STATUS, renewal_words=RENEWAL,
        step_words=STEP, pack=info.name, pack_sha256=pack.sha256, version=__version__,
        not_applicable=[row.item for row in rows if row.item.earned is None])
