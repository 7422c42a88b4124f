"""`temoin build`: MkDocs with the plugin into a scratch folder, then every gate, then the
signed manifest, and only then the site replaces the previous one. A failed gate leaves no
publishable site behind (the scratch folder is deleted, the old site is untouched)."""

from __future__ import annotations

import ctypes
import gc
import importlib.util
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mkdocs.commands import build as mk_build
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import Abort, ConfigurationError, PluginError

from temoin import cases as cases_mod
from temoin.config import Config
from temoin.errors import ConfigError, CryptoError, GateError, TemoinError

if TYPE_CHECKING:
    from temoin.keys import Keyring
    from temoin.site.generate import SiteInput


@dataclass
class Report:
    site_dir: Path
    published: int = 0
    aggregate: int = 0
    refused: dict[str, list[str]] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    signed: bool = False
    notices: list[str] = field(default_factory=list)  # reported, not refused (`curate`)


@contextmanager
def _phase(report: Report, name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        report.phases[name] = report.phases.get(name, 0.0) + time.perf_counter() - start


def mkdocs_config(repo: Path, site_dir: Path) -> MkDocsConfig:
    """The repo's mkdocs.yml loaded by MkDocs itself, writing into `site_dir`."""
    try:
        return load_config(config_file=str(repo / "mkdocs.yml"), site_dir=str(site_dir))
    except (ConfigurationError, Abort) as exc:
        raise ConfigError(f"mkdocs.yml: {exc}") from exc


def run_mkdocs(repo: Path, site_dir: Path, verify_signatures: bool = True) -> SiteInput:
    """Build the site with MkDocs and the temoin plugin; return what the plugin saw."""
    cfg = mkdocs_config(repo, site_dir)
    plugin = cfg.plugins.get("temoin")
    if plugin is None:
        raise ConfigError("mkdocs.yml: the temoin plugin is not enabled (plugins: - temoin)")
    plugin.verify_signatures = verify_signatures
    logging.getLogger("mkdocs").setLevel(logging.WARNING)
    try:
        mk_build.build(cfg)
    except PluginError as exc:
        raise GateError([str(exc)], "the site generator refused") from exc
    except Abort as exc:
        raise TemoinError(f"mkdocs build failed: {exc}") from exc
    assert plugin.input is not None
    inp: SiteInput = plugin.input
    # MkDocs' pages, files, nav and search index form reference cycles that outlive the
    # build until the collector happens to run; the gates fork their workers next, and each
    # would inherit them. Free them now, and hand the freed heap back to the system: a
    # forked worker's resident size starts at its parent's.
    del cfg, plugin
    gc.collect()
    _trim_heap()
    return inp


def _trim_heap() -> None:
    """Return free malloc memory to the system (glibc only; elsewhere a no-op). Pages'
    strings are freed one by one during the build and glibc keeps the holes they leave."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def canaries(repo: Path, inp: SiteInput, keyring: Keyring) -> tuple[list[Any], bytes]:
    """Every private value of every case (any status), to grep the output for, and the
    canary cache's secret (keys the canary verdicts). Only the private parts that changed
    since the last build are decrypted (`canary_cache`)."""
    from temoin.gates import canary_source as canary_cache

    return canary_cache.canaries_and_secret(repo, [c.id for c in inp.all_cases], keyring,
                                            inp.cfg.recipient_fingerprints)


def marked_published_refused(inp: SiteInput) -> list[str]:
    """Each problem of each case whose case.md says published but that the gate refused."""
    status = {c.id: c.status for c in inp.all_cases}
    return [p for cid, problems in sorted(inp.refused.items())
            if status.get(cid) == "published" for p in problems]


def _mkdocs_phases(report: Report, timings: dict[str, float], total: float) -> None:
    """Split the MkDocs run into Témoin's steps (timed by the plugin) and the rest."""
    steps = {"load + validate cases": "load", "gate (signatures)": "gate",
             "generate pages": "generate", "CSP meta": "csp"}
    for name, key in steps.items():
        report.phases[name] = timings.get(key, 0.0)
    report.phases["MkDocs render"] = total - sum(timings.get(k, 0.0) for k in steps.values())


def build(repo: Path, cfg: Config, site_dir: Path | None = None,
          keyring: Keyring | None = None, allow_unpublished: bool = True) -> Report:
    """Build, gate, sign, and swap the site into place. Raises GateError (exit 4).

    With `allow_unpublished=False` (what `temoin build` does unless --allow-unpublished), a
    case marked `status: published` that fails the gate (hand-edited, changed after
    approval, a bad signature) stops the build instead of silently vanishing from the site."""
    repo = Path(repo)
    target = Path(site_dir) if site_dir else repo / "site"
    target = target if target.is_absolute() else (Path.cwd() / target)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".temoin-build-", dir=target.parent))
    report = Report(target)
    try:
        start = time.perf_counter()
        inp = run_mkdocs(repo, scratch)
        _mkdocs_phases(report, inp.timings, time.perf_counter() - start)
        report.published, report.aggregate = len(inp.published), len(inp.aggregate)
        report.refused = inp.refused
        if not allow_unpublished:
            marked = marked_published_refused(inp)
            if marked:
                raise GateError(marked, "cases marked published fail the publication gate "
                                "(re-verify and re-approve them, or build without them: "
                                "`temoin build --allow-unpublished`)")
        digests: dict[str, str] = {}  # sha256 of every file, as the gates read it
        if importlib.util.find_spec("temoin.gates") is not None:
            from temoin import gates as checks

            needs_key = any(cases_mod.private_path(repo, c.id).exists() for c in inp.all_cases)
            if keyring is None and needs_key:
                raise CryptoError("the build greps the output for every private value, so it "
                                  "needs an editor key: set GNUPGHOME")
            with _phase(report, "decrypt private parts"):
                secrets, secret = canaries(repo, inp, keyring) if keyring else ([], b"")
                # Only reviewed private parts guard the whole site: a hostile submission
                # never stops publication of other cases (`checks.curate`).
                curated = checks.curate(secrets, inp.all_cases)
                report.notices = curated.notices
            with _phase(report, "gates"):
                cache = repo / ".temoin" / "cache"
                findings = checks.run(scratch, canaries=curated.guard, site_url=cfg.site_url,
                                      forbidden_ids=inp.forbidden_ids,
                                      cache_dir=cache / "pdf-text",
                                      verdicts=cache / "markup-verdicts.json",
                                      canary_verdicts=cache / "canary-verdicts.json",
                                      secret=secret, digests=digests)
            if findings:
                raise GateError([f"[{f.gate}] {f.path}: {f.detail}" for f in findings])
        if importlib.util.find_spec("temoin.publish.manifest") is not None:
            from temoin.publish import manifest as integrity

            with _phase(report, "manifest"):
                signer = cfg.inbox_key if keyring and cfg.inbox_key and \
                    keyring.has_secret(cfg.inbox_key) else None
                integrity.write_manifest(scratch, keyring, signer, digests)
                report.signed = signer is not None
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            target.rename(old)
        scratch.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return report
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
