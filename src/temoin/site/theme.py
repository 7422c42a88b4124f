"""What Témoin gives the theme's templates (overrides/) and corrects in what they render:
interface strings, the `collapse` filter, the 404 pages' context, the page chrome
(engine-neutral)."""

from __future__ import annotations

import html
import posixpath
import re
from typing import Any

from temoin import config as config_mod
from temoin.site import langs, pages

# Interface strings the overrides' templates read from `config.extra.temoin.ui[lang]`.
TEMPLATE_KEYS = ("fictional", "key_fingerprint", "head_feed_bulletins", "head_feed_alerts",
                 "home", "not_found_title", "not_found_text", "not_found_home",
                 "not_found_other", "search_dialog", "colon")
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
_HEAD_ALTERNATE = re.compile(r'<link rel="alternate" href="[^"<>]*" hreflang="[^"<>]*"> ?')
_SEARCH_DIALOG = 'data-md-component="search" role="dialog"'


def collapse(html_text: str) -> str:
    """Each run of HTML whitespace as one space (the overrides' `collapse` filter). Not
    Python's `split()`, which also takes French no-break spaces (DESIGN: French spacing)."""
    return _HTML_SPACE.sub(" ", html_text).strip(" ")


def page_chrome(output: str, lang: str) -> str:
    """What the templates cannot say: no `<link rel="alternate" hreflang>` in the head
    (Material fetches a sitemap.xml beside each; the sitemap lists the pairs instead),
    and an accessible name for the search dialog."""
    output = _HEAD_ALTERNATE.sub("", output)
    label = html.escape(pages.t("search_dialog", lang), quote=True)
    return output.replace(_SEARCH_DIALOG, f'{_SEARCH_DIALOG} aria-label="{label}"', 1)


def not_found_context(cfg: config_mod.Config, lang: str, nav: Any) -> dict[str, Any]:
    """Template variables of the 404 page in `lang` (`<lang>/404.html`): links relative
    to its folder, its language's navigation, the switch to the other languages' homes."""
    depth = "." if lang == cfg.default_language else ".."
    alternates = [{"lang": other, "name": langs.NAMES[other], "current": other == lang,
                   "link": posixpath.join(depth, langs.prefix(other, cfg)) or "./"}
                  for other in cfg.languages]
    out = {"base_url": depth, "temoin_lang": lang,
           "temoin_prefix": langs.prefix(lang, cfg), "temoin_alternates": alternates}
    if nav is not None:
        out["nav"] = nav
    return out
