"""The script policy both sides agree on: which inline scripts are the theme's own, which
script types run and which are inert data, and how a CSP hash source is computed.

The generator (`site/csp.py`) uses it to write each page's Content-Security-Policy; the
publication gate (`gates/markup.py`) uses it to judge the built pages. The two scanners are
separate code, so a mistake in one is caught by the other; only this small, read-once
policy is shared.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path

# Types a browser executes as classic or module script ("" = no type attribute).
JS_TYPES = frozenset({
    "", "module", "text/javascript", "application/javascript", "application/ecmascript",
    "text/ecmascript", "application/x-javascript", "application/x-ecmascript",
    "text/x-javascript", "text/x-ecmascript", "text/jscript", "text/livescript",
    "text/javascript1.0", "text/javascript1.1", "text/javascript1.2", "text/javascript1.3",
    "text/javascript1.4", "text/javascript1.5",
})
# Inert data blocks: browsers never execute them (Material's `__config` is one).
DATA_TYPES = frozenset({"application/json", "application/ld+json"})

# What a Jinja expression in a theme script may render to: a relative URL path such as
# ".", "../.." or "/". Nothing that could close a JS string or a tag.
_HOLE = r"[A-Za-z0-9._~/-]{0,256}"
_JINJA_EXPR = re.compile(r"\{\{.*?\}\}", re.S)
_TEMPLATE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
# Theme partials whose inline scripts we accept. integrations/ (analytics) is deliberately
# not among them: analytics is a third party by definition.
THEME_SCRIPT_DIRS = ("partials/javascripts",)

def hash_source(text: str) -> str:
    """A CSP hash source for `text` as the browser sees it (newlines normalised, UTF-8)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def script_type(attrs: Mapping[str, str | None]) -> str:
    """The normalised `type` of a script element (MIME parameters dropped)."""
    return (attrs.get("type") or "").split(";")[0].strip().lower()


@lru_cache(maxsize=1)
def theme_script_patterns() -> tuple[re.Pattern[str], ...]:
    """Regexes matching exactly the inline scripts the installed Material theme emits."""
    try:
        root = resources.files("material") / "templates"
    except ModuleNotFoundError:  # no Material: no theme script is acceptable
        return ()
    patterns: list[re.Pattern[str]] = []
    for sub in THEME_SCRIPT_DIRS:
        folder = Path(str(root)) / sub
        for tpl in sorted(folder.rglob("*.html")):
            for body in _TEMPLATE_SCRIPT.findall(tpl.read_text(encoding="utf-8")):
                if "{%" in body:  # control flow inside a script: cannot be modelled safely
                    continue
                parts = _JINJA_EXPR.split(body)
                patterns.append(re.compile("".join(
                    re.escape(p) if i == 0 else _HOLE + re.escape(p)
                    for i, p in enumerate(parts))))
    return tuple(patterns)


def is_theme_script(body: str) -> bool:
    """True if `body` (an inline script's text) is one of Material's own inline scripts."""
    return any(p.fullmatch(body) for p in theme_script_patterns())


# Folders whose files are published as they are: the installed theme's static assets and
# Témoin's own (the submit page's script, style and vendored OpenPGP.js).
OWN_ASSET_DIRS = (("material", "templates/assets"), ("temoin", "site/assets"))


@lru_cache(maxsize=1)
def own_files() -> frozenset[str]:
    """sha256 (hex) of every file the installed Material theme and Témoin ship as static
    assets: a site file with one of these hashes is byte for byte a reviewed, installed
    file (a theme script, a source map, a vendored licence), whatever its name."""
    sums: set[str] = set()
    for package, sub in OWN_ASSET_DIRS:
        try:
            folder = Path(str(resources.files(package))) / sub
        except ModuleNotFoundError:
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                sums.add(hashlib.sha256(path.read_bytes()).hexdigest())
    return frozenset(sums)
