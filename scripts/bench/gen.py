"""Benchmark repositories as a real organisation has them, cached in ~/.cache/temoin-bench/
(or $TEMOIN_BENCH_OUT), outside the working tree.

* `org/`: `temoin init`, the inbox key, two editors (Alice and Bob, two persons) in keys/
  and mkdocs.yml, and the trust root both signed (`trust.found`). Keys in `gnupg/` (no
  passphrase: BENCHMARK ONLY).
* `pool/cases/`: the fictional cases of `fiction.py` after intake and curation: evidence
  and private part sealed to the editors as `temoin ingest` writes them; unpublished cases
  sealed whole (`case.md.asc`); a case in review verified; published and withdrawn cases
  verified by one editor and approved by the other, risk-reviewed and published (signed),
  with signed consent statements, urgent flags and intervention summaries where they
  apply, and a signed withdrawal. Case i depends only on i, so the 1,000 cases are the
  first of the 5,000 and of the 20,000: the pool is made once and grown on demand.
* `repo-N/`: a copy of `org/` (another checkout of the same organisation) whose cases/
  hard-links the pool's first N cases (Témoin writes by rename, so an edit in a repo
  never reaches the pool).

The trust root's pin lives outside the repository, in $XDG_CONFIG_HOME: `env()` gives
every benchmark process XDG folders under the bench's own folder (`xdg/`), so the bench
never reads or writes the user's pins or caches.

Each part is remade when what it depends on changes: the pool when the code that defines
what a case, a decision or the gate is changes (`pool_key`), `org/` and the repos when the
scaffold, the trust root's or the settings' code does (`org_key`). Generation is not
measured: gpg signs ~4.5 decisions a published case (~20 ms each), on a thread pool.

    .venv/bin/python scripts/bench/gen.py 1000 5000
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import temoin
from temoin import cases, config, curation, keys, scaffold, settings, trust
from temoin.curation import consent
from temoin.files import write_atomic
from temoin.keys import vault as vault_mod

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import fiction  # noqa: E402

# Outside the working tree: tools and tests that copy or walk the repository must not meet
# gigabytes of benchmark data (nor gpg-agent sockets).
OUT = Path(os.environ.get("TEMOIN_BENCH_OUT") or Path.home() / ".cache" / "temoin-bench")
# Bump to remake everything by hand; the keys below follow the code on their own.
VERSION = 5  # 5: trust root, every signed decision the build requires, sealed drafts
PACKAGE = Path(temoin.__file__).resolve().parent
# What a pool case is made of: its files, its decisions and what the gate asks of them. A
# module and the package it may become are both named: one that is missing counts by name.
POOL_SOURCES = ("cases", "curation/__init__.py", "curation/decisions.py",
                "curation/verifier.py", "curation/consent.py", "curation/gate.py",
                "curation/precision.py", "keys/vault.py", "strict_yaml.py", "files.py",
                "data/vocab.yaml", "data/gazetteer.yaml")  # cases/ a package already
# What the organisation's checkout is made of (templates, settings, the trust root).
ORG_SOURCES = ("scaffold.py", "scaffold", "data/scaffold", "trust.py", "trust", "config.py",
               "settings.py")
EDITORS = ("alice", "bob")


def pool_dir() -> Path:
    return OUT / "pool"


def gnupg_home() -> Path:
    return OUT / "gnupg"


def env() -> dict[str, str]:
    """What every benchmark process gets on top of os.environ: the bench's keys, XDG
    folders of its own (pins, caches, remembered state: never the user's), a fixed build
    date."""
    xdg = OUT / "xdg"
    return {"GNUPGHOME": str(gnupg_home()), "XDG_CONFIG_HOME": str(xdg / "config"),
            "XDG_CACHE_HOME": str(xdg / "cache"), "XDG_STATE_HOME": str(xdg / "state"),
            "SOURCE_DATE_EPOCH": "1760000000", "PYTHONHASHSEED": "0",
            "NO_MKDOCS_2_WARNING": "1"}


def isolate() -> dict[str, str]:
    """Set `env()` in this process too (gen and run call Témoin in process); return the
    whole environment for child processes."""
    os.environ.update(env())
    return dict(os.environ)


def _digest(sources: tuple[str, ...]) -> str:
    """sha256 of VERSION, the bench keys, the generator and the package's `sources`."""
    h = hashlib.sha256(f"{VERSION} {sorted(keyring()[1].items())}".encode())
    files = [HERE / "gen.py", HERE / "fiction.py"]
    for s in sources:
        p = PACKAGE / s
        h.update(f"{s} {p.exists()}\0".encode())
        files += sorted(f for f in p.rglob("*") if f.is_file() and "__pycache__" not in
                        f.parts) if p.is_dir() else [p] if p.is_file() else []
    for f in files:
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def pool_key() -> str:
    return _digest(POOL_SOURCES)


def org_key() -> str:
    return _digest(ORG_SOURCES)


def keyring() -> tuple[keys.Keyring, dict[str, str]]:
    """The benchmark keys (made once): inbox, alice, bob; no passphrase, benchmark only."""
    home = gnupg_home()
    names = OUT / "keys.json"
    if names.exists() and not home.is_dir():
        names.unlink()  # keys.json without its keyring: make both again
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    kr = keys.Keyring(home)
    if names.exists():
        return kr, json.loads(names.read_text())
    fprs = {n: kr.generate(f"Bench {n} (BENCHMARK ONLY)", f"{n}@bench.invalid")
            for n in ("inbox", *EDITORS)}
    names.write_text(json.dumps(fprs))
    return kr, fprs


def found_org(path: Path, kr: keys.Keyring, fprs: dict[str, str]) -> trust.Root:
    """`temoin init`, the inbox and editor keys, settings, and the founding trust statement
    signed by both editors (tests/helpers.py `make_org` does the same)."""
    scaffold.init(path, "SOS-Banc d'essai", "BI", git=False)
    (path / "keys" / "inbox.asc").write_text(kr.export_public(fprs["inbox"]))
    for n in EDITORS:
        (path / "keys" / "editors" / f"{n}.asc").write_text(kr.export_public(fprs[n]))

    def change(o: Any) -> None:
        o["inbox_key"] = fprs["inbox"]
        o["recipients"] = [{"fingerprint": fprs[n], "name": n.title()} for n in EDITORS]
        o["contact_email"] = "temoignages@bench.invalid"

    settings.update(path, change)
    return trust.found(path, config.load(path), kr, [fprs[n] for n in EDITORS])


def org() -> tuple[Path, str]:
    """`org/`, the organisation's first checkout (made again when its code changed), and
    its trust root's fingerprint. A new organisation has a new repo id: the bench's old
    pins are dropped with it (they would refuse a checkout path now holding another)."""
    dest = OUT / "org"
    stamp = OUT / "org.json"
    want = org_key()
    try:
        st = json.loads(stamp.read_text())
        if st["key"] == want and (dest / "trust").is_dir():
            return dest, str(st["root"])
    except (OSError, ValueError, KeyError):
        pass
    kr, fprs = keyring()
    shutil.rmtree(dest, ignore_errors=True)
    if os.environ.get("XDG_CONFIG_HOME") == env()["XDG_CONFIG_HOME"]:  # never the user's
        shutil.rmtree(trust.pins_dir(), ignore_errors=True)
    root = found_org(dest, kr, fprs)
    stamp.write_text(json.dumps({"key": want, "root": root.fingerprint}))
    return dest, root.fingerprint


def forget_seen() -> None:
    """Forget what the bench's machine has seen of cases (the newest decisions and private
    parts of each, `trust.pins`), keeping the trust root's pin: as a new editor's machine
    or a CI runner has it. A preview run records newer decisions on a copy of a repo, and a
    pool made again numbers its decisions afresh: remembered, either reads as a rollback
    (the build refuses the case) in the next run. Never touches the user's folders."""
    if os.environ.get("XDG_CONFIG_HOME") != env()["XDG_CONFIG_HOME"]:
        return
    for kind in ("decisions", "parts"):
        shutil.rmtree(trust.pins_dir() / kind, ignore_errors=True)


def checkout(dest: Path) -> Path:
    """A new checkout of the organisation at `dest` with no cases (ingest, previews)."""
    src, _root = org()
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest)  # copies, not links: the build refuses hard-linked pages
    return dest


