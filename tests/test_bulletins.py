"""Bulletins built by a real `mkdocs build`: what was published in each period, figures
equal to counts computed independently, consecutive numbers that never change, one entry
per case in the fixed section order, follow-ups, errata after a withdrawal, the editors'
text rendered safely, both languages."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest
from num2words import num2words

from temoin import cases, config
from temoin.cases import vocab
from temoin.site import engine
from temoin.site.bulletins import periods
from temoin.site.bulletins import plan as bulletin_plan
from tests import report_fixtures as rf
from tests.helpers import cache_path, site_files

KEYWORDS = {"fr": {"life": "droit à la vie|tuée", "disappearance": "enlevée",
                   "torture": "torturée", "detention": "arrêtée", "sgbv": "violences sexuelles",
                   "other": "autres violations"},
            "en": {"life": "right to life|killed", "disappearance": "abducted",
                   "torture": "tortured", "detention": "arbitrarily arrested",
                   "sgbv": "sexual or gender-based", "other": "other violations"}}


@pytest.fixture
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[rf.CaseSet, Path]:
    """The generated case set, built once per session (see report_fixtures.built_site)."""
    return rf.built_site(tmp_path_factory)


def weeks(made: rf.CaseSet) -> list[dt.date]:
    """The Mondays of the weeks that have a bulletin: those with a publication."""
    return rf.bulletin_weeks(made)


def bulletin_file(site: Path, monday: dt.date, lang: str = "fr") -> Path:
    folder = "bulletins" if lang == "fr" else "en/bulletins"
    return site / folder / rf.week_key(monday) / "index.html"


def test_bulletin_figures_equal_independent_counts(built: tuple[rf.CaseSet, Path]):
    made, site = built
    checked = 0
    for monday in weeks(made):
        metas = [m for m in made.counted if rf.published_in_week(m, monday)]
        cats, people = rf.by_category(metas), rf.persons(metas)
        for lang in ("fr", "en"):
            page = rf.read_page(bulletin_file(site, monday, lang))
            place_caption = next(c for c in page.tables if "province" in c.lower())
            rows = page.tables[place_caption][1:]
            head = page.tables[place_caption][0]
            for i, cat in enumerate(vocab.categories(), 1):
                assert sum(int(r[i]) for r in rows) == cats[cat], (monday, cat, lang)
            assert sum(int(r[-1]) for r in rows) == people
            cells = rf.by_province_category(metas)
            for r in rows:
                code = next(p for p in rf.PROVINCES if rf.place_label(p, lang).startswith(r[0]))
                assert [int(x) for x in r[1:-1]] == [cells[(code, c)] for c in
                                                     vocab.categories()], r
            assert len(head) == len(vocab.categories()) + 2
            act_caption = next(c for c in page.tables if "sex" in c.lower())
            acts = {r[0]: int(r[-1]) for r in page.tables[act_caption][1:]}
            assert acts == {vocab.label("acts", a, lang): n for a, n in rf.by_act(metas).items()}
            perp_caption = next(c for c in page.tables if "perpetrator" in c.lower()
                                or "auteur" in c.lower())
            pc = rf.by_perpetrator_category(metas)
            for r in page.tables[perp_caption][1:]:
                code = next(p for p in rf.PERPS
                            if vocab.label("perpetrator_types", p, lang) == r[0])
                assert [int(x) for x in r[1:-1]] == [pc[(code, c)] for c in vocab.categories()]
            # Key figures: "au moins neuf (9) personnes …", number in words and digits.
            figures = [li for li in page.items if " (" in li and "au moins" in li
                       or "at least" in li]
            for cat, n in cats.items():
                line = next(li for li in figures if re.search(KEYWORDS[lang][cat], li))
                words = num2words(n, lang=lang)
                if lang == "fr" and words.endswith("un"):
                    words += "e"
                assert f"{words} ({n})" in line, (cat, n, line)
            if metas:
                agg = sum(m.get("consent") == "aggregate_only" for m in metas)
                n_cases = len(metas) - agg % 3  # aggregate-only cases in steps of 3
                assert any(f"({n_cases}) " in li and ("cas publié" in li or "published in"
                                                      in li) for li in page.items)
            checked += 1
    assert checked == 2 * len(weeks(made)) and len(weeks(made)) > rf.WEEKS


def test_bulletins_are_numbered_consecutively_from_the_first_publication(built):
    made, site = built
    mondays = weeks(made)
    assert mondays[0] == rf.monday_of(min(m["published"] for m in made.counted))
    for n, monday in enumerate(mondays, 1):
        f = bulletin_file(site, monday)
        html = f.read_text()
        assert f"Bulletin n° {n} — période du" in html
        assert (f.parent / f"bulletin-{n}.pdf").is_file()
        assert f"Bulletin No. {n} — " in bulletin_file(site, monday, "en").read_text()
    # A week with nothing newly published has no bulletin: the fixture's late case leaves
    # such weeks between the others, and the numbers skip none.
    made_weeks = {p.name for p in (site / "bulletins").iterdir() if "-W" in p.name}
    assert made_weeks == {rf.week_key(m) for m in mondays}
    span = (mondays[-1] - mondays[0]).days // 7 + 1
    assert span > len(mondays), "the fixture should leave a week without publication"
    assert len(list((site / "bulletins").rglob("*.pdf"))) == len(mondays)
    # The index lists them newest first, each with its PDF.
    index = (site / "bulletins" / "index.html").read_text()
    numbers = [int(x) for x in re.findall(r">Bulletin n° (\d+)</a>", index)]
    assert numbers == list(range(len(mondays), 0, -1))
    assert (site / "en" / "bulletins" / "index.html").exists()


def test_each_case_is_listed_once_in_the_fixed_section_order(built):
    made, site = built
    for monday in weeks(made):
        html = bulletin_file(site, monday).read_text()
        shown = re.findall(r'id="case-([a-z0-9-]+)"', html)
        expected = sorted(m["id"].lower() for m in made.published
                          if rf.published_in_week(m, monday))
        assert sorted(shown) == expected
        for m in made.aggregate:
            assert m["id"] not in html
        sections = [html.index(f'id="section-{c}"') for c in vocab.categories()]
        assert sections == sorted(sections)
        for m in made.published:
            if rf.published_in_week(m, monday):
                first = next(c for c in vocab.categories()
                             if c in {rf.category(a["type"]) for a in m["acts"]})
                pos = html.index(f'id="case-{m["id"].lower()}"')
                i = vocab.categories().index(first)
                assert sections[i] < pos
                assert i + 1 == len(sections) or pos < sections[i + 1]


def test_late_case_is_in_the_bulletin_of_its_publication_with_its_event_date(built):
    made, site = built
    late = made.late
    assert late is not None
    day = late["event"]["date_start"]
    event_week = bulletin_file(site, rf.monday_of(day))
    assert not event_week.exists() or late["id"].lower() not in event_week.read_text()
    pub = bulletin_file(site, rf.monday_of(late["published"])).read_text()
    entry = pub[pub.index(f'id="case-{late["id"].lower()}"'):]
    assert periods.long_date(day, "fr") in entry[:entry.index("</article>")]


def test_follow_up_shows_the_public_intervention_summary(built):
    made, site = built
    case = next(m for m in made.published if m.get("interventions"))
    day = case["interventions"][0]["date"]
    # Announced in the first bulletin issued on or after the day of the intervention.
    monday = next(m for m in weeks(made) if m + dt.timedelta(days=6) >= day)
    html = bulletin_file(site, monday).read_text()
    follow = html[html.index('id="suivi"'):]
    assert case["title"]["fr"] in follow and "Appel urgent envoyé." in follow
    en = bulletin_file(site, monday, "en").read_text()
    assert "Urgent appeal sent." in en


def _numbers(site: Path) -> dict[str, int]:
    """Bulletin number by period key, as the built pages show them."""
    return {f.parent.name: int(re.search(r"Bulletin n° (\d+)", f.read_text())[1])
            for f in (site / "bulletins").glob("*-W*/index.html")}


def test_withdrawn_case_leaves_the_figures_and_appears_as_an_erratum(tmp_path: Path):
    repo = rf.make_repo(tmp_path)
    made = rf.make_set(repo, n=4, seed=11)
    victim = made.published[0]
    site = tmp_path / "site"
    rf.build(repo, site)
    monday = rf.monday_of(victim["published"])
    before = rf.read_page(bulletin_file(site, monday))
    numbers = _numbers(site)
    stats_before = (site / "statistiques" / "index.html").read_text()
    assert victim["id"] in bulletin_file(site, monday).read_text()

    gone_on = rf.START + dt.timedelta(days=7 * rf.WEEKS + 40)  # after every publication
    rf.withdraw(repo, victim["id"], "À la demande de la famille.", "At the family's request.",
                gone_on)
    shutil.rmtree(site)
    rf.build(repo, site)
    blob = b"".join(site_files(site).values())
    assert victim["id"].encode() not in blob, "a withdrawn case's id must leave the site"
    # No number moves, the victim's bulletin included, even if it was its only case.
    assert _numbers(site) == numbers
    after = rf.read_page(bulletin_file(site, monday))
    cap = next(c for c in after.tables if "province" in c.lower()) if after.tables else None
    remaining = [m for m in made.counted if m is not victim
                 and rf.published_in_week(m, monday)]
    if cap is not None:
        assert sum(int(r[-1]) for r in after.tables[cap][1:]) == rf.persons(remaining)
    bcap = next(c for c in before.tables if "province" in c.lower())
    assert sum(int(r[-1]) for r in before.tables[bcap][1:]) == rf.persons(remaining + [victim])
    # No bulletin issued since the withdrawal: the correction stands in its own bulletin.
    own = bulletin_file(site, monday).read_text()
    assert "a été retiré le" in own and "les chiffres ci-dessus sont corrigés" in own

    # The next publication issues the next number, which carries the erratum.
    added = rf.add(repo, "after-withdrawal", event={
        "date_start": gone_on, "date_end": None, "date_precision": "day",
        "location": {"country": "BI", "admin1": "BI-GIT", "precision": "admin1"}},
        published=gone_on + dt.timedelta(days=1))
    shutil.rmtree(site)
    rf.build(repo, site)
    later = _numbers(site)
    new_key = rf.week_key(rf.monday_of(gone_on + dt.timedelta(days=1)))
    assert later == {**numbers, new_key: max(numbers.values()) + 1}
    number = numbers[rf.week_key(monday)]
    erratum = (site / "bulletins" / new_key / "index.html").read_text()
    assert (f"un cas publié dans le <a href=\"../{rf.week_key(monday)}/\">Bulletin n° {number}"
            "</a>") in erratum
    assert "les totaux de ce bulletin sont corrigés" in erratum
    assert "À la demande de la famille." in erratum
    own = bulletin_file(site, monday).read_text()
    assert f"voir l&#x27;erratum du <a href=\"../{new_key}/\">" in own or \
        f"voir l'erratum du <a href=\"../{new_key}/\">" in own
    en = (site / "en" / "bulletins" / new_key / "index.html").read_text()
    assert "At the family&#x27;s request." in en and "totals have been corrected" in en
    total = re.compile(r"Total des victimes \(personnes distinctes\)</th><td[^>]*>(\d+)<")
    assert int(total.search(stats_before)[1]) - rf.persons([victim]) + rf.persons([added]) == int(
        total.search((site / "statistiques" / "index.html").read_text())[1])


def test_one_case_organisation_gets_one_bulletin_per_language(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch):
    """Issue 17's report: a case of March 2025 published in December 2026 by an organisation
    created then made 91 weekly bulletins (90 empty) dated from 2025. One now, dated from
    the publication, in each language, with one PDF each."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1796774400")  # 2026-12-09, a Wednesday
    repo = rf.make_repo(tmp_path)
    case = rf.add(repo, "lonely", event={
        "date_start": dt.date(2025, 3, 12), "date_end": None, "date_precision": "day",
        "location": {"country": "BI", "admin1": "BI-GIT", "precision": "admin1"}},
        published=dt.date(2026, 12, 8))
    site = tmp_path / "site"
    engine.run_mkdocs(repo, site, verify_signatures=False)
    for folder in ("bulletins", "en/bulletins"):
        made = sorted(p.parent.name for p in (site / folder).glob("*/index.html"))
        assert made == ["2026-W50"], (folder, made)
        assert [p.name for p in (site / folder).rglob("*.pdf")] == ["bulletin-1.pdf"]
    html = (site / "bulletins" / "2026-W50" / "index.html").read_text()
    assert "Bulletin n° 1 — période du 7 au 13 décembre 2026" in html
    assert "Publié le 13 décembre 2026" in html and "2025" not in html.split(
        'id="cas"')[0].split('class="temoin-bulletin"')[1]
    assert case["id"].lower() in html
    en = (site / "en" / "bulletins" / "2026-W50" / "index.html").read_text()
    assert "Bulletin No. 1 — December 7–13, 2026" in en


