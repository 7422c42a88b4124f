"""`fold`, the canary gate's normalisation, made cheap (issue 18) must still give exactly what
the plain chain of steps gave, for every character in every position that matters: the
chain is written out here, and both are run over every Unicode code point."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest

from temoin.gates import fold as fold_mod
from temoin.gates.fold import fold

# The digit gaps as first written (a lookbehind first): `fold._join_digits` splits at
# them instead, for speed, and must join the same digits.
DIGIT_GAP = re.compile(
    r"(?<=\d)[\s.\-/()_\u2010-\u2015\u2212\u00b7\u2022\u2027\u2219\u22c5\u30fb\uff65]{1,4}"
    r"(?=\d)")


def plain_fold(text: str) -> str:
    """The chain `fold` stands for, one step after the other over the whole text."""
    if "\u202e" in text:
        text = fold_mod._OVERRIDE.sub(lambda m: m[1][::-1], text)
    text = fold_mod._MARKS.sub("", unicodedata.normalize("NFKD", text))
    text = text.translate(fold_mod.latin_table())
    text = DIGIT_GAP.sub("", text).casefold()
    return fold_mod._NON_WORD.sub(" ", text).strip()


# Beside digits (the digit gaps), letters, accents and itself (runs, marks reordered), and
# between an ASCII letter and its combining mark.
CONTEXTS = ("1{c}2", "a{c}b", "{c}{c}1{c}{c}{c}2", "\u00c9{c}e\u0301", "e{c}\u0301")
CHUNK = 2048
# Planes 2 and 3 hold only CJK ideographs (letters, no decomposition: like any other
# ideograph of plane 0), 4 to 13 and 15 to 16 nothing assigned or private use.
PLANES = (0x00000, 0x10000, 0xE0000)


@pytest.mark.parametrize("start", [p + i for p in PLANES for i in range(0, 0x10000, 0x4000)])
def test_fold_equals_the_plain_chain_for_every_code_point(start: int) -> None:
    for first in range(start, start + 0x4000, CHUNK):
        chars = [chr(c) for c in range(first, first + CHUNK) if not 0xD800 <= c < 0xE000]
        text = " | ".join(ctx.format(c=c) for c in chars for ctx in CONTEXTS)
        if fold(text) != plain_fold(text):
            bad = [hex(ord(c)) for c in chars
                   if any(fold(x) != plain_fold(x) for x in (ctx.format(c=c)
                                                            for ctx in CONTEXTS))]
            raise AssertionError(f"fold differs from the plain chain at {bad[:20]}")


@pytest.mark.parametrize("text", [
    "Jéan  NDAYISENGA", "+257 79-12-34-56", "٧٩١٢٣٤٥٦", "Nda\u00adyi\u200bsenga",
    "\u202eagnesiyadN\u202c", "l’homme « cité »", "ＡＢＣ　１２", "Ωmega ﬁn ß", "_a__b_",
    "79\u2009·\u200912 34", "Bizin\u3164davyi", "x\u2028y 1\u20282", "", "   ", "a_1"])
def test_fold_equals_the_plain_chain_on_written_forms(text: str) -> None:
    assert fold(text) == plain_fold(text)


def test_digits_join_as_the_plain_pattern_joins_them() -> None:
    """Digits (ASCII and Arabic-Indic) apart by runs of 1 to 6 separators, letters and
    commas between: the same gaps removed as the lookbehind pattern removes."""
    rng = random.Random(0)
    alphabet = ["1", "7", "\u0663", " ", "  ", "\n", "\t", ".", "-", "(", ")", "_", "/",
                "\u2010", "\u00b7", "\u2212", "a", ",", "+"]
    for _ in range(30000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        assert fold_mod._join_digits(text) == DIGIT_GAP.sub("", text), repr(text)
