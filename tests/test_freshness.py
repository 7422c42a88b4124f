"""Issue 20, item 2: each signed site says which publication it is, and a copy older than
the newest known is refused, locally and on a mirror fetched over real HTTPS."""

from __future__ import annotations

import functools
import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from temoin.cli import main
from temoin.publish import freshness
from tests.helpers import Org, own_org


def cli(org: Org, *args: str) -> Result:
    return CliRunner().invoke(main, ["--repo", str(org.repo), *args])


@dataclass
class Sites:
    org: Org        # the repository, its editors' keyring (GNUPGHOME in every test)
    old: Path       # built while the case was published
    new: Path       # built after its signed withdrawal
    case_id: str


@pytest.fixture(scope="module")
def _built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    """Two real builds of one repository, once for the module: before and after a case is
    withdrawn, each copied out of the repository (a test that builds again changes neither
    copy; `verify-site` writes only under each test's own XDG_STATE_HOME)."""
    def make(org: Org) -> Sites:
        case = org.add_case()
        org.add_case()
        first = cli(org, "build")
        assert first.exit_code == 0, first.output
        shutil.copytree(org.repo / "site", org.repo.parent / "old")
        withdrawn = cli(org, "case", "withdraw", case.id, "--reason",
                        "Protection d'une personne", "--editor", org.bob)
        assert withdrawn.exit_code == 0, withdrawn.output
        second = cli(org, "build")
        assert second.exit_code == 0, second.output
        shutil.copytree(org.repo / "site", org.repo.parent / "new")
        return Sites(org, org.repo.parent / "old", org.repo.parent / "new", case.id)

    yield from own_org(tmp_path_factory, "freshness", make)


@pytest.fixture
def sites(_built: Sites, monkeypatch: pytest.MonkeyPatch) -> Sites:
    """The module's two builds, GNUPGHOME set to its editors' keyring for this test."""
    monkeypatch.setenv("GNUPGHOME", str(_built.org.keyring.home))
    return _built


def test_each_build_says_its_publication_and_stays_reproducible(sites: Sites) -> None:
    org = sites.org
    old, new = freshness.read(sites.old), freshness.read(sites.new)
    assert old is not None and new is not None
    assert new.serial == old.serial + 1  # the withdrawal is one more signed decision
    assert sites.case_id in (sites.old / "index.html").read_text()  # the old copy shows it
    again = cli(org, "build")
    assert again.exit_code == 0, again.output
    assert f"publication {new.serial} of {new.date}" in again.output
    assert freshness.read(org.repo / "site") == new  # same inputs, same record


def test_verify_site_refuses_the_copy_from_before_a_withdrawal(sites: Sites) -> None:
    org = sites.org
    new = freshness.read(sites.new)
    assert new is not None
    ok = cli(org, "verify-site", str(sites.new))
    assert ok.exit_code == 0, ok.output
    assert f"publication {new.serial} of {new.date}: current" in ok.output
    stale = cli(org, "verify-site", str(sites.old))
    assert stale.exit_code == 1, stale.output
    assert (f"older than publication {new.serial} (the repository's signed record"
            in stale.output)
    assert "a case withdrawn since may still be on it" in stale.output


def test_verify_site_remembers_the_newest_it_verified(sites: Sites, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Away from the repository (a reader with the organisation's key), the highest serial
    verified before for that key is the floor; --min-serial is another."""
    key = tmp_path / "site-key.asc"
    shutil.copy(sites.org.repo / "keys" / "inbox.asc", key)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    runner = CliRunner()
    old = freshness.read(sites.old)
    assert old is not None
    args = ["verify-site", "--key", str(key)]
    monkeypatch.chdir(elsewhere)
    first = runner.invoke(main, [*args, str(sites.old)])
    assert first.exit_code == 0, first.output  # nothing newer known yet
    pinned = runner.invoke(main, [*args, "--min-serial", str(old.serial + 1),
                                  str(sites.old)])
    assert pinned.exit_code == 1 and "(--min-serial)" in pinned.output
    assert runner.invoke(main, [*args, str(sites.new)]).exit_code == 0
    again = runner.invoke(main, [*args, str(sites.old)])
    assert again.exit_code == 1, again.output
    assert "verified on this machine before" in again.output


# -- a mirror over real HTTPS ----------------------------------------------------------------
def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def https(sites: Sites, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTPS server on 127.0.0.1 serving /old/ and /current/, with a certificate from
    a throwaway CA (base URL, CA file)."""
    pki = tmp_path / "pki"
    pki.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
             "/CN=Temoin test CA", "-keyout", "ca.key", "-out", "ca.pem", cwd=pki)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout",
             "srv.key", "-out", "srv.csr", cwd=pki)
    (pki / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "srv.pem", cwd=pki)
    root = tmp_path / "www"
    shutil.copytree(sites.old, root / "old")
    shutil.copytree(sites.new, root / "current")
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / "srv.pem", pki / "srv.key")
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", pki / "ca.pem"
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_mirror_check_over_https(sites: Sites, https: tuple[str, Path]) -> None:
    org = sites.org
    base, ca = https
    new = freshness.read(sites.new)
    assert new is not None
    current = cli(org, "verify-site", "--ca-file", str(ca), f"{base}/current/")
    assert current.exit_code == 0, current.output
    assert f"publication {new.serial} of {new.date}: current" in current.output
    behind = cli(org, "verify-site", "--ca-file", str(ca), f"{base}/old/")
    assert behind.exit_code == 1, behind.output
    assert f"older than publication {new.serial}" in behind.output
    # Certificates are always verified: without the CA the mirror is not trusted at all.
    untrusted = cli(org, "verify-site", f"{base}/current/")
    assert untrusted.exit_code == 1, untrusted.output
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.output and "--ca-file" in untrusted.output
    cleartext = cli(org, "verify-site", base.replace("https", "http") + "/current/")
    assert cleartext.exit_code == 1 and "only https://" in cleartext.output
    local = cli(org, "verify-site", f"file://{sites.new}")
    assert local.exit_code == 0, local.output
