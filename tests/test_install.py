"""Set-up: `make system` waits for a busy apt, the offline bundle installs with no network."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, SESSION_MARK

SCRIPTS = REPO_ROOT / "scripts"
# Besides the network namespace (below): every way pip could reach an index sends it to the
# discard port on loopback (refused at once), and no pip configuration (this machine's
# find-links, extra indexes) applies.
NO_NETWORK = {"PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
              "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
              "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
DEBIAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _offline_env(home: Path, **extra: str) -> dict[str, str]:
    """What a fresh shell on the offline machine has: Debian's PATH, an empty home, and nothing
    of this run (no PYTHONPATH pointing at the source tree, no virtualenv, no GNUPGHOME, no
    pip settings or cache); only the session mark, so an agent left behind is found."""
    home.mkdir(exist_ok=True)
    # no .pyc compilation: the test pays for installing, not for byte-compiling 54 wheels
    return {"PATH": DEBIAN_PATH, "HOME": str(home), "LANG": "C.UTF-8",
            SESSION_MARK: os.environ[SESSION_MARK], **NO_NETWORK, "PIP_NO_COMPILE": "1",
            **extra}


def _air_gapped(argv: list[str]) -> list[str]:
    """`argv` in a network namespace of its own (not even loopback is up) when this machine
    allows one (root, `unshare` from util-linux): nothing it starts can reach any network."""
    if shutil.which("unshare") and os.geteuid() == 0 and subprocess.run(
            ["unshare", "--net", "--", "true"], check=False, capture_output=True).returncode == 0:
        return ["unshare", "--net", "--", *argv]
    return argv


# -- apt lock ---------------------------------------------------------------------------------
FAKE_APT = """#!/bin/sh
# apt-get that finds the lock held for its first $BUSY calls, then succeeds
n=$(cat "$COUNT" 2>/dev/null || echo 0); echo $((n + 1)) >"$COUNT"
echo "apt-get $*" >>"$CALLS"
if [ "$n" -lt "$BUSY" ]; then
  echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2
  exit 100
fi
"""


def _apt(tmp_path: Path, busy: int, timeout: int) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text(FAKE_APT)
    (bin_dir / "apt-get").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "BUSY": str(busy),
           "COUNT": str(tmp_path / "count"), "CALLS": str(tmp_path / "calls"),
           "APT_LOCK_TIMEOUT": str(timeout)}
    # a package that is certainly not installed, so the script has something to install
    return subprocess.run(["bash", str(SCRIPTS / "apt_install.sh"), "temoin-no-such-package"],
                          env=env, capture_output=True, text=True, timeout=60)


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="as non-root the script uses sudo")


@needs_root
def test_apt_install_waits_for_a_busy_lock_then_installs(tmp_path: Path):
    done = _apt(tmp_path, busy=2, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "waiting up to 30s" in done.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert [c.split()[-1] for c in calls] == ["update"] * 3 + ["temoin-no-such-package"]
    assert "DPkg::Lock::Timeout=" in calls[-1]  # apt-get install waits by itself


@needs_root
def test_apt_install_gives_up_after_the_timeout_saying_what_to_do(tmp_path: Path):
    done = _apt(tmp_path, busy=1000, timeout=1)
    assert done.returncode == 1
    assert "still busy after 1s" in done.stderr
    assert "held by process 4242" in done.stderr
    assert "APT_LOCK_TIMEOUT=" in done.stderr


@needs_root
def test_apt_install_does_nothing_when_everything_is_there(tmp_path: Path):
    done = subprocess.run(["bash", str(SCRIPTS / "apt_install.sh"), "gnupg"],
                          env={**os.environ, "PATH": f"/nonexistent:{os.environ['PATH']}"},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr


def test_runtime_and_test_needs_are_split():
    make = (REPO_ROOT / "Makefile").read_text()
    runtime = next(ln for ln in make.splitlines() if ln.startswith("APT_RUNTIME :="))
    for test_only in ("chromium", "dovecot", "zbar", "openssl"):
        assert test_only not in runtime
    assert "demo: system venv " in make  # the demo installs no test package


# -- offline bundle ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make offline-bundle` once per session, from PyPI with an empty pip cache: a wheel
    another run left in the cache must not hide a package that fails to build (docopt and
    feedgen, source only, once did)."""
    root = tmp_path_factory.mktemp("offline")
    out = root / "temoin-offline"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    made = subprocess.run(["bash", str(SCRIPTS / "offline_bundle.sh"), str(out)],
                          cwd=REPO_ROOT, check=False, capture_output=True, text=True,
                          env={**env, "PIP_CACHE_DIR": str(root / "pip-cache")}, timeout=900)
    assert made.returncode == 0, made.stderr[-3000:]
    return out


