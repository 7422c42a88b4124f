"""intake: every file in inbox/ ends ingested, duplicate or quarantined; nothing leaks."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import mimetypes
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from temoin import cases, config, custody, keys
from temoin.cli import Context, main
from temoin.cli.inbox import show_private
from temoin.files import lock
from temoin.intake import form as template
from temoin.intake import inbox
from temoin.intake import ingest as intake
from temoin.keys import vault
from tests.helpers import stop_gpg
from tests.intake_fixtures import (
    CORPUS,
    Keys,
    attached_email,
    copy_corpus_file,
    encrypt,
    fpr,
    inline_email,
    inner_mime,
    intake_keyrings_fixture,  # noqa: F401 - the intake_keyrings fixture
    intake_keys_fixture,  # noqa: F401 - the intake_keys fixture
    pgp_mime,
    repo_fixture,  # noqa: F401 - the repo fixture
    sign_trust_root,
    write_repo,
)

MANIFEST = json.loads((CORPUS / "manifest.json").read_text())["entries"]
OK = [e for e in MANIFEST if e["expect"] == "ok"]
HOSTILE = [e for e in MANIFEST if e["expect"] != "ok"]
# What our one-line reason must say for each kind of refusal in the corpus manifest.
REASONS = {
    "compression bomb": ("compression bomb",),
    "not encrypted": ("not encrypted",),
    "empty": ("empty",),
    "malformed": ("malformed",),
    "integrity": ("integrity",),
    "unencrypted data": ("unencrypted data",),
    "OpenPGP key": ("OpenPGP key",),
    "symmetric": ("symmetric",),
    "session key": ("session key",),
    "key we do not hold": ("key we do not hold",),
    "truncated": ("truncated",),
    "unsupported": ("unsupported",),
}


def run_ingest(repo: Path, k: Keys, files: list[Path] | None = None) -> list[intake.Result]:
    return intake.ingest(repo, config.load(repo), k.editors, files)


def drop(repo: Path, name: str, data: bytes) -> Path:
    path = repo / "inbox" / name
    path.write_bytes(data)
    return path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]


# -- the corpus ---------------------------------------------------------------------------
def test_ingest_accepts_every_implementation_and_quarantines_every_hostile_file(
        tmp_path: Path, intake_keys: Keys) -> None:
    repo = tmp_path / "org"
    # A small plaintext limit keeps the 1 GiB bombs quick; every real text is far below it.
    write_repo(repo, fpr("inbox"), intake_keys.editor, max_plaintext_bytes=2 * 1024 * 1024)
    sign_trust_root(repo, intake_keys)  # keys/ holds the inbox key its parts are signed by
    for e in MANIFEST:
        copy_corpus_file(e["file"], repo / "inbox")
    results = {Path(r.file).name: r for r in run_ingest(repo, intake_keys)}
    assert len(results) == len(MANIFEST)
    assert sorted(os.listdir(repo / "inbox")) == [".lock", "processed", "quarantine"]
    for e in OK:
        r = results[Path(e["file"]).name]
        assert r.result == "ingested", (e["file"], r.reason)
        private = cases.read_private(repo, r.case, intake_keys.editors)
        assert_files_kept(repo, r.case, e, private, intake_keys)
        if not e["text_file"]:
            continue
        assert e["snippet"] in private["testimony"], e["file"]
        expected = (CORPUS / e["text_file"]).read_text(encoding="utf-8")
        assert private["testimony"].strip() == expected.strip(), e["file"]
        if e["signer_key"]:
            assert private["signer"]["fingerprint"], e["file"]
            assert private["signer"]["valid"] is bool(e["signature_valid"]), e["file"]
        assert private["intake"]["submissions"][0]["sha256"] == e["file_sha256"]
        kept = repo / "inbox" / "processed" / Path(e["file"]).name
        assert sha(kept.read_bytes()) == e["file_sha256"]
    for e in HOSTILE:
        name = Path(e["file"]).name
        r = results[name]
        assert r.result == "quarantined", (e["file"], r.case)
        assert any(w in r.reason for w in REASONS[e["reason"]]), (e["file"], r.reason)
        kept = repo / "inbox" / "quarantine" / name
        assert sha(kept.read_bytes()) == e["file_sha256"]  # byte-identical
        reason = (repo / "inbox" / "quarantine" / f"{name}.reason").read_text()
        assert reason == r.reason + "\n" and reason.count("\n") == 1
    counts = [sum(r.result == k for r in results.values()) for k in ("ingested", "quarantined")]
    assert counts == [len(OK), len(HOSTILE)]  # files in = ingested + quarantined
    log = list(custody.entries(repo))
    assert custody.verify(repo) == []
    assert sum(e["action"] == "ingested" for e in log) == len(OK)
    assert sum(e["action"] == "quarantined" for e in log) == len(HOSTILE)


def assert_files_kept(repo: Path, cid: str, e: dict[str, Any], private: dict[str, Any],
                      k: Keys, name: bool = True) -> None:
    """Each file a corpus entry carries is an evidence entry of the case, its original
    bytes (sha256 checked) under the sender's name; a file alone leaves no testimony."""
    evidence = {ev["sha256"]: ev for ev in private["evidence"]}
    for f in e.get("files") or []:
        original = (CORPUS / f["original"]).read_bytes()
        assert sha(original) == f["sha256"], f["original"]
        ev = evidence.get(f["sha256"])
        assert ev, (e["file"], "no evidence entry for", f["original"])
        assert cases.read_evidence(repo, cid, ev, k.editors) == original
        assert ev["size"] == len(original)
        assert ev["media_type"] == mimetypes.guess_type(f["original"])[0], e["file"]
        if name:
            assert ev["name"] == f["name"], e["file"]
    if e.get("files") and not e["text_file"]:
        assert private["testimony"] == "", e["file"]
        assert "kept byte for byte as evidence" in private["intake_note"], e["file"]
    if not e.get("files"):
        assert private["evidence"] == [], e["file"]  # a text is not a file


