"""Post-build publication gates (DESIGN §7): nothing confidential, unpublished, third-party,
scriptable or carrying metadata leaves in the built site.

`run` reads every output file once and applies every gate to it (a file with no canary
verdict yet is read a second time, once the matcher is built):

* canary: no private value (see `checks.canaries` for which values and how they are
  normalised) in any file: HTML, search index, feeds, exports, sitemap (also .gz), JS, SVG,
  PDF text and metadata (`pdftotext`/`pdfinfo`, and inflated FlateDecode streams), file
  names included. All patterns are matched in one Aho-Corasick pass per file.
* unpublished-case: no id of a case that must not appear (same matcher, same pass).
* third-party, active-content, csp: HTML, SVG, XML and CSS rules in `gates.markup` (HTML
  parsed as a browser does, `gates.page`); script files and what pages make run, by hash
  against the allow-list (`gates.scripts`, issue 20).
* file-type: only allowed file types, each what its name says (`gates.filetypes`); no
  symbolic link, special file or hard link in the output.
* media: every image carries no EXIF/XMP/IPTC/GPS/ICC/comment (`media.metadata_found`).

Every gate is a pure function of a file's bytes, its path and the build's inputs, and
most files are the same from one build to the next, so passes are remembered (`Verdicts`,
in this user's authenticated cache folder, `temoin.cache`):
with `verdicts` (a cache file) a page whose markup passed once (third-party, active-content, CSP;
a PDF's actions) is not parsed again while the page, its path, the site's URL and the gate
code are the same. With `canary_verdicts` and a `secret` (kept encrypted with the canaries,
see `canary_source`) a file that passed the canary and unpublished-case scan is not read for
them again while the file, its path, the gate code and the whole set of canaries and
forbidden ids are the same: one changed case changes the set and every file is scanned.

Findings never repeat a private value: they name the case and the field it came from.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from temoin import cache as cache_mod
from temoin import script_policy
from temoin.gates import canaries as _can
from temoin.gates import filetypes, markup, media, scripts
from temoin.gates.fold import fold

GATES = ("canary", "unpublished-case", "third-party", "active-content", "csp", "media",
         "file-type")
T = TypeVar("T")
R = TypeVar("R")
MAX_PER_FILE = 20            # findings of one gate in one file before "... and N more"
MAX_INFLATE = 64 << 20       # bound on any decompressed member (gzip, zip, PDF stream)
BINARY = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".avif", ".bmp",
                    ".tif", ".tiff", ".heic", ".heif", ".jxl", ".woff", ".woff2", ".ttf",
                    ".otf", ".eot", ".mp3", ".mp4", ".webm", ".ogg", ".wav"})
IMAGES = frozenset(media.IMAGE_SUFFIXES)


@dataclass(frozen=True)
class Finding:
    """One thing a gate refused: which gate, in which file (relative), what was found."""

    gate: str
    path: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.gate}] {self.path}: {self.detail}"


@dataclass(frozen=True)
class Canary:
    """A private string that must never ship, and where it comes from.

    `value` is matched after normalisation (see `checks.canaries`); values shorter than 3
    characters once normalised are ignored. `suffix` lets it match the end of a longer
    number (a phone number written with a country code). An empty `value` records a
    private value that cannot serve as a canary (public vocabulary, too common a word):
    reported once by `curate`, never matched.
    """

    value: str
    case_id: str
    field: str
    suffix: bool = False


def canaries_from_private(case_id: str, private: dict[str, Any]) -> list[Canary]:
    """Every value of a case's private part worth scanning for (rule: `checks.canaries`)."""
    return [Canary(value, case_id, field, suffix)
            for field, value, suffix in _can.private_values(private or {})]


# Statuses whose private part an editor has reviewed: only their values guard the whole
# site. A draft's (an anonymous submission, maybe hostile) or a rejected case's values are
# checked against that case's own public text and reported, never against other cases.
REVIEWED = frozenset({"review", "published", "withdrawn"})


@dataclass
class Curated:
    """The canaries that guard the whole site, and what to report without refusing."""

    guard: list[Canary]
    notices: list[str]


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


