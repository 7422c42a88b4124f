"""How many gpg processes one `temoin build` starts, by what they do.

A `gpg` shim first on PATH logs each invocation's arguments and runs the real gpg; the
build runs as the CLI does (`python -m temoin --repo ORG build`), GNUPGHOME the editors'
keyring. Three builds of the same repository: the first on this machine (an empty cache
folder: a fresh clone or CI), a rebuild with nothing changed, and a rebuild after one
private part changed.

    python scripts/bench/gpg_count.py [--org DIR/org] [-n 100]

Without --org a `smallorg.py` repository of N cases is made in a temporary folder.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import smallorg  # noqa: E402

SHIM = """#!/bin/sh
printf '%s\\n' "$*" >> "$TEMOIN_GPG_LOG"
exec {real} "$@"
"""
KINDS = ("--decrypt-files", "--decrypt", "--verify", "--encrypt", "--detach-sign", "--sign",
         "--list-secret-keys", "--list-keys", "--import", "--export", "--version")


def kind(args: str) -> str:
    words = args.split()
    for k in KINDS:
        if k in words:
            return k
    return "other: " + " ".join(w for w in words if w.startswith("--"))[:60]


def build(org: Path, home: Path, cache: Path, log: Path, shim: Path) -> tuple[float, list[str]]:
    log.write_text("")
    env = {**os.environ, "PATH": f"{shim}:{os.environ['PATH']}", "GNUPGHOME": str(home),
           "XDG_CACHE_HOME": str(cache), "TEMOIN_GPG_LOG": str(log),
           "PYTHONPATH": str(ROOT / "src")}
    env.setdefault("SOURCE_DATE_EPOCH", "1760000000")
    start = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "temoin", "--repo", str(org), "build"],
                       env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"build failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return took, log.read_text().splitlines()


def touch_private(org: Path, home: Path) -> str:
    """Re-encrypt one case's private part with one more value (what `case edit` does)."""
    sys.path.insert(0, str(ROOT))
    from temoin import cases, config, keys

    cfg = config.load(org)
    kr = keys.Keyring(home)
    cid = sorted(p.name for p in (org / "cases").iterdir()
                 if cases.private_path(org, p.name).exists())[0]
    private = cases.read_private(org, cid, kr)
    private["testimony"] = str(private.get("testimony", "")) + " Ajout de l'éditeur."
    cases.write_private(org, cid, private, kr, cfg.recipient_fingerprints,
                        cfg.recipient_fingerprints[0])
    return cid


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--org", type=Path,
                    help="an existing repository, its keyring in ../gnupg (copied first)")
    ap.add_argument("-n", type=int, default=100)
    args = ap.parse_args()
    real = shutil.which("gpg")
    if real is None:
        sys.exit("no gpg on PATH")
    with tempfile.TemporaryDirectory(prefix="temoin-gpgcount-") as tmp:
        work = Path(tmp)
        if args.org is None:
            print(f"making a {args.n}-case organisation…", file=sys.stderr)
            org = smallorg.make(work / "o", args.n).repo
        else:  # a copy: the last build changes a private part
            src = args.org.resolve()
            shutil.copytree(src, work / "o" / "org", symlinks=True)
            shutil.copytree(src.parent / "gnupg", work / "o" / "gnupg",
                            ignore=shutil.ignore_patterns("S.*", "*.lock"))
            org = work / "o" / "org"
        home = org.parent / "gnupg"
        shim = work / "shim"
        shim.mkdir()
        (shim / "gpg").write_text(SHIM.format(real=real))
        (shim / "gpg").chmod(0o755)
        log, cache = work / "gpg.log", work / "xdg-cache"
        n_private = sum(1 for _ in org.glob("cases/*/private.yaml.asc"))
        print(f"{org}: {len(list((org / 'cases').iterdir()))} cases, {n_private} private parts")
        runs = [("first build (empty cache folder)", None),
                ("rebuild, nothing changed", None),
                ("rebuild, one private part changed", touch_private)]
        try:
            for name, before in runs:
                if before is not None:
                    before(org, home)
                took, calls = build(org, home, cache, log, shim)
                counts = collections.Counter(kind(c) for c in calls)
                print(f"\n{name}: {len(calls)} gpg processes, {took:.1f} s")
                for k, v in counts.most_common():
                    print(f"  {v:6d}  {k}")
        finally:
            smallorg.stop_agent(home)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
