"""Bulletin pages, their PDFs and the paginated bulletin index, in every language.

`bulletin_plan` sorts the cases into bulletins (and explains which period a case belongs
to), `bulletin_doc` writes each bulletin once as blocks, `blocks.html` and `pdf.render`
draw those blocks for the web and for print. Search indexes a bulletin by its title only:
the summary and the body sit in `data-search-exclude`.
"""

from __future__ import annotations

from pathlib import Path

from temoin import cache as cache_mod
from temoin.cases import vocab
from temoin.config import Config
from temoin.site import Asset, Page, blocks, counts, pages
from temoin.site.blocks import Doc, Heading, Link
from temoin.site.bulletins import cache as bulletin_cache
from temoin.site.bulletins import pdf, periods
from temoin.site.bulletins.doc import document, editorials, short, summary
from temoin.site.bulletins.plan import (
    INDEX_PAGE_SIZE,
    Bulletin,
    Plan,
    bulletin_path,
    index_path,
    make_plan,
    pdf_path,
    source_day,
    withdrawn_day,
)
from temoin.site.context import Generation
from temoin.site.pages import front, prefix, rel, t
from temoin.site.text import inline

__all__ = ["Bulletin", "Plan", "make_plan", "bulletin_path", "index_path", "pdf_path",
           "site_files"]


def _toc(doc: Doc, page: str) -> str:
    items = "".join(f"<li><a href=\"#{inline(b.anchor)}\">{inline(b.text)}</a></li>"
                    for b in doc.blocks if isinstance(b, Heading) and b.level == 2
                    and b.anchor)
    return (f"<nav class=\"temoin-toc\" aria-label=\"{inline(t('contents', doc.lang))}\">"
            f"<strong>{inline(t('contents', doc.lang))}</strong><ul>{items}</ul></nav>")


def _neighbours(b: Bulletin, plan: Plan, page: str, lang: str, cfg: Config) -> str:
    links = []
    prev, nxt = plan.previous(b), plan.following(b)
    if prev:
        href = rel(page, bulletin_path(prev.key, lang, cfg))
        links.append(f"<a rel=\"prev\" href=\"{inline(href)}\">← {inline(short(prev, lang))}</a>")
    links.append(f"<a href=\"{inline(rel(page, index_path(lang, cfg)))}\">"
                 f"{inline(t('bulletins', lang))}</a>")
    if nxt:
        href = rel(page, bulletin_path(nxt.key, lang, cfg))
        links.append(f"<a rel=\"next\" href=\"{inline(href)}\">{inline(short(nxt, lang))} →</a>")
    return f"<nav class=\"temoin-pages\">{' · '.join(links)}</nav>"


def bulletin_page(b: Bulletin, plan: Plan, doc: Doc, cfg: Config) -> Page:
    """The web page of one bulletin in `doc.lang`."""
    lang = doc.lang
    here = bulletin_path(b.key, lang, cfg)
    text = summary(b, lang)
    feed = rel(here, f"{prefix(lang, cfg)}feeds/bulletins.xml")
    pdf_link = rel(here, pdf_path(b, lang, cfg))
    body = [front(doc.title, description=text),
            "<div class=\"temoin-bulletin\" markdown=\"0\">",
            # Indexed by title only: the summary is a line of counts that every bulletin
            # shares, ~1,130 of them at 20,000 cases (issue 8: index <= 300 KB gzipped).
            f"<p class=\"temoin-summary\" data-search-exclude>{inline(text)}</p>",
            "<section data-search-exclude>", blocks.html(doc.blocks[:1], here),
            f"<p class=\"temoin-downloads\"><a href=\"{inline(pdf_link)}\" "
            f"type=\"application/pdf\">{inline(t('bulletin_pdf', lang))}</a> · "
            f"<a href=\"{inline(feed)}\" type=\"application/atom+xml\">"
            f"{inline(t('feed_link', lang))}</a></p>",
            _toc(doc, here), blocks.html(doc.blocks[1:], here),
            _neighbours(b, plan, here, lang, cfg), "</section></div>\n"]
    return Page(here, "".join(body), doc.title)


