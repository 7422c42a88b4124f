"""What the editors see: cases chosen by filters, and what waits for whom.

Used by `temoin case list` and `temoin status`. Waiting is computed from the signed decisions
(a hand-edited `review:` field counts for nothing): drafts and cases without a good
verification wait for one, verified ones for a second editor's approval, approved ones for
publication; urgent cases first, then the oldest event first.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from temoin import curation
from temoin.cases import Case, vocab
from temoin.config import Config

QUEUES = ("verification", "approval", "publication")


@dataclass
class Filters:
    """`case list` filters; empty ones choose everything."""

    status: tuple[str, ...] = ()
    level: tuple[str, ...] = ()
    urgent: bool = False
    since: dt.date | None = None
    until: dt.date | None = None
    place: str | None = None
    act: tuple[str, ...] = ()
    places: set[str] = field(default_factory=set)  # admin1 codes `place` resolves to


def _fold(text: str) -> str:
    norm = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c if c.isalnum() else " " for c in norm
                            if not unicodedata.combining(c)).casefold().split())


def place_codes(country: str, value: str) -> set[str]:
    """Every admin1 code whose code or French/English name is `value` (old and new
    divisions alike: 'Gitega' is the pre-2025 province and the new one)."""
    want = _fold(value)
    return {p.code for p in vocab.places(country)
            if want in (_fold(p.code), _fold(p.fr), _fold(p.en))}


def admin1_code(case: Case) -> str | None:
    return case.admin1_code()


def matches(case: Case, f: Filters) -> bool:
    """Does `case` pass every filter?"""
    meta = case.meta
    if f.status and case.status not in f.status:
        return False
    if f.level and meta.get("verification") not in f.level:
        return False
    if f.urgent and not meta.get("urgent"):
        return False
    if (f.since or f.until) and case.date is None:
        return False
    if f.since and case.date and case.date < f.since:
        return False
    if f.until and case.date and case.date > f.until:
        return False
    if f.place is not None and admin1_code(case) not in f.places:
        return False
    acts = {a.get("type") for a in meta.get("acts") or [] if isinstance(a, dict)}
    return not (f.act and not acts & set(f.act))


def select(cases: Iterable[Case], f: Filters, cfg: Config) -> list[Case]:
    """Cases passing the filters, newest event first."""
    if f.place is not None:
        f.places = place_codes(cfg.country, f.place)
    chosen = [c for c in cases if matches(c, f)]
    chosen.sort(key=lambda c: ((c.date or dt.date.min).isoformat(), c.id), reverse=True)
    return chosen


@dataclass
class Waiting:
    case: Case
    queue: str      # verification | approval | publication
    who: str


def _urgent_first(item: Waiting) -> tuple[bool, str, str]:
    return (not item.case.meta.get("urgent"), (item.case.date or dt.date.max).isoformat(),
            item.case.id)


def waiting(cases: Iterable[Case], cfg: Config, repo: Path) -> dict[str, list[Waiting]]:
    """{queue: [Waiting…]} for every case in draft, review or published (with a stale
    signature), urgent first, then oldest event first."""
    out: dict[str, list[Waiting]] = {q: [] for q in QUEUES}
    with curation.CachedVerifier(repo) as verify:
        for c in cases:
            w = curation.waiting(c, cfg, verify)
            if w:
                out[w[0]].append(Waiting(c, w[0], w[1]))
    for q in out.values():
        q.sort(key=_urgent_first)
    return out
