"""Markup gates: third-party requests, active content and the CSP, per HTML/SVG/CSS file.

HTML and SVG are parsed with Python's `html.parser` (it never gives up on malformed
input and lower-cases names as a browser does); CSS is tokenised just enough to find every
`url()`, `src()`, `image-set()` string and `@import`.

Rules (each finding names the file and the offending element):

* third-party: anything the browser fetches by itself must stay on the site: `src`,
  `srcset`, `poster`, `data`, `background`, `action`, `formaction`, `ping`, `href` of a
  `<link>` that loads (stylesheet, icon, manifest, preload, modulepreload, prefetch,
  preconnect, dns-prefetch…), `href`/`xlink:href` of SVG elements, CSS `url()`/`@import`
  in files, `<style>` and `style=""`, `<meta http-equiv=refresh>` and SVG
  `<?xml-stylesheet?>`. Allowed: relative URLs, and absolute ones on the site's own
  origin (`site_url`). Backslashes count as slashes, as in browsers. A link (`<a>`,
  `<area>`) to another site is fine only with rel "noopener" and "noreferrer".
* active-content: a `<script>` must be Material's own inline script (see
  `script_policy.is_theme_script`), an inert JSON data block, or a same-origin file whose
  bytes are on the allow-list (the references are collected here and judged by hash in
  `gates.scripts`, once every file is read); no `on*=` attribute; no
  `javascript:`/`data:`/`vbscript:` URL in any URL attribute (nor SVG `<animate>`/`<set>`
  turning an href into one); no `<iframe>`, `<frame>`, `<object>`, `<embed>`, `<applet>`,
  `<portal>`, `<base>`, `srcdoc`.
  In SVG files any `<script>` at all.
* csp: every HTML page has our `<meta http-equiv="Content-Security-Policy">` before its
  first script or stylesheet, with only 'self', 'none', hashes ('unsafe-hashes' only for
  styles, data: only for images and fonts), a `default-src`, and a hash for each theme
  script the page holds (else the browser would block it).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from html.parser import HTMLParser
from urllib.parse import urlsplit

from temoin import script_policy as policy
from temoin.gates import scripts

Report = Callable[[str, str], None]  # (gate, detail)

URL_ATTRS = ("href", "src", "action", "formaction", "xlink:href", "data", "poster",
             "background", "cite", "ping", "longdesc", "lowsrc", "dynsrc", "manifest",
             "codebase", "archive", "usemap", "icon", "profile", "itemtype")
FETCHED_ATTRS = ("src", "poster", "data", "background", "action", "formaction", "ping",
                 "lowsrc", "dynsrc", "manifest", "codebase", "archive", "icon")
LOADING_RELS = {"stylesheet", "icon", "shortcut", "apple-touch-icon",
                "apple-touch-icon-precomposed", "mask-icon", "manifest", "preload",
                "modulepreload", "prefetch", "prerender", "preconnect", "dns-prefetch",
                "import", "fluid-icon", "image_src"}
EMBEDS = ("iframe", "frame", "frameset", "object", "embed", "applet", "portal", "base")
ACTIVE_SCHEMES = ("javascript", "vbscript", "data", "livescript", "mocha")
SAFE_LINK_SCHEMES = ("mailto", "tel")
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")
_STRIP = "".join(chr(c) for c in range(0x21))
_HASH_SRC = re.compile(r"'sha(256|384|512)-[A-Za-z0-9+/_=-]+'")


def _clean(url: str) -> str:
    """A URL as a browser reads it: outer spaces/controls and inner tabs/newlines dropped,
    backslashes as slashes."""
    return "".join(ch for ch in url.strip(_STRIP) if ch not in "\t\n\r").replace("\\", "/")


class Origin:
    """The site's own origin (from `site_url`), to tell same-origin URLs from others."""

    def __init__(self, site_url: str = "") -> None:
        parts = urlsplit(site_url) if site_url else None
        self.netloc = (parts.netloc.lower() if parts else "")
        self.base = (parts.path if parts and parts.path else "/")
        if not self.base.endswith("/"):
            self.base += "/"

    def kind(self, url: str) -> str:
        """'relative', 'same', 'external', 'active' (javascript:/data:…), 'contact' or 'other'."""
        u = _clean(url)
        if u.startswith("//"):
            host = urlsplit("http:" + u).netloc.lower()
            return "same" if self.netloc and host == self.netloc else "external"
        m = _SCHEME.match(u)
        if not m:
            return "relative"
        scheme = m[1].lower()
        if scheme in ACTIVE_SCHEMES:
            return "active"
        if scheme in ("http", "https"):
            host = urlsplit(u).netloc.lower()
            return "same" if self.netloc and host == self.netloc else "external"
        return "contact" if scheme in SAFE_LINK_SCHEMES else "other"

    def site_path(self, page: str, url: str) -> str | None:
        """Path of a same-origin URL relative to the site root, or None if it leaves it."""
        path = urlsplit(_clean(url)).path
        if path.startswith("/"):
            path = path[len(self.base):] if path.startswith(self.base) else path[1:]
        else:
            path = posixpath.join(posixpath.dirname(page), path)
        norm = posixpath.normpath(path) if path else "."
        return None if norm == ".." or norm.startswith("../") else norm


