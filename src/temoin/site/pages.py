"""Case pages and paginated case listings (by year, place, type), FR and EN.

Pure: published cases in, `Page`s out, sorted and deterministic. Every value that comes from
a case passes through `text.inline` or `text.narrative`. A case page's size depends only on
that case (no per-page work proportional to the number of cases: no nav, no sibling lists).
"""

from __future__ import annotations

import datetime as dt
import json
import posixpath
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache, partial
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from temoin.cases import Case, vocab
from temoin.config import Config
from temoin.site import Asset, Page
from temoin.site.context import Generation
from temoin.site.text import french_spacing, inline, narrative

PAGE_SIZE = 100
CASES_DIR = "cases"


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def _ui() -> dict[str, Any]:
    text = resources.files("temoin").joinpath("data", "ui.yaml").read_text(encoding="utf-8")
    # libyaml's parser (same safe constructors): the pure-Python one took ~0.2 s a build
    ui = dict(yaml.load(text, Loader=_SAFE_LOADER))  # noqa: S506
    for forms in ui.values():  # French spacing once, here: every page, PDF and feed reads it
        if isinstance(forms, dict) and isinstance(forms.get("fr"), str):
            forms["fr"] = french_spacing(forms["fr"])
    return ui


def t(key: str, lang: str, **fmt: object) -> str:
    """An interface string in `lang`, formatted."""
    s = str(_ui()[key][lang])
    return s.format(**fmt) if fmt else s


def plural_one(n: int, lang: str) -> bool:
    """Whether `n` takes the singular: French 0 and 1 ("0 personne", CLDR's rule), English
    1 only ("0 people")."""
    return n in (0, 1) if lang == "fr" else n == 1


def tn(key: str, n: int, lang: str, **fmt: object) -> str:
    """`key_one` or `key_many` in `lang` for the number `n`, formatted with `n`."""
    return t(f"{key}_{'one' if plural_one(n, lang) else 'many'}", lang, n=n, **fmt)


def prefix(lang: str, cfg: Config) -> str:
    """Folder of a language's pages: '' for the default language, 'en/' for English."""
    return "" if lang == cfg.default_language else f"{lang}/"


def url(path: str) -> str:
    """Site URL (directory style) of a docs path: 'cases/X.md' -> 'cases/X/'."""
    stem = path[:-3] if path.endswith(".md") else path
    if stem == "index" or stem.endswith("/index"):
        stem = stem[:-5]
    return stem if stem.endswith("/") or not stem else stem + "/"


def rel(from_path: str, to_path: str) -> str:
    """Relative link from the page at docs path `from_path` to docs path (or asset) `to_path`."""
    base = url(from_path)
    target = url(to_path) if to_path.endswith(".md") else to_path
    r = _relpath(target or ".", base or ".")
    return r + "/" if (to_path.endswith(".md") and not r.endswith("/")) else r


def _relpath(path: str, start: str) -> str:
    """posixpath.relpath for plain relative docs paths, without its two abspath calls and
    the cwd (links were ~20 % of generating listings and bulletins); anything else
    (absolute, `.` or `..` parts) goes to posixpath."""
    p = [x for x in path.split("/") if x]
    s = [x for x in start.split("/") if x]
    if path.startswith("/") or start.startswith("/") or \
            any(x in (".", "..") for x in p) or any(x in (".", "..") for x in s):
        return posixpath.relpath(path, start)
    i = 0
    for a, b in zip(s, p, strict=False):
        if a != b:
            break
        i += 1
    return "/".join([".."] * (len(s) - i) + p[i:]) or "."


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return inline(value)
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    return value


def front(title: str, **meta: Any) -> str:
    """YAML front matter for a generated page (values JSON-quoted: safe YAML).

    Material prints `page.title` and `page.meta.description` into the HTML unescaped (MkDocs'
    Jinja has no autoescape), so every text value is HTML-escaped here: a case title holding
    `<script>` or a summary holding `"` must stay text."""
    lines = ["---", f"title: {json.dumps(inline(title), ensure_ascii=False)}"]
    for k, v in meta.items():
        lines.append(f"{k}: {json.dumps(_escaped(v), ensure_ascii=False)}")
    return "\n".join(lines) + "\n---\n\n"