def curate(canaries: Iterable[Canary], cases: Iterable[Any]) -> Curated:
    """Split a repository's canaries (`cases`: objects with `id`, `status`, `meta`,
    `narrative`) into those that guard every file (cases in REVIEWED) and notices: each
    value not usable as a canary, once, and each value of a not yet reviewed case found in
    that case's own public text. A case's own public place names are no canary for it."""
    by_case = {c.id: c for c in cases}
    guard: list[Canary] = []
    notices: set[str] = set()
    own: dict[str, list[Canary]] = defaultdict(list)
    places = {cid: _public_places(c.meta) for cid, c in by_case.items()}
    # What published cases show by design (their places, the names of victims who
    # consented to be named) is public vocabulary for the whole site: a hill named like
    # another case's commune or a named victim cannot serve as a canary alone.
    shown = {w for cid, c in by_case.items() if c.status == "published"
             for p in places[cid] | _public_names(c.meta) for w in (p, *p.split())}
    for c in canaries:
        case = by_case.get(c.case_id)
        if not c.value:
            notices.add(f"cases/{c.case_id}/private.yaml.asc: {c.field}: public vocabulary or "
                        "too common a word: not usable as a canary")
        elif case is None or c.value in places.get(c.case_id, ()) or c.value in shown:
            continue
        elif case.status in REVIEWED:
            guard.append(c)
        else:
            own[c.case_id].append(c)
    for cid, found in own.items():
        case = by_case[cid]
        text = case_text(case)
        for field in text_leaks(matcher(found), text):
            notices.add(f"cases/{cid}/case.md: holds a value of its private part ({field}); "
                        f"not refused while the case is {case.status} (no editor has "
                        "reviewed its private part): remove it before review")
    return Curated(guard, sorted(notices))


def case_text(case: Any) -> str:
    """A case's public text as the site shows it: front matter strings and narrative."""
    from temoin import cases as cases_mod

    return cases_mod.dumps(case)


def matcher(canaries: Iterable[Canary], forbidden_ids: Iterable[str] = ()) -> _can.Matcher:
    """THE matcher of the canary gate (the build's scan, `case publish`, `temoin check`):
    every canary and forbidden id in one automaton. Payloads are (gate, detail)."""
    m = _can.Matcher()
    for c in canaries:
        folded = fold(c.value)
        if len(folded) >= _can.MIN_NAME:
            m.add(folded, ("canary", f"private value of case {c.case_id} ({c.field})"),
                  suffix=c.suffix)
    for case_id in forbidden_ids:
        m.add(fold(case_id), ("unpublished-case", f"id of unpublished case {case_id}"))
    m.find(" ")  # build the automaton now
    return m


def find(m: _can.Matcher, text: str, is_markup: bool = True) -> set[Any]:
    """Every payload of `m` in one text: its byte strings and its visible text
    (`canaries.forms`), piece by piece for a large one."""
    hits: set[Any] = set()
    for piece in _pieces(text):
        for form in _can.forms(piece, is_markup):
            hits |= m.find(form)
    return hits


_FIELD = re.compile(r"private value of case \S+ \((.*)\)$")


def text_leaks(m: _can.Matcher, text: str, is_markup: bool = True) -> list[str]:
    """The private fields whose values `m` finds in `text` (never the values)."""
    return sorted({f[1] for _gate, detail in find(m, text, is_markup)
                   if (f := _FIELD.match(detail))})


# -- reading the output ---------------------------------------------------------------------

def _inflate(data: bytes, wbits: int) -> bytes:
    """Decompress at most MAX_INFLATE bytes (a bomb stops there, never fills memory)."""
    return zlib.decompressobj(wbits).decompress(data, MAX_INFLATE)


INSTALL_POPPLER = "apt-get install poppler-utils"


class ToolError(Exception):
    """An external tool a gate needs is missing or failed: the gate fails closed."""


def _tool(*args: str) -> str:
    """stdout of a poppler tool; ToolError if it is missing, fails or times out (a gate that
    cannot read a PDF has not checked it)."""
    if not shutil.which(args[0]):
        raise ToolError(f"{args[0]} is not installed, so this PDF's text was not checked: "
                        f"install poppler-utils (`{INSTALL_POPPLER}`) and build again")
    try:
        out = subprocess.run(args, capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolError(f"{args[0]} could not read this PDF ({type(exc).__name__}), so its "
                        f"text was not checked; check poppler-utils (`{INSTALL_POPPLER}`)"
                        ) from exc
    if out.returncode != 0:
        raise ToolError(f"{args[0]} failed on this PDF (exit {out.returncode}), so its text "
                        f"was not checked; check poppler-utils (`{INSTALL_POPPLER}`) or the "
                        "PDF")
    return out.stdout.decode("utf-8", "replace")


_PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|SubmitForm|ImportData|RichMedia)(?![A-Za-z])")


_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.S)
_TEXT_BYTES = bytes([9, 10, 13, *range(0x20, 0x7F)])  # tab, newlines, printable ASCII


