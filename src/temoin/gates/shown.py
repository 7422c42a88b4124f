"""The text a PDF's pages show, wherever it is drawn: every text-showing operator of every
page's content, of the form XObjects it draws and of its annotations' appearances, decoded
through the font in use, positions ignored.

poppler (the pdftotext tool and its library alike) drops every character drawn outside the
page's box, while a reader's text layer keeps it (pdf.js finds and selects it, extractors
such as pdfminer print it), and a font's own encoding (/Differences, a ToUnicode map) can
hide every letter from the content stream's bytes: a name drawn off the page in such a font
passed the canary gate (attack round 19). No box is large enough (a `cm` moves text past
any), so this reading has no box at all. Each form XObject is decoded once however often
it is drawn (its text is the same wherever it lands), so nested forms cost their size, not
the number of times they are drawn; a content stream is inflated up to the gates'
`MAX_INFLATE`, and a larger one makes the reading fail (`Unreadable`: the gate fails
closed, as when poppler cannot read a file).

Codes are decoded both ways a reader may: through the font's ToUnicode map, and through
its encoding (a named base encoding, its /Differences glyph names read by the Adobe Glyph
List rules); both texts are returned when they differ. A TJ gap wider than a fifth of an em
and any text positioning operator count as a space, so a name laid out word by word or
letter by letter still reads as one (the matcher joins letter-spaced runs).
"""

from __future__ import annotations

import zlib
from typing import Any

import pikepdf

from temoin.gates import bounds, pdf_fonts
from temoin.gates.bounds import MAX_INFLATE

MAX_DEPTH = 32              # form XObjects inside form XObjects (deeper: Unreadable)
_SPACE_OPS = {"Td", "TD", "Tm", "T*", "'", '"'}
_MOVES = {"Td", "TD", "Tm", "T*"}  # a space and nothing else (' and " also show text)
# Only these are parsed out of a content stream (the filter runs in qpdf, not Python).
_OPERATORS = "Tf Tj TJ ' \" Td TD Tm T* ET Do BDC gs"
# Marked content's text that replaces or describes what it draws (poppler prints
# /ActualText in place of the glyphs; attack round 20).
_MARKED = ("/ActualText", "/Alt", "/E")

Decode = pdf_fonts.Decode


def flate_alone(stream: pikepdf.Stream) -> bool | None:
    """Whether a stream is Flate-compressed and nothing else (True), not filtered at all
    (False), or anything else (None: filters and parameters qpdf must decode): the first
    two are read by `bounds.inflate` under its bound, not by qpdf."""
    filters = stream.get("/Filter")
    names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else (
        [str(filters)] if filters is not None else [])
    if names not in ([], ["/FlateDecode"], ["/Fl"]) or "/DecodeParms" in stream:
        return None
    return bool(names)


class Unreadable(Exception):
    """A content stream not read in full: past the gates' bounds, damaged or cut short."""


def read(pdf: pikepdf.Pdf) -> str:
    """What the pages of one opened revision show; Unreadable if a stream is not read in
    full."""
    out: list[str] = []
    _Reader(pdf, out).pages()
    return "\n".join(out)


