"""Publication gates over small hand-made sites and a real Material build."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from temoin import cache as cache_mod
from temoin import gates as checks
from temoin import script_policy
from temoin.gates import bounds, scanner
from temoin.gates import matching as can
from temoin.site import csp, media
from tests.helpers import cache_payload

CASE = "BI-2025-K7QX2M"
NAME = "Jean Ndayisenga"
CANARY = checks.Canary(NAME, CASE, "victims.0.full_name")
PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Cas</title>
<link rel="stylesheet" href="/assets/stylesheets/main.css">{head}</head>
<body><article>{body}</article>
<script src="/assets/javascripts/bundle.js"></script></body></html>
"""


def page(body: str = "<p>Récit anonymisé.</p>", head: str = "") -> str:
    """A small page like the theme's, with our CSP injected."""
    return csp.inject(PAGE.format(body=body, head=head))


def site(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    """Write `files` (relative path -> content) into a fresh site folder."""
    root = tmp_path / "site"
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
    return root


def gates(findings: list[checks.Finding]) -> set[tuple[str, str]]:
    return {(f.gate, f.path) for f in findings}


def run(root: Path, **kw: object) -> list[checks.Finding]:
    kw.setdefault("canaries", [CANARY])
    kw.setdefault("forbidden_ids", [])
    return checks.run(root, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def material_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real `mkdocs build` with Material (fonts off), CSP injected in every page."""
    root = tmp_path_factory.mktemp("material")
    (root / "docs" / "cases").mkdir(parents=True)
    (root / "mkdocs.yml").write_text(
        "site_name: Témoin test\ntheme: {name: material, language: fr, font: false,\n"
        "  features: [navigation.sections, search.suggest],\n"
        "  palette: {scheme: default, primary: indigo}}\n"
        "plugins: [{search: {lang: [fr, en]}}]\nextra: {generator: false}\n"
        "markdown_extensions: [attr_list, md_in_html, tables, admonition]\n", encoding="utf-8")
    (root / "docs" / "index.md").write_text("# Bulletin\n\nDes faits graves à Gitega.\n",
                                            encoding="utf-8")
    (root / "docs" / "cases" / "BI-2025-AAAAAA.md").write_text(
        "# Arrestation arbitraire\n\nUn homme adulte arrêté par des agents du SNR.\n",
        encoding="utf-8")
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-d", "site"], cwd=root,
                   check=True, capture_output=True)
    csp.inject_site(root / "site")
    return root / "site"


# -- a clean site passes ----------------------------------------------------------------------

def test_run_passes_clean_material_site(material_site: Path) -> None:
    findings = checks.run(material_site, canaries=[CANARY], forbidden_ids=["BI-2025-ZZZZZZ"])
    assert findings == []


def test_run_flags_material_site_without_csp(tmp_path: Path) -> None:
    root = site(tmp_path, {"index.html": PAGE.format(body="<p>x</p>", head="")})
    assert gates(run(root)) == {("csp", "index.html")}


# -- canary -----------------------------------------------------------------------------------

@pytest.mark.parametrize("rel,content", [
    ("cases/a/index.html", page(f"<p>Victime : {NAME}.</p>")),
    ("cases/b/index.html", page("<p>Victime : J&eacute;an &#78;dayisenga</p>")),
    ("cases/c/index.html", page("<p>JEAN\n   NDAYISENGA</p>")),
    ("cases/d/index.html", page('<p><span class="x">Jean</span> <em>Ndayisenga</em></p>')),
    ("cases/e/index.html", page('<img src="../p.png" alt="Jean Ndayisenga">')),
    ("cases/f/index.html", page('<a href="../?q=Jean%20Ndayisenga">x</a>')),
    ("search/search_index.json", json.dumps({"docs": [{"text": "Jéan Ndayisenga"}]})),
    ("search/raw.json", '{"text": "Je\\u0301an \\u004edayisenga"}'),
    ("feed.xml", "<feed><entry><content type=\"html\">&lt;p&gt;Jean Ndayisenga&lt;/p&gt;"
                 "</content></entry></feed>"),
    ("exports/cases.csv", "id,title\nBI-2025-AAAAAA,\"Jean Ndayisenga, arrêté\"\n"),
    ("charts/chart.svg", "<svg xmlns='http://www.w3.org/2000/svg'><text>Jean Ndayisenga"
                         "</text></svg>"),
    ("assets/app.js", 'const who = "Jean Ndayisenga";'),
    ("cases/jean-ndayisenga/index.html", page()),
])
def test_canary_finds_private_name_however_written(tmp_path: Path, rel: str,
                                                   content: str) -> None:
    root = site(tmp_path, {rel: content})
    found = [f for f in run(root) if f.gate == "canary"]
    assert [f.path for f in found] == [rel]
    assert found[0].detail == f"private value of case {CASE} (victims.0.full_name)"
    assert "Ndayisenga" not in found[0].detail


def test_canary_finds_name_anywhere_in_a_large_file(tmp_path: Path) -> None:
    """Large texts are normalised piece by piece (memory): a name across a cut still counts."""
    filler = "aaaa bbbb, " * (checks.PIECE // 11 + 1)
    files = {f"data/line-{d}.json": filler[:checks.PIECE - d] + " Jean Ndayisenga " + filler
             for d in (1, 6, 12)}  # one line: cut at PIECE, the name across it
    rows = "".join(f"BI-2025-{i:06d},une ligne de données ouvertes\n"
                   for i in range(3 * checks.PIECE // 40))
    files["data/clean.csv"] = rows
    cut = rows.rfind("\n", 0, checks.PIECE)
    files["data/cases.csv"] = rows[:cut - 3] + " Jean Ndayisenga " + rows[cut - 3:]
    found = gates(run(site(tmp_path, files)))
    assert found == {("canary", rel) for rel in files if rel != "data/clean.csv"}


def test_canary_finds_name_in_gzipped_sitemap(tmp_path: Path) -> None:
    xml = "<urlset><url><loc>https://ex.org/cases/jean-ndayisenga/</loc></url></urlset>"
    root = site(tmp_path, {"sitemap.xml.gz": gzip.compress(xml.encode())})
    assert gates(run(root)) == {("canary", "sitemap.xml.gz")}


def test_canary_finds_name_in_pdf_text_and_metadata(tmp_path: Path) -> None:
    from fpdf import FPDF

    def pdf(text: str, author: str) -> bytes:
        doc = FPDF()
        doc.set_compression(True)
        doc.set_author(author)
        doc.add_page()
        doc.set_font("helvetica", size=12)
        doc.cell(text=text)
        return bytes(doc.output())

    body = pdf("Victime : Jean Ndayisenga", "Bulletin")
    assert b"Ndayisenga" not in body  # compressed: a plain grep would miss it
    root = site(tmp_path, {"bulletins/b1.pdf": body,
                           "bulletins/b2.pdf": pdf("Bulletin 2", "Jean Ndayisenga"),
                           "bulletins/ok.pdf": pdf("Bulletin 3", "SOS-Exemple")})
    assert gates(run(root)) == {("canary", "bulletins/b1.pdf"), ("canary", "bulletins/b2.pdf")}


def _pdf_with(catalog_extra: bytes) -> bytes:
    """A minimal one-page PDF whose catalog carries `catalog_extra`."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, o)
    xref = len(out)
    out += b"xref\n0 4\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o
                                                         for o in offsets)
    out += b"trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def test_active_content_flags_pdf_javascript(tmp_path: Path) -> None:
    root = site(tmp_path, {
        "a.pdf": _pdf_with(b"/OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >>"),
        "b.pdf": _pdf_with(b"/OpenAction << /S /J#61vaScript /J#53 (x) >>"),
        "c.pdf": _pdf_with(b"/PageMode /UseNone"),
    })
    found = run(root)
    assert [(f.gate, f.path) for f in found] == [("active-content", "a.pdf"),
                                                 ("active-content", "b.pdf")]
    assert found[0].detail == "PDF declares /JS, /JavaScript, /OpenAction"


def test_canary_ignores_name_inside_longer_word(tmp_path: Path) -> None:
    ali = checks.Canary("Ali", CASE, "victims.0.alias")
    root = site(tmp_path, {"index.html": page("<p>La qualité du rapport, en Italie.</p>")})
    assert run(root, canaries=[ali]) == []
    (root / "index.html").write_text(page("<p>M. Ali a été arrêté.</p>"), encoding="utf-8")
    assert gates(run(root, canaries=[ali])) == {("canary", "index.html")}


def test_canary_finds_phone_with_or_without_country_code(tmp_path: Path) -> None:
    private = {"contacts": ["+257 79 12 34 56"]}
    cans = checks.canaries_from_private(CASE, private)
    for shown in ("+25779123456", "79-12-34-56", "(+257) 79.12.34.56"):
        root = site(tmp_path / shown, {"index.html": page(f"<p>Tél. {shown}</p>")})
        assert gates(run(root, canaries=cans)) == {("canary", "index.html")}, shown
    root = site(tmp_path / "clean", {"index.html": page("<p>Le 12 mars 2025, 34 cas.</p>")})
    assert run(root, canaries=cans) == []


def test_canary_finds_long_sentence_by_either_end(tmp_path: Path) -> None:
    sentence = ("le chauffeur du pick-up blanc immatriculé au nom de la société du cousin de "
                "notre voisin nous a conduits de nuit et sans un mot jusqu'au cachot de la zone")
    words = sentence.split()
    cans = checks.canaries_from_private(CASE, {"testimony": " ".join(words) + "."})
    assert len(words) > 2 * can.WINDOW
    head = " ".join(words[:can.WINDOW]).upper()
    tail = " ".join(words[-can.WINDOW:])
    middle = " ".join(words[3:3 + can.WINDOW - 2])
    root = site(tmp_path, {"a.html": page(f"<p>« {head} »</p>"), "b.html": page(f"<p>{tail}</p>"),
                           "c.html": page(f"<p>{middle}</p>")})
    assert gates(run(root, canaries=cans)) == {("canary", "a.html"), ("canary", "b.html")}


def test_canary_scan_is_one_pass_for_many_values(tmp_path: Path) -> None:
    cans = [checks.Canary(f"Personne Numero{i:05d}", f"BI-2025-{i:06d}", "names.0")
            for i in range(20000)]
    root = site(tmp_path, {f"p{i}.html": page(f"<p>Cas {i}</p>") for i in range(50)})
    (root / "p7.html").write_text(page("<p>personne numero01234</p>"), encoding="utf-8")
    start = time.perf_counter()
    found = run(root, canaries=cans)
    assert time.perf_counter() - start < 10
    assert [(f.path, f.detail) for f in found] == [
        ("p7.html", "private value of case BI-2025-001234 (names.0)")]


def test_canaries_from_private_follows_documented_rule() -> None:
    private = {
        "intake": {"received": "2025-10-04T08:12:00Z", "channel": "email",
                   "submissions": [{"sha256": "ab" * 32, "file": "ab.eml",
                                    "kind": "pgp-mime"}]},
        "subject": "Arrestation de mon frère",
        "testimony": "=== Témoignage (modèle Témoin) ===\nLe 3 octobre 2025. Mon frère a été "
                     "emmené par trois agents devant le marché. Écrivez à kiki@example.org",
        "victims": [{"full_name": "Jean Ndayisenga", "alias": "Kiki", "age": 34}],
        "template": {"place": "colline Mubone", "admin1": "Bujumbura Mairie",
                     "acts": ["arbitrary_arrest"], "date": "2025-10-03"},
        "evidence": [{"name": "IMG_2025.jpg", "sha256": "cd" * 32, "size": 10}],
        "exact_location": {"latitude": -3.42641},
        "notes": "Vu.",
    }
    got = {(c.field, c.value) for c in checks.canaries_from_private(CASE, private)}
    assert got == {
        ("subject", "arrestation de mon frere"),
        ("testimony", "mon frere a ete emmene par trois agents devant le marche"),
        ("testimony", "kiki example org"),
        ("testimony", "ecrivez a kiki example org"),
        # the full name in either order, and its distinctive part alone ("Jean" is common)
        ("victims.0.full_name", "jean ndayisenga"),
        ("victims.0.full_name", "ndayisenga jean"),
        ("victims.0.full_name", "ndayisenga"),
        ("victims.0.alias", ""),            # "Kiki" alone is a common word: not usable
        ("template.place", "colline mubone"),
        ("template.place", "mubone"),       # the hill alone is finer than any precision
        ("evidence.0.name", ""),            # "IMG_2025.jpg" identifies no one
        ("exact_location.latitude", "342641"),
        ("exact_location.latitude", "3 42641"),  # the same with a decimal comma
    }


def test_normalize_decodes_every_escaping() -> None:
    assert can.normalize("J&amp;eacute;an%20\\u004edayisenga") == "jean ndayisenga"
    assert can.fold("ÉCOLE  Ñoño_x") == "ecole nono x"


# -- unpublished cases ------------------------------------------------------------------------

def test_unpublished_flags_forbidden_id_in_link_and_json(tmp_path: Path) -> None:
    root = site(tmp_path, {
        "cases/index.html": page('<a href="bi-2025-zzzzzz/">Cas</a>'),
        "search/search_index.json": json.dumps({"docs": [{"location": "cases/BI-2025-ZZZZZZ/"}]}),
        "ok.html": page("<p>BI-2025-ZZZZZA and BI-2025-ZZZZZZZ are others.</p>"),
    })
    found = checks.run(root, canaries=[], forbidden_ids=["BI-2025-ZZZZZZ"])
    assert gates(found) == {("unpublished-case", "cases/index.html"),
                            ("unpublished-case", "search/search_index.json")}
    assert {f.detail for f in found} == {"id of unpublished case BI-2025-ZZZZZZ"}


# -- third-party requests ---------------------------------------------------------------------

@pytest.mark.parametrize("head,body", [
    ('<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">', ""),
    ('<link rel="preconnect" href="//fonts.gstatic.com">', ""),
    ('<link rel="icon" href="https://cdn.example.net/favicon.png">', ""),
    ('<script src="https://unpkg.com/lib.js"></script>', ""),
    ("", '<img src="https://tracker.example.com/pixel.gif">'),
    ("", '<img src="x.png" srcset="x2.png 2x, https://cdn.example.com/x3.png 3x">'),
    ("", '<img src="/\\evil.example.com/x.png">'),
    ("", '<div style="background: url(\'https://evil.example.com/bg.png\')">x</div>'),
    ("", '<div style="background: u\\72l(https://evil.example.com/bg.png)">x</div>'),
    ("<style>@import 'https://evil.example.com/x.css';</style>", ""),
    ("", '<form action="https://collect.example.com/"><input name="q"></form>'),
    ("", '<video poster="https://evil.example.com/p.jpg"></video>'),
    ("", '<svg><image href="https://evil.example.com/i.png"/></svg>'),
    ("", '<svg><use xlink:href="https://evil.example.com/s.svg#a"/></svg>'),
    ("", '<a href="https://example.org/">an external link without rel</a>'),
    ("", '<a href="https://example.org/" rel="noopener">only noopener</a>'),
    ("", '<a href="x/" ping="https://track.example.com/">x</a>'),
])
def test_third_party_flags_request_leaving_site(tmp_path: Path, head: str, body: str) -> None:
    root = site(tmp_path, {"cases/x/index.html": page(body, head)})
    assert ("third-party", "cases/x/index.html") in gates(run(root))


@pytest.mark.parametrize("css", [
    "body{background:url(https://evil.example.com/a.png)}",
    "@import url('//evil.example.com/x.css');",
    '@import "https://evil.example.com/x.css";',
    "@font-face{src:url(\"https://fonts.gstatic.com/a.woff2\")}",
    "a{background-image:image-set(\"https://evil.example.com/a.png\" 1x)}",
])
def test_third_party_flags_url_in_css_file(tmp_path: Path, css: str) -> None:
    root = site(tmp_path, {"assets/extra.css": css})
    assert gates(run(root)) == {("third-party", "assets/extra.css")}


def test_third_party_allows_relative_same_origin_and_safe_links(tmp_path: Path) -> None:
    body = ('<a href="https://example.org/" rel="noopener noreferrer">ext</a>'
            '<a href="mailto:contact@example.org">mail</a>'
            '<img src="https://bulletin.example.org/assets/logo.png">'
            '<img src="../x.png" srcset="../x.png 1x, ../x2.png 2x">'
            '<svg xmlns="http://www.w3.org/2000/svg"><use href="#icon"/></svg>'
            '<link rel="canonical" href="https://bulletin.example.org/cases/x/">')
    root = site(tmp_path, {
        "cases/x/index.html": page(body),
        "assets/a.css": "/* url(https://in.a.comment/) */ .i{mask-image:url(\"data:image/svg+"
                        "xml;charset=utf-8,<svg xmlns='http://www.w3.org/2000/svg'/>\")}",
    })
    assert run(root, site_url="https://bulletin.example.org/") == []


# -- active content ---------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    '<img src="x.png" onerror="alert(1)">',
    '<img src=x /onerror=alert(1)>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="  JaVa&#x09;ScRiPt:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
    '<img src="data:image/svg+xml;base64,PHN2Zz4=">',
    '<form><button formaction="javascript:alert(1)">x</button></form>',
    "<iframe src=\"../x/\"></iframe>",
    '<object data="x.swf"></object>',
    '<embed src="x.swf">',
    '<base href="/elsewhere/">',
    "<script>alert(1)</script>",
    '<script type="module">import("./x.js")</script>',
    '<script src="../cases/evil.js"></script>',
    '<svg><a href="#"><animate attributeName="href" to="javascript:alert(1)"/></a></svg>',
    '<svg><script>alert(1)</script></svg>',
    # A theme script with an injected value where the theme has a hole:
    '<script>__md_scope=new URL("."+alert(1)+".",location),__md_hash=e=>0</script>',
])
def test_active_content_flags_script_from_case_text(tmp_path: Path, body: str) -> None:
    root = site(tmp_path, {"cases/x/index.html": page(body)})
    assert ("active-content", "cases/x/index.html") in gates(run(root))


