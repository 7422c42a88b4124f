"""Bulletin periods (ISO week, month, quarter) and the words bulletins are written with:
period labels and numbers spelled out ("neuf (9)"), in French and English."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache

from num2words import num2words

from temoin.site import pages

KINDS = ("week", "month", "quarter")
_KEY = {"week": re.compile(r"^(\d{4})-W(\d{2})$"), "month": re.compile(r"^(\d{4})-(\d{2})$"),
        "quarter": re.compile(r"^(\d{4})-Q([1-4])$")}


@dataclass(frozen=True, order=True)
class Period:
    """One bulletin period, first and last day included. `key` names it: 2025-W41 (ISO 8601
    week), 2025-10 (month) or 2025-Q4 (quarter)."""

    start: dt.date
    end: dt.date
    key: str
    kind: str

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end

    def next(self) -> Period:
        return period_of(self.end + dt.timedelta(days=1), self.kind)

    def previous(self) -> Period:
        return period_of(self.start - dt.timedelta(days=1), self.kind)


def period_of(day: dt.date, kind: str) -> Period:
    """The period of `kind` that holds `day`."""
    if kind == "week":
        year, week, weekday = day.isocalendar()
        start = day - dt.timedelta(days=weekday - 1)
        return Period(start, start + dt.timedelta(days=6), f"{year:04d}-W{week:02d}", kind)
    if kind == "month":
        start = day.replace(day=1)
        nxt = (start + dt.timedelta(days=32)).replace(day=1)
        return Period(start, nxt - dt.timedelta(days=1), f"{day.year:04d}-{day.month:02d}",
                      kind)
    if kind == "quarter":
        q = (day.month - 1) // 3 + 1
        start = dt.date(day.year, 3 * q - 2, 1)
        nxt = dt.date(day.year + 1, 1, 1) if q == 4 else dt.date(day.year, 3 * q + 1, 1)
        return Period(start, nxt - dt.timedelta(days=1), f"{day.year:04d}-Q{q}", kind)
    raise ValueError(f"bulletin period: expected one of {KINDS}, got {kind!r}")


def parse_key(key: str, kind: str) -> Period | None:
    """The period a key such as '2025-W41' names (None if it is not a key of `kind`)."""
    m = _KEY[kind].match(key)
    if not m:
        return None
    year, n = int(m[1]), int(m[2])
    try:
        if kind == "week":
            day = dt.date.fromisocalendar(year, n, 1)
        elif kind == "month":
            day = dt.date(year, n, 1)
        else:
            day = dt.date(year, 3 * n - 2, 1)
    except ValueError:
        return None
    p = period_of(day, kind)
    return p if p.key == key else None


def _day(d: dt.date, lang: str) -> str:
    return "1er" if lang == "fr" and d.day == 1 else str(d.day)


def month_name(month: int, lang: str) -> str:
    """'octobre' / 'October'."""
    return str(pages._ui()["months"][lang][month - 1])


def _month(d: dt.date, lang: str) -> str:
    return month_name(d.month, lang)


def long_date(d: dt.date, lang: str) -> str:
    """'1er octobre 2025' / 'October 1, 2025'."""
    if lang == "fr":
        return f"{_day(d, lang)} {_month(d, lang)} {d.year}"
    return f"{_month(d, lang)} {d.day}, {d.year}"


def label(p: Period, lang: str) -> str:
    """Human label of a period: 'du 6 au 12 octobre 2025', 'octobre 2025',
    '4e trimestre 2025'; English 'October 6–12, 2025', 'October 2025', 'Q4 2025'."""
    if p.kind == "month":
        return f"{_month(p.start, lang)} {p.start.year}"
    if p.kind == "quarter":
        q = (p.start.month - 1) // 3 + 1
        span = f"{_month(p.start, lang)}–{_month(p.end, lang)}"
        return (f"{q}{'er' if q == 1 else 'e'} trimestre {p.start.year} ({span})"
                if lang == "fr" else f"Q{q} {p.start.year} ({span})")
    a, b = p.start, p.end
    if lang == "fr":
        if (a.year, a.month) == (b.year, b.month):
            return f"du {_day(a, lang)} au {b.day} {_month(b, lang)} {b.year}"
        if a.year == b.year:
            return f"du {_day(a, lang)} {_month(a, lang)} au {b.day} {_month(b, lang)} {b.year}"
        return f"du {long_date(a, lang)} au {long_date(b, lang)}"
    if (a.year, a.month) == (b.year, b.month):
        return f"{_month(a, lang)} {a.day}–{b.day}, {b.year}"
    if a.year == b.year:
        return f"{_month(a, lang)} {a.day} – {_month(b, lang)} {b.day}, {b.year}"
    return f"{long_date(a, lang)} – {long_date(b, lang)}"


@cache  # the same few small numbers, ~10^4 times in a build's bulletins
def words(n: int, lang: str, feminine: bool = True) -> str:
    """A number in words and digits, the way reports write figures: 'neuf (9)', 'une (1)'.

    French counts `personnes` and `victimes`, both feminine: 'vingt et une (21)'.
    """
    w = num2words(n, lang=lang)
    if lang == "fr" and feminine and (w == "un" or w.endswith((" un", "-un"))):
        w += "e"
    return f"{w} ({n})"