# -- curation, as the editors' commands leave it ------------------------------------------
def release(repo: Path, case: cases.Case, kr: keys.Keyring, verifier: str, approver: str,
            day: dt.date, consent_how: str | None = None) -> None:
    """Sign what publishing takes, in the order editors do it: a consent statement if the
    consent was taken again (`consent_how`), verify (`verifier`), approve, risk review and
    publish (`approver`, another person), then urgent and interventions when the case has
    them. The caller saves the case. A case published before is re-published (`updated`)."""
    meta = case.meta
    if consent_how:
        curation.record_decision(repo, case, consent.KIND, verifier, kr, day,
                                 **consent.payload(str(meta["consent"]), consent_how, "victim",
                                                   day.isoformat()))
    curation.record_decision(repo, case, "verify", verifier, kr, day,
                             level=meta["verification"])
    curation.record_decision(repo, case, "approve", approver, kr, day)
    meta["review"] = {**meta.get("review", {}), "risk_reviewed": day}
    curation.record_decision(repo, case, "risk-review", approver, kr, day)
    if meta.get("published"):
        meta["updated"] = day
    meta.setdefault("published", day)
    payload = {"published": meta["published"], consent.PUBLISH_KEY: meta["consent"]}
    if meta.get("updated"):
        payload["updated"] = meta["updated"]
    curation.record_decision(repo, case, "publish", approver, kr, day, **payload)
    if meta.get("urgent") is True:
        curation.record_decision(repo, case, "urgent", approver, kr, day, urgent=True)
    if meta.get("interventions"):
        curation.record_decision(repo, case, "interventions", approver, kr, day,
                                 entries=meta["interventions"])


