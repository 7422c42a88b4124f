"""Adversary with write access to the Git remote (issue 16): only signatures make things
public, and nothing in the repository runs code. Real repositories, real gpg."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

from temoin import cases, curation, settings, trust
from tests.curation_fixtures import cli, ok
from tests.helpers import Org, site_files

DAY = dt.date(2025, 10, 5)


def _quarterly(org: Org) -> None:
    settings.update(org.repo, lambda o: o.__setitem__("bulletin_period", "quarter"))
    org.resign_site()  # mkdocs.yml's settings are signed with the site's files


# -- templates are code ------------------------------------------------------------------
def test_jinja_in_a_committed_template_runs_nothing(org: Org, tmp_path: Path) -> None:
    """MkDocs' Jinja environment is not sandboxed: `lipsum.__globals__` reaches `os`. A
    forged commit to site_src/overrides must not run a command on the editor's machine."""
    _quarterly(org)
    marker = tmp_path / "pwned-jinja"
    partial = org.repo / "site_src" / "overrides" / "partials" / "copyright.html"
    partial.write_text("{{ lipsum.__globals__['os'].popen('touch " + str(marker)
                       + "').read() }}" + partial.read_text())
    for args in (["build"], ["check"]):
        result = cli(org.repo, *args)
        assert result.exit_code != 0, (args, result.output)
        assert "overrides/partials/copyright.html" in result.output, result.output
    assert not marker.exists()


# -- the trust root cannot go back -------------------------------------------------------
def test_trust_root_rolled_back_by_deleting_the_latest_statement_is_refused(org: Org) -> None:
    """Two editors raise publish_min_level (serial 1). A forged commit deletes trust/0001.json
    and its signatures: the older, signed root (a seized key back in the roster, a lower
    threshold) must not come back on a machine that has seen serial 1."""
    settings.update(org.repo, lambda o: o.__setitem__("publish_min_level", "confirmed"))
    ok(cli(org.repo, "trust", "propose", editor=org.alice))
    ok(cli(org.repo, "trust", "sign", editor=org.bob))
    cli(org.repo, "check")  # this machine sees serial 1
    assert trust.require(org.repo).serial == 1
    for f in sorted((org.repo / "trust").glob("0001.json*")):
        f.unlink()
    settings.update(org.repo, lambda o: o.__setitem__("publish_min_level", "verified"))
    for args in (["check"], ["build"], ["export"]):
        result = cli(org.repo, *args)
        assert result.exit_code in ((1, 3) if args == ["check"] else (3,)), (args, result.output)
        assert "rolled back" in result.output and "serial 1" in result.output, result.output


# -- an unverified trust statement is never used -----------------------------------------
def test_unsigned_trust_statement_changes_nothing_any_command_does(org: Org) -> None:
    """A forged, unsigned trust/0001.json lowering publish_min_level: `build` refuses it, and
    so must every other command reading the settings (`export` writes the open data)."""
    _quarterly(org)
    low = org.add_case(sign=False, verification="credible", narrative="Cas LOW-CANARY.")
    org.sign(low)
    first = org.repo / "trust" / "0000.json"
    doc = json.loads(first.read_bytes())
    doc["payload"]["publish_min_level"] = "received"
    forged = trust.statement(doc["payload"], 1, hashlib.sha256(first.read_bytes()).hexdigest(),
                             doc["repo_id"], org.alice, dt.datetime(2025, 10, 6, tzinfo=dt.UTC))
    (org.repo / "trust" / "0001.json").write_bytes(forged)
    for args in (["export", "--format", "json"], ["case", "list", "--json"]):
        result = cli(org.repo, *args)
        assert result.exit_code == 3, (args, result.output)
        assert "trust/0001.json" in result.output and "LOW-CANARY" not in result.output


# -- a withdrawal cannot be undone by deleting it ----------------------------------------
def test_deleting_a_signed_withdrawal_does_not_republish(org: Org) -> None:
    """A published case is withdrawn (it endangered someone). A forged commit deletes
    review/withdraw.json(.asc) and the sealed case.md.asc, and restores the case.md of the
    published case (plaintext in Git history, `status: published`): the case must stay off
    the site on a machine that has seen the withdrawal."""
    _quarterly(org)
    case = org.add_case(narrative="Cas retiré WITHDRAWN-CANARY.")
    ok(cli(org.repo, "build"))
    assert b"WITHDRAWN-CANARY" in b"".join(site_files(org.repo / "site").values())
    md = case.folder / cases.PUBLIC
    published_text = md.read_text(encoding="utf-8")  # what the attacker has from history
    assert "status: published" in published_text
    ok(cli(org.repo, "case", "withdraw", case.id, "--reason", "Danger pour la victime",
           editor=org.alice))
    ok(cli(org.repo, "build"))
    assert b"WITHDRAWN-CANARY" not in b"".join(site_files(org.repo / "site").values())
    # Withdrawn is unpublished: the case is sealed to the editors, no plaintext is left.
    sealed = case.folder / cases.SEALED
    assert sealed.is_file() and not md.exists()
    review = case.folder / curation.REVIEW
    for f in review.glob("withdraw.json*"):
        f.unlink()
    sealed.unlink()
    md.write_text(published_text, encoding="utf-8")
    result = cli(org.repo, "build", "--allow-unpublished")
    everything = b"".join(site_files(org.repo / "site").values()) \
        if (org.repo / "site").exists() else b""
    assert b"WITHDRAWN-CANARY" not in everything, result.output
    check = cli(org.repo, "check")
    assert check.exit_code != 0 and "withdraw" in check.output, check.output
    shutil.rmtree(org.repo / "site", ignore_errors=True)