def _plan(repo: Path) -> bulletin_plan.Plan:
    from temoin.site import generate

    with rf.editors_env(repo):  # a withdrawn case is sealed to the editors
        inp = generate.collect(repo, config.load(repo), None)
    return bulletin_plan.make_plan(inp.cfg, inp.published, inp.aggregate, inp.withdrawn)


def _event(day: dt.date) -> dict[str, object]:
    return {"date_start": day, "date_end": None, "date_precision": "day",
            "location": {"country": "BI", "admin1": "BI-GIT", "precision": "admin1"}}


def test_numbers_follow_publications_and_never_change(tmp_path: Path):
    """Numbers depend on publication dates only: weeks without a publication are skipped
    without a gap, an old event documented now takes the next number, and withdrawing the
    only case of a bulletin keeps every number."""
    repo = rf.make_repo(tmp_path, first_number=40)
    first = rf.add(repo, "n1", event=_event(dt.date(2025, 1, 6)),
                   published=dt.date(2025, 3, 3))                  # 2025-W10
    rf.add(repo, "n2", event=_event(dt.date(2025, 3, 1)), published=dt.date(2025, 4, 2))
    assert [(b.key, b.number) for b in _plan(repo).bulletins] == [
        ("2025-W10", 40), ("2025-W14", 41)]
    # Events of 2019 documented now: the next number, not a bulletin back in 2019.
    rf.add(repo, "n3", event=_event(dt.date(2019, 5, 1)), published=dt.date(2025, 4, 20))
    issued = [(b.key, b.number) for b in _plan(repo).bulletins]
    assert issued == [("2025-W10", 40), ("2025-W14", 41), ("2025-W16", 42)]
    # Withdrawn: its bulletin keeps its number (corrected), nothing after it moves.
    rf.withdraw(repo, first["id"], "Erreur.", "Error.",
                dt.date(2025, 4, 10))                       # 2025-W15: no bulletin
    plan = _plan(repo)
    assert [(b.key, b.number) for b in plan.bulletins] == issued
    assert not plan.bulletins[0].cases and [c.id for c in plan.bulletins[0].corrected] == [
        first["id"]]
    # Announced in the first bulletin issued after the withdrawal: 2025-W16.
    assert [c.id for c in plan.bulletins[2].errata] == [first["id"]]
    # A case with no publication date (never through `publish`) is in no bulletin.
    rf.add(repo, "n4", event=_event(dt.date(2025, 5, 5)))
    assert [(b.key, b.number) for b in _plan(repo).bulletins] == issued


