#!/usr/bin/env python3
"""Témoin at scale: `make bench` (= .venv/bin/python scripts/bench/run.py).

For each size N (default 1,000, 5,000 and 20,000 cases; `--quick`: 200 and 1,000), on
generated fictional cases with encrypted private parts and signed decisions (gen.py, cached
in ~/.cache/temoin-bench/, see gen.py):

* `temoin build`: wall time and peak memory, each in its own process, against a bare
  `mkdocs build` of the same pages (baseline.py); phases; output and search-index sizes;
* the first build on a machine (no signature or canary cache yet), for the sizes up to
  `--cold-max`;
* the preview (`temoin serve`) rebuilding after an editor changes one case;
* `temoin ingest` of `--ingest` PGP/MIME submissions against a bare `gpg --decrypt` loop;
* the submit page encrypting `--submit` files (MB) in headless Chromium (submit_page.py).

Prints the tables and writes them, with the machine, into docs/benchmarks.md (the text
around the tables comes from scripts/bench/notes.md).
"""

from __future__ import annotations

import argparse
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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import baseline  # noqa: E402
import gen  # noqa: E402
import submit_page  # noqa: E402

PY = sys.executable
ENV = {**os.environ, "GNUPGHOME": str(gen.GNUPG), "SOURCE_DATE_EPOCH": "1760000000",
       "PYTHONHASHSEED": "0", "NO_MKDOCS_2_WARNING": "1"}
TARGETS = {"ratio": 1.3, "build_s": 90.0, "peak_mb": 1024, "case_kb": 15, "index_gz_kb": 300,
           "gates_pct": 10, "ingest_ratio": 2.5, "rebuild_s": 5.0,
           "submit_s": 10.0}  # a 10 MB video on a phone (CPU throttled 4x): "within seconds"


def measure(cmd: list[str], cwd: Path | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB of the process and its waited-for children, stdout)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, env=ENV, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    err: list[bytes] = []
    reader = threading.Thread(target=lambda: err.append(p.stderr.read()))  # type: ignore[union-attr]
    reader.start()
    out = p.stdout.read()  # type: ignore[union-attr]
    _pid, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    if p.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}):\n"
                         + b"".join(err).decode(errors="replace")[-3000:])
    return wall, usage.ru_maxrss / 1024, out.decode()


def child(*args: str) -> tuple[float, float, dict]:  # type: ignore[type-arg]
    wall, peak, out = measure([PY, str(HERE / "child.py"), *args])
    return wall, peak, json.loads(out.strip().splitlines()[-1])


def site_stats(site: Path) -> dict[str, float]:
    """Output size, largest page, median case page, search index raw and gzipped (KB)."""
    total, files, largest = 0, 0, (0, "")
    case_pages = []
    for p in site.rglob("*"):
        if not p.is_file():
            continue
        size = p.stat().st_size
        total += size
        files += 1
        rel = p.relative_to(site).as_posix()
        if rel.endswith(".html"):
            largest = max(largest, (size, rel))
            parts = rel.split("/")
            if len(parts) == 3 and parts[0] == "cases" and parts[1].count("-") == 2:
                case_pages.append(size)
    index = (site / "search" / "search_index.json").read_bytes()
    return {"files": files, "total_mb": total / 1e6, "largest_kb": largest[0] / 1024,
            "largest": largest[1], "case_kb": statistics.median(case_pages) / 1024
            if case_pages else 0, "case_max_kb": max(case_pages, default=0) / 1024,
            "index_kb": len(index) / 1024,
            "index_gz_kb": len(gzip.compress(index, 9, mtime=0)) / 1024,
            "sitemap_kb": (site / "sitemap.xml").stat().st_size / 1024}


def bench_size(n: int, args: argparse.Namespace) -> dict:  # type: ignore[type-arg]
    print(f"\n== {n} cases ==", flush=True)
    repo = gen.repo(n, args.jobs)
    site = gen.OUT / f"site-{n}"
    res: dict = {"n": n}  # type: ignore[type-arg]
    from temoin import cache as cache_mod  # caches live outside the repo (docs/DESIGN.md)

    cache = cache_mod.home() / cache_mod.repo_id(repo)
    if n <= args.cold_max:
        shutil.rmtree(cache, ignore_errors=True)
        wall, peak, out = child("build", str(repo), str(site))
        res["cold"] = {"wall": wall, "peak": peak, "phases": out["phases"]}
        print(f"first build (no caches): {wall:.1f} s", flush=True)
    else:
        # Caches are keyed by content and by code (a change to the canary rules empties the
        # canary cache): one unmeasured build makes the measured one a real rebuild.
        print("warming the caches (a build, not measured)…", flush=True)
        child("build", str(repo), str(site))
    runs = []
    for _ in range(args.repeat):
        wall, peak, out = child("build", str(repo), str(site))
        runs.append((wall, peak, out))
    wall, peak, out = min(runs, key=lambda r: r[0])
    res.update(build=wall, peak=peak, phases=out["phases"], published=out["published"],
               aggregate=out["aggregate"], refused=out["refused"], signed=out["signed"])
    res["stats"] = site_stats(site)
    print(f"temoin build: {wall:.1f} s, peak {peak:.0f} MB, {out['published']} case pages",
          flush=True)
    _w, _p, pages = child("pages", str(repo))
    base = baseline.make(repo, gen.OUT / f"baseline-{n}", [tuple(p) for p in pages["pages"]])
    walls = []
    for _ in range(args.repeat):
        w, bpeak, _out = measure([PY, "-m", "mkdocs", "build", "-q", "-f",
                                  str(base / "mkdocs.yml"), "-d", str(base / "site")])
        walls.append(w)
    res.update(baseline=min(walls), baseline_peak=bpeak, pages=len(pages["pages"]))
    print(f"bare mkdocs, {len(pages['pages'])} pages: {min(walls):.1f} s "
          f"(ratio {wall / min(walls):.2f})", flush=True)
    if not args.no_preview and (not args.preview_sizes or n in args.preview_sizes):
        res["preview"] = preview(n, repo)
    (gen.OUT / f"result-{n}.json").write_text(json.dumps(res, default=str))
    return res


