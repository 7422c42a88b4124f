"""Embedding the bulletins' fonts in a PDF without subsetting them again for each document.

fpdf2's `output` subsets each TrueType font with fontTools for every document: it reads the
font's tables, prunes them to the glyphs drawn, and compiles and saves a new font (~12 ms a
style and document, half of drawing a typical bulletin). Here each style's font is made
ready once a build (`Program`, in `Fonts`): fpdf2's own subsetting options run once over
every glyph of the build's font, every table is compiled, and each glyph's bytes are kept.
A document's font program is then those tables with a `glyf` and `loca` holding only the
glyphs it drew (and the components of composite ones; the others are empty, so glyph
numbers are the build font's and nothing inside a glyph is renumbered): a few joins and
checksums. The PDF objects around it (Type0 font, CIDFontType2 with its widths, ToUnicode,
descriptor, CIDToGIDMap) are written as fpdf2 writes them, so the text a reader extracts is
the same; tests/test_pdf.py compares the pages rendered by poppler with fpdf2's own
embedding, pixel for pixel.
"""

from __future__ import annotations

import functools
import io
import itertools
import struct
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fontTools.ttLib import TTFont
    from fpdf.output import OutputProducer

# fpdf2 2.8's options for a document's subset (`OutputProducer._add_fonts`).
DROPPED = ["FFTM", "GDEF", "GPOS", "GSUB", "MATH", "hdmx", "meta", "sbix", "CBDT", "CBLC",
           "EBDT", "EBLC", "EBSC", "SVG ", "CPAL", "COLR"]


def _checksum(data: bytes) -> int:
    data += b"\0" * (-len(data) % 4)
    return int(sum(struct.unpack(f">{len(data) // 4}I", data)) & 0xFFFFFFFF)


