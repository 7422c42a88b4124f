#!/usr/bin/env python3
"""Where a build's time goes: the first build (no cache) and the rebuild of the N-case
benchmark repository, each under pyinstrument in its own process, with every subprocess
it starts (gpg, pdftotext…) recorded. Writes the "Profile" section of docs/benchmarks.md
(between its profile markers; `make bench` keeps it) and prints it.

    .venv/bin/python scripts/bench/profile_build.py 1000

pyinstrument samples the main thread: work on thread pools (signature checks before the
gate, decrypting private parts) shows as the main thread waiting for it, and the gates'
forked workers as waiting for their results. The phases, the subprocess table and the CPU
of the children say what that waiting was.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import gen  # noqa: E402
import report  # noqa: E402
import run  # noqa: E402

TOP = 15
LINE = re.compile(r":\d+\)$")  # py-spy names a frame by its line: count functions


def cumulative(session_file: Path) -> tuple[float, list[tuple[float, float, str]]]:
    """(total seconds, [(cumulative s, self s, 'function (file:line)')]) of a saved
    pyinstrument session; a recursive function counts once per outermost call."""
    from pyinstrument.session import Session

    root = Session.load(str(session_file)).root_frame()
    if root is None:
        return 0.0, []
    cum: dict[str, float] = collections.defaultdict(float)
    own: dict[str, float] = collections.defaultdict(float)
    names: dict[str, str] = {}
    stack: list[tuple[Any, frozenset[str]]] = [(root, frozenset())]
    while stack:
        frame, above = stack.pop()
        ident = frame.identifier
        if not frame.is_synthetic:
            names[ident] = f"`{frame.function}` ({frame.file_path_short}:{frame.line_no})"
            if ident not in above:
                cum[ident] += frame.time
            own[ident] += frame.total_self_time
        stack += [(c, above | {ident}) for c in frame.children]
    rows = sorted(((cum[i], own[i], names[i]) for i in cum), reverse=True)
    return root.time, rows


def spy_summary(raw: Path) -> dict[str, Any]:
    """py-spy's raw (collapsed) stacks as seconds: on-CPU samples by where they ran (the
    build's main thread, its other threads, its forked workers) and by function (cumulative
    and self), over every thread and process."""
    where: collections.Counter[str] = collections.Counter()
    cum: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        parts = stack.split(";")
        procs = [p for p in parts if p.startswith("process ")]
        thread = next((p for p in parts if p.startswith("thread (")), "")
        where["forked workers" if len(procs) > 1 else "main thread" if "MainThread" in thread
              else "other threads"] += n
        funcs = [LINE.sub(")", p) for p in parts if not p.startswith(("process ", "thread ("))]
        for f in set(funcs):
            cum[f] += n
        if funcs:
            own[funcs[-1]] += n
    return {"total": total, "where": dict(where), "cum": cum.most_common(TOP),
            "own": own.most_common(TOP)}


def processes(log: Path) -> list[tuple[str, int, float]]:
    """[(program, count, seconds from start to exit summed)] from child.py's --procs log."""
    count: dict[str, int] = collections.Counter()
    seconds: dict[str, float] = collections.defaultdict(float)
    if log.exists():
        for line in log.read_text().splitlines():
            prog, _, secs = line.partition("\t")
            count[prog] += 1
            seconds[prog] += float(secs)
    return sorted(((p, count[p], seconds[p]) for p in count), key=lambda r: -r[2])


def profiled(n: int, cold: bool, env: dict[str, str]) -> dict[str, Any]:
    repo = gen.repo(n)
    site = gen.OUT / f"site-{n}"
    name = "cold" if cold else "warm"
    session, log = gen.OUT / f"profile-{n}-{name}.pyisession", gen.OUT / f"procs-{n}-{name}.tsv"
    log.unlink(missing_ok=True)
    if cold:
        from temoin import cache as cache_mod

        shutil.rmtree(cache_mod.home() / cache_mod.repo_id(repo), ignore_errors=True)
    res: dict[str, Any] = run.child(env, "build", str(repo), str(site), "--profile", str(session),
                    "--procs", str(log))
    res["top"] = cumulative(session)
    res["procs"] = processes(log)
    return res


