"""keys.inline: confidential parts decrypted by one gpg run, their inner signatures checked in
process (Sequoia), give the verdicts of gpg decrypting and verifying each one alone
(`Signers.judge`). The same corpus of parts, good and bad signatures made by real gpg (and
by Sequoia, as Témoin writes them), goes through both paths."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from temoin import keys
from temoin.keys import inline, packets, verify
from temoin.keys.signers import Opened, Signers
from temoin.keys.vault import Vault
from tests.helpers import stop_gpg
from tests.test_decrypt import BOMBS, ENTRIES, corpus_message, editors_keyring
from tests.test_verify_inprocess import DAY, HOUR, NOW, T0
from tests.test_verify_inprocess import Signers as Homes

LIMIT = 64 * 1024 * 1024
PART = (b"# temoin: the private part of BI-2025-AAAAAA, version 1, signed by its writer\n"
        b"testimony: une phrase qui ne doit jamais sortir\n")
BIG = PART + b"notes: " + b"x" * 100_000 + b"\n"  # partial body lengths in gpg's literal


@dataclass
class Corpus:
    editor: keys.Keyring          # holds the editor's secret key: decrypts
    signers: Signers              # who may sign: keys/ files, the trust root's roster
    items: dict[str, bytes]       # name: ciphertext
    fprs: dict[str, str]


def _build(s: Homes, editor: str) -> dict[str, bytes]:
    ed = s.key("ed", "sign,cert")
    rsa = s.key("rsa", "sign,cert", algo="rsa2048")
    sub = s.key("sub", "cert")
    s.subkey(sub, "sign")
    stranger = s.key("stranger", "sign,cert")  # in keys/, not named by the trust root
    outsider = s.key("outsider", "sign,cert")  # not in keys/

    def seal(fpr: str | None, data: bytes = PART, *options: str, when: int | None = None
             ) -> bytes:
        sign = ["--local-user", fpr, "--sign"] if fpr else []
        return s.gpg("--trust-model", "always", "--recipient", editor, *sign, *options,
                     "--encrypt", data=data, when=when)

    out = {"ed": seal(ed, PART, "--compress-algo", "none"),
           "ed armored": seal(ed, PART, "--compress-algo", "none", "--armor"),
           "ed compressed": seal(ed),
           "rsa": seal(rsa, PART, "--compress-algo", "none"),
           "signing subkey": seal(sub, PART, "--compress-algo", "none"),
           "big": seal(ed, BIG, "--compress-algo", "none"),
           "empty": seal(ed, b"", "--compress-algo", "none"),
           "sha1": seal(ed, PART, "--compress-algo", "none", "--digest-algo", "SHA1"),
           "text mode": seal(ed, PART.replace(b"\n", b"\r\n"), "--compress-algo", "none",
                             "--textmode"),
           "signature expiring later": seal(ed, PART, "--compress-algo", "none",
                                            "--default-sig-expire", "1y"),
           "signature expired": seal(ed, PART, "--compress-algo", "none",
                                     "--default-sig-expire", "1d", when=T0 + HOUR),
           "made in the future": seal(ed, PART, "--compress-algo", "none",
                                      when=NOW + 3 * HOUR),
           "two signers": s.gpg("--trust-model", "always", "--recipient", editor,
                                "--local-user", ed, "--local-user", rsa, "--sign",
                                "--compress-algo", "none", "--encrypt", data=PART),
           "not signed": seal(None, PART, "--compress-algo", "none"),
           "stranger": seal(stranger, PART, "--compress-algo", "none"),
           "outsider": seal(outsider, PART, "--compress-algo", "none")}
    out["tampered"] = out["ed"][:-40] + bytes([out["ed"][-40] ^ 1]) + out["ed"][-39:]
    out["truncated"] = out["ed"][:-30]
    out["data beside"] = out["ed"] + s.gpg("--compress-algo", "none", "--store", data=b"hi")
    out["two messages"] = out["ed"] + out["rsa"]
    out["signed, not encrypted"] = s.gpg("--local-user", ed, "--compress-algo", "none",
                                         "--sign", data=PART)
    for name, reason in (("soft", 2), ("hard", 1)):
        fpr = s.key(f"revoked-{name}", "sign,cert")
        out[f"{name}-revoked, before"] = seal(fpr, PART, "--compress-algo", "none",
                                              when=T0 + HOUR)
        out[f"{name}-revoked, after"] = seal(fpr, PART, "--compress-algo", "none",
                                             when=T0 + 2 * DAY)
        s.revoke(fpr, reason, T0 + DAY)
    exp = s.key("expired", "sign,cert")
    out["expired, before"] = seal(exp, PART, "--compress-algo", "none", when=T0 + HOUR)
    out["expired, after"] = seal(exp, PART, "--compress-algo", "none", when=T0 + 3 * DAY)
    s.gpg("--quick-set-expire", exp, "1d", when=T0 + DAY)
    subrev = s.key("subrev", "cert", "1y")
    s.subkey(subrev, "sign")
    out["revoked subkey, before"] = seal(subrev, PART, "--compress-algo", "none",
                                         when=T0 + HOUR)
    out["revoked subkey, after"] = seal(subrev, PART, "--compress-algo", "none",
                                        when=T0 + 2 * DAY)
    s.revoke_subkey(subrev, 1, T0 + DAY)
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    """An editor's keyring, and parts signed by every kind of key, encrypted to it."""
    base = tmp_path_factory.mktemp("inline")
    editor = editors_keyring(base / "editor")
    home = base / "signers"
    home.mkdir(mode=0o700)
    (home / "gpg-agent.conf").write_text(keys.AGENT_CONF)
    homes = Homes(home, {})
    try:
        # The editor's key, made when the signers' keys are (a part signed then encrypted
        # in the past is encrypted to a key of then).
        fpr = homes.key("editor", "cert")
        homes.subkey(fpr, "encr", algo="cv25519")
        editor.import_keys(homes.gpg("--armor", "--export-secret-keys", fpr))
        items = _build(homes, fpr)
        # Sequoia's parts, as Témoin writes them: signed then encrypted in process.
        ed_secret = homes.gpg("--armor", "--export-secret-keys", homes.fprs["ed"])
        editor.import_keys(ed_secret)
        sealer = editor.sealer([fpr], homes.fprs["ed"])
        assert sealer.in_process
        items["sequoia"], items["sequoia big"] = sealer.encrypt_many([PART, BIG])
        files = []
        for name, key in homes.fprs.items():
            if name != "outsider":
                f = base / f"{name}.asc"
                f.write_bytes(homes.gpg("--armor", "--export", key))
                files.append(f)
        allowed = {key: "editor" for name, key in homes.fprs.items()
                   if name not in ("stranger", "editor")}
        with Signers(allowed, files) as signers:
            yield Corpus(editor, signers, items, homes.fprs)
    finally:
        stop_gpg(home, base / "editor")