def test_editorial_and_recommendations_are_rendered_safely(tmp_path: Path):
    repo = rf.make_repo(tmp_path)
    case = rf.add(repo, "editorial", event={
        "date_start": rf.START, "date_end": None, "date_precision": "day",
        "location": {"country": "BI", "admin1": "BI-GIT", "precision": "admin1"}},
        published=rf.START)
    key = rf.week_key(case["published"])
    folder = repo / "site_src" / "bulletins"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{key}.md").write_text(
        "<!-- note interne CANARY-COMMENT-7T -->\n"
        "La situation s'aggrave <script>alert(1)</script> [lien](javascript:alert(2)).\n\n"
        "## Recommandations\n\n- Libérer les détenus.\n")
    site = tmp_path / "site"
    engine.run_mkdocs(repo, site, verify_signatures=False)
    html = (site / "bulletins" / key / "index.html").read_text()
    body = html[html.index('class="temoin-bulletin"'):]
    assert "La situation s'aggrave" in body or "La situation s&#x27;aggrave" in body
    assert "<script>alert" not in body and "javascript:" not in body
    assert "CANARY-COMMENT" not in html  # editors' comments are never published
    assert body.index('id="recommandations"') < body.index("Libérer les détenus.")
    assert body.index('id="editorial"') < body.index("aggrave") < body.index(
        'id="recommandations"')
    en = (site / "en" / "bulletins" / key / "index.html").read_text()
    assert "Text available in French only." in en and "Libérer les détenus." in en
    assert not (site / "bulletins" / f"{key}.md").exists()
    assert not (site / "bulletins" / key / key).exists()


