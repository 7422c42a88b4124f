"""`temoin demo`: the whole path on throwaway keys, as `make demo` runs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from temoin import cases, custody
from temoin.cli import main
from tests.helpers import site_files


def test_demo_runs_inbox_to_signed_site(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("GNUPGHOME", raising=False)
    target = tmp_path / "demo"
    # Custody entries are sealed to the editors, whose throwaway keys the demo deletes at
    # its end: keep each entry as the editors read it when it is appended, to check it
    # against the chain in the repository afterwards.
    appended: list[dict[str, Any]] = []
    append = custody.append

    def keep(*args: Any, **kwargs: Any) -> dict[str, Any]:
        entry = append(*args, **kwargs)
        appended.append(entry)
        return entry

    monkeypatch.setattr(custody, "append", keep)
    result = CliRunner().invoke(main, ["demo", str(target)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "1 quarantined" in result.output
    # the commands shown are the ones an editor types: no dangling --repo, words quoted
    assert "--repo" not in result.output and "--gnupghome" not in result.output
    assert "--note 'demo: two fictional witnesses'" in result.output
    assert (target / "inbox" / "quarantine" / "unencrypted.eml").exists()
    published = [c for c in cases.load_all(target)[0] if c.status == "published"]
    assert len(published) == 4
    files = site_files(target / "site")
    # The "statistics only" submission (issue 15): its page was refused for want of a
    # signed consent change; it is published with consent aggregate_only, counted, unseen.
    assert "exceeds the consent the source gave (aggregate_only, the submission form)" in \
        result.output
    assert "`temoin case consent" in result.output
    stats_only = [c for c in published if c.meta["consent"] == "aggregate_only"]
    assert len(stats_only) == 1
    for c in published:
        assert (f"cases/{c.id}/index.html" in files) == (c not in stats_only)
    assert not [p for p, d in files.items() if stats_only[0].id.encode() in d]
    data = files["data/cases.csv"].decode()
    assert "aggregate" not in data.split("\r\n", 1)[1]  # no aggregate-only row
    assert len(data.strip().split("\r\n")) == 1 + sum(
        len(c.meta["acts"]) for c in published if c not in stats_only)
    assert "SHA256SUMS.asc" in files
    # the raw testimonies never reach the site or any plaintext file of the repo
    secret = b"cachot"
    assert not [p for p, d in files.items() if secret in d]
    leaks = [p for p in target.rglob("*") if p.is_file() and p.suffix != ".asc"
             and secret in p.read_bytes()]
    assert leaks == []
    assert {"ingested", "quarantined"} <= {e["action"] for e in appended}
    # In Git, each line is sealed (no action, id or hash in the clear), the chain is
    # intact, and it holds exactly the entries appended, unaltered.
    lines = [json.loads(line) for line in (target / custody.LOG).read_text().splitlines()]
    assert len(lines) == len(appended)
    assert all(ln.get("v") == 2 and "sealed" in ln and "action" not in ln for ln in lines)
    assert custody.verify(target) == []
    assert custody.verify_part(custody.skeleton(target), appended) == []
