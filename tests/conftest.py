"""Shared fixtures: real gpg in a throwaway 0700 GNUPGHOME, real organisation repos."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from temoin import keys
from tests.helpers import Org, make_org

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _session_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Module- and session-scoped builds keep their caches under a temporary folder too."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        mp.delenv("TEMOIN_NO_CACHE", raising=False)
        yield


@pytest.fixture(autouse=True)
def _reproducible(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Builds in tests use a fixed SOURCE_DATE_EPOCH, never the editor's env, and caches
    under tmp_path (never the user's ~/.cache)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1760000000")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    for var in ("TEMOIN_EDITOR", "TEMOIN_PASSPHRASE_FILE", "TEMOIN_NO_CACHE"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def gnupghome(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty 0700 GnuPG home set as $GNUPGHOME; its agent is killed afterwards."""
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    yield home
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False,
                   capture_output=True)


@pytest.fixture
def keyring(gnupghome: Path) -> keys.Keyring:
    """A Keyring on the throwaway GNUPGHOME."""
    return keys.Keyring(gnupghome)


@pytest.fixture
def fprs(keyring: keys.Keyring) -> dict[str, str]:
    """Fresh ed25519/cv25519 keys: the inbox and two editors, Alice and Bob."""
    return {"inbox": keyring.generate("Inbox", "inbox@example.invalid"),
            "alice": keyring.generate("Alice", "alice@example.invalid"),
            "bob": keyring.generate("Bob", "bob@example.invalid")}


@pytest.fixture
def org(tmp_path: Path, keyring: keys.Keyring, fprs: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> Org:
    """A fresh organisation repo (temoin init) with inbox key and two editors configured."""
    o = make_org(tmp_path, keyring, fprs)
    monkeypatch.chdir(o.repo)
    return o


@pytest.fixture
def demo_gnupghome(gnupghome: Path) -> Path:
    """GNUPGHOME holding the demo-only secret keys of this repo's fictional data."""
    kr = keys.Keyring(gnupghome)
    for f in sorted((REPO_ROOT / "tests" / "fixtures" / "demo-keys").glob("*.sec.asc")):
        kr.import_keys(f.read_bytes())
    return gnupghome


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Fail loudly (not skip) in CI when a system tool the suite needs is missing."""
    if os.environ.get("CI") and not Path("/usr/bin/gpg").exists():
        raise pytest.UsageError("gpg missing: run `make test`, which installs it")