def fmt_date(d: dt.date | None, lang: str, precision: str = "day") -> str:
    if d is None:
        return t("unknown", lang)
    month = _ui()["months"][lang][d.month - 1]
    if precision == "year":
        return str(d.year)
    if precision == "month":
        return f"{month} {d.year}"
    return f"{d.day} {month} {d.year}" if lang == "fr" else f"{month} {d.day}, {d.year}"


def event_date(case: Case, lang: str) -> str:
    ev = case.meta.get("event") or {}
    prec = ev.get("date_precision", "day")
    a = fmt_date(ev.get("date_start"), lang, prec)
    if ev.get("date_end") and ev.get("date_end") != ev.get("date_start"):
        return t("between", lang, a=a, b=fmt_date(ev["date_end"], lang, prec))
    return a


def place_label(case: Case, lang: str) -> str:
    loc = (case.meta.get("event") or {}).get("location") or {}
    country = str(loc.get("country", ""))
    parts = []
    if loc.get("admin2") and loc.get("precision", "admin2") == "admin2":
        parts.append(str(loc["admin2"]))
    if loc.get("admin1"):
        p = vocab.place(country, str(loc["admin1"]), case.date)
        parts.append(p.label(lang) if p else str(loc["admin1"]))
    parts.append(vocab.country_label(country, lang))
    return ", ".join(parts)


def admin1_code(case: Case) -> str | None:
    return case.admin1_code()


def act_types(case: Case) -> list[str]:
    """Distinct act types of a case, in vocabulary order."""
    present = {a.get("type") for a in case.meta.get("acts") or []}
    return [code for code in vocab.terms("acts") if code in present]


def case_path(case_id: str, cfg: Config, lang: str | None = None) -> str:
    """Docs path of a case's page in `lang` (default: the site's first language)."""
    return f"{prefix(lang or cfg.default_language, cfg)}{CASES_DIR}/{case_id}.md"


def media_path(case_id: str, index: int, name: str) -> str:
    """Where a case's `index`-th medium is published: by its place and type only (the name
    it came with is metadata: a photo's day and second, a messenger, a place, a person)."""
    return f"{CASES_DIR}/media/{case_id}/{index + 1}{PurePosixPath(name).suffix.lower()}"


def sort_key(case: Case) -> tuple[str, str]:
    """Newest first is this key, descending."""
    return ((case.date or dt.date.min).isoformat(), case.id)


def newest_first(cases: Iterable[Case]) -> list[Case]:
    return sorted(cases, key=sort_key, reverse=True)


