"""Urgent alerts: published cases flagged `urgent: true` (a risk of torture, disappearance
or death now), newest first, on their own page and at the top of the home page, until an
editor lifts the flag (`temoin case set ID urgent=false`)."""

from __future__ import annotations

from temoin.cases import Case
from temoin.config import Config
from temoin.site import Page, pages
from temoin.site.pages import front, prefix, rel, t
from temoin.site.text import inline

SLUG = {"fr": "alertes", "en": "alerts"}


def path(lang: str, cfg: Config) -> str:
    return f"{prefix(lang, cfg)}{SLUG[lang]}/index.md"


def urgent(published: list[Case]) -> list[Case]:
    """Published cases under an urgent alert, newest event first (as on the home page)."""
    return pages.newest_first(c for c in published if c.meta.get("urgent") is True)


def _situation(case: Case, lang: str) -> str:
    from temoin.cases import vocab

    totals: dict[str, int] = {}  # one total a situation: "Libre (3)", not "Libre (1), Libre (2)"
    for v in case.meta.get("victims") or []:
        status = str(v.get("status_now", "unknown"))
        totals[status] = totals.get(status, 0) + int(v.get("count", 1))
    return ", ".join(f"{vocab.label('victim_status', s, lang)} ({n})"
                     for s, n in totals.items())


def item(case: Case, page: str, lang: str, cfg: Config) -> str:
    """One alert: linked title, date and place, situation, summary."""
    link = rel(page, pages.case_path(case.id, cfg, lang))
    summary = (case.meta.get("summary") or {}).get(lang) or \
        (case.meta.get("summary") or {}).get(cfg.default_language, "")
    colon = t("colon", lang)
    return (f"<li class=\"temoin-alert\"><a href=\"{inline(link)}\"><strong>"
            f"{inline(case.title(lang))}</strong></a><br>"
            f"{inline(pages.event_date(case, lang))} — {inline(pages.place_label(case, lang))}"
            f"<br>{inline(t('status_now', lang) + colon)} {inline(_situation(case, lang))}"
            + (f"<br>{inline(summary)}" if summary else "") + "</li>")


def page(published: list[Case], cfg: Config, lang: str) -> Page:
    """The alerts page in `lang` (short: only flagged cases are on it)."""
    here = path(lang, cfg)
    title = t("alerts_title", lang)
    cases = urgent(published)
    feed = rel(here, f"{prefix(lang, cfg)}feeds/alerts.xml")
    body = [front(title, description=t("alerts_intro", lang)),
            "<div class=\"temoin-alerts-page\" markdown=\"0\">",
            f"<p>{inline(t('alerts_intro', lang))}</p>",
            f"<p><a href=\"{inline(feed)}\" type=\"application/atom+xml\">"
            f"{inline(t('feed_link', lang))}</a></p>"]
    if cases:
        body.append("<ul class=\"temoin-alert-list\">"
                    + "".join(item(c, here, lang, cfg) for c in cases) + "</ul>")
    else:
        body.append(f"<p>{inline(t('no_alerts', lang))}</p>")
    body.append("</div>\n")
    return Page(here, "".join(body), title)


def pages_for(published: list[Case], cfg: Config) -> list[Page]:
    """The alerts page in every language."""
    return [page(published, cfg, lang) for lang in cfg.languages]
