"""Turning case text into safe HTML: the only way a case's words reach a page.

Narrative Markdown is rendered by a private Markdown instance with raw HTML switched off (it is
escaped, shown as text), then passed through an allow-list sanitiser (nh3/Ammonia): only
plain formatting tags survive, links are limited to http(s)/mailto and get
rel="noopener noreferrer", images are dropped (case media go through the scrubbed media/
folder, never a URL in text).
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import re
import threading
from pathlib import Path

import markdown
import nh3

from temoin import cache as cache_mod

ALLOWED_TAGS = {"p", "br", "em", "strong", "blockquote", "ul", "ol", "li", "a", "code", "pre",
                "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td"}
ALLOWED_ATTRS = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}

_local = threading.local()


def _md() -> markdown.Markdown:
    md = getattr(_local, "md", None)
    if md is None:
        md = markdown.Markdown(extensions=["tables", "sane_lists"], output_format="html")
        # Raw HTML off: block-level and inline HTML are escaped and shown as text.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        _local.md = md
    md.reset()
    return md


def sanitize(fragment: str) -> str:
    """Allow-list sanitising of an HTML fragment (defence in depth after rendering)."""
    return nh3.clean(fragment, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRS,
                     url_schemes=URL_SCHEMES, link_rel="noopener noreferrer",
                     strip_comments=True)


def narrative(source: str, cache: MarkdownCache | None = None) -> str:
    """Case narrative Markdown -> safe HTML. Headings are shifted below the page's own.
    `cache`: the generation's saved Markdown (`Generation.narratives`), if any."""
    text = source.replace("\r\n", "\n")
    # Demote '#'/'##' headings: the page owns h1/h2.
    lines = [("###" + ln.lstrip("#")) if ln.startswith("#") and
             not ln.startswith("###") else ln for ln in text.split("\n")]
    source = "\n".join(lines)
    rendered = cache.get(source) if cache is not None else None
    if rendered is None:
        rendered = _md().convert(source)
        if cache is not None:
            cache.put(source, rendered)
    return sanitize(rendered)


NARRATIVES = cache_mod.Spec("narratives.json", ("temoin.site",), ("markdown",),
                            "python-markdown's HTML of each narrative, by sha256 of its source")


class MarkdownCache:
    """Markdown's HTML of each narrative by the sha256 of its source (`NARRATIVES`):
    python-markdown took ~0.8 ms a case page, most of making it. The sanitiser still runs
    on every page, so even an entry changed on disk could not bring more than the
    allow-list lets through (and the file is authenticated: one not written here is
    ignored). Dropped when it does not parse or when python-markdown, Python or this
    package change; rewritten only when its entries change, with this build's entries only
    (`prune`; the preview, which renders only what changed, adds to it)."""

    def __init__(self, file: cache_mod.CacheFile | None) -> None:
        self.file = file
        self.old: dict[str, str] = {}
        raw = file.load() if file is not None else None
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            data = json.loads(raw) if raw is not None else {}
            self.old = {k: v for k, v in data.items() if isinstance(v, str)}
        self.used: dict[str, str] = {}
        self.changed = False
        self._lock = threading.Lock()

    @classmethod
    def open(cls, repo: Path) -> MarkdownCache:
        """The repo's cache of narratives in this user's cache folder (an empty, unsaved
        one when caches are off)."""
        return cls(cache_mod.open_file(Path(repo), NARRATIVES))

    @staticmethod
    def _key(source: str) -> str:
        return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()

    def get(self, source: str) -> str | None:
        key = self._key(source)
        with self._lock:
            found = self.used.get(key)
            if found is None and key in self.old:
                found = self.used[key] = self.old.pop(key)
        return found

    def put(self, source: str, rendered: str) -> None:
        with self._lock:
            self.used[self._key(source)] = rendered
            self.changed = True

    def save(self, prune: bool = True) -> None:
        if self.file is None or not (self.changed or (self.old and prune)):
            return
        if not prune:
            self.used = {**self.old, **self.used}
        self.file.save(json.dumps(self.used, sort_keys=True).encode("ascii"))


def inline(value: object) -> str:
    """Any value from a case, escaped for HTML text or a quoted attribute."""
    return html.escape(str(value), quote=True)


# French typography: a no-break space before : and », after «, a narrow one before ; ? !
# (Imprimerie nationale), so a line never starts with the mark. Written with an ordinary
# space in ui.yaml and the code, where it is visible; turned here when the text is loaded.
_FR_SPACE = {":": "\u00a0", "»": "\u00a0", ";": "\u202f", "?": "\u202f", "!": "\u202f"}
_FR_BEFORE = re.compile(r" ([:;?!»])")


def french_spacing(s: str) -> str:
    """`s` with the space before : ; ? ! » and after « made no-break (French only)."""
    return _FR_BEFORE.sub(lambda m: _FR_SPACE[m[1]] + m[1], s).replace("« ", "«\u00a0")
