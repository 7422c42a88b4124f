"""Everything the site shows, as data: one call from the plugin, engine-neutral."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from temoin import cases as cases_mod
from temoin import curation
from temoin.cache import StatCache
from temoin.cases import Case
from temoin.config import Config
from temoin.errors import GateError
from temoin.site import (
    Asset,
    Page,
    alerts,
    bulletins,
    feeds,
    opendata,
    pages,
    stats,
    submit,
    text,
)
from temoin.site.context import Generation
from temoin.site.memo import Memo


@dataclass
class SiteInput:
    """What a build knows: settings and the cases sorted by what the gate decided."""

    cfg: Config
    published: list[Case]                 # pass the gate: a page each
    aggregate: list[Case]                 # counted in statistics, no page
    withdrawn: list[Case]                 # withdrawn cases (errata)
    refused: dict[str, list[str]] = field(default_factory=dict)  # id -> why not shown
    all_cases: list[Case] = field(default_factory=list)
    inbox_key: str = ""                   # armored public key sources encrypt to
    fingerprint: str = ""
    timings: dict[str, float] = field(default_factory=dict)  # seconds by step (benchmarks)

    @property
    def forbidden_ids(self) -> set[str]:
        """Ids that must appear nowhere. A withdrawn case was public: its id may stand in
        an erratum; its content goes with it (the canary gate still scans its values). An
        aggregate-only case never had a page: its id stays forbidden, withdrawn or not."""
        shown = {c.id for c in self.published} | {
            c.id for c in self.withdrawn if c.meta.get("published")
            and c.meta.get("consent") != "aggregate_only"}  # counted only: never named
        return {c.id for c in self.all_cases} - shown


def collect(repo: Path, cfg: Config, verify: curation.Verifier | None,
            files: StatCache | None = None) -> SiteInput:
    """Load every case strictly, run the gate, read the published inbox key. `files`: the
    build's stat cache (unchanged case.md, statements and signatures are not read)."""
    start = time.perf_counter()
    all_cases, problems = cases_mod.load_all(repo, strict=False, cache=True, files=files)
    if problems:
        raise GateError(problems, "cases that do not load stop the build")
    leaks = [f"cases/{c.id}/case.md: {k}: confidential key in the public file"
             for c in all_cases for k in cases_mod.confidential_keys(c.meta)]
    if leaks:
        raise GateError(leaks)
    loaded = time.perf_counter()
    published, aggregate, refused = curation.partition(all_cases, cfg, verify, files)
    withdrawn = curation.withdrawn_cases(all_cases, cfg, verify, refused)
    key_file = Path(repo) / "keys" / "inbox.asc"
    inp = SiteInput(cfg, published, aggregate, withdrawn, refused, all_cases,
                    key_file.read_text() if key_file.is_file() else "", cfg.inbox_key)
    inp.timings.update(load=loaded - start, gate=time.perf_counter() - loaded)
    return inp


NO_KEY = {
    "fr": ("Témoigner", "La clé de réception ou l'adresse de l'organisation n'est pas encore "
           "publiée. N'envoyez pas de témoignage avant qu'elles le soient."),
    "en": ("Testify", "The organisation's inbox key or address is not published yet. Do not "
           "send a testimony until they are."),
}


def _no_key_pages(cfg: Config) -> list[Page]:
    """Until an inbox key and contact_email exist, the submit page says so (not missing)."""
    out = []
    for lang in cfg.languages:
        title, body = NO_KEY[lang]
        out.append(Page(submit.path(lang, cfg), pages.front(title)
                        + f"!!! warning\n    {body}\n", title))
    return out


def reports(inp: SiteInput, gen: Generation) -> tuple[list[Page], list[Asset]]:
    """Bulletins (pages, PDFs), statistics, alerts, open data and the Atom feeds."""
    plan = bulletins.make_plan(inp.cfg, inp.published, inp.aggregate, inp.withdrawn, gen=gen)
    out_pages, out_assets = bulletins.site_files(plan, inp.cfg, gen=gen)
    out_pages += stats.pages(inp.published, inp.aggregate, inp.cfg, gen=gen)
    out_pages += alerts.pages_for(inp.published, inp.cfg)
    data_pages, data_assets = opendata.site_files(inp.published, inp.aggregate, inp.cfg,
                                                  gen=gen)
    out_pages += data_pages
    out_assets += data_assets + feeds.assets(plan, inp.published, inp.cfg)
    return out_pages, out_assets


def generate(inp: SiteInput, make_page: Callable[..., Page] = pages.case_page,
             memo: Memo | None = None) -> tuple[list[Page], list[Asset]]:
    """Every generated page and asset, sorted by path (deterministic). `make_page` makes a
    case's page (the preview passes one that remembers unchanged cases' pages), `memo` is
    what the preview keeps between builds (`site.memo`). One `Generation` is made here and
    passed to every generator: nothing of it outlives this call but what `memo` keeps."""
    full = make_page is pages.case_page  # the preview's renders only changed cases
    narratives = text.MarkdownCache.open(inp.cfg.repo)
    gen = Generation(memo, narratives)
    out_pages, out_assets = pages.case_pages(inp.published, inp.cfg, make_page, gen=gen)
    report_pages, report_assets = reports(inp, gen)
    narratives.save(prune=full)
    out_pages += report_pages
    out_assets += report_assets
    if inp.inbox_key and inp.cfg.contact_email:
        p, a = submit.pages(inp.cfg, inp.inbox_key, inp.fingerprint)
        out_pages += p
        out_assets += a
    else:
        out_pages += _no_key_pages(inp.cfg)
    seen: set[str] = set()
    for path in [p.path for p in out_pages] + [a.path for a in out_assets]:
        if path in seen:
            raise GateError([f"two generated files at {path}"], "site generation failed")
        seen.add(path)
    return sorted(out_pages, key=lambda p: p.path), sorted(out_assets, key=lambda a: a.path)
