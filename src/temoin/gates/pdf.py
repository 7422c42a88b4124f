"""What a PDF would do by itself or on a click: its actions, read by a PDF parser (issue 15).

A regex over the raw bytes and the Flate streams (`extract._pdf_blob`) misses what a reader
still finds: dictionaries inside object streams (/ObjStm) encoded with ASCIIHex, ASCII85,
LZW or RunLength, or a chain of filters, names spelt with #xx escapes, an action added by
an incremental update. So every PDF is also read by qpdf (through `pikepdf`), once per
revision (the file up to each `%%EOF`: an update's objects and those it replaced), every
object and every dictionary nested in it walked, streams' dictionaries included:

* action types (/S) that run code, start programs, send data, fetch or play something:
  /JavaScript, /Launch, /SubmitForm, /ImportData, /ResetForm, /GoToR, /GoToE, /Rendition,
  /Movie, /Sound, /RichMediaExecute, /SetOCGState… — anything but /GoTo, /Named, /Thread
  and /Trans, and /URI to the site's own origin (what a bulletin's links are);
* keys that hold or trigger such things: /JS, /JavaScript (name trees), /AA (actions run
  on open, close, focus…), /OpenAction when it is an action rather than a destination,
  /EmbeddedFile(s), /EF, /RichMedia*, /XFA;
* annotations that embed or play: /FileAttachment, /RichMedia, /Movie, /Sound, /Screen,
  /3D; and a /URI action run by itself (in /OpenAction or /AA) whatever its target;
* a /URI target read as a reader reads it (UTF-16 or UTF-8 with a byte-order mark), and a
  catalog's /URI /Base off the site (relative links resolve against it).

A PDF qpdf cannot read is refused: what no parser can read, no gate has checked.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pikepdf

from temoin.gates import bounds, shown
from temoin.gates.bounds import MAX_INFLATE
from temoin.gates.markup import Origin

SAFE_ACTIONS = frozenset({"/GoTo", "/Named", "/Thread", "/Trans"})
# Action types refused wherever a dictionary names one (no structure type, transition,
# border style or page label is called so).
DANGEROUS = frozenset({"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/ResetForm",
                       "/GoToR", "/GoToE", "/GoTo3DView", "/Rendition", "/Movie", "/Sound",
                       "/RichMediaExecute", "/URI"})
KEYS = frozenset({"/JS", "/JavaScript", "/AA", "/EmbeddedFile", "/EmbeddedFiles", "/EF",
                  "/RichMediaContent", "/RichMediaSettings", "/XFA"})
ANNOTS = frozenset({"/FileAttachment", "/RichMedia", "/Movie", "/Sound", "/Screen", "/3D"})
MAX_REVISIONS = 32    # a file of more updates is refused rather than read 33 times
MAX_OBJECTS = 200_000  # nor is one of more objects (a bulletin has a few hundred)
MAX_DEPTH = 64
_EOF = re.compile(rb"%%EOF")


def _revisions(data: bytes) -> Iterator[bytes]:
    """The file as each revision left it (up to each `%%EOF`), the whole file last."""
    ends = [m.end() for m in _EOF.finditer(data)]
    for end in ends[:-1][-MAX_REVISIONS:]:
        yield data[:end]
    yield data


def _open(data: bytes) -> pikepdf.Pdf:
    """qpdf's reading of the bytes `data`, from a sealed in-memory file of this process
    (memfd: nobody can change it, nor did anyone else write it) opened by its path, so
    qpdf reads it in C++: from a BytesIO it called back into Python for every read
    (~640 a bulletin, ~0.9 ms of its 1.5 ms opening). A BytesIO where there is no memfd
    (not Linux, no /proc) or it cannot be made."""
    path = _sealed(data)
    if path is None:
        return pikepdf.open(io.BytesIO(data))
    fd = int(path.rsplit("/", 1)[1])
    try:
        return pikepdf.open(path)  # qpdf opens its own descriptor of the sealed file
    except OSError:
        return pikepdf.open(io.BytesIO(data))
    finally:
        os.close(fd)


def _sealed(data: bytes) -> str | None:
    """The /proc path of a new memfd holding `data`, sealed against any change; None if
    one cannot be made."""
    import fcntl

    try:
        fd = os.memfd_create("temoin-gate-pdf", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    except (AttributeError, OSError):
        return None
    try:
        with open(fd, "wb", closefd=False) as f:
            f.write(data)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE | fcntl.F_SEAL_GROW
                    | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL)
        path = f"/proc/self/fd/{fd}"
        if os.path.exists(path):
            return path
    except OSError:
        pass
    os.close(fd)
    return None


def actions(data: bytes, origin: Origin) -> list[str]:
    """What the PDF `data` declares that a reader would run, send or fetch (see the
    module), each as a short name ("/JavaScript", "/URI https://other.example/…");
    "unreadable by qpdf (…)" when the whole file cannot be read."""
    if len(_EOF.findall(data)) > MAX_REVISIONS + 1:
        return [f"more than {MAX_REVISIONS} incremental updates"]
    found: set[str] = set()
    for revision in _revisions(data):
        try:
            with _open(revision) as pdf:
                _walk_pdf(pdf, origin, found)
        except (pikepdf.PdfError, ValueError, RecursionError) as exc:
            # An earlier revision's prefix may not stand alone; the whole file must.
            if revision is data:
                found.add(f"unreadable by qpdf ({type(exc).__name__})")
    return sorted(found)


# Names that make an object worth walking; every other object (most of a bulletin: its
# structure tree, fonts, pages) is passed over after one look at its canonical text (qpdf
# writes names without #xx escapes): ~5 ms a bulletin instead of ~40.
_INTEREST = re.compile(
    rb"/(?:JS|JavaScript|AA|OpenAction|A|Next|EmbeddedFiles?|EF|RichMedia\w*|XFA|URI|Launch"
    rb"|SubmitForm|ImportData|ResetForm|GoToR|GoToE|GoTo3DView|Rendition|Movie|Sound"
    rb"|FileAttachment|Screen|3D|Action)(?=[\s/\[\]<>()]|$)")


def _walk_pdf(pdf: pikepdf.Pdf, origin: Origin, found: set[str],
              canons: list[tuple[Any, Canon]] | None = None) -> None:
    """`_walk` over each object worth it (`_INTEREST`); `canons`: `_canonicals(pdf)`, if
    made (an object qpdf could not write out raises here what its unparse raised)."""
    if len(pdf.objects) > MAX_OBJECTS:
        found.add(f"more than {MAX_OBJECTS} objects")
        return
    for obj, canon in _canonicals(pdf) if canons is None else canons:
        d = obj.stream_dict if isinstance(obj, pikepdf.Stream) else obj
        if not isinstance(d, (pikepdf.Dictionary, pikepdf.Array)):
            continue
        if isinstance(canon, BaseException):
            raise canon
        if canon is not None and _INTEREST.search(canon):
            _walk(d, origin, found, 0)


def _walk(obj: Any, origin: Origin, found: set[str], depth: int) -> None:
    """One object and the direct objects inside it (indirect ones are walked on their own,
    from `pdf.objects`)."""
    if depth > MAX_DEPTH:
        found.add("nesting deeper than 64")
        return
    if isinstance(obj, pikepdf.Stream):
        obj = obj.stream_dict
    if isinstance(obj, pikepdf.Dictionary):
        _judge(obj, origin, found)
        children = [v for _k, v in obj.items()]
    elif isinstance(obj, pikepdf.Array):
        children = list(obj)
    else:
        return
    for child in children:
        if isinstance(child, pikepdf.Object) and not child.is_indirect:
            _walk(child, origin, found, depth + 1)


# PDFDocEncoding (PDF 32000-1, Annex D) where it is not latin-1: 0x95 is "Ł", 0x96 "Œ",
# 0x97 "Š"… (latin-1 reads C1 controls there, and a name spelt with them was not found).
_PDFDOC = {**dict(zip(range(0x18, 0x20), "\u02d8\u02c7\u02c6\u02d9\u02dd\u02db\u02da\u02dc",
                      strict=True)),
           **dict(zip(range(0x80, 0x9F), "\u2022\u2020\u2021\u2026\u2014\u2013\u0192\u2044"
                      "\u2039\u203a\u2212\u2030\u201e\u201c\u201d\u2018\u2019\u201a\u2122"
                      "\ufb01\ufb02\u0141\u0152\u0160\u0178\u017d\u0131\u0142\u0153\u0161"
                      "\u017e", strict=True)),
           0xA0: "\u20ac"}
_PDFDOC_TABLE = str.maketrans(_PDFDOC)


def _text(value: Any) -> str:
    """A PDF text string as a reader decodes it: UTF-16 or UTF-8 with a byte-order mark,
    else PDFDocEncoding; a name as its text."""
    if isinstance(value, pikepdf.Name):
        return str(value)
    if not isinstance(value, pikepdf.String):
        return ""
    raw = bytes(value)
    for bom, codec in ((b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"),
                       (b"\xef\xbb\xbf", "utf-8")):
        if raw.startswith(bom):
            return raw[len(bom):].decode(codec, "replace")
    return raw.decode("latin-1").translate(_PDFDOC_TABLE)


def _name(value: Any) -> str | None:
    return str(value) if isinstance(value, pikepdf.Name) else None


def _action(value: Any, origin: Origin, found: set[str], automatic: bool) -> None:
    """An action dictionary found where a reader runs one (/A, /OpenAction, /AA, /Next):
    anything but a move inside the document or a link to the site itself is refused; a
    link followed by itself (`automatic`) is refused whatever its target."""
    for action in (list(value) if isinstance(value, pikepdf.Array) else [value]):
        if not isinstance(action, pikepdf.Dictionary):
            continue
        kind = _name(action.get("/S")) or "an action without /S"
        if kind == "/URI" and automatic:
            found.add("/URI run by itself")
        elif kind not in SAFE_ACTIONS and kind != "/URI":
            found.add(kind)


def _judge(d: pikepdf.Dictionary, origin: Origin, found: set[str]) -> None:
    keys = set(d.keys())

    def get(key: str) -> Any:
        # pikepdf's `get` of an absent key costs ~3 µs (an exception inside it), and
        # most of these are absent: asked of the keys first, same answer (None).
        return d.get(key) if key in keys else None

    found.update(keys & KEYS)
    found.update(k for k in keys if k.startswith("/RichMedia"))
    kind = _name(get("/S"))
    # /S also names structure types, transitions, borders, soft masks, page labels: only
    # action types are judged here, by name; where an action sits, any type is (`_action`).
    if kind in DANGEROUS or _name(get("/Type")) == "/Action":
        _action(d, origin, found, automatic=False)
    if kind == "/URI":
        url = _text(get("/URI"))
        if origin.kind(url) not in ("same", "relative"):
            found.add(f"/URI {url[:60]}")
    base = get("/URI")  # the catalog's base of relative links (PDF 32000 12.6.4.7)
    if isinstance(base, pikepdf.Dictionary) and "/Base" in base:
        url = _text(base.get("/Base"))
        if origin.kind(url) != "same":
            found.add(f"/URI /Base {url[:60]}")
    subtype = _name(get("/Subtype"))
    if subtype in ANNOTS:
        found.add(subtype)
    link = get("/A")  # a link's or an outline item's action (a structure element's /A
    if isinstance(link, pikepdf.Dictionary) and "/O" not in link:  # holds attributes: /O)
        _action(link, origin, found, automatic=False)
    if "/Next" in keys and (kind in SAFE_ACTIONS or kind in DANGEROUS):  # chained actions
        _action(get("/Next"), origin, found, automatic=False)  # (an outline's is an item)
    opening = get("/OpenAction")
    if isinstance(opening, pikepdf.Dictionary):  # else a destination (page and view)
        found.add("/OpenAction")
        _action(opening, origin, found, automatic=True)
    triggers = get("/AA")
    if isinstance(triggers, pikepdf.Dictionary):
        for _k, value in triggers.items():
            _action(value, origin, found, automatic=True)


@dataclass(frozen=True)
class Reading:
    """What qpdf reads in a PDF for the canary scan (`read`)."""

    strings: str          # every text string and name of every object of every revision
    info: str | None      # the Info dictionary, a "Key: value" line each, as pdfinfo -custom
    metadata: str | None  # every XMP metadata stream, decoded, as pdfinfo -meta
    # `info` and `metadata` are None unless the file is one clean revision (see `read`).
    # One clean revision in which no page or page tree node has a /CropBox: poppler's
    # library reads the text the pdftotext tool prints (`extract._pdftotext`); and which
    # holds no content run again and again (`_runs_content`): the library has no timeout.
    uncropped: bool = False
    # What the pages show wherever it is drawn, off the page too (`shown`), every revision;
    # None when a content stream could not be read in full (past the bounds, damaged or
    # cut short: the gate then fails closed).
    shown: str | None = ""
    # Every stream's data as qpdf decodes it (every filter a reader applies, predictors
    # too), each revision, where it is text (`_stream_texts`): the raw bytes' blob
    # (`extract._pdf_blob`) finds streams by their keywords and inflates Flate alone.
    streams: str = ""


def strings(data: bytes) -> str:
    """Every text string of every object of the PDF `data`, in every revision, decoded as
    a reader decodes it (`_text`: UTF-16 with a byte-order mark, hex strings, PDFDocEncoding
    too), one a line: what pdftotext does not print (annotations' contents, outline and form
    field titles, metadata in UTF-16) and the raw bytes do not show (UTF-16 has a NUL between
    ASCII letters), for the canary scan."""
    return read(data).strings


def read(data: bytes) -> Reading:
    """`strings`, and, when qpdf and poppler cannot see two different files in `data`, the
    Info dictionary and XMP metadata that pdfinfo would print (so the gate need not start
    two pdfinfo processes a PDF): one revision (a single `%%EOF`, no /Prev), opened by qpdf
    without a warning (no repaired cross-reference table), every metadata stream decoded
    by qpdf's filters. Otherwise `info` and `metadata` are None and pdfinfo reads them."""
    return inspect(data, None)[1]


