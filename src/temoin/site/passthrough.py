"""Generated bodies Markdown would leave as they are: a page whose body is one
`markdown="0"` HTML block is handed to MkDocs as HTML, without a Markdown pass
(engine-neutral; `plugin._RawHtmlPage` does the handing)."""

from __future__ import annotations

import html
import re

# A generated body that is one raw-HTML block opened with markdown="0" (case pages,
# listings, most reports): python-markdown stores such a block verbatim, so converting it
# only costs a Markdown instance (~2-4 ms a page here) and two HTML parser passes (MkDocs'
# anchor scan, md_in_html) for an output equal to the input. Anything unusual (another
# block, tabs, carriage returns, blank lines made of spaces, which python-markdown would
# normalise) goes through Markdown as before.
_RAW_OPEN = re.compile(r'<(article|div|section)\b[^<>]*\smarkdown="0"[^<>]*>')
_RAW_UNSAFE = re.compile(r"[\t\r\x02\x03]|\n +\n")
_ANCHOR = re.compile(r'<([a-zA-Z][^\s/<>]*)\s[^<>]*?\b(id|name)="([^"]*)"')


def raw_html(markdown: str) -> str | None:
    """The body itself if it is a single `markdown="0"` HTML block Markdown would pass
    through unchanged, else None."""
    body = markdown.strip()
    m = _RAW_OPEN.match(body)
    if m is None:
        return None
    tag = m.group(1)
    if not body.endswith(f"</{tag}>") or _RAW_UNSAFE.search(body):
        return None
    depth = 0  # the opening tag must close only at the very end (nested same tags allowed)
    for close in re.findall(rf"<(/?){tag}[\s>]", body)[:-1]:
        depth += -1 if close else 1
        if depth <= 0:
            return None
    return body


def anchor_ids(body: str) -> set[str]:
    """The ids MkDocs' raw-HTML scan would find (any `id`, an `<a>`'s `name`)."""
    return {html.unescape(v) for tag, k, v in _ANCHOR.findall(body)
            if k == "id" or tag.lower() == "a"}
