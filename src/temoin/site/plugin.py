"""The `temoin` MkDocs plugin: the only module that imports mkdocs.

It validates Témoin's settings once, forces the privacy switches (no Google Fonts, no
generator tag), runs the publication gate over every case, and injects the generated pages
with `File.generated` in `on_files`. Case pages never enter `nav:` (an all-cases nav makes
build time and output quadratic, DESIGN §9).
"""

from __future__ import annotations

import heapq
import html
import json
import logging
import posixpath
import re
import time
from pathlib import Path
from typing import Any

from mkdocs.config import config_options as c
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page as MkPage
from mkdocs.structure.toc import get_toc

from temoin import cache as cache_mod
from temoin import cases as cases_mod
from temoin import config as config_mod
from temoin import curation
from temoin.errors import TemoinError
from temoin.site import csp, generate, pages

log = logging.getLogger("mkdocs.plugins.temoin")
_OPTIONS = [f for f in config_mod.Config.__dataclass_fields__
            if f not in ("repo", "extra", "site_url", "site_name")]
HOME_MARKERS = ("<!-- temoin:alerts -->", "<!-- temoin:latest -->")


class TemoinPlugin(BasePlugin):  # type: ignore[type-arg,no-untyped-call,unused-ignore]
    config_scheme = tuple((name, c.Optional(c.Type((str, int, list, dict, bool))))
                          for name in _OPTIONS)

    def __init__(self) -> None:
        super().__init__()
        self.cfg: config_mod.Config | None = None
        self.input: generate.SiteInput | None = None
        self.verify_signatures = True  # `temoin serve --no-signatures` may switch this off
        self.preview: Any = None  # preview.State: `temoin serve` rebuilds only what changed
        self._generated: list[File] = []
        self._csp: Any = None  # csp.Memo of a full build
        self._files: Files | None = None
        self._home: tuple[Any, tuple[list[Any], list[Any]]] | None = None  # home_lists

    # -- configuration ---------------------------------------------------------------
    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        repo = Path(config.config_file_path).resolve().parent
        opts = {k: v for k, v in self.config.items() if v is not None}
        try:
            self.cfg = config_mod.from_options(repo, opts, {"site_url": config.site_url,
                                                            "site_name": config.site_name})
        except TemoinError as exc:
            raise PluginError(exc.message) from exc
        # Privacy switches (DESIGN §9): never fetch fonts from Google, no generator tag.
        config.theme["font"] = False
        config.extra["generator"] = False
        if not config.use_directory_urls:
            raise PluginError("temoin: use_directory_urls must be true (links are computed "
                              "for directory URLs)")
        if config.repo_url:
            raise PluginError("temoin: remove repo_url: it makes every page call a code host")
        if "offline" in config.plugins or "social" in config.plugins:
            raise PluginError("temoin: the offline and social plugins fetch third-party "
                              "resources; remove them")
        extra = config.extra.setdefault("temoin", {})
        extra["fingerprint"] = self.cfg.inbox_key
        extra["fingerprint_groups"] = " ".join(self.cfg.inbox_key[i:i + 4]
                                               for i in range(0, len(self.cfg.inbox_key), 4))
        extra["organisation"] = self.cfg.organisation
        if self.preview is None:
            self._csp = csp.Memo(cache_mod.open_file(repo, csp.CSP_META))
        cases_dir = repo / "cases"
        if cases_dir.is_dir() and str(cases_dir) not in config.watch:
            config.watch.append(str(cases_dir))
        return config

    # -- pages -----------------------------------------------------------------------
    def on_files(self, files: Files, config: MkDocsConfig) -> Files:
        assert self.cfg is not None
        repo = self.cfg.repo
        preview = self.preview
        collect = generate.collect if preview is None else preview.collect
        if preview is not None:
            preview.begin(_reuse_key(config))
            self._generated = []
        try:
            if self.verify_signatures:
                with curation.CachedVerifier(repo) as verify:
                    start = time.perf_counter()
                    # A full build stats unchanged files instead of reading them (the
                    # preview keeps its cases in memory instead).
                    known = cache_mod.StatCache(repo, cases_mod.STAT_CASES) \
                        if preview is None else None
                    if preview is None or not preview.cases:
                        verify.warm(files=known)  # a first build verifies in parallel
                    warm = time.perf_counter() - start
                    if known is None:
                        self.input = collect(repo, self.cfg, verify)
                    else:
                        self.input = generate.collect(repo, self.cfg, verify, known)
                        start = time.perf_counter()
                        known.save()
                        known = None  # ~40 MB at 20,000 cases: not held while generating
                        warm += time.perf_counter() - start
                    self.input.timings["gate"] = self.input.timings.get("gate", 0.0) + warm
            else:
                self.input = collect(repo, self.cfg, None)
            start = time.perf_counter()
            out_pages, out_assets = generate.generate(
                self.input, pages.case_page if preview is None else preview.case_page,
                None if preview is None else preview.memo)
            self.input.timings["generate"] = time.perf_counter() - start
        except TemoinError as exc:
            raise PluginError(exc.message) from exc
        taken = files.src_uris  # generated paths are already POSIX: no PurePath each
        for p in out_pages:
            if p.path in taken:
                raise PluginError(f"temoin: site_src/{p.path} hides a generated page; "
                                  "remove or rename it")
            files.append(self._file(config, p.path, p.data))
        for a in out_assets:
            if a.source is not None and preview is None:  # a cached PDF: copied by MkDocs
                files.append(File.generated(config, a.path, abs_src_path=str(a.source)))
            else:
                files.append(self._file(config, a.path, a.data))
        if preview is not None:
            preview_hand_pages(files)
            preview.ready = True  # MkDocs may write files from now on
        log.info("temoin: %d published case(s), %d aggregate-only, %d not shown",
                 len(self.input.published), len(self.input.aggregate),
                 len(self.input.refused))
        return files

    def _file(self, config: MkDocsConfig, path: str, content: str | bytes) -> File:
        if self.preview is None:
            return File.generated(config, path, content=content)
        f: File = self.preview.file(path, content, lambda: _PreviewFile.generated(
            config, path, content=content))
        self._generated.append(f)
        return f

    def on_env(self, env: Any, config: MkDocsConfig, files: Files) -> Any:
        self._files = files  # the final list, for `on_post_build`
        return env

    def on_page_markdown(self, markdown: str, page: MkPage, config: MkDocsConfig,
                         files: Files) -> str:
        if page.file.generated_by is not None and self.preview is None:
            # Read once: the page's text now lives in `page`, not twice (DESIGN §9, memory).
            page.file.content_bytes = b""
        if page.file.generated_by is not None and raw_html(markdown) is not None:
            _RawHtmlPage.adopt(page, markdown.strip())
            return ""
        if self.input is None or not any(m in markdown for m in HOME_MARKERS):
            return markdown
        lang = _page_lang(page.file.src_uri, self.input.cfg)
        if self._home is None or self._home[0] is not self.input:  # once a build
            self._home = (self.input, home_lists(self.input))
        return home_blocks(markdown, page.file.src_uri, lang, self.input, self._home[1])

    def on_post_template(self, output_content: str, template_name: str,
                         config: MkDocsConfig) -> str:
        """Static templates (404.html) get the same Content-Security-Policy as pages."""
        return csp.inject(output_content) if template_name.endswith(".html") \
            else output_content

    def on_post_page(self, output: str, page: MkPage, config: MkDocsConfig) -> str:
        start = time.perf_counter()
        output = self._csp.inject(output) if self._csp is not None else csp.inject(output)
        if self.input is not None:
            t = self.input.timings
            t["csp"] = t.get("csp", 0.0) + time.perf_counter() - start
        if self.preview is not None:
            self.preview.rendered.add(page.url)
        if page.file.generated_by is not None:
            # MkDocs keeps every page's Markdown and HTML until the build ends (~0.5 GB at
            # 20,000 cases); nothing reads them once the page is written, and the title
            # stays in `meta`. The preview keeps its Files (and their Pages) between builds.
            page.markdown, page.content = "", ""
            if self.preview is None:
                page.file.content_bytes = b""
        lang = _page_lang(page.file.src_uri, self.cfg) if self.cfg else "fr"
        if lang != (self.cfg.default_language if self.cfg else "fr"):
            output = output.replace("<html lang=\"fr\"", f"<html lang=\"{lang}\"", 1)
        return output


    @event_priority(-100)  # after Material's search plugin has written its index
    def on_post_build(self, config: MkDocsConfig) -> None:
        """Material resolves every `<link rel=alternate>` (the language switch, the Atom
        feeds) through a sitemap.xml in the linked file's folder: give each such folder the
        site's sitemap, or every page logs a 404 in the reader's console."""
        site = Path(config.site_dir)
        if self._csp is not None:
            self._csp.save()
            self._csp = None
        if self.preview is not None:
            # Written compact by `finish`; unchanged files keep theirs from the last build.
            self.preview.finish(site, {f.src_uri: f for f in self._generated})
        else:
            compact_search_index(site / "search" / "search_index.json")
        sitemap = site / "sitemap.xml"
        if self.cfg is None or not sitemap.is_file():
            return
        folders = {site / lang for lang in self.cfg.languages
                   if lang != self.cfg.default_language and (site / lang).is_dir()}
        if self.preview is not None and self._files is not None:
            # Every file in the site came from `files` (MkDocs writes only sitemap.xml
            # besides): no walk through 20,000 folders after each edit.
            # (A page's source is .md, any other file is written under its own name.)
            folders |= {Path(f.abs_dest_path).parent for f in self._files
                        if f.src_uri.endswith(".xml")
                        and posixpath.basename(f.src_uri) != "sitemap.xml"}
        else:
            folders |= {f.parent for f in site.rglob("*.xml") if f.name != "sitemap.xml"}
        for folder in sorted(folders - {site}):
            (folder / "sitemap.xml").write_bytes(sitemap.read_bytes())


