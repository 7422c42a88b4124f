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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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


# -- script files: the allow-list by hash (issue 20, item 1) ------------------------------
# Files a browser may run as a script, whatever page loads them: every such file in the
# output must be one of the allowed ones, referenced or not.
SCRIPT_SUFFIXES = (".js", ".mjs", ".cjs")
# Témoin's vendored modules (`site/assets/vendor/`), loaded by the pinned submit script.
VENDORED_SCRIPTS = ("openpgp.min.mjs",)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@lru_cache(maxsize=1)
def material_scripts() -> frozenset[str]:
    """sha256 of every script file the installed Material theme ships (its bundle, search
    worker, lunr languages): what MkDocs copies into a site, byte for byte."""
    try:
        root = Path(str(resources.files("material") / "templates"))
    except ModuleNotFoundError:
        return frozenset()
    return frozenset(sha256(p.read_bytes()) for p in sorted(root.rglob("*"))
                     if p.suffix in SCRIPT_SUFFIXES and p.is_file())


@lru_cache(maxsize=1)
def vendored_scripts() -> frozenset[str]:
    """sha256 of Témoin's vendored modules, as the installed package holds them (read as
    package data: the gates never import the site generator)."""
    folder = resources.files("temoin").joinpath("site", "assets", "vendor")
    return frozenset(sha256(folder.joinpath(name).read_bytes()) for name in VENDORED_SCRIPTS)


@dataclass(frozen=True)
class AllowList:
    """The script files a site may hold, by sha256: Material's own and Témoin's pinned."""

    material: frozenset[str]
    pinned: frozenset[str]
    # An ad-hoc scan (no build behind it) cannot know the generated scripts' exact bytes:
    # it also accepts an installed script behind generated data lines, as the file-type
    # gate does. `temoin build` always gives the exact list (loose=False).
    loose: bool = False

    def __contains__(self, digest: object) -> bool:
        return digest in self.material or digest in self.pinned

    @property
    def key(self) -> str:
        """One hash of the whole list (a cached verdict that depends on it names it)."""
        return sha256("\n".join(sorted(self.material | self.pinned)).encode("ascii"))


def allowed_scripts(generated: Iterable[bytes] = (), loose: bool = False) -> AllowList:
    """The allow-list computed from the installed packages, never from a built site:
    Material's bundled scripts, Témoin's vendored modules, and `generated`, the bytes of
    the scripts Témoin writes at build time from signed inputs (the submit page's
    `submit.js`, made from the inbox key the trust root names)."""
    return AllowList(material_scripts(),
                     vendored_scripts() | frozenset(sha256(b) for b in generated), loose)


# Static module specifiers of a script file: `import … from "x"`, `import "x"`,
# `export … from "x"`, and `import("x")` with a literal (a computed one cannot be resolved:
# only allowed files, whose bytes are known, are read for these).
_IMPORT = re.compile(
    r"""(?:\bimport\s*\(\s*|\bimport\s+(?:[\w*{}\s,$]+\s+from\s+)?|\bexport\s+[\w*{}\s,$]+"""
    r"""\s+from\s+)(["'])([^"'\n]{1,512})\1""")


def module_specifiers(source: str) -> list[str]:
    """Relative (`./`, `../`, `/`) module specifiers a script file imports."""
    return sorted({m[2] for m in _IMPORT.finditer(source)
                   if m[2].startswith(("./", "../", "/"))})


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
