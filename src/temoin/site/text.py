"""Turning case text into safe HTML: the only way a case's words reach a page.

Narrative Markdown is rendered by a private Markdown instance with raw HTML switched off (it is
escaped, shown as text), then passed through an allow-list sanitiser (nh3/Ammonia): only
plain formatting tags survive, links are limited to http(s)/mailto and get
rel="noopener noreferrer", images are dropped (case media go through the scrubbed media/
folder, never a URL in text).
"""

from __future__ import annotations

import html
import threading

import markdown
import nh3

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


def narrative(source: str) -> str:
    """Case narrative Markdown -> safe HTML. Headings are shifted below the page's own."""
    text = source.replace("\r\n", "\n")
    # Demote '#'/'##' headings: the page owns h1/h2.
    lines = [("###" + ln.lstrip("#")) if ln.startswith("#") and
             not ln.startswith("###") else ln for ln in text.split("\n")]
    return sanitize(_md().convert("\n".join(lines)))


def inline(value: object) -> str:
    """Any value from a case, escaped for HTML text or a quoted attribute."""
    return html.escape(str(value), quote=True)