# A generated body that is one raw-HTML block opened with markdown="0" (case pages,
# listings, most reports): python-markdown stores such a block verbatim, so converting it
# only costs a Markdown instance (~2-4 ms a page here) and two HTML parser passes (MkDocs'
# anchor scan, md_in_html) for an output equal to the input. Anything unusual (another
# block, tabs, carriage returns, blank lines made of spaces, which python-markdown would
# normalise) goes through Markdown as before.
_RAW_OPEN = re.compile(r'<(article|div|section)\b[^<>]*\smarkdown="0"[^<>]*>')
_RAW_UNSAFE = re.compile(r"[\t\r\x02\x03]|\n +\n")
_ANCHOR = re.compile(r'<([a-zA-Z][^\s/<>]*)\s[^<>]*?\b(id|name)="([^"]*)"')


def raw_html(markdown: str) -> str | None:
    """The body itself if it is a single `markdown="0"` HTML block Markdown would pass
    through unchanged, else None."""
    body = markdown.strip()
    m = _RAW_OPEN.match(body)
    if m is None:
        return None
    tag = m.group(1)
    if not body.endswith(f"</{tag}>") or _RAW_UNSAFE.search(body):
        return None
    depth = 0  # the opening tag must close only at the very end (nested same tags allowed)
    for close in re.findall(rf"<(/?){tag}[\s>]", body)[:-1]:
        depth += -1 if close else 1
        if depth <= 0:
            return None
    return body


