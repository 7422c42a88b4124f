"""What the preview (`temoin serve`) keeps between two builds of the reports.

A rebuild after one edit must not redo the work of every bulletin, every case's counting
records and open-data rows: the preview's `State` holds one `Memo`, hands it to each build's
`site.context.Generation`, and the generators ask that for results they made before from
*the very same objects*.

Why identity is a safe key here: the preview's `State.collect` keeps a case's `Case` object
only while none of its folder's files changed (inode, size, mtime), makes a new object
otherwise, and nothing in the generators changes a `Case` (they read it). A result is
stored with the objects it was made from, so their `id()` cannot be reused by another object
while the entry lives, and it is looked up with the `id()` of the objects of this build plus
every other value it depends on (settings, neighbours, editorials, the day). Entries not used
by a build are dropped at its end (`finish`). A plain `temoin build` has no memo: its
`Generation` then just makes every result.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

T = TypeVar("T")

_NONE: Mapping[Hashable, tuple[tuple[Any, ...], Any]] = MappingProxyType({})


class Memo:
    """Tables of results by (identity of their input objects, other inputs)."""

    def __init__(self) -> None:
        self._kept: dict[str, dict[Hashable, tuple[tuple[Any, ...], Any]]] = {}
        self._used: dict[str, dict[Hashable, tuple[tuple[Any, ...], Any]]] = {}
        self.hits = self.misses = 0

    def get(self, table: str, objects: tuple[Any, ...], extra: Hashable,
            make: Callable[[], T]) -> T:
        key = (tuple(map(id, objects)), extra)
        used = self._used.get(table)
        if used is None:
            used = self._used[table] = {}
        entry = used.get(key) or self._kept.get(table, _NONE).get(key)
        if entry is not None and len(entry[0]) == len(objects) and \
                all(map(operator.is_, entry[0], objects)):
            self.hits += 1
        else:
            self.misses += 1
            entry = (objects, make())
        used[key] = entry
        return entry[1]

    def each(self, table: str, objects: list[Any], make: Callable[[Any], T]) -> list[T]:
        """`[get(table, (o,), None, partial(make, o)) for o in objects]` in one loop (a
        20,000-case rebuild asks this for ~100,000 open-data lines)."""
        used = self._used.setdefault(table, {})
        kept = self._kept.get(table, _NONE)
        out = []
        hits = 0
        for o in objects:
            key = ((id(o),), None)
            entry = used.get(key) or kept.get(key)
            if entry is not None and len(entry[0]) == 1 and entry[0][0] is o:
                hits += 1
            else:
                entry = ((o,), make(o))
            used[key] = entry
            out.append(entry[1])
        self.hits += hits
        self.misses += len(objects) - hits
        return out

    def same(self, table: str, key: Hashable, value: T) -> T:
        """`value`, or the equal value stored under `key` by an earlier build: equal
        results keep their identity, so what is memoised by them is kept too."""
        used = self._used.setdefault(table, {})
        entry = self._kept.get(table, _NONE).get(key)
        if entry is None or type(entry[1]) is not type(value) or entry[1] != value:
            entry = ((), value)
        used[key] = entry
        return entry[1]

    def finish(self) -> None:
        """End of a build: keep what it used, drop the rest (and the objects it held)."""
        self._kept, self._used = self._used, {}

    def abort(self) -> None:
        """A failed build: forget what it made (some may be unfinished), keep the rest."""
        self._used = {}

