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


def looks_binary(data: bytes) -> bool:
    """Binary rather than text (a NUL byte near the start, unless a BOM says UTF-16/32)."""
    head = data[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return False  # a BOM: UTF-16/32 text holds NULs by nature
    return b"\x00" in head


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
