"""The canary gate's forms made cheap (issue 18) must still give exactly what the plain
word-by-word loops gave: `matching.compact` and `spoken.runs` now look only at the runs of
number words a page holds, found in C. The loops are written out here and both paths run
over every string the attack, precision and canary tests feed the gate (hostile inputs),
and over many random texts of number words, digits, joiners, single letters and words."""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from temoin.gates import fold, matching, spoken
from temoin.gates.matching import _JOINERS, _around, _numbers, _spaced
from tests.test_fold import DIGIT_GAP

# The patterns as first written, each beginning with a lookbehind; the gates' own open with
# what their first character must be (faster) and must match the same spans.
PLAIN = {
    "_SINGLES": re.compile(r"(?<= )(?:[a-z0-9] ){3,}[a-z0-9](?= )"),
    "_EMPHASIS": re.compile(r"(?<=\w)(?:\\?[*_~`])+(?=\w)"),
    "_HYPHEN_BREAK": re.compile(r"(?<=\w)[-\u2010\u2011\u2012\u2013\u2212]\s+(?=\w)"),
}
_SINGLES = PLAIN["_SINGLES"]
# The line break and inline tags as first written: one alternation of the inline names, and
# the spaces before a break inside the pattern (`matching._breaks` takes them off itself).
PLAIN_INLINE_TAG = re.compile(
    r"</?(?:a|abbr|b|bdi|bdo|cite|code|data|del|dfn|em|font|i|ins|kbd|mark|q|rp|rt|ruby|s|"
    r"samp|small|span|strong|sub|sup|time|tspan|u|var|wbr)\b[^<>]{0,4000}>", re.I)
PLAIN_BREAK = re.compile(r"[ \t]*<br\b[^<>]{0,4000}>\s*", re.I)


def plain_compact(seen: str) -> str:
    """`compact` as a loop over every word (what the gates ran before issue 18): every word
    between two marks of single letters goes through `_numbers`, none skipped."""
    text = _SINGLES.sub(lambda m: f" \x01 {_spaced(m)} \x01 ", seen)
    out: list[str] = []
    changed: list[int] = []
    inside = False
    segment: list[str] = []
    for word in (*text.split(), "\x01"):  # no number joins across a mark
        if word == "\x01":
            _numbers(segment, inside, out, changed)
            segment, inside = [], not inside
        else:
            segment.append(word)
    return _around(out, changed) if changed else seen


def plain_runs(folded: str) -> Iterator[str]:
    """`spoken.runs` as a loop over every word."""
    run: list[str] = []
    for token in (*folded.split(), ""):
        if token in spoken._WORDS or token in spoken._GROUPS:
            run.append(token)
            continue
        while run and run[-1] in spoken._AND:
            run.pop()
        if len(run) >= spoken.MIN_TOKENS:
            digits = spoken._digits(run)
            if len(digits) >= spoken.MIN_DIGITS:
                yield digits
        run = []


TESTS = Path(__file__).parent
HOSTILE = sorted({*TESTS.glob("test_attack_leaks*.py"), TESTS / "test_precision.py",
                  TESTS / "test_canary_forms.py", TESTS / "test_canary_dismissal.py",
                  *TESTS.glob("test_gates*.py")})


def _strings(path: Path) -> list[str]:
    """Every string constant of a test file (the texts, pages and values it plants)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
            and isinstance(n.value, str) and n.value.strip()]


def _same(text: str) -> None:
    for name, plain in PLAIN.items():
        fast = getattr(matching, name)
        assert [m.span() for m in fast.finditer(text)] == \
            [m.span() for m in plain.finditer(text)], (name, text[:200])
    assert [m.span() for m in matching._INLINE_TAG.finditer(text)] == \
        [m.span() for m in PLAIN_INLINE_TAG.finditer(text)], text[:200]
    assert matching._breaks(text) == PLAIN_BREAK.sub(matching._LINE_BREAK, text), text[:200]
    assert fold._join_digits(text) == DIGIT_GAP.sub("", text), text[:200]
    for markup in (True, False):
        seen = matching.visible(text, markup)
        assert matching.compact(seen) == plain_compact(seen), text[:200]
        assert list(spoken.runs(seen)) == list(plain_runs(seen)), text[:200]


@pytest.mark.parametrize("path", HOSTILE, ids=lambda p: p.name)
def test_fast_forms_equal_the_plain_loops_on_every_planted_text(path: Path) -> None:
    strings = _strings(path)
    assert strings, path
    for text in strings:
        _same(text)
    _same("\n".join(strings))  # all of a file's texts as one page


SEPARATORS = (" ", " ", ", ", " - ", ".", " et ")
WORDS = ["*", "_", "~", "`", "\\*", "a\\*b", "n\\_\\_a", "a*b", "x_", "-", "\u2010", "\u2212",
         "-\n", "a-", "\u00e9",
         "\u0661", *spoken._UNITS, *spoken._TEENS, *spoken._TENS, *spoken._HUNDRED, *spoken._AND,
         *_JOINERS, "quatre", "vingt", "dix", "7", "07", "007", "79", "12", "1234",
         "791234", "79123456", "2019", "0", "a", "b", "n", "d", "x", "jean", "ndayisenga",
         "le", "mars", "de", "tel", "\u0661\u0662", "1/2", "3-4", "5.6", "7,8", "<b>", "</b>",
         "&amp;", "-", ",", "(", ")", "+257"]


@pytest.mark.parametrize("seed", range(8))
def test_fast_forms_equal_the_plain_loops_on_random_number_texts(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(2500):
        n = rng.randint(0, 40)
        text = " ".join(rng.choice(WORDS) for _ in range(n))
        _same(text)
        _same(re.sub(" ", lambda _m: rng.choice(SEPARATORS), text))


MARKUP = ["<br>", "<BR/>", "<br class=x>", "<bR\n>", "<brx>", "<br", " ", "\t", " \t ", "\n",
          "<b>", "</b>", "<abbr>", "<ab>", "<bdi>", "<bd>", "<s>", "<sx>", "<sup>", "<sub>",
          "<subx>", "<Span class='a'>", "</SPAN>", "<strongx>", "<a\nhref=y>", "<wbr/>",
          "<tspan>", "<rp>", "<r>", "<div>", "</p>", "<", ">", "Nda", "yi", "senga", "-",
          "&lt;br&gt;", "&lt;em&gt;", "\x02", "7", "9"]


@pytest.mark.parametrize("seed", range(4))
def test_fast_tags_equal_the_plain_patterns_on_random_markup(seed: int) -> None:
    """Line breaks and inline tags, in any case, cut short, with spaces and tabs around."""
    rng = random.Random(seed)
    for _ in range(3000):
        text = "".join(rng.choice(MARKUP) for _ in range(rng.randint(0, 30)))
        assert [m.span() for m in matching._INLINE_TAG.finditer(text)] == \
            [m.span() for m in PLAIN_INLINE_TAG.finditer(text)], text
        assert matching._breaks(text) == PLAIN_BREAK.sub(matching._LINE_BREAK, text), text
