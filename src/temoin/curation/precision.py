"""Precision in public text (issue 15, item 6): no place finer than `location_precision`, no
exact age, in any public text of a case (title, summary, narrative, tags, institutions,
published names, the commune as written, media captions, intervention summaries as signed;
`public_texts`) — unless an editor marks one text public by a signed decision. Withdrawal
reasons (the errata) are held to the same rules (`reason_findings`).

- **Places.** The gazetteer's second level (communes, departments) and Cameroon's communes
  (its third level) are refused when the allowed precision is `admin1` (always so for
  children and survivors of sexual violence), first-level names too when it is `country`;
  at `admin2` Cameroon's communes are allowed like Burundi's; a second-level name that is also a
  first-level one (Gitega, Ngozi…) is a province name and stays allowed. A name counts in
  any case when no word of it is a common word ("giheta"), else when it starts with a
  capital letter ("Noun" the department, not "a noun"); look-alike letters of other
  scripts count as the letters they imitate ("G\u0456heta"). Coordinates (a pair of
  decimal numbers, a labelled one, degrees and minutes) are finer than any division. With
  the private part (`case publish`, and the build through the canaries it decrypts anyway),
  each part of the private exact places (`exact_places`, `victims[].address`,
  `sources[].address`, the form's `template.place`) that is not a division at the allowed
  precision or coarser is refused too: "colline Fictive" refuses "Fictive".
- **Ages.** A number set off by commas after a person ("a boy, 14, was", "deux garçons, 14
  et 15,"); a number in digits or words (French, English) followed by "ans" ("1 an"), "year(s) old",
  "-year-old", "yo"/"y.o."; "âgé(e) de N"; "aged N"; "age N". Not a duration of a sentence
  ("deux ans de prison"), not days or people ("il y a 14 jours", "14 personnes").
  "il y a quatorze ans" is refused like any "N ans": an editor who means a date dismisses it.
- **Dismissals.** Decision kind `precision-dismissal`, payload `{"text": the exact text
  accepted}`, stored as `review/precision-dismissal--<sha256(text)[:16]>.json`, signed by a
  current editor, naming the case's content hash when signed; it holds for later content too
  (it accepts one text, wherever the case still holds it): a finding inside an occurrence of
  an accepted text (case and spacing aside) is not a problem. The accepted text is
  public anyway (it is on the page), so storing it in plaintext reveals nothing more.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from temoin.cases import review as review_files
from temoin.cases import vocab
from temoin.curation import decisions

if TYPE_CHECKING:
    from temoin.cache import StatCache
    from temoin.cases import Case
    from temoin.config import Config
    from temoin.curation.precision_memo import Memo

KIND = "precision-dismissal"
ORDER = ("country", "admin1", "admin2")

# -- ages --------------------------------------------------------------------------------
_FR_UNIT = r"(?:un|une|deux|trois|quatre|cinq|six|sept|huit|neuf)"
_FR_TEEN = r"(?:dix[\s-]sept|dix[\s-]huit|dix[\s-]neuf|dix|onze|douze|treize|quatorze|quinze|seize)"
_FR_TEN = (r"(?:quatre[\s-]vingts?(?:[\s-]dix)?|soixante(?:[\s-]dix)?|vingt|trente|quarante"
           r"|cinquante)")
_FR_NUM = (rf"(?:{_FR_TEN}(?:[\s-](?:et[\s-])?(?:{_FR_TEEN}|{_FR_UNIT}))?|{_FR_TEEN}"
           rf"|(?:deux|trois|quatre|cinq|six|sept|huit|neuf)|cent)")
_EN_UNIT = r"(?:one|two|three|four|five|six|seven|eight|nine)"
_EN_TEEN = (r"(?:ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen"
            r"|nineteen)")
_EN_TEN = r"(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)"
_EN_NUM = rf"(?:{_EN_TEN}(?:[\s-]{_EN_UNIT})?|{_EN_TEEN}|{_EN_UNIT}|a\s+hundred)"
_DIGITS = r"\d{1,3}"
_NUM = rf"(?:{_DIGITS}|{_FR_NUM}|{_EN_NUM})"
# Kirundi and Swahili put the number after "years" (imyaka / miaka): "umwana w'imyaka 14",
# "afise imyaka cumi n'ine", "mwenye umri wa miaka kumi na minne". Both words also make
# durations ("imyaka 14 mu gereza"): refused all the same, an editor dismisses a duration.
_BANTU_NUM = (r"(?:\d{1,3}|rimwe|kabiri|gatatu|kane|gatanu|gatandatu|ibiri|itatu|ine|itanu"
              r"|itandatu|indwi|umunani|icenda|cumi|mirongo|moja|mbili|miwili|tatu|mitatu"
              r"|nne|minne|tano|mitano|sita|saba|nane|tisa|kumi|ishirini|thelathini"
              r"|arobaini|hamsini|sitini|sabini|themanini|tisini)")
_NOT_SENTENCE = (r"(?!\s+(?:de\s+(?:prison|détention|detention|réclusion|reclusion|servitude"
                 r"|travaux|peine)|d['’]\s*(?:emprisonnement|incarcération|incarceration)))")


_INFANT = (r"(?:bébé|nourrisson|nouveau[\s-]né|enfant|fillette|garçonnet|baby|infant|child"
           r"|toddler|girl|boy)")
_YOUNG = (r"(?:garçon|garçonnet|fille|fillette|enfant|adolescente?|mineure?|gamine?|bébé|boy"
          r"|girl|child|teenager|minor|kid)")
_ORDINAL = (r"(?:\d{1,3}\s*(?:e|ème|eme|è|er|ère|th|st|nd|rd)|premier|première|[\w-]+i[èe]me"
            r"|first|second|third|\w*(?:fourth|fifth|sixth|seventh|eighth|ninth)|tenth"
            r"|eleventh|twelfth|\w+teenth|\w+tieth)")


@cache
def _age() -> re.Pattern[str]:
    """The age pattern, compiled on first use: ~15 ms that every `temoin case …` paid at
    import, though only publish, check and the build look for ages."""
    return re.compile(
        rf"(?<![\w-])(?:"
        rf"(?:âgée?s?|agée?s?)\s+(?:de\s+|d['’]\s*)?{_NUM}(?:\s*ans?)?"
        rf"|{_NUM}\s*ans\b{_NOT_SENTENCE}"
        rf"|d['’]\s*(?:un|une)\s+an\b{_NOT_SENTENCE}"
        rf"|(?<!\d)1\s*an\b{_NOT_SENTENCE}"
        rf"|{_NUM}[\s-]*(?:years?|yrs?)[\s-]*old\b"
        rf"|{_NUM}\s*(?:yo|y\.o\.?|y/o)(?![\w])"
        rf"|aged\s+{_NUM}\b"
        rf"|(?:âge|age)\s+(?:de\s+|d['’]\s*|of\s+)(?:about\s+|environ\s+)?{_NUM}\b"
        rf"|{_NUM}[\s-]*(?:years?|yrs?)\s+of\s+age\b"
        rf"|{_NUM}\s*\(\s*{_NUM}\s*\)\s*(?:ans\b|years?\b|yrs?\b)"
        rf"|(?:imyaka|miaka)\s+{_BANTU_NUM}\b"
        rf"|(?:née?s?|born)\b[^.;:\n]{{0,30}}?\b(?:1[89]|20)\d\d\b"
        rf"|[âa]ge\s*:?\s*{_DIGITS}\b|[âa]ge\s*:\s*{_NUM}\b"
        rf"|\(\s*{_DIGITS}\s*\)"
        # An infant's age in months ("un bébé de 9 mois", "a 9-month-old"), not a
        # duration ("9 mois de prison").
        rf"|{_NUM}[\s-]*(?:months?|mois)[\s-]*old\b"
        rf"|{_INFANT}s?\s+(?:de|d['’]|of)\s*{_NUM}\s*(?:mois|months?)\b"
        # A birthday ("son 14e anniversaire", "his fourteenth birthday"), not a
        # commemoration ("le 60e anniversaire de l'indépendance").
        rf"|(?:{_ORDINAL}|{_NUM})\s+(?:anniversaire|birthday)\b"
        rf"(?!\s+(?:de|du|des|d['’]|of)\b)"
        # A birth date by its label ("date de naissance : 12.03.2011", "DOB 2011-03-12",
        # "(b. 2011)").
        rf"|(?:date\s+de\s+naissance|date\s+of\s+birth|birth\s*date|d\.?o\.?b\.?)"
        rf"\s*:?\s*(?:le\s+|on\s+)?\d"
        rf"|(?<=\()\s*[bn]\.\s*(?:1[89]|20)\d\d\b"
        # "un garçon de 14, arrêté", "a boy of 14 was": a person and a bare number.
        rf"|{_YOUNG}\s+(?:de|d['’]|of)\s*{_NUM}(?=\s*(?:[,.;:!?)]|$|\s+(?:a|est|était"
        rf"|fut|avait|qui|has|had|was|is|who)\b))"
        rf")",
        re.IGNORECASE)


# "(14)" after a person is an age too; only when a person word precedes it.
_PAREN_AFTER = re.compile(r"(?:garçon|fille|enfant|homme|femme|boy|girl|child|man|woman)s?\s*$",
                          re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    """One refused text: where (field), what matched, which rule."""

    field: str
    text: str
    rule: str  # "age" | "place" | "private-place"

    def describe(self) -> str:
        """What the text does, with the text ("states an exact age ('14 ans')")."""
        if self.rule == "age":
            return f"states an exact age ({self.text!r})"
        what = "a part of a private exact place" if self.rule == "private-place" else \
            "a place finer than the allowed precision"
        return f"names {what} ({self.text!r})"

    def message(self, case_id: str) -> str:
        where = f"cases/{case_id}/case.md: {self.field}"
        if self.rule == "age":
            return (f"{where}: {self.describe()}; exact ages are never public: say "
                    "child/adult (victims[].age_group) instead, or "
                    f"{dismiss_command(case_id, self.text)}")
        return f"{where}: {self.describe()}: remove it, or {dismiss_command(case_id, self.text)}"


def dismiss_command(case_id: str, text: str) -> str:
    return (f"if it may be public, mark it so: `temoin case dismiss {case_id} --text "
            f"\"{text}\"`")


_HYPHENS = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKUP = re.compile(r"\\(?=[^\w\s])|[*_`~=^]")
_SPACE = re.compile(r"\s+")


def visible(text: str) -> str:
    """`text` as a reader sees it, for matching: HTML entities decoded, NFKC (full-width
    digits, no-break spaces), invisible characters (soft hyphen, zero-width spaces and
    joiners, bidi marks, fillers, variation selectors) removed, look-alike letters of other
    scripts and digits of any script made ASCII, Markdown emphasis, code and link syntax
    dropped, hyphen look-alikes made '-', whitespace collapsed. "**14**&nbsp;ans",
    "qua\u00adtorze ans" and "14 [ans](…)" all read "14 ans" on the page."""
    text = unicodedata.normalize("NFKC", html.unescape(text)).translate(_HYPHENS)
    # Format and other invisible characters deleted, look-alike letters of other scripts
    # and digits of any script made ASCII (the canary gate's table: "G\u0456heta").
    from temoin.gates.fold import latin_table  # the gates load only when a case is judged

    text = text.translate(latin_table())
    text = _MARKUP.sub("", _LINK.sub(r"\1", text))
    return _SPACE.sub(" ", text)


# "a boy, 14, was arrested", "deux garçons, 14 et 15, ont été arrêtés": the press's way of
# giving an age, a number set off by commas after a person.
_APPOSITION = re.compile(
    r"\b(?:garçon|fille|enfant|adolescente?|élève|étudiante?|homme|femme|mineure?|boy|girl"
    r"|child|children|teenager|teen|student|pupil|man|men|woman|women|minor)s?\s*,\s*"
    r"\d{1,3}(?:\s*(?:,|et|and|&)\s*\d{1,3})*\s*(?:,|\))", re.IGNORECASE)


_PERSON = (r"garçon|fille|enfant|adolescente?|élève|étudiante?|homme|femme|mineure?|bébé"
           r"|victime|boy|girl|child|children|teenager|teen|student|pupil|man|men|woman|women"
           r"|minor|baby|victim|person|people")


@cache
def _person_age() -> re.Pattern[str]:
    """"N years" without "old" after a person: "a boy of 14 years", "a girl 14 years",
    "une fille de 14 années", "the victim, of fourteen years,"; never a sentence or a
    duration ("14 years in prison", "for 14 years"), which names no person before it."""
    return re.compile(
        rf"\b(?:{_PERSON})s?\s*,?\s*(?:(?:of|de|d['’]|aged|âgée?s?|agée?s?)\s+)?"
        rf"(?:about\s+|environ\s+)?\(?\s*{_NUM}[\s-]*(?:years?|yrs?|années?|ans?)\b"
        rf"(?!\s+(?:later|ago|earlier|before|after|since|plus\s+tard|plus\s+tôt|après"
        rf"|avant|auparavant|in\s+(?:prison|jail|detention)|behind\s+bars"
        rf"|of\s+(?:war|prison|detention|imprisonment|exile))){_NOT_SENTENCE}",
        re.IGNORECASE)


def ages(text: str) -> Iterator[re.Match[str]]:
    """Exact ages stated in `text`."""
    ends: list[int] = []
    for m in _age().finditer(text):
        if m.group(0).lstrip().startswith("(") and not _PAREN_AFTER.search(
                text[max(0, m.start() - 20):m.start()]):
            continue
        ends.append(m.end())
        yield m
    yield from _APPOSITION.finditer(text)
    # the same age once: "une fille de 14 ans" is already "14 ans"
    yield from (m for m in _person_age().finditer(text) if m.end() not in ends)


# -- places --------------------------------------------------------------------------------
def _plain(text: str) -> str:
    """Accents stripped, case kept, same length per character as far as NFC allows."""
    return "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c))


def _name_pattern(name: str) -> str:
    """A place name in any case when no word of it is a common word of 4 letters or more
    ("giheta", "GIHETA"); else only with its capital ("Noun" the department, not "a
    noun")."""
    plain = _plain(name)
    words = [w for w in re.split(r"[\s\-'’]+", plain) if w]
    if not words:
        return ""
    first, rest = words[0], words[1:]
    from temoin.gates import lexicon  # the gates load only when a case is judged

    common = lexicon.common_words()
    anycase = all(len(w) >= 4 and vocab.fold(w) not in common for w in words)
    head = re.escape(first[0]) if not anycase else f"(?i:{re.escape(first[0])})"
    head += f"(?i:{re.escape(first[1:])})" if first[1:] else ""
    return head + "".join(rf"(?i:[\s\-'’]+{re.escape(w)})" for w in rest)


@cache
def _finer_names(country: str, allowed: str) -> re.Pattern[str] | None:
    """A regex of the gazetteer names finer than `allowed` in `country`."""
    coarse = vocab.admin1_names(country)
    names: set[str] = set()
    if ORDER.index(allowed) < 2:  # communes (Cameroon's are its third level) and departments
        names |= {n for n, _ in (*vocab.admin2_names(country), *vocab.admin3_names(country))
                  if vocab.fold(n) not in coarse}
    if ORDER.index(allowed) < 1:
        names |= {n for p in vocab.places(country) for n in (p.fr, p.en)}
    pats = [p for p in (_name_pattern(n) for n in sorted(names, key=len, reverse=True)) if p]
    if not pats:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(pats) + r")(?![\w-])")


