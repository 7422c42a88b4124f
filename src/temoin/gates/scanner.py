"""The scanning machinery: every output file read and hashed once and gone through by every
gate (`_Scan`), in forked processes on large sites, the canary scan after the matcher is built;
findings capped per file (`Finding`, `scan`)."""

from __future__ import annotations

import gc
import hashlib
import os
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from temoin import cache as cache_mod
from temoin import script_policy
from temoin.gates import bounds, filetypes, markup, media, scripts, xml_files
from temoin.gates import matching as _match
from temoin.gates.extract import ToolError, _pdf_actions, _pdf_blob, _texts
from temoin.gates.guard import Canary, find, matcher
from temoin.gates.verdicts import MARKUP_GATES, Verdicts, _vendored

if TYPE_CHECKING:  # imported where a PDF is read: pikepdf (~17 MB) never in the parent
    from temoin.gates import pdf

GATES = ("canary", "unpublished-case", "third-party", "active-content", "csp", "media",
         "file-type")
T = TypeVar("T")
R = TypeVar("R")
MAX_PER_FILE = 20            # findings of one gate in one file before "... and N more"
IMAGES = frozenset(media.IMAGE_SUFFIXES)


@dataclass(frozen=True)
class Finding:
    """One thing a gate refused: which gate, in which file (relative), what was found."""

    gate: str
    path: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.gate}] {self.path}: {self.detail}"


