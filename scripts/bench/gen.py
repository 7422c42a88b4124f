"""Generate N realistic FICTIONAL cases for the benchmarks, with encrypted private parts and
really signed editorial decisions, cached in ~/.cache/temoin-bench/
(or $TEMOIN_BENCH_OUT), outside the working tree.

Case number i depends only on i (its own random generator is seeded with i), so the cases
of a 1,000-case repository are the first 1,000 of the 20,000-case one. They are made once
into a pool (`pool/cases/`, grown on demand) and each benchmark repository
`repo-N/` is a fresh `temoin init` whose cases/ hard-links the first N of the pool
(Témoin writes files atomically, by rename, so an edit in a repo never reaches the pool).
The keys (inbox, two editors, no passphrase, BENCHMARK ONLY) live in `gnupg/`.

Generation cost is not what is measured: gpg encrypts one private part (~15 ms) and signs
two decisions (~20 ms each) per case, run on a thread pool; 20,000 cases take ~10 minutes
once on 2 cores, then nothing.

    .venv/bin/python scripts/bench/gen.py 20000
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import random
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from temoin import cases, curation, keys, scaffold, settings
from temoin.cases import vocab

HERE = Path(__file__).resolve().parent
# Outside the working tree: tools and tests that copy or walk the repository must not meet
# gigabytes of benchmark data (nor gpg-agent sockets).
OUT = Path(os.environ.get("TEMOIN_BENCH_OUT") or Path.home() / ".cache" / "temoin-bench")
POOL = OUT / "pool"
GNUPG = OUT / "gnupg"
# Bump when the generator changes what it writes: the pool is then made again.
VERSION = 4  # 4: case.md without YAML anchors (the loader refuses them)
DAY_ZERO = dt.date(2015, 1, 1)
DAYS = (dt.date(2025, 10, 31) - DAY_ZERO).days

SYL = ["nda", "yi", "se", "nga", "ka", "mi", "ru", "bo", "ha", "ki", "za", "ni", "mu", "to",
       "re", "gu", "shi", "ma", "nte", "be", "la", "fo", "bi", "ngo", "kwe", "ta", "so"]
FIRST = ["Amani", "Bella", "Claude", "Divine", "Eloge", "Fabrice", "Gloria", "Hervé", "Irène",
         "Joselyne", "Kevin", "Léonce", "Mireille", "Nadège", "Olivier", "Pacifique", "Ruth",
         "Samuel", "Thérèse", "Ulrich", "Valérie", "Yves", "Zacharie", "Aline", "Boris"]
# Public narrative sentences: {v} victim, {e} feminine ending, {p} perpetrator, {d} day.
SCENES = {
    "killing": "La victime a été retrouvée morte près de la rivière, le corps portant des "
               "traces de coups",
    "extrajudicial_execution": "Selon les sources, la victime a été abattue par {p} après "
                               "avoir été désarmée",
    "death_in_custody": "La victime est décédée en détention, sans que sa famille ait été "
                        "informée des circonstances",
    "attempted_killing": "Des coups de feu ont été tirés en direction de la victime, qui a "
                         "pu s'enfuir",
    "enforced_disappearance": "Depuis son interpellation par {p}, la victime n'a plus été "
                              "revu{e} et les autorités nient la détenir",
    "abduction": "La victime a été emmené{e} de force dans un véhicule sans plaque",
    "torture": "Pendant sa détention, la victime a été frappé{e} à plusieurs reprises pour "
               "lui faire avouer son appartenance à un parti d'opposition",
    "ill_treatment": "La victime a été privé{e} de nourriture et de soins pendant plusieurs "
                     "jours",
    "assault": "La victime a été agressé{e} en pleine rue par {p}",
    "arbitrary_arrest": "La victime a été arrêté{e} à son domicile par {p}, sans mandat",
    "arbitrary_detention": "La victime est détenu{e} sans jugement depuis plusieurs semaines",
    "incommunicado_detention": "La victime est détenu{e} au secret, sans accès à un avocat "
                               "ni à sa famille",
    "rape": "La victime a subi des violences sexuelles pendant sa détention",
    "sexual_violence": "La victime a subi des violences sexuelles lors de la perquisition",
    "threats": "La victime a reçu des menaces répétées après une réunion communautaire",
    "extortion": "La famille a dû payer une somme d'argent pour obtenir la libération de la "
                 "victime",
    "destruction_of_property": "La maison de la victime a été incendiée pendant la nuit",
    "forced_displacement": "La victime et sa famille ont dû quitter leur colline sous la "
                           "menace",
    "restriction_of_expression": "La victime a été convoqué{e} puis intimidé{e} après la "
                                 "publication d'un message critique",
}
CONTEXT = [
    "Les faits se seraient produits le {d}, en fin de journée.",
    "Deux sources concordantes ont été entendues séparément par notre équipe.",
    "Un certificat médical établi quelques jours plus tard confirme des blessures.",
    "Les proches ont tenté en vain d'obtenir des informations auprès du poste de police.",
    "L'organisation a pu recouper ce témoignage avec un second récit indépendant.",
    "Selon les témoins, l'opération s'est déroulée sans mandat et sans explication.",
    "La victime avait déjà été menacée au cours des semaines précédentes.",
    "Les voisins affirment avoir vu plusieurs hommes armés quitter les lieux.",
    "Aucune enquête n'a été ouverte à notre connaissance.",
    "Les autorités locales n'ont pas répondu à nos demandes d'information.",
    "Ce cas s'inscrit dans une série d'incidents signalés dans la même province.",
    "La famille craint des représailles si elle porte plainte.",
]
PERP_FR = {"police": "des policiers", "military": "des militaires",
           "intelligence": "des agents du renseignement", "prison_staff": "des gardiens",
           "administrative": "des responsables administratifs",
           "party_militia": "des membres d'une milice", "separatist_group": "des séparatistes",
           "armed_group": "un groupe armé", "vigilante": "un comité d'autodéfense",
           "private_individual": "des particuliers", "unknown": "des inconnus"}
INSTITUTIONS = {"police": "PNB", "military": "FDN", "intelligence": "SNR (provincial)",
                "party_militia": "Imbonerakure", "separatist_group": "Ambazonie (fictif)"}
STATUS = ([("published", "anonymised")] * 62 + [("published", "named")] * 12
          + [("published", "aggregate_only")] * 7 + [("draft", "none")] * 6
          + [("review", "anonymised")] * 4 + [("withdrawn", "anonymised")] * 4
          + [("rejected", "none")] * 3 + [("duplicate", "none")] * 2)


def word(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(SYL) for _ in range(n)).capitalize()


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {word(rng, 3)}{word(rng, 2).lower()}"


def make_case(i: int, taken: set[str]) -> tuple[dict[str, Any], str, dict[str, Any], bool]:
    """Case number i: (front matter, narrative, private part, has media)."""
    rng = random.Random(f"temoin-bench-{i}")
    status, consent = rng.choice(STATUS)
    country = "CM" if rng.random() < 0.3 else "BI"
    start = DAY_ZERO + dt.timedelta(days=rng.randrange(DAYS))
    place = rng.choice([p for p in vocab.places(country) if p.valid_on(start)])
    acts_pool = list(SCENES)
    kinds = rng.sample(acts_pool, k=rng.choice([1, 2, 2, 3, 3, 4]))
    sgbv = any(vocab.category(k) == "sgbv" for k in kinds)
    nvict = rng.choice([1, 1, 1, 2, 3])
    victims = []
    for v in range(nvict):
        age = rng.choice(["adult"] * 6 + ["child", "elderly", "unknown"])
        victims.append({"id": f"v{v + 1}", "count": 1 if v == 0 else rng.randint(1, 6),
                        "sex": "f" if sgbv and v == 0 else rng.choice(["m", "m", "f"]),
                        "age_group": age,
                        "status_now": rng.choice(list(vocab.terms("victim_status")))})
    child = any(v["age_group"] == "child" for v in victims)
    perps = []
    for p in range(rng.choice([1, 1, 2])):
        ptype = rng.choice(list(vocab.terms("perpetrator_types")))
        perp = {"id": f"p{p + 1}", "type": ptype,
                "involvement": rng.choice(list(vocab.terms("involvement")))}
        if ptype in INSTITUTIONS:
            perp["institution"] = INSTITUTIONS[ptype]
        perps.append(perp)
    acts = [{"victim": v["id"], "type": k, "perpetrators": [rng.choice(perps)["id"]]}
            for v in victims for k in kinds if v["id"] == "v1" or rng.random() < 0.5]
    precision = "admin1" if (sgbv or child) else rng.choice(["admin2", "admin2", "admin1"])
    location: dict[str, Any] = {"country": country, "admin1": place.fr, "precision": precision}
    if precision == "admin2":
        location["admin2"] = f"Commune {word(rng, 2)}"
    cid = cases.new_id("BI", start.year, f"bench-{i}".encode(), taken)
    taken.add(cid)
    label_fr, label_en = vocab.label("acts", kinds[0], "fr"), vocab.label("acts", kinds[0], "en")
    received = start + dt.timedelta(days=rng.randint(1, 20))
    e = "e" if victims[0]["sex"] == "f" else ""
    who = PERP_FR[perps[0]["type"]]
    d = f"{start.day}/{start.month}/{start.year}"
    sentences = [SCENES[k].format(e=e, p=who) + "." for k in kinds]
    sentences += [s.format(d=d) for s in rng.sample(CONTEXT, k=rng.randint(3, 7))]
    rng.shuffle(sentences)
    cut = max(1, len(sentences) // 2)
    narrative = " ".join(sentences[:cut]) + "\n\n" + " ".join(sentences[cut:]) + "\n"
    if rng.random() < 0.3:
        narrative += "\n## Contexte\n\n" + " ".join(rng.sample(CONTEXT, k=3)).format(d=d) + "\n"
    others = ", ".join(vocab.label("acts", k, "fr").lower() for k in kinds[1:])
    meta: dict[str, Any] = {
        "id": cid,
        "title": {"fr": f"{label_fr} à {place.fr}" + (f" ({start.year})" if i % 3 else ""),
                  "en": f"{label_en} in {place.en}" + (f" ({start.year})" if i % 3 else "")},
        "summary": {"fr": f"{label_fr} signalé{e} en {start.year} à {place.fr}"
                          + (f", avec {others}" if others else "") + ".",
                    "en": f"{label_en} reported in {start.year} in {place.en}."},
        "status": status,
        "verification": "received" if status in ("draft", "rejected", "duplicate")
        else rng.choice(["verified", "verified", "confirmed"]),
        "urgent": status == "published" and start.year == 2025 and rng.random() < 0.1,
        "event": {"date_start": start,
                  "date_end": start + dt.timedelta(days=rng.randint(1, 9))
                  if rng.random() < 0.2 else None,
                  "date_precision": rng.choice(["day"] * 8 + ["month"]),
                  "location": location},
        "victims": victims, "perpetrators": perps, "acts": acts,
        "sources": {"count": rng.randint(1, 4), "independent": rng.randint(1, 2),
                    "types": rng.sample(list(vocab.terms("source_types")), k=2),
                    "connections": rng.sample(list(vocab.terms("source_connection")), k=1)},
        "consent": consent,
        "received": received,
        "tags": rng.sample(["élections", "opposition", "journalistes", "frontière",
                            "détention", "défenseurs", "réfugiés"], k=rng.randint(0, 2)),
    }
    if consent == "named" and not (sgbv or victims[0]["age_group"] == "child"):
        victims[0]["name"] = f"{rng.choice(FIRST)} Public-{word(rng, 2)}"
    if status == "published" and rng.random() < 0.15:
        meta["interventions"] = [{
            "date": received + dt.timedelta(days=7),
            "type": rng.choice(list(vocab.terms("intervention_types"))),
            "summary": {"fr": "Appel urgent adressé aux autorités et aux mécanismes de l'ONU.",
                        "en": "Urgent appeal sent to the authorities and UN mechanisms."}}]
    if status == "duplicate":
        meta["duplicate_of"] = None  # filled by the caller with an earlier case id
    names = [person(rng) for _ in range(nvict + 2)]
    testimony = " ".join(
        f"{n} raconte : « J'ai vu {names[0]} emmené par {who} vers la colline "
        f"{word(rng, 3)} le {d}, on lui demandait le nom de {rng.choice(names)}. »"
        for n in names[1:])
    private = {
        "intake": {"received": f"{received.isoformat()}T09:{i % 60:02d}:00Z",
                   "channel": rng.choice(["email", "web", "signal"]),
                   "submission_sha256": hashlib.sha256(f"sub-{i}".encode()).hexdigest(),
                   "subject": f"Témoignage {word(rng, 2)} {word(rng, 3)} urgent"},
        "testimony": testimony,
        "victims": [{"id": v["id"], "full_name": n, "age": rng.randint(9, 80),
                     "contact": f"+257 {rng.randint(61, 79)} {rng.randint(10, 99)} "
                                f"{rng.randint(10, 99)} {rng.randint(10, 99)}"}
                    for v, n in zip(victims, names[:nvict], strict=True)],
        "exact_places": [f"Colline {word(rng, 3)}, sous-colline {word(rng, 2)}"],
        "sources": [{"name": n, "reliability": rng.choice("ABC") + str(rng.randint(1, 3)),
                     "connection": "witness",
                     "email": f"{word(rng, 2).lower()}.{i}@example.invalid"}
                    for n in names[nvict:]],
        "evidence": [{"name": f"photo-{j}.jpg",
                      "sha256": hashlib.sha256(f"ev-{i}-{j}".encode()).hexdigest(),
                      "media_type": "image/jpeg"} for j in range(rng.randint(0, 3))],
        "verification_log": [f"{received.isoformat()}: appel de vérification à "
                             f"{names[-1]} ({rng.randint(2, 9)} minutes)"],
    }
    return meta, narrative, private, status == "published" and rng.random() < 0.02


def _png(i: int) -> bytes:
    from PIL import Image

    im = Image.new("RGB", (64, 48), ((i * 37) % 256, (i * 91) % 256, 120))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def keyring() -> tuple[keys.Keyring, dict[str, str]]:
    """The benchmark keys (made once): inbox, alice, bob; no passphrase, benchmark only."""
    GNUPG.mkdir(parents=True, exist_ok=True, mode=0o700)
    kr = keys.Keyring(GNUPG)
    names = OUT / "keys.json"
    if names.exists():
        return kr, json.loads(names.read_text())
    fprs = {n: kr.generate(f"Bench {n} (BENCHMARK ONLY)", f"{n}@bench.invalid")
            for n in ("inbox", "alice", "bob")}
    names.write_text(json.dumps(fprs))
    return kr, fprs


def new_repo(path: Path, kr: keys.Keyring, fprs: dict[str, str]) -> None:
    """`temoin init` with the benchmark keys configured (like an organisation's repo)."""
    scaffold.init(path, "SOS-Banc d'essai", "BI", git=False)
    (path / "keys" / "inbox.asc").write_text(kr.export_public(fprs["inbox"]))
    for n in ("alice", "bob"):
        (path / "keys" / "editors" / f"{n}.asc").write_text(kr.export_public(fprs[n]))

    def change(o: Any) -> None:
        o["inbox_key"] = fprs["inbox"]
        o["recipients"] = [{"fingerprint": fprs["alice"], "name": "Alice"},
                           {"fingerprint": fprs["bob"], "name": "Bob"}]
        o["contact_email"] = "temoignages@bench.invalid"

    settings.update(path, change)


def _state() -> dict[str, Any]:
    try:
        st = json.loads((POOL / "pool.json").read_text())
        return st if st.get("version") == VERSION else {"version": VERSION, "count": 0}
    except (OSError, ValueError):
        return {"version": VERSION, "count": 0}


def grow_pool(n: int, jobs: int) -> None:
    """Make sure the pool holds cases 0..n-1 (only the missing ones are made)."""
    kr, fprs = keyring()
    st = _state()
    if st["count"] == 0:
        shutil.rmtree(POOL, ignore_errors=True)
        new_repo(POOL, kr, fprs)
    if st["count"] >= n:
        return
    taken = {p.name for p in (POOL / "cases").iterdir()}
    ids = st.setdefault("ids", [])
    recipients = [fprs["alice"], fprs["bob"]]
    start, lock, done = time.monotonic(), threading.Lock(), [0]

    def one(i: int, meta: dict[str, Any], narrative: str, private: dict[str, Any],
            media: bool) -> None:
        case = cases.Case(meta, narrative, cases.case_dir(POOL, meta["id"]))
        if media:
            (case.folder / "media").mkdir(parents=True, exist_ok=True)
            (case.folder / "media" / "photo.png").write_bytes(_png(i))
            meta["media"] = [{"file": "photo.png", "caption": {
                "fr": "Lieu des faits (photo fictive)", "en": "Scene (fictional photo)"}}]
        cases.save(POOL, case)
        cases.write_private(POOL, case.id, private, kr, recipients, fprs["alice"])
        if meta["status"] in ("published", "withdrawn"):
            when = meta["received"] + dt.timedelta(days=5)
            meta["review"] = {"risk_reviewed": when}
            curation.record_decision(POOL, case, "verify", fprs["alice"], kr, when,
                                     level=meta["verification"])
            curation.record_decision(POOL, case, "approve", fprs["bob"], kr, when)
            meta["published"] = when
            if meta["status"] == "withdrawn":
                meta["withdrawn"] = {"date": when + dt.timedelta(days=30), "reason": {
                    "fr": "Retiré à la demande de la victime.",
                    "en": "Withdrawn at the victim's request."}}
            cases.save(POOL, case)
        with lock:
            done[0] += 1
            if done[0] % 500 == 0:
                rate = done[0] / (time.monotonic() - start)
                print(f"  generated {done[0]}/{n - st['count']} ({rate:.0f}/s)", flush=True)

    with ThreadPoolExecutor(jobs) as pool:
        futures = []
        for i in range(st["count"], n):
            meta, narrative, private, media = make_case(i, taken)
            if meta.get("duplicate_of", 1) is None:
                meta["duplicate_of"] = ids[0] if ids else None
                if meta["duplicate_of"] is None:
                    del meta["duplicate_of"]
                    meta["status"] = "draft"
            ids.append(meta["id"])
            futures.append(pool.submit(one, i, meta, narrative, private, media))
        for f in futures:
            f.result()  # re-raise the first failure
    st["count"] = n
    (POOL / "pool.json").write_text(json.dumps(st))


def _scaffold_hash() -> str:
    """What `temoin init` writes (templates, overrides, mkdocs.yml): a repo made from an
    older scaffold is made again, so page-size figures measure the current templates."""
    root = Path(scaffold.__file__).resolve().parent / "data" / "scaffold"
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def repo(n: int, jobs: int = 4) -> Path:
    """`repo-N/`: a fresh repo whose cases/ hard-links the pool's first N cases."""
    grow_pool(n, jobs)
    dest = OUT / f"repo-{n}"
    stamp = dest / ".bench.json"
    want = {"version": VERSION, "count": n, "scaffold": _scaffold_hash()}
    if stamp.exists() and json.loads(stamp.read_text()) == want:
        return dest
    kr, fprs = keyring()
    shutil.rmtree(dest, ignore_errors=True)
    new_repo(dest, kr, fprs)
    ids = _state()["ids"][:n]
    for cid in ids:
        src = POOL / "cases" / cid
        for root, _dirs, files in os.walk(src):
            target = dest / "cases" / cid / Path(root).relative_to(src)
            target.mkdir(parents=True, exist_ok=True)
            for f in files:
                os.link(Path(root) / f, target / f)
    stamp.write_text(json.dumps(want))
    return dest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sizes", nargs="+", type=int)
    ap.add_argument("--jobs", type=int, default=2 * (os.cpu_count() or 1))
    args = ap.parse_args()
    for n in sorted(args.sizes):
        t = time.monotonic()
        print(f"repo-{n}: {repo(n, args.jobs)} ({time.monotonic() - t:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