_ERRORS = (pikepdf.PdfError, ValueError, RecursionError)


def _shown(pdf: pikepdf.Pdf, drawn: list[str] | None) -> list[str] | None:
    """`drawn` with what this revision's pages show (`shown`), or None once a content
    stream cannot be read in full (the gate fails closed)."""
    if drawn is None or len(pdf.objects) > MAX_OBJECTS:
        return drawn
    try:
        drawn.append(shown.read(pdf))
    except (shown.Unreadable, TypeError, KeyError, ValueError, AttributeError):
        # A structure the reader did not expect: nothing it read is known to be all the
        # pages show, so the gate fails closed (it passed, reading nothing: attack round 21)
        return None
    except (pikepdf.PdfError, RecursionError):
        pass  # what the other readings and `actions` make of a broken file
    return drawn


def inspect(data: bytes, origin: Origin | None) -> tuple[list[str], Reading]:
    """`actions(data, origin)` (empty if `origin` is None) and `read(data)`, each revision
    opened by qpdf once for both (the gates opened every PDF twice: 10 s of CPU at 1,000
    cases). Each revision is read as `read` reads it, then walked as `actions` walks it;
    an error in one does not stop the other."""
    found: set[str] = set()
    if origin is not None and len(_EOF.findall(data)) > MAX_REVISIONS + 1:
        found.add(f"more than {MAX_REVISIONS} incremental updates")
        origin = None  # refused as it is: not walked (`actions`)
    strings: dict[str, None] = {}
    names: set[bytes] = set()  # every name of every object, as qpdf writes it (`_name_text`)
    info: str | None = None
    metadata: str | None = None
    uncropped = False
    drawn: list[str] | None = []
    decoded: dict[str, None] = {}
    for revision in _revisions(data):
        whole = revision is data
        try:
            opened = _open(revision)
        except _ERRORS as exc:
            info = metadata = None
            uncropped = False
            if whole and origin is not None:
                found.add(f"unreadable by qpdf ({type(exc).__name__})")
            continue
        with opened as pdf:
            drawn = _shown(pdf, drawn)
            with contextlib.suppress(*_ERRORS):  # what `actions` makes of a broken file
                if len(pdf.objects) <= MAX_OBJECTS:
                    _stream_texts(pdf, decoded)
            canons = None  # each object's canonical text, made once for both readings
            try:
                if len(pdf.objects) <= MAX_OBJECTS:  # else `actions` refuses the file
                    canons = _canonicals(pdf)
                    _read_objects(canons, strings, names)
                    with contextlib.suppress(*_ERRORS, TypeError):
                        _font_programs(canons, decoded)
                    if whole and len(_EOF.findall(data)) == 1 and "/Prev" not in pdf.trailer:
                        info, metadata = _info(pdf), _metadata(pdf)
                        # pdf.objects: the trailer (first) is not an object of the file
                        uncropped = not any(_crops_or_runs(obj) for obj, _c in canons[1:])
                        if pdf.get_warnings():
                            info = metadata = None
                            uncropped = False
            except _ERRORS:
                info = metadata = None  # `actions` refuses a file qpdf cannot read
                uncropped = False
            if origin is not None:
                try:
                    _walk_pdf(pdf, origin, found, canons)
                except _ERRORS as exc:
                    # An earlier revision's prefix may not stand alone; the whole file must.
                    if whole:
                        found.add(f"unreadable by qpdf ({type(exc).__name__})")
    if info is None or metadata is None:
        info = metadata = None
        uncropped = False
    for text in sorted({_name_text(name) for name in names}):
        strings.setdefault(text, None)
    return sorted(found), Reading("\n".join(strings), info, metadata, uncropped,
                           None if drawn is None else "\n".join(drawn), "\n".join(decoded))


