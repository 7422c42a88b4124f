"""The text of a submission: bytes in any charset to text, HTML to text, never raising.

Pure and in memory. HTML is never rendered and nothing it names is ever fetched.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import charset_normalizer

_LATIN = {"iso-8859-1", "latin1", "latin-1", "iso-8859-15", "windows-1252", "cp1252",
          "us-ascii", "ascii"}


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_text(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Bytes to text in any charset, never raising: (text, note on how it was decoded)."""
    note = ""
    text: str | None = None
    if declared and declared.lower() in _LATIN and not data.isascii() and _is_utf8(data):
        # A client that labels UTF-8 as latin-1 is common; valid UTF-8 with non-ASCII bytes is
        # almost never real latin-1 (it would read as "Ã©").
        note, declared = f"declared charset {declared.lower()} but the text is UTF-8", None
    if declared:
        try:
            text = data.decode(declared)
            if declared.lower() not in ("utf-8", "utf8", "us-ascii", "ascii"):
                note = f"declared charset {declared.lower()}"
        except (LookupError, UnicodeDecodeError):
            note = f"declared charset {declared.lower()!r} did not match; "
    if text is None:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            best = _detect(data)
            if best is not None:
                text = str(best)
                note += f"detected charset {best.encoding}"
            else:
                text = data.decode("utf-8", "replace")
                note += "charset unknown: undecodable bytes replaced"
    return text.replace("\r\n", "\n").replace("\r", "\n"), note.strip("; ")


# Short testimonies give charset-normalizer too little to tell Western code pages apart (it
# reads French cp1252 as cp1250 and latin-1 as cp775). The sources write French, English or
# Kirundi: among near-equally clean candidates, prefer the Western European ones.
_PREFERRED = ("cp1252", "latin_1", "iso8859_15")
_CLOSE_ENOUGH = 0.1


def _detect(data: bytes) -> charset_normalizer.CharsetMatch | None:
    results = charset_normalizer.from_bytes(data)
    best = results.best()
    if best is None or best.encoding.startswith("utf"):
        return best
    for name in _PREFERRED:
        for cand in results:
            if cand.encoding == name and cand.chaos <= best.chaos + _CLOSE_ENOUGH:
                return cand
    return best


# Bytes no text file holds, in any ASCII-based charset: C0 controls other than BEL, BS, TAB,
# LF, VT, FF, CR and ESC (the set `file`/libmagic calls text). One of them anywhere and the
# data is not text (a NUL is the usual one; a DOS text's trailing ^Z (1A) counts too).
_NOT_TEXT = re.compile(rb"[\x00-\x06\x0e-\x1a\x1c-\x1f]")
_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")


def looks_binary(data: bytes) -> bool:
    """Binary rather than text: a byte no text holds (see `_NOT_TEXT`) anywhere, unless a
    BOM says UTF-16/32 (whose text holds NULs by nature), or a known file signature."""
    if sniff(data):
        return True
    if data.startswith(_BOMS):
        return False
    return _NOT_TEXT.search(data) is not None


# File signatures ("magic bytes") of what sources send: documents, photos, audio and video
# from phones, archives: (first bytes, media type).
# Text-based formats (RTF, SVG, HTML, CSV, KML, vCard) are not here: they are text, and the
# file's name tells the intake to keep them as files too.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-1.", "application/pdf"),
    (b"%PDF-2.", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
    (b"SQLite format 3\x00", "application/vnd.sqlite3"),
    (b"OggS\x00", "audio/ogg"),
    (b"ID3\x02", "audio/mpeg"),
    (b"ID3\x03", "audio/mpeg"),
    (b"ID3\x04", "audio/mpeg"),
    (b"\xff\xfb", "audio/mpeg"),
    (b"\xff\xf3", "audio/mpeg"),
    (b"\xff\xf2", "audio/mpeg"),
    (b"fLaC", "audio/flac"),
    (b"#!AMR\n", "audio/amr"),
    (b"\x1aE\xdf\xa3", "video/webm"),
)
# RIFF containers and ISO media ("ftyp") say what they hold in the next four bytes.
_RIFF = {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}
_FTYP = {b"heic": "image/heic", b"heix": "image/heic", b"mif1": "image/heif",
         b"avif": "image/avif", b"M4A ": "audio/mp4", b"qt  ": "video/quicktime",
         b"3gp4": "video/3gpp", b"3gp5": "video/3gpp", b"3gp6": "video/3gpp"}


def sniff(data: bytes) -> str:
    """The media type a file's signature shows at its start ('' when none is known). Each
    signature is one no text starts with (a text beginning "%PDF-1." is not a testimony)."""
    if data[:4] == b"RIFF" and data[8:12] in _RIFF:
        return _RIFF[data[8:12]]
    if data[:2] == b"\x00\x00" and data[4:8] == b"ftyp":  # a box size, then the first box
        return _FTYP.get(data[8:12], "video/mp4")
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            return media_type
    return ""


class _TextOfHtml(HTMLParser):
    """HTML to plain text without rendering: no request, no script, no style, no image."""

    _SKIP = {"script", "style", "head", "title", "template", "noscript", "svg", "object"}
    _BLOCK = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre",
              "blockquote", "table", "hr", "section", "article", "header", "footer", "ul",
              "ol", "dd", "dt"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.legacy = 0  # inside an RFC 9788 legacy-display block (a copy of the headers)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skip += 1
        elif self.legacy:
            self.legacy += tag == "div"
        elif tag == "div" and "header-protection-legacy-display" in (dict(attrs).get("class")
                                                                     or ""):
            self.legacy = 1
        if tag in self._BLOCK:
            self.out.append("\n")
        if tag == "img":  # an image is named, never loaded: a remote src is a tracking beacon
            alt = (dict(attrs).get("alt") or "").strip()
            self.out.append(f"[image: {alt}]" if alt else "[image]")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self.skip:
            self.skip -= 1
        elif self.legacy and tag == "div":
            self.legacy -= 1
        if tag in self._BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip and not self.legacy:
            self.out.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML body, line structure kept (armored blocks survive)."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = "".join(parser.out).replace("\xa0", " ").replace("\r", "").split("\n")
    text = "\n".join(line.strip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
