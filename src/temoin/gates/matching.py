"""The one-pass matcher, and the normalisation text and canaries both go through.

Text and canaries go through the same normalisation, so a value is found however the output
spells it: HTML entities (twice, for double escaping), JSON/JS `\\uXXXX`/`\\xNN` escapes,
CSS escapes (`\\6b `), percent-encoding, Unicode compatibility forms and accents (NFKD,
marks dropped, so a slug `jean-ndayisenga` still matches "Jéan Ndayisenga"), case, and any
run of punctuation or whitespace (one space). Digits of any script are ASCII digits, and
digits split by spaces, dots, dashes, the minus sign, slashes, brackets, middle dots or
bullets are joined, so
"+257 79-12-34-56", "+25779123456" and "٧٩١٢٣٤٥٦" end alike. Matches must start and end on
word boundaries: "Ali" is found in "M. Ali a été", not in "qualité"; a number of 8 digits or
more may also start or end a longer run (numbers in a row join: "79 12 34 56 / 22 33 44 55").
"""

from __future__ import annotations

import html
import operator
import re
from collections.abc import Iterable, Iterator
from urllib.parse import unquote

import ahocorasick

from temoin.gates import spoken
from temoin.gates.fold import fold, latin_table

_JSON_PAIR = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.I)
_JSON_ESC = re.compile(r"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})|\\([nrtbf/\"'\\])")
_ESC = {"n": "\n", "r": "\r", "t": "\t", "b": " ", "f": " ", "/": "/", '"': '"', "'": "'",
        "\\": "\\"}
_TAG = re.compile(r"<[^<>]{0,4000}>")
_ATTR_VALUE = re.compile(r"""=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'<>=`]+))""")
# Elements a rich-text summary may hold once it was escaped into a feed or JSON.
_ESCAPED_TAG = re.compile(
    r"</?(?:a|abbr|b|blockquote|br|code|dd|del|div|dl|dt|em|figcaption|figure|h[1-6]|hr|i|"
    r"img|ins|li|mark|ol|p|pre|q|s|small|span|strong|sub|sup|table|tbody|td|th|thead|"
    r"time|tr|u|ul|wbr|section|article|header|footer|nav|main|aside)\b[^<>]{0,2000}>", re.I)
# Elements a browser draws inside a line: removed without a space, so that
# "Nda<em>yi</em>senga" reads "Ndayisenga" (every other tag is a space, as a block is).
_INLINE = ("a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "font",
          "i", "ins", "kbd", "mark", "q", "rp", "rt", "ruby", "s", "samp", "small", "span",
          "strong", "sub", "sup", "time", "tspan", "u", "var", "wbr")


def _trie(words: Iterable[str]) -> str:
    """A regex matching exactly `words`, as a tree of their common beginnings: at each
    "<" the engine follows one branch instead of trying 32 names one after another
    (`_INLINE_TAG` 0.16 -> 0.10 ms a page). Followed by `\\b` and a tag's end, as here,
    it matches where the plain alternation does: the same spans."""
    names = set(words)
    if names == {""}:
        return ""
    rests: dict[str, set[str]] = {}
    for name in names - {""}:
        rests.setdefault(name[0], set()).add(name[1:])
    alts = [re.escape(c) + _trie(rest) for c, rest in sorted(rests.items())]
    body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
    return f"(?:{body})?" if "" in names else body


# A line break and the spacing around it, removed too: "Nshimi<br>\nrimana" (a Markdown
# hard break inside a word) reads "Nshimirimana". The first form (`_strings`) keeps every
# tag a space, so words a break separates are still read apart there. The pattern as
# written is `[ \t]*<br\b[^<>]{0,4000}>\s*`; opening with "[ \t]*" it was tried at every
# character of a page (0.15 ms): `_breaks` finds the tags from their "<" and takes the
# spaces and tabs before each off the text before it (`tests/test_forms_fast.py`).
_BREAK = re.compile(r"<br\b[^<>]{0,4000}>\s*", re.I)
_INLINE_TAG = re.compile(rf"</?{_trie(_INLINE)}\b[^<>]{{0,4000}}>", re.I)
_HIDDEN = re.compile(r"<(script|style|template)\b[^<>]{0,4000}>.*?</\1\s*>|<!--.*?-->",
                     re.I | re.S)
