"""Progress of long work as a user sees it away from a terminal (a log, CI): one line a
phase on stderr, ids and counts only, nothing in `--json` mode."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner

from temoin.cli import main
from tests.helpers import Org
from tests.intake_fixtures import (
    Keys,
    encrypt,
    inner_mime,
    intake_keyrings_fixture,  # noqa: F401 - the intake_keyrings fixture
    intake_keys_fixture,  # noqa: F401 - the intake_keys fixture
    pgp_mime,
    repo_fixture,  # noqa: F401 - the repo fixture
)

SECRET = "Nkurunziza CANARY-PROGRESS-8W"


def test_build_reports_each_phase_on_stderr_without_case_content(org: Org):
    case = org.add_case(published=dt.date(2025, 10, 6),
                        title={"fr": f"Titre {SECRET}", "en": f"Title {SECRET}"})
    result = CliRunner().invoke(main, ["--repo", str(org.repo), "build"],
                                env={"GNUPGHOME": str(org.keyring.home)})
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    phases = [ln for ln in lines if ln.startswith("temoin: ")]
    assert [p.split(" (")[0] for p in phases] == [
        "temoin: cases, signatures and generated pages", "temoin: render pages",
        "temoin: decrypt private parts", "temoin: gates", "temoin: manifest"]
    assert phases[1].endswith(" pages)") and int(phases[1].split("(")[1].split()[0]) > 10
    assert "CANARY-PROGRESS" not in result.stderr and case.id not in result.stderr
    assert "Built " in result.stdout and "temoin: " not in result.stdout


def test_ingest_reports_counts_not_names_and_is_silent_in_json_mode(repo: Path,
                                                                    intake_keys: Keys):
    env = {"GNUPGHOME": str(intake_keys.editors.home)}
    for i in range(12):
        (repo / "inbox" / f"Nkurunziza-{i}.eml").write_bytes(
            pgp_mime(encrypt(intake_keys, inner_mime(f"{SECRET} {i}."))))
    out = CliRunner().invoke(main, ["--repo", str(repo), "ingest", "--json"], env=env)
    assert out.exit_code == 0, out.output
    assert out.stderr == "" and len(json.loads(out.stdout)) == 12
    for i in range(12, 24):
        (repo / "inbox" / f"Nkurunziza-{i}.eml").write_bytes(
            pgp_mime(encrypt(intake_keys, inner_mime(f"{SECRET} {i}."))))
    out = CliRunner().invoke(main, ["--repo", str(repo), "ingest"], env=env)
    assert out.exit_code == 0, out.output
    assert out.stderr.splitlines() == ["temoin: ingest (12 files)"]
    assert "Nkurunziza" not in out.stderr