# Coordinates are finer than any division: a pair of decimal numbers (3 decimals or more,
# a decimal point or comma, hemisphere letters, "lat"/"lon" labels), a labelled one alone,
# degrees with minutes ("3°25'35\"S"). So are the addresses phones share instead: a Plus
# Code (Open Location Code, "6GCRPR6C+24", or its short form "PR6C+24 Gitega": a square of
# ~14 m) and a what3words address ("///index.home.raft": 3 m).
_DEC = r"[-+]?\d{1,3}[.,]\d{3,}"
_OLC = "23456789CFGHJMPQRVWXcfghjmpqrvwx"
_COORD = re.compile(
    rf"(?<![\w.,]){_DEC}\s*°?\s*[NSEWnsew]?\s*[,;/]?\s*"
    rf"(?:(?:lat|long?|lng)\w*\s*[:=]?\s*)?{_DEC}(?![\d])"
    r"|\b(?:lat(?:itude)?|lon(?:g(?:itude)?)?|lng|gps)\b\s*[:=]?\s*[-+]?\d{1,3}[.,]\d{2,}"
    r"|\d{1,3}\s*°\s*\d{1,2}\s*['′’]"
    rf"|(?<![\w+])(?=[{_OLC}]*\d)(?:[{_OLC}]{{2}}){{2,4}}\+[{_OLC}]{{2,3}}(?![\w+])"
    r"|///\s*[^\W\d_]+\.[^\W\d_]+\.[^\W\d_]+", re.IGNORECASE)


