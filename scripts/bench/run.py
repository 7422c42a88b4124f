#!/usr/bin/env python3
"""Témoin at scale: `make bench` (= .venv/bin/python scripts/bench/run.py).

For each size N (default 1,000, 5,000 and 20,000 cases; `--sizes 200,1000`; `--quick`:
200 and 1,000, 100 submissions, nothing written), on a repository generated as an
organisation has it (gen.py: signed trust root, signed decisions, sealed private parts and
drafts; cached in ~/.cache/temoin-bench/), each measure in its own process:

* the first build of a fresh clone: `temoin build` with no cache (this checkout's cache
  folder emptied first), wall time, peak memory, phases, CPU;
* the rebuild after it (the caches warm), best of `--repeat`;
* the honest baseline (baseline.py): bare MkDocs + Material with the same theme settings
  over as many pages as Témoin's site has, each one case's public text; and the ratios;
* the preview (`temoin serve`) rebuilding after an editor changes one case;

then `temoin ingest` of `--ingest` PGP/MIME submissions against a bare `gpg --decrypt`
loop over the same files, `temoin case list` over sealed drafts, and the submit page
encrypting a file in headless Chromium. Prints the tables and writes them, with the
machine and its load, into docs/benchmarks.md (the text around them is
scripts/bench/notes.md; the "Profile" section, from profile_build.py, is kept as it is).
"""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import gzip
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import baseline  # noqa: E402
import gen  # noqa: E402
import pss  # noqa: E402
import submit_page  # noqa: E402

PY = sys.executable
# Issue 18 (first build, rebuild, ingest, memory, preview) and issue 8 (page and index size,
# gates' share; the submit page "within seconds" for a 10 MB video on a phone).
TARGETS = {"cold_ratio": 3.0, "warm_ratio": 2.0, "mem_ratio": 1.5, "preview_s": 2.0,
           "ingest_ratio": 1.5, "case_kb": 15, "index_gz_kb": 300, "gates_pct": 10,
           "submit_s": 10.0}


def measure(cmd: list[str], env: dict[str, str], cwd: Path | None = None
            ) -> tuple[float, float, float, str, float]:
    """(wall seconds, peak RSS in MB, CPU seconds, stdout, peak Pss total in MB) of the
    process with the children it waited for. The peak RSS is `wait4`'s: the largest single
    process. The Pss total (`pss.Sampler`) is the largest sum, sampled every 50 ms, of the
    process and all its descendants, each shared page counted once: what the machine held."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    err: list[bytes] = []
    reader = threading.Thread(target=lambda: err.append(p.stderr.read()))  # type: ignore[union-attr]
    reader.start()
    with pss.Sampler(p.pid) as sampler:  # stopped before wait4 reaps (and frees) the pid
        out = p.stdout.read()  # type: ignore[union-attr]
    _pid, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    if p.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}):\n"
                         + b"".join(err).decode(errors="replace")[-3000:])
    return (wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, out.decode(),
            sampler.peak_mb)


def child(env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run child.py: its JSON with `wall`, `peak` (wait4's, MB), `pss` (the tree's sampled
    total, MB) and `cpu` (s) measured from outside."""
    wall, peak, cpu, out, total = measure([PY, str(HERE / "child.py"), *args], env)
    return {**json.loads(out.strip().splitlines()[-1]), "wall": wall, "peak": peak,
            "pss": total, "cpu": cpu}


