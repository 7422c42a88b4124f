"""Publication gates end to end: a fault planted in a real repo makes `temoin build` exit 4,
names the file and what was found, and leaves no site behind."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from temoin import gates as checks
from temoin.cli import main
from temoin.gates import media as gate_media
from tests.helpers import Org, cache_path

NAME = "Jean Ndayisenga"


def build(org: Org) -> Result:
    return CliRunner().invoke(main, ["--repo", str(org.repo), "build"])


def refused(result: Result) -> str:
    """The output of a build the gates refused (exit 4, no site written)."""
    assert result.exit_code == 4, result.output
    assert "publication gate refused" in result.output
    return result.output


def gps_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "S", (3.0, 25.0, 35.0), "E", (29.0, 55.0, 50.0)
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (90, 140, 60)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_build_refuses_private_name_in_narrative(org: Org) -> None:
    case = org.add_case(narrative=f"{NAME} a été arrêté devant chez lui.",
                        private={"victims": [{"full_name": NAME}]})
    out = refused(build(org))
    assert (f"[canary] cases/{case.id}/index.html: private value of case {case.id} "
            "(victims.0.full_name)") in out
    assert "Ndayisenga" not in out
    assert not (org.repo / "site").exists()


def test_build_refuses_private_name_even_escaped_in_search_index(org: Org) -> None:
    org.add_case(narrative="Récit anonymisé.", private={"victims": [{"full_name": NAME}]},
                 title={"fr": "Arrestation de Jéan NDAYISENGA", "en": "Arrest"})
    out = refused(build(org))
    assert "search/search_index.json: private value of case" in out


def test_build_refuses_external_stylesheet_in_overrides(org: Org) -> None:
    org.add_case()
    main_html = org.repo / "site_src" / "overrides" / "main.html"
    text = main_html.read_text()
    # A theme block the override does not define yet (a block defined twice is a Jinja error).
    block = next(b for b in ("styles", "libs", "fonts") if f"block {b} " not in text)
    main_html.write_text(text + f'\n{{% block {block} %}}{{{{ super() }}}}<link rel="stylesheet" '
                         'href="https://cdn.example.com/theme.css">{% endblock %}\n')
    org.resign_site()  # even a change two editors signed goes through the gates
    out = refused(build(org))
    assert ("[third-party] index.html: <link href> loads https://cdn.example.com/theme.css"
            in out)


def test_build_refuses_event_handler_in_hand_written_page(org: Org) -> None:
    page = org.repo / "site_src" / "a-propos.md"
    page.write_text(page.read_text() + '\n<img src="x.png" onerror="alert(1)">\n')
    org.resign_site()
    out = refused(build(org))
    assert "[active-content] a-propos/index.html: <img> has an event handler onerror=" in out


def test_build_escapes_script_in_case_text(org: Org) -> None:
    hostile = '<img src=x onerror="alert(1)"> <script>alert(2)</script> [x](javascript:alert(3))'
    case = org.add_case(narrative=hostile)
    result = build(org)
    assert result.exit_code == 0, result.output
    html = (org.repo / "site" / "cases" / case.id / "index.html").read_text()
    # Shown as text, inert: the gates passed (exit 0) and say so again on the page itself.
    assert "&lt;img src=x onerror=" in html and "&lt;script&gt;alert(2)" in html
    assert "javascript:" not in html
    assert checks.gate_active_content(org.repo / "site") == []


@pytest.mark.parametrize("field,value", [
    ("title", {"fr": "<script>alert(1)</script> Arrestation", "en": "Arrest"}),
    ("summary", {"fr": 'Résumé"><script>alert(1)</script>', "en": "Summary"}),
])
def test_build_never_ships_script_from_title_or_summary(org: Org, field: str,
                                                       value: dict[str, str]) -> None:
    case = org.add_case(**{field: value})
    result = build(org)
    if result.exit_code == 4:  # the theme prints titles and descriptions unescaped
        assert (f"[active-content] cases/{case.id}/index.html: inline <script> that is not "
                "the theme's own") in result.output
    else:
        assert result.exit_code == 0, result.output
        assert checks.gate_active_content(org.repo / "site") == []
        html = (org.repo / "site" / "cases" / case.id / "index.html").read_text()
        assert "&lt;script&gt;alert(1)" in html


def test_build_refuses_image_with_gps_outside_case_media(org: Org) -> None:
    org.add_case()
    (org.repo / "site_src" / "assets" / "team.jpg").write_bytes(gps_jpeg())
    org.resign_site()
    out = refused(build(org))
    assert "[media] assets/team.jpg: image carries EXIF, GPS" in out


def test_build_scrubs_case_media_it_publishes(org: Org) -> None:
    case = org.add_case(sign=False, media=[{"file": "photo.jpg",
                                            "caption": {"fr": "Lieu", "en": "Place"}}])
    (case.folder / "media").mkdir(exist_ok=True)
    (case.folder / "media" / "photo.jpg").write_bytes(gps_jpeg())
    org.sign(case)
    result = build(org)
    assert result.exit_code == 0, result.output
    shipped = list((org.repo / "site").rglob("photo.jpg"))
    assert len(shipped) == 1
    assert gate_media.metadata_found(shipped[0].read_bytes(), "photo.jpg") == []


def test_build_refuses_id_of_unapproved_case(org: Org) -> None:
    draft = org.add_case(status="draft")
    unsigned = org.add_case(status="review")  # awaiting approval
    org.add_case(narrative=f"Voir aussi les cas {draft.id} et {unsigned.id.lower()}.")
    out = refused(build(org))
    assert f"id of unpublished case {draft.id}" in out
    assert f"id of unpublished case {unsigned.id}" in out


def test_built_site_verifies_and_detects_tampering(org: Org) -> None:
    org.add_case()
    assert build(org).exit_code == 0
    site = org.repo / "site"
    runner = CliRunner()
    ok = runner.invoke(main, ["--repo", str(org.repo), "verify-site", str(site)])
    assert ok.exit_code == 0, ok.output
    (site / "index.html").write_text("<p>defaced</p>")
    bad = runner.invoke(main, ["--repo", str(org.repo), "verify-site", str(site)])
    assert bad.exit_code == 1
    assert "index.html: content differs from SHA256SUMS (changed)" in bad.output


def test_build_rescans_unchanged_pages_for_a_new_private_value(org: Org) -> None:
    """The canary verdicts of the first build do not let an unchanged page through once a
    new private part names what it says; the verdict file holds no private value."""
    first = org.add_case(narrative="Arrêté devant le marché de Kinama par des agents.",
                         private={"victims": [{"full_name": NAME}]})
    assert build(org).exit_code == 0
    cache = cache_path(org.repo, "")
    assert not (org.repo / ".temoin").exists()
    verdicts = (cache / "canary-verdicts.json").read_text()
    assert "Ndayisenga" not in verdicts and "ndayisenga" not in verdicts
    assert b"Ndayisenga" not in (cache / "canaries.asc").read_bytes()
    org.add_case(private={"witnesses": [{"name": "Kinama"}],
                          "place": "marché de Kinama"})
    out = refused(build(org))
    assert f"[canary] cases/{first.id}/index.html: private value of case" in out
    assert "Kinama" not in out
