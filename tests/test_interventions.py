"""Interventions on cases: private records, public summaries on the site only where consent
allows, and the follow-up of interventions that await an answer."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner

from temoin import cases, custody
from temoin.cli import main
from temoin.curation import interventions
from temoin.publish import build
from tests.helpers import Org, site_files

ADDRESSEE = "Procureur CANARY-ADDRESSEE-7K2P de la République à Gitega"
RESPONSE = "Le parquet répond CANARY-RESPONSE-3F9Q que le dossier est classé."
SUMMARY_FR = "Appel urgent adressé aux autorités judiciaires compétentes."
SUMMARY_EN = "Urgent appeal sent to the competent judicial authorities."


def run(org: Org, *args: str):
    return CliRunner().invoke(main, ["--repo", str(org.repo), *args], catch_exceptions=False,
                              env={"TEMOIN_EDITOR": org.alice})


def old(days: int) -> str:
    return (dt.date.today() - dt.timedelta(days=days)).isoformat()


def test_intervention_shows_only_its_public_summary_in_the_next_build(org: Org):
    event = {"date_start": dt.date(2025, 10, 2), "date_end": None, "date_precision": "day",
             "location": {"country": "BI", "admin1": "Gitega", "precision": "admin1"}}
    # Published the week before the appeal; a second case published in the appeal's week
    # issues the bulletin that announces it (a week with no publication has none).
    case = org.add_case(private={"victims": [{"full_name": "Jean-Bosco Ndayisenga"}]},
                        event=event, published=dt.date(2025, 10, 3))
    org.add_case(event=event, published=dt.date(2025, 10, 7))
    result = run(org, "case", "intervene", case.id, "--type", "urgent_appeal", "--to",
                 ADDRESSEE, "--date", "2025-10-06", "--response", RESPONSE,
                 "--summary-fr", SUMMARY_FR, "--summary-en", SUMMARY_EN)
    assert result.exit_code == 0, result.output
    assert "shows on the case page" in result.output
    public = cases.load(org.repo, case.id)
    assert public.meta["interventions"] == [{
        "date": dt.date(2025, 10, 6), "type": "urgent_appeal",
        "summary": {"fr": SUMMARY_FR, "en": SUMMARY_EN}}]
    private = cases.read_private(org.repo, case.id, org.keyring)
    assert private["interventions"][0]["addressed_to"] == ADDRESSEE
    assert private["interventions"][0]["status"] == "responded"  # a response was recorded
    report = build.build(org.repo, org.cfg, org.repo / "site", org.keyring)
    assert report.published == 2  # a workflow field: no re-approval needed
    files = site_files(report.site_dir)
    page = files[f"cases/{case.id}/index.html"].decode()
    assert "Appel urgent adressé aux autorités judiciaires" in page
    en_page = files[f"en/cases/{case.id}/index.html"].decode()  # one site per language
    assert "Urgent appeal sent to the competent judicial authorities." in en_page
    week = files["bulletins/2025-W41/index.html"].decode()  # the week of 2025-10-06
    follow_up = week[week.index("Suivi des cas"):]
    assert case.id in follow_up and "Appel urgent adressé aux autorités" in follow_up
    week_en = files["en/bulletins/2025-W41/index.html"].decode()
    assert "Urgent appeal sent to the competent" in week_en[week_en.index("Case follow-up"):]
    for canary in (b"CANARY-ADDRESSEE-7K2P", b"CANARY-RESPONSE-3F9Q"):
        assert not [p for p, d in files.items() if canary in d]
        assert not [p for p in org.repo.rglob("*") if p.is_file() and canary in p.read_bytes()]


def test_private_value_written_into_a_summary_stops_the_build(org: Org):
    case = org.add_case(private={"victims": [{"full_name": "Jean-Bosco Ndayisenga"}]})
    result = run(org, "case", "intervene", case.id, "--type", "legal_aid", "--to", "Barreau",
                 "--date", "2025-03-20",  # near the event: few bulletins to build
                 "--summary-fr", "Jean-Bosco Ndayisenga orienté vers un avocat.")
    assert result.exit_code == 0, result.output
    built = CliRunner().invoke(main, ["--repo", str(org.repo), "build"])
    assert built.exit_code == 4, built.output
    assert "victims.0.full_name" in built.output
    assert "Ndayisenga" not in built.output  # the finding names the field, not the value


def test_summary_stays_private_without_publication_consent(org: Org):
    case = org.add_case(status="draft", private={})
    result = run(org, "case", "intervene", case.id, "--type", "medical_care", "--to",
                 "Centre de santé", "--summary-fr", "Soins médicaux organisés.")
    assert result.exit_code == 0, result.output
    assert "stays private" in result.output
    assert "interventions" not in cases.load(org.repo, case.id).meta
    rec = cases.read_private(org.repo, case.id, org.keyring)["interventions"][0]
    assert rec["public_summary"] == {"fr": "Soins médicaux organisés.",
                                     "en": "Soins médicaux organisés."}
    assert run(org, "case", "set", case.id, "consent=anonymised").exit_code == 0
    resync = run(org, "case", "intervene", case.id, "--update", "i1")
    assert resync.exit_code == 0, resync.output
    entries = cases.load(org.repo, case.id).meta["interventions"]
    assert [e["summary"]["fr"] for e in entries] == ["Soins médicaux organisés."]


def test_intervene_records_a_custody_entry_without_content(org: Org):
    case = org.add_case(private={})
    run(org, "case", "intervene", case.id, "--type", "urgent_appeal", "--to", ADDRESSEE)
    result = run(org, "case", "intervene", case.id, "--update", "i1", "--outcome",
                 "Libéré CANARY-OUTCOME-5X1C après deux semaines.", "--status", "closed")
    assert result.exit_code == 0, result.output
    entries = [e for e in custody.entries(org.repo) if e.get("case") == case.id]
    assert [(e["action"], e["intervention"], e["status"]) for e in entries] == [
        ("intervention", "i1", "sent"), ("intervention_updated", "i1", "closed")]
    assert all(e["editor"] == org.alice for e in entries)
    log = (org.repo / custody.LOG).read_text()
    assert "CANARY" not in log and "Procureur" not in log
    assert custody.verify(org.repo) == []


def test_intervene_refuses_incomplete_or_unknown_input(org: Org):
    case = org.add_case(private={})
    missing = run(org, "case", "intervene", case.id, "--type", "urgent_appeal")
    assert missing.exit_code == 2 and "--type and --to" in missing.output
    unknown = run(org, "case", "intervene", case.id, "--update", "i9", "--response", "Oui.")
    assert unknown.exit_code == 1 and "no intervention 'i9'" in unknown.output
    bad_type = run(org, "case", "intervene", case.id, "--type", "prayer", "--to", "X")
    assert bad_type.exit_code == 2
    ctrl = run(org, "case", "intervene", case.id, "--type", "legal_aid", "--to", "A\x1b[2JB")
    assert ctrl.exit_code == 1 and "control characters" in ctrl.output
    assert "interventions" not in cases.read_private(org.repo, case.id, org.keyring)


def _pending(org: Org, days: int, status: str = "sent", **meta: object) -> cases.Case:
    case = org.add_case(status="draft", private={}, **meta)
    result = run(org, "case", "intervene", case.id, "--type", "urgent_appeal", "--to",
                 "Commissaire", "--date", old(days), "--status", status)
    assert result.exit_code == 0, result.output
    return case


def test_follow_up_lists_overdue_interventions_children_and_sgbv_first(org: Org):
    adult = _pending(org, 60)
    child = _pending(org, 20, victims=[{"id": "v1", "count": 1, "sex": "f",
                                        "age_group": "child", "status_now": "detained"}])
    sgbv = _pending(org, 30, status="planned", acts=[
        {"victim": "v1", "type": "rape", "perpetrators": ["p1"]}])
    recent = _pending(org, 3)
    answered = _pending(org, 90)
    run(org, "case", "intervene", answered.id, "--update", "i1", "--response", "Reçu.")
    found = interventions.overdue(org.repo, org.cfg, org.keyring)
    assert [(f.case_id, f.priority) for f in found] == [
        (sgbv.id, ("sexual_violence",)), (child.id, ("child",)), (adult.id, ())]
    assert found[2].days == 60 and recent.id not in {f.case_id for f in found}
    later = interventions.overdue(org.repo, org.cfg, org.keyring,
                                  today=dt.date.today() + dt.timedelta(days=12))
    assert recent.id in {f.case_id for f in later}  # 15 days > follow_up_days (14)


def test_follow_up_command_prints_overdue_cases(org: Org):
    adult = _pending(org, 40)
    child = _pending(org, 16, victims=[{"id": "v1", "count": 1, "sex": "m",
                                        "age_group": "child", "status_now": "detained"}])
    published = org.add_case(private={})
    run(org, "case", "intervene", published.id, "--type", "legal_aid", "--to", "Barreau",
        "--date", old(50))
    args = ["case", "list", "--follow-up", "--status", "draft"]
    result = run(org, *args, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [d["case"] for d in data] == [child.id, adult.id]
    assert data[0]["priority"] == ["child"] and data[1]["days"] == 40
    text = run(org, *args)
    assert text.exit_code == 0, text.output
    assert text.output.index(child.id) < text.output.index(adult.id)
    assert "Commissaire" not in text.output  # the addressee stays confidential
    every = json.loads(run(org, "case", "list", "--follow-up", "--json").output)
    assert [d["case"] for d in every] == [child.id, published.id, adult.id]


def test_records_round_trip_through_public_entries_sorted_by_date(tmp_path: Path):
    private: dict[str, object] = {}
    s = interventions.summary("Résumé.", None)
    interventions.add(private, kind="relocation", addressed_to="HCR", day=dt.date(2025, 5, 2),
                      public_summary=s)
    interventions.add(private, kind="legal_aid", addressed_to="Avocat", day=dt.date(2025, 4, 1),
                      public_summary=s)
    interventions.add(private, kind="medical_care", addressed_to="Clinique",
                      day=dt.date(2025, 3, 1))
    entries = interventions.public_entries({"consent": "named"}, private)
    assert [e["type"] for e in entries] == ["legal_aid", "relocation"]
    assert all(set(e) == {"date", "type", "summary"} for e in entries)
    assert interventions.public_entries({"consent": "aggregate_only"}, private) == []