# Markdown emphasis, code or strike-through inside a word ("Nda**yi**senga", "Nda\*yi"), and
# a word hyphenated at a line break, which the page or a PDF may show as a hyphen and a
# space ("Ndayi-\nsenga", "Ndayi\u2010 senga"): a reader reads one word.
# Each pattern here that a lookbehind would begin opens with what its first character must
# be instead (a lookahead, or the character and the lookbehind after it): the regex engine
# then skips to such a character rather than trying the lookbehind at every position, 3-6
# times faster on a page or a PDF; the matches are the same (`tests/test_forms_fast.py`).
_EMPHASIS = re.compile(r"(?=[\\*_~`])(?<=\w)(?:\\?[*_~`])+(?=\w)")
_HYPHENS = "[-\u2010\u2011\u2012\u2013\u2212]"
_HYPHEN_BREAK = re.compile(rf"{_HYPHENS}(?<=\w{_HYPHENS})\s+(?=\w)")
# A line break tag is removed as _LINE_BREAK, a mark, until hyphenation is undone: a word
# hyphenated at a `<br>` ("Ndayi-<br>senga", "Ndayi&#8208;<br>senga") reads as one word,
# as at a line break in the text; the break removed first left "Ndayi-senga" (attack18).
_LINE_BREAK = "\x02"
_HYPHEN_AT_BREAK = re.compile(rf"{_HYPHENS}(?<=\w{_HYPHENS})[\s\x02]*\x02[\s\x02]*(?=\w)")
PHRASE_WORDS = 4  # patterns of this many words or more are phrases (see Matcher)
WINDOW = 12       # a longer phrase is matched by its first and last WINDOW words
NUMBER_DIGITS = 8  # a digit pattern this long may start or end a longer run (phones)


def _json_unescape(text: str) -> str:
    if "\\" not in text:
        return text
    text = _JSON_PAIR.sub(lambda m: chr(0x10000 + ((int(m[1], 16) - 0xD800) << 10)
                                        + int(m[2], 16) - 0xDC00), text)

    def one(m: re.Match[str]) -> str:
        if m[1]:
            code = int(m[1], 16)
            return " " if 0xD800 <= code < 0xE000 else chr(code)
        if m[2]:
            return chr(int(m[2], 16))
        return _ESC[m[3]]

    return _JSON_ESC.sub(one, text)


# CSS escapes: `\6b ` or `\00006b` is "k", `\y` is "y" (`content: "N\6b urunziza"` draws
# the name).
_CSS_ESC = re.compile(r"\\([0-9a-fA-F]{1,6})[ \t\r\n\f]?|\\([^\s0-9a-fA-F])")


def _css_unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        if m[2]:
            return m[2]
        code = int(m[1], 16)
        return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code < 0xE000 else " "

    return _CSS_ESC.sub(one, text)


def _breaks(text: str) -> str:
    """Each line break tag in `text` with the spaces and tabs before it and the spacing
    after it replaced by _LINE_BREAK. The spaces before a tag are those a match of the
    pattern as written (spaces and tabs, then the tag) starting after the previous one
    would take: the end of the text since that one that is all spaces and tabs."""
    out: list[str] = []
    pos = 0
    for m in _BREAK.finditer(text):
        out += (text[pos:m.start()].rstrip(" \t"), _LINE_BREAK)
        pos = m.end()
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def normalize(text: str) -> str:
    """Decode every escaping a built file may use, then `fold`."""
    text = _json_unescape(text)
    if "\\" in text:
        text = _css_unescape(text)
    if "&" in text:
        text = html.unescape(html.unescape(text))
    if "%" in text:
        text = unquote(text, errors="replace")
    return fold(text)


def _shown(text: str, markup: bool) -> str:
    """`visible`'s text before `normalize`."""
    text = _json_unescape(text)
    if _LINE_BREAK in text:
        text = text.replace(_LINE_BREAK, " ")  # the file's own: a separator, as in `fold`
    if markup and "<" in text:
        # A comment, script or style inside a word is drawn as nothing: "Bigiri<!-- -->mana".
        text = _TAG.sub(" ", _INLINE_TAG.sub("", _breaks(_HIDDEN.sub("", text))))
    if markup and "&" in text:
        text = html.unescape(text)
        if "<" in text:  # HTML escaped into a feed or JSON
            text = _ESCAPED_TAG.sub(" ", _INLINE_TAG.sub("", _breaks(text)))
    if _LINE_BREAK in text:
        text = _HYPHEN_AT_BREAK.sub("", text).replace(_LINE_BREAK, "")
    return _HYPHEN_BREAK.sub("", _EMPHASIS.sub("", text))


