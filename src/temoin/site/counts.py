"""The counting rules, in one place: bulletins, the statistics page and the open data all
count with these functions, so a figure means the same thing everywhere.

Rules (written on the bulletin and statistics pages too):

* The unit is the victim × act type `Record`: one victim entry of a case (a person, or a
  group of `count` persons) and one type of act it suffered. A victim who suffered the same
  type of act several times in one case counts once for that type.
* A victim counts once per act type, once per category (life, torture…) however many of
  its act types fall in that category, and once as a person in "victims" totals.
* A victim entry with no recorded act is not counted (nothing to count it for).
* Figures are minimums ("at least"): only documented, verified, consented cases count.
* Cases published with a page and cases with `consent: aggregate_only` both count; withdrawn
  cases never do.
* Small cells (issue 15): aggregate-only persons reach a figure only in steps of THRESHOLD
  (3). Every figure is the published persons (whose case pages are public anyway) plus the
  aggregate-only persons of that cell rounded DOWN to a multiple of 3, so no figure, and no
  difference between two figures or two consecutive bulletins, ever moves by fewer than 3
  aggregate-only persons: one such person is never singled out by their sex, age, act,
  perpetrator, place or month. Figures stay minimums ("at least"). Tables show figures
  under 3 as "<3" (`shown`) and a total over such cells as "at least N".
* A case's date is its event `date_start` (the gate requires one); a case known only to the
  month or year counts in the period that holds the first day of that month or year.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from temoin.cases import Case, vocab

# Acts that mean a death: "at least N people killed" counts victims of these only; the rest
# of the "life" category (attempted killing) is reported beside them.
DEATHS = ("killing", "extrajudicial_execution", "death_in_custody")
PER = ("act", "category", "person")


@dataclass(frozen=True)
class Record:
    """One victim entry × one act type of one case: the unit every figure is made of."""

    case_id: str
    aggregate: bool          # counted without a public page (consent: aggregate_only)
    victim: str              # the victim entry's id inside its case (v1, v2…)
    persons: int             # how many people this victim entry stands for
    sex: str
    age_group: str
    status_now: str
    act: str
    category: str
    perpetrators: tuple[str, ...]   # perpetrator type codes, vocabulary order
    day: dt.date | None             # event date_start
    admin1: str | None              # gazetteer code of the province/region, if known


def case_day(case: Case) -> dt.date | None:
    """The date a case counts at: its event `date_start`."""
    return case.date


def admin1_code(case: Case) -> str | None:
    """Gazetteer code of the case's first-level division (None when not given)."""
    return case.admin1_code()


def public_admin2(case: Case, finest: str = "admin2") -> str | None:
    """The commune/division name when the case's precision and the organisation's setting
    (`location_precision`) both allow it, else None."""
    loc = (case.meta.get("event") or {}).get("location") or {}
    if not loc.get("admin2") or finest != "admin2":
        return None
    return str(loc["admin2"]) if loc.get("precision", "admin2") == "admin2" else None


def _order(name: str) -> dict[str, int]:
    return {code: i for i, code in enumerate(vocab.terms(name))}


def records(case: Case, aggregate: bool = False) -> list[Record]:
    """The victim × act type records of one case (deduplicated, in a stable order). A site
    generation makes them once a case (`site.context.Generation.records`)."""
    meta = case.meta
    victims = {str(v.get("id")): v for v in meta.get("victims") or [] if isinstance(v, dict)}
    perp_type = {str(p.get("id")): str(p.get("type") or "unknown")
                 for p in meta.get("perpetrators") or [] if isinstance(p, dict)}
    perp_rank = _order("perpetrator_types")
    merged: dict[tuple[str, str], set[str]] = {}
    for act in meta.get("acts") or []:
        if not isinstance(act, dict) or str(act.get("victim")) not in victims:
            continue
        key = (str(act["victim"]), str(act.get("type")))
        types = merged.setdefault(key, set())
        types.update(perp_type.get(str(ref), "unknown") for ref in act.get("perpetrators") or [])
    day, admin1 = case_day(case), admin1_code(case)
    act_rank = _order("acts")
    out = []
    for (vid, act_type), types in sorted(merged.items(), key=lambda kv: (
            kv[0][0], act_rank.get(kv[0][1], len(act_rank)), kv[0][1])):
        v = victims[vid]
        perps = tuple(sorted(types or {"unknown"}, key=lambda t: (perp_rank.get(t, 99), t)))
        out.append(Record(case.id, aggregate, vid, int(v.get("count", 1)),
                          str(v.get("sex", "unknown")), str(v.get("age_group", "unknown")),
                          str(v.get("status_now", "unknown")), act_type,
                          vocab.category(act_type), perps, day, admin1))
    return out


