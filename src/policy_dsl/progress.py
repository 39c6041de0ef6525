"""A progress line on a terminal for long runs: records done, rate, time left.

Written to standard error, redrawn at most five times a second and cleared at the end; nothing
at all when standard error is not a terminal (a pipe, a file, CI) or when it is turned off
(`policyc score --quiet`). A few lines of our own: the runtime install needs no library.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")

REDRAW_SECONDS = 0.2
WIDTH = 24  # characters of the bar


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return (f"{hours}:" if hours else "") + f"{rest // 60:0{2 if hours else 1}d}:{rest % 60:02d}"


def progress_line(done: int, total: int | None, elapsed: float) -> str:
    """`[#########---------------]  37% 37,000/100,000 records · 8,210/s · 0:07 left`; while
    the total is not known yet (the first pass), `reading: 37,000 records · 8,210/s`."""
    rate = done / elapsed if elapsed > 0 else 0.0
    if total is None:
        return f"reading: {done:,} records · {rate:,.0f}/s"
    share = done / total if total else 1.0
    filled = int(share * WIDTH)
    left = (total - done) / rate if rate > 0 else None
    return (f"[{'#' * filled}{'-' * (WIDTH - filled)}] {share:4.0%} {done:,}/{total:,} "
            f"records · {rate:,.0f}/s · {'?' if left is None else _clock(left)} left")


class Progress:
    """The progress line of `total` records, advanced as they are done (by one or by a
    chunk), drawn on `stream` when `enabled` and it is a terminal."""

    def __init__(self, total: int | None, *, enabled: bool = True,
                 stream: TextIO | None = None) -> None:
        self.out = sys.stderr if stream is None else stream
        self.shown = enabled and self.out.isatty()
        self.restart(total)

    def restart(self, total: int | None) -> None:
        """Counting again from 0, towards `total` (the second pass, after the first)."""
        self.total = total
        self.done = 0
        self.start = self.last = time.monotonic() if self.shown else 0.0

    def advance(self, count: int = 1) -> None:
        self.done += count
        if not self.shown:
            return
        now = time.monotonic()
        if now - self.last >= REDRAW_SECONDS:
            self.last = now
            self.out.write("\r" + progress_line(self.done, self.total, now - self.start)
                           + "\x1b[K")
            self.out.flush()

    def close(self) -> None:
        if self.shown:
            self.out.write("\r\x1b[K")  # the line cleared: the summary goes where it was
            self.out.flush()


def with_progress(items: Iterable[T], total: int | None, *, enabled: bool = True,
                  stream: TextIO | None = None) -> Iterator[T]:
    """`items` unchanged, drawing the progress line on `stream` (standard error) as they
    pass, when `enabled` and the stream is a terminal."""
    bar = Progress(total, enabled=enabled, stream=stream)
    try:
        for item in items:
            yield item
            bar.advance()
    finally:
        bar.close()
