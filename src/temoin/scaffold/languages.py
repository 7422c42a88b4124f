"""The organisation's languages: where each one's hand-written pages sit, and the parts of
mkdocs.yml that follow the choice (issue 17: `temoin init --languages`, `temoin config set
languages`).

The first language is the site's default: its pages sit at the root of `site_src/`, every
other language's under `site_src/<lang>/` (`site.langs.prefix`). The scaffold holds French
pages at its root and English ones under `en/`; `pages` maps them to where the chosen
languages put them. The navigation, the theme's language, the search languages and the
description are written in the default language; the plugin translates the navigation for
the others.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

from temoin.errors import ConfigError

LANGUAGES = ("fr", "en")
# Each scaffold page of a language: its folder in data/scaffold/site_src.
SCAFFOLD_FOLDER = {"fr": "", "en": "en/"}
# The navigation, one row per entry: (title, docs path) in each language. Paths follow the
# section names of `site.langs.SECTIONS`.
NAV: tuple[dict[str, tuple[str, str]], ...] = (
    {"fr": ("Accueil", "index.md"), "en": ("Home", "index.md")},
    {"fr": ("Alertes", "alertes/index.md"), "en": ("Alerts", "alerts/index.md")},
    {"fr": ("Bulletins", "bulletins/index.md"), "en": ("Bulletins", "bulletins/index.md")},
    {"fr": ("Cas documentés", "cases/index.md"), "en": ("Documented cases", "cases/index.md")},
    {"fr": ("Statistiques", "statistiques/index.md"), "en": ("Statistics",
                                                             "statistics/index.md")},
    {"fr": ("Données", "donnees/index.md"), "en": ("Data", "data/index.md")},
    {"fr": ("Témoigner", "temoigner/index.md"), "en": ("Testify", "submit/index.md")},
    {"fr": ("Méthode", "methode.md"), "en": ("Method", "method.md")},
    {"fr": ("À propos", "a-propos.md"), "en": ("About", "about.md")},
)
DESCRIPTION = {"fr": "Bulletins et cas documentés de violations des droits humains",
               "en": "Bulletins and documented cases of human-rights violations"}
NAMES = {"fr": "Français", "en": "English"}


def parse(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """'fr,en' (or a list) as a tuple of language codes, the default first; raises
    ConfigError naming what is wrong."""
    items = value.replace(" ", ",").split(",") if isinstance(value, str) else list(value)
    langs = tuple(str(x).strip().lower() for x in items if str(x).strip())
    unknown = [x for x in langs if x not in LANGUAGES]
    if not langs or unknown or len(set(langs)) != len(langs):
        raise ConfigError(f"languages: expected a comma-separated list of {', '.join(LANGUAGES)}"
                          f" (the site's default first, each once), got {value!r}")
    return langs


def prefix(lang: str, langs: tuple[str, ...]) -> str:
    """The folder of `lang`'s pages under site_src/ ('' for the default language)."""
    return "" if lang == langs[0] else f"{lang}/"


def page_language(rel: str) -> str | None:
    """The language of the scaffold file `rel` (a path under site_src/), or None when it is
    no language's page (assets, overrides)."""
    for lang, folder in SCAFFOLD_FOLDER.items():
        rest = rel[len(folder):] if rel.startswith(folder) else ""
        if rest.endswith(".md") and "/" not in rest:
            return lang
    return None


def page_target(rel: str, langs: tuple[str, ...]) -> str | None:
    """Where the scaffold file `rel` (a path under site_src/) goes for `langs`: a language's
    page moves to that language's folder, or is left out (None) when the language is not
    chosen; every other file (assets, overrides) stays where it is."""
    lang = page_language(rel)
    if lang is None:
        return rel
    return prefix(lang, langs) + rel[len(SCAFFOLD_FOLDER[lang]):] if lang in langs else None


def apply(doc: Any, langs: tuple[str, ...]) -> None:
    """Write `langs` into a ruamel document of mkdocs.yml: the plugin's `languages`, the
    theme's language, the description, the navigation, what stays out of it, the search
    languages and the language switch."""
    default = langs[0]
    theme = doc.get("theme")
    if isinstance(theme, dict):
        theme["language"] = default
    if doc.get("site_description") in DESCRIPTION.values():
        doc["site_description"] = DESCRIPTION[default]
    doc["nav"] = [{row[default][0]: row[default][1]} for row in NAV]
    hidden = ["/cases/", "/bulletins/", *(f"/{lang}/" for lang in langs[1:])]
    doc["not_in_nav"] = LiteralScalarString("\n".join(hidden) + "\n")
    extra = doc.get("extra")
    if isinstance(extra, dict):
        if len(langs) > 1:
            extra["alternate"] = [{"name": NAMES[lang], "link": "./" if lang == default
                                   else f"{lang}/", "lang": lang} for lang in langs]
        else:
            extra.pop("alternate", None)
    for entry in doc.get("plugins") or []:
        if isinstance(entry, dict) and "search" in entry:
            if entry["search"] is None:
                entry["search"] = {}
            entry["search"]["lang"] = _flow(langs)
        if isinstance(entry, dict) and "temoin" in entry and entry["temoin"] is not None:
            entry["temoin"]["languages"] = _flow(langs)


def _flow(items: tuple[str, ...]) -> CommentedSeq:
    """A list written on one line, as the scaffold writes it: [fr, en]."""
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq
