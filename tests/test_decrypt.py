"""Keyring.decrypt against the committed corpus of real clients' output and hostile files.

The corpus (tests/fixtures/corpus/, made by make_corpus.py with GnuPG 1.4 and 2.2, Sequoia,
RNP, PGPainless, OpenPGP.js and PGPy) is decrypted with real gpg and the test-only keys.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from temoin import keys
from temoin.errors import ConfigError
from temoin.intake import mime
from temoin.keys.decrypt import _Stderr

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = FIXTURES / "corpus"
KEYS = FIXTURES / "keys"
KEY_INDEX = json.loads((KEYS / "keys.json").read_text())
ENTRIES = json.loads((CORPUS / "manifest.json").read_text())["entries"]
OK = [e for e in ENTRIES if e["expect"] == "ok"]
REFUSED = [e for e in ENTRIES if e["expect"] == "refused" and "bomb" not in e["file"]]
BOMBS = [e for e in ENTRIES if "bomb" in e["file"]]


def editors_keyring(home: Path, passphrase: str | None = None) -> keys.Keyring:
    """A keyring holding what the editors hold: inbox secrets, known sources' public keys."""
    kr = keys.Keyring(home, passphrase=passphrase)
    for name in ("inbox", "inbox-rsa", "inbox-old"):
        kr.import_keys((KEYS / f"{name}.sec.asc").read_bytes())
    for name in ("source", "source-rsa"):
        kr.import_keys((KEYS / f"{name}.pub.asc").read_bytes())
    return kr


def kill_agent(home: Path) -> None:
    """tests.helpers.stop_gpg, which BOMB_PROBE's child (importing this file alone, from
    tests/) cannot import."""
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False,
                   capture_output=True)


@pytest.fixture(scope="module")
def editors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[keys.Keyring]:
    """The editors' keyring in a throwaway 0700 GNUPGHOME, shared by this module's tests."""
    home = tmp_path_factory.mktemp("gnupg")
    yield editors_keyring(home)
    kill_agent(home)


def corpus_bytes(entry: dict[str, object]) -> bytes:
    data = (CORPUS / str(entry["file"])).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["file_sha256"], "corpus file changed"
    return data


def corpus_message(entry: dict[str, object]) -> bytes:
    """The OpenPGP message of an entry: the file, or the encrypted body of an email."""
    data = corpus_bytes(entry)
    return mime.open_envelope(data).ciphertexts[0] if entry.get("envelope") else data


def test_corpus_covers_every_client_and_hostile_kind() -> None:
    tools = {e["tool"] for e in OK}
    assert {"gpg1", "gpg2", "sq", "rnp", "pgpainless", "openpgpjs5", "openpgpjs6",
            "pgpy"} <= tools
    assert {e["encoding"] for e in OK} >= {"utf-8", "latin-1", "windows-1252", "utf-16"}
    for flag in ("hidden_recipient", "armor"):
        assert any(e[flag] for e in OK) and any(not e[flag] for e in OK)
    assert any(len(e["recipients"]) > 2 for e in OK)
    assert {e["signature_valid"] for e in OK} == {True, False, None}
    assert {e["reason"] for e in REFUSED + BOMBS} >= {
        "empty", "not encrypted", "OpenPGP key", "key we do not hold", "symmetric",
        "integrity", "truncated", "malformed", "compression bomb", "unsupported"}
    # Files sent as OpenPGP data: every tool here, bare and in both kinds of email.
    files = [e for e in OK if e.get("files")]
    assert {e["tool"] for e in files} >= {"gpg2", "pgpy", "pysequoia"}
    assert {e.get("envelope") for e in files} == {None, "attached", "pgp-mime"}
    assert {e["literal_format"] for e in files} >= {"b", "t"}
    assert any(e["literal_name"] for e in files) and any(not e["literal_name"] for e in files)


