"""The ingest benchmark: N PGP/MIME (RFC 3156) submissions, each a testimony with one
attachment (a 40 KB photo), encrypted to the inbox key; made once in the bench cache
(gen.OUT/ingest-N/).

`temoin ingest` over them (in a fresh repo) is compared with the bare floor: a shell loop
of `gpg --decrypt` over the same ciphertexts, plaintext to /dev/null.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import fiction
import gen

VERSION = 1


def _inner(i: int, rng: random.Random) -> bytes:
    """The plaintext MIME a mail client encrypts: a testimony and one attachment."""
    msg = MIMEMultipart("mixed")
    msg["Subject"] = f"Témoignage {fiction.word(rng, 3)}"
    text = (f"Bonjour, je m'appelle {fiction.person(rng)}. Le {rng.randint(1, 28)} mars, "
            f"mon voisin {fiction.person(rng)} a été arrêté par des policiers près du marché de "
            f"la colline {fiction.word(rng, 3)}. Depuis, sa famille est sans nouvelles. "
            f"Vous pouvez me joindre au +257 7{rng.randint(1000000, 9999999)}.\n") * 3
    msg.attach(MIMEText(text, "plain", "utf-8"))
    photo = MIMEApplication(rng.randbytes(40_000), "jpeg", name=f"photo-{i}.jpg")
    photo.replace_header("Content-Type", f'image/jpeg; name="photo-{i}.jpg"')
    photo.add_header("Content-Disposition", "attachment", filename=f"photo-{i}.jpg")
    msg.attach(photo)
    return msg.as_bytes()


def _outer(ciphertext: bytes, i: int) -> bytes:
    msg = MIMEMultipart("encrypted", protocol="application/pgp-encrypted")
    msg["From"] = f"source{i}@example.invalid"
    msg["To"] = "temoignages@bench.invalid"
    msg["Subject"] = "..."
    control = MIMEBase("application", "pgp-encrypted")
    control.set_payload("Version: 1\n")
    msg.attach(control)
    body = MIMEBase("application", "octet-stream", name="encrypted.asc")
    body.set_payload(ciphertext.decode("ascii"))
    msg.attach(body)
    return msg.as_bytes()


def corpus(n: int) -> Path:
    """gen.OUT/ingest-N/: eml/ (the emails) and asc/ (their ciphertexts, for the gpg loop)."""
    dest: Path = gen.OUT / f"ingest-{n}"
    stamp = dest / "corpus.json"
    kr, fprs = gen.keyring()
    want = {"version": VERSION, "count": n, "inbox": fprs["inbox"]}
    if stamp.exists() and json.loads(stamp.read_text()) == want:
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "eml").mkdir(parents=True)
    (dest / "asc").mkdir()

    def one(i: int) -> None:
        rng = random.Random(f"ingest-{i}")
        ct = kr.encrypt(_inner(i, rng), [fprs["inbox"]])
        (dest / "asc" / f"{i:05d}.asc").write_bytes(ct)
        (dest / "eml" / f"{i:05d}.eml").write_bytes(_outer(ct, i))

    with ThreadPoolExecutor(2 * (os.cpu_count() or 1)) as pool:
        list(pool.map(one, range(n)))
    stamp.write_text(json.dumps(want))
    return dest


def bare_gpg(corpus_dir: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of `gpg --decrypt` of every ciphertext in turn, output discarded
    (`env`: the bench's, whose GNUPGHOME holds the inbox key)."""
    script = ('for f in "$1"/asc/*.asc; do gpg --batch --quiet --pinentry-mode loopback '
              '--decrypt "$f" >/dev/null 2>&1 || exit 1; done')
    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    t, c = time.perf_counter(), cpu()
    subprocess.run(["bash", "-c", script, "bash", str(corpus_dir)], check=True, env=env)
    return time.perf_counter() - t, cpu() - c


def fresh_repo(corpus_dir: Path) -> Path:
    """A new checkout of the organisation whose inbox/ holds a copy of the corpus emails."""
    repo: Path = gen.checkout(corpus_dir / "repo")
    shutil.copytree(corpus_dir / "eml", repo / "inbox", dirs_exist_ok=True)
    return repo