def preview(n: int, repo: Path) -> dict:  # type: ignore[type-arg]
    """The preview's rebuild after one case is edited and re-approved (on a copy of repo)."""
    work = gen.OUT / f"preview-{n}"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(repo, work, copy_function=os.link, ignore=shutil.ignore_patterns("site"))
    site = work / "site"
    case_id = sorted(p.parent.parent.name
                     for p in (work / "cases").glob("*/review/approve.json"))[0]
    _w, _p, out = child("preview", str(work), str(site), case_id)
    shutil.rmtree(work, ignore_errors=True)
    print(f"preview: first build {out['first']:.1f} s, rebuild after one case changed "
          f"{out['rebuild']:.2f} s ({out['rendered']} page(s) rendered)", flush=True)
    return dict(out)


def bench_ingest(count: int) -> dict:  # type: ignore[type-arg]
    import ingest

    print(f"\n== ingest of {count} PGP/MIME submissions ==", flush=True)
    corpus = ingest.corpus(count)
    bare = ingest.bare_gpg(corpus)
    repo = ingest.fresh_repo(corpus)
    wall, peak, out = measure([str(Path(PY).with_name("temoin")), "--repo", str(repo),
                               "ingest", "--json"])
    results = json.loads(out)
    ok = sum(1 for r in results if r["result"] == "ingested")
    shutil.rmtree(repo, ignore_errors=True)
    print(f"gpg loop {bare:.1f} s; temoin ingest {wall:.1f} s ({ok} ingested), "
          f"ratio {wall / bare:.2f}", flush=True)
    return {"count": count, "bare": bare, "ingest": wall, "peak": peak, "ingested": ok}


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
            "gpg": gpg.splitlines()[0].split()[-1], "load": " ".join(
                f"{x:.1f}" for x in os.getloadavg())}


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
    ap.add_argument("--cold-max", type=int, default=1000,
                    help="measure the first build (no caches) up to this size")
    ap.add_argument("--repeat", type=int, default=1, help="builds per size (best kept)")
    ap.add_argument("--no-preview", action="store_true")
    ap.add_argument("--preview-sizes", default="",
                    help="only these sizes get the preview benchmark (default: all)")
    ap.add_argument("--reuse", default="",
                    help="sizes whose last saved result (result-N.json) is reported as is")
    ap.add_argument("--jobs", type=int, default=2 * (os.cpu_count() or 1),
                    help="gpg threads while generating cases (not measured)")
    ap.add_argument("--write", default=None,
                    help="Markdown file to write (default: docs/benchmarks.md unless --quick)")
    args = ap.parse_args()
    sizes = [200, 1000] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    if args.quick:
        args.ingest = min(args.ingest, 100)
    args.preview_sizes = [int(x) for x in args.preview_sizes.split(",") if x]
    reuse = [int(x) for x in args.reuse.split(",") if x]
    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    results = [json.loads((gen.OUT / f"result-{n}.json").read_text()) if n in reuse
               else bench_size(n, args) for n in sorted(set(sizes) | set(reuse))]
    ing = bench_ingest(args.ingest) if args.ingest else None
    if args.sealed:
        import sealed_list

        print(f"\n== temoin case list over {args.sealed} encrypted drafts ==", flush=True)
        print(json.dumps(sealed_list.run(args.sealed)), flush=True)
    sub = None
    if args.submit and Path(submit_page.CHROMIUM).exists():
        print("\n== the submit page encrypting a file ==", flush=True)
        sub = submit_page.run(tuple(int(x) for x in args.submit.split(",")))
    if not results:  # `--sizes ""`: the ingest benchmark alone, printed above, no report
        return 0
    import report

    text = report.render(info, results, ing, TARGETS, sub)
    print("\n" + text)
    out = args.write or (None if args.quick else str(ROOT / "docs" / "benchmarks.md"))
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(report.document(text), encoding="utf-8")
        (gen.OUT / "results.json").write_text(json.dumps(
            {"machine": info, "sizes": results, "ingest": ing, "submit": sub}, indent=1,
            default=str))
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
