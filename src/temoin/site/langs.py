"""One site per language: which page is which page's translation (engine-neutral).

The default language's pages sit at the root, another language's under `<lang>/`, with
section folders named in that language (`statistiques/` and `en/statistics/`). A page's
counterpart is the same page of the same section in the other language: the language switch
lands there, the sitemap lists the pair, and an English page's navigation is the French
navigation with every path so translated.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from temoin.config import Config

# Each row: one section (a folder) or one hand-written page (a file) in every language.
# Hand-written pages of the scaffold (site_src/) keep these names; a page that has no
# counterpart switches to the other language's home page.
SECTIONS: tuple[dict[str, str], ...] = (
    {"fr": "alertes", "en": "alerts"},
    {"fr": "statistiques", "en": "statistics"},
    {"fr": "donnees", "en": "data"},
    {"fr": "temoigner", "en": "submit"},
    {"fr": "cases", "en": "cases"},
    {"fr": "bulletins", "en": "bulletins"},
    {"fr": "feeds", "en": "feeds"},
    {"fr": "methode.md", "en": "method.md"},
    {"fr": "a-propos.md", "en": "about.md"},
    {"fr": "index.md", "en": "index.md"},
)
NAMES = {"fr": "Français", "en": "English"}  # each language in itself, for the switch


def prefix(lang: str, cfg: Config) -> str:
    """'' for the default language, 'en/' for English."""
    return "" if lang == cfg.default_language else f"{lang}/"


def lang_of(path: str, cfg: Config) -> str:
    """The language of the page or file at docs path `path`."""
    head = path.split("/", 1)[0]
    return head if head in cfg.languages and head != cfg.default_language \
        else cfg.default_language


def counterpart(path: str, to: str, cfg: Config,
                exists: Callable[[str], bool] | Collection[str] | None = None) -> str:
    """The docs path of `path`'s page in language `to`; the home page of `to` when that
    page does not exist (`exists`: the site's docs paths, or a test)."""
    src = lang_of(path, cfg)
    rest = path[len(prefix(src, cfg)):]
    if src == to:
        return path
    head, sep, tail = rest.partition("/")
    for row in SECTIONS:
        if row.get(src) == head and to in row:
            target = prefix(to, cfg) + row[to] + sep + tail
            break
    else:
        target = prefix(to, cfg) + rest
    home = prefix(to, cfg) + "index.md"
    if exists is None:
        return target
    found = exists(target) if callable(exists) else target in exists
    return target if found else home


def translate_nav(nav: object, to: str, cfg: Config, exists: Collection[str],
                  titles: dict[str, str]) -> object:
    """MkDocs' `nav:` setting (lists, one-key dicts, paths) with every page path put into
    language `to`; pages without a counterpart dropped; titles from `titles` by the
    translated path, else None (the page's own title)."""
    if isinstance(nav, list):
        out = [translate_nav(item, to, cfg, exists, titles) for item in nav]
        return [item for item in out if item is not None]
    if isinstance(nav, dict):
        items: list[object] = []
        for key, value in nav.items():
            t = translate_nav(value, to, cfg, exists, titles)
            if t is None or t == []:
                continue
            if isinstance(t, str):
                items.append({titles[t]: t} if t in titles else t)
            else:
                section: dict[str, object] = {str(key): t}
                items.append(section)
        return items[0] if len(items) == 1 else (items or None)
    if isinstance(nav, str):
        if "://" in nav:
            return nav
        target = counterpart(nav, to, cfg)
        return target if target in exists else None
    return None
