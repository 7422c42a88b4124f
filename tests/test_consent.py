"""The consent ceiling (issue 15, item 5): the public consent never exceeds what the source
gave unless a current editor signs a consent statement; `case publish` and `build` refuse."""

from __future__ import annotations

import datetime as dt
import json

from temoin import cases, curation, keys
from temoin.cases import review as review_files
from temoin.curation import consent
from tests.curation_fixtures import cli, ok
from tests.helpers import Org, site_files

DAY = dt.date(2025, 10, 5)


def _reviewed(org: Org, **private: object) -> cases.Case:
    """A case in review, verified by Alice, approved and risk-reviewed by Bob: all that
    `case publish` needs but the consent."""
    case = org.add_case(status="review", sign=False, private={"testimony": "x", **private})
    for kind, who in (("verify", org.alice), ("approve", org.bob), ("risk-review", org.bob)):
        curation.record_decision(org.repo, case, kind, who, org.keyring, DAY)
    cases.save(org.repo, case)
    return case


def test_statistics_only_answer_caps_the_public_consent_until_a_signed_statement(org: Org):
    stats_only = _reviewed(org, consent_requested="aggregate_only")
    refused = cli(org.repo, "case", "publish", stats_only.id, editor=org.bob)
    assert refused.exit_code == 4, refused.output
    assert (f"consent: anonymised {consent.MARK} (aggregate_only, the submission form)"
            in refused.output)
    assert f"`temoin case consent {stats_only.id} --ceiling anonymised" in refused.output
    assert cases.load(org.repo, stats_only.id).status == "review"

    silent = _reviewed(org)  # no consent recorded at all: the ceiling is none
    refused = cli(org.repo, "case", "publish", silent.id, editor=org.bob)
    assert refused.exit_code == 4 and "(none, none recorded)" in refused.output

    out = ok(cli(org.repo, "case", "consent", stats_only.id, "--ceiling", "anonymised",
                 "--how", "phone", "--given-by", "victim", "--obtained", "2025-10-04",
                 editor=org.alice)).output
    assert "Consent statement" in out and "ceiling anonymised" in out
    path = stats_only.folder / "review" / "consent.json"
    assert not path.exists()  # sealed with its signature until published (cases.review)
    sealed = review_files.read(path)
    assert sealed is not None
    statement = json.loads(sealed[0])
    assert statement["kind"] == "consent" and statement["editor"] == org.alice
    assert statement["payload"] == {"ceiling": "anonymised", "how": "phone",
                                    "given_by": "victim", "obtained": "2025-10-04"}
    assert statement["content_sha256"] == curation.content_hash(
        cases.load(org.repo, stats_only.id))
    ok(cli(org.repo, "case", "publish", stats_only.id, editor=org.bob))
    # Published: the same signed statement, now plain for every machine to check.
    assert path.read_bytes() == sealed[0]
    assert path.with_name("consent.json.asc").read_bytes() == sealed[1]
    assert not list(path.parent.glob("*.sealed.asc"))
    publish = json.loads((stats_only.folder / "review" / "publish.json").read_text())
    assert publish["payload"][consent.PUBLISH_KEY] == "anonymised"

    ok(cli(org.repo, "case", "set", silent.id, "consent=aggregate_only", editor=org.alice))
    assert cli(org.repo, "case", "publish", silent.id, editor=org.bob).exit_code == 4

    ok(cli(org.repo, "build", "--allow-unpublished"))
    files = site_files(org.repo / "site")
    assert f"cases/{stats_only.id}/index.html" in files

    # The source takes back the page: a newer statement lowers the ceiling; the build
    # refuses the page at once, naming the command.
    ok(cli(org.repo, "case", "consent", stats_only.id, "--ceiling", "aggregate_only",
           "--how", "secure_message", "--given-by", "source", editor=org.bob))
    build = cli(org.repo, "build")
    assert build.exit_code == 4, build.output
    assert stats_only.id in build.output and consent.MARK in build.output
    assert "temoin case consent" in build.output


def test_build_counts_only_signed_ceilings(org: Org, keyring: keys.Keyring):
    # Published by hand-made signatures but with no ceiling in the publish decision and no
    # consent statement: refused. A statement signed by a key outside the roster: refused.
    case = org.add_case()
    (case.folder / "review" / "consent.json").unlink()
    (case.folder / "review" / "consent.json.asc").unlink()
    curation.record_decision(org.repo, case, "publish", org.bob, org.keyring, DAY,
                             published=DAY)
    mallory = keyring.generate("Mallory", "mallory@example.invalid")
    other = org.add_case()
    curation.record_decision(org.repo, other, "consent", mallory, keyring, DAY,
                             ceiling="named", how="phone", given_by="victim", obtained="x")
    curation.record_decision(org.repo, other, "publish", org.bob, org.keyring, DAY,
                             published=DAY, consent_ceiling="aggregate_only")
    build = cli(org.repo, "build")
    assert build.exit_code == 4, build.output
    assert f"cases/{case.id}/case.md: consent: anonymised {consent.MARK} (none" in build.output
    assert (f"cases/{other.id}/case.md: consent: anonymised {consent.MARK} (aggregate_only"
            in build.output)


def test_case_new_records_the_consent_given_at_intake(org: Org):
    out = ok(cli(org.repo, "case", "new", "--no-edit", "--json", "--consent", "aggregate_only",
                 editor=org.alice)).output
    cid = json.loads(out)["id"]
    private = cases.read_private(org.repo, cid, org.keyring)
    assert private["consent_requested"] == "aggregate_only"
    assert consent.form_ceiling(private) == "aggregate_only"
    assert consent.form_ceiling({}) == "none"
