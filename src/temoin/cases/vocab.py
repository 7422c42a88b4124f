"""Controlled vocabularies and gazetteers, each term with a stable code and FR/EN labels."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import yaml

LANGS = ("fr", "en")


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def _data(name: str) -> dict[str, Any]:
    text = resources.files("temoin").joinpath("data", name).read_text(encoding="utf-8")
    # libyaml's parser (same safe constructors): the pure-Python one took ~0.2 s a build
    return dict(yaml.load(text, Loader=_SAFE_LOADER))  # noqa: S506


def vocabularies() -> dict[str, dict[str, dict[str, Any]]]:
    """Every vocabulary: {name: {code: {fr, en, …}}}."""
    return _data("vocab.yaml")


def terms(name: str) -> dict[str, dict[str, Any]]:
    """The terms of vocabulary `name` (KeyError for an unknown vocabulary)."""
    return vocabularies()[name]


def is_term(name: str, code: object) -> bool:
    return isinstance(code, str) and code in terms(name)


def label(name: str, code: str, lang: str = "fr") -> str:
    """The label of `code` in `lang`; the code itself when unknown (never crashes a page)."""
    term = terms(name).get(code)
    return str(term.get(lang) or term.get("fr")) if term else code


def category(act: str) -> str:
    """Bulletin section of an act type ('other' for unknown codes)."""
    return str(terms("acts").get(act, {}).get("category", "other"))


def categories() -> list[str]:
    """Bulletin section codes in their fixed order."""
    return list(terms("categories"))


def level_rank(level: str) -> int:
    """Rank on the verification ladder; -1 for side levels (disputed, refuted) and unknowns."""
    return int(terms("verification").get(level, {}).get("rank", -1))


def _fold(text: str) -> str:
    norm = unicodedata.normalize("NFKD", text)
    bare = "".join(c if c.isalnum() else " " for c in norm if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


@dataclass(frozen=True)
class Place:
    code: str
    country: str
    fr: str
    en: str
    valid_from: dt.date | None
    valid_until: dt.date | None
    successor: str | None

    def label(self, lang: str = "fr") -> str:
        return self.en if lang == "en" else self.fr

    def valid_on(self, day: dt.date | None) -> bool:
        if day is None:
            return self.valid_until is None
        return (self.valid_from is None or day >= self.valid_from) and \
               (self.valid_until is None or day <= self.valid_until)


@cache
def places(country: str) -> tuple[Place, ...]:
    """First-level divisions of `country` (BI, CM), old and new."""
    entry = _data("gazetteer.yaml").get(country)
    if not entry:
        return ()
    return tuple(Place(code, country, v["fr"], v["en"], v.get("from"), v.get("until"),
                       v.get("successor")) for code, v in entry["admin1"].items())


def countries() -> list[str]:
    return list(_data("gazetteer.yaml"))


def country_label(country: str, lang: str = "fr") -> str:
    entry = _data("gazetteer.yaml").get(country)
    return str(entry["name"][lang]) if entry else country


@lru_cache(maxsize=4096)
def _candidates(country: str, value: str) -> tuple[Place, ...]:
    """Divisions `value` names (by code, else by folded name). Memoised: the site and the
    counts look the same few places up ~10^5 times, and folding every gazetteer name each
    time was a tenth of generating a 20,000-case site."""
    by_code = {p.code: p for p in places(country)}
    if value in by_code:
        return (by_code[value],)
    want = _fold(value)
    return tuple(p for p in places(country) if want in (_fold(p.fr), _fold(p.en)))


def place(country: str, value: str, on: dt.date | None = None) -> Place | None:
    """Resolve an admin1 code or name (any case, accents optional), preferring the division
    in force on `on`: 'Gitega' before July 2025 is the old province, after it the new one."""
    matches = _candidates(country, value)
    if not matches:
        return None
    if len(matches) == 1 and matches[0].code == value:
        return matches[0]
    in_force = [p for p in matches if p.valid_on(on)]
    return (in_force or matches)[0]


def find_place(country: str, text: str, on: dt.date | None = None) -> Place | None:
    """The one admin1 division named in free `text`, or None if none or several."""
    folded = f" {_fold(text)} "
    found: dict[str, list[Place]] = {}
    for p in places(country):
        for name in {p.fr, p.en}:
            if f" {_fold(name)} " in folded:
                found.setdefault(_fold(name), []).append(p)
    # "Nord-Ouest" also contains "Nord" and "Ouest": keep only the longest names found.
    for short in [n for n in found if any(n != o and f" {n} " in f" {o} " for o in found)]:
        del found[short]
    if len(found) != 1:
        return None
    cands = next(iter(found.values()))
    in_force = [p for p in cands if p.valid_on(on)]
    return (in_force or cands)[0]


@cache
def admin2_names(country: str) -> tuple[tuple[str, str], ...]:
    """Second-level division names of `country` as (name, first-level code), old and new
    (the gazetteer file names its sources and what is incomplete)."""
    entry = _data("gazetteer.yaml").get(country) or {}
    return tuple((str(name), str(code)) for code, names in (entry.get("admin2") or {}).items()
                 for name in names or ())


@cache
def admin3_names(country: str) -> tuple[tuple[str, str], ...]:
    """Third-level names of `country` (Cameroon's communes) as (name, department), and their
    other names (`admin3_aliases`, department "")."""
    entry = _data("gazetteer.yaml").get(country) or {}
    names = [(str(name), str(dept)) for depts in (entry.get("admin3") or {}).values()
             for dept, communes in (depts or {}).items() for name in communes or ()]
    return tuple(names + [(str(a), "") for a in entry.get("admin3_aliases") or ()])


@cache
def admin1_names(country: str) -> frozenset[str]:
    """Every first-level name of `country` (FR and EN, folded) and the country's names."""
    entry = _data("gazetteer.yaml").get(country) or {}
    names = {_fold(str(n)) for n in (entry.get("name") or {}).values()}
    names |= {_fold(str(n)) for n in entry.get("aliases") or ()}
    return frozenset(names | {_fold(n) for p in places(country) for n in (p.fr, p.en)})


def fold(text: str) -> str:
    """`text` without accents, case or punctuation, words separated by one space."""
    return _fold(text)
