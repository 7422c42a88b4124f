"""The fonts of printable bulletins: DejaVu Sans (Debian's fonts-dejavu-core), subset once
per build to the scripts bulletins are written in (see `pdf` for how PDFs use them)."""

from __future__ import annotations

import copy
import logging
import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from temoin.errors import TemoinError
from temoin.site.bulletins.embed import Program

if TYPE_CHECKING:
    from fpdf import FPDF
    from fpdf.fonts import TTFFont

FONT_DIR = Path(os.environ.get("TEMOIN_FONT_DIR", "/usr/share/fonts/truetype/dejavu"))
STYLES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
# What the embedded font can draw: Latin (with Extended-A/B: Kirundi, French, Cameroon's
# languages in Latin script), the IPA letters of African orthographies (ɓ ɗ ɛ ɔ ə ɨ ʉ ɲ ʃ ʒ),
# combining accents and typographic punctuation: ~750 glyphs instead of DejaVu's 6,000.
RANGES = ((0x20, 0x7E), (0xA0, 0x24F), (0x253, 0x254), (0x257, 0x257), (0x259, 0x259),
          (0x25B, 0x25B), (0x268, 0x268), (0x272, 0x272), (0x283, 0x283), (0x289, 0x289),
          (0x292, 0x292), (0x2BC, 0x2BC), (0x2C6, 0x2DD), (0x300, 0x36F), (0x2010, 0x2027),
          (0x202F, 0x203A), (0x20AC, 0x20AC), (0x2116, 0x2116), (0x2190, 0x2192),
          (0x2212, 0x2212))
FAMILY = "temoin-sans"
MEMO_MAX = 200_000  # strings `Fonts.wrap` and `Fonts.clean` remember (a few MB at most)


