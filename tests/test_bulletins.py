"""Bulletins built by a real `mkdocs build`: figures equal to counts computed independently,
consecutive numbers, one entry per case in the fixed section order, additions, follow-ups,
errata after a withdrawal, the editors' text rendered safely, both languages."""

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
from temoin.curation import steps as workflow
from temoin.site import engine
from temoin.site.bulletins import periods
from temoin.site.bulletins import plan as bulletin_plan
from tests import report_fixtures as rf
from tests.helpers import site_files

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


def weeks() -> list[dt.date]:
    return [rf.START + dt.timedelta(days=7 * k) for k in range(rf.WEEKS)]


def bulletin_file(site: Path, monday: dt.date, lang: str = "fr") -> Path:
    folder = "bulletins" if lang == "fr" else "en/bulletins"
    return site / folder / rf.week_key(monday) / "index.html"


def test_bulletin_figures_equal_independent_counts(built: tuple[rf.CaseSet, Path]):
    made, site = built
    checked = 0
    for monday in weeks():
        metas = [m for m in made.counted if rf.in_week(m, monday)]
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
                n_cases = len(metas)
                assert any(f"({n_cases}) " in li and ("cas documenté" in li or "documented case"
                                                      in li) for li in page.items)
            checked += 1
    assert checked == 2 * rf.WEEKS


def test_bulletins_are_numbered_consecutively_from_the_first_case(built):
    made, site = built
    first = min(m["event"]["date_start"] for m in made.counted + made.withdrawn)
    monday = first - dt.timedelta(days=first.weekday())
    last_key = None
    for n in range(1, 12):
        f = bulletin_file(site, monday + dt.timedelta(days=7 * (n - 1)))
        if not f.exists():
            break
        html = f.read_text()
        assert f"Bulletin n° {n} — période du" in html
        assert (f.parent / f"bulletin-{n}.pdf").is_file()
        last_key = f.parent.name
    assert last_key is not None and n > rf.WEEKS
    assert "Bulletin No. 1 — " in bulletin_file(site, monday, "en").read_text()
    # The index lists them newest first, each with its PDF.
    index = (site / "bulletins" / "index.html").read_text()
    numbers = [int(x) for x in re.findall(r">Bulletin n° (\d+)</a>", index)]
    assert numbers == sorted(numbers, reverse=True) and numbers[-1] == 1
    assert (site / "en" / "bulletins" / "index.html").exists()


def test_each_case_is_listed_once_in_the_fixed_section_order(built):
    made, site = built
    for monday in weeks():
        html = bulletin_file(site, monday).read_text()
        shown = re.findall(r'id="case-([a-z0-9-]+)"', html)
        expected = sorted(m["id"].lower() for m in made.published if rf.in_week(m, monday))
        assert sorted(shown) == expected
        for m in made.aggregate:
            assert m["id"] not in html
        sections = [html.index(f'id="section-{c}"') for c in vocab.categories()]
        assert sections == sorted(sections)
        for m in made.published:
            if rf.in_week(m, monday):
                first = next(c for c in vocab.categories()
                             if c in {rf.category(a["type"]) for a in m["acts"]})
                pos = html.index(f'id="case-{m["id"].lower()}"')
                i = vocab.categories().index(first)
                assert sections[i] < pos
                assert i + 1 == len(sections) or pos < sections[i + 1]


def test_late_case_is_counted_in_its_week_and_announced_when_published(built):
    made, site = built
    late = made.late
    assert late is not None
    day = late["event"]["date_start"]
    home = bulletin_file(site, day - dt.timedelta(days=day.weekday())).read_text()
    assert f'id="case-{late["id"].lower()}"' in home
    assert "après la parution du bulletin" in home
    pub = late["published"]
    later = bulletin_file(site, pub - dt.timedelta(days=pub.weekday())).read_text()
    section = later[later.index('id="ajouts"'):]
    assert late["title"]["fr"] in section and "compté dans le" in section


def test_follow_up_shows_the_public_intervention_summary(built):
    made, site = built
    case = next(m for m in made.published if m.get("interventions"))
    day = case["interventions"][0]["date"]
    html = bulletin_file(site, day - dt.timedelta(days=day.weekday())).read_text()
    follow = html[html.index('id="suivi"'):]
    assert case["title"]["fr"] in follow and "Appel urgent envoyé." in follow
    en = bulletin_file(site, day - dt.timedelta(days=day.weekday()), "en").read_text()
    assert "Urgent appeal sent." in en


