"""How a PDF font's codes read as text, as poppler and pdf.js read them (for `shown`): its
encoding (a standard one, /Differences glyph names, names readers take as numbers), its
ToUnicode map (bfchar and bfrange, destinations of any length, cut by the font's code
width or its CMap's code space ranges), latin-1 or UTF-16 where nothing else says. Split
from `shown`, which follows what the pages draw."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pikepdf

Decode = Callable[[bytes], str]


MAX_RANGE = 1 << 16         # codes a ToUnicode bfrange may map


_BFCHAR = re.compile(rb"beginbfchar(.*?)endbfchar", re.S)


_BFRANGE = re.compile(rb"beginbfrange(.*?)endbfrange", re.S)


_TOKEN = re.compile(rb"<([0-9A-Fa-f\s]*)>|\[([^\]]*)\]")


_BASES = {"/WinAnsiEncoding": "cp1252", "/MacRomanEncoding": "mac_roman"}


def latin(data: bytes) -> str:
    return data.decode("latin-1")


def _utf16(data: bytes) -> str:
    return data.decode("utf-16-be", "replace")


def _by_encoding(encoding: Any) -> Decode | None:
    """A simple font's codes through its encoding: a named base, /Differences' glyph names."""
    from fontTools import agl

    if isinstance(encoding, pikepdf.Name):
        codec = _BASES.get(str(encoding), "latin-1")
        return lambda data: data.decode(codec, "replace")
    if not isinstance(encoding, pikepdf.Dictionary):
        return None
    codec = _BASES.get(str(encoding.get("/BaseEncoding", "")), "latin-1")
    table = {n: bytes([n]).decode(codec, "replace") for n in range(256)}
    code = 0
    for item in encoding.get("/Differences", pikepdf.Array()):
        if isinstance(item, pikepdf.Name):
            if 0 <= code < 256:
                name = str(item)[1:]
                table[code] = agl.toUnicode(name) or _numeric(name)
            code += 1
        else:
            try:
                code = int(item)
            except (TypeError, ValueError):
                continue
    mapping = str.maketrans({chr(n): t for n, t in table.items()})
    return lambda data: data.decode("latin-1").translate(mapping)


# Glyph names pdf.js (Firefox's reader) reads as a number when the Adobe Glyph List has
# none: "Gxx" (hex), "g00xx" (hex), "Cdd"/"Cddd" and "cdd"/"cddd" (decimal): its text layer
# shows "c74" as "J" (attack round 21: a name so spelt in /Differences passed).
_NUMERIC = re.compile(r"G([0-9A-Fa-f]{2})|g([0-9A-Fa-f]{4})|[Cc]([0-9]{2,3})")


def _numeric(name: str) -> str:
    m = _NUMERIC.fullmatch(name)
    if m is None:
        return ""
    code = int(m[3]) if m[3] else int(m[1] or m[2], 16)
    return chr(code) if 0 < code <= 0x10FFFF else ""


def _hex(token: bytes) -> bytes | None:
    try:
        return bytes.fromhex(token.decode("ascii"))
    except ValueError:
        return None


def _unicode(token: bytes, offset: int = 0) -> str | None:
    """A ToUnicode destination's hex digits as poppler reads them: up to 4 digits one code
    point (odd counts too: "<4A>" and "<04A>" are "J"), more a run of UTF-16 code units
    of 4 digits each (a remainder ignored), `offset` added to the last (a bfrange's
    codes after the first); NULs dropped (drawn as nothing). Read as bytes of UTF-16,
    "<4A>" was one invalid byte: a name mapped so passed (attack round 21). None if not
    hex."""
    digits = b"".join(token.split())
    try:
        if len(digits) <= 4:
            return chr((int(digits, 16) + offset) % 0x110000).replace("\0", "") \
                if digits else ""
        units = [int(digits[i:i + 4], 16) for i in range(0, len(digits) // 4 * 4, 4)]
    except ValueError:
        return None
    units[-1] = (units[-1] + offset) & 0xFFFF
    text = b"".join(u.to_bytes(2, "big") for u in units).decode("utf-16-be", "replace")
    return text.replace("\0", "")


def _bfchars(data: bytes, table: dict[bytes, str]) -> None:
    for block in _BFCHAR.findall(data):
        tokens = [t for t, _a in _TOKEN.findall(block)]
        for src, dst in zip(tokens[::2], tokens[1::2], strict=False):
            code, text = _hex(src), _unicode(dst)
            if code and text is not None:
                table[code] = text


def _bfranges(data: bytes, table: dict[bytes, str]) -> None:
    for block in _BFRANGE.findall(data):
        items = _TOKEN.findall(block)
        for n in range(0, len(items) - 2, 3):
            (lo, _), (hi, _), (dst, arr) = items[n:n + 3]
            a, b = _hex(lo), _hex(hi)
            if not a or b is None:
                continue
            start, end = int.from_bytes(a, "big"), int.from_bytes(b, "big")
            if end < start or end - start > MAX_RANGE:
                continue
            if arr:
                dsts = [_unicode(t) for t in re.findall(rb"<([0-9A-Fa-f\s]*)>", arr)]
                for i, d in enumerate(dsts[:end - start + 1]):
                    if d is not None:
                        table[(start + i).to_bytes(len(a), "big")] = d
                continue
            for i in range(end - start + 1):
                d = _unicode(dst, i)
                if d is None:
                    break
                table[(start + i).to_bytes(len(a), "big")] = d


def _by_value(table: dict[bytes, str], width: int) -> dict[bytes, str]:
    """`table` keyed by codes of `width` bytes: each source read as a number (those past
    the width left out), as poppler keys its map; one of the same value met later wins."""
    out: dict[bytes, str] = {}
    top = 1 << (8 * width)
    for key, text in table.items():
        code = int.from_bytes(key, "big")
        if code < top:
            out[code.to_bytes(width, "big")] = text
    return out


class _Dropping(dict[int, str]):
    """A `str.translate` table that drops every code it does not map (one pass in C; a
    code left out is rare, and only it calls `__missing__`)."""

    def __missing__(self, key: int) -> None:
        return None


Ranges = list[tuple[bytes, bytes]]  # a CMap's code space ranges, each its low and high code


_CODESPACE = re.compile(rb"begincodespacerange(.*?)endcodespacerange", re.S)


def _code_width(font: pikepdf.Dictionary, two: bool) -> int | Ranges | None:
    """How `font`'s codes are cut: 1 byte each in a simple font, 2 in a Type0 font under
    /Identity-H or /Identity-V, by the code space ranges of an embedded CMap (one width,
    or several: `Ranges`), as poppler cuts them; None when not known here (another named
    CMap: the map's longest code first)."""
    if not two:
        return 1
    return _cmap_space(font.get("/Encoding"), 0)


def _cmap_space(encoding: Any, depth: int) -> int | Ranges | None:
    if isinstance(encoding, pikepdf.Name):
        return 2 if str(encoding) in ("/Identity-H", "/Identity-V") else None
    if not isinstance(encoding, pikepdf.Stream) or depth > 4:
        return None
    try:
        data = encoding.read_bytes()[:1 << 22]
    except pikepdf.PdfError:
        return None
    ranges: Ranges = []
    for block in _CODESPACE.findall(data):
        tokens = [_hex(t) for t, _a in _TOKEN.findall(block)]
        ranges += [(lo, hi) for lo, hi in zip(tokens[::2], tokens[1::2], strict=False)
                   if lo and hi and len(lo) == len(hi) <= 4]
    if not ranges:  # its code space is that of the CMap it uses
        return _cmap_space(encoding.get("/UseCMap"), depth + 1)
    widths = {len(lo) for lo, _hi in ranges}
    return widths.pop() if len(widths) == 1 else ranges


def _cut(ranges: Ranges, table: dict[int, str]) -> Decode:
    """Codes cut by a CMap's code space ranges (the shortest that holds the next bytes;
    one byte where none does, as poppler reads them), each looked up by its value."""
    def decode(data: bytes) -> str:
        out, i = [], 0
        while i < len(data):
            size = 1
            for n in (1, 2, 3, 4):
                code = data[i:i + n]
                if len(code) == n and any(len(lo) == n and all(
                        a <= c <= b for a, c, b in zip(lo, code, hi, strict=True))
                        for lo, hi in ranges):
                    size = n
                    break
            got = table.get(int.from_bytes(data[i:i + size], "big"))
            if got is not None:
                out.append(got)
            i += size
        return "".join(out)
    return decode


def _to_unicode(cmap: Any, fallback: Decode | None = None,
                width: int | Ranges | None = None) -> Decode | None:
    """Codes through a ToUnicode CMap (bfchar and bfrange); a code it does not map through
    `fallback` (a simple font's encoding), else dropped. Where the font's codes are
    `width` bytes each, the text is cut so and each code looked up by its value, as
    poppler reads a map (its source "<0061>" is code 0x61 in a simple font; an entry of
    another width never cuts the text: attack round 21, a map's two-byte entries read
    first hid a simple font's one-byte codes); else longest code first."""
    if not isinstance(cmap, pikepdf.Stream):
        return None
    try:
        data = cmap.read_bytes()[:1 << 22]
    except pikepdf.PdfError:
        return None
    table: dict[bytes, str] = {}
    _bfchars(data, table)
    _bfranges(data, table)
    if not table:
        return None
    if isinstance(width, list):
        return _cut(width, {int.from_bytes(k, "big"): v for k, v in table.items()})
    if width is not None:
        table = _by_value(table, width)
    widths = sorted({len(k) for k in table}, reverse=True)
    if fallback is not None and widths == [1]:  # every code of a simple font: one table
        full = str.maketrans({n: table.get(bytes([n]), fallback(bytes([n])))
                              for n in range(256)})
        return lambda data: data.decode("latin-1").translate(full)
    if widths == [1] or widths == [2]:  # one width (nearly always): C-level translation
        codec = "latin-1" if widths == [1] else "utf-16-be"
        mapping = _Dropping(str.maketrans({int.from_bytes(k, "big"): v
                                           for k, v in table.items()}))

        def uniform(data: bytes) -> str:
            if codec == "utf-16-be" and len(data) % 2:
                data = data[:-1]
            return data.decode(codec, "surrogatepass").translate(mapping)
        return uniform

    def decode(data: bytes) -> str:
        out, i = [], 0
        while i < len(data):
            for w in widths:
                got = table.get(data[i:i + w])
                if got is not None:
                    out.append(got)
                    i += w
                    break
            else:
                if fallback is not None:
                    out.append(fallback(data[i:i + 1]))
                i += 1
        return "".join(out)
    return decode


def decoders(font: pikepdf.Dictionary) -> tuple[Decode, Decode]:
    """How a font's codes read: the main reading (its ToUnicode map, else its encoding),
    and the other one a reader may use (its encoding, else the map)."""
    two = font.get("/Subtype") == "/Type0"
    by_encoding = None if two else _by_encoding(font.get("/Encoding"))
    # A code the ToUnicode map leaves out is read through the simple font's encoding,
    # as readers read it (attack round 20: a map of one code hid every other letter).
    unicode = _to_unicode(font.get("/ToUnicode"), None if two else by_encoding or latin,
                          _code_width(font, two))
    first = unicode or by_encoding or (_utf16 if two else latin)
    return (first, by_encoding or unicode or first)
