"""The statistics page: every figure equals an independent count, charts are inline SVG with
a text alternative and a table beside them, aggregate-only cases count but never show."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from temoin import gates as checks
from temoin.cases import vocab
from tests import report_fixtures as rf
from tests.helpers import site_files


@pytest.fixture
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[rf.CaseSet, Path]:
    """The generated case set, built once per session (see report_fixtures.built_site)."""
    return rf.built_site(tmp_path_factory)


def _table(page: rf._Tables, word: str) -> list[list[str]]:
    return page.tables[next(c for c in page.tables if word in c)]


def _shown(n: int) -> str:
    """The small-cell rule, written independently: 1 and 2 as "<3"."""
    return "<3" if 0 < n < 3 else str(n)


def _total(cell: str, exact: int | None = None) -> int:
    """A total column: the number, or "at least N" (N a multiple of 3, never above the
    exact figure) beside cells shown as "<3"."""
    m = re.fullmatch(r"(?:au moins|at least) (\d+)", cell)
    if m is None:
        return int(cell)
    n = int(m[1])
    assert n % 3 == 0 and n > 0 and (exact is None or exact - 3 < n <= exact), (cell, exact)
    return n


def test_statistics_equal_independent_counts(built: tuple[rf.CaseSet, Path]):
    made, site = built
    metas = made.counted
    assert made.aggregate  # aggregate-only persons are in the cells: the small-cell rule

    for lang, path in (("fr", "statistiques"), ("en", "en/statistics")):
        page = rf.read_page(site / path / "index.html")
        totals = _table(page, "catégorie" if lang == "fr" else "category")
        cats = {r[0]: r[1] for r in totals[1:-1]}
        assert cats == {vocab.label("categories", c, lang): _shown(rf.by_category(metas)[c])
                        for c in vocab.categories()}
        foot = totals[-1]
        assert _total(foot[1], rf.persons(metas))
        monthly = _table(page, "mois" if lang == "fr" else "month")
        cells = rf.by_month_category(metas)
        for r in monthly[1:]:
            month = next(f"2025-{m:02d}" for m in range(1, 13)
                         if r[0].lower().startswith(
                             ("janvier février mars avril mai juin juillet août septembre "
                              "octobre novembre décembre" if lang == "fr" else
                              "january february march april may june july august "
                              "september october november december").split()[m - 1]))
            assert r[1:-1] == [_shown(cells[(month, c)]) for c in vocab.categories()], r
        assert len(monthly) - 1 >= 12  # at least twelve months on the chart
        places = _table(page, "province")
        pc = rf.by_province_category(metas)
        for r in places[1:]:
            code = next(p for p in rf.PROVINCES if rf.place_label(p, lang) == r[0])
            assert r[1:-1] == [_shown(pc[(code, c)]) for c in vocab.categories()]
        if all(r[-1].isdigit() for r in places[1:]):
            assert sum(int(r[-1]) for r in places[1:]) == rf.persons(metas)
        else:
            assert sum(_total(r[-1]) for r in places[1:]) <= rf.persons(metas)
        perps = _table(page, "auteur" if lang == "fr" else "perpetrator")
        pp = rf.by_perpetrator_category(metas)
        for r in perps[1:]:
            code = next(p for p in rf.PERPS if vocab.label("perpetrator_types", p, lang) == r[0])
            assert r[1:-1] == [_shown(pp[(code, c)]) for c in vocab.categories()]
        ages = _table(page, "âge" if lang == "fr" else "age and sex")
        sa = rf.by_age_sex(metas)
        for r in ages[1:]:
            age = next(a for a in vocab.terms("age_group")
                       if vocab.label("age_group", a, lang) == r[0])
            assert r[1:-1] == [_shown(sa[(age, s)]) for s in vocab.terms("sex")]
        acts = _table(page, "type de violation" if lang == "fr" else "type of violation")
        assert {r[0]: r[1] for r in acts[1:]} == {
            vocab.label("acts", a, lang): _shown(n) for a, n in rf.by_act(metas).items()}
        # No table prints a figure of 1 or 2; totals beside "<3" say "at least", in the
        # page's language.
        shown = [c for rows in page.tables.values() for row in rows[1:] for c in row[1:]]
        assert "<3" in shown and not {"1", "2"} & set(shown), shown
        assert any(c.startswith("au moins " if lang == "fr" else "at least ") for c in shown)


def _css_rules(css: str) -> list[tuple[str, str, str]]:
    """(at-rule or "", selectors, declarations) of every rule of a stylesheet."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    out, stack, start = [], [""], 0
    selectors: str | None = None
    for m in re.finditer(r"[{}]", css):
        text = css[start:m.start()].strip()
        if m.group() == "{" and text.startswith("@"):
            stack.append(text)
        elif m.group() == "{":
            selectors = text
        elif selectors is not None:
            out.append((stack[-1], selectors, text))
            selectors = None
        else:
            stack.pop()
        start = m.end()
    return out


