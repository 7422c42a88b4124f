"""Open data: one row per victim × act type (the counting unit of `temoin.site.counts`), public
fields only, as CSV and JSON on the site (`data/cases.csv`, `data/cases.json`), from
`temoin export`, and a data dictionary page.

Decisions (also written on the dictionary page):

* No names, ever, even with named consent: a data file is copied and cross-referenced
  beyond the organisation's control and outlives a withdrawal; a consented name stays on
  the case page, which can be withdrawn.
* Aggregate-only cases (consent to statistics only) are never rows: a row of sex · age ·
  act · perpetrator · province · month singles out one person (issue 15). They reach the
  open data only inside `data/counts.csv`/`.json`: victims per year × province × category
  of every counted case, with the small-cell rules of `counts` (aggregate-only persons in
  steps of 3, cells under 3 shown as "<3", a total over such cells as "at least N").
* No coordinates, no narrative, no institution names, no place finer than the commune, and
  the commune only when the public case page shows it.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
from dataclasses import dataclass
from typing import Any

from temoin.cases import Case, vocab
from temoin.config import Config
from temoin.site import Asset, Page, counts, pages
from temoin.site.blocks import Table, table_html
from temoin.site.context import Generation
from temoin.site.pages import front, prefix, rel, t
from temoin.site.text import french_spacing, inline

CSV_PATH, JSON_PATH = "data/cases.csv", "data/cases.json"
CSVW_PATH = "data/cases.csv-metadata.json"  # W3C CSV on the Web: the CSV's licence, schema
SLUG = {"fr": "donnees", "en": "data"}


@dataclass(frozen=True)
class Field:
    name: str
    type: str        # string | integer | date | boolean
    fr: str
    en: str


def _labelled(name: str, what_fr: str, what_en: str, vocab_name: str) -> list[Field]:
    return [Field(name, "string", f"{what_fr} : code (vocabulaire « {vocab_name} »)",
                  f"{what_en}: code (vocabulary “{vocab_name}”)"),
            Field(f"{name}_fr", "string", f"{what_fr} : libellé français",
                  f"{what_en}: French label"),
            Field(f"{name}_en", "string", f"{what_fr} : libellé anglais",
                  f"{what_en}: English label")]


FIELDS: list[Field] = [
    Field("record", "string", "« case » (cas publié avec une fiche) ou « aggregate » (cas "
          "compté pour les statistiques seulement)", "“case” (published case with a page) "
          "or “aggregate” (case counted for statistics only)"),
    Field("case_id", "string", "Référence du cas (vide pour « aggregate »)",
          "Case reference (empty for “aggregate”)"),
    Field("case_url", "string", "Adresse de la fiche du cas dans la langue principale du "
          "site, relative au site", "Address of the case page in the site's main language, "
          "relative to the site"),
    Field("case_url_en", "string", "Adresse de la fiche du cas en anglais, relative au site "
          "(vide sans site anglais)", "Address of the English case page, relative to the "
          "site (empty without an English site)"),
    Field("victim", "string", "Identifiant de la victime dans le cas (v1, v2…)",
          "Victim id within the case (v1, v2…)"),
    Field("persons", "integer", "Nombre de personnes que représente cette victime (groupe)",
          "Number of people this victim entry stands for (a group)"),
    *_labelled("sex", "Sexe", "Sex", "sex"),
    *_labelled("age_group", "Tranche d'âge", "Age group", "age_group"),
    *_labelled("status_now", "Situation actuelle", "Current situation", "victim_status"),
    *_labelled("act", "Type de violation", "Type of violation", "acts"),
    Field("act_huridocs", "string", "Terme HURIDOCS le plus proche (Events Standard Formats)",
          "Closest HURIDOCS term (Events Standard Formats)"),
    *_labelled("category", "Catégorie (section des bulletins)", "Category (bulletin section)",
               "categories"),
    *_labelled("perpetrator_types", "Types d'auteurs présumés, séparés par « ; »",
               "Types of alleged perpetrators, separated by “;”", "perpetrator_types"),
    Field("perpetrator_huridocs", "string", "Termes HURIDOCS des types d'auteurs",
          "HURIDOCS terms of the perpetrator types"),
    Field("date_start", "date", "Début des faits (AAAA-MM-JJ, AAAA-MM ou AAAA selon la "
          "précision)", "Start of the events (YYYY-MM-DD, YYYY-MM or YYYY by precision)"),
    Field("date_end", "date", "Fin des faits, si connue", "End of the events, if known"),
    Field("date_precision", "string", "Précision de la date : day, month, year",
          "Date precision: day, month, year"),
    *_labelled("country", "Pays", "Country", "ISO 3166-1"),
    *_labelled("admin1", "Province ou région", "Province or region", "ISO 3166-2"),
    Field("admin2", "string", "Commune ou département (seulement si la fiche publique le "
          "montre)", "Commune or division (only if the public case page shows it)"),
    Field("location_precision", "string", "Précision du lieu publié : country, admin1, admin2",
          "Precision of the published place: country, admin1, admin2"),
    *_labelled("verification", "Niveau de vérification", "Verification level", "verification"),
    Field("sources_count", "integer", "Nombre de sources", "Number of sources"),
    Field("sources_independent", "integer", "Nombre de sources indépendantes",
          "Number of independent sources"),
    Field("source_types", "string", "Types de sources (codes séparés par « ; »)",
          "Source types (codes separated by “;”)"),
    Field("published", "date", "Date de publication du cas", "Date the case was published"),
    Field("urgent", "boolean", "Alerte urgente en cours", "Urgent alert in force"),
]
NAMES = [f.name for f in FIELDS]


def _labels(name: str, vocabulary: str, codes: list[str]) -> dict[str, str]:
    return _labels_of(name, vocabulary, tuple(codes))


@functools.cache  # the same few codes, 7 times a row (callers spread a copy with **)
def _labels_of(name: str, vocabulary: str, codes: tuple[str, ...]) -> dict[str, str]:
    return {name: ";".join(codes),
            f"{name}_fr": "; ".join(vocab.label(vocabulary, c, "fr") for c in codes),
            f"{name}_en": "; ".join(vocab.label(vocabulary, c, "en") for c in codes)}


def _date(d: object, precision: str) -> str:
    if not isinstance(d, dt.date):
        return ""
    return {"year": f"{d.year:04d}", "month": f"{d.year:04d}-{d.month:02d}"}.get(
        precision, d.isoformat())


def rows(published: list[Case], aggregate: list[Case], cfg: Config, *,
         gen: Generation | None = None) -> list[dict[str, Any]]:
    """Every open-data row, sorted by case id: published cases with a page only (aggregate-
    only cases are counted in `count_rows`, never rows)."""
    gen = gen or Generation()
    aggregate = []
    out: list[dict[str, Any]] = []
    anonymous: list[tuple[str, dict[str, Any]]] = []
    settings = repr(cfg)
    for case, agg in [*[(c, False) for c in published], *[(c, True) for c in aggregate]]:
        made = gen.get("opendata", (case,), (agg, settings),
                       functools.partial(_case_rows, case, agg, cfg, gen))
        if agg:
            anonymous += made
        else:
            out += [r for _, r in made]
    out.sort(key=lambda r: (r["case_id"], r["victim"]))  # records() keeps act order inside
    anonymous.sort(key=lambda sr: sr[0])
    return out + [r for _, r in anonymous]


def _case_rows(case: Case, agg: bool, cfg: Config,
               gen: Generation) -> list[tuple[str, dict[str, Any]]]:
    """One case's rows, each with its sort key among aggregate rows (its JSON)."""
    out: list[tuple[str, dict[str, Any]]] = []
    m = case.meta
    ev = m.get("event") or {}
    loc = ev.get("location") or {}
    precision = str(ev.get("date_precision", "day"))
    if agg and precision == "day":
        precision = "month"   # no exact day for a case without a page
    admin1 = counts.admin1_code(case)
    place = vocab.place(str(loc.get("country")), admin1) if admin1 else None
    admin2 = None if agg else counts.public_admin2(case, cfg.location_precision)
    src = m.get("sources") or {}
    for r in gen.records(case, aggregate=agg):
        perps = list(r.perpetrators)
        row: dict[str, Any] = {
            "record": "aggregate" if agg else "case",
            "case_id": "" if agg else case.id,
            "case_url": "" if agg else pages.url(pages.case_path(case.id, cfg)),
            # One export serves both languages: the English page beside the main one.
            "case_url_en": "" if agg or "en" not in cfg.languages else pages.url(
                pages.case_path(case.id, cfg, "en")),
            "victim": "" if agg else r.victim, "persons": r.persons,
            **_labels("sex", "sex", [r.sex]),
            **_labels("age_group", "age_group", [r.age_group]),
            **_labels("status_now", "victim_status", [r.status_now]),
            **_labels("act", "acts", [r.act]),
            "act_huridocs": str(vocab.terms("acts").get(r.act, {}).get("huridocs", "")),
            **_labels("category", "categories", [r.category]),
            **_labels("perpetrator_types", "perpetrator_types", perps),
            "perpetrator_huridocs": "; ".join(str(vocab.terms("perpetrator_types").get(
                p, {}).get("huridocs", "")) for p in perps),
            "date_start": _date(ev.get("date_start"), precision),
            "date_end": "" if agg else _date(ev.get("date_end"), precision),
            "date_precision": precision,
            "country": str(loc.get("country", "")),
            "country_fr": vocab.country_label(str(loc.get("country", "")), "fr"),
            "country_en": vocab.country_label(str(loc.get("country", "")), "en"),
            "admin1": admin1 or "", "admin1_fr": place.fr if place else "",
            "admin1_en": place.en if place else "", "admin2": admin2 or "",
            "location_precision": "admin2" if admin2 else "admin1" if admin1 else "country",
            **_labels("verification", "verification", [str(m.get("verification"))]),
            "sources_count": "" if agg else int(src.get("count", 0)),
            "sources_independent": "" if agg else int(src.get("independent", 0)),
            "source_types": "" if agg else ";".join(src.get("types") or []),
            "published": "" if agg else _date(m.get("published"), "day"),
            "urgent": bool(m.get("urgent")) and not agg,
        }
        out.append((json.dumps(row, sort_keys=True, ensure_ascii=False) if agg else "",
                    row))
    return out


