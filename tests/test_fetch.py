"""`temoin fetch`: mail into inbox/ against a real Dovecot on 127.0.0.1, Maildir and mbox.

Every IMAP test starts its own Dovecot (tests/imap_server.py, ~0.1 s) so mailboxes, ports and
certificates never leak between tests.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import mailbox
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from temoin import config as config_mod
from temoin import custody, files, keys, trust
from temoin.cli import main
from temoin.errors import TemoinError
from temoin.intake import fetch as fetch_mod
from temoin.intake import imap as imap_mod
from temoin.keys import vault as vault_mod
from tests import imap_server
from tests.conftest import SESSION_ID, gpg_agents, kill_agents
from tests.helpers import stop_gpg
from tests.hostile_imap import HUGE, HostileServer
from tests.intake_fixtures import KEYS
from tests.intake_fixtures import fpr as fixture_fpr

needs_dovecot = pytest.mark.skipif(imap_server.dovecot_binary() is None,
                                   reason="dovecot not installed (apt-get install dovecot-imapd)")


def online_env() -> dict[str, str]:
    """The environment of the online fetch machine: no GnuPG home (no editor keyring), so a
    child `temoin fetch` runs as it does there, whatever earlier tests set."""
    return {k: v for k, v in os.environ.items() if k != "GNUPGHOME"}


@dataclasses.dataclass(frozen=True)
class Editor:
    """The organisation's editor: a key in the editors' own GnuPG home, off the online side."""

    keyring: keys.Keyring
    fpr: str

    def vault(self) -> vault_mod.Vault:
        """What the editor reads custody with (fetch itself holds no editor key)."""
        return vault_mod.Vault(self.keyring, [self.fpr])


EDITORS: list[Editor] = []  # the module's one editor, once made (see _editor)


def editor() -> Editor:
    return EDITORS[0]


@pytest.fixture(scope="module", autouse=True)
def _editor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The editor's key in the editors' GnuPG home, used by name only to found trust roots and
    read custody back. Fetch runs as on the online machine: no GNUPGHOME (tests/conftest.py
    unsets it for the session, and fails any test that leaves one set), so it seals its
    custody entries to the editors' public keys published in keys/editors/ (issue 16)."""
    home = tmp_path_factory.mktemp("fetch-gpg")
    kr = keys.Keyring(home)
    EDITORS[:] = [Editor(kr, kr.generate("Editor (TEST ONLY)", "editor@example.invalid"))]
    yield
    stop_gpg(home)


@pytest.fixture(autouse=True)
def _seal_keyrings_die_with_their_test() -> Iterator[None]:
    """Without GNUPGHOME, fetch seals through a throwaway keyring of keys/editors/ whose agent
    the command stops when its process ends (keys.vault); this process lives on, so the
    agents of the keyrings a test's fetches made are stopped after it."""
    yield
    kill_agents([a for a in gpg_agents()
                 if a.session == SESSION_ID and a.home.name.startswith("temoin-seal-")])


def make_repo(folder: Path, **options: object) -> Path:
    """An organisation repo as the online machine has it: its inbox key and editor named in
    mkdocs.yml, their public keys in keys/, and the editor's signed trust root (which `temoin
    fetch` verifies). Called again on the same folder, it rewrites the temoin options (the
    trust root does not hold the ones the tests vary, such as max_submission_bytes)."""
    ed = editor()
    (folder / "keys" / "editors").mkdir(parents=True, exist_ok=True)
    (folder / "keys" / "inbox.asc").write_bytes((KEYS / "inbox.pub.asc").read_bytes())
    (folder / "keys" / "editors" / "editor.asc").write_text(ed.keyring.export_public(ed.fpr))
    opts = {"organisation": "Test", "country": "BI", "case_prefix": "BI",
            "inbox_key": fixture_fpr("inbox"), "recipients": f"[{ed.fpr}]", **options}
    body = ", ".join(f"{k}: {v}" for k, v in opts.items())
    (folder / "mkdocs.yml").write_text(f"site_name: Test\nplugins: [{{temoin: {{{body}}}}}]\n")
    if not trust.chain_files(folder):
        trust.found(folder, config_mod.load(folder), ed.keyring, [ed.fpr])
    return folder


