"""Detached signatures checked by gpg (one process each) and in process (Sequoia), issue 18.

    .venv/bin/python scripts/bench/verify.py [N]          # N decision signatures, default 500
    .venv/bin/python scripts/bench/verify.py org DIR [N]  # a signed org of N cases, default 100

The first form makes two editor keys in a throwaway GNUPGHOME, signs N decision statements
(half each, as `temoin case verify` would), and verifies all of them against a keyring of the
editors' public keys only (what `CachedVerifier` builds from keys/editors/), both ways in
the same run, alternating rounds: `TEMOIN_VERIFY=gpg`, then the default. The in-process
figure includes reading the keyring once (one `gpg --list-sigs`, one `gpg --export`). It
checks that both ways name the same signers, and prints JSON with the ratio.

The second form writes an organisation repository of N published cases, each with its
signed decisions (tests/helpers.py: consent, verify, approve, risk review, publish), and
its GNUPGHOME in DIR/gnupg, to time `temoin build` on (cold: TEMOIN_NO_CACHE=1):

    GNUPGHOME=DIR/gnupg XDG_CONFIG_HOME=DIR/config TEMOIN_NO_CACHE=1 \\
        .venv/bin/temoin --repo DIR/org build
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from temoin import keys  # noqa: E402
from temoin.curation import decisions  # noqa: E402
from temoin.keys import verify  # noqa: E402

ROUNDS = 5


def _kill(home: Path) -> None:
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True,
                   check=False)


def _timed(kr: keys.Keyring, pairs: list[tuple[bytes, bytes]], engine: str
           ) -> tuple[float, list[str | None]]:
    os.environ[verify.ENV] = engine
    kr._checker = None  # each round reads the keyring again, as a build does
    t = time.perf_counter()
    out = [kr.verify_detached(data, sig) for data, sig in pairs]
    return time.perf_counter() - t, out


def micro(n: int = 500) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="temoin-bench-verify-"))
    signers = work / "signers"
    try:
        kr = keys.Keyring(signers)
        editors = [kr.generate(name, f"{name.lower()}@example.invalid")
                   for name in ("Alice", "Bob")]
        files = []
        for i, fpr in enumerate(editors):
            f = work / f"editor{i}.asc"
            f.write_text(kr.export_public(fpr))
            files.append(f)
        pairs = []
        t = time.perf_counter()
        for i in range(n):
            editor = editors[i % 2]
            data = decisions.statement("verify", f"BI-2025-{i:06d}", f"{i:064x}", editor,
                                       dt.date(2025, 10, 5), {"level": "verified"})
            pairs.append((data, kr.sign_detached(data, editor)))
        signing = time.perf_counter() - t
        gpg_s: list[float] = []
        seq_s: list[float] = []
        with keys.public_keyring(files) as verifier:
            for _ in range(ROUNDS):
                took, by_gpg = _timed(verifier, pairs, "gpg")
                gpg_s.append(took)
                took, in_process = _timed(verifier, pairs, "sequoia")
                seq_s.append(took)
                assert by_gpg == in_process == [editors[i % 2] for i in range(n)]
            t = time.perf_counter()
            verifier._checker = None
            verifier.checker()
            load = time.perf_counter() - t
        g, s = statistics.median(gpg_s), statistics.median(seq_s)
        return {"signatures": n, "rounds": ROUNDS, "signing_s": round(signing, 2),
                "gpg_s": round(g, 3), "in_process_s": round(s, 3),
                "in_process_keyring_read_s": round(load, 3),
                "gpg_ms_per_signature": round(1000 * g / n, 2),
                "in_process_ms_per_signature": round(1000 * s / n, 3),
                "ratio_gpg_over_in_process": round(g / s, 1)}
    finally:
        os.environ.pop(verify.ENV, None)
        _kill(signers)
        for f in work.glob("*"):
            if f.name.startswith("temoin-verify-"):
                _kill(f)
        shutil.rmtree(work, ignore_errors=True)


def org(where: Path, n: int = 100) -> dict[str, object]:
    """A signed organisation of `n` published cases in `where` (see the module doc)."""
    from tests.helpers import make_org

    where.mkdir(parents=True, exist_ok=False)
    home = where / "gnupg"
    os.environ["GNUPGHOME"] = str(home)
    os.environ["XDG_CONFIG_HOME"] = str(where / "config")
    kr = keys.Keyring(home)
    try:
        fprs = {"inbox": kr.generate("Inbox", "inbox@example.invalid"),
                "alice": kr.generate("Alice", "alice@example.invalid"),
                "bob": kr.generate("Bob", "bob@example.invalid")}
        o = make_org(where, kr, fprs)
        t = time.perf_counter()
        for i in range(n):
            o.add_case(narrative=f"Récit anonymisé numéro {i}.")
        signatures = len(list((o.repo / "cases").glob("*/review/*.json.asc")))
        return {"repo": str(o.repo), "gnupghome": str(home), "cases": n,
                "signatures": signatures, "made_s": round(time.perf_counter() - t, 1)}
    finally:
        _kill(home)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["org"]:
        print(json.dumps(org(Path(args[1]), int(args[2]) if len(args) > 2 else 100)))
    else:
        print(json.dumps(micro(int(args[0]) if args else 500)))
