"""Partner dossiers with real gpg: the partner (its own keyring) decrypts and checks
everything; consent refuses what it does not cover; public-only dossiers carry nothing
private; the organisation keeps a signed receipt it can read without decrypting."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from temoin import cases, custody, keys
from temoin.cli import main
from temoin.share import dossier as share
from tests.helpers import FORGERIES, Org, forge, stop_gpg

PHOTO = b"\x89PNG\r\n\x1a\n" + b"fake image bytes of evidence " * 40
LETTER = b"%PDF-1.4 lettre du commissaire CANARY-EVIDENCE-8N3D"
NAME = "Jean-Bosco CANARYNAME Ndayisenga"
PHONE = "+257 79 41 22 38"
TESTIMONY = "Il a été emmené de nuit par des hommes armés CANARY-TESTIMONY-2W9F vers le cachot."


@dataclass
class Partner:
    """A partner organisation: its own GnuPG home, key, and the org's public key."""

    keyring: keys.Keyring
    fingerprint: str
    name: str


@pytest.fixture
def partner(org: Org, tmp_path: Path) -> Iterator[Partner]:
    """A lawyers' association with its own keyring, imported by the org as a partner."""
    home = tmp_path / "partner-gnupg"
    kr = keys.Keyring(home)
    fpr = kr.generate("Avocats Test", "avocats@example.invalid")
    kr.import_keys((org.repo / "keys" / "inbox.asc").read_bytes())  # to check our signature
    key_file = tmp_path / "avocats.asc"
    key_file.write_text(kr.export_public(fpr))
    result = run(org, "keys", "import", str(key_file), "--as", "partner", "--category",
                 "lawyer", "--name", "Avocats <Test>")
    assert result.exit_code == 0, result.output
    # A partner is in force once two editors sign the trust root that names it.
    for who, step in ((org.alice, "propose"), (org.bob, "sign")):
        signed = run(org, "trust", step, "--editor", who)
        assert signed.exit_code == 0, signed.output
    yield Partner(kr, fpr, "Avocats <Test>")
    stop_gpg(home)


def run(org: Org, *args: str):
    return CliRunner().invoke(main, ["--repo", str(org.repo), *args],
                              env={"TEMOIN_EDITOR": org.alice})


def full_case(org: Org, consent: list[str] | None, **private: object) -> cases.Case:
    """A published case with a confidential part, two evidence files and custody entries."""
    case = org.add_case(title={"fr": "Arrestation <script>alert(1)</script>",
                               "en": "Arrest <b>x</b>"})
    evidence = []
    for data, name, mt in ((PHOTO, "IMG_Ndayisenga_nuit.png", "image/png"),
                           (LETTER, "lettre.pdf", "application/pdf")):
        sha = cases.write_evidence(org.repo, case.id, data, org.keyring,
                                   org.cfg.recipient_fingerprints, org.alice)
        evidence.append({"name": name, "safe_name": name, "sha256": sha, "media_type": mt,
                         "size": len(data)})
    sub = hashlib.sha256(case.id.encode()).hexdigest()
    data = {"intake": {"submissions": [{"sha256": sub, "file": "x.eml", "kind": "pgp-mime"}]},
            "testimony": TESTIMONY, "victims": [{"id": "v1", "full_name": NAME,
                                                 "phone": PHONE}],
            "evidence": evidence, **private}
    if consent is not None:
        data["share_consent"] = consent
    cases.write_private(org.repo, case.id, data, org.keyring, org.cfg.recipient_fingerprints,
                        org.alice)
    custody.append(org.repo, "received", submission=sub, size=1234)
    custody.append(org.repo, "ingested", submission=sub, case=case.id)
    custody.append(org.repo, "published", case=case.id, editor=org.bob)
    return case


def open_dossier(p: Partner, path: Path) -> tuple[keys.Decrypted, dict[str, bytes]]:
    res = p.keyring.decrypt(path.read_bytes(), max_output=1 << 28)
    assert res.ok, res.reason
    with zipfile.ZipFile(io.BytesIO(res.plaintext)) as z:
        return res, {i.filename: z.read(i) for i in z.infolist()}