def curate(pool: Path, i: int, fic: fiction.Fiction, kr: keys.Keyring,
           fprs: dict[str, str], sealer: vault_mod.Vault, home: Path) -> None:
    """Write case i into `pool` as intake and curation leave it; decisions are signed by
    the roster of the organisation at `home` (the pool holds cases, not a trust root)."""
    meta, private = fic.meta, fic.private
    case = cases.Case(meta, fic.narrative, cases.case_dir(pool, meta["id"]))
    for data in fic.evidence:  # the attachments, signed by the intake, sealed to the editors
        path = cases.evidence_path(pool, case.id, hashlib.sha256(data).hexdigest())
        write_atomic(path, sealer.seal_signed_many([data], fprs["inbox"])[0], mode=0o644)
    if fic.media:
        (case.folder / "media").mkdir(parents=True, exist_ok=True)
        (case.folder / "media" / "photo.png").write_bytes(_png(i))
        meta["media"] = [{"file": "photo.png", "caption": {
            "fr": "Lieu des faits (photo fictive)", "en": "Scene (fictional photo)"}}]
    verifier, approver = (fprs["alice"], fprs["bob"]) if i % 2 else (fprs["bob"], fprs["alice"])
    day = meta["received"] + dt.timedelta(days=5)
    status = meta["status"]
    if status == "review":
        curation.record_decision(home, case, "verify", verifier, kr, day,
                                 level=meta["verification"])
    elif status == "rejected":
        private["rejected"] = {"date": day.isoformat(), "editor": verifier,
                               "reason": "Hors du mandat de l'organisation."}
    elif status in ("published", "withdrawn"):
        how = "in_person" if meta["consent"] == "named" or i % 5 == 0 else None
        release(home, case, kr, verifier, approver, day, how)
        if status == "withdrawn":
            when = day + dt.timedelta(days=30)
            reason = {"fr": "Retiré à la demande de la victime.",
                      "en": "Withdrawn at the victim's request."}
            meta["withdrawn"] = {"date": when, "reason": reason}
            curation.record_decision(home, case, "withdraw", approver, kr, when,
                                     reason=reason, published=meta["published"])
    write_atomic(cases.private_path(pool, case.id), sealer.seal_signed_many(
        [cases.parts.plaintext(case.id, private)], fprs["inbox"])[0], mode=0o644)
    cases.save(pool, case, vault=sealer)  # published: case.md; any other: case.md.asc


