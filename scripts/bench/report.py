"""Markdown tables for docs/benchmarks.md from run.py's measurements."""

from __future__ import annotations

from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PHASES = ("load + validate cases", "gate (signatures)", "generate pages", "MkDocs render",
          "CSP meta", "decrypt private parts", "gates", "manifest")
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
PROFILE_BEGIN, PROFILE_END = "<!-- profile:begin -->", "<!-- profile:end -->"


def _ok(good: bool) -> str:
    return "✅" if good else "❌"


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(head: list[str], rows: list[list[Any]]) -> list[str]:
    return [_row(head), _row(["---"] * len(head)), *(_row(r) for r in rows), ""]


def _ratio(x: float, base: float, limit: float) -> str:
    r = x / base
    return f"{r:.2f}× {_ok(r <= limit)}"


def _mem(m: dict[str, Any]) -> str:
    """A memory cell: the sampled Pss total, then wait4's single-process peak."""
    if "pss" not in m:
        return f"{m['peak']:.0f} MB (wait4)"
    return f"{m['pss']:.0f} MB (wait4 {m['peak']:.0f})"


def _mem_ratio(r: dict[str, Any], limit: float) -> str:
    key = "pss" if all("pss" in r[k] for k in ("baseline", "cold", "warm")) else "peak"
    top = max(r["cold"][key], r["warm"][key])
    return _ratio(top, r["baseline"][key], limit)


