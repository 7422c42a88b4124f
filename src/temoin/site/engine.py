"""The site engine: the only place that runs MkDocs as a whole (load its configuration, run a
build). Pages themselves are generated as data by `site/generate.py` and handed over by
`site/plugin.py`; keeping the engine behind these two functions lets Témoin move to a MkDocs
fork or successor without touching the generators, the gates or the build."""

from __future__ import annotations

import ctypes
import gc
import logging
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2.exceptions import SecurityError
from mkdocs.commands import build as mk_build
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import Abort, ConfigurationError, PluginError
from mkdocs.plugins import BasePlugin, event_priority

from temoin.config import own_templates, safe_mkdocs
from temoin.errors import ConfigError, GateError, TemoinError
from temoin.progress import Phase, Progress

if TYPE_CHECKING:
    from temoin.site.generate import SiteInput


def mkdocs_config(repo: Path, site_dir: Path) -> MkDocsConfig:
    """The repo's mkdocs.yml as MkDocs' configuration, writing into `site_dir`.

    Témoin reads the file itself (`config.safe_mkdocs`: safe loader, no tags, no hooks, only
    allow-listed plugins and extensions) and hands MkDocs the already-validated mapping
    (issue 16): MkDocs never parses the repository's YAML, so nothing in it runs code."""
    data = safe_mkdocs(Path(repo) / "mkdocs.yml")
    theme = data.get("theme")
    if isinstance(theme, dict) and theme.get("custom_dir"):
        # Checked equal to Témoin's own; MkDocs reads the package's copy (nothing read twice).
        data = {**data, "theme": {**theme, "custom_dir": str(own_templates())}}
    cfg = MkDocsConfig(config_file_path=str(Path(repo) / "mkdocs.yml"))
    try:
        cfg.load_dict({**data, "site_dir": str(site_dir)})
        errors, _warnings = cfg.validate()
    except (ConfigurationError, Abort) as exc:
        raise ConfigError(f"mkdocs.yml: {exc}") from exc
    if errors:
        raise ConfigError("mkdocs.yml: " + "; ".join(f"{k}: {e}" for k, e in errors))
    return cfg


class ProgressPlugin(BasePlugin):  # type: ignore[type-arg,no-untyped-call,unused-ignore]
    """Reports a MkDocs build's two long phases to `progress` from MkDocs' own events, so
    the temoin plugin stays unaware of it: the cases (load, signatures, generated pages),
    from the start of the build to after every plugin's `on_files`, then the rendering of
    every page, one step a page."""

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress
        self.current: Phase | None = None

    def _end(self) -> None:
        if self.current is not None:
            self.current.end()
            self.current = None

    def on_pre_build(self, config: MkDocsConfig) -> None:
        self.current = self.progress.begin("cases, signatures and generated pages")

    @event_priority(-100)  # after the temoin plugin has added the generated pages
    def on_files(self, files: Any, config: MkDocsConfig) -> Any:
        self._end()
        self.current = self.progress.begin("render pages", len(files.documentation_pages()),
                                           "pages")
        return files

    def on_post_page(self, output: str, page: Any, config: MkDocsConfig) -> str:
        if self.current is not None:
            self.current.advance()
        return output

    def on_post_build(self, config: MkDocsConfig) -> None:
        self._end()

    def on_build_error(self, error: Exception) -> None:
        self._end()


def with_progress(cfg: MkDocsConfig, progress: Progress | None) -> None:
    """Add `ProgressPlugin` to a loaded configuration (nothing when `progress` is off)."""
    if progress is not None and progress.mode != "off":
        cfg.plugins["temoin-progress"] = ProgressPlugin(progress)


def run_mkdocs(repo: Path, site_dir: Path, verify_signatures: bool = True,
               progress: Progress | None = None,
               on_cases: Callable[[SiteInput], None] | None = None) -> SiteInput:
    """Build the site with MkDocs and the temoin plugin; return what the plugin saw.
    `progress`: where to report the build's phases (nothing by default); `on_cases`: told
    the cases once they are loaded and gated, before any page is made."""
    cfg = mkdocs_config(repo, site_dir)
    plugin = cfg.plugins.get("temoin")
    if plugin is None:
        raise ConfigError("mkdocs.yml: the temoin plugin is not enabled (plugins: - temoin)")
    plugin.verify_signatures = verify_signatures
    plugin.on_cases = on_cases
    with_progress(cfg, progress)
    logging.getLogger("mkdocs").setLevel(logging.WARNING)
    try:
        mk_build.build(cfg)
    except PluginError as exc:
        raise GateError([str(exc)], "the site generator refused") from exc
    except SecurityError as exc:  # an override reached for Python (site/sandbox.py)
        raise GateError([f"{template_place(exc, repo)}: {exc} (templates may only show "
                         "values: calls and attributes that reach Python are refused)"],
                        "a template was refused") from exc
    except Abort as exc:
        if plugin.refusal is not None:  # our own refusal, which MkDocs wraps in Abort
            raise GateError([str(plugin.refusal)], "the site generator refused") from exc
        raise TemoinError(f"mkdocs build failed: {exc}") from exc
    assert plugin.input is not None
    inp: SiteInput = plugin.input
    plugin.release()  # MkDocs keeps its plugins (and so our pages) past the build
    # MkDocs' pages, files, nav and search index form reference cycles that outlive the
    # build until the collector happens to run; the gates fork their workers next, and each
    # would inherit them. Free them now, and hand the freed heap back to the system: a
    # forked worker's resident size starts at its parent's.
    del cfg, plugin
    gc.collect()
    trim_heap()
    return inp


def template_place(exc: BaseException, repo: Path) -> str:
    """'file:line' of the innermost template frame of `exc` (Jinja names each frame of
    template code after its file), relative to `repo` when inside it."""
    where = "a template"
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith((".html", ".xml", ".j2", ".txt")):
            path = Path(name)
            with suppress(ValueError):
                path = path.resolve().relative_to(repo.resolve())
            where = f"{path.as_posix()}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


def trim_heap() -> None:
    """Return free malloc memory to the system (glibc only; elsewhere a no-op). Pages'
    strings are freed one by one during the build and glibc keeps the holes they leave."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)
