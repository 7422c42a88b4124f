#!/usr/bin/env python3
"""Where `temoin build` reaches its peak memory (issue 18): the build run in this process as
child.py runs it, and at each boundary of its phases the peak resident size since the
previous boundary (Linux: VmHWM, reset by writing 5 to /proc/self/clear_refs), the
resident size then, and the largest child waited for so far (gpg, PDF and gate workers;
a child's figure counts the pages it shares with this process when forked).

    python scripts/bench/memory.py REPO SITE [--cold]

--cold: this checkout's cache folder emptied and the site removed first (a first build).
Uses the bench's keys and caches (`gen.isolate`, $TEMOIN_BENCH_OUT). No thread is started
(a thread would make the build draw its PDFs in process).
"""

from __future__ import annotations

import functools
import json
import resource
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

ROWS: list[tuple[str, str, int, int, int, float]] = []
_START = time.perf_counter()
_LAST = ["start"]


def _status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as f:
        for ln in f:
            if ln.startswith(("VmRSS", "VmHWM")):
                out[ln.split(":")[0]] = int(ln.split()[1]) // 1024
    return out


def mark(name: str) -> None:
    """A boundary: record the peak since the last one, then reset it."""
    s = _status()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    ROWS.append((_LAST[0], name, s["VmHWM"], s["VmRSS"], kids,
                 time.perf_counter() - _START))
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    _LAST[0] = name


def wrap(owner: Any, name: str, label: str = "") -> None:
    fn: Callable[..., Any] = getattr(owner, name)
    label = label or name

    @functools.wraps(fn)
    def marked(*a: Any, **kw: Any) -> Any:
        mark(">" + label)
        try:
            return fn(*a, **kw)
        finally:
            mark("<" + label)

    setattr(owner, name, marked)


def main() -> int:
    args = sys.argv[1:]
    cold = "--cold" in args
    repo, site = (Path(a) for a in args if a != "--cold")
    import gen

    gen.isolate()
    t = time.perf_counter()
    mark("python started")
    import mkdocs.commands.build as mk_build

    from temoin import cache as cache_mod
    from temoin import config, keys, trust
    from temoin.gates import canary_source
    from temoin.publish import build as build_mod
    from temoin.site import engine, generate, plugin

    mark("imports")
    wrap(generate, "collect")
    wrap(generate, "generate")
    wrap(generate, "reports")
    wrap(plugin.TemoinPlugin, "on_post_build")
    wrap(mk_build, "_build_theme_template")
    wrap(build_mod, "run_mkdocs")
    wrap(build_mod.gates, "run", "gates.run")
    wrap(canary_source, "curated")
    wrap(build_mod.canary_dismissal, "allow", "canary_dismissal.allow")
    wrap(build_mod.manifest, "write_manifest")
    wrap(engine, "trim_heap", "trim_heap (after MkDocs)")
    wrap(build_mod, "trim_heap", "trim_heap (before the gates)")
    if cold:
        shutil.rmtree(cache_mod.home() / cache_mod.repo_id(repo), ignore_errors=True)
        gen.forget_seen()
        shutil.rmtree(site, ignore_errors=True)
    mark("setup")
    trust.require_site(repo, trust.require(repo, echo=lambda _t: None))
    mark("trust")
    report = build_mod.build(repo, config.load(repo), site, keys.open_keyring(),
                             allow_unpublished=False)
    mark("end")
    for before, after, peak, now, kids, at in ROWS:
        print(f"{at:7.1f} s {before:>30} -> {after:30} peak {peak:5d} MB  now {now:5d}  "
              f"children so far {kids:5d}")
    print(f"fpdf2 imported here: {'fpdf' in sys.modules}; wall "
          f"{time.perf_counter() - t:.1f} s")
    print(json.dumps({k: round(v, 1) for k, v in report.phases.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
