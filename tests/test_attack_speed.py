"""Attacks on the speed-ups of issue 18 (attack18): forms the fast paths read differently
from the old ones must give the same verdicts."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pikepdf
import pytest

from temoin import gates
from tests.helpers import Org


def _pdf_note(note: bytes, disguised: bool = False) -> bytes:
    """A one-page PDF with a text annotation (a reader's sticky note) holding `note`
    (`disguised`: the note also bears a signature dictionary's /Type and /ByteRange)."""
    doc = pikepdf.new()
    doc.add_blank_page()
    annot = pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Text,
                               Rect=[0, 0, 10, 10], Contents=pikepdf.String(note))
    if disguised:
        annot.Type, annot.ByteRange = pikepdf.Name.Sig, pikepdf.Array([0, 10, 20, 10])
    doc.pages[0].Annots = doc.make_indirect(pikepdf.Array([annot]))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _scan(tmp_path: Path, name: str, data: bytes, canaries: list[gates.Canary]
          ) -> list[gates.Finding]:
    site = tmp_path / name.replace(".", "-")
    site.mkdir(parents=True)
    (site / name).write_bytes(data)
    return list(gates.scan(site, canaries=canaries, gates=["canary"]))


@pytest.mark.parametrize("note", [
    b"Kango\x01a dit",            # a short name, then a control byte
    b"\x01Kango",                 # a control byte, then a short name
    b"\x01Zo\xe9 Kango\x02",       # beside a word with a letter outside ASCII
    b"\x0bKango Ndayisenga",      # a vertical tab (a line break in some editors)
    "Kango a dit".encode("utf-16-be"),  # UTF-16 without its byte-order mark: NULs
])
def test_a_note_with_one_control_byte_is_still_read_as_text(tmp_path: Path,
                                                           note: bytes) -> None:
    """A note's text is a text string, whatever stray control byte an editor or a hostile
    source left in it: a reader shows the name, so the canary gate must find it. Reading
    any string with a control byte as runs of 8 printable characters (the /ID fix) lost a
    name shorter than 8 letters, or one beside a letter outside ASCII."""
    kango = gates.Canary("Kango", "BI-2025-AAAAAA", "victims.0.full_name")
    for disguised in (False, True):
        found = _scan(tmp_path / str(disguised), "note.pdf", _pdf_note(note, disguised),
                      [kango])
        assert [f.path for f in found] == ["note.pdf"], (note, disguised)


@pytest.mark.parametrize("page", [
    "<p>Ndayi-<br>senga a témoigné</p>",          # a hyphen, then a hard line break
    "<p>Ndayi-<br/>\nsenga a témoigné</p>",       # as Markdown writes a hard break
    "<p>Ndayi- <br>senga a témoigné</p>",         # a space before the break
    "<p>Ndayi&#8208;<br>senga a témoigné</p>",    # the hyphen as an entity
    "<p>Ndayi\u2011<br>senga a témoigné</p>",     # a non-breaking hyphen
    '{"html": "<p>Ndayi-&lt;br&gt;senga</p>"}',  # HTML escaped into JSON (a feed, search)
])
def test_a_name_hyphenated_at_a_line_break_tag_is_found(tmp_path: Path, page: str) -> None:
    """A word hyphenated where a `<br>` breaks the line reads as one word, as it does at a
    line break in the text ("Ndayi-\\nsenga", found): the break was removed before the
    hyphenation was undone, leaving "Ndayi-senga"."""
    name = gates.Canary("ndayisenga", "BI-2025-AAAAAA", "victims.0.full_name")
    suffix = "json" if page.startswith("{") else "html"
    found = _scan(tmp_path, f"page.{suffix}", page.encode(), [name])
    assert [f.path for f in found] == [f"page.{suffix}"], page


@pytest.mark.parametrize("page", [
    "<p>voir BI-2025-0A1B2C</p>",             # as written (found before)
    '{"narrative": "voir BI-2025-**0A1B2C**"}',  # Markdown emphasis after a hyphen (JSON)
    "<p>voir BI2025-0A1B2C</p>",              # a hyphen dropped
    "<p>voir BI2025 0A1B2C</p>",              # a hyphen dropped, the other a space
    '{"narrative": "voir BI2025-**0A1B2C**"}',  # a hyphen dropped, emphasis at the other
    "<p>voir BI-2025/ 0A1B2C</p>",            # another separator
    "<p>voir BI-2025-&lt;0A1B2C&gt;</p>",     # in brackets
])
def test_an_unpublished_case_id_with_its_separators_changed_is_found(tmp_path: Path,
                                                                      page: str) -> None:
    """An id whose random part begins with a digit folds as "bi 20250a1b2c" (a digit gap
    joins "2025-0A1B2C"): written with a separator dropped, or with markup or a bracket
    between the year and the digit, it no longer folded to the pattern, and the id of an
    unpublished case passed the gate. Every way of joining or splitting its parts is a
    pattern."""
    suffix = "json" if page.startswith("{") else "html"
    site = tmp_path / "site"
    site.mkdir()
    (site / f"page.{suffix}").write_text(page)
    found = gates.scan(site, forbidden_ids=["BI-2025-0A1B2C"], gates=["unpublished-case"])
    assert [f.path for f in found] == [f"page.{suffix}"], page


def test_a_cache_folder_inside_the_repository_is_never_used(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """XDG_CACHE_HOME set to a folder of the working tree (CI jobs cache `$PWD/.cache`):
    the cache, its HMAC key with it, sat in the repository, where it is committed, and a
    clone at the same path that carries one (checked out 0600 under umask 077) had its
    entries trusted: a remembered signer or finding would decide what is public. No cache
    is used there (the build runs as with TEMOIN_NO_CACHE=1), and nothing is written."""
    from temoin import cache as cache_mod

    spec = cache_mod.Spec("attack18-planted.json", (), (), "a test cache")
    repo = tmp_path / "repo"
    (repo / "cases").mkdir(parents=True)
    monkeypatch.delenv(cache_mod.NO_CACHE, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(repo / ".cache"))
    old = os.umask(0o077)
    try:
        # What the attacker commits: a store made at the victim's clone path (the folder
        # name is the hash of that path), then the clone checked out with it.
        planted = cache_mod.Store(tmp_path / "made", os.urandom(cache_mod.KEY_BYTES))
        planted.folder.mkdir()
        planted.file(spec).save(b'{"signer": "forged"}')
        folder = repo / ".cache" / "temoin" / cache_mod.repo_id(repo)
        folder.mkdir(parents=True)
        for f in planted.folder.iterdir():
            (folder / f.name).write_bytes(f.read_bytes())
        (folder / cache_mod.KEY_FILE).write_bytes(planted._key)
        assert cache_mod.Store.open(repo) is None
        assert cache_mod.open_file(repo, spec) is None
        # and a cache home inside the repository is not even made
        monkeypatch.setenv("XDG_CACHE_HOME", str(repo / "build-cache"))
        assert cache_mod.Store.open(repo) is None
        assert not (repo / "build-cache").exists()
    finally:
        os.umask(old)


def test_preview_sees_a_withdrawal_another_clone_remembered(org: Org, tmp_path: Path
                                                            ) -> None:
    """What this machine remembers of the repository (withdrawals, decision heads, private
    part versions) is shared by its clones: a withdrawal signed and built in another clone
    keeps the case off this clone's site (`TEMOIN_NO_CACHE=1 temoin build` refuses it, the
    withdrawal being missing here), but `temoin serve` kept its verdict, the case folder
    being unchanged, and went on showing the case."""
    from temoin import trust
    from temoin.site import preview

    kept = org.add_case(narrative="Récit gardé.")
    gone = org.add_case(narrative="Récit retiré ailleurs.")
    site = tmp_path / "preview"
    pv = preview.Preview(org.repo, site)
    pv.build()
    assert list(site.rglob(f"*{gone.id.lower()}*")) or gone.id in _site_text(site)
    trust.remember_withdrawn(org.repo, gone.id, "ab" * 32)  # the other clone's build
    fresh = tmp_path / "fresh"
    preview.Preview(org.repo, fresh).build()  # what a preview started now shows
    assert gone.id not in _site_text(fresh, "index.html")
    pv.build()
    assert gone.id not in _site_text(site, "index.html")
    assert kept.id in _site_text(site, "index.html")


def _site_text(site: Path, name: str = "*.html") -> str:
    return "\n".join(p.read_text(errors="replace") for p in site.rglob(name))


def test_a_pins_folder_inside_the_repository_is_refused(org: Org,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """The pins (the trust root's fingerprint, the newest statement seen, the withdrawals
    and decision heads seen) live outside the repository: with XDG_CONFIG_HOME (or HOME)
    set to a folder of the working tree they sat in it, where a commit replaces them (a
    pin of another root, a withdrawal forgotten). The trust root is then refused, naming
    the folder, and nothing is written there."""
    from temoin import trust
    from temoin.trust.statements import TrustError

    monkeypatch.setenv("XDG_CONFIG_HOME", str(org.repo / ".config"))
    with pytest.raises(TrustError, match="inside the repository"):
        trust.require(org.repo)
    assert not (org.repo / ".config").exists()
