"""Hostile surroundings, tried as an adversary would (issue 20, items 3-5).

A mail server that answers with malformed or hostile responses, local mailboxes holding
links, FIFOs and sparse giants, receipts and dossiers built to mislead: each must end in a
clean refusal (exit 1 or 3, no traceback, escaped text), a custody entry where fetch gives
up, and no byte read from outside what the editor named.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from temoin import custody
from temoin.cli import main
from tests import imap_server
from tests.helpers import Org
from tests.hostile_imap import Answer, HostileServer
from tests.test_fetch import LAUNCHER, _editor, logged, make_message, make_repo, online_env, sha
from tests.test_share import Partner as SharePartner
from tests.test_share import full_case, partner, shared
from tests.test_share import run as share_run

# Fixtures used here: the partner of the dossier tests; the editor fetch seals custody to.
__all__ = ["_editor", "partner"]

# -- a hostile IMAPS server scripted command by command (tests/hostile_imap.py) ----------------
MESSAGE = make_message(1)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return imap_server.make_certificate(tmp_path_factory.mktemp("attack-cert"))


@pytest.fixture
def scripted(certificate: tuple[Path, Path],
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Answer], HostileServer]]:
    """Start honest servers holding MESSAGE as UID 1 but for what `answer` scripts."""
    monkeypatch.setenv("TEMOIN_IMAP_PASSWORD", "secret")
    monkeypatch.delenv("TEMOIN_IMAP_PASSWORD_FILE", raising=False)
    started: list[HostileServer] = []

    def start(answer: Answer) -> HostileServer:
        started.append(HostileServer(*certificate, "honest", MESSAGE, answer=answer))
        return started[-1]
    yield start
    for s in started:
        s.close()


def fetch(repo: Path, server: HostileServer, cert: Path) -> Result:
    return CliRunner().invoke(main, ["--repo", str(repo), "fetch",
                                     f"imaps://tester@127.0.0.1:{server.port}/INBOX",
                                     "--ca-file", str(cert)])


def on(command: bytes, response: bytes) -> Answer:
    """Answer `response` (with `{tag}` replaced) to the first command containing `command`."""
    def answer(tag: bytes, rest: bytes) -> bytes | None:
        if command in rest.upper() or (command == b"GREETING" and rest == b"GREETING"):
            return response.replace(b"{tag}", tag)
        return None
    return answer


def clean(result: Result) -> str:
    """The output of a refusal a user can read: exit 1, no traceback, no control character
    (escape sequences, carriage returns) nor bidi override from the server."""
    out = result.output
    assert result.exit_code == 1, (out, result.exception)
    assert not isinstance(result.exception, (ValueError, TypeError, AttributeError,
                                             UnicodeError, IndexError, KeyError)), out
    assert "Traceback" not in out
    assert not [c for c in out if c in "\x1b\r\x07\u202e\u2066"], repr(out)
    return out


DONE = b"{tag} OK done\r\n"
MALFORMED = [
    ("uidvalidity-word", on(b"EXAMINE", b"* 1 EXISTS\r\n* OK [UIDVALIDITY abc] x\r\n" + DONE)),
    ("uidvalidity-5000-digits",
     on(b"EXAMINE", b"* OK [UIDVALIDITY " + b"9" * 5000 + b"] x\r\n" + DONE)),
    ("search-literal", on(b" SEARCH", b"* SEARCH {1}\r\n1\r\n" + DONE)),
    ("search-word", on(b" SEARCH", b"* SEARCH 1 x\r\n" + DONE)),
    ("search-range", on(b" SEARCH", b"* SEARCH 1:4294967295\r\n" + DONE)),
    ("search-5000-digits", on(b" SEARCH", b"* SEARCH " + b"7" * 5000 + b"\r\n" + DONE)),
    ("size-5000-digits",
     on(b"RFC822.SIZE", b"* 1 FETCH (UID 1 RFC822.SIZE " + b"9" * 5000 + b")\r\n" + DONE)),
    ("uid-5000-digits",
     on(b"RFC822.SIZE", b"* 1 FETCH (UID " + b"9" * 5000 + b" RFC822.SIZE 5)\r\n" + DONE)),
    ("literal-5000-digits",
     on(b"BODY.PEEK", b"* 1 FETCH (UID 1 BODY[]<0> {" + b"9" * 5000 + b"}\r\n" + DONE)),
    ("capability-not-ascii",
     on(b"CAPABILITY", b"* CAPABILITY IMAP4rev1 AUTH=PLAIN \xff\r\n" + DONE)),
]


@pytest.mark.parametrize("name,answer", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_fetch_refuses_a_malformed_response_cleanly_with_a_custody_entry(
        tmp_path: Path, scripted: Callable[[Answer], HostileServer],
        certificate: tuple[Path, Path], name: str, answer: Answer) -> None:
    repo = make_repo(tmp_path / "repo")
    out = clean(fetch(repo, scripted(answer), certificate[0]))
    assert "gave up on 127.0.0.1" in out and "malformed" in out, out
    assert [e["action"] for e in logged(repo)][-1] == "fetch_refused"
    assert not list((repo / "inbox").glob("*.eml"))


def test_fetch_keeps_messages_saved_before_a_malformed_response(
        tmp_path: Path, scripted: Callable[[Answer], HostileServer],
        certificate: tuple[Path, Path]) -> None:
    second = make_message(2)

    def answer(tag: bytes, rest: bytes) -> bytes | None:
        if b" SEARCH" in rest.upper():
            return b"* SEARCH 1 2\r\n" + DONE.replace(b"{tag}", tag)
        if b"UID FETCH 2 " in rest.upper() and b"RFC822.SIZE" in rest:
            size = b"1" + b"0" * 4400  # a number Python refuses to parse
            return b"* 2 FETCH (UID 2 RFC822.SIZE " + size + b")\r\n" + DONE.replace(b"{tag}", tag)
        return None
    repo = make_repo(tmp_path / "repo")
    out = clean(fetch(repo, scripted(answer), certificate[0]))
    assert "1 new message(s) were saved before" in out
    assert (repo / "inbox" / f"{sha(MESSAGE)}.eml").read_bytes() == MESSAGE
    assert [e["action"] for e in logged(repo)] == ["received", "fetch_refused"]
    assert sha(second) not in {p.stem for p in (repo / "inbox").glob("*.eml")}


HOSTILE_TEXT = b"\x1b]0;owned\x07\x1b[2J\rall is well \xe2\x80\xae\xe2\x81\xa6"
TEXT_ATTACKS = [
    ("no-to-search", on(b" SEARCH", b"{tag} NO " + HOSTILE_TEXT + b"\r\n")),
    ("no-to-login", on(b"AUTHENTICATE", b"{tag} NO " + HOSTILE_TEXT + b"\r\n")),
    ("bye-during-search", on(b" SEARCH", b"* BYE " + HOSTILE_TEXT + b"\r\n")),
    ("bad-to-select", on(b"EXAMINE", b"{tag} NO " + HOSTILE_TEXT + b"\r\n")),
]


@pytest.mark.parametrize("name,answer", TEXT_ATTACKS, ids=[m[0] for m in TEXT_ATTACKS])
def test_fetch_shows_server_text_escaped(
        tmp_path: Path, scripted: Callable[[Answer], HostileServer],
        certificate: tuple[Path, Path], name: str, answer: Answer) -> None:
    repo = make_repo(tmp_path / "repo")
    out = clean(fetch(repo, scripted(answer), certificate[0]))
    assert "all is well" in out  # shown, but as text: \x1b, \r and bidi escaped


# -- local mailboxes handed over for import ------------------------------------------------------
def fetch_child(repo: Path, *args: str, timeout: float = 120) -> tuple[int, str, int]:
    """`temoin fetch ARGS` in a child process (killed after `timeout` s, address space capped
    at 1 GB so a failure cannot hurt the machine): (exit code, output, peak RSS in bytes)."""
    out = repo.parent / "fetch.out"
    env = {**online_env(), "PYTHONPATH": str(Path(custody.__file__).resolve().parents[1])}

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    peak = repo.parent / "fetch.peak"
    with out.open("wb") as f:
        # Through the small launcher of test_fetch: a child forked from this worker would
        # count the worker's memory in its own peak. The cap applies to both processes.
        proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(peak), sys.executable,
                                 "-m", "temoin", "--repo", str(repo), "fetch", *args],
                                stdout=f, stderr=subprocess.STDOUT, env=env,
                                preexec_fn=cap, start_new_session=True)
        timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
        timer.start()
        try:
            proc.wait()
        finally:
            timer.cancel()
    used = int(peak.read_text()) if peak.exists() else 1 << 40
    return proc.returncode, out.read_text(errors="replace"), used * 1024


SECRET = b"-----BEGIN PGP PRIVATE KEY BLOCK-----\nSECRET-KEY-MATERIAL-7Q2W\n"


def inbox_bytes(repo: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted((repo / "inbox").rglob("*.eml")))


def maildir(folder: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True)
    return folder


def test_maildir_import_reads_nothing_outside_the_maildir(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "gnupg" / "private.key"
    secret.parent.mkdir()
    secret.write_bytes(SECRET)
    monkeypatch.setenv("TEMOIN_IMAP_PASSWORD", "SECRET-PASSWORD-3K8D")
    box = maildir(tmp_path / "Maildir")
    (box / "new" / "1.honest").write_bytes(MESSAGE)
    (box / "cur" / "2.link:2,S").symlink_to(secret)  # a message that is a link to a key
    (box / "new" / "3.environ").symlink_to("/proc/self/environ")  # the fetch's own secrets
    (box / "new" / "4.up").symlink_to("../../gnupg/private.key")
    os.mkfifo(box / "new" / "5.fifo")  # opening it would wait for a writer forever
    repo = make_repo(tmp_path / "repo")
    code, out, _ = fetch_child(repo, "--maildir", str(box), timeout=60)
    assert code == 0, out
    assert "fetched 1 new, 0 already known, 4 refused and left at the source" in out, out
    assert inbox_bytes(repo) == MESSAGE
    reasons = "".join(p.read_text() for p in (repo / "inbox" / "quarantine").glob("*.reason"))
    assert reasons.count("not a regular file (a symbolic link)") == 3, reasons
    assert "not a regular file (a FIFO)" in reasons
    assert "SECRET" not in reasons
    # a second run refuses nothing new and still reads nothing outside
    code, out, _ = fetch_child(repo, "--maildir", str(box), timeout=60)
    assert code == 0 and "fetched 0 new, 1 already known, 4 refused" in out, out
    assert inbox_bytes(repo) == MESSAGE


def test_maildir_whose_folders_are_links_elsewhere_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "gnupg"
    elsewhere.mkdir()
    (elsewhere / "private.key").write_bytes(SECRET)
    box = maildir(tmp_path / "Maildir")
    (box / "cur").rmdir()
    (box / "cur").symlink_to(elsewhere)
    repo = make_repo(tmp_path / "repo")
    result = CliRunner().invoke(main, ["--repo", str(repo), "fetch", "--maildir", str(box)])
    assert result.exit_code == 1, result.output
    assert "not a Maildir" in result.output and "Traceback" not in result.output
    assert inbox_bytes(repo) == b""


def test_mbox_of_one_endless_sparse_line_keeps_memory_and_disk_bounded(tmp_path: Path) -> None:
    limit = 4 << 20
    mbox = tmp_path / "giant.mbox"
    with mbox.open("wb") as f:  # one honest message, then a 3 GB message of NUL bytes
        f.write(b"From a@example.org Thu Jan  1 00:00:00 2025\n" + MESSAGE.replace(b"\r\n", b"\n")
                + b"\nFrom b@example.org Thu Jan  1 00:00:00 2025\nSubject: x\n\n")
        f.truncate(3 << 30)  # sparse: no disk used (10 GB behaves the same, only slower)
    repo = make_repo(tmp_path / "repo", max_submission_bytes=limit)
    code, out, peak = fetch_child(repo, "--mbox", str(mbox))
    assert code == 0, out
    assert "fetched 1 new, 0 already known, 1 refused and left at the source" in out, out
    assert peak < 100 * 10**6, f"peak memory {peak / 1e6:.0f} MB"
    assert inbox_bytes(repo) == MESSAGE.replace(b"\r\n", b"\n")
    [refused] = [e for e in logged(repo) if e["action"] == "refused"]
    assert refused["size"] > limit and "too large" in refused["reason"]


def test_mbox_of_millions_of_from_lines_keeps_memory_bounded(tmp_path: Path) -> None:
    mbox = tmp_path / "froms.mbox"
    mbox.write_bytes(b"From \n" * 5_000_000)  # 5 million empty messages, 30 MB
    repo = make_repo(tmp_path / "repo")
    code, out, peak = fetch_child(repo, "--mbox", str(mbox))
    assert code == 0, out
    assert "fetched 0 new" in out
    assert peak < 100 * 10**6, f"peak memory {peak / 1e6:.0f} MB"


def test_mbox_that_is_a_fifo_or_device_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "box.mbox"
    os.mkfifo(fifo)
    repo = make_repo(tmp_path / "repo")
    for given in (fifo, Path("/dev/zero")):
        code, out, _ = fetch_child(repo, "--mbox", str(given), timeout=30)
        assert code in (1, 2) and "Traceback" not in out, out


# -- dossiers and receipts ------------------------------------------------------------------------
@pytest.mark.parametrize("group", ["victims", "sources"])
def test_share_refuses_when_a_persons_refusal_sits_in_an_unexpected_shape(
        org: Org, partner: SharePartner, tmp_path: Path, group: str) -> None:
    """A person who refused sharing stays refused whatever the shape of the list holding
    them (a mapping instead of a list): a consent check must fail closed."""
    people = {"v1": {"full_name": "Jean CANARYNAME", "share_consent": []}}
    case = full_case(org, ["lawyer"], **{group: people})
    result = share_run(org, "share", case.id, "--to", "Avocats <Test>", "-o",
                       str(tmp_path / "d.pgp"))
    assert result.exit_code == 4, result.output
    assert f"case {case.id}: {group}{{0}} did not consent to sharing with lawyer" \
        in result.output
    assert "CANARYNAME" not in result.output and "v1" not in result.output
    assert not (tmp_path / "d.pgp").exists()


def hostile_key_runs(org: Org, out: Path, key: Path, *extra: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(custody.__file__).resolve().parents[1])}
    for hostile in ("/dev/zero", "fifo", "big"):
        if key.exists() or key.is_symlink():
            key.unlink()
        if hostile == "fifo":
            os.mkfifo(key)
        elif hostile == "big":
            with key.open("wb") as f:
                f.truncate(2 << 30)
        else:
            key.symlink_to(hostile)
        proc = subprocess.run([sys.executable, "-m", "temoin", "--repo", str(org.repo),
                               "receipt", str(out), *extra], capture_output=True, text=True,
                              env=env, timeout=60, preexec_fn=lambda: resource.setrlimit(
                                  resource.RLIMIT_AS, (1 << 30, 1 << 30)))
        assert proc.returncode in (1, 3), (hostile, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr and "organisation's public key" in proc.stderr


def test_receipt_reads_a_given_organisation_key_bounded(org: Org, partner: SharePartner,
                                                        tmp_path: Path) -> None:
    """`--key FILE` a link to /dev/zero, a FIFO or 2 GB: refused, never hangs or fills memory."""
    out = shared(org, tmp_path, "dossier.pgp")
    key = tmp_path / "org-key.asc"
    key.write_text("x")
    hostile_key_runs(org, out, key, "--key", str(key))


def test_receipt_reads_the_repository_organisation_key_bounded(
        org: Org, partner: SharePartner, tmp_path: Path) -> None:
    """keys/inbox.asc comes from the repository: a link to /dev/zero or a FIFO there must
    not hang `temoin receipt` or fill its memory."""
    out = shared(org, tmp_path, "dossier.pgp")
    hostile_key_runs(org, out, org.repo / "keys" / "inbox.asc")
