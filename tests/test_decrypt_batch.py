"""keys.batch: one gpg process for many submissions, with `decrypt`'s verdicts.

The whole committed corpus (real clients' output, hostile files, compression bombs) goes
through `decrypt_batch` mixed together and through `decrypt` one by one: the batch never
accepts what `decrypt` refuses, and what it accepts is exactly what `decrypt` gives.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from temoin import keys
from temoin.keys.batch import decrypt_batch
from temoin.keys.decrypt import Decrypted
from tests.test_decrypt import BOMBS, ENTRIES, OK, corpus_message, editors_keyring, kill_agent

LIMIT = 64 * 1024 * 1024
FIELDS = ("ok", "plaintext", "reason", "signer", "signature_valid", "recipients",
          "session_key_algo", "decryption_key", "literal_format", "literal_name")


@pytest.fixture(scope="module")
def editors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[keys.Keyring]:
    home = tmp_path_factory.mktemp("gnupg")
    yield editors_keyring(home)
    kill_agent(home)


def same(batch: Decrypted, alone: Decrypted) -> None:
    assert {f: getattr(batch, f) for f in FIELDS} == {f: getattr(alone, f) for f in FIELDS}


def test_batch_gives_decrypts_verdicts_over_the_whole_corpus(editors: keys.Keyring) -> None:
    entries = [e for e in ENTRIES if e not in BOMBS]
    messages = [corpus_message(e) for e in entries]
    alone = [editors.decrypt(m) for m in messages]
    order = list(range(len(messages)))
    random.Random(18).shuffle(order)
    vouched = 0
    # Mixed chunks, as ingest makes them; and one chunk of only the clean messages.
    clean = [n for n, e in enumerate(entries) if e in OK and alone[n].ok
             and (alone[n].signature_valid or not alone[n].signer)]
    for chunk in [order[i:i + 8] for i in range(0, len(order), 8)] + [clean]:
        for n, got in zip(chunk, decrypt_batch(editors, [messages[n] for n in chunk], LIMIT),
                          strict=True):
            if got is not None:
                assert alone[n].ok, entries[n]["file"]  # never accepts a refusal
                same(got, alone[n])
                vouched += 1
    # The clean chunk is vouched for whole (else the batch would only cost a run more).
    assert len(clean) > 30
    assert decrypt_batch(editors, [messages[n] for n in clean], LIMIT).count(None) == 0
    assert vouched >= len(clean)


def test_batch_stops_a_compression_bomb_early_and_vouches_for_nothing(
        editors: keys.Keyring) -> None:
    good = corpus_message(next(e for e in OK if not e["signer"] and e["recipients"]))
    for bomb in BOMBS:
        t = time.monotonic()
        got = decrypt_batch(editors, [good, corpus_message(bomb), good], 1 << 20)
        # killed at the limit, not after inflating the whole GiB; nothing vouched for
        assert time.monotonic() - t < 10
        assert got == [None, None, None]


def test_batch_leaves_no_plaintext_behind(editors: keys.Keyring, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    shm = tmp_path / "shm"
    shm.mkdir()
    monkeypatch.setattr("temoin.tmpfs.tmpfs_dir", lambda: shm)
    messages = [corpus_message(e) for e in OK[:4]]
    assert any(r is not None for r in decrypt_batch(editors, messages, LIMIT))
    assert list(shm.iterdir()) == []


def test_batch_refuses_to_write_plaintext_without_tmpfs(editors: keys.Keyring,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    from temoin.errors import TemoinError

    def none() -> Path:
        raise TemoinError("no tmpfs")

    monkeypatch.setattr("temoin.tmpfs.tmpfs_dir", none)
    messages = [corpus_message(e) for e in OK[:3]]
    assert decrypt_batch(editors, messages, LIMIT) == [None, None, None]


def test_a_killed_batchs_plaintext_is_wiped_by_the_next_one(
        editors: keys.Keyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shm = tmp_path / "shm"
    shm.mkdir()
    monkeypatch.setattr("temoin.tmpfs.tmpfs_dir", lambda: shm)
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = shm / f"temoin-batch-{dead.pid}-abc"
    alive = shm / f"temoin-batch-{os.getpid()}-live"
    for d in (stale, alive):
        d.mkdir()
        (d / "0").write_bytes(b"plaintext of a killed run")
    messages = [corpus_message(e) for e in OK[:2]]
    decrypt_batch(editors, messages, LIMIT)
    assert not stale.exists()  # a dead process's plaintext: wiped
    assert (alive / "0").read_bytes() == b"plaintext of a killed run"  # a live one's: kept


def test_batch_vouches_alike_with_or_without_setpriv(editors: keys.Keyring,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """gpg is started through `setpriv --pdeathsig KILL` (vfork, issue 18) where it can
    be, else with the death signal set in a forked child: a machine without util-linux's
    setpriv decrypts the same chunk with the same verdicts."""
    from temoin.keys import batch

    entries = [e for e in ENTRIES if e in OK][:8]
    messages = [corpus_message(e) for e in entries]
    monkeypatch.setattr(batch, "_SETPRIV", [])
    through = decrypt_batch(editors, messages, LIMIT)
    assert batch._SETPRIV and batch._SETPRIV[0], "setpriv --pdeathsig not found here"
    monkeypatch.setattr(batch, "_SETPRIV", [None])
    forked = decrypt_batch(editors, messages, LIMIT)
    assert through.count(None) == forked.count(None) < len(messages)
    for a, b in zip(through, forked, strict=True):
        if a is not None and b is not None:
            same(a, b)
