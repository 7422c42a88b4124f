"""How readers and search engines find pages: Material's search index, compact and one per
language, and the one sitemap.xml listing every page with its counterparts (engine-neutral)."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from temoin import config as config_mod
from temoin.site import langs, pages
from temoin.site.layout import LAYOUT_ID, CasePage


def compact_search_index(index: Path) -> None:
    """Write Material's search index as UTF-8 instead of ASCII escapes: every accented
    letter of French text costs 6 bytes as `\\u00e9` and 2 as UTF-8 (-9 % raw, -1.5 %
    gzipped at 1,000 cases). The JSON value is the same; browsers read the file as UTF-8.
    Pages are listed by title (`search_order`)."""
    if not index.is_file():
        return
    raw = index.read_bytes()
    doc = json.loads(raw)
    if isinstance(doc.get("docs"), list):
        doc["docs"] = search_order(doc["docs"])
    compact = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    if compact.encode("utf-8") != raw:
        index.write_text(compact, encoding="utf-8")


def search_order(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The index's pages sorted by title, each page's own entries (the page, then its
    sections) kept together and in their order. Material ranks results by score and takes
    a page's first entry as the page, so the order means nothing to readers; to gzip, which
    sees 32 KB at a time, it means neighbours that share words: cases with the same act and
    place sit side by side, -9 % gzipped at 20,000 cases (302 -> 274 KB)."""
    pages: dict[str, list[dict[str, Any]]] = {}
    for entry in docs:
        pages.setdefault(str(entry.get("location", "")).split("#", 1)[0], []).append(entry)
    ordered = sorted(pages.items(), key=lambda p: (str(p[1][0].get("title", "")), p[0]))
    return [entry for _path, entries in ordered for entry in entries]


def split_search_index(site: Path, cfg: config_mod.Config,
                       outside: dict[str, list[CasePage]]) -> None:
    """One search index per language: `search/search_index.json` holds the default
    language's pages, `<lang>/search/search_index.json` another language's, with
    locations relative to that language's folder (its pages' search base) and the case
    pages rendered outside MkDocs (title, summary, tags: as MkDocs indexes a case)."""
    index = site / "search" / "search_index.json"
    if not index.is_file():
        return
    doc = json.loads(index.read_text(encoding="utf-8"))
    docs = doc.get("docs") or []
    by_lang: dict[str, list[dict[str, Any]]] = {lang: [] for lang in cfg.languages}
    for entry in docs:
        loc = str(entry.get("location", ""))
        lang = langs.lang_of(loc, cfg)
        pre = langs.prefix(lang, cfg)
        if pre and loc.startswith(pre):
            entry = {**entry, "location": loc[len(pre):]}
        by_lang[lang].append(entry)
    for lang, outside_pages in outside.items():
        pre = langs.prefix(lang, cfg)
        for cp in outside_pages:
            item: dict[str, Any] = {"location": pages.url(cp.path)[len(pre):],
                                     "title": cp.title, "text": cp.description}
            if cp.tags:
                item["tags"] = cp.tags
            by_lang[lang].append(item)
    for lang, entries in by_lang.items():
        out = site / langs.prefix(lang, cfg) / "search" / "search_index.json"
        config = {**doc.get("config", {}), "lang": [lang]}
        out.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"config": config, "docs": search_order(entries)},
                          ensure_ascii=False, separators=(",", ":"))
        out.write_text(text, encoding="utf-8")


def write_sitemap(site: Path, site_url: str, cfg: config_mod.Config, rendered: Iterable[str],
                  outside: dict[str, list[CasePage]], lastmod: str,
                  kept: dict[str, Any] | None = None) -> None:
    """One `sitemap.xml` listing every page of every language, each with its
    counterparts (`xhtml:link rel="alternate" hreflang`): `rendered` are the docs paths
    MkDocs rendered, `outside` the case pages written from a layout, `lastmod` the build
    date. URLs are absolute with `site_url`; without it, relative to the site root (the
    sitemap's own folder). `kept` (the preview's, between builds): the sitemap is not
    made again while its pages, date, address and languages are the same (an edit
    changes a page, rarely which pages there are) and its files are there."""
    base = site_url.rstrip("/")
    docs = sorted({src for src in rendered
                   if not src.endswith(f"/{LAYOUT_ID}.md")
                   and src not in ("404.md",) and "/404.md" not in src}
                  | {cp.path for cps in outside.values() for cp in cps})
    key = (base, lastmod, tuple(cfg.languages), docs)
    if kept is not None:
        if kept.get("key") == key and (site / "sitemap.xml").is_file() \
                and (site / "sitemap.xml.gz").is_file():
            return
        kept.clear()
    known = set(docs)

    def loc(path: str) -> str:
        u = pages.url(path)
        return html.escape(f"{base}/{u}" if base else (u or "./"), quote=True)

    rows = []
    for path in docs:
        alts = "".join(
            f'<xhtml:link rel="alternate" hreflang="{lang}" href="{loc(other)}"/>'
            for lang in cfg.languages
            for other in [langs.counterpart(path, lang, cfg)] if other in known) \
            if len(cfg.languages) > 1 else ""
        rows.append(f"<url><loc>{loc(path)}</loc><lastmod>{lastmod}</lastmod>{alts}</url>")
    text = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:xhtml="http://www.w3.org/1999/xhtml">\n' + "\n".join(rows) + "\n</urlset>\n")
    (site / "sitemap.xml").write_text(text, encoding="utf-8")
    import gzip

    with open(site / "sitemap.xml.gz", "wb") as fh, \
            gzip.GzipFile(fileobj=fh, mode="wb", filename="", mtime=0) as gz:
        gz.write(text.encode("utf-8"))
    if kept is not None:
        kept["key"] = key