@pytest.mark.parametrize("entry", OK, ids=[e["file"] for e in OK])
def test_decrypt_accepts_client_output(editors: keys.Keyring, entry: dict) -> None:
    res = editors.decrypt(corpus_message(entry))
    assert res.ok, res.reason
    assert res.reason == ""
    assert hashlib.sha256(res.plaintext).hexdigest() == entry["plaintext_sha256"]
    if "literal_format" in entry:
        assert (res.literal_format, res.literal_name) == (entry["literal_format"],
                                                          entry["literal_name"])
    if entry.get("files") and not entry.get("envelope"):
        # the literal's bytes are the original file's, whatever the tool and format
        [f] = entry["files"]
        assert hashlib.sha256(res.plaintext).hexdigest() == f["sha256"]
        assert res.plaintext == (CORPUS / f["original"]).read_bytes()
    if entry["text_file"] and not entry.get("envelope"):
        text = (CORPUS / entry["text_file"]).read_text(encoding="utf-8")
        assert res.plaintext.decode(entry["encoding"]).replace("\r\n", "\n") == text
    want = KEY_INDEX[entry["recipient_key"]]["fingerprint"] if entry["recipients"] else ""
    if len(entry["recipients"]) == 1:
        assert res.decryption_key == want
    else:
        ours = {KEY_INDEX[k]["fingerprint"] for k in ("inbox", "inbox-rsa", "inbox-old")}
        assert res.decryption_key in ours
    if entry["signer"]:
        # a known signer is named by fingerprint; an unknown one at least by key id
        assert len(res.signer) >= 16 and entry["signer"].endswith(res.signer)
        assert res.signature_valid is entry["signature_valid"]
    else:
        assert (res.signer, res.signature_valid) == ("", False)
    if entry["hidden_recipient"]:
        assert "0000000000000000" in res.recipients


@pytest.mark.parametrize("entry", REFUSED, ids=[e["file"] for e in REFUSED])
def test_decrypt_refuses_hostile_input(editors: keys.Keyring, entry: dict) -> None:
    data = corpus_bytes(entry)
    res = editors.decrypt(data)
    assert not res.ok
    assert res.plaintext == b""
    assert entry["reason"] in res.reason
    assert "\n" not in res.reason and len(res.reason) < 200
    # never any of the submission's text in the reason, whatever gpg printed
    for name in (p.stem for p in (CORPUS / "plaintexts").glob("*.txt")):
        words = (CORPUS / "plaintexts" / f"{name}.txt").read_text().split()
        assert not any(w in res.reason for w in words if len(w) > 6)


def test_decrypt_still_works_with_old_inbox_key(editors: keys.Keyring) -> None:
    entry = next(e for e in OK if e["recipients"] == ["inbox-old"])
    res = editors.decrypt(corpus_bytes(entry))
    assert res.ok, res.reason
    assert res.decryption_key == KEY_INDEX["inbox-old"]["fingerprint"]


def test_decrypt_refuses_message_once_old_key_is_gone(tmp_path: Path) -> None:
    kr = keys.Keyring(tmp_path / "g")
    kr.import_keys((KEYS / "inbox.sec.asc").read_bytes())
    entry = next(e for e in OK if e["recipients"] == ["inbox-old"])
    try:
        res = kr.decrypt(corpus_bytes(entry))
    finally:
        kill_agent(kr.home)
    assert not res.ok and "key we do not hold" in res.reason
    assert KEY_INDEX["inbox-old"]["encryption_subkeys"][0][-16:] in res.reason


def test_decrypt_reports_unknown_signer_without_refusing(editors: keys.Keyring) -> None:
    entry = next(e for e in OK if e["signer_key"] == "source-unknown")
    res = editors.decrypt(corpus_bytes(entry))
    assert res.ok and res.signature_valid is False
    assert KEY_INDEX["source-unknown"]["fingerprint"].endswith(res.signer)


def test_decrypt_drops_plaintext_gpg_wrote_before_failing(editors: keys.Keyring) -> None:
    # Raw gpg really does write these plaintexts before it reports the failure (EFAIL):
    # the refusal is Témoin's doing, not gpg's silence.
    for name in ("hostile/no-mdc-aes256.gpg", "hostile/tampered-middle.gpg",
                 "hostile/plaintext-prepended.gpg"):
        data = (CORPUS / name).read_bytes()
        raw = subprocess.run(["gpg", "--homedir", str(editors.home), "--batch", "--decrypt"],
                             input=data, capture_output=True, check=False)
        assert raw.stdout and raw.returncode != 0, name
        res = editors.decrypt(data)
        assert not res.ok and res.plaintext == b"", name


def test_decrypt_reports_the_literal_format_and_file_name(editors: keys.Keyring,
                                                         tmp_path: Path) -> None:
    """From gpg's PLAINTEXT status line: the format letter, and the sender's file name
    unescaped (gpg writes '%', space and controls as %XX), untrusted bytes and all."""
    doc = tmp_path / "rapport médical 100%.pdf"
    doc.write_bytes(b"%PDF-1.3\n%\xe9\xeb\xf1\xbf\nfictif\n")
    inbox = KEY_INDEX["inbox"]["fingerprint"]
    base = ["gpg", "--homedir", str(editors.home), "--batch", "--trust-model", "always",
            "--recipient", inbox, "--output", "-"]
    hostile = "x\x01\u202egpj.pdf"
    for extra, fmt, name in (([str(doc)], "b", doc.name),
                             (["--set-filename", hostile, str(doc)], "b", hostile),
                             (["--textmode", "--set-filename", "", str(doc)], "t", "")):
        ct = subprocess.run([*base, *extra[:-1], "--encrypt", extra[-1]], check=True,
                            capture_output=True).stdout
        res = editors.decrypt(ct)
        assert res.ok, res.reason
        assert (res.literal_format, res.literal_name) == (fmt, name)
        assert res.plaintext == doc.read_bytes()


