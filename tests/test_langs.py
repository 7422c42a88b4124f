"""One site per language: counterparts, navigation, plurals (site/langs.py, pages.tn)."""

from __future__ import annotations

from pathlib import Path

import pytest

from temoin.config import Config
from temoin.site import langs, pages

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
