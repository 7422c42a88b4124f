"""What a power cut may find after `temoin ingest` (issue 18): case files are written while
the `received` entry's fsync runs, but none is put in place before that entry is durable,
and none before the files it relies on."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from temoin import config, custody
from temoin.intake import ingest as intake
from tests.intake_fixtures import (
    Keys,
    encrypt,
    inner_mime,
    intake_keyrings_fixture,  # noqa: F401 - the intake_keyrings fixture
    intake_keys_fixture,  # noqa: F401 - the intake_keys fixture
    pgp_mime,
    repo_fixture,  # noqa: F401 - the repo fixture
)


def test_no_case_file_is_put_in_place_before_its_received_entry_is_durable(
        repo: Path, intake_keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    names = [f"{n}.eml" for n in range(6)]
    for n, name in enumerate(names):
        (repo / "inbox" / name).write_bytes(pgp_mime(encrypt(
            intake_keys, inner_mime(f"Témoignage {n}.", attachments=[(
                f"p{n}.bin", "application/octet-stream", os.urandom(5000), "plain")]))))
    guard = threading.Lock()
    seq = {"appended": 0, "durable": 0, "received": 0}
    early: list[str] = []
    placed: list[str] = []
    real_append, real_sync, real_replace = custody.append, custody.sync, os.replace

    def append(repo_: Path, action: str, durable: bool = True, **kw: Any) -> Any:
        e = real_append(repo_, action, durable, **kw)
        with guard:
            seq["appended"] += 1
            if action == "received":
                seq["received"] = seq["appended"]
            if durable:
                seq["durable"] = seq["appended"]
        return e

    def sync(repo_: Path) -> None:
        with guard:
            upto = seq["appended"]
        real_sync(repo_)
        with guard:
            seq["durable"] = max(seq["durable"], upto)

    def replace(src: Any, dst: Any, *a: Any, **kw: Any) -> None:
        rel = Path(dst).relative_to(repo) if Path(dst).is_relative_to(repo) else None
        if rel is not None and rel.parts[0] == "cases":
            with guard:
                if seq["durable"] < seq["received"]:
                    early.append(str(rel))
                placed.append(str(rel))
        real_replace(src, dst, *a, **kw)

    monkeypatch.setattr(custody, "append", append)
    monkeypatch.setattr(custody, "sync", sync)
    monkeypatch.setattr(os, "replace", replace)
    results = intake.ingest(repo, config.load(repo), intake_keys.editors)
    assert [r.result for r in results] == ["ingested"] * 6
    assert early == []  # nothing in place before its `received` entry was on disk
    # each case: its evidence and private part in place before its case.md
    assert len(placed) == 18
    for r in results:
        mine = [n for n, rel in enumerate(placed) if rel.split("/")[1] == r.case]
        assert len(mine) == 3 and placed[mine[-1]].endswith("/case.md.asc"), placed
    # one group: its `received` entries, then (its files on disk) its `ingested` entries
    log = list(custody.entries(repo))
    assert [e["action"] for e in log] == ["received"] * 6 + ["ingested"] * 6
    assert [e["case"] for e in log[6:]] == [r.case for r in results]


def test_taken_ids_view_answers_as_the_set_it_replaces() -> None:
    """`Index.taken_for` was a set built from every claim for each submission (O(archive)
    a submission); the view must say the same of every id."""
    import random

    from temoin.intake.inbox import Index

    rng = random.Random(18)
    index = Index.__new__(Index)
    subs = [f"s{i}" for i in range(6)] + [""]
    index.claims = {f"BI-{i}": {rng.choice(subs) for _ in range(rng.randint(1, 3))}
                    for i in range(60)}
    for sha in subs + ["other"]:
        old = {cid for cid, s in index.claims.items() if s - {sha}}
        view = index.taken_for(sha)
        assert {f"BI-{i}" for i in range(70) if f"BI-{i}" in view} == old
        view.add("BI-65")
        assert "BI-65" in view and "BI-66" not in view


def test_ingest_decrypts_each_file_alone_when_the_batch_fails(
        repo: Path, intake_keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch that cannot run (a full tmpfs, say) costs speed, never a submission."""
    for n in range(4):
        (repo / "inbox" / f"{n}.eml").write_bytes(pgp_mime(encrypt(
            intake_keys, inner_mime(f"Témoignage {n}."))))

    def full(*_: Any, **__: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("temoin.intake.ahead.decrypt_batch", full)
    results = intake.ingest(repo, config.load(repo), intake_keys.editors)
    assert [r.result for r in results] == ["ingested"] * 4


def test_a_new_case_folder_is_durable_before_its_ingested_entry(
        repo: Path, intake_keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    """An fsync of a folder makes its entries durable, not its own entry in its parent:
    a new cases/<ID>/ survives a power cut only once cases/ is fsync'd. Without that, a
    durable `ingested` entry could point at a folder the power cut took (the original,
    moved to processed/, is then a duplicate: the case is lost)."""
    for n in range(3):
        (repo / "inbox" / f"{n}.eml").write_bytes(pgp_mime(encrypt(
            intake_keys, inner_mime(f"Témoignage {n}.", attachments=[(
                f"p{n}.bin", "application/octet-stream", os.urandom(3000), "plain")]))))
    guard = threading.Lock()
    events: list[tuple[str, str]] = []
    real_append, real_fsync, real_mkdir = custody.append, os.fsync, os.mkdir

    def append(repo_: Path, action: str, durable: bool = True, **kw: Any) -> Any:
        e = real_append(repo_, action, durable, **kw)
        with guard:
            events.append((action, str(kw.get("case"))))
        return e

    def fsync(fd: int) -> None:
        real_fsync(fd)
        with guard:
            events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))

    def mkdir(path: Any, *a: Any, **kw: Any) -> None:
        real_mkdir(path, *a, **kw)
        with guard:
            events.append(("mkdir", os.path.realpath(path)))

    monkeypatch.setattr(custody, "append", append)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "mkdir", mkdir)
    results = intake.ingest(repo, config.load(repo), intake_keys.editors)
    assert [r.result for r in results] == ["ingested"] * 3
    root = os.path.realpath(repo / "cases")
    for r in results:
        folder = os.path.join(root, str(r.case))
        made = events.index(("mkdir", folder))
        done = events.index(("ingested", str(r.case)))
        assert ("fsync", root) in events[made:done], r.case
        assert ("fsync", folder) in events[made:done], r.case  # its evidence/ entry


def test_new_processed_and_quarantine_folders_are_durable_before_files_move_in(
        repo: Path, intake_keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    """The originals move into processed/ and quarantine/: folders ingest makes, whose own
    entries in inbox/ must be on disk before a file is moved into them."""
    (repo / "inbox" / "0.eml").write_bytes(pgp_mime(encrypt(intake_keys, inner_mime("Un."))))
    (repo / "inbox" / "1.eml").write_bytes(b"From: a@b.invalid\r\nSubject: x\r\n\r\nclair\r\n")
    events: list[tuple[str, str]] = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd: int) -> None:
        real_fsync(fd)
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))

    def rename(src: Any, dst: Any, *a: Any, **kw: Any) -> None:
        real_rename(src, dst, *a, **kw)
        events.append(("rename", os.path.dirname(os.path.realpath(dst))))

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    results = intake.ingest(repo, config.load(repo), intake_keys.editors)
    assert [r.result for r in results] == ["ingested", "quarantined"]
    inbox = os.path.realpath(repo / "inbox")
    for sub in ("processed", "quarantine"):
        moved = events.index(("rename", os.path.join(inbox, sub)))
        assert ("fsync", inbox) in events[:moved], sub