def anchor_ids(body: str) -> set[str]:
    """The ids MkDocs' raw-HTML scan would find (any `id`, an `<a>`'s `name`)."""
    return {html.unescape(v) for tag, k, v in _ANCHOR.findall(body)
            if k == "id" or tag.lower() == "a"}


class _RawHtmlPage(MkPage):
    """A generated page whose body is already safe HTML: `render` passes it through
    instead of running Markdown over it (same content, toc, anchors, title).

    Its body and then its `content` are kept as UTF-8: MkDocs renders every page before it
    writes the first, so all of them are held at once (see `site.Page`)."""

    _raw_html = b""
    _html: bytes | None = None

    @property
    def content(self) -> str | None:
        return None if self._html is None else self._html.decode("utf-8")

    @content.setter
    def content(self, value: str | None) -> None:
        self._html = None if value is None else value.encode("utf-8")

    @classmethod
    def adopt(cls, page: MkPage, body: str) -> None:
        content = page.content
        page.__class__ = cls  # MkDocs holds `page` in the nav and its File: keep the object
        assert isinstance(page, _RawHtmlPage)
        page.__dict__.pop("content", None)  # the property holds it from now on
        page.content = content
        page._raw_html = body.encode("utf-8")

    def render(self, config: MkDocsConfig, files: Files) -> None:
        self._html, self._raw_html = self._raw_html, b""
        self.toc = get_toc([])
        self._title_from_render = None
        self.present_anchor_ids = anchor_ids(self.content or "")  # no Markdown links to check


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


