"""Every text a PDF's objects and streams hold, as qpdf reads them, for the canary scan
(`pdf.read`): each object's strings (PDFDocEncoding, UTF-16 and UTF-8 decoded as a reader
decodes them; byte strings as runs of printable characters) and names, every stream's
data as qpdf decodes it where it is text, and the names and strings of embedded font
programs. Split from `pdf`, which judges what a PDF would do."""

from __future__ import annotations

import contextlib
import io
import re
import zlib
from typing import Any

import pikepdf

from temoin.gates import bounds, shown
from temoin.gates.bounds import MAX_INFLATE

ERRORS = (pikepdf.PdfError, ValueError, RecursionError)


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


def decoded_string(value: Any) -> str:
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


def stream_texts(pdf: pikepdf.Pdf, out: dict[str, None]) -> None:
    """Into `out`, the data of every stream of `pdf` as qpdf decodes it, where it is text
    (`bounds.textual`, as the blob keeps it): a stream's bounds told by its /Length, not
    by the first "endstream" after a "stream" keyword (its data may hold that word, the
    keyword be followed by a CR alone or a space, a string before it hold "stream" and a
    newline), and every filter decoded (ASCIIHex, ASCII85, LZW, RunLength, chains,
    predictors), not Flate alone: a name in such a stream passed (attack round 21).
    Flate alone is inflated up to the gates' bound (`bounds.inflate`); a stream qpdf
    cannot decode (an image codec, an unknown filter) is read as its raw bytes."""
    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Stream):
            continue
        try:
            data = _decoded(obj)
        except (*ERRORS, TypeError, KeyError):
            continue
        data = data[:MAX_INFLATE]
        if data and bounds.textual(data):
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


def font_programs(canons: list[tuple[Any, Canon]], out: dict[str, None]) -> None:
    """Into `out`, the runs of text (`_FONT_RUN`) of every font program a font descriptor
    embeds: binary to `stream_texts`, while its name table or /Notice holds any text
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
            except (*ERRORS, TypeError, KeyError):
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
    a NUL), if it reads as text (`bounds.textual` of it re-encoded): binary to the blob,
    which drops it, while `strings -e l` and any editor show it (attack round 21)."""
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
    return text if bounds.textual(text[:65536].encode("utf-8", "replace")) else None


def _decoded(stream: pikepdf.Stream) -> bytes:
    """A stream's data decoded by every filter qpdf knows but lossy image codecs; Flate
    alone inflated up to the bound; the raw bytes where qpdf cannot decode them."""
    flate = shown.flate_alone(stream)
    if flate is not None:
        raw = stream.read_raw_bytes()
        if not flate:
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


def canonicals(pdf: pikepdf.Pdf) -> list[tuple[Any, Canon]]:
    """The trailer and every object of `pdf`, each with its canonical text: written out
    once for `read_objects` and `pdf._walk_pdf` (each wrote out every object, ~0.2 ms a
    bulletin)."""
    out: list[tuple[Any, Canon]] = []
    for obj in [pdf.trailer, *pdf.objects]:
        d = obj.stream_dict if isinstance(obj, pikepdf.Stream) else obj
        if not isinstance(d, pikepdf.Object):
            out.append((obj, None))
            continue
        try:
            out.append((obj, bytes(d.unparse(resolved=True))))
        except ERRORS as exc:
            out.append((obj, exc))
    return out


def read_objects(canons: list[tuple[Any, Canon]], strings: dict[str, None],
                 names: set[bytes]) -> None:
    """Every string (`_collect`) and name (`_NAME`) of every object (`canonicals`)."""
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


def _may_hold_strings(obj: Any, canon: bytes) -> bool:
    """False when a dictionary or array holds no string among its direct objects (what
    `_collect` reads of it), told from its canonical text (`canon`, from `canonicals`):
    96 % of a bulletin's objects (structure elements, fonts, pages), which `_collect`
    walked in Python for nothing (~3 ms a bulletin). An object qpdf cannot write out is
    never asked: `read_objects` collects it whole."""
    d = obj.stream_dict if isinstance(obj, pikepdf.Stream) else obj
    return not isinstance(d, (pikepdf.Dictionary, pikepdf.Array)) or _holds_string(canon)


# A name in qpdf's canonical text: "/" then regular characters (qpdf writes "#xx" for a
# space, a delimiter, "#" and any byte outside printable ASCII). A name is text a reader
# shows too (a font's name in a document's properties, a named destination, a structure
# type in the tags panel), and its raw spelling may hide it from the raw bytes' scan: any
# letter may be written #xx ("/Nd#61yisenga"), a space must be ("/Jean#20Ndayisenga"),
# and an object stream under another filter than Flate shows nothing (attack round 19).
_NAME = re.compile(rb"/[^\s/\[\]<>(){}%]+")


_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


def name_text(name: bytes) -> str:
    """A name as qpdf writes it (`_NAME`), decoded: UTF-8 (PDF 2.0), else PDFDocEncoding;
    control characters read as spaces."""
    raw = _NAME_ESCAPE.sub(lambda m: bytes([int(m[1], 16)]), name[1:])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1").translate(_PDFDOC_TABLE)
    return text.translate(_CONTROL)


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
    text = decoded_string(value)
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
                with contextlib.suppress(*ERRORS):
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
                    with contextlib.suppress(*ERRORS):
                        names.add(bytes(pikepdf.Name(k).unparse()))
            stack += reversed(children)  # in order, as the recursive walk read them
        elif isinstance(obj, pikepdf.Array):
            stack += reversed([(v, binary) for v in obj
                               if not (isinstance(v, pikepdf.Object) and v.is_indirect)])
