"""Open data: one row per victim × act type of published cases, figures equal to independent
counts, no names, no coordinates, aggregate-only cases never rows (only in the small-cell
protected counts), `temoin export` = the site files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from temoin import cases, config
from temoin.cli import main
from temoin.publish import build
from temoin.site import opendata
from tests import report_fixtures as rf
from tests.helpers import Org


@pytest.fixture
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[rf.CaseSet, Path]:
    """The generated case set, built once per session (see report_fixtures.built_site)."""
    return rf.built_site(tmp_path_factory)


def _csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def test_csv_and_json_rows_equal_independent_counts(built: tuple[rf.CaseSet, Path]):
    made, site = built
    rows = _csv((site / "data" / "cases.csv").read_bytes())
    doc = json.loads((site / "data" / "cases.json").read_text())
    assert len(rows) == rf.row_count(made.published) == doc["count"] == len(doc["records"])
    for r, j in zip(rows, doc["records"], strict=True):
        assert r == {k: ("true" if v is True else "false" if v is False else str(v))
                     for k, v in j.items()}
    per_act: dict[str, int] = {}
    for r in rows:
        per_act[r["act"]] = per_act.get(r["act"], 0) + int(r["persons"])
    assert per_act == dict(rf.by_act(made.published))
    published_ids = {m["id"] for m in made.published}
    assert {r["case_id"] for r in rows} == published_ids
    assert made.aggregate and not [r for r in rows if r["record"] == "aggregate"]
    sample = next(r for r in rows if r["record"] == "case")
    assert sample["act_fr"] and sample["act_en"] and sample["act_huridocs"]
    assert sample["case_url"] == f"cases/{sample['case_id']}/"
    assert (site / sample["case_url"] / "index.html").is_file()
    # One export for both languages: the English page too, in English.
    assert sample["case_url_en"] == f"en/cases/{sample['case_id']}/"
    assert 'lang="en"' in (site / sample["case_url_en"] / "index.html").read_text()
    assert [f["name"] for f in doc["fields"]] == list(rows[0])


def test_open_data_holds_no_name_no_coordinates_and_no_aggregate_id(built):
    made, site = built
    assert made.named is not None
    case_page = (site / "cases" / made.named["id"] / "index.html").read_text()
    assert rf.NAME_CANARY in case_page  # named consent: on the page, never in the data
    for name in ("cases.csv", "cases.json"):
        data = (site / "data" / name).read_text()
        assert rf.NAME_CANARY not in data and "CANARY" not in data
        for word in ("latitude", "longitude", "coordinates", "narrative", "institution"):
            assert word not in data.lower().split("\n")[0], word
        for m in made.aggregate + made.withdrawn:
            assert m["id"] not in data


def test_data_dictionary_documents_every_field_in_both_languages(built):
    made, site = built
    for path in ("donnees", "en/data"):
        html = (site / path / "index.html").read_text()
        for f in opendata.FIELDS:
            assert f"<th scope=\"row\">{f.name}</th>" in html, f.name
        assert "cases.csv" in html and "cases.json" in html
    assert "Aucun nom n" in (site / "donnees" / "index.html").read_text()
    assert "No name appears" in (site / "en" / "data" / "index.html").read_text()


def test_export_command_matches_the_site_files_and_the_gate(org: Org, tmp_path: Path):
    shown = org.add_case()
    org.add_case(consent="aggregate_only")
    hidden = org.add_case(sign=False)  # not approved: neither on the site nor exported
    report = build.build(org.repo, org.cfg, org.repo / "site", org.keyring)
    runner = CliRunner()
    result = runner.invoke(main, ["--repo", str(org.repo), "export", "--format", "csv"])
    assert result.exit_code == 0, result.output
    site_csv = (report.site_dir / "data" / "cases.csv").read_bytes()
    assert result.stdout_bytes == site_csv
    rows = _csv(site_csv)
    assert {r["case_id"] for r in rows} == {shown.id}
    assert hidden.id.encode() not in site_csv
    out = tmp_path / "export.json"
    result = runner.invoke(main, ["--repo", str(org.repo), "export", "--format", "json",
                                  "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == (report.site_dir / "data" / "cases.json").read_bytes()
    result = runner.invoke(main, ["--repo", str(org.repo), "export", "--format", "xml"])
    assert result.exit_code == 2


def test_csv_cells_cannot_start_a_spreadsheet_formula(tmp_path: Path):
    repo = rf.make_repo(tmp_path)
    rf.add(repo, "formula", event={"date_start": rf.START, "date_end": None,
                                   "date_precision": "day",
                                   "location": {"country": "BI", "admin1": "BI-GIT",
                                                "admin2": "=HYPERLINK(\"x\")",
                                                "precision": "admin2"}},
           victims=[{"id": "v1", "count": 1, "sex": "m", "age_group": "adult",
                     "status_now": "free"}],
           acts=[{"victim": "v1", "type": "threats", "perpetrators": ["p1"]}])
    published = cases.load_all(repo)[0]
    rows = _csv(opendata.export(published, [], config.load(repo), "csv"))
    assert rows[0]["admin2"] == "'=HYPERLINK(\"x\")"


def test_counts_table_protects_small_cells_also_between_two_releases(org: Org):
    """Aggregate-only persons reach a count only in steps of 3: one more such person with the
    same year, province and category changes no figure, in any release (issue 15)."""
    from temoin.site import counts

    pub = org.add_case()
    agg = [org.add_case(consent="aggregate_only") for _ in range(2)]
    cfg = org.cfg
    load = [cases.load(org.repo, c.id) for c in [pub, *agg]]
    before = opendata.count_rows(load[:1], load[1:2])
    after = opendata.count_rows(load[:1], load[1:])
    assert before == after  # 1 -> 2 aggregate-only persons: nothing moves
    cells = {(r["admin1"], r["category"]): r["victims"] for r in after if r["category"]}
    assert set(cells.values()) == {"<3"}  # the published man: 1 per category, shown <3
    assert [r["victims"] for r in after if not r["category"]] == ["at least 2"]
    third = org.add_case(consent="aggregate_only")
    grown = opendata.count_rows(load[:1], [*load[1:], cases.load(org.repo, third.id)])
    assert {r["victims"] for r in grown if r["category"]} == {"4"}  # 1 + the three, at once
    assert counts.protect(2) == 0 and counts.protect(5) == 3
    data = opendata.export([load[0]], load[1:], cfg, "csv").decode()
    assert all(c.id not in data for c in agg) and data.count("\r\n") == 3  # header + 2 acts
