"""Metadata found and scrubbed on real images made with Pillow."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms

from temoin.errors import CaseError
from temoin.gates import media as gate_media
from temoin.site import media

XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
       b'22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" '
       b'dc:creator="Jean Ndayisenga"/></rdf:RDF></x:xmpmeta>')


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"           # Make
    exif[0xA431] = "SN-0042-1337"         # BodySerialNumber
    exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "S", (3.0, 25.0, 35.0), "E", (29.0, 55.0, 50.0)
    return exif


def picture(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), **save: object) -> bytes:
    """A red-and-blue test picture saved in `fmt` with the given metadata."""
    im = Image.new("RGB", size, (200, 20, 20))
    im.paste((20, 20, 200), (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    im.save(out, fmt, **save)
    return out.getvalue()


def test_scrub_removes_gps_exif_xmp_and_comment_from_jpeg() -> None:
    raw = picture(exif=exif_with_gps(), xmp=XMP, comment=b"colline Mubone")
    assert gate_media.metadata_found(raw, "p.jpg") == ["EXIF", "GPS", "XMP", "comments"]
    clean = media.scrub(raw, "p.jpg")
    assert gate_media.metadata_found(clean, "p.jpg") == []
    for secret in (b"Ndayisenga", b"PhoneMaker", b"SN-0042", b"Mubone", b"Exif"):
        assert secret not in clean
    im = Image.open(io.BytesIO(clean))
    assert (im.format, im.size) == ("JPEG", (64, 48))
    left, right = im.getpixel((5, 20)), im.getpixel((60, 20))
    assert left[2] > 150 > left[0] and right[0] > 150 > right[2]  # still the same picture


def test_scrub_turns_picture_upright_before_dropping_orientation() -> None:
    raw = picture(exif=exif_with_gps(orientation=6))  # "rotate 90° clockwise to view"
    clean = Image.open(io.BytesIO(media.scrub(raw, "p.jpeg")))
    assert clean.size == (48, 64)


def test_scrub_converts_icc_profile_to_srgb_and_drops_it() -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    raw = picture(icc_profile=icc)
    assert "ICC" in gate_media.metadata_found(raw, "p.jpg")
    assert gate_media.metadata_found(media.scrub(raw, "p.jpg"), "p.jpg") == []


@pytest.mark.parametrize("fmt,name,save", [
    ("PNG", "p.png", {"exif": exif_with_gps()}),
    ("WEBP", "p.webp", {"exif": exif_with_gps(), "xmp": XMP}),
    ("GIF", "p.gif", {"comment": b"Jean Ndayisenga"}),
])
def test_scrub_cleans_png_webp_gif(fmt: str, name: str, save: dict[str, object]) -> None:
    raw = picture(fmt, **save)
    assert gate_media.metadata_found(raw, name)
    clean = media.scrub(raw, name)
    assert gate_media.metadata_found(clean, name) == []
    assert Image.open(io.BytesIO(clean)).format == fmt


def test_metadata_found_reads_png_text_chunks() -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jean")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    assert gate_media.metadata_found(picture("PNG", pnginfo=info), "a.png") == ["XMP", "comments"]


def test_scrub_is_deterministic() -> None:
    raw = picture(exif=exif_with_gps())
    assert media.scrub(raw, "a.jpg") == media.scrub(raw, "a.jpg")


@pytest.mark.parametrize("data,name,why", [
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "a.svg", "not a JPEG"),
    (b"%PDF-1.4 ...", "a.pdf", "not a JPEG"),
    (picture("TIFF"), "a.tiff", "not a JPEG"),
    (picture("PNG"), "a.jpg", "content is PNG"),
    (picture()[:200], "a.jpg", "damaged"),
])
def test_scrub_refuses_unknown_or_mismatched_types(data: bytes, name: str, why: str) -> None:
    with pytest.raises(CaseError, match=why):
        media.scrub(data, name)


def test_scrub_refuses_animation_and_pixel_bombs(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    with pytest.raises(CaseError, match="animated"):
        media.scrub(out.getvalue(), "a.gif")
    monkeypatch.setattr(media, "MAX_PIXELS", 1000)
    with pytest.raises(CaseError, match="over 1000 pixels"):
        media.scrub(picture(size=(100, 100)), "big.jpg")


def test_metadata_found_reports_what_it_cannot_check() -> None:
    assert gate_media.metadata_found(picture("TIFF"), "a.tif") == [
        "unsupported image type (.tif): cannot be checked"]