@pytest.mark.parametrize("svg", [
    "<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
    "<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
    "<svg xmlns='http://www.w3.org/2000/svg'><a xlink:href='javascript:alert(1)'>x</a></svg>",
    "<svg xmlns='http://www.w3.org/2000/svg'><script><![CDATA[alert(1)]]></script></svg>",
])
def test_active_content_flags_script_in_svg_file(tmp_path: Path, svg: str) -> None:
    root = site(tmp_path, {"charts/c.svg": svg})
    assert gates(run(root)) == {("active-content", "charts/c.svg")}


def test_active_content_flags_svg_loading_external_stylesheet(tmp_path: Path) -> None:
    svg = ('<?xml-stylesheet href="https://evil.example.com/s.css"?>'
           "<svg xmlns='http://www.w3.org/2000/svg'/>")
    root = site(tmp_path, {"charts/c.svg": svg})
    found = run(root)
    assert gates(found) == {("active-content", "charts/c.svg")}
    assert "XML processing instruction" in found[0].detail


def test_active_content_allows_theme_scripts_json_and_own_assets(material_site: Path) -> None:
    html = (material_site / "index.html").read_text(encoding="utf-8")
    scripts = csp.scan(html).scripts
    assert sum(1 for a, b, _ in scripts if script_policy.is_theme_script(b)) >= 2
    assert any(a.get("type") == "application/json" for a, _, _ in scripts)
    assert checks.gate_active_content(material_site) == []


