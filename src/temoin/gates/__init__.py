"""Post-build publication gates (DESIGN §7): nothing confidential, unpublished, third-party,
scriptable or carrying metadata leaves in the built site.

`run` reads every output file once and applies every gate to it (a file with no canary
verdict yet is read a second time, once the matcher is built):

* canary: no private value (see `gates.canaries` for which values, `gates.matching` for how they
  are normalised) in any file: HTML, search index, feeds, exports, sitemap (also .gz), JS, SVG,
  PDF text and metadata (`pdftotext`/`pdfinfo`, and inflated FlateDecode streams), file
  names included. All patterns are matched in one Aho-Corasick pass per file.
* unpublished-case: no id of a case that must not appear (same matcher, same pass).
* third-party, active-content, csp: HTML, SVG, XML and CSS rules in `gates.markup` (HTML
  parsed as a browser does, `gates.page`); script files and what pages make run, by hash
  against the allow-list (`gates.scripts`, issue 20).
* file-type: only allowed file types, each what its name says (`gates.filetypes`); no
  symbolic link, special file or hard link in the output.
* media: every image carries no EXIF/XMP/IPTC/GPS/ICC/comment (`media.metadata_found`).

Every gate is a pure function of a file's bytes, its path and the build's inputs, and
most files are the same from one build to the next, so passes are remembered (`Verdicts`,
in this user's authenticated cache folder, `temoin.cache`):
with `verdicts` (a cache file) a page whose markup passed once (third-party, active-content, CSP;
a PDF's actions) is not parsed again while the page, its path, the site's URL and the gate
code are the same. With `canary_verdicts` and a `secret` (kept encrypted with the canaries,
see `canary_source`) a file that passed the canary and unpublished-case scan is not read for
them again while the file, its path, the gate code and the whole set of canaries and
forbidden ids are the same: one changed case changes the set and every file is scanned.

Findings never repeat a private value: they name the case and the field it came from.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from temoin import cache as cache_mod
from temoin import script_policy
from temoin.gates.extract import PDF_TEXT, ToolError
from temoin.gates.guard import (
    PIECE,
    REVIEWED,
    Canary,
    Curated,
    canaries_from_private,
    case_text,
    curate,
    find,
    matcher,
    organisation_strings,
    own_canaries,
    text_leaks,
)
from temoin.gates.scanner import GATES, MAX_PER_FILE, Finding, scan
from temoin.gates.verdicts import CANARY_VERDICTS, MARKUP_VERDICTS, Verdicts


def run(site_dir: Path, *, canaries: Iterable[Canary], forbidden_ids: Iterable[str],
        site_url: str = "", jobs: int | None = None,
        cache_dir: cache_mod.CacheFolder | None = None,
        verdicts: cache_mod.CacheFile | None = None,
        canary_verdicts: cache_mod.CacheFile | None = None,
        secret: bytes | None = None, digests: dict[str, str] | None = None,
        allowed_scripts: script_policy.AllowList | None = None) -> list[Finding]:
    """Every gate in one pass over the output files; [] means the site may ship.

    `forbidden_ids`: ids of cases that must not appear anywhere (drafts, unapproved,
    withdrawn, aggregate_only…). `site_url`: the site's own address; absolute URLs to its
    host count as same-origin. `cache_dir`, `verdicts`, `canary_verdicts`, `secret`,
    `digests`, `allowed_scripts`: see `scan`.
    """
    return scan(site_dir, canaries=canaries, forbidden_ids=forbidden_ids, site_url=site_url,
                jobs=jobs, cache_dir=cache_dir, verdicts=verdicts,
                canary_verdicts=canary_verdicts, secret=secret, digests=digests,
                allowed_scripts=allowed_scripts)


# Each gate on its own (same pass machinery, one gate reported).
def gate_canaries(site_dir: Path, canaries: Iterable[Canary]) -> list[Finding]:
    """No private value in any output file."""
    return scan(site_dir, canaries=canaries, gates=["canary"])


def gate_unpublished(site_dir: Path, forbidden_ids: Iterable[str]) -> list[Finding]:
    """No id of an unpublished case anywhere."""
    return scan(site_dir, forbidden_ids=forbidden_ids, gates=["unpublished-case"])


def gate_third_party(site_dir: Path, site_url: str = "") -> list[Finding]:
    """Nothing the browser fetches by itself leaves the site."""
    return scan(site_dir, site_url=site_url, gates=["third-party"])


def gate_active_content(site_dir: Path) -> list[Finding]:
    """No script or script-like content but the theme's and our own files."""
    return scan(site_dir, gates=["active-content"])


def gate_csp(site_dir: Path) -> list[Finding]:
    """Our Content-Security-Policy meta on every page, allowing only 'self' and hashes."""
    return scan(site_dir, gates=["csp"])


def gate_media(site_dir: Path) -> list[Finding]:
    """No metadata in any image."""
    return scan(site_dir, gates=["media"])


def gate_file_types(site_dir: Path) -> list[Finding]:
    """Only allowed file types, each what its name says; no link or special file."""
    return scan(site_dir, gates=["file-type"])


__all__ = ["CANARY_VERDICTS", "GATES", "MARKUP_VERDICTS", "MAX_PER_FILE", "PDF_TEXT", "PIECE",
           "REVIEWED", "Canary", "Curated", "Finding", "ToolError", "Verdicts",
           "canaries_from_private", "case_text", "curate", "find", "gate_active_content",
           "gate_canaries", "gate_csp", "gate_file_types", "gate_media", "gate_third_party",
           "gate_unpublished", "matcher", "organisation_strings", "own_canaries", "run", "scan",
           "text_leaks"]
