"""One site generation: what its page generators share, passed to them explicitly.

`generate.generate` makes a `Generation` for each `temoin build` and each preview rebuild
and hands it to every generator (case pages and listings, bulletins, statistics, open data);
nothing here is module state, so two generations (two repositories, a test beside a build)
never see each other's results. It holds:

* `memo`: the preview's `site.memo.Memo`, which keeps results between rebuilds by the
  identity of unchanged `Case` objects; None for a full build, where every result is made;
* `narratives`: this run's saved Markdown (`site.text.MarkdownCache`), None for none;
* each case's counting records, made once a generation: bulletins, statistics and open data
  asked for them ~3.7 times a case.

Generators read cases, never change them (`tests/test_context.py` checks a whole build).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

from temoin.cases import Case
from temoin.site import counts
from temoin.site.counts import Record
from temoin.site.memo import Memo
from temoin.site.text import MarkdownCache

T = TypeVar("T")


class Generation:
    """The shared state of one site generation (see the module docstring)."""

    def __init__(self, memo: Memo | None = None,
                 narratives: MarkdownCache | None = None) -> None:
        self.memo = memo
        self.narratives = narratives
        # (id(case), aggregate) -> (case, its records): the case is held with its entry so
        # its id cannot be reused by another object while this generation lives.
        self._records: dict[tuple[int, bool], tuple[Case, list[Record]]] = {}

    @property
    def remembers(self) -> bool:
        """Whether results are kept for a later build (the preview's memo)."""
        return self.memo is not None

    def get(self, table: str, objects: tuple[Any, ...], extra: Hashable,
            make: Callable[[], T]) -> T:
        """`make()`, or its result from an earlier preview build with the same inputs."""
        return make() if self.memo is None else self.memo.get(table, objects, extra, make)

    def each(self, table: str, objects: list[Any], make: Callable[[Any], T]) -> list[T]:
        """`[make(o) for o in objects]`, each result kept by the identity of its `o`
        (`Memo.each`)."""
        if self.memo is None:
            return [make(o) for o in objects]
        return self.memo.each(table, objects, make)

    def same(self, table: str, key: Hashable, value: T) -> T:
        """`value`, or an equal one from an earlier preview build (`Memo.same`)."""
        return value if self.memo is None else self.memo.same(table, key, value)

    def records(self, case: Case, aggregate: bool = False) -> list[Record]:
        """`counts.records(case, aggregate)`, made once this generation; the preview keeps
        them between builds while the case does not change."""
        key = (id(case), aggregate)
        found = self._records.get(key)
        if found is not None:
            return found[1]

        # An edit that leaves the records equal (the narrative, a source) keeps the earlier
        # objects: the statistics page, memoised by its records, is then kept as well.
        def make() -> list[Record]:
            return self.same("records-by-case", (case.id, aggregate),
                             counts.records(case, aggregate))

        made = self.get("records", (case,), aggregate, make)
        self._records[key] = (case, made)
        return made

    def all_records(self, published: Iterable[Case],
                    aggregate: Iterable[Case] = ()) -> list[Record]:
        """`counts.all_records`, each case's records made once this generation."""
        out = [r for c in published for r in self.records(c)]
        out += [r for c in aggregate for r in self.records(c, aggregate=True)]
        return out