def test_search_indexes_bulletins_by_title_only(built):
    made, site = built
    index = json.loads((site / "search" / "search_index.json").read_text())
    docs = [d for d in index["docs"] if d["location"].startswith("bulletins/2025-W")]
    assert docs
    assert all(d["title"].startswith("Bulletin") for d in docs)
    text = " ".join(d["text"] + d["title"] for d in docs)
    # The summary (a line of counts) stays on the page and in the feed, not in the index:
    # ~1,130 bulletins at 20,000 cases (issue 8).
    assert "cas documenté" not in text.lower()
    for m in made.published:
        assert m["title"]["fr"] not in text, "case entries must stay out of the index"
    assert "Arrestation arbitraire" not in text  # table rows are excluded too


@pytest.mark.parametrize("kind,keys", [
    ("month", ["2025-09", "2025-10"]), ("quarter", ["2025-Q3", "2025-Q4"])])
def test_period_setting_groups_cases_by_month_or_quarter(tmp_path: Path, kind: str,
                                                          keys: list[str]):
    repo = rf.make_repo(tmp_path, period=kind, first_number=12)
    rf.add(repo, "p1", event={"date_start": dt.date(2025, 9, 30), "date_end": None,
                              "date_precision": "day",
                              "location": {"country": "BI", "admin1": "BI-GIT",
                                           "precision": "admin1"}},
           published=dt.date(2025, 9, 30))
    rf.add(repo, "p2", event={"date_start": dt.date(2025, 8, 1), "date_end": None,
                              "date_precision": "day",
                              "location": {"country": "BI", "admin1": "BI-GIT",
                                           "precision": "admin1"}},
           published=dt.date(2025, 10, 2))
    cfg = config.load(repo)
    published = cases.load_all(repo)[0]
    plan = bulletin_plan.make_plan(cfg, published, [], [])
    assert [b.key for b in plan.bulletins] == keys
    assert [b.number for b in plan.bulletins] == [12, 13]
    assert [len(b.cases) for b in plan.bulletins] == [1, 1]


