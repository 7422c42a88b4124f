"""`temoin init` (issue 17): the contact address, languages and country, taken from options
or asked on a terminal; an invalid address is refused; an English-first site builds."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from temoin import config, keys, settings, trust
from temoin.cli import main
from temoin.publish import build
from tests.helpers import Org
from tests.terminal import converse, temoin_argv, temoin_env


def test_init_takes_the_address_languages_and_country_from_options(tmp_path: Path):
    repo = tmp_path / "org"
    result = CliRunner().invoke(main, ["init", str(repo), "-o", "Ligue Test", "--contact",
                                       "temoins@ligue.example.org", "--languages", "en,fr",
                                       "--country", "cm"])
    assert result.exit_code == 0, result.output
    cfg = config.load(repo)
    assert (cfg.contact_email, cfg.languages, cfg.country, cfg.case_prefix) == (
        "temoins@ligue.example.org", ("en", "fr"), "CM", "CM")
    docs = repo / "site_src"
    assert "We document" in (docs / "index.md").read_text()
    assert "Nous documentons" in (docs / "fr" / "index.md").read_text()
    assert not (docs / "en").exists()
    mk = config.read_mkdocs_yml(repo / "mkdocs.yml")
    assert mk["theme"]["language"] == "en" and mk["nav"][0] == {"Home": "index.md"}
    assert "/fr/" in mk["not_in_nav"] and {"Testify": "submit/index.md"} in mk["nav"]


def test_init_refuses_an_invalid_address_and_writes_nothing(tmp_path: Path):
    for address in ("temoins", "a b@example.org", "<x@example.org>", "x@localhost"):
        result = CliRunner().invoke(main, ["init", str(tmp_path / "org"), "--contact",
                                           address])
        assert result.exit_code == 2, result.output
        assert "expected an e-mail address" in result.output
        assert not (tmp_path / "org").exists()
    lang = CliRunner().invoke(main, ["init", str(tmp_path / "org"), "--languages", "fr,de"])
    assert lang.exit_code == 2 and "fr, en" in lang.output


def test_init_asks_on_a_terminal_and_asks_again_for_a_bad_address(tmp_path: Path):
    repo = tmp_path / "org"
    code, seen = converse(temoin_argv("init", str(repo)), [
        ("Organisation name", "SOS-Terminal"),
        ("Contact address", "pas-une-adresse"),
        ("Contact address", "ecrire@sos.example.org"),
        ("Languages of the site", "fr"),
        ("Country", "BI")], temoin_env())
    assert code == 0, seen
    assert "expected an e-mail address" in seen
    cfg = config.load(repo)
    assert (cfg.organisation, cfg.contact_email, cfg.languages) == (
        "SOS-Terminal", "ecrire@sos.example.org", ("fr",))
    assert not (repo / "site_src" / "en").exists()


def test_an_english_first_site_puts_each_language_where_it_belongs(
        tmp_path: Path, keyring: keys.Keyring, fprs: dict[str, str]):
    """English at the root, French under fr/: the submit page too (it was French at the
    root and missing at submit/)."""
    repo = tmp_path / "org"
    from temoin import scaffold

    scaffold.init(repo, "SOS-Test", "BI", git=False, contact="ecrire@sos.example.org",
                  languages=("en", "fr"))
    (repo / "keys" / "inbox.asc").write_text(keyring.export_public(fprs["inbox"]))
    for name in ("alice", "bob"):
        (repo / "keys" / "editors" / f"{name}.asc").write_text(
            keyring.export_public(fprs[name]))
    settings.update(repo, lambda o: o.update(
        inbox_key=fprs["inbox"], recipients=[{"fingerprint": fprs["alice"], "name": "Alice"},
                                             {"fingerprint": fprs["bob"], "name": "Bob"}]))
    trust.found(repo, config.load(repo), keyring, [fprs["alice"], fprs["bob"]])
    Org(repo, keyring, fprs["inbox"], fprs["alice"], fprs["bob"]).add_case()
    report = build.build(repo, config.load(repo), None, keyring)
    site = report.site_dir
    assert report.published == 1
    assert '<html lang="en"' in (site / "submit" / "index.html").read_text()
    assert '<html lang="fr"' in (site / "fr" / "temoigner" / "index.html").read_text()
    assert not (site / "temoigner").exists() and not (site / "en").exists()
    assert "Testify" in (site / "index.html").read_text()
