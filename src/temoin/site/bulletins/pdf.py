"""Printable bulletins: the same `blocks.Doc` as the web page, drawn with fpdf2.

* Fonts: DejaVu Sans (Debian's fonts-dejavu-core) embedded, so accents and « » print
  everywhere. Parsing the full font costs ~0.2 s a style, so `Fonts` subsets it once per
  build (Latin, Latin Extended, IPA letters used by African languages, punctuation),
  parses that once for fpdf2 (`Fonts.add_to`), and every PDF embeds a subset of that
  subset (scripts/bench/pdf.py measures what a bulletin, a page and the fonts cost).
* Deterministic: the creation date is the day the bulletin last changed (its end, a late
  addition, a withdrawal), clamped to SOURCE_DATE_EPOCH as reproducible-builds tools do
  (never later than it, never the build clock). fpdf2 derives the file /ID from the content
  and that date, so the same bulletin gives the same bytes, and a new commit (a new
  SOURCE_DATE_EPOCH) leaves unchanged bulletins byte-identical for mirrors and manifests.
* Cache: text layout costs ~0.1 s a page of print in fpdf2, so `Renderer` keeps each PDF in
  the cache folder (`PDF_CACHE`, `temoin.cache`) under the sha256 of everything it is
  made of (blocks, date, fpdf2, Témoin and font versions) and reuses it; the cache holds
  only the current build's PDFs (the others are deleted at the end of the build: a
  withdrawn case leaves no copy).
* No network: nothing is fetched; links to the case pages are absolute only when the
  site's `site_url` is known, else the case reference is printed.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import hashlib
import multiprocessing
import os
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from temoin.cache import CacheFolder, Spec
from temoin.site.blocks import Bullets, Doc, Entry, Heading, Link, Para, Raw, Rich, Table
from temoin.site.bulletins import lines as _lines
from temoin.site.bulletins.embed import producer
from temoin.site.bulletins.fonts import (  # noqa: F401 (pdf.Fonts, pdf.font_stamps…)
    FAMILY,
    FONT_DIR,
    RANGES,
    STYLES,
    Fonts,
    font_files_state,
    font_stamps,
)
from temoin.site.bulletins.lines import line as _line
from temoin.site.bulletins.tags import Tags

if TYPE_CHECKING:
    from fpdf import FPDF
    from fpdf.structure_tree import StructElem

    from temoin.site.context import Generation

def creation_stamp(changed: dt.date) -> dt.datetime:
    """Midnight UTC of the day the document last changed, clamped to SOURCE_DATE_EPOCH."""
    stamp = dt.datetime(changed.year, changed.month, changed.day, tzinfo=dt.UTC)
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if raw.isdigit():
        stamp = min(stamp, dt.datetime.fromtimestamp(int(raw), dt.UTC))
    return stamp


def kept_fonts(gen: Generation) -> Fonts | None:
    """The preview's font subsets, kept between rebuilds while the font files and glyph
    ranges are the same (subsetting DejaVu took ~3.6 s of a 10.6 s rebuild at 200 cases),
    made on the first build;
    None for a full build, whose renderer makes its own. A pure function of those files:
    the PDFs are the same bytes (tests/test_preview.py)."""
    if not gen.remembers:
        return None
    fonts = gen.get("pdf-fonts", (), (font_files_state(), RANGES), Fonts)
    # Made now, at the preview's first build, with fpdf2 imported (~0.6 s): the first
    # edit an editor saves then does not wait for them.
    fonts.__enter__()
    _pdf_class()
    return fonts


PDF_CACHE = Spec("pdf", ("temoin.site",), ("fpdf2", "fonttools"),
                 "rendered bulletin PDFs, by sha256 of their document and versions")


def pdf_cache_extra() -> list[str]:
    """What the PDF cache's version depends on besides code: the fonts and glyph ranges."""
    return [*font_stamps(), repr(RANGES)]