def test_iso_weeks_and_labels_follow_iso_8601():
    p = periods.period_of(dt.date(2025, 10, 8), "week")
    assert (p.key, p.start, p.end) == ("2025-W41", dt.date(2025, 10, 6), dt.date(2025, 10, 12))
    assert periods.label(p, "fr") == "du 6 au 12 octobre 2025"
    assert periods.label(p, "en") == "October 6–12, 2025"
    jan = periods.period_of(dt.date(2024, 12, 31), "week")
    assert jan.key == "2025-W01" and periods.label(jan, "fr").startswith("du 30 décembre 2024")
    assert periods.parse_key("2025-W41", "week") == p
    assert periods.parse_key("2025-W60", "week") is None
    assert periods.words(21, "fr") == "vingt et une (21)"
    assert periods.words(9, "en") == "nine (9)"


def test_search_index_is_utf8_not_ascii_escapes(built):
    """Accented letters as UTF-8 (2 bytes), not `\\u00e9` escapes (6 bytes): French text."""
    _made, site = built
    raw = (site / "search" / "search_index.json").read_bytes()
    assert b"\\u00" not in raw
    text = raw.decode("utf-8")
    assert "é" in text and json.loads(text)["docs"]


def _bulletin_files(repo: Path) -> dict[str, bytes]:
    from temoin.site import bulletins, generate

    with rf.editors_env(repo):  # a withdrawn case is sealed to the editors
        inp = generate.collect(repo, config.load(repo), None)
    plan = bulletins.make_plan(inp.cfg, inp.published, inp.aggregate, inp.withdrawn)
    out_pages, out_assets = bulletins.site_files(plan, inp.cfg)
    return {**{p.path: p.data for p in out_pages}, **{a.path: a.data for a in out_assets}}


