"""Atom feeds (RFC 4287) of bulletins and urgent alerts, made with feedgen.

* Stable ids: `urn:uuid:` version-5 UUIDs derived from the case id or the bulletin period
  (and the organisation, for bulletins), so an entry keeps its id across builds, hosts and
  mirrors; they never depend on `site_url`.
* Dates come from the cases (event, publication, update, withdrawal dates). An empty feed
  (no urgent alert now) is as recent as the site's last public change, the latest
  publication, update or withdrawal: the day an alert was lifted is nowhere public, and
  1970-01-01 (what an unset SOURCE_DATE_EPOCH gave) told feed readers the feed was dead.
  Before anything was published: SOURCE_DATE_EPOCH, else the build day (as MkDocs' sitemap).
  feedgen's default "now" is always overridden, so two builds give the same bytes.
* Links: absolute when `site_url` is set; otherwise relative to the feed file (valid Atom:
  an IRI reference is resolved against the feed's own address, RFC 4287 §4.2.7, RFC 3986).
* Each language has its feeds: `feeds/*.xml` (default language) and `en/feeds/*.xml`.
"""

from __future__ import annotations

import datetime as dt
import os
import posixpath
import uuid
from collections.abc import Iterable

from feedgen.feed import FeedGenerator

from temoin import __version__
from temoin.cases import Case, vocab
from temoin.config import Config
from temoin.site import Asset, pages
from temoin.site.alerts import path as alerts_path
from temoin.site.alerts import urgent
from temoin.site.bulletins.doc import key_figures, short, summary, title
from temoin.site.bulletins.plan import Plan, bulletin_path, withdrawn_day
from temoin.site.pages import prefix, t

MAX_ENTRIES = 50
NS = uuid.UUID("5b0f6f3e-4a8e-5c3b-9d1e-74656d6f696e")  # Témoin's own UUID namespace


def feed_path(name: str, lang: str, cfg: Config) -> str:
    return f"{prefix(lang, cfg)}feeds/{name}.xml"


def stable_id(*parts: str) -> str:
    """A urn:uuid that depends only on `parts` (uuid5 in Témoin's namespace)."""
    return uuid.uuid5(NS, "\x1f".join(parts)).urn


def _stamp(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def empty_stamp(last_change: dt.date | None = None) -> dt.datetime:
    """`updated` of a feed with no entry: the site's last public change, else
    SOURCE_DATE_EPOCH, else midnight UTC of the build day."""
    if last_change is not None:
        return _stamp(last_change)
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if raw.isdigit():
        return dt.datetime.fromtimestamp(int(raw), dt.UTC)
    return _stamp(dt.datetime.now(dt.UTC).date())


def last_change(plan: Plan, published: list[Case]) -> dt.date | None:
    """The latest publication, update or withdrawal date of what the site shows."""
    days = _dates([d for c in published for d in (c.meta.get("published"),
                                                  c.meta.get("updated"))])
    days += _dates(withdrawn_day(c) for b in plan.bulletins for c in b.corrected)
    return max(days) if days else None


def _href(cfg: Config, feed: str, target: str) -> str:
    """Link from the feed at `feed` to a docs path or file: absolute with site_url."""
    dest = pages.url(target) if target.endswith(".md") else target
    if cfg.site_url:
        return cfg.site_url.rstrip("/") + "/" + dest
    return posixpath.relpath(dest or ".", posixpath.dirname(feed)) + (
        "/" if dest.endswith("/") else "")


def _dates(values: Iterable[object]) -> list[dt.date]:
    return [v for v in values if isinstance(v, dt.date)]


def _feed(cfg: Config, lang: str, name: str, title: str, home: str) -> FeedGenerator:
    path = feed_path(name, lang, cfg)
    fg = FeedGenerator()
    fg.id(stable_id("feed", cfg.case_prefix, cfg.organisation, name, lang))
    fg.title(title)
    fg.author({"name": cfg.organisation})
    fg.language(lang)
    fg.generator("Témoin", version=__version__)
    fg.link(href=_href(cfg, path, path), rel="self", type="application/atom+xml")
    fg.link(href=_href(cfg, path, home), rel="alternate", type="text/html")
    return fg


def _finish(fg: FeedGenerator, stamps: list[dt.datetime], path: str,
            last: dt.date | None) -> Asset:
    fg.updated(max(stamps) if stamps else empty_stamp(last))
    return Asset(path, fg.atom_str(pretty=True))


def bulletins_feed(plan: Plan, cfg: Config, lang: str, last: dt.date | None = None
                   ) -> Asset:
    """The latest bulletins, newest first."""
    from temoin.site.bulletins import index_path

    path = feed_path("bulletins", lang, cfg)
    fg = _feed(cfg, lang, "bulletins", t("feed_bulletins", lang, org=cfg.organisation),
               index_path(lang, cfg))
    stamps = []
    latest = plan.bulletins[-MAX_ENTRIES:]
    for b in latest:  # feedgen prepends each entry: oldest first gives newest on top
        e = fg.add_entry()
        e.id(stable_id("bulletin", cfg.case_prefix, cfg.organisation, b.key, lang))
        e.title(title(b, lang))
        e.link(href=_href(cfg, path, bulletin_path(b.key, lang, cfg)), rel="alternate",
               type="text/html")
        lines = [summary(b, lang), *[" ".join(x) for x in key_figures(
            b, plan.previous(b), lang)]]
        e.summary(" · ".join(lines))
        e.published(_stamp(b.period.end))
        stamp = _stamp(b.updated)
        e.updated(stamp)
        e.category(term=b.key, label=short(b, lang))
        stamps.append(stamp)
    return _finish(fg, stamps, path, last)


def alerts_feed(published: list[Case], cfg: Config, lang: str, last: dt.date | None = None
                ) -> Asset:
    """Published cases under an urgent alert (an entry disappears when the flag is lifted)."""
    path = feed_path("alerts", lang, cfg)
    fg = _feed(cfg, lang, "alerts", t("feed_alerts", lang, org=cfg.organisation),
               alerts_path(lang, cfg))
    stamps = []
    for c in reversed(urgent(published)[:MAX_ENTRIES]):
        e = fg.add_entry()
        e.id(stable_id("alert", c.id, lang))
        e.title(c.title(lang))
        e.link(href=_href(cfg, path, pages.case_path(c.id, cfg, lang)), rel="alternate",
               type="text/html")
        s = (c.meta.get("summary") or {})
        situation = ", ".join(
            f"{vocab.label('victim_status', v.get('status_now', 'unknown'), lang)} "
            f"({v.get('count', 1)})" for v in c.meta.get("victims") or [])
        e.summary(" — ".join(x for x in (pages.event_date(c, lang),
                                         pages.place_label(c, lang),
                                         s.get(lang) or s.get(cfg.default_language) or "",
                                         situation) if x))
        days = _dates([c.meta.get("published"), c.meta.get("updated"), c.date,
                       *[iv.get("date") for iv in c.meta.get("interventions") or []]])
        pub = _dates([c.meta.get("published")])
        e.published(_stamp(pub[0] if pub else max(days)))
        stamp = _stamp(max(days))
        e.updated(stamp)
        for a in pages.act_types(c):
            e.category(term=a, label=vocab.label("acts", a, lang))
        stamps.append(stamp)
    return _finish(fg, stamps, path, last)


def assets(plan: Plan, published: list[Case], cfg: Config) -> list[Asset]:
    """Both feeds in every language."""
    out = []
    last = last_change(plan, published)
    for lang in cfg.languages:
        out += [bulletins_feed(plan, cfg, lang, last), alerts_feed(published, cfg, lang, last)]
    return out
