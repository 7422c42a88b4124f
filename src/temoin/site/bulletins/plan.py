"""Which bulletin each case goes in: one bulletin per period (ISO week, month or quarter)
in which something was published, numbered consecutively.

A bulletin covers what the organisation PUBLISHED during its period, by each case's
publication date, as the weekly reports of the organisations we serve do: "this week we
documented…". The event date would instead date bulletins before the organisation existed
(a case of March 2025 published in December 2026 made 91 weekly bulletins "published" in
2025, 90 of them empty) and make an old bulletin change whenever an old event is documented.

Numbers are a pure function of publication dates (DESIGN: "a number, once issued, never
changes"): the periods holding at least one publication (of a published or aggregate-only
case, or of a withdrawn case that was once published), in order, numbered from
`bulletin_first_number`. Publication dates are the day `publish` ran (with signed decisions,
the day in the signed statement), so a new publication can only add a period at the end or
join an existing one: no number moves. A withdrawal removes nothing: the withdrawn case's
bulletin keeps its number, its figures are corrected and it carries a correction line. A
period with nothing newly published has no bulletin, and the numbers stay consecutive. A
case without a publication date (set by hand, never through `publish`) is in no bulletin.

What happens after a case's publication (a follow-up, a re-publication, a withdrawal) is
announced in the first bulletin whose period ends on or after that day, never before the
case's own bulletin; until such a bulletin is issued, it is announced nowhere yet (the
withdrawn case's own bulletin already says so).

Per-bulletin work depends only on that bulletin's cases (one pass sorts every case into its
bulletin first). Every value from a case is escaped when `blocks.html` renders it.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import os
from dataclasses import dataclass, field
from typing import Any

from temoin.cases import Case
from temoin.config import Config
from temoin.site.bulletins import periods
from temoin.site.bulletins.periods import Period
from temoin.site.context import Generation
from temoin.site.counts import Record
from temoin.site.pages import prefix

INDEX_PAGE_SIZE = 100


@dataclass
class Bulletin:
    """What one bulletin holds, sorted out of every case in a single pass."""

    number: int
    period: Period
    cases: list[Case] = field(default_factory=list)        # published, counted here
    aggregate: list[Case] = field(default_factory=list)    # aggregate-only, counted here
    follow_ups: dict[str, tuple[Case, list[dict[str, Any]], bool]] = field(
        default_factory=dict)                              # id -> (case, interventions, updated)
    errata: list[Case] = field(default_factory=list)       # withdrawals announced here
    corrected: list[Case] = field(default_factory=list)    # withdrawn, once counted here
    records: list[Record] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.period.key

    @property
    def updated(self) -> dt.date:
        """The last day this bulletin's content changed: its end, or the withdrawal of a case
        it counted."""
        return max([self.period.end, *[d for c in self.corrected if (d := withdrawn_day(c))]])


@functools.lru_cache(maxsize=1 << 16)
def _period_key(day: dt.date, kind: str) -> str:
    """Days repeat across 20,000 cases (looked up for each, on every preview rebuild)."""
    return periods.period_of(day, kind).key


@dataclass
class Plan:
    """Every bulletin in order, with lookups by period key."""

    bulletins: list[Bulletin]
    kind: str

    def __post_init__(self) -> None:
        self._by_key = {b.key: b for b in self.bulletins}
        self._ends = [b.period.end for b in self.bulletins]

    def at(self, day: object) -> Bulletin | None:
        """The bulletin of the period holding `day`, if one was issued."""
        if not isinstance(day, dt.date):
            return None
        return self._by_key.get(_period_key(day, self.kind))

    def home(self, case: Case) -> Bulletin | None:
        """The bulletin that counts (or counted) `case`: that of its publication."""
        return self.at(publication_day(case))

    def announcing(self, day: object, case: Case) -> Bulletin | None:
        """The bulletin announcing what happened to `case` on `day`: the first whose period
        ends on or after `day`, and not before the case's own bulletin."""
        if not isinstance(day, dt.date):
            return None
        i = bisect.bisect_left(self._ends, day)
        home = self.home(case)
        if home is not None:
            i = max(i, home.number - self.bulletins[0].number)
        return self.bulletins[i] if i < len(self.bulletins) else None

    def previous(self, b: Bulletin) -> Bulletin | None:
        i = b.number - self.bulletins[0].number
        return self.bulletins[i - 1] if i > 0 else None

    def following(self, b: Bulletin) -> Bulletin | None:
        i = b.number - self.bulletins[0].number
        return self.bulletins[i + 1] if i + 1 < len(self.bulletins) else None