def test_withdrawn_case_leaves_the_figures_and_appears_as_an_erratum(tmp_path: Path):
    repo = rf.make_repo(tmp_path)
    made = rf.make_set(repo, n=4, seed=11)
    victim = made.published[0]
    site = tmp_path / "site"
    engine.run_mkdocs(repo, site, verify_signatures=False)
    monday = victim["event"]["date_start"] - dt.timedelta(days=victim["event"]["date_start"]
                                                          .weekday())
    before = rf.read_page(bulletin_file(site, monday))
    stats_before = (site / "statistiques" / "index.html").read_text()
    assert victim["id"] in bulletin_file(site, monday).read_text()

    gone_on = rf.START + dt.timedelta(days=7 * rf.WEEKS + 2)  # after every event
    workflow.withdraw(repo, config.load(repo), victim["id"], rf.ALICE,
                      "À la demande de la famille.", "At the family's request.", gone_on)
    shutil.rmtree(site)
    engine.run_mkdocs(repo, site, verify_signatures=False)
    blob = b"".join(site_files(site).values())
    assert victim["id"].encode() not in blob, "a withdrawn case's id must leave the site"
    after = rf.read_page(bulletin_file(site, monday))
    cap = next(c for c in after.tables if "province" in c.lower())
    remaining = [m for m in made.counted if m is not victim and rf.in_week(m, monday)]
    assert sum(int(r[-1]) for r in after.tables[cap][1:]) == rf.persons(remaining)
    assert sum(int(r[-1]) for r in before.tables[cap][1:]) == rf.persons(remaining + [victim])
    number = int(re.search(r"Bulletin n° (\d+)", bulletin_file(site, monday).read_text())[1])
    erratum = bulletin_file(site, gone_on - dt.timedelta(days=gone_on.weekday())).read_text()
    assert (f"un cas publié dans le <a href=\"../{rf.week_key(monday)}/\">Bulletin n° {number}"
            "</a>") in erratum
    assert "les totaux de ce bulletin sont corrigés" in erratum
    assert "À la demande de la famille." in erratum
    assert "a été retiré le" in bulletin_file(site, monday).read_text()  # correction note
    en = bulletin_file(site, gone_on - dt.timedelta(days=gone_on.weekday()), "en").read_text()
    assert "At the family&#x27;s request." in en and "totals have been corrected" in en
    total = re.compile(r"Total des victimes \(personnes distinctes\)</th><td[^>]*>(\d+)<")
    assert int(total.search(stats_before)[1]) - rf.persons([victim]) == int(
        total.search((site / "statistiques" / "index.html").read_text())[1])


def test_editorial_and_recommendations_are_rendered_safely(tmp_path: Path):
    repo = rf.make_repo(tmp_path)
    case = rf.add(repo, "editorial", event={
        "date_start": rf.START, "date_end": None, "date_precision": "day",
        "location": {"country": "BI", "admin1": "BI-GIT", "precision": "admin1"}})
    key = rf.week_key(case["event"]["date_start"])
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
           published=dt.date(2025, 10, 2))
    rf.add(repo, "p2", event={"date_start": dt.date(2025, 10, 1), "date_end": None,
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
    assert plan.bulletins[0].new_cases == 0 and plan.bulletins[1].new_cases == 2


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


def test_mistyped_date_stops_the_plan_with_a_clear_error(tmp_path: Path):
    repo = rf.make_repo(tmp_path)
    old = rf.add(repo, "typo", event={"date_start": dt.date(1925, 10, 1), "date_end": None,
                                      "date_precision": "day",
                                      "location": {"country": "BI", "admin1": "Gitega",
                                                   "precision": "admin1"}},
                 published=dt.date(2025, 10, 2))
    with pytest.raises(Exception, match=old["id"]):
        bulletin_plan.make_plan(config.load(repo), cases.load_all(repo)[0], [], [])


def test_search_index_is_utf8_not_ascii_escapes(built):
    """Accented letters as UTF-8 (2 bytes), not `\\u00e9` escapes (6 bytes): French text."""
    _made, site = built
    raw = (site / "search" / "search_index.json").read_bytes()
    assert b"\\u00" not in raw
    text = raw.decode("utf-8")
    assert "é" in text and json.loads(text)["docs"]


def _bulletin_files(repo: Path) -> dict[str, bytes]:
    from temoin.site import bulletins, generate

    inp = generate.collect(repo, config.load(repo), None)
    plan = bulletins.make_plan(inp.cfg, inp.published, inp.aggregate, inp.withdrawn)
    out_pages, out_assets = bulletins.site_files(plan, inp.cfg)
    return {**{p.path: p.data for p in out_pages}, **{a.path: a.data for a in out_assets}}


def test_stored_bulletin_pages_follow_every_change_of_their_inputs(tmp_path: Path):
    """Pages kept in `.temoin/cache/bulletin-pages.bin` between builds: after an edit of a
    case, an editorial, or a damaged cache file, every bulletin equals a fresh one."""
    repo = rf.make_repo(tmp_path)
    made = rf.make_set(repo, n=8, seed=5)
    store = repo / ".temoin" / "cache" / "bulletin-pages.bin"
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

    key = rf.week_key(case.date - dt.timedelta(days=case.date.weekday()))
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
