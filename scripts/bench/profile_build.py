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
WRAPPERS = ("(child.py:", "(threading.py:", "(concurrent/futures/_base.py:")
# A py-spy sample's part of the build: the first whose marker is in its stack (a forked
# worker's stack starts with its parent's frames at the fork, so it names its pool).
PARTS = (("bulletin PDFs drawn (forked pool)", "temoin/site/bulletins/pdf.py"),
         ("gates: canary, markup and PDF scans (forked pool)", "temoin/gates/scanner.py"),
         ("signature checks before the gate (threads)", "temoin/curation/verifier.py"),
         ("private parts decrypted for the canaries (threads)",
          "temoin/gates/canary_source.py"),
         ("threads reading gpg's output (python-gnupg, decrypt)", "gnupg.py"),
         ("threads reading gpg's output (python-gnupg, decrypt)", "temoin/keys/"),
         ("gates (main process)", "temoin/gates/"),
         ("MkDocs: pages, templates, search index", "mkdocs/commands/build.py"),
         ("loading, gate, generating other pages", "temoin/site/"),
         ("loading, gate, generating other pages", "temoin/curation/"),
         ("the rest of the build", "temoin/publish/build.py"))


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
    part: collections.Counter[str] = collections.Counter()
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
        part[next((name for name, mark in PARTS if mark in stack), "other")] += n
        funcs = [LINE.sub(")", p) for p in parts if not p.startswith(("process ", "thread ("))]
        for f in set(funcs):
            cum[f] += n
        if funcs:
            own[funcs[-1]] += n
    return {"total": total, "where": dict(where), "parts": part.most_common(),
            "cum": cum.most_common(TOP),
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
    wall, _peak, _cpu, _out, _pss = run.measure(
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
    out += report._table(["part of the build", "thread-seconds", "share"],
                         [[name, f"{c / rate:.1f}", f"{100 * c / s['total']:.0f} %"]
                          for name, c in s["parts"]])
    out += ["Functions with the most samples of their own, over every thread and worker:",
            ""]
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
        out += [f"Top {TOP} functions by cumulative time, {label} (pyinstrument, main "
                f"thread, {total:.1f} s sampled; the benchmark's own frames and the "
                "standard library's wrappers around waiting for a pool left out: the "
                "waiting itself is `lock.acquire`):", ""]
        shown = [r for r in rows if not any(w in r[2] for w in WRAPPERS)]
        out += report._table(["cumulative", "self", "function"],
                             [[f"{c:.2f} s", f"{s:.2f} s", name]
                              for c, s, name in shown[:TOP]])
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
    ap.add_argument("--reuse", action="store_true",
                    help="measure nothing: write the section again from the last run's files")
    args = ap.parse_args()
    env = gen.isolate()
    if args.reuse:
        saved = json.loads((gen.OUT / f"profile-{args.size}.json").read_text())
        spy = saved.pop("py-spy")
        if spy:
            spy.update(spy_summary(gen.OUT / f"pyspy-{args.size}-cold.txt"))
        load = saved.pop("load", ["?", "?"])
        text = render(args.size, saved, (load[0], load[1]), spy)
        return _write(args.write, text)
    start = run.load()
    runs = {"first build (no cache)": profiled(args.size, True, env),
            "rebuild": profiled(args.size, False, env)}
    spy = spied(args.size, env, args.py_spy, 50) if args.py_spy else None
    load = (start, run.load())
    text = render(args.size, runs, load, spy)
    (gen.OUT / f"profile-{args.size}.json").write_text(json.dumps(
        {**runs, "py-spy": spy, "load": load}, default=str))
    return _write(args.write, text)


def _write(where: str, text: str) -> int:
    print(text)
    if where:
        path = Path(where)
        path.write_text(report.put_profile(path.read_text(encoding="utf-8"), text),
                        encoding="utf-8")
        print(f"wrote the profile section of {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
