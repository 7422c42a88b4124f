"""The comparison form of text the canary gate and its word lists share: compatibility
forms, accents, format characters, look-alike letters of other scripts (Unicode TR39),
case, punctuation and spacing erased. A leaf module, so the matcher and the lexicon both
import it without importing each other."""

from __future__ import annotations

import itertools
import re
import string
import unicodedata
from functools import lru_cache

_MARKS = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_NON_WORD = re.compile(r"[\W_]+")
# Digits split by spaces, line breaks, dots, dashes (the minus sign too), slashes, brackets,
# middle dots or bullets are one number: "+257 (79) 12-34-56", "79 12\n34 56", "79·12·34·56".
# As written, a gap of 1 to 4 of these after a digit and before one is removed:
# `(?<=\d)GAP{1,4}(?=\d)` (`tests/test_fold.py`). `_join_digits` splits the text at each
# gap instead, the digit before it kept by the pattern's group, and joins the pieces: the
# engine skips from digit to digit rather than trying every separator, spaces included
# (3,400 a case page, 1,000 digits), and `sub`'s copying goes: 0.19 -> 0.11 ms a page.
_GAP = r"[\s.\-/()_\u2010-\u2015\u2212\u00b7\u2022\u2027\u2219\u22c5\u30fb\uff65]"
_DIGIT_GAP = re.compile(rf"(\d){_GAP}{{1,4}}(?=\d)")


def _join_digits(text: str) -> str:
    """`text` with every gap `_GAP` allows between two digits removed. A match takes the
    digit before its gap (the lookbehind as written only looked at it) and leaves the one
    after it to the next: "1 2 3" gives "1", "2" then "3", as the lookbehind did."""
    return "".join(_DIGIT_GAP.split(text))
# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt) besides the format
# characters (Cf): drawn as nothing, so "Bizin\u3164davyi" reads "Bizindavyi". Hangul
# fillers, Khmer inherent vowels, Mongolian and other variation selectors, the combining
# grapheme joiner, unassigned U+FFF0-FFF8.
_IGNORABLE = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F),
              (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8),
              (0xE0100, 0xE01EF))
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


@lru_cache(maxsize=1)
def latin_table() -> dict[int, str | None]:
    """`str.translate` table: format characters (soft hyphen, zero-width space and joiners,
    bidi controls: category Cf) and the other default-ignorable characters deleted; each
    non-ASCII character that Unicode TR39's confusables table (`confusable_homoglyphs`' copy
    of confusables.txt) lists as looking like one ASCII letter or digit mapped to it
    (Cyrillic "а" -> "a", Greek "Ο" -> "O"); every decimal digit of another script
    (Arabic-Indic "٧", Devanagari "७") mapped to its ASCII digit, since a reader reads the
    same number. Letters keep their case (then case-folded), letters win over digits."""
    # The data file `confusable_homoglyphs.confusables` loads at import (and keeps: ~8 MB
    # of objects, in the build and every forked gate worker), read here and dropped once
    # the table (a few thousand entries) is made.
    from confusable_homoglyphs import utils

    table: dict[int, str | None] = {}
    for ch, homoglyphs in utils.load("confusables.json").items():
        if len(ch) != 1 or ch.isascii():
            continue
        like = [str(h["c"]) for h in homoglyphs
                if len(str(h["c"])) == 1 and str(h["c"]).isascii() and str(h["c"]).isalnum()]
        if like:
            capital = "CAPITAL" in unicodedata.name(ch, "")
            like.sort(key=lambda c: (not c.isalpha(), c.isupper() != capital, c))
            table[ord(ch)] = like[0]
    for code in itertools.chain(range(0x80, 0x30000), range(0xE0000, 0xE1000)):
        kind = unicodedata.category(chr(code))
        if kind == "Cf":
            table[code] = None
        elif kind == "Nd":
            table[code] = str(unicodedata.decimal(chr(code)))
    for first, last in _IGNORABLE:
        table.update(dict.fromkeys(range(first, last + 1)))
    return table


def _latin(m: re.Match[str]) -> str:
    return m[0].translate(latin_table())


# A right-to-left override (U+202E) draws what follows, up to the end of its embedding,
# reversed: "\u202eagnesiyadN\u202c" reads "Ndayisenga" on the page.
_OVERRIDE = re.compile("\u202e([^\u202a-\u202e\u2066-\u2069\r\n]*)")


