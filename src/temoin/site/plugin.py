"""The `temoin` MkDocs plugin: the only module that imports mkdocs.

It validates Témoin's settings once, forces the privacy switches (no Google Fonts, no
generator tag), runs the publication gate over every case, and injects the generated pages
with `File.generated` in `on_files`. Case pages never enter `nav:` (an all-cases nav makes
build time and output quadratic, DESIGN §9).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
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
from temoin.site import Page, csp, generate, langs, pages, sandbox
from temoin.site.home import HOME_MARKERS, home_blocks, home_lists
from temoin.site.layout import (
    LAYOUT_BODY,
    LAYOUT_DESC,
    LAYOUT_ID,
    LAYOUT_TITLE,
    CasePage,
    outside_page,
    write_outside,
)
from temoin.site.passthrough import anchor_ids, raw_html
from temoin.site.search import compact_search_index, split_search_index, write_sitemap
from temoin.site.theme import TEMPLATE_KEYS, collapse, not_found_context, page_chrome

log = logging.getLogger("mkdocs.plugins.temoin")
_OPTIONS = [f for f in config_mod.Config.__dataclass_fields__
            if f not in config_mod.NOT_OPTIONS]


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
        self._navs: dict[str, Any] = {}      # language -> its Navigation
        self._docs: set[str] = set()         # docs paths of this build's pages
        self._outside: dict[str, list[CasePage]] = {}  # language -> case pages
        self._layouts: dict[str, str] = {}   # language -> rendered layout page
        self._env: Any = None  # MkDocs' Jinja environment, for the other 404 pages
        self._description = ""  # site_description, for a case page without a summary
        self.refusal: PluginError | None = None  # what stopped the build (see on_build_error)
        # Told the cases once they are loaded and gated, before pages are made (a full
        # build: `temoin build` starts decrypting the private parts then, `publish.build`).
        self.on_cases: Callable[[generate.SiteInput], None] | None = None

    def release(self) -> None:
        """Drop what this build held (its input, files and their pages, navigations, the
        case pages kept out of MkDocs, layouts, the Jinja environment); keep `refusal`.
        MkDocs keeps the last build's plugins alive until a configuration is loaded again,
        so the gates and the workers they fork would carry all of it (issue 18)."""
        self.input = None
        self._generated, self._files, self._home, self._env = [], None, None, None
        self._navs, self._docs, self._outside, self._layouts = {}, set(), {}, {}
        self._csp = None

    # -- configuration ---------------------------------------------------------------
    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        repo = Path(config.config_file_path).resolve().parent
        opts = {k: v for k, v in self.config.items() if v is not None}
        try:
            self.cfg = config_mod.from_options(repo, opts, {"site_url": config.site_url,
                                                            "site_name": config.site_name,
                                                            "extra": config.extra})
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
        self._description = config.site_description or ""
        extra["ui"] = {lang: {k: pages.t(k, lang) for k in TEMPLATE_KEYS}
                       for lang in ("fr", "en")}
        # Every language's feeds, for the head of every page (`main.html`).
        extra["feeds"] = [{"lang": lang, "folder": langs.prefix(lang, self.cfg)}
                          for lang in self.cfg.languages]
        # The header shows the language switch when `extra.alternate` is set; its links
        # are the page's own counterparts (`on_page_context`), not these.
        config.extra["alternate"] = [{"name": langs.NAMES[lang], "link": "./", "lang": lang}
                                     for lang in self.cfg.languages] \
            if len(self.cfg.languages) > 1 else None
        if self.preview is None:
            self._csp = csp.Memo(cache_mod.open_file(repo, csp.CSP_META))
        cases_dir = repo / "cases"
        if cases_dir.is_dir() and str(cases_dir) not in config.watch:
            config.watch.append(str(cases_dir))
        return config

    # -- pages -----------------------------------------------------------------------
    def on_build_error(self, error: Exception) -> None:
        """MkDocs turns every PluginError into Abort("Aborted with a BuildError!"); keep our
        refusal so the engine reports it as one (exit 4), not as a crash."""
        if isinstance(error, PluginError):
            self.refusal = error

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
                with curation.CachedVerifier(repo, whole=preview is None) as verify:
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
            if self.on_cases is not None and preview is None:
                self.on_cases(self.input)
            start = time.perf_counter()
            out_pages, out_assets = generate.generate(
                self.input, pages.case_page if preview is None else preview.case_page,
                None if preview is None else preview.memo)
            self.input.timings["generate"] = time.perf_counter() - start
        except TemoinError as exc:
            raise PluginError(exc.message) from exc
        taken = files.src_uris  # generated paths are already POSIX: no PurePath each
        out_pages = self._set_aside(out_pages)
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
        self._docs = {f.src_uri for f in files.documentation_pages()} | {
            c.path for pages_ in self._outside.values() for c in pages_}
        if preview is not None:
            preview_hand_pages(files)
            for f in files.documentation_pages():  # the layouts: rendered on every build
                if f.src_uri.endswith(f"/{LAYOUT_ID}.md"):
                    f.is_modified = lambda: True  # type: ignore[method-assign]
            preview.ready = True  # MkDocs may write files from now on
        log.info("temoin: %d published case(s), %d aggregate-only, %d not shown",
                 len(self.input.published), len(self.input.aggregate),
                 len(self.input.refused))
        return files

    def _set_aside(self, out_pages: list[Any]) -> list[Any]:
        """Keep the case pages of every language but the first out of MkDocs: one layout
        page per language goes to MkDocs instead (`on_post_build` writes the others)."""
        assert self.input is not None
        cfg = self.input.cfg
        self._outside = {}
        wanted = {pages.case_path(c.id, cfg, lang): (lang, c.id)
                  for lang in cfg.languages[1:] for c in self.input.published}
        kept = []
        for p in out_pages:
            hit = wanted.get(p.path)
            if hit is None:
                kept.append(p)
                continue
            self._outside.setdefault(hit[0], []).append(outside_page(p, hit[1]))
        for lang in self._outside:
            layout = pages.front(LAYOUT_TITLE, description=LAYOUT_DESC,
                                 search={"exclude": True}) + \
                f'<article class="temoin-case" markdown="0">{LAYOUT_BODY}</article>\n'
            kept.append(Page(pages.case_path(LAYOUT_ID, cfg, lang), layout))
        return kept

    def _file(self, config: MkDocsConfig, path: str, content: str | bytes) -> File:
        if self.preview is None:
            return File.generated(config, path, content=content)
        f: File = self.preview.file(path, content, lambda: _PreviewFile.generated(
            config, path, content=content))
        self._generated.append(f)
        return f

    def on_nav(self, nav: Any, config: MkDocsConfig, files: Files) -> Any:
        """Each language's navigation: `nav:` with every page put into that language."""
        from mkdocs.structure import nav as nav_mod

        self._navs = {}
        if self.cfg is None:
            return nav
        self._navs[self.cfg.default_language] = nav
        docs = {f.src_uri for f in files.documentation_pages()}
        for lang in self.cfg.languages[1:]:
            home = langs.prefix(lang, self.cfg) + "index.md"
            data = langs.translate_nav(config.nav or [], lang, self.cfg, docs,
                                       {home: pages.t("home", lang)})
            items = nav_mod._data_to_navigation(data or [], files, config)
            items = items if isinstance(items, list) else [items]
            in_nav = nav_mod._get_by_type(items, MkPage)
            nav_mod._add_previous_and_next_links(in_nav)
            nav_mod._add_parent_links(items)
            other = nav_mod.Navigation(items, in_nav)
            home_file = files.get_file_from_path(home)
            if home_file is not None and home_file.page is not None:
                other.homepage = home_file.page
                home_file.page.title = pages.t("home", lang)  # as `nav:` titles French pages
            self._navs[lang] = other
        return nav

    def on_page_context(self, context: Any, page: MkPage, config: MkDocsConfig,
                        nav: Any) -> Any:
        """A page's language, its navigation, search base and language switch."""
        from mkdocs.utils import get_relative_url

        if self.cfg is None:
            return context
        src = page.file.src_uri
        lang = langs.lang_of(src, self.cfg)
        context["temoin_lang"] = lang
        context["temoin_prefix"] = langs.prefix(lang, self.cfg)
        if lang in self._navs:
            context["nav"] = self._navs[lang]
        if context["temoin_prefix"]:  # the language's own search index and storage scope
            context["base_url"] = get_relative_url(context["temoin_prefix"], page.url)
        layout = src.endswith(f"/{LAYOUT_ID}.md")
        alternates = []
        for other in self.cfg.languages:
            target = langs.counterpart(src, other, self.cfg, None if layout else self._docs)
            alternates.append({"lang": other, "name": langs.NAMES[other],
                               "current": other == lang,
                               "link": get_relative_url(pages.url(target) or ".", page.url)})
        context["temoin_alternates"] = alternates
        return context

    def on_env(self, env: Any, config: MkDocsConfig, files: Files) -> Any:
        self._files = files  # the final list, for `on_post_build`
        env = sandbox.sandboxed(env)  # overrides are data: no call reaches Python
        if self.preview is not None:  # compiled once for all the preview's builds
            self.preview.templates.keep(env)
        self._env = env
        env.filters["collapse"] = collapse
        return env

    def on_template_context(self, context: Any, template_name: str,
                            config: MkDocsConfig) -> Any:
        """The 404 page: links relative to its folder (the site may live in any folder),
        in the default language (`on_post_build` writes the others')."""
        if template_name == "404.html" and self.cfg is not None:
            lang = self.cfg.default_language
            context.update(not_found_context(self.cfg, lang, self._navs.get(lang)))
        return context

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

    def on_pre_template(self, template: Any, template_name: str,
                        config: MkDocsConfig) -> Any:
        """MkDocs' own sitemap.xml (every page, by every build) is left empty, hence not
        written: `write_sitemap` writes the site's, with every language's pages."""
        if template_name == "sitemap.xml" and self._env is not None and self.cfg is not None:
            return self._env.from_string("")
        return template

    def on_post_template(self, output_content: str, template_name: str,
                         config: MkDocsConfig) -> str:
        """Static templates (404.html) get the same Content-Security-Policy as pages."""
        if template_name == "404.html" and self.cfg is not None:
            output_content = page_chrome(output_content, self.cfg.default_language)
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
        output = page_chrome(output, _page_lang(page.file.src_uri, self.cfg))
        if page.file.src_uri.endswith(f"/{LAYOUT_ID}.md"):
            self._layouts[_page_lang(page.file.src_uri, self.cfg)] = output
        return output


    @event_priority(-100)  # after Material's search plugin has written its index
    def on_post_build(self, config: MkDocsConfig) -> None:
        """Merge (preview) or compact the search index, then what one site per language
        adds: the case pages kept out of MkDocs, the other 404 pages, one search index per
        language and the one sitemap.xml."""
        site = Path(config.site_dir)
        if self._csp is not None:
            self._csp.save()
            self._csp = None
        if self.preview is not None:
            # Written compact by `finish`; unchanged files keep theirs from the last build.
            self.preview.finish(site, {f.src_uri: f for f in self._generated})
        else:
            compact_search_index(site / "search" / "search_index.json")
        if self.cfg is None:
            return
        start = time.perf_counter()
        self._write_outside(site)
        self._write_not_found(site, config)
        split_search_index(site, self.cfg, self._outside)
        if self._files is not None:
            from mkdocs.utils import get_build_date

            write_sitemap(site, config.site_url or "", self.cfg,
                          [f.src_uri for f in self._files.documentation_pages()],
                          self._outside, get_build_date(),
                          self.preview.sitemap if self.preview is not None else None)
        if self.input is not None:
            self.input.timings["languages"] = time.perf_counter() - start

    def _write_not_found(self, site: Path, config: MkDocsConfig) -> None:
        """`<lang>/404.html` for every language but the first (MkDocs wrote `404.html`)."""
        from mkdocs.commands.build import get_context

        assert self.cfg is not None
        if self._env is None or self._files is None:
            return
        template = self._env.get_template("404.html")
        for lang in self.cfg.languages[1:]:
            nav = self._navs.get(lang)
            if nav is None:
                continue
            context: dict[str, Any] = dict(get_context(nav, self._files, config,
                                                       base_url=".."))
            context.update(not_found_context(self.cfg, lang, nav))
            # Its language's search index (`base` of the search script; links use "..").
            out = template.render(context).replace('"base": ".."', '"base": "."', 1)
            out = page_chrome(csp.inject(out), lang)
            (site / langs.prefix(lang, self.cfg) / "404.html").write_text(out, encoding="utf-8")

    def _write_outside(self, site: Path) -> None:
        """Write every case page kept out of MkDocs from its language's layout (the
        preview's `State.outside` remembers what is on disk: this plugin object is made
        anew for every build)."""
        assert self.cfg is not None
        missing = [lang for lang in self._outside if lang not in self._layouts]
        if missing:
            raise PluginError(f"temoin: the {missing[0]} case layout was not rendered")
        write_outside(site, self.cfg, self._outside, self._layouts, self._description,
                      self.preview.outside if self.preview is not None else None)


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