def render(info: dict[str, str], results: list[dict[str, Any]], ing: dict[str, Any] | None,
           t: dict[str, float], submit: list[dict[str, Any]] | None = None,
           note: str = "") -> str:
    out = [f"Measured on {info['date']}: {info['cores']} cores ({info['cpu']}), "
           f"{info['ram']} RAM, Python {info['python']}, mkdocs {info['mkdocs']}, "
           f"mkdocs-material {info['material']}, GnuPG {info['gpg']}, {info['os']}. "
           f"**Load average** (1, 5, 15 min, as `uptime` prints it) at the start "
           f"**{info['load']}**, at the end **{info.get('load_end', '?')}**.", ""]
    if note:
        out += [note, ""]
    out += ["### First build and rebuild against bare MkDocs", ""]
    rows = []
    for r in results:
        base, cold, warm = r["baseline"]["wall"], r["cold"]["wall"], r["warm"]["wall"]
        pv = r.get("preview")
        bcpu = r["baseline"]["cpu"]
        rows.append([f"{r['n']:,}", r["load"].split()[0], f"{r['stats']['html']:,}",
                     f"{base:.1f} s", f"{cold:.1f} s", _ratio(cold, base, t["cold_ratio"]),
                     f"{warm:.1f} s", _ratio(warm, base, t["warm_ratio"]),
                     f"{bcpu:.1f} / {r['cold']['cpu']:.1f} / {r['warm']['cpu']:.1f} s",
                     f"{r['cold']['cpu'] / bcpu:.2f}× / {r['warm']['cpu'] / bcpu:.2f}×",
                     f"{pv['rebuild']:.2f} s {_ok(pv['rebuild'] <= t['preview_s'])}"
                     if pv else "—"])
    out += _table(["cases", "load (1 min)", "HTML pages", "bare MkDocs",
                   "first build (no cache)", f"ratio (≤ {t['cold_ratio']:.0f}×)", "rebuild",
                   f"ratio (≤ {t['warm_ratio']:.0f}×)", "CPU: bare / first / rebuild",
                   "CPU ratios: first / rebuild",
                   f"preview after one edit (≤ {t['preview_s']:.0f} s)"], rows)
    out += ["Ratios are of wall times (the targets'); on a loaded machine the CPU times "
            "(the process and the children it waited for: gpg, poppler, gate workers) "
            "vary less.", ""]
    out += ["### Peak memory", ""]
    rows = []
    for r in results:
        rows.append([f"{r['n']:,}", *(_mem(r[k]) for k in ("baseline", "cold", "warm")),
                     _mem_ratio(r, t["mem_ratio"])])
    out += _table(["cases", "bare MkDocs", "first build", "rebuild",
                   f"ratio of the Pss totals, higher of the two (≤ {t['mem_ratio']}×)"],
                  rows)
    out += ["Each cell: the Pss total (the build and all its descendants, sampled every "
            "50 ms, shared pages counted once), then `wait4`'s peak (the largest single "
            "process). The ratio uses the Pss totals; results saved before they were "
            "measured show `wait4`'s alone and their ratio uses it.", ""]
    if ing:
        out.append(f"### `temoin ingest` of {ing['count']:,} PGP/MIME submissions "
                   "(one 40 KB attachment each)")
        out.append("")
        out += _table(["bare `gpg --decrypt` loop", "temoin ingest", "ingested",
                       f"ratio (≤ {t['ingest_ratio']}×)", "CPU: bare / ingest", "CPU ratio",
                       "per submission", "peak memory"],
                      [[f"{ing['bare']:.1f} s", f"{ing['ingest']:.1f} s",
                        f"{ing['ingested']:,}",
                        _ratio(ing["ingest"], ing["bare"], t["ingest_ratio"]),
                        f"{ing['bare_cpu']:.1f} / {ing['cpu']:.1f} s",
                        f"{ing['cpu'] / ing['bare_cpu']:.2f}×",
                        f"{1000 * ing['ingest'] / ing['count']:.0f} ms",
                        f"{ing['peak']:.0f} MB"]])
    out += ["### Phases (seconds) and CPU", ""]
    rows = []
    for r in results:
        for name, b in (("first build", r["cold"]), ("rebuild", r["warm"])):
            ph = b["phases"]
            rows.append([f"{r['n']:,}", name, f"{b['wall']:.1f}",
                         *(f"{ph.get(p, 0.0):.2f}" for p in PHASES),
                         f"{b['cpu_self']:.1f} + {b['cpu_children']:.1f}"])
    out += _table(["cases", "build", "wall", *PHASES,
                   "CPU s: build process + its children (gpg, poppler, gate workers)"], rows)
    out += ["### Output", ""]
    rows = []
    for r in results:
        s = r["stats"]
        gates = r["warm"]["phases"].get("gates", 0.0)
        pct = 100 * gates / r["warm"]["wall"]
        rows.append([f"{r['n']:,}", f"{r['warm']['published']:,}", f"{s['files']:,}",
                     f"{s['total_mb']:.1f} MB",
                     f"{s['largest_kb']:.1f} KB (`{s['largest']}`)",
                     f"{s['case_kb']:.1f} KB", f"{s['case_max_kb']:.1f} KB "
                     f"{_ok(s['case_max_kb'] <= t['case_kb'])}",
                     f"{s['index_gz_kb']:.0f} KB {_ok(s['index_gz_kb'] <= t['index_gz_kb'])}",
                     f"{r['baseline']['md_kb'] / r['baseline']['pages']:.1f} KB",
                     f"{pct:.1f} % {_ok(pct <= t['gates_pct'])}"])
    out += _table(["cases", "case pages", "files", "site size", "largest page",
                   "median case page", f"largest case page (≤ {t['case_kb']} KB)",
                   f"search index gzipped (≤ {t['index_gz_kb']} KB)",
                   "baseline Markdown a page", f"gates' share of a rebuild "
                   f"(≤ {t['gates_pct']} %)"], rows)
    pv = [r for r in results if "preview" in r]
    if pv:
        out.append("### Preview (`temoin serve`): rebuild after one case is edited and "
                   "signed again")
        out.append("")
        rows = [[f"{r['n']:,}", f"{r['preview']['first']:.1f} s",
                 f"{r['preview']['rebuild']:.2f} s",
                 f"{r['preview']['rebuild_cpu']:.2f} s" if "rebuild_cpu" in r["preview"]
                 else "—", r["preview"]["rendered"],
                 "yes" if r["preview"]["shown"] else "NO"] for r in pv]
        out += _table(["cases", "first build (a new checkout: no cache)", "rebuild",
                       "rebuild CPU", "pages rendered", "change visible"], rows)
    if submit:
        out.append("### The submit page encrypting a file (headless Chromium)")
        out.append("")
        out += _table(["file", "CPU", f"Encrypt → download offered (≤ {t['submit_s']:.0f} s)",
                       "message.gpg"],
                      [[f"{r['size_mb']} MB", "full speed" if r["throttle"] == 1
                        else f"throttled ×{r['throttle']}",
                        f"{r['seconds']:.2f} s {_ok(r['seconds'] <= t['submit_s'])}",
                        f"{r['gpg_mb']:.1f} MB"] for r in submit])
    return "\n".join(out) + "\n"


def _between(text: str, begin: str, end: str) -> str | None:
    if begin not in text or end not in text:
        return None
    return text.partition(begin)[2].partition(end)[0]


def put_profile(doc: str, profile: str | None) -> str:
    """`doc` with `profile` between its profile markers (unchanged when None)."""
    if profile is None or PROFILE_BEGIN not in doc or PROFILE_END not in doc:
        return doc
    before, _, rest = doc.partition(PROFILE_BEGIN)
    return f"{before}{PROFILE_BEGIN}{profile}{PROFILE_END}{rest.partition(PROFILE_END)[2]}"


def document(tables: str, old: str = "") -> str:
    """docs/benchmarks.md: notes.md with the tables between the bench markers, and the
    profile that `old` (the current file) holds, from profile_build.py, kept."""
    notes = (HERE / "notes.md").read_text(encoding="utf-8")
    head, _, rest = notes.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return put_profile(f"{head}{BEGIN}\n{tables}{END}{tail}",
                       _between(old, PROFILE_BEGIN, PROFILE_END))
