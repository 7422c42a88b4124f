"""Benchmark the publication gates on a synthetic N-case output (default 20,000).

    .venv/bin/python scripts/bench/bench_checks.py [--cases 20000] [--jobs 1 2]

Writes scripts/bench/out/checks-<N>/ (a site of N case pages cloned from a real Material
page, paginated listings, a search index, a sitemap), makes a private part for every case
(names, contacts, an exact place, a five-sentence testimony), then times: canary
extraction, matcher build, and `checks.run` with each job count. Prints figures and the
peak memory (RSS). Nothing is planted: a correct run finds nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from temoin import gates as checks
from temoin.site import csp

HERE = Path(__file__).resolve().parent
SYLLABLES = ["nda", "yi", "se", "nga", "ka", "mi", "ru", "bo", "ha", "ki", "za", "ni", "mu",
             "to", "re", "gu", "shi", "ma"]


PUBLIC_SYLLABLES = ["lo", "pe", "fu", "dra", "vel", "qui"]  # public text: no collision by design


def word(rng: random.Random, n: int, syllables: list[str] = SYLLABLES) -> str:
    return "".join(rng.choice(syllables) for _ in range(n)).capitalize()


def material_page(work: Path) -> str:
    """One real Material page (from mkdocs build) to clone, with a {BODY} marker."""
    (work / "docs").mkdir(parents=True, exist_ok=True)
    (work / "mkdocs.yml").write_text(
        "site_name: Bench\ntheme: {name: material, language: fr, font: false}\n"
        "plugins: [{search: {lang: [fr, en]}}]\nextra: {generator: false}\n")
    (work / "docs" / "index.md").write_text("# TITLE\n\nBODYMARK\n")
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-d", "site"], cwd=work,
                   check=True, capture_output=True)
    return (work / "site" / "index.html").read_text()


def private(rng: random.Random, i: int) -> dict:
    first, last = word(rng, 2), word(rng, 4)
    return {
        "intake": {"received": "2025-10-04T08:12:00Z", "channel": "email"},
        "subject": f"Arrestation à {word(rng, 3)} numéro {i}",
        "testimony": " ".join(
            f"Le témoin {word(rng, 3)} a vu {first} {last} emmené vers {word(rng, 3)} par "
            f"des agents en civil, phrase {k} du cas {i}." for k in range(5)),
        "victims": [{"full_name": f"{first} {last}", "alias": word(rng, 2)}],
        "contacts": [f"+257 {rng.randint(61, 79)} {rng.randint(10, 99)} "
                     f"{rng.randint(10, 99)} {rng.randint(10, 99)}"],
        "exact_location": {"place": f"colline {word(rng, 3)}, avenue {word(rng, 2)} {i}"},
    }


def make_site(root: Path, n: int, template: str) -> None:
    rng = random.Random(1)
    if root.exists():
        shutil.rmtree(root)
    index = []
    for i in range(n):
        cid = f"BI-2025-{i:06d}"
        unit = word(rng, 2, PUBLIC_SYLLABLES)
        body = (f"<h1>Cas {cid}</h1><p>Un homme adulte arrêté le {i % 28 + 1} octobre par des "
                f"agents du service {unit} dans la province de Gitega.</p>"
                "<p>Il a été détenu sans accès à un avocat ; sa famille n'a pas été "
                "informée.</p>")
        page = template.replace("TITLE", f"Cas {cid}").replace("<p>BODYMARK</p>", body)
        out = root / "cases" / cid / "index.html"
        out.parent.mkdir(parents=True, exist_ok=True)
        page = page.replace('href="', 'href="../../').replace('src="', 'src="../../')
        out.write_text(csp.inject(page))
        index.append({"location": f"cases/{cid}/", "title": f"Cas {cid}",
                      "text": "Arrestation arbitraire, Gitega"})
    for p in range(0, n, 100):
        links = "".join(f'<li><a href="../../cases/BI-2025-{i:06d}/">Cas {i}</a></li>'
                        for i in range(p, min(p + 100, n)))
        out = root / "cases" / "page" / f"{p // 100 + 1}" / "index.html"
        out.parent.mkdir(parents=True, exist_ok=True)
        page = template.replace('href="', 'href="../../../').replace('src="', 'src="../../../')
        out.write_text(csp.inject(page.replace("<p>BODYMARK</p>", f"<ul>{links}</ul>")))
    (root / "search").mkdir()
    (root / "search" / "search_index.json").write_text(json.dumps({"docs": index}))
    (root / "sitemap.xml").write_text("<urlset>" + "".join(
        f"<url><loc>https://ex.org/cases/BI-2025-{i:06d}/</loc></url>" for i in range(n))
        + "</urlset>")


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=20000)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    out = HERE / "out" / f"checks-{args.cases}"
    t = time.perf_counter()
    make_site(out / "site", args.cases, material_page(out / "mkdocs"))
    files = sum(1 for p in (out / "site").rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in (out / "site").rglob("*") if p.is_file())
    print(f"site: {args.cases} cases, {files} files, {size / 1e6:.0f} MB "
          f"(made in {time.perf_counter() - t:.1f} s)")

    rng = random.Random(2)
    t = time.perf_counter()
    cans = [c for i in range(args.cases)
            for c in checks.canaries_from_private(f"BI-2025-{i:06d}", private(rng, i))]
    print(f"canaries: {len(cans)} from {args.cases} private parts in "
          f"{time.perf_counter() - t:.1f} s")
    forbidden = [f"BI-2024-{i:06d}" for i in range(args.cases // 10)]
    for jobs in args.jobs:
        t, cpu = time.perf_counter(), _cpu()
        found = checks.run(out / "site", canaries=cans, forbidden_ids=forbidden, jobs=jobs)
        print(f"checks.run jobs={jobs}: {time.perf_counter() - t:.1f} s wall, "
              f"{_cpu() - cpu:.1f} s CPU, {len(found)} findings")
        for f in found[:5]:
            print("  ", f)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MB (largest worker {kids:.0f} MB)")


if __name__ == "__main__":
    main()
