"""Media for publication: find metadata blocks, and re-encode images without any.

A photo's EXIF can carry the GPS position of the place it was taken, the camera's serial
number and the owner's name; XMP and IPTC carry authors and captions; an ICC profile names
the device. `scrub` keeps only pixels: it decodes with Pillow, turns the picture upright
(EXIF orientation), converts it to sRGB if it had a colour profile, and encodes a fresh
image that never received any metadata. `metadata_found` reads the container structure
itself (JPEG segments, PNG/WebP chunks, GIF extensions) rather than trusting a decoder, so
the publication gate sees blocks a decoder would skip.
"""

from __future__ import annotations

import io
import struct
from pathlib import PurePath

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from temoin.errors import CaseError

# Content type (Pillow format) -> accepted filename extensions.
FORMATS = {"JPEG": (".jpg", ".jpeg"), "PNG": (".png",), "WEBP": (".webp",), "GIF": (".gif",)}
# Refuse pictures a decoder could be asked to blow up into gigabytes.
MAX_PIXELS = 50_000_000
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".svg", ".tif", ".tiff",
                  ".heic", ".heif", ".avif", ".bmp", ".jxl")


def _fail(filename: str, why: str) -> CaseError:
    name = PurePath(filename).name
    return CaseError(f"media {name}: {why}; export it as JPEG, PNG or WebP (a still image) "
                     "and add it again")


def _open(data: bytes, filename: str) -> Image.Image:
    """Decode with Pillow, restricted to the formats we publish and a pixel budget."""
    try:
        with _pixel_limit():
            im = Image.open(io.BytesIO(data), formats=list(FORMATS))
            im.load()
    except Image.DecompressionBombError as exc:
        raise _fail(filename, f"over {MAX_PIXELS} pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _fail(filename, "not a JPEG, PNG, WebP or GIF image (or a damaged one)") from exc
    suffix = PurePath(filename).suffix.lower()
    if suffix not in FORMATS[im.format or ""]:
        raise _fail(filename, f"content is {im.format} but the name ends in {suffix or 'nothing'}")
    if getattr(im, "n_frames", 1) > 1:
        raise _fail(filename, "animated images are not published")
    return im


class _pixel_limit:
    """Temporarily set Pillow's decompression-bomb limit to MAX_PIXELS (errors above)."""

    def __enter__(self) -> None:
        self.saved = Image.MAX_IMAGE_PIXELS
        # Pillow raises above twice the limit and warns above it; we want an error above ours.
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS // 2

    def __exit__(self, *exc: object) -> None:
        Image.MAX_IMAGE_PIXELS = self.saved


def _to_srgb(im: Image.Image) -> Image.Image:
    """Apply an embedded colour profile (so colours survive dropping it), else unchanged."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return im
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst = ImageCms.createProfile("sRGB")
        out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(im, src, dst, outputMode=out_mode) or im
    except (ImageCms.PyCMSError, OSError, ValueError):
        return im  # a broken profile: keep the pixels as they are; the profile is dropped anyway


def scrub(data: bytes, filename: str) -> bytes:
    """Re-encode an image keeping only its pixels (no EXIF/XMP/IPTC/GPS/ICC/comments).

    Raises CaseError for anything but a still JPEG, PNG, WebP or GIF whose name matches its
    content. The output is deterministic for a given input.
    """
    im = _open(data, filename)
    fmt = im.format or ""
    im = ImageOps.exif_transpose(im) or im
    im = _to_srgb(im)
    has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
    grey = im.mode in ("1", "L")
    mode = "RGBA" if has_alpha and fmt != "JPEG" else ("L" if grey else "RGB")
    pixels = im.convert(mode)
    # A new image built from raw pixel bytes carries no `info` at all: nothing for an encoder
    # to copy across (Pillow's encoders read comments and profiles from `im.info`).
    clean = Image.frombytes(mode, pixels.size, pixels.tobytes())
    out = io.BytesIO()
    if fmt == "JPEG":
        clean.save(out, "JPEG", quality=90, optimize=True)
    elif fmt == "PNG":
        clean.save(out, "PNG", optimize=True)
    elif fmt == "WEBP":
        clean.save(out, "WEBP", quality=90, method=6)
    else:  # GIF: a still frame, palette rebuilt from the clean pixels
        (clean if mode != "RGBA" else clean.convert("RGB")).save(out, "GIF")
    return out.getvalue()


# -- finding metadata -----------------------------------------------------------------------

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
    try:
        with _pixel_limit():
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
