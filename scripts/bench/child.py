"""One measured action, run by `run.py` in its own process (so its wall time and peak memory
are its own). Prints one JSON object on stdout.

    child.py build REPO SITE [--procs FILE] [--profile FILE]
        what `temoin build` runs: the trust root verified against its pin, the site's own
        files against the root, then the build refusing any case marked published that
        fails the gate; phases and CPU. --procs: append each subprocess (program, seconds
        from start to exit) to FILE, from this process and its forked gate workers;
        --profile: run it under pyinstrument and save the session to FILE
    child.py preview REPO SITE ID [--profile FILE]
        the preview server's first build, then one published case edited, verified,
        approved, risk-reviewed and published again (real signatures), the rebuild timed;
        --profile: the rebuild alone under pyinstrument, the session saved to FILE
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def trace_processes(log: Path) -> None:
    """Record every subprocess (gpg, pdftotext…) as `program<TAB>seconds` in `log`: spawn
    to exit, as reaped (forked workers inherit the patch and append to the same file)."""
    born: dict[int, tuple[str, float]] = {}
    init, handle = subprocess.Popen.__init__, subprocess.Popen._handle_exitstatus  # type: ignore[attr-defined]

    def patched_init(self: subprocess.Popen[Any], args: Any, *a: Any, **kw: Any) -> None:
        start = time.perf_counter()
        init(self, args, *a, **kw)
        prog = args[0] if isinstance(args, list | tuple) else str(args).split()[0]
        born[self.pid] = (os.path.basename(str(prog)), start)

    def patched_handle(self: subprocess.Popen[Any], *a: Any, **kw: Any) -> None:
        handle(self, *a, **kw)
        prog, start = born.pop(self.pid, ("?", time.perf_counter()))
        with open(log, "a") as f:
            f.write(f"{prog}\t{time.perf_counter() - start:.6f}\n")

    subprocess.Popen.__init__ = patched_init  # type: ignore[method-assign]
    subprocess.Popen._handle_exitstatus = patched_handle  # type: ignore[attr-defined]


def build(repo: Path, site: Path) -> dict[str, object]:
    from temoin import config, keys, trust
    from temoin.publish import build as build_mod

    t = time.perf_counter()
    trust.require_site(repo, trust.require(repo, echo=lambda _t: None))
    report = build_mod.build(repo, config.load(repo), site, keys.open_keyring(),
                             allow_unpublished=False)
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall_inside": time.perf_counter() - t, "phases": report.phases,
            "published": report.published, "aggregate": report.aggregate,
            "refused": len(report.refused), "signed": report.signed,
            "cpu_self": me.ru_utime + me.ru_stime,
            "cpu_children": kids.ru_utime + kids.ru_stime}


def preview(repo: Path, site: Path, case_id: str, profile: Path | None = None
            ) -> dict[str, object]:
    """Time the preview's rebuild after an editor changes one published case."""
    import gen

    from temoin import cases, config, keys
    from temoin.site import preview as preview_mod

    cfg = config.load(repo)
    kr = keys.open_keyring()
    t = time.perf_counter()
    pv = preview_mod.Preview(repo, site)
    pv.build()
    first = time.perf_counter() - t
    case = cases.load(repo, case_id)

    def shown(c: cases.Case) -> bool:
        return c.status == "published" and c.meta.get("consent") in ("anonymised", "named")

    if not shown(case):  # edit a case the reader sees
        case = next(c for c in cases.load_all(repo)[0] if shown(c))
        case_id = case.id
    case.narrative += "\nUne précision ajoutée après un nouvel entretien.\n"
    alice, bob = cfg.recipient_fingerprints[:2]
    gen.release(repo, case, kr, alice, bob, dt.date(2025, 10, 20))
    cases.save(repo, case)
    profiler = None
    if profile is not None:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.002)
        profiler.start()
    t, cpu = time.perf_counter(), _cpu()
    changed = pv.build()
    rebuild, rebuild_cpu = time.perf_counter() - t, _cpu() - cpu
    if profiler is not None:
        profiler.stop().save(str(profile))
    page = site / "cases" / case_id / "index.html"
    visible = "nouvel entretien" in page.read_text(encoding="utf-8")
    return {"first": first, "rebuild": rebuild, "rebuild_cpu": rebuild_cpu,
            "rendered": changed, "shown": visible}


def _cpu() -> float:
    """CPU seconds of this process and the children it waited for."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    cmd, *args = sys.argv[1:]
    if "--procs" in args:
        i = args.index("--procs")
        trace_processes(Path(args[i + 1]))
        del args[i:i + 2]
    profile = None
    if "--profile" in args:
        i = args.index("--profile")
        profile = Path(args[i + 1])
        del args[i:i + 2]
    out: dict[str, object]
    if cmd == "build" and profile is not None:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.005)
        profiler.start()
        out = build(Path(args[0]), Path(args[1]))
        profiler.stop().save(str(profile))
    elif cmd == "build":
        out = build(Path(args[0]), Path(args[1]))
    elif cmd == "preview":
        out = preview(Path(args[0]), Path(args[1]), args[2], profile)
    else:
        raise SystemExit(f"unknown action {cmd}")
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
