"""The honest baseline: bare MkDocs + Material with Témoin's theme settings (palette,
features, language, Markdown extensions, stylesheet, search in French and English), pages
out of `nav:` like Témoin's case pages, no temoin plugin and so none of Témoin's template
overrides (they need the plugin's filters), over as many Markdown pages as Témoin's
site has HTML pages. Each page holds the public text a reader sees on one case page, in
one language: title, summary, the facts as a short list, the narrative. Pages cycle
through the published cases (French first, then English, then French again), so the
baseline renders the text Témoin publishes, neither padded to the length of Témoin's pages
nor doubled by language. What `temoin build` costs on top of this is Témoin's own cost.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from temoin import cases
from temoin.cases import vocab

LABELS = {"fr": ("Date des faits", "Lieu", "Actes", "Victimes", "Auteurs présumés",
                 "Vérification", "Sources"),
          "en": ("Date of events", "Place", "Acts", "Victims", "Alleged perpetrators",
                 "Verification", "Sources")}


def _text(meta: dict[str, Any], lang: str) -> str:
    return str((meta.get(lang) if isinstance(meta, dict) else meta) or "")


def page(case: cases.Case, lang: str) -> str:
    """The Markdown of one case's public text in `lang`."""
    m = case.meta
    event = m.get("event") or {}
    loc = event.get("location") or {}
    place = ", ".join(str(p) for p in (loc.get("admin2"), loc.get("admin1"),
                                       vocab.country_label(str(loc.get("country")), lang))
                      if p)
    acts = list(dict.fromkeys(vocab.label("acts", str(a.get("type")), lang)
                              for a in m.get("acts") or []))
    perps = list(dict.fromkeys(vocab.label("perpetrator_types", str(p.get("type")), lang)
                               for p in m.get("perpetrators") or []))
    victims = sum(int(v.get("count") or 1) for v in m.get("victims") or [])
    values = (event.get("date_start"), place, ", ".join(acts), victims, ", ".join(perps),
              vocab.label("verification", str(m.get("verification")), lang),
              (m.get("sources") or {}).get("count"))
    facts = "\n".join(f"- **{k}**: {v}" for k, v in zip(LABELS[lang], values, strict=True))
    return (f"# {_text(m.get('title'), lang)}\n\n{_text(m.get('summary'), lang)}\n\n"
            f"{facts}\n\n{case.narrative.strip()}\n")


def make(repo: Path, site: Path, dest: Path) -> tuple[Path, int]:
    """Write `dest/mkdocs.yml` and `dest/docs/` for Témoin's built `site` of `repo`;
    (dest, number of Markdown pages)."""
    html = sum(1 for _ in site.rglob("*.html"))
    ids = sorted(p.parent.name for p in (site / "cases").glob("*/index.html")
                 if (repo / "cases" / p.parent.name / cases.PUBLIC).is_file())
    shown = [cases.load_file(repo / "cases" / cid / cases.PUBLIC) for cid in ids]
    if not shown:
        raise SystemExit(f"{site}: no case page to take the baseline's text from")
    shutil.rmtree(dest, ignore_errors=True)
    docs = dest / "docs"
    src = repo / "site_src"
    shutil.copytree(src / "assets", docs / "assets")
    cfg = yaml.safe_load((repo / "mkdocs.yml").read_text(encoding="utf-8"))
    # As many entries in nav: as Témoin's (Material renders the nav on every page), each
    # a page of the baseline; the others out of nav, as Témoin's case pages are.
    titles = [k for item in cfg.get("nav") or [] for k in item]
    # MkDocs + Material write 404.html on their own: one Markdown page fewer than the HTML.
    count = max(html - 1, len(titles))
    nav = []
    for i in range(count):
        case = shown[i % len(shown)]
        lang = ("fr", "en")[(i // len(shown)) % 2]
        name = ("index.md" if i == 0 else f"p{i}.md") if i < len(titles) \
            else f"cases/{i:06d}-{lang}.md"
        if i < len(titles):
            nav.append({titles[i]: name})
        f = docs / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(page(case, lang), encoding="utf-8")
    theme = {k: v for k, v in cfg["theme"].items() if k != "custom_dir"}
    theme["font"] = False  # as Témoin's: no Google Fonts
    extra = {**cfg.get("extra", {}), "generator": False}
    out = {
        "site_name": cfg["site_name"], "docs_dir": "docs", "use_directory_urls": True,
        "theme": theme, "extra": extra, "extra_css": cfg.get("extra_css", []),
        "markdown_extensions": cfg.get("markdown_extensions", []),
        "not_in_nav": "/cases/\n",
        "nav": nav, "plugins": [{"search": {"lang": ["fr", "en"]}}],
    }
    (dest / "mkdocs.yml").write_text(yaml.safe_dump(out, allow_unicode=True, sort_keys=False),
                                     encoding="utf-8")
    return dest, count