def _stream_texts(pdf: pikepdf.Pdf, out: dict[str, None]) -> None:
    """Into `out`, the data of every stream of `pdf` as qpdf decodes it, where it is text
    (`extract._textual`, as the blob keeps it): a stream's bounds told by its /Length, not
    by the first "endstream" after a "stream" keyword (its data may hold that word, the
    keyword be followed by a CR alone or a space, a string before it hold "stream" and a
    newline), and every filter decoded (ASCIIHex, ASCII85, LZW, RunLength, chains,
    predictors), not Flate alone: a name in such a stream passed (attack round 21).
    Flate alone is inflated up to the gates' bound (`bounds.inflate`); a stream qpdf
    cannot decode (an image codec, an unknown filter) is read as its raw bytes."""
    from temoin.gates import extract

    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Stream):
            continue
        try:
            data = _decoded(obj)
        except (*_ERRORS, TypeError, KeyError):
            continue
        data = data[:MAX_INFLATE]
        if data and extract._textual(data):
            out.setdefault(data.decode("utf-8", "replace"), None)
            if not data.isascii():
                out.setdefault(data.decode("latin-1"), None)
        elif data:
            wide = _wide_text(data)
            if wide is not None:
                out.setdefault(wide, None)


_FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")
# Runs of text in a font program: ASCII (a Type 1 font's /Notice, a CFF font's strings, a
# TrueType name table's Macintosh records) and UTF-16BE (its Windows records).
_FONT_RUN = re.compile(rb"[\x20-\x7e]{4,}|(?:\x00[\x20-\x7e]){4,}")