# -- CSP ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("meta", [
    "default-src 'self'; script-src 'self' 'unsafe-inline'",
    "default-src 'self'; style-src 'self' https://fonts.googleapis.com",
    "default-src *",
    "default-src 'self'; script-src 'self' 'unsafe-eval'",
    "default-src 'self'; img-src 'self' https:",
    "script-src 'self'",
])
def test_csp_flags_policy_allowing_more_than_self(tmp_path: Path, meta: str) -> None:
    html = PAGE.format(body="<p>x</p>", head="").replace(
        '<meta charset="utf-8">',
        f'<meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{meta}">')
    root = site(tmp_path, {"index.html": html})
    assert gates(run(root)) == {("csp", "index.html")}


@pytest.mark.parametrize("old,new", [
    ("base-uri 'none'", "base-uri 'self'"),           # a same-origin <base> redirects links
    ("; base-uri 'none'", ""),                        # base-uri has no fallback
    ("; object-src 'none'", ""),                      # object-src falls back to 'self'
    ("form-action 'self'", "form-action *"),
    ("form-action 'self'", "form-action https://collect.example"),
    ("; form-action 'self'", ""),                     # form-action has no fallback
])
def test_csp_requires_base_uri_object_src_and_form_action(tmp_path: Path, old: str,
                                                          new: str) -> None:
    policy = csp.policy()
    assert old in policy
    html = PAGE.format(body="<p>x</p>", head="").replace(
        '<meta charset="utf-8">', '<meta charset="utf-8"><meta http-equiv='
        f'"Content-Security-Policy" content="{policy.replace(old, new)}">')
    root = site(tmp_path, {"index.html": html})
    found = run(root)
    assert gates(found) == {("csp", "index.html")}, found
    assert (site(tmp_path / "ok", {"index.html": html.replace(policy.replace(old, new), policy)})
            and run(tmp_path / "ok" / "site") == [])