@pytest.mark.slow
def test_offline_bundle_installs_with_no_network_and_runs_the_demo(bundle: Path,
                                                                     tmp_path: Path):
    wheels = {p.name.split("-")[0].lower() for p in (bundle / "wheels").glob("*.whl")}
    assert {"temoin", "mkdocs", "python_gnupg", "pysequoia"} <= wheels
    assert not wheels & {"pytest", "playwright", "pgpy", "ruff", "mypy"}  # runtime only
    listed = {ln.split(None, 1)[1] for ln in (bundle / "SHA256SUMS").read_text().splitlines()}
    files = {str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file()}
    assert listed == files - {"SHA256SUMS"}

    # Installed and run as on the offline machine: cut off from any network, pip told
    # --no-index by install.sh, a shell environment that knows nothing of this source tree.
    prefix = tmp_path / "prefix"
    done = subprocess.run(_air_gapped(["sh", str(bundle / "install.sh"), "--prefix", str(prefix)]),
                          env=_offline_env(tmp_path / "home"), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    temoin = prefix / "bin" / "temoin"
    assert temoin.is_symlink()
    # the vendored OpenPGP.js travels inside the wheel, byte for byte
    vendored = "temoin/site/assets/vendor/openpgp.min.mjs"
    installed = next((prefix / "lib" / "temoin" / "lib").glob(f"python3*/site-packages/{vendored}"))
    source = REPO_ROOT / "src" / vendored
    assert hashlib.sha256(installed.read_bytes()).digest() == \
        hashlib.sha256(source.read_bytes()).digest()

    path = f"{prefix / 'bin'}:{DEBIAN_PATH}"
    demo = subprocess.run(_air_gapped(["temoin", "demo", str(tmp_path / "demo")]),
                          env=_offline_env(tmp_path / "home", PATH=path),
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "site OK" in demo.stdout
    assert (tmp_path / "demo" / "site" / "SHA256SUMS.asc").exists()


@pytest.mark.slow
def test_offline_bundle_refuses_an_altered_file(bundle: Path, tmp_path: Path):
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    wheel = next((copy / "wheels").glob("mkdocs-*.whl"))
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    done = subprocess.run(["sh", str(copy / "install.sh"), "--venv", str(tmp_path / "venv")],
                          env=_offline_env(tmp_path / "home"), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert "differ from SHA256SUMS" in done.stderr
    assert not (tmp_path / "venv").exists()


def test_install_script_names_a_python_the_bundle_does_not_fit(tmp_path: Path):
    fake = tmp_path / "bundle"
    (fake / "wheels").mkdir(parents=True)
    shutil.copy(SCRIPTS / "install.sh", fake / "install.sh")
    (fake / "PYTHON").write_text("2.7.18\n")
    sums = subprocess.run(["sha256sum", "PYTHON", "install.sh"], cwd=fake, check=True,
                          capture_output=True).stdout
    (fake / "SHA256SUMS").write_bytes(sums)
    done = subprocess.run(["sh", str(fake / "install.sh"), "--venv", str(tmp_path / "v")],
                          env=_offline_env(tmp_path / "home", PYTHON=sys.executable),
                          capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert "wheels are for Python 2.7.18" in done.stderr