def test_decrypt_reports_cipher_and_hidden_recipient(editors: keys.Keyring) -> None:
    res = editors.decrypt((CORPUS / "ok/gpg2-inbox-hidden-utf8.asc").read_bytes())
    assert res.ok and res.session_key_algo == "AES256"
    assert res.recipients == ("0000000000000000",)
    assert res.decryption_key == KEY_INDEX["inbox"]["fingerprint"]


def test_decrypt_stops_gpg_after_timeout(editors: keys.Keyring) -> None:
    bomb = (CORPUS / "hostile/bomb-bzip2-1gib.gpg").read_bytes()
    res = editors.decrypt(bomb, max_output=2 << 30, timeout=0.2)
    assert not res.ok and res.plaintext == b""
    assert "did not finish within 0.2 s" in res.reason


def test_decrypt_refuses_output_over_a_small_limit(editors: keys.Keyring) -> None:
    entry = next(e for e in OK if e["file"].endswith("gpg2-inbox-armor-utf8.asc"))
    res = editors.decrypt(corpus_bytes(entry), max_output=40)
    assert not res.ok and res.plaintext == b""
    assert "compression bomb" in res.reason and "40 bytes" in res.reason


def test_decrypt_refuses_junk_armor_keeping_gpg_log_bounded(editors: keys.Keyring) -> None:
    # gpg logs one line per bad character: 256 KB of junk is ~11 MB of log.
    junk = b"-----BEGIN PGP MESSAGE-----\n\n" + (b"!" * 64 + b"\n") * 4000
    res = editors.decrypt(junk + b"-----END PGP MESSAGE-----\n")
    assert not res.ok and "malformed armor" in res.reason
    kept = _Stderr()
    kept.read(io.BytesIO(b"gpg: invalid radix64 character 21 skipped\n" * 200_000
                         + b"[GNUPG:] NODATA 3\ngpg: CRC error; 000000 - 123456\n"))
    assert len(kept.log()) < 100_000 and kept.log().endswith("123456\n")
    assert kept.status() == "[GNUPG:] NODATA 3\n" and not kept.flooded


# -- passphrases --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[keys.Keyring, bytes]]:
    """A keyring whose only key has a passphrase, and a message encrypted to it."""
    home = tmp_path_factory.mktemp("locked")
    # Témoin's agent settings (no passphrase cache), with the cheapest key-protection S2K
    # so generating and unlocking take milliseconds, not seconds, on a busy CI machine.
    (home / "gpg-agent.conf").write_text(keys.AGENT_CONF + "s2k-count 65536\n")
    kr = keys.Keyring(home, passphrase="correct horse é")
    fpr = kr.generate("Locked Test", "locked@temoin.invalid", passphrase="correct horse é")
    message = kr.encrypt("Témoignage fictif verrouillé\n".encode(), [fpr])
    yield kr, message
    kill_agent(kr.home)


def test_decrypt_fails_wrong_passphrase_right_after_right_one(
        locked: tuple[keys.Keyring, bytes]) -> None:
    kr, message = locked
    assert kr.decrypt(message).ok  # the right (non-ASCII) passphrase
    kr.passphrase = "wrong horse"
    res = kr.decrypt(message)
    assert not res.ok and res.plaintext == b""
    assert "passphrase" in res.reason
    kr.passphrase = None  # nothing cached by the agent either
    res = kr.decrypt(message)
    kr.passphrase = "correct horse é"
    assert not res.ok and "passphrase" in res.reason


def test_decrypt_refuses_symmetric_message_even_with_editors_passphrase(
        locked: tuple[keys.Keyring, bytes]) -> None:
    # gpg would decrypt it (the passphrase matches): only a session key from one of our
    # secret keys (DECRYPTION_KEY) counts as a message to the inbox.
    kr, _ = locked
    sym = subprocess.run(["gpg", "--homedir", str(kr.home), "--batch", "--pinentry-mode",
                          "loopback", "--passphrase", kr.passphrase, "--symmetric"],
                         input="Texte fictif symétrique\n".encode(), capture_output=True,
                         check=True).stdout
    res = kr.decrypt(sym)
    assert "DECRYPTION_OKAY" in res.status  # gpg itself was satisfied
    assert not res.ok and res.plaintext == b"" and "symmetric" in res.reason