# Opened in process (no gpg verification): the parts Témoin writes, and keys' lifetimes
# Sequoia reads as gpg does. Not a signature made before the key's newest self-signature
# ("expired, before": its expiry was changed), which Sequoia holds unbound at the time; nor
# a compressed or text-mode part, one expiring, dated in the future: gpg opens those, as
# before.
IN_PROCESS = {"ed", "ed armored", "rsa", "signing subkey", "big", "empty", "sequoia",
              "sequoia big", "soft-revoked, before"}


def _alone(c: Corpus, item: bytes) -> Opened:
    """How a part was opened before keys.inline: gpg decrypts and verifies, `judge` judges."""
    res = c.editor.decrypt(item, max_output=LIMIT, extra=c.signers.extra_args())
    return Opened(res.plaintext if res.ok else None, c.signers.judge(res.status), res.reason)


def test_same_verdicts_in_process_and_with_gpg(corpus: Corpus) -> None:
    names = sorted(corpus.items)
    items = [corpus.items[n] for n in names]
    alone = {n: _alone(corpus, i) for n, i in zip(names, items, strict=True)}
    fast = dict(zip(names, inline.open_signed(corpus.editor, items, corpus.signers, LIMIT),
                    strict=True))
    for name in names:
        if fast[name] is not None:  # never accepts what gpg alone refuses, nor differs
            assert alone[name].signature.ok and alone[name].plaintext is not None, name
            assert fast[name] == alone[name], name
    # And what a build gets, in process or not: exactly the verdicts of before.
    opened = Vault(corpus.editor, []).open_signed_many(items, corpus.signers, LIMIT)
    assert dict(zip(names, opened, strict=True)) == alone
    assert alone["ed"].plaintext == PART and alone["big"].plaintext == BIG
    assert alone["sequoia big"].signature.signer == corpus.fprs["ed"]
    refused = {n for n in names if not alone[n].signature.ok or alone[n].plaintext is None}
    assert {"tampered", "truncated", "not signed", "stranger", "outsider", "two signers",
            "sha1", "signature expired", "soft-revoked, after",
            "expired, after", "revoked subkey, after", "data beside", "two messages",
            "signed, not encrypted"} <= refused
    # A run of the parts gpg opens: which of them are opened in process.
    good = [n for n in names if n not in refused]
    fast = dict(zip(good, inline.open_signed(corpus.editor, [corpus.items[n] for n in good],
                                             corpus.signers, LIMIT), strict=True))
    assert all(fast[n] is None or fast[n] == alone[n] for n in good)
    assert {n for n in good if fast[n] is not None} == IN_PROCESS


