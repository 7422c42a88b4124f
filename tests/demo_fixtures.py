"""This repository's fictional demo (mkdocs.yml `extra.fictional: true`, its cases and
editorials), copied as a clean clone holds it, checked and built once per test session."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT
from tests.helpers import stop_gpg

_BUILT: dict[str, Demo] = {}
EPOCH = "1760000000"


@dataclass(frozen=True)
class Demo:
    """The demo's clean clone and what `temoin check` and `temoin build` said of it (each a
    click Result: exit code and output); a test asserts on them."""

    repo: Path
    check: Any
    build: Any


def demo_build(root_factory: Any) -> Demo:
    """What `make demo` does, once per session: every tracked file of this repository
    copied (what a clean clone holds, nothing local), the demo-only editor keys in a
    GNUPGHOME of their own (unpublished cases are sealed), then `temoin check` and a full
    `temoin build` (signatures, gates, signed SHA256SUMS) into the clone's site/."""
    if "demo" not in _BUILT:
        import pytest
        from click.testing import CliRunner

        from temoin import keys
        from temoin.cli import main

        root = root_factory.mktemp("demo-site")
        repo = root / "demo"
        tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT,
                                 capture_output=True, check=True).stdout.decode().split("\0")
        for rel in filter(None, tracked):
            if (REPO_ROOT / rel).is_file():
                (repo / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO_ROOT / rel, repo / rel)
        home = root / "gnupg"
        home.mkdir(mode=0o700)
        kr = keys.Keyring(home)
        for f in sorted((REPO_ROOT / "tests" / "fixtures" / "demo-keys").glob("*.sec.asc")):
            kr.import_keys(f.read_bytes())
        runner = CliRunner()
        try:
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
                mp.setenv("GNUPGHOME", str(home))
                check = runner.invoke(main, ["--repo", str(repo), "check"])
                build = runner.invoke(main, ["--repo", str(repo), "build"])
        finally:
            stop_gpg(home)
        _BUILT["demo"] = Demo(repo, check, build)
    return _BUILT["demo"]


def demo_site(root_factory: Any) -> Path:
    """The demo site (`demo_build`): the tests that read it look at what pages and PDFs say;
    tests/test_site.py asserts the check and the build passed."""
    demo = demo_build(root_factory)
    assert demo.build.exit_code == 0, demo.build.output
    return demo.repo / "site"
