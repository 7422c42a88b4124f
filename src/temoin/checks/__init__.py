"""Post-build publication gates (DESIGN §7): nothing confidential, unpublished, third-party,
scriptable or carrying metadata leaves in the built site.

`run` reads every output file once and applies every gate to it:

* canary: no private value (see `checks.canaries` for which values and how they are
  normalised) in any file: HTML, search index, feeds, exports, sitemap (also .gz), JS, SVG,
  PDF text and metadata (`pdftotext`/`pdfinfo`, and inflated FlateDecode streams), file
  names included. All patterns are matched in one Aho-Corasick pass per file.
* unpublished-case: no id of a case that must not appear (same matcher, same pass).
* third-party, active-content, csp: HTML, SVG and CSS rules in `checks.markup`.
* media: every image carries no EXIF/XMP/IPTC/GPS/ICC/comment (`media.metadata_found`).

Every gate is a pure function of a file's bytes, its path and the build's inputs, and
most files are the same from one build to the next, so passes are remembered (`Verdicts`):
with `verdicts` (a file) a page whose markup passed once (third-party, active-content, CSP;
a PDF's actions) is not parsed again while the page, its path, the site's URL and the gate
code are the same. With `canary_verdicts` and a `secret` (kept encrypted with the canaries,
see `canary_cache`) a file that passed the canary and unpublished-case scan is not read for
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
import sys
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .. import media
from ..files import write_atomic
from . import canaries as _can
from . import markup

GATES = ("canary", "unpublished-case", "third-party", "active-content", "csp", "media")
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
    number (a phone number written with a country code).
    """

    value: str
    case_id: str
    field: str
    suffix: bool = False


def canaries_from_private(case_id: str, private: dict[str, Any]) -> list[Canary]:
    """Every value of a case's private part worth scanning for (rule: `checks.canaries`)."""
    return [Canary(value, case_id, field, suffix)
            for field, value, suffix in _can.private_values(private or {})]


# -- reading the output ---------------------------------------------------------------------

def _inflate(data: bytes, wbits: int) -> bytes:
    """Decompress at most MAX_INFLATE bytes (a bomb stops there, never fills memory)."""
    return zlib.decompressobj(wbits).decompress(data, MAX_INFLATE)


def _tool(*args: str) -> str:
    """stdout of a poppler tool ('' if it is missing or fails)."""
    if not shutil.which(args[0]):
        return ""
    out = subprocess.run(args, capture_output=True, timeout=120, check=False)
    return out.stdout.decode("utf-8", "replace") if out.returncode == 0 else ""


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


def _poppler(path: Path, data: bytes, cache: Path | None) -> list[tuple[str, bool]]:
    """What pdftotext and pdfinfo read in a PDF: three processes, ~45 ms. Bulletin PDFs are
    the same bytes build after build, so with `cache` (a folder) the result is kept under
    the sha256 of the PDF: it is the text of a file being published, nothing private."""
    key = cache / (hashlib.sha256(data).hexdigest() + ".json") if cache else None
    if key is not None and key.is_file():
        try:
            return [(str(t), bool(m)) for t, m in json.loads(key.read_text("utf-8"))]
        except (OSError, ValueError):
            pass
    out = [(_tool("pdftotext", "-q", "-enc", "UTF-8", str(path), "-"), False),
           (_tool("pdfinfo", "-enc", "UTF-8", "-custom", str(path)), False),
           (_tool("pdfinfo", "-meta", str(path)), True)]
    if key is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        tmp = key.with_name(f".{key.name}.{os.getpid()}")
        tmp.write_text(json.dumps(out), "utf-8")
        os.replace(tmp, key)
    return out


def _pdf_texts(path: Path, data: bytes, cache: Path | None = None,
               blob: bytes | None = None) -> Iterator[tuple[str, bool]]:
    """The text, metadata (Info and XMP) and inflated streams (`blob`: `_pdf_blob(data)`,
    if already made) of a PDF."""
    yield from _poppler(path, data, cache)
    # PDF dictionaries use << >>: not markup, so no tag stripping. Literal strings are
    # often PDFDocEncoding (latin-1 is close enough to find names).
    blob = _pdf_blob(data) if blob is None else blob
    yield blob.decode("utf-8", "replace"), False
    yield blob.decode("latin-1"), False