def index_pages(plan: Plan, cfg: Config, lang: str) -> list[Page]:
    """The bulletin index in `lang`: newest first, INDEX_PAGE_SIZE a page."""
    newest = list(reversed(plan.bulletins))
    chunks = [newest[i:i + INDEX_PAGE_SIZE] for i in range(0, len(newest), INDEX_PAGE_SIZE)]
    chunks = chunks or [[]]
    out = []
    title_base = t("bulletins", lang)
    intro = t("bulletins_intro", lang, unit=t(f"unit_{cfg.bulletin_period}", lang))
    for n, chunk in enumerate(chunks, 1):
        here = index_path(lang, cfg, n)
        page_title = title_base if n == 1 else f"{title_base} — {t('page', lang)} {n}"
        feed = rel(here, f"{prefix(lang, cfg)}feeds/bulletins.xml")
        # Like the case listings, the index is not searched: each bulletin has its own
        # entry. Page 1 keeps its title and introduction (a search for "bulletins").
        meta: dict[str, object] = {"description": intro}
        if n > 1:
            meta["search"] = {"exclude": True}
        body = [front(page_title, **meta),
                "<div class=\"temoin-listing\" markdown=\"0\">",
                f"<p>{inline(intro)} <a href=\"{inline(feed)}\" type=\"application/atom+xml\">"
                f"{inline(t('feed_link', lang))}</a></p>"]
        if chunk:
            head = "".join(f"<th scope=\"col\">{inline(t(k, lang))}</th>" for k in (
                "col_bulletin", "col_period", "col_cases", "col_victims")) + "<th>PDF</th>"
            rows = []
            for b in chunk:
                link = rel(here, bulletin_path(b.key, lang, cfg))
                rows.append(
                    f"<tr><td><a href=\"{inline(link)}\">{inline(short(b, lang))}</a></td>"
                    f"<td>{inline(periods.label(b.period, lang))}</td>"
                    f"<td class=\"temoin-num\">{counts.cases_counted(b.records)}</td>"
                    f"<td class=\"temoin-num\">{counts.persons(b.records)}</td>"
                    f"<td><a href=\"{inline(rel(here, pdf_path(b, lang, cfg)))}\">PDF</a></td>"
                    "</tr>")
            body.append(f"<table class=\"temoin-list\" data-search-exclude><thead><tr>{head}"
                        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")
        else:
            body.append(f"<p>{inline(t('no_bulletins', lang))}</p>")
        nav = []
        if n > 1:
            nav.append(f"<a rel=\"prev\" href=\"{rel(here, index_path(lang, cfg, n - 1))}\">"
                       f"← {t('previous', lang)}</a>")
        nav.append(f"<span>{t('page', lang)} {n} / {len(chunks)}</span>")
        if n < len(chunks):
            nav.append(f"<a rel=\"next\" href=\"{rel(here, index_path(lang, cfg, n + 1))}\">"
                       f"{t('next', lang)} →</a>")
        body.append(f"<nav class=\"temoin-pages\">{' '.join(nav)}</nav></div>\n")
        out.append(Page(here, "".join(body), page_title))
    return out


def _links(doc: Doc, cfg: Config) -> dict[str, str]:
    """Absolute URLs of the pages a PDF links to (only when site_url is known)."""
    if not cfg.site_url:
        return {}
    base = cfg.site_url.rstrip("/") + "/"
    targets = {b.title.target for b in doc.blocks
               if isinstance(b, blocks.Entry) and isinstance(b.title, Link)}
    return {x: base + pages.url(x) for x in targets}


def _mark(cfg: Config, lang: str) -> tuple[str, str]:
    """The demo's "fictional data" notice and keywords for its PDFs, from the setting that
    shows the pages' banner (mkdocs.yml `extra.fictional`); none for a real organisation."""
    if not cfg.fictional:
        return "", ""
    return pages.t("fictional", lang), pages.t("fictional_keywords", lang)


def _ref(b: Bulletin | None) -> tuple[int, str] | None:
    return (b.number, b.key) if b is not None else None


def _inputs(b: Bulletin, plan: Plan) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """Everything a bulletin's page and PDF are made from, besides settings, editorials and
    the day: (the objects, whose identity stands for their content; the other values).

    The page reads its own cases (counted, aggregate, followed up, withdrawn), the
    previous bulletin's records and last change (the "change from" figures, the PDF date),
    the next bulletin's number (links), and the bulletin in which a withdrawn case was
    counted or is announced: `plan.home`/`plan.announcing` give those from the case's
    dates and the plan's periods, whose keys are part of the key."""
    prev, nxt = plan.previous(b), plan.following(b)
    follow = sorted(b.follow_ups.items())
    objects: tuple[object, ...] = (*b.cases, *b.aggregate, *b.errata, *b.corrected,
                                   *[c for _, (c, _ivs, _u) in follow])
    values: tuple[object, ...] = (
        b.number, b.key, len(b.cases), len(b.aggregate), len(b.errata), len(b.corrected),
        tuple((cid, len(ivs), updated) for cid, (_c, ivs, updated) in follow),
        tuple(_ref(plan.home(c)) for c in b.errata),
        tuple(_ref(plan.announcing(withdrawn_day(c), c)) for c in b.corrected),
        plan.kind, nxt.key if nxt else None)
    if prev is not None:
        objects += (*prev.cases, *prev.aggregate, *prev.corrected)
        values += (prev.number, prev.key, len(prev.cases), len(prev.aggregate),
                   len(prev.corrected))
    return objects, values


def _stored_key(b: Bulletin, plan: Plan, lang: str, cfg: Config, code: str,
                texts: dict[tuple[str, str], tuple[str, str]],
                own: dict[str, tuple[bytes, bytes]]) -> str:
    """The content key of a bulletin page in `bulletin_cache`: the cases of `_inputs` by
    their front matter instead of their identity, and what else `document` and the PDF
    read. `own` has the digest of each bulletin's counted, aggregate and corrected cases
    (its own and, for the "change from" figures, its predecessor's)."""
    _objects, values = _inputs(b, plan)
    prev = plan.previous(b)
    changed = max(b.updated, prev.updated) if prev else b.updated
    today = source_day()
    parts = (lang, repr(cfg), values, tuple(texts.get((b.key, x)) for x in sorted(vocab.LANGS)),
             today is not None and b.period.end >= today,
             pdf.creation_stamp(changed).isoformat())
    return bulletin_cache.key(code, parts, (*own[b.key], own[prev.key][0] if prev else b""))


def _own_digests(plan: Plan) -> dict[str, tuple[bytes, bytes]]:
    """By bulletin: (its counted, aggregate and corrected cases, which the next bulletin
    reads too; its withdrawn and followed-up cases), once for every language."""
    return {b.key: (bulletin_cache.cases_digest([*b.cases, *b.aggregate, *b.corrected]),
                    bulletin_cache.cases_digest([*b.errata, *[
                        c for _, (c, _ivs, _u) in sorted(b.follow_ups.items())]]))
            for b in plan.bulletins}


def site_files(plan: Plan, cfg: Config, with_pdf: bool = True, cache_pdf: bool = True, *,
               gen: Generation | None = None) -> tuple[list[Page], list[Asset]]:
    """Every bulletin page and PDF, and the bulletin index, in every language.

    PDFs are cached (`pdf.PDF_CACHE`, in this user's cache folder) unless `cache_pdf` is
    off or caches are (`TEMOIN_NO_CACHE`). In
    the preview, a bulletin whose inputs (`_inputs`) did not change since the last build is
    taken from `gen`'s memo as it was made then: its page and PDF are the same bytes. A full
    build takes an unchanged bulletin's page from `bulletin_cache` and its PDF from the
    PDF cache."""
    gen = gen or Generation()
    texts = editorials(cfg)
    out_pages: list[Page] = []
    out_assets: list[Asset] = []
    # Without PDFs there is no renderer either: its exit would prune the whole cache.
    folder = cache_mod.Store.open(cfg.repo) if cache_pdf and with_pdf else None
    cache = folder.entries(pdf.PDF_CACHE, ".pdf", pdf.pdf_cache_extra()) if folder else None
    store = bulletin_cache.PageCache(folder) \
        if folder is not None and not gen.remembers else None
    code = store.version if store is not None else ""
    own = _own_digests(plan) if store is not None else {}
    stored: list[tuple[str, str, Path]] = []   # (path, PDF key, PDF) of pages from `store`
    to_store: list[tuple[str, Page, int]] = []   # (store key, page, job) of pages made now
    jobs: list[tuple[str, pdf.Job]] = []
    made: list[list[object]] = []        # memo entries of bulletins made now, by job
    reused: list[tuple[str, str, bytes]] = []   # (path, PDF cache key, PDF) from the memo
    common = (repr(cfg), with_pdf, cache_pdf, source_day())
    try:
        for lang in cfg.languages:
            out_pages += index_pages(plan, cfg, lang)
            for b in plan.bulletins:
                stored_key = ""
                if store is not None and cache is not None:
                    stored_key = _stored_key(b, plan, lang, cfg, code, texts, own)
                    got = store.get(stored_key)
                    source = cache.verified(got[2]) if got is not None else None
                    if got is not None and source is not None:
                        out_pages.append(Page.from_bytes(bulletin_path(b.key, lang, cfg),
                                                         got[0], got[1]))
                        stored.append((pdf_path(b, lang, cfg), got[2], source))
                        continue
                objects, values = _inputs(b, plan) if gen.remembers else ((), ())
                extra = (lang, common, values,
                         tuple(texts.get((b.key, x)) for x in sorted(vocab.LANGS)))

                def make(b: Bulletin = b, lang: str = lang) -> list[object]:
                    doc = document(b, plan, lang, cfg, texts)
                    entry: list[object] = [bulletin_page(b, plan, doc, cfg), None, None]
                    if with_pdf:
                        prev = plan.previous(b)
                        changed = max(b.updated, prev.updated) if prev else b.updated
                        made.append(entry)
                        jobs.append((pdf_path(b, lang, cfg), pdf.Job(
                            doc, cfg.organisation, pdf.creation_stamp(changed),
                            _links(doc, cfg), *_mark(cfg, lang))))
                    return entry

                page, key, data = gen.get("bulletin", objects, extra, make)
                assert isinstance(page, Page)
                out_pages.append(page)
                if stored_key:
                    to_store.append((stored_key, page, len(jobs) - 1))
                if with_pdf and key is not None:
                    assert isinstance(key, str) and isinstance(data, bytes)
                    reused.append((pdf_path(b, lang, cfg), key, data))
        fonts = pdf.kept_fonts(gen) if with_pdf else None  # the preview's, every build
        if jobs or ((reused or stored) and cache is not None):
            with pdf.Renderer(cache, fonts) as renderer:
                renderer.keep(key for _, key, _ in reused)  # or its exit prunes them
                renderer.keep(key for _, key, _ in stored)
                # A full build takes each PDF as its cache file (not held until MkDocs
                # copies it); the preview's memo keeps the bytes between builds.
                drawn = [] if not jobs else renderer.render_all([j for _, j in jobs]) \
                    if gen.remembers else renderer.render_stored([j for _, j in jobs])
                # The memo's entry gets its PDF and the PDF's cache key once it is drawn.
                for entry, key, data in zip(made, renderer.last_keys, drawn,
                                            strict=True):
                    entry[1:] = [key, data]
                for stored_key, page, job in to_store:
                    assert store is not None
                    store.put(stored_key, page.data, page.title, renderer.last_keys[job])
            out_assets += [Asset(path, source=data) if isinstance(data, Path)
                           else Asset(path, data)
                           for (path, _), data in zip(jobs, drawn, strict=True)]
        out_assets += [Asset(path, data) for path, _, data in reused]
        # MkDocs copies each from the cache folder later (checked above; the folder is
        # this user's alone), and the gates read the copies like every other file.
        out_assets += [Asset(path, source=source) for path, _, source in stored]
    except BaseException:
        if store is not None:
            store.close(write=False)
        raise
    if store is not None:
        store.close()
    return out_pages, out_assets
