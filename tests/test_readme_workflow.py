"""The README's set-up and daily workflow, followed literally (issue 17).

Every command of the shell blocks between `<!-- workflow:begin` and `<!-- workflow:end -->`
runs as written, one after the other, in a fresh folder, with `temoin` from PATH (a shim
running this checkout), real gpg, a real IMAP server (Dovecot) and a real build. Only the
placeholders the README lists under the blocks are substituted. A source sends one PGP/MIME
mail and hands over one encrypted file, both encrypted with the key the built site
publishes. When the README and the program disagree, this test fails on the line.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from temoin import keys
from temoin.demo import _inner_mime, _pgp_mime
from temoin.intake import form
from tests import imap_server
from tests.conftest import REPO_ROOT
from tests.helpers import stop_gpg

PASSPHRASE = "correct horse battery staple, seventeen"
CASE_ID = "BI-2025-K7QX2M"
BEGIN, END = "<!-- workflow:begin", "<!-- workflow:end -->"
# The placeholders the README explains under its blocks: the only words substituted.
DOCUMENTED = ("/path/to/", "imaps://inbox@mail.example.org/INBOX", "nano", CASE_ID)
# What the editor writes in `temoin case edit`'s template (the README's `nano`): a title, a
# summary, who did what to whom, the sources, and an anonymised narrative in the editor's
# own words, with a time the precision gate takes for an age until it is dismissed.
CURATE = '''\
import sys
import yaml
path = sys.argv[1]
text = "".join(ln for ln in open(path, encoding="utf-8").read().splitlines(keepends=True)
               if not ln.startswith("#!temoin "))
_, head, _ = text.split("---\\n", 2)
meta = yaml.safe_load(head)
meta["title"] = {"fr": "Arrestation et torture à Gitega", "en": "Arrest and torture in Gitega"}
meta["summary"] = {"fr": "Un homme arrêté puis torturé.", "en": "A man arrested then tortured."}
meta["victims"] = [{"id": "v1", "count": 1, "sex": "m", "age_group": "adult",
                    "status_now": "detained"}]
meta["perpetrators"] = [{"id": "p1", "type": "intelligence"}]
meta["acts"] = [{"victim": "v1", "type": t, "perpetrators": ["p1"]}
                for t in ("arbitrary_arrest", "torture")]
meta["sources"] = {"count": 2, "independent": 2, "types": ["witness_testimony"]}
narrative = ("Selon deux témoins, un homme a été emmené par des agents du renseignement, "
             "détenu sans mandat et maltraité. Sa famille le cherchait déjà il y a quatorze "
             "ans lors d'une première arrestation.\\n")
with open(path, "w", encoding="utf-8") as f:
    f.write("---\\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\\n"
            + narrative)
'''
MAILED = "Un jeune militant a disparu après une réunion ; il a été enlevé de force."
HANDED = "Mon voisin a été arrêté par des agents en civil puis torturé au cachot."

needs_dovecot = pytest.mark.skipif(imap_server.dovecot_binary() is None,
                                   reason="dovecot not installed (apt-get install dovecot-imapd)")


def workflow() -> tuple[list[str], str]:
    """The README's workflow commands (comment lines dropped) and the text around them."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert BEGIN in text and END in text, "README.md lost its workflow markers"
    part = text.split(BEGIN, 1)[1].split(END, 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", part, re.S)
    commands = [line for block in blocks for line in block.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    return commands, re.sub(r"```sh\n.*?```", "", part, flags=re.S)


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[imap_server.ImapServer]:
    """One real Dovecot on 127.0.0.1 whose user `inbox` is the organisation's mailbox."""
    server = imap_server.start(tmp_path_factory.mktemp("imap"))
    yield server
    server.stop()


def _shim(folder: Path) -> Path:
    """A PATH folder whose `temoin` runs this checkout with this interpreter."""
    folder.mkdir()
    shim = folder / "temoin"
    shim.write_text(f'#!/bin/sh\nPYTHONPATH={shlex.quote(str(REPO_ROOT / "src"))} exec '
                    f'{shlex.quote(sys.executable)} -m temoin "$@"\n')
    shim.chmod(0o755)
    return folder


class Source:
    """Someone who got the key from the site and sends testimonies with plain GnuPG."""

    def __init__(self, home: Path) -> None:
        self.home = home
        home.mkdir(mode=0o700)

    def encrypt(self, key_file: Path, data: bytes) -> bytes:
        gpg = ["gpg", "--homedir", str(self.home), "--batch", "--quiet", "--trust-model",
               "always"]
        subprocess.run([*gpg, "--import", str(key_file)], check=True, capture_output=True)
        fpr = keys.key_fingerprints(key_file.read_bytes())[0]
        return subprocess.run([*gpg, "--armor", "--recipient", fpr, "--encrypt"], input=data,
                              check=True, capture_output=True).stdout

    def stop(self) -> None:
        stop_gpg(self.home)


@pytest.mark.imap
@needs_dovecot
def test_the_readme_workflow_runs_as_written(tmp_path: Path,
                                             dovecot: imap_server.ImapServer) -> None:
    commands, prose = workflow()
    here = tmp_path / "work"
    here.mkdir()
    gnupghome = tmp_path / "offline-gnupg"
    # Each editor made a key of their own; both sit at the offline machine (its GNUPGHOME).
    editors = keys.Keyring(gnupghome)
    for name in ("alice", "bob"):
        fpr = editors.generate(name.title(), f"{name}@sos-exemple.org", passphrase=PASSPHRASE)
        (tmp_path / f"{name}.asc").write_text(editors.export_public(fpr))
    (tmp_path / "imap-password").write_text(imap_server.PASSWORD + "\n")
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE)  # what scripts use: TEMOIN_PASSPHRASE_FILE (README)
    curate = tmp_path / "curate.py"
    curate.write_text(CURATE)
    values = {"/path/to/offline/gnupg": str(gnupghome),
              "/path/to/alice.asc": str(tmp_path / "alice.asc"),
              "/path/to/bob.asc": str(tmp_path / "bob.asc"),
              "/path/to/imap-password": str(tmp_path / "imap-password"),
              "/path/to/testimony.pgp": str(tmp_path / "testimony.pgp"),
              "imaps://inbox@mail.example.org/INBOX": dovecot.url(user="inbox"),
              "EDITOR=nano": f"EDITOR='{sys.executable} {curate}'"}
    for documented in DOCUMENTED:
        assert f"`{documented}" in prose, f"README: placeholder {documented} not explained"
    assert all(any(d in p for d in DOCUMENTED) for p in values)
    env = {k: v for k, v in os.environ.items()
           if k not in ("GNUPGHOME", "EDITOR", "VISUAL", "TEMOIN_EDITOR", "PYTHONPATH")}
    env.update(PATH=f"{_shim(tmp_path / 'bin')}:/usr/local/bin:/usr/bin:/bin",
               HOME=str(tmp_path), TEMOIN_PASSPHRASE_FILE=str(secret),
               SSL_CERT_FILE=str(dovecot.ca_file),  # this machine trusts the mail server
               GIT_AUTHOR_NAME="Alice", GIT_AUTHOR_EMAIL="alice@sos-exemple.org",
               GIT_COMMITTER_NAME="Alice", GIT_COMMITTER_EMAIL="alice@sos-exemple.org")
    source = Source(tmp_path / "source-gnupg")
    cwd, ran = here, []
    try:
        for line in commands:
            if "temoin fetch" in line:
                # The source took the key from the built site, and sends or hands over.
                key = cwd / "site" / "keys" / "inbox.asc"
                mail = form.fill("fr", {"date": "12/09/2025", "place": "Ngozi", "what": MAILED,
                                        "consent": "anonymised"})
                dovecot.append([_pgp_mime(source.encrypt(key, _inner_mime(mail, "...")), 1)])
                handed = form.fill("fr", {"date": "03/10/2025", "place": "Gitega",
                                          "what": HANDED, "consent": "anonymised"})
                (tmp_path / "testimony.pgp").write_bytes(source.encrypt(key, handed.encode()))
            if CASE_ID in line and CASE_ID not in values:
                # The case id `temoin status` shows: the handed-over file's (3 October).
                waiting = _run("temoin status", cwd, env).stdout
                values[CASE_ID] = re.findall(r"(\S+)\s+2025-10-03\s", waiting)[0]
            for placeholder, value in values.items():
                line = line.replace(placeholder, value)
            ran.append(line)
            words = shlex.split(line, comments=True)
            if words[0] == "export":
                name, _, value = words[1].partition("=")
                env[name] = value
            elif words[0] == "cd":
                cwd = (cwd / words[1]).resolve()
            else:
                _run(line, cwd, env)
    finally:
        source.stop()
        stop_gpg(gnupghome)
    repo, cid = tmp_path / "sos-exemple", values[CASE_ID]
    assert any(line.startswith("temoin doctor") for line in ran)
    page = (repo / "site" / "cases" / cid / "index.html").read_text(encoding="utf-8")
    assert "Arrestation et torture à Gitega" in page
    built = b"".join(p.read_bytes() for p in (repo / "site").rglob("*") if p.is_file())
    for private in (HANDED, MAILED, "alice@sos-exemple.org"):
        assert private.encode() not in built
    log = subprocess.run(["git", "-C", str(repo), "log", "--format=%s"], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert log == [f"{cid} published", "SOS-Exemple: Témoin repository"]


def _run(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, (f"README command failed (exit {done.returncode}): {line}\n"
                                  f"{done.stdout}\n{done.stderr}")
    return done
