"""Issue 16 attacks: a forged commit publishes nothing and runs nothing (real repo, real gpg)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from temoin import cases, config, curation, files, keys, settings, trust
from temoin.trust import statements
from tests.curation_fixtures import cli, ok
from tests.helpers import Org, site_files

DAY = "2025-10-05"


def _quarterly(org: Org) -> None:
    settings.update(org.repo, lambda o: o.__setitem__("bulletin_period", "quarter"))
    org.resign_site()  # mkdocs.yml's settings are signed with the site's files


# -- 2. no code from the repository -------------------------------------------------------
@pytest.mark.parametrize("how", ["python-tag", "hook"])
def test_forged_mkdocs_yml_runs_nothing_and_is_refused(org: Org, tmp_path: Path, how: str):
    marker = tmp_path / f"pwned-{how}"
    mk = org.repo / "mkdocs.yml"
    if how == "python-tag":
        mk.write_text(mk.read_text() + f"\nextra_css_x: !!python/object/apply:os.system "
                                       f"['touch {marker}']\n")
        expected = "python/object/apply:os.system"
    else:
        (org.repo / "hook.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
        mk.write_text(mk.read_text() + "\nhooks:\n  - hook.py\n")
        expected = "hooks: refused"
    for args in (["build"], ["check"], ["case", "list"]):
        result = cli(org.repo, *args)
        assert result.exit_code != 0, (args, result.output)
        assert expected in result.output, (args, result.output)
    assert not marker.exists()


def test_unlisted_plugin_and_extension_are_refused(org: Org):
    mk = org.repo / "mkdocs.yml"
    text = re.sub(r"(?m)^(\s*)- admonition$", r"\1- admonition\n\1- evil.ext", mk.read_text())
    text = re.sub(r"(?m)^(\s*)- search: (.*)$", r"\1- search: \2\n\1- macros", text)
    assert "evil.ext" in text and "macros" in text
    mk.write_text(text)
    result = cli(org.repo, "build")
    assert result.exit_code == 1, result.output
    assert "plugins: macros: not in the allow-list" in result.output
    assert "markdown_extensions: evil.ext: not in the allow-list" in result.output


def test_a_setting_given_twice_in_mkdocs_yml_is_refused(org: Org):
    # A reader of the file (a co-signer of the trust root) sees the first site_name; YAML
    # keeps the last. Proposing it for signature is refused, naming the key.
    mk = org.repo / "mkdocs.yml"
    before = trust.chain_files(org.repo)
    mk.write_text(mk.read_text() + "\nsite_name: Attacker\n")
    result = cli(org.repo, "trust", "propose", "--editor", org.alice)
    assert result.exit_code != 0, result.output
    assert "'site_name' given twice" in result.output, result.output
    assert trust.chain_files(org.repo) == before


def test_no_unsafe_yaml_loader_in_the_package():
    src = Path(__file__).resolve().parent.parent / "src"
    for f in list(src.rglob("*.py")) + list((src.parent / "scripts").rglob("*.py")):
        text = f.read_text()
        for bad in ("FullLoader", "UnsafeLoader", "unsafe_load", "yaml.Loader)",
                    "Loader=yaml.Loader"):
            assert bad not in text, (f, bad)


# -- 1. the signed trust root -------------------------------------------------------------
def _mallory(org: Org) -> str:
    fpr = org.keyring.generate("Mallory", "mallory@example.invalid")
    (org.repo / "keys" / "editors" / "mallory.asc").write_text(org.keyring.export_public(fpr))
    return fpr


REFUSING = (["build"], ["ingest"], ["share", "X", "--to", "ngo", "-o", "d.asc"], ["check"])


def _all_refuse(org: Org, words: str) -> None:
    for args in REFUSING:
        result = cli(org.repo, *args)
        assert result.exit_code in (1, 3), (args, result.output)
        assert words in result.output, (args, result.output)


def test_forged_recipients_in_mkdocs_yml_change_nothing(org: Org):
    mallory = _mallory(org)
    settings.update(org.repo, lambda o: o["recipients"].append(
        {"fingerprint": mallory, "name": "Mallory"}))
    assert mallory not in config.load(org.repo).recipient_fingerprints  # the root counts
    result = cli(org.repo, "check")
    assert result.exit_code == 1
    assert "editors differs from the signed trust root" in result.output


def test_forged_statement_without_two_signatures_is_refused(org: Org):
    mallory = _mallory(org)
    inbox2 = org.keyring.generate("Inbox2", "inbox2@example.invalid")
    settings.update(org.repo, lambda o: (o["recipients"].append(
        {"fingerprint": mallory, "name": "Mallory"}), o.__setitem__("inbox_key", inbox2)))
    # Mallory writes the next statement and signs it herself, then Alice alone signs.
    cfg = config.from_options(org.repo, config.plugin_options(
        config.read_mkdocs_yml(org.repo / "mkdocs.yml")), None, root=False)
    last = trust.chain_files(org.repo)[-1].read_bytes()
    doc = json.loads(last)
    data = trust.statement(trust.payload_from(cfg), 1, hashlib.sha256(last).hexdigest(),
                           doc["repo_id"], mallory, dt.datetime(2025, 10, 6, tzinfo=dt.UTC))
    forged = org.repo / "trust" / "0001.json"
    forged.write_bytes(data)
    trust.signature_path(forged, mallory).write_bytes(org.keyring.sign_detached(data, mallory))
    _all_refuse(org, "0001.json: signed by 0 of the 2 distinct editors")
    trust.signature_path(forged, org.alice).write_bytes(
        org.keyring.sign_detached(data, org.alice))
    _all_refuse(org, "0001.json: signed by 1 of the 2 distinct editors")
    # A forged inbox key file under the old root is refused as well.
    forged.unlink()
    for sig in trust.signature_files(forged):
        sig.unlink()
    (org.repo / "keys" / "inbox.asc").write_text(org.keyring.export_public(inbox2))
    _all_refuse(org, "keys/inbox.asc: holds")


@pytest.mark.parametrize("which", ["statement", "signature", "editor key"])
def test_oversize_trust_and_key_files_are_refused_unread(org: Org, which: str):
    """A statement, signature or key file grown past any real one (sparse: no disk used)
    is refused before it is read, naming the file: it could otherwise fill the memory."""
    first = trust.chain_files(org.repo)[0]
    path, limit = {
        "statement": (first, statements.MAX_STATEMENT),
        "signature": (trust.signature_files(first)[0], statements.MAX_SIGNATURE),
        "editor key": (sorted((org.repo / "keys" / "editors").glob("*.asc"))[0],
                       files.MAX_KEY_FILE),
    }[which]
    with path.open("r+b") as f:
        f.truncate(limit + 1)
    with pytest.raises(trust.TrustError) as refused:
        trust.verify_chain(org.repo)
    assert f"{path}: {limit + 1} bytes, more than a " in refused.value.message
    if which == "editor key":
        assert "it should hold an editor's public key" in refused.value.message


def test_history_forged_from_its_first_commit_is_refused(org: Org):
    assert cli(org.repo, "trust", "show").exit_code == 0
    mallory = _mallory(org)
    shutil.rmtree(org.repo / "trust")
    settings.update(org.repo, lambda o: o.__setitem__("recipients", [
        {"fingerprint": mallory, "name": "Mallory"}]))
    cfg = config.load(org.repo)
    trust.propose(org.repo, cfg, org.keyring, mallory)  # a new founding statement
    _all_refuse(org, "pinned to another trust root")
    # Same repo id copied from the real one: the pin's root differs.
    assert cli(org.repo, "trust", "show").exit_code == 3


def test_trust_change_needs_two_people_and_shows_the_root(org: Org):
    shown = ok(cli(org.repo, "trust", "show", "--json")).output
    root = json.loads(shown)
    assert root["pinned"] and root["serial"] == 0 and len(root["root"]) == 64
    carol = org.keyring.generate("Carol", "carol@example.invalid")
    (org.repo / "keys" / "editors" / "carol.asc").write_text(org.keyring.export_public(carol))
    settings.update(org.repo, lambda o: o["recipients"].append(
        {"fingerprint": carol, "name": "Carol"}))
    out = ok(cli(org.repo, "trust", "propose", editor=org.alice)).output
    assert "needs another editor's signature" in out
    assert carol not in config.load(org.repo).recipient_fingerprints
    refused = cli(org.repo, "trust", "sign", editor=carol)  # not a current editor
    assert refused.exit_code == 2 or "--editor" in refused.output
    ok(cli(org.repo, "trust", "sign", editor=org.bob))
    assert carol in config.load(org.repo).recipient_fingerprints
    assert json.loads(ok(cli(org.repo, "trust", "show", "--json")).output)["serial"] == 1


# -- four eyes per person -----------------------------------------------------------------
def test_one_person_two_keys_fails_four_eyes(org: Org):
    alice2 = org.keyring.generate("Alice second", "alice2@example.invalid")
    (org.repo / "keys" / "editors" / "alice2.asc").write_text(
        org.keyring.export_public(alice2))
    # 1. Imported as "another editor" without a root change: her key counts for nothing.
    settings.update(org.repo, lambda o: o["recipients"].append(
        {"fingerprint": alice2, "name": "Carol"}))
    case = org.add_case(status="review", sign=False)
    curation.record_decision(org.repo, case, "verify", org.alice, org.keyring,
                             dt.date(2025, 10, 5))
    curation.record_decision(org.repo, case, "approve", alice2, org.keyring,
                             dt.date(2025, 10, 5))
    cases.save(org.repo, case)
    result = cli(org.repo, "case", "approve", case.id, editor=alice2)
    assert result.exit_code == 1 and "not an editor" in result.output
    with curation.CachedVerifier(org.repo) as verify:
        problems = curation.gate_problems(cases.load(org.repo, case.id), org.cfg, verify)
    assert any("outside the signed trust root's roster" in p for p in problems)
    # 2. Alice proposes the change herself: not in force without a second person.
    trust.propose(org.repo, config.load(org.repo), org.keyring, org.alice)
    with pytest.raises(trust.TrustError, match="cannot sign"):
        trust.sign(org.repo, org.keyring, alice2)  # a key that gains nothing counts
    assert alice2 not in config.load(org.repo).recipient_fingerprints


def test_same_person_by_roster_is_refused_at_the_gate(org: Org):
    alice2 = org.keyring.generate("Alice second", "alice2@example.invalid")
    (org.repo / "keys" / "editors" / "alice2.asc").write_text(
        org.keyring.export_public(alice2))

    def add(o: dict) -> None:  # type: ignore[type-arg]
        o["recipients"][0]["person"] = "alice"
        o["recipients"].append({"fingerprint": alice2, "name": "Alice (2)",
                                "person": "alice"})

    settings.update(org.repo, add)
    trust.propose(org.repo, config.load(org.repo), org.keyring, org.bob)
    _path, done = trust.sign(org.repo, org.keyring, org.alice)
    assert done  # Bob and Alice: two people
    case = org.add_case(status="published", sign=False)
    org.sign(case, verifier=org.alice, approver=alice2)
    with curation.CachedVerifier(org.repo) as verify:
        problems = curation.gate_problems(cases.load(org.repo, case.id), config.load(org.repo),
                                          verify)
    assert any("keys of one person (alice)" in p for p in problems), problems


# -- 3. every public change is a signed decision ------------------------------------------
def test_hand_edits_publish_nothing(org: Org):
    _quarterly(org)
    held = org.add_case(status="review", sign=False, narrative="Cas retenu HELD-CANARY.")
    curation.record_decision(org.repo, held, "verify", org.alice, org.keyring,
                             dt.date(2025, 10, 5))
    curation.record_decision(org.repo, held, "approve", org.bob, org.keyring,
                             dt.date(2025, 10, 5))
    held.meta["status"] = "published"  # by hand
    held.meta["review"]["risk_reviewed"] = dt.date(2025, 10, 5)
    cases.save(org.repo, held)
    shown = org.add_case(narrative="Cas publié SHOWN-CANARY.")
    shown.meta["urgent"] = True  # by hand
    shown.meta["interventions"] = [{"date": dt.date(2025, 10, 6),
                                    "type": "urgent_appeal",
                                    "summary": {"fr": "FORGED-SUMMARY", "en": "FORGED-SUMMARY"}}]
    cases.save(org.repo, shown)
    result = cli(org.repo, "case", "set", held.id, "review.risk_reviewed=2025-10-07",
                 editor=org.alice)
    assert result.exit_code == 1 and "review.risk_reviewed: changed by hand" in result.output
    check = cli(org.repo, "check")
    assert check.exit_code == 1
    for words in ("risk-review.json: no risk review recorded", "publish.json: no signed publish",
                  "urgent: true without a signed urgent decision",
                  "interventions: the public summaries differ"):
        assert words in check.output, (words, check.output)
    build = cli(org.repo, "build")
    assert build.exit_code == 4 and held.id in build.output
    ok(cli(org.repo, "build", "--allow-unpublished"))
    files = site_files(org.repo / "site")
    everything = b"".join(files.values())
    assert b"HELD-CANARY" not in everything and b"SHOWN-CANARY" in everything
    assert b"FORGED-SUMMARY" not in everything
    alerts = b"".join(v for k, v in files.items() if "alert" in k or "feeds" in k)
    assert shown.id.encode() not in alerts
    # The signed way: the flag shows.
    ok(cli(org.repo, "case", "urgent", shown.id, editor=org.alice))
    ok(cli(org.repo, "build", "--allow-unpublished"))
    alerts = b"".join(v for k, v in site_files(org.repo / "site").items()
                      if "alert" in k or "feeds" in k)
    assert shown.id.encode() in alerts


def _revoke_at(kr: keys.Keyring, fpr: str, when: int) -> str:
    """An armored revocation of `fpr` made at `when` (seconds), not imported anywhere."""
    out = subprocess.run(
        ["gpg", "--homedir", str(kr.home), "--no-tty", "--pinentry-mode", "loopback",
         "--passphrase", "", "--command-fd", "0", "--status-fd", "2", "--yes",
         "--faked-system-time", f"{when}!", "--armor", "--gen-revoke", fpr],
        input=b"y\n1\n\ny\n", capture_output=True, check=True)
    return out.stdout.decode()


def test_revoked_key_later_decisions_do_not_count(org: Org):
    now = int(time.time())
    before = org.add_case(status="review", sign=False)
    after = org.add_case(status="review", sign=False)
    day = dt.date(2025, 10, 5)
    for case, when in ((before, now - 3600), (after, now + 90)):
        data = curation.statement(case, "verify", org.alice, day, level="verified")
        data_path, sig_path = curation.decision_paths(case, "verify")
        data_path.parent.mkdir(parents=True, exist_ok=True)
        data_path.write_bytes(data)
        sig_path.write_bytes(org.keyring.sign_detached(data, org.alice, timestamp=when))
    subprocess.run(["gpg", "--homedir", str(org.keyring.home), "--batch", "--import"],
                   input=_revoke_at(org.keyring, org.alice, now + 30).encode(), check=True,
                   capture_output=True)
    key_file = org.repo / "keys" / "editors" / "alice.asc"
    key_file.write_text(org.keyring.export_public(org.alice))  # now carries the revocation
    cfg = org.cfg
    with curation.CachedVerifier(org.repo) as verify:
        good = curation.check_decision(before, "verify", None, cfg.recipient_fingerprints,
                                       verify)
        late = curation.check_decision(after, "verify", None, cfg.recipient_fingerprints,
                                       verify)
    assert good == []
    assert any("after its key's revocation" in p for p in late), late


# -- verify-site ---------------------------------------------------------------------------
def test_verify_site_uses_the_pinned_roots_site_key(org: Org, tmp_path: Path):
    _quarterly(org)
    ok(cli(org.repo, "build"))
    site = org.repo / "site"
    assert ok(cli(org.repo, "verify-site", str(site))).output.startswith("site OK")
    # A mirror re-signs a changed site with its own key and ships that key inside.
    mallory = org.keyring.generate("Mallory", "mallory@example.invalid")
    (site / "index.html").write_text("<p>forged</p>")
    from temoin.publish import manifest

    manifest.write_manifest(site, org.keyring, mallory)
    (site / "keys.asc").write_text(org.keyring.export_public(mallory))
    manifest.write_manifest(site, org.keyring, mallory)
    result = cli(org.repo, "verify-site", str(site))
    assert result.exit_code == 3, result.output
    # And a repo whose inbox key file was swapped is refused before anything is checked.
    (org.repo / "keys" / "inbox.asc").write_text(org.keyring.export_public(mallory))
    result = cli(org.repo, "verify-site", str(site))
    assert result.exit_code == 3 and "keys/inbox.asc: holds" in result.output


def test_pins_live_outside_the_repository(org: Org):
    pins = trust.pins_dir()
    assert pins.is_dir() and not str(pins).startswith(str(org.repo))
    root = trust.verify_chain(org.repo)
    pin = json.loads((pins / f"{root.repo_id}.json").read_text())
    assert pin["root"] == root.fingerprint
    assert str(org.repo.resolve()) in pin["paths"]
    assert os.environ["XDG_CONFIG_HOME"] in str(pins)