_GENERIC = frozenset(vocab.fold(w) for w in (
    "colline", "sous-colline", "sous colline", "quartier", "zone", "commune", "province",
    "avenue", "av", "rue", "village", "cellule", "secteur", "sous", "n°", "no", "numéro",
    "près", "de", "du", "la", "le", "les", "des", "l", "d", "à", "a", "au", "aux", "en",
    "sur", "chez",
    "maison", "cachot", "prison", "marché", "école", "église", "route", "chemin", "hill",
    "street", "near", "the", "of", "département", "departement", "région", "region",
    "arrondissement", "district", "ville", "centre", "center", "nord", "sud", "est", "ouest",
    "north", "south", "east", "west", "bloc", "block", "cité", "camp", "poste", "position"))
PLACE_FIELDS = ("exact_places", "victims[].address", "sources[].address", "template.place")


def private_places(private: dict[str, Any] | None) -> list[str]:
    """The private part's exact place values (see PLACE_FIELDS)."""
    p = private or {}
    out = [str(v) for v in p.get("exact_places") or [] if isinstance(v, str | int)]
    for key in ("victims", "sources"):
        out += [str(x["address"]) for x in p.get(key) or []
                if isinstance(x, dict) and isinstance(x.get("address"), str)]
    tpl = p.get("template")
    if isinstance(tpl, dict) and isinstance(tpl.get("place"), str):
        out.append(tpl["place"])
    return [v for v in out if v.strip()]


