"""Publication gates end to end: a fault planted in a real repo makes `temoin build` exit 4,
names the file and what was found, and leaves no site behind."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from temoin import cases, keys
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


def test_build_refuses_a_changed_template_in_overrides(org: Org) -> None:
    org.add_case()
    main_html = org.repo / "site_src" / "overrides" / "main.html"
    text = main_html.read_text()
    # A theme block the override does not define yet (a block defined twice is a Jinja error).
    block = next(b for b in ("styles", "libs", "fonts") if f"block {b} " not in text)
    main_html.write_text(text + f'\n{{% block {block} %}}{{{{ super() }}}}<link rel="stylesheet" '
                         'href="https://cdn.example.com/theme.css">{% endblock %}\n')
    # Templates are Jinja code: only Témoin's own render (issue 16), so the changed one is
    # refused before anything is built, naming it.
    result = build(org)
    assert result.exit_code != 0 and "theme.custom_dir: site_src/overrides/main.html: not " \
        "one of Témoin's own templates" in result.output, result.output
    assert not (org.repo / "site").exists()


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
    # Published under its place in the case, never under the name it arrived with.
    shipped = list((org.repo / "site" / "cases" / "media" / case.id).iterdir())
    assert [p.name for p in shipped] == ["1.jpg"]
    assert gate_media.metadata_found(shipped[0].read_bytes(), "1.jpg") == []


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


def test_build_stops_at_a_private_part_no_editor_key_opens_naming_it(
        org: Org, tmp_path: Path) -> None:
    """The private parts are decrypted together (one gpg run); one encrypted to a stranger
    stops the build, named with gpg's reason, and nothing is published."""
    org.add_case(private={"victims": [{"full_name": NAME}]})
    bad = org.add_case(private={"victims": [{"full_name": "Autre Nom"}]})
    org.add_case(private={"witnesses": [{"name": "Témoin Fictif"}]})
    stranger = keys.Keyring(tmp_path / "stranger")
    fpr = stranger.generate("Stranger", "stranger@example.invalid")
    cases.private_path(org.repo, bad.id).write_bytes(
        stranger.encrypt(cases.private_yaml({"victims": [{"full_name": "Autre Nom"}]}), [fpr]))
    result = build(org)
    assert result.exit_code != 0
    assert f"cases/{bad.id}/private.yaml.asc: cannot decrypt (" in result.output
    assert "Autre Nom" not in result.output and NAME not in result.output
    assert not (org.repo / "site").exists()


