"""Content-Security-Policy for every page, as a `<meta http-equiv>` in `<head>`.

A static site cannot send headers everywhere it is mirrored, so the policy travels inside
each page. It allows only the site itself ('self') plus, for inline code, exact sha256
hashes:

* inline `<script>`: only Material's own theme scripts get a hash. They are recognised by
  `is_theme_script`: the body must match one of the inline scripts in the installed
  Material's `partials/javascripts/` templates, where each Jinja `{{ … }}` hole may only
  hold characters of a relative URL path (no quote, backslash, bracket or space), so text
  from a case can never break out of the string literal it sits in. Any other inline
  script gets no hash: the browser blocks it even if the publication gate missed it.
* inline `<style>` elements and `style=""` attributes get hashes (style attributes through
  'unsafe-hashes', which admits only those exact attribute values). CSS cannot run code;
  the publication gate separately refuses any `url()`/`@import` that leaves the site.
* same-origin `<script src>` pinned by Subresource Integrity (`integrity="sha384-…"`, the
  submit page's `submit.js`) are listed by that hash, and so are the modules such a script
  imports at run time, which no element of the page names: `VENDOR_MODULES`, OpenPGP.js.
  'self' admits them today; the hashes say which bytes are meant, so a policy without
  'self' for scripts would still run exactly these.
* `img-src` also allows `data:` because Material's stylesheet draws its icons with
  `url("data:image/svg+xml,…")` masks; a data: image makes no request.

No 'unsafe-inline', no 'unsafe-eval', no other host; `object-src 'none'`, `base-uri 'none'`,
`form-action 'self'`, or 'none' on a page without a `<form>`. `frame-ancestors`, `sandbox`
and `report-uri` are ignored in a meta policy, so they are not emitted: docs/deploy.md
has the server send `frame-ancestors 'none'` as a header.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html as html_mod
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

from temoin.cache import CacheFile, Spec
from temoin.script_policy import (
    JS_TYPES,
    hash_source,
    is_theme_script,
    script_type,
)

# Vendored modules that pinned scripts load themselves (see `vendor_hashes`).
VENDOR_MODULES = ("openpgp.min.mjs",)
_SRI = re.compile(r"^sha(256|384|512)-[A-Za-z0-9+/]+={0,2}$")

META_RE = re.compile(
    r"<meta\b[^>]*http-equiv\s*=\s*[\"']?content-security-policy[\"']?[^>]*>", re.I)


def sri(data: bytes) -> str:
    """The Subresource Integrity value of `data` ("sha384-<base64>"), also a CSP source."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


@lru_cache(maxsize=1)
def vendor_hashes() -> tuple[str, ...]:
    """SRI values of the vendored modules in `VENDOR_MODULES`, as the package ships them."""
    folder = resources.files("temoin.site").joinpath("assets", "vendor")
    return tuple(sri(folder.joinpath(name).read_bytes()) for name in VENDOR_MODULES)


def pinned_hashes(attrs: Mapping[str, str | None]) -> list[str]:
    """The SRI values of a same-origin `<script src integrity>` (none for other scripts):
    a relative `src` only, so a hash never stands for a file on another host."""
    src = (attrs.get("src") or "").strip()
    if not src or re.match(r"(?:[A-Za-z][A-Za-z0-9+.-]*:|[/\\]{2})", src):
        return []
    return [tok for tok in (attrs.get("integrity") or "").split() if _SRI.match(tok)]


@dataclass
class InlineCode:
    """What a page holds that a CSP must account for, with offsets into the page text."""

    head_end: int = -1              # offset just after `<head …>`
    charset_end: int = -1           # offset just after `<meta charset>` in head
    first_resource: int = -1        # offset of the first script/style/link in the page
    scripts: list[tuple[dict[str, str | None], str, int]] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    style_attrs: list[str] = field(default_factory=list)
    csp_metas: list[tuple[int, str]] = field(default_factory=list)  # (offset, content)
    forms: bool = True              # whether the page may hold a <form> (see `_FORM`)