class _PreviewFile(File):
    """A generated file the preview can skip: MkDocs' dirty build renders and writes only
    files whose `is_modified()` is true."""

    unchanged = False

    def is_modified(self) -> bool:
        return not self.unchanged


def _reuse_key(config: MkDocsConfig) -> str:
    """What a kept `File` and its `Page` were made from besides their path: the site
    settings (URLs, folders, nav titles, exclusions: mkdocs.yml) and the build date."""
    from mkdocs.utils import get_build_date

    with open(config.config_file_path, "rb") as fh:
        yml = fh.read()
    return repr((yml, config.docs_dir, config.site_dir, config.site_url,
                 config.use_directory_urls, config.repo_url, config.edit_uri,
                 get_build_date()))


def preview_hand_pages(files: Files) -> None:
    """Hand-written pages are few and may show the latest cases: always render them."""
    for f in files.documentation_pages():
        if f.generated_by is None:
            f.is_modified = lambda: True  # type: ignore[method-assign]


def _page_lang(src_uri: str, cfg: config_mod.Config | None) -> str:
    if cfg is None:
        return "fr"
    head = src_uri.split("/", 1)[0]
    return head if head in cfg.languages and head != cfg.default_language \
        else cfg.default_language


def home_lists(inp: generate.SiteInput) -> tuple[list[Any], list[Any]]:
    """The urgent cases and the 10 newest, newest first (the same ten as sorting every
    case: sort keys end with the id, so there are no ties)."""
    urgent = pages.newest_first(c for c in inp.published if c.meta.get("urgent"))
    return urgent, heapq.nlargest(10, inp.published, key=pages.sort_key)


def home_blocks(markdown: str, src: str, lang: str, inp: generate.SiteInput,
                lists: tuple[list[Any], list[Any]] | None = None) -> str:
    """Fill the home page markers: urgent alerts first, then the latest published cases.
    `lists`: `home_lists(inp)`, when the caller made them once for every language."""
    from temoin.site.text import inline

    def items(cases: list[Any]) -> str:
        rows = "".join(
            f"<li><a href=\"{inline(pages.rel(src, pages.case_path(c.id, inp.cfg)))}\">"
            f"{inline(c.title(lang))}</a> — {inline(pages.event_date(c, lang))}, "
            f"{inline(pages.place_label(c, lang))}</li>" for c in cases)
        return f"<ul class=\"temoin-home-list\" markdown=\"0\">{rows}</ul>"

    urgent, newest = lists or home_lists(inp)
    alerts = ""
    if urgent:
        alerts = (f"<div class=\"admonition danger temoin-alerts\" markdown=\"0\">"
                  f"<p class=\"admonition-title\">{pages.t('urgent', lang)}</p>"
                  f"{items(urgent)}</div>")
    latest = items(newest) if newest else f"<p>{pages.t('no_cases', lang)}</p>"
    return markdown.replace(HOME_MARKERS[0], alerts).replace(HOME_MARKERS[1], latest)
