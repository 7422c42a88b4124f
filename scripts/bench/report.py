"""Markdown tables for docs/benchmarks.md from run.py's measurements."""

from __future__ import annotations

from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PHASES = ("load + validate cases", "gate (signatures)", "generate pages", "MkDocs render",
          "CSP meta", "decrypt private parts", "gates", "manifest")
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def _ok(good: bool) -> str:
    return "✅" if good else "❌"


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(head: list[str], rows: list[list[Any]]) -> list[str]:
    return [_row(head), _row(["---"] * len(head)), *(_row(r) for r in rows), ""]


def render(info: dict[str, str], results: list[dict[str, Any]], ing: dict[str, Any] | None,
           t: dict[str, float], submit: list[dict[str, Any]] | None = None) -> str:
    out = [f"Measured on {info['date']}: {info['cores']} cores ({info['cpu']}), "
           f"{info['ram']} RAM, Python {info['python']}, mkdocs {info['mkdocs']}, "
           f"mkdocs-material {info['material']}, GnuPG {info['gpg']}, {info['os']}; "
           f"load average at start {info['load']}.", ""]
    out.append("### `temoin build` against bare MkDocs")
    out.append("")
    rows = []
    for r in results:
        ratio = r["build"] / r["baseline"]
        rows.append([f"{r['n']:,}", f"{r['published']:,}", f"{r['pages']:,}",
                     f"{r['baseline']:.1f} s", f"{r['build']:.1f} s",
                     f"{ratio:.2f} {_ok(ratio <= t['ratio'])}",
                     f"{1000 * r['build'] / r['n']:.2f} ms",
                     f"{r['peak']:.0f} MB {_ok(r['peak'] <= t['peak_mb'])}",
                     f"{r['baseline_peak']:.0f} MB"])
    out += _table(["cases", "case pages", "pages rendered", "bare mkdocs", "temoin build",
                   f"ratio (≤ {t['ratio']})", "per case", "peak memory", "bare peak"], rows)
    out.append("### Output")
    out.append("")
    rows = []
    for r in results:
        s = r["stats"]
        rows.append([f"{r['n']:,}", f"{s['files']:,}", f"{s['total_mb']:.1f} MB",
                     f"{s['largest_kb']:.1f} KB (`{s['largest']}`)",
                     f"{s['case_kb']:.1f} KB {_ok(s['case_max_kb'] <= t['case_kb'])}",
                     f"{s['case_max_kb']:.1f} KB",
                     f"{s['index_kb']:.0f} KB",
                     f"{s['index_gz_kb']:.0f} KB {_ok(s['index_gz_kb'] <= t['index_gz_kb'])}",
                     f"{s['sitemap_kb']:.0f} KB"])
    out += _table(["cases", "files", "site size", "largest page", "median case page",
                   "largest case page", "search index", "gzipped", "sitemap.xml"], rows)
    out.append("### Phases of `temoin build` (seconds)")
    out.append("")
    rows = []
    for r in results:
        ph = r["phases"]
        gates = ph.get("gates", 0.0)
        pct = 100 * gates / r["build"]
        rows.append([f"{r['n']:,}", *(f"{ph.get(p, 0.0):.2f}" for p in PHASES),
                     f"{pct:.1f} % {_ok(pct <= t['gates_pct'])}"])
    out += _table(["cases", *PHASES, f"gates share (≤ {t['gates_pct']:.0f} %)"], rows)
    cold = [r for r in results if "cold" in r]
    if cold:
        out.append("### First build on a machine (no signature or canary cache)")
        out.append("")
        rows = [[f"{r['n']:,}", f"{r['cold']['wall']:.1f} s",
                 f"{r['cold']['phases'].get('gate (signatures)', 0):.1f} s",
                 f"{r['cold']['phases'].get('decrypt private parts', 0):.1f} s",
                 f"{1000 * r['cold']['wall'] / r['n']:.1f} ms",
                 f"{r['cold']['peak']:.0f} MB"] for r in cold]
        out += _table(["cases", "build", "of which signatures", "of which decryption",
                       "per case", "peak memory"], rows)
    pv = [r for r in results if "preview" in r]
    if pv:
        out.append("### Preview (`temoin serve`): rebuild after one case is edited and "
                   "re-approved")
        out.append("")
        rows = [[f"{r['n']:,}", f"{r['preview']['first']:.1f} s",
                 f"{r['preview']['rebuild']:.2f} s "
                 f"{_ok(r['preview']['rebuild'] <= t['rebuild_s'])}",
                 r["preview"]["rendered"], "yes" if r["preview"]["shown"] else "NO"]
                for r in pv]
        out += _table(["cases", "first build", f"rebuild (≤ {t['rebuild_s']:.0f} s)",
                       "pages rendered", "change visible"], rows)
    if ing:
        ratio = ing["ingest"] / ing["bare"]
        out.append(f"### `temoin ingest` of {ing['count']:,} PGP/MIME submissions "
                   "(one 40 KB attachment each)")
        out.append("")
        out += _table(["bare `gpg --decrypt` loop", "temoin ingest", "ingested",
                       f"ratio (≤ {t['ingest_ratio']})", "per submission", "peak memory"],
                      [[f"{ing['bare']:.1f} s", f"{ing['ingest']:.1f} s",
                        f"{ing['ingested']:,}", f"{ratio:.2f} {_ok(ratio <= t['ingest_ratio'])}",
                        f"{1000 * ing['ingest'] / ing['count']:.0f} ms",
                        f"{ing['peak']:.0f} MB"]])
    if submit:
        out.append("### The submit page encrypting a file (headless Chromium)")
        out.append("")
        out += _table(["file", "CPU", f"Encrypt → download offered (≤ {t['submit_s']:.0f} s)",
                       "message.gpg"],
                      [[f"{r['size_mb']} MB", "full speed" if r["throttle"] == 1
                        else f"throttled ×{r['throttle']}",
                        f"{r['seconds']:.2f} s {_ok(r['seconds'] <= t['submit_s'])}",
                        f"{r['gpg_mb']:.1f} MB"] for r in submit])
    big = max(results, key=lambda r: r["n"])
    out.append(f"Largest size: build {big['build']:.1f} s "
               f"{_ok(big['build'] <= t['build_s'])} (target ≤ {t['build_s']:.0f} s).")
    if len(results) > 1:
        a, b = results[0], results[-1]
        growth = (b["build"] / b["n"]) / (a["build"] / a["n"])
        out.append(f"Growth from {a['n']:,} to {b['n']:,} cases: time per case × "
                   f"{growth:.2f}, memory × {b['peak'] / a['peak']:.2f} for "
                   f"× {b['n'] / a['n']:.0f} cases.")
    return "\n".join(out) + "\n"


def document(tables: str) -> str:
    """docs/benchmarks.md: notes.md with the tables put between its markers."""
    notes = (HERE / "notes.md").read_text(encoding="utf-8")
    head, _, rest = notes.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{tables}{END}{tail}"
