"""`temoin doctor` (issue 17): what makes a launch unsafe, each with the command that fixes
it; exit 1 until none is left, warnings alone exit 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from temoin import keys
from temoin.cli import main
from temoin.scaffold import doctor
from tests.conftest import REPO_ROOT

SECRET = "une phrase de passe pour le lancement"


def cli(repo: Path, *args: str):
    return CliRunner().invoke(main, ["--repo", str(repo), *args])


def unsafe(result) -> dict[str, dict[str, str]]:
    """The unsafe findings of `doctor --json`, by check."""
    return {f["check"]: f for f in json.loads(result.stdout)["findings"]
            if f["status"] == doctor.UNSAFE}


def test_a_bare_init_names_the_address_and_the_unprotected_key_until_both_are_fixed(
        tmp_path: Path, keyring: keys.Keyring, monkeypatch: pytest.MonkeyPatch):
    """The acceptance of issue 17: init without an address, an inbox key made with
    --no-passphrase, everything else as the README does it (two editors, signed root, a
    build). Doctor names the two and exits 1; once they are fixed (and the site built with
    the address) it exits 0."""
    repo = tmp_path / "org"
    assert CliRunner().invoke(main, ["init", str(repo)]).exit_code == 0
    assert cli(repo, "keys", "generate", "--no-passphrase").exit_code == 0
    for name in ("Alice", "Bob"):
        fpr = keyring.generate(name, f"{name.lower()}@example.org")
        (tmp_path / f"{name}.asc").write_text(keyring.export_public(fpr))
        assert cli(repo, "keys", "import", str(tmp_path / f"{name}.asc"), "--as",
                   "editor").exit_code == 0
    assert cli(repo, "trust", "propose", "--editor", "alice").exit_code == 0
    assert cli(repo, "trust", "sign", "--editor", "bob").exit_code == 0
    built = cli(repo, "build")
    assert built.exit_code == 0, built.output

    first = cli(repo, "doctor")
    assert first.exit_code == 1, first.output
    assert "the contact address is empty" in first.output
    assert "fix: temoin config set contact_email ADDRESS" in first.output
    assert "has no passphrase" in first.output and "fix: temoin keys protect" in first.output
    # Without an address the site publishes no key either: that follows from the first.
    assert set(unsafe(cli(repo, "doctor", "--json"))) == {"contact", "passphrase", "site"}

    address = cli(repo, "config", "set", "contact_email", "ecrire@sos.example.org",
                  "--editor", "alice")
    assert address.exit_code == 0, address.output
    assert cli(repo, "trust", "sign", "--editor", "bob").exit_code == 0
    # The address is now signed, but the key made before it does not name it.
    now = unsafe(cli(repo, "doctor", "--json"))
    assert set(now) == {"key-address", "passphrase", "site"}
    assert now["key-address"]["fix"] == "temoin keys add-uid"
    secret = tmp_path / "passphrase"
    secret.write_text(SECRET)
    assert cli(repo, "keys", "protect", "--passphrase-file", str(secret)).exit_code == 0
    monkeypatch.setenv("TEMOIN_PASSPHRASE_FILE", str(secret))
    assert cli(repo, "keys", "add-uid").exit_code == 0
    assert cli(repo, "build").exit_code == 0  # the site with the address and the key

    last = cli(repo, "doctor")
    assert last.exit_code == 0, last.output
    assert "Ready to launch" in last.output
    # What remains are warnings: no Git commit or remote, no $EDITOR.
    findings = json.loads(cli(repo, "doctor", "--json").stdout)
    assert findings["ready"] is True
    assert {f["check"] for f in findings["findings"] if f["status"] == doctor.WARN} == {
        "git", "text-editor"}


def test_fewer_than_two_editors_and_no_root_are_unsafe(tmp_path: Path, gnupghome: Path):
    repo = tmp_path / "org"
    CliRunner().invoke(main, ["init", str(repo), "--contact", "ecrire@sos.example.org"])
    found = unsafe(cli(repo, "doctor", "--json"))
    assert {"trust", "editors", "inbox-key", "site"} <= set(found)
    assert found["inbox-key"]["fix"] == "temoin keys generate"
    assert "EDITOR.asc --as editor" in found["editors"]["fix"]


def test_the_demo_repository_is_no_launch(demo_gnupghome: Path, monkeypatch:
                                          pytest.MonkeyPatch):
    """This repository's fictional organisation runs on keys whose secrets are published."""
    monkeypatch.setenv("EDITOR", "nano")
    result = cli(REPO_ROOT, "doctor", "--json")
    assert result.exit_code == 1
    demo = unsafe(result)["demo-keys"]
    assert "F88A7266060DF4E8C3604D47E26B810C9EBAAE51" in demo["what"]
    assert "temoin init" in demo["fix"]


def test_without_gnupghome_the_passphrase_is_a_warning_not_a_pass(org, monkeypatch:
                                                                   pytest.MonkeyPatch):
    monkeypatch.delenv("GNUPGHOME")
    findings = {f.check: f for f in doctor.run(org.repo, None, env={})}
    assert findings["passphrase"].status == doctor.WARN
    assert "offline machine" in findings["passphrase"].fix
    assert findings["text-editor"].status == doctor.WARN
