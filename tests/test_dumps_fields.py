"""cases.dumps writes the front matter field by field, libyaml where its lines are provably
PyYAML's: the text is PyYAML's whole dump, byte for byte, whatever the fields hold (the
canaries' leak scan and case.md itself are that text)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import yaml

from temoin import cases, strict_yaml
from temoin.cases import FIELD_ORDER

STRINGS = [
    "", "a", "published", "BI-2025-0A1B2C", "Arrestation arbitraire à Gitega",
    "Extorsion signalée en 2015 à Cankuzo, avec meurtre, détention au secret.",
    "x" * 99, "x" * 100, "word " * 30, "mot, " * 25 + "fin", "007", "yes", "no", "null", "~",
    "2025-01-02", "12:30", "a: b", "- item", "#comment", "'quoted'", '"double"', " leading",
    "trailing ", "tab\there", "line\nbreak", "two\n\nbreaks", "\u2028sep", "emoji 😀",
    "ﬁ ligature", "\ufeffbom", "ключ", "中文字符" * 20, "{flow}", "[list]", "&anchor", "*alias",
    "!tag", "%percent", "@at", "`tick`", "| pipe", "> fold", "a" + " b" * 60,
    "29D99E2A3163D14F59EC7C91AF95B3900D0C4CC4", "back\\slash", "\x85nel", "é" * 60,
]


def _scalar(rng: random.Random) -> Any:
    kind = rng.randrange(9)
    if kind < 4:
        return rng.choice(STRINGS)
    if kind == 4:
        return rng.choice([0, 1, -3, 10**12, 1.5, True, False, None])
    if kind == 5:
        return dt.date(2000 + rng.randrange(30), 1 + rng.randrange(12), 1 + rng.randrange(28))
    if kind == 6:
        return dt.datetime(2025, 3, 4, 5, 6, 7, tzinfo=dt.UTC if rng.random() < 0.5 else None)
    return " ".join(rng.choice(STRINGS) for _ in range(rng.randrange(1, 6)))


def _value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(6) if depth < 3 else 0
    if kind <= 2:
        return _scalar(rng)
    if kind == 3:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = rng.sample(["fr", "en", "id", "type", "date", "count", "note", "a b", "-x"], 3)
    return {k: _value(rng, depth + 1) for k in keys[:rng.randrange(4)]}


def test_front_matter_is_pyyamls_whole_dump() -> None:
    rng = random.Random(18)
    for _ in range(500):
        keys = rng.sample(FIELD_ORDER, rng.randrange(1, min(12, len(FIELD_ORDER))))
        meta = {k: _value(rng) for k in FIELD_ORDER if k in keys}
        whole = yaml.dump(meta, Dumper=strict_yaml.NoAliasDumper, allow_unicode=True,
                          sort_keys=False, default_flow_style=None, width=100)
        assert cases._front(meta) == whole, meta
