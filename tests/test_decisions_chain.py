"""Issue 16, replay: every superseded decision is still signed, in Git history. An attacker
with write access to the remote restores one (an `urgent` flag since lifted, a broader
consent since narrowed, a publication since withdrawn, older intervention summaries): it
must not count. Decisions of a case form a chain (`seq`, `heads`) and each machine remembers
the newest it has seen. Real gpg, real repositories."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from temoin import cases, curation, trust
from temoin.curation import decisions
from tests.curation_fixtures import cli, ok
from tests.helpers import Org, sign_v1

DAY = dt.date(2025, 10, 5)


def saved(case: cases.Case, slot: str) -> dict[Path, bytes]:
    """A decision's files as they are now (what history keeps): its statement and
    signature, or, for a case not published, the sealed file holding both."""
    folder = case.folder / curation.REVIEW
    files = (folder / f"{slot}.json", folder / f"{slot}.json.asc",
             folder / f"{slot}.sealed.asc")
    found = {p: p.read_bytes() for p in files if p.is_file()}
    assert found, f"{slot}: no decision stored"
    return found


def restore(files: dict[Path, bytes]) -> None:
    """Put the files back as they were, the other form removed (a Git checkout)."""
    folder = next(iter(files)).parent
    slot = next(iter(files)).name.split(".", 1)[0]
    for name in (f"{slot}.json", f"{slot}.json.asc", f"{slot}.sealed.asc"):
        (folder / name).unlink(missing_ok=True)
    for path, data in files.items():
        path.write_bytes(data)


def public(org: Org, case_id: str) -> cases.Case | None:
    """The case as the site would show it (None: not on the site); this machine sees its
    decisions, as a build or `check` would."""
    with curation.CachedVerifier(org.repo) as verify:
        case = cases.load(org.repo, case_id)
        if curation.release_problems(case, org.cfg, verify):
            return None
        return curation.public_view(case, org.cfg, verify)


def fresh_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str) -> None:
    """Another machine: no pin, nothing remembered (trust on first use)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / name))


def test_a_lifted_urgent_flag_restored_is_refused_where_the_lift_was_seen(org: Org) -> None:
    case = org.add_case()
    ok(cli(org.repo, "case", "urgent", case.id, editor=org.alice))
    shown = public(org, case.id)
    assert shown is not None and shown.meta["urgent"] is True
    raised = saved(case, "urgent")
    ok(cli(org.repo, "case", "urgent", case.id, "--lift", editor=org.alice))
    shown = public(org, case.id)
    assert shown is not None and shown.meta["urgent"] is False  # this machine sees the lift
    restore(raised)  # the newest decision replaced by the one it superseded
    assert public(org, case.id) is None or public(org, case.id).meta["urgent"] is False
    check = cli(org.repo, "check")
    assert check.exit_code == 1 and "rolled back" in check.output, check.output
    # Recording the case's decisions again moves on (a new one is numbered past it).
    ok(cli(org.repo, "case", "urgent", case.id, "--lift", editor=org.alice))
    shown = public(org, case.id)
    assert shown is not None and shown.meta["urgent"] is False