def _png(i: int) -> bytes:
    from PIL import Image

    im = Image.new("RGB", (64, 48), ((i * 37) % 256, (i * 91) % 256, 120))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _state() -> dict[str, Any]:
    fresh = {"key": pool_key(), "count": 0, "ids": []}
    try:
        st = json.loads((pool_dir() / "pool.json").read_text())
    except (OSError, ValueError):
        return fresh
    return st if isinstance(st, dict) and st.get("key") == fresh["key"] else fresh


def grow_pool(n: int, jobs: int) -> dict[str, Any]:
    """Make sure the pool holds cases 0..n-1 (only the missing ones are made)."""
    kr, fprs = keyring()
    pool = pool_dir()
    st = _state()
    if st["count"] == 0:
        shutil.rmtree(pool, ignore_errors=True)
        (pool / "cases").mkdir(parents=True)
    if st["count"] >= n:
        return st
    ids: list[str] = st["ids"]
    taken = set(ids)
    recipients = [fprs[e] for e in EDITORS]
    home, _root = org()
    local = threading.local()
    start, lock, done = time.monotonic(), threading.Lock(), [0]

    def one(i: int, fic: fiction.Fiction) -> None:
        if not hasattr(local, "vault"):  # pysequoia's certificates, one set a thread
            local.vault = vault_mod.Vault(kr, recipients, fprs["inbox"])  # signs as intake
        curate(pool, i, fic, kr, fprs, local.vault, home)
        with lock:
            done[0] += 1
            if done[0] % 500 == 0:
                rate = done[0] / (time.monotonic() - start)
                print(f"  generated {done[0]}/{n - st['count']} ({rate:.0f}/s)", flush=True)

    with ThreadPoolExecutor(jobs) as workers:
        futures = []
        for i in range(st["count"], n):
            fic = fiction.make_case(i, taken)
            taken.add(fic.meta["id"])
            if fic.meta.get("duplicate_of", 1) is None:
                if ids:
                    fic.meta["duplicate_of"] = ids[0]
                else:
                    del fic.meta["duplicate_of"]
                    fic.meta["status"] = "draft"
            ids.append(fic.meta["id"])
            futures.append(workers.submit(one, i, fic))
        for f in futures:
            f.result()  # re-raise the first failure
    st["count"] = n
    (pool / "pool.json").write_text(json.dumps(st))
    return st


def repo(n: int, jobs: int = 4) -> Path:
    """`repo-N/`: a checkout of the organisation whose cases/ hard-links the pool's first N
    cases (made again when the pool, the organisation or N changed)."""
    st = grow_pool(n, jobs)
    _org, root = org()
    dest = OUT / f"repo-{n}"
    stamp = dest / ".bench.json"
    want = {"pool": st["key"], "org": root, "count": n}
    try:
        if json.loads(stamp.read_text()) == want:
            return dest
    except (OSError, ValueError):
        pass
    checkout(dest)
    for cid in st["ids"][:n]:
        src = pool_dir() / "cases" / cid
        for folder, _dirs, files in os.walk(src):
            target = dest / "cases" / cid / Path(folder).relative_to(src)
            target.mkdir(parents=True, exist_ok=True)
            for f in files:
                os.link(Path(folder) / f, target / f)
    stamp.write_text(json.dumps(want))
    return dest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sizes", nargs="+", type=int)
    ap.add_argument("--jobs", type=int, default=2 * (os.cpu_count() or 1))
    args = ap.parse_args()
    isolate()
    for n in sorted(args.sizes):
        t = time.monotonic()
        print(f"repo-{n}: {repo(n, args.jobs)} ({time.monotonic() - t:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
