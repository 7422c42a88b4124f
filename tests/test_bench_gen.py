"""The benchmark generator (scripts/bench/gen.py) makes a repository the current code accepts
as an organisation's: `temoin check` finds nothing and `temoin build` publishes every case it
marked published, so `make bench` cannot silently measure a repository the build refuses
(or publishes less of) after the format changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from temoin import cases, trust

BENCH = Path(__file__).resolve().parent.parent / "scripts" / "bench"


@pytest.fixture
def gen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """scripts/bench/gen.py writing under tmp_path (keys, pool, repos)."""
    monkeypatch.syspath_prepend(str(BENCH))
    import gen as module

    monkeypatch.setattr(module, "OUT", tmp_path / "bench")
    return module


def _temoin(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "temoin", "--repo", str(repo), *args],
                          env=env, capture_output=True, text=True, timeout=600)


def test_generated_repository_passes_check_and_build(gen, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = gen.repo(5, jobs=2)
    env = {**os.environ, "GNUPGHOME": str(gen.gnupg_home())}
    # As an organisation has it: a signed trust root, published cases with their signed
    # decisions, every other case sealed whole, every private part encrypted.
    assert trust.chain_files(repo)
    folders = sorted((repo / "cases").iterdir())
    public = [f for f in folders if (f / cases.PUBLIC).is_file()]
    sealed = [f for f in folders if (f / cases.SEALED).is_file()]
    assert public and sealed and len(public) + len(sealed) == 5
    assert all((f / "private.yaml.asc").read_bytes().startswith(b"-----BEGIN PGP MESSAGE")
               for f in folders)
    for f in public:
        assert {p.name for p in (f / "review").glob("*.json")} >= {
            "verify.json", "approve.json", "risk-review.json", "publish.json"}
    check = _temoin(repo, env, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "OK: repository is consistent" in check.stdout
    site = tmp_path / "site"
    built = _temoin(repo, env, "build", "--site-dir", str(site))
    assert built.returncode == 0, built.stdout + built.stderr
    # Every case with a page in the repository has one on the site (none refused).
    shown = [f.name for f in public
             if cases.load_file(f / cases.PUBLIC).meta.get("consent") in ("anonymised", "named")]
    assert shown
    for cid in shown:
        assert (site / "cases" / cid / "index.html").is_file(), cid
    assert f"{len(shown)} case page(s)" in built.stdout