def visible(text: str, markup: bool = True) -> str:
    """What a reader reads in a file's text, normalised and padded with spaces: scripts,
    styles and comments dropped and inline elements removed, without a space (also once
    escaped into a feed or JSON), every other tag a space, Markdown emphasis inside a word
    and hyphenation at a line break removed, then `normalize`."""
    return " " + normalize(_shown(text, markup)) + " "


def forms(text: str, markup: bool = True) -> Iterator[str]:
    """The normalised forms of a file's text to scan, each padded with spaces.

    First every byte string: markup becomes its text with every tag replaced by a space,
    followed by every attribute value (alt, title, content, href…). Tags are removed before
    entities are decoded, so an escaped "&lt;Jean&gt;" stays text; then HTML that was
    itself escaped (feeds, JSON) loses its tags too, recognised by their element names.
    Then, when it differs, the `visible` text: what a reader reads, where a tag or an
    emphasis inside a word no longer splits it. Last, the digits of numbers a person
    spells out in words or sets off by commas (`spoken.runs`), one run after another.
    """
    strings = _strings(text, markup)
    first = " " + normalize(strings) + " "
    yield first
    # Plain text (a PDF's text, its raw bytes) is most often shown as it is: then the
    # visible form is the first, not normalised a second time.
    shown = _shown(text, markup)
    seen = first if shown == strings else " " + normalize(shown) + " "
    if seen != first:
        yield seen
    joined = compact(seen)
    if joined != seen:
        yield joined
    # Phone numbers read out in words or in comma-set groups, as their digits.
    said = " ".join(spoken.runs(seen))
    if said:
        yield " " + said + " "


# Words a writer puts between the groups of one number: "79 12 et 34 56".
_JOINERS = frozenset({"et", "and", "puis", "then", "ou", "or", "tiret", "dash", "plus"})
_SINGLES = re.compile(r"(?=[a-z0-9] )(?<= )(?:[a-z0-9] ){3,}[a-z0-9](?= )")


def _number(words: list[str], i: int) -> tuple[str, int] | None:
    """The digits of the number (digits, or words: `spoken`'s tables) at `words[i]`, and
    the index after it."""
    if words[i].isdigit():
        return words[i], i + 1
    value, after = spoken.number(words, i)
    return (str(value), after) if after > i else None


def _spaced(m: re.Match[str]) -> str:
    """A run of single letters joined, also without one or two letters at either end that
    may be words of their own ("N d a y i s e n g a a témoigné": "ndayisenga a")."""
    r = m[0].split()
    n = len(r)
    ways = dict.fromkeys(" ".join([*r[:i], "".join(r[i:n - j]), *r[n - j:]])
                         for i in range(min(2, n - 4) + 1) for j in range(min(2, n - 4 - i) + 1))
    return " ".join(ways)


CONTEXT = 4  # words kept on each side of what `compact` joined
# Words `compact` may read as part of a number: digits, `spoken`'s number words and the
# words between the groups of one number ("et", "tiret"…). Every other word is copied
# through as it is, so only runs of two or more of these go through `_number`: found in C
# (one byte per word, a regex over the bytes), since a page holds few of them (calling
# `spoken.number` on every word took 31 s of the 129 s the gates cost at 1,000 cases).
_NUMERIC = frozenset({*spoken.WORDS, *_JOINERS})
_RUN = re.compile(rb"\x01{2,}")
_MARK = "\x01"