def place_parts(values: Iterable[str], country: str, allowed: str) -> list[str]:
    """The distinctive parts of private places finer than `allowed`: each comma/semicolon
    part less generic words ("colline", "quartier"…), at least 4 letters, that is not a
    division the precision allows (a province at admin1, a commune at admin2)."""
    ok = set(vocab.admin1_names(country)) if ORDER.index(allowed) >= 1 else set()
    if ORDER.index(allowed) >= 2:
        ok |= {vocab.fold(n) for n, _ in (*vocab.admin2_names(country),
                                          *vocab.admin3_names(country))}
    out: list[str] = []
    for value in values:
        for chunk in re.split(r"[,;/\n()]|\s[-–]\s", value):
            words = [w for w in vocab.fold(chunk).split() if w not in _GENERIC]
            phrase = " ".join(words)
            if sum(c.isalpha() for c in phrase) < 4 or phrase in ok or phrase in out:
                continue
            out.append(phrase)
    return out


# -- the check -----------------------------------------------------------------------------
def public_texts(case: Case) -> list[tuple[str, str]]:
    """(field, text) of every public text of `case` a reader reads: title, summary,
    narrative, tags, the institutions of perpetrators, the victims' published names, the
    commune as written, media captions and intervention summaries (`summary`, as the
    signed interventions decision shows them; `public_summary` as earlier versions wrote)."""
    meta = case.meta
    texts = [("narrative", case.narrative or "")]

    def lang_text(where: str, value: Any) -> None:
        if isinstance(value, dict):
            texts.extend((f"{where}.{lang}", str(t)) for lang, t in value.items() if t)
        elif isinstance(value, str | int | float):
            texts.append((where, str(value)))

    for key in ("title", "summary"):
        lang_text(key, meta.get(key))
    for i, tag in enumerate(meta.get("tags") or []):
        lang_text(f"tags[{i}]", tag)
    for key, sub in (("perpetrators", "institution"), ("victims", "name")):
        for i, entry in enumerate(meta.get(key) or []):
            if isinstance(entry, dict):
                lang_text(f"{key}[{i}].{sub}", entry.get(sub))
    loc = (meta.get("event") or {}).get("location") if isinstance(meta.get("event"), dict) \
        else None
    if isinstance(loc, dict):
        lang_text("event.location.admin2", loc.get("admin2"))
    for i, entry in enumerate(meta.get("media") or []):
        if isinstance(entry, dict):
            lang_text(f"media[{i}].caption", entry.get("caption"))
    for i, entry in enumerate(meta.get("interventions") or []):
        if isinstance(entry, dict):
            for key in ("summary", "public_summary"):
                lang_text(f"interventions[{i}].{key}", entry.get(key))
    return [(f, t) for f, t in texts if t.strip()]