# -- case page -------------------------------------------------------------------------
def _facts(case: Case, lang: str) -> str:
    m = case.meta
    rows = [
        (t("case_id", lang), inline(case.id)),
        (t("date", lang), inline(event_date(case, lang))),
        (t("place", lang), inline(place_label(case, lang))),
        (t("types", lang), inline(", ".join(vocab.label("acts", a, lang)
                                            for a in act_types(case)))),
    ]
    victims = []
    for v in m.get("victims") or []:
        bits = [tn("persons", int(v.get("count", 1)), lang),
                vocab.label("sex", v.get("sex", "unknown"), lang),
                vocab.label("age_group", v.get("age_group", "unknown"), lang),
                vocab.label("victim_status", v.get("status_now", "unknown"), lang)]
        if v.get("name"):
            bits.insert(0, str(v["name"]))
        victims.append(inline(" · ".join(bits)))
    rows.append((t("victims", lang), "<br>".join(victims)))
    perps = []
    for p in m.get("perpetrators") or []:
        s = vocab.label("perpetrator_types", p.get("type", "unknown"), lang)
        if p.get("institution"):
            s += f" ({p['institution']})"
        perps.append(inline(s))
    rows.append((t("perpetrators", lang), "<br>".join(perps)))
    rows.append((t("verification", lang), inline(vocab.label("verification",
                                                             m["verification"], lang))))
    src = m.get("sources") or {}
    if src:
        types = ", ".join(vocab.label("source_types", s, lang) for s in src.get("types") or [])
        rows.append((t("sources", lang), inline(
            sources_text(int(src.get("count", 0)), int(src.get("independent", 0)), lang)
            + (f" — {types}" if types else ""))))
    if m.get("published"):
        rows.append((t("published", lang), inline(fmt_date(m["published"], lang))))
    if m.get("updated"):
        rows.append((t("updated", lang), inline(fmt_date(m["updated"], lang))))
    body = "".join(f"<tr><th scope=\"row\">{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table class=\"temoin-facts\"><tbody>{body}</tbody></table>"


def sources_text(count: int, independent: int, lang: str) -> str:
    """'1 source (indépendante)', '3 sources (2 indépendantes)', '2 sources (toutes
    indépendantes)': a number agrees with its noun, and 'one of one' is not a count."""
    text = tn("sources", count, lang)
    if count <= 0:
        return text
    if count == 1:
        which = "it" if independent >= 1 else "not"
    elif independent >= count:
        which = "all"
    elif independent <= 0:
        which = "none"
    else:
        return f"{text} ({tn('independent', independent, lang)})"
    return f"{text} ({t(f'source_indep_{which}', lang)})"


def _interventions(case: Case, lang: str) -> str:
    items = []
    for iv in case.meta.get("interventions") or []:
        summary = (iv.get("summary") or {}).get(lang) or (iv.get("summary") or {}).get("fr")
        if not summary:
            continue
        items.append(f"<li>{inline(fmt_date(iv.get('date'), lang))} — "
                     f"{inline(vocab.label('intervention_types', iv.get('type', ''), lang))}: "
                     f"{inline(summary)}</li>")
    if not items:
        return ""
    return f"<h2>{t('interventions', lang)}</h2><ul>{''.join(items)}</ul>"


def case_page(case: Case, cfg: Config, lang: str | None = None, *,
              gen: Generation | None = None) -> Page:
    """A published case's page in `lang` (default: the site's first language), at
    `case_path(id, cfg, lang)`: one site per language, each page wholly in its language."""
    lang = lang or cfg.default_language
    summary = (case.meta.get("summary") or {}).get(lang, "")
    tags = [str(x) for x in case.meta.get("tags") or []]
    # No `tags: []`: Material would write `"tags":[]` into every case's search entry.
    parts = [front(case.title(lang), description=summary, **({"tags": tags} if tags else {}))]
    parts.append(case_body(case, cfg, lang, gen=gen))
    return Page(case_path(case.id, cfg, lang), "".join(parts), case.title(lang))


def case_body(case: Case, cfg: Config, lang: str, *, gen: Generation | None = None) -> str:
    """The `<article>` of a case's page in `lang` (no front matter)."""
    here = case_path(case.id, cfg, lang)
    summary = (case.meta.get("summary") or {}).get(lang, "")
    parts = ["<article class=\"temoin-case\" markdown=\"0\">"]
    if case.meta.get("urgent"):
        parts.append(f"<p class=\"temoin-urgent\"><strong>{t('urgent', lang)}</strong></p>")
    if summary:
        parts.append(f"<p class=\"temoin-summary\">{inline(summary)}</p>")
    parts.append(f"<div data-search-exclude>{_facts(case, lang)}")
    for i, m in enumerate(case.meta.get("media") or []):
        src = rel(here, media_path(case.id, i, str(m["file"])))
        caps = m.get("caption") or {}
        cap = inline(caps.get(lang) or caps.get(cfg.default_language, ""))
        parts.append(f"<figure><img src=\"{inline(src)}\" alt=\"{cap}\" loading=\"lazy\">"
                     f"<figcaption>{cap}</figcaption></figure>")
    if case.narrative.strip():
        # The narrative is the testimony as recorded, in its own language.
        src_lang = cfg.default_language
        attr = "" if src_lang == lang else f" lang=\"{src_lang}\""
        saved = gen.narratives if gen is not None else None
        parts.append(f"<h2>{t('narrative', lang)}</h2><div class=\"temoin-narrative\"{attr}>"
                     f"{narrative(case.narrative, saved)}</div>")
    parts.append(_interventions(case, lang))
    parts.append("</div></article>\n")
    return "".join(parts)


# -- listings --------------------------------------------------------------------------
@dataclass
class Listing:
    """A paginated list of cases at docs path `base` (+ '-2', '-3' … for later pages)."""

    base: str          # e.g. 'cases/index.md', 'en/cases/year/2025.md'
    title: str
    cases: list[Case] = field(default_factory=list)

    def page_path(self, n: int) -> str:
        if n == 1:
            return self.base
        stem = self.base[:-3]
        if stem.endswith("index"):
            return f"{stem[:-5]}page-{n}.md"
        return f"{stem}-{n}.md"


Cells = dict[tuple[int, str], tuple[str, str]]


def _table(listing_path: str, cases: list[Case], lang: str, cfg: Config,
           cells: Cells | None = None) -> str:
    """`cells`: each case's row cells by (id(case), lang), shared by the listings of one
    build (a case shows in ~5 listings a language; the link is the only per-page part)."""
    head = "".join(f"<th>{t(k, lang)}</th>" for k in ("date", "place", "types", "title"))
    rows = []
    cells = {} if cells is None else cells
    link_to = _case_links(listing_path, cfg, lang)
    for c in cases:
        link = link_to(c.id)
        row = cells.get((id(c), lang))
        if row is None:
            row = cells[(id(c), lang)] = (
                f"<tr><td>{inline(event_date(c, lang))}</td>"
                f"<td>{inline(place_label(c, lang))}</td>"
                f"<td>{inline(', '.join(vocab.label('acts', a, lang) for a in act_types(c)))}"
                "</td>", inline(c.title(lang)))
        rows.append(f"{row[0]}<td><a href=\"{inline(link)}\">{row[1]}</a></td></tr>")
    return f"<table class=\"temoin-list\"><thead><tr>{head}</tr></thead><tbody>" \
           f"{''.join(rows)}</tbody></table>"


def _case_links(page: str, cfg: Config, lang: str | None = None) -> Callable[[str], str]:
    """`rel(page, case_path(id))` for many ids: the link is the same but for the id (a
    third of the time of a listing went to `rel`), unless the id is one of the page's
    own folders or not a plain name; those take `rel` itself."""
    folders = set(url(page).split("/"))
    stem: str | None = None

    def link(case_id: str) -> str:
        nonlocal stem
        if case_id in folders or "/" in case_id or case_id in ("", ".", "..", "index"):
            return rel(page, case_path(case_id, cfg, lang))
        if stem is None:
            probe = rel(page, case_path(case_id, cfg, lang))
            if not probe.endswith(f"/{case_id}/") and probe != f"{case_id}/":
                return probe
            stem = probe[:-len(case_id) - 1]
        return f"{stem}{case_id}/"

    return link


def render_listing(listing: Listing, lang: str, cfg: Config,
                   header: Callable[[str], str] | None = None,
                   ordered: bool = False, cells: Cells | None = None, *,
                   gen: Generation | None = None) -> list[Page]:
    """The pages of one listing, newest first, PAGE_SIZE a page, with prev/next links
    (`ordered`: the listing's cases are newest first already; `cells`: rows already made)."""
    cases = list(listing.cases) if ordered else newest_first(listing.cases)
    chunks = [cases[i:i + PAGE_SIZE] for i in range(0, len(cases), PAGE_SIZE)] or [[]]
    out, settings = [], repr(cfg)
    gen = gen or Generation()
    for n, chunk in enumerate(chunks, 1):
        path = listing.page_path(n)
        # The preview keeps a page while its cases (same objects, same order) and the
        # listing's size, title and header do not change (`site.memo`).
        top = header(path) if header else ""
        out.append(gen.get("listing", tuple(chunk), (
            path, listing.title, n, len(cases), len(chunks), lang, settings, top),
            partial(_listing_page, listing, n, chunk, len(cases), len(chunks), lang, cfg,
                    top, cells)))
    return out


def _listing_page(listing: Listing, n: int, chunk: list[Case], total: int, n_pages: int,
                  lang: str, cfg: Config, top: str, cells: Cells | None = None) -> Page:
    """Page `n` of a listing: `chunk` of its `total` cases, `top` above the table."""
    path = listing.page_path(n)
    title = listing.title if n == 1 else f"{listing.title} — {t('page', lang)} {n}"
    body = [front(title, search={"exclude": True}),
            "<div class=\"temoin-listing\" markdown=\"0\">"]
    if top:
        body.append(top)
    body.append(f"<p>{tn('count_cases', total, lang)}</p>")
    body.append(_table(path, chunk, lang, cfg, cells) if chunk else
                f"<p>{t('no_cases', lang)}</p>")
    nav = []
    if n > 1:
        nav.append(f"<a rel=\"prev\" href=\"{rel(path, listing.page_path(n - 1))}\">"
                   f"← {t('previous', lang)}</a>")
    nav.append(f"<span>{t('page', lang)} {n} / {n_pages}</span>")
    if n < n_pages:
        nav.append(f"<a rel=\"next\" href=\"{rel(path, listing.page_path(n + 1))}\">"
                   f"{t('next', lang)} →</a>")
    body.append(f"<nav class=\"temoin-pages\">{' '.join(nav)}</nav></div>\n")
    return Page(path, "".join(body), title)


def listings(published: list[Case], cfg: Config, *,
             gen: Generation | None = None) -> list[Page]:
    """All case listings for every language: all, by year, by place, by type."""
    pages: list[Page] = []
    gen = gen or Generation()
    cells: Cells = {}
    newest = newest_first(published)  # sorted once: each group, filled in order, is too
    groups: dict[str, dict[str, list[Case]]] = {"year": defaultdict(list),
                                                "place": defaultdict(list),
                                                "type": defaultdict(list)}
    for c in newest:  # the same groups in every language: made once
        if c.date:
            groups["year"][str(c.date.year)].append(c)
        code = admin1_code(c)
        if code:
            groups["place"][code].append(c)
        for a in act_types(c):
            groups["type"][a].append(c)
    for lang in cfg.languages:
        root = f"{prefix(lang, cfg)}{CASES_DIR}"

        def label(kind: str, key: str, lang: str = lang) -> str:
            if kind == "place":
                country = key.split("-")[0]
                p = vocab.place(country, key)
                return p.label(lang) if p else key
            return vocab.label("acts", key, lang) if kind == "type" else key

        def index_header(path: str, lang: str = lang, root: str = root,
                         groups: dict[str, dict[str, list[Case]]] = groups) -> str:
            blocks = []
            for kind, title_key in (("year", "by_year"), ("place", "by_place"),
                                    ("type", "by_type")):
                keys = sorted(groups[kind], reverse=(kind == "year"))
                if kind != "year":
                    keys = sorted(keys, key=partial(label, kind))
                links = " · ".join(
                    f"<a href=\"{rel(path, f'{root}/{kind}/{k}.md')}\">"
                    f"{inline(label(kind, k))} ({len(groups[kind][k])})</a>" for k in keys)
                blocks.append(f"<p><strong>{t(title_key, lang)}</strong>{t('colon', lang)} "
                              f"{links}</p>")
            return "".join(blocks)

        # The header shows each group's size only: the preview remembers it by those.
        sizes = tuple((kind, tuple((k, len(v)) for k, v in sorted(by_key.items())))
                      for kind, by_key in groups.items())

        def header(path: str, lang: str = lang, sizes: object = sizes,
                   make: Callable[[str], str] = index_header,
                   gen: Generation = gen) -> str:
            return gen.get("listing-header", (), (path, lang, sizes), partial(make, path))

        pages += render_listing(Listing(f"{root}/index.md", t("cases", lang), newest),
                                lang, cfg, header=header, ordered=True, cells=cells, gen=gen)
        for kind, by_key in groups.items():
            for key in sorted(by_key):
                title = f"{t('cases', lang)} — {label(kind, key)}"
                pages += render_listing(Listing(f"{root}/{kind}/{key}.md", title, by_key[key]),
                                        lang, cfg, ordered=True, cells=cells, gen=gen)
    return pages


def _scrubbed(f: Path) -> bytes:
    from temoin.site import media as media_mod  # scrubbing lives with the gates (issue 7)

    return media_mod.scrub(f.read_bytes(), f.name)


def case_pages(published: list[Case], cfg: Config,
               make_page: Callable[..., Page] = case_page, *,
               gen: Generation | None = None) -> tuple[list[Page], list[Asset]]:
    """Case pages, listings, and the scrubbed media each published case shows.
    `make_page(case, cfg, gen=gen)` lets the preview reuse the pages of cases that did not
    change."""
    gen = gen or Generation()
    ordered = sorted(published, key=lambda c: c.id)
    pages = [make_page(c, cfg, gen=gen) for c in ordered]
    settings = repr(cfg)
    for lang in cfg.languages[1:]:  # the plugin renders these outside MkDocs' page loop
        pages += [gen.get("case-page", (c,), (lang, settings),
                          partial(case_page, c, cfg, lang, gen=gen)) for c in ordered]
    assets = []
    for c in published:
        for i, m in enumerate(c.meta.get("media") or []):
            f = c.folder / "media" / str(m["file"])
            # The preview keeps whether the file is there, and the file scrubbed, while its
            # case (folder, media/ included) is unchanged: no stat of every media file.
            if gen.get("media-file", (c,), f.name, f.is_file):
                assets.append(Asset(media_path(c.id, i, str(m["file"])), gen.get(
                    "media", (c,), f.name, partial(_scrubbed, f))))
    return pages + listings(published, cfg, gen=gen), assets
