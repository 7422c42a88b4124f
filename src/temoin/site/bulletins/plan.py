"""Which bulletin each case goes in: one bulletin per period (ISO week, month or
quarter), numbered consecutively.

Which period does a case belong to? The one holding its event `date_start`. A bulletin then
says what happened during its period, and its figures equal the statistics page's for the
same months; the publication date would instead mix old and new events and make the two
disagree. The price is that a case documented late changes an earlier bulletin: it is added
there and announced in the bulletin of the period in which it was published ("additions to
earlier bulletins"), just as a withdrawal is announced by an erratum.

Numbering starts at `bulletin_first_number` with the period of the earliest case ever
counted: published and aggregate-only cases, and withdrawn cases that were once published,
so that withdrawing the oldest case does not renumber every bulletin. Every period from there
to the last dated event (an event, a publication, a withdrawal, a follow-up) gets a bulletin,
empty ones included: numbers stay consecutive.

Per-bulletin work depends only on that period's cases (one pass sorts every case into its
bulletin first). Every value from a case is escaped when `blocks.html` renders it.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from dataclasses import dataclass, field
from typing import Any

from temoin.cases import Case
from temoin.config import Config
from temoin.errors import GateError
from temoin.site.bulletins import periods
from temoin.site.bulletins.periods import Period
from temoin.site.context import Generation
from temoin.site.counts import Record
from temoin.site.pages import prefix

MAX_BULLETINS = 1500      # ~29 years of weeks: more means a mistyped date
INDEX_PAGE_SIZE = 100


@dataclass
class Bulletin:
    """What one bulletin holds, sorted out of every case in a single pass."""

    number: int
    period: Period
    cases: list[Case] = field(default_factory=list)        # published, counted here
    aggregate: list[Case] = field(default_factory=list)    # aggregate-only, counted here
    late: list[Case] = field(default_factory=list)         # published now, counted earlier
    follow_ups: dict[str, tuple[Case, list[dict[str, Any]], bool]] = field(
        default_factory=dict)                              # id -> (case, interventions, updated)
    errata: list[Case] = field(default_factory=list)       # withdrawn during this period
    corrected: list[Case] = field(default_factory=list)    # withdrawn, once counted here
    new_cases: int = 0                                     # published during this period
    records: list[Record] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.period.key

    @property
    def updated(self) -> dt.date:
        """The last day this bulletin's content changed: its end, a late publication of one
        of its cases, or the withdrawal of a case it counted."""
        days = [self.period.end,
                *[d for c in [*self.cases, *self.aggregate]
                  if isinstance(d := c.meta.get("published"), dt.date)],
                *[d for c in self.corrected if (d := withdrawn_day(c))]]
        return max(days)


@functools.lru_cache(maxsize=1 << 16)
def _period_key(day: dt.date, kind: str) -> str:
    """Days repeat across 20,000 cases (three looked up each, on every preview rebuild)."""
    return periods.period_of(day, kind).key


@dataclass
class Plan:
    """Every bulletin in order, with lookups by period key."""

    bulletins: list[Bulletin]
    kind: str

    def at(self, day: object) -> Bulletin | None:
        if not isinstance(day, dt.date):
            return None
        return self._by_key.get(_period_key(day, self.kind))

    def __post_init__(self) -> None:
        self._by_key = {b.key: b for b in self.bulletins}

    def previous(self, b: Bulletin) -> Bulletin | None:
        i = b.number - self.bulletins[0].number
        return self.bulletins[i - 1] if i > 0 else None

    def following(self, b: Bulletin) -> Bulletin | None:
        i = b.number - self.bulletins[0].number
        return self.bulletins[i + 1] if i + 1 < len(self.bulletins) else None


def _date(value: object) -> dt.date | None:
    return value if isinstance(value, dt.date) else None


def withdrawn_day(case: Case) -> dt.date | None:
    return _date((case.meta.get("withdrawn") or {}).get("date"))


def make_plan(cfg: Config, published: list[Case], aggregate: list[Case],  # noqa: C901 - period walk with withdrawals and errata in one pass
              withdrawn: list[Case], *, gen: Generation | None = None) -> Plan:
    """Sort every counted, withdrawn and followed-up case into its bulletin (`gen`: the
    site generation, whose records of each case the statistics and open data share)."""
    kind = cfg.bulletin_period
    once = [c for c in withdrawn if _date(c.meta.get("published")) and c.date]
    anchors = [c.date for c in [*published, *aggregate, *once] if c.date]
    if not anchors:
        return Plan([], kind)
    # Every dated event, with its case, so a mistyped date can be named in an error.
    dated = [(c.date, c.id) for c in [*published, *aggregate, *once] if c.date]
    for c in published:
        dated += [(d, c.id) for d in (_date(c.meta.get("published")),
                                      _date(c.meta.get("updated"))) if d]
        dated += [(d, c.id) for iv in c.meta.get("interventions") or []
                  if (d := _date(iv.get("date")))]
    dated += [(d, c.id) for c in once if (d := withdrawn_day(c))]
    first = periods.period_of(min(anchors), kind)
    latest = max(dated)
    last = periods.period_of(latest[0], kind)
    out: list[Bulletin] = []
    p = first
    while True:
        out.append(Bulletin(cfg.bulletin_first_number + len(out), p))
        if p >= last:
            break
        if len(out) >= MAX_BULLETINS:
            earliest = min((d, cid) for d, cid in dated if d == min(anchors))
            raise GateError([f"bulletins would span more than {MAX_BULLETINS} {kind}s, from "
                             f"{first.key} (case {earliest[1]}) to {last.key} (case "
                             f"{latest[1]}): check these cases' dates"],
                            "bulletins cannot be planned")
        p = p.next()
    plan = Plan(out, kind)
    for c in published:
        home = plan.at(c.date)
        assert home is not None
        home.cases.append(c)
        pub = plan.at(c.meta.get("published"))
        if pub is not None:
            pub.new_cases += 1
            if pub.period > home.period:
                pub.late.append(c)
        for iv in c.meta.get("interventions") or []:
            b = plan.at(iv.get("date"))
            if b is not None:
                b.follow_ups.setdefault(c.id, (c, [], False))[1].append(iv)
        b = plan.at(c.meta.get("updated"))
        if b is not None:
            case, ivs, _ = b.follow_ups.get(c.id, (c, [], False))
            b.follow_ups[c.id] = (case, ivs, True)
    for c in aggregate:
        home = plan.at(c.date)
        assert home is not None
        home.aggregate.append(c)
    for c in once:
        counted, gone = plan.at(c.date), plan.at(withdrawn_day(c))
        if counted is not None:
            counted.corrected.append(c)
        if gone is not None:
            gone.errata.append(c)
    gen = gen or Generation()
    for b in out:
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
