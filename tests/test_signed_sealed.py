"""Issue 16: sealed drafts (`case.md.asc`) and the case-id secret (`keys/id-secret.asc`) are
signed by their writer (an editor, or the intake) then encrypted, like private parts; one
nobody the trust root names signed is refused on reading, naming the file and the signer
found. Older unsigned ones are read only by `temoin migrate`, which signs them and records
it in the custody log. Real gpg, real repositories."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from temoin import cases, custody
from temoin.cli import main
from temoin.errors import CryptoError
from temoin.keys import vault
from tests.curation_fixtures import cli, ok
from tests.helpers import FORGERIES, Org, forge

FORGED = "FORGED-DRAFT-4H8P"


def _draft(org: Org) -> tuple[cases.Case, str]:
    case = org.add_case(status="draft", sign=False, narrative="Récit du brouillon.")
    where = f"cases/{case.id}/{cases.SEALED}"
    assert (org.repo / where).is_file()
    return case, where


def _signer(org: Org, data: bytes) -> str:
    res = org.keyring.decrypt(data, max_output=1 << 20)
    assert res.ok, res.reason
    return res.signer if res.signature_valid else ""


def test_drafts_and_the_id_secret_are_signed_by_their_writer(org: Org) -> None:
    """What an editor writes sealed carries that editor's signature inside."""
    case, where = _draft(org)
    vault.for_repo(org.repo, org.keyring).id_key(org.repo)  # made on first use
    assert _signer(org, (org.repo / where).read_bytes()) in org.cfg.recipient_fingerprints
    assert _signer(org, (org.repo / vault.ID_SECRET).read_bytes()) in \
        (*org.cfg.recipient_fingerprints, org.cfg.inbox_key)  # the intake's, or an editor's


@pytest.mark.parametrize("how", FORGERIES)
def test_a_forged_sealed_draft_is_refused(org: Org, how: str) -> None:
    """A draft replaced by one encrypted to the editors (anyone with their public keys can)
    with other words: `check`, `case show` and loading refuse it, name the file and the
    signer found, and show none of its text."""
    case, where = _draft(org)
    text = cases.dumps(case).replace("Récit du brouillon.", FORGED).encode()
    (org.repo / where).write_bytes(forge(org, text, how))
    why = {"unsigned": "not signed", "outsider": "neither an editor's nor the inbox key",
           "revoked": "after that key's revocation"}[how]
    for args in (["check"], ["case", "show", case.id]):
        result = cli(org.repo, *args)
        assert result.exit_code != 0, (args, result.output)
        assert where in result.output and why in result.output, (args, result.output)
        assert FORGED not in result.output
    if how != "unsigned":
        assert "signed by " in cli(org.repo, "check").output
    with pytest.raises(CryptoError, match=why):
        cases.load(org.repo, case.id)


def test_a_forged_id_secret_is_refused(org: Org) -> None:
    """An id secret the attacker chose (so they could compute the id of any message they
    hold) encrypted to the editors: refused wherever it is read."""
    (org.repo / vault.ID_SECRET).parent.mkdir(exist_ok=True)
    (org.repo / vault.ID_SECRET).write_bytes(forge(org, b"ab" * 32 + b"\n", "outsider"))
    with pytest.raises(CryptoError, match=r"keys/id-secret.asc: refused: signed by [0-9A-F]{40}"):
        vault.Vault(org.keyring, org.cfg.recipient_fingerprints).id_key(org.repo)


def test_migrate_signs_older_unsigned_drafts_and_id_secret(org: Org) -> None:
    """A repository from before: its draft and id secret are sealed but unsigned. Reading
    refuses them; `temoin migrate` shows them, signs them as the acting editor and writes a
    custody entry naming them; then they read, with the same content and the same key."""
    case, where = _draft(org)
    text = cases.dumps(case).encode()
    rcpts = org.cfg.recipient_fingerprints
    (org.repo / where).write_bytes(org.keyring.encrypt(text, rcpts))
    (org.repo / vault.ID_SECRET).parent.mkdir(exist_ok=True)
    (org.repo / vault.ID_SECRET).write_bytes(org.keyring.encrypt(b"cd" * 32 + b"\n", rcpts))
    assert cli(org.repo, "case", "show", case.id).exit_code != 0
    result = CliRunner().invoke(main, ["--repo", str(org.repo), "migrate", "--editor",
                                       org.alice], input="y\n")
    assert result.exit_code == 0, result.output
    assert where in result.output and vault.ID_SECRET in result.output
    assert _signer(org, (org.repo / where).read_bytes()) == org.alice
    assert _signer(org, (org.repo / vault.ID_SECRET).read_bytes()) == org.alice
    assert cases.dumps(cases.load(org.repo, case.id)) == text.decode()
    assert vault.Vault(org.keyring, rcpts).id_key(org.repo) == bytes.fromhex("cd" * 32)
    last = list(custody.entries(org.repo))[-1]
    assert last["action"] == "parts_signed" and last["editor"] == org.alice
    assert sorted(last["sealed_signed"]) == sorted([where, vault.ID_SECRET])
    ok(cli(org.repo, "case", "show", case.id))


def test_an_unsigned_custody_entry_does_not_count_until_migrate_signs_it(org: Org) -> None:
    """Anyone with the editors' public keys can append a sealed entry: a forged `ingested`
    claim (which would make ingest skip that submission) reads as not counted, naming its
    line and why; the fetch side's `received` (written with no secret key) still counts.
    An editor's entries are signed by them. `temoin migrate` lists the unsigned entries,
    seals the log again with every entry signed, and they count."""
    rcpts = org.cfg.recipient_fingerprints
    box = vault.Vault(org.keyring, rcpts)
    custody.append(org.repo, "verified", seal=box, case="BI-2025-AAAAAA", editor=org.alice)
    unsigned = lambda data: org.keyring.encrypt(data, rcpts)  # noqa: E731
    custody.append(org.repo, "received", seal=unsigned, submission="ab" * 32)
    custody.append(org.repo, "ingested", seal=unsigned, submission="ab" * 32,
                   case="BI-2025-FORGED")
    got = list(custody.entries(org.repo, box))
    assert got[0]["action"] == "verified" and got[0]["signed_by"] in rcpts
    assert got[1]["action"] == "received" and got[1]["signed_by"] is None
    assert got[2]["action"] == custody.NOT_COUNTED and "BI-2025-FORGED" not in str(got[2])
    assert f"{custody.LOG}:3: not signed" in got[2]["why"]
    result = CliRunner().invoke(main, ["--repo", str(org.repo), "migrate", "--editor",
                                       org.alice], input="y\n")
    assert result.exit_code == 0, result.output
    assert f"{custody.LOG}: 1 sealed entr" in result.output
    assert custody.verify(org.repo) == []
    after = list(custody.entries(org.repo, box))
    assert custody.NOT_COUNTED not in [e["action"] for e in after]
    assert {e["signed_by"] for e in after} == {org.alice}
    assert [e["action"] for e in after][:4] == ["log_sealed", "verified", "received", "ingested"]
