"""Bar charts as inline SVG, drawn in Python at build time (no script runs in the reader's
browser, nothing is fetched). Each chart is `role="img"` with a `<title>` and a `<desc>`
(its text alternative), and the page puts the same figures in a table beside it.

Colours use presentation attributes, never `style=""` (the Content-Security-Policy forbids
inline styles); the palette is Okabe–Ito, readable with the common colour-vision
deficiencies. Output is deterministic: integers and one-decimal coordinates only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from temoin.site.text import inline

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#7F7F7F",
           "#000000", "#F0E442")
CATEGORY_COLORS = {"life": "#D55E00", "disappearance": "#0072B2", "torture": "#E69F00",
                   "detention": "#009E73", "sgbv": "#CC79A7", "other": "#7F7F7F"}
FONT = "font-family=\"sans-serif\" font-size=\"11\" fill=\"#222\""


@dataclass(frozen=True)
class Series:
    """One stacked layer: its legend label, colour and one value per bar."""

    label: str
    color: str
    values: tuple[int, ...]


def _f(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"


def nice_max(value: int) -> tuple[int, int]:
    """An axis maximum >= value and its tick step (1, 2 or 5 × 10^k, at most 5 ticks)."""
    if value <= 0:
        return 1, 1
    exp = 10 ** max(0, int(math.floor(math.log10(value))) - 1)
    for step in (s * exp for s in (1, 2, 5, 10, 20, 50, 100)):
        if value / step <= 5:
            return int(math.ceil(value / step) * step), int(step)
    return value, value  # pragma: no cover - the loop always returns


def _open(chart_id: str, width: int, height: float, title: str, desc: str) -> str:
    return (f"<svg class=\"temoin-chart-svg\" viewBox=\"0 0 {width} {_f(height)}\" "
            f"width=\"{width}\" height=\"{_f(height)}\" role=\"img\" "
            f"aria-labelledby=\"{chart_id}-title {chart_id}-desc\">"
            f"<title id=\"{chart_id}-title\">{inline(title)}</title>"
            f"<desc id=\"{chart_id}-desc\">{inline(desc)}</desc>")


def _legend(series: list[Series], x: float, y: float, width: float) -> tuple[str, float]:
    """Legend swatches in rows from (x, y); returns the SVG and the height used."""
    out, cx, cy = [], x, y
    for s in series:
        w = 16 + 6.2 * len(s.label) + 14
        if cx + w > x + width and cx > x:
            cx, cy = x, cy + 16
        out.append(f"<rect x=\"{_f(cx)}\" y=\"{_f(cy)}\" width=\"10\" height=\"10\" "
                   f"fill=\"{s.color}\"/><text x=\"{_f(cx + 14)}\" y=\"{_f(cy + 9)}\" "
                   f"{FONT}>{inline(s.label)}</text>")
        cx += w
    return "".join(out), (cy - y) + 18 if series else 0


def columns(chart_id: str, title: str, desc: str, labels: list[str],
            series: list[Series], width: int = 720, height: int = 300) -> str:
    """Vertical stacked columns, one per label (e.g. months), a layer per series."""
    legend, lh = _legend(series, 40, 4, width - 50)
    top, left, bottom, right = 8 + lh, 40, 58, 8
    plot_h, plot_w = height - top - bottom, width - left - right
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    vmax, step = nice_max(max(totals, default=0))
    parts = [_open(chart_id, width, height, title, desc), legend]
    for tick in range(0, vmax + 1, step):
        y = top + plot_h - plot_h * tick / vmax
        parts.append(f"<line x1=\"{left}\" x2=\"{width - right}\" y1=\"{_f(y)}\" "
                     f"y2=\"{_f(y)}\" stroke=\"#ddd\"/><text x=\"{left - 4}\" "
                     f"y=\"{_f(y + 4)}\" text-anchor=\"end\" {FONT}>{tick}</text>")
    slot = plot_w / max(len(labels), 1)
    bar = max(slot * 0.7, 1)
    for i, label in enumerate(labels):
        x = left + slot * i + (slot - bar) / 2
        y = top + plot_h
        for s in series:
            v = s.values[i]
            if v:
                h = plot_h * v / vmax
                y -= h
                parts.append(f"<rect x=\"{_f(x)}\" y=\"{_f(y)}\" width=\"{_f(bar)}\" "
                             f"height=\"{_f(h)}\" fill=\"{s.color}\"><title>"
                             f"{inline(label)} — {inline(s.label)}: {v}</title></rect>")
        lx, ly = left + slot * i + slot / 2, top + plot_h + 10
        parts.append(f"<text x=\"{_f(lx)}\" y=\"{_f(ly)}\" text-anchor=\"end\" "
                     f"transform=\"rotate(-50 {_f(lx)} {_f(ly)})\" {FONT}>{inline(label)}</text>")
    parts.append(f"<line x1=\"{left}\" x2=\"{width - right}\" y1=\"{top + plot_h}\" "
                 f"y2=\"{top + plot_h}\" stroke=\"#555\"/></svg>")
    return "".join(parts)


def bars(chart_id: str, title: str, desc: str, labels: list[str], series: list[Series],
         width: int = 720, label_width: int = 210) -> str:
    """Horizontal stacked bars, one row per label (places, perpetrators, age groups)."""
    legend, lh = _legend(series, label_width, 4, width - label_width - 10)
    row, top = 22, 8 + lh
    height = int(math.ceil(top + row * max(len(labels), 1) + 24))
    left, right = label_width, 40
    plot_w = width - left - right
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    vmax, step = nice_max(max(totals, default=0))
    parts = [_open(chart_id, width, height, title, desc), legend]
    bottom = top + row * max(len(labels), 1)
    for tick in range(0, vmax + 1, step):
        x = left + plot_w * tick / vmax
        parts.append(f"<line x1=\"{_f(x)}\" x2=\"{_f(x)}\" y1=\"{top}\" y2=\"{bottom}\" "
                     f"stroke=\"#ddd\"/><text x=\"{_f(x)}\" y=\"{bottom + 14}\" "
                     f"text-anchor=\"middle\" {FONT}>{tick}</text>")
    for i, label in enumerate(labels):
        y = top + row * i + 4
        parts.append(f"<text x=\"{left - 6}\" y=\"{y + 11}\" text-anchor=\"end\" {FONT}>"
                     f"{inline(label)}</text>")
        x = float(left)
        for s in series:
            v = s.values[i]
            if v:
                w = plot_w * v / vmax
                parts.append(f"<rect x=\"{_f(x)}\" y=\"{y}\" width=\"{_f(w)}\" height=\"14\" "
                             f"fill=\"{s.color}\"><title>{inline(label)} — "
                             f"{inline(s.label)}: {v}</title></rect>")
                x += w
        parts.append(f"<text x=\"{_f(x + 4)}\" y=\"{y + 11}\" {FONT}>{totals[i]}</text>")
    parts.append("</svg>")
    return "".join(parts)
