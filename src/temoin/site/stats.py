"""The statistics page: victims per month and category, by place, by perpetrator type, by
sex and age, as SVG charts drawn at build time, each beside a table of the same figures.

Counts come from `temoin.site.counts` (the rules bulletins and open data use too) over the
published cases and the aggregate-only ones (counted, never shown). The page is one page
for the whole archive; its cost is one pass over the records.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from temoin.cases import Case, vocab
from temoin.config import Config
from temoin.site import Page, blocks, charts, counts
from temoin.site.blocks import Table
from temoin.site.bulletins import periods
from temoin.site.bulletins.doc import table_perpetrators, table_place
from temoin.site.context import Generation
from temoin.site.counts import Record
from temoin.site.pages import front, prefix, t
from temoin.site.text import inline

SLUG = {"fr": "statistiques", "en": "statistics"}
MIN_MONTHS, MAX_MONTHS = 12, 24


def path(lang: str, cfg: Config) -> str:
    return f"{prefix(lang, cfg)}{SLUG[lang]}/index.md"


def month_keys(recs: Sequence[Record]) -> list[str]:
    """The months the monthly chart shows: up to the latest month with data, at least 12
    and at most 24 (older months are in the yearly table)."""
    days = sorted(r.day for r in recs if r.day)
    if not days:
        return []
    y, m = days[-1].year, days[-1].month
    first = days[0].year * 12 + days[0].month - 1
    last = y * 12 + m - 1
    span = min(max(last - first + 1, MIN_MONTHS), MAX_MONTHS)
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(last - span + 1, last + 1)]


def _month_label(key: str, lang: str) -> str:
    y, m = key.split("-")
    return f"{periods.month_name(int(m), lang)} {y}"


def _desc(labels: list[str], totals: list[int], lang: str,
          persons: int | None = None) -> str:
    """The chart's text alternative. Its total is the sum of what the chart draws; when
    a person counts in several layers (categories), it says so and gives the people."""
    if not any(totals):
        return t("chart_desc_empty", lang)
    i = max(range(len(totals)), key=lambda k: (totals[k], -k))
    return t("chart_desc", lang, total=_total(sum(totals), lang, persons),
             label=labels[i], n=totals[i])


def _total(total: int, lang: str, persons: int | None) -> str:
    if persons is None or persons == total:
        return t("chart_total", lang, n=total)
    return t("chart_total_layers", lang, n=total, persons=persons)


def guarded(table: Table, lang: str, totals: bool) -> Table:
    """`table` as the page prints it when aggregate-only persons may be inside its cells
    (the open data's rule, `counts.shown`): figures of 1 and 2 as "<3", and a total (the
    last column when `totals`, and the foot) beside such a figure as "at least N"."""
    def line(cells: tuple[object, ...]) -> tuple[object, ...]:
        head, body = cells[:1], cells[1:]
        last = body[-1:] if totals else ()
        body = body[:-1] if totals else body
        small = any(isinstance(v, int) and 0 < v < counts.THRESHOLD for v in body)
        out = tuple(counts.shown(v) if isinstance(v, int) else v for v in body)
        end = tuple((counts.at_least(v, lang) if small else counts.shown(v))
                    if isinstance(v, int) else v for v in last)
        return (*head, *out, *end)

    small_rows = any(isinstance(v, int) and 0 < v < counts.THRESHOLD
                     for row in table.rows for v in row[1:])
    foot = tuple((counts.at_least(v, lang) if small_rows else counts.shown(v))
                 if isinstance(v, int) else v for v in table.foot)
    return Table(table.caption, table.head, tuple(line(r) for r in table.rows), foot)


def _chart(svgs: tuple[str, str], caption: str, table: Table, total: str = "") -> str:
    """A chart drawn twice, wide and for narrow screens (legible text at 390 px; CSS shows
    one), its caption with the total it draws, and its table."""
    wide, narrow = svgs
    cap = inline(caption) + (f" — {inline(total)}" if total else "")
    return (f"<div class=\"temoin-chart\"><figure><div class=\"temoin-chart-wide\">{wide}"
            f"</div><div class=\"temoin-chart-narrow\">{narrow}</div><figcaption>{cap}"
            f"</figcaption></figure>{blocks.table_html(table)}</div>")


def monthly(recs: Sequence[Record], lang: str, hide: bool = False) -> str:
    """Victims per month (stacked by category), chart and table."""
    keys = month_keys(recs)
    cats = vocab.categories()
    cells = counts.count(recs, lambda r: ((counts.month(r.day), r.category),), per="category")
    series = [charts.Series(vocab.label("categories", c, lang), charts.CATEGORY_COLORS[c],
                            tuple(cells[(k, c)] for k in keys)) for c in cats]
    totals = [sum(s.values[i] for s in series) for i in range(len(keys))]
    labels = [_month_label(k, lang) for k in keys]
    people = counts.count(recs, lambda r: (counts.month(r.day),), per="person")
    persons = sum(people[k] for k in keys)
    desc = _desc(labels, totals, lang, persons)
    svg = (charts.columns("chart-monthly", t("chart_monthly", lang), desc, keys, series),
           charts.columns("chart-monthly-n", t("chart_monthly", lang), desc, keys, series,
                          width=360, height=300))
    rows = tuple((labels[i], *[s.values[i] for s in series], people[k])
                 for i, k in enumerate(keys))
    head = (t("col_month", lang), *[s.label for s in series], t("col_persons", lang))
    table = Table(t("chart_monthly", lang), head, rows)
    return _chart(svg, t("chart_monthly", lang), guarded(table, lang, True) if hide else table,
                  _total(sum(totals), lang, persons) if any(totals) else "")


def yearly(recs: Sequence[Record], lang: str) -> Table:
    """Victims per year and category, the whole history."""
    years = sorted({r.day.year for r in recs if r.day}, reverse=True)
    cats = vocab.categories()
    cells = counts.count(recs, lambda r: ((r.day.year if r.day else None, r.category),),
                         per="category")
    people = counts.count(recs, lambda r: (r.day.year if r.day else None,), per="person")
    rows = tuple((str(y), *[cells[(y, c)] for c in cats], people[y]) for y in years)
    head = (t("col_year", lang), *[vocab.label("categories", c, lang) for c in cats],
            t("col_persons", lang))
    return Table(t("table_by_year", lang), head, rows)


def _single(chart_id: str, caption: str, table: Table, lang: str, color: str,
            hide: bool = False) -> str:
    """A one-series bar chart of a table's last column (people)."""
    labels = [str(r[0]) for r in table.rows]
    values = tuple(int(r[-1]) for r in table.rows)
    desc = _desc(labels, list(values), lang)
    layer = [charts.Series(t("col_persons", lang), color, values)]
    svg = (charts.bars(chart_id, caption, desc, labels, layer),
           charts.bars(f"{chart_id}-n", caption, desc, labels, layer, width=360,
                       label_width=140))
    return _chart(svg, caption, guarded(table, lang, True) if hide else table)


