"""The site at scale (DESIGN §9, issue 8): what a reader gets from one case does not grow with
the archive, listings are paginated, and the preview rebuilds only what an edit changed.

Timings live in `make bench` (scripts/bench/); these tests check the properties that keep
them linear, on real `mkdocs build`s of generated repos."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from temoin import cases
from temoin.curation import steps as workflow
from temoin.site import engine, pages, preview
from tests import helpers
from tests.helpers import Org, base_meta

DAY = dt.date(2025, 3, 12)  # every case in one week: one bulletin, the build stays fast
ROW = re.compile(r"<tr><td>")


def _write_cases(org: Org, n: int, first: int = 0) -> list[str]:
    """n published cases written straight to disk (review fields by hand: the build runs
    without signature checks); returns their ids, the first one fixed across sizes."""
    ids = []
    for i in range(first, first + n):
        meta = base_meta(f"scale-{i}".encode(), day=DAY - dt.timedelta(days=i % 3))
        meta["title"] = {"fr": f"Arrestation n° {i} à Gitega", "en": f"Arrest no. {i} in Gitega"}
        meta["review"] = {"verified_by": org.alice, "approved_by": org.bob,
                          "risk_reviewed": DAY}
        case = cases.Case(meta, f"Récit anonymisé du cas {i}.")
        folder = org.repo / "cases" / case.id
        folder.mkdir(parents=True)
        (folder / "case.md").write_text(cases.dumps(case), encoding="utf-8")
        ids.append(case.id)
    return ids


def _case_page(site: Path, case_id: str) -> bytes:
    return (site / "cases" / case_id / "index.html").read_bytes()


@pytest.mark.slow
def test_case_page_does_not_grow_with_the_archive(org: Org, tmp_path: Path):
    """100 vs 1,000 published cases: the same case's page byte for byte, listings paginated.
    (Anything on a page that grows with the archive shows at 1,000; builds of 5,000 and
    20,000 cases are `make bench`'s, not the suite's.)"""
    first = _write_cases(org, 100)
    small = tmp_path / "small"
    inp = engine.run_mkdocs(org.repo, small, verify_signatures=False)
    assert len(inp.published) == 100
    _write_cases(org, 900, first=100)
    big = tmp_path / "big"
    inp = engine.run_mkdocs(org.repo, big, verify_signatures=False)
    assert len(inp.published) == 1000
    page = _case_page(big, first[0])
    assert len(page) == len(_case_page(small, first[0]))
    assert page == _case_page(small, first[0])
    assert len(page) < 15 * 1024, f"a case page is {len(page)} bytes"
    # Listings: 1,000 cases on pages of at most 100, each page linking the next.
    listing = (big / "cases" / "index.html").read_text(encoding="utf-8")
    assert len(ROW.findall(listing)) == pages.PAGE_SIZE
    assert len(listing.encode()) < 120_000
    last = big / "cases" / "page-10" / "index.html"
    assert len(ROW.findall(last.read_text(encoding="utf-8"))) == 100
    assert not (big / "cases" / "page-11").exists()
    for f in (big / "cases").rglob("index.html"):
        assert len(ROW.findall(f.read_text(encoding="utf-8"))) <= pages.PAGE_SIZE, f
    assert 'rel="next"' in listing
    # Search: cases are found by title and summary; listings are not indexed at all.
    index = json.loads((big / "search" / "search_index.json").read_text(encoding="utf-8"))
    locations = [d["location"] for d in index["docs"]]
    assert f"cases/{first[0]}/" in locations
    assert not any(loc.startswith(("cases/page-", "cases/year/", "cases/place/"))
                   for loc in locations)
    entry = next(d for d in index["docs"] if d["location"] == f"cases/{first[0]}/")
    assert "Récit anonymisé" not in entry["text"]  # the body stays on the page
    # Pages come by title, so that gzip finds neighbours with the same words.
    titles = [d["title"] for d in index["docs"] if "#" not in d["location"]]
    assert titles == sorted(titles)


def test_preview_rebuilds_only_what_an_edit_changed(org: Org, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch):
    made: list[str] = []  # case pages generated, by case id
    real_page = pages.case_page

    def counted(case: cases.Case, *args: object, **kw: object) -> object:
        made.append(case.id)
        return real_page(case, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(pages, "case_page", counted)
    from fontTools import subset

    subsets: list[object] = []  # fonts subset for PDFs
    real_subset = subset.Subsetter.subset
    monkeypatch.setattr(subset.Subsetter, "subset",
                        lambda self, font: (subsets.append(font), real_subset(self, font)))
    shown = org.add_case(narrative="Version approuvée du récit.")
    other = org.add_case(narrative="Un autre cas, inchangé.")
    engine.run_mkdocs(org.repo, tmp_path / "full")  # every PDF in the cache already
    site = tmp_path / "preview"
    pv = preview.Preview(org.repo, site)
    first = pv.build()
    other_page = site / "cases" / other.id / "index.html"
    before = other_page.stat().st_mtime_ns
    assert first > 10  # every page the first time
    # An editor changes one case and signs it again: its page and the pages listing it
    # are rendered, the other case's page is left alone; its bulletin's PDF is drawn.
    shown.narrative = "Version corrigée après un second entretien."
    shown.meta["title"] = {"fr": "Arrestation (titre corrigé)", "en": "Arrest (corrected)"}
    cases.save(org.repo, shown)
    org.sign(shown)
    made.clear()
    subsets.clear()
    rendered = pv.build()
    assert subsets == []  # made at the first build, which drew no PDF (all in the cache)
    assert 0 < rendered < first
    assert pv.state.loaded == 1 and pv.state.verified == 1
    assert set(made) == {shown.id}  # the other case's page is not made again either
    text = _case_page(site, shown.id).decode()
    assert "Version corrigée" in text and "Version approuvée" not in text
    assert other_page.stat().st_mtime_ns == before
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert f"cases/{other.id}/" in [d["location"] for d in index["docs"]]
    # An edit without a new approval unpublishes: the page disappears from the preview.
    shown.narrative = "Modifié sans nouvelle approbation."
    cases.save(org.repo, shown)
    pv.build()
    assert not (site / "cases" / shown.id).exists()
    assert other_page.exists()
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert f"cases/{shown.id}/" not in [d["location"] for d in index["docs"]]


HOSTILE = [
    "<html><head><meta charset=utf-8><title>x</title></head><body>"
    "<p title='a>b' style=\"color:red\">t</p><script>var a = '</scr' + 'ipt>';</script>"
    "<!-- <script>alert(1)</script> --><svg><style>p{}</style></svg></body></html>",
    "<head><script>if (a < b) {}</script><link rel=stylesheet href=x.css></head>",
    "<head><meta charset=utf-8><!-- unterminated <script>alert(1)</script>",
    "<head><script>never closed", "<p <script>x</script>", "<?xml version='1.0'?><p>",
    "<![CDATA[<script>alert(1)</script>]]>", "<a href=x\"y style=z>q</a>",
    "<HEAD><META CHARSET=UTF-8><STYLE>b{}</STYLE><BODY STYLE=' x '>",
    # Tags the fast path passes over in one regex run, and ones it must not.
    "<head><p data-style=1 class=\"style\"><a STYLE=\"x\"><i\tstyle\n=\n'q'></i></head>",
    "<head><meta charset=x></HEAD ><meta charset=y><linK href=a><body><meta charset=z>",
    "<head><!--> <script>x</script> --><br/><img/src=x><div a=b/><x-y:z style=a></head>",
    "<head><a b=\"x>\" style=\"y\"><p>1 < 2 <= 3</p><\u017fcript>x</script></head>",
]


def test_preview_judges_every_case_again_under_a_new_trust_root(org: Org, tmp_path: Path):
    """The roster, the threshold and the root decisions name come from the signed trust
    statements: when both editors sign a new one while the preview runs, every case's
    verdict is made again (it was kept while only the settings and key files were
    compared)."""
    from tests.curation_fixtures import cli, ok

    for i in range(2):
        org.add_case(narrative=f"Récit {i}.")
    pv = preview.Preview(org.repo, tmp_path / "preview")
    pv.build()
    assert pv.state.verified == 2
    pv.build()
    assert pv.state.verified == 0  # nothing changed: nothing judged again
    about = next((org.repo / "site_src").glob("a-propos*.md"))
    about.write_text(about.read_text() + "\nNouvelle adresse postale.\n")
    ok(cli(org.repo, "trust", "propose", editor=org.alice))
    ok(cli(org.repo, "trust", "sign", editor=org.bob))
    pv.build()
    assert pv.state.verified == 2


def test_fast_csp_scan_finds_what_the_full_parser_finds(org: Org, tmp_path: Path):
    from temoin.site import csp

    _write_cases(org, 3)
    org.add_case(narrative="<script>alert(1)</script> <b style='x'>gras</b> <!-- c")
    site = tmp_path / "site"
    engine.run_mkdocs(org.repo, site, verify_signatures=False)
    pages_seen = 0
    for f in site.rglob("*.html"):
        html = csp.META_RE.sub("", f.read_text(encoding="utf-8"))
        fast = csp.scan_fast(html)
        assert fast is not None, f"{f}: the fast path gave up on a page we render"
        assert fast == csp.scan(html), f
        pages_seen += 1
    assert pages_seen > 20
    for html in HOSTILE:
        fast = csp.scan_fast(html)
        assert fast is None or fast == csp.scan(html), html


def _search_docs(site: Path) -> list[str]:
    doc = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    return sorted(json.dumps(d, sort_keys=True) for d in doc["docs"])


def test_preview_after_edits_equals_a_full_build(org: Org, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch):
    """What the preview shows after edits is, page for page and byte for byte, what a full
    build of the same repository state publishes: the memo (`site.memo`) keeps bulletins,
    records and open-data rows of unchanged cases only, never a stale one, and the folder
    watch (`preview.CaseWatch`) misses no edited folder. The fonts PDFs are drawn with
    are subset once for all the preview's builds (`pdf.kept_fonts`), to the same bytes."""
    from fontTools import subset

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1760000000")
    subsets: list[object] = []
    real_subset = subset.Subsetter.subset

    def counted(self: subset.Subsetter, font: object) -> None:
        subsets.append(font)
        real_subset(self, font)

    monkeypatch.setattr(subset.Subsetter, "subset", counted)
    weeks = [dt.date(2025, 3, 3) + dt.timedelta(weeks=i) for i in range(6)]
    made = [org.add_case(narrative=f"Récit {i}.",
                         event={**base_meta(b"x")["event"], "date_start": day},
                         published=day + dt.timedelta(days=2 if i % 2 else 30))
            for i, day in enumerate(weeks)]
    org.add_case(consent="aggregate_only",
                 event={**base_meta(b"y")["event"], "date_start": weeks[2]})
    site = tmp_path / "preview"
    pv = preview.Preview(org.repo, site)
    pv.build()
    first_subsets = len(subsets)
    assert first_subsets > 0
    # Moves a case from one week to another (both bulletins and their neighbours change),
    # changes its victims (statistics, open data) and its text (its page).
    moved = made[1]
    moved.meta["event"] = {**moved.meta["event"], "date_start": weeks[4]}
    moved.meta["victims"] = [{**moved.meta["victims"][0], "count": 3}]
    moved.narrative = "Récit corrigé."
    cases.save(org.repo, moved)
    org.sign(moved)
    cases.save(org.repo, moved)
    pv.build()
    hits = pv.state.memo.hits
    assert hits > 0  # unchanged bulletins came from the memo
    # A second edit unpublishes another case (no new approval).
    made[3].narrative = "Modifié sans nouvelle approbation."
    cases.save(org.repo, made[3])
    pv.build()
    # One case changes province and act type (listings by place and by type, statistics,
    # open data); another only its text (its records, hence the statistics, stay equal).
    shifted = made[0]
    shifted.meta["event"] = {**shifted.meta["event"], "location": {
        "country": "BI", "admin1": "Ngozi", "admin2": "Ngozi", "precision": "admin2"}}
    shifted.meta["acts"] = [{"victim": "v1", "type": "abduction", "perpetrators": ["p1"]}]
    reworded = made[2]
    reworded.narrative = "Récit reformulé."
    for case in (shifted, reworded):
        cases.save(org.repo, case)
        org.sign(case)
    pv.build()
    # A case is withdrawn (an erratum) while a new one appears in the latest week.
    workflow.withdraw(org.repo, org.cfg, org.keyring, made[5].id, org.alice,
                      "À la demande de la famille.", "At the family's request.",
                      weeks[-1] + dt.timedelta(days=3))
    org.add_case(narrative="Un nouveau cas.",
                 event={**base_meta(b"z")["event"], "date_start": weeks[5]})
    pv.build()
    # Edits the editor's own tools make: a case.md rewritten in place (same file, no new
    # approval: unpublished) and a case folder deleted; inotify names both folders.
    gone = org.repo / "cases" / made[4].id
    loose = cases.load(org.repo, made[0].id)
    loose.narrative = "Réécrit sur place."
    with open(loose.path, "r+", encoding="utf-8") as fh:
        fh.truncate(0)
        fh.write(cases.dumps(loose))
    shutil.rmtree(gone)
    pv.build()
    for folder in ("cases", "en/cases"):  # English case pages are written by the plugin
        assert not (site / folder / made[0].id).exists()
        assert not (site / folder / gone.name).exists()
        assert not (site / folder / made[5].id).exists()  # withdrawn
    if sys.platform.startswith("linux"):  # the rebuilds above read only the edited folders
        assert not pv.state.watch.lost
    assert len(subsets) == first_subsets  # none since the first build, which drew PDFs
    full = tmp_path / "full"
    engine.run_mkdocs(org.repo, full)
    ours, theirs = helpers.site_files(site), helpers.site_files(full)
    index = "search/search_index.json"
    assert _search_docs(site) == _search_docs(full)
    assert sorted(set(ours) - {index}) == sorted(set(theirs) - {index})
    different = [p for p in theirs if p != index and ours[p] != theirs[p]]
    assert different == []