# -- CSS ------------------------------------------------------------------------------------
_CSS_COMMENT = re.compile(r"/\*.*?(\*/|\Z)", re.S)
_CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})[ \t\n\r\f]?|\\(.)", re.S)
_CSS_URL = re.compile(r"\b(?:url|src)\(\s*(?:\"((?:[^\"\\]|\\.)*)\"|'((?:[^'\\]|\\.)*)'|"
                      r"([^)\s\"']*))", re.I)
_CSS_IMPORT = re.compile(r"@import\s*(?:\"((?:[^\"\\]|\\.)*)\"|'((?:[^'\\]|\\.)*)')", re.I)
_CSS_IMAGESET = re.compile(r"image-set\(([^)]*)\)", re.I)
_CSS_STRING = re.compile(r"\"((?:[^\"\\]|\\.)*)\"|'((?:[^'\\]|\\.)*)'")
_DATA_OK = re.compile(r"data:\s*(image/|font/|application/(x-)?font)", re.I)


def _css_unescape(css: str) -> str:
    def one(m: re.Match[str]) -> str:
        if m[1]:
            code = int(m[1], 16)
            return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code < 0xE000 else ""
        return m[2]
    return _CSS_ESCAPE.sub(one, css)


def check_css(css: str, origin: Origin, report: Report, where: str = "") -> None:
    """Report every URL in a stylesheet (or style attribute) that leaves the site."""
    css = _css_unescape(_CSS_COMMENT.sub(" ", css))
    urls = [("url()", next(g for g in m.groups() if g is not None))
            for m in _CSS_URL.finditer(css)]
    urls += [("@import", m[1] if m[1] is not None else m[2]) for m in _CSS_IMPORT.finditer(css)]
    for m in _CSS_IMAGESET.finditer(css):
        urls += [("image-set()", s[0] or s[1]) for s in _CSS_STRING.findall(m[1])]
    for what, url in urls:
        kind = origin.kind(url)
        if kind == "external":
            report("third-party", f"CSS {what} loads {_short(url)}{where}")
        elif kind == "active" and not (what != "@import" and _DATA_OK.match(url.strip())):
            report("active-content", f"CSS {what} with a {url.strip()[:11]}… URL{where}")
        elif kind in ("other", "contact"):
            report("third-party", f"CSS {what} with an unexpected scheme: {_short(url)}{where}")


def _short(url: str) -> str:
    url = url.strip()
    return url if len(url) <= 80 else url[:77] + "..."