class _Reader:
    def __init__(self, pdf: pikepdf.Pdf, out: list[str]) -> None:
        self.pdf, self.out = pdf, out
        self.seen: set[tuple[int, int]] = set()
        self.fonts: dict[tuple[int, int], tuple[Decode, Decode]] = {}
        self.scratch = pikepdf.new()

    def pages(self) -> None:
        for page in self.pdf.pages:
            obj = page.obj
            resources = _inherited(obj, "/Resources", pikepdf.Dictionary())
            contents = obj.get("/Contents")
            streams = contents if isinstance(contents, pikepdf.Array) else [contents]
            self.streams([s for s in streams if isinstance(s, pikepdf.Stream)], resources, 0)
            for annot in obj.get("/Annots", pikepdf.Array()):
                if not isinstance(annot, pikepdf.Dictionary):
                    continue
                appearances = annot.get("/AP", pikepdf.Dictionary())
                for key in ("/N", "/R", "/D"):
                    ap = appearances.get(key) if isinstance(appearances, pikepdf.Dictionary) \
                        else None
                    forms = [ap] if isinstance(ap, pikepdf.Stream) else (
                        list(ap.values()) if isinstance(ap, pikepdf.Dictionary) else [])
                    for form in forms:
                        if isinstance(form, pikepdf.Stream):
                            self.form(form, resources, 1)

    def form(self, form: pikepdf.Stream, outer: Any, depth: int) -> None:
        key = form.objgen
        if key != (0, 0) and key in self.seen:
            return
        if depth > MAX_DEPTH:  # poppler draws deeper ones: not read, the gate fails closed
            raise Unreadable(f"form XObjects nested deeper than {MAX_DEPTH}")  # (round 21)
        self.seen.add(key)
        self.streams([form], form.get("/Resources", outer), depth)

    def resources(self, resources: Any, depth: int) -> None:
        """Every content stream the resources `resources` may run besides a `Do`'s form:
        each Type3 font's glyph procedures, tiling patterns' cells, soft masks' groups, and
        every form XObject, drawn or not (attack round 20: a Type3 glyph or a pattern cell
        that writes a name with a real font is drawn by poppler, printed by no tool)."""
        if not isinstance(resources, pikepdf.Dictionary):
            return
        for kind in ("/Font", "/Pattern", "/ExtGState", "/XObject"):
            group = resources.get(kind)
            if not isinstance(group, pikepdf.Dictionary):
                continue
            for _k, item in group.items():
                for stream, own in _runs(item):
                    self.form(stream, own if own is not None else resources, depth + 1)

    def streams(self, streams: list[pikepdf.Stream], resources: Any, depth: int) -> None:
        self.resources(resources, depth)
        data = b"\n".join(self._bytes(s) for s in streams)
        ops = pikepdf.parse_content_stream(pikepdf.Stream(self.scratch, data), _OPERATORS)
        fonts = resources.get("/Font", pikepdf.Dictionary()) \
            if isinstance(resources, pikepdf.Dictionary) else pikepdf.Dictionary()
        xobjects = resources.get("/XObject", pikepdf.Dictionary()) \
            if isinstance(resources, pikepdf.Dictionary) else pikepdf.Dictionary()
        main: list[str] = []
        # The text read the other way (`_font`: through the encoding) differs from `main`
        # only where a font decodes both ways differently: those pieces are kept aside
        # (their place in `main`, their bytes, that decoding) and the other text is made
        # at the end, if any. fpdf2's fonts have a ToUnicode map only: a bulletin is
        # decoded once, not twice.
        others: list[tuple[int, bytes, Decode]] = []
        decode: tuple[Decode, Decode] = (pdf_fonts.latin, pdf_fonts.latin)
        # Fonts an operator given more operands than it takes (or of other types) may set
        # in some reader: poppler and MuPDF use the last ones, and where they disagree
        # each is a reading (attack round 21: "/F1 /F2 12 Tf" drew through /F2 while this
        # reader decoded through /F1). The text through each is kept beside `main`.
        extra: list[Decode] = []
        spare: dict[Decode, list[str]] = {}
        apart: list[int] = []  # where in `main` a show follows another with no move between
        for instruction in ops:
            if not isinstance(instruction, pikepdf.ContentStreamInstruction):
                continue  # an inline image: no text
            op = str(instruction.operator)
            if op in _SPACE_OPS:
                main.append(" ")
                for texts in spare.values():
                    texts.append(" ")
                if op in _MOVES:  # no operand read (half of a bulletin's operators)
                    continue
            elif op == "ET":
                main.append("\n")
                continue
            operands = instruction.operands
            if op in ("Tf", "gs") and operands:
                decode, extra = self._set(op, operands, fonts, resources, decode)
            elif op in ("Tj", "'", '"', "TJ") and operands:
                pieces = _drawn(op, operands)
                if main and main[-1] not in (" ", "\n"):
                    apart.append(len(main))  # right after another show (see `_apart`)
                _show(pieces, decode, main, others)
                _spare(pieces, extra, spare)
            elif op == "BDC" and len(operands) >= 2:
                for props in (operands[1:] if len(operands) == 2 else operands):
                    main += _marked(resources, props)
            elif op == "Do" and operands and isinstance(xobjects, pikepdf.Dictionary):
                xo = xobjects.get(str(operands[-1]))
                if isinstance(xo, pikepdf.Stream) and xo.get("/Subtype") == "/Form":
                    self.form(xo, resources, depth + 1)
        if apart:
            self.out.append(_apart(main, apart))
        self.out.append(_both(main, others))
        self.out.extend("".join(texts) for texts in spare.values())

    def _set(self, op: str, operands: Any, fonts: Any, resources: Any,
             before: tuple[Decode, Decode]) -> tuple[tuple[Decode, Decode], list[Decode]]:
        """The font a Tf or gs sets (the last it names, as readers take it), and, when it
        has more operands than it takes or names several fonts, every decoding a reader
        may use: each font named, and the one in use before (a reader skipping it)."""
        chosen = [self._font(f) for f in self._set_fonts(op, operands, fonts, resources)]
        if op == "Tf":  # a name that is no font draws in none: read as latin-1
            decode = chosen[-1] if chosen else (pdf_fonts.latin, pdf_fonts.latin)
        else:
            decode = chosen[-1] if chosen else before
        if len(operands) == (2 if op == "Tf" else 1) and len(chosen) <= 1:
            return decode, []
        return decode, [d for pair in [*chosen, before] for d in pair]

    @staticmethod
    def _set_fonts(op: str, operands: Any, fonts: Any, resources: Any
                   ) -> list[pikepdf.Dictionary]:
        """The fonts a Tf or gs names among its operands, in order (the last is the one
        readers use)."""
        out = []
        for operand in operands:
            if not isinstance(operand, pikepdf.Name):
                continue
            font: Any
            if op == "gs":
                font = _state_font(resources, operand)
            else:
                font = fonts.get(str(operand)) if isinstance(fonts, pikepdf.Dictionary) \
                    else None
            if isinstance(font, pikepdf.Dictionary):
                out.append(font)
        return out

    def _bytes(self, stream: pikepdf.Stream) -> bytes:
        """A content stream's bytes, inflated up to the bound (Unreadable past it)."""
        flate = flate_alone(stream)
        if flate is not None:
            raw = stream.read_raw_bytes()
            if not flate:
                return raw
            try:
                data, whole = bounds.inflate(raw)
            except zlib.error as exc:  # a reader shows what inflates before the damage
                raise Unreadable(f"a content stream is damaged ({exc})") from None
            if not whole:
                raise Unreadable(f"a content stream is cut short or inflates past "
                                 f"{MAX_INFLATE >> 20} MB")
            return data
        try:
            data = stream.read_bytes()
        except pikepdf.PdfError as exc:
            raise Unreadable(f"a content stream cannot be decoded ({exc})") from None
        if len(data) > MAX_INFLATE:
            raise Unreadable(f"a content stream decodes past {MAX_INFLATE >> 20} MB")
        return data

    def _font(self, font: pikepdf.Dictionary) -> tuple[Decode, Decode]:
        key = font.objgen
        if key != (0, 0) and key in self.fonts:
            return self.fonts[key]
        try:
            found = pdf_fonts.decoders(font)
        except (pikepdf.PdfError, TypeError, ValueError, KeyError, AttributeError):
            # A font spelt against the rules ("/Differences 5"): read as latin-1, as a
            # reader falls back to a standard encoding; it raised out of the whole
            # reading, and the name drawn in another font passed (attack round 21).
            found = (pdf_fonts.latin, pdf_fonts.latin)
        if key != (0, 0):
            self.fonts[key] = found
        return found