class Renderer:
    """Draws PDFs for one build: fonts subset on first need, results cached on disk."""

    def __init__(self, cache: CacheFolder | None = None, fonts: Fonts | None = None
                 ) -> None:
        """`fonts`: subsets kept by the caller from one build to the next (the preview's,
        `kept_fonts`), made on first need and left open on exit; by default this renderer
        makes its own and removes them on exit."""
        self.cache = cache
        self._fonts: Fonts | None = None
        self._kept = fonts
        self._used: set[str] = set()
        self.rendered = 0
        self.last_keys: list[str] = []  # cache key of each job of the last render_all
        self._fixed: list[str] | None = None

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._fonts is not None:
            self._fonts.__exit__(kind, exc, tb)
        if kind is None and self._used and self.cache is not None:
            self.cache.prune(self._used)

    def _key(self, job: Job) -> str:
        parts = [repr(job.doc), job.organisation, job.created.isoformat(),
                 repr(sorted(job.links.items())), job.mark, job.keywords, *self._versions()]
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()

    def _versions(self) -> list[str]:
        """fpdf2, Témoin and font versions, once per build (two stat calls a bulletin
        before). fpdf2's version is read from its metadata: importing fpdf2 and fontTools
        costs ~0.6 s, for nothing when every PDF comes from the cache."""
        if self._fixed is None:
            from importlib.metadata import version

            from temoin import __version__

            self._fixed = [version("fpdf2"), __version__, *font_stamps(), repr(RANGES)]
        return self._fixed

    def keep(self, keys: Iterable[str]) -> None:
        """Cached PDFs this build uses without asking for them (the preview's unchanged
        bulletins): not pruned on exit."""
        self._used.update(keys)

    def render(self, doc: Doc, organisation: str, created: dt.datetime,
               links: dict[str, str] | None = None) -> bytes:
        """The PDF of `doc`, from the cache when the same inputs were drawn before."""
        return self.render_all([Job(doc, organisation, created, links or {})])[0]

    def render_all(self, jobs: list[Job]) -> list[bytes]:
        """Every job's PDF, in order: cached ones read back, the others drawn, on several
        processes when there are many (a cold build of a large archive has hundreds)."""
        return [d for d in self._render(jobs, stored=False) if isinstance(d, bytes)]

    def render_stored(self, jobs: list[Job]) -> list[bytes | Path]:
        """`render_all`, but each PDF the cache holds is given as its checked file
        (`CacheFolder.verified`), written as soon as it is drawn: a first build of 1,000
        cases no longer holds ~48 MB of PDFs until MkDocs copies them. Bytes only for a
        PDF the cache could not keep (an unwritable folder), or with no cache."""
        return self._render(jobs, stored=True)

    def _render(self, jobs: list[Job], stored: bool) -> list[bytes | Path]:
        keys = [self._key(j) for j in jobs]
        self._used.update(keys)
        self.last_keys = keys
        cache = self.cache
        out: list[bytes | Path | None] = []
        for key in keys:
            out.append(None if cache is None else
                       cache.verified(key) if stored else cache.get(key))
        todo = [i for i, data in enumerate(out) if data is None]
        if not todo:
            return [d for d in out if d is not None]
        global _FONTS
        if self._kept is not None:
            _FONTS = self._kept.__enter__()  # made once, on the first PDF drawn
        else:
            if self._fonts is None:
                self._fonts = Fonts().__enter__()
            _FONTS = self._fonts
        try:
            # Stored one by one as drawn: the list never holds every PDF at once.
            for i, data in zip(todo, _draw([jobs[i] for i in todo]), strict=True):
                self.rendered += 1
                self._store(keys[i], data)
                kept = cache.verified(keys[i]) if stored and cache is not None else None
                out[i] = data if kept is None else kept
        finally:
            _FONTS = None
        return [d for d in out if d is not None]

    def _store(self, key: str, data: bytes) -> None:
        if self.cache is not None:
            self.cache.put(key, data)  # an unwritable folder only loses the cache


@dataclass(frozen=True)
class Job:
    """One PDF to draw: the document and what goes around it."""

    doc: Doc
    organisation: str
    created: dt.datetime
    links: dict[str, str]
    mark: str = ""       # the demo's "fictional data" notice (`render`)
    keywords: str = ""


_FONTS: Fonts | None = None  # set by the parent just before forking workers
PARALLEL_MIN = 24