def compact(seen: str) -> str:
    """What a reader still reads as one word or one number in a `visible` form, joined:
    runs of four or more single letters or digits ("n d a y i s e n g a", written
    letter-spaced, dotted or dashed), and numbers in a row, in digits or words, apart or
    with a word like "et" between them ("79 12 34 56", "7912 et 3456", "79 douze 34 56"),
    when they make 8 digits or more (a phone's length). A number word alone stays a word.
    Only the joined places and CONTEXT words around each are returned (the rest of the
    text was matched already); `seen` itself when nothing joins.
    `tests/test_forms_fast.py` holds the word-by-word loop this must equal."""
    text = _SINGLES.sub(lambda m: f" \x01 {_spaced(m)} \x01 ", seen)
    words = text.split()
    numeric = bytes(map(operator.or_, map(str.isdigit, words),
                        map(_NUMERIC.__contains__, words)))
    places = [(m.start(), m.end()) for m in _RUN.finditer(numeric)]
    if _MARK in text:
        places += [(i, i + 1) for i, w in enumerate(words) if w == _MARK]
        places.sort()
    if not places:
        return seen
    out: list[str] = []
    changed: list[int] = []
    inside = False
    pos = 0
    for start, end in (*places, (len(words), len(words))):
        if inside:
            changed.extend(range(len(out), len(out) + start - pos))
        out += words[pos:start]
        if end == start:
            break
        if words[start] == _MARK:
            inside = not inside
        else:
            _numbers(words[start:end], inside, out, changed)
        pos = end
    return _around(out, changed) if changed else seen


def _around(out: list[str], changed: list[int]) -> str:
    """The words of `out` at the indexes `changed` and CONTEXT words on each side, runs
    that meet or overlap made one, padded with spaces."""
    keep: list[tuple[int, int]] = []
    for c in changed:
        lo, hi = max(0, c - CONTEXT), c + CONTEXT + 1
        if keep and lo <= keep[-1][1]:
            keep[-1] = (keep[-1][0], hi)
        else:
            keep.append((lo, hi))
    return " " + " ".join(" ".join(out[lo:hi]) for lo, hi in keep) + " "


def _numbers(words: list[str], inside: bool, out: list[str], changed: list[int]) -> None:
    """`compact` over one run of `_NUMERIC` words: each number, or numbers in a row joined,
    appended to `out`; the index in `out` of each joined one (of every one, `inside` a run
    of single letters) appended to `changed`."""
    i = 0
    while i < len(words):
        first = _number(words, i)
        if first is None:
            if inside:
                changed.append(len(out))
            out.append(words[i])
            i += 1
            continue
        digits, j = [first[0]], first[1]
        while j < len(words):
            k = j + 1 if words[j] in _JOINERS and j + 1 < len(words) else j
            nxt = _number(words, k)
            if nxt is None:
                break
            digits.append(nxt[0])
            j = nxt[1]
        # Joined only into a phone's length (`spoken.MIN_DIGITS`): "12, 34 et 56" stays
        # a list of counts, never the last six digits of a number.
        joined = len(digits) > 1 and len("".join(digits)) >= spoken.MIN_DIGITS
        if joined or inside:
            changed.append(len(out))
        out.extend(["".join(digits)] if joined else [" ".join(words[i:j])])
        i = j


def _strings(text: str, markup: bool) -> str:
    text = _json_unescape(text)
    if markup and "<" in text:
        # One of the three groups holds the value, the others are "": joined in C.
        values = " ".join(map("".join, _ATTR_VALUE.findall(text)))
        text = _TAG.sub(" ", text) + " \n " + values
        if "&" in text:
            text = html.unescape(text)
            text = _ESCAPED_TAG.sub(" ", text) if "<" in text else text
    return text