def _show(pieces: list[bytes | None], decode: tuple[Decode, Decode], main: list[str],
          others: list[tuple[int, bytes, Decode]]) -> None:
    """The strings a text operator draws (`_drawn`), decoded into `main`; a piece the
    font decodes the other way differently also into `others` (`_both`)."""
    first, second = decode
    for piece in pieces:
        if piece is None:
            main.append(" ")
            continue
        if first is not second:
            others.append((len(main), piece, second))
        main.append(first(piece))


def _spare(pieces: list[bytes | None], extra: list[Decode],
           spare: dict[Decode, list[str]]) -> None:
    """The pieces drawn decoded by each other font a reader may use (`_Reader._set`)."""
    for other in extra:
        spare.setdefault(other, []).extend(
            " " if piece is None else other(piece) for piece in pieces)


def _apart(main: list[str], apart: list[int]) -> str:
    """The text of `main` with a space where a show follows another (`apart`): a reader
    lays out text by where it lands, and a `cm`, a `q`/`Q` or a font's advance between two
    shows sets them apart on the page (poppler prints "Ndayisenga x" for a name and an
    "x" moved away by `cm`), while the text joined reads "Ndayisengax" (attack round 21).
    The joined text is kept too: a name drawn letter by letter is one word."""
    out: list[str] = []
    last = 0
    for at in apart:
        out += ("".join(main[last:at]), " ")
        last = at
    out.append("".join(main[last:]))
    return "".join(out)


def _both(main: list[str], others: list[tuple[int, bytes, Decode]]) -> str:
    """The text of `main`, and after it, when it differs, the text with each piece of
    `others` decoded the other way (`main` is changed)."""
    shown = "".join(main)
    for at, piece, second in others:
        main[at] = second(piece)
    other = "".join(main) if others else shown
    return shown if shown == other else f"{shown}\n{other}"


def _inherited(page: Any, key: str, default: Any) -> Any:
    """A page's attribute, taken from the page tree above it when the page has none (as
    /Resources may be: readers look it up the tree)."""
    node, seen = page, 0
    while isinstance(node, pikepdf.Dictionary) and seen < MAX_DEPTH * 8:
        if key in node:
            return node.get(key)
        node, seen = node.get("/Parent"), seen + 1
    return default


