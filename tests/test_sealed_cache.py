"""The sealed-case cache (`cases.sealed_cache`, issue 18): a rebuild decrypts only the sealed
cases and decisions that changed, and gives the same site and the same refusals as a build
with no cache (TEMOIN_NO_CACHE=1): after a sealed case changes, after it is replaced by a
forgery, after the cache file is tampered with or copied from another machine, and after a
signer's key file changes (the writer's signature is judged again). Nothing of a sealed
case is ever written in plaintext in the cache folder. Real gpg, real builds."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner, Result

from temoin import cache, cases, keys
from temoin.cases import sealed_cache
from temoin.cli import main
from temoin.keys import vault
from tests.helpers import Org, forge, site_files

SECRET = "Récit scellé 7Q2XK"  # the draft's words: never in plaintext outside gpg


def _build(org: Org, site: Path) -> Result:
    return CliRunner().invoke(main, ["--repo", str(org.repo), "build", "--site-dir", str(site)])


def _loaded(org: Org) -> dict[str, tuple[str, str]]:
    """What the build's load gives of each case (status, narrative), and its problems."""
    files = cache.StatCache(org.repo, cases.STAT_CASES)
    got, problems = cases.load_all(org.repo, strict=False, cache=True, files=files)
    files.save()
    out = {c.id: (c.status, c.narrative) for c in got}
    out["problems"] = ("", "\n".join(problems))
    return out


@dataclass
class Built:
    code: int
    output: str
    site: dict[str, bytes]
    loaded: dict[str, tuple[str, str]]


def _both(org: Org, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> Built:
    """A build and a load with the cache, then without: they must agree; the cached ones."""
    got = []
    for off in (False, True):
        with monkeypatch.context() as mp:
            if off:
                mp.setenv(cache.NO_CACHE, "1")
            site = tmp_path / f"{name}-{off}"
            result = _build(org, site)
            got.append(Built(result.exit_code, result.output.replace(str(site), "SITE"),
                             site_files(site) if site.is_dir() else {}, _loaded(org)))
    assert got[0] == got[1], name
    return got[0]


def _no_plaintext(org: Org) -> None:
    folder = cache.home() / cache.repo_id(org.repo)
    for path in folder.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_cached_and_cacheless_builds_agree_on_sealed_cases(
        org: Org, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    org.add_case(narrative="Un cas publié.")
    draft = org.add_case(status="draft", sign=False, narrative=SECRET)
    org.add_case(status="review", sign=False, narrative="Un cas en revue.")
    where = f"cases/{draft.id}/{cases.SEALED}"
    sealed = org.repo / where

    cold = _both(org, tmp_path, monkeypatch, "cold")
    assert cold.code == 0, cold.output
    assert cold.loaded[draft.id] == ("draft", SECRET)
    store = cache.Store.open(org.repo)
    assert store is not None
    # The cache is made, and holds the draft (what a rebuild takes instead of gpg's).
    entries = sealed_cache._read(store.file(sealed_cache.SEALED_CASES),
                                 vault.for_repo(org.repo, org.keyring))
    assert where in entries
    _no_plaintext(org)
    warm = _both(org, tmp_path, monkeypatch, "warm")
    assert warm == cold

    # The draft changes: the new text, not the cached one.
    cases.save(org.repo, cases.Case(draft.meta, "Un autre récit.", draft.folder))
    changed = _both(org, tmp_path, monkeypatch, "changed")
    assert changed.code == 0 and changed.loaded[draft.id] == ("draft", "Un autre récit.")

    # A forgery in its place: refused the same way with the cache as without.
    good = sealed.read_bytes()
    sealed.write_bytes(forge(org, cases.dumps(draft).encode(), "outsider"))
    refused = _both(org, tmp_path, monkeypatch, "forged")
    assert refused.code != 0
    assert where in refused.output and "neither an editor's" in refused.output
    assert SECRET not in refused.output

    # The cache tampered with (a byte flipped) or copied from another machine: ignored.
    sealed.write_bytes(good)
    assert _both(org, tmp_path, monkeypatch, "restored").code == 0
    path = store.folder / sealed_cache.SEALED_CASES.name
    data = bytearray(path.read_bytes())
    data[-10] ^= 1
    path.write_bytes(bytes(data))
    assert _both(org, tmp_path, monkeypatch, "tampered").code == 0
    with monkeypatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path / "elsewhere"))
        assert _build(org, tmp_path / "elsewhere-site").exit_code == 0
        other = cache.Store.open(org.repo)
    assert other is not None and other.folder != store.folder
    # The other machine's cache holds the good draft; the forgery back in the repository:
    # the copied cache is never read, so it cannot vouch for anything.
    path.write_bytes((other.folder / sealed_cache.SEALED_CASES.name).read_bytes())
    (store.folder / sealed_cache.STAT_SEALED.name).unlink(missing_ok=True)
    sealed.write_bytes(forge(org, cases.dumps(draft).encode(), "unsigned"))
    again = _both(org, tmp_path, monkeypatch, "copied")
    assert again.code != 0 and "not signed" in again.output
    _no_plaintext(org)


def test_a_signer_key_file_change_judges_cached_sealed_cases_again(
        org: Org, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A draft signed by Bob after a revocation keys/ does not record yet is accepted and
    cached; once bob.asc records the revocation, the cached draft is judged again and
    refused, as without the cache."""
    org.add_case(narrative="Un cas publié.")
    draft = org.add_case(status="draft", sign=False, narrative=SECRET)
    where = f"cases/{draft.id}/{cases.SEALED}"
    bob = org.repo / "keys" / "editors" / "bob.asc"
    before = bob.read_bytes()
    # Bob's key revoked in a copy of GNUPGHOME only (the cache is encrypted to him too).
    home = tmp_path / "gnupg-copy"
    shutil.copytree(org.keyring.home, home, ignore=shutil.ignore_patterns("S.*"))
    other = SimpleNamespace(keyring=keys.Keyring(home), cfg=org.cfg, bob=org.bob,
                            repo=org.repo)
    forged = forge(other, cases.dumps(draft).encode(), "revoked")  # type: ignore[arg-type]
    revoked = bob.read_bytes()
    bob.write_bytes(before)
    (org.repo / where).write_bytes(forged)
    first = _both(org, tmp_path, monkeypatch, "before")
    if first.code != 0:
        pytest.skip(f"gpg refuses the signature already: {first.output[-300:]}")
    assert first.loaded[draft.id] == ("draft", SECRET)
    store = cache.Store.open(org.repo)
    assert store is not None and where in sealed_cache._read(
        store.file(sealed_cache.SEALED_CASES), vault.for_repo(org.repo, org.keyring))
    bob.write_bytes(revoked)
    after = _both(org, tmp_path, monkeypatch, "after")
    assert after.code != 0, after.output
    assert where in after.output and "revocation" in after.output