# -- HTML and SVG ---------------------------------------------------------------------------
class _Checker(HTMLParser):
    def __init__(self, text: str, page: str, origin: Origin, report: Report,
                 svg_file: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.text, self.page, self.origin, self.report = text, page, origin, report
        self.svg_file = svg_file
        self._lines = [0] + [m.end() for m in re.finditer("\n", text)]
        self._open: tuple[str, dict[str, str], int] | None = None
        self.csp_metas: list[tuple[int, str]] = []
        self.first_resource = -1
        self.theme_scripts: list[str] = []
        self.script_refs: list[scripts.Ref] = []  # site files this page makes run

    def _offset(self) -> int:
        line, col = self.getpos()
        return self._lines[line - 1] + col

    # URLs --------------------------------------------------------------------------------
    def _url(self, tag: str, attr: str, url: str, fetched: bool) -> None:
        kind = self.origin.kind(url)
        if kind == "active":
            self.report("active-content",
                        f"<{tag} {attr}> holds a {url.strip()[:11].lower()}… URL")
        elif fetched and kind == "external":
            self.report("third-party", f"<{tag} {attr}> loads {_short(url)}")
        elif fetched and kind in ("other", "contact"):
            self.report("third-party", f"<{tag} {attr}> uses an unexpected scheme: "
                        f"{_short(url)}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: C901 - one branch per dangerous tag/attribute class, read top to bottom
        a = {k: (v or "") for k, v in attrs}
        start = self._offset()
        if tag in ("script", "style", "link") and self.first_resource < 0:
            self.first_resource = start
        for name, value in a.items():
            if name.startswith("on"):
                self.report("active-content", f"<{tag}> has an event handler {name}=")
            elif name == "srcdoc":
                self.report("active-content", f"<{tag}> has srcdoc=")
            elif name == "style":
                check_css(value, self.origin, self.report, f" in <{tag} style>")
            elif name == "srcset" or name == "imagesrcset":
                for cand in value.split(","):
                    url = cand.strip().split(None, 1)[0] if cand.strip() else ""
                    if url:
                        self._url(tag, name, url, True)
            elif name in URL_ATTRS:
                self._url(tag, name, value, self._fetched(tag, name, a))
        if tag in EMBEDS:
            self.report("active-content", f"<{tag}> element (embedded or redirecting content)")
        if tag in ("a", "area") and self.origin.kind(a.get("href", "")) == "external":
            rel = set((a.get("rel") or "").lower().split())
            if not {"noopener", "noreferrer"} <= rel:
                self.report("third-party", f"link to {_short(a['href'])} without "
                            'rel="noopener noreferrer"')
        if tag in ("animate", "set") and a.get("attributename", "").lower() in (
                "href", "xlink:href"):
            for key in ("to", "from", "values"):
                for v in a.get(key, "").split(";"):
                    if self.origin.kind(v) == "active":
                        self.report("active-content", f"<{tag}> animates an href to a "
                                    f"{v.strip()[:11]}… URL")
        if tag == "link" and "modulepreload" in a.get("rel", "").lower().split() and \
                self.origin.kind(a.get("href", "")) in ("relative", "same"):
            self._run("<link rel=modulepreload>", a["href"])
        if tag == "meta":
            self._meta(a, start)
        if tag in ("script", "style"):
            self._open = (tag, a, start + len(self.get_starttag_text() or ""))

    def _fetched(self, tag: str, attr: str, a: dict[str, str]) -> bool:
        if attr in FETCHED_ATTRS:
            return True
        if attr in ("href", "xlink:href"):
            if tag == "link":
                return bool(set(a.get("rel", "").lower().split()) & LOADING_RELS)
            return tag not in ("a", "area", "base")  # SVG use/image/feimage… fetch their href
        return False

    def _meta(self, a: dict[str, str], start: int) -> None:
        equiv = a.get("http-equiv", "").lower()
        if equiv == "content-security-policy":
            self.csp_metas.append((start, a.get("content", "")))
        elif equiv == "refresh":
            content = a.get("content", "")
            url = re.split(r"[;,]", content, maxsplit=1)[1] if re.search(r"[;,]", content) \
                else ""
            url = re.sub(r"^\s*url\s*=\s*", "", url, flags=re.I).strip().strip("'\"")
            if url:
                self._url("meta", "http-equiv=refresh", url, True)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if self._open and self._open[0] == tag:  # <script/> in SVG: empty body
            self._close(tag, self._offset() + len(self.get_starttag_text() or ""))

    def handle_endtag(self, tag: str) -> None:
        if self._open and tag == self._open[0]:
            self._close(tag, self._offset())

    def _close(self, tag: str, end: int) -> None:
        assert self._open is not None
        _, attrs, body_start = self._open
        body = self.text[body_start:max(end, body_start)]
        self._open = None
        if tag == "style":
            check_css(body, self.origin, self.report, " in <style>")
        else:
            self._script(attrs, body)

    def _script(self, a: dict[str, str], body: str) -> None:
        stype = policy.script_type(a)
        if self.svg_file:
            self.report("active-content", "<script> in an SVG file")
            return
        if "src" in a:
            if self.origin.kind(a["src"]) in ("relative", "same"):
                self._run("<script src>", a["src"])
            # any other kind is reported by the URL rules (third-party, active URL)
        elif stype in policy.DATA_TYPES:
            self.script_refs += scripts.config_refs(
                a, body, lambda url: self._site_path(url))
        elif stype not in policy.JS_TYPES:
            self.report("active-content", f"<script type={stype}> (unknown script type)")
        elif policy.is_theme_script(body):
            self.theme_scripts.append(body)
        else:
            self.report("active-content", "inline <script> that is not the theme's own "
                        f"({len(body)} characters)")

    def _site_path(self, url: str) -> str | None:
        return self.origin.site_path(self.page, url) if self.origin.kind(url) in (
            "relative", "same") else None

    def _run(self, how: str, url: str) -> None:
        """A site file the page makes the browser run: judged by hash in `gates.scripts`."""
        path = self.origin.site_path(self.page, url)
        if path is None:
            self.report("active-content", f"{how} {_short(url)} leaves the site's folder")
        else:
            self.script_refs.append(scripts.ref(how, path))

    def handle_pi(self, data: str) -> None:
        # <?xml-stylesheet href="…"?> makes an SVG load a stylesheet.
        m = re.search(r"href\s*=\s*[\"']([^\"']*)", data)
        if data.lower().startswith("xml-stylesheet") and m:
            self._url("?xml-stylesheet", "href", m[1], True)


def _check_policy(checker: _Checker, report: Report) -> None:
    if not checker.csp_metas:
        report("csp", "no Content-Security-Policy meta in the page")
        return
    offset, content = checker.csp_metas[0]
    if 0 <= checker.first_resource < offset:
        report("csp", "the CSP meta comes after a script or stylesheet it should cover")
    directives: dict[str, list[str]] = {}
    for part in content.split(";"):
        words = part.split()
        if words:
            directives.setdefault(words[0].lower(), words[1:])
    if directives.get("default-src") not in (["'self'"], ["'none'"]):
        report("csp", "CSP default-src is not 'self' or 'none'")
    for name, sources in directives.items():
        for s in sources:
            low = s.lower()
            if low in ("'self'", "'none'") or _HASH_SRC.fullmatch(s):
                continue
            if low == "'unsafe-hashes'" and name in ("style-src", "style-src-attr"):
                continue
            if low == "data:" and name in ("img-src", "font-src"):
                continue
            report("csp", f"CSP {name} allows {s[:40]}")
    allowed = set(directives.get("script-src", directives.get("default-src", [])))
    for body in checker.theme_scripts:
        if policy.hash_source(body) not in allowed:
            report("csp", "a theme script is not hashed in script-src (the browser will "
                   "block it)")
            break


def check_html(text: str, page: str, origin: Origin, report: Report) -> list[scripts.Ref]:
    """Run the third-party, active-content and CSP gates over one HTML page; the site files
    it makes run (for `gates.scripts.check`)."""
    checker = _Checker(text, page, origin, report, svg_file=False)
    checker.feed(text)
    checker.close()
    _check_policy(checker, report)
    return checker.script_refs


def check_svg(text: str, page: str, origin: Origin, report: Report) -> None:
    """Run the third-party and active-content gates over one SVG file."""
    checker = _Checker(text, page, origin, report, svg_file=True)
    checker.feed(text)
    checker.close()
