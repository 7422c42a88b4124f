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


def _jpeg_blocks(data: bytes) -> list[str]:
    found: list[str] = []
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            found.append("malformed JPEG segment")
            break
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        if marker in (0xDA, 0xD9):  # start of scan / end: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        body = data[i + 4:i + 2 + length]
        if marker == 0xE1 and body.startswith(b"Exif\0"):
            found.append("EXIF")
        elif marker == 0xE1 and (b"ns.adobe.com/xap" in body[:64] or b"ns.adobe.com/xmp"
                                 in body[:64]):
            found.append("XMP")
        elif marker == 0xED:
            found.append("IPTC" if b"8BIM\x04\x04" in body else "Photoshop")
        elif marker == 0xFE:
            found.append("comments")
        elif marker == 0xE2 and body.startswith(b"ICC_PROFILE"):
            found.append("ICC")
        elif 0xE1 <= marker <= 0xEF and not (marker == 0xEE and body.startswith(b"Adobe")):
            found.append(f"APP{marker - 0xE0}")
        i += 2 + length
    return found


def _png_blocks(data: bytes) -> list[str]:
    found: list[str] = []
    i = 8
    while i + 8 <= len(data):
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
        elif ctype == b"IEND":
            break
        i += 12 + length
    return found


def _webp_blocks(data: bytes) -> list[str]:
    names = {b"EXIF": "EXIF", b"XMP ": "XMP", b"ICCP": "ICC"}
    found: list[str] = []
    i = 12
    while i + 8 <= len(data):
        ctype = data[i:i + 4]
        (length,) = struct.unpack("<I", data[i + 4:i + 8])
        if ctype in names:
            found.append(names[ctype])
        i += 8 + length + (length & 1)
    return found


def _gif_blocks(data: bytes) -> list[str]:
    found = []
    if b"\x21\xfe" in data:
        found.append("comments")
    if b"XMP DataXMP" in data:
        found.append("XMP")
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