def make_message(i: int, size: int = 600) -> bytes:
    """A PGP/MIME-shaped email whose armored body is unique to `i` (fetch never reads it)."""
    line = hashlib.sha256(str(i).encode()).hexdigest()
    armor = "\r\n".join(line for _ in range(max(1, size // 66)))
    return (f"From: source{i}@example.org\r\nTo: inbox@example.org\r\n"
            f"Subject: =?utf-8?q?T=C3=A9moignage_{i}?=\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; '
            'boundary="b"\r\n\r\n--b\r\nContent-Type: application/pgp-encrypted\r\n\r\n'
            "Version: 1\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n"
            f"-----BEGIN PGP MESSAGE-----\r\n\r\n{armor}\r\n-----END PGP MESSAGE-----\r\n"
            "--b--\r\n").encode()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def eml_names(repo: Path, sub: str = "") -> set[str]:
    """Names of the message files in inbox/ (or a subfolder)."""
    return {p.name for p in (repo / "inbox" / sub).glob("*.eml")}


def logged(repo: Path) -> list[dict[str, object]]:
    """The custody entries, as the editor reads them."""
    return list(custody.entries(repo, editor().vault()))


def received(repo: Path) -> list[dict[str, object]]:
    return [e for e in logged(repo) if e["action"] == "received"]


def run(repo: Path, *args: str) -> Result:
    """`temoin --repo REPO fetch ARGS` through click."""
    return CliRunner().invoke(main, ["--repo", str(repo), "fetch", *args])


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty organisation repo in tmp_path."""
    return make_repo(tmp_path / "repo")


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[imap_server.ImapServer]:
    """One real Dovecot on 127.0.0.1 (imaps, and imap with STARTTLS) for this module."""
    server = imap_server.start(tmp_path_factory.mktemp("imap"),
                               extra_config="auth_failure_delay = 0\n")
    yield server
    server.stop()


@pytest.fixture
def imap(dovecot: imap_server.ImapServer,
         request: pytest.FixtureRequest) -> imap_server.ImapServer:
    """The shared Dovecot as seen by a user of this test's own: fresh, empty mailboxes."""
    user = "t" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]
    return dataclasses.replace(dovecot, user=user)


@pytest.fixture
def password_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """TEMOIN_IMAP_PASSWORD_FILE pointing at the test server's password (with a newline)."""
    path = tmp_path / "imap-password"
    path.write_text(imap_server.PASSWORD + "\n")
    path.chmod(0o600)
    monkeypatch.delenv("TEMOIN_IMAP_PASSWORD", raising=False)
    monkeypatch.setenv("TEMOIN_IMAP_PASSWORD_FILE", str(path))
    return path


# -- IMAP ----------------------------------------------------------------------------------------
@pytest.mark.imap
@needs_dovecot
def test_fetch_copies_each_message_once(repo: Path, imap: imap_server.ImapServer,
                                        password_file: Path) -> None:
    sent = [make_message(i) for i in range(5)]
    imap.append(sent)
    result = run(repo, imap.url(), "--ca-file", str(imap.ca_file))
    assert result.exit_code == 0, result.output
    assert result.output == "fetched 5 new, 0 already known\n"
    assert eml_names(repo) == {f"{sha(m)}.eml" for m in sent}
    for m in sent:
        path = repo / "inbox" / f"{sha(m)}.eml"
        assert path.read_bytes() == m
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = run(repo, imap.url(), "--ca-file", str(imap.ca_file))
    assert again.exit_code == 0, again.output
    assert again.output == "fetched 0 new, 5 already known\n"
    entries = received(repo)
    assert sorted(e["submission"] for e in entries) == sorted(sha(m) for m in sent)
    assert {e["channel"] for e in entries} == {"imap"}
    assert {e["size"] for e in entries} == {len(m) for m in sent}
    log = (repo / "custody.jsonl").read_text()
    assert "source0@example.org" not in log and "moignage" not in log  # nothing identifying
    assert custody.verify(repo) == []
    # Fetching is read-only without --move-to: the mail stays, still unread.
    client = imap.client()
    client.select("INBOX", readonly=True)
    typ, data = client.uid("SEARCH", "SEEN")
    client.logout()
    assert data == [b""]
    assert imap.messages() == sent


@pytest.mark.imap
@needs_dovecot
def test_fetch_loses_nothing_when_connection_drops(repo: Path, imap: imap_server.ImapServer,
                                                   password_file: Path) -> None:
    sent = [make_message(i, size=30_000) for i in range(6)]
    imap.append(sent)
    # TLS handshake, login and SEARCH take a few kB; then ~30 kB a message: cut in the 3rd.
    proxy = imap_server.CuttingProxy(imap.imaps_port, cut_after=80_000)
    url = imap.url(port=proxy.port)
    try:
        broken = run(repo, url, "--ca-file", str(imap.ca_file))
        assert broken.exit_code == 1, broken.output
        assert "lost" in broken.output and "run the same `temoin fetch` again" in broken.output
        assert proxy.cuts == 1
        saved = eml_names(repo)
        assert 0 < len(saved) < len(sent)
        assert not list((repo / "inbox").glob(".fetch-*.part"))  # no half file left
        assert len(received(repo)) == len(saved)
        proxy.cut_after = None  # the network is back
        healthy = run(repo, url, "--ca-file", str(imap.ca_file))
        assert healthy.exit_code == 0, healthy.output
        assert healthy.output == (f"fetched {len(sent) - len(saved)} new, "
                                  f"{len(saved)} already known\n")
    finally:
        proxy.close()
    assert eml_names(repo) == {f"{sha(m)}.eml" for m in sent}
    assert sorted(e["submission"] for e in received(repo)) == sorted(sha(m) for m in sent)
    assert custody.verify(repo) == []


@pytest.mark.imap
@needs_dovecot
def test_fetch_moves_only_saved_messages(repo: Path, imap: imap_server.ImapServer,
                                         password_file: Path) -> None:
    sent = [make_message(i, size=30_000) for i in range(6)]
    imap.append(sent)
    proxy = imap_server.CuttingProxy(imap.imaps_port, cut_after=90_000)
    url = imap.url(port=proxy.port)
    try:
        broken = run(repo, url, "--move-to", "Processed", "--ca-file", str(imap.ca_file))
        assert broken.exit_code == 1, broken.output
        moved, left = imap.messages("Processed"), imap.messages("INBOX")
        assert sorted(moved + left) == sorted(sent)  # none lost on the server either
        assert moved and left
        known = {e["submission"] for e in received(repo)}
        for m in moved:  # whatever left INBOX is on disk and in custody
            assert (repo / "inbox" / f"{sha(m)}.eml").read_bytes() == m
            assert sha(m) in known
        proxy.cut_after = None
        healthy = run(repo, url, "--move-to", "Processed", "--ca-file", str(imap.ca_file))
        assert healthy.exit_code == 0, healthy.output
        assert healthy.output.endswith(f", moved {len(left)} to Processed\n")
    finally:
        proxy.close()
    assert imap.messages("INBOX") == []
    assert sorted(imap.messages("Processed")) == sorted(sent)
    assert eml_names(repo) == {f"{sha(m)}.eml" for m in sent}
    assert len(received(repo)) == len(sent)


@pytest.mark.imap
@needs_dovecot
def test_fetch_moves_without_move_capability(tmp_path: Path, repo: Path,
                                             password_file: Path) -> None:
    # A server that does not advertise MOVE: COPY, \Deleted and UID EXPUNGE instead.
    caps = "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS CHILDREN LIST-EXTENDED"
    server = imap_server.start(tmp_path / "nomove", extra_config=f"""
protocol imap {{
  imap_capability = {caps}
}}
""")
    try:
        client = server.client()
        assert "MOVE" not in imap_mod.capabilities(client)
        client.logout()
        sent = [make_message(i) for i in range(3)]
        server.append(sent)
        result = run(repo, server.url(), "--move-to", "Archive/Done", "--ca-file",
                     str(server.ca_file))
        assert result.exit_code == 0, result.output
        assert server.messages("INBOX") == []
        assert sorted(server.messages("Archive/Done")) == sorted(sent)
        assert eml_names(repo) == {f"{sha(m)}.eml" for m in sent}
    finally:
        server.stop()


@pytest.mark.imap
@needs_dovecot
def test_fetch_refuses_unknown_certificate(repo: Path, imap: imap_server.ImapServer,
                                           password_file: Path, tmp_path: Path) -> None:
    imap.append([make_message(1)])
    result = run(repo, imap.url())  # the self-signed cert is in no system store
    assert result.exit_code == 3, result.output
    assert "certificate not trusted" in result.output and "--ca-file" in result.output
    other_ca, _ = imap_server.make_certificate(tmp_path, "stranger")
    wrong = run(repo, imap.url(), "--ca-file", str(other_ca))
    assert wrong.exit_code == 3, wrong.output
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    unreadable = run(repo, imap.url(), "--ca-file", str(garbage))
    assert unreadable.exit_code == 1 and "not a readable PEM certificate" in unreadable.output
    assert eml_names(repo) == set() and received(repo) == []


@pytest.mark.imap
@needs_dovecot
def test_fetch_refuses_plain_imap_unless_starttls(repo: Path, imap: imap_server.ImapServer,
                                                  password_file: Path) -> None:
    sent = [make_message(i) for i in range(2)]
    imap.append(sent)
    plain = run(repo, imap.url(scheme="imap"), "--ca-file", str(imap.ca_file))
    assert plain.exit_code == 2, plain.output
    assert "in clear" in plain.output and "--starttls" in plain.output
    upgraded = run(repo, imap.url(scheme="imap"), "--starttls", "--ca-file", str(imap.ca_file))
    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.output == "fetched 2 new, 0 already known\n"
    # The imaps port does not speak plain IMAP: no greeting comes, the wait ends clearly.
    with pytest.raises(fetch_mod.FetchError, match="cannot connect"):
        fetch_mod.fetch_imap(config_mod.load(repo), imap.url(scheme="imap", port=imap.imaps_port),
                             starttls=True, ca_file=imap.ca_file, timeout=0.5)


@pytest.mark.imap
@needs_dovecot
def test_fetch_refuses_when_starttls_is_stripped(repo: Path, imap: imap_server.ImapServer,
                                                 password_file: Path) -> None:
    imap.append([make_message(1)])
    logins = imap.log().count(f"Login: user=<{imap.user}>")
    attacker = imap_server.CuttingProxy(imap.imap_port, strip=b" STARTTLS")
    try:
        result = run(repo, imap.url(scheme="imap", port=attacker.port), "--starttls",
                     "--ca-file", str(imap.ca_file))
    finally:
        attacker.close()
    assert result.exit_code == 3, result.output
    assert "does not offer STARTTLS" in result.output
    assert imap.log().count(f"Login: user=<{imap.user}>") == logins  # no login was tried
    assert eml_names(repo) == set()


@pytest.mark.imap
@needs_dovecot
def test_fetch_takes_password_only_from_environment(repo: Path, imap: imap_server.ImapServer,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    monkeypatch.delenv("TEMOIN_IMAP_PASSWORD_FILE", raising=False)
    monkeypatch.delenv("TEMOIN_IMAP_PASSWORD", raising=False)
    missing = run(repo, imap.url(), "--ca-file", str(imap.ca_file))
    assert missing.exit_code == 1, missing.output
    assert "TEMOIN_IMAP_PASSWORD_FILE" in missing.output
    assert "never taken on the command line" in missing.output
    in_url = run(repo, f"imaps://tester:hunter2@127.0.0.1:{imap.imaps_port}/INBOX")
    assert in_url.exit_code == 2 and "hunter2" not in in_url.output
    assert run(repo, imap.url(), "--password", "x").exit_code == 2  # no such option
    monkeypatch.setenv("TEMOIN_IMAP_PASSWORD", imap_server.PASSWORD)
    imap.append([make_message(1)])
    ok = run(repo, imap.url(), "--ca-file", str(imap.ca_file))
    assert ok.exit_code == 0, ok.output
    monkeypatch.setenv("TEMOIN_IMAP_PASSWORD", "wrong-password")
    # From another address: Dovecot slows down the next login from where a login failed.
    intruder = imap_server.CuttingProxy(imap.imaps_port, source="127.0.0.2")
    try:
        refused = run(repo, imap.url(port=intruder.port), "--ca-file", str(imap.ca_file))
    finally:
        intruder.close()
    assert refused.exit_code == 1 and "login refused" in refused.output
    assert "wrong-password" not in refused.output


@pytest.mark.imap
@needs_dovecot
def test_fetch_reassembles_messages_read_in_chunks(tmp_path: Path, imap: imap_server.ImapServer,
                                                   password_file: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imap_mod, "CHUNK", 4096)  # several partial FETCHes per message
    repo = make_repo(tmp_path / "small", max_submission_bytes=20_000)
    sent = [make_message(1, size=12_000), make_message(2, size=50_000), make_message(3, 100)]
    sent.append(b"x" * 4096 * 3)  # an exact multiple of the chunk size
    imap.append(sent)
    summary = fetch_mod.fetch_imap(config_mod.load(repo), imap.url(), ca_file=imap.ca_file)
    big = sent[1]
    assert len(summary.new) == 3 and len(summary.refused) == 1
    assert eml_names(repo) == {f"{sha(m)}.eml" for m in sent if m != big}
    for m in sent:
        if m != big:
            assert (repo / "inbox" / f"{sha(m)}.eml").read_bytes() == m


@pytest.mark.imap
@needs_dovecot
def test_fetch_leaves_oversize_mail_on_the_server(tmp_path: Path, imap: imap_server.ImapServer,
                                                  password_file: Path) -> None:
    repo = make_repo(tmp_path / "small", max_submission_bytes=20_000)
    small, big = make_message(1, size=5_000), make_message(2, size=60_000)
    imap.append([small, big])
    url = imap.url()
    result = run(repo, url, "--move-to", "Done", "--ca-file", str(imap.ca_file))
    assert result.exit_code == 0, result.output
    assert result.output == ("fetched 1 new, 0 already known, 1 refused and left at the source "
                             "(read inbox/quarantine/*.reason), moved 1 to Done\n")
    assert imap.messages("INBOX") == [big] and imap.messages("Done") == [small]
    assert eml_names(repo) == {f"{sha(small)}.eml"} and eml_names(repo, "quarantine") == set()
    [entry] = [e for e in logged(repo) if e["action"] == "refused"]
    assert entry["size"] == len(big) and "the server declares" in entry["reason"]
    [record] = (repo / "inbox" / "quarantine").glob("oversize-*.reason")
    assert "not downloaded" in record.read_text() and url.rsplit("/", 1)[0] in record.read_text()
    again = run(repo, url, "--move-to", "Done", "--ca-file", str(imap.ca_file))
    assert "0 already known, 1 refused and left at the source" in again.output
    assert custody_actions(repo).count("refused") == 1  # reported each run, logged once
    status = CliRunner().invoke(main, ["--repo", str(repo), "status"])
    assert status.exit_code == 0, status.output
    assert "Refused by fetch, left at their source: 1" in status.output
    report = json.loads(CliRunner().invoke(main, ["--repo", str(repo), "status", "--json"]).stdout)
    assert report["refused_by_fetch"] == 1 and report["quarantine_bytes"] == 0


@pytest.mark.imap
@needs_dovecot
def test_fetch_rescans_after_uidvalidity_change(repo: Path, imap: imap_server.ImapServer,
                                                password_file: Path) -> None:
    sent = [make_message(i) for i in range(3)]
    client = imap.client()
    client.create("Sources")
    client.logout()
    imap.append(sent, "Sources")
    url = imap.url("Sources")
    assert run(repo, url, "--ca-file", str(imap.ca_file)).output.startswith("fetched 3 new")
    state = json.loads((repo / "inbox" / ".fetch-state.json").read_text())["sources"]
    before = state[fetch_mod.imap.parse_url(url).key]
    # Recreate the folder: the server renumbers (new UIDVALIDITY), one message is new.
    client = imap.client()
    client.delete("Sources")
    client.create("Sources")
    client.logout()
    newer = make_message(99)
    imap.append([newer, *reversed(sent)], "Sources")
    result = run(repo, url, "--json", "--ca-file", str(imap.ca_file))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [n["submission"] for n in report["new"]] == [sha(newer)]
    assert report["known"] == 3
    state = json.loads((repo / "inbox" / ".fetch-state.json").read_text())["sources"]
    after = state[fetch_mod.imap.parse_url(url).key]
    assert after["uidvalidity"] != before["uidvalidity"] and after["uids"] == "1:4"
    assert len(received(repo)) == 4


# -- local mailboxes ---------------------------------------------------------------------------
def test_fetch_imports_maildir_once(repo: Path, tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    sent = [make_message(i) for i in range(3)]
    for m in sent:
        box.add(m)
    first = run(repo, "--maildir", str(tmp_path / "Maildir"))
    assert first.exit_code == 0, first.output
    assert first.output == "fetched 3 new, 0 already known\n"
    later = make_message(7)
    box.add(later)
    box.add(sent[0])  # the same message delivered twice is still one submission
    second = run(repo, "--maildir", str(tmp_path / "Maildir"), "--json")
    assert second.exit_code == 0, second.output
    report = json.loads(second.stdout)
    assert [n["submission"] for n in report["new"]] == [sha(later)]
    assert report["known"] == 4 and report["channel"] == "maildir"  # 3 fetched before
    assert eml_names(repo) == {f"{sha(m)}.eml" for m in [*sent, later]}
    assert {e["channel"] for e in received(repo)} == {"maildir"}
    assert len(list(box.keys())) == 5  # a local import leaves the Maildir as it was
    assert custody.verify(repo) == []


def test_fetch_imports_mbox_once(repo: Path, tmp_path: Path) -> None:
    box = mailbox.mbox(tmp_path / "mail.mbox", create=True)
    sent = [make_message(i).replace(b"\r\n", b"\n") for i in range(4)]
    for m in sent:
        box.add(m)
    box.flush()
    first = run(repo, "--mbox", str(tmp_path / "mail.mbox"))
    assert first.exit_code == 0, first.output
    assert first.output == "fetched 4 new, 0 already known\n"
    for m in sent:  # each message as stored, without the mbox `From ` separator line
        assert (repo / "inbox" / f"{sha(m)}.eml").read_bytes() == m
    again = run(repo, "--mbox", str(tmp_path / "mail.mbox"))
    assert again.output == "fetched 0 new, 4 already known\n"
    assert [e["channel"] for e in received(repo)] == ["mbox"] * 4


def test_fetch_refuses_oversized_local_message_unread(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", max_submission_bytes=2000)
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    small, big = make_message(1, 200), make_message(2, 10_000)
    box.add(small)
    box.add(big)
    result = run(repo, "--maildir", str(tmp_path / "Maildir"))
    assert result.exit_code == 0, result.output
    assert result.output == ("fetched 1 new, 0 already known, 1 refused and left at the source "
                             "(read inbox/quarantine/*.reason)\n")
    assert eml_names(repo) == {f"{sha(small)}.eml"} and eml_names(repo, "quarantine") == set()
    [reason] = (repo / "inbox" / "quarantine").glob("oversize-*.reason")
    text = reason.read_text()
    assert f"too large: {len(big)} bytes" in text and "max_submission_bytes (2000)" in text
    assert str(tmp_path / "Maildir") in text  # where the untouched original still is
    [entry] = [e for e in logged(repo) if e["action"] == "refused"]
    assert entry["size"] == len(big) and entry["channel"] == "maildir"
    assert len(list(box.keys())) == 2
    # Reported again, logged once; once the limit allows it, fetched and the record gone.
    again = run(repo, "--maildir", str(tmp_path / "Maildir"))
    assert "1 already known, 1 refused" in again.output
    assert [e["action"] for e in logged(repo)].count("refused") == 1
    bigger = make_repo(repo, max_submission_bytes=20_000)
    later = run(bigger, "--maildir", str(tmp_path / "Maildir"))
    assert later.output == "fetched 1 new, 1 already known\n"
    assert (repo / "inbox" / f"{sha(big)}.eml").read_bytes() == big
    assert list((repo / "inbox" / "quarantine").iterdir()) == []


def test_fetch_logs_file_saved_before_a_crash(repo: Path, tmp_path: Path) -> None:
    # A run killed after the rename but before custody: the file is there, unlogged.
    m = make_message(5)
    (repo / "inbox").mkdir()
    (repo / "inbox" / f"{sha(m)}.eml").write_bytes(m)
    (repo / "inbox" / ".fetch-dead.part").write_bytes(m[:100])  # and a half download
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(m)
    result = run(repo, "--maildir", str(tmp_path / "Maildir"))
    assert result.output == "fetched 1 new, 0 already known\n"
    assert [e["submission"] for e in received(repo)] == [sha(m)]
    assert not (repo / "inbox" / ".fetch-dead.part").exists()


def test_fetch_does_not_resurrect_ingested_message(repo: Path, tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    m = make_message(3)
    box.add(m)
    assert run(repo, "--maildir", str(tmp_path / "Maildir")).exit_code == 0
    # Ingested, then purged: gone from inbox/, and the fetch memory is lost too.
    (repo / "inbox" / f"{sha(m)}.eml").unlink()
    (repo / "inbox" / ".fetch-state.json").write_text("{not json")
    result = run(repo, "--maildir", str(tmp_path / "Maildir"))
    assert result.output == "fetched 0 new, 1 already known\n"
    assert eml_names(repo) == set()


def test_fetch_refuses_bad_sources(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "notmaildir").mkdir()
    assert "not a Maildir" in run(repo, "--maildir", str(tmp_path / "notmaildir")).output
    assert run(repo).exit_code == 2
    both = run(repo, "imaps://u@h/INBOX", "--mbox", str(repo / "mkdocs.yml"))
    assert both.exit_code == 2 and "exactly one source" in both.output
    local_move = run(repo, "--maildir", str(tmp_path / "notmaildir"), "--move-to", "X")
    assert local_move.exit_code == 2 and "only apply to an IMAP URL" in local_move.output
    for url, words in [("pop3://u@h/INBOX", "expected an imaps://"),
                       ("imaps://h/INBOX", "user@host"),
                       ("imaps://u@h/Bo%C3%AEte", "printable ASCII"),
                       ("imaps://u@h:99999/INBOX", "out of range")]:
        bad = run(repo, url)
        assert bad.exit_code == 2 and words in bad.output, (url, bad.output)
    same = run(repo, "imaps://u@h/INBOX", "--move-to", "INBOX")
    assert same.exit_code == 2 and "mailbox being fetched" in same.output


def test_fetch_refuses_while_another_runs(repo: Path, tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(make_message(1))
    with files.lock(repo / "inbox" / ".fetch.lock", "temoin fetch"):
        busy = run(repo, "--maildir", str(tmp_path / "Maildir"))
    assert busy.exit_code == 1 and "another temoin fetch is running" in busy.output
    assert eml_names(repo) == set()


def test_read_password_file_strips_one_newline(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("s3cret \n")
    assert imap_mod.password_from_env({"TEMOIN_IMAP_PASSWORD_FILE": str(path),
                                       "TEMOIN_IMAP_PASSWORD": "other"}) == "s3cret "
    path.write_text("one\ntwo\n")
    with pytest.raises(TemoinError, match="on one line"):
        imap_mod.password_from_env({"TEMOIN_IMAP_PASSWORD_FILE": str(path)})
    assert os.environ.get("TEMOIN_IMAP_PASSWORD") != "other"


def test_seqset_round_trips() -> None:
    uids = {1, 2, 3, 4, 7, 9, 10, 200}
    assert imap_mod.seqset(uids) == "1:4,7,9:10,200"
    assert imap_mod.parse_seqset(imap_mod.seqset(uids)) == uids
    assert imap_mod.parse_seqset("1:x") == set()


# -- a hostile server ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert.pem, key.pem) for hostile servers."""
    return imap_server.make_certificate(tmp_path_factory.mktemp("hostile"))


@pytest.fixture
def hostile(certificate: tuple[Path, Path]) -> Iterator[Callable[..., HostileServer]]:
    """Start hostile IMAP servers on 127.0.0.1 (tests/hostile_imap.py); closed after the test."""
    started: list[HostileServer] = []

    def start(mode: str, message: bytes = b"", declared: int | None = None) -> HostileServer:
        server = HostileServer(*certificate, mode, message, declared)
        started.append(server)
        return server
    yield start
    for server in started:
        server.close()


def hostile_url(server: HostileServer) -> str:
    return f"imaps://tester@127.0.0.1:{server.port}/INBOX"


def fetch_in_child(repo: Path, server: HostileServer, ca_file: Path) -> tuple[int, str, int]:
    """`temoin fetch` in a child process: (exit code, output, its peak RSS in bytes)."""
    out = repo.parent / "fetch.out"
    src = str(Path(fetch_mod.__file__).resolve().parents[1])
    env = {**online_env(), "PYTHONPATH": src}
    peak = repo.parent / "fetch.peak"
    with out.open("wb") as f:
        # A small launcher forks fetch and reads its rusage: a process forked straight from
        # this test worker would count the worker's own memory in its peak (ru_maxrss keeps
        # the pre-exec figure), and a worker deep into a run holds far more than fetch.
        proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(peak), sys.executable,
                                 "-m", "temoin", "--repo", str(repo), "fetch",
                                 hostile_url(server), "--ca-file", str(ca_file)],
                                stdout=f, stderr=subprocess.STDOUT, env=env)
        proc.wait()
    return proc.returncode, out.read_text(), int(peak.read_text()) * 1024  # Linux: KiB


# Runs argv[2:] as a child, writes its peak RSS (KiB) to argv[1], exits with its code.
LAUNCHER = """import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def custody_actions(repo: Path) -> list[str]:
    return [str(e["action"]) for e in logged(repo)]


PEAK = 100 * 10**6  # bytes: the memory bound for fetch against a hostile server


def test_fetch_refuses_a_huge_literal_without_reading_it(
        repo: Path, hostile: Callable[..., HostileServer], certificate: tuple[Path, Path],
        password_file: Path) -> None:
    server = hostile("huge-literal", declared=1000)  # says 1000 bytes, sends 300 MiB
    code, output, peak = fetch_in_child(repo, server, certificate[0])
    assert code == 1, output
    assert f"gave up on 127.0.0.1:{server.port}: the server announced a {HUGE}-byte literal " \
           f"where at most {imap_mod.CHUNK} bytes were asked for" in output
    assert "Traceback" not in output
    assert peak < PEAK, f"peak memory {peak / 1e6:.0f} MB"
    assert server.sent < 32 << 20  # the rest of the 300 MiB was never downloaded
    assert eml_names(repo) == set() and not list((repo / "inbox").glob(".fetch-*.part"))
    assert custody_actions(repo) == ["refused", "fetch_refused"]
    [record] = (repo / "inbox" / "quarantine").glob("refused-*.reason")
    assert f"{HUGE}-byte literal" in record.read_text()
    # The next run skips that message instead of stumbling on it again, and says so.
    again = run(repo, hostile_url(server), "--ca-file", str(certificate[0]))
    assert again.exit_code == 0, again.output
    assert again.output == ("fetched 0 new, 0 already known, 1 refused and left at the source "
                            "(read inbox/quarantine/*.reason)\n")
    assert server.body_requests == 1
    assert custody.verify(repo) == []


def test_fetch_cuts_an_endless_message_at_the_limit(
        tmp_path: Path, hostile: Callable[..., HostileServer], certificate: tuple[Path, Path],
        password_file: Path) -> None:
    limit = 8 << 20
    repo = make_repo(tmp_path / "repo", max_submission_bytes=limit)
    server = hostile("endless", declared=5000)  # declares 5000 bytes, never ends
    code, output, peak = fetch_in_child(repo, server, certificate[0])
    assert code == 0, output
    assert "fetched 0 new, 0 already known, 1 refused and left at the source" in output
    assert peak < PEAK, f"peak memory {peak / 1e6:.0f} MB"
    # 8 full chunks and one byte more: at most the limit plus framing, then it stops.
    assert server.body_requests == limit // imap_mod.CHUNK + 1
    assert limit < server.sent < limit + (64 << 10)
    assert eml_names(repo) == set() and not list((repo / "inbox").glob(".fetch-*.part"))
    [entry] = [e for e in logged(repo) if e["action"] == "refused"]
    assert entry["size"] == limit + 1
    assert "then sent more than max_submission_bytes" in entry["reason"]


def test_fetch_gives_up_on_a_flood(repo: Path, hostile: Callable[..., HostileServer],
                                   certificate: tuple[Path, Path], password_file: Path) -> None:
    server = hostile("flood", declared=1000)
    result = run(repo, hostile_url(server), "--ca-file", str(certificate[0]))
    assert result.exit_code == 1, result.output
    assert f"more than {imap_mod.MAX_RESPONSES} responses to one command (the server floods)" \
        in result.output and "broken or hostile" in result.output
    assert custody_actions(repo) == ["refused", "fetch_refused"]


def test_fetch_refuses_an_endless_greeting(repo: Path, hostile: Callable[..., HostileServer],
                                           certificate: tuple[Path, Path],
                                           password_file: Path) -> None:
    server = hostile("long-line")
    result = run(repo, hostile_url(server), "--ca-file", str(certificate[0]))
    assert result.exit_code == 1, result.output
    assert (f"cannot connect: a response line longer than {imap_mod.MAX_LINE} bytes"
            in result.output)
    assert server.sent < 16 << 20  # what the socket buffers took before the client hung up
    assert custody_actions(repo) == ["fetch_refused"]


def test_fetch_gives_up_on_a_silent_server(repo: Path, hostile: Callable[..., HostileServer],
                                           certificate: tuple[Path, Path],
                                           password_file: Path) -> None:
    server = hostile("stall")
    with pytest.raises(fetch_mod.FetchError) as caught:
        fetch_mod.fetch_imap(config_mod.load(repo), hostile_url(server),
                             ca_file=certificate[0], timeout=0.5)
    assert "the server sent nothing for 0.5 s (it stalls)" in caught.value.message
    assert "run the same `temoin fetch` again later" in caught.value.message
    assert [e["reason"] for e in logged(repo)] == [
        "cannot connect: the server sent nothing for 0.5 s (it stalls)"]


def test_fetch_gives_up_on_a_server_that_drips(repo: Path,
                                               hostile: Callable[..., HostileServer],
                                               certificate: tuple[Path, Path],
                                               password_file: Path) -> None:
    server = hostile("drip", declared=1000)  # a byte every 0.1 s: never silent, never done
    started = time.monotonic()
    with pytest.raises(fetch_mod.FetchError, match=r"no complete answer within 1 s"):
        fetch_mod.fetch_imap(config_mod.load(repo), hostile_url(server),
                             ca_file=certificate[0], timeout=5, deadline=1)
    assert time.monotonic() - started < 4
    assert custody_actions(repo) == ["fetch_refused"]  # slow is not held against the message
    assert not list((repo / "inbox" / "quarantine").iterdir())


def test_fetch_reads_an_honest_server_in_chunks(repo: Path,
                                                hostile: Callable[..., HostileServer],
                                                certificate: tuple[Path, Path],
                                                password_file: Path) -> None:
    message = make_message(1, size=3 * imap_mod.CHUNK)  # the control: bounds let it through
    server = hostile("honest", message)
    result = run(repo, hostile_url(server), "--ca-file", str(certificate[0]))
    assert result.exit_code == 0, result.output
    assert (repo / "inbox" / f"{sha(message)}.eml").read_bytes() == message


def test_status_reports_quarantine_disk_use(repo: Path) -> None:
    qdir = repo / "inbox" / "quarantine"
    qdir.mkdir(parents=True)
    (qdir / "old.eml").write_bytes(b"x" * 3_000_000)  # a full copy an earlier version kept
    (qdir / "old.eml.reason").write_text("too large\n")
    result = CliRunner().invoke(main, ["--repo", str(repo), "status"])
    assert result.exit_code == 0, result.output
    assert "quarantine: 1, 3.0 MB on disk (read inbox/quarantine/*.reason)" in result.output
    assert "Refused by fetch" not in result.output
