"""Issue 16: an older private part restored from Git history is refused where a newer one was
seen. Every version ever written is signed (by an editor or the intake), so its signature
alone cannot tell; the version number inside the signature, and each machine's memory of
the newest version it has seen, can. Consent records live in private parts: a rollback must
not widen what is public. Real gpg, real repositories, real git."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest
from click.testing import CliRunner

from temoin import cases, curation, settings
from temoin.cli import main
from temoin.errors import CryptoError
from tests.curation_fixtures import cli, ok
from tests.helpers import Org

DAY = dt.date(2025, 10, 5)
TESTIMONY = "Emmené de nuit vers le cachot PART-CANARY-7R2W."


def _git(org: Org, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(org.repo), *args], check=True,
                          capture_output=True).stdout


def _committed(org: Org, message: str) -> None:
    _git(org, "add", "-A")
    _git(org, "-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-q",
         "--allow-empty", "-m", message)


def _reviewed(org: Org) -> tuple[cases.Case, str]:
    """A case in review whose public consent is `named`; its private part (version 1,
    written by Alice) records the source gave `named` and sharing with lawyers. Committed."""
    settings.update(org.repo, lambda o: o.__setitem__("bulletin_period", "quarter"))
    org.resign_site()
    if not (org.repo / ".git").is_dir():
        _git(org, "init", "-q")
    case = org.add_case(status="review", sign=False, consent="named",
                        private={"testimony": TESTIMONY, "consent_requested": "named",
                                 "share_consent": ["lawyer"]})
    for kind, who in (("verify", org.alice), ("approve", org.bob), ("risk-review", org.bob)):
        curation.record_decision(org.repo, case, kind, who, org.keyring, DAY)
    cases.save(org.repo, case)
    _committed(org, "case in review, broad consent")
    return case, f"cases/{case.id}/{cases.PRIVATE}"


def test_an_older_part_from_history_cannot_widen_consent(org: Org) -> None:
    """The source narrows their consent: an editor records it (`case set --private`, version
    2), and publication is refused for a named page. The version-1 part, signed by Alice and
    taken from Git history, is put back: `case publish`, `check` and reading the part
    refuse it, name the file and say it was rolled back; the case stays unpublished."""
    case, where = _reviewed(org)
    ok(cli(org.repo, "case", "set", case.id, "--private", "consent_requested=anonymised",
           "--private", "share_consent=[]", editor=org.alice))
    _committed(org, "the source narrowed their consent")
    narrowed = cli(org.repo, "case", "publish", case.id, "--editor", org.bob)
    assert narrowed.exit_code == 4 and "exceeds the consent the source gave" in narrowed.output
    # Whoever can push restores the older part, still validly signed by Alice.
    old = _git(org, "show", f"HEAD~1:{where}")
    (org.repo / where).write_bytes(old)
    with pytest.raises(CryptoError, match="rolled back: this machine has seen version 2"):
        cases.read_private(org.repo, case.id, org.keyring)
    result = cli(org.repo, "case", "publish", case.id, "--editor", org.bob)
    assert result.exit_code == 3, result.output
    assert where in result.output and "rolled back" in result.output
    assert "version 1" in result.output and TESTIMONY not in result.output
    assert cases.load(org.repo, case.id).status == "review"
    assert not (case.folder / "review" / "publish.json").exists()
    check = cli(org.repo, "check")
    assert check.exit_code == 1 and where in check.output and "rolled back" in check.output
    # The genuine newest part, restored, reads again.
    _git(org, "checkout", "--", where)
    assert cases.read_private(org.repo, case.id, org.keyring)["consent_requested"] == \
        "anonymised"


def test_a_rolled_back_part_is_signed_anew_only_through_migrate(org: Org) -> None:
    """Each write numbers the part past the newest this machine has seen; an older part
    meant to come back is shown by `temoin migrate` and signed again as a newer version,
    after which it reads (and the one it replaced, restored once more, is refused)."""
    case, where = _reviewed(org)
    first = (org.repo / where).read_bytes()
    for n in (2, 3):
        ok(cli(org.repo, "case", "set", case.id, "--private", f"note=edit {n}",
               editor=org.alice))
        plain = org.keyring.decrypt((org.repo / where).read_bytes()).plaintext
        assert cases.parts.header(plain) == (case.id, n, plain.index(b"\n") + 1)
    third = (org.repo / where).read_bytes()
    (org.repo / where).write_bytes(first)
    assert cli(org.repo, "case", "show", case.id, "--private").exit_code == 3
    result = CliRunner().invoke(main, ["--repo", str(org.repo), "migrate", "--editor",
                                       org.alice], input="y\n")
    assert result.exit_code == 0, result.output
    assert "rolled back" in result.output and where in result.output
    assert cases.read_private(org.repo, case.id, org.keyring).get("note") is None
    plain = org.keyring.decrypt((org.repo / where).read_bytes()).plaintext
    assert cases.parts.header(plain)[1] == 4
    (org.repo / where).write_bytes(third)
    with pytest.raises(CryptoError, match="this file is version 3"):
        cases.read_private(org.repo, case.id, org.keyring)