# PDF: its actions; .gz: what it holds, by its inner name.
MARKUP_SUFFIXES = frozenset({".html", ".htm", ".svg", ".xml", ".css", ".pdf", ".gz"})


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
        self._matcher: _match.Matcher | None = None
        self._blob: tuple[bytes, bytes] | None = None  # the last PDF and its `_pdf_blob`
        # The last PDF, its actions and what qpdf reads in it (`pdf.inspect`).
        self._pdf: tuple[bytes, list[str], pdf.Reading] | None = None
        # What a file's canary verdict depends on: the patterns as given (the matcher's
        # are a function of them and of the gate code, which the file's version covers).
        # They are private: only a keyed hash of them (`secret` is random and kept
        # encrypted to the editors) reaches the verdict file, so that file cannot confirm
        # a guessed name. Without a secret nothing is remembered.
        salt = b""
        if secret and canary_verdicts is not None:
            # A dismissal's allowed runs are part of a pattern: a file that passed under
            # one is scanned again once the dismissal no longer counts.
            patterns = sorted([f"c{int(c.suffix)}{c.value}"
                               + "".join(f"\x1f{a}" for a in c.allowed)
                               for c in self._canaries]
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
    def matcher(self) -> _match.Matcher:
        """Every canary and forbidden id in one automaton, built on first use (before any
        fork, by `scan`, when some file needs it)."""
        if self._matcher is None:
            self._matcher = matcher(self._canaries, self._forbidden)
        return self._matcher

    def pdf_blob(self, data: bytes) -> bytes:
        """`_pdf_blob(data)`, made once for both the active-content and the canary scan of
        the same PDF (the same bytes object)."""
        if self._blob is None or self._blob[0] is not data:
            self._blob = (data, _pdf_blob(data))
        return self._blob[1]

    def pdf_actions(self, data: bytes) -> list[str]:
        """`pdf.actions(data, origin)`, reading the file with qpdf once for it and for the
        canary scan of the same bytes (`pdf_reading`)."""
        if self._pdf is None or self._pdf[0] is not data:
            from temoin.gates import pdf  # pikepdf, in the worker that reads a PDF only

            self._pdf = (data, *pdf.inspect(data, self.origin))
        return self._pdf[1]

    def pdf_reading(self, data: bytes) -> pdf.Reading | None:
        """What `pdf_actions` read in `data`, if it read these very bytes (else None: the
        canary scan reads them itself, `pdf.read`)."""
        return self._pdf[2] if self._pdf is not None and self._pdf[0] is data else None

    def file(self, site_dir: Path, rel: str) -> tuple[list[Finding], str | None, bytes,
                                                      str | None, list[scripts.Ref], bytes]:
        """One file's markup and media findings, its markup verdict key if it passed
        them, its sha256, its canary verdict key (None: not scanned for canaries; a
        key not in `canary_verdicts.known` goes through `canary_scan`), the site files
        it makes run (judged by `gates.scripts` once every file is hashed), and the bytes
        it read."""
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
        return _capped(rel, found), passed, digest, ckey, refs, data

    def _markup(self, rel: str, suffix: str, data: bytes, report: Callable[[str, str], None]
                ) -> list[scripts.Ref]:
        """The markup gates over one file's bytes (a .gz: over what it holds, named by its
        inner name, after the file-type gate); what an HTML page makes run."""
        if suffix == ".pdf":
            if "active-content" in self.gates:
                # The raw and inflated bytes (dead objects too), and what qpdf reads in
                # every revision (object streams whatever their filters: `gates.pdf`).
                actions = {f"/{a}" for a in _pdf_actions(self.pdf_blob(data))}
                actions.update(self.pdf_actions(data))
                if actions:
                    report("active-content", "PDF declares " + ", ".join(sorted(actions)))
        elif suffix == ".gz":
            inner = rel[:-3]
            inner_suffix = filetypes.suffix(inner)
            if inner_suffix not in filetypes.GZIPPED:
                # A PDF or an image is read by its structure (poppler, qpdf, the media
                # gate), which the canary scan of a .gz's inflated text never did: a
                # .pdf.gz whose name is in a Unicode font passed (attack round 20).
                report("file-type", f".gz of {inner_suffix or 'a name without extension'}: "
                       "only .gz of a text type (html, svg, xml, css, json, txt, csv, asc)")
                return []
            try:
                content, whole = bounds.inflate(data, 16 + zlib.MAX_WBITS)
            except zlib.error:
                report("file-type", "not a valid gzip file")
                return []
            if not whole:  # what is past the cut or the bound was never scanned
                report("file-type", f"a gzip file cut short or inflating past "
                       f"{bounds.MAX_INFLATE >> 20} MB: not read in full")
                return []

            def inner_report(gate: str, detail: str) -> None:
                report(gate, f"(inflated) {detail}")

            filetypes.check(inner, content, hashlib.sha256(content).digest(), inner_report)
            if inner_suffix in MARKUP_SUFFIXES:
                self._markup(inner, inner_suffix, content, inner_report)
            return []  # a compressed page is not what a browser runs scripts from
        elif suffix == ".svg":
            xml_files.check_svg(data, rel, self.origin, report)
        elif suffix == ".xml":
            xml_files.check_xml(data, rel, self.origin, report)
        elif suffix == ".css":
            markup.check_css(data.decode("utf-8", "replace"), self.origin, report)
        else:
            return markup.check_html(data.decode("utf-8", "replace"), rel, self.origin,
                                     report) or []
        return []

    def canary_scan(self, site_dir: Path, rel: str, digest: bytes, data: bytes | None = None
                    ) -> tuple[list[Finding], str | None]:
        """The canary and unpublished-case findings in one file whose first read had
        sha256 `digest`, and its canary verdict key if it passed. `data`: the bytes of that
        first read, when the matcher was built before it (`scan`); else the file is read
        again, and bytes that differ from the first read are refused, so that every gate
        and the verdict stand for the same bytes."""
        path = site_dir / rel
        if data is None:
            data = path.read_bytes()
            if hashlib.sha256(data).digest() != digest:
                return [Finding("canary", rel, "changed while the gates read it")], None
        if not len(self.matcher):
            return [], None
        suffix = os.path.splitext(rel.lower())[1]
        blob = self.pdf_blob(data) if suffix == ".pdf" else None
        qpdf = self.pdf_reading(data) if suffix == ".pdf" else None
        hits: set[Any] = set()
        try:
            for text, is_markup in _texts(path, rel, data, self.cache, blob, qpdf):
                hits |= find(self.matcher, text, is_markup)
        except ToolError as exc:
            return [Finding("canary", rel, str(exc))], None
        found = list(hits)
        return _capped(rel, found), None if found else self.canary_verdicts.key(rel, digest)


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
# Whether `_work` scans for canaries as it reads each file (`scan`: a first build).
_AT_ONCE = False


Refs = dict[str, list[scripts.Ref]]


def _work(batch: list[str]) -> tuple[list[Finding], Refs, list[str],
                                     list[tuple[str, bytes]], list[tuple[str, bytes]], Refs]:
    """`_Scan.file` over a batch: findings, markup passes (with what each page makes run),
    canary verdicts kept (or made: with `_AT_ONCE` a file with none is scanned for
    canaries on the same read), (path, sha256) of every file, of the files that still
    need the canary scan, and what each page makes run."""
    assert _WORKER is not None
    scan, site_dir = _WORKER
    findings: list[Finding] = []
    passed: Refs = {}
    runs: Refs = {}
    kept: list[str] = []
    sums: list[tuple[str, bytes]] = []
    todo: list[tuple[str, bytes]] = []
    for rel in batch:
        found, key, digest, ckey, refs, data = scan.file(site_dir, rel)
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
        elif _AT_ONCE:
            found, ckey = scan.canary_scan(site_dir, rel, digest, data)
            findings += found
            if ckey is not None:
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
            # The objects inherited are frozen: a worker's collector never walks them, so
            # never writes to (and copies) every page of its parent's heap (issue 18).
            gc.freeze()
            try:
                with ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
                    yield from pool.map(fn, batches)
            finally:
                gc.unfreeze()
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
    (or their verdicts). With no canary verdict at all (a first build) the matcher is
    built first and the canary scan reads the same bytes; otherwise the files without a
    canary verdict are read again for it, after the matcher is built (only then, and only
    once). `jobs` processes
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
    global _AT_ONCE
    # No canary verdict at all (a first build, a new canary set, an ad-hoc scan): every
    # file needs the canary scan, so the matcher is built first and each file is read,
    # hashed, decoded (a PDF inflated) once for every gate. Otherwise only the files
    # without a verdict are read again, after the others told whether a matcher is needed.
    _AT_ONCE = state.scans_canaries and not state.canary_verdicts.known
    if _AT_ONCE:
        state.matcher  # noqa: B018 - built once, before any fork
    try:
        for part, keys, kept, sums, need, refs in _map(_work, files, state, site_dir, jobs):
            findings.extend(part)
            passed.update(keys)
            runs.update(refs)
            clean.extend(kept)
            todo.extend(need)
            sha.update((rel, d.hex()) for rel, d in sums)
    finally:
        _AT_ONCE = False
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
