"""What MkDocs does for each page: the case pages' weight, their parts and search entries,
and the CPU time of rendering the site, a page.

    python scripts/bench/page_weight.py [--org DIR/org] [-n 100] [--rounds 3]

Without --org a `smallorg.py` repository of N cases is made in a temporary folder. The
site is rendered by `engine.run_mkdocs` (the MkDocs part of `temoin build`: generation,
MkDocs, search index; no gates, no manifest) with GNUPGHOME the editors' keyring and the
caches warm (one unmeasured run first), as a rebuild; CPU time of this process (the
machine is shared: wall time is not comparable).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "src"))

import smallorg  # noqa: E402

from temoin.site import engine  # noqa: E402

PARTS = {"<head>": r"<head>.*?</head>", "header (search, languages)": r"<header.*?</header>",
         "navigation": r'<div class="md-sidebar md-sidebar--primary".*?</nav>',
         "page content": r'<article class="md-content__inner.*?</article>\s*</div>',
         "scripts and config": r'<script id="__config".*?</script>\s*<script.*?</script>'}


def cpu_of(fn: Callable[[], object]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def weight(site: Path) -> None:
    pages = sorted([*site.glob("cases/*-*/index.html"), *site.glob("en/cases/*-*/index.html")])
    data = [p.read_bytes() for p in pages]
    print(f"{len(pages)} case pages (fr + en): {statistics.mean(map(len, data)):,.0f} bytes "
          f"on average, {statistics.mean(len(gzip.compress(d, 6)) for d in data):,.0f} "
          "gzipped")
    text = data[0].decode("utf-8")
    for name, pattern in PARTS.items():
        found = sum(len(m.group(0).encode()) for m in re.finditer(pattern, text, re.S))
        print(f"  {name:<28} {found:6,d} bytes ({pages[0].relative_to(site)})")
    for lang, folder in (("fr", site), ("en", site / "en")):
        docs = json.loads((folder / "search" / "search_index.json").read_text())["docs"]
        entries = [d for d in docs if re.match(r"cases/[A-Z]+-\d{4}-", d["location"])]
        n = len([p for p in pages if p.is_relative_to(site / "en") == (lang == "en")])
        print(f"search index {lang}: {len(docs)} entries, {len(entries)} for {n} case pages "
              f"({len(entries) / max(n, 1):.2f} a page)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--org", type=Path, help="an existing repository, its keyring in ../gnupg")
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1760000000")
    with tempfile.TemporaryDirectory(prefix="temoin-pageweight-") as tmp:
        work = Path(tmp)
        os.environ["XDG_CACHE_HOME"] = str(work / "xdg-cache")
        if args.org is None:
            print(f"making a {args.n}-case organisation…", file=sys.stderr)
            org = smallorg.make(work / "o", args.n).repo
        else:
            org = args.org.resolve()
        os.environ["GNUPGHOME"] = str(org.parent / "gnupg")
        site = work / "site"
        try:
            engine.run_mkdocs(org, site)  # caches warm from here on
            weight(site)
            times = [cpu_of(lambda: engine.run_mkdocs(org, site)) for _ in range(args.rounds)]
            pages = len(list(site.rglob("*.html")))
        finally:
            smallorg.stop_agent(org.parent / "gnupg")
    took = statistics.median(times)
    print(f"engine.run_mkdocs (rebuild), {pages} HTML files: {took:.2f} s CPU, "
          f"{took / pages * 1000:.1f} ms a page (median of {args.rounds}: "
          f"{[round(t, 2) for t in times]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
