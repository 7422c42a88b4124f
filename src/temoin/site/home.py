"""The home page's lists: the urgent cases, then the latest published ones, filled in at
the markers a hand-written home page holds (engine-neutral)."""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any

from temoin.site import pages

if TYPE_CHECKING:
    from temoin.site import generate

HOME_MARKERS = ("<!-- temoin:alerts -->", "<!-- temoin:latest -->")


def home_lists(inp: generate.SiteInput) -> tuple[list[Any], list[Any]]:
    """The urgent cases and the 10 newest, newest first (the same ten as sorting every
    case: sort keys end with the id, so there are no ties)."""
    urgent = pages.newest_first(c for c in inp.published if c.meta.get("urgent"))
    return urgent, heapq.nlargest(10, inp.published, key=pages.sort_key)


def home_blocks(markdown: str, src: str, lang: str, inp: generate.SiteInput,
                lists: tuple[list[Any], list[Any]] | None = None) -> str:
    """Fill the home page markers: urgent alerts first, then the latest published cases.
    `lists`: `home_lists(inp)`, when the caller made them once for every language."""
    from temoin.site.text import inline

    def items(cases: list[Any]) -> str:
        rows = "".join(
            f"<li><a href=\"{inline(pages.rel(src, pages.case_path(c.id, inp.cfg, lang)))}\">"
            f"{inline(c.title(lang))}</a> — {inline(pages.event_date(c, lang))}, "
            f"{inline(pages.place_label(c, lang))}</li>" for c in cases)
        return f"<ul class=\"temoin-home-list\" markdown=\"0\">{rows}</ul>"

    urgent, newest = lists or home_lists(inp)
    alerts = ""
    if urgent:
        alerts = (f"<div class=\"admonition danger temoin-alerts\" markdown=\"0\">"
                  f"<p class=\"admonition-title\">{pages.t('urgent', lang)}</p>"
                  f"{items(urgent)}</div>")
    latest = items(newest) if newest else f"<p>{pages.t('no_cases', lang)}</p>"
    return markdown.replace(HOME_MARKERS[0], alerts).replace(HOME_MARKERS[1], latest)
