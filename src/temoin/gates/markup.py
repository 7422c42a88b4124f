"""Markup gates: third-party requests, active content and the CSP, per HTML/SVG/CSS file.

HTML is parsed as a browser parses it (`gates.page`: lexbor, WHATWG-conformant, template
contents and both readings of `<noscript>`); SVG and XML files with a hardened XML parser
(`defusedxml`: no DOCTYPE, entity or external reference; `gates.xml_files`); CSS is
tokenised just enough to find every `url()`, `src()`, `image-set()` string and `@import`.

Rules (each finding names the file and the offending element):

* third-party: anything the browser fetches by itself must stay on the site: `src`,
  `srcset`, `poster`, `data`, `background`, `action`, `formaction`, `ping`, `href` of a
  `<link>` that loads (stylesheet, icon, manifest, preload, modulepreload, prefetch,
  preconnect, dns-prefetch…), `href`/`xlink:href` of SVG elements, CSS `url()`/`@import`
  in files, `<style>` and `style=""`, a `url()` in any other attribute (SVG presentation
  attributes `fill`, `mask`, `filter`, `clip-path`, `marker-*`, `cursor`: Firefox, hence
  Tor Browser, fetches another site's paint server or mask), each URL of `attributionsrc`
  (Chromium sends an attribution report there), `<meta http-equiv=refresh>` and SVG
  `<?xml-stylesheet?>`. Allowed: relative URLs, and absolute ones on the site's own
  origin (`site_url`). Backslashes count as slashes, as in browsers. A link (`<a>`,
  `<area>`) to another site is fine only with rel "noopener" and "noreferrer".
* active-content: a `<script>` must be Material's own inline script (see
  `script_policy.is_theme_script`), an inert JSON data block, or a same-origin file whose
  bytes are on the allow-list (collected here, judged by hash in `gates.scripts` once every
  file is read); no `on*=` attribute; no `javascript:`/`data:`/`vbscript:` URL in any URL
  attribute (nor SVG `<animate>`/`<set>` turning an href into one); no `<iframe>`,
  `<frame>`, `<object>`, `<embed>`, `<applet>`, `<portal>`, `<base>`, `srcdoc`; no
  `<meta http-equiv>` but the CSP and Content-Type (refresh navigates, in any spelling);
  no `<link rel>` but stylesheet, icon, alternate, canonical, prev/next (preload,
  prefetch, modulepreload, import, manifest… are refused); no CSS `expression()`,
  `behavior` or `-moz-binding`. In SVG files no `<script>`, `<foreignObject>`, event
  attribute, `xml:base`, link to a script URL or another site, nor a fetch off the site;
  in XML files (feeds, sitemap) no processing instruction (XSLT) and no XHTML, SVG,
  MathML or XSLT element.
* csp: every HTML page has our `<meta http-equiv="Content-Security-Policy">` in `<head>`
  before its first script or stylesheet, with only 'self', 'none', hashes
  ('unsafe-hashes' only for styles, data: only for images and fonts), a `default-src`,
  `object-src 'none'`, `base-uri 'none'`, `form-action` 'self' or 'none' (none of the
  three falls back to default-src), and a hash for each theme script the page holds
  (else the browser would block it).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from urllib.parse import urlsplit

from temoin import script_policy as policy
from temoin.gates import page as page_mod
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
                "import", "fluid-icon", "image_src",
                "search"}  # an OpenSearch description: browsers may fetch it unasked
EMBEDS = ("iframe", "frame", "frameset", "object", "embed", "applet", "portal", "base",
          "fencedframe")
ACTIVE_SCHEMES = ("javascript", "vbscript", "data", "livescript", "mocha")
SAFE_LINK_SCHEMES = ("mailto", "tel")
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")
_STRIP = "".join(chr(c) for c in range(0x21))
_HASH_SRC = re.compile(r"'sha(256|384|512)-[A-Za-z0-9+/_=-]+'")


def _clean(url: str) -> str:
    """A URL as a browser reads it: outer spaces/controls and inner tabs/newlines dropped,
    backslashes as slashes."""
    # Each deleted by `replace`, in C (a generator over the characters: 0.1 ms a page).
    url = url.strip(_STRIP).replace("\t", "").replace("\n", "").replace("\r", "")
    return url.replace("\\", "/")


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
    if _CSS_ACTIVE.search(css):
        report("active-content", f"CSS expression()/behavior/-moz-binding (script in "
               f"CSS){where}")
    urls = [("url()", next(g for g in m.groups() if g is not None))
            for m in _CSS_URL.finditer(css)]
    urls += [("@import", m[1] if m[1] is not None else m[2]) for m in _CSS_IMPORT.finditer(css)]
    for m in _CSS_IMAGESET.finditer(css):
        urls += [("image-set()", s[0] or s[1]) for s in _CSS_STRING.findall(m[1])]
    for what, url in urls:
        kind = origin.kind(url)
        if kind == "external":
            report("third-party", f"CSS {what} loads {shortened(url)}{where}")
        elif kind == "active" and not (what != "@import" and _DATA_OK.match(url.strip())):
            report("active-content", f"CSS {what} with a {url.strip()[:11]}… URL{where}")
        elif kind in ("other", "contact"):
            report("third-party", f"CSS {what} with an unexpected scheme: {shortened(url)}{where}")


_CSS_ACTIVE = re.compile(r"expression\s*\(|-moz-binding|\bbehaviou?r\s*:", re.I)


def check_animation(tag: str, a: dict[str, str], origin: Origin, report: Report) -> None:
    """SVG <animate>/<set> that turns an href into a script or remote URL, or sets an
    event handler attribute."""
    target = a.get("attributename", "").lower()
    if target.startswith("on"):
        report("active-content", f"<{tag}> animates the event handler {target}=")
    elif target in ("href", "xlink:href"):
        for key in ("to", "from", "values", "by"):
            for v in a.get(key, "").split(";"):
                if v.strip() and origin.kind(v) not in ("relative", "same"):
                    report("active-content", f"<{tag}> animates an href to {shortened(v)}")


def shortened(url: str) -> str:
    url = url.strip()
    return url if len(url) <= 80 else url[:77] + "..."


# -- HTML -----------------------------------------------------------------------------------
ALLOWED_RELS = frozenset({"stylesheet", "icon", "shortcut", "apple-touch-icon", "alternate",
                          "canonical", "prev", "next", "search", "license", "author", "help",
                          "me", "nofollow", "noopener", "noreferrer", "external", "tag",
                          "bookmark", "feed", "privacy-policy", "terms-of-service", "up"})
ALLOWED_EQUIV = ("content-security-policy", "content-type")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([^\s;\"']+)", re.I)


def srcset_urls(value: str) -> list[str]:
    """The URLs of a `srcset` as the HTML Standard splits it: a URL is a run of
    non-space characters (commas inside it, as in a data: URL, belong to it) and descriptors
    run to the next comma outside parentheses."""
    urls: list[str] = []
    i, n = 0, len(value)
    while i < n:
        while i < n and (value[i] in " \t\n\r\f,"):
            i += 1
        j = i
        while j < n and value[j] not in " \t\n\r\f":
            j += 1
        url = value[i:j]
        if url.endswith(","):
            url = url.rstrip(",")
            i = j
        else:
            depth = 0
            while j < n and (value[j] != "," or depth):
                depth += {"(": 1, ")": -1}.get(value[j], 0)
                j += 1
            i = j + 1
        if url:
            urls.append(url)
    return urls


class _Html:
    """The rules over one page's elements (`gates.page`), collecting what the CSP check
    needs: where the CSP metas and the first resource are, and the theme scripts."""

    def __init__(self, page: str, origin: Origin, report: Report, svg_file: bool) -> None:
        self.page, self.origin, self.report = page, origin, report
        self.svg_file = svg_file
        self.csp_metas: list[tuple[int, str, bool]] = []  # (position, content, in head)
        self.first_resource = -1
        self.theme_scripts: list[str] = []
        self.script_refs: list[scripts.Ref] = []  # site files this page makes run

    def _url(self, tag: str, attr: str, url: str, fetched: bool) -> None:
        kind = self.origin.kind(url)
        if kind == "active":
            self.report("active-content",
                        f"<{tag} {attr}> holds a {url.strip()[:11].lower()}… URL")
        elif fetched and kind == "external":
            self.report("third-party", f"<{tag} {attr}> loads {shortened(url)}")
        elif fetched and kind in ("other", "contact"):
            self.report("third-party", f"<{tag} {attr}> uses an unexpected scheme: "
                        f"{shortened(url)}")

    def element(self, pos: int, el: page_mod.Element) -> None:  # noqa: C901 - one branch per dangerous tag/attribute class, read top to bottom
        tag, a = el.tag.lower(), el.attrs
        where = "" if el.context == "document" else f" (in {el.context} content)"
        if tag in ("script", "style", "link") and self.first_resource < 0 \
                and el.context == "document":
            self.first_resource = pos
        for name, value in a.items():
            if name.startswith("on"):
                self.report("active-content", f"<{tag}> has an event handler {name}={where}")
            elif name == "srcdoc":
                self.report("active-content", f"<{tag}> has srcdoc={where}")
            elif name == "style":
                check_css(value, self.origin, self.report, f" in <{tag} style>")
            elif name in ("srcset", "imagesrcset"):
                for url in srcset_urls(value):
                    self._url(tag, name, url, True)
            elif name == "attributionsrc":  # a list of URLs, each one requested
                for url in value.split():
                    self._url(tag, name, url, True)
            elif name in URL_ATTRS:
                self._url(tag, name, value, self._fetched(tag, name, a))
            elif "(" in value and "url(" in _css_unescape(value).lower():
                # A presentation attribute is CSS: fill="url(https://…/p.svg#g)".
                check_css(value, self.origin, self.report, f" in <{tag} {name}>")
        if tag in EMBEDS:
            self.report("active-content", f"<{tag}> element (embedded or redirecting "
                        f"content){where}")
        if tag in ("a", "area") and self.origin.kind(a.get("href", "")) == "external":
            rel = set((a.get("rel") or "").lower().split())
            if not {"noopener", "noreferrer"} <= rel:
                self.report("third-party", f"link to {shortened(a['href'])} without "
                            'rel="noopener noreferrer"')
        if tag == "link":
            extra = sorted(set(a.get("rel", "").lower().split()) - ALLOWED_RELS)
            if extra:
                self.report("active-content", f"<link rel={' '.join(extra)}> (links may "
                            "only be stylesheets, icons, alternates, canonical, prev/next)")
        if tag in ("animate", "set"):
            check_animation(tag, a, self.origin, self.report)
        if tag == "meta":
            self._meta(pos, el)
        if tag == "style":
            check_css(el.text, self.origin, self.report, " in <style>")
        elif tag == "script":
            self._script(a, el.text)

    def _fetched(self, tag: str, attr: str, a: dict[str, str]) -> bool:
        if attr in FETCHED_ATTRS:
            return True
        if attr in ("href", "xlink:href"):
            if tag == "link":
                return bool(set(a.get("rel", "").lower().split()) & LOADING_RELS)
            return tag not in ("a", "area", "base")  # SVG use/image/feimage… fetch their href
        return False

    def _meta(self, pos: int, el: page_mod.Element) -> None:
        a = el.attrs
        if "charset" in a and a["charset"].strip().lower() not in ("utf-8", "utf8"):
            self.report("file-type", f"<meta charset={a['charset'][:20]}> (pages are UTF-8 "
                        "only: another charset changes what the browser reads)")
        if "http-equiv" not in a:
            return
        equiv = a["http-equiv"]
        low = equiv.lower()  # browsers compare ASCII case-insensitively, spaces count
        if low == "content-security-policy":
            self.csp_metas.append((pos, a.get("content", ""),
                                   el.in_head and el.context == "document"))
        elif low == "content-type":
            m = _CHARSET.search(a.get("content", ""))
            if not m or m[1].lower() not in ("utf-8", "utf8"):
                self.report("file-type", "<meta http-equiv=content-type> names a charset "
                            "other than UTF-8")
        else:
            self.report("active-content", f"<meta http-equiv={shortened(equiv)!r}> (only "
                        "Content-Security-Policy and Content-Type are allowed: refresh "
                        "navigates, others set cookies or change how the page is read)")

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
        """A site file the page makes the browser run: under assets/, and judged by hash in
        `gates.scripts` once every file is read."""
        path = self.origin.site_path(self.page, url)
        if path is None or not path.startswith("assets/"):
            self.report("active-content", f"{how} {shortened(url)} is not one of the site's own "
                        "files under assets/")
        else:
            self.script_refs.append(scripts.ref(how, path))


# Directives a policy must hold as given: without them a plugin could load, a <base> the
# gate missed could send every relative link elsewhere, a form could post off the site
# (base-uri and form-action have no fallback; object-src would fall back to 'self').
REQUIRED_DIRECTIVES = (("default-src", (["'self'"], ["'none'"])), ("object-src", (["'none'"],)),
                       ("base-uri", (["'none'"],)), ("form-action", (["'none'"], ["'self'"])))


def _required_directives(directives: dict[str, list[str]], report: Report) -> None:
    for name, wanted in REQUIRED_DIRECTIVES:
        if directives.get(name) not in wanted:
            report("csp", f"CSP {name} is not " + " or ".join(w[0] for w in wanted))


def _check_policy(checker: _Html, report: Report) -> None:
    if not checker.csp_metas:
        report("csp", "no Content-Security-Policy meta in the page")
        return
    offset, content, in_head = checker.csp_metas[0]
    if not in_head:
        report("csp", "the CSP meta is not in <head> (browsers ignore it elsewhere)")
    if 0 <= checker.first_resource < offset:
        report("csp", "the CSP meta comes after a script or stylesheet it should cover")
    directives: dict[str, list[str]] = {}
    for part in content.split(";"):
        words = part.split()
        if words:
            directives.setdefault(words[0].lower(), words[1:])
    _required_directives(directives, report)
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


def check_html(text: str, page: str, origin: Origin, report: Report,
               parsed: page_mod.Page | None = None) -> list[scripts.Ref]:
    """Run the third-party, active-content and CSP gates over one HTML page (`parsed`: the
    page already parsed by `gates.page.parse`); the site files it makes run (for
    `gates.scripts.check`)."""
    checker = _Html(page, origin, report, svg_file=False)
    for pos, el in enumerate((parsed or page_mod.parse(text)).elements):
        checker.element(pos, el)
    _check_policy(checker, report)
    return checker.script_refs