def _date(value: object) -> dt.date | None:
    return value if isinstance(value, dt.date) else None


def publication_day(case: Case) -> dt.date | None:
    return _date(case.meta.get("published"))


def withdrawn_day(case: Case) -> dt.date | None:
    return _date((case.meta.get("withdrawn") or {}).get("date"))


def issued_periods(kind: str, published: list[Case], aggregate: list[Case],
                   withdrawn: list[Case]) -> list[Period]:
    """The periods that have a bulletin: those holding a publication, in order."""
    days = {d for c in [*published, *aggregate, *withdrawn] if (d := publication_day(c))}
    return sorted({periods.period_of(d, kind) for d in days})


def make_plan(cfg: Config, published: list[Case], aggregate: list[Case],
              withdrawn: list[Case], *, gen: Generation | None = None) -> Plan:
    """Sort every counted, withdrawn and followed-up case into its bulletin (`gen`: the
    site generation, whose records of each case the statistics and open data share)."""
    kind = cfg.bulletin_period
    once = [c for c in withdrawn if publication_day(c)]
    plan = Plan([Bulletin(cfg.bulletin_first_number + i, p) for i, p in
                 enumerate(issued_periods(kind, published, aggregate, once))], kind)
    for c in published:
        home = plan.home(c)
        if home is None:
            continue
        home.cases.append(c)
        for iv in c.meta.get("interventions") or []:
            b = plan.announcing(iv.get("date"), c)
            if b is not None:
                b.follow_ups.setdefault(c.id, (c, [], False))[1].append(iv)
        b = plan.announcing(c.meta.get("updated"), c)
        if b is not None:
            case, ivs, _ = b.follow_ups.get(c.id, (c, [], False))
            b.follow_ups[c.id] = (case, ivs, True)
    for c in aggregate:
        home = plan.home(c)
        if home is not None:
            home.aggregate.append(c)
    for c in once:
        if c.meta.get("consent") == "aggregate_only":
            # Counted only, never named: its withdrawal lowers the figures (in steps of 3,
            # `counts.protect`) and its bulletin keeps its number, but no erratum line names
            # its section, its bulletin or its reason.
            continue
        counted, gone = plan.home(c), plan.announcing(withdrawn_day(c), c)
        if counted is not None:
            counted.corrected.append(c)
        if gone is not None:
            gone.errata.append(c)
    gen = gen or Generation()
    for b in plan.bulletins:
        b.records = gen.all_records(b.cases, b.aggregate)
    return plan


# -- paths ---------------------------------------------------------------------------------
def index_path(lang: str, cfg: Config, n: int = 1) -> str:
    base = f"{prefix(lang, cfg)}bulletins/"
    return f"{base}index.md" if n == 1 else f"{base}page-{n}.md"


def bulletin_path(key: str, lang: str, cfg: Config) -> str:
    return f"{prefix(lang, cfg)}bulletins/{key}/index.md"


def pdf_path(b: Bulletin, lang: str, cfg: Config) -> str:
    return f"{prefix(lang, cfg)}bulletins/{b.key}/bulletin-{b.number}.pdf"


def source_day() -> dt.date | None:
    """The day of SOURCE_DATE_EPOCH, if set (never the build clock)."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return dt.datetime.fromtimestamp(int(raw), dt.UTC).date() if raw.isdigit() else None
