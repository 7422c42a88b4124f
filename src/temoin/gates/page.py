"""An HTML page as a browser parses it: every element with its attributes, and its visible
text, from one WHATWG-conformant parse (lexbor, through selectolax).

A hand-written lexer disagrees with browsers exactly where attacks live (comments,
`<noscript>`, foreign content, `</script` inside strings, attribute quirks); lexbor builds
the tree the HTML Standard describes, in C, ~1 ms for a Material page. Three places hold
markup a plain walk of the document tree would not see, and all three are walked:

* `<template>` contents (a separate fragment in the DOM; script there runs once cloned);
* `<noscript>`: a browser running scripts reads its content as text, one that does not
  (Tor Browser's safest level) as markup. A page holding one is parsed both ways and the
  elements of both trees are returned (`context` "noscript" for the second);
* foreign content (inline `<svg>`, `<math>`): their elements are ordinary tree nodes.

`parse` gives the elements; `Page.text` the visible text (block elements separated by a
newline, inline ones joined as rendered, so `Nda<b>yi</b>senga` reads as one word), for
the canary scan. Gates import this module only; it imports nothing from `temoin.site`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from selectolax.lexbor import LexborHTMLParser

# Elements whose text is not shown, or not as text.
HIDDEN = frozenset({"script", "style", "template", "noscript", "head", "title", "iframe",
                    "object", "noembed", "noframes", "xmp"})
BLOCK = frozenset({"address", "article", "aside", "blockquote", "body", "br", "caption",
                   "dd", "details", "div", "dl", "dt", "fieldset", "figcaption", "figure",
                   "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
                   "html", "label", "legend", "li", "main", "nav", "ol", "option", "p",
                   "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th",
                   "thead", "tr", "ul"})
RAW_TEXT = frozenset({"script", "style", "noscript", "title", "textarea", "xmp"})


@dataclass(frozen=True, slots=True)
class Element:
    """One element as the browser's tree holds it. `tag`: lower-case for HTML, SVG and
    MathML names keep their case (`foreignObject`); `attrs`: names lower-case, values
    with character references decoded; `text`: the raw text of script, style, title and
    textarea elements (else ""); `in_head`: inside `<head>`; `context`: "document",
    "template" (inside a template's content) or "noscript" (the tree a browser without
    scripting builds)."""

    tag: str
    attrs: dict[str, str]
    text: str
    in_head: bool
    context: str


@dataclass
class Page:
    """The elements of a parsed page, in document order, and its visible text."""

    elements: list[Element] = field(default_factory=list)
    _text: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """What a reader sees (no script, style or template content), as one string."""
        return "".join(self._text)


def _walk(node: Any, page: Page, in_head: bool, context: str, show: bool) -> None:
    """Depth-first over `node`'s children, iteratively (a page may nest deeply)."""
    stack: list[tuple[Any, bool, bool, str | None]] = [(node.first_child, in_head, show, None)]
    while stack:
        child, head, visible, closing = stack.pop()
        if closing is not None:  # leaving a block element
            if visible:
                page._text.append(closing)
            continue
        if child is None:
            continue
        stack.append((child.next, head, visible, None))
        if child.is_text_node:
            if visible:
                page._text.append(child.text_content or "")
            continue
        if not child.is_element_node:
            continue
        tag = child.tag or ""
        low = tag.lower()
        attrs = {k.lower(): (v or "") for k, v in child.attributes.items()}
        text = child.text(deep=True) if low in RAW_TEXT else ""
        page.elements.append(Element(tag, attrs, text, head or low == "head", context))
        inner_head = head or low == "head"
        inner_visible = visible and low not in HIDDEN
        if low in BLOCK and inner_visible:
            page._text.append("\n")
            stack.append((None, head, True, "\n"))
        if low == "template":
            for fragment in child.template_fragments():
                _walk(fragment, page, False, "template", False)
        stack.append((child.first_child, inner_head, inner_visible, None))


def parse(text: str) -> Page:
    """Every element of an HTML page (template contents and both readings of `<noscript>`
    included) and its visible text."""
    page = Page()
    for scripting, context in ((True, "document"), (False, "noscript")):
        tree = LexborHTMLParser(text, scripting=scripting)
        root = tree.root
        if root is not None:
            page.elements.append(Element(root.tag or "html", {k.lower(): (v or "") for k, v in
                                                              root.attributes.items()},
                                         "", False, context))
            _walk(root, page, False, context, scripting)
        if scripting and not any(e.tag == "noscript" for e in page.elements):
            break
    return page