def test_csp_form_action_is_none_on_a_page_without_a_form() -> None:
    assert "form-action 'none'" in csp.inject("<html><head></head><body><p>x</p></body></html>")
    assert "form-action 'self'" in csp.inject(
        "<html><head></head><body><FORM\nclass=s><input></FORM></body></html>")
    assert "base-uri 'none'" in csp.inject("<p>x</p>")


def test_csp_flags_meta_after_first_script(tmp_path: Path) -> None:
    html = PAGE.format(body="<p>x</p>", head="").replace(
        "</head>", f'<meta http-equiv="Content-Security-Policy" content="{csp.policy()}"></head>')
    root = site(tmp_path, {"index.html": html})
    assert [f.detail for f in run(root)] == [
        "the CSP meta comes after a script or stylesheet it should cover"]


def test_csp_flags_theme_script_left_unhashed(material_site: Path, tmp_path: Path) -> None:
    html = (material_site / "index.html").read_text(encoding="utf-8")
    stale = csp.META_RE.sub(f'<meta http-equiv="Content-Security-Policy" '
                            f'content="{csp.policy()}">', html)
    root = site(tmp_path, {"index.html": stale})
    assert {f.detail for f in run(root)} == {
        "a theme script is not hashed in script-src (the browser will block it)"}


def test_inject_hashes_theme_scripts_only_and_is_idempotent(material_site: Path) -> None:
    html = (material_site / "index.html").read_text(encoding="utf-8")
    evil = html.replace("</article>", "<script>alert(1)</script></article>", 1)
    assert evil != html
    once = csp.inject(evil)
    assert csp.inject(once) == once
    meta = csp.scan(once).csp_metas
    assert len(meta) == 1
    assert script_policy.hash_source("alert(1)") not in meta[0][1]
    for _attrs, body, _ in csp.scan(once).scripts:
        if script_policy.is_theme_script(body):
            assert script_policy.hash_source(body) in meta[0][1]
    # After <meta charset>, before anything the policy must cover.
    assert once.index('http-equiv="Content-Security-Policy"') < once.index("<script")
    assert once.index("<meta charset") < once.index('http-equiv="Content-Security-Policy"')


def test_inject_hashes_style_attributes_with_unsafe_hashes() -> None:
    html = csp.inject(PAGE.format(body='<li style="list-style-type:none">x</li>', head=""))
    content = csp.scan(html).csp_metas[0][1]
    assert script_policy.hash_source("list-style-type:none") in content
    assert "'unsafe-hashes'" in content
    assert "'unsafe-inline'" not in content


# -- media ----------------------------------------------------------------------------------------

def _jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "S", (3.0, 25.0, 35.0), "E", (29.0, 55.0, 50.0)
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (120, 80, 40)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_media_flags_image_with_gps_and_passes_scrubbed(tmp_path: Path) -> None:
    raw = _jpeg_with_gps()
    root = site(tmp_path, {"cases/x/photo.jpg": raw,
                           "cases/y/photo.jpg": media.scrub(raw, "photo.jpg")})
    found = run(root)
    assert [(f.gate, f.path, f.detail) for f in found] == [
        ("media", "cases/x/photo.jpg", "image carries EXIF, GPS")]


def test_media_flags_svg_with_metadata(tmp_path: Path) -> None:
    svg = ("<svg xmlns='http://www.w3.org/2000/svg'><metadata><rdf:RDF "
           "xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' "
           "xmlns:dc='http://purl.org/dc/elements/1.1/'>"
           "<dc:creator>Someone</dc:creator></rdf:RDF></metadata></svg>")
    root = site(tmp_path, {"img/a.svg": svg})
    assert gates(run(root)) == {("media", "img/a.svg")}


# -- output ----------------------------------------------------------------------------------------

def test_run_caps_findings_per_file_and_names_the_rest(tmp_path: Path) -> None:
    body = "".join(f'<img src="https://t{i}.example.com/p.gif">' for i in range(30))
    root = site(tmp_path, {"index.html": page(body)})
    found = [f for f in run(root) if f.gate == "third-party"]
    assert len(found) == checks.MAX_PER_FILE + 1
    assert found[-1].detail == "... and 10 more"


