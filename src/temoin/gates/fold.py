"""The comparison form of text the canary gate and its word lists share: compatibility
forms, accents, format characters, look-alike letters of other scripts (Unicode TR39),
case, punctuation and spacing erased. A leaf module, so the matcher and the lexicon both
import it without importing each other."""

from __future__ import annotations

import itertools
import re
import unicodedata
from functools import lru_cache

_MARKS = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_NON_WORD = re.compile(r"[\W_]+")
# Digits split by spaces, line breaks, dots, dashes, slashes or brackets are one number:
# "+257 (79) 12-34-56", "79 12\n34 56".
_DIGIT_GAP = re.compile(r"(?<=\d)[\s.\-/()\u2010-\u2015]{1,3}(?=\d)")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


@lru_cache(maxsize=1)
def latin_table() -> dict[int, str | None]:
    """`str.translate` table: format characters (soft hyphen, zero-width space and joiners,
    bidi controls: category Cf) deleted; each non-ASCII character that Unicode TR39's
    confusables table (`confusable_homoglyphs`' copy of confusables.txt) lists as looking
    like one ASCII letter or digit mapped to it (Cyrillic "а" -> "a", Greek "Ο" -> "O").
    Letters keep their case (then case-folded), letters win over digits."""
    from confusable_homoglyphs import confusables

    table: dict[int, str | None] = {}
    for ch, homoglyphs in confusables.confusables_data.items():
        if len(ch) != 1 or ch.isascii():
            continue
        like = [str(h["c"]) for h in homoglyphs
                if len(str(h["c"])) == 1 and str(h["c"]).isascii() and str(h["c"]).isalnum()]
        if like:
            capital = "CAPITAL" in unicodedata.name(ch, "")
            like.sort(key=lambda c: (not c.isalpha(), c.isupper() != capital, c))
            table[ord(ch)] = like[0]
    for code in itertools.chain(range(0x80, 0x30000), range(0xE0000, 0xE1000)):
        if unicodedata.category(chr(code)) == "Cf":
            table[code] = None
    return table


def _latin(m: re.Match[str]) -> str:
    return m[0].translate(latin_table())


def fold(text: str) -> str:
    """The comparison form of plain text: compatibility forms (NFKD), accents, format
    characters, look-alike letters of other scripts (TR39), case, punctuation and spacing
    erased; digits split by separators joined."""
    text = _MARKS.sub("", unicodedata.normalize("NFKD", text))
    if not text.isascii():  # only runs of non-ASCII characters go through the table
        text = _NON_ASCII.sub(_latin, text)
    text = _DIGIT_GAP.sub("", text).casefold()
    return _NON_WORD.sub(" ", text).strip()
