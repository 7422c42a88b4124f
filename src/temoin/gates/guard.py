"""The canaries that guard a site (which private values, from which cases, what is only
reported) and THE matcher of the canary gate: every canary and forbidden id in one automaton,
found in a text piece by piece."""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from dataclasses import field as _field
from typing import Any

from temoin.gates import canaries as _can
from temoin.gates import matching as _match
from temoin.gates.fold import as_folded, fold


@dataclass(frozen=True)
class Canary:
    """A private string that must never ship, and where it comes from.

    `value` is matched after normalisation (see `checks.canaries`); values shorter than 3
    characters once normalised are ignored. `suffix` lets it match the end of a longer
    number (a phone number written with a country code). An empty `value` records a
    private value that cannot serve as a canary (public vocabulary, too common a word):
    reported once by `curate`, never matched. `allowed`: the runs of its case's public
    text inside which an editor's signed dismissal lets it stand (`Allowed`).
    """

    value: str
    case_id: str
    field: str
    suffix: bool = False
    # Where the value may stand (a signed dismissal, see `contexts`): each a run of words of
    # the case's own public text around it, folded and padded with spaces. Empty: nowhere.
    allowed: tuple[str, ...] = ()


def canaries_from_private(case_id: str, private: dict[str, Any]) -> list[Canary]:
    """Every value of a case's private part worth scanning for (rule: `checks.canaries`)."""
    return [Canary(value, case_id, field, suffix)
            for field, value, suffix in _can.private_values(private or {})]


def local(c: Canary) -> bool:
    """A number shorter than a phone (the 6 or 7 middle digits of a private phone): it
    guards its own case's public text, not every file. Against a whole site it is as often
    three counts in a row of a table ("15 18 60") or a month and a year ("10 2019"): at
    1,000 generated cases, four phones' middle digits stood in statistics tables,
    bulletins and other cases' pages, and the build refused a site holding no private
    value."""
    return c.value.isdigit() and len(c.value) < _match.NUMBER_DIGITS


# Statuses whose private part an editor has reviewed: only their values guard the whole
# site. A draft's (an anonymous submission, maybe hostile) or a rejected case's values are
# checked against that case's own public text and reported, never against other cases.
REVIEWED = frozenset({"review", "published", "withdrawn"})


@dataclass
class Curated:
    """The canaries that guard the whole site, and what to report without refusing."""

    guard: list[Canary]
    notices: list[str]
    # The fields found in each case's own text this time, by `leak_key` (`curate`'s memo).
    seen: dict[str, list[str]] = _field(default_factory=dict)


def _public_places(meta: dict[str, Any]) -> set[str]:
    """The folded place names a case's own front matter makes public."""
    loc = ((meta.get("event") or {}).get("location") or {}) if isinstance(meta, dict) else {}
    return {fold(str(v)) for k, v in loc.items()
            if k.startswith("admin") and isinstance(v, str)} if isinstance(loc, dict) else set()


def own_canaries(case_id: str, private: dict[str, Any],
                 meta: dict[str, Any] | None = None) -> list[Canary]:
    """The usable canaries of one private part, less the case's own public place names
    (what `curate` keeps of them)."""
    places = _public_places(meta or {})
    return [c for c in canaries_from_private(case_id, private)
            if c.value and c.value not in places]


def _public_names(meta: dict[str, Any]) -> set[str]:
    """The folded names a case's front matter makes public (victims named with consent)."""
    victims = meta.get("victims") if isinstance(meta, dict) else None
    return {fold(str(v["name"])) for v in victims or []
            if isinstance(v, dict) and isinstance(v.get("name"), str)}