class Matcher:
    """All patterns found in one pass per text, each starting and ending on a word boundary.

    Short patterns (names, numbers, ids: under PHRASE_WORDS words) go into an Aho-Corasick
    automaton. Phrases (testimony sentences) would make it huge (about 36 bytes per
    character: 20,000 testimonies of 25 sentences, several GB), so each phrase is indexed by
    a hash of its first four words; a text's four-word shingles are looked up in that index
    in one sweep and only candidates are confirmed with a substring test. Phrases longer
    than WINDOW words are matched by their first and by their last WINDOW words: a partial
    quote is still caught by either end.
    """

    def __init__(self) -> None:
        self._auto = ahocorasick.Automaton()
        self._payloads: list[object] = []
        self._short: dict[str, list[int]] = {}         # automaton key -> payload indexes
        self._built = False
        self._phrase_keys: dict[int, list[int]] = {}   # hash of 4 words -> phrase indexes
        self._phrases: list[str] = []                  # " word … word "
        self._phrase_ids: dict[str, int] = {}
        self._phrase_payloads: list[list[int]] = []
        self._phrase_keyset: frozenset[int] | None = None  # `_phrase_keys`', made by `find`

    def add(self, folded: str, payload: object, suffix: bool = False) -> None:
        """Add a pattern already `fold`ed; `suffix` lets it end a longer word (numbers)."""
        words = folded.split()
        if not words:
            return
        idx = len(self._payloads)
        self._payloads.append(payload)
        self._built = False  # built again by the next `find`
        if suffix or len(words) < PHRASE_WORDS:
            # Indexes gathered in lists, put in the automaton once when it is built: some
            # keys recur in thousands of private parts (' photo 0 jpg ' in 15,000 at
            # 20,000 cases) and growing a tuple inside the automaton copied it each time.
            keys = [(folded if suffix else " " + folded) + " "]
            if folded.isdigit() and len(folded) >= NUMBER_DIGITS:
                # Numbers one after another join into one run ("79 12 34 56 / 22 33 44
                # 55" folds to "7912345622334455"): a number may start the run as well
                # as end it (any prefix: country code, trunk 0).
                keys = [" " + folded, folded + " "]
            for key in keys:
                self._short.setdefault(key, []).append(idx)
            return
        windows = [words] if len(words) <= WINDOW else [words[:WINDOW], words[-WINDOW:]]
        for w in windows:
            phrase = " " + " ".join(w) + " "
            pid = self._phrase_ids.get(phrase)
            if pid is None:
                pid = self._phrase_ids[phrase] = len(self._phrases)
                self._phrases.append(phrase)
                self._phrase_payloads.append([])
                self._phrase_keys.setdefault(hash(tuple(w[:PHRASE_WORDS])), []).append(pid)
                self._phrase_keyset = None
            self._phrase_payloads[pid].append(idx)

    def __len__(self) -> int:
        return len(self._payloads)

    def find(self, text: str) -> set[object]:
        """Payloads of every pattern in `text` (a `forms` output, padded with spaces)."""
        if not self._payloads:
            return set()
        if not self._built:
            latin_table()  # made once here, before the gates fork their workers
            for word, idxs in self._short.items():
                self._auto.add_word(word, (*self._auto.get(word, ()), *idxs))
            self._short = {}
            self._auto.make_automaton()
            self._built = True
        hits: set[int] = set()
        if len(self._auto):
            for _end, idxs in self._auto.iter(text):
                hits.update(idxs)
        if self._phrase_keys:
            if self._phrase_keyset is None:
                self._phrase_keyset = frozenset(self._phrase_keys)
            # The text's four-word shingles hashed and met with the index's keys in one
            # sweep in C (a set of every shingle, then filtered, cost 0.1 ms more a page).
            words = text.split()
            shingles = zip(*(words[i:] for i in range(PHRASE_WORDS)), strict=False)
            for key in self._phrase_keyset.intersection(map(hash, shingles)):
                for pid in self._phrase_keys[key]:
                    if self._phrases[pid] in text:
                        hits.update(self._phrase_payloads[pid])
        return {self._payloads[i] for i in hits}


def shared_runs(public: str, texts: Iterable[str], n: int) -> list[str]:
    """Every maximal run of `n` or more consecutive words of `public` (its visible text,
    normalised) that also stand in that order in one of `texts`, in the order they come.
    Linear: the private texts' n-word shingles in a set, one sweep over the public words."""
    grams: set[int] = set()
    for text in texts:
        words = fold(text).split()
        grams.update(hash(tuple(words[i:i + n])) for i in range(len(words) - n + 1))
    words = visible(public).split()
    runs: list[str] = []
    start = end = -1
    for i in range(len(words) - n + 1):
        if hash(tuple(words[i:i + n])) not in grams:
            continue
        if i > end - n + 1 or start < 0:  # not overlapping the current run: a new one
            if start >= 0:
                runs.append(" ".join(words[start:end]))
            start = i
        end = i + n
    if start >= 0:
        runs.append(" ".join(words[start:end]))
    return runs
