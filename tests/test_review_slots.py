"""A case's decisions are found by listing its review/ folder once (`cases.review.slots`):
exactly the files `Path.glob` found, plain or sealed, and a signature read once is the
one the stat cache hashed (`StatCache.sha256_read`)."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from temoin import cache
from temoin.cases import review

_NAMES = ["verify.json", "verify.json.asc", "approve.sealed.asc", "publish.json",
          "precision--a1b2.json", "precision--a1b2.json.asc", "precision--c3.sealed.asc",
          "precision-x.json", "Precision--up.json", ".hidden.json", "consent.JSON",
          "withdraw.json.tmp", "urgent.sealed.asc.bak", "interventions.json",
          "[x].json", "*.json", "a b.json", "étape.json", "precision--.json"]


def _globbed(folder: Path, pattern: str) -> list[Path]:
    """What slots gave when it globbed (the reference)."""
    found = set(folder.glob(f"{pattern}.json"))
    found |= {review.plain_path(p) for p in folder.glob(f"{pattern}{review.SUFFIX}")}
    return sorted(found)


def test_slots_finds_what_glob_found(tmp_path: Path) -> None:
    rng = random.Random(7)
    for n in range(40):
        folder = tmp_path / str(n) / "review"
        folder.mkdir(parents=True)
        for name in rng.sample(_NAMES, rng.randint(0, len(_NAMES))):
            (folder / name).write_text("{}")
        if n % 5 == 0:
            (folder / "sub.json").mkdir()  # a folder named like a decision: globbed too
        for pattern in ("*", "precision--*", "verify"):
            assert review.slots(folder, pattern) == _globbed(folder, pattern), (n, pattern)


def test_slots_of_a_missing_folder_or_a_file_is_empty(tmp_path: Path) -> None:
    assert review.slots(tmp_path / "nowhere") == []
    (tmp_path / "file").write_text("x")
    assert review.slots(tmp_path / "file") == []


def test_sha256_read_hashes_the_bytes_it_returns(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMOIN_NO_CACHE", "1")  # no store: nothing written anywhere
    sig = tmp_path / "verify.json.asc"
    sig.write_bytes(b"-----BEGIN PGP SIGNATURE-----\n")
    files = cache.StatCache(tmp_path, cache.Spec("t.json"))
    assert files.file is None
    digest, data = files.sha256_read(sig)
    assert data == sig.read_bytes() and digest == hashlib.sha256(data).hexdigest()
    assert files.sha256_read(sig) == (digest, None)  # one snapshot a run: not read again
    assert files.sha256(sig) == digest
    assert files.sha256_read(tmp_path / "missing.asc") == (None, None)