def _one_per_producer() -> list[dict[str, object]]:
    """One entry per tool, armor and payload (text or file) that is an OpenPGP message."""
    seen: dict[str, dict[str, object]] = {}
    for e in OK:
        if not e.get("envelope"):
            seen.setdefault(f"{e['tool']}{e['armor']}{bool(e.get('files'))}", e)
    return list(seen.values())


WRAPS = {
    "pgp-mime": lambda ct: pgp_mime(ct),
    "pgp-mime-base64": lambda ct: pgp_mime(ct, cte="base64"),
    "inline-qp": lambda ct: inline_email(ct),
    "inline-html-base64": lambda ct: inline_email(ct, html=True, cte="base64",
                                                  remote_img=True),
    "attached": lambda ct: attached_email(ct, filename="t.asc"),
    "attached-binary": lambda ct: attached_email(ct, filename="t.gpg"),
}


def test_ingest_reads_corpus_messages_wrapped_in_every_kind_of_email(
        repo: Path, intake_keys: Keys) -> None:
    import base64
    import re
    expect = {}
    for e in _one_per_producer():
        data = (CORPUS / str(e["file"])).read_bytes()
        armored = data.lstrip().startswith(b"-----BEGIN PGP")
        for wrap, build in WRAPS.items():
            if wrap.startswith(("inline", "pgp-mime")) and not armored:
                # Inline and PGP/MIME carry armor: armor binary output as a client would.
                body = base64.b64encode(data).decode()
                ct = ("-----BEGIN PGP MESSAGE-----\n\n" + "\n".join(
                    body[i:i + 64] for i in range(0, len(body), 64)) +
                    "\n-----END PGP MESSAGE-----\n").encode()
            else:
                ct = data
            name = re.sub(r"\W", "-", f"{e['file']}-{wrap}") + ".eml"
            drop(repo, name, build(ct))
            expect[name] = e
    results = run_ingest(repo, intake_keys)
    assert len(results) == len(expect)
    for r in results:
        e = expect[Path(r.file).name]
        assert r.result == "ingested", (r.file, r.reason)
        private = cases.read_private(repo, r.case, intake_keys.editors)
        # a file without a name inside takes the attachment's ("t.asc": "t"), if any
        assert_files_kept(repo, r.case, e, private, intake_keys,
                          name=bool(e.get("literal_name")))
        if e["text_file"]:
            assert str(e["snippet"]) in private["testimony"], r.file
        assert private["intake"]["channel"] == "email"


def test_ingest_quarantines_hostile_messages_wrapped_in_emails(repo: Path,
                                                                intake_keys: Keys) -> None:
    """A hostile message does not get through by riding in an email: PGP/MIME for armor,
    an attachment for binary (the bombs have their own test)."""
    names = {}
    for e in HOSTILE:
        if "bomb" in str(e["file"]):
            continue
        data = (CORPUS / str(e["file"])).read_bytes()
        armored = data.lstrip().startswith(b"-----BEGIN PGP MESSAGE")
        raw = pgp_mime(data) if armored else attached_email(data, filename="t.gpg")
        name = Path(str(e["file"])).name + ".eml"
        names[name] = e
        drop(repo, name, raw)
    results = run_ingest(repo, intake_keys)
    assert len(results) == len(names)
    for r in results:
        assert r.result == "quarantined", (r.file, r.case)
    assert not (repo / "cases").exists()


# -- drafts -------------------------------------------------------------------------------
def test_ingest_writes_a_draft_with_encrypted_private_part_and_evidence(
        repo: Path, intake_keys: Keys) -> None:
    filled = template.fill("fr", {"date": "03/10/2025", "place": "Colline Rweza, Gitega",
                                  "what": "Il a été arrêté puis torturé au cachot.",
                                  "consent": "anonymised"})
    text = filled + "\nNom de la victime : Éric Canari-Ndiho (FICTIF).\n"
    photo = os.urandom(5000)
    inner = inner_mime(text, subject="Arrestation de mon frère", attachments=[
        ("photo cachot.jpg", "image/jpeg", photo, "2231"),
        ("../../etc/passwd\u202etxt.pdf", "application/pdf", b"%PDF fictif", "2047")])
    ct = encrypt(intake_keys, inner, sign="source")
    raw = pgp_mime(ct, beside="Johnny, you are fired.")
    drop(repo, "a.eml", raw)
    [r] = run_ingest(repo, intake_keys)
    assert r.result == "ingested" and r.case
    case = cases.load(repo, r.case)
    today = dt.datetime.now(dt.UTC).date()
    assert case.meta["status"] == "draft" and case.meta["verification"] == "received"
    assert case.meta["consent"] == "none"  # until the editors record it
    assert case.meta["received"] == today
    assert case.meta["title"]["fr"].startswith("Témoignage reçu le ")
    assert case.meta["title"]["en"].startswith("Testimony received on ")
    assert case.meta["event"]["date_start"] == dt.date(2025, 10, 3)
    assert case.meta["event"]["location"] == {"country": "BI", "admin1": "Gitega",
                                              "precision": "admin1"}
    assert {a["type"] for a in case.meta["acts"]} >= {"arbitrary_arrest", "torture"}
    assert case.meta["victims"] == [{"id": "v1", "count": 1, "sex": "unknown",
                                     "age_group": "unknown", "status_now": "unknown"}]
    assert not case.path.exists()  # a draft is sealed whole (issue 16)
    public = cases.read_text(repo, r.case)
    for secret in ("Canari", "Rweza", "Arrestation de mon", "cachot", "Johnny"):
        assert secret not in public
    private = cases.read_private(repo, r.case, intake_keys.editors)
    assert private["subject"] == "Arrestation de mon frère"
    assert "Éric Canari-Ndiho" in private["testimony"]
    assert "Johnny" not in private["testimony"]
    assert private["plaintext_beside"] == "Johnny, you are fired."
    assert private["signer"] == {"fingerprint": fpr("source"), "valid": True}
    assert private["consent_requested"] == "anonymised"
    assert private["template"]["place"] == "Colline Rweza, Gitega"
    assert private["intake"]["envelope_kind"] == "pgp-mime"
    assert private["intake"]["submissions"] == [{"sha256": sha(raw), "file": "a.eml",
                                                 "kind": "pgp-mime"}]
    ev = private["evidence"]
    assert [e["name"] for e in ev] == ["photo cachot.jpg", "../../etc/passwd\u202etxt.pdf"]
    assert ev[1]["safe_name"] == "passwdtxt.pdf"
    assert ev[0]["sha256"] == sha(photo) and ev[0]["size"] == 5000
    assert cases.read_evidence(repo, r.case, ev[0], intake_keys.editors) == photo
    folder = cases.case_dir(repo, r.case)
    # Evidence names are keyed hashes (issue 16): nothing in them links a file to its bytes.
    assert [e["file"] for e in ev] == [p.name for p in sorted(
        (folder / "evidence").iterdir(), key=lambda p: [e["file"] for e in ev].index(p.name))]
    assert sorted(p.name for p in folder.rglob("*")) == sorted(
        ["case.md.asc", "private.yaml.asc", "evidence", *(e["file"] for e in ev)])
    assert not {sha(photo), sha(b"%PDF fictif")} & {e["file"][:-4] for e in ev}
    assert [(e["action"], e.get("submission"), e.get("case")) for e in custody.entries(repo)] \
        == [("received", sha(raw), None), ("ingested", sha(raw), r.case)]