def test_one_gpg_run_decrypts_many_messages_with_one_passphrase(
        locked: tuple[keys.Keyring, bytes]) -> None:
    """What a build does with the private parts that changed (`cases.read_privates`): one
    `--decrypt-files` run (retry off: no message is decrypted again alone) unlocks the key
    once for all of them, although the agent caches no passphrase; a wrong one opens none."""
    kr, message = locked
    batch = [message, b"not OpenPGP at all", message, message]
    plains = kr.decrypt_many(batch, retry=False)
    assert plains == [b"T\xc3\xa9moignage fictif verrouill\xc3\xa9\n", None, *[plains[0]] * 2]
    kr.passphrase = "wrong horse"
    try:
        assert kr.decrypt_many([message, message], retry=False) == [None, None]
    finally:
        kr.passphrase = "correct horse é"


def test_many_messages_without_a_tmpfs_are_decrypted_through_pipes_not_a_disk(
        locked: tuple[keys.Keyring, bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    """On a machine whose /dev/shm (and every other candidate) is a disk, one
    `--decrypt-files` run would have gpg write every plaintext to a disk folder: each
    message is decrypted alone through a pipe instead, with the same plaintexts (and the
    same refusal of a non-message). Every folder made on the way is checked against the
    machine's mounts as this test presents them."""
    import tempfile

    from temoin import tmpfs

    kr, message = locked
    monkeypatch.setattr(tmpfs, "_mounts", lambda: [("/", "ext4")])  # no RAM anywhere
    monkeypatch.delenv("TEMOIN_TMPDIR", raising=False)
    made: list[str] = []
    real = tempfile.mkdtemp

    def spy(*args: object, **kwargs: object) -> str:
        made.append(real(*args, **kwargs))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", spy)
    plains = kr.decrypt_many([message, b"not OpenPGP at all", message], retry=False)
    assert plains == [b"T\xc3\xa9moignage fictif verrouill\xc3\xa9\n", None, plains[0]]
    assert [d for d in made if not tmpfs.is_tmpfs(Path(d))] == []


def test_passphrase_file_with_newline_is_refused(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "pw"
    f.write_bytes(b"correct horse\n")
    monkeypatch.setenv("TEMOIN_PASSPHRASE_FILE", str(f))
    with pytest.raises(ConfigError, match="newline"):
        keys.passphrase_from_env()
    f.write_bytes(b"correct horse")
    assert keys.passphrase_from_env() == "correct horse"


# -- compression bomb: bounded time and memory ----------------------------------------------
BOMB_PROBE = """
import json, resource, subprocess, sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_decrypt import editors_keyring
kr = editors_keyring(Path({home!r}))

def hwm_kb():
    # This process's own peak (VmHWM starts afresh at exec; ru_maxrss would also count the
    # test worker it was forked from, which can be far larger than anything measured here).
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

runs = []
for bomb in {bombs!r}:
    data = Path(bomb).read_bytes()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu0, t = cpu(), time.monotonic()
    res = kr.decrypt(data)  # the default limit, 64 MiB
    runs.append({{"file": bomb, "ok": res.ok, "reason": res.reason,
                 "plaintext": len(res.plaintext), "wall": time.monotonic() - t,
                 "gpg_cpu": cpu() - cpu0, "self_before_kb": before,
                 "self_kb": hwm_kb(),
                 "gpg_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}})
# Control: what expanding the whole GiB costs gpg on this machine (output thrown away).
cpu1 = cpu()
subprocess.run(["gpg", "--homedir", {home!r}, "--batch", "--decrypt"], input=data,
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
print(json.dumps({{"runs": runs, "full_cpu": cpu() - cpu1}}))
"""


def test_decrypt_stops_compression_bomb_early(tmp_path: Path) -> None:
    """1.5 KB that expands to 1 GiB: refused at 64 MiB, in bounded memory and time."""
    assert len(BOMBS) == 2  # binary and armored
    code = BOMB_PROBE.format(tests=str(Path(__file__).parent), home=str(tmp_path / "g"),
                             bombs=[str(CORPUS / e["file"]) for e in BOMBS])
    try:
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    finally:
        kill_agent(tmp_path / "g")
    m = json.loads(p.stdout.strip().splitlines()[-1])
    for run in m["runs"]:
        assert not run["ok"] and run["plaintext"] == 0
        assert "compression bomb" in run["reason"]
        # Bounded memory: Python holds at most the 64 MiB limit, gpg streams (ru_maxrss,
        # KiB; a child's figure includes the Python image it was forked from).
        assert run["self_kb"] < 200 * 1024 and run["gpg_kb"] < 200 * 1024, run
        # Stopped early: gpg is killed at the limit instead of inflating the whole GiB
        # (which --max-output alone does not prevent: it only stops the writing).
        assert run["gpg_cpu"] < m["full_cpu"] / 3, m
        assert run["wall"] < 10, run