def sex_age(recs: Sequence[Record], lang: str, hide: bool = False) -> str:
    """Victims (people) per age group, stacked by sex; chart and table."""
    sexes, ages = list(vocab.terms("sex")), list(vocab.terms("age_group"))
    cells = counts.count(recs, lambda r: ((r.age_group, r.sex),), per="person")
    series = [charts.Series(vocab.label("sex", s, lang), charts.PALETTE[i],
                            tuple(cells[(g, s)] for g in ages)) for i, s in enumerate(sexes)]
    labels = [vocab.label("age_group", g, lang) for g in ages]
    totals = [sum(s.values[i] for s in series) for i in range(len(ages))]
    desc = _desc(labels, totals, lang)
    svg = (charts.bars("chart-sex-age", t("chart_sex_age", lang), desc, labels, series),
           charts.bars("chart-sex-age-n", t("chart_sex_age", lang), desc, labels, series,
                       width=360, label_width=120))
    rows = tuple((labels[i], *[s.values[i] for s in series], totals[i])
                 for i in range(len(ages)))
    head = (t("col_age", lang), *[s.label for s in series], t("col_total", lang))
    table = Table(t("chart_sex_age", lang), head, rows)
    return _chart(svg, t("chart_sex_age", lang), guarded(table, lang, True) if hide else table,
                  _total(sum(totals), lang, None) if any(totals) else "")


