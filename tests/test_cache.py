"""The cache layer (`temoin.cache`): caches live outside the repository, authenticated with a
key that never enters it, and can only save work, never skip a check (DESIGN §1)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from temoin import cache, cases, curation
from temoin.cli import main
from temoin.gates import canary_source
from tests.conftest import REPO_ROOT
from tests.helpers import Org, site_files

NAME = "Jean Ndayisenga"


def tree(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file and folder under `root` (git-ignored ones too): mode and content hash."""
    out: dict[str, tuple[int, bytes]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            st = path.lstat()
            data = hashlib.sha256(path.read_bytes()).digest() if stat.S_ISREG(st.st_mode) \
                else b""
            out[str(path.relative_to(root))] = (st.st_mode, data)
    return out


def build(org: Org, *args: str) -> Result:
    return CliRunner().invoke(main, ["--repo", str(org.repo), "build", *args])


def demo_like(org: Org) -> None:
    """Published, aggregate-only, draft and withdrawn cases, private parts, two weeks."""
    org.add_case(narrative="Un cas publié, *urgent*.", urgent=True,
                 private={"victims": [{"full_name": "Nom Fictif"}]})
    org.add_case(narrative="Un autre cas publié.", private={"witnesses": [{"name": "Témoin X"}]})
    org.add_case(consent="aggregate_only", narrative="Compté, sans page.")
    org.add_case(status="draft", sign=False, private={"victims": [{"full_name": "Autre Nom"}]})


def test_store_is_private_outside_the_repo_and_names_nothing(org: Org) -> None:
    store = cache.Store.open(org.repo)
    assert store is not None
    assert store.folder.parent == cache.home()
    assert not store.folder.is_relative_to(org.repo)
    assert str(org.repo) not in str(store.folder) and org.repo.name not in store.folder.name
    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((store.folder / cache.KEY_FILE).stat().st_mode) == 0o600
    again = cache.Store.open(org.repo)
    assert again is not None and again.folder == store.folder
    assert again.tag(b"x") == store.tag(b"x")  # the same key for the same clone


def test_a_key_others_can_read_is_replaced(org: Org) -> None:
    store = cache.Store.open(org.repo)
    assert store is not None
    store.file(cases.FRONT_MATTER).save(b"{}")
    os.chmod(store.folder / cache.KEY_FILE, 0o644)
    again = cache.Store.open(org.repo)
    assert again is not None and again.tag(b"x") != store.tag(b"x")
    assert again.file(cases.FRONT_MATTER).load() is None


def test_no_cache_reads_and_writes_nothing(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.NO_CACHE, "1")
    assert cache.Store.open(org.repo) is None
    org.add_case()
    assert build(org).exit_code == 0
    assert not cache.home().exists()


def test_no_cache_flag(org: Org) -> None:
    org.add_case()
    result = build(org, "--no-cache")
    assert result.exit_code == 0, result.output
    assert not cache.home().exists() and cache.NO_CACHE not in os.environ


def test_build_leaves_the_repo_as_it_was_and_caches_change_no_byte(
        org: Org, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is written in the repository outside --site-dir (ignored files included),
    and a cold, a warm and a cache-less build give the same site, byte for byte."""
    demo_like(org)
    before = tree(org.repo)
    sites = {}
    for name in ("cold", "warm"):
        result = build(org, "--site-dir", str(tmp_path / name))
        assert result.exit_code == 0, result.output
        sites[name] = site_files(tmp_path / name)
    assert tree(org.repo) == before
    assert (cache.home() / cache.repo_id(org.repo) / "signatures.json").is_file()
    monkeypatch.setenv(cache.NO_CACHE, "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "untouched"))
    result = build(org, "--site-dir", str(tmp_path / "none"))
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "untouched").exists()
    sites["none"] = site_files(tmp_path / "none")
    assert tree(org.repo) == before
    assert any(p.endswith(".pdf") for p in sites["cold"])  # bulletins and their PDFs too
    for name in ("warm", "none"):
        assert sorted(sites[name]) == sorted(sites["cold"])
        differ = [p for p in sites["cold"] if sites["cold"][p] != sites[name][p]]
        assert differ == [], (name, differ)


def _other_machine(org: Org, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> cache.Store:
    """The same clone path's store under another home: another HMAC key."""
    with monkeypatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path / "elsewhere"))
        other = cache.Store.open(org.repo)
    assert other is not None
    return other


