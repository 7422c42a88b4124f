"""The text of a bulletin, in one language, as `blocks`: key figures written out
("au moins neuf (9) personnes tuées"), tables, the cases by section, follow-ups, additions,
errata, the editors' editorial and recommendations, and the counting rules."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from temoin.cases import Case, vocab
from temoin.config import Config
from temoin.site import counts, pages
from temoin.site.blocks import Bullets, Doc, Entry, Heading, Inline, Link, Para, Rich, Table
from temoin.site.bulletins import periods
from temoin.site.bulletins.plan import Bulletin, Plan, bulletin_path, source_day, withdrawn_day
from temoin.site.counts import Record
from temoin.site.pages import t
from temoin.site.text import inline, narrative

_COMMENT = re.compile(r"<!--.*?(-->|$)", re.S)
_RECO = re.compile(r"^#{1,6}\s*recommendations?\s*:?$|^#{1,6}\s*recommandations?\s*:?$", re.I)


# -- words -----------------------------------------------------------------------------------
def phrase(key: str, n: int, lang: str, feminine: bool = True) -> str:
    """'{key}_one' or '{key}_many' of ui.yaml with the number in words and digits."""
    one = n == 1 or (lang == "fr" and n == 0)
    return t(f"{key}_{'one' if one else 'many'}", lang, w=periods.words(n, lang, feminine))


def title(b: Bulletin, lang: str) -> str:
    label = periods.label(b.period, lang)
    if b.period.kind == "week":
        label = t("period_week", lang, p=label)
    return t("bulletin_title", lang, n=b.number, period=label)


def short(b: Bulletin, lang: str) -> str:
    return t("bulletin_short", lang, n=b.number)


def summary(b: Bulletin, lang: str) -> str:
    """One line for search results, the index and feeds: cases and victims."""
    if not b.records:
        return t("fig_none", lang)
    n_cases, n_persons = counts.cases_counted(b.records), counts.persons(b.records)
    text = phrase("fig_cases", n_cases, lang, feminine=False) + ", " + \
        phrase("fig_persons", n_persons, lang) + "."
    return text[:1].upper() + text[1:]


def _label(text: str, lang: str) -> str:
    return text + t("colon", lang)


def _change(now: int, before: int, prev: Bulletin | None, lang: str) -> str:
    if prev is None:
        return ""
    if now == before:
        return f" ({t('fig_same', lang, n=prev.number)})"
    sign = f"+{now - before}" if now > before else f"−{before - now}"
    return f" ({t('fig_change', lang, sign=sign, n=prev.number)})"


def key_figures(b: Bulletin, prev: Bulletin | None, lang: str) -> list[tuple[str, ...]]:
    """The key-figure lines: cases and victims, victims per category, new cases."""
    recs, before = b.records, (prev.records if prev else [])
    n_cases, n_persons = counts.cases_counted(recs), counts.persons(recs)
    lines: list[tuple[str, ...]] = []
    if n_cases == 0:
        change = _change(0, counts.persons(before), prev, lang)
        lines.append((t("fig_none", lang).rstrip(".") + change if change else
                      t("fig_none", lang),))
    else:
        lines.append((phrase("fig_cases", n_cases, lang, feminine=False) + ", "
                      + phrase("fig_persons", n_persons, lang)
                      + _change(n_persons, counts.persons(before), prev, lang),))
    if b.aggregate:
        lines.append((t("fig_aggregate", lang, n=counts.shown(len(b.aggregate))),))
    now_cat, was_cat = counts.by_category(recs), counts.by_category(before)
    for cat in vocab.categories():
        n, was = now_cat[cat], was_cat[cat]
        change = _change(n, was, prev, lang)
        if n == 0:
            if was:
                lines.append((t("fig_zero", lang, cat=vocab.label("categories", cat, lang))
                               + change,))
            continue
        if cat == "life":
            killed = counts.deaths(recs)
            if killed == n:
                text = phrase("fig_killed", n, lang)
            else:
                text = phrase("fig_life", n, lang)
                if killed:
                    text += ", " + phrase("fig_deaths", killed, lang)
        else:
            text = phrase(f"fig_{cat}", n, lang)
        lines.append((text + change,))
    return lines


# -- tables ------------------------------------------------------------------------------------
def place_label(code: str | None, lang: str) -> str:
    if code is None:
        return t("unknown_place", lang)
    p = vocab.place(code.split("-")[0], code)
    if p is None:
        return code
    return p.label(lang) + (f" ({t('former_province', lang)})" if p.valid_until else "")


def table_act_sex_age(recs: list[Record], lang: str) -> Table:
    """Victims per act type (rows) by sex and by age group (columns), each once per type."""
    sexes, ages = list(vocab.terms("sex")), list(vocab.terms("age_group"))
    by_sex = counts.count(recs, lambda r: ((r.act, r.sex),))
    by_age = counts.count(recs, lambda r: ((r.act, r.age_group),))
    total = counts.by_act(recs)
    rows: tuple[tuple[str | int, ...], ...] = tuple(
        (vocab.label("acts", a, lang), *[by_sex[(a, s)] for s in sexes],
         *[by_age[(a, g)] for g in ages], n) for a, n in total.items())
    head = (t("col_violation", lang), *[vocab.label("sex", s, lang) for s in sexes],
            *[vocab.label("age_group", g, lang) for g in ages], t("col_total", lang))
    return Table(t("table_act_sex_age", lang), head, rows)


def _by_category_table(recs: list[Record], caption: str, first_col: str,
                       keys: list[Any], key_fn: Any, label: Any, lang: str,
                       persons_col: bool) -> Table:
    cats = vocab.categories()
    cells = counts.count(recs, lambda r: [(k, r.category) for k in key_fn(r)], per="category")
    people = counts.count(recs, lambda r: key_fn(r), per="person")
    rows: tuple[tuple[str | int, ...], ...] = tuple(
        (label(k), *[cells[(k, c)] for c in cats], *([people[k]] if persons_col else []))
        for k in keys)
    head = (first_col, *[vocab.label("categories", c, lang) for c in cats],
            *([t("col_persons", lang)] if persons_col else []))
    return Table(caption, head, rows)


def table_place(recs: list[Record], lang: str) -> Table:
    """Victims per province/region (rows) and category (columns), plus people."""
    keys = sorted({r.admin1 for r in recs}, key=lambda k: (k is None, place_label(k, lang)))
    return _by_category_table(recs, t("table_place", lang), t("col_place", lang), keys,
                              lambda r: (r.admin1,), lambda k: place_label(k, lang), lang,
                              persons_col=True)


def table_perpetrators(recs: list[Record], lang: str) -> Table:
    """Victims per alleged perpetrator type (rows) and category (columns)."""
    present = {p for r in recs for p in r.perpetrators}
    keys = [p for p in vocab.terms("perpetrator_types") if p in present]
    return _by_category_table(recs, t("table_perp", lang), t("col_perp", lang), keys,
                              lambda r: r.perpetrators,
                              lambda k: vocab.label("perpetrator_types", k, lang), lang,
                              persons_col=True)


# -- editorial ---------------------------------------------------------------------------------
def _strip_front(text: str) -> str:
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end >= 0:
            return text[end + 5:]
    return text


def editorials(cfg: Config) -> dict[tuple[str, str], tuple[str, str]]:
    """Editors' texts in site_src/bulletins/: {(period key, lang): (editorial, reco)}.

    `<key>.md` is in the default language, `<key>.en.md` (or `.fr.md`) in another one. A
    heading 'Recommandations'/'Recommendations' starts the recommendations part."""
    folder = Path(cfg.repo) / "site_src" / "bulletins"
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for f in sorted(folder.glob("*.md")) if folder.is_dir() else []:
        stem, _, lang = f.stem.partition(".")
        lang = lang or cfg.default_language
        if lang not in vocab.LANGS:
            continue
        text = _strip_front(f.read_text(encoding="utf-8").replace("\r\n", "\n"))
        # HTML comments are the editors' notes: never published (raw HTML would show them).
        text = _COMMENT.sub("", text)
        lines = text.split("\n")
        cut = next((i for i, ln in enumerate(lines) if _RECO.match(ln.strip())), len(lines))
        out[(stem, lang)] = ("\n".join(lines[:cut]).strip(), "\n".join(lines[cut + 1:]).strip())
    return out


def _editorial(texts: dict[tuple[str, str], tuple[str, str]], key: str, lang: str,
               part: int) -> Rich | None:
    """The editorial (part 0) or recommendations (part 1) in `lang`, else another language."""
    for other in (lang, *[x for x in vocab.LANGS if x != lang]):
        body = texts.get((key, other), ("", ""))[part]
        if body:
            note = "" if other == lang else \
                f"<p><em>{inline(t('editorial_other_lang', lang))}</em></p>"
            return Rich(narrative(body) + note, "" if other == lang else other)
    return None


# -- the bulletin ------------------------------------------------------------------------------
def _entry(c: Case, number: str, b: Bulletin, lang: str, cfg: Config) -> Entry:
    m = c.meta
    place = [x for x in (counts.public_admin2(c, cfg.location_precision),
                         place_label(counts.admin1_code(c), lang) if
                         counts.admin1_code(c) else None) if x]
    perps = []
    for p in m.get("perpetrators") or []:
        s = vocab.label("perpetrator_types", p.get("type", "unknown"), lang)
        perps.append(s + (f" ({p['institution']})" if p.get("institution") else ""))
    status: dict[str, int] = defaultdict(int)
    for v in m.get("victims") or []:
        status[str(v.get("status_now", "unknown"))] += int(v.get("count", 1))
    situation = ", ".join(f"{vocab.label('victim_status', s, lang)} ({n})"
                          for s, n in sorted(status.items(), key=lambda kv: kv[0]))
    facts = [(_label(t("date", lang), lang), pages.event_date(c, lang)),
             (_label(t("place", lang), lang), ", ".join(place) or t("unknown_place", lang)),
             (_label(t("types", lang), lang),
              ", ".join(vocab.label("acts", a, lang) for a in pages.act_types(c))),
             (_label(t("perpetrators", lang), lang), "; ".join(perps) or t("unknown", lang)),
             (_label(t("status_now", lang), lang), situation or t("unknown", lang))]
    return Entry(number, Link(c.title(lang), pages.case_path(c.id, cfg, lang)), tuple(facts),
                 f"case-{c.id.lower()}")


def _section_of(case: Case) -> str:
    """A case is listed once, under its first category in the fixed order (most serious)."""
    cats = {vocab.category(a) for a in pages.act_types(case)}
    return next((c for c in vocab.categories() if c in cats), "other")


def document(b: Bulletin, plan: Plan, lang: str, cfg: Config,  # noqa: C901 - a bulletin's sections in reading order, each optional
             texts: dict[tuple[str, str], tuple[str, str]]) -> Doc:
    """The whole bulletin in `lang` as blocks (rendered to HTML and PDF alike)."""
    doc = Doc(title(b, lang), lang)
    prev = plan.previous(b)
    doc.add(Para((t("bulletin_published", lang, date=periods.long_date(b.period.end, lang),
                    org=cfg.organisation),), "temoin-published"))
    today = source_day()
    if today is not None and b.period.end >= today:
        doc.add(Para((t("bulletin_provisional", lang),), "temoin-provisional"))
    doc.add(Heading(2, t("key_figures", lang), "chiffres"),
            Bullets(tuple(key_figures(b, prev, lang)), "temoin-figures"))
    editorial = _editorial(texts, b.key, lang, 0)
    if editorial:
        doc.add(Heading(2, t("editorial", lang), "editorial"), editorial)
    doc.add(Heading(2, t("tables", lang), "tableaux"))
    if b.records:
        doc.add(table_act_sex_age(b.records, lang), table_place(b.records, lang),
                table_perpetrators(b.records, lang))
    else:
        doc.add(Para((t("no_data", lang),)))
    doc.add(Heading(2, t("cases", lang), "cas"))
    sections: dict[str, list[Case]] = defaultdict(list)
    for c in pages.newest_first(b.cases)[::-1]:
        sections[_section_of(c)].append(c)
    for i, cat in enumerate(vocab.categories(), 1):
        doc.add(Heading(3, f"{i}. {vocab.label('categories', cat, lang)}", f"section-{cat}"))
        if not sections[cat]:
            doc.add(Para((t("section_empty", lang),), "temoin-empty"))
        for j, c in enumerate(sections[cat], 1):
            doc.add(_entry(c, f"{i}.{j}", b, lang, cfg))
    if b.follow_ups:
        doc.add(Heading(2, t("follow_ups", lang), "suivi"))
        items: list[tuple[Inline, ...]] = []
        for cid in sorted(b.follow_ups):
            c, ivs, updated = b.follow_ups[cid]
            for iv in sorted(ivs, key=lambda iv: (str(iv.get("date")), str(iv.get("type")))):
                s = (iv.get("summary") or {})
                text = s.get(lang) or s.get(cfg.default_language) or ""
                items.append((Link(c.title(lang), pages.case_path(c.id, cfg, lang)),
                              f" — {periods.long_date(iv['date'], lang)}, "
                              f"{vocab.label('intervention_types', iv.get('type', ''), lang)}"
                              + (f"{t('colon', lang)} {text}" if text else "")))
            if updated and not ivs:
                items.append((Link(c.title(lang), pages.case_path(c.id, cfg, lang)), " — " + t(
                    "follow_updated", lang,
                    date=periods.long_date(c.meta["updated"], lang))))
        doc.add(Bullets(tuple(items)))
    if b.errata or b.corrected:
        doc.add(Heading(2, t("errata", lang), "errata"))
        items = []
        for c in sorted(b.errata, key=lambda c: (withdrawn_day(c) or dt.date.min, c.date)):
            was = plan.home(c)
            cat = vocab.label("categories", _section_of(c), lang)
            day = periods.long_date(withdrawn_day(c) or b.period.end, lang)
            why = ((c.meta.get("withdrawn") or {}).get("reason") or {})
            why_text = why.get(lang) or why.get(cfg.default_language) or ""
            reason = t("erratum_reason", lang, r=why_text) if why_text else ""
            items.append((t("erratum_a", lang),
                          Link(short(was, lang), bulletin_path(was.key, lang, cfg))
                          if was else "?", t("erratum_b", lang, cat=cat, date=day,
                                             reason=reason)))
        for c in sorted(b.corrected, key=lambda c: (withdrawn_day(c) or dt.date.min, c.date)):
            gone = plan.announcing(withdrawn_day(c), c)
            cat = vocab.label("categories", _section_of(c), lang)
            day = periods.long_date(withdrawn_day(c) or b.period.end, lang)
            if gone is None:  # no bulletin issued since the withdrawal yet
                items.append((t("corrected_alone", lang, cat=cat, date=day),))
                continue
            items.append((t("corrected_a", lang, cat=cat, date=day),
                          Link(short(gone, lang), bulletin_path(gone.key, lang, cfg)),
                          t("corrected_b", lang)))
        doc.add(Bullets(tuple(items), "temoin-errata"))
    reco = _editorial(texts, b.key, lang, 1)
    if reco:
        doc.add(Heading(2, t("recommendations", lang), "recommandations"), reco)
    doc.add(Heading(2, t("method", lang), "methode"),
            *[Para((t(k, lang),)) for k in ("method_period", "method_rules", "method_limits",
                                           "method_withdrawn")])
    return doc

