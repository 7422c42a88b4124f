"""Which words can identify someone on their own, and which the site says anyway.

A private name "Jean Ndayisenga" is a canary whole and in any order; its part "Ndayisenga"
alone identifies him too, "Jean" alone does not. A part is *distinctive* (a canary on its
own) when it has at least 4 letters and is none of:

* public vocabulary: a word of the gazetteer (every province, FR/EN), of the controlled
  vocabularies' labels or of the interface strings: the site prints them on every page, so
  as canaries they would stop every build ("Gitega", "Torture", "Victimes");
* a common word or given name: French and English words with a Zipf frequency of 3 or
  more in `wordfreq` (at least one occurrence a million words: "jean", "claude", "police",
  "martin"), and the curated `data/common_names.yaml` for what wordfreq cannot know
  (Kirundi and Cameroonian given names and words, with its provenance);
* a Windows device name (CON, NUL, COM1…), which a hostile attachment may be called.

`public_phrases()` also holds each whole public string folded ("bujumbura mairie",
"arrestation arbitraire"): a private value equal to one is "not usable as a canary".
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

MIN_PART = 4        # letters of a name part found alone
COMMON_ZIPF = 3.0   # wordfreq: frequency of 10^-6 and more is common
DEVICES = frozenset({"con", "prn", "aux", "nul", "clock",
                     *(f"{d}{i}" for d in ("com", "lpt") for i in range(10))})
SOURCES = ("gazetteer.yaml", "vocab.yaml", "ui.yaml", "common_names.yaml")


def _fold(text: str) -> str:
    from temoin.gates.fold import fold

    return fold(text)


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def data_bytes(name: str) -> bytes:
    """The bytes of one of the package's data files (`SOURCES`)."""
    return resources.files("temoin").joinpath("data", name).read_bytes()


def _data(name: str) -> Any:
    text = data_bytes(name).decode("utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506


@lru_cache(maxsize=1)
def public_phrases() -> frozenset[str]:
    """Every string of the gazetteer, vocabularies and interface, folded (whole)."""
    return frozenset(f for name in SOURCES[:3] for s in _strings(_data(name))
                     if (f := _fold(s)))


@lru_cache(maxsize=1)
def public_words() -> frozenset[str]:
    """Every word of `public_phrases`."""
    return frozenset(w for p in public_phrases() for w in p.split())


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Folded French and English words of Zipf frequency >= COMMON_ZIPF (wordfreq), and the
    curated given names and words of `data/common_names.yaml`."""
    import wordfreq

    threshold = 10 ** (COMMON_ZIPF - 9)
    # An ASCII word of letters folds to its lower case: only the others pay for `_fold`.
    words = {w.lower() if w.isascii() and w.isalpha() else _fold(w) for lang in ("fr", "en")
             for w, f in wordfreq.get_frequency_dict(lang, wordlist="small").items()
             if f >= threshold}
    words |= {_fold(w) for w in _strings(_data("common_names.yaml"))}
    return frozenset(w for w in words if w and " " not in w)


def rules_version() -> str:
    """What the lists depend on besides this module (for the canary cache's rules hash)."""
    import wordfreq

    return f"wordfreq {getattr(wordfreq, '__version__', '?')} zipf {COMMON_ZIPF}"


def is_public(folded: str) -> bool:
    """Whether a folded value is itself public vocabulary (a place, a label, a UI string)."""
    return folded in public_phrases() or folded in public_words()


def distinctive(word: str) -> bool:
    """Whether one folded word identifies on its own (see the module's rule)."""
    return (len(word) >= MIN_PART and not word.isdigit() and word not in DEVICES
            and word not in public_words() and word not in common_words())
