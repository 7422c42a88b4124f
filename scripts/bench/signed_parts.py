"""What checking the inner signature of private parts costs (issue 16, item 3).

Every private part is signed, then encrypted; a build, `check` or a follow-up list decrypts
the parts it reads in one `gpg --decrypt-files` run whose status lines also say who signed
each (`Keyring.decrypt_many_status`), with a `--keyring` of the trust root's key files
(`keys.signers`). This times, with the demo keys, N parts decrypted in one run: unsigned
(as before), signed, and signed with that keyring (best of 3 each), and prints seconds.

    .venv/bin/python scripts/bench/signed_parts.py [N]
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from temoin import cases, config, keys  # noqa: E402
from temoin.keys.signers import Signers  # noqa: E402


def run(n: int = 300) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="temoin-bench-signed-"))
    home = work / "gnupg"
    try:
        kr = keys.Keyring(home)
        for f in sorted((ROOT / "tests/fixtures/demo-keys").glob("*.sec.asc")):
            kr.import_keys(f.read_bytes())
        cfg = config.load(ROOT)
        rcpts, editor = cfg.recipient_fingerprints, cfg.recipient_fingerprints[0]
        text = {"testimony": "Témoignage fictif. " * 40, "consent_requested": "anonymised"}
        signed = kr.encrypt_many([cases.parts.plaintext("BI-2025-AAAAAA", text)] * n, rcpts,
                                 editor)
        plain = kr.encrypt_many([cases.private_yaml(text)] * n, rcpts)
        best: dict[str, float] = {}
        with Signers.for_repo(ROOT, cfg) as signers:
            ring = signers.extra_args()
            for _ in range(3):
                for name, items, extra in (("unsigned", plain, []), ("signed", signed, []),
                                           ("signed_checked", signed, ring)):
                    t = time.perf_counter()
                    out = kr.decrypt_many_status(items, extra=extra)
                    assert all(p is not None for p, _st, _why in out)
                    best[name] = min(best.get(name, float("inf")), time.perf_counter() - t)
        return {"parts": n, **{k: round(v, 2) for k, v in best.items()}}
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False,
                       capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 300)))
