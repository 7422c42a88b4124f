"""Group commit at ingest (`intake.group`): a `temoin ingest` killed (SIGKILL, in a child
process) at each point between a group's `received` entries and its originals' move, with
or without the log's last unsynced lines (a power cut), loses nothing; the next run
finishes the job with no case twice, and the custody log stays a verified chain."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from temoin import cases, config, custody
from temoin.intake import inbox
from temoin.intake import ingest as intake
from temoin.intake.group import GROUP
from tests.intake_fixtures import (
    Keys,
    encrypt,
    inner_mime,
    intake_keyrings_fixture,  # noqa: F401 - the intake_keyrings fixture
    intake_keys_fixture,  # noqa: F401 - the intake_keys fixture
    pgp_mime,
    repo_fixture,  # noqa: F401 - the repo fixture
)

# `temoin ingest` that kills itself at the Nth call of a step (argv: step, N, repo, file
# where the log's size is written after each fsync of it: what a power cut would keep).
KILLED = r"""
import os, signal, sys
from pathlib import Path
from temoin import custody, files
from temoin.intake import ingest

step, n, repo, durable = sys.argv[1], int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
calls = [0]

def wrap(module, name, counts=lambda *a, **k: True):
    real = getattr(module, name)
    def hooked(*a, **k):
        if counts(*a, **k):
            calls[0] += 1
            if calls[0] == n:
                os.kill(os.getpid(), signal.SIGKILL)
        return real(*a, **k)
    setattr(module, name, hooked)

real_sync = custody.sync
def sync(repo_):
    size = os.path.getsize(Path(repo_) / custody.LOG)
    real_sync(repo_)
    durable.write_text(str(size))
custody.sync = sync

if step == "place":  # 1: the group's `received` durable, nothing in place; 2: parts placed
    wrap(files, "place")
elif step == "ingested":  # 1: every case.md in place, no `ingested`; 4: three appended
    wrap(custody, "append", lambda repo_, action, *a, **k: action == "ingested")
elif step == "moved":  # the group's `ingested` entries durable, some originals moved
    wrap(ingest, "to_processed")
sys.argv = ["temoin", "--repo", repo, "ingest", "--json"]
from temoin.cli import main
main()
"""


def _sha(raw: bytes) -> str:
    import hashlib

    return hashlib.sha256(raw).hexdigest()


@pytest.mark.parametrize(("step", "n", "power_cut"), [
    ("place", 1, False), ("place", 2, False), ("ingested", 1, False),
    ("ingested", 4, True), ("moved", 3, False)])
def test_ingest_killed_inside_a_group_loses_nothing_and_duplicates_nothing(
        repo: Path, intake_keys: Keys, tmp_path: Path, step: str, n: int,
        power_cut: bool) -> None:
    count = GROUP + 4  # a whole group, then part of another
    accepted = {}
    for i in range(count):
        raw = pgp_mime(encrypt(intake_keys, inner_mime(f"Témoignage {i}", attachments=[(
            f"p{i}.bin", "application/octet-stream", os.urandom(400), "plain")])))
        (repo / "inbox" / f"{i:02d}.eml").write_bytes(raw)
        accepted[_sha(raw)] = f"{i:02d}.eml"
    durable = tmp_path / "durable"
    proc = subprocess.run([sys.executable, "-c", KILLED, step, str(n), str(repo),
                           str(durable)], capture_output=True, text=True, check=False,
                          env=os.environ.copy())
    assert proc.returncode == -9, proc.stderr  # killed where asked
    if power_cut:  # the log's lines appended since its last fsync are lost
        os.truncate(repo / custody.LOG, int(durable.read_text()))
    assert custody.verify(repo) == []
    log = [e["action"] for e in custody.entries(repo)]
    folder = repo / "cases"
    placed = {"evidence" if p.parent.name == "evidence" else p.name
              for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")}
    waiting = len(inbox.inbox_files(repo))
    if step == "place" and n == 1:  # received durable, nothing of the group in place
        assert log == ["received"] * GROUP and not placed and waiting == count
    elif step == "place":  # evidence and private parts in place, no case.md yet
        assert log == ["received"] * GROUP and placed == {"evidence", cases.PRIVATE}
        assert waiting == count
    elif step == "ingested" and not power_cut:  # every case.md on disk, nothing claimed
        assert log == ["received"] * GROUP and cases.SEALED in placed and waiting == count
        assert len(list(folder.glob(f"*/{cases.SEALED}"))) == GROUP
    elif step == "ingested":  # three `ingested` appended, lost with the power
        assert log == ["received"] * GROUP and waiting == count
    else:  # the group's `ingested` durable (with the next group's `received`), 2 moved
        assert log[:2 * GROUP] == ["received"] * GROUP + ["ingested"] * GROUP
        assert waiting == count - 2

    results = intake.ingest(repo, config.load(repo), intake_keys.editors)
    assert {r.result for r in results} <= {"ingested", "duplicate"}
    entries = list(custody.entries(repo))
    assert custody.verify(repo) == []
    ingested = {e["submission"]: e["case"] for e in entries if e["action"] == "ingested"}
    assert set(ingested) == set(accepted)  # nothing lost
    assert sum(e["action"] == "ingested" for e in entries) == count  # nothing twice
    assert sum(e["action"] == "received" for e in entries) == count  # ids kept
    assert sorted(p.name for p in folder.iterdir()) == sorted(ingested.values())
    for sha, cid in ingested.items():
        assert (folder / cid / cases.SEALED).is_file()
        assert not list((folder / cid).rglob(".*.tmp"))
        private = cases.read_private(repo, cid, intake_keys.editors)
        assert private["intake"]["submissions"][0]["sha256"] == sha
        assert len(private["evidence"]) == 1
        assert (folder / cid / "evidence" / private["evidence"][0]["file"]).is_file()
    assert sorted(os.listdir(repo / "inbox" / "processed")) == sorted(accepted.values())
    assert inbox.inbox_files(repo) == []
