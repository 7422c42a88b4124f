"""The file-type gate: the site is an allow-list of file types, each what its name says.

A browser decides what a file is from the server's Content-Type, which static servers take
from the file's name, and then, for some types, by sniffing its bytes. So a name outside
the list (`.xhtml`, whose script ran in Chromium; `.htm`, `.shtml`, `.swf`, `.wasm`…), a
`.png` that is HTML, a page in UTF-16 (the gates would read other markup than the browser)
or a `.js` nobody reviewed is refused, naming the file and the rule:

* allowed names: .html, .css, .json, .xml (feeds, sitemap), .txt, .csv, .asc, .pdf, .png,
  .jpg/.jpeg, .webp, .gif (a still image the media gate re-encoded), .svg, .woff2 (only
  the theme's or Témoin's own fonts: the gates cannot read a font's Brotli tables), and
  `.gz` of one of the text types (checked inside too, as servers may send it as that type
  with `Content-Encoding: gzip`; never a PDF or an image, read by their structure);
* any file byte for byte one of the installed theme's or Témoin's own assets
  (`script_policy.own_files`: source maps, the vendored licence) whatever its name;
* scripts (.js, .mjs) only as such own files, or as Témoin's own script preceded by
  generated data lines (`// comment` or `const NAME = <JSON>;`, ASCII only);
* binary types start with their signature (PNG, JPEG, WebP, GIF, PDF, WOFF2, gzip);
* text types are UTF-8 (a UTF-8 BOM at most, no NUL byte), and declare no other charset
  (XML declaration, CSS `@charset`; HTML's `<meta charset>` is checked by `markup`);
* text types that are not markup (.css, .json, .txt, .csv, .asc, scripts) do not start
  with `<`, so that no browser sniffing an unlabelled file renders it as HTML.

Symbolic links, special files and hard links in the output are refused by the scan itself
(`gates.scanner._files`, `gates.scanner._Scan.file`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable

from temoin import script_policy

Report = Callable[[str, str], None]

MARKUP = {".html": "html", ".svg": "svg", ".xml": "xml"}
TEXT = {".css": "css", ".json": "json", ".txt": "text", ".csv": "text", ".asc": "text"}
SCRIPTS = frozenset({".js", ".mjs"})
MAGIC: dict[str, tuple[bytes, ...]] = {
    ".png": (b"\x89PNG\r\n\x1a\n",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
    ".gif": (b"GIF87a", b"GIF89a"), ".webp": (b"RIFF",), ".pdf": (b"%PDF-",),
    ".woff2": (b"wOF2",), ".gz": (b"\x1f\x8b",)}
ALLOWED = frozenset(MARKUP) | frozenset(TEXT) | frozenset(MAGIC) | SCRIPTS
# What a .gz may hold: text the canary scan reads inflated. Not a PDF, an image or a font,
# which the gates read by their structure, never inside a .gz (attack round 20).
GZIPPED = frozenset(MARKUP) | frozenset(TEXT)
_DECL_ENCODING = re.compile(rb"\A(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)")
_CSS_CHARSET = re.compile(rb"\A(?:\xef\xbb\xbf)?@charset\s+[\"']([^\"']*)", re.I)
_DATA_LINE = re.compile(r"const [A-Za-z_$][\w$]* = (?:Object\.freeze\((.*)\)|(.*));")
_UTF8 = (b"utf-8", b"utf8")
MANIFEST = "SHA256SUMS"  # written by `publish.manifest` after the gates: text


def suffix(rel: str) -> str:
    """The lower-case extension of a path ('' if none)."""
    name = rel.rsplit("/", 1)[-1].lower()
    return name[name.rfind("."):] if "." in name.lstrip(".") else ""


def own_script(data: bytes) -> bool:
    """True for one of Témoin's or the theme's scripts, as shipped or after generated data
    lines (each a comment or a JSON constant: data, never code)."""
    own = script_policy.own_files()
    rest = data
    while True:
        if hashlib.sha256(rest).hexdigest() in own:
            return True
        line, nl, tail = rest.partition(b"\n")
        if not nl or not line.isascii() or not line.startswith((b"// ", b"const ")):
            return False
        text = line.decode("ascii")
        if not text.startswith("// "):
            m = _DATA_LINE.fullmatch(text)
            if not m:
                return False
            try:
                json.loads(m[1] if m[1] is not None else m[2])
            except ValueError:
                return False
        rest = tail


def check(rel: str, data: bytes, digest: bytes, report: Report) -> None:
    """Report (gate "file-type") whatever makes this file other than an allowed type."""
    ext = suffix(rel)
    if digest.hex() in script_policy.own_files():
        return
    if rel == MANIFEST:
        ext = ".txt"
    if ext not in ALLOWED:
        report("file-type", f"{ext or 'a name without extension'} is not an allowed file "
               "type (html, css, js and woff2 of the theme and Témoin, json, xml, txt, csv, "
               "pdf, png, jpeg, webp, gif, svg, asc, and .gz of the text types)")
        return
    if ext == ".woff2":
        # Its tables (the name table: family, designer, copyright, any text) are Brotli-
        # compressed, and its private data block holds any bytes: no gate reads either,
        # and a name in them passed (attack round 21). Only the theme's and Témoin's own
        # fonts ship (`script_policy.own_files`, above).
        report("file-type", "a WOFF2 font that is not one of the theme's or Témoin's own "
               "files: the gates cannot read its compressed tables or private data")
        return
    if ext in MAGIC:
        if not data.startswith(MAGIC[ext]) or (ext == ".webp" and data[8:12] != b"WEBP"):
            report("file-type", f"content is not {ext[1:].upper()} (its first bytes do not "
                   "say so)")
        return
    if ext in SCRIPTS and not own_script(data):
        report("file-type", "script that is not one of the theme's or Témoin's own files")
        return
    _text(ext, data, report)


def _text(ext: str, data: bytes, report: Report) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        report("file-type", f"not UTF-8 text (byte {exc.start}: a UTF-16 page or another "
               "encoding makes the browser read other markup than the gates)")
        return
    if b"\x00" in data:
        report("file-type", "NUL byte in a text file")
    for pattern in (_DECL_ENCODING, _CSS_CHARSET):
        m = pattern.match(data)
        if m and m[1].strip().lower() not in _UTF8:
            report("file-type", f"declares the charset {m[1][:20].decode('ascii', 'replace')} "
                   "(UTF-8 only)")
    if ext not in MARKUP and data.lstrip(b"\xef\xbb\xbf \t\r\n\f").startswith(b"<"):
        report("file-type", f"{ext} file that starts like markup (a browser sniffing it "
               "would render HTML)")