def _display(rules: list[tuple[str, str, str]], at: str, cls: str) -> set[str]:
    """The `display` values rules under `at` give to elements of class `cls` itself."""
    return {d.split(":", 1)[1].strip() for a, sel, decls in rules if a == at
            and any(s.strip() == f".{cls}" for s in sel.split(","))
            for d in decls.split(";") if d.strip().startswith("display")}


def test_charts_are_inline_svg_with_a_text_alternative_and_a_table(built):
    """Each of the four charts is drawn wide and narrow (legible at 390 px), each drawing an
    `img` with its own title and description, the table of the same figures after both;
    the stylesheet shows one drawing at a time and `display: none` takes the other out of
    the accessibility tree (a screen reader reads one chart, not two)."""
    made, site = built
    for path in ("statistiques", "en/statistics"):
        html = (site / path / "index.html").read_text()
        assert len(re.findall(r"<svg [^>]*role=\"img\"", html)) == 8
        blocks = html.split('<div class="temoin-chart">')[1:]
        assert len(blocks) == 4
        ids: list[str] = []
        for block in blocks:
            drawn = re.match(r'<figure><div class="temoin-chart-wide">(<svg .*?</svg>)</div>'
                             r'<div class="temoin-chart-narrow">(<svg .*?</svg>)</div>'
                             r"<figcaption>[^<]+</figcaption></figure>", block, re.S)
            assert drawn, block[:200]
            alternatives = []
            for svg, width in ((drawn[1], 720), (drawn[2], 360)):
                assert f'viewBox="0 0 {width} ' in svg and 'role="img"' in svg[:300]
                assert "aria-hidden" not in svg[:300]
                label = re.search(r'aria-labelledby="([\w-]+) ([\w-]+)"', svg)
                assert label, svg[:200]
                ids += [label[1], label[2]]
                title = re.search(rf'<title id="{label[1]}">([^<]+)</title>', svg)
                desc = re.search(rf'<desc id="{label[2]}">([^<]+)</desc>', svg)
                assert title and desc and re.search(r"\d", desc[1])
                alternatives.append((title[1], desc[1]))
                assert "<script" not in svg and "style=" not in svg and "href" not in svg
            assert alternatives[0] == alternatives[1]  # same chart, same text alternative
            assert block[drawn.end():].startswith('<div class="temoin-table-wrap"') \
                and "<table" in block[drawn.end():]
        assert len(set(ids)) == len(ids) == 16  # ids unique on the page
        total = rf.persons(made.counted)
        assert f"Total : {total}" in html or f"Total: {total}" in html or str(total) in html
        css_href = re.search(r'<link rel="stylesheet" href="([^"]*assets/temoin\.css)">', html)
        assert css_href
    rules = _css_rules((site / "assets" / "temoin.css").read_text())
    assert _display(rules, "", "temoin-chart-narrow") == {"none"}
    assert _display(rules, "", "temoin-chart-wide") == set()
    phones = {a for a, _, _ in rules if a.startswith("@media screen and (max-width:")}
    assert len(phones) == 1
    phone = phones.pop()
    assert _display(rules, phone, "temoin-chart-wide") == {"none"}
    assert _display(rules, phone, "temoin-chart-narrow") == {"block"}
    assert all(not _display(rules, a, f"temoin-chart-{k}") for a, _, _ in rules
               if a not in ("", phone) for k in ("wide", "narrow"))


def test_report_pages_pass_the_markup_gates(built):
    """No third-party URL, no active content, the CSP present: on every page of ours."""
    made, site = built
    mine = ("bulletins/", "en/bulletins/", "statistiques/", "en/statistics/", "alertes/",
            "en/alerts/", "donnees/", "en/data/", "feeds/", "en/feeds/", "data/")
    findings = [f for f in (checks.gate_third_party(site) + checks.gate_active_content(site)
                            + checks.gate_csp(site)) if f.path.startswith(mine)]
    assert findings == []


def test_aggregate_only_cases_count_but_never_show(built):
    made, site = built
    assert made.aggregate
    blob = b"".join(site_files(site).values())
    for m in made.aggregate:
        assert m["id"].encode() not in blob
        assert m["title"]["fr"].encode() not in blob
    html = (site / "statistiques" / "index.html").read_text()
    assert f"dont {len(made.aggregate)} comptés sans fiche publique" in html
