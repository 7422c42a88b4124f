"""The case: public `case.md` (allow-listed front matter + anonymised narrative) and its
confidential parts, `private.yaml.asc` and `evidence/<sha256>.asc`, encrypted to the editors.

Loading is strict: an unknown key, a bad vocabulary term, a bad date or a missing field is
a problem naming the file, the field, what was expected and what was found. Every problem is
collected, not only the first.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from temoin.cases import vocab
from temoin.errors import CaseError, CryptoError, ValidationError
from temoin.files import write_atomic

if TYPE_CHECKING:
    from temoin.cache import StatCache
    from temoin.keys import Keyring

CASES = "cases"
ID_RE = re.compile(r"^([A-Z]{2,6})-(\d{4})-([A-Z2-7]{6})$")
FPR_RE = re.compile(r"^[0-9A-F]{40}$|^[0-9A-F]{64}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")  # control characters but tab and newline

# Keys that belong to the confidential part. Found anywhere in case.md front matter they stop
# the build: a name, a contact, an exact place or an exact age must never be public data.
PRIVATE_KEYS = frozenset({
    "full_name", "names", "first_name", "last_name", "surname", "alias", "contact", "contacts",
    "phone", "telephone", "email", "address", "exact_place", "exact_location", "gps",
    "coordinates", "latitude", "longitude", "lat", "lon", "testimony", "raw_text", "subject",
    "source_name", "witness_names", "age", "date_of_birth", "birth_date", "id_number",
    "reliability", "share_consent", "signer",
})
FIELD_ORDER = ("id", "title", "summary", "status", "verification", "urgent", "event",
               "victims", "perpetrators", "acts", "sources", "consent", "review", "received",
               "published", "updated", "tags", "media", "interventions", "withdrawn",
               "duplicate_of")
REQUIRED = ("id", "title", "status", "verification", "event", "consent")


@dataclass
class Case:
    """One case as loaded from `cases/<ID>/case.md`."""

    meta: dict[str, Any]
    narrative: str = ""
    folder: Path = field(default_factory=Path)

    @property
    def id(self) -> str:
        return str(self.meta.get("id", ""))

    @property
    def status(self) -> str:
        return str(self.meta.get("status", ""))

    @property
    def path(self) -> Path:
        return self.folder / "case.md"

    @property
    def date(self) -> dt.date | None:
        d = (self.meta.get("event") or {}).get("date_start")
        return d if isinstance(d, dt.date) else None

    def title(self, lang: str = "fr") -> str:
        t = self.meta.get("title") or {}
        return str(t.get(lang) or t.get("fr") or t.get("en") or self.id)

    def admin1(self) -> vocab.Place | None:
        """The gazetteer division of the event, as in force on its date (None if not given)."""
        loc = (self.meta.get("event") or {}).get("location") or {}
        if not loc.get("admin1"):
            return None
        return vocab.place(str(loc.get("country")), str(loc["admin1"]), self.date)

    def admin1_code(self) -> str | None:
        p = self.admin1()
        return p.code if p else None

    def victim_ids(self) -> set[str]:
        return {str(v.get("id")) for v in self.meta.get("victims") or [] if isinstance(v, dict)}


# -- ids --------------------------------------------------------------------------------
def new_id(prefix: str, year: int, seed: bytes, taken: Iterable[str] = ()) -> str:
    """`PREFIX-YEAR-XXXXXX`: 6 base32 characters of sha256(seed). A submission's hash as seed
    gives the same id in every clone; a random seed makes collisions across clones ~1e-9.
    If the id is taken by another case, the next 6 characters of the digest are used."""
    digest = base64.b32encode(hashlib.sha256(seed).digest()).decode()
    taken = set(taken)
    for i in range(0, len(digest) - 6, 6):
        cid = f"{prefix}-{year:04d}-{digest[i:i + 6]}"
        if cid not in taken:
            return cid
    raise CaseError("no free case id for this seed (should never happen)")


def case_dir(repo: Path, case_id: str) -> Path:
    if not ID_RE.match(case_id):
        raise CaseError(f"not a case id: {case_id!r} (expected like BI-2025-K7QX2M)")
    return Path(repo) / CASES / case_id


# -- validation -------------------------------------------------------------------------
class _Check:
    def __init__(self, where: str) -> None:
        self.where = where
        self.problems: list[str] = []

    def bad(self, path: str, expected: str, got: Any) -> None:
        self.problems.append(f"{self.where}: {path}: expected {expected}, got {got!r}")

    def term(self, path: str, vocabulary: str, value: Any, nullable: bool = False) -> None:
        if value is None and nullable:
            return
        if not vocab.is_term(vocabulary, value):
            self.bad(path, "one of " + ", ".join(vocab.terms(vocabulary)), value)

    def date(self, path: str, value: Any, nullable: bool = True) -> None:
        if value is None and nullable:
            return
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            self.bad(path, "a date YYYY-MM-DD", value)

    def text(self, path: str, value: Any, nullable: bool = True) -> None:
        if value is None and nullable:
            return
        if not isinstance(value, str) or _CONTROL.search(value):
            self.bad(path, "text", value)

    def lang_text(self, path: str, value: Any, required: bool = False) -> None:
        if value is None and not required:
            return
        if not isinstance(value, dict) or not value or set(value) - set(vocab.LANGS):
            self.bad(path, "{fr: …, en: …}", value)
            return
        for lang, v in value.items():
            self.text(f"{path}.{lang}", v, nullable=False)

    def keys(self, path: str, value: Any, allowed: Iterable[str]) -> bool:
        if not isinstance(value, dict):
            self.bad(path, "a mapping", value)
            return False
        allowed = set(allowed)
        for k in value:
            if k not in allowed:
                p = f"{path}.{k}" if path else str(k)
                if k in PRIVATE_KEYS:
                    self.problems.append(f"{self.where}: {p}: confidential key in the public "
                                         "file: move it to the private part "
                                         "(`temoin case set ID --private …`)")
                else:
                    self.bad(p, "one of " + ", ".join(sorted(allowed)), k)
        return True

    def items(self, path: str, value: Any) -> list[dict[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.bad(path, "a list", value)
            return []
        out = []
        for i, item in enumerate(value):
            if isinstance(item, dict):
                out.append(item)
            else:
                self.bad(f"{path}[{i}]", "a mapping", item)
        return out


def _fingerprint_or_null(c: _Check, path: str, value: Any) -> None:
    if value is not None and not (isinstance(value, str) and FPR_RE.match(value)):
        c.bad(path, "an editor key fingerprint (40 hex, capitals)", value)


def validate(meta: Any, where: str) -> list[str]:  # noqa: C901 - one flat pass over every field keeps every problem in one report
    """Every schema problem of a front matter, as 'where: field: expected X, got Y'."""
    c = _Check(where)
    if not c.keys("", meta, FIELD_ORDER):
        return c.problems
    for key in REQUIRED:
        if key not in meta:
            c.problems.append(f"{where}: {key}: required field missing")
    if "id" in meta and not (isinstance(meta["id"], str) and ID_RE.match(meta["id"])):
        c.bad("id", "PREFIX-YYYY-XXXXXX (6 base32 characters)", meta["id"])
    if "title" in meta:
        c.lang_text("title", meta["title"], required=True)
    c.lang_text("summary", meta.get("summary"))
    if "status" in meta:
        c.term("status", "status", meta["status"])
    if "verification" in meta:
        c.term("verification", "verification", meta["verification"])
    if "consent" in meta:
        c.term("consent", "consent", meta["consent"])
    if not isinstance(meta.get("urgent", False), bool):
        c.bad("urgent", "true or false", meta.get("urgent"))
    ev = meta.get("event")
    if ev is not None and c.keys("event", ev, ("date_start", "date_end", "date_precision",
                                               "location")):
        c.date("event.date_start", ev.get("date_start"))
        c.date("event.date_end", ev.get("date_end"))
        c.term("event.date_precision", "date_precision", ev.get("date_precision", "day"))
        loc = ev.get("location", {})
        if c.keys("event.location", loc, ("country", "admin1", "admin2", "precision")):
            country = loc.get("country")
            if country not in vocab.countries():
                c.bad("event.location.country", "one of " + ", ".join(vocab.countries()),
                      country)
            elif loc.get("admin1") is not None and vocab.place(
                    country, str(loc["admin1"]), ev.get("date_start")) is None:
                names = ", ".join(p.fr for p in vocab.places(country))
                c.bad("event.location.admin1", f"a division of {country} ({names})",
                      loc.get("admin1"))
            c.text("event.location.admin2", loc.get("admin2"))
            c.term("event.location.precision", "location_precision",
                   loc.get("precision", "admin1"))
    victims = c.items("victims", meta.get("victims"))
    vids = set()
    for i, v in enumerate(victims):
        p = f"victims[{i}]"
        c.keys(p, v, ("id", "count", "sex", "age_group", "status_now", "name"))
        c.text(f"{p}.id", v.get("id"), nullable=False)
        vids.add(v.get("id"))
        n = v.get("count", 1)
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            c.bad(f"{p}.count", "a whole number >= 1", n)
        c.term(f"{p}.sex", "sex", v.get("sex", "unknown"))
        c.term(f"{p}.age_group", "age_group", v.get("age_group", "unknown"))
        c.term(f"{p}.status_now", "victim_status", v.get("status_now", "unknown"))
        c.text(f"{p}.name", v.get("name"))
    perps = c.items("perpetrators", meta.get("perpetrators"))
    pids = set()
    for i, p_ in enumerate(perps):
        p = f"perpetrators[{i}]"
        c.keys(p, p_, ("id", "type", "institution", "involvement"))
        c.text(f"{p}.id", p_.get("id"), nullable=False)
        pids.add(p_.get("id"))
        c.term(f"{p}.type", "perpetrator_types", p_.get("type"))
        c.text(f"{p}.institution", p_.get("institution"))
        c.term(f"{p}.involvement", "involvement", p_.get("involvement"), nullable=True)
    for i, a in enumerate(c.items("acts", meta.get("acts"))):
        p = f"acts[{i}]"
        c.keys(p, a, ("victim", "type", "perpetrators", "date"))
        c.term(f"{p}.type", "acts", a.get("type"))
        if a.get("victim") not in vids:
            c.bad(f"{p}.victim", "the id of a listed victim", a.get("victim"))
        for j, ref in enumerate(a.get("perpetrators") or []):
            if ref not in pids:
                c.bad(f"{p}.perpetrators[{j}]", "the id of a listed perpetrator", ref)
        c.date(f"{p}.date", a.get("date"))
    src = meta.get("sources")
    if src is not None and c.keys("sources", src, ("count", "independent", "types",
                                                   "connections")):
        for k in ("count", "independent"):
            n = src.get(k, 0)
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                c.bad(f"sources.{k}", "a whole number >= 0", n)
        for j, t in enumerate(src.get("types") or []):
            c.term(f"sources.types[{j}]", "source_types", t)
        for j, t in enumerate(src.get("connections") or []):
            c.term(f"sources.connections[{j}]", "source_connection", t)
    rev = meta.get("review")
    if rev is not None and c.keys("review", rev, ("verified_by", "approved_by",
                                                  "risk_reviewed", "quotes_acknowledged")):
        for j, q in enumerate(rev.get("quotes_acknowledged") or []):
            if not (isinstance(q, str) and re.fullmatch(r"[0-9a-f]{12}", q)):
                c.bad(f"review.quotes_acknowledged[{j}]", "a quote id (12 hex digits)", q)
        _fingerprint_or_null(c, "review.verified_by", rev.get("verified_by"))
        _fingerprint_or_null(c, "review.approved_by", rev.get("approved_by"))
        c.date("review.risk_reviewed", rev.get("risk_reviewed"))
    for k in ("received", "published", "updated"):
        c.date(k, meta.get(k))
    for j, t in enumerate(meta.get("tags") or []):
        c.text(f"tags[{j}]", t, nullable=False)
    for j, m in enumerate(c.items("media", meta.get("media"))):
        c.keys(f"media[{j}]", m, ("file", "caption"))
        f = m.get("file")
        if not isinstance(f, str) or "/" in f or f.startswith("."):
            c.bad(f"media[{j}].file", "a file name in media/", f)
        c.lang_text(f"media[{j}].caption", m.get("caption"))
    for j, iv in enumerate(c.items("interventions", meta.get("interventions"))):
        c.keys(f"interventions[{j}]", iv, ("date", "type", "summary"))
        c.date(f"interventions[{j}].date", iv.get("date"), nullable=False)
        c.term(f"interventions[{j}].type", "intervention_types", iv.get("type"))
        c.lang_text(f"interventions[{j}].summary", iv.get("summary"))
    wd = meta.get("withdrawn")
    if wd is not None and c.keys("withdrawn", wd, ("date", "reason")):
        c.date("withdrawn.date", wd.get("date"), nullable=False)
        c.lang_text("withdrawn.reason", wd.get("reason"))
    if meta.get("duplicate_of") is not None and not ID_RE.match(str(meta["duplicate_of"])):
        c.bad("duplicate_of", "a case id", meta["duplicate_of"])
    return c.problems


def _has_private_key(meta: Any) -> bool:
    stack = [meta]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if not PRIVATE_KEYS.isdisjoint(value):
                return True
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def confidential_keys(meta: Any, path: str = "") -> list[str]:
    """Dotted paths of confidential keys anywhere in a front matter (the build refuses).
    Paths are only spelt out when there is one (twice a case a build, ~150 nodes each)."""
    if not path and not _has_private_key(meta):
        return []
    found: list[str] = []
    if isinstance(meta, dict):
        for k, v in meta.items():
            p = f"{path}.{k}" if path else str(k)
            if k in PRIVATE_KEYS:
                found.append(p)
            found.extend(confidential_keys(v, p))
    elif isinstance(meta, list):
        for i, v in enumerate(meta):
            found.extend(confidential_keys(v, f"{path}[{i}]"))
    return found


# libyaml's parser when present: a front matter parses ~3x faster than in pure Python,
# which is most of loading 20,000 cases (the constructors, and so the safety, are the same).
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[valid-type,misc]
    """Safe YAML where an impossible date (2025-13-45) stays text, so validation can report
    it with the other problems instead of aborting the whole file."""


def _timestamp(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)  # type: ignore[arg-type]
    except ValueError:
        return loader.construct_scalar(node)  # type: ignore[arg-type]


def _str(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    """Keys and vocabulary values repeat in every case ('type', 'victims', 'killing'...):
    one shared copy each instead of one per case (~2.5 KB a case, 50 MB at 20,000)."""
    return sys.intern(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
_Loader.add_constructor("tag:yaml.org,2002:str", _str)


# -- load / save ------------------------------------------------------------------------
def _front_matter(head: str, where: str) -> Any:
    try:
        return yaml.load(head, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 2}" if mark else ""
        raise ValidationError([f"{where}:{line}: front matter is not valid YAML"]) from exc


_DATE_TAG = "\x00date"


def _tag(value: object) -> object:
    if type(value) is dt.date:
        return {_DATE_TAG: value.isoformat()}
    raise TypeError(f"not cached: {type(value).__name__}")


def _untag(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and _DATE_TAG in obj:
        return dt.date.fromisoformat(obj[_DATE_TAG])
    return obj


class FrontMatterCache:
    """Parsed front matters by sha256 of their YAML text, in `.temoin/cache/front-matter.json`
    (git-ignored): libyaml takes ~1.1 ms a case.md, JSON ~0.05 ms (1,000 cases: 1.1 s ->
    0.05 s). Only the YAML parse is cached: validation still runs on every load. Dropped
    when it does not parse or when this module changes (the loader lives here); an entry
    must decode to exactly what YAML gave, and a front matter holding a confidential key
    (which the build refuses) is never written. Rewritten only when its entries change,
    with the entries of this load only."""

    PATH = Path(".temoin") / "cache" / "front-matter.json"

    def __init__(self, repo: Path) -> None:
        self.path = Path(repo) / self.PATH
        self.version = hashlib.sha256(
            f"{yaml.__version__} {_SafeLoader.__name__}".encode()
            + Path(__file__).read_bytes()).hexdigest()
        self.old: dict[str, Any] = {}
        try:
            data = json.loads(self.path.read_bytes(), object_hook=_untag)
            if data["version"] == self.version and isinstance(data["entries"], dict):
                self.old = data["entries"]
        except (OSError, ValueError, KeyError, TypeError):
            pass  # missing or unreadable: parse everything again
        self.used: dict[str, Any] = {}
        self.changed = False

    @staticmethod
    def key(head: str) -> str:
        return hashlib.sha256(head.encode("utf-8", "surrogatepass")).hexdigest()

    def lookup(self, key: str) -> Any:
        """The cached front matter of this key, or None (then parse the file)."""
        if key in self.old and key not in self.used:
            meta = self.used[key] = self.old.pop(key)
            return meta
        return None

    def get(self, head: str, where: str) -> Any:
        key = self.key(head)
        if key in self.old and key not in self.used:
            meta = self.used[key] = self.old.pop(key)
            return meta
        meta = _front_matter(head, where)
        if key not in self.used and isinstance(meta, dict) and not confidential_keys(meta):
            try:  # a copy: the caller may change its own meta before `save`
                copy = json.loads(json.dumps(meta, default=_tag), object_hook=_untag)
            except (TypeError, ValueError, RecursionError):
                copy = None
            if copy == meta:
                self.used[key] = copy
                self.changed = True
        return meta

    def save(self) -> None:
        if not (self.changed or self.old):
            return
        data = json.dumps({"version": self.version, "entries": self.used}, default=_tag)
        with contextlib.suppress(OSError):  # a read-only checkout builds without the cache
            write_atomic(self.path, data.encode("ascii"))


def parse(text: str, where: str, front: FrontMatterCache | None = None) -> Case:
    """Split and parse a case.md text; raises ValidationError listing every problem.
    `front`: a cache of parsed front matters (the build's)."""
    head, body = _split(text, where)
    meta = front.get(head, where) if front is not None else _front_matter(head, where)
    problems = validate(meta, where)
    if problems:
        raise ValidationError(problems)
    return Case(meta=meta, narrative=body.lstrip("\n"))


def _split(text: str, where: str) -> tuple[str, str]:
    """(front matter YAML, body) of a case.md text."""
    if not text.startswith("---\n"):
        raise ValidationError([f"{where}: expected YAML front matter starting with '---'"])
    head, sep, body = text[4:].partition("\n---\n")
    if not sep:
        if text[4:].rstrip().endswith("\n---") or text.rstrip().endswith("---"):
            head, body = text[4:].rstrip()[:-3], ""
        else:
            raise ValidationError([f"{where}: front matter not closed with '---'"])
    return head, body


def load(repo: Path, case_id: str) -> Case:
    folder = case_dir(repo, case_id)
    return load_file(folder / "case.md", repo)


def load_file(path: Path, repo: Path | None = None, front: FrontMatterCache | None = None,
              files: StatCache | None = None) -> Case:
    """`files` (with `front`): case.md files unchanged since the last build are not read;
    their front matter comes from `front` and their narrative from `files`."""
    where = str(path.relative_to(repo)) if repo else str(path)
    case = _cached(path, where, front, files) if files is not None else None
    if case is None:
        key = None
        try:
            if files is not None and front is not None:
                raw, key = files.read(path)  # as read_text: universal newlines
                text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
            else:
                text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CaseError(f"{where}: no such case (see `temoin case list`)") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError([f"{where}: cannot read as UTF-8 text: {exc}"]) from exc
        case = parse(text, where, front)
        if files is not None and front is not None:
            head_key = front.key(_split(text, where)[0])
            if head_key in front.used:  # else the front matter is parsed again each time
                files.put(path, key, [head_key, case.narrative])
    case.folder = path.parent
    if case.id != path.parent.name:
        raise ValidationError([f"{where}: id: expected {path.parent.name} (the folder name), "
                               f"got {case.id!r}"])
    return case


def _cached(path: Path, where: str, front: FrontMatterCache | None,
            files: StatCache) -> Case | None:
    """The case from the caches if its case.md is unchanged (validated again), else None."""
    value, hit = files.get(path)
    if not hit or front is None or not (isinstance(value, list) and len(value) == 2):
        return None
    head_key, narrative = value
    meta = front.lookup(str(head_key))
    if meta is None or not isinstance(narrative, str):
        return None
    problems = validate(meta, where)
    if problems:
        raise ValidationError(problems)
    return Case(meta=meta, narrative=narrative)


def load_all(repo: Path, strict: bool = True, cache: bool = False,
             files: StatCache | None = None) -> tuple[list[Case], list[str]]:
    """Every case under cases/, sorted by id, and every problem found (raise if strict).
    `cache`: reuse and update the front-matter cache (`temoin build`); `files`: the build's
    stat cache, so that unchanged case.md files are not read (needs `cache`)."""
    root = Path(repo) / CASES
    out: list[Case] = []
    problems: list[str] = []
    front = FrontMatterCache(repo) if cache else None
    if files is not None and root.is_dir():  # no glob: the stat cache stats case.md anyway
        with os.scandir(root) as entries:
            folders = sorted(e.name for e in entries if e.is_dir())
        paths = [p for p in (root / name / "case.md" for name in folders) if files.is_file(p)]
    else:
        paths = sorted(root.glob("*/case.md")) if root.is_dir() else []
    for path in paths:
        try:
            out.append(load_file(path, Path(repo), front, files))
        except ValidationError as exc:
            problems.extend(exc.problems)
        except CaseError as exc:
            problems.append(exc.message)
    if front is not None:
        front.save()
    if strict and problems:
        raise ValidationError(problems)
    return out, problems


def _ordered(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: meta[k] for k in FIELD_ORDER if k in meta}


_FRONT_STYLE: dict[str, Any] = {"allow_unicode": True, "sort_keys": False,
                                "default_flow_style": None, "width": 100}
# Characters libyaml and PyYAML's emitter treat alike (printable, no line separator, no BOM,
# within the BMP). Both fold a line only once it is past `width` (100), so output whose
# lines are all shorter was folded by neither.
_PLAIN_TEXT = re.compile(r"[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]*")
_CDumper: type[yaml.SafeDumper] | None = getattr(yaml, "CSafeDumper", None)


def _emits_alike(value: Any) -> bool:
    """Would libyaml write `value` byte for byte as PyYAML's emitter does? (They differ in
    where they fold long lines, in escapes and in datetime tags.)"""
    if isinstance(value, str):
        return len(value) < 100 and _PLAIN_TEXT.fullmatch(value) is not None
    if isinstance(value, dict):
        return all(_emits_alike(k) and _emits_alike(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_emits_alike(v) for v in value)
    return value is None or (isinstance(value, bool | int | float | dt.date)
                             and not isinstance(value, dt.datetime))


def dumps(case: Case) -> str:
    """case.md's text. libyaml writes the front matter when its output is provably PyYAML's
    (~5x less CPU: a draft's front matter); anything else goes to PyYAML's emitter."""
    meta = _ordered(case.meta)
    head = None
    if _CDumper is not None and _emits_alike(meta):
        head = yaml.dump(meta, Dumper=_CDumper, **_FRONT_STYLE)
        if any(len(line) >= 100 for line in head.splitlines()):
            head = None
    if head is None:
        head = yaml.safe_dump(meta, **_FRONT_STYLE)
    body = case.narrative.strip("\n")
    return f"---\n{head}---\n\n{body}\n" if body else f"---\n{head}---\n"


def save(repo: Path, case: Case, after: Sequence[Future[None]] = ()) -> Path:
    """Validate and write `case.md` atomically (once the writes `after` are done: see
    `write_atomic`); returns its path."""
    where = f"{CASES}/{case.id}/case.md"
    problems = validate(case.meta, where)
    if problems:
        raise ValidationError(problems)
    case.folder = case_dir(repo, case.id)
    write_atomic(case.path, dumps(case).encode("utf-8"), after=after)
    return case.path


# -- confidential parts -----------------------------------------------------------------
def private_path(repo: Path, case_id: str) -> Path:
    return case_dir(repo, case_id) / "private.yaml.asc"


# libyaml's emitter when present (8x less CPU than the pure-Python one); its YAML loads
# back to the same data with _SafeLoader.
_SafeDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def private_yaml(data: dict[str, Any]) -> bytes:
    """The private part as the YAML that `write_private` encrypts (in memory only)."""
    try:
        text = yaml.dump(data, Dumper=_SafeDumper, allow_unicode=True, sort_keys=False,
                         width=100)
    except UnicodeError:  # libyaml refuses a lone surrogate; the Python emitter escapes it
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    return text.encode("utf-8")


def write_private(repo: Path, case_id: str, data: dict[str, Any], keyring: Keyring,
                  recipients: Iterable[str]) -> Path:
    """Encrypt the private part to every recipient and write it atomically (no plaintext
    ever touches the disk)."""
    path = private_path(repo, case_id)
    write_atomic(path, keyring.encrypt(private_yaml(data), recipients), mode=0o644)
    return path


def read_private(repo: Path, case_id: str, keyring: Keyring) -> dict[str, Any]:
    """Decrypt the private part into memory ({} when the case has none)."""
    path = private_path(repo, case_id)
    if not path.exists():
        return {}
    res = keyring.decrypt(path.read_bytes())
    if not res.ok:
        raise CryptoError(f"{path.relative_to(repo)}: cannot decrypt ({res.reason}); is your "
                          "editor secret key in GNUPGHOME?")
    data = yaml.load(res.plaintext.decode("utf-8"), Loader=_SafeLoader) or {}  # noqa: S506
    if not isinstance(data, dict):
        raise CaseError(f"{path.relative_to(repo)}: private part is not a mapping")
    return data


def evidence_path(repo: Path, case_id: str, sha256: str) -> Path:
    return case_dir(repo, case_id) / "evidence" / f"{sha256}.asc"


def write_evidence(repo: Path, case_id: str, data: bytes, keyring: Keyring,
                   recipients: Iterable[str]) -> str:
    """Store an attachment encrypted as evidence/<sha256>.asc; return its sha256."""
    digest = hashlib.sha256(data).hexdigest()
    path = evidence_path(repo, case_id, digest)
    if not path.exists():
        write_atomic(path, keyring.encrypt(data, recipients))
    return digest


def read_evidence(repo: Path, case_id: str, sha256: str, keyring: Keyring) -> bytes:
    """Decrypt one evidence file into memory and check its hash."""
    path = case_dir(repo, case_id) / "evidence" / f"{sha256}.asc"
    res = keyring.decrypt(path.read_bytes(), max_output=1 << 31)
    if not res.ok or hashlib.sha256(res.plaintext).hexdigest() != sha256:
        raise CryptoError(f"{path.relative_to(repo)}: cannot decrypt or hash mismatch")
    return res.plaintext
