"""Media for publication: re-encode images without any metadata block.

A photo's EXIF can carry the GPS position of the place it was taken, the camera's serial
number and the owner's name; XMP and IPTC carry authors and captions; an ICC profile names
the device. `scrub` keeps only pixels: it decodes with Pillow, turns the picture upright
(EXIF orientation), converts it to sRGB if it had a colour profile, and encodes a fresh
image that never received any metadata. The publication gate (`gates/media.py`) checks
the result with its own reading of the container structure.
"""

from __future__ import annotations

import io
from pathlib import PurePath

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from temoin.errors import CaseError

# Content type (Pillow format) -> accepted filename extensions.
FORMATS = {"JPEG": (".jpg", ".jpeg"), "PNG": (".png",), "WEBP": (".webp",), "GIF": (".gif",)}
# Refuse pictures a decoder could be asked to blow up into gigabytes.
MAX_PIXELS = 50_000_000


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
    # Pillow may still name another format than those asked for: a JPEG holding several
    # pictures (MPO, from stereo and some phone cameras) is refused like any other.
    if suffix not in FORMATS.get(im.format or "", ()):
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