def allowed_precision(case: Case, cfg: Config) -> str:
    """The finest level the case's public text may name: the setting, and admin1 at most
    for a child or a survivor of sexual violence (as for `event.location`)."""
    from temoin import curation

    meta = case.meta
    acts = [a for a in meta.get("acts") or [] if isinstance(a, dict)]
    sensitive = any(vocab.category(str(a.get("type"))) in curation.SENSITIVE_CATEGORIES
                    for a in acts) or any(isinstance(v, dict) and v.get("age_group") == "child"
                                          for v in meta.get("victims") or [])
    allowed = cfg.location_precision if cfg.location_precision in ORDER else "admin1"
    return "admin1" if sensitive and ORDER.index(allowed) > 1 else allowed


def _blank(text: str, accepted: Iterable[str]) -> str:
    """`text` with every occurrence of an accepted text replaced by spaces."""
    for a in accepted:
        words = [re.escape(w) for w in a.split()]
        if words:
            text = re.sub(r"\s+".join(words), lambda m: " " * len(m.group(0)), text,
                          flags=re.IGNORECASE)
    return text


def findings(case: Case, cfg: Config, private: dict[str, Any] | None = None,
             accepted: Iterable[str] = (), parts: Iterable[str] | None = None,
             texts: Iterable[tuple[str, str]] | None = None,
             memo: Memo | None = None) -> list[Finding]:
    """Every refused text of `case` (see the module). `private`: its private part, when the
    caller has it; `parts`: the private place parts already derived (the build's canaries);
    `accepted`: texts an editor marked public (signed dismissals); `texts`: (field, text)
    to judge under the case's precision instead of its own (`public_texts`); `memo`: the
    build's remembered findings (`precision_memo`; never with private places)."""
    loc = (case.meta.get("event") or {}).get("location") or {}
    country = str(loc.get("country") or cfg.country)
    allowed = allowed_precision(case, cfg)
    if parts is None:
        parts = place_parts(private_places(private), country, allowed) if private else []
    part_list = list(parts)
    judged = public_texts(case) if texts is None else list(texts)
    accepted = list(accepted)
    key = memo.key(country, allowed, judged, accepted) if memo is not None \
        and not part_list else None
    kept = memo.get(key) if memo is not None and key is not None else None
    if kept is not None:
        return [Finding(*f) for f in kept]
    out = _findings(judged, country, allowed, accepted, part_list)
    if memo is not None and key is not None:
        memo.put(key, [(f.field, f.text, f.rule) for f in out])
    return out