def by_category_table(recs: Sequence[Record], lang: str) -> Table:
    cats = counts.by_category(recs)
    rows = tuple((vocab.label("categories", c, lang), n) for c, n in cats.items())
    return Table(t("stats_totals", lang), (t("col_category", lang), t("col_victims", lang)),
                 rows, (t("total_persons", lang), counts.persons(recs)))


def by_act_table(recs: Sequence[Record], lang: str) -> Table:
    rows = tuple((vocab.label("acts", a, lang), n) for a, n in counts.by_act(recs).items())
    return Table(t("table_by_act", lang), (t("col_violation", lang), t("col_victims", lang)),
                 rows)


def _h2(anchor: str, text: str) -> str:
    # Excluded from search too (the page is indexed by its title and summary only).
    return f"<h2 id=\"{anchor}\" data-search-exclude>{inline(text)}</h2>"


def page(published: list[Case], aggregate: list[Case], cfg: Config, lang: str, *,
         gen: Generation | None = None) -> Page:
    """The statistics page in `lang`."""
    recs = (gen or Generation()).all_records(published, aggregate)
    days = sorted(r.day for r in recs if r.day)
    title = t("statistics", lang)
    # Aggregate-only persons may sit in any cell: then the tables follow the open data's
    # small-cell rule (figures of 1 and 2 as "<3", totals beside them "at least N").
    hide = bool(aggregate)

    def html(table: Table, totals: bool = False) -> str:
        return blocks.table_html(guarded(table, lang, totals) if hide else table)

    intro = t("stats_intro", lang, persons=counts.persons(recs),
              cases=counts.cases_counted(recs), aggregate=counts.shown(len(aggregate)),
              first=periods.long_date(days[0], lang) if days else "—",
              last=periods.long_date(days[-1], lang) if days else "—")
    body = [front(title, description=intro), "<div class=\"temoin-stats\" markdown=\"0\">",
            f"<p class=\"temoin-summary\">{inline(intro)}</p><section data-search-exclude>",
            html(by_category_table(recs, lang)),
            _h2("mois", t("chart_monthly", lang)), monthly(recs, lang, hide),
            html(yearly(recs, lang), totals=True),
            _h2("lieux", t("chart_place", lang)),
            _single("chart-place", t("chart_place", lang), table_place(list(recs), lang),
                    lang, charts.PALETTE[0], hide),
            _h2("auteurs", t("chart_perp", lang)),
            _single("chart-perp", t("chart_perp", lang), table_perpetrators(list(recs), lang),
                    lang, charts.PALETTE[1], hide),
            _h2("sexe-age", t("chart_sex_age", lang)), sex_age(recs, lang, hide),
            _h2("types", t("table_by_act", lang)),
            html(by_act_table(recs, lang)),
            _h2("methode", t("method", lang)),
            *[f"<p>{inline(t(k, lang))}</p>" for k in ("method_rules", "method_limits",
                                                       "method_withdrawn")],
            "</section></div>\n"]
    return Page(path(lang, cfg), "".join(body), title)


def pages(published: list[Case], aggregate: list[Case], cfg: Config, *,
          gen: Generation | None = None) -> list[Page]:
    """The statistics page in every language."""
    gen = gen or Generation()
    # The page reads the records, the number of aggregate-only cases and the settings
    # only: the preview keeps it while those are the same (`site.memo`).
    recs = tuple(gen.all_records(published, aggregate))
    return [gen.get("stats", recs, (lang, len(aggregate), repr(cfg)),
                    partial(page, published, aggregate, cfg, lang, gen=gen))
            for lang in cfg.languages]
