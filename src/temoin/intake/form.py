"""The submission template sources fill in, and the parser that prefills a draft from it.

The template is plain text, one labelled field a line, the same in every channel: pasted in
an email, filled in by the submit page's form, or typed by hand. French and English labels
are both understood whatever the page's language.

Exact format (what `fill()` writes and the submit page's `submit.js` writes byte for byte)::

    === Témoignage (modèle Témoin) ===          <- BEGIN marker (EN: "=== Testimony ...")
    <one line of instructions>
    <blank line>
    Date des faits (JJ/MM/AAAA) : <value>        <- one-line fields: "<label> <value>"
    Lieu (…) : <value>
    Ce qui s'est passé :                         <- multi-line fields: label, the value's
    <value lines, or one empty line>                lines (or one empty line), a blank line
    <blank line>
    Victimes (…) :
    <value lines, or one empty line>
    <blank line>
    … (Auteurs présumés, Témoins: multi-line; Contact sûr: one line)
    Consentement à la publication (…) :
    [x] aucune publication                       <- one box a line, "[x]" for the choice
    [ ] statistiques seulement
    [ ] publication anonymisée
    [ ] publication avec les noms
    === Fin ===                                  <- END marker (EN: "=== End ===")

Lines end with "\\n"; the text is UTF-8. When the source attaches a file on the submit page,
the plaintext that gets encrypted is a MIME message instead (RFC 2045/2046/2231; its own
lines end with CRLF)::

    MIME-Version: 1.0
    Content-Type: multipart/mixed; boundary="temoin-<32 hex>"

    --temoin-<32 hex>
    Content-Type: text/plain; charset=utf-8
    Content-Transfer-Encoding: base64
    Content-Disposition: inline

    <the filled template, base64, 76-column lines>
    --temoin-<32 hex>
    Content-Type: <the file's type if a plain type/subtype token, else application/octet-stream>
    Content-Transfer-Encoding: base64
    Content-Disposition: attachment; filename="<name>"   (printable ASCII without " or \\)
                     or: attachment; filename*=utf-8''<percent-encoded UTF-8 name>

    <the file, base64, 76-column lines>
    --temoin-<32 hex>--

so intake reads it with `email.message_from_bytes(plaintext, policy=email.policy.default)`
(plaintext starting with "MIME-Version:" or "Content-Type:") and runs `parse()` on the
text/plain part. Filenames are the source's own and untrusted: intake sanitises them.

`parse()` is for prefill only. It returns exactly the keys of `PREFILL_KEYS`, typed and
bounded, never front matter: an editor verifies every value, and the raw text always goes to
the confidential part. It never raises, whatever the text.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

LANGS = ("fr", "en")
PREFILL_KEYS = ("date", "place", "admin1", "acts", "consent")
MAX_INPUT_CHARS = 1_000_000  # parse this much at most: a prefill never needs more
MAX_PLACE_CHARS = 200


@dataclass(frozen=True)
class Field:
    """One field of the template: its key, its label per language, one line or several."""

    key: str
    fr: str
    en: str
    multiline: bool = False

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.fr


FIELDS: tuple[Field, ...] = (
    Field("date", "Date des faits (JJ/MM/AAAA) :", "Date of the events (DD/MM/YYYY):"),
    Field("place", "Lieu (province, commune, colline ou quartier) :",
          "Place (province, commune, hill or neighbourhood):"),
    Field("what", "Ce qui s'est passé :", "What happened:", multiline=True),
    Field("victims", "Victimes (combien, âge, sexe ; des noms seulement si c'est sûr) :",
          "Victims (how many, age, sex; names only if it is safe):", multiline=True),
    Field("perpetrators", "Auteurs présumés (service, unité, uniforme, véhicule) :",
          "Alleged perpetrators (service, unit, uniform, vehicle):", multiline=True),
    Field("witnesses", "Témoins (combien ; comment les joindre sans danger) :",
          "Witnesses (how many; how to reach them safely):", multiline=True),
    Field("contact", "Contact sûr pour vous répondre (facultatif) :",
          "Safe contact to reply to you (optional):"),
)
CONSENT_LABEL = {"fr": "Consentement à la publication (un x dans une seule case) :",
                 "en": "Consent to publication (an x in one box only):"}
CONSENT_OPTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "fr": (("none", "aucune publication"), ("aggregate_only", "statistiques seulement"),
           ("anonymised", "publication anonymisée"), ("named", "publication avec les noms")),
    "en": (("none", "no publication"), ("aggregate_only", "statistics only"),
           ("anonymised", "anonymised publication"), ("named", "publication with names")),
}
BEGIN = {"fr": "=== Témoignage (modèle Témoin) ===", "en": "=== Testimony (Témoin template) ==="}
END = {"fr": "=== Fin ===", "en": "=== End ==="}
INTRO = {
    "fr": "Écrivez ce que vous savez, laissez vide le reste. Ne mettez aucun nom que vous ne "
          "voulez pas voir connu.",
    "en": "Write what you know and leave the rest empty. Put no name you do not want known.",
}

# Keywords that suggest a type of act (codes of vocab "acts"), matched on folded text
# (lower case, accents removed). Conservative on purpose: an editor confirms every one.
ACT_PATTERNS: dict[str, tuple[str, ...]] = {
    "arbitrary_arrest": (r"arret(?:e|ee|es|ees|er|ent|erent)", r"arrestations?", r"interpell\w*",
                         r"arrest(?:s|ed|ing)?", r"apprehended"),
    "torture": (r"tortur\w*",),
    "enforced_disappearance": (r"disparu(?:e|es|s)?", r"disparition(?:s)?",
                               r"disappear(?:ed|ance|ances)?"),
    "killing": (r"tue(?:e|es|s)?", r"assassin\w*", r"abattu(?:e|es|s)?", r"killed",
                r"killing(?:s)?", r"murder(?:ed|s)?", r"shot dead"),
    "rape": (r"viol(?:s|e|ee|es|ees|er|erent)?", r"rape(?:d|s)?", r"raping"),
    "abduction": (r"enlev(?:e|ee|es|ees|ement|ements)", r"kidnapp?(?:ed|ing|ings)?",
                  r"abduct(?:ed|ion|ions)?", r"rapt"),
}
_ACT_RE = {code: re.compile(r"\b(?:" + "|".join(pats) + r")\b")
           for code, pats in ACT_PATTERNS.items()}
# A negation within a few words before the keyword ("n'a pas été torturé", "was not
# arrested") drops that match: a missed act is cheaper than a false one for a prefill.
_NEGATION = re.compile(r"\b(?:pas|jamais|ni|not|never|no)\b(?:\W+\w+){0,2}\W*$")

_CONSENT_RE: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("anonymised", re.compile(r"\banonym\w*|\bsans (?:les |aucun )?noms?\b|\bpas de noms?\b"
                              r"|\bwithout names?\b|\bno names?\b")),
    ("named", re.compile(r"\bnoms?\b|\bnommee?s?\b|\bnamed?\b|\bnames\b")),
    ("aggregate_only", re.compile(r"\bstatisti\w*|\baggregate\w*|\bchiffres?\b|\bstats?\b")),
    ("none", re.compile(r"\baucune?\b|\bnone\b|\bnon\b|\bno\b|\bne pas publier\b"
                        r"|\bdo not publish\b|\bdon t publish\b|\bnothing\b|\brefus\w*")),
)

_MONTHS = {
    "janvier": 1, "janv": 1, "jan": 1, "january": 1, "fevrier": 2, "fevr": 2, "fev": 2,
    "feb": 2, "february": 2, "mars": 3, "march": 3, "mar": 3, "avril": 4, "avr": 4,
    "april": 4, "apr": 4, "mai": 5, "may": 5, "juin": 6, "june": 6, "jun": 6, "juillet": 7,
    "juil": 7, "july": 7, "jul": 7, "aout": 8, "august": 8, "aug": 8, "septembre": 9,
    "sept": 9, "sep": 9, "september": 9, "octobre": 10, "oct": 10, "october": 10,
    "novembre": 11, "nov": 11, "november": 11, "decembre": 12, "dec": 12, "december": 12,
}
_MONTH_ALT = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_ISO = re.compile(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b")
_DATE_NUM = re.compile(r"\b(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})\b")
_DATE_DMY = re.compile(rf"\b(\d{{1,2}})(?:er|st|nd|rd|th)?\.? ({_MONTH_ALT})\.? (\d{{4}})\b")
_DATE_MDY = re.compile(rf"\b({_MONTH_ALT})\.? (\d{{1,2}})(?:st|nd|rd|th)?,? (\d{{4}})\b")

# Characters that must never survive into a prefilled value: controls, bidi overrides.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069"
                     "\ufeff\ufff9-\ufffb]")
_QUOTE = re.compile(r"^(?:\s*>)+")
_LABEL = re.compile(r"^\s*(?:[-*\u2022\u00b7]\s*|\d{1,2}[.)]\s*)?"
                    r"(?P<label>[^\W\d_][\w'\u2019 -]{0,60}?)(?:\s*\([^()\n]{0,160}\))?(?:\s*\?)?"
                    r"\s*[:\uff1a]"
                    r"(?P<value>.*)$")
_BOX = re.compile(r"^\s*(?:[-*]\s*)?\[ *(?P<mark>[^\]\s]?) *\](?P<text>.*)$")

# Label spellings (folded); a label line matches when it equals one or starts with one
# followed by a space. Both languages, plus common variants sources write by hand.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "date": ("date", "quand", "when"),
    "place": ("lieu", "lieux", "place", "location", "where", "endroit"),
    "what": ("ce qui s est passe", "que s est il passe", "qu est ce qui s est passe",
             "what happened", "faits", "les faits", "description", "recit", "events"),
    "victims": ("victime", "victimes", "victim", "victims"),
    "perpetrators": ("auteurs presumes", "auteur presume", "auteurs", "auteur",
                     "alleged perpetrators", "alleged perpetrator", "perpetrators",
                     "perpetrator"),
    "witnesses": ("temoins", "temoin", "witnesses", "witness"),
    "contact": ("contact sur", "contact", "safe contact"),
    "consent": ("consentement", "consent"),
}
_LABEL_KEYS = {syn: key for key, syns in _SYNONYMS.items() for syn in syns}


def text(lang: str = "fr") -> str:
    """The blank template in `lang` ('fr' or 'en'), ready to paste into an email."""
    return fill(lang, {})


def fill(lang: str, values: dict[str, str]) -> str:
    """The template in `lang` filled with `values` ({field key: text, 'consent': code}).

    This is the reference for what the submit page's form encrypts: `submit.js` builds the
    same text from the same labels (the page carries them), and a browser test compares.
    """
    lang = lang if lang in LANGS else "fr"
    lines = [BEGIN[lang], INTRO[lang], ""]
    for f in FIELDS:
        value = _normalise_newlines(str(values.get(f.key) or "")).strip()
        if f.multiline:
            lines.append(f.label(lang))
            lines.extend(value.split("\n") if value else [""])
            lines.append("")  # a blank line before the next label, for the eye
        else:
            lines.append(f"{f.label(lang)} {' '.join(value.split())}".rstrip())
    lines.append(CONSENT_LABEL[lang])
    chosen = values.get("consent")
    for code, option in CONSENT_OPTIONS[lang]:
        lines.append(f"[{'x' if code == chosen else ' '}] {option}")
    lines.append(END[lang])
    return "\n".join(lines) + "\n"


def empty() -> dict[str, Any]:
    """A prefill with nothing found."""
    return {"date": None, "place": None, "admin1": None, "acts": [], "consent": None}


def parse(text: str, country: str | None = None) -> dict[str, Any]:
    """Prefill values found in a filled-in template: exactly the keys of PREFILL_KEYS.

    `date` (datetime.date or None), `place` (one line as written, or None), `admin1` (the
    gazetteer code of the one division of `country` the place names, or None), `acts` (sorted
    act type codes suggested by keywords), `consent` (none|aggregate_only|anonymised|named
    or None). Text without the template (no BEGIN marker and fewer than three labelled
    fields) yields empties. Never raises: any failure yields empties.
    """
    try:
        return _parse(text, country)
    except Exception:  # noqa: BLE001 - a prefill must never stop an ingest
        return empty()


def _parse(text: object, country: str | None) -> dict[str, Any]:
    out = empty()
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "replace")
    if not isinstance(text, str):
        return out
    fields, marked = _fields(text[:MAX_INPUT_CHARS])
    if not marked and len(fields) < 3:
        return out  # no template there: never guess from free prose
    # One-line fields keep their first non-empty line only: whatever follows is not theirs.
    out["date"] = _date(_first_line(fields.get("date", "")))
    place = " ".join(_first_line(fields.get("place", "")).split())
    place = place[:MAX_PLACE_CHARS].strip(" .,;-")
    out["place"] = place or None
    if place and country:
        out["admin1"] = _admin1(country, place, out["date"])
    out["acts"] = _acts(fields.get("what", "") + "\n" + fields.get("victims", ""))
    out["consent"] = _consent(fields.get("consent", ""))
    return out


def _first_line(s: str) -> str:
    return next((line for line in s.split("\n") if line.strip()), "")


def _normalise_newlines(s: str) -> str:
    return s.replace("\r\n", "\n").replace("\r", "\n")


def _fold(s: str) -> str:
    """Lower case, accents and punctuation removed, spaces collapsed: for matching only."""
    norm = unicodedata.normalize("NFKD", s.replace("\u2019", "'"))
    bare = "".join(c if c.isalnum() else " " for c in norm if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def _fields(raw: str) -> tuple[dict[str, str], bool]:
    """{field key: value text} of every labelled field, and whether a BEGIN marker was seen.

    A field's value is the rest of its label line plus the following lines, up to the next
    label, marker or the end. The first occurrence of a field wins (a later "Date:" in the
    narrative does not overwrite it). Quoted-reply markers ("> ") are ignored.
    """
    s = _UNSAFE.sub("", _normalise_newlines(raw).replace("\t", " "))
    # NBSP, narrow NBSP (French "Date :") and the like become one space; runs collapse, so
    # no pattern below ever scans a long run of blanks more than once.
    s = re.sub(r"[^\S\n]+", " ", s)
    begins = {_fold(m) for m in BEGIN.values()}
    marked = False
    fields: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in s.split("\n"):
        line = _QUOTE.sub("", line)
        if _is_marker(line):
            marked = marked or _fold(line) in begins
            current = None
            continue
        key, value = _label(line)
        if key is not None:
            if key in fields:  # a repeated label is text of the current field: first wins
                if current is not None:
                    current.append(line)
                continue
            current = fields[key] = [value]
        elif current is not None:
            current.append(line)
    return {k: "\n".join(v).strip() for k, v in fields.items()}, marked


def _is_marker(line: str) -> bool:
    # Plain string tests, not a regex: a megabyte of "=" must not cost quadratic time.
    bare = line.strip()
    return len(bare) >= 6 and bare.startswith("===") and bare.endswith("===")


def _label(line: str) -> tuple[str | None, str]:
    m = _LABEL.match(line)
    if not m:
        return None, ""
    label = _fold(m.group("label"))
    for syn, key in _LABEL_KEYS.items():
        if label == syn or label.startswith(syn + " "):
            return key, m.group("value").strip()
    return None, ""


def _date(value: str) -> dt.date | None:
    """The first full date in the field: ISO, day/month/year, or written with a month name."""
    folded = " ".join(_fold_keep(value).split())
    found: list[tuple[int, dt.date | None]] = []
    for m in _DATE_ISO.finditer(folded):
        found.append((m.start(), _mkdate(m.group(1), m.group(2), m.group(3))))
    for m in _DATE_NUM.finditer(folded):
        a, b = int(m.group(1)), int(m.group(2))
        # Day first (the template asks for it, and so do FR and most EN writers outside the
        # US); month first only when the day-first reading is impossible (10/31/2025).
        day, month = (b, a) if b > 12 >= a else (a, b)
        found.append((m.start(), _mkdate(m.group(3), month, day)))
    for m in _DATE_DMY.finditer(folded):
        found.append((m.start(), _mkdate(m.group(3), _MONTHS[m.group(2)], m.group(1))))
    for m in _DATE_MDY.finditer(folded):
        found.append((m.start(), _mkdate(m.group(3), _MONTHS[m.group(1)], m.group(2))))
    for _, when in sorted(found, key=lambda t: t[0]):
        if when is not None:
            return when
    return None


def _fold_keep(s: str) -> str:
    """Like _fold but keeps the separators a date needs ('-', '/', '.', ',')."""
    norm = unicodedata.normalize("NFKD", s)
    bare = "".join(c if (c.isalnum() or c in "-/.,") else " " for c in norm
                   if not unicodedata.combining(c))
    return bare.casefold()


def _mkdate(year: object, month: object, day: object) -> dt.date | None:
    try:
        d = dt.date(int(str(year)), int(str(month)), int(str(day)))
    except (ValueError, OverflowError):
        return None
    # A testimony is about the past; a date in the future or before 1900 is a typo.
    if d.year < 1900 or d > dt.date.today():
        return None
    return d


def _acts(value: str) -> list[str]:
    folded = _fold(value)
    found = set()
    for code, rx in _ACT_RE.items():
        for m in rx.finditer(folded):
            if not _NEGATION.search(folded[max(0, m.start() - 40):m.start()]):
                found.add(code)
                break
    return sorted(found)


def _consent(value: str) -> str | None:
    """The one publication choice made: a ticked box, or else the words after the label."""
    boxes = [(b.group("mark"), b.group("text")) for b in map(_BOX.match, value.split("\n")) if b]
    ticked = [t for mark, t in boxes if mark]
    if ticked:
        chosen = {_consent_of(t) for t in ticked}
    else:
        rest = "\n".join(line for line in value.split("\n") if not _BOX.match(line))
        chosen = {_consent_of(rest)} if rest.strip() else set()
    chosen.discard(None)
    return chosen.pop() if len(chosen) == 1 else None


def _consent_of(phrase: str) -> str | None:
    """The category one phrase names, or None when it names none or several."""
    folded = _fold(phrase)
    hits = set()
    for code, rx in _CONSENT_RE:
        if rx.search(folded):
            hits.add(code)
            folded = rx.sub(" ", folded)  # "sans noms" is anonymised, not also "named"
    return hits.pop() if len(hits) == 1 else None


def _admin1(country: str, place: str, on: dt.date | None) -> str | None:
    """Gazetteer code of the one first-level division `place` names, else None."""
    from temoin.cases import vocab  # late: the template works without the gazetteer data

    found = vocab.find_place(country, place, on=on)
    return found.code if found is not None else None
