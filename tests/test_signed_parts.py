"""Issue 16, item 3: a private part or an evidence file counts only when signed inside by the
editor who wrote it, or by the intake's inbox key; anyone else's (nobody's, an outsider's, a
revoked editor's after its revocation) is refused by every command that reads it, naming
the file and the fix. `temoin migrate` signs an older repository's parts once the editor has
seen them. Real gpg, real repositories."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from temoin import cases, curation, keys, settings
from temoin.cli import main
from temoin.errors import CryptoError
from tests.curation_fixtures import cli, ok
from tests.helpers import FORGERIES, Org, forge, sign_v1, site_files

DAY = dt.date(2025, 10, 5)
TESTIMONY = "Emmené de nuit vers le cachot PART-CANARY-5K2Q."
FORGED = "FORGED-VALUE-9Z"


def _quarterly(org: Org) -> None:
    settings.update(org.repo, lambda o: o.__setitem__("bulletin_period", "quarter"))
    org.resign_site()  # mkdocs.yml's settings are signed with the site's files


def _inner_signer(org: Org, path: Path) -> str:
    """The primary fingerprint gpg reports for the signature inside an encrypted file."""
    res = org.keyring.decrypt(path.read_bytes(), max_output=1 << 30)
    assert res.ok, res.reason
    return res.signer if res.signature_valid else ""


@pytest.mark.parametrize("how", FORGERIES)
def test_a_forged_private_part_is_refused_by_check_publish_and_build(org: Org, how: str) -> None:
    """The private part of a published case is replaced by one encrypted to the editors
    (anyone with their public keys can) holding other consent and other values: `check`,
    `case publish` and `build` refuse it, name the file and say how to fix it, and show
    none of its values."""
    _quarterly(org)
    case = org.add_case(private={"testimony": TESTIMONY, "consent_requested": "anonymised"})
    part = cases.private_path(org.repo, case.id)
    assert _inner_signer(org, part) == org.alice  # written by Alice, signed by her
    forged = {"testimony": FORGED, "consent_requested": "named", "share_consent": ["lawyer"]}
    part.write_bytes(forge(org, cases.parts.plaintext(case.id, forged), how))
    why = {"unsigned": "not signed", "outsider": "neither an editor's nor the inbox key",
           "revoked": "after that key's revocation"}[how]
    where = f"cases/{case.id}/private.yaml.asc"
    for args, code in ((["check"], 1), (["case", "publish", case.id, "--editor", org.bob], 3),
                       (["build"], 3)):
        result = cli(org.repo, *args)
        assert result.exit_code == code, (args, result.output)
        assert where in result.output and why in result.output, (args, result.output)
        assert "temoin migrate" in result.output and FORGED not in result.output
    assert not (org.repo / "site").exists()
    with pytest.raises(CryptoError, match=why):
        cases.read_private(org.repo, case.id, org.keyring)


def test_a_part_signed_for_another_case_is_refused(org: Org) -> None:
    """A genuine part, signed by an editor, copied into another case's folder: the header
    inside the signature names the case it was written for."""
    one = org.add_case(status="draft", sign=False, private={"testimony": TESTIMONY})
    two = org.add_case(status="draft", sign=False, private={"testimony": "Autre."})
    cases.private_path(org.repo, two.id).write_bytes(
        cases.private_path(org.repo, one.id).read_bytes())
    with pytest.raises(CryptoError, match=f"signed for another case \\({one.id}\\)"):
        cases.read_private(org.repo, two.id, org.keyring)
    result = cli(org.repo, "case", "show", two.id, "--private")
    assert result.exit_code == 3 and f"cases/{two.id}/private.yaml.asc" in result.output


def test_a_swapped_consent_record_changes_nothing_public(org: Org) -> None:
    """The source consented to an anonymised page; the public consent says named. An
    unsigned private part claiming the source consented to a named page (and to sharing)
    must not let `case publish` through, and the site stays as it was."""
    _quarterly(org)
    org.add_case()  # something on the site
    case = org.add_case(status="review", sign=False, consent="named",
                        private={"testimony": TESTIMONY, "consent_requested": "anonymised"})
    for kind, who in (("verify", org.alice), ("approve", org.bob), ("risk-review", org.bob)):
        curation.record_decision(org.repo, case, kind, who, org.keyring, DAY)
    cases.save(org.repo, case)
    refused = cli(org.repo, "case", "publish", case.id, "--editor", org.bob)
    assert refused.exit_code == 4 and "exceeds the consent the source gave" in refused.output
    ok(cli(org.repo, "build"))
    before = site_files(org.repo / "site")
    swapped = {"testimony": TESTIMONY, "consent_requested": "named",
               "share_consent": ["lawyer", "un", "journalist"]}
    cases.private_path(org.repo, case.id).write_bytes(
        forge(org, cases.parts.plaintext(case.id, swapped), "unsigned"))
    result = cli(org.repo, "case", "publish", case.id, "--editor", org.bob)
    assert result.exit_code == 3 and "not signed" in result.output, result.output
    assert cases.load(org.repo, case.id).status == "review"
    assert not (case.folder / "review" / "publish.json").exists()
    assert cli(org.repo, "build").exit_code == 3
    assert site_files(org.repo / "site") == before  # the last good site, untouched
    assert case.id.encode() not in b"".join(before.values())


# -- migrate: an older repository's parts, signed once the editor has seen them ------------
def _legacy_case(org: Org) -> tuple[cases.Case, bytes]:
    """A published case as an older Témoin left it: an unsigned private part listing an
    unsigned `<sha256>.asc` evidence file, and format-1 decisions."""
    case = org.add_case(sign=False, narrative="Récit public.")
    case.meta["review"] = {"verified_by": org.alice, "approved_by": org.bob,
                           "risk_reviewed": DAY}
    case.meta["published"] = DAY
    cases.save(org.repo, case)
    photo = b"\x89PNG fake evidence bytes"
    sha = hashlib.sha256(photo).hexdigest()
    evidence = case.folder / "evidence" / f"{sha}.asc"
    evidence.parent.mkdir()
    evidence.write_bytes(org.keyring.encrypt(photo, org.cfg.recipient_fingerprints))
    data = {"testimony": TESTIMONY, "consent_requested": "anonymised",
            "evidence": [{"name": "photo.png", "sha256": sha, "media_type": "image/png"}]}
    cases.private_path(org.repo, case.id).write_bytes(org.keyring.encrypt(
        cases.private_yaml(data), org.cfg.recipient_fingerprints))
    sign_v1(org, case, "consent", org.alice, ceiling="anonymised", how="written_form",
        given_by="victim", obtained=DAY.isoformat())
    for kind, who in (("verify", org.alice), ("approve", org.bob), ("risk-review", org.bob)):
        sign_v1(org, case, kind, who)
    sign_v1(org, case, "publish", org.bob, published=DAY.isoformat(), consent_ceiling="anonymised")
    return case, photo


def test_migrate_signs_older_parts_after_showing_them(org: Org) -> None:
    case, photo = _legacy_case(org)
    where = f"cases/{case.id}/private.yaml.asc"
    check = cli(org.repo, "check")
    assert check.exit_code == 1 and where in check.output and "not signed" in check.output
    assert "decisions not chained" in check.output
    before = {p: p.read_bytes() for p in case.folder.rglob("*") if p.is_file()}
    # Shown first: the file, why, its keys and consent fields; not its text. "n": nothing.
    declined = _migrate(org, "n\n")
    assert declined.exit_code == 1 and "nothing migrated" in declined.output
    assert where in declined.output and "not signed" in declined.output
    assert "consent_requested: 'anonymised'" in declined.output
    assert TESTIMONY not in declined.output
    assert {p: p.read_bytes() for p in case.folder.rglob("*") if p.is_file()} == before
    shown = _migrate(org, "", "--show", "--yes")
    assert shown.exit_code == 0, shown.output
    assert TESTIMONY in shown.output and "chained" in shown.output
    part = cases.read_private(org.repo, case.id, org.keyring)
    assert part["testimony"] == TESTIMONY
    assert _inner_signer(org, cases.private_path(org.repo, case.id)) == org.alice
    [entry] = part["evidence"]
    kept = cases.evidence_file(org.repo, case.id, entry)
    assert kept.name == entry["file"] != f"{entry['sha256']}.asc"
    assert _inner_signer(org, kept) == org.alice
    assert cases.read_evidence(org.repo, case.id, entry, org.keyring) == photo
    assert sorted(p.name for p in (case.folder / "evidence").iterdir()) == [kept.name]
    assert (case.folder / "review" / "chain.json").is_file()
    ok(cli(org.repo, "check"))
    again = _migrate(org, "")
    assert again.exit_code == 0 and "Nothing to migrate" in again.output


def _migrate(org: Org, answer: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--repo", str(org.repo), "migrate", "--editor", org.alice,
                                     *args], input=answer)


def test_ingest_signs_what_it_writes_with_the_inbox_key(org: Org) -> None:
    """Ingest holds no editor's key to sign with, but the inbox key is there (it decrypts
    the inbox) and the signed trust root names it: "this came in through our intake"."""
    inbox = org.repo / "inbox"
    inbox.mkdir(exist_ok=True)
    (inbox / "t.asc").write_bytes(org.keyring.encrypt(TESTIMONY.encode(), [org.inbox]))
    ok(cli(org.repo, "ingest"))
    [folder] = [p for p in (org.repo / "cases").iterdir()]
    assert _inner_signer(org, folder / cases.PRIVATE) == org.inbox
    assert cases.read_private(org.repo, folder.name, org.keyring)["testimony"].strip() \
        == TESTIMONY
    with keys.Signers.for_repo(org.repo) as signers:
        assert signers.allowed[org.inbox] == "inbox"
