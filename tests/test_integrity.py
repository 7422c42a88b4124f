"""SHA256SUMS + signature over a built site, and `temoin verify-site` against tampering."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from temoin import keys
from temoin.cli import main
from temoin.errors import GateError
from temoin.publish import freshness
from temoin.publish import manifest as integrity

PUBLICATION = freshness.Publication(3, "2025-10-05")


@pytest.fixture
def org_key(keyring: keys.Keyring) -> str:
    """The organisation (inbox) signing key, fresh in the throwaway keyring."""
    return keyring.generate("SOS-Exemple inbox", "inbox@example.invalid")


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A small site folder like a build's output (nested folders, a space, binary), with the
    publication record every build writes (`verify-site` refuses a site without one)."""
    root = tmp_path / "site"
    files = {"index.html": "<p>Bulletin</p>\n", "cases/BI-2025-AAAAAA/index.html": "<p>Cas</p>",
             "assets/app.js": "console.log(1)\n", "search/search_index.json": "{}",
             "assets/images/favicon.png": b"\x89PNG\r\n\x1a\n\x00",
             "exports/cas publiés.csv": "id\n", "keys/inbox.asc": "-----BEGIN PGP...\n"}
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
    freshness.write(root, PUBLICATION)
    return root


@pytest.fixture
def signed(built: Path, keyring: keys.Keyring, org_key: str) -> Path:
    """`built` with a manifest signed by the organisation key."""
    integrity.write_manifest(built, keyring, org_key)
    return built


@pytest.fixture
def keyfile(tmp_path: Path, keyring: keys.Keyring, org_key: str) -> Path:
    """The organisation's public key exported to a file (what a reader has)."""
    p = tmp_path / "org.asc"
    p.write_text(keyring.export_public(org_key))
    return p