def test_run_survives_malformed_and_binary_files(tmp_path: Path) -> None:
    root = site(tmp_path, {"a.html": "<html><head><meta charset=utf-8><p <<< onclick= >",
                           "b.json": b"\xff\xfe\x00garbage\x80",
                           "c.zip": b"PK\x03\x04 not really",
                           "d.gz": b"\x1f\x8b broken"})
    found = run(root)
    assert ("csp", "a.html") in gates(found)
    # `<p <<< onclick= >`: a browser reads an (empty) onclick attribute, and so do the gates
    assert ("active-content", "a.html") in gates(found)
    assert {g for g in gates(found) if g[1] != "a.html"} == {
        ("file-type", "b.json"), ("file-type", "c.zip"), ("file-type", "d.gz")}


# -- markup verdict cache --------------------------------------------------------------------------

def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each page the markup gates parse (HTML, SVG, CSS)."""
    parsed: list[str] = []
    for module, name in ((checks.markup, "check_html"), (checks.xml_files, "check_svg")):
        real = getattr(module, name)

        def wrapped(text: str, rel: str, *a: object, _real: object = real) -> None:
            parsed.append(rel)
            _real(text, rel, *a)  # type: ignore[operator]
        monkeypatch.setattr(module, name, wrapped)
    return parsed


def _verdict_file(tmp_path: Path, spec: cache_mod.Spec) -> cache_mod.CacheFile:
    """`spec`'s authenticated cache file in a store made for this test."""
    store = cache_mod.Store.open(tmp_path)
    assert store is not None
    return store.file(spec)


def _cached_site(tmp_path: Path) -> Path:
    return site(tmp_path, {"index.html": page(), "cases/a/index.html": page("<p>Récit.</p>"),
                           "img/logo.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>"})


