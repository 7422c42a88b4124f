"""A hostile submission through real ingest (issue 15, acceptance): a PGP/MIME mail
encrypted with gpg to the organisation's inbox key, whose attachments are named after
provinces, Windows device names, a path out of the folder, 300 characters and a right-to-left
override, is ingested by `temoin ingest`, and the site of published cases still builds: the
draft's values are reported, never blocking."""

from __future__ import annotations

import io
import json
import os

from PIL import Image

from temoin import cases
from tests.curation_fixtures import cli, ok
from tests.helpers import Org
from tests.intake_fixtures import inner_mime, pgp_mime


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(out, "JPEG")
    return out.getvalue()


LONG = "R" * 296 + ".pdf"
RTL = "rapport\u202efdp.exe"
ATTACHMENTS = [  # (name, type, bytes, name style)
    ("Bujumbura.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n", "2231"),
    ("Gitega.pdf", "application/pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n", "2047"),
    ("CON", "application/octet-stream", b"con", "plain"),
    ("NUL.txt", "text/plain", b"nul\n", "plain"),
    ("aux.jpg", "image/jpeg", _jpeg(), "2231"),
    ("../../x", "application/octet-stream", b"escape", "plain"),
    ("Kayanza", "application/octet-stream", b"province", "2231"),
    (LONG, "application/pdf", b"%PDF-1.4\n% long\n%%EOF\n", "2231"),
    (RTL, "application/octet-stream", b"MZ", "2231"),
]
TESTIMONY = ("Gitega, Ngozi, Kayanza, Bururi. Les fichiers joints sont nommés comme des "
             "provinces et des périphériques.")


def test_a_hostile_mail_is_ingested_and_the_site_still_builds(org: Org) -> None:
    published = [org.add_case(narrative="Récit anonymisé : arrêté à Gitega, détenu à Ngozi."),
                 org.add_case(narrative="Un homme de Kayanza, puis Bujumbura.")]
    ok(cli(org.repo, "build"))
    mail = pgp_mime(org.keyring.encrypt(inner_mime(TESTIMONY, subject="CON",
                                                   attachments=ATTACHMENTS), [org.inbox]),
                    subject="Bujumbura")
    inbox = org.repo / "inbox"
    inbox.mkdir(exist_ok=True)
    (inbox / "hostile.eml").write_bytes(mail)
    outside = sorted(os.listdir(org.repo.parent))

    out = json.loads(ok(cli(org.repo, "ingest", "--json")).output)
    assert [r["result"] for r in out] == ["ingested"], out
    cid = str(out[0]["case"])
    # Every attachment is evidence, stored under a keyed hash only (issue 16): no file
    # takes its name, and nothing was written beside the repository ("../../x").
    assert sorted(os.listdir(org.repo.parent)) == outside
    folder = org.repo / "cases" / cid / "evidence"
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == len(ATTACHMENTS) and all(
        n.endswith(".asc") and len(n) == 32 + 4 for n in names), names
    private = cases.read_private(org.repo, cid, org.keyring)
    kept = {e.get("name") for e in private.get("evidence") or []}
    assert {"Bujumbura.pdf", "CON", "NUL.txt", "aux.jpg", LONG, RTL} <= kept, kept
    assert cases.load(org.repo, cid).status == "draft"

    build = cli(org.repo, "build")
    assert build.exit_code == 0, build.output
    # Reported, not refused: names that are public vocabulary or device names.
    notes = [line for line in build.output.splitlines()
             if line.startswith(f"Note: cases/{cid}/")]
    assert any("not usable as a canary" in n for n in notes), build.output
    assert "[canary]" not in build.output
    for case in published:
        assert (org.repo / "site" / "cases" / case.id / "index.html").is_file()
    assert not (org.repo / "site" / "cases" / cid).exists()

    # Once an editor moves it to review its values guard every file: the names that are
    # provinces or device names still stop nothing.
    ok(cli(org.repo, "case", "review", cid, editor=org.alice))
    again = cli(org.repo, "build")
    assert again.exit_code == 0, again.output


DEVICES = [  # every Windows device name, with extensions and in lower case
    (name, "application/octet-stream", name.encode(), style)
    for name, style in (("PRN", "plain"), ("AUX", "2231"), ("NUL", "2047"), ("COM1", "plain"),
                        ("LPT1", "2231"), ("con.txt", "plain"), ("prn.pdf", "2231"),
                        ("aux.tar.gz", "2047"), ("nul.", "plain"), ("com1.jpg", "2231"),
                        ("lpt1.docx", "plain"), ("Lpt9.Txt", "2231"), ("CON.", "2047"),
                        ("Ngozi.pdf", "plain"), ("muramvya.txt", "2231"),
                        ("Bujumbura Mairie.jpg", "2047"))]


def test_device_named_attachments_fetched_from_a_maildir_block_no_other_case(
        org: Org, tmp_path) -> None:
    """The acceptance through the path mail takes: two PGP/MIME submissions delivered to
    a Maildir, copied by `temoin fetch --maildir`, decrypted by `temoin ingest`. One
    carries attachments named after every Windows device name (with extensions, in lower
    case) and provinces; the other is an ordinary testimony. Both become drafts, both
    reach review, the site builds, and the hostile one stops nobody's page."""
    import mailbox

    # A public page that names the same devices and provinces (a report on hostile mail).
    published = org.add_case(narrative="Arrêté à Ngozi, détenu à Muramvya puis à "
                                       "Bujumbura Mairie. Des courriels piégés joignent des "
                                       "fichiers « LPT1 », « Lpt9.Txt », « com1.jpg » ou "
                                       "« aux.tar.gz ».")
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    hostile = pgp_mime(org.keyring.encrypt(
        inner_mime("Les pièces jointes portent des noms de périphériques Windows.",
                   subject="PRN", attachments=DEVICES), [org.inbox]), subject="LPT1")
    plain = pgp_mime(org.keyring.encrypt(
        inner_mime("Mon voisin a été arrêté par des hommes en uniforme la nuit dernière.",
                   subject="Témoignage"), [org.inbox]), subject="Témoignage")
    for mail in (hostile, plain):
        box.add(mail)
    fetched = cli(org.repo, "fetch", "--maildir", str(tmp_path / "Maildir"))
    assert fetched.exit_code == 0 and "fetched 2 new" in fetched.output, fetched.output
    out = json.loads(ok(cli(org.repo, "ingest", "--json")).output)
    assert sorted(r["result"] for r in out) == ["ingested", "ingested"], out
    ids = [str(r["case"]) for r in out]
    kept = set()
    for cid in ids:
        private = cases.read_private(org.repo, cid, org.keyring)
        kept |= {e.get("name") for e in private.get("evidence") or []}
    assert {"PRN", "COM1", "lpt1.docx", "Lpt9.Txt", "aux.tar.gz"} <= kept, kept
    for cid in ids:  # an editor moves both out of draft: their values guard every file
        ok(cli(org.repo, "case", "review", cid, editor=org.alice))
    build = cli(org.repo, "build")
    assert build.exit_code == 0, build.output
    assert "[canary]" not in build.output
    page = (org.repo / "site" / "cases" / published.id / "index.html").read_text()
    assert "Muramvya" in page and "Lpt9.Txt" in page