def test_ingest_keeps_a_file_sent_as_openpgp_data_as_evidence_byte_for_byte(
        repo: Path, intake_keys: Keys, tmp_path: Path) -> None:
    """A PDF with no NUL in it (it used to become the testimony's text, its bytes changed)
    sent three ways: `gpg --encrypt rapport.pdf` (the literal packet names it), a bare
    `.gpg` with no name inside, and that `.gpg` attached to a plain email. Each is a draft
    whose evidence is the PDF, sha256 and bytes unchanged, under the sender's name."""
    pdf = (b"%PDF-1.3\n%\xe9\xeb\xf1\xbf\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
           b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
    doc = tmp_path / "rapport médical.pdf"
    doc.write_bytes(pdf)
    named = subprocess.run(["gpg", "--homedir", str(intake_keys.source.home), "--batch",
                            "--trust-model", "always", "--recipient", fpr("inbox"),
                            "--output", "-", "--encrypt", str(doc)],
                           check=True, capture_output=True).stdout
    unnamed = encrypt(intake_keys, pdf, armor=False)
    drop(repo, "a.gpg", named)
    drop(repo, "scan 3.pdf.gpg", unnamed)
    drop(repo, "c.eml", attached_email(unnamed + b"", filename="Scan\u202egpj.pdf.pgp"))
    results = {Path(r.file).name: r for r in run_ingest(repo, intake_keys)}
    want = {"a.gpg": ("rapport médical.pdf", "rapport médical.pdf"),
            "scan 3.pdf.gpg": ("scan 3.pdf", "scan 3.pdf"),
            "c.eml": ("Scan\u202egpj.pdf", "Scangpj.pdf")}
    for file, (name, safe) in want.items():
        r = results[file]
        assert r.result == "ingested", (file, r.reason)
        assert cases.load(repo, r.case).meta["status"] == "draft"
        private = cases.read_private(repo, r.case, intake_keys.editors)
        assert private["testimony"] == ""
        [ev] = private["evidence"]
        assert (ev["name"], ev["safe_name"]) == (name, safe), file
        assert ev["media_type"] == "application/pdf" and ev["size"] == len(pdf)
        assert ev["sha256"] == sha(pdf)
        assert cases.read_evidence(repo, r.case, ev, intake_keys.editors) == pdf
        assert "kept byte for byte as evidence" in private["intake_note"]
        assert private["intake"]["literal"]["format"] == "binary"
    private = cases.read_private(repo, results["a.gpg"].case, intake_keys.editors)
    assert private["intake"]["literal"]["name"] == "rapport médical.pdf"


def test_ingest_opens_a_message_encrypted_inside_a_message(repo: Path,
                                                           intake_keys: Keys) -> None:
    """A file encrypted and signed first, then sent in an encrypted email (or a client that
    encrypts twice): the testimony is the innermost text, with the inner signer. A layer
    encrypted to someone else stays as ciphertext: nothing lost, nothing guessed."""
    inner = encrypt(intake_keys, "Témoignage fictif à deux couches.\n".encode(),
                    sign="source")
    raw = pgp_mime(encrypt(intake_keys, inner_mime(inner.decode())))
    drop(repo, "double.eml", raw)
    drop(repo, "twice.gpg", encrypt(intake_keys, encrypt(intake_keys, b"Deux fois.\n",
                                                         armor=False), armor=False))
    foreign = encrypt(intake_keys, b"Pour quelqu'un d'autre.\n", to="stranger")
    drop(repo, "foreign.asc", encrypt(intake_keys, foreign))
    results = {r.file.rsplit("/", 1)[-1]: r for r in run_ingest(repo, intake_keys)}
    assert {r.result for r in results.values()} == {"ingested"}
    private = cases.read_private(repo, results["double.eml"].case, intake_keys.editors)
    assert private["testimony"].strip() == "Témoignage fictif à deux couches."
    assert private["signer"] == {"fingerprint": fpr("source"), "valid": True}
    assert private["intake"]["encryption_layers"] == 2
    private = cases.read_private(repo, results["twice.gpg"].case, intake_keys.editors)
    assert private["testimony"].strip() == "Deux fois."
    assert private["intake"]["encryption_layers"] == 2
    private = cases.read_private(repo, results["foreign.asc"].case, intake_keys.editors)
    assert private["testimony"].startswith("-----BEGIN PGP MESSAGE-----")
    assert "encryption_layers" not in private["intake"]


def test_ingest_leaves_no_plaintext_anywhere_in_the_repo(tmp_path: Path,
                                                         intake_keys: Keys) -> None:
    repo = tmp_path / "org"
    write_repo(repo, fpr("inbox"), intake_keys.editor, max_plaintext_bytes=2 * 1024 * 1024)
    snippets = [str(e["snippet"]) for e in OK if e["snippet"]]
    snippets.append("Certificat medical")  # in the clear inside the corpus's PDF
    for e in OK:
        copy_corpus_file(str(e["file"]), repo / "inbox")
    for i, wrap in enumerate(WRAPS.values()):
        canary = f"canari-secret-{i}-Ntakirutimana"
        snippets.append(canary)
        inner = inner_mime(f"Témoignage {canary}", subject=f"sujet-{canary}",
                           attachments=[(f"piece-{canary}.txt", "text/plain",
                                         f"contenu {canary}".encode(), "2231")])
        drop(repo, f"w{i}.eml", wrap(encrypt(intake_keys, inner)))
    results = run_ingest(repo, intake_keys)
    assert all(r.result == "ingested" for r in results), [r.reason for r in results]
    haystack = [(p, p.read_bytes()) for p in all_files(repo)]
    assert any(p.suffix == ".asc" for p, _ in haystack)
    for snippet in snippets:
        needle = snippet.encode("utf-8")
        leaks = [str(p) for p, data in haystack if needle in data]
        assert not leaks, (snippet, leaks)


# -- idempotence, quarantine rules -----------------------------------------------------------
def test_ingest_same_file_twice_is_one_submission(repo: Path, intake_keys: Keys) -> None:
    raw = pgp_mime(encrypt(intake_keys, inner_mime("Même témoignage, deux fois.")))
    drop(repo, "first.eml", raw)
    [first] = run_ingest(repo, intake_keys)
    drop(repo, "again.eml", raw)
    drop(repo, "first.eml", raw)  # fetched twice under the same name
    second = run_ingest(repo, intake_keys)
    assert [(r.result, r.case) for r in second] == [("duplicate", first.case)] * 2
    assert len(list((repo / "cases").iterdir())) == 1
    assert sorted(os.listdir(repo / "inbox" / "processed")) == ["again.eml", "first.eml"]
    actions = [e["action"] for e in custody.entries(repo)]
    assert actions == ["received", "ingested", "duplicate", "duplicate"]


def test_ingest_refuses_links_and_special_files_without_following_them(
        repo: Path, intake_keys: Keys, tmp_path: Path) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("not for the inbox")
    inbox = repo / "inbox"
    (inbox / "link.eml").symlink_to(secret)
    (inbox / "dangling.asc").symlink_to(tmp_path / "nowhere")
    os.mkfifo(inbox / "pipe.eml")
    (inbox / "folder").mkdir()
    results = {Path(r.file).name: r for r in run_ingest(repo, intake_keys)}
    assert {n: r.result for n, r in results.items()} == dict.fromkeys(
        ("dangling.asc", "folder", "link.eml", "pipe.eml"), "quarantined")
    assert "symbolic link" in results["link.eml"].reason
    assert "special file" in results["pipe.eml"].reason
    q = inbox / "quarantine"
    assert (q / "link.eml").is_symlink() and os.readlink(q / "link.eml") == str(secret)
    assert secret.read_text() == "not for the inbox"
    assert (q / "pipe.eml").is_fifo() and (q / "folder").is_dir()
    assert all((q / f"{n}.reason").read_text().count("\n") == 1 for n in results)


def test_ingest_quarantines_files_over_the_size_limit(tmp_path: Path,
                                                      intake_keys: Keys) -> None:
    repo = tmp_path / "org"
    write_repo(repo, fpr("inbox"), intake_keys.editor, max_submission_bytes=4096)
    big = pgp_mime(encrypt(intake_keys, os.urandom(6000), armor=True))
    drop(repo, "big.eml", big)
    [r] = run_ingest(repo, intake_keys)
    assert r.result == "quarantined" and "too large" in r.reason and "4096" in r.reason
    assert (repo / "inbox" / "quarantine" / "big.eml").read_bytes() == big


def test_ingest_quarantines_the_1gib_compression_bomb(repo: Path, intake_keys: Keys) -> None:
    for name in ("bomb-bzip2-1gib.gpg", "bomb-bzip2-1gib.asc"):
        raw = (CORPUS / "hostile" / name).read_bytes()
        drop(repo, f"{name}.eml", attached_email(raw, filename=name))
    start = time.monotonic()
    results = run_ingest(repo, intake_keys)
    assert [r.result for r in results] == ["quarantined", "quarantined"]
    assert time.monotonic() - start < 30
    assert not (repo / "cases").exists()


def test_ingest_never_overwrites_quarantine(repo: Path, intake_keys: Keys) -> None:
    drop(repo, "x.eml", b"From: a@b.invalid\r\nSubject: hi\r\n\r\nplain one\r\n")
    run_ingest(repo, intake_keys)
    drop(repo, "x.eml", b"From: a@b.invalid\r\nSubject: hi\r\n\r\nplain two\r\n")
    run_ingest(repo, intake_keys)
    q = repo / "inbox" / "quarantine"
    bodies = sorted(p.read_bytes().split(b"\r\n\r\n")[1] for p in q.iterdir()
                    if not p.name.endswith(".reason"))
    assert bodies == [b"plain one\r\n", b"plain two\r\n"]
    assert len(list(q.glob("*.reason"))) == 2


def test_ingest_copies_files_given_from_outside_the_inbox(repo: Path, intake_keys: Keys,
                                                          tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    good = usb / "temoignage.asc"
    good.write_bytes(encrypt(intake_keys, "Témoignage depuis une clé USB.".encode()))
    bad = usb / "note.txt"
    bad.write_text("pas chiffré")
    results = run_ingest(repo, intake_keys, [good, bad])
    assert [r.result for r in results] == ["ingested", "quarantined"]
    assert good.exists() and bad.exists()  # never removed from where the editor keeps them
    assert (repo / "inbox" / "processed" / "temoignage.asc").read_bytes() == good.read_bytes()
    assert (repo / "inbox" / "quarantine" / "note.txt").read_text() == "pas chiffré"
    private = cases.read_private(repo, results[0].case, intake_keys.editors)
    assert private["intake"]["channel"] == "file"


def test_ingest_completes_a_case_a_crash_left_behind(repo: Path, intake_keys: Keys) -> None:
    raw = pgp_mime(encrypt(intake_keys, inner_mime("Témoignage interrompu.")))
    path = drop(repo, "crash.eml", raw)
    cfg = config.load(repo)
    run = intake._Run(repo, cfg, intake_keys.editors)
    run.index.received[sha(raw)] = custody.append(repo, "received", submission=sha(raw))["time"]
    cid = run.draft(path, sha(raw), raw)  # files written, then "killed" before custody
    (cases.case_dir(repo, cid) / ".case.md.stale.tmp").write_text("half")
    [r] = run_ingest(repo, intake_keys)
    assert (r.result, r.case) == ("ingested", cid)
    assert [p.name for p in (repo / "cases").iterdir()] == [cid]
    assert not list(cases.case_dir(repo, cid).glob(".*.tmp"))
    assert [e["action"] for e in custody.entries(repo)] == ["received", "ingested"]


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _ingested(repo: Path) -> int:
    """Submissions finished: an original moves to processed/ only once its `ingested`
    custody entry is durable (the entries themselves are sealed, issue 16)."""
    done = repo / "inbox" / "processed"
    return len(os.listdir(done)) if done.is_dir() else 0


def test_ingest_survives_sigkill_at_random_moments(tmp_path: Path, intake_keys: Keys) -> None:
    """Kill `temoin ingest` at random moments while new mail keeps arriving; the last run
    finishes the job: every submission has exactly one complete case, nothing is lost."""
    repo = tmp_path / "org"
    write_repo(repo, fpr("inbox"), intake_keys.editor)
    sign_trust_root(repo, intake_keys)
    batches: list[dict[str, bytes]] = []
    for b in range(8):
        batch = {}
        for i in range(20):  # more than a group (`intake.group.GROUP`) a run
            raw = pgp_mime(encrypt(intake_keys, inner_mime(
                f"Témoignage {b}-{i}", attachments=[(f"p{i}.bin", "application/octet-stream",
                                                     os.urandom(300), "plain")])))
            batch[f"{b}-{i:02d}.eml"] = raw
        batches.append(batch)
    accepted = {sha(raw): name for batch in batches for name, raw in batch.items()}
    env = {**os.environ, "GNUPGHOME": str(intake_keys.editors.home)}
    cmd = [str(Path(sys.executable).with_name("temoin")), "--repo", str(repo), "ingest",
           "--json"]
    rng = random.Random(20251003)
    interrupted = moved = 0
    for n, batch in enumerate(batches):
        for name, raw in batch.items():
            drop(repo, name, raw)
        if n == 0:
            drop(repo, "zz-plain.eml", b"From: a@b.invalid\r\nSubject: x\r\n\r\nclair\r\n")
        done_before, logged_before = _ingested(repo), _size(repo / "custody.jsonl")
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # Start-up time varies with the machine's load: wait until work has begun (the
        # custody log grows: a first group's `received` entries), then kill at a random
        # moment within the next 0.1 s (the rest of a batch of 20 takes ~0.1-0.4 s).
        size = _size(repo / "custody.jsonl")
        deadline = time.monotonic() + 20
        while _size(repo / "custody.jsonl") == size and time.monotonic() < deadline \
                and proc.poll() is None:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.1))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        # In the middle: work had begun (entries logged: a group's `received` entries come
        # before any of its originals moves) and files are left for the next run.
        progressed = _size(repo / "custody.jsonl") > logged_before
        interrupted += progressed and bool(inbox.inbox_files(repo))
        moved += _ingested(repo) > done_before and bool(inbox.inbox_files(repo))
    final = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert final.returncode == 0, final.stderr
    assert interrupted >= 3, interrupted  # the kills did land in the middle of ingests
    assert moved >= 1, moved  # once at least after some originals had moved
    log = list(custody.entries(repo))
    assert custody.verify(repo) == []
    ingested = {e["submission"]: e["case"] for e in log if e["action"] == "ingested"}
    assert set(ingested) == set(accepted)  # nothing lost
    assert sum(e["action"] == "ingested" for e in log) == len(accepted)  # nothing twice
    folders = sorted(p.name for p in (repo / "cases").iterdir())
    assert folders == sorted(ingested.values())
    for cid in folders:
        assert (repo / "cases" / cid / "case.md.asc").is_file()
        assert not list((repo / "cases" / cid).rglob(".*.tmp"))
    for cid in rng.sample(folders, 10):
        private = cases.read_private(repo, cid, intake_keys.editors)
        assert len(private["evidence"]) == 1
    assert sorted(os.listdir(repo / "inbox" / "processed")) == sorted(accepted.values())
    assert sorted(os.listdir(repo / "inbox" / "quarantine"))[:2] == ["zz-plain.eml",
                                                                    "zz-plain.eml.reason"]
    assert sorted(os.listdir(repo / "inbox")) == [".lock", "processed", "quarantine"]


