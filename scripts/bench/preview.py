#!/usr/bin/env python3
"""The preview's rebuild alone (`temoin serve` after one case is edited and re-approved),
as `run.py` measures it, at the sizes given; optionally under pyinstrument.

    .venv/bin/python scripts/bench/preview.py 200 1000 [--profile DIR]

Prints one line per size, with the load average. The benchmark repositories come from
gen.py (~/.cache/temoin-bench or $TEMOIN_BENCH_OUT); the copy the preview edits is made
under --work (default: a temporary folder) and kept there between runs, so the preview's
first build finds its caches (they are keyed by the checkout's path).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen  # noqa: E402
import run  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sizes", nargs="+", type=int)
    ap.add_argument("--profile", type=Path, default=None,
                    help="folder for preview-N.pyisession (the rebuild under pyinstrument)")
    ap.add_argument("--work", type=Path,
                    default=Path(tempfile.gettempdir()) / "temoin-preview-bench")
    args = ap.parse_args()
    env = gen.isolate()
    for n in args.sizes:
        before = run.load()
        extra = []
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
            extra = ["--profile", str(args.profile / f"preview-{n}.pyisession")]
        out = run.preview(n, gen.repo(n), env, work=args.work / f"preview-{n}",
                          extra=extra)
        print(json.dumps({"n": n, "load_before": before, "load_after": run.load(), **out},
                         default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