def _font_programs(canons: list[tuple[Any, Canon]], out: dict[str, None]) -> None:
    """Into `out`, the runs of text (`_FONT_RUN`) of every font program a font descriptor
    embeds: binary to `_stream_texts`, while its name table or /Notice holds any text
    (a designer, a copyright line), which `strings`, fontTools or a font viewer prints
    (attack round 21: a name in an embedded font's name table passed)."""
    for obj, canon in canons:
        if not isinstance(canon, bytes) or b"/FontFile" not in canon or \
                not isinstance(obj, pikepdf.Dictionary):
            continue
        keys = obj.keys()
        for key in _FONT_FILES:
            stream = obj.get(key) if key in keys else None
            if not isinstance(stream, pikepdf.Stream):
                continue
            try:
                data = _decoded(stream)[:MAX_INFLATE]
            except (*_ERRORS, TypeError, KeyError):
                continue
            text = _font_strings(data)  # else (a Type 1 font, not parsed) its runs
            out.setdefault(text or "\n".join(
                r.decode("latin-1") if r[:1] != b"\0" else r.decode("utf-16-be")
                for r in _FONT_RUN.findall(data)), None)


def _font_strings(data: bytes) -> str:
    """The strings of a TrueType or OpenType name table, or of a CFF font's string index,
    one a line, as fontTools reads them: stored end to end, their runs (`_FONT_RUN`)
    join the last word of one to the first of the next."""
    from fontTools import cffLib
    from fontTools.ttLib import TTFont

    lines: list[str] = []
    with contextlib.suppress(Exception):  # not such a font: the runs stand
        font = TTFont(io.BytesIO(data), lazy=True)
        lines += [str(record) for record in font["name"].names]
    if not lines:
        with contextlib.suppress(Exception):
            cff = cffLib.CFFFontSet()
            cff.decompile(io.BytesIO(data), None)
            lines += [str(s) for s in cff.strings.strings]
            lines += [str(v) for top in cff.topDictIndex for v in top.rawDict.values()
                      if isinstance(v, str)]
    return "\n".join(lines)


