"""Curation as the editors live it: ingest, edit, verify, approve by a second editor,
publish, build, withdraw — with real gpg keys, signatures and builds. Four eyes cannot be
faked by editing files, every gate failure names every missing condition, and every step
lands in the custody log without content."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from temoin import cases, config, curation, custody, keys, settings
from temoin.cases import review as review_files
from tests.curation_fixtures import ID_IN, ScriptedEditor, cli, grep_tree, ok, scripted_editor
from tests.helpers import Org, case_text, site_files

__all__ = ["scripted_editor"]  # the fixture, imported for pytest

NAME = "Canary Ndikumanaq"          # set through `case edit`: must never reach the site
NOTE = "NOTE-CANARY-5501 deux témoins indépendants confirment l'arrestation"
TESTIMONY = "Mon voisin TESTIMONY-CANARY-7Z a été emmené par des policiers en civil."

FACTS = {
    "title": {"fr": "Arrestation et torture à Gitega", "en": "Arrest and torture in Gitega"},
    "summary": {"fr": "Un homme arrêté puis torturé.", "en": "A man arrested then tortured."},
    "urgent": False,
    "event": {"date_start": "2025-09-02", "date_precision": "day",
              "location": {"country": "BI", "admin1": "Gitega", "precision": "admin1"}},
    "victims": [{"id": "v1", "count": 1, "sex": "m", "age_group": "adult",
                 "status_now": "detained"}],
    "perpetrators": [{"id": "p1", "type": "police"}],
    "acts": [{"victim": "v1", "type": "arbitrary_arrest", "perpetrators": ["p1"]},
             {"victim": "v1", "type": "torture", "perpetrators": ["p1"]}],
    "sources": {"count": 1, "independent": 1, "types": ["witness_testimony"]},
    "consent": "anonymised",
}


def start_case(org: Org) -> str:
    """A draft from a testimony: `temoin ingest` of a message encrypted to the inbox key."""
    inbox = org.repo / "inbox"
    inbox.mkdir(exist_ok=True)
    (inbox / "msg.asc").write_bytes(org.keyring.encrypt(TESTIMONY.encode(), [org.inbox]))
    out = json.loads(ok(cli(org.repo, "ingest", "--json")).output)
    assert [r["result"] for r in out] == ["ingested"], out
    return str(out[0]["case"])


def curated_text(org: Org, cid: str, narrative: str) -> str:
    """case.md of `cid` with the facts an editor would fill in (workflow fields kept)."""
    case = cases.load(org.repo, cid)
    meta = {**case.meta, **json.loads(json.dumps(FACTS))}
    import datetime as dt

    meta["event"]["date_start"] = dt.date(2025, 9, 2)
    return cases.dumps(cases.Case(meta=meta, narrative=narrative))


def fewer_bulletins(org: Org) -> None:
    """Quarterly bulletins: these tests are about cases, not the dozens of weekly bulletin
    PDFs between a 2025 event and today that every build would otherwise render."""
    settings.update(org.repo, lambda o: o.__setitem__("bulletin_period", "quarter"))
    org.resign_site()  # mkdocs.yml's settings are signed with the site's files


def listing_count(site: Path) -> str:
    html = (site / "cases" / "index.html").read_text()
    m = re.search(r"<p>(\d+) cas</p>", html)
    assert m, "no case count on the listing page"
    return m.group(1)


def test_full_path_from_testimony_to_site_and_withdrawal(org: Org,
                                                         scripted_editor: ScriptedEditor):
    fewer_bulletins(org)
    cid = start_case(org)
    scripted_editor.plan({
        "case.md": {"write": curated_text(org, cid, "Un homme a été arrêté puis torturé "
                                                    "par la police à Gitega.")},
        "private.yaml": {"append": f"victims:\n- id: v1\n  full_name: {NAME}\n"}})
    out = ok(cli(org.repo, "case", "edit", cid, editor=org.alice)).output
    assert f"Saved {cid}: case.md and private part (re-encrypted)" in out
    assert cases.load(org.repo, cid).meta["consent"] == "anonymised"
    # The testimony came without the form: no consent recorded, so the ceiling is none
    # until an editor signs the consent the source gave (issue 15).
    ok(cli(org.repo, "case", "consent", cid, "--ceiling", "anonymised", "--how", "phone",
           "--given-by", "victim", editor=org.alice))

    out = ok(cli(org.repo, "case", "verify", cid, "--level", "verified", "--note", NOTE,
                 editor=org.alice)).output
    assert "Next: an editor other than Alice runs `temoin case approve" in out
    same = cli(org.repo, "case", "approve", cid, editor=org.alice)
    assert same.exit_code == 4, same.output
    assert "four eyes" in same.output and "Alice verified this content" in same.output
    out = ok(cli(org.repo, "case", "approve", cid, editor=org.bob)).output
    assert "Approved" in out and "risk-review" in out  # what still blocks publication
    early = cli(org.repo, "case", "publish", cid, editor=org.bob)
    assert early.exit_code == 4 and "no risk review recorded" in early.output
    ok(cli(org.repo, "case", "risk-review", cid, editor=org.bob))
    out = ok(cli(org.repo, "case", "publish", cid, editor=org.bob)).output
    assert f"Published {cid}: its page appears at the next `temoin build`" in out

    ok(cli(org.repo, "check"))
    ok(cli(org.repo, "build"))
    site = org.repo / "site"
    files = site_files(site)
    assert f"cases/{cid}/index.html" in files
    assert "Un homme a été arrêté puis torturé" in files[f"cases/{cid}/index.html"].decode()
    assert listing_count(site) == "1"
    for canary in (b"Ndikumanaq", b"NOTE-CANARY-5501", b"TESTIMONY-CANARY-7Z"):
        assert not [p for p, d in files.items() if canary in d], canary

    out = ok(cli(org.repo, "case", "withdraw", cid, "--reason", "Retiré à la demande de la "
                 "victime.", "--reason-en", "Withdrawn at the victim's request.",
                 editor=org.bob)).output
    assert "removes its page and lowers the totals" in out
    withdrawn = cases.load(org.repo, cid).meta["withdrawn"]
    assert withdrawn["reason"]["en"] == "Withdrawn at the victim's request."
    ok(cli(org.repo, "build"))
    assert f"cases/{cid}/index.html" not in site_files(site)
    assert listing_count(site) == "0"

    actions = [e["action"] for e in custody.for_case(org.repo, cid)]
    for step in ("edited", "verified", "approved", "risk_reviewed", "published", "withdrawn"):
        assert step in actions, (step, actions)
    log = (org.repo / "custody.jsonl").read_bytes()
    assert b"Ndikumanaq" not in log and b"NOTE-CANARY" not in log
    verified = next(e for e in custody.for_case(org.repo, cid) if e["action"] == "verified")
    assert verified["editor"] == org.alice and verified["level"] == "verified"
    assert re.fullmatch(r"[0-9a-f]{64}", verified["content_sha256"])


def test_verification_note_goes_to_the_private_log_only(org: Org):
    case = org.add_case(status="draft", private={"testimony": "x"})
    ok(cli(org.repo, "case", "verify", case.id, "--level", "credible", "--note", NOTE,
           editor=org.alice))
    private = cases.read_private(org.repo, case.id, org.keyring)
    entry = private["verification_log"][-1]
    assert entry["note"] == NOTE and entry["level"] == "credible"
    assert entry["editor"] == org.alice and re.fullmatch(r"\d{4}-\d\d-\d\d", entry["date"])
    assert grep_tree(org.repo, b"NOTE-CANARY-5501") == []
    sealed = review_files.read(case.folder / "review" / "verify.json")  # a draft's: sealed
    assert sealed is not None
    statement = json.loads(sealed[0])
    assert statement["kind"] == "verify" and statement["payload"]["level"] == "credible"
    assert statement["editor"] == org.alice


def test_publish_refused_names_every_missing_condition(org: Org):
    cid = json.loads(ok(cli(org.repo, "case", "new", "--no-edit", "--json",
                            editor=org.alice)).output)["id"]
    ok(cli(org.repo, "case", "review", cid, editor=org.alice))
    result = cli(org.repo, "case", "publish", cid, editor=org.alice)
    assert result.exit_code == 4, result.output
    for missing in ("verification is received; publishing needs verified",
                    "consent is none", "no risk review recorded", "not verified by an editor",
                    "not approved by an editor", "event.date_start missing", "no acts recorded",
                    "no signed verify decision", "no signed approve decision"):
        assert missing in result.output, missing
    assert cases.load(org.repo, cid).status == "review"


def test_publish_refused_below_the_minimum_level_and_while_disputed(org: Org):
    case = org.add_case(status="review", sign=False)
    org.sign(case)  # verified by Alice, approved by Bob, risk reviewed
    ok(cli(org.repo, "case", "verify", case.id, "--level", "disputed", editor=org.alice))
    result = cli(org.repo, "case", "publish", case.id, editor=org.bob)
    assert result.exit_code == 4
    assert "verification is disputed" in result.output
    assert "the case changed since it was approved" in result.output  # level is content


def test_illegal_transitions_are_refused_with_the_allowed_steps(org: Org):
    draft = org.add_case(status="draft")
    result = cli(org.repo, "case", "publish", draft.id, editor=org.alice)
    assert result.exit_code == 1, result.output
    assert "cannot publish a case that is draft" in result.output
    assert f"`temoin case review {draft.id}`" in result.output
    gone = org.add_case(status="withdrawn", withdrawn={
        "date": cases.load(org.repo, draft.id).meta["received"],
        "reason": {"fr": "Retiré.", "en": "Withdrawn."}})
    result = cli(org.repo, "case", "approve", gone.id, editor=org.bob)
    assert result.exit_code == 1 and "none: withdrawn is final" in result.output
    result = cli(org.repo, "case", "reopen", draft.id, editor=org.alice)
    assert result.exit_code == 1 and "cannot reopen a case that is draft" in result.output
    published = org.add_case()
    result = cli(org.repo, "case", "merge", published.id, draft.id, editor=org.alice)
    assert result.exit_code == 1 and f"temoin case withdraw {published.id}" in result.output
    ok(cli(org.repo, "case", "reject", draft.id, "--reason", "hors mandat", editor=org.alice))
    assert cases.read_private(org.repo, draft.id, org.keyring)["rejected"]["reason"] == \
        "hors mandat"
    ok(cli(org.repo, "case", "reopen", draft.id, editor=org.alice))
    assert cases.load(org.repo, draft.id).status == "draft"


def test_hand_edited_publication_fails_check_and_build(org: Org):
    visible = org.add_case(narrative="Visible.")
    case = org.add_case(status="review", narrative="Edité à la main CANARY-HAND-6Y2R.")
    text = case_text(case).replace("status: review", "status: published")
    text = text.replace("consent: anonymised", "consent: anonymised\nreview: {verified_by: "
                        f"{org.alice}, approved_by: {org.bob}, risk_reviewed: 2025-10-01}}")
    case.path.write_text(text)
    check = cli(org.repo, "check")
    assert check.exit_code == 1 and "no signed verify decision" in check.output
    build = cli(org.repo, "build")
    assert build.exit_code == 4, build.output
    assert "cases marked published fail the publication gate" in build.output
    assert case.id in build.output and visible.id not in build.output
    assert not (org.repo / "site").exists()  # a refused build leaves no site
    ok(cli(org.repo, "build", "--allow-unpublished"))
    files = site_files(org.repo / "site")
    assert f"cases/{visible.id}/index.html" in files
    assert all(b"CANARY-HAND-6Y2R" not in d for d in files.values())


def test_faked_approval_files_do_not_count(org: Org):
    case = org.add_case()
    review = case.folder / "review"
    (review / "approve.json.asc").write_bytes((review / "verify.json.asc").read_bytes())
    result = cli(org.repo, "check")
    assert result.exit_code == 1
    assert "approve.json: signature does not verify" in result.output
    # A statement rewritten to name Bob, but signed by Alice, does not count either.
    data = (review / "approve.json").read_bytes()
    (review / "approve.json.asc").write_bytes(org.keyring.sign_detached(data, org.alice))
    result = cli(org.repo, "check")
    assert f"signed by {org.alice} but claims editor {org.bob}" in result.output
    assert cli(org.repo, "build").exit_code == 4


def test_changing_published_facts_needs_reverification(org: Org):
    fewer_bulletins(org)
    case = org.add_case(narrative="Version approuvée.")
    ok(cli(org.repo, "build"))
    out = ok(cli(org.repo, "case", "set", case.id, "sources.count=3", editor=org.alice)).output
    assert "needs a new verification and approval" in out and "off the site" in out
    check = cli(org.repo, "check")
    assert check.exit_code == 1 and "the case changed since it was verified" in check.output
    build = cli(org.repo, "build")
    assert build.exit_code == 4 and case.id in build.output
    # Workflow-only changes (risk review) need no new signatures.
    ok(cli(org.repo, "case", "verify", case.id, "--level", "verified", editor=org.alice))
    ok(cli(org.repo, "case", "approve", case.id, editor=org.bob))
    ok(cli(org.repo, "case", "risk-review", case.id, editor=org.bob))
    out = ok(cli(org.repo, "case", "publish", case.id, editor=org.bob)).output
    assert out.startswith(f"Re-published {case.id}")
    assert cases.load(org.repo, case.id).meta["updated"]
    ok(cli(org.repo, "build"))
    assert f"cases/{case.id}/index.html" in site_files(org.repo / "site")


def test_anonymisation_rules_stop_publish_and_build(org: Org):
    sgbv = org.add_case(status="review", sign=False, acts=[
        {"victim": "v1", "type": "rape", "perpetrators": ["p1"]}])
    org.sign(sgbv)
    result = cli(org.repo, "case", "publish", sgbv.id, editor=org.alice)
    assert result.exit_code == 4
    assert "finer than allowed (admin2 > admin1) (sexual violence or a child" in result.output
    child = org.add_case(status="review", sign=False, consent="named", victims=[
        {"id": "v1", "count": 1, "sex": "f", "age_group": "child", "name": "Aline"}],
        narrative="Une fille de 14 ans a été arrêtée.")
    org.sign(child)
    result = cli(org.repo, "case", "publish", child.id, editor=org.alice)
    assert result.exit_code == 4
    assert "children are never named" in result.output
    assert "states an exact age ('14 ans')" in result.output
    # Signed as published regardless (by hand): the build refuses it too.
    aged = org.add_case(narrative="Il s'agit d'un homme âgé de 43 ans.")
    build = cli(org.repo, "build")
    assert build.exit_code == 4 and aged.id in build.output and "exact age" in build.output


def test_merge_moves_private_entries_and_asks_for_reverification(org: Org):
    keep = org.add_case(private={"testimony": "premier témoignage", "sources": [
        {"name": "Source A", "reliability": "B2"}]})
    dup = org.add_case(status="draft", private={"testimony": "second témoignage MERGE-7Q",
                                                "sources": [{"name": "Source B"}]},
                       sources={"count": 1, "independent": 1, "types": ["victim_testimony"]})
    sha = cases.write_evidence(org.repo, dup.id, b"photo bytes", org.keyring,
                               org.cfg.recipient_fingerprints, org.alice)
    private = cases.read_private(org.repo, dup.id, org.keyring)
    private["evidence"] = [{"name": "photo.jpg", "sha256": sha}]
    cases.write_private(org.repo, dup.id, private, org.keyring, org.cfg.recipient_fingerprints,
                        org.alice)
    before = cases.load(org.repo, keep.id).meta["sources"]["count"]

    out = ok(cli(org.repo, "case", "merge", dup.id, keep.id, editor=org.alice)).output
    assert f"Merged {dup.id} into {keep.id}" in out
    assert "verified and approved again" in out
    merged = cases.load(org.repo, dup.id)
    assert merged.status == "duplicate" and merged.meta["duplicate_of"] == keep.id
    kept = cases.load(org.repo, keep.id)
    assert kept.meta["sources"]["count"] == before + 1
    assert "victim_testimony" in kept.meta["sources"]["types"]
    p_keep = cases.read_private(org.repo, keep.id, org.keyring)
    assert p_keep["merged"][0]["testimony"] == "second témoignage MERGE-7Q"
    assert [s["name"] for s in p_keep["sources"]] == ["Source A", "Source B"]
    assert p_keep["evidence"][0]["sha256"] == sha
    # Under the name it has in the kept case: evidence names are keyed by case id.
    assert p_keep["evidence"][0]["file"] != f"{sha}.asc"
    assert cases.read_evidence(org.repo, keep.id, p_keep["evidence"][0], org.keyring) \
        == b"photo bytes"
    assert cases.read_private(org.repo, dup.id, org.keyring) == {
        "merged_into": keep.id, "date": p_keep["merged"][0]["date"]}
    assert not (dup.folder / "evidence" / f"{sha}.asc").exists()
    check = cli(org.repo, "check")
    assert check.exit_code == 1 and f"cases/{keep.id}/review/verify.json" in check.output
    entry = custody.for_case(org.repo, keep.id)[-1]
    assert entry["action"] == "merged" and entry["into"] == keep.id
    assert b"MERGE-7Q" not in (org.repo / "custody.jsonl").read_bytes()


def test_acting_editor_comes_from_flag_env_or_the_only_key(org: Org, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch):
    case = org.add_case(status="draft")
    result = cli(org.repo, "case", "risk-review", case.id)
    assert result.exit_code == 1 and "several editor keys" in result.output
    result = cli(org.repo, "case", "risk-review", case.id, editor="Mallory")
    assert result.exit_code == 1 and "is not an editor" in result.output
    # Any unambiguous part of a name, an e-mail or a fingerprint names an editor.
    for part in ("bo", "ALICE@example", org.bob[-8:].lower(), org.alice[:10]):
        ok(cli(org.repo, "case", "risk-review", case.id, editor=part))
        want = org.bob if part in ("bo", org.bob[-8:].lower()) else org.alice
        assert custody.for_case(org.repo, case.id)[-1]["editor"] == want, part
    result = cli(org.repo, "case", "risk-review", case.id, editor="example.invalid")
    assert result.exit_code == 1 and "matches 2 editors" in result.output
    assert org.alice in result.output and org.bob in result.output
    monkeypatch.setenv("TEMOIN_EDITOR", "Bob")
    ok(cli(org.repo, "case", "risk-review", case.id))
    assert custody.for_case(org.repo, case.id)[-1]["editor"] == org.bob
    monkeypatch.delenv("TEMOIN_EDITOR")
    # A GNUPGHOME holding only Bob's secret key: Bob acts without saying so.
    home = tmp_path / "bob-only"
    bob = keys.Keyring(home)
    bob.import_keys(org.keyring.export_secret(org.bob))
    bob.import_keys(org.keyring.export_public(org.alice))
    monkeypatch.setenv("GNUPGHOME", str(home))
    ok(cli(org.repo, "case", "verify", case.id, "--level", "recorded"))
    assert custody.for_case(org.repo, case.id)[-1]["editor"] == org.bob
    # …and cannot sign as Alice, whose secret key is not there.
    result = cli(org.repo, "case", "verify", case.id, "--level", "credible", editor=org.alice)
    assert result.exit_code == 3 and "secret key of Alice" in result.output


def test_list_filters_and_waiting_queues(org: Org):
    draft = org.add_case(status="draft", urgent=True)
    other = org.add_case(status="draft", event={
        "date_start": __import__("datetime").date(2024, 1, 5), "date_precision": "day",
        "location": {"country": "BI", "admin1": "Ngozi", "precision": "admin1"}},
        acts=[{"victim": "v1", "type": "threats", "perpetrators": ["p1"]}])
    verified = org.add_case(status="review", sign=False)
    ok(cli(org.repo, "case", "verify", verified.id, "--level", "verified", editor=org.alice))
    approved = org.add_case(status="review", sign=False)
    org.sign(approved)
    published = org.add_case()

    def ids(*args: str) -> set[str]:
        out = ok(cli(org.repo, "case", "list", "--json", *args)).output
        return {c["id"] for c in json.loads(out)}

    assert ids("--status", "draft") == {draft.id, other.id}
    assert ids("--urgent") == {draft.id}
    assert ids("--place", "ngozi") == {other.id}
    assert ids("--place", "Gitega") == {draft.id, verified.id, approved.id, published.id}
    assert ids("--type", "threats") == {other.id}
    assert ids("--until", "2024-12-31") == {other.id}
    assert ids("--since", "2025-01-01", "--level", "verified") == {
        verified.id, approved.id, published.id}
    queues = json.loads(ok(cli(org.repo, "case", "list", "--waiting", "--json")).output)
    by_id = {c["id"]: c["waiting"] for c in queues}
    assert by_id[draft.id]["for"] == "verification"
    assert by_id[verified.id] == {"for": "approval", "who": "an editor other than Alice"}
    assert by_id[approved.id]["for"] == "publication"
    assert published.id not in by_id
    assert [c["id"] for c in queues][0] == draft.id  # urgent first
    text = ok(cli(org.repo, "case", "list", "--waiting")).output
    assert "Waiting for approval (1):" in text and "URGENT" in text

    (org.repo / "inbox" / "quarantine").mkdir(parents=True, exist_ok=True)
    (org.repo / "inbox" / "new.eml").write_bytes(b"x")
    (org.repo / "inbox" / "quarantine" / "bad.eml").write_bytes(b"x")
    (org.repo / "inbox" / "quarantine" / "bad.eml.reason").write_text("not encrypted\n")
    status = ok(cli(org.repo, "status")).output
    assert "Inbox: 1 file(s) waiting (run `temoin ingest`); quarantine: 1" in status
    assert "Cases: 2 draft, 2 review, 1 published" in status
    assert "Waiting for publication (1):" in status
    data = json.loads(ok(cli(org.repo, "status", "--json")).output)
    assert data["cases"]["draft"] == 2 and data["urgent_open"] == 1
    assert [c["id"] for c in data["waiting"]["approval"]] == [verified.id]


def test_new_case_is_an_empty_draft_with_an_encrypted_intake_record(org: Org):
    out = ok(cli(org.repo, "case", "new", "--no-edit", "--channel", "phone",
                 editor=org.alice)).output
    cid = ID_IN.search(out).group(0)
    case = cases.load(org.repo, cid)
    assert (case.status, case.meta["verification"], case.meta["consent"]) == (
        "draft", "received", "none")
    private = cases.read_private(org.repo, cid, org.keyring)
    assert private["intake"]["channel"] == "phone"
    assert private["intake"]["entered_by"] == org.alice
    assert custody.for_case(org.repo, cid)[0]["action"] == "created"
    second = ID_IN.search(ok(cli(org.repo, "case", "new", "--no-edit",
                                 editor=org.alice)).output).group(0)
    assert second != cid


def test_signature_cache_warms_when_cold_skips_when_warm_and_still_refuses_a_swap(org: Org):
    from temoin import curation

    made = [org.add_case() for _ in range(3)]
    sigs = sorted((org.repo / "cases").glob("*/review/*.json.asc"))
    assert len(sigs) == 15  # consent, verify, approve, risk-review, publish
    with curation.CachedVerifier(org.repo) as verify:
        assert verify.warm() == 15  # a fresh clone: every signature checked up front
    with curation.CachedVerifier(org.repo) as verify:
        assert verify.warm() == 0  # warm: nothing to walk or verify
        review = made[0].folder / "review"
        (review / "approve.json.asc").write_bytes((review / "verify.json.asc").read_bytes())
        problems = curation.gate_problems(cases.load(org.repo, made[0].id), org.cfg, verify)
    assert any("approve.json: signature does not verify" in p for p in problems)


def _rewrite_keeping_mtime(path: Path, data: bytes) -> None:
    """Replace a file's bytes and put its old mtime back (what `cp -p` or an editor may do):
    only the ctime, which no user can set, still says it changed."""
    st = path.stat()
    path.write_bytes(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_stat_cache_reads_changed_files_again_and_a_bad_signature_is_still_refused(
        org: Org, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import shutil
    import time

    from temoin import cache as statcache
    from temoin.site import generate

    made = [org.add_case() for _ in range(3)]
    monkeypatch.setattr(statcache, "RACY", 0.05)  # files here are milliseconds old
    time.sleep(0.1)

    def gate(repo: Path) -> tuple[statcache.StatCache, generate.SiteInput]:
        known = statcache.StatCache(repo, cases.STAT_CASES)
        with curation.CachedVerifier(repo) as verify:
            verify.warm(files=known)
            inp = generate.collect(repo, config.load(repo), verify, known)
        known.save()
        return known, inp

    first = gate(org.repo)[1]
    assert sorted(c.id for c in first.published) == sorted(c.id for c in made)
    known, again = gate(org.repo)
    assert not known.changed  # every file was a stat hit
    assert [c.narrative for c in again.all_cases] == [c.narrative for c in first.all_cases]

    # A copy (new inodes and ctimes, the old cache copied along) starts cold and builds.
    copy = tmp_path / "copy"
    shutil.copytree(org.repo, copy)
    time.sleep(0.1)
    known, copied = gate(copy)
    assert known.changed and sorted(c.id for c in copied.published) == \
        sorted(c.id for c in made)

    # A signature swapped for another of the same size, mtime restored: read, refused.
    review = made[0].folder / "review"
    _rewrite_keeping_mtime(review / "approve.json.asc", (review / "verify.json.asc").read_bytes())
    # A narrative changed without changing its size, mtime restored: read, refused.
    text = made[1].path.read_bytes()
    _rewrite_keeping_mtime(made[1].path, text.replace("Récit".encode(), "RÉCIT".encode()))
    # A statement touched (same bytes, mtime restored): read again, still good.
    statement = made[2].folder / "review" / "verify.json"
    _rewrite_keeping_mtime(statement, statement.read_bytes())
    time.sleep(0.1)  # past RACY: what is read again is recorded again
    known, after = gate(org.repo)
    assert known.changed
    assert any("approve.json: signature does not verify" in p
               for p in after.refused[made[0].id])
    assert any("the case changed since it was verified" in p for p in after.refused[made[1].id])
    assert next(c for c in after.all_cases if c.id == made[1].id).narrative.startswith("RÉCIT")
    assert [c.id for c in after.published] == [made[2].id]


def test_stat_cache_does_not_record_files_changed_in_the_last_seconds(org: Org) -> None:
    from temoin import cache as statcache

    case = org.add_case()
    for path in (case.path, case.folder / "review" / "verify.json.asc"):
        path.write_bytes(path.read_bytes())  # written just now, however long add_case took
    known = statcache.StatCache(org.repo, cases.STAT_CASES)
    assert known.text(case.path) == case.path.read_bytes()
    assert known.sha256(case.folder / "review" / "verify.json.asc") is not None
    assert not known.changed  # written just now: a write in the same clock tick would
    # leave the same key, so it is read again next time ("racy git")


def test_what_ingest_and_the_steps_write_in_the_private_part_is_in_the_field_table(org: Org):
    """The private part's fields the code writes (intake, verification log…) are documented
    in the one field table (`cases.schema`, docs/cases.md)."""
    from temoin.cases import schema
    from tests.test_cases import _paths

    cid = start_case(org)
    ok(cli(org.repo, "case", "verify", cid, "--level", "recorded", "--note", "n",
           editor=org.alice))
    private = cases.read_private(org.repo, cid, org.keyring)
    found = _paths(private, part=schema.PRIVATE)
    assert {"intake", "testimony", "verification_log"} <= found
    assert found <= {f.path for f in schema.fields(schema.PRIVATE)}, found
