"""This repository's fictional demo (mkdocs.yml `extra.fictional: true`, its cases and
editorials), copied as a clean clone holds it and built once per test session."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT
from tests.helpers import stop_gpg

_BUILT: dict[str, Path] = {}
EPOCH = "1760000000"


def demo_site(root_factory: Any) -> Path:
    """The demo site built into a temporary folder (signatures not checked: the tests that
    read it look at what pages and PDFs say, not at the gates)."""
    if "site" not in _BUILT:
        import pytest

        from temoin.site import engine

        root = root_factory.mktemp("demo-site")
        repo = root / "demo"
        tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT,
                                 capture_output=True, check=True).stdout.decode().split("\0")
        for rel in filter(None, tracked):
            if (REPO_ROOT / rel).is_file() and not rel.startswith(("src/", "tests/")):
                (repo / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO_ROOT / rel, repo / rel)
        from temoin import keys

        home = root / "gnupg"  # the demo-only editor keys: unpublished cases are sealed
        home.mkdir(mode=0o700)
        kr = keys.Keyring(home)
        for f in sorted((REPO_ROOT / "tests" / "fixtures" / "demo-keys").glob("*.sec.asc")):
            kr.import_keys(f.read_bytes())
        try:
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
                mp.setenv("GNUPGHOME", str(home))
                engine.run_mkdocs(repo, root / "site", verify_signatures=False)
        finally:
            stop_gpg(home)
        _BUILT["site"] = root / "site"
    return _BUILT["site"]