def load() -> str:
    """The load averages (1, 5, 15 minutes), as `uptime` prints them."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def site_stats(site: Path) -> dict[str, Any]:
    """Output size, HTML pages, largest page, median case page, search index (KB)."""
    total, files, html, largest = 0, 0, 0, (0, "")
    case_pages = []
    for p in site.rglob("*"):
        if not p.is_file():
            continue
        size = p.stat().st_size
        total += size
        files += 1
        rel = p.relative_to(site).as_posix()
        if rel.endswith(".html"):
            html += 1
            largest = max(largest, (size, rel))
            parts = rel.split("/")
            if len(parts) == 3 and parts[0] == "cases" and parts[1].count("-") == 2:
                case_pages.append(size)
    index = (site / "search" / "search_index.json").read_bytes()
    return {"files": files, "html": html, "total_mb": total / 1e6,
            "largest_kb": largest[0] / 1024, "largest": largest[1],
            "case_kb": statistics.median(case_pages) / 1024 if case_pages else 0,
            "case_max_kb": max(case_pages, default=0) / 1024,
            "index_kb": len(index) / 1024,
            "index_gz_kb": len(gzip.compress(index, 9, mtime=0)) / 1024}


def cold_build(repo: Path, site: Path, env: dict[str, str]) -> dict[str, Any]:
    """`temoin build` as on a fresh clone: this checkout's cache folder emptied first, and
    nothing remembered of its cases (`gen.forget_seen`)."""
    from temoin import cache as cache_mod

    shutil.rmtree(cache_mod.home() / cache_mod.repo_id(repo), ignore_errors=True)
    gen.forget_seen()
    shutil.rmtree(site, ignore_errors=True)
    return child(env, "build", str(repo), str(site))


def bench_size(n: int, args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    print(f"\n== {n} cases (load {load()}) ==", flush=True)
    repo = gen.repo(n, args.jobs)
    site = gen.OUT / f"site-{n}"
    res: dict[str, Any] = {"n": n, "load": load()}
    res["cold"] = cold_build(repo, site, env)
    print(f"first build (no cache): {res['cold']['wall']:.1f} s, peak "
          f"{res['cold']['peak']:.0f} MB (wait4), {res['cold']['pss']:.0f} MB (Pss total)",
          flush=True)
    runs = []
    for _ in range(args.repeat):
        runs.append(child(env, "build", str(repo), str(site)))
    res["warm"] = min(runs, key=lambda r: r["wall"])
    res["warm"]["peak"] = max(r["peak"] for r in runs)
    res["warm"]["pss"] = max(r["pss"] for r in runs)
    res["stats"] = site_stats(site)
    print(f"rebuild: {res['warm']['wall']:.1f} s, peak {res['warm']['peak']:.0f} MB "
          f"(wait4), {res['warm']['pss']:.0f} MB (Pss total), "
          f"{res['warm']['published']} case pages, {res['stats']['html']} HTML pages",
          flush=True)
    base, pages = baseline.make(repo, site, gen.OUT / f"baseline-{n}")
    walls, peaks, cpus, totals = [], [], [], []
    for _ in range(args.repeat):
        w, p, c, _out, tot = measure([PY, "-m", "mkdocs", "build", "-q", "-f",
                                      str(base / "mkdocs.yml"), "-d", str(base / "site")],
                                     env)
        walls.append(w)
        peaks.append(p)
        cpus.append(c)
        totals.append(tot)
    res["baseline"] = {"wall": min(walls), "peak": max(peaks), "cpu": min(cpus),
                       "pss": max(totals),
                       "pages": pages + 1,
                       "md_kb": sum(f.stat().st_size for f in (base / "docs").rglob("*.md"))
                       / 1024}
    print(f"bare mkdocs, {pages + 1} pages: {min(walls):.1f} s, peak {max(peaks):.0f} MB "
          f"(wait4), {max(totals):.0f} MB (Pss total); first build "
          f"{res['cold']['wall'] / min(walls):.2f}x, rebuild "
          f"{res['warm']['wall'] / min(walls):.2f}x", flush=True)
    if not args.no_preview:
        res["preview"] = preview(n, repo, env)
    (gen.OUT / f"result-{n}.json").write_text(json.dumps(res, default=str))
    return res


def preview(n: int, repo: Path, env: dict[str, str], work: Path | None = None,
            extra: list[str] | None = None) -> dict[str, Any]:
    """The preview's rebuild after one case is edited and re-approved (on a copy of repo,
    `work`; `extra`: more arguments for child.py, `--profile FILE`)."""
    work = work or gen.OUT / f"preview-{n}"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(repo, work, ignore=shutil.ignore_patterns("site", "cases"))
    shutil.copytree(repo / "cases", work / "cases", copy_function=os.link)
    site = work / "site"
    case_id = sorted(p.parent.parent.name
                     for p in (work / "cases").glob("*/review/publish.json"))[0]
    out = child(env, "preview", str(work), str(site), case_id, *(extra or []))
    shutil.rmtree(work, ignore_errors=True)
    print(f"preview: first build {out['first']:.1f} s, rebuild after one case changed "
          f"{out['rebuild']:.2f} s ({out['rendered']} page(s) rendered)", flush=True)
    return dict(out)


def bench_ingest(count: int, env: dict[str, str]) -> dict[str, Any]:
    import ingest

    print(f"\n== ingest of {count} PGP/MIME submissions (load {load()}) ==", flush=True)
    corpus = ingest.corpus(count)
    bare, bare_cpu = ingest.bare_gpg(corpus, env)
    repo = ingest.fresh_repo(corpus)
    wall, peak, cpu, out, _total = measure([PY, "-m", "temoin", "--repo", str(repo),
                                            "ingest", "--json"], env)
    results = json.loads(out)
    ok = sum(1 for r in results if r["result"] == "ingested")
    shutil.rmtree(repo, ignore_errors=True)
    print(f"gpg loop {bare:.1f} s; temoin ingest {wall:.1f} s ({ok} ingested), "
          f"ratio {wall / bare:.2f}", flush=True)
    return {"count": count, "bare": bare, "bare_cpu": bare_cpu, "ingest": wall, "peak": peak,
            "cpu": cpu, "ingested": ok}


def machine() -> dict[str, str]:
    cpu = next((ln.split(":", 1)[1].strip() for ln in
                Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name")),
               platform.processor())
    mem = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
               if ln.startswith("MemTotal"))
    gpg = subprocess.run(["gpg", "--version"], capture_output=True, text=True).stdout
    return {"date": dt.date.today().isoformat(), "cores": str(os.cpu_count()), "cpu": cpu,
            "ram": f"{mem / 1024 / 1024:.0f} GB", "python": platform.python_version(),
            "os": platform.platform(), "mkdocs": metadata.version("mkdocs"),
            "material": metadata.version("mkdocs-material"),
            "gpg": gpg.splitlines()[0].split()[-1], "load": load()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,5000,20000",
                    help="comma-separated case counts (default: %(default)s; \"\" with "
                    "--ingest N: the ingest benchmark alone)")
    ap.add_argument("--quick", action="store_true",
                    help="sizes 200,1000, 100 submissions, results printed only")
    ap.add_argument("--ingest", type=int, default=1000, help="submissions (0: skip)")
    ap.add_argument("--sealed", type=int, default=300,
                    help="encrypted drafts `temoin case list` decrypts (0: skip)")
    ap.add_argument("--submit", default="1,10",
                    help="file sizes in MB the submit page encrypts in Chromium (\"\": skip)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rebuilds and baseline builds per size (best kept)")
    ap.add_argument("--no-preview", action="store_true")
    ap.add_argument("--reuse", default="",
                    help="sizes whose last saved result (result-N.json) is reported as is")
    ap.add_argument("--jobs", type=int, default=2 * (os.cpu_count() or 1),
                    help="gpg threads while generating cases (not measured)")
    ap.add_argument("--note", default="",
                    help="a sentence on the conditions of this run, printed under the header")
    ap.add_argument("--from-results", action="store_true",
                    help="measure nothing: write the report again from the last run's "
                    "results.json (after editing notes.md)")
    ap.add_argument("--write", default=None,
                    help="Markdown file to write (default: docs/benchmarks.md unless --quick)")
    args = ap.parse_args()
    sizes = [200, 1000] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    if args.quick:
        args.ingest = min(args.ingest, 100)
    reuse = [int(x) for x in args.reuse.split(",") if x]
    if args.from_results:
        import report

        saved = json.loads((gen.OUT / "results.json").read_text())
        text = report.render(saved["machine"], saved["sizes"], saved["ingest"], TARGETS,
                             saved["submit"], saved.get("note", ""))
        path = Path(args.write or ROOT / "docs" / "benchmarks.md")
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        path.write_text(report.document(text, old), encoding="utf-8")
        print(f"wrote {path}")
        return 0
    env = gen.isolate()  # the bench's keys, pins and caches: never the user's
    # Témoin byte-compiled first, as an install leaves it (pip compiles what it installs,
    # MkDocs' and Material's modules included): where PYTHONDONTWRITEBYTECODE is set, each
    # measured `temoin` process would otherwise compile every module it imports (~0.3 s of
    # CPU a process) while the baseline's MkDocs loads its bytecode.
    compileall.compile_dir(str(ROOT / "src"), quiet=1)
    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    results = [json.loads((gen.OUT / f"result-{n}.json").read_text()) if n in reuse
               else bench_size(n, args, env) for n in sorted(set(sizes) | set(reuse))]
    ing = bench_ingest(args.ingest, env) if args.ingest else None
    if args.sealed:
        import sealed_list

        print(f"\n== temoin case list over {args.sealed} encrypted drafts ==", flush=True)
        print(json.dumps(sealed_list.run(args.sealed)), flush=True)
    sub = None
    if args.submit and Path(submit_page.CHROMIUM).exists():
        print("\n== the submit page encrypting a file ==", flush=True)
        sub = submit_page.run(tuple(int(x) for x in args.submit.split(",")))
    info["load_end"] = load()
    if not results:  # `--sizes ""`: the ingest benchmark alone, printed above, no report
        return 0
    import report

    text = report.render(info, results, ing, TARGETS, sub, args.note)
    print("\n" + text)
    out = args.write or (None if args.quick else str(ROOT / "docs" / "benchmarks.md"))
    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        path.write_text(report.document(text, old), encoding="utf-8")
        (gen.OUT / "results.json").write_text(json.dumps(
            {"machine": info, "sizes": results, "ingest": ing, "submit": sub,
             "note": args.note}, indent=1,
            default=str))
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
