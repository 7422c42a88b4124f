"""Passes remembered from one build to the next: the pages that passed the markup gates and
the files that passed the canary scan (`Verdicts`, in this user's authenticated cache folder),
and the third-party files Témoin ships, never scanned for canaries (`_vendored`)."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path

from temoin import cache as cache_mod
from temoin.gates import scripts

MARKUP_VERDICTS = cache_mod.Spec(
    "markup-verdicts.json", ("temoin.gates", "temoin.script_policy"),
    ("mkdocs-material", "selectolax", "defusedxml"),  # the theme's scripts, the parsers
    "keys of pages that passed the third-party, active-content and CSP gates")
CANARY_VERDICTS = cache_mod.Spec(
    "canary-verdicts.json", ("temoin.gates",), ("pyahocorasick", "confusable-homoglyphs"),
    "keys of files that passed the canary and unpublished-id scan (keyed with a secret)")


@lru_cache(maxsize=1)
def _vendored() -> frozenset[str]:
    """sha256 of the third-party files Témoin ships (site/assets/vendor/SHA256SUMS). Their
    bytes are fixed when vendored, so they cannot hold a case's data; scanning them for
    canaries only finds chance matches: a minified library is full of digit runs, and with
    20,000 cases' phone numbers matched by their last 8 digits one always turns up (the
    benchmark's 20,000-case build was refused for OpenPGP.js)."""
    try:
        text = resources.files("temoin").joinpath("site", "assets", "vendor",
                                                  "SHA256SUMS").read_text(encoding="utf-8")
    except OSError:
        text = ""
    sums = {line.split()[0] for line in text.splitlines() if line.strip()}
    # The installed theme's own assets, byte for byte (Material's lunr stemmers hold word
    # lists of many languages, where a 4-letter hill name of a case turns up by chance).
    with contextlib.suppress(ImportError, OSError):
        import material

        assets = Path(str(material.__file__)).parent / "templates" / "assets"
        sums |= {hashlib.sha256(f.read_bytes()).hexdigest()
                 for f in assets.rglob("*") if f.is_file()}
    return frozenset(sums)


MARKUP_GATES = frozenset({"third-party", "active-content", "csp"})


class Verdicts:
    """The pages that passed every markup gate in earlier builds, by key.

    A key is the sha256 of the cache file's version (the gate code: `gates` and `site`
    packages, the installed Material, Python), the markup gates run, the site's URL, the
    page's path and its bytes: it only matches a page that the same code already passed
    with the same inputs, so a cached verdict is never stale; any other page is parsed.
    Only passes are kept (a refused page is parsed again next time, and no finding reaches
    the disk). The file holds hashes only, nothing a page says; it is authenticated with
    this user's cache key (`temoin.cache`): one that is missing, forged or copied from
    elsewhere is ignored. Saved with only the keys of this build, so it never grows beyond
    one site. `salt` makes the same kind of file for another gate (the canary scan).

    A page's verdict also keeps the site files it makes run (`gates.scripts.Ref`): those
    are judged by hash on every build, since a script file can change while the page that
    loads it does not.
    """

    def __init__(self, file: cache_mod.CacheFile | None, site_url: str, gates: Iterable[str],
                 salt: bytes = b"") -> None:
        self.file = file
        rules = file.version if file is not None else ""
        inputs = "\0".join([rules, *sorted(MARKUP_GATES & set(gates)), site_url])
        self._salt = hashlib.sha256(inputs.encode("utf-8", "surrogateescape") + salt).digest()
        self.known = self._load()

    def _load(self) -> dict[str, tuple[scripts.Ref, ...]]:
        raw = self.file.load() if self.file is not None else None
        if raw is None:
            return {}
        with contextlib.suppress(ValueError, TypeError):
            doc = json.loads(raw)
            if isinstance(doc, list):
                return {k: () for k in doc if isinstance(k, str)}
            if isinstance(doc, dict):
                return {k: tuple((str(h), str(p)) for h, p in v) for k, v in doc.items()
                        if isinstance(k, str) and isinstance(v, list)}
        return {}

    def key(self, rel: str, digest: bytes) -> str:
        """The key of the page at `rel` (a relative path) whose bytes have this sha256."""
        return hashlib.sha256(self._salt + rel.encode("utf-8", "surrogateescape") + b"\0"
                              + digest).hexdigest()

    def save(self, passed: Iterable[str] | Mapping[str, Iterable[scripts.Ref]]) -> None:
        """Keep `passed` (this build's passing pages, with what each makes run) for the
        next build, atomically."""
        if not isinstance(passed, Mapping):
            keys = sorted(set(passed))
            if self.file is None or frozenset(keys) == frozenset(self.known):
                return
            self.file.save(json.dumps(keys, separators=(",", ":")).encode("ascii"))
            return
        doc = {k: sorted(set(v)) for k, v in sorted(passed.items())}
        if self.file is None or {k: tuple(v) for k, v in doc.items()} == {
                k: tuple(sorted(set(v))) for k, v in self.known.items()}:
            return
        self.file.save(json.dumps(doc, separators=(",", ":"),
                                  ensure_ascii=True).encode("ascii"))
