"""A small document model shared by the web page and the PDF of a bulletin.

A bulletin is written once as a list of blocks (headings, paragraphs, tables, case
entries…); `html()` renders them for the site and `site.pdf` draws them on paper, so the two
versions cannot drift apart. Every text in a block is plain text: `html()` escapes it with
`text.inline`. Only `Rich` (an editor's Markdown, already sanitised by `text.narrative`)
and `Raw` (SVG drawn by `site.charts`) carry HTML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from temoin.site.pages import rel
from temoin.site.text import inline


@dataclass(frozen=True)
class Link:
    """Link text to a docs path ('cases/X.md') or a site file ('bulletins/…/x.pdf')."""

    text: str
    target: str


Inline = str | Link


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str = ""


@dataclass(frozen=True)
class Para:
    parts: tuple[Inline, ...]
    cls: str = ""


@dataclass(frozen=True)
class Bullets:
    items: tuple[tuple[Inline, ...], ...]
    cls: str = ""


@dataclass(frozen=True)
class Table:
    """A data table: `head` labels, then rows whose first cell is the row header."""

    caption: str
    head: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]      # str or int cells
    foot: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One case in a bulletin section: '2.1 Title' and its facts (label, value)."""

    number: str
    title: Inline
    facts: tuple[tuple[str, str], ...]
    anchor: str = ""


@dataclass(frozen=True)
class Rich:
    """Sanitised HTML from an editor's Markdown, with its plain text for the PDF."""

    html: str
    lang: str = ""

    @property
    def text(self) -> str:
        return plain_text(self.html)


@dataclass(frozen=True)
class Raw:
    """Trusted HTML made by Témoin itself (an SVG chart); the PDF leaves it out."""

    html: str


Block = Heading | Para | Bullets | Table | Entry | Rich | Raw


@dataclass
class Doc:
    """A bulletin (or any report page) in one language, ready for HTML or PDF."""

    title: str
    lang: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)


def _inline(part: Inline, page: str) -> str:
    if isinstance(part, Link):
        return f"<a href=\"{inline(rel(page, part.target))}\">{inline(part.text)}</a>"
    return inline(part)


def _cell(value: str | int, tag: str = "td") -> str:
    scope = " scope=\"row\"" if tag == "th" else ""
    if type(value) is int:  # digits need no escaping (most cells of a bulletin's tables)
        return f"<{tag}{scope} class=\"temoin-num\">{value}</{tag}>"
    cls = " class=\"temoin-num\"" if isinstance(value, int) else ""
    return f"<{tag}{scope}{cls}>{inline(value)}</{tag}>"


def table_html(t: Table) -> str:
    """A table with a caption, column headers and row headers."""
    head = "".join(f"<th scope=\"col\">{inline(h)}</th>" for h in t.head)
    rows = "".join("<tr>" + _cell(r[0], "th") + "".join(_cell(v) for v in r[1:]) + "</tr>"
                   for r in t.rows)
    foot = ("<tfoot><tr>" + _cell(t.foot[0], "th") + "".join(_cell(v) for v in t.foot[1:])
            + "</tr></tfoot>") if t.foot else ""
    # A focusable, named scroll box: a wide table scrolls by itself (keyboard included),
    # never the page (390 px screens); CSS shows a hint that it scrolls.
    return (f"<div class=\"temoin-table-wrap\" tabindex=\"0\" role=\"region\" "
            f"aria-label=\"{inline(t.caption)}\">"
            f"<table class=\"temoin-table\"><caption>{inline(t.caption)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody>{foot}</table></div>")


def html(blocks: list[Block], page: str) -> str:
    """HTML of `blocks` for the page at docs path `page` (links made relative to it).

    Pages put it inside `<section data-search-exclude>`: Material's search compares
    elements by tag name, so the excluding element must not contain one with its own tag
    (a nested `<div>` would end the exclusion); no block renders a `<section>`."""
    out = []
    for b in blocks:
        if isinstance(b, Heading):
            anchor = f" id=\"{inline(b.anchor)}\"" if b.anchor else ""
            # data-search-exclude: a heading would otherwise open an empty search entry
            out.append(f"<h{b.level}{anchor} data-search-exclude>{inline(b.text)}"
                       f"</h{b.level}>")
        elif isinstance(b, Para):
            cls = f" class=\"{b.cls}\"" if b.cls else ""
            out.append(f"<p{cls}>{''.join(_inline(p, page) for p in b.parts)}</p>")
        elif isinstance(b, Bullets):
            cls = f" class=\"{b.cls}\"" if b.cls else ""
            items = "".join(f"<li>{''.join(_inline(p, page) for p in item)}</li>"
                            for item in b.items)
            out.append(f"<ul{cls}>{items}</ul>")
        elif isinstance(b, Table):
            out.append(table_html(b))
        elif isinstance(b, Entry):
            anchor = f" id=\"{inline(b.anchor)}\"" if b.anchor else ""
            facts = "".join(f"<li><strong>{inline(k)}</strong> {inline(v)}</li>"
                            for k, v in b.facts)
            out.append(f"<article class=\"temoin-entry\"{anchor}><h4>"
                       f"<span class=\"temoin-entry-no\">{inline(b.number)}</span> "
                       f"{_inline(b.title, page)}</h4><ul>{facts}</ul></article>")
        elif isinstance(b, Rich):
            lang = f" lang=\"{b.lang}\"" if b.lang else ""
            out.append(f"<div class=\"temoin-editorial\"{lang}>{b.html}</div>")
        elif isinstance(b, Raw):
            out.append(b.html)
    return "\n".join(out)


class _Text(HTMLParser):
    BLOCKS = frozenset({"p", "li", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "br",
                        "hr", "table", "ul", "ol"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("• ")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data.replace("\n", " "))


def plain_text(fragment: str) -> str:
    """The text of a sanitised HTML fragment, one paragraph a line (for the PDF)."""
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    lines = [" ".join(ln.split()) for ln in "".join(parser.parts).split("\n")]
    return "\n".join(ln for ln in lines if ln)