def _textual(chunk: bytes) -> bool:
    """Dictionaries, content streams, XMP: text. Font programs, images, compressed bytes:
    binary, where any 3-byte name (/JS) or 8-digit run turns up by chance (at 1,000 cases
    the benchmark site's ~1,100 bulletin PDFs gave 4 '/JS' and 3 phone-number hits).
    Binary means more than 1 byte in 10 of the first 64 KiB outside `_TEXT_BYTES`, counted
    in C by deleting the others (a regex findall made a list of every such byte: three
    quarters of the gates' time on a PDF)."""
    head = chunk[:65536]
    return len(head.translate(None, _TEXT_BYTES)) <= len(head) // 10


def _pdf_blob(data: bytes) -> bytes:
    """A PDF with its stream bodies replaced by their inflated text (object streams hide
    dictionaries); binary streams (fonts, images) are left out."""
    chunks = []
    for m in _STREAM.finditer(data):
        try:
            inflated = _inflate(m[1], zlib.MAX_WBITS)
        except zlib.error:
            inflated = m[1]
        if _textual(inflated):
            chunks.append(inflated)
    return _STREAM.sub(b"stream\nendstream", data) + b"\n" + b"\n".join(chunks)


def _pdf_actions(blob: bytes) -> list[str]:
    """Scripting or launching actions a PDF declares (names' #xx escapes decoded)."""
    names = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m[1], 16)]), blob)
    return sorted({m[1].decode() for m in _PDF_ACTIVE.finditer(names)})


PDF_TEXT = cache_mod.Spec("pdf-text", ("temoin.gates",), (),
                          "what pdftotext and pdfinfo read in each PDF, by its sha256")
MARKUP_VERDICTS = cache_mod.Spec(
    "markup-verdicts.json", ("temoin.gates", "temoin.script_policy"),
    ("mkdocs-material", "selectolax", "defusedxml"),  # the theme's scripts, the parsers
    "keys of pages that passed the third-party, active-content and CSP gates")
CANARY_VERDICTS = cache_mod.Spec(
    "canary-verdicts.json", ("temoin.gates",), ("pyahocorasick", "confusable-homoglyphs"),
    "keys of files that passed the canary and unpublished-id scan (keyed with a secret)")


def _poppler(path: Path, data: bytes, cache: cache_mod.CacheFolder | None
             ) -> list[tuple[str, bool]]:
    """What pdftotext and pdfinfo read in a PDF: three processes, ~45 ms. Bulletin PDFs are
    the same bytes build after build, so with `cache` the result is kept under the sha256
    of the PDF: it is the text of a file being published, nothing private; an entry this
    user's cache key did not sign is not read. A reading with an empty text is neither
    kept nor trusted (a tool that failed quietly is asked again next build)."""
    key = hashlib.sha256(data).hexdigest() if cache is not None else ""
    raw = cache.get(key) if cache is not None else None
    if raw is not None:
        with contextlib.suppress(ValueError, TypeError):
            got = [(str(t), bool(m)) for t, m in json.loads(raw)]
            if got and got[0][0].strip():
                return got
    out = [(_tool("pdftotext", "-q", "-enc", "UTF-8", str(path), "-"), False),
           (_tool("pdfinfo", "-enc", "UTF-8", "-custom", str(path)), False),
           (_tool("pdfinfo", "-meta", str(path)), True)]
    if cache is not None and out[0][0].strip() and out[1][0].strip():
        cache.put(key, json.dumps(out).encode("utf-8"))
    return out


def _pdf_texts(path: Path, data: bytes, cache: cache_mod.CacheFolder | None = None,
               blob: bytes | None = None) -> Iterator[tuple[str, bool]]:
    """The text, metadata (Info and XMP) and inflated streams (`blob`: `_pdf_blob(data)`,
    if already made) of a PDF."""
    yield from _poppler(path, data, cache)
    # PDF dictionaries use << >>: not markup, so no tag stripping. Literal strings are
    # often PDFDocEncoding (latin-1 is close enough to find names).
    blob = _pdf_blob(data) if blob is None else blob
    yield blob.decode("utf-8", "replace"), False
    yield blob.decode("latin-1"), False