def _draw_one(job: Job) -> bytes:
    assert _FONTS is not None
    return render(job.doc, _FONTS, job.organisation, job.created, job.links, job.mark,
                  job.keywords)


def _draw(jobs: list[Job]) -> Iterator[bytes]:
    """Draw `jobs`, yielding each PDF in order; forked workers share the parent's fonts
    when there are many and nothing else runs in this process (a live-reload server has
    threads: stay serial)."""
    workers = min(os.cpu_count() or 1, 4)
    if len(jobs) < PARALLEL_MIN or workers < 2 or threading.active_count() > 1 or \
            "fork" not in multiprocessing.get_all_start_methods():
        yield from (_draw_one(j) for j in jobs)
        return
    _ready(_FONTS)  # before the fork: each worker starts with it made
    ctx = multiprocessing.get_context("fork")
    gc.freeze()  # a worker's collector never walks (so never copies) its parent's heap
    try:
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            yield from pool.map(_draw_one, jobs, chunksize=max(1, len(jobs) // (workers * 4)))
    finally:
        gc.unfreeze()


def _ready(fonts: Fonts | None) -> None:
    """What drawing any document needs, made once: fpdf2 imported (~0.2 s of CPU), the
    classes built on it, the fonts parsed for it (`Fonts.add_to`). Done by the parent
    before it forks its workers, which would each make them again for their first PDF."""
    from fpdf import prefs  # noqa: F401 (imported by `render`)

    from temoin.site.bulletins import tags

    tags.element_class()
    producer()
    if fonts is not None:
        fonts.add_to(_pdf_class()(format="A4"))


@functools.cache
def _pdf_class() -> type[FPDF]:
    """fpdf2 is imported on the first PDF drawn, not by every build (see `_versions`)."""
    from fpdf import FPDF

    class _Pdf(FPDF):
        footer_text = ""
        mark = ""          # the demo's "fictional data" notice, repeated atop every page
        tags: Tags | None = None

        def header(self) -> None:
            if self.mark and self.page_no() > 1 and self.tags is not None:
                with self.tags.artifact():  # page 1 carries it as content
                    self.set_xy(self.l_margin, 6)
                    self.set_font(FAMILY, "B", 7.5)
                    self.set_text_color(*MARK_RGB)
                    self.cell(0, 4, self.mark, align="C")
                    self.set_text_color(0)
                self.set_xy(self.l_margin, self.t_margin)

        def footer(self) -> None:
            assert self.tags is not None
            with self.tags.artifact():
                self.set_y(-12)
                self.set_font(FAMILY, "", 7.5)
                self.set_text_color(90)
                self.cell(0, 5, f"{self.footer_text} — {self.page_no()}/{{nb}}", align="C")
                self.set_text_color(0)

    return _Pdf


def _font(pdf: FPDF, style: str, size: float) -> None:
    """`pdf.set_font(FAMILY, style, size)`, skipped when that font is already the one in
    use (what set_font checks last, after normalising its arguments: ~4 % of drawing a
    bulletin, whose lines mostly keep the font of the line before)."""
    if pdf.font_family != FAMILY or pdf.font_style != style or pdf.font_size_pt != size or \
            pdf.underline or pdf.strikethrough or pdf.current_font is None:
        pdf.set_font(FAMILY, style, size)


MARK_RGB = (160, 0, 0)  # dark red, 7:1 on white; the words say it, not the colour


def _text(parts: tuple[str | Link, ...]) -> str:
    return "".join(p if isinstance(p, str) else p.text for p in parts)


def render(doc: Doc, fonts: Fonts, organisation: str, created: dt.datetime,  # noqa: C901 - one branch per block type of the bulletin document
           links: dict[str, str] | None = None, mark: str = "", keywords: str = ""
           ) -> bytes:
    """The PDF bytes of `doc`, tagged (`tags`). `links` maps docs paths to absolute URLs
    (when known); `mark` (the demo's "fictional data" notice) goes atop every page and,
    with `keywords`, into the document's metadata."""
    from fpdf.enums import XPos, YPos
    from fpdf.prefs import ViewerPreferences

    links = links or {}
    c = fonts.clean
    pdf = _pdf_class()(format="A4")
    tags = Tags(pdf)
    pdf.tags = tags  # type: ignore[attr-defined]
    pdf.encoded = {}  # type: ignore[attr-defined]  # (font, text) -> its Tj operator (`_line`)
    pdf.encoded_chars = {}  # type: ignore[attr-defined]  # font -> code point -> (`_encode`)
    pdf.text_widths = {}  # type: ignore[attr-defined]  # (font, size, text) -> mm (`lines.op`)
    pdf.footer_text = c(f"{organisation} — {doc.title}")  # type: ignore[attr-defined]
    pdf.mark = c(mark)  # type: ignore[attr-defined]
    pdf.set_creation_date(created)
    pdf.set_title(c(doc.title))
    pdf.viewer_preferences = ViewerPreferences(display_doc_title=True)  # title, not file name
    pdf.set_author(c(organisation))
    pdf.set_creator("Témoin")
    pdf.set_lang(doc.lang)
    if mark:
        pdf.set_subject(c(mark))
        pdf.set_keywords(c(keywords))
    pdf.set_margins(15, 14, 15)
    pdf.set_auto_page_break(True, margin=16)
    fonts.add_to(pdf)
    pdf.font_programs = fonts.programs  # type: ignore[attr-defined]
    pdf.add_page()
    width = pdf.epw

    def write(text: str, size: float = 9.5, style: str = "", h: float = 4.6,
              indent: float = 0, link: str = "", tag: str = "P",
              parent: StructElem | None = None, lang: str = "") -> None:
        """`text` wrapped, as one `tag` element per page it runs over (marked content
        cannot cross a page: the page break is taken here, outside it)."""
        _font(pdf, style, size)
        tags.open(tag, parent, lang)
        wrapped = fonts.wrap(c(text), style, size, width - indent - 0.5)
        for n, line in enumerate(wrapped):
            if n < len(wrapped) - 1:
                line += " "  # the space the wrap took, or text extraction joins the words
            if pdf.get_y() + h > pdf.page_break_trigger:
                tags.close()
                pdf.add_page()
                _font(pdf, style, size)
                tags.open(tag, parent, lang)
            if link:
                pdf.set_x(pdf.l_margin + indent)
                pdf.cell(width - indent, h, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT,
                         link=link)
            else:
                y = pdf.get_y()
                _line(pdf, pdf.l_margin + indent, y, width - indent, h, line)
                pdf.set_xy(pdf.l_margin, y + h)
        tags.close()

    pdf.set_text_color(90)
    write(organisation, 8.5, h=5)
    pdf.set_text_color(0)
    if mark:
        pdf.set_text_color(*MARK_RGB)
        write(mark, 9.5, "B", 5)
        pdf.set_text_color(0)
    write(doc.title, 15, "B", 7, tag="H1")
    pdf.ln(2)
    for b in doc.blocks:
        if isinstance(b, Heading):
            h = 6 if b.level <= 2 else 5.5
            if b.level <= 2:
                pdf.ln(3)
                if pdf.get_y() > pdf.h - 45:
                    pdf.add_page()
            if pdf.get_y() + h > pdf.page_break_trigger:
                pdf.add_page()
            # The outline (bookmarks): sections, and their subsections one level down.
            pdf.start_section(c(b.text), max(b.level - 2, 0), strict=False)
            write(b.text, 13 if b.level <= 2 else 11, "B", h, tag=f"H{min(b.level, 6)}")
            pdf.ln(1)
        elif isinstance(b, Para):
            write(_text(b.parts))
            pdf.ln(1.5)
        elif isinstance(b, Bullets):
            items = tags.group("L")
            for item in b.items:
                write("• " + _text(item), indent=3, tag="LBody",
                      parent=tags.group("LI", items))
            pdf.ln(1.5)
        elif isinstance(b, Table):
            _table(pdf, tags, b, fonts, width)
        elif isinstance(b, Entry):
            if pdf.get_y() > pdf.h - 40:
                pdf.add_page()
            title = b.title.text if isinstance(b.title, Link) else b.title
            target = links.get(b.title.target, "") if isinstance(b.title, Link) else ""
            write(f"{b.number}  {title}", 10, "B", 5, link=target, tag="H4")
            for k, v in b.facts:
                write(f"{k} {v}", 8.5, h=4.2, indent=6)
            pdf.ln(1.5)
        elif isinstance(b, Rich):
            for paragraph in b.text.split("\n"):
                write(paragraph, lang=b.lang)  # a narrative kept in its own language
                pdf.ln(1)
        elif isinstance(b, Raw):
            continue  # charts are on the web page; their figures are in the tables
    return bytes(pdf.output(output_producer_class=producer()))


def _table(pdf: FPDF, tags: Tags, t: Table, fonts: Fonts, width: float) -> None:
    """A ruled table that fits the page width: the first column wider, numbers right-aligned,
    header cells wrapped. Drawn line by line (`lines`; fpdf2's `table()` lays every cell out
    twice with multi_cell, several times slower)."""
    n = len(t.head)
    first = min(46.0, width * 0.3) if n > 3 else width * 0.5
    widths = [first] + [(width - first) / max(n - 1, 1)] * (n - 1)
    size, line = 6.8, 3.1
    pad = 0.8

    def lines(row: tuple[object, ...], style: str) -> list[list[str]]:
        return [fonts.wrap(fonts.clean(str(v)), style, size, w - 2 * pad)
                for v, w in zip(row, widths, strict=False)]

    def draw(row: tuple[object, ...], style: str, part: StructElem) -> None:
        cells = lines(row, style)
        h = max(len(c) for c in cells) * line + 2 * pad
        if pdf.get_y() + h > pdf.page_break_trigger:
            pdf.add_page()
        x, y = pdf.l_margin, pdf.get_y()
        _font(pdf, style, size)
        tr = tags.group("TR", part)
        k_, top = pdf.k, (pdf.h - y) * pdf.k
        fast = _lines.direct(pdf)
        ops: list[str] = []
        for i, (cell, w) in enumerate(zip(cells, widths, strict=False)):
            # The cell's rule as page furniture: what `tags.artifact()` around
            # `pdf.rect(x, y, w, h)` writes, in one call (a bulletin has ~1,000 cells).
            ops.append(f"/Artifact BMC\n{x * k_:.2f} {top:.2f} {w * k_:.2f} {-h * k_:.2f} re S"
                       "\nEMC")
            numeric = i > 0 and style == ""
            # Column labels and each row's first cell are headers (as on the web page).
            ops.append(tags.begin("TH" if style == "B" or i == 0 else "TD", tr))
            if fast:  # the row's operators, written at once
                ops.extend(_lines.op(pdf, x + pad, y + pad + k * line, w - 2 * pad, line,
                                     text, numeric) for k, text in enumerate(cell) if text)
                ops.append("EMC")
            else:
                pdf._out("\n".join(ops))
                ops = []
                for k, text in enumerate(cell):
                    _line(pdf, x + pad, y + pad + k * line, w - 2 * pad, line, text, numeric)
                pdf._out("EMC")
            x += w
        if ops:
            pdf._out("\n".join(ops))
        pdf.set_xy(pdf.l_margin, y + h)

    if pdf.get_y() > pdf.h - 50:
        pdf.add_page()
    table = tags.group("Table")
    pdf.set_font(FAMILY, "B", 9)
    with tags.mark("Caption", table):
        for text in fonts.wrap(fonts.clean(t.caption), "B", 9, width):
            # Where `pdf.cell(width, 4.6, text, new_x=LMARGIN, new_y=NEXT)` puts it.
            y = pdf.get_y()
            _line(pdf, pdf.get_x(), y, width, 4.6, text)
            pdf.set_xy(pdf.l_margin, y + 4.6)
    pdf.set_draw_color(150)
    pdf.set_line_width(0.15)
    draw(tuple(t.head), "B", tags.group("THead", table))
    body = tags.group("TBody", table)
    for r in t.rows:
        draw(r, "", body)
    if t.foot:
        draw(t.foot, "", tags.group("TFoot", table))
    pdf.set_draw_color(0)
    pdf.ln(3)