def spied(n: int, env: dict[str, str], spy: str, rate: int) -> dict[str, Any]:
    """A first build (no cache) under py-spy (every thread and forked worker sampled)."""
    repo = gen.repo(n)
    site = gen.OUT / f"site-{n}"
    raw = gen.OUT / f"pyspy-{n}-cold.txt"
    from temoin import cache as cache_mod

    shutil.rmtree(cache_mod.home() / cache_mod.repo_id(repo), ignore_errors=True)
    wall, _peak, _cpu, _out = run.measure(
        [spy, "record", "--subprocesses", "--threads", "--rate", str(rate), "--format", "raw",
         "--output", str(raw), "--", run.PY, str(HERE / "child.py"), "build", str(repo),
         str(site)], env)
    return {"wall": wall, "rate": rate, **spy_summary(raw)}


def render_spy(s: dict[str, Any]) -> list[str]:
    rate = s["rate"]
    out = [f"py-spy over one more first build (no cache), every thread and forked gate "
           f"worker, {rate} samples a second of each thread that is not idle (on a loaded "
           "machine that includes waiting for a core): "
           f"{s['total'] / rate:.1f} thread-seconds; the build took {s['wall']:.1f} s wall "
           "under the sampler. By where they ran: " + ", ".join(f"{k} {v / rate:.1f} s" for k, v in
                                  sorted(s["where"].items(), key=lambda kv: -kv[1])) + ".",
           ""]
    out += report._table(["cumulative", "function"],
                         [[f"{c / rate:.2f} s", f"`{f}`"] for f, c in s["cum"]])
    out += report._table(["self", "function"],
                         [[f"{c / rate:.2f} s", f"`{f}`"] for f, c in s["own"]])
    return out


def render(n: int, runs: dict[str, dict[str, Any]], load: tuple[str, str],
           spy: dict[str, Any] | None = None) -> str:
    out = ["", f"`scripts/bench/profile_build.py {n}`, load average {load[0]} at the start, "
           f"{load[1]} at the end (pyinstrument adds ~5–10 % to the wall times).", ""]
    out += ["Phases (seconds, from `build.Report.phases`) and CPU:", ""]
    out += report._table(
        ["build", "wall", *report.PHASES, "CPU: build process + children"],
        [[label, f"{r['wall']:.1f}", *(f"{r['phases'].get(p, 0.0):.2f}"
                                       for p in report.PHASES),
          f"{r['cpu_self']:.1f} + {r['cpu_children']:.1f} s"]
         for label, r in runs.items()])
    out += ["Subprocesses (seconds from start to exit, summed; several run at once):", ""]
    progs = sorted({p for r in runs.values() for p, _c, _s in r["procs"]})
    out += report._table(
        ["program", *(f"{label}: count, seconds" for label in runs)],
        [[f"`{p}`", *(next((f"{c:,}, {s:.1f} s" for q, c, s in r["procs"] if q == p), "—")
                      for r in runs.values())] for p in progs])
    for label, r in runs.items():
        total, rows = r["top"]
        out += [f"Top {TOP} functions by cumulative time, {label} (main thread, "
                f"{total:.1f} s sampled):", ""]
        out += report._table(["cumulative", "self", "function"],
                             [[f"{c:.2f} s", f"{s:.2f} s", name]
                              for c, s, name in rows[:TOP]])
    if spy:
        out += render_spy(spy)
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("size", type=int, nargs="?", default=1000)
    ap.add_argument("--py-spy", default=shutil.which("py-spy") or "",
                    help="py-spy binary: one more first build sampled over every thread and "
                    "worker (default: py-spy on PATH; \"\": skip)")
    ap.add_argument("--write", default=str(ROOT / "docs" / "benchmarks.md"),
                    help="file whose profile section is replaced (\"\": print only)")
    args = ap.parse_args()
    env = gen.isolate()
    start = run.load()
    runs = {"first build (no cache)": profiled(args.size, True, env),
            "rebuild": profiled(args.size, False, env)}
    spy = spied(args.size, env, args.py_spy, 50) if args.py_spy else None
    text = render(args.size, runs, (start, run.load()), spy)
    print(text)
    (gen.OUT / f"profile-{args.size}.json").write_text(json.dumps({**runs, "py-spy": spy},
                                                                  default=str))
    if args.write:
        path = Path(args.write)
        path.write_text(report.put_profile(path.read_text(encoding="utf-8"), text),
                        encoding="utf-8")
        print(f"wrote the profile section of {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
