"""Canaries: the private strings that must never ship.

They are found by `gates.matching`, after the same normalisation as the text they are
looked for in.

Which values of a private part become canaries (`canaries_from_private`), by the key
holding them (or a parent key):

* identity (name, alias, phone, email, contact, filename, passport, …): the whole value and
  its parts split on newlines, ``;``, ``,`` and `` / ``, each from 3 characters;
* whole values (exact places: place, location, address, colline, street, gps, …; and the
  subject): the whole value, per line, when it has at least two words and 8 characters.
  "colline Mubone" counts; a bare "Gitega" or "Témoignage" would stop every build whose
  public pages name the province or the word; a coordinate number counts from 5 digits;
  each number of 3 decimals or more alone (decimal point or comma), and the value with its
  digit groups joined ("-3.4264, 29.9308" written "-3.4264 29.9308");
* every other string (raw testimony, notes, verification log, template answers): split
  into sentences and lines; fragments under 4 words or 20 characters are ignored, because
  short ones ("Le 3 octobre 2025.", "Ils l'ont frappé.") are not identifying and appear in
  public narratives as they are; a fragment over 12 words is matched by its first and by
  its last 12 words (a partial quote is still caught by either end);
* in every string, wherever it sits: e-mail addresses, and phone-like numbers of 8 or
  more digits that are not dates, also by their last 8 digits (found with or without a
  country code);
* skipped: machine values (dates, times, hashes, sizes, counts, kinds, types, codes,
  reliability, fingerprints, channels, public place levels admin1/admin2/country,
  vocabulary codes like `arbitrary_arrest`), booleans and numbers outside identity
  fields, and any fragment that is a line of the public submission template (a testimony
  written in the template repeats its labels, which the submit page publishes).
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from temoin.gates import lexicon
from temoin.gates.fold import fold

IDENTITY = ("name", "alias", "nickname", "surname", "phone", "tel", "mobile", "whatsapp",
            "signal", "telegram", "email", "mail", "contact", "filename", "attachment",
            "passport", "id_number", "national_id", "handle", "username", "account", "plate",
            "sender", "reply_to")
WHOLE = ("place", "location", "address", "adresse", "colline", "hill", "quartier",
         "neighbourhood", "neighborhood", "street", "avenue", "village", "gps",
         "coordinates", "latitude", "longitude", "lat", "lon", "where", "lieu", "subject")
# Never canaries: hashes, dates, codes, and the editors' key fingerprints (`editor`,
# `signer`…), which are public in keys/ and the trust root, and whose digit runs could
# otherwise match a phone form in the public review fields.
SKIP = ("sha256", "sha1", "md5", "hash", "digest", "received", "date", "time", "size",
        "bytes", "count", "channel", "reliability", "credibility", "media_type", "mime",
        "type", "kind", "status", "level", "lang", "language", "encoding", "charset",
        "fingerprint", "fpr", "signer", "editor", "version", "precision", "sex", "gender", "age",
        "age_group", "consent", "id", "key", "keyid", "admiralty", "admin1", "admin2",
        "admin3", "country", "province", "acts", "act", "tags", "code", "codes", "valid")
SKIP_SUFFIX = ("_at", "_date", "_time", "_sha256", "_hash", "_type", "_kind", "_fpr", "_by",
               "_count", "_size", "_id", "_code", "_codes", "_level")

_DATEISH = re.compile(r"\d{4}-\d{2}(-\d{2})?([T ][\d:.]+)?(Z|[+-]\d{2}:?\d{2})?")
_SENTENCE = re.compile(r"(?<=[.!?…])\s+|[\r\n]+|;")
_CODE = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)+")
# Bounded (RFC 5321: a local part of 64 characters, labels of 63): unbounded, a hostile
# testimony of one long word made each search quadratic (20 KB: 9 s; 1 MB: hours), and the
# build extracts the canaries of every private part, an anonymous draft's too.
_EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
_PHONE = re.compile(r"\+?\(?\d[\d \u00a0().-]{6,}\d")
_PARTS = re.compile(r"[\r\n;,]+|\s/\s")
_DIGIT_SPACE = re.compile(r"(?<=\d) (?=\d)")
_DECIMAL = re.compile(r"(?<![\d.,])\d{1,3}[.,]\d{3,}(?![\d])")  # 3.4264, 29,9308
MIN_NAME = 3      # names and contacts
MIN_WHOLE = 8     # exact places, subject: and at least two words
MIN_TEXT = 20     # free-text fragments: and at least four words
MIN_WORDS = 4
# -- choosing canaries ----------------------------------------------------------------------

def _words(key: str) -> str:
    return key.lower().replace("-", "_")


def _is_skip(leaf: str) -> bool:
    return leaf in SKIP or leaf.endswith(SKIP_SUFFIX) or leaf.startswith(("date", "time"))


@lru_cache(maxsize=8192)  # the same few keys recur in every private part
def _has(key: str, terms: tuple[str, ...]) -> bool:
    """Whether a key names one of `terms`, word by word (`full_name`, `contacts`, `username`),
    never by accident inside another word ("template" is not "plate")."""
    words = key.split("_")
    for w in (key, *words):
        for t in terms:
            if w in (t, t + "s", t + "es") or (t == "name" and w.endswith(("name", "names"))):
                return True
    return "_".join(words) in terms


def _class(path: list[str]) -> str:
    """'identity', 'whole', 'text' or 'skip' for a value at `path` (keys, list indexes)."""
    keys = [_words(p) for p in path if not p.isdigit()]
    leaf = keys[-1] if keys else ""
    if "public_summary" in keys:  # an editor's text written to be published (interventions)
        return "skip"
    if leaf and not _has(leaf, IDENTITY) and _is_skip(leaf):
        return "skip"
    if any(_has(k, IDENTITY) for k in keys):
        return "identity"
    if any(_has(k, WHOLE) for k in keys):
        return "whole"
    return "text"


def _walk(value: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, [*path, str(k)])
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _walk(v, [*path, str(i)])
    else:
        yield path, value


def _looks_like_date(digits: str) -> bool:
    """8 digits that read as YYYYMMDD or DDMMYYYY (or 6 as DDMMYY): a date, not a phone."""
    if len(digits) == 8:
        y1, m1, d1 = int(digits[:4]), int(digits[4:6]), int(digits[6:])
        d2, m2, y2 = int(digits[:2]), int(digits[2:4]), int(digits[4:])
        return (1900 <= y1 <= 2099 and 1 <= m1 <= 12 and 1 <= d1 <= 31) or \
            (1900 <= y2 <= 2099 and 1 <= m2 <= 12 and 1 <= d2 <= 31)
    return False


def _phone_forms(digits: str, international: bool, windows: bool
                 ) -> Iterator[tuple[str, bool]]:
    """A phone number's digits whole, and the forms any other writing of it ends with: its
    national significant number (`phonenumbers` splits an international number into country
    code and national number; a national one loses its trunk 0), and its last 8 digits;
    and with `windows` (a number under an identity key: "phone", "contact"…) every run of 6
    or 7 of its national digits as a number alone. Not in free text, where a long number
    is as often an amount ("1 500 000 000 FBu" would forbid "500 000")."""
    yield digits, False
    national = digits.lstrip("0") if not international else ""
    if international:
        import phonenumbers

        with contextlib.suppress(phonenumbers.NumberParseException):
            num = phonenumbers.parse("+" + digits.removeprefix("00"), None)
            national = phonenumbers.national_significant_number(num)
    for tail in {national, digits[-8:]}:
        if len(tail) >= 7 and tail != digits:
            yield tail, True
    if len(digits) >= 8:
        yield digits[-8:], True
    if windows and len(digits) >= 8:
        # Its middle digits alone, from 6 (the last 6 of a private number identify its
        # holder; "12 34 56" of "+257 79 12 34 56"), as a whole number of their own.
        core = national if len(national) >= 8 else digits[-8:]
        for width in (6, 7):
            for start in range(len(core) - width + 1):
                yield core[start:start + width], False


def _contacts(raw: str, identity: bool = False) -> Iterator[tuple[str, bool]]:
    """E-mail addresses (and their local parts) and phone-like numbers anywhere in a value."""
    for m in _EMAIL.finditer(raw):
        yield fold(m[0]), False
        # Its local part without the numbers people add to a name ("kango.1", "jean.2"):
        # "kango 1" matched a named victim "Public-Kango" followed by a count of 1 on a
        # case page (5,000 generated cases); the name part alone is judged as any name.
        local = " ".join(w for w in fold(m[0].rsplit("@", 1)[0]).split() if not w.isdigit())
        if len(local) >= lexicon.MIN_PART and (" " in local or lexicon.distinctive(local)):
            yield local, False
    for m in _PHONE.finditer(raw):
        digits = re.sub(r"\D", "", m[0])
        if len(digits) >= 8 and not _looks_like_date(digits) and len(digits) <= 15:
            yield from _phone_forms(digits, m[0].lstrip("(").startswith(("+", "00")),
                                    identity)


@lru_cache(maxsize=1)
def _boilerplate() -> str:
    """The public submission template (FR and EN), folded: its lines are not private."""
    try:
        from temoin.intake import form as template
    except ImportError:  # pragma: no cover - the template module ships with the package
        return " "
    lines = [fold(line) for lang in template.LANGS
             for line in re.split(r"[\r\n;]+", template.text(lang))]
    return " " + " | ".join(x for x in lines if x) + " "


UNUSABLE = ("", False)  # a value that cannot serve as a canary (see `private_values`)
# Words that say which level a part of an address is: parts under the first group are finer
# than any public precision (a hill, a quarter, a street), under the second they are public.
_FINE = ("colline", "sous colline", "quartier", "zone", "avenue", "av", "rue", "cellule",
         "village", "lieu dit", "hameau", "bloc", "street", "road", "hill", "quarter",
         "neighbourhood", "neighborhood", "block", "house", "maison", "parcelle", "plot")
_COARSE = ("commune", "province", "region", "departement", "department", "arrondissement",
           "district", "pays", "country", "ville", "city")
_LEVEL = re.compile(rf"^(?:(?:({'|'.join(_FINE)})|({'|'.join(_COARSE)}))\b\s*(?:de |d |of )?)?")
_FILE_KEYS = ("evidence", "attachment", "attachments", "filename", "file", "files", "media",
              "safe_name")
_NAME_KEYS = ("name", "alias", "nickname", "surname", "sender", "reply_to", "handle",
              "username")


def _name_forms(folded: str) -> Iterator[str]:
    """A name in every order (up to 4 parts; a longer one also reversed) and each of its
    distinctive parts alone (`lexicon.distinctive`)."""
    words = folded.split()
    yield folded
    if 2 <= len(words) <= 4:
        for order in itertools.permutations(words):
            yield " ".join(order)
    elif len(words) > 4:
        yield " ".join(reversed(words))
    if len(words) > 1:
        yield from (w for w in words if lexicon.distinctive(w))


def is_name_field(field: str) -> bool:
    """Whether a dotted private field (`victims.0.name`) holds a person's name."""
    return any(_has(_words(k), _NAME_KEYS) for k in field.split(".") if not k.isdigit())