def test_stored_bulletin_pages_follow_every_change_of_their_inputs(tmp_path: Path):
    """Pages kept in the cache `bulletin-pages.bin` between builds: after an edit of a
    case, an editorial, or a damaged cache file, every bulletin equals a fresh one."""
    repo = rf.make_repo(tmp_path)
    made = rf.make_set(repo, n=8, seed=5)
    store = cache_path(repo, "bulletin-pages.bin")
    first = _bulletin_files(repo)
    assert store.is_file() and _bulletin_files(repo) == first

    def fresh() -> dict[str, bytes]:
        store.unlink()
        return _bulletin_files(repo)

    case = cases.load(repo, made.published[0]["id"])
    case.meta["title"] = {"fr": "Titre corrigé après relecture", "en": "Title corrected"}
    cases.save(repo, case)
    edited = _bulletin_files(repo)
    assert edited != first and any(b"Titre corrig" in v for v in edited.values())
    assert edited == fresh()

    key = rf.week_key(rf.monday_of(case.meta["published"]))
    (repo / "site_src" / "bulletins").mkdir(parents=True, exist_ok=True)
    (repo / "site_src" / "bulletins" / f"{key}.md").write_text("Une semaine difficile.\n")
    with_text = _bulletin_files(repo)
    assert any(b"Une semaine difficile." in v for v in with_text.values())
    assert with_text == fresh()

    data = bytearray(store.read_bytes())
    at = data.index(b"Une semaine difficile.")
    data[at:at + 3] = b"Six"                 # a page that no longer matches its hash
    store.write_bytes(bytes(data))
    assert _bulletin_files(repo) == with_text
    store.write_bytes(b"not json\n" + bytes(data))   # an index that does not parse
    assert _bulletin_files(repo) == with_text


def test_a_first_build_holds_no_drawn_pdf_in_memory(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch):
    """A build with an empty cache stores each bulletin PDF as soon as it is drawn and
    hands the site the checked cache file, not the bytes (issue 18: ~48 MB held at 1,000
    cases until MkDocs copied them); the files are the bytes drawn with no cache at all."""
    from temoin.site import bulletins, generate

    repo = rf.make_repo(tmp_path)
    rf.make_set(repo, n=8, seed=5)
    shutil.rmtree(cache_path(repo, ""), ignore_errors=True)
    with rf.editors_env(repo):
        inp = generate.collect(repo, config.load(repo), None)
    plan = bulletins.make_plan(inp.cfg, inp.published, inp.aggregate, inp.withdrawn)
    _pages, assets = bulletins.site_files(plan, inp.cfg)
    pdfs = [a for a in assets if a.path.endswith(".pdf")]
    assert pdfs and all(a.source is not None and not a._data for a in pdfs)
    monkeypatch.setenv("TEMOIN_NO_CACHE", "1")
    _pages, bare = bulletins.site_files(plan, inp.cfg)
    assert {a.path: a.data for a in pdfs} == \
        {a.path: a.data for a in bare if a.path.endswith(".pdf")}