_WIDE = (("utf-32", (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")),
         ("utf-16", (b"\xfe\xff", b"\xff\xfe")))


def _wide_text(data: bytes) -> str | None:
    """`data` as text in UTF-16 or UTF-32 (a byte-order mark, or ASCII letters each beside
    a NUL), if it reads as text (`extract._textual` of it re-encoded): binary to the blob,
    which drops it, while `strings -e l` and any editor show it (attack round 21)."""
    from temoin.gates import extract

    head = data[:65536]
    codec = next((c for c, boms in _WIDE if head.startswith(boms)), None)
    if codec is None:
        half = len(head) // 2
        if half == 0:
            return None
        if head[1::2].count(0) * 10 >= half * 6:
            codec = "utf-16-le"
        elif head[0::2].count(0) * 10 >= half * 6:
            codec = "utf-16-be"
        else:
            return None
    text = data.decode(codec, "replace")
    return text if extract._textual(text[:65536].encode("utf-8", "replace")) else None


def _decoded(stream: pikepdf.Stream) -> bytes:
    """A stream's data decoded by every filter qpdf knows but lossy image codecs; Flate
    alone inflated up to the bound; the raw bytes where qpdf cannot decode them."""
    filters = stream.get("/Filter")
    names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else (
        [str(filters)] if filters is not None else [])
    if names in ([], ["/FlateDecode"], ["/Fl"]) and "/DecodeParms" not in stream:
        raw = stream.read_raw_bytes()
        if not names:
            return raw
        try:
            return bounds.inflate(raw)[0]
        except zlib.error:
            return raw
    try:
        return stream.read_bytes(pikepdf.StreamDecodeLevel.specialized)
    except pikepdf.PdfError:
        return stream.read_raw_bytes()


# An object's canonical text (`_canonical`), or what qpdf raised writing it out.
Canon = bytes | BaseException | None


def _canonicals(pdf: pikepdf.Pdf) -> list[tuple[Any, Canon]]:
    """The trailer and every object of `pdf`, each with its canonical text: written out
    once for `_read_objects` and `_walk_pdf` (each wrote out every object, ~0.2 ms a
    bulletin)."""
    out: list[tuple[Any, Canon]] = []
    for obj in [pdf.trailer, *pdf.objects]:
        d = obj.stream_dict if isinstance(obj, pikepdf.Stream) else obj
        if not isinstance(d, pikepdf.Object):
            out.append((obj, None))
            continue
        try:
            out.append((obj, bytes(d.unparse(resolved=True))))
        except _ERRORS as exc:
            out.append((obj, exc))
    return out


def _read_objects(canons: list[tuple[Any, Canon]], strings: dict[str, None],
                  names: set[bytes]) -> None:
    """Every string (`_collect`) and name (`_NAME`) of every object (`_canonicals`)."""
    texts = []
    for obj, canon in canons:
        if not isinstance(canon, bytes):  # its names too, as `_collect` meets them
            _collect(obj, strings, 0, names=names)
            continue
        texts.append(canon)
        if _may_hold_strings(obj, canon):
            _collect(obj, strings, 0)
    names.update(_NAME.findall(b"\n".join(texts)))  # one search, not one an object


# A string in qpdf's canonical text of an object: a literal "(…)" (a name writes "(" as
# #28) or a hexadecimal "<…>" (a "<" that is not half of a dictionary's "<<").
_STRING = re.compile(rb"\(|(?<!<)<(?!<)")


def _holds_string(canon: bytes) -> bool:
    """Whether `_STRING` matches in `canon`, found with `bytes.find` in C (the regex has no
    literal to look for, so it tried each byte of each object: ~0.3 ms a bulletin): a "("
    anywhere, or a "<" with no "<" just before or after it."""
    if b"(" in canon:
        return True
    at = canon.find(b"<")
    while at >= 0:
        if (at == 0 or canon[at - 1] != 0x3C) and canon[at + 1:at + 2] != b"<":
            return True
        at = canon.find(b"<", at + 1)
    return False


def _canonical(obj: Any) -> bytes | None:
    """qpdf's canonical text of an object (a stream's: its dictionary's), written in C++;
    None when qpdf cannot write it out."""
    d = obj.stream_dict if isinstance(obj, pikepdf.Stream) else obj
    if not isinstance(d, pikepdf.Object):
        return None
    try:
        return bytes(d.unparse(resolved=True))
    except _ERRORS:
        return None


def _may_hold_strings(obj: Any, canon: bytes | None = None) -> bool:
    """False when a dictionary or array holds no string among its direct objects (what
    `_collect` reads of it), told from its canonical text in C++ (`canon`: `_canonical(obj)`,
    if made): 96 % of a bulletin's objects (structure elements, fonts, pages), which
    `_collect` walked in Python for nothing (~3 ms a bulletin). True when qpdf cannot write
    it out (then `_collect` reads it as before)."""
    d = obj.stream_dict if isinstance(obj, pikepdf.Stream) else obj
    if not isinstance(d, (pikepdf.Dictionary, pikepdf.Array)):
        return True
    canon = _canonical(obj) if canon is None else canon
    return canon is None or _holds_string(canon)


# A name in qpdf's canonical text: "/" then regular characters (qpdf writes "#xx" for a
# space, a delimiter, "#" and any byte outside printable ASCII). A name is text a reader
# shows too (a font's name in a document's properties, a named destination, a structure
# type in the tags panel), and its raw spelling may hide it from the raw bytes' scan: any
# letter may be written #xx ("/Nd#61yisenga"), a space must be ("/Jean#20Ndayisenga"),
# and an object stream under another filter than Flate shows nothing (attack round 19).
_NAME = re.compile(rb"/[^\s/\[\]<>(){}%]+")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


def _name_text(name: bytes) -> str:
    """A name as qpdf writes it (`_NAME`), decoded: UTF-8 (PDF 2.0), else PDFDocEncoding;
    control characters read as spaces."""
    raw = _NAME_ESCAPE.sub(lambda m: bytes([int(m[1], 16)]), name[1:])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1").translate(_PDFDOC_TABLE)
    return text.translate(_CONTROL)


def _crops(obj: Any) -> bool:
    """Whether an object (a page or a node of the page tree, which are indirect objects:
    poppler follows no other kind of /Kids) sets a crop box. Text drawn outside it is printed
    by the pdftotext tool (which clips to the media box) but not by poppler's library
    (which clips to the crop box)."""
    d = obj.stream_dict if isinstance(obj, pikepdf.Stream) else obj
    return isinstance(d, pikepdf.Dictionary) and "/CropBox" in d


def _crops_or_runs(obj: Any) -> bool:
    """`_crops(obj) or _runs_content(obj)`, looked at once."""
    d = obj.stream_dict if isinstance(obj, pikepdf.Stream) else obj
    if not isinstance(d, pikepdf.Dictionary):
        return False
    keys = d.keys()  # asked once: `in` a pikepdf dictionary costs ~3 µs when absent
    if "/CropBox" in keys:
        return True
    if "/Subtype" in keys and d.get("/Subtype") in (pikepdf.Name.Form, pikepdf.Name.Type3):
        return True
    return "/PatternType" in keys and d.get("/PatternType") == 1


def _runs_content(obj: Any) -> bool:
    """Whether an object is content a page's drawing may run again and again: a form
    XObject (drawn by `Do`, itself drawing others: ten levels of ten `Do`s are 10^10 runs of
    a 2 KB file, also an annotation's appearance or a soft mask), a Type3 font (a glyph is
    a content stream) or a tiling pattern (its cell is run for every tile). poppler's
    library runs in this process without a bound on its time (the tool is killed after
    `extract._tool`'s timeout, and the gate fails closed), so a PDF holding any of them is
    read by the tool (attack round 19: a 2 KB PDF of nested forms held the build for
    hours). Bulletins hold none."""
    d = obj.stream_dict if isinstance(obj, pikepdf.Stream) else obj
    if not isinstance(d, pikepdf.Dictionary):
        return False
    if "/Subtype" in d and d.get("/Subtype") in (pikepdf.Name.Form, pikepdf.Name.Type3):
        return True
    return "/PatternType" in d and d.get("/PatternType") == 1


def _info(pdf: pikepdf.Pdf) -> str:
    d = pdf.trailer.get("/Info")
    if not isinstance(d, pikepdf.Dictionary):
        return ""
    return "".join(f"{k[1:]}: {_text(v) or str(v)}\n" for k, v in d.items())


def _metadata(pdf: pikepdf.Pdf) -> str | None:
    """The catalog's /Metadata stream and every other stream typed /Metadata, decoded;
    None if qpdf cannot decode one."""
    streams: list[Any] = [o for o in pdf.objects if isinstance(o, pikepdf.Stream) and
               o.stream_dict.get("/Type") == pikepdf.Name.Metadata]
    root = pdf.trailer.get("/Root")
    if isinstance(root, pikepdf.Dictionary) and "/Metadata" in root:
        streams.insert(0, root.get("/Metadata"))
    out, seen = [], set()
    for stream in streams:
        if not isinstance(stream, pikepdf.Stream):
            return None
        if stream.objgen in seen:
            continue
        seen.add(stream.objgen)
        try:
            out.append(stream.read_bytes().decode("utf-8", "replace"))
        except (pikepdf.PdfError, ValueError, NotImplementedError):
            return None
    return "\n".join(out)


# Byte strings, not text: the file identifiers (/ID, 16 random or hashed bytes in every PDF
# fpdf2 writes), an encryption dictionary's keys, and a signature dictionary's value and
# certificates (DER). Decoded as PDFDocEncoding, random bytes are mostly letters: against
# tens of thousands of canaries, a changed bulletin's /ID read as text "held" a private
# place and two e-mail addresses (a 200-case bench site refused). Such strings are read as
# `strings -n 8` reads a file: their runs of 8 or more printable ASCII characters, so a
# name written into one is still found. Which strings are bytes is told by where they sit,
# never by what they hold: a note's text with a stray control byte ("Kango\x01a dit") is
# text a reader shows, and read as runs of 8 it lost every name shorter than 8 letters
# (attack18); its control bytes are read as spaces.
_BINARY_KEYS = frozenset({"/ID", "/O", "/U", "/OE", "/UE", "/Perms"})
# ...and in a signature dictionary: /Type /Sig, a /ByteRange, and nothing of an annotation
# (an annotation given /ByteRange and /Type /Sig still shows its /Contents as text).
_SIGNATURE_KEYS = frozenset({"/Contents", "/Cert"})
_CONTROL = str.maketrans({c: " " for c in [*range(0x00, 0x18), 0x7F] if c not in (9, 10, 13)})
_PRINTABLE_RUN = re.compile(rb"[\x20-\x7e]{8,}")


def _string(value: pikepdf.String, binary: bool) -> str:
    """A string object's text as `strings` collects it (see `_BINARY_KEYS`)."""
    if binary:
        return " ".join(run.decode("ascii") for run in _PRINTABLE_RUN.findall(bytes(value)))
    text = _text(value)
    if "\0" in text:  # UTF-16 without its byte-order mark: a reader draws NULs as nothing
        return text.translate(_CONTROL) + "\n" + text.replace("\0", "").translate(_CONTROL)
    return text.translate(_CONTROL)


def _collect(obj: Any, found: dict[str, None], depth: int, binary: bool = False,
             names: set[bytes] | None = None) -> None:
    """The strings of `obj` and of its direct objects into `found`; with `names`, its names
    as qpdf writes them (those of an object qpdf cannot write out: `_canonical`). Walked
    with a stack, at any depth: direct objects nest as deep as the file's bytes allow,
    never in a cycle (a string under 64 arrays was not read: attack round 21)."""
    del depth  # (kept for callers: the walk has no depth bound)
    stack: list[tuple[Any, bool]] = [(obj, binary)]
    while stack:
        obj, binary = stack.pop()
        if isinstance(obj, pikepdf.Stream):
            obj = obj.stream_dict
        if isinstance(obj, pikepdf.String):
            found.setdefault(_string(obj, binary), None)
        elif isinstance(obj, pikepdf.Name):
            if names is not None:
                with contextlib.suppress(*_ERRORS):
                    names.add(bytes(obj.unparse()))
        elif isinstance(obj, pikepdf.Dictionary):
            signature = "/ByteRange" in obj and obj.get("/Type") == pikepdf.Name.Sig and \
                "/Subtype" not in obj and "/Rect" not in obj
            children = []
            for k, v in obj.items():
                if not (isinstance(v, pikepdf.Object) and v.is_indirect):
                    children.append((v, k in _BINARY_KEYS
                                     or (signature and k in _SIGNATURE_KEYS)))
                if names is not None:
                    with contextlib.suppress(*_ERRORS):
                        names.add(bytes(pikepdf.Name(k).unparse()))
            stack += reversed(children)  # in order, as the recursive walk read them
        elif isinstance(obj, pikepdf.Array):
            stack += reversed([(v, binary) for v in obj
                               if not (isinstance(v, pikepdf.Object) and v.is_indirect)])