def test_verdicts_skip_unchanged_pages_but_not_the_canary_scan(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, cache = _cached_site(tmp_path), _verdict_file(tmp_path, checks.MARKUP_VERDICTS)
    parsed = _counting(monkeypatch)
    assert run(root, verdicts=cache) == []
    assert sorted(parsed) == ["cases/a/index.html", "img/logo.svg", "index.html"]
    assert NAME not in cache.path.read_text() and "Récit" not in cache.path.read_text()
    parsed.clear()
    assert run(root, verdicts=cache) == []
    assert parsed == []
    # Canaries change from build to build: a cached page is still scanned for them.
    leak = checks.Canary("Récit anonymisé", CASE, "testimony")
    assert gates(run(root, verdicts=cache, canaries=[leak])) == {("canary", "index.html")}
    assert parsed == []


def test_verdicts_recheck_a_changed_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, cache = _cached_site(tmp_path), _verdict_file(tmp_path, checks.MARKUP_VERDICTS)
    assert run(root, verdicts=cache) == []
    (root / "cases/a/index.html").write_text(
        page('<script src="https://cdn.example.com/x.js"></script>'), encoding="utf-8")
    parsed = _counting(monkeypatch)
    found = run(root, verdicts=cache)
    assert parsed == ["cases/a/index.html"]
    assert ("third-party", "cases/a/index.html") in gates(found)
    # A refused page is never remembered as passed: refused again, parsed again.
    parsed.clear()
    assert ("third-party", "cases/a/index.html") in gates(run(root, verdicts=cache))
    assert parsed == ["cases/a/index.html"]


def test_verdicts_recheck_when_rules_path_or_site_url_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, cache = _cached_site(tmp_path), _verdict_file(tmp_path, checks.MARKUP_VERDICTS)
    assert run(root, verdicts=cache) == []
    parsed = _counting(monkeypatch)
    # Same bytes at another path: a relative URL means something else there.
    (root / "other").mkdir()
    (root / "other" / "index.html").write_bytes((root / "index.html").read_bytes())
    assert run(root, verdicts=cache) == []
    assert parsed == ["other/index.html"]
    parsed.clear()
    assert run(root, verdicts=cache, site_url="https://example.org/") == []
    assert len(parsed) == 4
    parsed.clear()
    other = cache_mod.CacheFile(cache.store, checks.MARKUP_VERDICTS, "changed gate code")
    assert run(root, verdicts=other, site_url="https://example.org/") == []
    assert len(parsed) == 4


def test_cache_versions_cover_the_gate_code() -> None:
    rules = cache_mod.version(checks.MARKUP_VERDICTS)
    assert len(rules) == 64
    assert cache_mod.version(checks.MARKUP_VERDICTS) == rules  # a function of the code
    assert cache_mod.version(checks.CANARY_VERDICTS) != rules


def test_verdicts_ignore_an_unreadable_or_foreign_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, cache = _cached_site(tmp_path), _verdict_file(tmp_path, checks.MARKUP_VERDICTS)
    parsed = _counting(monkeypatch)
    head = b"temoin-cache 1 markup-verdicts.json " + cache.version.encode() + b" " + b"0" * 64
    for junk in (b"\x00not json", b"[1, 2]", head + b"\n[]", head + b'\n["x"]'):
        cache.path.write_bytes(junk)
        parsed.clear()
        assert run(root, verdicts=cache) == []
        assert len(parsed) == 3
    parsed.clear()
    assert run(root, verdicts=cache) == []
    assert parsed == []
    # A cache that cannot be written is no error either.
    cache.path = cache.path / "under-a-file.json"
    assert run(root, verdicts=cache) == []


def test_textual_counts_binary_bytes_like_the_byte_class() -> None:
    import random
    import re

    binary = re.compile(rb"[^\t\n\r\x20-\x7e]")
    rng = random.Random(7)
    for n in (0, 1, 9, 10, 11, 100, 70000):
        for share in (0.0, 0.05, 0.1, 0.11, 0.5, 1.0):
            chunk = bytes(rng.randrange(256) if rng.random() < share else rng.randrange(32, 127)
                          for _ in range(n))
            head = chunk[:65536]
            expected = len(binary.findall(head)) <= len(head) // 10
            assert bounds.textual(chunk) is expected


# -- canary verdict cache --------------------------------------------------------------------------

def _scanned(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each text the canary scan normalises (one or more per file read)."""
    seen: list[str] = []
    real = can.forms

    def wrapped(text: str, markup: bool = True) -> object:
        seen.append(text)
        return real(text, markup)
    monkeypatch.setattr(can, "forms", wrapped)
    return seen


SECRET = bytes(range(32))


def test_canary_verdicts_skip_unchanged_files_and_hold_no_private_value(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, cache = _cached_site(tmp_path), _verdict_file(tmp_path, checks.CANARY_VERDICTS)
    seen = _scanned(monkeypatch)
    assert run(root, canary_verdicts=cache, secret=SECRET) == []
    assert seen
    text = cache.path.read_text()
    assert NAME not in text and can.fold(NAME) not in text and "ndayisenga" not in text
    seen.clear()
    assert run(root, canary_verdicts=cache, secret=SECRET) == []
    assert seen == []
    # Without the secret (or with another one) nothing is skipped.
    assert run(root, canary_verdicts=cache) == [] and seen
    seen.clear()
    assert run(root, canary_verdicts=cache, secret=b"\1" * 32) == [] and seen


def test_canary_verdicts_recheck_a_changed_file_and_refuse_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, cache = _cached_site(tmp_path), _verdict_file(tmp_path, checks.CANARY_VERDICTS)
    assert run(root, canary_verdicts=cache, secret=SECRET) == []
    (root / "cases/a/index.html").write_text(page(f"<p>{NAME} a été arrêté.</p>"),
                                             encoding="utf-8")
    seen = _scanned(monkeypatch)
    found = run(root, canary_verdicts=cache, secret=SECRET)
    assert gates(found) == {("canary", "cases/a/index.html")}
    assert any(NAME in t for t in seen)
    # A refused file is never remembered as passed.
    assert gates(run(root, canary_verdicts=cache, secret=SECRET)) == \
        {("canary", "cases/a/index.html")}


def test_canary_verdicts_recheck_every_file_for_a_new_canary_or_forbidden_id(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, cache = _cached_site(tmp_path), _verdict_file(tmp_path, checks.CANARY_VERDICTS)
    (root / "cases/a/index.html").write_text(page(f"<p>Vu à Mubone, dossier {CASE}.</p>"),
                                             encoding="utf-8")
    assert run(root, canary_verdicts=cache, secret=SECRET) == []
    place = checks.Canary("Mubone", CASE, "victims.0.alias")
    assert gates(run(root, canary_verdicts=cache, secret=SECRET,
                     canaries=[CANARY, place])) == {("canary", "cases/a/index.html")}
    assert run(root, canary_verdicts=cache, secret=SECRET) == []
    assert gates(run(root, canary_verdicts=cache, secret=SECRET, forbidden_ids=[CASE])) == \
        {("unpublished-case", "cases/a/index.html")}
    # The gate code is part of the key too.
    assert run(root, canary_verdicts=cache, secret=SECRET) == []
    seen = _scanned(monkeypatch)
    other = cache_mod.CacheFile(cache.store, checks.CANARY_VERDICTS, "changed gate code")
    assert run(root, canary_verdicts=other, secret=SECRET) == []
    assert seen



def test_large_site_in_worker_processes_refuses_a_leak_and_gives_every_digest(
        tmp_path: Path) -> None:
    """Above 2,000 files the gates run in forked workers, the canary scan only over the
    files without a verdict; a leak or an unpublished id added in one file is refused."""
    import hashlib

    files = {f"cases/c{i:04d}/index.html": page(f"<p>Récit {i}.</p>") for i in range(2100)}
    root, cache = site(tmp_path, files), _verdict_file(tmp_path, checks.CANARY_VERDICTS)
    digests: dict[str, str] = {}
    assert run(root, canary_verdicts=cache, secret=SECRET, jobs=2, digests=digests) == []
    assert digests == {rel: hashlib.sha256((root / rel).read_bytes()).hexdigest()
                       for rel in files}
    (root / "cases/c0007/index.html").write_text(page(f"<p>{NAME} et {CASE}.</p>"),
                                                 encoding="utf-8")
    for _ in range(2):  # the refused file is never remembered as passed
        assert gates(run(root, canary_verdicts=cache, secret=SECRET, jobs=2,
                         forbidden_ids=[CASE])) == {("canary", "cases/c0007/index.html"),
                                                    ("unpublished-case",
                                                     "cases/c0007/index.html")}


def test_canary_scan_refuses_a_file_that_changed_after_the_gates_read_it(
        tmp_path: Path) -> None:
    """The second read (for the canary scan) must see the bytes the other gates saw."""
    root = site(tmp_path, {"index.html": page()})
    state = scanner._Scan([CANARY], [], "", checks.GATES)
    found, key = state.canary_scan(root, "index.html", b"\0" * 32)
    assert gates(found) == {("canary", "index.html")} and key is None


# -- CSP meta memo ---------------------------------------------------------------------------------

def test_csp_memo_gives_what_inject_gives(tmp_path: Path) -> None:
    memo_file = _verdict_file(tmp_path, csp.CSP_META)
    pages = [PAGE.format(body="<p>Récit.</p>", head=""),
             PAGE.format(body="<p style='color:red'>x</p>", head="<style>p{}</style>"),
             page("<p>déjà injectée</p>"),  # holds a meta already: replaced, not doubled
             "<p>a fragment <b style=x>without head</b>"]
    expected = [csp.inject(h) for h in pages]
    memo = csp.Memo(memo_file)
    assert [memo.inject(h) for h in pages] == expected  # computed
    memo.save()
    assert [csp.Memo(memo_file).inject(h) for h in pages] == expected  # remembered


def test_csp_memo_skips_unchanged_pages_and_ignores_a_bad_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    memo_file = _verdict_file(tmp_path, csp.CSP_META)
    html = PAGE.format(body="<p>Récit.</p>", head="<style>p{}</style>")
    changed = html.replace("p{}", "b{}")
    expected = {h: csp.inject(h) for h in (html, changed)}
    memo = csp.Memo(memo_file)
    memo.inject(html)
    memo.save()
    scanned: list[str] = []
    real = csp._place
    monkeypatch.setattr(csp, "_place", lambda h: scanned.append(h) or real(h))
    memo = csp.Memo(memo_file)
    assert memo.inject(html) == expected[html] and scanned == []
    assert memo.inject(changed) == expected[changed] and len(scanned) == 1
    # An entry that does not fit the page, a foreign or broken file: scanned again.
    doc = json.loads(cache_payload(memo_file.path))
    far = json.loads(json.dumps(doc))
    for entry in far["pages"].values():
        entry[1] = 10 ** 6
    lost = dict(doc, policies=[])
    for junk in (json.dumps(far), json.dumps(lost), '{"pages": {}}', "\x00", "[]"):
        memo_file.save(junk.encode())  # authenticated, but does not fit: scanned again
        scanned.clear()
        assert csp.Memo(memo_file).inject(html) == expected[html] and len(scanned) == 1


# -- hostile files planted in a good built site (issue 15): the gate itself refuses them --

SVG_HEAD = "<svg xmlns='http://www.w3.org/2000/svg' xmlns:xlink='http://www.w3.org/1999/xlink'>"
XHTML_SCRIPT = ("<html xmlns='http://www.w3.org/1999/xhtml'><body>"
                "<script>alert(1)</script></body></html>")
HOSTILE: list[tuple[str, str | bytes, str]] = [
    # file types
    ("page.xhtml", XHTML_SCRIPT, "file-type"),
    ("page.htm", "<script>alert(1)</script>", "file-type"),
    ("assets/javascripts/extra.js", "alert(1)", "file-type"),
    ("assets/temoin/submit.js", "// hi\nalert(1)\n", "file-type"),
    ("assets/images/logo.png", "<html><script>alert(1)</script></html>", "file-type"),
    ("notes.txt", "  <HTML><script>alert(1)</script>", "file-type"),
    ("data.json", b"\xff\xfe{\x00}\x00", "file-type"),
    ("utf16/index.html", b"\xff\xfe" + "<script>alert(1)</script>".encode("utf-16-le"),
     "file-type"),
    ("sitemap.xml.gz", gzip.compress(XHTML_SCRIPT.encode(), mtime=0), "active-content"),
    ("archive.html.gz.gz", gzip.compress(gzip.compress(b"<p>x</p>", mtime=0), mtime=0),
     "file-type"),
    # SVG files
    ("img/entity.svg", "<!DOCTYPE svg [<!ENTITY x '&#60;script&#62;alert(1)&#60;/script&#62;'>]>"
     "<svg xmlns='http://www.w3.org/2000/svg'>&x;</svg>", "active-content"),
    ("img/script.svg", SVG_HEAD + "<script>alert(1)</script></svg>", "active-content"),
    ("img/fo.svg", SVG_HEAD + "<foreignObject><div xmlns='http://www.w3.org/1999/xhtml'>x"
     "</div></foreignObject></svg>", "active-content"),
    ("img/onload.svg", SVG_HEAD.replace(">", " onload='alert(1)'>", 1) + "</svg>",
     "active-content"),
    ("img/a-js.svg", SVG_HEAD + "<a xlink:href=' javascript:alert(1)'><text>x</text></a></svg>",
     "active-content"),
    ("img/a-ext.svg", SVG_HEAD + "<a href='https://evil.example/'><text>x</text></a></svg>",
     "third-party"),
    ("img/use.svg", SVG_HEAD + "<use href='https://evil.example/s.svg#a'/></svg>", "third-party"),
    ("img/image.svg", SVG_HEAD + "<image xlink:href='//evil.example/i.png'/></svg>",
     "third-party"),
    ("img/style.svg", SVG_HEAD + "<style>@import url(https://evil.example/s.css);</style></svg>",
     "third-party"),
    ("img/fill.svg", SVG_HEAD + "<rect fill='url(https://evil.example/p.svg#g)'/></svg>",
     "third-party"),
    ("img/base.svg", SVG_HEAD.replace(">", " xml:base='https://evil.example/'>", 1) + "</svg>",
     "active-content"),
    ("img/pi.svg", "<?xml version='1.0'?><?xml-stylesheet type='text/xsl' href='x.xsl'?>"
     + SVG_HEAD + "</svg>", "active-content"),
    ("img/animate.svg", SVG_HEAD + "<a><animate attributeName='href' to='javascript:alert(1)'/>"
     "<text>x</text></a></svg>", "active-content"),
    # XML files
    ("feed.xml", "<?xml version='1.0' encoding='UTF-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
     "<x:script xmlns:x='http://www.w3.org/1999/xhtml'>alert(1)</x:script></feed>",
     "active-content"),
    ("xslt.xml", "<?xml version='1.0'?><?xml-stylesheet type='text/xsl' href='#s'?><urlset/>",
     "active-content"),
    ("latin.xml", "<?xml version='1.0' encoding='ISO-2022-JP'?><urlset/>", "file-type"),
    ("hreflang.xml", "<urlset xmlns:x='http://www.w3.org/1999/xhtml'><x:link rel='alternate' "
     "href='javascript:alert(1)'/></urlset>", "active-content"),
    ("style.xml", "<urlset xmlns:x='http://www.w3.org/1999/xhtml'><x:link rel='stylesheet' "
     "href='/s.css'/></urlset>", "active-content"),
]
HOSTILE_HTML: list[tuple[str, str, str]] = [
    # (head, body, gate) of a page that otherwise passes (our CSP injected)
    ('<meta http-equiv="refresh" content="0 https://evil.example/">', "", "active-content"),
    ('<meta http-equiv="REFRESH" content="0;https://evil.example/">', "", "active-content"),
    ('<meta http-equiv="&#x52;efresh" content="0">', "", "active-content"),
    ("<meta http-equiv=' refresh ' content='0'>", "", "active-content"),
    ("<meta http-equiv=set-cookie content='a=b'>", "", "active-content"),
    ('<meta charset="iso-2022-jp">', "", "file-type"),
    ('<base href="https://evil.example/">', "", "active-content"),
    ('<link rel="preload" href="/assets/x.js" as="script">', "", "active-content"),
    ('<link rel="prefetch" href="https://evil.example/">', "", "active-content"),
    ('<link rel="modulepreload" href="/assets/x.js">', "", "active-content"),
    ('<link rel="import" href="/x.html">', "", "active-content"),
    # Links that resolve, connect or fetch ahead, to another host, in any spelling.
    ('<link rel="dns-prefetch" href="//evil.example">', "", "active-content"),
    ('<link rel="DNS-Prefetch" href="https://evil.example/">', "", "active-content"),
    ('<link rel=" preconnect " href="https://evil.example" crossorigin>', "", "active-content"),
    ('<link rel="icon preconnect" href="https://evil.example/">', "", "third-party"),
    ('<link rel="prerender" href="https://evil.example/p">', "", "active-content"),
    ('<link rel="preload" href="https://evil.example/i.png" as="image">', "", "third-party"),
    ('<link rel="modulepreload" href="https://evil.example/m.js">', "", "third-party"),
    ('<link rel="prefetch\tnext" href="//evil.example/n">', "", "third-party"),
    # <meta http-equiv> but CSP and Content-Type: each does something of its own.
    ('<meta http-equiv="x-dns-prefetch-control" content="on">', "", "active-content"),
    ('<meta http-equiv="Link" content="<https://evil.example/>; rel=preconnect">', "",
     "active-content"),
    ('<meta http-equiv="delegate-ch" content="sec-ch-ua-platform https://evil.example">', "",
     "active-content"),
    ('<meta http-equiv="accept-ch" content="sec-ch-ua-model">', "", "active-content"),
    ('<meta http-equiv="default-style" content="x">', "", "active-content"),
    ('<meta http-equiv="refresh\t" content="0;url=https://evil.example/">', "",
     "active-content"),
    ('<meta http-equiv="origin-trial" content="x">', "", "active-content"),
    ('<link rel="manifest" href="/m.json">', "", "active-content"),
    ("", '<img srcset="data:image/png;base64,AAA=, https://evil.example/x.png 2x">',
     "third-party"),
    ("", '<object data="/x.pdf"></object>', "active-content"),
    ("", '<embed src="/x.svg">', "active-content"),
    ("", '<iframe src="/x.html"></iframe>', "active-content"),
    ("", "<p><![CDATA[</p><img src=x onerror=alert(1)>]]></p>", "active-content"),
    ("", '<form action="https://collect.example/"><input name="q"></form>', "third-party"),
    ("", "<svg><script>alert(1)</script></svg>", "active-content"),
    ("", '<svg><use href="https://evil.example/s.svg#a"/></svg>', "third-party"),
    ("", "<math><mi href='javascript:alert(1)'>x</mi></math>", "active-content"),
    ("", '<p style="width: expression(alert(1))">x</p>', "active-content"),
    ("", '<p style="background:url(//evil.example/x.png)">x</p>', "third-party"),
    ("", '<noscript><img src="https://tracker.example/n.gif"></noscript>', "third-party"),
    ("", '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></p></noscript>',
     "active-content"),
    ("", "<!--><script>alert(1)</script>-->", "active-content"),
    ("", "<template><script>alert(1)</script></template>", "active-content"),
    ("", "<template><template><img src=x onerror=alert(1)></template></template>",
     "active-content"),
    ("", "<svg><a href='x'><set attributeName='onmouseover' to='alert(1)'/>x</a></svg>",
     "active-content"),
]
# Tricks a hand-written lexer reads as markup but a browser's first parse keeps inert
# (text in foreign content, a MathML style): the gate agrees with the browser.
INERT_HTML = ["<svg><![CDATA[</svg><img src=x onerror=alert(1)>]]></svg>",
              "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
              "<textarea><img src=x onerror=alert(1)></textarea>",
              "<p title='<script>alert(1)</script>'>x</p>"]


@pytest.fixture
def good_site(material_site: Path, tmp_path: Path) -> Path:
    """A copy of the real Material build, which passes every gate."""
    import shutil

    root = tmp_path / "site"
    shutil.copytree(material_site, root)
    assert checks.scan(root) == []
    return root


@pytest.mark.parametrize("rel,content,gate", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_gate_refuses_hostile_file_planted_in_good_site(good_site: Path, rel: str,
                                                        content: str | bytes, gate: str) -> None:
    path = good_site / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    found = checks.scan(good_site)
    assert (gate, rel) in gates(found), found
    assert {f.path for f in found} == {rel}


@pytest.mark.parametrize("head,body,gate", HOSTILE_HTML)
def test_gate_refuses_hostile_markup_planted_in_good_site(good_site: Path, head: str, body: str,
                                                          gate: str) -> None:
    (good_site / "hostile").mkdir()
    (good_site / "hostile" / "index.html").write_text(page(body or "<p>x</p>", head))
    found = checks.scan(good_site)
    assert (gate, "hostile/index.html") in gates(found), found
    assert {f.path for f in found} == {"hostile/index.html"}


@pytest.mark.parametrize("body", INERT_HTML)
def test_gate_reads_inert_tricks_as_the_browser_does(good_site: Path, body: str) -> None:
    (good_site / "inert").mkdir()
    (good_site / "inert" / "index.html").write_text(page(body))
    assert checks.scan(good_site) == []


def test_gate_refuses_links_special_files_and_hard_links_in_output(good_site: Path,
                                                                   tmp_path: Path) -> None:
    import os

    secret = tmp_path / "secret.key"
    secret.write_text("-----BEGIN PGP PRIVATE KEY BLOCK-----")
    (good_site / "key.txt").symlink_to(secret)
    (good_site / "etc").symlink_to("/etc")
    os.mkfifo(good_site / "pipe.txt")
    os.link(secret, good_site / "linked.txt")
    found = checks.scan(good_site)
    assert {(f.gate, f.path) for f in found} == {
        ("file-type", "key.txt"), ("file-type", "etc"), ("file-type", "pipe.txt"),
        ("file-type", "linked.txt")}
    assert "hard link" in next(f.detail for f in found if f.path == "linked.txt")


def test_gate_allows_theme_and_temoin_scripts_with_generated_data_lines(good_site: Path) -> None:
    from importlib import resources

    own = (Path(str(resources.files("temoin"))) / "site" / "assets" / "submit.js").read_bytes()
    head = b'// Generated: do not edit\nconst PINNED = Object.freeze({"key": "x"});\n'
    (good_site / "assets" / "temoin").mkdir(parents=True)
    (good_site / "assets" / "temoin" / "submit.js").write_bytes(head + own)
    (good_site / "assets" / "temoin" / "plain.mjs").write_bytes(own)
    assert checks.scan(good_site) == []
    (good_site / "assets" / "temoin" / "submit.js").write_bytes(
        b"const PINNED = Object.freeze(alert(1));\n" + own)
    # Refused twice: not a script file type's own form, and not an allowed script (issue 20).
    assert gates(checks.scan(good_site)) == {("file-type", "assets/temoin/submit.js"),
                                             ("active-content", "assets/temoin/submit.js")}


def test_page_parse_gives_visible_text_and_every_element() -> None:
    from temoin.gates import page as page_mod

    parsed = page_mod.parse("<html><head><title>T</title><script>var x</script></head><body>"
                            "<p>Jean Nda<b>yi</b>senga</p><div>Gitega</div>"
                            "<template><p>hidden</p></template></body></html>")
    assert "Jean Ndayisenga" in parsed.text and "Gitega" in parsed.text
    assert "var x" not in parsed.text and "hidden" not in parsed.text
    assert [e.tag for e in parsed.elements if e.context == "template"] == ["p"]
