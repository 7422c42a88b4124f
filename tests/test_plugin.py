"""The plugin's raw-HTML pass-through: a generated page it does not hand to Markdown must
come out exactly as Markdown (with the site's extensions) and MkDocs would have made it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import markdown
import pytest
from mkdocs.structure.pages import _HTMLHandler

from temoin import cache as cache_mod
from temoin.site import plugin, text
from tests.conftest import REPO_ROOT
from tests.helpers import cache_path, cache_payload

EXTENSIONS = ["attr_list", "md_in_html", "tables", "admonition", "toc"]
TRICKY = text.narrative("# Titre\n\nUn *texte* <b>brut</b> & [lien](https://exemple.org).\n\n"
                        "    code\n\n    encore du code\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")

PASSED_THROUGH = [
    '<article class="temoin-case" markdown="0"><p>x</p></article>\n',
    f'<article class="temoin-case" markdown="0"><div data-search-exclude>{TRICKY}'
    '<section lang="en" id="en"><h2>Facts</h2></section></div></article>\n',
    '<div class="temoin-bulletin" markdown="0"><div class="w"><table><tr><td>1</td></tr>'
    '</table></div>\n<h2 id="chiffres" data-search-exclude>Chiffres</h2>\n\n<p>a</p>'
    '<a name="ancre">x</a><nav><a href="../">B</a></nav></div>\n',
]
NOT_PASSED = [
    "# Markdown\n\ntext\n",
    '<div markdown="0"><p>a</p></div>\n<div markdown="0"><p>b</p></div>\n',
    '<div markdown="0"><p>a</p></div>\n\nMore *text*.\n',
    '<div markdown="1"><p>a</p></div>\n',
    '<div markdown="0"><pre>\ttab</pre></div>\n',
    '<div markdown="0"><p>a</p>\n   \n<p>b</p></div>\n',
    '<span markdown="0">a</span>\n',
]


def _markdown(body: str) -> str:
    return markdown.Markdown(extensions=EXTENSIONS,
                             extension_configs={"toc": {"permalink": False}}).convert(body)


@pytest.mark.parametrize("body", PASSED_THROUGH)
def test_raw_html_equals_what_markdown_makes(body: str):
    raw = plugin.raw_html(body)
    assert raw is not None
    assert raw == _markdown(body)
    scan = _HTMLHandler()
    scan.feed(body)
    scan.close()
    assert plugin.anchor_ids(raw) == scan.present_anchor_ids


@pytest.mark.parametrize("body", NOT_PASSED)
def test_raw_html_leaves_anything_else_to_markdown(body: str):
    assert plugin.raw_html(body) is None


def test_site_extensions_are_the_ones_checked():
    """If mkdocs.yml's Markdown extensions change, the equivalence above must be rechecked."""
    for path in (REPO_ROOT / "mkdocs.yml", REPO_ROOT / "src/temoin/data/scaffold/mkdocs.yml"):
        conf = path.read_text(encoding="utf-8")
        block = conf.split("markdown_extensions:", 1)[1].split("\n\n", 1)[0]
        assert [ln.strip("- ").split(":")[0] for ln in block.strip().splitlines()] == \
            EXTENSIONS, path


@contextlib.contextmanager
def saved_narratives(repo: Path, prune: bool = True) -> Iterator[text.MarkdownCache]:
    """The repo's saved narratives, as a build's `Generation` holds them, saved at the end."""
    saved = text.MarkdownCache.open(repo)
    yield saved
    saved.save(prune)


def test_narrative_cache_gives_the_same_html_and_still_sanitises(tmp_path):
    """The build's cache of narratives' Markdown: same HTML as without it, an edit is
    converted again, and an entry forged on disk still goes through the allow-list."""
    source = "Un *récit* <script>alert(1)</script> et [lien](https://exemple.org)."
    plain = text.narrative(source)
    with saved_narratives(tmp_path) as saved:
        assert text.narrative(source, saved) == plain
    cache = cache_path(tmp_path, text.NARRATIVES.name)
    assert cache.is_file() and not (tmp_path / ".temoin").exists()
    with saved_narratives(tmp_path) as saved:
        assert text.narrative(source, saved) == plain
        again = text.narrative(source + " Ajout.", saved)
        assert text.narrative(source + " Ajout.", saved) == again
    data = json.loads(cache_payload(cache))
    assert len(data) == 2
    for key in data:
        data[key] = "<p onclick=\"x()\">forgé</p><script>alert(2)</script>"
    # Written by hand (no HMAC under this folder's key): ignored.
    head = cache.read_bytes().split(b"\n", 1)[0]
    cache.write_bytes(head + b"\n" + json.dumps(data).encode())
    with saved_narratives(tmp_path) as saved:
        assert text.narrative(source, saved) == plain
    # Even an authenticated entry goes through the allow-list.
    store = cache_mod.Store.open(tmp_path)
    assert store is not None
    store.file(text.NARRATIVES).save(json.dumps(data).encode())
    with saved_narratives(tmp_path) as saved:
        forged = text.narrative(source, saved)
    assert "forgé" in forged and "<script" not in forged and "onclick" not in forged
    cache.write_text("{not json")
    with saved_narratives(tmp_path) as saved:
        assert text.narrative(source, saved) == plain


def test_narrative_cache_is_pruned_by_full_builds_only(tmp_path):
    """A preview rebuild renders only the cases that changed: it must not drop the
    others' entries; a full build keeps only what it used."""
    with saved_narratives(tmp_path) as saved:
        text.narrative("Premier récit.", saved)
        text.narrative("Second récit.", saved)
    cache = cache_path(tmp_path, text.NARRATIVES.name)
    with saved_narratives(tmp_path, prune=False) as saved:
        text.narrative("Second récit, modifié.", saved)
    assert len(json.loads(cache_payload(cache))) == 3
    with saved_narratives(tmp_path) as saved:
        text.narrative("Second récit, modifié.", saved)
    assert len(json.loads(cache_payload(cache))) == 1


def test_search_index_sorted_by_page_title_sections_kept_with_their_page(tmp_path):
    """Material takes a page's first entry as the page and its `#` entries as sections:
    sorting must move each page with its sections, in their order, and lose nothing."""
    docs = [{"location": "", "title": "Accueil", "text": "é"},
            {"location": "#derniers", "title": "Derniers cas", "text": ""},
            {"location": "cases/BI-2/", "title": "Torture à Gitega", "text": "b"},
            {"location": "a-propos/", "title": "À propos", "text": ""},
            {"location": "a-propos/#equipe", "title": "Zèbre", "text": ""},
            {"location": "cases/BI-1/", "title": "Torture à Gitega", "text": "a"},
            {"location": "bulletins/", "title": "Bulletins", "text": ""}]
    index = tmp_path / "search_index.json"
    index.write_text(json.dumps({"config": {"lang": ["fr"]}, "docs": docs}))
    plugin.compact_search_index(index)
    raw = index.read_text(encoding="utf-8")
    assert "é" in raw and "\\u00e9" not in raw
    written = json.loads(raw)
    assert written["config"] == {"lang": ["fr"]}
    assert [d["location"] for d in written["docs"]] == [
        "", "#derniers", "bulletins/", "cases/BI-1/", "cases/BI-2/", "a-propos/",
        "a-propos/#equipe"]
    assert sorted(map(json.dumps, written["docs"])) == sorted(map(json.dumps, docs))
