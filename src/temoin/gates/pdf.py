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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pikepdf

from temoin.gates import pdf_strings, shown
from temoin.gates.markup import Origin
from temoin.gates.pdf_strings import Canon

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
    for obj, canon in pdf_strings.canonicals(pdf) if canons is None else canons:
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
        url = pdf_strings.decoded_string(get("/URI"))
        if origin.kind(url) not in ("same", "relative"):
            found.add(f"/URI {url[:60]}")
    base = get("/URI")  # the catalog's base of relative links (PDF 32000 12.6.4.7)
    if isinstance(base, pikepdf.Dictionary) and "/Base" in base:
        url = pdf_strings.decoded_string(base.get("/Base"))
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
    a reader decodes it (`pdf_strings.decoded_string`: UTF-16 with a byte-order mark, hex
    strings, PDFDocEncoding too), one a line: what pdftotext does not print (annotations'
    contents, outline and form field titles, metadata in UTF-16) and the raw bytes do not
    show (UTF-16 has a NUL between ASCII letters), for the canary scan."""
    return read(data).strings


def read(data: bytes) -> Reading:
    """`strings`, and, when qpdf and poppler cannot see two different files in `data`, the
    Info dictionary and XMP metadata that pdfinfo would print (so the gate need not start
    two pdfinfo processes a PDF): one revision (a single `%%EOF`, no /Prev), opened by qpdf
    without a warning (no repaired cross-reference table), every metadata stream decoded
    by qpdf's filters. Otherwise `info` and `metadata` are None and pdfinfo reads them."""
    return inspect(data, None)[1]


_ERRORS = pdf_strings.ERRORS


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
                    pdf_strings.stream_texts(pdf, decoded)
            canons = None  # each object's canonical text, made once for both readings
            try:
                if len(pdf.objects) <= MAX_OBJECTS:  # else `actions` refuses the file
                    canons = pdf_strings.canonicals(pdf)
                    pdf_strings.read_objects(canons, strings, names)
                    with contextlib.suppress(*_ERRORS, TypeError):
                        pdf_strings.font_programs(canons, decoded)
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
    for text in sorted({pdf_strings.name_text(name) for name in names}):
        strings.setdefault(text, None)
    return sorted(found), Reading("\n".join(strings), info, metadata, uncropped,
                           None if drawn is None else "\n".join(drawn), "\n".join(decoded))


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
    return "".join(f"{k[1:]}: {pdf_strings.decoded_string(v) or str(v)}\n" for k, v in d.items())


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