class Program:
    """One style's font, ready to embed with only the glyphs a document drew (`subset`)."""

    def __init__(self, font: TTFont, name: str) -> None:
        """`font`: the build's subset of the style (`Fonts`) of the file `name`, as fpdf2
        reads it; it is subset here once more with fpdf2's options, keeping every glyph."""
        from fontTools import subset

        from temoin.errors import TemoinError

        order = font.getGlyphOrder()
        opts = subset.Options(notdef_outline=True, recommended_glyphs=True)
        opts.drop_tables += DROPPED
        opts.recalc_bounds = opts.recalc_timestamp = False
        sub = subset.Subsetter(opts)
        sub.populate(glyphs=order)
        sub.subset(font)
        if font.getGlyphOrder() != order:
            raise TemoinError(f"{name}: fontTools renumbered the glyphs of the PDF font while "
                              "keeping all of them; this fontTools release is not supported "
                              "by site/bulletins/embed.py")
        self.gid = {name: i for i, name in enumerate(order)}
        glyf = font["glyf"]
        closure: list[tuple[int, ...]] = []
        for name in order:
            seen, todo = {self.gid[name]}, [name]
            while todo:
                glyph = glyf[todo.pop()]
                if glyph.isComposite():
                    for c in glyph.components:
                        if self.gid[c.glyphName] not in seen:
                            seen.add(self.gid[c.glyphName])
                            todo.append(c.glyphName)
            closure.append(tuple(sorted(seen)))
        self.closure = closure
        buf = io.BytesIO()
        font.save(buf)
        raw = buf.getvalue()
        tables = self._tables(raw)
        loca_long = struct.unpack(">h", tables["head"][50:52])[0] == 1
        loca = tables.pop("loca")
        offsets = (struct.unpack(f">{len(order) + 1}I", loca) if loca_long else
                   [2 * o for o in struct.unpack(f">{len(order) + 1}H", loca)])
        glyf_raw = tables.pop("glyf")
        self.glyphs = [self._pad(glyf_raw[a:b]) for a, b in itertools.pairwise(offsets)]
        # Each glyph is padded to 4 bytes, so a document's `glyf` checksum is the sum of
        # its glyphs' (`subset`): summing the whole table again was ~a third of it.
        self.glyph_sums = [_checksum(g) for g in self.glyphs]
        self.sizes = [len(g) for g in self.glyphs]
        head = bytearray(tables["head"])
        head[8:12] = b"\0\0\0\0"                 # checkSumAdjustment, set per document
        self.head = head
        # Advance widths and side bearings: a document keeps those of its glyphs (the
        # others are zero, as their outlines are empty), so that the table compresses.
        hmtx, metrics = tables.pop("hmtx"), struct.unpack(">H", tables["hhea"][34:36])[0]
        self.metrics = [hmtx[4 * g:4 * g + 4] if g < metrics else
                        hmtx[4 * metrics + 2 * (g - metrics):4 * metrics + 2 * (g - metrics) + 2]
                        for g in range(len(order))]
        self.blank = [bytes(len(m)) for m in self.metrics]
        del tables["head"]
        self.tables = tables
        self.sums = {tag: _checksum(data) for tag, data in tables.items()}

    @staticmethod
    def _pad(data: bytes) -> bytes:
        return data + b"\0" * (-len(data) % 4)

    @staticmethod
    def _tables(raw: bytes) -> dict[str, bytes]:
        count = struct.unpack(">H", raw[4:6])[0]
        out = {}
        for i in range(count):
            tag, _sum, offset, length = struct.unpack(">4sIII", raw[12 + 16 * i:28 + 16 * i])
            out[tag.decode("latin-1")] = raw[offset:offset + length]
        return out

    def subset(self, gids: Iterable[int]) -> bytes:
        """The font program with the glyphs `gids` (their components, and .notdef)."""
        keep = {0}
        for g in gids:
            keep.update(self.closure[g])
        kept = [g in keep for g in range(len(self.glyphs))]
        glyf = [d for d, k in zip(self.glyphs, kept, strict=True) if k]
        hmtx = [m if k else z for m, z, k in zip(self.metrics, self.blank, kept, strict=True)]
        loca = list(itertools.accumulate((s if k else 0 for s, k in
                                          zip(self.sizes, kept, strict=True)), initial=0))
        at = loca[-1]
        glyf_sum = sum(self.glyph_sums[g] for g in keep)
        short = at < 0x20000  # offsets / 2 in 16 bits (glyphs are padded to 4 bytes)
        head = bytearray(self.head)
        head[50:52] = struct.pack(">h", 0 if short else 1)
        tables = dict(self.tables)
        tables["head"] = bytes(head)
        tables["glyf"] = b"".join(glyf)
        tables["hmtx"] = b"".join(hmtx)
        tables["loca"] = (struct.pack(f">{len(loca)}H", *(o // 2 for o in loca)) if short
                          else struct.pack(f">{len(loca)}I", *loca))
        sums = dict(self.sums)
        for tag in ("head", "hmtx", "loca"):
            sums[tag] = _checksum(tables[tag])
        sums["glyf"] = glyf_sum & 0xFFFFFFFF
        tags = sorted(tables)
        n = len(tags)
        power = 1 << (n.bit_length() - 1)
        directory = struct.pack(">IHHHH", 0x00010000, n, power * 16, power.bit_length() - 1,
                                n * 16 - power * 16)
        offset = 12 + 16 * n
        entries, bodies = [], []
        for tag in tags:
            data = tables[tag]
            entries.append(struct.pack(">4sIII", tag.encode("latin-1"), sums[tag], offset,
                                       len(data)))
            bodies.append(self._pad(data))
            offset += len(bodies[-1])
        font = bytearray(directory + b"".join(entries) + b"".join(bodies))
        # The font's checksum, as the sum of its 4-byte-aligned parts': the directory and
        # each padded table (whose checksums are in `sums`, `head`'s with a zero adjustment).
        whole = _checksum(directory + b"".join(entries)) + sum(sums[tag] for tag in tags)
        adjust = (0xB1B0AFBA - whole) & 0xFFFFFFFF
        where = 12 + 16 * n + sum(len(b) for b in bodies[:tags.index("head")])
        font[where + 8:where + 12] = struct.pack(">I", adjust)
        return bytes(font)


@functools.cache
def producer() -> type[OutputProducer]:
    """fpdf2's `OutputProducer`, embedding the fonts that have a `Program` in the document's
    `font_programs` (by font key) from it; any other font, as fpdf2 does."""
    from fpdf import output as o
    from fpdf.fonts import TTFFont
    from fpdf.syntax import Name, PDFArray, PDFContentStream

    class _Elements(o.ContentWithoutID):
        """Structure elements written in one go, each at the offset `bufferize` would have
        written it at (it writes this as content without an id, followed by a newline, as it
        follows each object)."""

        def __init__(self, producer: Any, elems: list[Any]) -> None:
            self.producer, self.elems = producer, elems

        def serialize(self, _security_handler: Any = None) -> str:
            assert _security_handler is None
            at = len(self.producer.buffer)
            offsets = self.producer.offsets
            parts = []
            for e in self.elems:
                offsets[e.id] = at
                text = e.serialize()
                parts.append(text)
                at += (len(text) if text.isascii() else len(text.encode("latin-1"))) + 1
            return "\n".join(parts)

    class Producer(o.OutputProducer):
        def _add_pdf_obj(self, pdf_obj: Any, trace_label: str | None = None) -> int:
            """fpdf2's, without the trace label: with one, `bufferize` times the object's
            writing in a context manager for a debug log of section sizes (a bulletin
            has ~300 labelled objects, its structure elements: ~10 % of drawing it)."""
            self.obj_id += 1
            pdf_obj.id = self.obj_id
            self.pdf_objs.append(pdf_obj)
            return int(self.obj_id)

        def _add_structure_tree(self) -> Any:
            """fpdf2's, but the elements `tags` makes (~300 a bulletin, one indirect object
            each) are written by one `_Elements` rather than one by one by `bufferize`:
            the same bytes at the same offsets, without its per-object bookkeeping."""
            from temoin.site.bulletins.tags import element_class

            tree = self.fpdf.struct_builder
            objs = list(tree)
            elem = element_class()
            if tree.empty() or self.fpdf._security_handler is not None or \
                    len(objs) < 3 or not all(type(x) is elem for x in objs[3:]):
                return super()._add_structure_tree()
            for obj in objs[:3]:  # the root, /Document and the parent tree: as fpdf2 does
                self._add_pdf_obj(obj)
            for obj in objs[3:]:
                self.obj_id += 1
                obj.id = self.obj_id
            self.pdf_objs.append(_Elements(self, objs[3:]))
            return objs[0]

        def _add_fonts(self, *args: Any, **kwargs: Any) -> Any:
            programs: dict[str, Program] = getattr(self.fpdf, "font_programs", {})
            fonts = sorted(self.fpdf.fonts.values(), key=lambda f: f.i)
            if not all(isinstance(f, TTFFont) and f.fontkey in programs and
                       not f.color_font and not f.is_cff for f in fonts):
                return super()._add_fonts(*args, **kwargs)
            return {f.i: self._embed(f, programs[f.fontkey]) for f in fonts}

        def _embed(self, font: Any, program: Program) -> Any:
            """What fpdf2 2.8's `_add_fonts` writes for a TrueType font, in its order."""
            if font.missing_glyphs:
                raise ValueError(f"glyphs missing from {font.fontkey}")
            fontname = f"MPDFAA+{font.name}"
            code_to_glyph = {cid: program.gid[glyph.glyph_name]
                             for glyph, cid in font.subset.items() if glyph is not None}
            composite = o.PDFFont(subtype="Type0", base_font=fontname, encoding="Identity-H")
            self._add_pdf_obj(composite, "fonts")
            cid_font = o.PDFFont(subtype="CIDFontType2", base_font=fontname,
                                 d_w=font.desc.missing_width, w=o._tt_font_widths(font))
            self._add_pdf_obj(cid_font, "fonts")
            composite.descendant_fonts = PDFArray([cid_font])
            bf_char = [f"<{cid:04X}> <{''.join(_utf16(c) for c in glyph.unicode)}>\n"
                       for glyph, cid in font.subset.items()
                       if glyph is not None and isinstance(glyph.unicode, tuple)
                       and glyph.unicode]
            to_unicode = PDFContentStream((
                "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
                "/CIDSystemInfo\n<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n"
                ">> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
                "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
                f"{o._build_cmap_blocks(bf_char, 'bfchar')}"
                "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
            ).encode("latin-1"))
            self._add_pdf_obj(to_unicode, "fonts")
            composite.to_unicode = to_unicode
            system = o.CIDSystemInfo()
            self._add_pdf_obj(system, "fonts")
            cid_font.c_i_d_system_info = system
            desc = font.desc
            desc.font_name = Name(fontname)
            self._add_pdf_obj(desc, "fonts")
            cid_font.font_descriptor = desc
            # Up to the last code drawn, not all 65,536 (a 128 KB stream compressed twice a
            # document, ~6 % of drawing one): a code is only ever looked up if drawn.
            cid_to_gid = bytearray(2 * (max(code_to_glyph, default=0) + 1))
            for cid, gid in code_to_glyph.items():
                cid_to_gid[2 * cid:2 * cid + 2] = gid.to_bytes(2, "big")
            to_gid = PDFContentStream(contents=bytes(cid_to_gid), compress=True)
            self._add_pdf_obj(to_gid, "fonts")
            cid_font.c_i_d_to_g_i_d_map = to_gid
            stream = o.PDFFontStream(contents=program.subset(code_to_glyph.values()))
            self._add_pdf_obj(stream, "fonts")
            desc.font_file2 = stream
            font.subset.pick.cache_clear()
            font.subset.get_glyph.cache_clear()
            font.close()
            return composite

    return Producer


def _utf16(code: int) -> str:
    if code > 0xFFFF:
        return f"{0xD800 | (code - 0x10000) >> 10:04X}{0xDC00 | (code & 0x3FF):04X}"
    return f"{code:04X}"