def test_forged_signature_verdict_and_canary_source_change_nothing(
        org: Org, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A signature verdict vouching for a garbage approval and a canary source listing no
    canaries, planted in the repository (under .temoin/, any name) and copied into the
    real cache folder from another machine: the build still refuses both."""
    forged = org.add_case(narrative="Approuvé, croit-on.")
    approve = forged.folder / "review" / "approve.json"
    garbage = b"-----BEGIN PGP SIGNATURE-----\n\ngarbage\n-----END PGP SIGNATURE-----\n"
    (forged.folder / "review" / "approve.json.asc").write_bytes(garbage)
    leak = org.add_case(narrative=f"{NAME} a été arrêté.",
                        private={"victims": [{"full_name": NAME}]})
    assert build(org).exit_code == 4  # a first build: the real caches exist from now on

    with curation.CachedVerifier(org.repo) as verifier:
        key = verifier._key(approve.read_bytes(), garbage)
    verdicts = json.dumps({key: org.bob}).encode()
    private = cases.private_path(org.repo, leak.id)
    parts = {leak.id: [hashlib.sha256(private.read_bytes()).hexdigest(), []]}
    canaries = org.keyring.encrypt(json.dumps({"parts": parts, "secret": "00" * 32}).encode(),
                                   [org.alice, org.bob])
    other = _other_machine(org, tmp_path, monkeypatch)
    other.file(curation.SIGNATURES).save(verdicts)
    other.file(canary_source.CANARIES).save(canaries)
    # The same files planted in the repository, as they were before and as copies.
    planted = org.repo / ".temoin"
    for folder in (planted / "cache", planted):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "signatures.json").write_bytes(verdicts)
        (folder / "canaries.asc").write_bytes(canaries)
        for f in ("signatures.json", "canaries.asc"):
            (folder / f"copied-{f}").write_bytes((other.folder / f).read_bytes())
    real = cache.Store.open(org.repo)
    assert real is not None and real.folder != other.folder
    for f in ("signatures.json", "canaries.asc"):
        (real.folder / f).write_bytes((other.folder / f).read_bytes())

    result = build(org)
    assert result.exit_code == 4, result.output
    assert "approve.json: signature does not verify" in result.output
    result = build(org, "--allow-unpublished")
    assert result.exit_code == 4, result.output
    assert f"[canary] cases/{leak.id}/index.html: private value of case {leak.id}" \
        in result.output
    assert "Ndayisenga" not in result.output
    assert not (org.repo / "site").exists()


GUARDED = ["temoin.gates", "temoin.gates.markup", "temoin.gates.canary_source",
           "temoin.publish.manifest", "temoin.site.csp", "temoin.site.submit"]


@pytest.mark.parametrize("module", GUARDED)
def test_build_fails_without_a_gate_module(org: Org, tmp_path: Path, module: str) -> None:
    """A partial install (a gate, the manifest, the CSP or the submit page missing) makes
    `temoin build` crash: it never publishes with one of them skipped."""
    org.add_case()
    site = tmp_path / "out"
    code = ("import sys\n"
            f"sys.modules[{module!r}] = None  # import fails as if the file were gone\n"
            "from temoin.cli import main\n"
            f"main(['--repo', {str(org.repo)!r}, 'build', '--site-dir', {str(site)!r}])\n")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode != 0, done.stdout + done.stderr
    assert module in done.stderr or "ImportError" in done.stderr, done.stderr
    assert not site.exists()
