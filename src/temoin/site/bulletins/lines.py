"""Lines of a bulletin's text written as PDF text operators directly (`line`), each string's
encoding kept for the document: a bulletin draws 200-300 lines, most of them table cells,
and fpdf2's generic `cell`/`text` paths cost several times more. tests/test_pdf.py holds
the bytes `FPDF.text` writes, which these must equal."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fpdf import FPDF


def line(pdf: FPDF, x: float, y: float, w: float, h: float, text: str,
          right: bool = False) -> None:
    """`text` where `FPDF.cell(w, h, text)` at (x, y) puts it: `c_margin` in from the left
    (from the right when `right`), the baseline 0.3 font sizes below the box's middle; one
    text operator instead of cell's fragment layout and graphics state (~4 times
    cheaper: a bulletin draws 200-300 lines, most of them table cells).

    The operator is the one `FPDF.text` writes, written here when nothing `text` checks
    applies (a TrueType font, filled text, no underline, spacing,
    stretching, shaping or quad points), with each string's encoding kept for the
    document (table cells repeat: "0", "1", labels): `text`'s decorators, normalisation
    and fragment layout cost ~half of a line. tests/test_pdf.py compares the bytes."""
    if not text:
        return
    if not direct(pdf):
        dx = w - pdf.c_margin - pdf.get_string_width(text) if right else pdf.c_margin
        pdf.text(x + dx, y + 0.5 * h + 0.3 * pdf.font_size, text)
        return
    pdf._out(op(pdf, x, y, w, h, text, right))


def direct(pdf: FPDF) -> bool:
    """Whether `op` may write a line for `pdf` as it is now (nothing `FPDF.text` checks
    applies)."""
    return not (getattr(pdf, "encoded", None) is None or
                getattr(pdf, "text_widths", None) is None or not pdf.is_ttf_font or
                pdf.text_mode != _fill_mode() or pdf.underline or pdf.strikethrough or
                pdf._record_text_quad_points or pdf.font_stretching != 100 or
                pdf.char_spacing != 0 or bool(pdf.text_shaping) or not pdf.page or
                pdf.current_font is None)


def op(pdf: FPDF, x: float, y: float, w: float, h: float, text: str, right: bool = False
       ) -> str:
    """The operator `line` writes, when `direct(pdf)` (a table row checks that once for
    all its cells and writes them in one go), after the font's when the page has not
    been given it yet."""
    font = pdf.current_font
    assert font is not None
    encoded: dict[tuple[str, str], str] = pdf.encoded  # type: ignore[attr-defined]
    key = (font.fontkey, text)
    tj = encoded.get(key)
    if tj is None:
        tj = encoded[key] = _encode(pdf, font, text)
    k = pdf.k
    if right:
        size = pdf.font_size_pt
        widths: dict[tuple[str, float, str], float] = pdf.text_widths  # type: ignore[attr-defined]
        wkey = (font.fontkey, size, text)
        width = widths.get(wkey)
        if width is None:
            width = widths[wkey] = font.get_text_width(text, size, None)[1] / k
        dx = w - pdf.c_margin - width
    else:
        dx = pdf.c_margin
    base = (pdf.h - (y + 0.5 * h + 0.3 * pdf.font_size)) * k
    out = f"BT {(x + dx) * k:.2f} {base:.2f} Td {tj} ET"
    if pdf.fill_color != pdf.text_color:
        assert pdf.text_color is not None
        out = f"q {pdf.text_color.serialize().lower()} {out} Q"
    if not pdf.current_font_is_set_on_page:
        out = f"{pdf._set_font_for_page(font, pdf.font_size_pt)}\n{out}"
    return out


def _encode(pdf: FPDF, font: Any, text: str) -> str:
    """`font.encode_text(text)`, through a table of the document's characters: each
    character's place in the document's subset (`SubsetMap.pick`, taken in the order the
    characters first appear, as `encode_text` takes them, so the same numbers) as its
    escaped UTF-16 bytes, and `str.translate`. fpdf2 re-encodes the whole string
    (~8 % of drawing a bulletin). Its escaping (`escape_parens`) replaces single bytes, so
    escaping character by character gives the same string."""
    if font.is_symbol or font.color_font:
        return str(font.encode_text(text))
    from fpdf.util import escape_parens

    tables: dict[str, dict[int, str]] = pdf.encoded_chars  # type: ignore[attr-defined]
    table = tables.setdefault(font.fontkey, {})
    new = set(map(ord, text)).difference(table)
    for code_point in sorted(new, key=lambda c: text.index(chr(c))):
        code = font.subset.pick(code_point)
        table[code_point] = "" if code is None else escape_parens(
            chr(code).encode("utf-16-be").decode("latin-1"))
    return f"({text.translate(table)}) Tj"


@functools.cache
def _fill_mode() -> object:
    from fpdf.enums import TextMode

    return TextMode.FILL
