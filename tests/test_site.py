"""The bulletin site built by a real `mkdocs build`: only gate-passing cases, nothing
third-party, no raw HTML from case text, case pages that do not grow with the archive."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from temoin import cases
from temoin.cli import main
from temoin.config import LICENCES
from temoin.publish import build
from tests.demo_fixtures import demo_build
from tests.helpers import Org, case_text, site_files

URL_ATTR = re.compile(rb"""(?:src|href|srcset|action|poster|data)\s*=\s*["']?([^"'\s>]+)""", re.I)
CSS_URL = re.compile(rb"""url\(\s*["']?([^"')]+)|@import\s+["']([^"']+)""", re.I)


def external_urls(site: Path) -> list[str]:
    """Every absolute or protocol-relative URL in a src/href/srcset/url()/@import."""
    found = []
    for rel, data in site_files(site).items():
        if not rel.endswith((".html", ".css", ".js", ".svg", ".xml")) or rel.startswith(
                "sitemap"):
            continue
        for m in [*URL_ATTR.finditer(data), *CSS_URL.finditer(data)]:
            url = next(g for g in m.groups() if g)
            if re.match(rb"(?i)(https?:)?//", url):
                found.append(f"{rel}: {url.decode(errors='replace')}")
    return found


def test_build_shows_only_cases_that_pass_the_gate(org: Org):
    shown = org.add_case(narrative="Visible CANARY-SHOWN-0001.")
    org.add_case(status="draft", narrative="Brouillon CANARY-DRAFT-7Q2X.")
    org.add_case(status="review", narrative="En relecture CANARY-REVIEW-9K3L.")
    org.add_case(consent="none", narrative="Sans consentement CANARY-CONSENT-4M8P.")
    org.add_case(sign=False, narrative="Non approuvé CANARY-UNSIGNED-2B6C.")
    same = org.add_case(sign=False, narrative="Mêmes yeux CANARY-SAMEEDITOR-5T1V.")
    org.sign(same, verifier=org.alice, approver=org.alice)
    low = org.add_case(sign=False, narrative="Niveau bas CANARY-LEVEL-8H4N.",
                       verification="credible")
    org.sign(low)
    agg = org.add_case(consent="aggregate_only", narrative="Stats CANARY-AGG-3W7E.")
    report = build.build(org.repo, org.cfg, org.repo / "site", org.keyring)
    files = site_files(report.site_dir)
    blob = b"\n".join(files.values())
    assert b"CANARY-SHOWN-0001" in blob
    for canary in (b"DRAFT-7Q2X", b"REVIEW-9K3L", b"CONSENT-4M8P", b"UNSIGNED-2B6C",
                   b"SAMEEDITOR-5T1V", b"LEVEL-8H4N", b"AGG-3W7E"):
        leaks = [p for p, d in files.items() if canary in d]
        assert not leaks, f"{canary!r} leaked into {leaks}"
    assert f"cases/{shown.id}/index.html" in files
    # Not fictional: no banner at all (an empty one is a dark band above every header).
    assert b"md-banner" not in files[f"cases/{shown.id}/index.html"]
    assert not any(agg.id in p for p in files)
    assert report.published == 1 and report.aggregate == 1


def test_hand_edited_publication_without_signatures_is_refused(org: Org):
    case = org.add_case(status="review", narrative="Edité à la main CANARY-HAND-6Y2R.")
    text = case_text(case).replace("status: review", "status: published")
    text = text.replace("consent: anonymised", "consent: anonymised\nreview: {verified_by: "
                        f"{org.alice}, approved_by: {org.bob}, risk_reviewed: 2025-10-01}}")
    case.path.write_text(text)
    build.build(org.repo, org.cfg, org.repo / "site", org.keyring)
    assert all(b"CANARY-HAND-6Y2R" not in d for d in site_files(org.repo / "site").values())
    result = CliRunner().invoke(main, ["--repo", str(org.repo), "check"])
    assert result.exit_code == 1, result.output
    assert "no signed verify decision" in result.output


def test_changing_published_facts_without_reapproval_unpublishes(org: Org):
    case = org.add_case(narrative="Version approuvée.")
    case.narrative = "Version modifiée après approbation CANARY-CHANGED-1P9Z."
    cases.save(org.repo, case)
    build.build(org.repo, org.cfg, org.repo / "site", org.keyring)
    assert all(b"CANARY-CHANGED" not in d for d in site_files(org.repo / "site").values())
    result = CliRunner().invoke(main, ["--repo", str(org.repo), "check"])
    assert result.exit_code == 1 and "changed since it was verified" in result.output


def test_site_makes_no_third_party_request(org: Org):
    org.add_case(narrative="Voir [le rapport](https://example.org/rapport) et "
                           "![photo](https://tracker.example.net/pixel.png).")
    report = build.build(org.repo, org.cfg, org.repo / "site", org.keyring)
    external = external_urls(report.site_dir)
    # the only absolute URLs allowed are plain text links with rel=noopener noreferrer:
    # the case's own link and the open data's licence (issue 19)
    licence_url = LICENCES[org.cfg.data_licence][1]
    assert all("example.org/rapport" in u or u.endswith(f": {licence_url}") for u in external), \
        external
    page = next(d for p, d in site_files(report.site_dir).items()
                if p.startswith("cases/BI-") and p.endswith("index.html"))
    assert b'href="https://example.org/rapport" rel="noopener noreferrer"' in page
    assert b"tracker.example.net" not in page
    assert b"fonts.googleapis" not in b"".join(site_files(report.site_dir).values())


def test_narrative_cannot_emit_raw_html_or_script_links(org: Org):
    case = org.add_case(narrative='<script>alert("x")</script>\n\n<img src=x onerror=alert(1)>'
                                  "\n\n[clic](javascript:alert(1)) [d](data:text/html,hi) "
                                  '<a href="javascript:alert(2)">a</a>')
    build.build(org.repo, org.cfg, org.repo / "site", org.keyring)
    page = (org.repo / "site" / "cases" / case.id / "index.html").read_text()
    article = page[page.index('class="temoin-case"'):page.index("</article>")]
    assert "<script" not in article and "<img" not in article
    assert "onerror=" not in article.replace("onerror=alert(1)&gt;", "")
    assert "javascript:" not in article.replace("&lt;a href=\"javascript:alert(2)\"&gt;", "") \
        .replace('&lt;a href="javascript:alert(2)"&gt;', "")
    assert "data:text" not in article
    assert "&lt;script&gt;" in article


def test_demo_repository_builds_clean_and_checks_ok(demo_gnupghome: Path,
                                                   tmp_path_factory: pytest.TempPathFactory):
    """What `make demo` does: this repo's fictional cases, demo keys, a full build (one per
    session, which test_pdf and test_langs read too: tests/demo_fixtures.py)."""
    demo = demo_build(tmp_path_factory)
    assert demo.check.exit_code == 0, demo.check.output
    assert demo.build.exit_code == 0, demo.build.output
    repo = demo.repo
    site = repo / "site"
    assert (site / "index.html").exists() and (site / "cases" / "index.html").exists()
    published = [c for c in cases.load_all(repo)[0] if c.status == "published"
                 and c.meta["consent"] in ("anonymised", "named")]
    assert len(published) >= 15
    for c in published:
        assert (site / "cases" / c.id / "index.html").exists()
    drafts = [c for c in cases.load_all(repo)[0] if c.status == "draft"]
    blob = b"".join(site_files(site).values())
    assert drafts and all(c.id.encode() not in blob for c in drafts)
    assert "Données fictives" in (site / "index.html").read_text()


def test_sources_are_counted_in_words_that_agree():
    """'1 (1 indépendantes)' on a case page (issue 17): the number needs its noun."""
    from temoin.site.pages import sources_text

    assert sources_text(1, 1, "fr") == "1 source (indépendante)"
    assert sources_text(1, 1, "en") == "1 source (independent)"
    assert sources_text(1, 0, "fr") == "1 source (non indépendante)"
    assert sources_text(3, 2, "fr") == "3 sources (2 indépendantes)"
    assert sources_text(3, 1, "fr") == "3 sources (1 indépendante)"
    assert sources_text(2, 2, "fr") == "2 sources (toutes indépendantes)"
    assert sources_text(2, 0, "en") == "2 sources (none independent)"
