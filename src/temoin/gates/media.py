"""The media gate: which metadata blocks an image still carries (EXIF, GPS, XMP, IPTC, ICC,
comments), read from the file's own structure.

Separate from `site/media.py`, which scrubs: the gate shares no code with what it checks, so
a scrubber that misses a block is caught here rather than agreeing with itself.
"""

from __future__ import annotations

import io
import struct
from pathlib import PurePath

from PIL import Image

# Every suffix a browser might show as a picture; the ones we cannot inspect are reported.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".svg", ".tif", ".tiff",
                  ".heic", ".heif", ".avif", ".bmp", ".jxl")


# Segments that only draw the picture (tables, frame and scan headers, restart interval),
# and the two application segments every encoder writes (JFIF, Adobe's colour transform).
_JPEG_DRAWING = frozenset({*range(0xC0, 0xD0), 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF})
_JPEG_NAMED = {0xFE: "comments", 0xED: "Photoshop"}


def _jpeg_segment(marker: int, body: bytes) -> str | None:
    """What one JPEG segment carries besides the picture (None: nothing)."""
    if marker in _JPEG_DRAWING:
        return None
    if marker == 0xE0 and body.startswith(b"JFIF\0"):
        return "thumbnail" if len(body) > 14 and body[12:14] != b"\0\0" else None
    if marker == 0xEE and body.startswith(b"Adobe"):
        return None
    if marker == 0xE1 and body.startswith(b"Exif\0"):
        return "EXIF"
    if marker == 0xE1 and (b"ns.adobe.com/xap" in body[:64] or b"ns.adobe.com/xmp" in body[:64]):
        return "XMP"
    if marker == 0xED:
        return "IPTC" if b"8BIM\x04\x04" in body else "Photoshop"
    if marker == 0xE2 and body.startswith(b"ICC_PROFILE"):
        return "ICC"
    if 0xE0 <= marker <= 0xEF:
        return f"APP{marker - 0xE0}"
    return _JPEG_NAMED.get(marker, f"unknown segment 0x{marker:02X}")


def _jpeg_blocks(data: bytes) -> list[str]:
    """Every segment of a JPEG, those between and after its scans too (a progressive JPEG
    has several; a comment or EXIF may sit after the first), and bytes after its end."""
    found: list[str] = []
    i = 2
    while i < len(data):
        if data[i] != 0xFF or i + 1 >= len(data):
            found.append("malformed JPEG segment")
            break
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xD9:  # end of image
            if data[i + 2:].strip(b"\0"):
                found.append("data after the end of the image")
            break
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        if i + 4 > len(data):
            found.append("malformed JPEG segment")
            break
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        what = _jpeg_segment(marker, data[i + 4:i + 2 + length])
        if what:
            found.append(what)
        i += 2 + length
        if marker == 0xDA:  # entropy-coded data: up to the next marker (not 00, not RSTn)
            while True:
                i = data.find(b"\xff", i)
                if i < 0 or i + 1 >= len(data):
                    found.append("no end of image")
                    return found
                if data[i + 1] == 0 or 0xD0 <= data[i + 1] <= 0xD7 or data[i + 1] == 0xFF:
                    i += 2 if data[i + 1] != 0xFF else 1
                    continue
                break
    else:
        found.append("no end of image")
    return found


# Chunks that only draw the picture: header, palette, data, end, transparency, colour
# space and gamma, significant bits, background, pixel size, histogram, coding points.
_PNG_DRAWING = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM",
                          b"sRGB", b"sBIT", b"bKGD", b"pHYs", b"hIST", b"cICP"})


def _png_blocks(data: bytes) -> list[str]:
    """Every chunk of a PNG that is not drawing (named, or "unknown block" with its type),
    and bytes after its end."""
    found: list[str] = []
    i = 8
    while True:
        if i + 8 > len(data):
            found.append("no end of image")
            break
        (length,) = struct.unpack(">I", data[i:i + 4])
        ctype = data[i + 4:i + 8]
        body = data[i + 8:i + 8 + min(length, 64)]
        if ctype == b"eXIf":
            found.append("EXIF")
        elif ctype == b"iTXt" and body.startswith(b"XML:com.adobe.xmp"):
            found.append("XMP")
        elif ctype in (b"tEXt", b"zTXt", b"iTXt"):
            found.append("comments")
        elif ctype == b"iCCP":
            found.append("ICC")
        elif ctype == b"tIME":
            found.append("timestamp")
        elif ctype not in _PNG_DRAWING:
            found.append("unknown block " + ctype.decode("latin-1").encode(
                "unicode_escape").decode("ascii"))
        i += 12 + length
        if ctype == b"IEND":
            if data[i:].strip(b"\0"):
                found.append("data after the end of the image")
            break
    return found


