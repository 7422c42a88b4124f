"""`temoin demo`: the whole path on throwaway keys and fictional testimonies.

A fresh repository, an inbox key and two editors in a temporary GNUPGHOME, fictional
testimonies written with the submission template and encrypted by GnuPG into the inbox (as
PGP/MIME email and as bare files, plus one unencrypted email that must end in quarantine),
then ingest, curation by two editors through the real commands, and the build. Every step
runs the same code an editor runs; nothing here is a shortcut.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from pathlib import Path
from typing import Any

from temoin import cases, keys, scaffold, settings
from temoin.intake import form as template

TESTIMONIES = [
    {"date": "03/10/2025", "place": "Gitega, colline Fictive",
     "what": "Mon voisin a été arrêté par des agents en civil puis torturé au cachot.",
     "victims": "Un homme adulte (nom fictif connu de l'équipe)",
     "perpetrators": "Agents du service de renseignement", "consent": "anonymised"},
    {"date": "12/09/2025", "place": "Ngozi",
     "what": "Un jeune militant a disparu après une réunion ; il a été enlevé de force.",
     "victims": "Un jeune homme", "perpetrators": "Hommes armés non identifiés",
     "consent": "anonymised"},
    {"date": "21/08/2025", "place": "Bujumbura",
     "what": "Une commerçante a été arrêtée et détenue sans jugement pendant trois semaines.",
     "victims": "Une femme adulte", "perpetrators": "Police", "consent": "named"},
    {"date": "02/07/2025", "place": "Muyinga",
     "what": "Des jeunes du parti ont menacé et frappé un enseignant.",
     "victims": "Un enseignant", "perpetrators": "Milice du parti", "consent": "aggregate_only"},
]
PLAINTEXT_EMAIL = (b"From: someone@example.invalid\r\nSubject: test\r\n\r\n"
                   b"This testimony was sent without encryption.\r\n")


def _pgp_mime(ciphertext: bytes, n: int) -> bytes:
    """An RFC 3156 PGP/MIME email, as Thunderbird or any compliant client sends it."""
    msg = MIMEMultipart("encrypted", protocol="application/pgp-encrypted")
    msg["From"] = f"source{n}@example.invalid"
    msg["To"] = "temoignages@sos-demo.invalid"
    msg["Subject"] = "..."
    control = MIMEBase("application", "pgp-encrypted")
    control.set_payload("Version: 1\n")
    msg.attach(control)
    body = MIMEApplication(ciphertext, "octet-stream", _encoder=lambda m: None)
    body.add_header("Content-Disposition", "inline", filename="encrypted.asc")
    msg.attach(body)
    return msg.as_bytes()


def _inner_mime(text: str, subject: str) -> bytes:
    """The plaintext a mail client encrypts: MIME with a protected Subject header."""
    inner = EmailMessage()
    inner["Subject"] = subject
    inner.set_content(text)
    return inner.as_bytes()


def _release(cli: Callable[[list[str]], Any], base: list[str], cid: str,
             editors: dict[str, str], echo: Callable[[str], None]) -> None:
    """Verify (Alice), risk review, approve and publish (Bob); a refused publication is
    shown, not raised (the demo goes on with what the gate says)."""
    from temoin.errors import GateError

    cli([*base, "case", "verify", cid, "--level", "verified", "--note",
         "demo: two fictional witnesses", "--editor", editors["Alice"]])
    cli([*base, "case", "risk-review", cid, "--editor", editors["Alice"]])
    cli([*base, "case", "approve", cid, "--editor", editors["Bob"]])
    try:
        cli([*base, "case", "publish", cid, "--editor", editors["Bob"]])
    except GateError as exc:
        for line in str(exc.format_message()).splitlines():
            echo(f"   refused: {line}")


def _published(target: Path, cid: str) -> bool:
    return cases.load(target, cid).status == "published"


def run(target: Path, echo: Callable[[str], None], cli: Callable[[list[str]], Any]) -> Path:
    """Run the demo into `target` (must not exist or be empty); return the built site."""
    ram = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 (RAM, mkdtemp 0700)
    home = Path(tempfile.mkdtemp(prefix="temoin-demo-gnupg-", dir=ram))
    old_env = {k: os.environ.get(k) for k in ("GNUPGHOME", "TEMOIN_EDITOR")}
    try:
        os.environ["GNUPGHOME"] = str(home)
        kr = keys.Keyring(home)
        echo(f"1. Repository {target} and throwaway keys in {home}")
        scaffold.init(target, "SOS-Démo (fictif)", "BI")
        settings.update(target, lambda o: o.update(contact_email="temoignages@sos-demo.invalid"))
        text = (target / "mkdocs.yml").read_text().replace("fictional: false", "fictional: true")
        (target / "mkdocs.yml").write_text(text)
        base = ["--repo", str(target), "--gnupghome", str(home)]
        cli([*base, "keys", "generate", "--name", "SOS-Démo inbox (DEMO)", "--no-passphrase"])
        editors = {}
        for who in ("Alice", "Bob"):
            fpr = kr.generate(f"{who} (DEMO editor)", f"{who.lower()}@sos-demo.invalid")
            key_file = home / f"{who}.asc"
            key_file.write_text(kr.export_public(fpr))
            cli([*base, "keys", "import", str(key_file), "--as", "editor", "--name", who])
            editors[who] = fpr
        inbox_fpr = next(k.fingerprint for k in kr.list() if "inbox" in " ".join(k.uids))
        echo("   Trust root: Alice proposes the keys and settings, Bob signs (two editors)")
        cli([*base, "trust", "propose", "--editor", editors["Alice"]])
        cli([*base, "trust", "sign", "--editor", editors["Bob"]])

        echo("2. Fictional testimonies encrypted by GnuPG into inbox/")
        inbox = target / "inbox"
        for n, values in enumerate(TESTIMONIES):
            filled = template.fill("fr", values)
            if n % 2 == 0:
                ct = kr.encrypt(_inner_mime(filled, f"Témoignage fictif {n + 1}"), [inbox_fpr])
                (inbox / f"message-{n + 1}.eml").write_bytes(_pgp_mime(ct, n))
            else:
                (inbox / f"testimony-{n + 1}.asc").write_bytes(
                    kr.encrypt(filled.encode("utf-8"), [inbox_fpr]))
        (inbox / "unencrypted.eml").write_bytes(PLAINTEXT_EMAIL)

        echo("3. Ingest: every file ends ingested, duplicate or quarantined")
        cli([*base, "ingest"])
        # Drafts are sealed (case.md.asc, encrypted to the editors): find them by folder.
        drafts = sorted(p.name for p in (target / "cases").iterdir()
                        if cases.stored_file(p) is not None)

        echo("4. Curation: Alice verifies, Bob approves and publishes (four eyes)")
        for cid in drafts:
            prefilled = cases.load(target, cid).meta.get("acts") or []
            acts = sorted({str(a["type"]) for a in prefilled}) or ["threats"]
            act_list = ", ".join(f"{{victim: v1, type: {a}, perpetrators: [p1]}}" for a in acts)
            cli([*base, "case", "set", cid, "consent=anonymised",
                 "title.fr=Cas de démonstration (fictif)",
                 "title.en=Demonstration case (fictional)",
                 "victims=[{id: v1, count: 1, sex: m, age_group: adult, status_now: unknown}]",
                 "perpetrators=[{id: p1, type: unknown}]", f"acts=[{act_list}]",
                 "sources={count: 1, independent: 1, types: [witness_testimony]}",
                 "--editor", editors["Alice"]])
            cli([*base, "case", "review", cid, "--editor", editors["Alice"]])
            _release(cli, base, cid, editors, echo)
            if not _published(target, cid):
                # The source ticked "statistics only" (issue 15): the page is refused
                # without a signed consent change; the case is counted, never shown.
                echo(f"   {cid}: the source gave consent to statistics only: no page; "
                     "counted in the statistics")
                cli([*base, "case", "set", cid, "consent=aggregate_only",
                     "--editor", editors["Alice"]])
                _release(cli, base, cid, editors, echo)

        echo("5. Build: gates, signed manifest")
        cli([*base, "build"])
        cli([*base, "verify-site", str(target / "site")])
        return target / "site"
    finally:
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"],
                       capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)
