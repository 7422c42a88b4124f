#!/usr/bin/env python3
"""The post-build gates alone, as a first build runs them (no verdicts, no PDF text kept),
over an already built benchmark site: wall time, CPU (the gates' process, its forked
workers and poppler) and peak memory, measured from outside the forked process that runs
them (`wait4`), with the load averages before and after.

    .venv/bin/python scripts/bench/gates.py 1000                # ~/.cache/temoin-bench/site-1000
    .venv/bin/python scripts/bench/gates.py 1000 --jobs 1 --profile /tmp/gates.pyisession

The canaries, forbidden ids and allowed scripts are those `temoin build` hands the gates
(cases loaded and gated, private parts decrypted through the canary cache): made once,
before the fork, and not timed. `--repeat` runs the gates several times on the same data;
`--profile` runs them under pyinstrument (one process: `--jobs 1` shows the workers' work).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen  # noqa: E402


def inputs(repo: Path) -> dict[str, Any]:
    """What the build gives `gates.run` for `repo`: canaries, forbidden ids, site URL,
    allowed scripts."""
    from temoin import config, curation, gates, keys, script_policy
    from temoin.curation import canary_dismissal
    from temoin.publish import build as build_mod
    from temoin.site import generate, submit

    cfg = config.load(repo)
    keyring = keys.open_keyring()
    with curation.CachedVerifier(repo) as verify:
        inp = generate.collect(repo, cfg, verify)
    secrets, _secret = build_mod.canaries(repo, inp, keyring)
    curated = gates.curate(secrets, inp.all_cases)
    with curation.CachedVerifier(repo) as verify:
        guard = canary_dismissal.allow(repo, cfg, inp.all_cases, curated.guard, keyring,
                                       verify)
    return {"canaries": guard, "forbidden_ids": inp.forbidden_ids, "site_url": cfg.site_url,
            "allowed_scripts": script_policy.allowed_scripts(
                submit.generated_scripts(inp.cfg, inp.inbox_key))}


def run_once(site: Path, given: dict[str, Any], jobs: int | None, profile: str | None
             ) -> dict[str, Any]:
    """Fork; the child runs the gates and writes its findings' count and inside wall time
    to a pipe; the parent measures it with wait4."""
    read, write = os.pipe()
    load_before = os.getloadavg()
    t = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: the gates, then out without running the parent's cleanup
        code = 0
        try:
            os.close(read)
            from temoin import gates

            start = time.perf_counter()
            if profile:
                from pyinstrument import Profiler

                prof = Profiler(interval=0.002)
                prof.start()
            found = gates.run(site, jobs=jobs, **given)
            inside = time.perf_counter() - start
            if profile:
                prof.stop()
                prof.last_session.save(profile)  # type: ignore[union-attr]
                print(prof.output_text(unicode=False, color=False, show_all=False),
                      file=sys.stderr)
            os.write(write, json.dumps({"findings": len(found), "inside": inside,
                                        "first": [str(f) for f in found[:5]]}).encode())
        except BaseException as exc:  # noqa: BLE001 - reported by the parent
            os.write(write, json.dumps({"error": repr(exc)}).encode())
            code = 1
        finally:
            os._exit(code)
    os.close(write)
    _pid, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t
    with os.fdopen(read) as f:
        got = json.loads(f.read() or "{}")
    if os.waitstatus_to_exitcode(status) or "error" in got:
        raise SystemExit(f"gates failed: {got}")
    return {**got, "wall": round(wall, 2), "cpu": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_mb": round(usage.ru_maxrss / 1024), "files": sum(len(f) for _, _, f in
                                                                  os.walk(site)),
            "load_before": " ".join(f"{x:.2f}" for x in load_before),
            "load_after": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("size", type=int, help="benchmark size (repo-N and site-N)")
    ap.add_argument("--site", type=Path, help="a built site (default: the bench's site-N)")
    ap.add_argument("--jobs", type=int, help="gate workers (default: the gates' own)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--profile", help="save a pyinstrument session here (text on stderr)")
    args = ap.parse_args()
    gen.isolate()
    repo = gen.OUT / f"repo-{args.size}"
    site = args.site or gen.OUT / f"site-{args.size}"
    if not (repo.is_dir() and site.is_dir()):
        raise SystemExit(f"{repo} or {site} missing: run `scripts/bench/run.py --sizes "
                         f"{args.size}` (or gen.py and temoin build) first")
    t = time.perf_counter()
    given = inputs(repo)
    print(f"# {len(given['canaries'])} canaries, {len(given['forbidden_ids'])} forbidden ids "
          f"(inputs made in {time.perf_counter() - t:.1f} s, not timed)", file=sys.stderr)
    for _ in range(args.repeat):
        print(json.dumps(run_once(site, given, args.jobs, args.profile)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