def _texts(path: Path, rel: str, data: bytes, cache: cache_mod.CacheFolder | None = None,
           blob: bytes | None = None) -> Iterator[tuple[str, bool]]:
    """Everything in one file that a reader could see, as (text, is markup)."""
    low = rel.lower()
    yield rel, False  # a name in a file name or folder is a leak too
    if low.endswith(".gz"):
        try:
            inner = _inflate(data, 16 + zlib.MAX_WBITS)
        except zlib.error:
            inner = b""
        yield inner.decode("utf-8", "replace"), True
    elif low.endswith(".zip"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for info in z.infolist():
                    yield info.filename, False
                    with z.open(info) as member:
                        yield member.read(MAX_INFLATE).decode("utf-8", "replace"), True
        except (zipfile.BadZipFile, OSError, NotImplementedError):
            yield data.decode("utf-8", "replace"), True
    elif low.endswith(".pdf"):
        yield from _pdf_texts(path, data, cache, blob)
    elif os.path.splitext(low)[1] not in BINARY:
        yield data.decode("utf-8", "replace"), True


# -- one file, every gate -------------------------------------------------------------------

@lru_cache(maxsize=1)
def _vendored() -> frozenset[str]:
    """sha256 of the third-party files Témoin ships (site/assets/vendor/SHA256SUMS). Their
    bytes are fixed when vendored, so they cannot hold a case's data; scanning them for
    canaries only finds chance matches: a minified library is full of digit runs, and with
    20,000 cases' phone numbers matched by their last 8 digits one always turns up (the
    benchmark's 20,000-case build was refused for OpenPGP.js)."""
    try:
        text = resources.files("temoin").joinpath("site", "assets", "vendor",
                                                  "SHA256SUMS").read_text(encoding="utf-8")
    except OSError:
        text = ""
    sums = {line.split()[0] for line in text.splitlines() if line.strip()}
    # The installed theme's own assets, byte for byte (Material's lunr stemmers hold word
    # lists of many languages, where a 4-letter hill name of a case turns up by chance).
    with contextlib.suppress(ImportError, OSError):
        import material

        assets = Path(str(material.__file__)).parent / "templates" / "assets"
        sums |= {hashlib.sha256(f.read_bytes()).hexdigest()
                 for f in assets.rglob("*") if f.is_file()}
    return frozenset(sums)


MARKUP_GATES = frozenset({"third-party", "active-content", "csp"})
# PDF: its actions; .gz: what it holds, by its inner name.
MARKUP_SUFFIXES = frozenset({".html", ".htm", ".svg", ".xml", ".css", ".pdf", ".gz"})


class Verdicts:
    """The pages that passed every markup gate in earlier builds, by key.

    A key is the sha256 of the cache file's version (the gate code: `gates` and `site`
    packages, the installed Material, Python), the markup gates run, the site's URL, the
    page's path and its bytes: it only matches a page that the same code already passed
    with the same inputs, so a cached verdict is never stale; any other page is parsed.
    Only passes are kept (a refused page is parsed again next time, and no finding reaches
    the disk). The file holds hashes only, nothing a page says; it is authenticated with
    this user's cache key (`temoin.cache`): one that is missing, forged or copied from
    elsewhere is ignored. Saved with only the keys of this build, so it never grows beyond
    one site. `salt` makes the same kind of file for another gate (the canary scan).

    A page's verdict also keeps the site files it makes run (`gates.scripts.Ref`): those
    are judged by hash on every build, since a script file can change while the page that
    loads it does not.
    """

    def __init__(self, file: cache_mod.CacheFile | None, site_url: str, gates: Iterable[str],
                 salt: bytes = b"") -> None:
        self.file = file
        rules = file.version if file is not None else ""
        inputs = "\0".join([rules, *sorted(MARKUP_GATES & set(gates)), site_url])
        self._salt = hashlib.sha256(inputs.encode("utf-8", "surrogateescape") + salt).digest()
        self.known = self._load()

    def _load(self) -> dict[str, tuple[scripts.Ref, ...]]:
        raw = self.file.load() if self.file is not None else None
        if raw is None:
            return {}
        with contextlib.suppress(ValueError, TypeError):
            doc = json.loads(raw)
            if isinstance(doc, list):
                return {k: () for k in doc if isinstance(k, str)}
            if isinstance(doc, dict):
                return {k: tuple((str(h), str(p)) for h, p in v) for k, v in doc.items()
                        if isinstance(k, str) and isinstance(v, list)}
        return {}

    def key(self, rel: str, digest: bytes) -> str:
        """The key of the page at `rel` (a relative path) whose bytes have this sha256."""
        return hashlib.sha256(self._salt + rel.encode("utf-8", "surrogateescape") + b"\0"
                              + digest).hexdigest()

    def save(self, passed: Iterable[str] | Mapping[str, Iterable[scripts.Ref]]) -> None:
        """Keep `passed` (this build's passing pages, with what each makes run) for the
        next build, atomically."""
        if not isinstance(passed, Mapping):
            keys = sorted(set(passed))
            if self.file is None or frozenset(keys) == frozenset(self.known):
                return
            self.file.save(json.dumps(keys, separators=(",", ":")).encode("ascii"))
            return
        doc = {k: sorted(set(v)) for k, v in sorted(passed.items())}
        if self.file is None or {k: tuple(v) for k, v in doc.items()} == {
                k: tuple(sorted(set(v))) for k, v in self.known.items()}:
            return
        self.file.save(json.dumps(doc, separators=(",", ":"),
                                  ensure_ascii=True).encode("ascii"))


class _Scan:
    """The state shared by every file: the patterns, the site's origin, the gates wanted.

    The matcher is built only when a file has no canary verdict (`matcher`): on a rebuild
    where nothing changed, none is needed, and building it from 318,644 canaries (20,000
    cases) cost more than the rest of the gates."""

    def __init__(self, canaries: Iterable[Canary], forbidden_ids: Iterable[str],
                 site_url: str, gates: Iterable[str],
                 cache: cache_mod.CacheFolder | None = None,
                 verdicts: cache_mod.CacheFile | None = None,
                 canary_verdicts: cache_mod.CacheFile | None = None,
                 secret: bytes | None = None) -> None:
        self.gates = frozenset(gates)
        self.cache = cache
        self.origin = markup.Origin(site_url)
        self.verdicts = Verdicts(verdicts, site_url, self.gates)
        self._canaries = list(canaries) if "canary" in self.gates else []
        self._forbidden = list(forbidden_ids) if "unpublished-case" in self.gates else []
        self._matcher: _can.Matcher | None = None
        # What a file's canary verdict depends on: the patterns as given (the matcher's
        # are a function of them and of the gate code, which the file's version covers).
        # They are private: only a keyed hash of them (`secret` is random and kept
        # encrypted to the editors) reaches the verdict file, so that file cannot confirm
        # a guessed name. Without a secret nothing is remembered.
        salt = b""
        if secret and canary_verdicts is not None:
            patterns = sorted([f"c{int(c.suffix)}{c.value}" for c in self._canaries]
                              + [f"u{case_id}" for case_id in self._forbidden])
            h = hashlib.sha256(secret)
            h.update("\n".join(patterns).encode("utf-8", "surrogateescape"))
            salt = hashlib.sha256(secret + h.digest()).digest()
        self.canary_verdicts = Verdicts(canary_verdicts if salt else None, "", (),
                                        salt=salt + "\0".join(sorted(_vendored())).encode())

    @property
    def scans_canaries(self) -> bool:
        return bool(self._canaries or self._forbidden)

    @property
    def matcher(self) -> _can.Matcher:
        """Every canary and forbidden id in one automaton, built on first use (before any
        fork, by `scan`, when some file needs it)."""
        if self._matcher is None:
            self._matcher = matcher(self._canaries, self._forbidden)
        return self._matcher

    def file(self, site_dir: Path, rel: str) -> tuple[list[Finding], str | None, bytes,
                                                      str | None, list[scripts.Ref]]:
        """One file's markup and media findings, its markup verdict key if it passed
        them, its sha256, its canary verdict key (None: not scanned for canaries; a
        key not in `canary_verdicts.known` goes through `canary_scan`), and the site files
        it makes run (judged by `gates.scripts` once every file is hashed)."""
        with open(site_dir / rel, "rb") as f:
            links = os.fstat(f.fileno()).st_nlink
            data = f.read()
        digest = hashlib.sha256(data).digest()
        suffix = os.path.splitext(rel.lower())[1]
        found: list[tuple[str, str]] = []

        def report(gate: str, detail: str) -> None:
            if gate in self.gates:
                found.append((gate, detail))

        if links > 1:
            report("file-type", f"a hard link ({links} names for one file): the build "
                   "writes every file itself")
        filetypes.check(rel, data, digest, report)
        ckey = None
        if self.scans_canaries and digest.hex() not in _vendored():
            ckey = self.canary_verdicts.key(rel, digest)
        passed = None
        refs: list[scripts.Ref] = []
        if self.gates & MARKUP_GATES and suffix in MARKUP_SUFFIXES:
            key = self.verdicts.key(rel, digest)
            if key in self.verdicts.known:
                refs = list(self.verdicts.known[key])
            else:
                refs = self._markup(rel, suffix, data, report) or []
            passed = key if not found else None
        if "media" in self.gates and suffix in IMAGES:
            blocks = media.metadata_found(data, rel)
            if blocks:
                report("media", "image carries " + ", ".join(blocks))
        return _capped(rel, found), passed, digest, ckey, refs

    def _markup(self, rel: str, suffix: str, data: bytes, report: Callable[[str, str], None]
                ) -> list[scripts.Ref]:
        """The markup gates over one file's bytes (a .gz: over what it holds, named by its
        inner name, after the file-type gate); what an HTML page makes run."""
        if suffix == ".pdf":
            actions = _pdf_actions(_pdf_blob(data)) if "active-content" in self.gates else []
            if actions:
                report("active-content", "PDF declares " + ", ".join(f"/{a}" for a in actions))
        elif suffix == ".gz":
            inner = rel[:-3]
            inner_suffix = filetypes.suffix(inner)
            if inner_suffix in (".gz", "") or inner_suffix not in filetypes.ALLOWED:
                report("file-type", f".gz of {inner_suffix or 'a name without extension'}: "
                       "only .gz of an allowed type")
                return []
            try:
                content = _inflate(data, 16 + zlib.MAX_WBITS)
            except zlib.error:
                report("file-type", "not a valid gzip file")
                return []

            def inner_report(gate: str, detail: str) -> None:
                report(gate, f"(inflated) {detail}")

            filetypes.check(inner, content, hashlib.sha256(content).digest(), inner_report)
            if inner_suffix in MARKUP_SUFFIXES:
                self._markup(inner, inner_suffix, content, inner_report)
            return []  # a compressed page is not what a browser runs scripts from
        elif suffix == ".svg":
            markup.check_svg(data, rel, self.origin, report)
        elif suffix == ".xml":
            markup.check_xml(data, rel, self.origin, report)
        elif suffix == ".css":
            markup.check_css(data.decode("utf-8", "replace"), self.origin, report)
        else:
            return markup.check_html(data.decode("utf-8", "replace"), rel, self.origin,
                                     report) or []
        return []

    def canary_scan(self, site_dir: Path, rel: str, digest: bytes
                    ) -> tuple[list[Finding], str | None]:
        """The canary and unpublished-case findings in one file whose first read had
        sha256 `digest`, and its canary verdict key if it passed. The file is read again:
        bytes that differ from the first read are refused, so that every gate and the
        verdict stand for the same bytes."""
        path = site_dir / rel
        data = path.read_bytes()
        if hashlib.sha256(data).digest() != digest:
            return [Finding("canary", rel, "changed while the gates read it")], None
        if not len(self.matcher):
            return [], None
        suffix = os.path.splitext(rel.lower())[1]
        blob = _pdf_blob(data) if suffix == ".pdf" else None
        hits: set[Any] = set()
        try:
            for text, is_markup in _texts(path, rel, data, self.cache, blob):
                hits |= find(self.matcher, text, is_markup)
        except ToolError as exc:
            return [Finding("canary", rel, str(exc))], None
        found = list(hits)
        return _capped(rel, found), None if found else self.canary_verdicts.key(rel, digest)


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


def _capped_all(gate: str, found: Iterable[tuple[str, str]]) -> list[Finding]:
    """Site-wide findings of one gate, (file, detail) each, capped per file."""
    by_file: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for rel, detail in found:
        by_file[rel].append((gate, detail))
    return [f for rel, items in by_file.items() for f in _capped(rel, items)]


def _capped(rel: str, found: Iterable[tuple[str, str]]) -> list[Finding]:
    by_gate: dict[str, list[str]] = defaultdict(list)
    for gate, detail in found:
        if detail not in by_gate[gate]:
            by_gate[gate].append(detail)
    out = []
    for gate, details in by_gate.items():
        details.sort()
        out += [Finding(gate, rel, d) for d in details[:MAX_PER_FILE]]
        if len(details) > MAX_PER_FILE:
            out.append(Finding(gate, rel, f"... and {len(details) - MAX_PER_FILE} more"))
    return out


def _files(site_dir: Path, prefix: str = "", odd: list[str] | None = None) -> list[str]:
    """Relative paths of the regular files under `site_dir`, each folder's files first, by
    name; symbolic links and special files (never read, never followed) go to `odd`.
    `os.scandir` tells a file from a folder or a link without a stat call."""
    odd = [] if odd is None else odd
    with os.scandir(site_dir) as it:
        entries = sorted(it, key=lambda e: e.name)
    out = [prefix + e.name for e in entries if e.is_file(follow_symlinks=False)]
    odd += [prefix + e.name for e in entries
            if e.is_symlink() or not (e.is_file(follow_symlinks=False)
                                      or e.is_dir(follow_symlinks=False))]
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            out += _files(Path(e.path), f"{prefix}{e.name}/", odd)
    return out


_WORKER: tuple[_Scan, Path] | None = None


Refs = dict[str, list[scripts.Ref]]


def _work(batch: list[str]) -> tuple[list[Finding], Refs, list[str],
                                     list[tuple[str, bytes]], list[tuple[str, bytes]], Refs]:
    """`_Scan.file` over a batch: findings, markup passes (with what each page makes run),
    canary verdicts kept, (path, sha256) of every file, of the files that need the canary
    scan, and what each page makes run."""
    assert _WORKER is not None
    scan, site_dir = _WORKER
    findings: list[Finding] = []
    passed: Refs = {}
    runs: Refs = {}
    kept: list[str] = []
    sums: list[tuple[str, bytes]] = []
    todo: list[tuple[str, bytes]] = []
    for rel in batch:
        found, key, digest, ckey, refs = scan.file(site_dir, rel)
        findings += found
        sums.append((rel, digest))
        if refs:
            runs[rel] = refs
        if key is not None:
            passed[key] = refs
        if ckey is None:
            pass
        elif ckey in scan.canary_verdicts.known:
            kept.append(ckey)
        else:
            todo.append((rel, digest))
    return findings, passed, kept, sums, todo, runs


def _work_canaries(batch: list[tuple[str, bytes]]) -> tuple[list[Finding], list[str]]:
    assert _WORKER is not None
    scan, site_dir = _WORKER
    findings: list[Finding] = []
    clean: list[str] = []
    for rel, digest in batch:
        found, ckey = scan.canary_scan(site_dir, rel, digest)
        findings += found
        if ckey is not None:
            clean.append(ckey)
    return findings, clean


def _map(fn: Callable[[list[T]], R], items: list[T], state: _Scan, site_dir: Path,
         jobs: int) -> Iterator[R]:
    """`fn` over `items` in batches: in `jobs` forked processes on large sites (each
    inherits `state`, none rebuilds it), else here."""
    global _WORKER
    _WORKER = (state, site_dir)
    try:
        if jobs > 1 and len(items) > 2000 and hasattr(os, "fork"):
            import multiprocessing

            size = max(64, len(items) // (jobs * 8))
            batches = [items[i:i + size] for i in range(0, len(items), size)]
            ctx = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
                yield from pool.map(fn, batches)
        elif items:
            yield fn(items)
    finally:
        _WORKER = None


def scan(site_dir: Path, *, canaries: Iterable[Canary] = (), forbidden_ids: Iterable[str] = (),
         site_url: str = "", gates: Iterable[str] = GATES, jobs: int | None = None,
         cache_dir: cache_mod.CacheFolder | None = None,
         verdicts: cache_mod.CacheFile | None = None,
         canary_verdicts: cache_mod.CacheFile | None = None, secret: bytes | None = None,
         digests: dict[str, str] | None = None,
         allowed_scripts: script_policy.AllowList | None = None) -> list[Finding]:
    """Run the chosen gates over every file of `site_dir`.

    Every file is read and hashed once, and gone through by the markup and media gates
    (or their verdicts); the files without a canary verdict are then read again for the
    canary scan, after the matcher is built (only then, and only once). `jobs` processes
    share the work on large sites (default: one per CPU, capped at 4, only above 2,000
    files). `cache_dir` (`PDF_TEXT`) keeps what poppler reads in each PDF, by the PDF's
    sha256, from one build to the next; `verdicts` (`MARKUP_VERDICTS`) the pages that
    passed the markup gates (`Verdicts`); `canary_verdicts` (`CANARY_VERDICTS`) the files
    that passed the canary scan, under keys made with `secret` (random bytes that never
    leave the encrypted canary cache).
    `digests`, if given, receives every file's sha256 (hex) by relative path: the bytes
    the gates passed, for the manifest. `allowed_scripts`: the script files the site may
    hold (default, for an ad-hoc scan: Material's and the vendored ones, and an installed
    script behind generated data lines; `temoin build` gives the exact list, with the
    bytes of the scripts it generated from signed inputs).
    """
    site_dir = Path(site_dir)
    state = _Scan(canaries, forbidden_ids, site_url, gates, cache_dir, verdicts,
                  canary_verdicts, secret)
    odd: list[str] = []
    files = _files(site_dir, odd=odd)
    jobs = jobs if jobs is not None else min(os.cpu_count() or 1, 4)
    findings: list[Finding] = [
        Finding("file-type", rel, "a symbolic link or special file (a site holds only "
                "files the build wrote)") for rel in odd if "file-type" in state.gates]
    passed: Refs = {}
    runs: Refs = {}
    sha: dict[str, str] = {}
    clean: list[str] = []
    todo: list[tuple[str, bytes]] = []
    for part, keys, kept, sums, need, refs in _map(_work, files, state, site_dir, jobs):
        findings.extend(part)
        passed.update(keys)
        runs.update(refs)
        clean.extend(kept)
        todo.extend(need)
        sha.update((rel, d.hex()) for rel, d in sums)
    if digests is not None:
        digests.update(sha)
    if "active-content" in state.gates:
        allowed = allowed_scripts or script_policy.allowed_scripts(loose=True)
        found = scripts.check(site_dir, runs, sha, allowed)
        findings += _capped_all("active-content", found)
    if todo:
        state.matcher  # noqa: B018 - built once, before any fork
        for part, ckeys in _map(_work_canaries, todo, state, site_dir, jobs):
            findings.extend(part)
            clean.extend(ckeys)
    state.verdicts.save(passed)
    state.canary_verdicts.save(clean)
    return sorted(findings, key=lambda f: (f.path, f.gate, f.detail.startswith("... and "),
                                           f.detail))


def run(site_dir: Path, *, canaries: Iterable[Canary], forbidden_ids: Iterable[str],
        site_url: str = "", jobs: int | None = None,
        cache_dir: cache_mod.CacheFolder | None = None,
        verdicts: cache_mod.CacheFile | None = None,
        canary_verdicts: cache_mod.CacheFile | None = None,
        secret: bytes | None = None, digests: dict[str, str] | None = None,
        allowed_scripts: script_policy.AllowList | None = None) -> list[Finding]:
    """Every gate in one pass over the output files; [] means the site may ship.

    `forbidden_ids`: ids of cases that must not appear anywhere (drafts, unapproved,
    withdrawn, aggregate_only…). `site_url`: the site's own address; absolute URLs to its
    host count as same-origin. `cache_dir`, `verdicts`, `canary_verdicts`, `secret`,
    `digests`, `allowed_scripts`: see `scan`.
    """
    return scan(site_dir, canaries=canaries, forbidden_ids=forbidden_ids, site_url=site_url,
                jobs=jobs, cache_dir=cache_dir, verdicts=verdicts,
                canary_verdicts=canary_verdicts, secret=secret, digests=digests,
                allowed_scripts=allowed_scripts)


# Each gate on its own (same pass machinery, one gate reported).
def gate_canaries(site_dir: Path, canaries: Iterable[Canary]) -> list[Finding]:
    """No private value in any output file."""
    return scan(site_dir, canaries=canaries, gates=["canary"])


def gate_unpublished(site_dir: Path, forbidden_ids: Iterable[str]) -> list[Finding]:
    """No id of an unpublished case anywhere."""
    return scan(site_dir, forbidden_ids=forbidden_ids, gates=["unpublished-case"])


def gate_third_party(site_dir: Path, site_url: str = "") -> list[Finding]:
    """Nothing the browser fetches by itself leaves the site."""
    return scan(site_dir, site_url=site_url, gates=["third-party"])


def gate_active_content(site_dir: Path) -> list[Finding]:
    """No script or script-like content but the theme's and our own files."""
    return scan(site_dir, gates=["active-content"])


def gate_csp(site_dir: Path) -> list[Finding]:
    """Our Content-Security-Policy meta on every page, allowing only 'self' and hashes."""
    return scan(site_dir, gates=["csp"])


def gate_media(site_dir: Path) -> list[Finding]:
    """No metadata in any image."""
    return scan(site_dir, gates=["media"])


def gate_file_types(site_dir: Path) -> list[Finding]:
    """Only allowed file types, each what its name says; no link or special file."""
    return scan(site_dir, gates=["file-type"])


__all__ = ["CANARY_VERDICTS", "GATES", "MARKUP_VERDICTS", "PDF_TEXT", "REVIEWED", "Canary",
           "Curated", "Finding", "ToolError", "Verdicts", "canaries_from_private", "case_text",
           "curate", "find", "gate_active_content", "gate_canaries", "gate_csp",
           "gate_file_types", "gate_media", "gate_third_party", "gate_unpublished", "matcher",
           "own_canaries", "run", "scan", "text_leaks"]