_WEBP_DRAWING = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF"})


def _webp_blocks(data: bytes) -> list[str]:
    """Every chunk of a WebP that is not drawing, and bytes after the RIFF container."""
    names = {b"EXIF": "EXIF", b"XMP ": "XMP", b"ICCP": "ICC"}
    found: list[str] = []
    (size,) = struct.unpack("<I", data[4:8])
    end = min(len(data), 8 + size)
    if data[end:].strip(b"\0"):
        found.append("data after the end of the image")
    i = 12
    while i + 8 <= end:
        ctype = data[i:i + 4]
        (length,) = struct.unpack("<I", data[i + 4:i + 8])
        if ctype in names:
            found.append(names[ctype])
        elif ctype not in _WEBP_DRAWING:
            found.append("unknown block " + ctype.decode("latin-1").encode(
                "unicode_escape").decode("ascii"))
        i += 8 + length + (length & 1)
    return found


def _gif_sub_blocks(data: bytes, i: int) -> tuple[int, bytes]:
    """The data sub-blocks starting at `i`: (index after the terminator, their bytes)."""
    out = bytearray()
    while i < len(data):
        n = data[i]
        if n == 0:
            return i + 1, bytes(out)
        out += data[i + 1:i + 1 + n]
        i += 1 + n
    raise ValueError("no block terminator")


def _gif_blocks(data: bytes) -> list[str]:
    """Every block of a GIF that is not drawing (comments, plain text, application data
    but looping), and bytes after its trailer; read block by block."""
    found: list[str] = []
    try:
        if len(data) < 13:
            raise ValueError("short")
        flags = data[10]
        i = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
        while True:
            if i >= len(data):
                raise ValueError("no trailer")
            kind = data[i]
            if kind == 0x3B:  # trailer
                if data[i + 1:].strip(b"\0"):
                    found.append("data after the end of the image")
                break
            if kind == 0x2C:  # image: descriptor, local palette, LZW data
                local = data[i + 9]
                i += 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0) + 1
                i, _ = _gif_sub_blocks(data, i)
            elif kind == 0x21:
                label = data[i + 1]
                i, body = _gif_sub_blocks(data, i + 2)
                if label == 0xFE:
                    found.append("comments")
                elif label == 0x01:
                    found.append("plain text")
                elif label == 0xFF:
                    if body.startswith(b"XMP DataXMP"):
                        found.append("XMP")
                    elif not body.startswith((b"NETSCAPE2.0", b"ANIMEXTS1.0")):
                        found.append("application data")
                elif label != 0xF9:  # graphic control: timing, transparency
                    found.append(f"unknown extension 0x{label:02X}")
            else:
                raise ValueError("unknown block")
    except (IndexError, ValueError):
        found.append("malformed GIF")
    return found


def _gps_present(data: bytes) -> bool:
    try:  # open() reads headers only; Pillow's own bomb check refuses absurd sizes
        exif = Image.open(io.BytesIO(data)).getexif()
        return bool(exif.get_ifd(0x8825))
    except Exception:  # noqa: BLE001 - any parse failure: EXIF is reported anyway
        return False


def metadata_found(data: bytes, filename: str) -> list[str]:
    """Names of the metadata blocks in an image (EXIF, GPS, XMP, IPTC, ICC, comments…).

    Empty means publishable. A type we cannot inspect is reported as such, never as clean.
    """
    suffix = PurePath(filename).suffix.lower()
    if data.startswith(b"\xff\xd8"):
        found = _jpeg_blocks(data)
    elif data.startswith(b"\x89PNG\r\n\x1a\n"):
        found = _png_blocks(data)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        found = _webp_blocks(data)
    elif data[:6] in (b"GIF87a", b"GIF89a"):
        found = _gif_blocks(data)
    elif suffix == ".svg" or data.lstrip()[:5] in (b"<?xml", b"<svg ", b"<svg\n"):
        low = data.lower()
        found = [name for tag, name in ((b"<metadata", "SVG metadata"), (b"<rdf:", "XMP"),
                                        (b"sodipodi:", "editor data"), (b"inkscape:",
                                                                        "editor data"))
                 if tag in low]
    else:
        return [f"unsupported image type ({suffix or 'no extension'}): cannot be checked"]
    if "EXIF" in found and _gps_present(data):
        found.append("GPS")
    return sorted(set(found))
