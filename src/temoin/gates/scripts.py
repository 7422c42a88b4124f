"""Script files by hash (issue 20, item 1): a site runs only Material's own scripts and
Témoin's pinned ones.

A planted `site_src/assets/x.js` plus one `<script src>` line in an override made the submit
page encrypt to an attacker's key; a same-origin path proved nothing. So, whatever the page:

* every site file a page makes the browser run — a `<script src>` (classic or module), a
  `<link rel=modulepreload>`, the search worker Material's `__config` names — must hash to
  one of `script_policy.allowed_scripts()`;
* every script file in the output (`.js`, `.mjs`, `.cjs`) must too, referenced or not;
* the relative modules an allowed file imports (`import … from`, literal `import()`) must be
  allowed files as well.

The markup parser (`gates.markup`) finds the references; this module only judges them
against the files' hashes, once every file of the site has been read. Inline scripts stay
with `script_policy.is_theme_script` (Material's own only).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from urllib.parse import unquote

from temoin import script_policy as policy

Ref = tuple[str, str]  # (what loads it, e.g. "<script src>", site path)
NOT_OURS = "is neither one of Material's own scripts nor one of Témoin's pinned ones"


def ref(how: str, path: str) -> Ref:
    """A reference to the site file at `path` (relative to the site root, maybe
    percent-encoded, as a server reads it)."""
    return how, unquote(path)


def config_refs(attrs: Mapping[str, str | None], body: str,
                resolve: Callable[[str], str | None]) -> list[Ref]:
    """The worker Material's `<script id="__config" type="application/json">` tells its
    bundle to start (`"search"`): an inert data block that names a script. `resolve` maps a
    URL of the page to a site path (None: it leaves the site)."""
    if (attrs.get("id") or "") != "__config":
        return []
    try:
        doc = json.loads(body)
    except ValueError:
        return []
    url = doc.get("search") if isinstance(doc, dict) else None
    if not isinstance(url, str) or not url:
        return []
    path = resolve(url)
    return [ref("__config search worker", path)] if path is not None else \
        [("__config search worker", f"(outside the site) {url[:80]}")]


_SPECIFIERS: dict[str, list[str]] = {}  # sha256 of an allowed file -> what it imports


def _imports(site_dir: Path, rel: str, digest: str) -> list[str]:
    if digest not in _SPECIFIERS:
        text = (site_dir / rel).read_bytes().decode("utf-8", "replace")
        _SPECIFIERS[digest] = policy.module_specifiers(text)
    return _SPECIFIERS[digest]


def _target(importer: str, specifier: str) -> str:
    path = unquote(specifier.split("?", 1)[0].split("#", 1)[0])
    joined = path[1:] if path.startswith("/") else posixpath.join(posixpath.dirname(importer),
                                                                   path)
    return posixpath.normpath(joined)


def check(site_dir: Path, refs: Mapping[str, Iterable[Ref]], digests: Mapping[str, str],
          allowed: policy.AllowList) -> list[tuple[str, str]]:
    """(file, problem) for every script file or script reference off the allow-list.
    `refs`: page -> what it makes run; `digests`: sha256 of every file of the site."""
    def ok(rel: str, digest: str | None) -> bool:
        if digest in allowed:
            return True
        if not allowed.loose or digest is None:
            return False
        from temoin.gates import filetypes

        return filetypes.own_script((site_dir / rel).read_bytes())

    out: list[tuple[str, str]] = []
    for rel, digest in sorted(digests.items()):
        if rel.lower().endswith(policy.SCRIPT_SUFFIXES) and not ok(rel, digest):
            out.append((rel, f"script file {NOT_OURS} (sha256 {digest[:16]}…): planted or "
                        "altered; remove it"))
    for page, page_refs in sorted(refs.items()):
        for how, path in sorted(set(page_refs)):
            found = digests.get(path)
            # A missing file runs nothing (a copy that adds it fails the signed manifest).
            if found is not None and not ok(path, found):
                out.append((page, f"{how} {path[:80]} {NOT_OURS} (sha256 {found[:16]}…)"))
    for rel, digest in sorted(digests.items()):
        if not (rel.lower().endswith(policy.SCRIPT_SUFFIXES) and ok(rel, digest)):
            continue
        for spec in _imports(site_dir, rel, digest):
            target = _target(rel, spec)
            if not ok(target, digests.get(target)):
                out.append((rel, f"imports {spec[:80]}, which {NOT_OURS}"))
    return out