def _shown_texts(case: Any) -> list[str]:
    """Every public string of a published case's front matter (titles, summaries, names,
    captions…) and its narrative; not its workflow fields (interventions are shown as
    signed, not as case.md says)."""
    def leaves(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for k, v in value.items():
                if k not in ("interventions", "withdrawn", "review"):
                    yield from leaves(v)
        elif isinstance(value, list):
            for v in value:
                yield from leaves(v)
        elif isinstance(value, str):
            yield value
    return [*leaves(case.meta), str(getattr(case, "narrative", "") or "")]


def organisation_strings(cfg: Any) -> tuple[str, ...]:
    """What the organisation prints on every page about itself (`cfg`: a `Config`): its
    name, the site's name and address, the contact e-mail. A submitter who gives one as
    their own (the contact address in the form's e-mail field) makes no canary of it."""
    url = str(getattr(cfg, "site_url", "") or "")
    host = url.split("://", 1)[-1].split("/", 1)[0]
    return tuple(s for s in (getattr(cfg, "organisation", ""), getattr(cfg, "site_name", ""),
                             getattr(cfg, "contact_email", ""), url, host) if s)


def curate(canaries: Iterable[Canary], cases: Iterable[Any],
           organisation: Iterable[str] = (), memo: dict[str, list[str]] | None = None
           ) -> Curated:
    """Split a repository's canaries (`cases`: objects with `id`, `status`, `meta`,
    `narrative`) into those that guard every file (cases in REVIEWED) and notices: each
    value not usable as a canary, once, and each value of a not yet reviewed case found in
    that case's own public text. A case's own public place names are no canary for it;
    nor, for any case, what the organisation prints about itself on every page
    (`organisation`: `organisation_strings`): as a canary it refused every page once an
    editor moved the case to review, so one submission stopped all publication.

    `memo` (the build's, kept in the encrypted canary cache: `canary_source`): the fields
    found in a case's own text, by `leak_key`; read and filled in. Without it, or for a key
    it lacks, the text is written out and scanned (`own_leaks`); `Curated.seen` holds the
    entries this call used, to keep for the next."""
    by_case = {c.id: c for c in cases}
    ours = {fold(s) for s in organisation} - {""}
    guard: list[Canary] = []
    notices: set[str] = set()
    own: dict[str, list[Canary]] = defaultdict(list)
    near: dict[str, list[Canary]] = defaultdict(list)
    seen: dict[str, list[str]] = {}
    places = {cid: _public_places(c.meta) for cid, c in by_case.items()}
    published = [c for c in by_case.values() if c.status == "published"]
    # What published cases show by design is public vocabulary for the whole site: their
    # places (a hill named like another case's commune cannot serve as a canary alone),
    # and the whole names of victims who consented to be named.
    shown = {w for c in published for p in places[c.id] for w in (p, *p.split())}
    # A part of such a name alone still identifies another case's victim or source who
    # bears it ("le frère Ndayisenga"): it may stand only in the runs of the texts of the
    # cases that show it ("Jean Ndayisenga", "Ndayisenga a été arrêté"), like a word a
    # signed dismissal lets through (`Allowed`).
    named: dict[str, list[str]] = defaultdict(list)
    for c in published:
        names = _public_names(c.meta)
        shown |= names
        texts = _shown_texts(c) if names else []
        for word in {w for n in names for w in n.split()}:
            named[word] += texts
    status = {cid: c.status for cid, c in by_case.items()}
    runs_of: dict[str, tuple[str, ...]] = {}  # `contexts` of each named word, once
    for c in canaries:
        case = by_case.get(c.case_id)
        if not c.value:
            notices.add(f"cases/{c.case_id}/private.yaml.asc: {c.field}: public vocabulary or "
                        "too common a word: not usable as a canary")
        elif case is None or c.value in places.get(c.case_id, ()) or c.value in shown:
            continue
        elif c.value in ours:
            notices.add(f"cases/{c.case_id}/private.yaml.asc: {c.field}: the organisation's "
                        "own public name or address, printed on every page: not usable as "
                        "a canary")
        elif status[c.case_id] in REVIEWED and local(c):
            near[c.case_id].append(c)  # guards its own case's text only (below)
        elif status[c.case_id] in REVIEWED:
            if c.value in named and not c.suffix:
                if c.value not in runs_of:
                    runs_of[c.value] = contexts(named[c.value], c.value)
                runs = set(c.allowed) | set(runs_of[c.value])
                c = replace(c, allowed=tuple(sorted(runs)))
            guard.append(c)
        else:
            own[c.case_id].append(c)
    # A short number found in its own case's public text guards the site (the gate then
    # refuses that case's page, naming the field); one that is not, guards nothing.
    for cid, found in near.items():
        hits = set(own_leaks(found, by_case[cid], memo, seen))
        guard += [c for c in found if c.field in hits]
    for cid, found in own.items():
        case = by_case[cid]
        for field in own_leaks(found, case, memo, seen):
            notices.add(f"cases/{cid}/case.md: holds a value of its private part ({field}); "
                        f"not refused while the case is {case.status} (no editor has "
                        "reviewed its private part): remove it before review")
    return Curated(guard, sorted(notices), seen)


def leak_key(found: Iterable[Canary], case: Any) -> str:
    """What `own_leaks` depends on, hashed: the canaries (all they hand the matcher) and
    everything of the case `case_text` writes out (`meta` whole, in its order: `repr` of
    the YAML loader's types is their value; the narrative). The rules of matching and of
    writing a case out are the canary cache's version (`canary_source.CANARIES`)."""
    doc = (case.id, sorted((c.value, c.case_id, c.field, c.suffix, c.allowed) for c in found),
           case.meta, str(getattr(case, "narrative", "") or ""))
    return hashlib.sha256(repr(doc).encode("utf-8", "surrogatepass")).hexdigest()


def own_leaks(found: list[Canary], case: Any, memo: dict[str, Any] | None = None,
              seen: dict[str, list[str]] | None = None) -> list[str]:
    """The fields of `found` (canaries of `case`) that its own public text holds
    (`text_leaks` over `case_text`), through `memo` (see `curate`); recorded in `seen`."""
    if memo is None:
        return text_leaks(matcher(found), case_text(case))
    key = leak_key(found, case)
    known = memo.get(key)
    if isinstance(known, list) and all(isinstance(f, str) for f in known):
        fields = [str(f) for f in known]
    else:
        fields = text_leaks(matcher(found), case_text(case))
    if seen is not None:
        seen[key] = fields
    return fields


def case_text(case: Any) -> str:
    """A case's public text as the site shows it: front matter strings and narrative."""
    from temoin import cases as cases_mod

    return cases_mod.dumps(case)


# -- signed dismissals (issue 15: a name part that is also a public figure's name) ---------
CONTEXT_WORDS = 3  # words on each side of a dismissed form that must stand with it
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_SENTENCE = re.compile(r"(?<=[.!?…])\s+|[\r\n]+|;")


def contexts(texts: Iterable[str], form: str) -> tuple[str, ...]:
    """The runs of `texts` (a case's public title, summary, narrative…, as written) in which
    the one-word `form` stands: up to CONTEXT_WORDS words on each side within its sentence,
    folded and padded with spaces; a run of the form alone (no word beside it) is left out,
    since it would let the form stand anywhere. Markdown links count by their text."""
    form = fold(form)
    found: set[str] = set()
    for text in texts:
        for sentence in _MD_SENTENCE.split(_MD_LINK.sub(r"\1", text)):
            words = fold(sentence).split()
            for i, w in enumerate(words):
                if w != form:
                    continue
                run = words[max(0, i - CONTEXT_WORDS):i + CONTEXT_WORDS + 1]
                if len(run) > 1:
                    found.add(" " + " ".join(run) + " ")
    return tuple(sorted(found))


@dataclass(frozen=True)
class Allowed:
    """A matcher payload for a canary an editor dismissed in its case's public text: found
    in a text, it is a finding (`payload`) unless every occurrence of the value there lies
    inside one of the runs of `contexts` (its case's own public text, shown wherever that
    text is: the case page, listings, feeds, search, bulletins)."""

    value: str
    contexts: tuple[str, ...]
    payload: tuple[str, str]

    def covers(self, text: str) -> bool:
        """Whether every occurrence of the value in `text` (a `forms` output) is inside an
        occurrence of an allowed run."""
        needle = f" {self.value} "
        offsets = [(c, k) for c in self.contexts for k in _starts(c, needle)]
        i = text.find(needle)
        while i >= 0:
            if not any(i >= k and text.startswith(c, i - k) for c, k in offsets):
                return False
            i = text.find(needle, i + 1)
        return True


def _starts(text: str, needle: str) -> Iterator[int]:
    i = text.find(needle)
    while i >= 0:
        yield i
        i = text.find(needle, i + 1)


def id_forms(case_id: str) -> list[str]:
    """The folded forms of a case id as a page may write it: its parts ("BI", "2025",
    "0A1B2C") each joined to the next or set apart, folded (a digit gap joins "2025-0A1…":
    "bi 20250a1b2c"), and all set apart ("BI-2025-**0A1B2C**": "bi 2025 0a1b2c"). An id
    written with a separator dropped or markup beside one was missed (attack18)."""
    parts = [fold(p) for p in re.split(r"[\W_]+", case_id) if p][:6]
    forms = {fold(case_id)}
    for seps in () if not parts else \
            itertools.product(("", " "), repeat=len(parts) - 1):
        written = parts[0] + "".join(s + p for s, p in zip(seps, parts[1:], strict=True))
        forms |= {written, fold(written)}  # as set apart by markup, as a digit gap joins it
    return sorted(f for f in forms if f.strip())


def matcher(canaries: Iterable[Canary], forbidden_ids: Iterable[str] = ()) -> _match.Matcher:
    """THE matcher of the canary gate (the build's scan, `case publish`, `temoin check`):
    every canary and forbidden id in one automaton. Payloads are (gate, detail), or
    `Allowed` for a dismissed canary (`find` resolves it)."""
    m = _match.Matcher()
    for c in canaries:
        folded = as_folded(c.value)  # canary values are `fold` outputs already
        if len(folded) >= _can.MIN_NAME:
            payload = ("canary", f"private value of case {c.case_id} ({c.field})")
            m.add(folded, Allowed(folded, c.allowed, payload) if c.allowed and not c.suffix
                  else payload, suffix=c.suffix)
    for case_id in forbidden_ids:
        for form in id_forms(case_id):
            m.add(form, ("unpublished-case", f"id of unpublished case {case_id}"))
    m.find(" ")  # build the automaton now
    return m


def find(m: _match.Matcher, text: str, is_markup: bool = True) -> set[Any]:
    """Every payload of `m` in one text: its byte strings and its visible text
    (`matching.forms`), piece by piece for a large one."""
    hits: set[Any] = set()
    for piece in _pieces(text):
        for form in _match.forms(piece, is_markup):
            for p in m.find(form):
                if isinstance(p, Allowed):
                    if p.covers(form):
                        continue
                    p = p.payload
                hits.add(p)
    return hits


_FIELD = re.compile(r"private value of case \S+ \((.*)\)$")


def text_leaks(m: _match.Matcher, text: str, is_markup: bool = True) -> list[str]:
    """The private fields whose values `m` finds in `text` (never the values)."""
    return sorted({f[1] for _gate, detail in find(m, text, is_markup)
                   if (f := _FIELD.match(detail))})


PIECE = 1 << 20     # characters of text normalised at once (see `_pieces`)
OVERLAP = 1 << 16   # characters two pieces share: far more than any pattern spans


def _pieces(text: str) -> Iterator[str]:
    """A large text (the open data: 16 MB at 5,000 cases) in overlapping pieces, cut at
    line ends where possible. Normalising a text makes several copies of it and its words
    (~20x its size: 320 MB for that file, in a gate worker); piece by piece, the peak stays
    ~20 MB. Pieces share at least OVERLAP / 2 characters: any
    span shorter than that lies whole in one piece, so no match is lost."""
    if len(text) <= PIECE:
        yield text
        return
    start = 0
    while True:
        end = len(text) if len(text) - start <= PIECE else \
            text.rfind("\n", start + PIECE // 2, start + PIECE) + 1 or start + PIECE
        yield text[start:end]
        if end >= len(text):
            return
        back = end - OVERLAP
        line = text.find("\n", back, end - OVERLAP // 2)
        start = line + 1 if line >= 0 else back
