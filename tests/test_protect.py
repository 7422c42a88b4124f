"""The inbox key's passphrase and address (issue 17): read from gpg-agent without opening
anything, given by `keys generate` by default, added by `keys protect` and `keys add-uid`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from temoin import config, keys
from temoin.cli import main
from temoin.errors import CryptoError
from temoin.keys import protect
from tests.helpers import stop_gpg
from tests.terminal import converse, temoin_argv, temoin_env

SECRET = "deux mots de passe, pas un"


def cli(repo: Path, *args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, ["--repo", str(repo), *args], env=env)


@pytest.fixture
def repo(tmp_path: Path, gnupghome: Path) -> Path:
    """`temoin init` with a contact address, no key yet."""
    r = tmp_path / "org"
    result = CliRunner().invoke(main, ["init", str(r), "--contact", "ecrire@sos.example.org"])
    assert result.exit_code == 0, result.output
    return r


def test_parts_tell_a_clear_key_from_a_protected_one_without_opening_either(
        keyring: keys.Keyring):
    clear = keyring.generate("Clear", "c@example.org")
    locked = keyring.generate("Locked", "l@example.org", passphrase=SECRET)
    assert {p.state for p in protect.parts(keyring, clear)} == {protect.CLEAR}
    assert [p.primary for p in protect.parts(keyring, locked)] == [True, False]
    assert {p.state for p in protect.parts(keyring, locked)} == {protect.PROTECTED}
    assert protect.parts(keyring, "0" * 40) == []
    # Asking opened nothing: the locked key still refuses to decrypt without its passphrase.
    message = keyring.encrypt(b"temoignage", [locked])
    assert not keyring.decrypt(message).ok
    assert keys.Keyring(keyring.home, passphrase=SECRET).decrypt(message).plaintext == \
        b"temoignage"


def test_set_passphrase_protects_every_part_and_refuses_a_protected_key(
        keyring: keys.Keyring):
    fpr = keyring.generate("Inbox", "i@example.org")
    message = keyring.encrypt(b"temoignage", [fpr])
    protect.set_passphrase(keyring, fpr, SECRET)
    assert {p.state for p in protect.parts(keyring, fpr)} == {protect.PROTECTED}
    assert not keyring.decrypt(message).ok
    assert keys.Keyring(keyring.home, passphrase=SECRET).decrypt(message).ok
    with pytest.raises(CryptoError, match="--passwd"):
        protect.set_passphrase(keyring, fpr, "another one")


def test_add_uid_makes_the_address_the_primary_user_id(keyring: keys.Keyring):
    fpr = keyring.generate("SOS", "", passphrase=SECRET)
    protect.add_uid(keyring, fpr, "SOS <ecrire@sos.example.org>", SECRET)
    uids = next(k.uids for k in keyring.list() if k.fingerprint == fpr)
    assert uids[0] == "SOS <ecrire@sos.example.org>" and "SOS" in uids


def test_generate_refuses_to_guess_a_passphrase_off_a_terminal(repo: Path):
    result = cli(repo, "keys", "generate")
    assert result.exit_code == 2
    assert "--passphrase-file" in result.output and "--no-passphrase" in result.output
    assert not (repo / "keys" / "inbox.asc").exists()


def test_generate_protects_the_key_and_names_the_contact_address(
        repo: Path, keyring: keys.Keyring, tmp_path: Path):
    secret = tmp_path / "passphrase"
    secret.write_text(SECRET)
    result = cli(repo, "keys", "generate", "--passphrase-file", str(secret))
    assert result.exit_code == 0, result.output
    fpr = config.load(repo).inbox_key
    assert {p.state for p in protect.parts(keyring, fpr)} == {protect.PROTECTED}
    with keys.public_keyring([repo / "keys" / "inbox.asc"]) as published:
        assert published.list()[0].uids == ("Mon organisation <ecrire@sos.example.org>",)
    # The passphrase was written nowhere: not in the repository, not in GnuPG's home.
    for folder in (repo, keyring.home):
        assert not [p for p in folder.rglob("*") if p.is_file()
                    and SECRET.encode() in p.read_bytes()]


def test_no_passphrase_is_explicit_and_said_loudly(repo: Path, keyring: keys.Keyring):
    result = cli(repo, "keys", "generate", "--no-passphrase")
    assert result.exit_code == 0, result.output
    assert "NO passphrase" in result.output and "temoin keys protect" in result.output
    fpr = config.load(repo).inbox_key
    assert {p.state for p in protect.parts(keyring, fpr)} == {protect.CLEAR}
    protected = cli(repo, "keys", "protect", "--passphrase-file", "/dev/null")
    assert protected.exit_code == 2 and "empty passphrase" in protected.output


def test_generate_asks_twice_on_a_terminal_and_never_shows_it(repo: Path, gnupghome: Path):
    env = temoin_env(GNUPGHOME=str(gnupghome))
    env.pop("TEMOIN_PASSPHRASE_FILE", None)
    code, seen = converse(temoin_argv("--repo", str(repo), "keys", "generate"),
                          [("Passphrase for the inbox key", SECRET), ("Repeat it", SECRET)],
                          env)
    assert code == 0, seen
    assert SECRET not in seen
    fpr = config.load(repo).inbox_key
    assert {p.state for p in protect.parts(keys.Keyring(gnupghome), fpr)} == \
        {protect.PROTECTED}


def test_commands_ask_the_passphrase_once_on_a_terminal(repo: Path, gnupghome: Path,
                                                        tmp_path: Path):
    """`keys add-uid` needs the protected inbox key: on a terminal, without
    TEMOIN_PASSPHRASE_FILE, the command asks for its passphrase (hidden) and goes on."""
    secret = tmp_path / "passphrase"
    secret.write_text(SECRET)
    result = cli(repo, "keys", "generate", "--email", "", "--passphrase-file", str(secret))
    assert result.exit_code == 0, result.output
    env = temoin_env(GNUPGHOME=str(gnupghome))
    env.pop("TEMOIN_PASSPHRASE_FILE", None)
    code, seen = converse(temoin_argv("--repo", str(repo), "keys", "add-uid"),
                          [("Passphrase of the keys in GNUPGHOME", SECRET)], env)
    assert code == 0, seen
    assert SECRET not in seen and "ecrire@sos.example.org" in seen
    with keys.public_keyring([repo / "keys" / "inbox.asc"]) as published:
        assert published.list()[0].uids[0] == "Mon organisation <ecrire@sos.example.org>"
    stop_gpg(gnupghome)