def _texts(path: Path, rel: str, data: bytes, cache: Path | None = None,
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
        return frozenset()
    return frozenset(line.split()[0] for line in text.splitlines() if line.strip())


MARKUP_GATES = frozenset({"third-party", "active-content", "csp"})
MARKUP_SUFFIXES = frozenset({".html", ".htm", ".svg", ".css", ".pdf"})  # PDF: its actions
VERDICTS_VERSION = 1


@lru_cache(maxsize=1)
def markup_rules() -> str:
    """sha256 of everything a markup verdict depends on besides the page, its path and the
    site's URL: the gate code (this module, `checks.markup`, `site.csp`), the theme scripts
    the installed Material emits (what `csp.is_theme_script` accepts) and the Python version
    (`html.parser`, `urllib.parse`)."""
    from ..site import csp

    h = hashlib.sha256(f"temoin markup verdicts {VERDICTS_VERSION} {sys.version}".encode())
    for mod in (sys.modules[__name__], markup, csp):
        h.update(Path(str(mod.__file__)).read_bytes())
    for pattern in csp.theme_script_patterns():
        h.update(b"\0" + pattern.pattern.encode("utf-8"))
    return h.hexdigest()


class Verdicts:
    """The pages that passed every markup gate in earlier builds, by key.

    A key is the sha256 of `markup_rules()`, the markup gates run, the site's URL, the
    page's path and its bytes: it only matches a page that the same code already passed
    with the same inputs, so a cached verdict is never stale; any other page is parsed.
    Only passes are kept (a refused page is parsed again next time, and no finding reaches
    the disk). The file holds hashes only, nothing a page says (and pages are published
    anyway); one that is missing, unreadable or made by other rules is ignored. Like the
    other caches it is not signed: whoever can write it can already change the site's
    templates. Saved with only the keys of this build, so it never grows beyond one site.
    `rules` and `salt` make the same kind of file for another gate (the canary scan).
    """

    def __init__(self, path: Path | None, site_url: str, gates: Iterable[str],
                 rules: str | None = None, salt: bytes = b"") -> None:
        self.path = path
        self.rules = markup_rules() if rules is None else rules
        inputs = "\0".join([self.rules, *sorted(MARKUP_GATES & set(gates)), site_url])
        self._salt = hashlib.sha256(inputs.encode("utf-8", "surrogateescape") + salt).digest()
        self.known = self._load()

    def _load(self) -> frozenset[str]:
        if self.path is None:
            return frozenset()
        try:
            doc = json.loads(self.path.read_bytes())
            if doc.get("rules") == self.rules and isinstance(doc.get("ok"), list):
                return frozenset(k for k in doc["ok"] if isinstance(k, str))
        except (OSError, ValueError, AttributeError):
            pass
        return frozenset()

    def key(self, rel: str, digest: bytes) -> str:
        """The key of the page at `rel` (a relative path) whose bytes have this sha256."""
        return hashlib.sha256(self._salt + rel.encode("utf-8", "surrogateescape") + b"\0"
                              + digest).hexdigest()

    def save(self, passed: Iterable[str]) -> None:
        """Keep `passed` (this build's passing pages) for the next build, atomically."""
        keys = sorted(set(passed))
        if self.path is None or frozenset(keys) == self.known:
            return
        doc = json.dumps({"rules": self.rules, "ok": keys}, separators=(",", ":"))
        with contextlib.suppress(OSError):  # no cache next time: every page is parsed
            write_atomic(self.path, doc.encode("ascii"))


@lru_cache(maxsize=1)
def canary_rules() -> str:
    """sha256 of the code a canary verdict depends on besides the file, its path and the
    patterns: this module, `checks.canaries` (normalisation), the vendored files skipped
    and the Python version (`unicodedata`, `html.unescape`)."""
    h = hashlib.sha256(f"temoin canary verdicts {VERDICTS_VERSION} {sys.version}".encode())
    for mod in (sys.modules[__name__], _can):
        h.update(Path(str(mod.__file__)).read_bytes())
    h.update("\0".join(sorted(_vendored())).encode("ascii"))
    return h.hexdigest()


class _Scan:
    """The state shared by every file: the matcher, the site's origin, the gates wanted."""

    def __init__(self, canaries: Iterable[Canary], forbidden_ids: Iterable[str],
                 site_url: str, gates: Iterable[str], cache: Path | None = None,
                 verdicts: Path | None = None, canary_verdicts: Path | None = None,
                 secret: bytes | None = None) -> None:
        self.gates = frozenset(gates)
        self.cache = cache
        self.origin = markup.Origin(site_url)
        self.verdicts = Verdicts(verdicts, site_url, self.gates)
        self.matcher = _can.Matcher()
        patterns: list[str] = []  # what a file's canary verdict depends on
        if "canary" in self.gates:
            for c in canaries:
                folded = _can.fold(c.value)
                if len(folded) < _can.MIN_NAME:
                    continue
                detail = f"private value of case {c.case_id} ({c.field})"
                self.matcher.add(folded, ("canary", detail), suffix=c.suffix)
                patterns.append(f"c{int(c.suffix)}{folded}")
        if "unpublished-case" in self.gates:
            for case_id in forbidden_ids:
                self.matcher.add(_can.fold(case_id), ("unpublished-case",
                                                      f"id of unpublished case {case_id}"))
                patterns.append(f"u{_can.fold(case_id)}")
        # The patterns are private: only a keyed hash of them (`secret` is random and kept
        # encrypted to the editors) reaches the verdict file, so that file cannot confirm a
        # guessed name. Without a secret nothing is remembered.
        salt = b""
        if secret and canary_verdicts is not None:
            h = hashlib.sha256(secret)
            h.update("\n".join(sorted(patterns)).encode("utf-8", "surrogateescape"))
            salt = hashlib.sha256(secret + h.digest()).digest()
        self.canary_verdicts = Verdicts(canary_verdicts if salt else None, "", (),
                                        rules=canary_rules(), salt=salt)

    def file(self, site_dir: Path, rel: str) -> tuple[list[Finding], str | None, str | None]:
        """The findings in one file, and its verdict keys (markup, canary) for the gates it
        passed."""
        path = site_dir / rel
        data = path.read_bytes()
        digest = hashlib.sha256(data).digest()
        suffix = os.path.splitext(rel.lower())[1]
        blob: bytes | None = None
        found: list[tuple[str, str]] = []

        def report(gate: str, detail: str) -> None:
            if gate in self.gates:
                found.append((gate, detail))

        clean = None
        if len(self.matcher) and digest.hex() not in _vendored():
            ckey = self.canary_verdicts.key(rel, digest)
            if ckey not in self.canary_verdicts.known:
                blob = _pdf_blob(data) if suffix == ".pdf" else None
                hits: set[Any] = set()
                for text, is_markup in _texts(path, rel, data, self.cache, blob):
                    for piece in _pieces(text):
                        for form in _can.forms(piece, is_markup):
                            hits |= self.matcher.find(form)
                found.extend(hits)
            clean = None if found else ckey
        passed = None
        if self.gates & MARKUP_GATES and suffix in MARKUP_SUFFIXES:
            key = self.verdicts.key(rel, digest)
            before = len(found)
            if key not in self.verdicts.known:
                if suffix == ".pdf":
                    actions = _pdf_actions(_pdf_blob(data) if blob is None else blob) \
                        if "active-content" in self.gates else []
                    if actions:
                        report("active-content",
                               "PDF declares " + ", ".join(f"/{a}" for a in actions))
                else:
                    text = data.decode("utf-8", "replace")
                    if suffix == ".svg":
                        markup.check_svg(text, rel, self.origin, report)
                    elif suffix == ".css":
                        markup.check_css(text, self.origin, report)
                    else:
                        markup.check_html(text, rel, self.origin, report)
            passed = key if len(found) == before else None
        if "media" in self.gates and suffix in IMAGES:
            blocks = media.metadata_found(data, rel)
            if blocks:
                report("media", "image carries " + ", ".join(blocks))
        return _capped(rel, found), passed, clean


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


def _files(site_dir: Path) -> list[str]:
    out = []
    for root, dirs, names in os.walk(site_dir):
        dirs.sort()
        for n in sorted(names):
            p = Path(root) / n
            if p.is_file():
                out.append(p.relative_to(site_dir).as_posix())
    return out


_WORKER: tuple[_Scan, Path] | None = None


def _work(batch: list[str]) -> tuple[list[Finding], list[str], list[str]]:
    assert _WORKER is not None
    scan, site_dir = _WORKER
    findings: list[Finding] = []
    passed: list[str] = []
    clean: list[str] = []
    for rel in batch:
        found, key, ckey = scan.file(site_dir, rel)
        findings += found
        if key is not None:
            passed.append(key)
        if ckey is not None:
            clean.append(ckey)
    return findings, passed, clean


def scan(site_dir: Path, *, canaries: Iterable[Canary] = (), forbidden_ids: Iterable[str] = (),
         site_url: str = "", gates: Iterable[str] = GATES, jobs: int | None = None,
         cache_dir: Path | None = None, verdicts: Path | None = None,
         canary_verdicts: Path | None = None, secret: bytes | None = None) -> list[Finding]:
    """Run the chosen gates over every file of `site_dir`, one read per file.

    `jobs` processes share the work on large sites (default: one per CPU, capped at 4, only
    above 2,000 files); each inherits the matcher (fork), none rebuilds it. `cache_dir`
    keeps what poppler reads in each PDF, by the PDF's sha256, from one build to the next;
    `verdicts` (a file) the pages that passed the markup gates (`Verdicts`);
    `canary_verdicts` (a file) the files that passed the canary scan, under keys made with
    `secret` (random bytes that never leave the encrypted canary cache).
    """
    global _WORKER
    site_dir = Path(site_dir)
    state = _Scan(canaries, forbidden_ids, site_url, gates, cache_dir, verdicts,
                  canary_verdicts, secret)
    state.matcher.find(" ")  # build the automaton once, before any fork
    files = _files(site_dir)
    jobs = jobs if jobs is not None else min(os.cpu_count() or 1, 4)
    findings: list[Finding] = []
    passed: list[str] = []
    clean: list[str] = []
    if jobs > 1 and len(files) > 2000 and hasattr(os, "fork"):
        import multiprocessing

        _WORKER = (state, site_dir)
        try:
            size = max(64, len(files) // (jobs * 8))
            batches = [files[i:i + size] for i in range(0, len(files), size)]
            ctx = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
                for part, keys, ckeys in pool.map(_work, batches):
                    findings.extend(part)
                    passed.extend(keys)
                    clean.extend(ckeys)
        finally:
            _WORKER = None
    else:
        for rel in files:
            found, key, ckey = state.file(site_dir, rel)
            findings.extend(found)
            if key is not None:
                passed.append(key)
            if ckey is not None:
                clean.append(ckey)
    state.verdicts.save(passed)
    state.canary_verdicts.save(clean)
    return sorted(findings, key=lambda f: (f.path, f.gate, f.detail.startswith("... and "),
                                           f.detail))


def run(site_dir: Path, *, canaries: Iterable[Canary], forbidden_ids: Iterable[str],
        site_url: str = "", jobs: int | None = None, cache_dir: Path | None = None,
        verdicts: Path | None = None, canary_verdicts: Path | None = None,
        secret: bytes | None = None) -> list[Finding]:
    """Every gate in one pass over the output files; [] means the site may ship.

    `forbidden_ids`: ids of cases that must not appear anywhere (drafts, unapproved,
    withdrawn, aggregate_only…). `site_url`: the site's own address; absolute URLs to its
    host count as same-origin. `cache_dir`, `verdicts`, `canary_verdicts`, `secret`: see
    `scan`.
    """
    return scan(site_dir, canaries=canaries, forbidden_ids=forbidden_ids, site_url=site_url,
                jobs=jobs, cache_dir=cache_dir, verdicts=verdicts,
                canary_verdicts=canary_verdicts, secret=secret)


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


__all__ = ["GATES", "Canary", "Finding", "Verdicts", "canaries_from_private",
           "gate_active_content", "gate_canaries", "gate_csp", "gate_media", "gate_third_party",
           "gate_unpublished", "canary_rules", "markup_rules", "run", "scan"]