def _runs(item: Any) -> list[tuple[pikepdf.Stream, Any]]:
    """The content streams a resource runs when used (`_Reader.resources`), each with its
    own resources (None: those of where it is used)."""
    if isinstance(item, pikepdf.Stream):
        d = item.stream_dict
        if d.get("/Subtype") == "/Form" or d.get("/PatternType") == 1:
            return [(item, None)]
        return []
    if not isinstance(item, pikepdf.Dictionary):
        return []
    if item.get("/Subtype") == "/Type3":
        procs = item.get("/CharProcs")
        own = item.get("/Resources")
        return [(p, own) for _k, p in procs.items() if isinstance(p, pikepdf.Stream)] \
            if isinstance(procs, pikepdf.Dictionary) else []
    mask = item.get("/SMask")  # an ExtGState's soft mask: its group is drawn
    group = mask.get("/G") if isinstance(mask, pikepdf.Dictionary) else None
    return [(group, None)] if isinstance(group, pikepdf.Stream) else []


def _marked_text(raw: bytes) -> str:
    """A marked-content text string: UTF-16 (big- or little-endian) or UTF-8 with its
    byte-order mark (PDF 2.0; poppler reads all three: attack round 21, an accented name
    in UTF-8 or UTF-16LE ActualText passed), else PDFDocEncoding (close to latin-1)."""
    for bom, codec in ((b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"),
                       (b"\xef\xbb\xbf", "utf-8")):
        if raw.startswith(bom):
            return raw[len(bom):].decode(codec, "replace")
    return raw.decode("latin-1")


def _gap(item: Any) -> bool:
    try:
        return float(item) < -200
    except (TypeError, ValueError):
        return False


def _state_font(resources: Any, name: Any) -> pikepdf.Dictionary | None:
    """The font a graphics state sets (/Font [font size]): poppler and readers decode the
    text after `gs` through it (attack round 20)."""
    if not isinstance(resources, pikepdf.Dictionary):
        return None
    states = resources.get("/ExtGState")
    state = states.get(str(name)) if isinstance(states, pikepdf.Dictionary) else None
    entry = state.get("/Font") if isinstance(state, pikepdf.Dictionary) else None
    if isinstance(entry, pikepdf.Array) and len(entry) and \
            isinstance(entry[0], pikepdf.Dictionary):
        return entry[0]
    return None


def _marked(resources: Any, props: Any) -> list[str]:
    """The /ActualText, /Alt and /E of marked content (inline, or named in /Properties),
    each set apart by spaces: readers show them in place of what they mark."""
    if isinstance(props, pikepdf.Name) and isinstance(resources, pikepdf.Dictionary):
        named = resources.get("/Properties")
        props = named.get(str(props)) if isinstance(named, pikepdf.Dictionary) else None
    if not isinstance(props, pikepdf.Dictionary):
        return []
    # Its keys asked for once (~0.5 µs): pikepdf's `get` of an absent key costs ~3 µs (an
    # exception inside it), and a bulletin marks ~100 pieces of content, none with these.
    keys = props.keys()
    return [f" {_marked_text(bytes(value))} " for key in _MARKED
            if key in keys and isinstance(value := props.get(key), pikepdf.String)]


def _drawn(op: str, operands: Any) -> list[bytes | None]:
    """The strings a text-showing operator draws, in order; None for a TJ gap wide enough
    to read as a space (`_gap`)."""
    if op != "TJ":
        if len(operands) == 1 or op == '"' and len(operands) == 3:
            return [bytes(operands[-1])] if isinstance(operands[-1], pikepdf.String) else []
        # More operands than it takes: readers draw the last (poppler, MuPDF); every
        # string is read (attack round 21).
        out: list[bytes | None] = []
        for operand in operands:  # each apart (one drawn, not the pair)
            if isinstance(operand, pikepdf.String):
                out += (None, bytes(operand))
        return out
    if len(operands) != 1:  # readers draw the last array; each array and string read apart
        out = []
        for operand in operands:
            out += [None, *_drawn("TJ", [operand])] if isinstance(operand, pikepdf.Array) \
                else [None, bytes(operand)] if isinstance(operand, pikepdf.String) else []
        return out
    out = []
    for operand in operands:
        if isinstance(operand, pikepdf.Array):
            out += [bytes(item) if isinstance(item, pikepdf.String) else None
                    for item in operand if isinstance(item, pikepdf.String)
                    or (isinstance(item, (int, float, pikepdf.Object)) and _gap(item))]
    return out


