"""The case layout: a second language's case pages are not MkDocs pages but one rendered
layout page per language, its stand-ins replaced by each case (engine-neutral)."""

from __future__ import annotations

import functools
import hashlib
import html
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temoin import config as config_mod
from temoin.site import pages

# The page a second language's case pages are drawn from: MkDocs renders it once with
# these stand-ins, and every such case page is that layout with the stand-ins replaced
# (DESIGN: one site per language; the second language costs no MkDocs page per case).
LAYOUT_ID = "temoin-case-layout"
LAYOUT_TITLE = "temoin\ue000title"
LAYOUT_DESC = "temoin\ue000description"
LAYOUT_BODY = "temoin\ue000body"
_LAYOUT_RE = re.compile("|".join(re.escape(x) for x in (
    LAYOUT_ID, LAYOUT_TITLE, LAYOUT_DESC,
    f'<article class="temoin-case" markdown="0">{LAYOUT_BODY}</article>',
    f'<article class="temoin-case">{LAYOUT_BODY}</article>')))


@dataclass
class CasePage:
    """A case page rendered outside MkDocs from the layout page of its language."""

    path: str          # docs path, e.g. 'en/cases/BI-2025-K7QX2M.md'
    case_id: str
    title: str         # as Material prints it (HTML-escaped by `pages.front`)
    description: str
    body: str
    tags: list[str]


def write_outside(site: Path, cfg: config_mod.Config, outside_pages: dict[str, list[CasePage]],
                  layouts: dict[str, str], site_description: str,
                  on_disk: dict[str, bytes] | None = None) -> None:
    """Write every case page kept out of MkDocs from its language's rendered layout
    (`layouts`); remove the layout page itself and, in the preview (`on_disk`: path ->
    sha256 of what is on disk, kept up to date), the pages no longer published."""
    preview = on_disk is not None
    on_disk = on_disk if on_disk is not None else {}
    written: set[str] = set()
    for lang, outside in outside_pages.items():
        layout_dir = site / pages.url(pages.case_path(LAYOUT_ID, cfg, lang))
        shutil.rmtree(layout_dir, ignore_errors=True)
        layout = layouts[lang]
        for cp in outside:
            data = fill_layout(layout, cp, site_description).encode("utf-8")
            written.add(cp.path)
            if not preview:
                _write_page(site, cp.path, data)
                continue
            digest = hashlib.sha256(data).digest()
            if on_disk.get(cp.path) == digest:
                continue
            on_disk.pop(cp.path, None)  # kept true of the disk even if a write fails
            _write_page(site, cp.path, data)
            on_disk[cp.path] = digest
    for path in on_disk.keys() - written:  # withdrawn, unapproved, folder deleted
        shutil.rmtree(site / pages.url(path), ignore_errors=True)
        del on_disk[path]


def _write_page(site: Path, path: str, data: bytes) -> None:
    out = site / pages.url(path) / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)


def outside_page(page: Any, case_id: str) -> CasePage:
    """A generated case page (front matter of `pages.front`, then its `<article>`)."""
    text = page.content
    head, _, body = text.partition("\n---\n\n")
    meta = {}
    for line in head.splitlines()[1:]:
        key, _, value = line.partition(": ")
        meta[key] = json.loads(value)
    return CasePage(page.path, case_id, str(meta.get("title", "")),
                     str(meta.get("description", "")), body.strip(),
                     [str(x) for x in meta.get("tags") or []])


def fill_layout(layout: str, page: CasePage, site_description: str) -> str:
    """A case page: the rendered layout page with its stand-ins replaced in one pass (a
    value holding a stand-in's text is never replaced again)."""
    values = {LAYOUT_ID: page.case_id, LAYOUT_TITLE: page.title,
              LAYOUT_DESC: page.description or html.escape(site_description, quote=True)}
    parts = _layout_parts(layout)  # literal, stand-in, literal, stand-in, …, literal
    return "".join(p if i % 2 == 0 else values.get(p, page.body)
                   for i, p in enumerate(parts))


@functools.lru_cache(maxsize=4)
def _layout_parts(layout: str) -> list[str]:
    """The layout cut at its stand-ins once a build (a page is then one join)."""
    return _LAYOUT_RE.split(layout) if _LAYOUT_RE.groups else \
        re.split(f"({_LAYOUT_RE.pattern})", layout)