COUNTS_CSV, COUNTS_JSON = "data/counts.csv", "data/counts.json"
COUNT_NAMES = ["year", "country", "admin1", "admin1_fr", "admin1_en", "category",
               "category_fr", "category_en", "victims"]


def count_rows(published: list[Case], aggregate: list[Case], *,
               gen: Generation | None = None) -> list[dict[str, str]]:
    """Victims per year × province × category of every counted case, published and
    aggregate-only, small cells protected (`counts.protect`, `counts.shown`); a per-year total
    row (empty province and category) says "at least N" over cells shown as "<3". Cells
    that round to 0 are left out (they depend on the rounded figure only)."""
    recs = (gen or Generation()).all_records(published, aggregate)
    cells = counts.count(recs, lambda r: ((r.day.year if r.day else None, r.admin1,
                                           r.category),), per="category")
    country = {r.admin1: r.admin1.split("-")[0] for r in recs if r.admin1}
    out: list[dict[str, str]] = []
    years = sorted({y for y, _, _ in cells if y is not None})
    for year in years:
        mine = sorted(((a or "", c), n) for (y, a, c), n in cells.items() if y == year and n)
        for (admin1, cat), n in mine:
            place = vocab.place(country.get(admin1, ""), admin1) if admin1 else None
            out.append({"year": str(year), "country": country.get(admin1, ""),
                        "admin1": admin1, "admin1_fr": place.fr if place else "",
                        "admin1_en": place.en if place else "", "category": cat,
                        "category_fr": vocab.label("categories", cat, "fr"),
                        "category_en": vocab.label("categories", cat, "en"),
                        "victims": counts.shown(n)})
        if mine:
            out.append({**dict.fromkeys(COUNT_NAMES, ""), "year": str(year),
                        "victims": counts.total_shown((n for _, n in mine), "en")})
    return out