# `fold`'s last step, for ASCII text: every character but a letter or a digit a space (then
# runs of spaces collapsed by split/join), in C through str.translate's ASCII fast path.
_ASCII_SPACE = {c: " " for c in range(128) if not chr(c).isalnum()}
_ASCII_FOLD = {**_ASCII_SPACE, **{ord(c): c.lower() for c in string.ascii_uppercase}}
# What a non-ASCII character `_NON_WORD` would make a space becomes in `_fold_run`: a space
# if `_DIGIT_GAP` reads it as spacing, "-" if it is one of `_DIGIT_GAP`'s other separators,
# else "!" (a separator of words, never of digits). One ASCII character for one, so the
# digit gaps' bound of 4 counts the same characters.
_SEPARATORS = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u00b7\u2022\u2027"
                        "\u2219\u22c5\u30fb\uff65")
_NON_ASCII_NON_WORD = re.compile(r"[^\x00-\x7f\w]")


def _stand_in(m: re.Match[str]) -> str:
    ch = m[0]
    return " " if ch.isspace() else "-" if ch in _SEPARATORS else "!"


def _fold_run(run: str) -> str:
    """One run of non-ASCII characters through NFKD, marks, `latin_table`, and its word
    separators made ASCII (`_stand_in`). Runs are independent: NFKD decomposes character
    by character and reorders only combining marks, which an ASCII character (a starter)
    never sits among; marks, the table and the stand-ins are per character too."""
    run = _MARKS.sub("", unicodedata.normalize("NFKD", run)).translate(latin_table())
    return run if run.isascii() else _NON_ASCII_NON_WORD.sub(_stand_in, run)


class _Runs(dict[str, str]):
    """`_fold_run` of each short run met, kept: `_fold_run` is a function of the run alone
    (its docstring), and a page's runs are few and the same ("é", "à", "·", "—": 81 a case
    page, 26 distinct over 300 pages), so all but the first of each cost a dict look-up in
    C (`fold` maps the runs with `map`, this `__missing__` only for a new one)."""

    MAX_RUN = 16        # longer runs (a Greek or Cyrillic text's words) are folded, not kept
    MAX_ENTRIES = 1 << 14  # ~2 MB at most, emptied when full

    def __missing__(self, run: str) -> str:
        folded = _fold_run(run)
        if len(run) <= self.MAX_RUN:
            if len(self) >= self.MAX_ENTRIES:
                self.clear()
            self[run] = folded
        return folded


_RUNS = _Runs()
_NON_ASCII_SPLIT = re.compile(f"({_NON_ASCII.pattern})")  # the runs kept by `split`


def fold(text: str) -> str:
    """The comparison form of plain text: compatibility forms (NFKD), accents, format
    characters, look-alike letters of other scripts (TR39), case, punctuation and spacing
    erased; digits split by separators joined; text under a right-to-left override in the
    order it is drawn.

    Most of a page is ASCII: only its runs of other characters are decomposed and mapped
    (`_fold_run`), and when what is left is ASCII, punctuation becomes spacing through a
    translation table rather than a regex (one pass in C; 2.3 ms a case page before).
    `tests/test_fold.py` holds the plain chain this must equal, character for character."""
    if "\u202e" in text:
        text = _OVERRIDE.sub(lambda m: m[1][::-1], text)
    if not text.isascii():
        parts = _NON_ASCII_SPLIT.split(text)  # ASCII, a run, ASCII, a run, …, ASCII
        parts[1::2] = map(_RUNS.__getitem__, parts[1::2])
        text = "".join(parts)
    text = _join_digits(text)
    if text.isascii():  # case-folding ASCII lowers A-Z: in the same table, one pass
        return " ".join(text.translate(_ASCII_FOLD).split())
    text = text.casefold()
    if text.isascii():
        return " ".join(text.translate(_ASCII_SPACE).split())
    return _NON_WORD.sub(" ", text).strip()


def is_folded(text: str) -> bool:
    """Whether `text` is already a `fold` output: words of letters and digits, one space
    apart, case-folded, nothing `fold` would still change but the joining of digit groups."""
    return (_NON_WORD.sub(" ", text).strip() == text and text == text.casefold()
            and (text.isascii() or (unicodedata.is_normalized("NFKD", text)
                                    and not _MARKS.search(text)
                                    and _NON_ASCII.sub(_latin, text) == text)))


def as_folded(text: str) -> str:
    """`text` as `fold` gives it, folding it only if it is not already a `fold` output:
    folding twice joins digit groups the first fold kept apart ("-3.4264, 29.9308" folds
    to "34264 299308", which a second fold would make "34264299308", a form no page has)."""
    return text if is_folded(text) else fold(text)
