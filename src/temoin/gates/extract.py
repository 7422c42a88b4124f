"""What a reader could see in one output file, as text: the file's name, a .gz's or .zip's
members (inflated, bounded), a PDF's text and metadata (poppler, remembered by sha256) and
its inflated streams; a PDF's scripting or launching actions."""

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
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from temoin import cache as cache_mod
from temoin.gates import bounds
from temoin.gates.bounds import MAX_INFLATE

if TYPE_CHECKING:  # imported where a PDF is read: pikepdf (~17 MB) never in the parent
    from temoin.gates import pdf

try:  # poppler's C++ library, bound (PyPI `pdftotext`; Debian libpoppler-cpp-dev to build)
    import pdftotext as _poppler_cpp
except ImportError:  # pragma: no cover - then the pdftotext tool reads every PDF
    _poppler_cpp = None

BINARY = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".avif", ".bmp",
                    ".tif", ".tiff", ".heic", ".heif", ".jxl", ".woff", ".woff2", ".ttf",
                    ".otf", ".eot", ".mp3", ".mp4", ".webm", ".ogg", ".wav"})


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


_STREAM_START = re.compile(rb"stream\r?\n")
_END = b"endstream"


def _streams(data: bytes) -> Iterator[tuple[int, int, int, int]]:
    """Where each stream of `data` starts, its body starts and ends, and it ends: the
    matches of `stream\\r?\\n(.*?)endstream` (DOTALL), left to right, as `re.finditer`
    gives them (tests/test_gates_pdf.py compares both), with the body's end found by
    `bytes.find` in C rather than by the regex trying "endstream" at every byte of it (a
    bulletin's font programs: half of `_pdf_blob`)."""
    pos = 0
    while (start := _STREAM_START.search(data, pos)) is not None:
        end = data.find(_END, start.end())
        if end < 0:  # no later start has an "endstream" after it either
            return
        yield start.start(), start.end(), end, end + len(_END)
        pos = end + len(_END)


def _pdf_blob(data: bytes) -> bytes:
    """A PDF with its stream bodies replaced by their inflated text (object streams hide
    dictionaries); binary streams (fonts, images) are left out. One pass over the file
    (`_streams`), the bodies cut out as they are met."""
    chunks: list[bytes] = []
    parts: list[bytes] = []
    last = 0
    for start, body, end, after in _streams(data):
        parts += (data[last:start], b"stream\nendstream")
        last = after
        raw = data[body:end]
        try:
            inflated = bounds.inflate(raw)[0]  # at most MAX_INFLATE bytes
        except zlib.error:
            inflated = raw
        if bounds.textual(inflated):
            chunks.append(inflated)
    parts.append(data[last:])
    return b"".join(parts) + b"\n" + b"\n".join(chunks)


def _pdftotext(path: Path, data: bytes, qpdf: pdf.Reading) -> str:
    """What `pdftotext -enc UTF-8 PATH -` prints for the PDF `data` (at `path`): read in this
    process by poppler's library when the file is one clean revision with no crop box
    (`pdf.Reading.uncropped`: then the library and the tool print the same text, page
    after page, each ending with a form feed), else by the tool (a process and ~13 ms of
    CPU a bulletin, against ~6 ms). A PDF the library cannot read is left to the tool
    (poppler's library gives up on a page the tool prints as empty); ToolError if the tool
    cannot read it either."""
    if _poppler_cpp is not None and qpdf.uncropped:
        with contextlib.suppress(_poppler_cpp.Error):
            return "".join(_poppler_cpp.PDF(io.BytesIO(data)))
    return _tool("pdftotext", "-q", "-enc", "UTF-8", str(path), "-")


def _pdf_actions(blob: bytes) -> list[str]:
    """Scripting or launching actions a PDF declares (names' #xx escapes decoded)."""
    names = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m[1], 16)]), blob)
    return sorted({m[1].decode() for m in _PDF_ACTIVE.finditer(names)})


PDF_TEXT = cache_mod.Spec("pdf-text", ("temoin.gates",), (),
                          "what pdftotext and pdfinfo read in each PDF, by its sha256")