def _findings(texts: list[tuple[str, str]], country: str, allowed: str,
              accepted: list[str], part_list: list[str]) -> list[Finding]:
    finer = _finer_names(country, allowed)
    out: list[Finding] = []
    accepted = [visible(a) for a in accepted]
    for field, text in texts:
        text = _blank(visible(text), accepted)
        out += [Finding(field, m.group(0).strip(), "age") for m in ages(text)]
        if finer is not None:
            out += [Finding(field, m.group(0), "place") for m in finer.finditer(_plain(text))]
        out += [Finding(field, m.group(0).strip(), "place") for m in _COORD.finditer(text)]
        if part_list:
            folded = f" {vocab.fold(text)} "
            out += [Finding(field, p, "private-place") for p in part_list
                    if f" {p} " in folded]
    return list(dict.fromkeys(out))


def reason_findings(case: Case, cfg: Config, reason: Any,
                    private: dict[str, Any] | None = None, memo: Memo | None = None
                    ) -> list[Finding]:
    """The refused texts of a withdrawal reason ({lang: text}, public in the errata) under
    the case's precision; dismissals do not apply (the case is withdrawn)."""
    texts = [(f"withdrawn.reason.{lang}", str(t)) for lang, t in reason.items() if t] \
        if isinstance(reason, dict) else [("withdrawn.reason", str(reason or ""))]
    return findings(case, cfg, private, texts=texts, memo=memo)