def test_write_manifest_is_sha256sum_compatible(signed: Path) -> None:
    lines = (signed / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    names = [line.split("  ", 1)[1] for line in lines]
    assert names == sorted(names, key=str.encode)
    assert "SHA256SUMS" not in names and "SHA256SUMS.asc" not in names
    assert len(names) == 8 and freshness.RECORD in names
    out = subprocess.run(["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=signed,
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count(": OK") == 8


def test_write_manifest_signature_verifies_with_plain_gpg(signed: Path, keyring: keys.Keyring
                                                          ) -> None:
    out = subprocess.run(["gpg", "--homedir", str(keyring.home), "--batch", "--status-fd", "1",
                          "--verify", "SHA256SUMS.asc", "SHA256SUMS"], cwd=signed,
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0 and "GOODSIG" in out.stdout


def test_verify_site_passes_fresh_manifest(signed: Path, keyfile: Path, keyring: keys.Keyring,
                                           org_key: str) -> None:
    assert integrity.verify_site(signed, keyfile) == []
    assert integrity.verify_site(signed, keyring, expected_signer=org_key) == []


@pytest.mark.parametrize("tamper,expected", [
    (lambda s: (s / "assets/app.js").write_bytes(b"console.log(2)\n"),
     "assets/app.js: content differs from SHA256SUMS (changed)"),
    (lambda s: (s / "cases/BI-2025-AAAAAA/index.html").unlink(),
     "cases/BI-2025-AAAAAA/index.html: listed in SHA256SUMS but missing (removed)"),
    (lambda s: (s / "assets/evil.js").write_text("alert(1)"),
     "assets/evil.js: not in SHA256SUMS (added)"),
])
def test_verify_site_detects_changed_removed_added(signed: Path, keyfile: Path, tamper,
                                                   expected: str) -> None:  # type: ignore[no-untyped-def]
    tamper(signed)
    assert integrity.verify_site(signed, keyfile) == [expected]


def test_verify_site_detects_one_byte_change(signed: Path, keyfile: Path) -> None:
    p = signed / "index.html"
    data = bytearray(p.read_bytes())
    data[3] ^= 0x01
    p.write_bytes(bytes(data))
    assert integrity.verify_site(signed, keyfile) == [
        "index.html: content differs from SHA256SUMS (changed)"]


def test_verify_site_detects_edited_manifest(signed: Path, keyfile: Path) -> None:
    (signed / "assets/app.js").write_text("alert(1)")
    sums = signed / "SHA256SUMS"
    import hashlib
    new = hashlib.sha256(b"alert(1)").hexdigest()
    text = "".join(f"{new}  assets/app.js\n" if line.endswith("  assets/app.js") else
                   line + "\n" for line in sums.read_text().splitlines())
    sums.write_text(text)
    problems = integrity.verify_site(signed, keyfile)
    assert problems == ["SHA256SUMS.asc: bad signature, or made by a key we do not have "
                        "(SHA256SUMS or its signature was altered)"]


def test_verify_site_detects_missing_signature(signed: Path, keyfile: Path) -> None:
    (signed / "SHA256SUMS.asc").unlink()
    assert integrity.verify_site(signed, keyfile) == [
        "SHA256SUMS.asc missing: the manifest is not signed, nothing proves the site is ours"]


def test_verify_site_detects_wrong_signer(built: Path, keyring: keys.Keyring, org_key: str,
                                          keyfile: Path) -> None:
    other = keyring.generate("Mallory", "mallory@example.invalid")
    integrity.write_manifest(built, keyring, other)
    # With the org's key file only, Mallory's signature cannot even be checked...
    assert "bad signature" in integrity.verify_site(built, keyfile)[0]
    # ...and with a keyring holding both keys, the signer is named and refused.
    assert integrity.verify_site(built, keyring, expected_signer=org_key) == [
        f"SHA256SUMS.asc: signed by {other}, expected {org_key}"]


def test_verify_site_refuses_unsafe_paths_and_symlinks(signed: Path, keyfile: Path) -> None:
    (signed / "link.html").symlink_to("/etc/passwd")
    problems = integrity.verify_site(signed, keyfile)
    assert "link.html: symlink or special file (a manifest lists regular files only)" in problems
    with pytest.raises(GateError, match="symlink"):
        integrity.write_manifest(signed, None, None)
    entries, bad = integrity.parse("0" * 64 + "  ../../etc/passwd\n" + "0" * 64 + "  /abs\n")
    assert entries == {} and len(bad) == 2 and all("unsafe path" in b for b in bad)


def test_write_manifest_unsigned_removes_stale_signature(signed: Path, keyfile: Path) -> None:
    integrity.write_manifest(signed, None, None)
    assert not (signed / "SHA256SUMS.asc").exists()
    assert "not signed" in integrity.verify_site(signed, keyfile)[0]


def test_write_manifest_handles_names_sha256sum_escapes(built: Path, keyring: keys.Keyring,
                                                        org_key: str, keyfile: Path) -> None:
    (built / "odd\\name.txt").write_text("x")
    integrity.write_manifest(built, keyring, org_key)
    assert integrity.verify_site(built, keyfile) == []
    out = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=built, capture_output=True,
                         text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


# -- the command ----------------------------------------------------------------------------

def test_cli_verify_site_ok_and_exit_codes(signed: Path, keyfile: Path, org_key: str) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["verify-site", str(signed), "--key", str(keyfile)])
    assert ok.exit_code == 0, ok.output
    assert "site OK: 8 files match SHA256SUMS, signature good; publication 3 of " \
           "2025-10-05: current" in ok.output

    (signed / "index.html").write_text("defaced")
    bad = runner.invoke(main, ["verify-site", str(signed), "--key", str(keyfile), "--json"])
    assert bad.exit_code == 1
    report = json.loads(bad.stdout)
    assert report["ok"] is False
    assert report["problems"] == ["index.html: content differs from SHA256SUMS (changed)"]

    (signed / "SHA256SUMS.asc").write_text("-----BEGIN PGP SIGNATURE-----\n\nAAAA\n"
                                           "-----END PGP SIGNATURE-----\n")
    forged = runner.invoke(main, ["verify-site", str(signed), "--key", str(keyfile)])
    assert forged.exit_code == 3
    assert "bad signature" in forged.output

    wrong = runner.invoke(main, ["verify-site", str(signed), "--key", str(keyfile),
                                 "--fingerprint", "0" * 40])
    assert wrong.exit_code == 3


def test_cli_verify_site_without_key_outside_repo_is_usage_error(signed: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(main, ["verify-site", str(signed)])
    assert out.exit_code == 2
    assert "--key FILE" in out.output


def test_cli_verify_site_copy_of_mirror(signed: Path, keyfile: Path, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(signed, mirror)
    out = CliRunner().invoke(main, ["verify-site", str(mirror), "--key", str(keyfile)])
    assert out.exit_code == 0, out.output