ALIAS_BOMB = "\n".join(["lol0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"] + [
    f"lol{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)])


def test_build_refuses_alias_bomb_in_case_front_matter(org: Org) -> None:
    """1 KB of nested aliases (9^10 strings once expanded) is refused before anything walks
    it: the message names the file, the line and the rule. Run as a real `temoin build`
    process; the timeout is only a guard against a hang (it took minutes before), sized
    for a loaded CI machine where the interpreter alone takes seconds to start."""
    import os
    import subprocess
    import sys

    assert len(ALIAS_BOMB) < 1100
    case = org.add_case()
    path = case.folder / "case.md"
    text = path.read_text()
    path.write_text(text.replace("\nstatus:", f"\n{ALIAS_BOMB}\nstatus:", 1))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-m", "temoin", "--repo", str(org.repo), "build"],
                          capture_output=True, text=True, timeout=120, env=env, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 4, out
    assert f"cases/{case.id}/case.md: line 5: anchor &a0 (YAML anchors and aliases are " \
           "refused" in out
    assert not (org.repo / "site").exists()


@pytest.mark.parametrize("yaml_text,rule", [
    ("note: !!binary aGVsbG8=", "tag tag:yaml.org,2002:binary"),
    ("note: !!python/object/apply:os.system [id]", "tag tag:yaml.org,2002:python/object"),
    ("note: !local x", "tag !local"),
])
def test_build_refuses_tags_in_case_front_matter(org: Org, yaml_text: str, rule: str) -> None:
    case = org.add_case()
    path = case.folder / "case.md"
    path.write_text(path.read_text().replace("\nstatus:", f"\n{yaml_text}\nstatus:", 1))
    result = build(org)
    assert result.exit_code == 4, result.output
    assert f"cases/{case.id}/case.md: line 5: {rule}" in result.output
    assert not (org.repo / "site").exists()


# -- hostile files (issue 15, item 3): refused by `temoin build`, exit 4, no site ------------

def gate_refused(result: Result) -> str:
    """The output of a build refused with exit 4 whatever stage refused, no site written."""
    assert result.exit_code == 4, result.output
    return result.output


SVG = "<svg xmlns='http://www.w3.org/2000/svg'>"
HOSTILE_SOURCES = [
    # (file under site_src, content, expected "[gate] path: detail" start in the output)
    ("x.xhtml", "<html xmlns='http://www.w3.org/1999/xhtml'><script>alert(1)</script></html>",
     "[file-type] x.xhtml: .xhtml is not an allowed file type"),
    ("assets/entity.svg", "<!DOCTYPE svg [<!ENTITY x '&#60;script&#62;alert(1)&#60;/script&#62;'>]>"
     f"{SVG}&x;</svg>", "[active-content] assets/entity.svg: XML DTDForbidden"),
    ("assets/s.svg", f"{SVG}<script>alert(1)</script></svg>",
     "[active-content] assets/s.svg: <script> in an SVG file"),
    ("assets/u.svg", f"{SVG}<use href='https://evil.example/s.svg#a'/></svg>",
     "[third-party] assets/u.svg: <use href> points to https://evil.example/s.svg#a"),
    ("feed.xml", "<feed xmlns='http://www.w3.org/2005/Atom'><h:script "
     "xmlns:h='http://www.w3.org/1999/xhtml'>alert(1)</h:script></feed>",
     "[active-content] feed.xml: <script> of XHTML in an XML file"),
    ("assets/extra.js", "alert(1)", "[file-type] assets/extra.js: script that is not one of"),
    ("assets/logo.png", "<html><script>alert(1)</script></html>",
     "[file-type] assets/logo.png: content is not PNG"),
    ("refresh.md", '# Page\n\n<meta http-equiv="refresh" content="0 https://evil.example/">\n',
     "[active-content] refresh/index.html: <meta http-equiv='refresh'>"),
    ("noscript.md", '# Page\n\n<noscript><p title="</noscript><img src=x onerror=alert(1)>">'
     "</p></noscript>\n", "[active-content] noscript/index.html: <img> has an event handler"),
    ("utf16.html", b"\xff\xfe" + "<script>alert(1)</script>".encode("utf-16-le"),
     "[file-type] utf16.html: not UTF-8 text"),
]


@pytest.mark.parametrize("rel,content,expected", HOSTILE_SOURCES,
                         ids=[h[0] for h in HOSTILE_SOURCES])
def test_build_refuses_hostile_file_in_site_src(org: Org, rel: str, content: str | bytes,
                                                expected: str) -> None:
    org.add_case()
    path = org.repo / "site_src" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    org.resign_site()  # co-signed: the gates still refuse it
    out = refused(build(org))
    assert expected in out
    assert not (org.repo / "site").exists()


@pytest.mark.parametrize("where", ["site_src/env.txt", "site_src/overrides/partials/k.html",
                                   "keys/editors/x.asc", "cases/BI-2025-AAAAAA"])
def test_build_refuses_symlink_in_inputs_before_mkdocs(org: Org, tmp_path: Path,
                                                       where: str) -> None:
    """A link committed under site_src/ would publish any file of the machine (the inbox
    secret key, /proc/self/environ…): refused before anything is read or copied."""
    secret = tmp_path / "private-keys-v1.d.key"
    secret.write_text("(private-key (ecc (curve Ed25519)))")
    org.add_case()
    link = org.repo / where
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(secret)
    if where.startswith("site_src/"):
        org.resign_site()  # co-signed (a link is recorded, never read): still refused
    result = build(org)
    if where.startswith("keys/"):  # the trust root's key check comes first, and reads none
        assert result.exit_code == 3, result.output
        assert f"{where}: a symbolic link; refused, never read" in result.output
        out = result.output
    else:
        out = gate_refused(result)
        assert "build inputs refused" in out
        assert f"[input] {where}: a symbolic link" in out
    assert "private-key" not in out and not (org.repo / "site").exists()


def test_build_refuses_linked_folder_fifo_and_hard_link(org: Org, tmp_path: Path) -> None:
    outside = tmp_path / "inbox.eml"
    outside.write_text("From: source@example.invalid")
    org.add_case()
    (org.repo / "site_src" / "mail").symlink_to(tmp_path)
    os.mkfifo(org.repo / "site_src" / "pipe.txt")
    os.link(outside, org.repo / "site_src" / "copy.txt")
    org.resign_site()  # co-signed: the gates still refuse it
    out = gate_refused(build(org))
    assert "[input] site_src/mail: a symbolic link" in out
    assert "[input] site_src/pipe.txt: a FIFO (special file)" in out
    assert "[input] site_src/copy.txt: a hard link" in out


def test_build_refuses_mkdocs_yml_link_and_folders_outside_repo(org: Org, tmp_path: Path) -> None:
    org.add_case()
    cfg = org.repo / "mkdocs.yml"
    text = cfg.read_text()
    cfg.write_text(text.replace("custom_dir: site_src/overrides", "custom_dir: ../overrides"))
    org.resign_site()  # co-signed (mkdocs.yml's settings are signed): the gates still refuse it
    assert "[input] mkdocs.yml: theme.custom_dir: expected a folder inside the repository" \
        in gate_refused(build(org))
    real = tmp_path / "real.yml"
    real.write_text(text)
    cfg.unlink()
    cfg.symlink_to(real)
    org.resign_site()
    assert "[input] mkdocs.yml: a symbolic link" in gate_refused(build(org))


def test_build_refuses_alias_in_hand_written_page_front_matter(org: Org) -> None:
    org.add_case()
    (org.repo / "site_src" / "p.md").write_text("---\na: &x [1, 2]\nb: *x\n---\n# P\n")
    org.resign_site()  # co-signed: the gates still refuse it
    out = gate_refused(build(org))
    assert "[input] site_src/p.md: front matter line 2: anchor &x" in out


def test_gates_run_with_no_case_in_memory(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gates (the longest phase of a first build, and the workers they fork) read the
    output, the canaries and the forbidden ids: every case with its texts is freed before
    them (issue 18), and the site they pass is still refused for a private value."""
    import gc

    from temoin.publish import build as build_mod

    real, alive = build_mod.gates.run, []

    def counted(*args: object, **kwargs: object) -> list[checks.Finding]:
        gc.collect()
        alive.append(sum(isinstance(o, cases.Case) for o in gc.get_objects()))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(build_mod.gates, "run", counted)
    org.add_case(narrative="Récit anonymisé.")
    result = build(org)
    assert result.exit_code == 0, result.output
    case_id = org.add_case(narrative=f"{NAME} a été arrêté devant chez lui.",
                           private={"victims": [{"full_name": NAME}]}).id
    assert f"[canary] cases/{case_id}/index.html" in refused(build(org))
    assert alive == [0, 0]
