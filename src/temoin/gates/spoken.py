"""Phone numbers as a person reads them out: in French or English words ("soixante-dix-neuf,
douze, trente-quatre", "six nine eight seven"), or in digit groups set off by commas or
"et" ("61, 22, 33 et 47"), which the fold keeps apart. `runs` turns each such run of a
folded text into its digits, so the phone canaries (numbers of 8 digits or more) find it.

A run is 3 tokens or more, each a number word, a group of 1 to 3 digits, or "et"/"and"
between two of them; it counts only when it gives 8 digits or more (a phone number's last
8): "un, deux, trois" or "les 3, 4 et 5 mars" give too few to match anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_UNITS = {"zero": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5,
          "six": 6, "sept": 7, "huit": 8, "neuf": 9, "oh": 0, "one": 1, "two": 2,
          "three": 3, "four": 4, "five": 5, "seven": 7, "eight": 8, "nine": 9}
_TEENS = {"dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15,
          "seize": 16, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
          "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
          "nineteen": 19}
_TENS = {"vingt": 20, "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50,
         "soixante": 60, "septante": 70, "huitante": 80, "octante": 80, "nonante": 90,
         "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_HUNDRED = ("cent", "cents", "hundred")
_AND = ("et", "and")
_WORDS = frozenset({*_UNITS, *_TEENS, *_TENS, *_HUNDRED, *_AND})
WORDS = _WORDS  # every word `number` reads (`matching.compact` looks only at runs of them)
_GROUPS = frozenset(str(n) for n in range(1000)) | frozenset(
    f"{n:0{w}d}" for w in (2, 3) for n in range(10 ** (w - 1)))  # "7", "07", "007"
MIN_TOKENS = 3
MIN_DIGITS = 8


def number(tokens: list[str], i: int) -> tuple[int, int]:
    """The number (under 1,000) spelt from tokens[i], and the index after it."""
    n = len(tokens)

    def at(j: int) -> str:
        return tokens[j] if j < n else ""

    value = 0
    if at(i) in _UNITS and at(i + 1) in _HUNDRED:
        value, i = 100 * _UNITS[at(i)], i + 2
    elif at(i) in _HUNDRED:
        value, i = 100, i + 1
    if value and at(i) in _AND and (at(i + 1) in _UNITS or at(i + 1) in _TEENS
                                    or at(i + 1) in _TENS):
        i += 1
    tens = 0
    if at(i) == "quatre" and at(i + 1) in ("vingt", "vingts"):
        tens, i = 80, i + 2
    elif at(i) in _TENS:
        tens, i = _TENS[at(i)], i + 1
    j = i + 1 if tens and at(i) in _AND else i
    if at(j) == "dix" and at(j + 1) in ("sept", "huit", "neuf"):
        return value + tens + 10 + _UNITS[at(j + 1)], j + 2
    if at(j) in _TEENS and (not tens or tens in (60, 80)):
        return value + tens + _TEENS[at(j)], j + 1
    if at(j) in _UNITS:
        return value + tens + _UNITS[at(j)], j + 1
    return value + tens, i


def _digits(tokens: list[str]) -> str:
    out, i = [], 0
    while i < len(tokens):
        token = tokens[i]
        if token.isdigit():
            out.append(token)
            i += 1
            continue
        value, after = number(tokens, i)
        if after == i:  # "et"/"and" outside a number: a separator
            i += 1
            continue
        out.append(str(value))
        i = after
    return "".join(out)


# A run's tokens: number words and digit groups, one byte per word (1: in a run), and runs
# of MIN_TOKENS or more found by a regex over those bytes, in C: a loop over every word of
# every page cost 4.5 s of the gates at 1,000 cases, where few words are numbers.
_TOKENS = _WORDS | _GROUPS
_RUN = re.compile(rb"\x01{%d,}" % MIN_TOKENS)


def runs(folded: str) -> Iterator[str]:
    """The digits of each spoken or comma-grouped number of 8 digits or more in `folded`
    (a `fold`/`normalize` output padded with spaces). `tests/test_forms_fast.py` holds
    the word-by-word loop this must equal."""
    words = folded.split()
    for m in _RUN.finditer(bytes(map(_TOKENS.__contains__, words))):
        run = words[m.start():m.end()]
        while run and run[-1] in _AND:
            run.pop()
        if len(run) >= MIN_TOKENS:
            digits = _digits(run)
            if len(digits) >= MIN_DIGITS:
                yield digits