def _poppler(path: Path, data: bytes, cache: cache_mod.CacheFolder | None,
             qpdf: pdf.Reading | None = None) -> list[tuple[str, bool]]:
    """What pdftotext reads in a PDF (`_pdftotext`), its Info dictionary and XMP metadata,
    and every text string of its objects as qpdf reads them (`pdf.read`). Info and metadata
    are read by qpdf when it reads the file as poppler does (one clean revision:
    `pdf.read`), else by two pdfinfo processes (~10 ms of CPU each). Bulletin PDFs are
    the same bytes build after build, so with `cache` the result is kept under the sha256
    of the PDF: it is the text of a file being published, nothing private; an entry this
    user's cache key did not sign is not read. A reading with an empty text is neither
    kept nor trusted (a tool that failed quietly is asked again next build). `qpdf`:
    `pdf.read(data)`, if the active-content gate read it already (`pdf.inspect`)."""
    key = hashlib.sha256(data).hexdigest() if cache is not None else ""
    raw = cache.get(key) if cache is not None else None
    if raw is not None:
        with contextlib.suppress(ValueError, TypeError):
            got = [(str(t), bool(m)) for t, m in json.loads(raw)]
            if got and got[0][0].strip():
                return got
    # Every text string, UTF-16 ones decoded; Info and XMP if clean.
    if qpdf is None:
        from temoin.gates import pdf  # pikepdf, in the worker that reads a PDF only

        qpdf = pdf.read(data)
    out = [(_pdftotext(path, data, qpdf), False)]
    if qpdf.info is not None and qpdf.metadata is not None:
        out += [(qpdf.info, False), (qpdf.metadata, True)]
    else:
        out += [(_tool("pdfinfo", "-enc", "UTF-8", "-custom", str(path)), False),
                (_tool("pdfinfo", "-meta", str(path)), True)]
    out.append((qpdf.strings, False))
    if qpdf.shown is None:  # the text drawn anywhere, off the page too (`shown`)
        raise ToolError("a content stream of this PDF is damaged, cut short or past the "
                        "gates' bounds, so the text its pages show was not checked")
    out.append((qpdf.shown, False))
    out.append((qpdf.streams, False))
    if cache is not None and out[0][0].strip() and out[1][0].strip():
        cache.put(key, json.dumps(out).encode("utf-8"))
    return out


def _pdf_texts(path: Path, data: bytes, cache: cache_mod.CacheFolder | None = None,
               blob: bytes | None = None, qpdf: pdf.Reading | None = None
               ) -> Iterator[tuple[str, bool]]:
    """The text, metadata (Info and XMP) and inflated streams (`blob`: `_pdf_blob(data)`,
    if already made) of a PDF (`qpdf`: `pdf.read(data)`, if already made)."""
    yield from _poppler(path, data, cache, qpdf)
    # PDF dictionaries use << >>: not markup, so no tag stripping. Literal strings are
    # often PDFDocEncoding (latin-1 is close enough to find names).
    blob = _pdf_blob(data) if blob is None else blob
    marker = _MARKER.match(blob)
    rest = blob[marker.end():] if marker else blob
    if rest.isascii():
        # Read as UTF-8 or as latin-1, ASCII is the same text: scanned once (half the
        # canary scan of a bulletin). The header's binary comment (PDF 1.7 §7.5.2: a
        # "%" and four or more bytes past 127, which every bulletin has) is read both
        # ways, with what follows it up to far past the longest pattern.
        yield rest.decode("ascii"), False
        if marker:
            head = blob[:marker.end() + _MARKER_CONTEXT]
            yield head.decode("utf-8", "replace"), False
            yield head.decode("latin-1"), False
        return
    yield blob.decode("utf-8", "replace"), False
    yield blob.decode("latin-1"), False


# A PDF's header line, then its binary comment (PDF 1.7 §7.5.2), and nothing past 127 after.
_MARKER = re.compile(rb"%PDF-[0-9.]{1,8}\r?\n%[\x80-\xff]{4,64}\r?\n")
_MARKER_CONTEXT = 1 << 12  # bytes after it read both ways with it


def _texts(path: Path, rel: str, data: bytes, cache: cache_mod.CacheFolder | None = None,
           blob: bytes | None = None, qpdf: pdf.Reading | None = None
           ) -> Iterator[tuple[str, bool]]:
    """Everything in one file that a reader could see, as (text, is markup)."""
    low = rel.lower()
    yield rel, False  # a name in a file name or folder is a leak too
    if low.endswith(".gz"):
        fields: list[bytes] = []  # each member's name, comment, extra field
        try:
            inner = bounds.inflate(data, 16 + zlib.MAX_WBITS, fields)[0]
        except zlib.error:
            inner = b""
        yield inner.decode("utf-8", "replace"), True
        for field in fields:  # ISO 8859-1 by RFC 1952; UTF-8 as some tools write it
            yield field.decode("latin-1"), False
            yield field.decode("utf-8", "replace"), False
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
        yield from _pdf_texts(path, data, cache, blob, qpdf)
    elif os.path.splitext(low)[1] not in BINARY:
        yield data.decode("utf-8", "replace"), True