def dismissal_name(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).casefold().encode("utf-8")).hexdigest()[:16]


def accepted_texts(case: Case, editors: Iterable[str], verify: decisions.Verifier,
                   content: str) -> list[str]:
    """The texts of the case's signed precision dismissals that count for this content."""
    folder = case.folder / decisions.FOLDER
    if not folder.is_dir():
        return []
    out = []
    roster = list(editors)
    for path in review_files.slots(folder, f"{KIND}--*"):
        name = path.name[len(KIND) + 2:-len(".json")]
        # Any content: a dismissal accepts one text, wherever the case still holds it.
        found, problems = decisions.check(folder, KIND, case.id, None, roster, verify,
                                          f"cases/{case.id}/review/{path.name}",
                                          f"`temoin case dismiss {case.id} --text TEXT`", name)
        text = found.payload.get("text") if found is not None and not problems else None
        if isinstance(text, str) and text.strip() and dismissal_name(text) == name:
            out.append(" ".join(text.split()))
    return out


def problems(case: Case, cfg: Config, verify: decisions.Verifier | None,
             private: dict[str, Any] | None = None, files: StatCache | None = None,
             parts: Iterable[str] | None = None) -> list[str]:
    """The refusals of `case`'s public text (`verify` None: no dismissal counts)."""
    from temoin import curation

    accepted: list[str] = []
    if verify is not None:
        accepted = accepted_texts(case, cfg.recipient_fingerprints, verify,
                                  curation.content_hash(case, files))
    memo = verify.precision if isinstance(verify, curation.CachedVerifier) else None
    return [f.message(case.id) for f in findings(case, cfg, private, accepted, parts,
                                                 memo=memo)]
