"""Tagged PDF bulletins: a structure tree and marked content for what `pdf.render` draws.

fpdf2 (2.8) tags only what it draws itself with a description (an image's or a link's
`alt_text`, a styled `start_section` title): each becomes a flat child of /Document, and it
has no API for tagging text. Screen readers need more: headings by level, paragraphs,
lists, tables by row and cell, and the page furniture set apart as artifacts. `Tags` writes
the marked-content operators (`/P <</MCID n>> BDC … EMC`, `/Artifact BMC … EMC`) into
the page and builds the tree from fpdf2's own classes (`StructElem`, the parent tree of
`struct_builder`), which fpdf2 then serialises with /MarkInfo <</Marked true>>. What it
relies on beyond fpdf2's public API: `FPDF.struct_builder`, `FPDF._out` and `PDFPage`
objects being the ones written out; tests/test_pdf.py reads the tree back with poppler,
so an fpdf2 release that changes them fails a test rather than shipping untagged PDFs.

Left out (fpdf2 cannot, or not without reimplementing its annotations): links are not tied
to their annotation (/Link with /OBJR), so a screen reader reads a case title without
announcing the link; no PDF/UA identifier is claimed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fpdf import FPDF
    from fpdf.structure_tree import StructElem, StructureTreeBuilder


@functools.cache
def _classes() -> tuple[Any, type[StructureTreeBuilder]]:
    """A structure element that may carry /Lang, and a builder that writes nested elements
    (fpdf2's writes only the children of /Document)."""
    from fpdf.structure_tree import StructElem, StructureTreeBuilder
    from fpdf.syntax import PDFArray, PDFString

    class Elem(StructElem):
        __slots__ = ("lang",)

        def __init__(self, struct_type: str, parent: Any, kids: list[Any],
                     page_number: int | None = None, title: str | None = None,
                     alt: str | None = None, lang: str = "") -> None:
            """What fpdf2's `StructElem.__init__` sets, set here without its chain of
            calls (a bulletin makes ~300 elements), and /Lang. tests/test_pdf.py compares
            what the two write."""
            self._id = None
            self.type = "/StructElem"
            self.s = struct_type
            self.p = parent
            self.k = PDFArray(kids)
            self.t = None if title is None else PDFString(title)
            self.alt = None if alt is None else PDFString(alt)
            self.pg = None
            self._page_number = page_number
            self.lang = PDFString(lang) if lang else None

        def _build_obj_dict(self, security_handler: Any = None) -> dict[str, object]:
            """What fpdf2's generic `build_obj_dict` makes of this element (its attributes
            by `dir()`, in alphabetical order, None left out), without its `dir()` and
            attribute walk: a bulletin has ~200 elements, and the walk was ~15 % of
            drawing one. tests/test_pdf.py compares the two on a drawn bulletin."""
            if security_handler is not None:
                return dict(super()._build_obj_dict(security_handler))
            out: dict[str, object] = {}
            if self.alt is not None:
                out["/Alt"] = self.alt.serialize(_obj_id=self.id)
            out["/K"] = self.k.serialize(_obj_id=self.id)
            if self.lang is not None:
                out["/Lang"] = self.lang.serialize(_obj_id=self.id)
            out["/P"] = self.p.ref
            if self.pg is not None:
                out["/Pg"] = self.pg.ref
            out["/S"] = self.s
            if self.t is not None:
                out["/T"] = self.t.serialize(_obj_id=self.id)
            out["/Type"] = self.type
            return out

        def serialize(self, obj_dict: dict[str, object] | None = None,
                      _security_handler: Any = None) -> str:
            """What fpdf2's `PDFObject.serialize` writes of `_build_obj_dict`, with the
            children written here when they are all marked-content ids or all elements
            (every element `Tags` makes): ~200 elements a bulletin went through fpdf2's
            generic dictionary and array writers, ~10 % of drawing one. tests/test_pdf.py
            compares the two on a drawn bulletin."""
            if obj_dict is not None or _security_handler is not None:
                return str(super().serialize(obj_dict, _security_handler))
            oid = self.id
            return "\n".join([
                f"{oid} 0 obj", "<<", *_string("/Alt", self.alt, oid),
                f"/K {_kids(self, StructElem)}", *_string("/Lang", self.lang, oid),
                f"/P {self.p.id} 0 R", *([] if self.pg is None else [f"/Pg {self.pg.id} 0 R"]),
                f"/S {self.s}", *_string("/T", self.t, oid), f"/Type {self.type}", ">>",
                "endobj"])

    class Tree(StructureTreeBuilder):
        def __iter__(self) -> Iterator[Any]:
            yield self.struct_tree_root
            yield self.doc_struct_elem
            yield self.struct_tree_root.parent_tree
            todo = list(self.doc_struct_elem.k)
            while todo:
                elem = todo.pop(0)
                yield elem
                todo[:0] = [k for k in elem.k if isinstance(k, StructElem)]

    return Elem, Tree


def element_class() -> type:
    """The class of the structure elements `Tags` makes."""
    return _classes()[0]  # type: ignore[no-any-return]


def _string(key: str, value: Any, obj_id: int) -> list[str]:
    return [] if value is None else [f"{key} {value.serialize(_obj_id=obj_id)}"]


def _kids(elem: Any, elem_class: type) -> str:
    """`elem.k` as fpdf2's `PDFArray.serialize` writes it: ids by spaces, references to
    elements by newlines, anything else (never made here) by fpdf2 itself."""
    kids = elem.k
    if len(kids) == 1 and type(kids[0]) is int:  # most: one marked-content id
        return f"[{kids[0]}]"
    if all(type(x) is int for x in kids):
        return "[" + " ".join(map(str, kids)) + "]"
    if all(isinstance(x, elem_class) for x in kids):
        return "[" + "\n".join(f"{x.id} 0 R" for x in kids) + "]"
    return str(kids.serialize(_obj_id=elem.id))


class Tags:
    """The structure tree of one PDF: `open`/`close` around the drawing of one element's
    content on one page; `group` for elements that only hold others (L, Table, TR)."""

    def __init__(self, pdf: FPDF) -> None:
        self.pdf = pdf
        pdf.struct_builder = _classes()[1]()
        self.tree = pdf.struct_builder
        self._open = False

    def group(self, tag: str, parent: StructElem | None = None, lang: str = "") -> StructElem:
        """A structure element without content of its own, under `parent` (or /Document)."""
        parent = parent if parent is not None else self.tree.doc_struct_elem
        page = self.pdf.page
        elem: StructElem = _classes()[0](f"/{tag}", parent=parent, kids=[], page_number=page,
                                         lang=lang)
        # fpdf2 sets /Pg only for /Document's children (and types it as their None).
        elem.pg = self.pdf.pages[page]  # type: ignore[assignment]
        parent.k.append(elem)
        return elem

    def open(self, tag: str, parent: StructElem | None = None, lang: str = "") -> StructElem:
        """Start the content of a new `tag` element on the current page."""
        assert not self._open, "marked content does not nest here"
        self.pdf._out(self.begin(tag, parent, lang))
        self._open = True
        return self._last

    def begin(self, tag: str, parent: StructElem | None = None, lang: str = "") -> str:
        """A new `tag` element on the current page: the operator that starts its content,
        for the caller to write (then "EMC" to end it), as `open` does."""
        elem = self._last = self.group(tag, parent, lang)
        page = self.pdf.page
        spids = self.tree.spid_per_page_number
        spid = spids.setdefault(page, len(spids))
        on_page = self.tree.struct_tree_root.parent_tree.nums[spid]
        mcid = len(on_page)  # the parent tree lists a page's elements by MCID
        on_page.append(elem)
        elem.k.append(mcid)
        self.pdf.pages[page].struct_parents = spid
        return f"/{tag} <</MCID {mcid}>> BDC"

    def close(self) -> None:
        assert self._open
        self.pdf._out("EMC")
        self._open = False

    @contextmanager
    def mark(self, tag: str, parent: StructElem | None = None, lang: str = ""
             ) -> Iterator[StructElem]:
        """Content drawn inside is `tag`'s (it must stay on one page)."""
        elem = self.open(tag, parent, lang)
        try:
            yield elem
        finally:
            self.close()

    @contextmanager
    def artifact(self) -> Iterator[None]:
        """Content drawn inside is page furniture (rules, footers, repeated marks); inside
        an open element too, as PDF allows."""
        self.pdf._out("/Artifact BMC")
        try:
            yield
        finally:
            self.pdf._out("EMC")
