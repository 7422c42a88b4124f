"""Attacks on "nothing identifying ships, nothing active or third-party ships" (issue 15,
items 3-6), as a careless editor or an adversary who pushes commits would try them. Each
test builds a real repository with real gpg and a real `temoin build` where the point needs
one, and asserts what a user would notice: the secret is not on the site, the build says
what it refused and where."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from temoin import cases, config
from temoin.cli import main
from temoin.curation import precision
from temoin.publish import inputs
from tests.helpers import Org

SECRET = "TOPSECRET-PASSPHRASE-7F3A"


def _build(org: Org) -> tuple[int, str]:
    res = CliRunner().invoke(main, ["--repo", str(org.repo), "build"])
    return res.exit_code, res.output + (str(res.exception) if res.exception else "")


# -- (b) a committed override is data, not code -----------------------------------------
@pytest.mark.parametrize("payload", [
    # Plain Jinja reaches Python's globals: any command, any file of the build machine.
    "{{ cycler.__init__.__globals__.os.popen('cat SECRET_FILE').read() }}",
    # A sandbox alone is not enough: a public method of a reachable object reads files.
    "{{ config.plugins.temoin.cfg.repo.joinpath('SECRET_FILE').read_text() }}",
], ids=["globals", "public-method"])
def test_override_template_cannot_read_a_file_of_the_build_machine(
        org: Org, tmp_path: Path, payload: str) -> None:
    """Two walls. Only Témoin's own templates render: the changed partial is refused by
    name before anything renders (no co-signature lifts that rule, so the build names
    the template rule, not the trust root's record). Behind it, the sandbox: the same
    hostile partial, rendered as MkDocs would in `on_env`'s environment, reaches no file."""
    from jinja2 import Environment, FileSystemLoader
    from jinja2.exceptions import SecurityError

    from temoin.site import sandbox

    secret = tmp_path / "passphrase.txt"  # outside the repository, as the passphrase file
    secret.write_text(SECRET + "\n")
    org.add_case()
    cfg = org.cfg  # before the change: every command refuses to load the settings after
    overrides = org.repo / "site_src" / "overrides"
    partial = overrides / "partials" / "copyright.html"
    clean = partial.read_text()
    partial.write_text(clean + "<span>" + payload.replace("SECRET_FILE", str(secret))
                       + "</span>\n")
    code, out = _build(org)
    assert not (org.repo / "site").exists(), "something was built"
    assert code != 0, out
    assert "theme.custom_dir: site_src/overrides/partials/copyright.html: not one of " \
        "Témoin's own templates" in out and "refused" in out, out
    assert SECRET not in out

    def render() -> str:  # a fresh environment each time: it caches compiled templates
        env = sandbox.sandboxed(Environment(loader=FileSystemLoader(str(overrides)),
                                            autoescape=True))
        return env.get_template("partials/copyright.html").render(context)

    temoin = {"organisation": "Org", "ui": {"fr": {"colon": ":"}}}
    context = {"config": {"extra": {"temoin": temoin}, "theme": {"language": "fr"},
                          "plugins": {"temoin": SimpleNamespace(cfg=cfg)}}}
    with pytest.raises(SecurityError) as refused:
        render()
    assert SECRET not in str(refused.value)
    # The same partial as Témoin ships it renders in the same sandbox: the wall is the call.
    partial.write_text(clean)
    assert "Org" in render()


@pytest.mark.parametrize("payload", [
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__['os'].environ }}",
    "{{ here.joinpath('/etc/hostname').read_text() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
])
def test_even_the_theme_s_templates_render_in_a_sandbox(payload: str) -> None:
    """A second wall behind 'only Témoin's own templates render': whatever template MkDocs
    renders, no call or attribute reaches Python beyond plain values."""
    from jinja2 import Environment
    from jinja2.exceptions import SecurityError

    from temoin.site import sandbox

    env = sandbox.sandboxed(Environment(autoescape=True))
    with pytest.raises(SecurityError):
        env.from_string(payload).render(here=Path("/"))
    ok = env.from_string("{{ d.get('a') }} {{ s.upper() }} {% for k, v in d.items() %}"
                         "{{ loop.cycle('x', 'y') }}{{ k }}{{ v }}{% endfor %}{{ range(2)|list }}")
    assert ok.render(d={"a": 1}, s="b") == "1 B xa1[0, 1]"


def test_templates_compiled_for_the_preview_keep_the_sandbox(tmp_path: Path) -> None:
    """The preview keeps compiled templates between builds (`sandbox.CompiledTemplates`):
    a later environment gets them only if it is a sandbox too, an edited template is
    compiled again (the hostile edit is refused, not served as the old code), and a plain
    environment cannot share them."""
    from jinja2 import Environment, FileSystemLoader
    from jinja2.exceptions import SecurityError

    from temoin.site import sandbox

    page = tmp_path / "page.html"
    page.write_text("{{ s.upper() }}")
    kept = sandbox.CompiledTemplates()

    def env() -> Environment:
        box = sandbox.sandboxed(Environment(loader=FileSystemLoader(str(tmp_path)),
                                            autoescape=True))
        kept.keep(box)
        return box

    assert env().get_template("page.html").render(s="a") == "A"
    assert env().get_template("page.html").render(s="b") == "B"  # from `kept`
    page.write_text("{{ cycler.__init__.__globals__.os.popen('id').read() }}")
    with pytest.raises(SecurityError):
        env().get_template("page.html").render()
    with pytest.raises(TypeError):
        kept.keep(Environment(loader=FileSystemLoader(str(tmp_path)), autoescape=True))