# -- the command line ------------------------------------------------------------------------
def test_ingest_command_prints_table_and_json(repo: Path, intake_keys: Keys) -> None:
    env = {"GNUPGHOME": str(intake_keys.editors.home)}
    drop(repo, "a.eml", pgp_mime(encrypt(intake_keys, inner_mime("Premier."))))
    drop(repo, "b.eml", b"From: x@y.invalid\r\nSubject: s\r\n\r\nen clair\r\n")
    out = CliRunner().invoke(main, ["--repo", str(repo), "ingest"], env=env)
    assert out.exit_code == 0, out.output
    assert "1 ingested, 0 duplicate, 1 quarantined" in out.output
    assert "not encrypted: plain message" in out.output
    drop(repo, "c.eml", (repo / "inbox" / "processed" / "a.eml").read_bytes())
    out = CliRunner().invoke(main, ["--repo", str(repo), "ingest", "--json"], env=env)
    assert out.exit_code == 0, out.output
    [row] = json.loads(out.output)
    assert set(row) == {"file", "result", "case", "reason"}
    assert row["file"] == "inbox/c.eml" and row["result"] == "duplicate"


def test_ingest_command_exits_3_when_the_keyring_cannot_decrypt(
        repo: Path, intake_keys: Keys, tmp_path: Path) -> None:
    path = drop(repo, "a.eml", pgp_mime(encrypt(intake_keys, inner_mime("x"))))
    empty = tmp_path / "empty-gnupg"
    out = CliRunner().invoke(main, ["--repo", str(repo), "ingest"],
                             env={"GNUPGHOME": str(empty)})
    stop_gpg(empty)
    assert out.exit_code == 3, out.output
    assert "secret key" in out.output
    assert path.exists()  # nothing was quarantined for want of a key


