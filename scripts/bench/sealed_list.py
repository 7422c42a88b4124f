"""Timing of `temoin case list` over N encrypted drafts (issue 16, item 5).

Every unpublished case is `cases/<ID>/case.md.asc`, encrypted to the editors; `case list`,
`status` and the worklists decrypt them in memory with one gpg process (`decrypt_many`).
This copies the demo repository, adds N sealed drafts (a demo draft's front matter under
new ids) and times `temoin case list --json` with the demo keys (best of 3).

    .venv/bin/python scripts/bench/sealed_list.py [N]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from temoin import cases, config, keys  # noqa: E402
from temoin.keys import vault  # noqa: E402


def run(n: int = 300) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="temoin-bench-sealed-"))
    home = work / "gnupg"
    try:
        kr = keys.Keyring(home)
        for f in sorted((ROOT / "tests/fixtures/demo-keys").glob("*.sec.asc")):
            kr.import_keys(f.read_bytes())
        repo = work / "repo"
        repo.mkdir()
        for name in ("mkdocs.yml", "keys", "trust", "site_src"):
            src = ROOT / name
            (shutil.copytree if src.is_dir() else shutil.copy)(src, repo / name)
        (repo / "cases").mkdir()
        cfg = config.load(repo)
        sealed = vault.Vault(kr, cfg.recipient_fingerprints)
        os.environ["GNUPGHOME"] = str(home)
        template = next(c for c in cases.load_all(ROOT)[0] if c.status == "draft")
        drafts = []
        for i in range(n):
            meta = {**template.meta, "id": cases.new_id("BI", 2025, f"bench-{i}".encode())}
            drafts.append(cases.Case(meta, template.narrative))
        blobs = sealed.seal_many(cases.dumps(c).encode() for c in drafts)
        for c, blob in zip(drafts, blobs, strict=True):
            (repo / "cases" / c.id).mkdir()
            (repo / "cases" / c.id / cases.SEALED).write_bytes(blob)
        cmd = [str(Path(sys.executable).with_name("temoin")), "--repo", str(repo), "case",
               "list", "--json"]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, env=env, check=True).stdout
            best = min(best, time.perf_counter() - t)
        assert len(json.loads(out)) == n
        t = time.perf_counter()
        subprocess.run([*cmd[:3], "--help"], capture_output=True, env=env, check=True)
        start = time.perf_counter() - t
        return {"drafts": n, "case_list_s": round(best, 2), "cli_start_s": round(start, 2)}
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"],
                       capture_output=True, check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 300)))