def test_a_lifted_urgent_flag_restored_beside_newer_decisions_is_refused_anywhere(
        org: Org, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """On a machine that never saw the case, the chain alone refuses it: the decisions
    signed after the lift name the lift, not the flag."""
    case = org.add_case()
    ok(cli(org.repo, "case", "urgent", case.id, editor=org.alice))
    raised = saved(case, "urgent")
    ok(cli(org.repo, "case", "urgent", case.id, "--lift", editor=org.alice))
    ok(cli(org.repo, "case", "risk-review", case.id, editor=org.bob))
    restore(raised)
    fresh_machine(monkeypatch, tmp_path, "elsewhere")
    shown = public(org, case.id)
    assert shown is not None and shown.meta["urgent"] is False
    check = cli(org.repo, "check")
    assert check.exit_code == 1 and f"cases/{case.id}/review/urgent.json: not the latest" \
        in check.output, check.output
    assert "rolled back" not in check.output


def test_a_broader_consent_restored_after_it_was_narrowed_does_not_count(
        org: Org, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    case = org.add_case(status="review", sign=False, consent="named",
                        private={"testimony": "Récit."})
    for kind, who in (("verify", org.alice), ("approve", org.bob)):
        curation.record_decision(org.repo, case, kind, who, org.keyring, DAY)
    cases.save(org.repo, case)
    grant = ["--how", "written_form", "--given-by", "victim"]
    ok(cli(org.repo, "case", "consent", case.id, "--ceiling", "named", *grant,
           editor=org.alice))
    broad = saved(case, "consent")
    ok(cli(org.repo, "case", "consent", case.id, "--ceiling", "anonymised", *grant,
           editor=org.alice))  # the victim narrowed it
    ok(cli(org.repo, "case", "risk-review", case.id, editor=org.bob))
    restore(broad)
    fresh_machine(monkeypatch, tmp_path, "elsewhere")  # the chain alone refuses it
    result = cli(org.repo, "case", "publish", case.id, editor=org.bob)
    assert result.exit_code == 4, result.output
    assert "exceeds the consent the source gave" in result.output
    assert cases.load(org.repo, case.id).status == "review"
    assert "consent.json: not the latest" in cli(org.repo, "check").output


def test_a_publication_restored_after_a_withdrawal_does_not_republish(org: Org) -> None:
    """The withdrawal deleted and the published case.md restored from history: the chain's
    memory alone (the withdrawal memory wiped) keeps the case off the site."""
    case = org.add_case(narrative="Récit WITHDRAWN-CHAIN-4T.")
    assert public(org, case.id) is not None
    published_text = (case.folder / cases.PUBLIC).read_text()
    ok(cli(org.repo, "case", "withdraw", case.id, "--reason", "Danger", editor=org.alice))
    assert public(org, case.id) is None
    for f in (case.folder / curation.REVIEW).glob("withdraw.json*"):
        f.unlink()
    (case.folder / cases.SEALED).unlink()
    (case.folder / cases.PUBLIC).write_text(published_text)
    withdrawn = trust.pins_dir() / "withdrawn"
    shutil.rmtree(withdrawn, ignore_errors=True)
    assert public(org, case.id) is None
    check = cli(org.repo, "check")
    assert check.exit_code == 1 and "rolled back" in check.output, check.output


def test_older_intervention_summaries_restored_are_not_shown(org: Org) -> None:
    case = org.add_case()
    first = [{"date": DAY, "type": "urgent_appeal",
              "summary": {"fr": "Appel OLD-SUMMARY-3X.", "en": "Appeal."}}]
    for entries in (first, [{**first[0], "summary": {"fr": "Appel (corrigé).",
                                                     "en": "Appeal (fixed)."}}]):
        case.meta["interventions"] = entries
        curation.record_decision(org.repo, case, "interventions", org.alice, org.keyring,
                                 DAY, entries=entries)
        cases.save(org.repo, case)
        if entries is first:
            old = saved(case, "interventions")
    curation.record_decision(org.repo, case, "risk-review", org.bob, org.keyring, DAY)
    restore(old)
    shown = public(org, case.id)
    assert shown is not None and "OLD-SUMMARY-3X" not in str(shown.meta)
    assert "interventions.json: not the latest" in cli(org.repo, "check").output


def test_decisions_made_on_two_clones_at_once(org: Org, tmp_path: Path) -> None:
    """Two editors decide about one case on two clones from the same state: merged, both
    count. A decision the other clone's newer one does not name does not, until recorded
    again."""
    case = org.add_case()
    clone = tmp_path / "clone"
    shutil.copytree(org.repo, clone)
    there = cases.load(clone, case.id)
    ok(cli(org.repo, "case", "urgent", case.id, editor=org.alice))
    curation.record_decision(clone, there, "consent", org.bob, org.keyring, DAY,
                             ceiling="anonymised", how="phone", given_by="victim",
                             obtained=DAY.isoformat())
    review = case.folder / curation.REVIEW
    for f in (clone / "cases" / case.id / curation.REVIEW).glob("consent.*"):
        shutil.copy(f, review / f.name)  # `git merge`
    chain = decisions.chain_of(org.keyring.verify_detached, review, case.id,
                               org.cfg.recipient_fingerprints)
    assert chain.problems == [] and {"urgent", "consent"} <= set(chain.current)
    shown = public(org, case.id)
    assert shown is not None and shown.meta["urgent"] is True
    # Again at once from another common state, and this time they disagree: Alice's
    # newest names her urgent flag, Bob's (made on a clone without it) names none. Until
    # an editor records a decision again (merging both), the flag does not count.
    ok(cli(org.repo, "case", "risk-review", case.id, editor=org.alice))
    curation.record_decision(clone, there, "consent", org.bob, org.keyring, DAY,
                             ceiling="named", how="phone", given_by="victim",
                             obtained=DAY.isoformat())
    for f in (clone / "cases" / case.id / curation.REVIEW).glob("consent.*"):
        shutil.copy(f, review / f.name)
    check = cli(org.repo, "check")
    assert "urgent.json: the newest decisions" in check.output, check.output
    shown = public(org, case.id)
    assert shown is not None and shown.meta["urgent"] is False
    ok(cli(org.repo, "case", "risk-review", case.id, editor=org.bob))
    assert "review/" not in cli(org.repo, "check").output
    shown = public(org, case.id)
    assert shown is not None and shown.meta["urgent"] is True


def test_forged_statements_vouch_for_nothing(org: Org) -> None:
    """A statement with a high number but no good signature is not the chain's head: it
    cannot make a restored older decision current."""
    case = org.add_case()
    ok(cli(org.repo, "case", "urgent", case.id, editor=org.alice))
    raised = saved(case, "urgent")
    ok(cli(org.repo, "case", "urgent", case.id, "--lift", editor=org.alice))
    ok(cli(org.repo, "case", "risk-review", case.id, editor=org.bob))
    restore(raised)
    import hashlib
    import json

    heads = {p.name[:-5]: hashlib.sha256(p.read_bytes()).hexdigest()
             for p in (case.folder / curation.REVIEW).glob("*.json")}
    forged = json.loads(decisions.statement("chain", case.id, "", org.alice, DAY, {}, 999,
                                            heads))
    path = case.folder / curation.REVIEW / "chain.json"
    path.write_text(json.dumps(forged))
    path.with_name("chain.json.asc").write_bytes(
        org.keyring.sign_detached(b"something else", org.alice))
    shown = public(org, case.id)
    assert shown is not None and shown.meta["urgent"] is False


def test_migrate_chains_format_1_decisions(org: Org) -> None:
    """Decisions written before they were chained count as before until `temoin migrate`
    chains them; afterwards a format-1 statement restored from history does not."""
    case = org.add_case(sign=False)
    case.meta["review"] = {"verified_by": org.alice, "approved_by": org.bob,
                           "risk_reviewed": DAY}
    case.meta["published"] = DAY
    cases.save(org.repo, case)
    sign_v1(org, case, "consent", org.alice, ceiling="anonymised", how="written_form",
            given_by="victim", obtained=DAY.isoformat())
    for kind, who in (("verify", org.alice), ("approve", org.bob), ("risk-review", org.bob)):
        sign_v1(org, case, kind, who)
    sign_v1(org, case, "publish", org.bob, published=DAY.isoformat(),
            consent_ceiling="anonymised")
    sign_v1(org, case, "urgent", org.alice, urgent=True)
    raised = saved(case, "urgent")
    sign_v1(org, case, "urgent", org.alice, urgent=False)
    shown = public(org, case.id)
    assert shown is not None and shown.meta["urgent"] is False
    assert "decisions not chained" in cli(org.repo, "check").output
    ok(cli(org.repo, "migrate", "--yes", editor=org.alice))
    restore(raised)
    shown = public(org, case.id)
    assert shown is not None and shown.meta["urgent"] is False
    check = cli(org.repo, "check")
    assert "urgent.json: not the latest" in check.output or "rolled back" in check.output