def test_ingest_refuses_a_concurrent_run(repo: Path, intake_keys: Keys) -> None:
    drop(repo, "a.eml", pgp_mime(encrypt(intake_keys, inner_mime("x"))))
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from temoin.files import lock\nwith lock(Path(sys.argv[1]), 'ingest'):\n"
         "    print('held', flush=True); time.sleep(30)", str(repo / "inbox" / ".lock")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout and holder.stdout.readline().strip() == "held"
        out = CliRunner().invoke(main, ["--repo", str(repo), "ingest"],
                                 env={"GNUPGHOME": str(intake_keys.editors.home)})
        assert out.exit_code == 1
        assert "another ingest is running" in out.output
        assert (repo / "inbox" / "a.eml").exists()
    finally:
        holder.kill()
        holder.wait()
    with lock(repo / "inbox" / ".lock", "ingest"):
        pass  # released when the holder died


def test_show_private_prints_decrypted_part_to_the_terminal(
        repo: Path, intake_keys: Keys, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    inner = inner_mime("Témoignage\x1b[2J caché.", subject="Sujet\u202e caché",
                       attachments=[("a\u202eb.jpg", "image/jpeg", b"jpeg", "2231")])
    drop(repo, "a.eml", pgp_mime(encrypt(intake_keys, inner), beside="Johnny, you are fired."))
    [r] = run_ingest(repo, intake_keys)
    monkeypatch.setenv("GNUPGHOME", str(intake_keys.editors.home))
    ctx = Context(repo, None)
    show_private(ctx, r.case, as_json=True)
    data = json.loads(capsys.readouterr().out)
    assert data["id"] == r.case and data["status"] == "draft" \
        and data["path"].endswith("case.md.asc")
    assert data["private"]["testimony"] == "Témoignage\x1b[2J caché."
    assert data["private"]["subject"] == "Sujet\u202e caché"
    assert data["private"]["evidence"][0]["name"] == "a\u202eb.jpg"
    assert {"name", "sha256", "media_type"} <= set(data["private"]["evidence"][0])
    show_private(ctx, r.case, as_json=False)
    text = capsys.readouterr()
    assert "CONFIDENTIAL" in text.out and "Johnny, you are fired." in text.out
    assert "\x1b" not in text.out and "\u202e" not in text.out  # shown escaped, not obeyed
    assert "\\x1b[2J" in text.out and "\\u202e" in text.out
    assert "pipe or file" in text.err


@pytest.mark.parametrize("name", ["temoignage.eml"])
def test_ingest_moves_originals_out_of_the_inbox_once_done(repo: Path, intake_keys: Keys,
                                                           name: str) -> None:
    raw = pgp_mime(encrypt(intake_keys, inner_mime("Fin.")))
    drop(repo, name, raw)
    run_ingest(repo, intake_keys)
    assert not (repo / "inbox" / name).exists()
    assert (repo / "inbox" / "processed" / name).read_bytes() == raw
    assert inbox.inbox_files(repo) == []
    shutil.rmtree(repo / "inbox" / "processed")
    assert run_ingest(repo, intake_keys) == []


def test_encrypt_many_encrypts_each_item_to_every_recipient(keyring, fprs) -> None:
    items = [b"photo bytes \x00\xff" * 100, "témoignage".encode()]
    sealed = keyring.encrypt_many(items, [fprs["alice"], fprs["bob"]])
    assert len(sealed) == 2
    for ct, item in zip(sealed, items, strict=True):
        assert ct.startswith(b"-----BEGIN PGP MESSAGE-----") and item not in ct
        res = keyring.decrypt(ct)
        assert res.ok and res.plaintext == item
        assert len(res.recipients) == 2


def test_encrypt_many_refuses_an_unknown_recipient(keyring, fprs) -> None:
    from temoin.errors import CryptoError

    with pytest.raises(CryptoError, match="encryption failed"):
        keyring.encrypt_many([b"x"], [fprs["alice"], "0" * 40])


def test_sealer_output_decrypts_with_gpg_for_each_editor_key_alone(
        keyring, fprs, tmp_path: Path) -> None:
    """In-process encryption (Sequoia) must be what gpg 2.2 reads: each editor, holding
    only their own key, decrypts every item, integrity-protected (MDC)."""
    sealer = keyring.sealer([fprs["alice"], fprs["bob"]])
    assert sealer.in_process
    items = [b"photo bytes \x00\xff" * 5000, "témoignage".encode()]
    sealed = sealer.encrypt_many(items)
    for name in ("alice", "bob"):
        alone = keys.Keyring(tmp_path / name)
        alone.import_keys(keyring.export_secret(fprs[name]))
        try:
            for ct, item in zip(sealed, items, strict=True):
                assert ct.startswith(b"-----BEGIN PGP MESSAGE-----") and item not in ct
                res = alone.decrypt(ct)
                assert res.ok and res.plaintext == item and "GOODMDC" in res.status
                assert len(res.recipients) == 2
        finally:
            stop_gpg(alone.home)


def test_sealer_refuses_expired_and_revoked_recipients_like_gpg(keyring, fprs) -> None:
    from temoin.errors import CryptoError

    gpg = ["gpg", "--homedir", str(keyring.home), "--batch", "--pinentry-mode", "loopback",
           "--passphrase", ""]
    subprocess.run([*gpg, "--faked-system-time", "20200101T000000", "--quick-gen-key",
                    "Old <o@example.invalid>", "future-default", "default", "1d"],
                   check=True, capture_output=True)
    subprocess.run([*gpg, "--quick-gen-key", "Gone <g@example.invalid>", "future-default",
                    "default", "never"], check=True, capture_output=True)
    by_uid = {k.uids[0]: k.fingerprint for k in keyring.list()}
    expired, revoked = by_uid["Old <o@example.invalid>"], by_uid["Gone <g@example.invalid>"]
    rev = (keyring.home / "openpgp-revocs.d" / f"{revoked}.rev").read_text()
    subprocess.run([*gpg, "--import"], input=rev.replace(":-----", "-----"), text=True,
                   capture_output=True, check=True)
    for bad in (expired, revoked):
        sealer = keyring.sealer([fprs["alice"], bad])
        assert not sealer.in_process
        with pytest.raises(CryptoError, match="encryption failed"):
            sealer.encrypt_many([b"x"])


def test_sealer_falls_back_to_gpg_for_a_key_sequoia_rejects(keyring, fprs) -> None:
    """A key bound by SHA-1 signatures (old gpg defaults): gpg 2.2 encrypts to it, Sequoia's
    policy refuses it; the run uses gpg rather than fail."""
    gpg = ["gpg", "--homedir", str(keyring.home), "--batch", "--pinentry-mode", "loopback",
           "--passphrase", "", "--cert-digest-algo", "SHA1", "--digest-algo", "SHA1"]
    subprocess.run([*gpg, "--quick-gen-key", "Sha1 <s@example.invalid>", "rsa2048",
                    "sign,cert", "never"], check=True, capture_output=True)
    old = next(k.fingerprint for k in keyring.list() if k.uids[0].startswith("Sha1"))
    subprocess.run([*gpg, "--quick-add-key", old, "rsa2048", "encr", "never"], check=True,
                   capture_output=True)
    sealer = keyring.sealer([fprs["alice"], old])
    assert not sealer.in_process
    [ct] = sealer.encrypt_many([b"x" * 100])
    res = keyring.decrypt(ct)
    assert res.ok and res.plaintext == b"x" * 100 and len(res.recipients) == 2


def test_private_yaml_keeps_a_lone_surrogate_that_libyaml_refuses() -> None:
    import yaml

    data = {"testimony": "\ud800 lone surrogate \udfff", "subject": "é — x"}
    # The Python emitter's escapes, as before libyaml was used (libyaml cannot emit them).
    assert yaml.safe_load(cases.private_yaml(data).decode("utf-8")) == data
    plain = {"testimony": "é — \u202e x: y\n- z", "evidence": [{"size": 1}]}
    assert yaml.load(cases.private_yaml(plain).decode("utf-8"),
                     Loader=cases._SafeLoader) == plain  # noqa: S506


def test_ingest_decrypting_ahead_changes_nothing_written_or_its_order(
        tmp_path: Path, intake_keys: Keys) -> None:
    good = pgp_mime(encrypt(intake_keys, inner_mime("Premier témoignage."), sign="source"))
    later = pgp_mime(encrypt(intake_keys, inner_mime("Un autre témoignage.")))
    files = {
        "01-good.eml": good,
        "02-stranger.eml": pgp_mime(encrypt(intake_keys, inner_mime("Pas pour nous."),
                                            to="stranger")),
        "03-big.eml": pgp_mime(encrypt(intake_keys, os.urandom(9000))),
        "04-same.eml": good,
        "05-garbage.eml": b"-----BEGIN PGP MESSAGE-----\n\nnot base64 at all\n",
        "06-replaced.eml": pgp_mime(encrypt(intake_keys, inner_mime("Remplacé."))),
        "07-later.eml": later,
        "08-done-before.eml": pgp_mime(encrypt(intake_keys, inner_mime("Déjà reçu."))),
    }

    def run(name: str, ahead: int) -> tuple[object, ...]:
        repo = tmp_path / name
        write_repo(repo, fpr("inbox"), intake_keys.editor, max_submission_bytes=8192)
        # keys/ holds the inbox key that signs the id secret (attack round 3, issue 16)
        sign_trust_root(repo, intake_keys)
        shared = tmp_path / "id-secret.asc"  # the same id secret: the same case ids
        if shared.exists():
            shutil.copy(shared, repo / vault.ID_SECRET)
        drop(repo, "00-first.eml", files["08-done-before.eml"])
        run_ingest(repo, intake_keys)
        if not shared.exists():
            shutil.copy(repo / vault.ID_SECRET, shared)
        for n, data in files.items():
            drop(repo, n, data)

        def replace(i: int, _: int) -> None:
            if i == 5:  # 06 is being read ahead: its turn must see the new file
                drop(repo, ".06.tmp", later + b"\n")
                os.replace(repo / "inbox" / ".06.tmp", repo / "inbox" / "06-replaced.eml")

        results = intake.ingest(repo, config.load(repo), intake_keys.editors,
                                progress=replace, ahead=ahead)
        log = [(e["action"], e.get("submission"), e.get("case"), e.get("reason"))
               for e in custody.entries(repo)]
        q = repo / "inbox" / "quarantine"
        quarantine = {p.name: p.read_bytes() for p in sorted(q.iterdir())}
        return ([(r.file, r.result, r.case, r.reason) for r in results], log, quarantine,
                sorted(os.listdir(repo / "cases")),
                sorted(os.listdir(repo / "inbox" / "processed")), os.listdir(repo / "inbox"))

    one_at_a_time, ahead = run("one", 0), run("ahead", intake.AHEAD)
    assert ahead == one_at_a_time
    results = {Path(f).name: (r, reason) for f, r, _, reason in ahead[0]}
    assert [results[n][0] for n in sorted(files)] == [
        "ingested", "quarantined", "quarantined", "duplicate", "quarantined", "ingested",
        "ingested", "duplicate"]
    assert "key we do not hold" in results["02-stranger.eml"][1]
    assert "too large" in results["03-big.eml"][1]
    assert len(ahead[3]) == 4  # 00, 01, 06 as replaced, 07
    assert custody.verify(tmp_path / "ahead") == []


def test_ingest_interrupted_moves_what_it_ingested_and_the_rerun_finishes(
        repo: Path, intake_keys: Keys) -> None:
    for n in range(4):
        drop(repo, f"{n}.eml", pgp_mime(encrypt(intake_keys, inner_mime(f"Témoignage {n}."))))

    def interrupt(i: int, _: int) -> None:
        if i == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        intake.ingest(repo, config.load(repo), intake_keys.editors, progress=interrupt)
    assert sorted(os.listdir(repo / "inbox" / "processed")) == ["0.eml", "1.eml"]
    assert [p.name for p in inbox.inbox_files(repo)] == ["2.eml", "3.eml"]
    assert [r.result for r in run_ingest(repo, intake_keys)] == ["ingested"] * 2
    # each run's group: its `received` entries, then its `ingested` entries
    assert [e["action"] for e in custody.entries(repo)] == \
        ["received", "received", "ingested", "ingested"] * 2


def test_an_original_moves_only_after_an_fsync_that_covers_its_ingested_entry(
        repo: Path, intake_keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    """case.md is written while the next file's turn begins (issue 18), so a file's
    `ingested` entry is appended after the next file's fsync may have started: its original
    must wait for a later fsync, or a power cut would leave it in processed/ with no
    durable entry (lost). A group's `received` entries come first, then its `ingested`
    entries; a quarantined file ends the group before it (`intake.group`)."""
    import threading

    names = [f"{n}.eml" for n in range(5)]
    for n, name in enumerate(names):
        drop(repo, name, pgp_mime(encrypt(intake_keys, inner_mime(f"Témoignage {n}."))))
    drop(repo, "9-plain.eml", b"From: a@b.invalid\r\nSubject: x\r\n\r\nclair\r\n")
    guard = threading.Lock()
    seq: dict[str, int] = {"appended": 0, "durable": 0}
    ingested_at: dict[str, int] = {}
    late: list[str] = []
    real_append, real_sync, real_move = custody.append, custody.sync, intake.to_processed

    def append(repo_: Path, action: str, durable: bool = True, **kw: Any) -> Any:
        e = real_append(repo_, action, durable, **kw)
        with guard:
            seq["appended"] += 1
            if action == "ingested":
                ingested_at[kw["submission"]] = seq["appended"]
            if durable:  # its own fsync covers every line before it
                seq["durable"] = seq["appended"]
        return e

    def sync(repo_: Path) -> None:
        with guard:
            upto = seq["appended"]  # what was appended before this fsync started
        real_sync(repo_)
        with guard:
            seq["durable"] = max(seq["durable"], upto)

    def move(path: Path, dest: Path, sha_: str, inside: bool) -> None:
        with guard:
            if ingested_at.get(sha_, 1 << 30) > seq["durable"]:
                late.append(path.name)
        real_move(path, dest, sha_, inside)

    monkeypatch.setattr(custody, "append", append)
    monkeypatch.setattr(custody, "sync", sync)
    monkeypatch.setattr(intake, "to_processed", move)
    results = run_ingest(repo, intake_keys)
    assert [r.result for r in results] == ["ingested"] * 5 + ["quarantined"]
    assert sorted(os.listdir(repo / "inbox" / "processed")) == names
    assert late == []  # no original moved before its `ingested` entry was durable
    actions = [e["action"] for e in custody.entries(repo)]
    assert actions == ["received"] * 5 + ["ingested"] * 5 + ["received", "quarantined"]


def test_a_file_written_after_others_never_appears_when_one_of_them_failed(
        tmp_path: Path) -> None:
    from concurrent.futures import Future

    from temoin.files import write_atomic

    failed: Future[None] = Future()
    failed.set_exception(OSError("disk full"))
    ok: Future[None] = Future()
    ok.set_result(None)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(tmp_path / "case.md", b"public", after=[ok, failed])
    assert os.listdir(tmp_path) == []  # neither the file nor its temporary
    write_atomic(tmp_path / "case.md", b"public", after=[ok])
    assert (tmp_path / "case.md").read_bytes() == b"public"
