"""Issue 20, item 1: a planted script or template override never ships. Unsigned, `temoin
build` refuses the repository (the trust root's record of site_src/); co-signed by editors
who were fooled, the publication gate refuses every script that is neither Material's own
nor Témoin's pinned ones, by hash."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from temoin import gates, script_policy
from temoin.cli import main
from temoin.gates import scripts
from tests.helpers import Org

# The attack of issue 20: a script that swaps the key the page encrypts to.
EVIL_JS = b"window.__planted = true; /* encrypt to the attacker's key */\n"
OVERRIDE = ('{% block scripts %}{{ super() }}<script src="{{ base_url }}/assets/evil.js">'
            "</script>{% endblock %}\n")
PAGE_SCRIPT = '\n<script src="assets/evil.js"></script>\n'


def build(org: Org, *args: str) -> Result:
    return CliRunner().invoke(main, ["--repo", str(org.repo), "build", *args])


def plant(repo: Path) -> None:
    """The attack: one script file under assets/, one line in a hand-written page. (A line
    in a template override is refused by its own rule: tests/test_gates_build.py.)"""
    (repo / "site_src" / "assets" / "evil.js").write_bytes(EVIL_JS)
    index = repo / "site_src" / "index.md"
    index.write_text(index.read_text() + PAGE_SCRIPT)


def test_build_refuses_site_files_the_trust_root_does_not_record(org: Org) -> None:
    org.add_case()
    plant(org.repo)
    result = build(org)
    assert result.exit_code == 3, result.output
    out = result.output
    assert "site_src/assets/evil.js: added, not in the signed trust root's record" in out
    assert "site_src/index.md: changed since the signed trust root" in out
    assert "`temoin trust propose`" in out and "`temoin trust sign`" in out
    assert "Nothing was built" in out
    assert not (org.repo / "site").exists()
    check = CliRunner().invoke(main, ["--repo", str(org.repo), "check"])
    assert check.exit_code != 0 and "site_src/assets/evil.js" in check.output


def test_build_refuses_planted_override_before_the_trust_root_is_asked(org: Org) -> None:
    """The script's line in the main override instead: refused by 'only Témoin's own
    templates render', naming the file, and not as a change two editors could co-sign."""
    org.add_case()
    plant(org.repo)
    main_html = org.repo / "site_src" / "overrides" / "main.html"
    main_html.write_text(main_html.read_text() + OVERRIDE)
    result = build(org)
    out = result.output
    assert result.exit_code != 0, out
    assert "theme.custom_dir: site_src/overrides/main.html: not one of Témoin's own " \
        "templates" in out, out
    assert "`temoin trust sign`" not in out
    assert not (org.repo / "site").exists()


def test_build_refuses_planted_script_even_when_cosigned(org: Org) -> None:
    """Two fooled editors co-sign the change: the gate still refuses the script by hash,
    the unreferenced copy and a script hidden under another extension."""
    org.add_case()
    assert build(org).exit_code == 0  # a clean site first: it must stay as it was
    before = (org.repo / "site" / "SHA256SUMS").read_bytes()
    plant(org.repo)
    assets = org.repo / "site_src" / "assets"
    (assets / "orphan.mjs").write_bytes(b"export const x = 1;\n")
    (assets / "evil.txt").write_bytes(EVIL_JS)
    page = org.repo / "site_src" / "a-propos.md"
    page.write_text(page.read_text() + '\n<script src="../assets/evil.txt"></script>\n')
    org.resign_site()
    result = build(org)
    assert result.exit_code == 4, result.output
    out = result.output
    assert "[active-content] assets/evil.js: script file is neither one of Material's own " \
        "scripts nor one of Témoin's pinned ones" in out
    assert "[active-content] assets/orphan.mjs: script file is neither" in out
    assert "[active-content] index.html: <script src> assets/evil.js is neither" in out
    assert "[active-content] a-propos/index.html: <script src> assets/evil.txt is neither" in out
    assert (org.repo / "site" / "SHA256SUMS").read_bytes() == before  # nothing published


def test_gate_passes_material_and_pinned_scripts_only(tmp_path: Path) -> None:
    """On a hand-made site: the allow-list is computed from the installed packages, and a
    file's path proves nothing (a copy of a pinned script elsewhere is fine, its
    modification is not); __config's search worker and module imports are judged too."""
    from importlib import resources

    site = tmp_path / "site"
    (site / "assets").mkdir(parents=True)
    vendor = resources.files("temoin").joinpath("site", "assets", "vendor", "openpgp.min.mjs")
    (site / "assets" / "openpgp.min.mjs").write_bytes(vendor.read_bytes())
    (site / "assets" / "worker.txt").write_bytes(EVIL_JS)
    config = json.dumps({"base": ".", "search": "assets/worker.txt"})
    (site / "index.html").write_text(
        "<!doctype html><html><head><meta http-equiv=\"Content-Security-Policy\" "
        "content=\"default-src 'self'\"></head><body>"
        '<script type="module" src="assets/openpgp.min.mjs"></script>'
        '<script type="module" src="assets/%6Fpenpgp.min.mjs"></script>'
        f'<script id="__config" type="application/json">{config}</script>'
        "</body></html>")
    found = [str(f) for f in gates.scan(site, gates=["active-content"])]
    assert found == ["[active-content] index.html: __config search worker assets/worker.txt "
                     "is neither one of Material's own scripts nor one of Témoin's pinned "
                     f"ones (sha256 {script_policy.sha256(EVIL_JS)[:16]}…)"], found
    # an allowed module that imports a file off the list
    module = b'import {x} from "./lib.mjs";\nexport default x;\n'
    (site / "assets" / "app.mjs").write_bytes(module)
    (site / "assets" / "lib.mjs").write_bytes(b"export const x = 2;\n")
    allowed = script_policy.allowed_scripts([module])
    digests = {"assets/app.mjs": script_policy.sha256(module),
               "assets/lib.mjs": script_policy.sha256(b"export const x = 2;\n")}
    problems = scripts.check(site, {}, digests, allowed)
    assert ("assets/app.mjs", "imports ./lib.mjs, which is neither one of Material's own "
            "scripts nor one of Témoin's pinned ones") in problems
