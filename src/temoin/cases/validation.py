"""Validation of a case's public front matter, read from the field table (`cases.schema`).

Every problem is collected, as 'where: field: expected X, got Y': a key the table lacks, a
wrong type, a term outside its vocabulary, a division unknown on the event's date, a
reference to a victim or perpetrator that is not listed, a required field missing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from temoin.cases import vocab
from temoin.cases.schema import (
    ALWAYS,
    BY_PATH,
    FPR_RE,
    ID_RE,
    PRIVATE_KEYS,
    PUBLIC,
    Field,
    children,
)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")  # control characters but tab and newline


class _Check:
    def __init__(self, where: str) -> None:
        self.where = where
        self.problems: list[str] = []
        self.ids: dict[str, set[Any]] = {}  # list path -> ids of its items (for refs)

    def bad(self, path: str, expected: str, got: Any) -> None:
        self.problems.append(f"{self.where}: {path}: expected {expected}, got {got!r}")

    def text(self, path: str, value: Any) -> None:
        if not isinstance(value, str) or _CONTROL.search(value):
            self.bad(path, "text", value)

    def keys(self, path: str, value: Any, allowed: Iterable[str]) -> bool:
        if not isinstance(value, dict):
            self.bad(path, "a mapping", value)
            return False
        allowed = allowed if isinstance(allowed, frozenset) else set(allowed)
        for k in value:
            if k not in allowed:
                p = f"{path}.{k}" if path else str(k)
                if k in PRIVATE_KEYS:
                    self.problems.append(f"{self.where}: {p}: confidential key in the public "
                                         "file: move it to the private part "
                                         "(`temoin case edit ID`, or `temoin case set ID "
                                         "--private …`)")
                else:
                    self.bad(p, "one of " + ", ".join(sorted(allowed)), k)
        return True


# spec -> (each child field with its key, the keys allowed): `Field.key` is a property
# (an rsplit a call), asked ~260 times a case; the table never changes in a run.
_KIDS: dict[str, tuple[tuple[tuple[Field, str], ...], frozenset[str]]] = {}


def _kids(spec: str) -> tuple[tuple[tuple[Field, str], ...], frozenset[str]]:
    found = _KIDS.get(spec)
    if found is None:
        pairs = tuple((f, f.key) for f in children(spec))
        found = _KIDS[spec] = (pairs, frozenset(k for _f, k in pairs))
    return found


def _mapping(c: _Check, shown: str, spec: str, value: Any, parents: list[Any]) -> None:
    kids, allowed = _kids(spec)
    if not c.keys(shown, value, allowed):
        return
    for f, key in kids:
        at = f"{shown}.{key}" if shown else key
        if key not in value and f.required == ALWAYS:
            c.problems.append(f"{c.where}: {at}: required field missing")
            continue
        _value(c, at, f, value.get(key, f.default), [*parents, value])


def _value(c: _Check, at: str, f: Field, v: Any, parents: list[Any]) -> None:  # noqa: C901 - one branch a kind
    if v is None and f.nullable:
        return
    kind = f.kind
    if kind == "mapping":
        _mapping(c, at, f.path, v, parents)
    elif kind == "list":
        if not isinstance(v, list):
            c.bad(at, "a list", v)
            return
        item = BY_PATH[(PUBLIC, f.path + "[]")]
        for i, x in enumerate(v):
            _value(c, f"{at}[{i}]", item, x, parents)
        c.ids[f.path] = {x.get("id") for x in v if isinstance(x, dict)}
    elif kind == "text":
        c.text(at, v)
    elif kind == "lang_text":
        if not isinstance(v, dict) or not v or set(v) - set(vocab.LANGS):
            c.bad(at, "{fr: …, en: …}", v)
            return
        for lang, t in v.items():
            c.text(f"{at}.{lang}", t)
    elif kind == "date":
        if not isinstance(v, dt.date) or isinstance(v, dt.datetime):
            c.bad(at, "a date YYYY-MM-DD", v)
    elif kind == "bool":
        if not isinstance(v, bool):
            c.bad(at, f.expected, v)
    elif kind == "count":
        if not isinstance(v, int) or isinstance(v, bool) or v < f.minimum:
            c.bad(at, f.expected, v)
    elif kind == "term":
        if not vocab.is_term(f.vocabulary, v):
            c.bad(at, "one of " + ", ".join(vocab.terms(f.vocabulary)), v)
    elif kind == "fingerprint":
        if not (isinstance(v, str) and FPR_RE.match(v)):
            c.bad(at, f.expected, v)
    elif kind == "case_id":
        if not ID_RE.match(str(v)) or (f.required == ALWAYS and not isinstance(v, str)):
            c.bad(at, f.expected, v)
    elif kind == "country":
        if v not in vocab.countries():
            c.bad(at, "one of " + ", ".join(vocab.countries()), v)
    elif kind == "admin1":
        loc, ev = parents[-1], parents[-2]
        country = loc.get("country")
        if country in vocab.countries() and vocab.place(
                country, str(v), ev.get("date_start")) is None:
            names = ", ".join(p.fr for p in vocab.places(country))
            c.bad(at, f"a division of {country} ({names})", v)
    elif kind == "ref":
        if v not in c.ids.get(f.refers, set()):
            c.bad(at, f.expected, v)
    elif kind == "file":
        if not isinstance(v, str) or "/" in v or v.startswith("."):
            c.bad(at, f.expected, v)
    else:  # pragma: no cover - a kind the table uses must be checked here
        raise AssertionError(f"schema: no check for kind {kind!r} ({f.path})")


def validate(meta: Any, where: str) -> list[str]:
    """Every schema problem of a front matter, as 'where: field: expected X, got Y'."""
    c = _Check(where)
    _mapping(c, "", "", meta, [])
    return c.problems