def test_gpg_engine_opens_every_part_with_gpg(corpus: Corpus,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(verify.ENV, "gpg")
    items = [corpus.items["ed"], corpus.items["rsa"]]
    assert inline.open_signed(corpus.editor, items, corpus.signers, LIMIT) == [None, None]


def test_hostile_corpus_is_never_opened_in_process(corpus: Corpus) -> None:
    """Real clients' output and hostile files (none signed by a key of keys/): each one is
    left to gpg, in one run with good parts among them."""
    messages = [corpus_message(e) for e in ENTRIES if e not in BOMBS]
    got = inline.open_signed(corpus.editor, [corpus.items["ed"], *messages, corpus.items["rsa"]],
                             corpus.signers, LIMIT)
    assert all(g is None for g in got[1:-1])


def test_a_part_that_spoils_the_run_sends_only_a_few_alone(corpus: Corpus) -> None:
    """gpg's exit code fails a whole run for one file; halves are run again."""
    good = [corpus.items["ed"]] * 40
    items = [*good[:25], corpus.items["tampered"], *good[25:]]
    got = inline.open_signed(corpus.editor, items, corpus.signers, LIMIT)
    assert got[25] is None
    assert sum(g is None for g in got) <= 8


def _two_octets(length: int) -> bytes:
    """A new-format length of 192 to 8383 bytes (RFC 4880 §4.2.2.2)."""
    return bytes([((length - 192) >> 8) + 192, (length - 192) & 0xFF])


def test_inline_signed_reads_partial_lengths_as_definite_ones() -> None:
    """The same signed message, its literal packet written with partial body lengths."""
    data = b"z" * 3000
    literal = b"b\x00\x00\x00\x00\x00" + data
    ops = bytes([0xC4, 13, 3, 0, 8, 22]) + bytes.fromhex("0123456789ABCDEF") + b"\x01"
    body = (bytes([4, 0, 22, 8]) + (6 + 10).to_bytes(2, "big") + bytes([5, 2])
            + NOW.to_bytes(4, "big") + bytes([9, 16]) + bytes.fromhex("0123456789ABCDEF")
            + b"\x00\x00" + b"\xab\xcd" + bytes([1, 0]) + b"\x42")
    sig = bytes([0xC2, len(body)]) + body
    definite = ops + bytes([0xCB, 0xFF]) + len(literal).to_bytes(4, "big") + literal + sig
    partial = ops + bytes([0xCB, 0xEA]) + literal[:1024] + _two_octets(len(literal) - 1024) \
        + literal[1024:] + sig
    first, second = packets.inline_signed(definite), packets.inline_signed(partial)
    assert first is not None and second is not None
    assert first[0] == second[0] == data
    # A first partial chunk under 512 bytes (RFC 4880 §4.2.2.4), trailing bytes: no verdict.
    short = ops + bytes([0xCB, 0xE8]) + literal[:256] + _two_octets(len(literal) - 256) \
        + literal[256:] + sig
    assert packets.inline_signed(short) is None
    assert packets.inline_signed(definite + b"\x00") is None


def test_stale_batch_folders_hold_no_plaintext_after_a_build(corpus: Corpus) -> None:
    """The run's folder on tmpfs is wiped and removed: no part's plaintext stays in RAM."""
    from temoin import tmpfs
    from temoin.keys.batch import PREFIX

    items = [corpus.items["ed"], corpus.items["sequoia"]]
    assert all(inline.open_signed(corpus.editor, items, corpus.signers, LIMIT))
    assert not [d for d in tmpfs.tmpfs_dir().glob(f"{PREFIX}{os.getpid()}-*")]