class _Scanner(HTMLParser):
    """Collect inline scripts/styles and head positions of one page (offset-exact)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text = text
        self.found = InlineCode()
        self._lines = [0]
        for m in re.finditer("\n", text):
            self._lines.append(m.end())
        self._open: tuple[str, dict[str, str | None], int] | None = None
        self._in_head = False

    def _offset(self) -> int:
        line, col = self.getpos()
        return self._lines[line - 1] + col

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._offset()
        end = start + len(self.get_starttag_text() or "")
        a = {k.lower(): v for k, v in attrs}
        f = self.found
        if a.get("style"):
            f.style_attrs.append(a["style"] or "")
        if tag == "head" and f.head_end < 0:
            f.head_end, self._in_head = end, True
        elif tag == "body":
            self._in_head = False
        elif tag == "meta":
            if "charset" in a and self._in_head and f.charset_end < 0:
                f.charset_end = end
            if (a.get("http-equiv") or "").lower() == "content-security-policy":
                f.csp_metas.append((start, a.get("content") or ""))
        if tag in ("script", "style", "link") and f.first_resource < 0:
            f.first_resource = start
        if tag in ("script", "style"):
            self._open = (tag, a, end)

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self._in_head = False
        if self._open and tag == self._open[0]:
            kind, attrs, body_start = self._open
            body = self.text[body_start:self._offset()]
            if kind == "script":
                self.found.scripts.append((attrs, body, body_start))
            else:
                self.found.styles.append(body)
            self._open = None


def scan(html: str) -> InlineCode:
    """Parse `html` (robust to malformed markup) and report its inline code."""
    p = _Scanner(html)
    p.feed(html)
    p.close()
    return p.found


# -- fast path ---------------------------------------------------------------------------
# `scan` runs Python's HTMLParser over the whole page: ~3 ms for a 15 KB Material page, as
# much as MkDocs takes to render it, so a 20,000-case build spent a minute here. Pages we
# render are regular (theme templates, sanitised case text), so `scan_fast` finds the same
# things with a few C-level regex searches and returns None, for the full parser to decide,
# at anything it does not model exactly (an unterminated comment, CDATA, a processing
# instruction, a start tag its strict pattern does not match, an unclosed script/style).
# It can only err towards fewer hashes (the browser then blocks, and the csp gate, which
# parses with HTMLParser, refuses the page), never towards allowing a script.
_LT = re.compile(r"<(?:(!--)|(!)|(\?)|(/)|([a-zA-Z]))")
_START = re.compile(r"""<([a-zA-Z][^\s/>]*)((?:\s+[^\s/>"'=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|"""
                    r"""[^\s"'=<>`]+))?)*)\s*/?>""")
_ATTR = re.compile(r"""\s+([^\s/>"'=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")
_DOCTYPE = re.compile(r"<!doctype[^<>]*>", re.I)
_END = re.compile(r"</([a-zA-Z][^\s/>]*)\s*>")
_CLOSE = {t: re.compile(rf"</{t}\s*>", re.I) for t in ("script", "style")}
_RELEVANT = frozenset({"head", "body", "meta", "script", "style", "link"})
# A run of what the loop below would pass over without effect, consumed in C: text, a
# lone "<", a complete comment, an end tag other than </head>, a start tag of an ASCII
# name outside _RELEVANT whose attributes (ASCII names, none of them `style`) `_START`
# accepts. Each branch matches only what the loop would skip, so the result is the same;
# anything else (doctype, CDATA, an odd tag) stops the run and the loop decides as before.
_SKIP = re.compile(
    r"""(?:[^<]+|<(?![!?/a-zA-Z])|<!--[\s\S]*?-->"""
    r"""|</(?!(?i:head)[\s/>])[a-zA-Z][^\s/>]*\s*>"""
    r"""|<(?!(?i:head|body|meta|script|style|link)[\s/>])[a-zA-Z][a-zA-Z0-9-]*(?=[\s/>])"""
    r"""(?:\s+(?!(?i:style)[\s/>"'=])[a-zA-Z_:][-a-zA-Z0-9_:.]*"""
    r"""(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*\s*/?>)*""")


def _attrs(text: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for m in _ATTR.finditer(text):
        value = m[2]
        if value is not None:
            if value[:1] in "\"'" and value[:1] == value[-1:] and len(value) > 1:
                value = value[1:-1]
            value = html_mod.unescape(value)
        out[m[1].lower()] = value
    return out


def scan_fast(html: str) -> InlineCode | None:  # noqa: C901 - a hand-tuned single pass over the page (hot path at 20,000 pages)
    """What `scan` finds, for regular markup; None when the full parser must decide."""
    f = InlineCode()
    in_head = False
    pos = 0
    skip = _SKIP.match
    while True:
        run = skip(html, pos)  # always matches, maybe empty
        pos = run.end() if run else pos
        i = html.find("<", pos)
        if i < 0:
            return f
        m = _LT.match(html, i)
        if m is None:
            pos = i + 1
            continue
        if m[1]:  # comment
            j = html.find("-->", i + 4)
            if j < 0:
                return None
            pos = j + 3
            continue
        if m[2] or m[3]:
            d = _DOCTYPE.match(html, i) if m[2] else None
            if d is None:
                return None
            pos = d.end()
            continue
        if m[4]:
            e = _END.match(html, i)
            if e is None:
                return None
            if e[1].lower() == "head":
                in_head = False
            pos = e.end()
            continue
        t = _START.match(html, i)
        if t is None:
            return None
        tag, raw, end = t[1].lower(), t[2], t.end()
        pos = end
        if tag not in _RELEVANT and "style" not in raw.lower():
            continue
        a = _attrs(raw)
        if a.get("style"):
            f.style_attrs.append(a["style"] or "")
        if tag == "head" and f.head_end < 0:
            f.head_end, in_head = end, True
        elif tag == "body":
            in_head = False
        elif tag == "meta":
            if "charset" in a and in_head and f.charset_end < 0:
                f.charset_end = end
            if (a.get("http-equiv") or "").lower() == "content-security-policy":
                f.csp_metas.append((i, a.get("content") or ""))
        if tag in ("script", "style", "link") and f.first_resource < 0:
            f.first_resource = i
        if tag in ("script", "style"):
            close = _CLOSE[tag].search(html, end)
            if close is None:
                return None
            body = html[end:close.start()]
            if tag == "script":
                f.scripts.append((a, body, end))
            else:
                f.styles.append(body)
            pos = close.end()


def policy(script_hashes: Iterable[str] = (), style_hashes: Iterable[str] = (),
           style_attr_hashes: Iterable[str] = (), forms: bool = True) -> str:
    """The policy string: 'self' everywhere, plus the given hash sources; no plugin
    (object-src), no `<base>` (base-uri: nothing may change where relative links lead),
    and forms submitted only to the site, or nowhere on a page without one (`forms`)."""
    scripts = " ".join(["'self'", *sorted(set(script_hashes))])
    attr = sorted(set(style_attr_hashes))
    styles = " ".join(["'self'", *sorted(set(style_hashes) | set(attr)),
                       *(["'unsafe-hashes'"] if attr else [])])
    return "; ".join([
        "default-src 'self'", f"script-src {scripts}", f"style-src {styles}",
        "img-src 'self' data:", "font-src 'self'", "connect-src 'self'",
        "media-src 'self'", "worker-src 'self'", "manifest-src 'self'",
        "object-src 'none'", "frame-src 'none'", "base-uri 'none'",
        f"form-action {FORM_ACTION[forms]}",
    ])


FORM_ACTION = {True: "'self'", False: "'none'"}
# A form element as the HTML tokenizer starts one. Matched in the raw page, so one in a
# comment or a script's text counts too: a page then gets 'self', never 'none' wrongly.
_FORM = re.compile(r"<form[\t\n\f\r />]", re.I)


def policy_for(found: InlineCode) -> str:
    """The policy a page with this inline code needs (theme scripts only)."""
    scripts = [hash_source(body) for attrs, body, _ in found.scripts
               if attrs.get("src") is None and script_type(attrs) in JS_TYPES
               and is_theme_script(body)]
    pinned = [f"'{h}'" for attrs, _, _ in found.scripts for h in pinned_hashes(attrs)]
    if pinned:
        pinned += [f"'{h}'" for h in vendor_hashes()]
    return policy(scripts + pinned, [hash_source(s) for s in found.styles],
                  [hash_source(s) for s in found.style_attrs], found.forms)


def _place(html: str) -> tuple[int, str]:
    """Where our meta goes in `html` (already without one) and its policy."""
    found = scan_fast(html) or scan(html)
    found.forms = bool(_FORM.search(html))
    if found.charset_end >= 0:
        at = found.charset_end
    elif found.head_end >= 0:
        at = found.head_end
    else:  # a fragment without <head>: a policy first, before anything it must cover
        m = re.match(r"\s*(<!doctype[^>]*>)?", html, re.I)
        at = m.end() if m else 0
    return at, policy_for(found)


def _meta(policy: str) -> str:
    return f'<meta http-equiv="Content-Security-Policy" content="{policy}">'


def inject(html: str) -> str:
    """Return `html` with our CSP meta in `<head>` (replacing any earlier one of ours).

    The meta goes right after `<meta charset>` (which must stay in the first 1024 bytes)
    or after `<head>`, before any script or stylesheet: a meta policy only governs what
    follows it. Idempotent.
    """
    html = META_RE.sub("", html)
    at, pol = _place(html)
    return html[:at] + _meta(pol) + html[at:]


CSP_META = Spec("csp-meta.json", ("temoin.site", "temoin.script_policy"),
                ("mkdocs-material",),
                "each page's CSP meta position and policy, by sha256 of the page")


class Memo:
    """`inject` with each page's result remembered from the last build.

    The meta of a page is a pure function of its HTML (and of the code: this package, the
    script policy and the installed Material's theme scripts, which the file's version
    covers), and most pages are the same from one build to the next: by the sha256 of the
    page as MkDocs rendered it, the file keeps whether it held a CSP meta already, where
    ours goes and the policy, so an unchanged page is neither scanned nor hashed again.
    Output is the same byte for byte. The file holds hashes of published pages and
    policies made of hashes of their inline code: nothing that is not published.
    Authenticated with this user's cache key (`temoin.cache`), and the post-build csp gate
    still parses every page it has no verdict for. One that does not parse, or is not
    ours, is ignored; saved with this build's pages only. `file`: None for no memo.
    """

    def __init__(self, file: CacheFile | None) -> None:
        self.file = file
        self.old: dict[str, list[object]] = {}
        self.new: dict[str, tuple[bool, int, str]] = {}
        self._policies: list[object] = []
        raw = file.load() if file is not None else None
        if raw is not None:
            with contextlib.suppress(ValueError, AttributeError, TypeError):
                doc = json.loads(raw)
                if isinstance(doc.get("pages"), dict) and isinstance(doc.get("policies"), list):
                    self.old, self._policies = doc["pages"], doc["policies"]

    def inject(self, html: str) -> str:
        """Same as `inject(html)`."""
        key = hashlib.sha256(html.encode("utf-8", "surrogateescape")).hexdigest()
        hit = self.old.get(key)
        if isinstance(hit, list) and len(hit) == 3:
            had, at, n = hit
            pol = self._policies[n] if isinstance(n, int) and \
                0 <= n < len(self._policies) else None
            if isinstance(had, bool) and isinstance(at, int) and isinstance(pol, str):
                stripped = META_RE.sub("", html) if had else html
                if 0 <= at <= len(stripped):
                    self.new[key] = (had, at, pol)
                    return stripped[:at] + _meta(pol) + stripped[at:]
        stripped = META_RE.sub("", html)
        at, pol = _place(stripped)
        self.new[key] = (stripped != html, at, pol)
        return stripped[:at] + _meta(pol) + stripped[at:]

    def save(self) -> None:
        """Keep this build's pages for the next build, atomically."""
        if self.file is None or self.new.keys() == self.old.keys():
            return
        policies: dict[str, int] = {}  # a few distinct policies for thousands of pages
        pages = {key: [had, at, policies.setdefault(pol, len(policies))]
                 for key, (had, at, pol) in self.new.items()}
        doc = json.dumps({"pages": pages, "policies": list(policies)}, separators=(",", ":"))
        self.file.save(doc.encode("ascii"))


def inject_site(site_dir: Path) -> int:
    """Inject the CSP into every .html file under `site_dir`; return how many changed.

    For pages MkDocs renders outside `on_post_page` (404.html through `on_post_template`),
    or as a last step after the build.
    """
    n = 0
    for path in sorted(Path(site_dir).rglob("*.html")):
        if path.is_symlink() or not path.is_file():
            continue
        old = path.read_text(encoding="utf-8", errors="surrogateescape")
        new = inject(old)
        if new != old:
            path.write_text(new, encoding="utf-8", errors="surrogateescape")
            n += 1
    return n