def beside(value: str, form: str) -> Iterator[str]:
    """The other writings of the name `value` (folded, up to 4 words) that hold its part
    `form`: each sub-name of two parts or more, in the order given (`_name_forms` gives
    every order of the whole), and an initial beside it ("j ntakirutimana"). A signed
    dismissal lets `form` alone stand in its case's own text (`guard.contexts`); these
    still block there."""
    words = value.split()
    if form not in words or not 2 <= len(words) <= 4:
        return
    for k in range(2, len(words)):
        for idx in itertools.combinations(range(len(words)), k):
            sub = [words[i] for i in idx]
            if form in sub:
                yield " ".join(sub)
    for w in words:
        if w != form and w[:1].isalpha():
            yield f"{w[0]} {form}"
            yield f"{form} {w[0]}"


def _usable(folded: str) -> bool:
    """Whether a whole value can be a canary: not public vocabulary, and when it is one
    word of letters, not a common word or given name."""
    if lexicon.is_public(folded):
        return False
    return " " in folded or not folded.isalpha() or folded not in lexicon.common_words()


def _file_forms(raw: str) -> Iterator[tuple[str, bool]]:
    """An attachment's name, whole and by its stem's distinctive words, only when its stem
    has one ("Ndayisenga.jpg"): "Gitega.pdf", "CON", "NUL.txt", "IMG_2025.jpg" identify no
    one and would match public text."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    stem = fold(name.rsplit(".", 1)[0] if "." in name.strip(".") else name)
    own = [w for w in stem.split() if lexicon.distinctive(w)]
    if not own:
        yield UNUSABLE
        return
    yield fold(name), False
    yield from ((f, False) for f in _name_forms(stem))


_COORD = re.compile(r"(?<![\d.,])([-+\u2212]?)(\d{1,3})[.,](\d{3,})(?![\d])")


def _rounded_pair(line: str) -> Iterator[str]:
    """A private coordinate pair (latitude, longitude: the only two decimal numbers of a
    line) as public text may round it: to 3, 4 and 5 decimals (rounded or cut), the two
    numbers apart or joined, and in degrees, minutes and seconds ("3°25'35\"S
    29°55'51\"E", with or without the hemisphere). One rounded number alone is no canary:
    "3.426" folds to "3426", a figure any page may hold."""
    found = _COORD.findall(line)
    if len(found) != 2:
        return
    values = [float(f"{whole}.{frac}") * (-1 if sign in ("-", "\u2212") else 1)
              for sign, whole, frac in found]
    if not (abs(values[0]) <= 90 and abs(values[1]) <= 180):
        return
    for k in range(3, 6):
        cut = [f"{int(abs(v) * 10 ** k) / 10 ** k:.{k}f}" for v in values]
        for a, b in {(f"{abs(values[0]):.{k}f}", f"{abs(values[1]):.{k}f}"), tuple(cut)}:
            yield fold(f"{a}, {b}")
            yield fold(f"{a} {b}")
    dms = []
    for v, hemi in zip(values, ("ns", "ew"), strict=True):
        secs = round(abs(v) * 3600)
        dms.append((f"{secs // 3600} {secs % 3600 // 60} {secs % 60}",
                    hemi[1] if v < 0 else hemi[0]))
    (lat, ns), (lon, ew) = dms
    yield f"{lat} {lon}"
    yield f"{lat} {ns} {lon} {ew}"
    if ew == "w":
        yield f"{lat} {ns} {lon} o"  # ouest


def _place_forms(raw: str, parts: bool) -> Iterator[tuple[str, bool]]:
    """An exact place per line, whole (two words and 8 characters, or a number of 5 digits),
    and with `parts` (an address, not a subject line) the distinctive words of each part
    finer than any public precision: every comma-separated part but those named as a
    commune, province, region… ("colline Mubone, commune Giheta": Mubone). Words of the
    gazetteer are public (`lexicon`); so are the case's own public place names
    (`without_public_places`)."""
    for line in re.split(r"[\r\n]+", raw):
        p = fold(line)
        if (len(p) >= MIN_WHOLE and " " in p) or (p.isdigit() and len(p) >= 5):
            yield (p, False) if _usable(p) else UNUSABLE
        # Coordinates: each number with 3 decimals or more alone (a decimal comma or point),
        # and the value with its digit groups joined ("-3.4264, 29.9308" is also written
        # "-3.4264 29.9308", "lat -3.4264 lon 29.9308", "-3,4264 ; 29,9308").
        joined = _DIGIT_SPACE.sub("", p)
        if joined != p and len(joined) >= MIN_WHOLE:
            yield joined, False
        for number in _DECIMAL.findall(line):  # with a decimal point or a decimal comma
            yield from ((fold(number.replace(",", ".").replace(".", mark)), False)
                        for mark in ".,")
        yield from ((f, False) for f in _rounded_pair(line))
        for part in re.split(r"[,;/()]+", line) if parts else ():
            folded = fold(part)
            m = _LEVEL.match(folded)
            if m is not None and not m[2]:
                yield from ((w, False) for w in folded[m.end():].split()
                            if lexicon.distinctive(w))


def values_of(kind: str, raw: str, keys: Iterable[str] = ()) -> Iterator[tuple[str, bool]]:
    """(folded pattern, may end a longer word) pairs for one private value held under
    `keys` (the dotted path's keys); `UNUSABLE` when a value cannot serve as a canary."""
    keys = list(keys)
    yield from _contacts(raw, kind == "identity")
    if kind == "identity":
        if any(_has(k, _FILE_KEYS) for k in keys):
            yield from _file_forms(raw)
            return
        names = any(_has(k, _NAME_KEYS) for k in keys)
        whole = fold(raw)
        if whole and not _usable(whole) and not _EMAIL.search(raw):
            yield UNUSABLE
        for part in {raw, *_PARTS.split(raw)}:
            p = fold(part)
            if len(p) < MIN_NAME or not _usable(p):
                continue
            if p.isdigit() and len(p) >= 8:
                yield p, False
                yield p[-8:], True
            elif names:
                yield from ((f, False) for f in _name_forms(p))
            else:
                yield p, False
    elif kind == "whole":
        yield from _place_forms(raw, parts="subject" not in keys)
    else:
        for frag in _SENTENCE.split(raw):
            p = fold(frag)
            if len(p) >= MIN_TEXT and p.count(" ") + 1 >= MIN_WORDS:
                yield p, False


def private_values(private: dict[str, Any]) -> Iterator[tuple[str, str, bool]]:
    """(dotted field, folded pattern, suffix-ok) for every canary-worthy value; an empty
    pattern records a value that is public vocabulary or too common a word to serve ("not
    usable as a canary": reported, never matched)."""
    boiler = _boilerplate()
    for path, value in _walk(private, []):
        kind = _class(path)
        if kind == "skip" or value is None or isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            digits = re.sub(r"\D", "", repr(value))
            if not (kind == "identity" or (kind == "whole" and len(digits) >= 5)):
                continue
            value = repr(value)
        text = str(value).strip()
        if not text or (kind != "identity" and (_DATEISH.fullmatch(text)
                                                 or _CODE.fullmatch(text))):
            continue
        seen: set[str] = set()
        keys = [_words(p) for p in path if not p.isdigit()]
        for folded, suffix in values_of(kind, text, keys):
            if folded in seen or (folded and f" {folded} " in boiler):
                continue
            seen.add(folded)
            yield ".".join(path), folded, suffix


def private_texts(private: dict[str, Any]) -> list[str]:
    """The free text of a private part (testimony, notes, logs: what is neither an identity
    nor a place nor a machine value)."""
    return [str(v) for path, v in _walk(private or {}, [])
            if isinstance(v, str) and _class(path) == "text"]
