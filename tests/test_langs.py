"""One site per language: counterparts, navigation, plurals (site/langs.py, pages.tn);
in the built demo, French typography on French pages and English links on English ones."""

from __future__ import annotations

import posixpath
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from temoin.cases import vocab
from temoin.config import Config
from temoin.site import langs, pages, submit_ui
from temoin.site.text import french_spacing
from tests.demo_fixtures import demo_site

CFG = Config(repo=Path("."))


@pytest.mark.parametrize(("path", "to", "want"), [
    ("statistiques/index.md", "en", "en/statistics/index.md"),
    ("en/statistics/index.md", "fr", "statistiques/index.md"),
    ("cases/BI-2025-ABC.md", "en", "en/cases/BI-2025-ABC.md"),
    ("cases/year/2025.md", "en", "en/cases/year/2025.md"),
    ("methode.md", "en", "en/method.md"),
    ("en/about.md", "fr", "a-propos.md"),
    ("index.md", "en", "en/index.md"),
    ("en/submit/index.md", "fr", "temoigner/index.md"),
])
def test_counterpart_maps_sections(path: str, to: str, want: str) -> None:
    assert langs.counterpart(path, to, CFG) == want


def test_counterpart_falls_back_to_home() -> None:
    assert langs.counterpart("notes.md", "en", CFG, {"en/index.md"}) == "en/index.md"


def test_translate_nav_keeps_only_existing_pages() -> None:
    nav = [{"Accueil": "index.md"}, {"Statistiques": "statistiques/index.md"},
           {"Méthode": "methode.md"}]
    exists = {"en/index.md", "en/statistics/index.md"}
    assert langs.translate_nav(nav, "en", CFG, exists, {"en/index.md": "Home"}) == \
        [{"Home": "en/index.md"}, "en/statistics/index.md"]


@pytest.mark.parametrize(("n", "fr", "en"), [
    (0, "0 personne", "0 people"), (1, "1 personne", "1 person"),
    (2, "2 personnes", "2 people"), (1000, "1000 personnes", "1000 people")])
def test_plural_follows_each_language(n: int, fr: str, en: str) -> None:
    assert pages.tn("persons", n, "fr") == fr
    assert pages.tn("persons", n, "en") == en


@pytest.mark.parametrize(("n", "fr"), [(0, "0 indépendante"), (1, "1 indépendante"),
                                       (2, "2 indépendantes"), (37, "37 indépendantes")])
def test_agreement_follows_gender(n: int, fr: str) -> None:
    assert pages.tn("independent", n, "fr") == fr  # a source is feminine
    assert pages.tn("count_cases", n, "fr") == f"{n} cas"


@pytest.fixture
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository's fictional demo, built once per session (demo_fixtures.demo_site)."""
    return demo_site(tmp_path_factory)


_HIDDEN = {"script", "style", "code", "pre", "svg", "template", "textarea"}
_BLOCK = {"p", "div", "li", "td", "th", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "br",
          "section", "nav", "header", "footer", "ul", "ol", "table", "dt", "dd", "label",
          "option", "button", "figcaption", "caption", "summary", "details", "main",
          "article", "aside", "legend", "fieldset"}


class _Page(HTMLParser):
    """A page's visible text (and accessible names), and its links with their attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden = 0
        self.text: list[str] = []
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.hidden += tag in _HIDDEN
        self.text.append("\n" if tag in _BLOCK else "")
        self.text += [f"\n{a[k]}\n" for k in ("aria-label", "title", "alt", "placeholder")
                      if a.get(k)]
        if tag == "a" and a.get("href"):
            self.links.append(a)

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in _HIDDEN
        self.text.append("\n" if tag in _BLOCK else "")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.text.append(data)


def _read(path: Path) -> _Page:
    p = _Page()
    p.feed(path.read_text(encoding="utf-8"))
    return p


# A mark glued to its word ("année:", "«mot"): a colon, semicolon, ? or ! followed by a
# space or the end (so not a URL, a time or a ratio), a closing », an opening «.
GLUED = re.compile(r"\w[:;?!](?!\S)|\w»|«\w")


def test_french_pages_space_their_punctuation(demo: Path) -> None:
    glued = {}
    for page in sorted(demo.rglob("*.html")):
        if page.is_relative_to(demo / "en"):
            continue
        text = "".join(_read(page).text)
        for m in GLUED.finditer(text):
            glued.setdefault(text[max(m.start() - 30, 0):m.end() + 10],
                             str(page.relative_to(demo)))
    assert not glued, glued


def test_french_interface_strings_use_no_break_spaces() -> None:
    ordinary = re.compile(r" [:;?!»]|« ")
    texts = {f"ui.{k}": v["fr"] for k, v in pages._ui().items()
             if isinstance(v, dict) and isinstance(v.get("fr"), str)}
    texts |= {f"vocab.{name}.{code}": vocab.label(name, code, "fr")
              for name in vocab.vocabularies() for code in vocab.terms(name)}
    texts |= {f"submit.{k}": v for table in (submit_ui.UI, submit_ui.CONSENT_HELP, submit_ui.JS_UI)
              for k, v in table["fr"].items()}
    assert not {k: v for k, v in texts.items() if ordinary.search(v)}
    assert pages.t("colon", "fr") == "\u00a0:" and pages.t("colon", "en") == ":"
    english = [v["en"] for v in pages._ui().values() if isinstance(v, dict) and "en" in v]
    assert not any("\u00a0" in str(e) or "\u202f" in str(e) for e in english)
    assert french_spacing("« Oui » ; non ? Si ! Note : 10:30, https://x.org/?a=1") == \
        "«\u00a0Oui\u00a0»\u202f; non\u202f? Si\u202f! Note\u00a0: 10:30, https://x.org/?a=1"


def test_english_pages_link_only_english_pages_but_the_language_switch(demo: Path) -> None:
    wrong = {}
    pages_seen = 0
    for page in sorted((demo / "en").rglob("*.html")):
        pages_seen += 1
        here = page.parent.relative_to(demo).as_posix()
        for a in _read(page).links:
            href = str(a["href"])
            target = posixpath.normpath(posixpath.join(here, href.split("#")[0]))
            if re.match(r"[a-z][a-z0-9+.-]*:|#|//", href) or not href.split("#")[0]:
                continue  # another site, or this page
            if a.get("hreflang") == "fr" and a.get("lang") == "fr":
                continue  # the language switch says where it goes
            is_page = href.endswith("/") or href.endswith(".html") or "." not in \
                posixpath.basename(target)
            if is_page and target != "en" and not target.startswith("en/"):
                wrong.setdefault(f"{href} -> {target}", str(page.relative_to(demo)))
    assert pages_seen > 30 and not wrong, wrong