def test_partner_decrypts_the_dossier_and_checks_everything(org: Org, partner: Partner,
                                                            tmp_path: Path):
    case = full_case(org, ["lawyer", "un_mechanism"])
    out = tmp_path / "dossier.pgp"
    result = run(org, "share", case.id, "--to", "Avocats <Test>", "-o", str(out))
    assert result.exit_code == 0, result.output
    res, files = open_dossier(partner, out)
    assert res.signature_valid and res.signer == org.inbox  # signed by the organisation key
    assert not org.keyring.decrypt(out.read_bytes()).ok    # encrypted to the partner only
    names = list(files)
    assert names == sorted(names) and all(n.startswith("dossier/") for n in names)
    with zipfile.ZipFile(io.BytesIO(res.plaintext)) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    man = json.loads(files["dossier/MANIFEST.json"])
    assert man["partner"] == {"name": "Avocats <Test>", "fingerprint": partner.fingerprint,
                              "category": "lawyer"}
    assert man["cases"] == [case.id] and man["public_only"] is False
    assert man["shared_by"] == org.alice and man["temoin_version"]
    listed = {f["path"]: f for f in man["files"]}
    assert set(listed) == {n[len("dossier/"):] for n in names} - {"MANIFEST.json"}
    for rel, f in listed.items():
        data = files[f"dossier/{rel}"]
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (f["sha256"], f["size"])
    evidence = {rel: files[f"dossier/{rel}"] for rel in listed if "/evidence/" in rel}
    assert sorted(evidence.values()) == sorted([PHOTO, LETTER])
    for rel, data in evidence.items():  # named by their hash, never by the original name
        assert Path(rel).stem == hashlib.sha256(data).hexdigest()
    doc = json.loads(files[f"dossier/cases/{case.id}/case.json"])
    assert doc["private"]["victims"][0]["full_name"] == NAME
    assert doc["public"]["id"] == case.id
    trail = [json.loads(x) for x in files[f"dossier/cases/{case.id}/custody.jsonl"].splitlines()]
    org_log = list(custody.entries(org.repo))
    assert [e["action"] for e in trail] == ["received", "ingested", "published"]
    for e in trail:  # the very entries of the org's chained log
        assert e in org_log
    # The partner checks them without an editor key: each is committed to by its line of
    # the chain, whose skeleton (no ciphertext) comes along (issue 16).
    chain = [json.loads(x) for x in
             files[f"dossier/cases/{case.id}/custody-chain.jsonl"].splitlines()]
    assert custody.verify_part(chain, trail) == []
    assert all("sealed" not in ln for ln in chain)
    forged = [{**trail[0], "size": 999}, *trail[1:]]
    assert "does not match its line's commitment" in custody.verify_part(chain, forged)[0]
    readme = files["dossier/README.html"].decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in readme and "<script" not in readme
    assert "Avocats &lt;Test&gt;" in readme and "IMG_Ndayisenga_nuit.png" in readme
    assert "Dossier transmis par" in readme and "Dossier sent by" in readme
    shared = org_log[-1]
    assert shared["action"] == "shared" and shared["to"] == partner.fingerprint
    assert shared["cases"] == [case.id] and shared["editor"] == org.alice
    assert shared["dossier_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert custody.verify(org.repo) == []


def test_share_refuses_cases_without_consent_for_the_category(org: Org, partner: Partner,
                                                              tmp_path: Path):
    ok = full_case(org, ["lawyer"])
    media_only = full_case(org, ["media"])
    unset = full_case(org, None)
    victim_said_no = full_case(org, ["lawyer"], sources=[{"id": "s1"}])
    data = cases.read_private(org.repo, victim_said_no.id, org.keyring)
    data["victims"][0]["share_consent"] = ["un_mechanism"]
    cases.write_private(org.repo, victim_said_no.id, data, org.keyring,
                        org.cfg.recipient_fingerprints, org.alice)
    before = (org.repo / custody.LOG).read_bytes()
    out = tmp_path / "refused.asc"
    result = run(org, "share", ok.id, media_only.id, unset.id, victim_said_no.id, "--to",
                 partner.fingerprint, "-o", str(out))
    assert result.exit_code == 4, result.output
    assert f"case {media_only.id}: share_consent does not include lawyer (it lists: media)" \
        in result.output
    assert f"case {unset.id}: share_consent does not include lawyer (it lists: nothing)" \
        in result.output
    assert f"case {victim_said_no.id}: victims[0] did not consent to sharing with lawyer" \
        in result.output
    assert f"case {ok.id}" not in result.output
    assert NAME not in result.output and "CANARYNAME" not in result.output
    assert not out.exists() and not share.receipt_path(out).exists()
    assert (org.repo / custody.LOG).read_bytes() == before
    hint = run(org, "case", "set", media_only.id, "--private",  # the command the error names
               "share_consent=[media, lawyer]")
    assert hint.exit_code == 0, hint.output
    both = run(org, "share", ok.id, media_only.id, "--to", partner.fingerprint, "-o", str(out))
    assert both.exit_code == 0, both.output
    assert out.read_bytes().startswith(b"-----BEGIN PGP MESSAGE-----")  # .asc: armored


def test_public_only_dossier_holds_no_private_value(org: Org, partner: Partner,
                                                    tmp_path: Path):
    case = full_case(org, None)  # no share consent at all: only the public part may go
    run(org, "case", "intervene", case.id, "--type", "urgent_appeal", "--to",
        "Ambassade CANARY-EMBASSY-4R7T de Belgique", "--summary-fr", "Appel urgent envoyé.")
    draft = org.add_case(status="draft")
    refused = run(org, "share", case.id, draft.id, "--to", "Avocats <Test>", "--public-only",
                  "-o", str(tmp_path / "no.pgp"))
    assert refused.exit_code == 4, refused.output
    assert f"case {draft.id}: not public on the site" in refused.output
    out = tmp_path / "public.pgp"
    result = run(org, "share", case.id, "--to", "Avocats <Test>", "--public-only",
                 "-o", str(out))
    assert result.exit_code == 0, result.output
    _, files = open_dossier(partner, out)
    blob = b"\n".join([*files.values(), *(n.encode() for n in files)])
    for canary in (b"CANARYNAME", b"CANARY-TESTIMONY-2W9F", b"CANARY-EVIDENCE-8N3D",
                   b"79 41 22 38", b"CANARY-EMBASSY-4R7T", b"IMG_Ndayisenga", b"submission"):
        assert canary not in blob, canary
    assert not any("/evidence/" in n or n.endswith("custody.jsonl") for n in files)
    doc = json.loads(files[f"dossier/cases/{case.id}/case.json"])
    assert "private" not in doc and doc["public"]["interventions"][0]["summary"]["fr"] \
        == "Appel urgent envoyé."
    assert json.loads(files["dossier/MANIFEST.json"])["public_only"] is True


def test_public_only_refuses_a_public_part_that_names_someone(org: Org, partner: Partner,
                                                              tmp_path: Path):
    case = org.add_case(sign=False, narrative=f"Témoignage de {NAME} recueilli.")
    cases.write_private(org.repo, case.id, {"victims": [{"full_name": NAME}]}, org.keyring,
                        org.cfg.recipient_fingerprints, org.alice)
    org.sign(case)  # approved by mistake: the dossier scan still catches the name
    out = tmp_path / "leak.pgp"
    result = run(org, "share", case.id, "--to", "Avocats <Test>", "--public-only",
                 "-o", str(out))
    assert result.exit_code == 4, result.output
    assert "victims.0.full_name" in result.output and "CANARYNAME" not in result.output
    assert not out.exists()


def test_same_cases_give_the_same_dossier_bytes(org: Org, partner: Partner, tmp_path: Path):
    case = full_case(org, ["lawyer"])
    one, two = tmp_path / "one.pgp", tmp_path / "two.pgp"
    for out in (one, two):
        result = run(org, "share", case.id, "--to", "Avocats <Test>", "-o", str(out))
        assert result.exit_code == 0, result.output
    assert one.read_bytes() != two.read_bytes()  # fresh session keys
    first, second = partner.keyring.decrypt(one.read_bytes()), \
        partner.keyring.decrypt(two.read_bytes())
    assert first.plaintext == second.plaintext  # earlier shares are not in the trail
    again = run(org, "share", case.id, "--to", "Avocats <Test>", "-o", str(one))
    assert again.exit_code == 2 and "already exists" in again.output


def test_receipt_shows_the_contents_and_detects_tampering(org: Org, partner: Partner,
                                                          tmp_path: Path):
    case = full_case(org, ["lawyer"])
    out = tmp_path / "dossier.gpg"
    assert run(org, "share", case.id, "--to", "Avocats <Test>", "-o", str(out)).exit_code == 0
    receipt = share.receipt_path(out)
    text = receipt.read_text()
    for secret in ("CANARYNAME", "CANARY-TESTIMONY", "IMG_Ndayisenga", "79 41"):
        assert secret not in text  # the receipt sits in plaintext next to the dossier
    shown = run(org, "receipt", str(out))
    assert shown.exit_code == 0, shown.output
    assert case.id in shown.output and "lawyer" in shown.output
    assert "signature good" in shown.output and "dossier file matches" in shown.output
    data = json.loads(run(org, "receipt", str(receipt), "--json").output)
    assert data["ok"] and data["signer"] == org.inbox and data["dossier_matches"]
    _, files = open_dossier(partner, out)
    assert data["manifest"] == json.loads(files["dossier/MANIFEST.json"])
    kept = out.read_bytes()
    out.unlink()  # sent and deleted: the receipt alone still reads, and says what it skipped
    alone = run(org, "receipt", str(receipt))
    assert alone.exit_code == 0, alone.output
    assert "the dossier file dossier.gpg is not here, so it was not checked" in alone.output
    out.write_bytes(kept[:-1] + b"\0")
    assert run(org, "receipt", str(out)).exit_code == 1
    receipt.write_text(text.replace(case.id, "BI-2025-AAAAAA"))
    forged = run(org, "receipt", str(out))
    assert forged.exit_code == 3 and "signature does not verify" in forged.output


def test_share_refuses_unknown_partner_and_bad_file_name(org: Org, partner: Partner,
                                                         tmp_path: Path):
    case = full_case(org, ["lawyer"])
    unknown = run(org, "share", case.id, "--to", "Presse", "-o", str(tmp_path / "x.pgp"))
    assert unknown.exit_code == 1 and "unknown partner 'Presse'" in unknown.output
    bad = run(org, "share", case.id, "--to", "Avocats <Test>", "-o", str(tmp_path / "x.zip"))
    assert bad.exit_code == 1 and "expected a name ending .pgp" in bad.output
    like = run(org, "share", case.id, "--to", "Avocats <Test>", "-o",
               str(tmp_path / "x.receipt.json.asc"))  # would be taken for a receipt's signature
    assert like.exit_code == 1 and "no .receipt.json" in like.output
    assert not list(tmp_path.glob("x.*"))


def test_share_refuses_evidence_that_does_not_match_its_hash(org: Org, partner: Partner,
                                                             tmp_path: Path):
    case = full_case(org, ["lawyer"])
    sha = hashlib.sha256(PHOTO).hexdigest()
    swapped = org.keyring.encrypt(b"another picture", org.cfg.recipient_fingerprints)
    (cases.case_dir(org.repo, case.id) / "evidence" / f"{sha}.asc").write_bytes(swapped)
    out = tmp_path / "bad.pgp"
    result = run(org, "share", case.id, "--to", "Avocats <Test>", "-o", str(out))
    assert result.exit_code == 3, result.output
    assert f"evidence/{sha}.asc" in result.output and "hash mismatch" in result.output
    assert f"case {case.id}: " in result.output and f"lists evidence {sha}" in result.output
    assert b"another picture" not in result.output.encode() and "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("how", FORGERIES)
def test_share_refuses_a_private_part_or_evidence_nobody_trusted_signed(
        org: Org, partner: Partner, tmp_path: Path, how: str) -> None:
    """Issue 16: the victim refused sharing; a private part forged to say yes (encrypted to
    the editors, unsigned, signed by an outsider or by a revoked editor) is refused, and so
    is an evidence file re-encrypted by someone else, even holding the listed bytes."""
    case = full_case(org, [])
    out = tmp_path / "forged.pgp"
    refused = run(org, "share", case.id, "--to", "Avocats <Test>", "-o", str(out))
    assert refused.exit_code == 4 and "does not include lawyer" in refused.output
    part = cases.private_path(org.repo, case.id)
    genuine = part.read_bytes()
    said_yes = {**cases.read_private(org.repo, case.id, org.keyring), "share_consent": ["lawyer"]}
    part.write_bytes(forge(org, cases.parts.plaintext(case.id, said_yes), how))
    result = run(org, "share", case.id, "--to", "Avocats <Test>", "-o", str(out))
    assert result.exit_code == 3, result.output
    assert f"cases/{case.id}/private.yaml.asc: refused" in result.output
    assert "temoin migrate" in result.output and not out.exists()
    # The genuine part back, saying yes as the victim now does (signed by Alice): one of
    # its evidence files is replaced by the same bytes, encrypted by someone else.
    if how == "revoked":
        return  # Bob's key is revoked now: no new part can be encrypted to him
    part.write_bytes(genuine)
    cases.write_private(org.repo, case.id, said_yes, org.keyring, org.cfg.recipient_fingerprints,
                        org.alice)
    sha = hashlib.sha256(PHOTO).hexdigest()
    evidence = cases.case_dir(org.repo, case.id) / "evidence" / f"{sha}.asc"
    evidence.write_bytes(forge(org, PHOTO, how))
    result = run(org, "share", case.id, "--to", "Avocats <Test>", "-o", str(out))
    assert result.exit_code == 3, result.output
    assert f"evidence/{sha}.asc: refused" in result.output and not out.exists()


def test_share_leaves_out_evidence_the_private_part_does_not_list(org: Org, partner: Partner,
                                                                  tmp_path: Path):
    case = full_case(org, ["lawyer"])
    folder = cases.case_dir(org.repo, case.id) / "evidence"
    planted = b"CANARY-PLANTED-6H2K a file nobody listed"
    sha = cases.write_evidence(org.repo, case.id, planted, org.keyring,
                               org.cfg.recipient_fingerprints, org.alice)  # well formed, unlisted
    (folder / "notes\x1b[2J.txt").write_bytes(b"CANARY-PLANTED-6H2K in plaintext")
    (folder / "sub").mkdir()
    out = tmp_path / "dossier.pgp"
    result = run(org, "share", case.id, "--to", "Avocats <Test>", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "3 file(s) in evidence folders are not listed" in result.output
    for rel in (f"cases/{case.id}/evidence/{sha}.asc", f"cases/{case.id}/evidence/sub",
                f"cases/{case.id}/evidence/notes\\x1b[2J.txt"):  # escaped for the terminal
        assert f"  {rel}\n" in result.output
    assert "\x1b" not in result.output
    _, files = open_dossier(partner, out)
    evidence = sorted(n for n in files if "/evidence/" in n)
    assert evidence == sorted(f"dossier/cases/{case.id}/evidence/{hashlib.sha256(d).hexdigest()}"
                              f"{ext}" for d, ext in ((PHOTO, ".png"), (LETTER, ".pdf")))
    assert not any(b"CANARY-PLANTED" in data for data in files.values())
    man = json.loads(files["dossier/MANIFEST.json"])
    assert not any(sha in f["path"] for f in man["files"])


def test_share_refuses_listed_evidence_that_is_missing_or_malformed(org: Org, partner: Partner,
                                                                     tmp_path: Path):
    case = full_case(org, ["lawyer"])
    letter = hashlib.sha256(LETTER).hexdigest()
    (cases.case_dir(org.repo, case.id) / "evidence" / f"{letter}.asc").unlink()
    data = cases.read_private(org.repo, case.id, org.keyring)
    data["evidence"].append({"name": "x", "sha256": "../../../../etc/passwd"})
    data["evidence"].append("BI-2025 a stray string")
    cases.write_private(org.repo, case.id, data, org.keyring, org.cfg.recipient_fingerprints,
                        org.alice)
    before = (org.repo / custody.LOG).read_bytes()
    out = tmp_path / "missing.pgp"
    result = run(org, "share", case.id, "--to", "Avocats <Test>", "-o", str(out))
    assert result.exit_code == 1, result.output
    assert f"case {case.id}: evidence {letter} is listed in the private part but " \
           f"cases/{case.id}/evidence/{letter}.asc is missing" in result.output
    assert f"case {case.id}: private evidence[2].sha256: expected 64 lowercase hex digits, " \
           "got a string of 22 characters" in result.output
    assert "private evidence[3].sha256: expected 64 lowercase hex digits, got a str" \
        in result.output
    assert "etc/passwd" not in result.output and "stray" not in result.output
    assert "Traceback" not in result.output and not out.exists()
    assert (org.repo / custody.LOG).read_bytes() == before


def test_share_refuses_listed_evidence_that_is_a_link(org: Org, partner: Partner,
                                                      tmp_path: Path):
    case = full_case(org, ["lawyer"])
    photo = hashlib.sha256(PHOTO).hexdigest()
    path = cases.case_dir(org.repo, case.id) / "evidence" / f"{photo}.asc"
    real = tmp_path / "elsewhere.asc"
    path.rename(real)
    path.symlink_to(real)
    result = run(org, "share", case.id, "--to", "Avocats <Test>", "-o", str(tmp_path / "l.pgp"))
    assert result.exit_code == 1, result.output
    assert f"cases/{case.id}/evidence/{photo}.asc is a symbolic link" in result.output


# -- receipts under attack ---------------------------------------------------------------
def shared(org: Org, tmp_path: Path, name: str, consent: list[str] | None = None) -> Path:
    """A dossier of one new case shared with the lawyers, with its signed receipt."""
    case = full_case(org, consent or ["lawyer"])
    out = tmp_path / name
    result = run(org, "share", case.id, "--to", "Avocats <Test>", "-o", str(out))
    assert result.exit_code == 0, result.output
    return out


def org_signed(org: Org, receipt: Path, data: bytes) -> None:
    """Write `data` as a receipt with a good signature by the organisation key (the worst
    case: what a stolen signature, or one over something else, would give)."""
    receipt.write_bytes(data)
    receipt.with_name(receipt.name + ".asc").write_bytes(
        org.keyring.sign_detached(data, org.inbox))


def refused(result, code: int, *expected: str) -> None:
    assert result.exit_code == code, result.output
    for text in expected:
        assert text in result.output, (text, result.output)
    assert "Traceback" not in result.output and "\x1b" not in result.output
    assert "Receipt signature good" not in result.output


def test_receipt_refuses_a_receipt_swapped_from_another_dossier(org: Org, partner: Partner,
                                                                tmp_path: Path):
    harmless = shared(org, tmp_path, "harmless.pgp")
    sensitive = shared(org, tmp_path, "sensitive.pgp")
    harmless_case = json.loads(share.receipt_path(harmless).read_text())["manifest"]["cases"][0]
    for suffix in (".receipt.json", ".receipt.json.asc"):  # the harmless receipt, copied over
        (tmp_path / f"sensitive.pgp{suffix}").write_bytes(
            (tmp_path / f"harmless.pgp{suffix}").read_bytes())
    digest = hashlib.sha256(sensitive.read_bytes()).hexdigest()
    for given in (sensitive, share.receipt_path(sensitive)):
        result = run(org, "receipt", str(given))
        refused(result, 1, "the receipt is for dossier harmless.pgp, not sensitive.pgp",
                f"sensitive.pgp: {sensitive.stat().st_size} bytes, the receipt says"
                if sensitive.stat().st_size != harmless.stat().st_size else
                f"sensitive.pgp: sha256 {digest} differs")
        assert harmless_case not in result.output  # nothing of the receipt is described
    data = json.loads(run(org, "receipt", str(sensitive), "--json").output)
    assert data["ok"] is False and set(data) == {"ok", "problems"}
    assert any("harmless.pgp" in p for p in data["problems"])
    sensitive.unlink()  # the dossier gone: the receipt still names another one
    refused(run(org, "receipt", str(share.receipt_path(sensitive))), 1,
            "the receipt is for dossier harmless.pgp, not sensitive.pgp")
    refused(run(org, "receipt", str(sensitive)), 1, "sensitive.pgp: no such dossier")


def test_receipt_refuses_a_receipt_naming_another_dossier(org: Org, partner: Partner,
                                                          tmp_path: Path):
    out = shared(org, tmp_path, "dossier.pgp")
    copy = tmp_path / "copy.pgp"  # the same bytes under another name, receipt renamed along
    copy.write_bytes(out.read_bytes())
    for suffix in (".receipt.json", ".receipt.json.asc"):
        (tmp_path / f"copy.pgp{suffix}").write_bytes((tmp_path / f"dossier.pgp{suffix}")
                                                     .read_bytes())
    refused(run(org, "receipt", str(copy)), 1, "the receipt is for dossier dossier.pgp, "
            "not copy.pgp: it was copied or renamed from another dossier")
    out.write_bytes(out.read_bytes() + b"\0")  # same name, one byte more
    refused(run(org, "receipt", str(out)), 1, "the receipt says")
    out.write_bytes(out.read_bytes()[:-2] + b"\1")  # same name and size, other bytes
    refused(run(org, "receipt", str(out)), 1, "differs from the receipt's")
    fifo = tmp_path / "fifo.pgp"  # a reader that never ends must not hang the check
    os.mkfifo(fifo)
    receipt = json.loads(share.receipt_path(out).read_text())
    receipt["dossier"]["file"] = "fifo.pgp"
    org_signed(org, share.receipt_path(fifo), share.dumps(receipt))
    refused(run(org, "receipt", str(fifo)), 1, "the dossier is not a regular file")
    shown = run(org, "receipt", str(share.receipt_path(tmp_path / "gone.pgp")))
    refused(shown, 1, "no receipt here")


HOSTILE_DOSSIER_FIELDS = [
    ("file", "../../etc/passwd", "dossier.file: expected a file name ending .pgp, .gpg or "
                                 ".asc, without folder, got '../../etc/passwd'"),
    ("file", "/etc/passwd.pgp", "dossier.file: expected a file name"),
    ("file", "..", "dossier.file: expected a file name"),
    ("file", "a\x1b]0;owned\x07.pgp", "dossier.file: expected 1 to 1000 printable characters, "
                                      "got 'a\\x1b]0;owned\\x07.pgp'"),
    ("file", ["x.pgp"], "dossier.file: expected a string, got a list"),
    ("sha256", "../x", "dossier.sha256: expected 64 lowercase hex digits"),
    ("size", True, "dossier.size: expected a positive integer, got True"),
    ("armor", True, "dossier.armor: expected true for .asc, false for .pgp and .gpg"),
    ("encrypted_to", ["0" * 40], "dossier.encrypted_to " + "0" * 40 + " is not the partner"),
    ("signed_by", "A" * 40, "dossier.signed_by " + "A" * 40 + " is not manifest.organisation_key"),
]


def test_receipt_refuses_a_signed_receipt_naming_paths_or_values_it_cannot(
        org: Org, partner: Partner, tmp_path: Path):
    out = shared(org, tmp_path, "dossier.pgp")
    good = json.loads(share.receipt_path(out).read_text())
    for field, value, expected in HOSTILE_DOSSIER_FIELDS:
        data = json.loads(json.dumps(good))
        data["dossier"][field] = value
        org_signed(org, share.receipt_path(out), share.dumps(data))
        result = run(org, "receipt", str(out))
        refused(result, 1, "signed by", "not a dossier receipt", expected)
        assert data["manifest"]["cases"][0] not in result.output


def test_receipt_refuses_a_signed_manifest_it_could_not_have_written(org: Org, partner: Partner,
                                                                      tmp_path: Path):
    out = shared(org, tmp_path, "dossier.pgp")
    good = json.loads(share.receipt_path(out).read_text())
    cid = good["manifest"]["cases"][0]
    end = len(good["manifest"]["files"])  # the index an appended entry takes
    attacks = [
        (lambda m: m["files"].append({"path": "../../../etc/passwd", "sha256": "0" * 64,
                                      "size": 1}), f"manifest.files[{end}].path: expected"),
        (lambda m: m["files"].append({"path": "cases/BI-2025-AAAAAA/case.json",
                                      "sha256": "0" * 64, "size": 1}),
         f"manifest.files[{end}].path: expected README.html or cases/<listed id>"),
        (lambda m: m["files"][1].update(path=f"cases/{cid}/evidence/{'0' * 64}.png"),
         "manifest.files[1].path: expected"),
        (lambda m: m["partner"].update(name="Avocats\x1b[2J\u202eUN"),
         "manifest.partner.name: expected 1 to 1000 printable characters"),
        (lambda m: m["cases"].append("../../etc"), "manifest.cases: expected a list of case"),
        (lambda m: m["files"].append(dict(m["files"][0])), "a path is listed twice"),
        (lambda m: m.update(extra=1), "manifest: unexpected extra"),
        (lambda m: m.pop("partner"), "manifest: missing partner"),
        (lambda m: m.update(format="temoin-site/1"), "manifest.format: expected "
                                                     "temoin-dossier/1"),
    ]
    for attack, expected in attacks:
        data = json.loads(json.dumps(good))
        attack(data["manifest"])
        org_signed(org, share.receipt_path(out), share.dumps(data))
        result = run(org, "receipt", str(out))
        refused(result, 1, "not a dossier receipt", expected)
        assert "\u202e" not in result.output


def test_receipt_refuses_malformed_json_signature_and_armor(org: Org, partner: Partner,
                                                            tmp_path: Path):
    out = shared(org, tmp_path, "dossier.asc")
    receipt = share.receipt_path(out)
    sig = receipt.with_name(receipt.name + ".asc")
    good, good_sig = receipt.read_bytes(), sig.read_bytes()
    # signed by the organisation, but not a receipt: its site manifest, or odd JSON
    for data, expected in ((b"0" * 64 + b"  index.html\n", "not a JSON receipt"),
                           (b"\xff\xfe{}", "not a JSON receipt (not UTF-8: invalid start "
                                           "byte at byte 0)"),
                           (b'{"format": 1, "format": "temoin-dossier-receipt/1"}',
                            "a key appears twice"),
                           (b'{"size": NaN}', "NaN is not JSON"),
                           (b"[" * 100_000 + b"]" * 100_000, "nested too deep"),
                           (b'["temoin-dossier-receipt/1"]', "receipt: expected an object, "
                                                             "got a list"),
                           (json.dumps({"format": "temoin-dossier-receipt/2", "dossier": {},
                                        "manifest": {}}).encode(),
                            "format: expected temoin-dossier-receipt/1")):
        org_signed(org, receipt, data)
        refused(run(org, "receipt", str(out)), 1, "signed by " + org.inbox, expected)
    receipt.write_bytes(good.replace(b'"size"', b'"size" ', 1))  # one byte: signature fails
    sig.write_bytes(good_sig)
    refused(run(org, "receipt", str(out)), 3, "signature does not verify")
    receipt.write_bytes(good)
    for bad in (b"-----BEGIN PGP SIGNATURE-----\n\nnot base64 at all\n"
                b"-----END PGP SIGNATURE-----\n", b"", good_sig[:60], b"\x00" * 300):
        sig.write_bytes(bad)
        refused(run(org, "receipt", str(out)), 3, "signature does not verify")
    sig.write_bytes(org.keyring.sign_detached(good, org.alice))  # a good signature, wrong key
    refused(run(org, "receipt", str(out)), 3, "not signed by the organisation key")
    sig.unlink()
    refused(run(org, "receipt", str(out)), 3, "signature missing")
    data = json.loads(run(org, "receipt", str(out), "--json").output)
    assert data["ok"] is False and "signature missing" in data["problems"][0]
    refused(run(org, "receipt", str(sig)), 1, "is a receipt's signature: give the dossier")


def test_receipt_refuses_oversize_files_before_reading_them(org: Org, partner: Partner,
                                                            tmp_path: Path):
    out = shared(org, tmp_path, "dossier.pgp")
    receipt = share.receipt_path(out)
    sig = receipt.with_name(receipt.name + ".asc")
    good = receipt.read_bytes()
    with receipt.open("r+b") as f:  # sparse: costs no disk, and must cost no memory
        f.truncate(share.MAX_RECEIPT + 1)
    refused(run(org, "receipt", str(out)), 1, f"{share.MAX_RECEIPT + 1} bytes, more than a "
                                              f"receipt can be ({share.MAX_RECEIPT})")
    receipt.write_bytes(good)
    with sig.open("ab") as f:
        f.truncate(share.MAX_SIGNATURE + 1)
    refused(run(org, "receipt", str(out)), 1, "more than a receipt signature can be")
    sig.unlink()
    os.mkfifo(sig)  # a signature that never ends
    refused(run(org, "receipt", str(out)), 1, "the receipt signature is not a regular file")
