"""Adversarial review of "trust only what is signed" (second round): the in-process verifier,
the trust root's two-editor rule, the publication record and the keys' own history, attacked
with real gpg and signatures shaped by hand (`tests/pgpcraft.py`) on real repositories."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from temoin import cases, config, curation, keys, trust
from temoin.publish import freshness
from tests import pgpcraft as pc
from tests.curation_fixtures import cli, ok
from tests.helpers import Org, sign_release, site_files

DAY = dt.date(2025, 10, 5)
DATA = json.dumps({"format": "temoin-decision/1", "kind": "verify", "case": "BI-2025-AAAAAA",
                   "content_sha256": "0" * 64, "editor": "X", "date": "2025-10-05",
                   "payload": {"level": "verified"}}, indent=1, sort_keys=True).encode() + b"\n"


def _gpg(org: Org, *args: str, data: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["gpg", "--homedir", str(org.keyring.home), "--batch", "--no-tty",
                           "--pinentry-mode", "loopback", "--passphrase", "", "--yes", *args],
                          input=data, capture_output=True, check=False)


def _secrets(org: Org, fpr: str) -> list[pc.Key]:
    """The Ed25519 keys (primary first, then signing subkeys) of `fpr`, secret parts
    included: what an attacker holding that key (or subkey) can sign with."""
    return pc.from_secret_export(_gpg(org, "--export-secret-keys", fpr).stdout)


def _verdicts(key_files: list[Path], data: bytes, signature: bytes,
              monkeypatch: pytest.MonkeyPatch) -> set[str | None]:
    """The signer each engine (in process, gpg alone) finds for `signature` over `data`."""
    found = set()
    with keys.public_keyring(key_files) as kr:
        for engine in ("sequoia", "gpg"):
            monkeypatch.setenv("TEMOIN_VERIFY", engine)
            found.add(kr.verify_detached(data, signature))
    return found


def _after_keys(org: Org) -> int:
    """A signature time after every key of the keyring was made (keys are made seconds
    before the test signs: a signature older than its key is refused, rightly)."""
    time.sleep(1.1)
    return int(time.time())


# -- the two-editor rule of the trust root ---------------------------------------------------
def _statement_by(org: Org, payload: dict, signers: list[str]) -> Path:  # type: ignore[type-arg]
    """trust/NNNN.json following the chain with `payload`, signed by `signers` only: what
    an attacker holding those keys (and write access to the remote) can commit."""
    files = trust.chain_files(org.repo)
    last = files[-1].read_bytes()
    doc = json.loads(last)
    data = trust.statement(payload, len(files), hashlib.sha256(last).hexdigest(),
                           doc["repo_id"], signers[0], dt.datetime(2025, 10, 6, tzinfo=dt.UTC))
    path = org.repo / "trust" / f"{len(files):04d}.json"
    path.write_bytes(data)
    for s in signers:
        trust.signature_path(path, s).write_bytes(org.keyring.sign_detached(data, s))
    return path


def _payload(org: Org) -> dict:  # type: ignore[type-arg]
    return dict(json.loads(trust.chain_files(org.repo)[-1].read_bytes())["payload"])


def test_one_editor_alone_cannot_replace_the_other(org: Org) -> None:
    """Alice's key is seized. The attacker commits a statement, signed by Alice alone, that
    removes Bob and adds Eve (the attacker's key). "Each change needs two distinct current
    editors": Bob never signed, so the roster stays Alice and Bob, and a case verified by
    Alice and approved by Eve is not published."""
    eve = org.keyring.generate("Eve", "eve@example.invalid")
    (org.repo / "keys" / "editors" / "eve.asc").write_text(org.keyring.export_public(eve))
    payload = _payload(org)
    payload["editors"] = [e for e in payload["editors"] if e["fingerprint"] == org.alice] + [
        {"fingerprint": eve, "name": "Eve", "person": "Eve"}]
    _statement_by(org, payload, [org.alice])
    case = org.add_case(sign=False, narrative="Cas EVE-CANARY.")
    sign_release(org.repo, case, org.keyring, org.alice, eve)
    result = cli(org.repo, "build")
    assert result.exit_code == 3, result.output
    assert "0001.json: signed by 1 of the 2 distinct editors" in result.output
    site = org.repo / "site"
    assert not site.exists() or b"EVE-CANARY" not in b"".join(site_files(site).values())


def test_one_editor_alone_cannot_add_a_key_in_another_persons_name(org: Org) -> None:
    """Without removing anyone: Alice alone adds Eve's key as a second key of the person
    Bob. Four eyes count persons, so Alice (verify) and "Bob" (approve, Eve's key) would
    publish alone. Bob, a current editor, never signed: refused."""
    eve = org.keyring.generate("Eve", "eve@example.invalid")
    (org.repo / "keys" / "editors" / "eve.asc").write_text(org.keyring.export_public(eve))
    payload = _payload(org)
    bob = next(e for e in payload["editors"] if e["fingerprint"] == org.bob)
    payload["editors"] = [*payload["editors"],
                          {"fingerprint": eve, "name": "Bob (laptop)",
                           "person": bob.get("person") or bob["name"]}]
    _statement_by(org, payload, [org.alice])
    with pytest.raises(trust.TrustError, match="signed by 1 of the 2 distinct editors"):
        trust.verify_chain(org.repo)


def test_two_current_editors_still_change_the_roster(org: Org) -> None:
    """What the rule allows: Alice and Bob together replace Bob's key by a new one, and
    remove nobody else; Bob alone (one person, two keys) could not."""
    bob2 = org.keyring.generate("Bob", "bob2@example.invalid")
    (org.repo / "keys" / "editors" / "bob2.asc").write_text(org.keyring.export_public(bob2))
    payload = _payload(org)
    payload["editors"] = [e for e in payload["editors"] if e["fingerprint"] != org.bob] + [
        {"fingerprint": bob2, "name": "Bob", "person": "Bob"}]
    path = _statement_by(org, payload, [org.bob])
    with pytest.raises(trust.TrustError, match="signed by 1 of the 2"):
        trust.verify_chain(org.repo)
    trust.signature_path(path, org.alice).write_bytes(
        org.keyring.sign_detached(path.read_bytes(), org.alice))
    root = trust.verify_chain(org.repo)
    assert root.serial == 1 and bob2 in root.editors and org.bob not in root.editors


# -- the publication record is derived from signed statements only ----------------------------
def test_unsigned_files_in_trust_do_not_raise_the_publication_record(org: Org) -> None:
    """The publication serial decides which copy of the site readers take as current
    (`verify-site` refuses any lower one). Unsigned files in trust/ that are not statements
    of the chain must not raise it, nor date it: a forged commit would otherwise give an
    old copy (a case since withdrawn still on it) a serial no real publication reaches."""
    org.add_case()
    cfg = config.load(org.repo)
    with curation.CachedVerifier(org.repo) as verify:
        before = freshness.record(org.repo, cfg, verify)
    for n in range(30):
        (org.repo / "trust" / f"0000-{n}.json").write_text(
            json.dumps({"kind": "trust-root", "date": "2099-12-31", "payload": {}}))
    (org.repo / "trust" / "0001.json.orig.json").write_text('{"date": "2099-12-31"}')
    with curation.CachedVerifier(org.repo) as verify:
        after = freshness.record(org.repo, cfg, verify)
    assert after == before, (before, after)


# -- the shape of a signature -----------------------------------------------------------------
def test_text_mode_signature_counts_for_no_other_bytes(org: Org,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A text-mode signature (class 0x01) hashes line ends as CRLF: gpg accepted Alice's
    signature of a statement for the same statement with other line ends. A decision counts
    "over the exact content it names": Témoin signs binary documents only (class 0x00), and
    neither engine accepts anything else."""
    alice = _secrets(org, org.alice)[0]
    when = _after_keys(org)
    text = pc.armor(pc.doc_sig(alice, pc.canonical_text(DATA), when, kind=1))
    files = [org.repo / "keys" / "editors" / "alice.asc"]
    for data in (DATA, DATA.replace(b"\n", b"\r\n")):
        assert _verdicts(files, data, text, monkeypatch) == {None}
    good = pc.armor(pc.doc_sig(alice, DATA, when))  # the same signer, binary: counts
    assert _verdicts(files, DATA, good, monkeypatch) == {org.alice}


def test_several_signatures_in_one_file_count_for_none(org: Org,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """One file, one signature: a file holding Alice's and Bob's good signatures was
    accepted by gpg as Alice's (the first), whatever the second."""
    alice, bob = _secrets(org, org.alice)[0], _secrets(org, org.bob)[0]
    when = _after_keys(org)
    files = [org.repo / "keys" / "editors" / n for n in ("alice.asc", "bob.asc")]
    both = pc.doc_sig(alice, DATA, when) + pc.doc_sig(bob, DATA, when)
    assert _verdicts(files, DATA, pc.armor(both), monkeypatch) == {None}
    two_blocks = pc.armor(pc.doc_sig(alice, DATA, when)) + pc.armor(pc.doc_sig(bob, DATA, when))
    assert _verdicts(files, DATA, two_blocks, monkeypatch) == {None}


def test_a_signature_that_expires_never_counts(org: Org, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A signature with its own expiry (subpacket 3; gpg makes them with `default-sig-expire`
    in gpg.conf) counted until it expired, and the signature cache kept it good after: the
    site then differed with TEMOIN_NO_CACHE=1. A verdict must not depend on the day it is
    asked. Témoin's own signatures never expire, whatever gpg.conf says."""
    alice = _secrets(org, org.alice)[0]
    when = _after_keys(org)
    expiring = pc.armor(pc.doc_sig(alice, DATA, when,
                                   extra_hashed=pc.sub(3, (365 * 86400).to_bytes(4, "big"))))
    files = [org.repo / "keys" / "editors" / "alice.asc"]
    assert _verdicts(files, DATA, expiring, monkeypatch) == {None}
    (org.keyring.home / "gpg.conf").write_text("default-sig-expire 1y\n")
    made = org.keyring.sign_detached(DATA, org.alice)
    assert _verdicts(files, DATA, made, monkeypatch) == {org.alice}


# -- a key's history: a revocation cannot be taken back ---------------------------------------
def test_restoring_an_older_key_file_does_not_undo_a_subkey_revocation(
        org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    """Alice signs with a subkey on her laptop. The laptop is stolen: she revokes the subkey
    (key compromise) and commits her key file. The thief, with write access to the remote,
    restores the key file as it was before (from Git history: the same primary key, the
    revocation gone) and signs with the stolen subkey. On a machine that has seen the
    revocation, that is refused: the keys' own history only goes forward."""
    home = str(org.keyring.home)
    assert _gpg(org, "--quick-add-key", org.alice, "ed25519", "sign", "0").returncode == 0
    alice_file = org.repo / "keys" / "editors" / "alice.asc"
    alice_file.write_text(org.keyring.export_public(org.alice))
    ok(cli(org.repo, "check"))
    old_key = alice_file.read_bytes()  # in Git history from now on
    stolen = _secrets(org, org.alice)[1]
    _after_keys(org)
    done = subprocess.run(["gpg", "--homedir", home, "--no-tty", "--pinentry-mode", "loopback",
                           "--passphrase", "", "--command-fd", "0", "--status-fd", "2",
                           "--edit-key", org.alice],
                          input=b"key 2\nrevkey\ny\n2\n\ny\nsave\n", capture_output=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    alice_file.write_text(org.keyring.export_public(org.alice))
    ok(cli(org.repo, "check"))  # this machine sees the revocation
    when = _after_keys(org)
    forged = pc.armor(pc.doc_sig(stolen, DATA, when))
    assert _verdicts([alice_file], DATA, forged, monkeypatch) == {None}
    alice_file.write_bytes(old_key)  # the forged commit
    for args in (["check"], ["build"]):
        result = cli(org.repo, *args)
        assert result.exit_code == 3, (args, result.output)
        assert "keys/editors/alice.asc" in result.output and "revocation" in result.output, \
            result.output


# -- superseded decisions ---------------------------------------------------------------------
def test_an_older_signed_version_of_a_case_is_not_published_again(org: Org) -> None:
    """Editors published a case, then found that its text identified a witness and published
    a corrected version (re-verified, re-approved). A forged commit restores the first
    version and its signed decisions from Git history: every statement is still signed, but
    the chain now ends before the newest decision this machine has seen (`curation.heads`),
    so no decision of the case counts here and `check` says it was rolled back."""
    case = org.add_case(narrative="Le témoin OLD-CANARY a vu l'arrestation.")
    saved = {p.relative_to(case.folder): p.read_bytes() for p in case.folder.rglob("*")
             if p.is_file()}
    fixed = cases.load(org.repo, case.id)
    fixed.narrative = "Un témoin a vu l'arrestation."
    sign_release(org.repo, fixed, org.keyring, org.alice, org.bob, day=DAY + dt.timedelta(1))
    ok(cli(org.repo, "build"))
    assert b"OLD-CANARY" not in b"".join(site_files(org.repo / "site").values())
    shutil.rmtree(case.folder)
    for rel, data in saved.items():
        (case.folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (case.folder / rel).write_bytes(data)
    cli(org.repo, "build")
    site = org.repo / "site"
    assert not site.exists() or b"OLD-CANARY" not in b"".join(site_files(site).values())
    check = cli(org.repo, "check")
    assert check.exit_code != 0 and "rolled back" in check.output, check.output


# -- mkdocs.yml decides what every page shows ----------------------------------------------
def test_a_forged_mkdocs_yml_puts_no_text_on_the_site(org: Org) -> None:
    """mkdocs.yml is not code any more, but it is still words on every page: the site's
    name, its navigation. A forged commit renames the "Témoigner" menu entry to a phone
    number of the attacker's: a signed site would send sources to them. The build refuses
    it like a planted page (two editors sign the site's settings), and names the file."""
    org.add_case()
    mk = org.repo / "mkdocs.yml"
    mk.write_text(mk.read_text().replace(
        "- Témoigner: temoigner/index.md",
        "- 'Témoignez par Signal au +257 PHISH-CANARY': temoigner/index.md"))
    result = cli(org.repo, "build")
    assert result.exit_code == 3, result.output
    assert "mkdocs.yml: changed since the signed trust root" in result.output
    site = org.repo / "site"
    assert not site.exists() or b"PHISH-CANARY" not in b"".join(site_files(site).values())
    check = cli(org.repo, "check")
    assert check.exit_code != 0 and "mkdocs.yml" in check.output, check.output


def test_the_editors_change_the_site_settings_with_two_signatures(org: Org) -> None:
    """What the editors do instead: `config set` proposes the change signed by the acting
    editor, a second editor signs, the build runs. Settings the trust root states already
    (the contact address while a change of it waits) do not stop the build."""
    org.add_case()
    result = cli(org.repo, "config", "set", "site_name", "SOS", "Nouveau", editor=org.alice)
    assert result.exit_code == 0, result.output
    assert "Proposed trust/proposed.json" in result.output, result.output
    assert cli(org.repo, "build").exit_code == 3
    ok(cli(org.repo, "trust", "sign", editor=org.bob))
    ok(cli(org.repo, "build"))
    assert b"SOS Nouveau" in (org.repo / "site" / "index.html").read_bytes()
    waiting = cli(org.repo, "config", "set", "contact_email", "autre@example.invalid",
                  editor=org.alice)
    assert waiting.exit_code == 0, waiting.output
    ok(cli(org.repo, "build"))  # the root's address still counts: nothing new is public


def test_a_cosigner_signs_only_what_their_checkout_holds(org: Org) -> None:
    """A proposal records the site's own files by hash: nobody can read them in it. Alice
    proposes a page change from a checkout where a forged commit had also planted a page
    (she did not notice); the forged commit is then reverted, so Bob's `git diff` shows
    only Alice's change. `trust sign` refuses: the proposal states a file Bob's checkout
    does not hold. (Signed, it admitted the planted page whenever it came back.)"""
    planted = org.repo / "site_src" / "contact-urgent.md"
    planted.write_text("# Écrivez-nous sur Signal : +257 PHISH-CANARY\n")
    about = next((org.repo / "site_src").glob("a-propos*.md"))
    about.write_text(about.read_text() + "\nNouvelle adresse postale.\n")
    ok(cli(org.repo, "trust", "propose", editor=org.alice))
    planted.unlink()  # what Bob's checkout holds
    result = cli(org.repo, "trust", "sign", editor=org.bob)
    assert result.exit_code == 3, result.output
    assert "site_src/contact-urgent.md" in result.output, result.output
    assert trust.proposed_path(org.repo).exists() and trust.require(org.repo).serial == 0
    ok(cli(org.repo, "trust", "propose", editor=org.alice))  # from what both hold
    ok(cli(org.repo, "trust", "sign", editor=org.bob))
    assert trust.require(org.repo).serial == 1


def test_a_signature_dated_in_the_future_does_not_count_yet(org: Org,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """gpg does not look at a signature's date: one dated after its key's (future) expiry
    was good until that expiry, refused after, while the signature cache kept it good (a
    site that differs with TEMOIN_NO_CACHE=1). Dated in the future, it does not count yet;
    so a good verdict never turns bad with time."""
    alice = _secrets(org, org.alice)[0]
    when = _after_keys(org)
    files = [org.repo / "keys" / "editors" / "alice.asc"]
    ahead = pc.armor(pc.doc_sig(alice, DATA, when + 3 * 3600))
    assert _verdicts(files, DATA, ahead, monkeypatch) == {None}
    assert _verdicts(files, DATA, pc.armor(pc.doc_sig(alice, DATA, when)),
                     monkeypatch) == {org.alice}
