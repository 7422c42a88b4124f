"""Reproducible builds: the same repo and SOURCE_DATE_EPOCH give byte-identical output,
signed manifest included (DESIGN §7.6; CI runs this on every submission)."""

from __future__ import annotations

from pathlib import Path

from temoin import keys
from temoin.publish import build
from temoin.publish import manifest as integrity
from tests.helpers import Org, site_files


def test_two_builds_are_byte_identical(org: Org, tmp_path: Path):
    org.add_case(narrative="Un cas publié.", urgent=True)
    org.add_case(narrative="Un autre cas.", private={"victims": [{"full_name": "Nom Fictif"}]})
    first = build.build(org.repo, org.cfg, tmp_path / "a", org.keyring).site_dir
    second = build.build(org.repo, org.cfg, tmp_path / "b", org.keyring).site_dir
    a, b = site_files(first), site_files(second)
    assert sorted(a) == sorted(b)
    differ = [p for p in a if a[p] != b[p]]
    assert differ == [], differ
    assert "SHA256SUMS.asc" in a and "search/search_index.json" in a


def test_signed_manifest_verifies_with_the_published_key(org: Org, tmp_path: Path):
    org.add_case()
    site = build.build(org.repo, org.cfg, tmp_path / "s", org.keyring).site_dir
    with keys.public_keyring([org.repo / "keys" / "inbox.asc"]) as verifier:
        assert integrity.verify_site(site, verifier) == []
    # the fingerprint sources encrypt to is vouched for by the signed manifest and on every page
    sums = (site / "SHA256SUMS").read_text()
    assert " keys/inbox-fingerprint.txt\n" in sums and " keys/inbox.asc\n" in sums
    assert (site / "keys" / "inbox-fingerprint.txt").read_text().splitlines()[0] == org.inbox
    grouped = " ".join(org.inbox[i:i + 4] for i in range(0, 40, 4))
    for page in ("index.html", "a-propos/index.html", "temoigner/index.html"):
        assert grouped in (site / page).read_text(), page
