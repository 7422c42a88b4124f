"""Atom feeds of bulletins and alerts (valid, stable ids, dates from the data, identical
across builds), linked from every page's head; the alerts page and its feed follow the
`urgent` flag until an editor lifts it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import posixpath
import re
from pathlib import Path

import feedparser
import pytest

from temoin import cases, config
from temoin.site import engine, feeds
from temoin.site.bulletins import plan as bulletin_plan
from tests import report_fixtures as rf
from tests.curation_fixtures import cli, ok
from tests.helpers import Org


@pytest.fixture
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[rf.CaseSet, Path]:
    """The generated case set, built once per session (see report_fixtures.built_site)."""
    return rf.built_site(tmp_path_factory)


FEEDS = ("feeds/bulletins.xml", "feeds/alerts.xml", "en/feeds/bulletins.xml",
         "en/feeds/alerts.xml")


def test_feeds_are_valid_atom_with_stable_ids_and_dates_from_the_cases(built):
    made, site = built
    bulletins = sorted(p.name for p in (site / "bulletins").iterdir()
                       if p.is_dir() and "-W" in p.name)
    for rel in FEEDS:
        parsed = feedparser.parse((site / rel).read_bytes())
        assert parsed.bozo == 0, (rel, parsed.get("bozo_exception"))
        assert parsed.version == "atom10"
        assert parsed.feed.id.startswith("urn:uuid:")
        # The feed's own title names the organisation (not the head link's label).
        assert parsed.feed.title.startswith(config.load(made.repo).organisation + " — ")
        ids = [e.id for e in parsed.entries]
        assert len(set(ids)) == len(ids) and all(i.startswith("urn:uuid:") for i in ids)
        if "bulletins" in rel:
            assert len(parsed.entries) == len(bulletins)
            assert parsed.entries[0].title.startswith(("Bulletin n° ", "Bulletin No. "))
            newest = parsed.entries[0]
            # Dates come from the data: the last bulletin's end (a Sunday), not the clock.
            assert dt.date(*newest.published_parsed[:3]).weekday() == 6
            assert newest.link.endswith(f"bulletins/{bulletins[-1]}/")
        else:
            urgent = sorted((m for m in made.published if m["urgent"]),
                            key=lambda m: m["event"]["date_start"], reverse=True)
            assert [e.title for e in parsed.entries] == [
                m["title"]["fr" if not rel.startswith("en/") else "en"] for m in urgent]
            assert dt.date(*parsed.entries[0].published_parsed[:3]) == urgent[0]["published"]
    # Entry ids depend only on the bulletin's period (and the organisation), not the build.
    plan_ids = {e.id for e in feedparser.parse((site / FEEDS[0]).read_bytes()).entries}
    assert feeds.stable_id("bulletin", "BI", "SOS-Test", bulletins[0], "fr") in plan_ids


def test_two_builds_give_identical_feeds(built, tmp_path_factory, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch):
    made, site = built
    again = rf.rebuilt_site(tmp_path_factory)
    for rel in FEEDS:
        assert (site / rel).read_bytes() == (again / rel).read_bytes(), rel
    # A later SOURCE_DATE_EPOCH (a new commit) leaves non-empty feeds unchanged: their
    # dates come from the cases, never from the build.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(rf.EPOCH) + 86400 * 30))
    later = tmp_path / "later"
    rf.build(made.repo, later)
    for rel in FEEDS:
        assert (later / rel).read_bytes() == (site / rel).read_bytes(), rel


def test_every_page_links_the_feeds_in_its_head(built):
    """Every page, whatever its language (an English case page written from the layout,
    the 404 pages too), offers a feed reader every feed: its own language's first, then
    the other's, each marked with its language and resolving to that language's feed.
    None as a bare `rel="alternate"`: Material's script fetches a sitemap.xml beside every
    `link[rel=alternate]` it finds (an exact match, checked in the bundle we publish)."""
    made, site = built
    case = made.published[0]["id"]
    for page in ("index.html", "bulletins/index.html", "cases/index.html",
                 f"cases/{case}/index.html", "404.html", "en/index.html",
                 "en/statistics/index.html", f"en/cases/{case}/index.html", "en/404.html"):
        html = (site / page).read_text()
        head = html[:html.index("</head>")]
        lang = re.findall(r'<html lang="(\w+)"', html)[0]
        assert lang == ("en" if page.startswith("en/") else "fr"), page
        assert 'rel="alternate"' not in head, page  # Material would fetch a sitemap.xml
        links = re.findall(r'<link rel="alternate feed" type="application/atom\+xml" '
                           r'hreflang="(\w+)" title="([^"]+)" href="([^"]+)">', head)
        other = "fr" if lang == "en" else "en"
        assert [h for h, _, _ in links] == [lang, lang, other, other], (page, links)
        assert len({title for _, title, _ in links}) == 4, (page, links)
        for hreflang, _, href in links:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(page), href))
            folder = "" if hreflang == "fr" else "en/"
            assert target in (f"{folder}feeds/bulletins.xml", f"{folder}feeds/alerts.xml"), \
                (page, href)
            feed = (site / target).read_bytes()
            assert feedparser.parse(feed).bozo == 0 and \
                f'xml:lang="{hreflang}"'.encode() in feed[:300], (page, href)
    bundle = "".join(p.read_text() for p in (site / "assets/javascripts").glob("bundle.*.js"))
    assert '"link[rel=alternate]"' in bundle
    assert not re.search(r"rel[~*|^$]=.?alternate", bundle)


def test_feed_links_are_absolute_when_site_url_is_set(built):
    made, site = built
    cfg = dataclasses.replace(config.load(made.repo), site_url="https://bulletins.example.org/")
    with rf.editors_env(made.repo):  # the withdrawn case is sealed to the editors
        published = [c for c in cases.load_all(made.repo)[0] if c.status == "published"]
    plan = bulletin_plan.make_plan(cfg, published, [], [])
    parsed = feedparser.parse(feeds.bulletins_feed(plan, cfg, "en").data)
    assert parsed.bozo == 0
    assert parsed.entries[0].link.startswith("https://bulletins.example.org/en/bulletins/")
    assert any(link.href == "https://bulletins.example.org/en/feeds/bulletins.xml"
               for link in parsed.feed.links)


def test_alerts_follow_the_urgent_flag_until_it_is_lifted(org: Org, tmp_path: Path):
    """Cases published with every signed decision; the alert raised and lifted as editors
    do it, with `temoin case urgent` (a signed `urgent` decision), and the site built with
    signatures checked: only the signed flag shows."""
    loc = {"country": "BI", "admin1": "BI-GIT", "precision": "admin1"}
    older = org.add_case(title={"fr": "Alerte ancienne", "en": "Older alert"},
                         event={"date_start": dt.date(2025, 9, 2), "date_end": None,
                                "date_precision": "day", "location": loc},
                         published=dt.date(2025, 9, 3))
    newer = org.add_case(title={"fr": "Alerte récente", "en": "Recent alert"},
                         event={"date_start": dt.date(2025, 9, 20), "date_end": None,
                                "date_precision": "day", "location": loc},
                         published=dt.date(2025, 9, 21))
    org.add_case(title={"fr": "Cas sans alerte", "en": "No alert"},
                 event={"date_start": dt.date(2025, 9, 25), "date_end": None,
                        "date_precision": "day", "location": loc},
                 published=dt.date(2025, 9, 26))
    for case in (older, newer):
        ok(cli(org.repo, "case", "urgent", case.id, editor=org.alice))
    site = tmp_path / "site"
    engine.run_mkdocs(org.repo, site)
    page = (site / "alertes" / "index.html").read_text()
    assert page.index("Alerte récente") < page.index("Alerte ancienne")
    assert "Cas sans alerte" not in page
    home = (site / "index.html").read_text()
    assert "Alerte récente" in home and "Cas sans alerte" in home  # alert block + latest
    assert "Recent alert" in (site / "en" / "alerts" / "index.html").read_text()
    entries = feedparser.parse((site / "feeds" / "alerts.xml").read_bytes()).entries
    assert [e.title for e in entries] == ["Alerte récente", "Alerte ancienne"]

    ok(cli(org.repo, "case", "urgent", newer.id, "--lift", editor=org.bob))
    engine.run_mkdocs(org.repo, site)
    page = (site / "alertes" / "index.html").read_text()
    assert "Alerte récente" not in page and "Alerte ancienne" in page
    entries = feedparser.parse((site / "feeds" / "alerts.xml").read_bytes()).entries
    assert [e.title for e in entries] == ["Alerte ancienne"]
    en = feedparser.parse((site / "en" / "feeds" / "alerts.xml").read_bytes()).entries
    assert [e.title for e in en] == ["Older alert"]


def test_empty_alerts_feed_is_dated_by_the_last_publication_not_1970(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Without SOURCE_DATE_EPOCH (a plain `temoin build`) and with no urgent alert, the
    alerts feed said it was last updated on 1970-01-01 (issue 17)."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    repo = rf.make_repo(tmp_path)
    loc = {"country": "BI", "admin1": "BI-GIT", "precision": "admin1"}
    rf.add(repo, "calm", event={"date_start": dt.date(2025, 3, 12), "date_end": None,
                                "date_precision": "day", "location": loc},
           published=dt.date(2026, 12, 8))
    site = tmp_path / "site"
    engine.run_mkdocs(repo, site, verify_signatures=False)
    for rel in ("feeds/alerts.xml", "en/feeds/alerts.xml"):
        parsed = feedparser.parse((site / rel).read_bytes())
        assert parsed.bozo == 0 and parsed.entries == []
        assert dt.date(*parsed.feed.updated_parsed[:3]) == dt.date(2026, 12, 8), rel
