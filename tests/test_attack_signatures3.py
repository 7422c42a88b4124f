"""Adversarial review of "trust anchored in signatures" (third round, issue 16): an attacker
with write access to the Git remote, or a full copy of it (its .git included) and the raw
inbox messages. Each test is a variant the first two rounds did not try, on a real
repository with real gpg, a real build and real git."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from temoin import cases
from temoin.intake import ingest as intake
from tests.curation_fixtures import cli, ok
from tests.helpers import Org, site_files
from tests.intake_fixtures import inner_mime, pgp_mime


# -- what a decision covers is what the site renders -----------------------------------------
def test_re_indenting_a_signed_narrative_changes_nothing_on_the_site(org: Org) -> None:
    """The signed content hash covered the narrative with its surrounding whitespace
    stripped, but the site rendered it as stored: a forged commit that indents the first
    paragraph of a published case by four spaces kept every decision valid and turned the
    witness's words into a code block (or, with other leading whitespace, changed how the
    page reads). What is rendered is now exactly what was signed."""
    case = org.add_case(narrative="Le témoin INDENT-CANARY a vu l'arrestation.")
    ok(cli(org.repo, "build"))
    page = _case_page(org, case.id)
    assert "<pre>" not in page and "INDENT-CANARY" in page
    path = case.folder / cases.PUBLIC
    text = path.read_text()
    path.write_text(text.replace("Le témoin INDENT-CANARY", "    Le témoin INDENT-CANARY"))
    cli(org.repo, "build")
    site = org.repo / "site"
    rendered = b"".join(site_files(site).values()).decode("utf-8", "replace") \
        if site.exists() else ""
    assert "<pre><code>Le témoin INDENT-CANARY" not in rendered


def _case_page(org: Org, case_id: str) -> str:
    found = [p for p in (org.repo / "site").rglob("index.html") if case_id.lower() in
             str(p).lower() or case_id in p.read_text(errors="replace")]
    assert found, case_id
    return "".join(p.read_text() for p in found)


# -- git runs no code a copied .git brings ---------------------------------------------------
def test_doctor_runs_no_command_a_copied_git_config_names(org: Org, tmp_path: Path) -> None:
    """A full copy of the repository (a tarball, a seized laptop's folder handed on) carries
    its .git/config. `temoin doctor` asked git for the status of the checkout, and git
    runs `core.fsmonitor`, and the clean filter a `.gitattributes` names, from that
    config: a command of the attacker's ran on the editor's machine. Doctor now refuses to
    ask git anything about a checkout whose own config names a command, and says so."""
    repo = org.repo
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    marks = {k: tmp_path / f"ran-{k}" for k in ("fsmonitor", "filter")}
    subprocess.run(["git", "-C", str(repo), "config", "core.fsmonitor",
                    f"touch {marks['fsmonitor']}; false"], check=True)
    subprocess.run(["git", "-C", str(repo), "config", "filter.evil.clean",
                    f"touch {marks['filter']}; cat"], check=True)
    (repo / ".gitattributes").write_text("* filter=evil\n")
    subprocess.run(["git", "-C", str(repo), "-c", "core.fsmonitor=false", "-c",
                    "filter.evil.clean=cat", "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "core.fsmonitor=false", "-c",
                    "filter.evil.clean=cat", "-c", "user.email=e@example.invalid", "-c",
                    "user.name=E", "commit", "-qm", "x"], check=True)
    (repo / "mkdocs.yml").touch()  # the stat changes: git would run the clean filter
    os.utime(repo / "mkdocs.yml", (1, 1))
    result = cli(repo, "doctor")
    assert not [k for k, m in marks.items() if m.exists()], result.output
    assert "core.fsmonitor" in result.output and "filter.evil.clean" in result.output, \
        result.output


# -- sizes in the repository do not link a case to its message ------------------------------
def test_sealed_files_do_not_give_away_their_messages_sizes(org: Org) -> None:
    """The attacker holds the raw messages (encrypted to the inbox key: they know each
    one's size) and a clone. Evidence, sealed case.md and private parts were encrypted
    unpadded (evidence compressed), so their sizes followed the message's: two submissions
    with photos of 17,000 and 20,000 bytes gave evidence files 4 KB apart and each case
    was paired with its message by size alone. Every sealed file is now padded to a size
    class (4 KiB, then Padmé), so similar submissions leave files of the same sizes."""
    raws = []
    for n, (size, text) in enumerate(((17_000, "Court."), (20_000, "Un peu plus long. " * 9))):
        photo = os.urandom(size)
        inner = inner_mime(text, subject="Témoignage", attachments=[
            (f"photo{n}.jpg", "image/jpeg", photo, "2231")])
        raw = pgp_mime(org.keyring.encrypt(inner, [org.inbox]))
        (org.repo / "inbox" / f"{n}.eml").write_bytes(raw)
        raws.append(raw)
    assert abs(len(raws[0]) - len(raws[1])) > 3000
    results = intake.ingest(org.repo, org.cfg, org.keyring)
    assert [r.result for r in results] == ["ingested"] * 2, results
    shapes = []
    for r in results:
        folder = org.repo / "cases" / str(r.case)
        shapes.append(sorted((p.relative_to(folder).parts[0], p.stat().st_size)
                             for p in folder.rglob("*") if p.is_file()))
    assert shapes[0] == shapes[1], shapes
    # and the parts still read back whole, signed
    for r in results:
        private = cases.read_private(org.repo, str(r.case), org.keyring)
        [entry] = private["evidence"]
        data = cases.read_evidence(org.repo, str(r.case), entry, org.keyring)
        assert len(data) == entry["size"]
        assert cases.load(org.repo, str(r.case)).narrative == ""


def test_sealing_through_gpg_leaves_padding_its_size(org: Org) -> None:
    """Without pysequoia (or with a key it cannot use) sealed custody entries and parts go
    through gpg, which compressed them: a padded entry of spaces came out smaller than one
    of the same length that does not compress, so the padding said nothing and the sizes
    of custody lines and parts followed their content again. gpg's sealing is uncompressed,
    as Sequoia's."""
    plain = [b" " * 4096, os.urandom(2048).hex().encode()]
    sealed = org.keyring.encrypt_many(plain, org.cfg.recipient_fingerprints)
    assert len(sealed[0]) == len(sealed[1]), [len(s) for s in sealed]
    signed = org.keyring.encrypt_many(plain, org.cfg.recipient_fingerprints, org.alice)
    assert len(signed[0]) == len(signed[1]), [len(s) for s in signed]


# -- decisions are bound to their organisation -----------------------------------------------
def test_a_case_published_by_another_organisation_is_not_published_here(
        org: Org, tmp_path: Path) -> None:
    """Alice and Bob edit for two organisations with the same keys (a network sharing its
    documentation officers). A decision named the case and its content, not the
    organisation: a forged commit copied a case folder, signed decisions included, from
    the other organisation's repository into this one, and it was published on this
    organisation's site under its name. A decision now names the trust root it was made
    under (`root`), and counts in no other."""
    from tests.helpers import make_org

    other_root = tmp_path / "other"
    other_root.mkdir()
    other = make_org(other_root, org.keyring, {"inbox": org.inbox, "alice": org.alice,
                                               "bob": org.bob})
    foreign = other.add_case(narrative="Récit FOREIGN-CANARY de l'autre organisation.")
    ok(cli(other.repo, "build"))
    assert b"FOREIGN-CANARY" in b"".join(site_files(other.repo / "site").values())
    import shutil
    shutil.copytree(foreign.folder, org.repo / "cases" / foreign.id)
    org.add_case()
    result = cli(org.repo, "build")
    site = org.repo / "site"
    assert not site.exists() or b"FOREIGN-CANARY" not in b"".join(site_files(site).values()), \
        result.output
    check = cli(org.repo, "check")
    assert check.exit_code != 0 and foreign.id in check.output, check.output


# -- what the repository shows of an unpublished case ----------------------------------------
def test_decisions_of_an_unpublished_case_show_none_of_its_facts(org: Org) -> None:
    """An unpublished case is sealed whole, but the signed decisions beside it were plain
    JSON: the summary of an intervention (to be shown once published), the consent record
    (who gave it, how, when) and the urgent flag of a case the site does not show could be
    read by anyone holding a clone. A decision about an unpublished case now holds its
    payload sealed to the editors; the signature still covers it and every check still
    runs without a key until the payload itself is needed."""
    case = org.add_case(status="draft", sign=False, consent="anonymised")
    result = cli(org.repo, "case", "intervene", case.id, "--type", "urgent_appeal", "--to",
                 "Procureur", "--summary-fr", "Lettre SUMMARY-CANARY au procureur",
                 editor=org.alice)
    assert result.exit_code == 0, result.output
    ok(cli(org.repo, "case", "urgent", case.id, editor=org.alice))
    ok(cli(org.repo, "case", "consent", case.id, "--ceiling", "anonymised", "--how",
           "written_form", "--given-by", "legal_representative", editor=org.alice))
    folder = case.folder
    shown = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    assert b"SUMMARY-CANARY" not in shown
    assert b"legal_representative" not in shown
    assert b'"urgent": true' not in shown
    # Sealed, they still count (read in memory, the chain intact).
    assert _urgent_counts(org, case.id)


def _urgent_counts(org: Org, case_id: str) -> bool:
    from temoin import curation

    with curation.CachedVerifier(org.repo) as verify:
        found = curation.signed(cases.load(org.repo, case_id), "urgent",
                                org.cfg.recipient_fingerprints, verify)
    return found is not None and found.payload.get("urgent") is True


def test_migrate_seals_the_plain_decisions_of_an_unpublished_case(org: Org) -> None:
    """Decisions an earlier version wrote plain beside a draft: `temoin migrate` seals
    them (the same signed statements, so they count as before, under a custody entry),
    once: a second run finds nothing to do. A published case's stay plain."""
    from temoin import custody
    from temoin.cases import review as review_files
    from temoin.curation import decisions
    from temoin.keys import vault

    draft = org.add_case(status="draft", sign=False)
    published = org.add_case()
    ok(cli(org.repo, "case", "urgent", draft.id, editor=org.alice))
    folder = draft.folder / decisions.FOLDER
    review_files.unseal(draft.folder)  # as an earlier version left it
    assert b'"urgent": true' in (folder / "urgent.json").read_bytes()
    result = cli(org.repo, "migrate", "--yes", editor=org.alice)
    assert result.exit_code == 0 and "sealed the decisions of 1" in result.output, \
        result.output
    assert not list(folder.glob("*.json*")) and (folder / "urgent.sealed.asc").is_file()
    assert b'"urgent": true' not in b"".join(p.read_bytes() for p in folder.iterdir())
    assert (published.folder / decisions.FOLDER / "publish.json").is_file()
    entries = [e for e in custody.entries(org.repo, vault.Vault(
        org.keyring, org.cfg.recipient_fingerprints)) if e.get("action") == "decisions_sealed"]
    assert [e["cases"] for e in entries] == [[draft.id]]
    assert _urgent_counts(org, draft.id)
    again = cli(org.repo, "migrate", "--yes", editor=org.alice)
    assert again.exit_code == 0 and "Nothing to migrate" in again.output, again.output


# -- the id secret is the editors' ----------------------------------------------------------
def test_a_planted_id_secret_does_not_let_the_attacker_compute_case_ids(org: Org) -> None:
    """Case ids are an HMAC of the submission keyed with `keys/id-secret.asc`, so that
    whoever holds a message cannot compute its id. But that file was only encrypted to the
    editors, not signed: anyone with their public keys (they are in the repository) could
    replace it with a secret of their own, and every message ingested afterwards got an id
    the attacker computes from the raw message (and evidence names keyed with it). The id
    secret is now signed by its writer like a private part, and one nobody the trust root
    names signed is refused, naming the file."""
    import datetime as dt
    import hashlib
    import secrets

    from temoin.keys import vault

    raw = pgp_mime(org.keyring.encrypt(inner_mime("Premier."), [org.inbox]))
    (org.repo / "inbox" / "0.eml").write_bytes(raw)
    ok(cli(org.repo, "ingest"))
    assert (org.repo / vault.ID_SECRET).is_file()
    mine = secrets.token_bytes(32)
    (org.repo / vault.ID_SECRET).write_bytes(org.keyring.encrypt(
        mine.hex().encode() + b"\n", org.cfg.recipient_fingerprints))
    raw = pgp_mime(org.keyring.encrypt(inner_mime("Second témoignage."), [org.inbox]))
    (org.repo / "inbox" / "1.eml").write_bytes(raw)
    result = cli(org.repo, "ingest")
    attacker = vault.Vault(org.keyring, [])
    attacker._id_key = mine
    seed = attacker.id_seed(org.repo, hashlib.sha256(raw).hexdigest())
    guess = cases.new_id(org.cfg.case_prefix, dt.date.today().year, seed)
    assert not (org.repo / "cases" / guess).exists(), result.output
    assert result.exit_code == 3 and vault.ID_SECRET in result.output, result.output


def test_migrate_signs_the_id_secret_an_earlier_version_wrote(org: Org) -> None:
    """The way out for a repository whose id secret an earlier version wrote unsigned:
    ingest refuses it (exit 3), `temoin migrate` lists it, signs it as the acting editor,
    keeps the secret (the same message, the same id), and ingest runs again."""
    import secrets

    from temoin.keys import vault

    old = secrets.token_bytes(32)
    # What an earlier version's `Vault.seal` wrote: encrypted only (its sealer, unsigned).
    (org.repo / vault.ID_SECRET).write_bytes(vault.Vault(
        org.keyring, org.cfg.recipient_fingerprints).sealer.encrypt_many(
            [old.hex().encode() + b"\n"])[0])
    (org.repo / "inbox" / "0.eml").write_bytes(
        pgp_mime(org.keyring.encrypt(inner_mime("Un témoignage."), [org.inbox])))
    refused = cli(org.repo, "ingest")
    assert refused.exit_code == 3 and "temoin migrate" in refused.output, refused.output
    result = cli(org.repo, "migrate", "--yes", editor=org.alice)
    assert result.exit_code == 0 and vault.ID_SECRET in result.output, result.output
    assert vault.Vault(org.keyring, []).id_key(org.repo) == old
    ok(cli(org.repo, "ingest"))


def test_merging_two_testimonies_leaves_no_ciphertext_shared_by_both_cases(org: Org) -> None:
    """`case merge` copied the duplicate's evidence ciphertext as it was into the kept case
    (and removed it from the duplicate): the same blob under two case folders in Git linked
    the unpublished duplicate, and the arrival it came from, to the kept case, which the
    site may show. Evidence is sealed afresh for the kept case (checked, then signed by the
    editor who merges)."""
    ids = []
    for n in range(2):
        inner = inner_mime(f"Témoignage {n}.", attachments=[
            (f"p{n}.jpg", "image/jpeg", os.urandom(5000), "2231")])
        (org.repo / "inbox" / f"{n}.eml").write_bytes(
            pgp_mime(org.keyring.encrypt(inner, [org.inbox])))
    ids = [str(r.case) for r in intake.ingest(org.repo, org.cfg, org.keyring)]
    dup, keep = ids
    before = {p.read_bytes() for p in (org.repo / "cases" / dup / "evidence").iterdir()}
    ok(cli(org.repo, "case", "merge", dup, keep, editor=org.alice))
    after = {p.read_bytes() for p in (org.repo / "cases" / keep / "evidence").iterdir()}
    assert len(after) == 2 and not before & after
    private = cases.read_private(org.repo, keep, org.keyring)
    for entry in private["evidence"]:
        assert len(cases.read_evidence(org.repo, keep, entry, org.keyring)) == 5000
