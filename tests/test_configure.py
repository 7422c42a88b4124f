"""`temoin config set/show` (issue 17): settings by command; a safety setting becomes a
trust-root proposal signed by the acting editor, in force once a second editor signs."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from temoin import config, trust
from temoin.cli import main
from tests.helpers import Org


def cli(repo: Path, *args: str):
    return CliRunner().invoke(main, ["--repo", str(repo), *args])


def test_a_plain_setting_changes_mkdocs_yml_and_keeps_its_comments(org: Org):
    """Not a safety setting, but words on the site: the trust root records mkdocs.yml's
    settings, so the change is proposed signed by the acting editor (the build waits for a
    second signature: tests/test_attack_signatures2.py)."""
    result = cli(org.repo, "config", "set", "bulletin_period", "month", "--editor", "alice")
    assert result.exit_code == 0, result.output
    assert "bulletin_period: week -> month" in result.output
    assert "mkdocs.yml" in result.output and "Proposed trust/proposed.json" in result.output
    assert config.load(org.repo).bulletin_period == "month"
    assert "# week | month | quarter" in (org.repo / "mkdocs.yml").read_text()
    assert trust.proposed_path(org.repo).exists()
    site = cli(org.repo, "config", "set", "site_name", "SOS", "Test", "--editor", "alice")
    assert site.exit_code == 0 and config.load(org.repo).site_name == "SOS Test"


def test_a_safety_setting_is_proposed_signed_and_counts_once_cosigned(org: Org):
    result = cli(org.repo, "config", "set", "contact_email", "nouveau@sos.example.org",
                 "--editor", "alice")
    assert result.exit_code == 0, result.output
    assert "Proposed trust/proposed.json, signed by Alice" in result.output
    assert "contact_email" in result.output and "temoin trust sign" in result.output
    # mkdocs.yml only proposes: the signed root still says the old address.
    assert config.load(org.repo).contact_email == "temoignages@example.invalid"
    shown = cli(org.repo, "config", "show")
    assert "mkdocs.yml proposes nouveau@sos.example.org" in shown.output
    signed = cli(org.repo, "trust", "sign", "--editor", "bob")
    assert signed.exit_code == 0, signed.output
    assert config.load(org.repo).contact_email == "nouveau@sos.example.org"
    precision = cli(org.repo, "config", "set", "page_consents", "named", "--editor", "bob")
    assert precision.exit_code == 0, precision.output
    assert cli(org.repo, "trust", "sign", "--editor", "alice").exit_code == 0
    assert config.load(org.repo).page_consents == ("named",)


def test_a_safety_setting_needs_someone_to_sign_before_anything_changes(org: Org):
    before = (org.repo / "mkdocs.yml").read_bytes()
    result = cli(org.repo, "config", "set", "publish_min_level", "confirmed")
    assert result.exit_code == 1 and "several editor keys" in result.output
    assert (org.repo / "mkdocs.yml").read_bytes() == before


def test_invalid_values_and_keys_are_refused_naming_what_to_do(org: Org):
    before = (org.repo / "mkdocs.yml").read_bytes()
    for args, said in ((("contact_email", "pas une adresse"), "expected an e-mail address"),
                       (("location_precision", "village"), "country, admin1, admin2"),
                       (("follow_up_days", "0"), "positive whole number"),
                       (("inbox_key", "ABCD"), "temoin keys generate"),
                       (("recipients", "x"), "--as editor"),
                       (("colour", "red"), "unknown setting")):
        result = cli(org.repo, "config", "set", *args, "--editor", "alice")
        assert result.exit_code == 1, result.output
        assert said in result.output, result.output
    assert (org.repo / "mkdocs.yml").read_bytes() == before


def test_languages_add_and_remove_pages_and_propose_the_site_change(org: Org):
    docs = org.repo / "site_src"
    refused = cli(org.repo, "config", "set", "languages", "fr", "--editor", "alice")
    assert refused.exit_code == 1 and "git rm -r site_src/en" in refused.output
    default = cli(org.repo, "config", "set", "languages", "en,fr", "--editor", "alice")
    assert default.exit_code == 1 and "keep it first, e.g. fr,en" in default.output
    for page in (docs / "en").iterdir():
        page.unlink()
    (docs / "en").rmdir()
    only = cli(org.repo, "config", "set", "languages", "fr", "--editor", "alice")
    assert only.exit_code == 0, only.output
    assert "the site's own files" in only.output  # site_src/ changed: the root records it
    text = (org.repo / "mkdocs.yml").read_text()
    assert "languages: [fr]" in text and "alternate" not in text and "/en/" not in text
    assert cli(org.repo, "trust", "sign", "--editor", "bob").exit_code == 0
    back = cli(org.repo, "config", "set", "languages", "fr,en", "--editor", "alice")
    assert back.exit_code == 0, back.output
    assert "We document human-rights violations" in (docs / "en" / "index.md").read_text()
    assert config.load(org.repo).languages == ("fr", "en")