def counts_csv(data: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(COUNT_NAMES)
    w.writerows([row[k] for k in COUNT_NAMES] for row in data)
    return buf.getvalue().encode("utf-8")


def counts_json(data: list[dict[str, str]], cfg: Config) -> bytes:
    head = {"title": f"{cfg.organisation} — counts", "organisation": cfg.organisation,
            "unit": "victims per year × province × category (small cells: \"<3\")",
            "records": data}
    return (json.dumps(head, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cells(row: dict[str, Any]) -> list[str]:
    """Every field of `row` as a CSV cell; a cell starting with = + - @ is a formula to
    spreadsheet programs (CSV injection): quoted. One comprehension: a call a cell was
    half of writing the CSV (~40 cells a row, ~10 rows a case)."""
    return ["true" if v is True else "false" if v is False else
            "'" + s if (s := v if type(v) is str else str(v)).startswith(_FORMULA) else s
            for v in map(row.__getitem__, NAMES)]


def to_csv(data: list[dict[str, Any]], *, gen: Generation | None = None) -> bytes:
    """RFC 4180 CSV (UTF-8, CRLF), header row of field names."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(NAMES)
    if gen is None or not gen.remembers:
        w.writerows(map(_cells, data))
        return buf.getvalue().encode("utf-8")
    # The preview keeps each row's line while its case does not change (`site.memo`).
    lines = gen.each("csv", data, _csv_line)
    return (buf.getvalue() + "".join(lines)).encode("utf-8")


def _csv_line(row: dict[str, Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(_cells(row))
    return buf.getvalue()


def licence(cfg: Config) -> dict[str, str]:
    """The open data's licence (`data_licence`): SPDX id, name, address."""
    from temoin.config import LICENCES

    name, url = LICENCES[cfg.data_licence]
    return {"id": cfg.data_licence, "name": name, "url": url}


def csv_metadata(cfg: Config) -> bytes:
    """The CSV's metadata (W3C CSVW, found beside it by name): licence and columns."""
    doc = {"@context": "http://www.w3.org/ns/csvw", "url": CSV_PATH.split("/")[-1],
           "dc:title": f"{cfg.organisation} — open data",
           "dc:publisher": cfg.organisation, "dc:license": {"@id": licence(cfg)["url"]},
           "license": licence(cfg),
           "tableSchema": {"columns": [
               {"name": f.name, "datatype": f.type if f.type != "integer" else "integer",
                "dc:description": [{"@value": f.fr, "@language": "fr"},
                                   {"@value": f.en, "@language": "en"}]}
               for f in FIELDS]}}
    return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def to_json(data: list[dict[str, Any]], cfg: Config, *,
            gen: Generation | None = None) -> bytes:
    """JSON: the schema (`fields`) then `records`, one record a line (diff-friendly)."""
    head = {"title": f"{cfg.organisation} — open data", "organisation": cfg.organisation,
            "license": licence(cfg), "unit": "victim × act type",
            "fields": [{"name": f.name, "type": f.type,
                        "description": {"fr": f.fr, "en": f.en}} for f in FIELDS],
            "count": len(data)}
    text = json.dumps(head, ensure_ascii=False, indent=1)[:-2]
    lines = (gen or Generation()).each("json", data, functools.partial(
        json.dumps, ensure_ascii=False, sort_keys=False))
    # Encoded apart: joined to the head (its "—"), the records would become one text of two
    # bytes a character, and a second copy of it (at 1,000 cases, ~30 MB for a 7.6 MB file).
    records = ",\n".join(lines).encode("utf-8")
    del lines
    return b"".join((text.encode("utf-8"), b',\n "records": [\n', records, b"\n ]\n}\n"))


def export(published: list[Case], aggregate: list[Case], cfg: Config, fmt: str) -> bytes:
    """The open data in `fmt` ('csv' or 'json'), exactly as on the site."""
    data = rows(published, aggregate, cfg)
    return to_csv(data) if fmt == "csv" else to_json(data, cfg)


def path(lang: str, cfg: Config) -> str:
    return f"{prefix(lang, cfg)}{SLUG[lang]}/index.md"


def page(n_rows: int, cfg: Config, lang: str) -> Page:
    """The data dictionary page in `lang`."""
    here = path(lang, cfg)
    title = t("data_title", lang)
    files = "".join(f"<li><a href=\"{inline(rel(here, p))}\">{inline(p.split('/')[-1])}</a>"
                    f"</li>" for p in (CSV_PATH, JSON_PATH, CSVW_PATH))
    lic = licence(cfg)
    rules = ["data_no_names", "data_aggregate", "data_no_coords", "method_rules",
             "method_limits"]
    fields = Table(t("data_dictionary", lang), (t("col_field", lang), t("col_type", lang),
                                                t("col_description", lang)),
                   tuple((f.name, f.type, french_spacing(f.fr) if lang == "fr" else f.en)
                         for f in FIELDS))
    body = [front(title, description=t("data_intro", lang)),
            "<div class=\"temoin-data\" markdown=\"0\">",
            f"<p>{inline(t('data_intro', lang))}</p>",
            f"<h2 id=\"fichiers\">{inline(t('data_files', lang))}</h2><ul>{files}</ul>",
            f"<p>{inline(t('data_rows', lang, n=n_rows))}</p>",
            f"<h2 id=\"licence\">{inline(t('data_licence', lang))}</h2>",
            f"<p>{inline(t('data_licence_text', lang, org=cfg.organisation))} "
            f"<a href=\"{inline(lic['url'])}\" rel=\"license noopener noreferrer\">"
            f"{inline(lic['name'])}</a> "
            f"({inline(lic['id'])}).</p>",
            f"<h2 id=\"regles\">{inline(t('data_rules', lang))}</h2>",
            *[f"<p>{inline(t(k, lang))}</p>" for k in rules],
            f"<h2 id=\"dictionnaire\">{inline(t('data_dictionary', lang))}</h2>",
            f"<section data-search-exclude>{table_html(fields)}</section>", "</div>\n"]
    return Page(here, "".join(body), title)


def site_files(published: list[Case], aggregate: list[Case], cfg: Config, *,
               gen: Generation | None = None) -> tuple[list[Page], list[Asset]]:
    """The data files and the dictionary page in every language."""
    gen = gen or Generation()
    data = rows(published, aggregate, cfg, gen=gen)
    tally = count_rows(published, aggregate, gen=gen)
    assets = [Asset(CSV_PATH, to_csv(data, gen=gen)),
              Asset(JSON_PATH, to_json(data, cfg, gen=gen)),
              Asset(CSVW_PATH, csv_metadata(cfg)),
              Asset(COUNTS_CSV, counts_csv(tally)), Asset(COUNTS_JSON, counts_json(tally, cfg))]
    return [page(len(data), cfg, lang) for lang in cfg.languages], assets