class Fonts:
    """DejaVu Sans subsets in a temporary folder, made once and shared by every PDF, and
    parsed once for fpdf2 (`add_to`)."""

    def __init__(self) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.files: dict[str, Path] = {}
        self.chars: frozenset[int] = frozenset()
        self.widths: dict[str, dict[int, float]] = {}   # style -> code point -> 1/1000 em
        self._parsed: dict[str, TTFFont] = {}
        self.programs: dict[str, Program] = {}  # font key -> what a PDF embeds (`embed`)
        # `wrap` and `clean` by their arguments: bulletins repeat most of their strings
        # (column labels, counts, place and act names, fact labels), in every document
        # a build draws; ~15 % of drawing one before.
        self._wrapped: dict[tuple[str, str, float, float], tuple[str, ...]] = {}
        self._cleaned: dict[str, str] = {}

    def __enter__(self) -> Fonts:
        """Subset and parse the fonts; a second call (the preview keeps one `Fonts` from
        one build to the next, `kept_fonts`) finds them made."""
        from fontTools import subset, ttLib

        if self._tmp is not None:
            return self

        missing = [n for n in STYLES.values() if not (FONT_DIR / n).is_file()]
        if missing:
            raise TemoinError(f"PDF bulletins need DejaVu Sans ({', '.join(missing)} not in "
                              f"{FONT_DIR}): install it with `apt-get install "
                              "fonts-dejavu-core` (or `make system`)")
        logging.getLogger("fontTools").setLevel(logging.ERROR)
        self._tmp = tempfile.TemporaryDirectory(prefix="temoin-fonts-")
        wanted = [c for a, b in RANGES for c in range(a, b + 1)]
        chars: set[int] = set()
        for style, name in STYLES.items():
            font = ttLib.TTFont(FONT_DIR / name, recalcTimestamp=False)
            opts = subset.Options()
            opts.name_IDs, opts.notdef_outline, opts.recalc_timestamp = ["*"], True, False
            opts.layout_features = []
            # Glyph names kept in `post`: fpdf2 opens this subset for every PDF, and
            # deriving ~750 names from the cmap took ~10 % of a one-page PDF's time.
            opts.glyph_names = True
            sub = subset.Subsetter(opts)
            sub.populate(unicodes=wanted)
            sub.subset(font)
            out = Path(self._tmp.name) / name
            font.save(out)
            self.files[style] = out
            self.programs[f"{FAMILY}{style}"] = Program(
                ttLib.TTFont(out, recalcTimestamp=False, recalcBBoxes=False), name)
            best = font.getBestCmap()
            scale = 1000 / font["head"].unitsPerEm
            self.widths[style] = {c: font["hmtx"][g][0] * scale for c, g in best.items()}
            cmap = set(best)
            chars = cmap if not chars else chars & cmap
        self.chars = frozenset(chars)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    def add_to(self, pdf: FPDF) -> None:
        """Give `pdf` the fonts as `FPDF.add_font` would, without parsing them again.

        `add_font` reads each font's tables into a `TTFFont` (~6 ms a style); here that is
        done once a build, and each document gets a copy with what drawing and `output`
        change made afresh: the glyphs it used (`SubsetMap`), its widths and descriptor.
        The font program is not opened again: `render` embeds it from `programs`
        (`embed`). tests/test_pdf.py checks the bytes against `add_font`'s, document after
        document."""
        from fpdf.fonts import SubsetMap, TTFFont

        for style, path in self.files.items():
            parsed = self._parsed.get(style)
            if parsed is None:
                parsed = self._parsed[style] = TTFFont(pdf, path, f"{FAMILY}{style}", style)
                parsed.ttfont.close()  # what it holds was read; `embed` writes the program
            font = copy.copy(parsed)
            font.i = len(pdf.fonts) + 1
            font.cw = copy.copy(parsed.cw)
            font.desc = copy.copy(parsed.desc)
            font.missing_glyphs = []
            font.biggest_size_pt = 0
            font.subset = SubsetMap(font)
            pdf.fonts[font.fontkey] = font

    def wrap(self, text: str, style: str, size: float, width: float) -> list[str]:
        """Greedy word wrap of `text` into lines at most `width` mm wide.

        fpdf2's multi_cell measures ever longer substrings (quadratic in the line length);
        breaking lines here, in one pass, and drawing each with `cell` is ~5x faster."""
        key = (text, style, size, width)
        got = self._wrapped.get(key)
        if got is None:
            if len(self._wrapped) > MEMO_MAX:  # the preview keeps its `Fonts` for hours
                self._wrapped.clear()
            got = self._wrapped[key] = tuple(self._wrap(text, style, size, width))
        return list(got)

    def _wrap(self, text: str, style: str, size: float, width: float) -> list[str]:
        w = self.widths[style]
        per_mm = size / 1000 * 25.4 / 72
        space = w.get(32, 0) * per_mm
        lines: list[str] = []
        for paragraph in text.split("\n"):
            line, used = "", 0.0
            for word in paragraph.split(" "):
                ww = sum(w.get(ord(c), 0) for c in word) * per_mm
                if line and used + space + ww > width:
                    lines.append(line)
                    line, used = "", 0.0
                while ww > width:  # a word longer than the line: cut it
                    cut, acc = 0, 0.0
                    while cut < len(word) and acc + w.get(ord(word[cut]), 0) * per_mm <= width:
                        acc += w.get(ord(word[cut]), 0) * per_mm
                        cut += 1
                    cut = max(cut, 1)
                    if line:
                        lines.append(line)
                    lines.append(word[:cut])
                    line, used, word = "", 0.0, word[cut:]
                    ww = sum(w.get(ord(c), 0) for c in word) * per_mm
                if line:
                    line, used = f"{line} {word}", used + space + ww
                else:
                    line, used = word, ww
            lines.append(line)
        return lines

    def clean(self, text: str) -> str:
        """Text the fonts can draw: other characters become '?' (never a silent gap)."""
        got = self._cleaned.get(text)
        if got is None:
            if len(self._cleaned) > MEMO_MAX:
                self._cleaned.clear()
            got = self._cleaned[text] = "".join(
                c if ord(c) in self.chars or c == "\n" else "?" for c in text)
        return got


def font_files_state() -> tuple[tuple[str, int, int, int], ...]:
    """(name, inode, size, mtime_ns) of each font file ((name, 0, -1, 0) when missing):
    what a `Fonts` made earlier in this process must still match to be used again."""
    out = []
    for name in STYLES.values():
        try:
            st = (FONT_DIR / name).stat()
            out.append((name, st.st_ino, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((name, 0, -1, 0))
    return tuple(out)


def font_stamps() -> list[str]:
    """`name:size` of each font a PDF is drawn with (`name:-` when missing): what keys
    cached PDFs and cached bulletin pages to the fonts."""
    stamps = []
    for name in STYLES.values():
        try:
            stamps.append(f"{name}:{(FONT_DIR / name).stat().st_size}")
        except OSError:
            stamps.append(f"{name}:-")
    return stamps
