"""Issue 16, acceptance: a full clone (history included) of a repository migrated with
`temoin migrate` and then fed new submissions, plus the raw inbox messages, link no
unpublished or newly published case to its message and show no fact of an unpublished case
in anything committed after the migration. Real gpg, a real Git repository."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from temoin import cases, custody
from temoin.cli import main
from temoin.intake import ingest as intake
from tests.helpers import Org, sign_release

CANARY = "CANARI-KWIZERA-7Q"          # a fact of an unpublished case (public part)
PLACE = "Colline Nyamugari"           # one of its private values


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def message(org: Org, n: int, text: str) -> bytes:
    """A raw email whose body is a testimony encrypted to the inbox key."""
    armored = org.keyring.encrypt(text.encode(), [org.inbox]).decode()
    return (f"From: source{n}@example.invalid\r\nTo: temoignages@example.invalid\r\n"
            f"Date: Fri, 03 Oct 2025 0{n}:1{n}:00 +0000\r\nSubject: x\r\n\r\n"
            f"{armored}").encode()


def old_id(raw: bytes) -> str:
    """The id a submission got before issue 16: anyone with the message computes it."""
    return cases.new_id("BI", 2025, hashlib.sha256(raw).digest())


def v1_append(repo: Path, **entry: object) -> None:
    """A plaintext (format 1) custody line, as written before issue 16."""
    path = repo / custody.LOG
    lines = path.read_text().splitlines() if path.exists() else []
    entry["prev"] = json.loads(lines[-1])["hash"] if lines else custody.GENESIS
    entry["hash"] = custody._digest(entry)
    path.write_text("".join(x + "\n" for x in [*lines, json.dumps(entry, sort_keys=True)]))


def forms(digest: bytes) -> set[str]:
    """Every way a hash is commonly written: hex (both cases), base32, base64, id chars."""
    b32 = base64.b32encode(digest).decode()
    return {digest.hex(), digest.hex().upper(), b32.rstrip("="), base64.b64encode(digest)
            .decode().rstrip("="), base64.urlsafe_b64encode(digest).decode().rstrip("="),
            base64.b32encode(hashlib.sha256(digest).digest()).decode()[:6]}


def fingerprints(raw: bytes) -> tuple[set[str], set[str]]:
    """What an adversary holding a raw message can compute: hashes of the file, of its
    ciphertext (armored and binary) in every form, and its size, date and times."""
    armor = re.search(rb"-----BEGIN PGP MESSAGE-----.*?-----END PGP MESSAGE-----", raw,
                      re.S)
    blobs = [raw, raw.replace(b"\r\n", b"\n")]
    if armor:
        text = armor.group(0)
        body = text.split(b"\n\n", 1)[1].split(b"\n=", 1)[0]
        blobs += [text, base64.b64decode(b"".join(body.split()))]
    strings: set[str] = set()
    for b in blobs:
        for algo in ("sha256", "sha1", "md5", "sha512", "blake2b"):
            d = hashlib.new(algo, b).digest()
            strings |= forms(d) | forms(hashlib.new(algo, d).digest())
    date = re.search(rb"Date: \w+, (\d+) (\w+) (\d+) (\d+):(\d+)", raw)
    assert date
    numbers = {str(len(b)) for b in blobs}
    times = {f"{date[3].decode()}-10-0{int(date[1])}T{date[4].decode()}:{date[5].decode()}"}
    return strings, numbers | times


def committed_blobs(repo: Path, since: str) -> dict[str, bytes]:
    """Every file of every commit after `since` (path@commit -> bytes), and the messages."""
    out = {}
    for rev in git(repo, "rev-list", f"{since}..HEAD").split():
        out[f"message@{rev}"] = git(repo, "log", "-1", "--format=%B", rev).encode()
        for line in git(repo, "ls-tree", "-r", rev).splitlines():
            meta, path = line.split("\t", 1)
            sha = meta.split()[2]
            out[f"{path}@{rev}"] = subprocess.run(
                ["git", "-C", str(repo), "cat-file", "-p", sha], check=True,
                capture_output=True).stdout
    return out


@pytest.fixture
def history(org: Org, tmp_path: Path) -> dict[str, object]:
    """A repository with pre-issue-16 plaintext drafts and custody, committed, migrated,
    committed, then fed new submissions (one of them published), committed; and the raw
    messages of every submission."""
    repo = org.repo
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "editor@example.invalid")
    git(repo, "config", "user.name", "Editor")
    org.add_case()  # a published case, before
    legacy = [message(org, n, f"Témoignage {n}.") for n in (1, 2)]
    for n, raw in enumerate(legacy, 1):
        cid = old_id(raw)
        meta = {**org.add_case(status="draft", sign=False).meta}
        (repo / "cases" / meta["id"]).rename(repo / "cases" / cid)
        meta.update(id=cid, title={"fr": f"{CANARY} {n}", "en": f"{CANARY} {n}"})
        folder = repo / "cases" / cid
        (folder / cases.SEALED).unlink()
        (folder / cases.PUBLIC).write_text(cases.dumps(cases.Case(meta, f"{CANARY} récit.")))
        cases.write_private(repo, cid, {"template": {"place": PLACE}}, org.keyring,
                            org.cfg.recipient_fingerprints, org.alice)
        sha = hashlib.sha256(raw).hexdigest()
        v1_append(repo, time=f"2025-10-0{n}T0{n}:1{n}:00Z", action="received",
                  submission=sha, size=len(raw))
        v1_append(repo, time=f"2025-10-0{n}T0{n}:1{n}:01Z", action="ingested",
                  submission=sha, case=cid)
    commit(repo, "before issue 16")
    result = CliRunner().invoke(main, ["--repo", str(repo), "migrate", "--editor", org.alice,
                                       "--yes"])
    assert result.exit_code == 0, result.output
    assert "git filter-repo" in result.output and "remote" in result.output
    again = CliRunner().invoke(main, ["--repo", str(repo), "migrate"])
    assert again.exit_code == 0 and "Nothing to migrate" in again.output  # idempotent
    migrated = commit(repo, "temoin migrate")
    fresh = [message(org, n, f"Date: 2025-10-03\nProvince: Gitega\n{CANARY} {PLACE} {n}.")
             for n in (3, 4, 5)]
    for n, raw in enumerate(fresh):
        (repo / "inbox" / f"{n}.eml").write_bytes(raw)
    results = intake.ingest(repo, org.cfg, org.keyring)
    assert [r.result for r in results] == ["ingested"] * 3, results
    published = cases.load(repo, str(results[0].case))
    published.meta.update(status="published", verification="verified", consent="anonymised",
                          title={"fr": "Arrestation", "en": "Arrest"})
    sign_release(repo, published, org.keyring, org.alice, org.bob)
    commit(repo, "new submissions")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-local", str(repo), str(clone)], check=True)
    renamed = [c for c in cases.load_all(repo)[0] if c.id not in org.created]
    return {"clone": clone, "since": migrated + "~1", "messages": legacy + fresh,
            "cases": [c.id for c in renamed], "published": published.id}


def test_a_clone_and_the_mailbox_link_no_case_to_its_message(history: dict[str, object]):
    clone, since = Path(str(history["clone"])), str(history["since"])
    blobs = committed_blobs(clone, since)
    text = {k: v.decode("utf-8", "replace") for k, v in blobs.items()}
    ids = list(history["cases"])  # type: ignore[call-overload]
    assert len(ids) == 5 and str(history["published"]) in ids
    found = []
    for raw in history["messages"]:  # type: ignore[attr-defined]
        strings, numbers = fingerprints(raw)
        for where, content in text.items():
            found += [(where, s) for s in strings if s in content]
            # a size or a time next to a JSON/YAML key, anywhere committed
            found += [(where, n) for n in numbers
                      if re.search(rf"(size|time|received)\W+{re.escape(n)}", content)]
        found += [(cid, s) for cid in ids for s in strings if s in cid]
    assert found == []
    # No fact of an unpublished case: no plaintext case.md but the published ones, and
    # neither the canary nor the private place anywhere committed after the migration.
    unpublished = [cid for cid in ids if cid != history["published"]]
    assert not [w for w in text if any(f"cases/{cid}/case.md@" in w for cid in unpublished)]
    assert not [w for w, t in text.items() if CANARY in t or PLACE in t]
    # Custody after the migration: sealed lines of one size, no time, no id, no hash of
    # a submission; the chain still verifies without any key.
    log = [json.loads(x) for x in (clone / custody.LOG).read_text().splitlines()]
    assert {tuple(sorted(ln)) for ln in log} == {("commit", "hash", "prev", "sealed", "v")}
    assert len({len(ln["sealed"]) for ln in log}) == 1
    assert custody.verify(clone) == []


def test_the_sealed_custody_tells_the_editors_everything(history: dict[str, object],
                                                          org: Org):
    entries = list(custody.entries(org.repo))
    actions = [e["action"] for e in entries]
    assert actions[0] == "log_sealed" and "migrated" in actions
    assert actions.count("ingested") == 5 and actions.count("received") == 5
    skeleton = custody.skeleton(org.repo)
    assert custody.verify_part(skeleton, entries[-3:]) == []
    assert custody.verify_part(skeleton, [{**entries[-1], "case": "BI-2025-AAAAAA"}])


def test_migrated_evidence_names_do_not_link_old_and_new_ids(org: Org) -> None:
    repo = org.repo
    git(repo, "init", "-q")
    case = org.add_case(status="draft", sign=False)
    digest = cases.write_evidence(repo, case.id, b"%PDF fictif", org.keyring,
                                  org.cfg.recipient_fingerprints, org.alice)
    folder = repo / "cases" / case.id
    (folder / cases.PUBLIC).write_text(cases.dumps(case))
    (folder / cases.SEALED).unlink()
    before = {p.name for p in folder.rglob("*.asc")}
    result = CliRunner().invoke(main, ["--repo", str(repo), "migrate", "--editor", org.alice,
                                       "--yes"])
    assert result.exit_code == 0, result.output
    [new] = [p for p in (repo / "cases").iterdir() if p.name != case.id]
    assert f"{digest}.asc" in before
    assert not ({p.name for p in new.rglob("*.asc")} & (before - {"private.yaml.asc"}))

