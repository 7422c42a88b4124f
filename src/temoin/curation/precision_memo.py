"""The precision findings of public texts, remembered between builds (issue 18).

`precision.findings` runs the age pattern, the gazetteer's names and the coordinate
pattern over every public text of every case on every build: half the CPU of a warm
build's gate at 1,000 cases, though a case's texts rarely change. Its result is a pure
function of (country, allowed precision, the texts, the accepted texts) and of the code and
data that judge them, so `PRECISION` keeps it by sha256 of those inputs, in this user's
authenticated cache folder, versioned by the packages that judge (curation, cases,
gates, the gazetteers and word lists) and wordfreq's and PyYAML's versions. The check
still runs for every case on every build: only the regex work over unchanged texts is
saved, and a changed text, dismissal, setting or rule version misses.

Calls with a private part's places are never kept: a hash of a public text and a
private place would let anyone holding the file test guesses of the place.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from temoin import cache as cache_mod

PRECISION = cache_mod.Spec(
    "precision.json", ("temoin.curation", "temoin.cases", "temoin.gates", "temoin.data"),
    ("wordfreq", "PyYAML"),
    "precision findings of public texts, by sha256(country, precision, texts, accepted)")

Found = list[tuple[str, str, str]]  # (field, text, rule) of each finding


class Memo:
    """The findings kept for one run (`get`, `put`). `save(whole=True)` (a build that
    judged every case) keeps only the entries this run used, so texts no longer in the
    repository drop out; any other run (a preview rebuild, `case publish`) adds its
    entries to those kept."""

    def __init__(self, repo: Path) -> None:
        self.file = cache_mod.open_file(Path(repo), PRECISION)
        self.old: dict[str, Found] = {}
        raw = self.file.load() if self.file is not None else None
        with contextlib.suppress(ValueError, TypeError):
            found = json.loads(raw) if raw is not None else None
            if isinstance(found, dict):
                self.old = {k: [tuple(f) for f in v] for k, v in found.items()
                            if isinstance(k, str) and isinstance(v, list)
                            and all(isinstance(f, list) and len(f) == 3
                                    and all(isinstance(x, str) for x in f) for f in v)}
        self.new: dict[str, Found] = {}

    @staticmethod
    def key(country: str, allowed: str, texts: Iterable[tuple[str, str]],
            accepted: Iterable[str]) -> str:
        doc = [country, allowed, [list(t) for t in texts], list(accepted)]
        return hashlib.sha256(json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
                              .encode("utf-8")).hexdigest()

    def get(self, key: str) -> Found | None:
        found = self.new.get(key)
        if found is None:
            found = self.old.get(key)
            if found is not None:
                self.new[key] = found
        return found

    def put(self, key: str, found: Found) -> None:
        self.new[key] = found

    def save(self, whole: bool = False) -> None:
        kept = self.new if whole else {**self.old, **self.new}
        if self.file is None or kept == self.old:
            return
        self.file.save(json.dumps(kept, ensure_ascii=False, sort_keys=True,
                                  separators=(",", ":")).encode("utf-8"))