def all_records(published: Iterable[Case], aggregate: Iterable[Case] = ()) -> list[Record]:
    """Records of every counted case: published ones and aggregate-only ones."""
    out = [r for c in published for r in records(c)]
    out += [r for c in aggregate for r in records(c, aggregate=True)]
    return out


def count(recs: Iterable[Record], key: Callable[[Record], Iterable[Hashable]] | None = None,
          per: str = "act") -> Counter[Any]:
    """Victims per value of `key`, each victim counted once per `per` within a value.

    `key(record)` yields the value(s) a record counts under (several for a record with
    several perpetrator types); without `key` everything counts under None. `per` is "act"
    (a victim once per act type), "category" (once per category) or "person" (once).
    """
    if per not in PER:
        raise ValueError(f"per: expected one of {PER}, got {per!r}")
    seen: set[tuple[Any, ...]] = set()
    out: Counter[Any] = Counter()
    hidden: Counter[Any] = Counter()  # aggregate-only persons, before rounding
    for r in recs:
        unit = r.act if per == "act" else r.category if per == "category" else ""
        for value in (key(r) if key else (None,)):
            ident = (r.case_id, r.victim, unit, value)
            if ident not in seen:
                seen.add(ident)
                if r.aggregate:
                    hidden[value] += r.persons
                else:
                    out[value] += r.persons
    for value, n in hidden.items():
        out[value] += protect(n)
    return out


THRESHOLD = 3


def protect(aggregate_only: int) -> int:
    """What `aggregate_only` persons add to a figure: rounded down to a multiple of
    THRESHOLD (see the rules above)."""
    return aggregate_only - aggregate_only % THRESHOLD


def shown(n: int) -> str:
    """A figure as a table shows it: "<3" for 1 and 2 (0 stays 0)."""
    return f"<{THRESHOLD}" if 0 < n < THRESHOLD else str(n)


def total_shown(cells: Iterable[int], lang: str = "fr") -> str:
    """A total over table cells, from the cells as shown: "at least N" (au moins) when a
    cell is shown as "<3", each such cell counting 1."""
    values = list(cells)
    n = sum(v if not 0 < v < THRESHOLD else 1 for v in values)
    if any(0 < v < THRESHOLD for v in values):
        return f"au moins {n}" if lang == "fr" else f"at least {n}"
    return str(n)


def at_least(n: int, lang: str = "fr") -> str:
    """A total beside figures shown as "<3": a multiple of 3 it is not below ("at least 6",
    "au moins 6"), or "<3", so that no cell can be worked out from it."""
    floor = n - n % THRESHOLD
    if not floor:
        return shown(n)
    return f"au moins {floor}" if lang == "fr" else f"at least {floor}"


def persons(recs: Iterable[Record]) -> int:
    """How many victims (people), each counted once whatever it suffered."""
    return count(recs, per="person")[None]


def by_category(recs: Iterable[Record]) -> dict[str, int]:
    """Victims per category, in the fixed bulletin order (zero categories included)."""
    c = count(recs, lambda r: (r.category,), per="category")
    return {cat: c.get(cat, 0) for cat in vocab.categories()}


def by_act(recs: Iterable[Record]) -> dict[str, int]:
    """Victims per act type, vocabulary order, only the types that occur."""
    c = count(recs, lambda r: (r.act,))
    return {a: c[a] for a in vocab.terms("acts") if c.get(a)}


def deaths(recs: Iterable[Record]) -> int:
    """People killed: victims of an act in DEATHS, each once."""
    return persons(r for r in recs if r.act in DEATHS)


def cases_counted(recs: Iterable[Record]) -> int:
    """How many distinct cases the records come from (aggregate-only ones rounded down to a
    multiple of THRESHOLD, as for persons)."""
    recs = list(recs)
    return len({r.case_id for r in recs if not r.aggregate}) + protect(
        len({r.case_id for r in recs if r.aggregate}))


def month(day: dt.date | None) -> str | None:
    """'2025-10' for a date (the key of monthly figures)."""
    return f"{day.year:04d}-{day.month:02d}" if day else None