# -- (c) hostile YAML the build reads -----------------------------------------------------
BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 9))


@pytest.mark.parametrize("variant", ["padded", "bom", "cr"])
def test_alias_bomb_in_page_front_matter_cannot_hide_from_the_input_check(
        org: Org, variant: str) -> None:
    """MkDocs reads the whole page, drops a UTF-8 BOM and reads lone CRs as newlines; the
    check read the first MiB of bytes. A bomb under `title:` then hung the build (MkDocs
    prints the title: 10^9 strings)."""
    front = BOMB + "title: *a8\n"
    if variant == "padded":
        front = ("# " + "p" * 98 + "\n") * 11000 + front
    text = f"---\n{front}---\n# Page\n"
    if variant == "bom":
        text = "\ufeff" + text
    if variant == "cr":
        text = text.replace("\n", "\r")
    (org.repo / "site_src" / "bomb.md").write_bytes(text.encode("utf-8"))
    found = inputs.problems(org.repo)
    assert any(p.startswith("site_src/bomb.md: front matter line")
               and "anchor &a0" in p for p in found), found
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "temoin", "--repo", str(org.repo), "build"]
    # Unsigned, the new page is refused by the trust root's record before anything reads it.
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env,
                          check=False)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "site_src/bomb.md: added, not in the signed trust root's record" in proc.stderr
    # Two fooled editors co-sign it: the input check still refuses the bomb, in time.
    org.resign_site()
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env,
                          check=False)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "site_src/bomb.md: front matter" in proc.stdout + proc.stderr
    assert not (org.repo / "site").exists()


def test_alias_bomb_in_a_pushed_private_part_is_refused_naming_it(org: Org) -> None:
    """Anyone with the editors' public keys can encrypt a private part and push it: the
    build refuses it unsigned (issue 16). Signed, by an editor's seized key or a hostile
    tool, it is walked for canaries: its YAML is refused first."""
    case = org.add_case(private={"names": ["Fictif Ndayisenga"]})
    # The attacker numbers it past the part it replaces (an older number is refused as a
    # rollback before its YAML is read).
    text = cases.parts.plaintext(case.id, {"names": ["Fictif Ndayisenga"]}, version=2) + (
        BOMB + "notes: *a8\n").encode()
    cases.private_path(org.repo, case.id).write_bytes(
        org.keyring.encrypt(text, org.cfg.recipient_fingerprints, sign=org.alice))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-m", "temoin", "--repo", str(org.repo), "build"],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert f"cases/{case.id}/private.yaml.asc: line" in out and "anchor &a0" in out, out
    assert not (org.repo / "site").exists()


def test_private_part_with_a_repeated_date_still_reads(org: Org) -> None:
    """Earlier versions wrote `&id001`/`*id001` for a date used twice (and signed no part):
    `temoin migrate` reads it and signs it, the dates intact."""
    case = org.add_case(private={"names": ["Fictif Ndayisenga"]})
    text = "received: &id001 2025-03-15\nnames: [Fictif Ndayisenga]\nseen: *id001\n"
    cases.private_path(org.repo, case.id).write_bytes(
        org.keyring.encrypt(text.encode("utf-8"), org.cfg.recipient_fingerprints))
    result = CliRunner().invoke(main, ["--repo", str(org.repo), "migrate", "--editor",
                                       org.alice, "--yes"])
    assert result.exit_code == 0, result.output
    data = cases.read_private(org.repo, case.id, org.keyring)
    assert data["seen"] == data["received"]


def test_alias_in_mkdocs_yml_is_refused_naming_it(org: Org) -> None:
    path = org.repo / "mkdocs.yml"
    path.write_text(BOMB + path.read_text().replace("extra:\n", "extra:\n  bomb: *a8\n", 1))
    with pytest.raises(Exception, match=r"mkdocs.yml: line 1: anchor &a0"):
        config.read_mkdocs_yml(path)


# -- (e) exact ages as an editor writes them ---------------------------------------------
AGE_VARIANTS = [
    "un garçon de **14** ans",            # Markdown emphasis
    "un garçon de 14&nbsp;ans",           # an entity the page shows as a space
    "un garçon de 1\u200b4 ans",          # zero-width space inside the number
    "qua\u00adtorze ans",                 # soft hyphen
    "14 [ans](https://example.org/)",     # a link
    "14\u2011year\u2011old",              # non-breaking hyphens
    "seize (16) ans",
    "at the age of 14", "at the age of fourteen", "à l'âge de quatorze",
    "fourteen years of age",
    "née en 2011", "born in 2011",        # a birth year is the age
    "umwana w'imyaka 14", "afise imyaka cumi n'ine",      # Kirundi
    "mwenye umri wa miaka 14", "miaka kumi na minne",     # Swahili
]


@pytest.mark.parametrize("text", AGE_VARIANTS)
def test_exact_age_variants_are_refused(org: Org, text: str) -> None:
    case = org.add_case(status="draft", narrative=f"La victime, {text}, a été arrêtée.")
    found = precision.findings(case, org.cfg)
    assert [f for f in found if f.rule == "age" and f.field == "narrative"], found


@pytest.mark.parametrize("text", [
    "deux ans de prison", "il y a 14 jours", "14 personnes", "la loi de 2011",
    "l'âge adulte", "imyaka myinshi", "the age of the complaint", "en 2011, 14 personnes",
    "snake_case et **gras**",
])
def test_innocent_texts_still_pass(org: Org, text: str) -> None:
    case = org.add_case(status="draft", narrative=f"Le rapport note : {text}.")
    assert precision.findings(case, org.cfg) == []