def test_rebuild_remakes_only_the_bulletins_an_edit_touches(org: Org, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch):
    """After one case is edited and signed again, the preview draws again only the
    bulletins that count it (and the next one, which compares with it): a bulletin that
    shows an erratum (a withdrawn case) stays in the memo like any other, instead of being
    made again, with its PDF, on every rebuild."""
    from temoin.site import bulletins

    weeks = [dt.date(2025, 3, 3) + dt.timedelta(weeks=i) for i in range(8)]
    made = [org.add_case(narrative=f"Récit {i}.",
                         event={**base_meta(b"x")["event"], "date_start": day},
                         published=day + dt.timedelta(days=2))
            for i, day in enumerate(weeks)]
    workflow.withdraw(org.repo, org.cfg, org.keyring, made[0].id, org.alice,
                      "À la demande de la famille.", "At the family's request.",
                      weeks[1] + dt.timedelta(days=3))
    pv = preview.Preview(org.repo, tmp_path / "preview")
    pv.build()
    drawn: list[tuple[object, object]] = []
    real = bulletins.document

    def counted(b: object, plan: object, *args: object, **kw: object) -> object:
        drawn.append((b, plan))
        return real(b, plan, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(bulletins, "document", counted)
    edited = made[6]
    edited.narrative = "Récit corrigé."
    cases.save(org.repo, edited)
    org.sign(edited)
    pv.build()
    assert drawn  # the edited case's bulletin

    def counts_it(b: object) -> bool:
        return edited.id in {c.id for c in b.cases}  # type: ignore[attr-defined]

    for b, plan in drawn:
        prev = plan.previous(b)  # type: ignore[attr-defined]
        assert counts_it(b) or (prev is not None and counts_it(prev)), b.key  # type: ignore[attr-defined]
    assert any(b.errata for b in drawn[0][1].bulletins)  # type: ignore[attr-defined]
