"""The first pass's validated records, kept for the second pass to score.

`plan_batch` validates every record once; the second pass scores them from here instead of
reading and validating the input again. The entries are kept in memory, as they are, up to a
memory budget (`MEMORY_BUDGET`, estimated from the records' own sizes); beyond it they are
spilled to a temporary file, pickled, as an external sort spills its runs. A batch of a few
hundred thousand institutions never touches the disk; a batch of millions holds at most the
budget of them at once.
"""

from __future__ import annotations

import contextlib
import copyreg
import dataclasses
import os
import pickle
import sys
import tempfile
from array import array
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from .packs import Pack

MEMORY_BUDGET = 512 << 20  # bytes of entries kept in memory, by estimate; the rest spilled
SPOOL_STEP = 1024  # a spilled entry's offset is kept for every this many
SIZE_SAMPLE = 1024  # a record's size is measured again every this many records
_ENTRY_SIZE = 200  # bytes of an entry without its facts and problem (the tuple, its fields)


# A record as the first pass left it, a plain tuple (the cheapest to make and keep):
# (position, id, error: what was wrong with the record as read, without `where`;
#  unit, readable: False when it could not be read at all, facts: the pack's validated
#  facts or None, problem: why it cannot be scored, with `where`, or None;
#  fault: the problem is an internal fault of policy_dsl)
Entry = tuple[int, object, str | None, str, bool, Any, str | None, bool]


class FactStore:
    """Entries in input order: the first in memory up to `budget` bytes (by estimate), the
    rest pickled to a temporary file (created only then, removed by `close`). Read them back
    with `entries`, from this process or from one forked after the first pass (each reading
    opens the file for itself)."""

    def __init__(self, pack: Pack, budget: int | None = None, directory: str | None = None,
                 share: int = 1) -> None:
        self.pack = pack
        # bytes to keep in memory: `budget`, else `MEMORY_BUDGET` shared by `share` stores
        self.budget = MEMORY_BUDGET // share if budget is None else budget
        self.directory = directory  # of the spill file (None: the system's temporary one)
        self.kept: list[Entry] = []
        self.count = 0
        self.used = 0  # estimated bytes of `kept`
        self.facts_size = 0  # estimated bytes of one record's facts (a running mean)
        self.samples = 0
        self.path: str | None = None  # the spill file, once there is one
        self.spill: IO[bytes] | None = None
        self.offsets: array[int] = array("q")  # of every SPOOL_STEP-th spilled entry

    def add(self, entry: Entry) -> bool:
        """`entry` kept; True when it is kept in memory (its facts live on anyway)."""
        self.count += 1
        if self.spill is None:
            if entry[5] is not None:
                if self.count % SIZE_SAMPLE == 1 or not self.samples:
                    self.samples += 1
                    self.facts_size += (deep_size(entry[5]) - self.facts_size) // self.samples
                self.used += self.facts_size
            self.used += _ENTRY_SIZE if entry[6] is None else _ENTRY_SIZE + len(entry[6])
            if self.used <= self.budget or not self.kept:
                self.kept.append(entry)
                return True
            self._open_spill()
        assert self.spill is not None
        spilled = self.count - 1 - len(self.kept)
        if spilled % SPOOL_STEP == 0:
            self.offsets.append(self.spill.tell())
        pickle.dump(entry, self.spill, pickle.HIGHEST_PROTOCOL)
        return False

    def finish(self) -> None:
        """Every entry added: the spill file written out, for any process to read."""
        if self.spill is not None:
            self.spill.flush()

    def entries(self, start: int = 0, stop: int | None = None) -> Iterator[Entry]:
        """Entries start..stop-1, in order."""
        stop = self.count if stop is None else min(stop, self.count)
        kept = len(self.kept)
        for index in range(start, min(stop, kept)):
            yield self.kept[index]
        if stop <= kept:
            return
        assert self.path is not None
        first = max(start, kept) - kept
        with open(self.path, "rb") as spool:
            spool.seek(self.offsets[first // SPOOL_STEP])
            for _ in range(first % SPOOL_STEP):
                pickle.load(spool)
            for _ in range(stop - kept - first):
                yield pickle.load(spool)

    def close(self) -> None:
        """The spill file removed (if any); the entries let go."""
        self.kept = []
        if self.spill is not None:
            self.spill.close()
            self.spill = None
        if self.path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            self.path = None

    def __enter__(self) -> FactStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open_spill(self) -> None:
        make_picklable(self.pack)
        handle, self.path = tempfile.mkstemp(prefix="policyc-spool-", dir=self.directory)
        self.spill = os.fdopen(handle, "w+b")


def deep_size(value: object) -> int:
    """About how many bytes `value` holds: its own size and that of what it refers to
    (dataclass fields, members of tuples, lists, sets and dicts), each object once."""
    seen: set[int] = set()
    total = 0
    stack = [value]
    while stack:  # bounded: each object is visited once
        each = stack.pop()
        if id(each) in seen:
            continue
        seen.add(id(each))
        total += sys.getsizeof(each)
        if isinstance(each, tuple | list | set | frozenset):
            stack.extend(each)
        elif isinstance(each, dict):
            stack.extend(each.keys())
            stack.extend(each.values())
        elif dataclasses.is_dataclass(each) and not isinstance(each, type):
            stack.extend(getattr(each, field.name) for field in dataclasses.fields(each))
    return total


# ---------------------------------------------------------------- a pack's facts, pickled

_FIELDS: dict[type, tuple[str, ...]] = {}


def make_picklable(pack: Pack) -> None:
    """A pack's dataclasses (its `Facts` and their entries) pickled by their fields: the
    pack module is loaded from its verified bytes, not imported by name, so pickle could
    not find the classes by their module's name alone."""
    module = cast("Any", pack.module)
    for value in vars(module).values():
        if isinstance(value, type) and value.__module__ == module.__name__ and \
                dataclasses.is_dataclass(value) and value not in _FIELDS:
            _FIELDS[value] = tuple(each.name for each in dataclasses.fields(value))
            copyreg.pickle(value, _reduced)


def _reduced(value: Any) -> tuple[Any, tuple[str, str, tuple[Any, ...]]]:
    kind = type(value)
    return _rebuilt, (kind.__module__, kind.__qualname__,
                      tuple([getattr(value, name) for name in _FIELDS[kind]]))


def _rebuilt(module: str, name: str, values: tuple[Any, ...]) -> Any:
    return getattr(sys.modules[module], name)(*values)
