#!/usr/bin/env python3
"""Regenerate this repository's FICTIONAL demo data: keys/, mkdocs.yml settings, cases/.

Every person, place detail and event here is invented. The demo keys' secret parts live in
tests/fixtures/demo-keys/ (demo-only, no passphrase); `make demo` imports them into a
throwaway GNUPGHOME. Run: .venv/bin/python scripts/make_demo_data.py (deterministic).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import shutil
import sys
import tempfile
from pathlib import Path

from ruamel.yaml import YAML

from temoin import cases, curation, custody, keys, trust
from temoin import config as config_mod
from temoin.cases import vocab
from temoin.keys import vault

REPO = Path(__file__).resolve().parent.parent
DEMO_KEYS = REPO / "tests" / "fixtures" / "demo-keys"
KEYS = {"inbox": ("SOS-Exemple boîte de réception (DÉMO)", "temoignages@sos-exemple.invalid"),
        "alice": ("Alice Éditrice (DÉMO)", "alice@sos-exemple.invalid"),
        "bob": ("Bob Éditeur (DÉMO)", "bob@sos-exemple.invalid")}
FIRST = ["Amani", "Bella", "Claude", "Divine", "Eloge", "Fabrice", "Gloria", "Hervé", "Irène",
         "Joselyne", "Kevin", "Léonce", "Mireille", "Nadège", "Olivier", "Pacifique"]
LAST = ["Fictif-Kabura", "Exemple-Ndayi", "Imaginé-Hakizi", "Inventé-Bizima", "Modèle-Niyon"]
SCENES = {
    "arbitrary_arrest": "a été arrêté{e} à son domicile par des hommes en uniforme, sans mandat",
    "torture": "a été frappé{e} à plusieurs reprises pendant sa détention",
    "enforced_disappearance": "n'a plus été revu{e} depuis son interpellation",
    "killing": "a été retrouvé{e} mort{e} près de la rivière",
    "abduction": "a été emmené{e} de force dans un véhicule sans plaque",
    "threats": "a reçu des menaces répétées après une réunion",
    "arbitrary_detention": "est détenu{e} sans jugement depuis plusieurs semaines",
    "ill_treatment": "a été privé{e} de nourriture et de soins",
    "rape": "a subi des violences sexuelles",
    "extortion": "a dû payer une somme d'argent pour être relâché{e}",
    "destruction_of_property": "a vu sa maison incendiée",
}
PERPS = ["police", "intelligence", "party_militia", "military", "administrative", "unknown"]


def keyring() -> tuple[keys.Keyring, dict[str, str], Path]:
    """A throwaway keyring with the demo keys (made once, then reused from fixtures)."""
    home = Path(tempfile.mkdtemp(prefix="temoin-demo-"))
    kr = keys.Keyring(home)
    DEMO_KEYS.mkdir(parents=True, exist_ok=True)
    fprs = {}
    for name, (uid, email) in KEYS.items():
        sec = DEMO_KEYS / f"{name}.sec.asc"
        if sec.exists():
            fprs[name] = kr.import_keys(sec.read_bytes())[0]
        else:
            fprs[name] = kr.generate(uid, email)
            sec.write_text(kr.export_secret(fprs[name]))
    return kr, fprs, home


def write_settings(fprs: dict[str, str]) -> None:
    yaml = YAML()
    yaml.preserve_quotes = True
    path = REPO / "mkdocs.yml"
    doc = yaml.load(path.read_text())
    opts = next(p["temoin"] for p in doc["plugins"] if isinstance(p, dict) and "temoin" in p)
    opts["inbox_key"] = fprs["inbox"]
    opts["recipients"] = [{"fingerprint": fprs["alice"], "name": "Alice (démo)"},
                          {"fingerprint": fprs["bob"], "name": "Bob (démo)"}]
    with path.open("w") as f:
        yaml.dump(doc, f)


def make_case(rng: random.Random, n: int, status: str) -> tuple[dict, str, dict]:
    year = rng.choice([2024, 2025])
    start = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(0, 330 if year == 2025
                                                                  else 365))
    places = [p for p in vocab.places("BI") if p.valid_on(start)]
    place = rng.choice(places)
    kinds = rng.sample(list(SCENES), k=rng.choice([1, 2, 2, 3]))
    sex = rng.choice(["m", "m", "f"])
    age = rng.choice(["adult", "adult", "adult", "child", "elderly"])
    sgbv = any(vocab.category(k) == "sgbv" for k in kinds)
    if sgbv:
        sex = "f"
    victims = [{"id": "v1", "count": 1, "sex": sex, "age_group": age,
                "status_now": rng.choice(["detained", "free", "disappeared", "in_hiding"])}]
    if rng.random() < 0.3:
        victims.append({"id": "v2", "count": rng.randint(2, 5), "sex": "m",
                        "age_group": "adult", "status_now": "free"})
    perp = {"id": "p1", "type": rng.choice(PERPS)}
    acts = [{"victim": v["id"], "type": k, "perpetrators": ["p1"]}
            for v in victims for k in kinds]
    precision = "admin1" if (sgbv or age == "child") else "admin2"
    location = {"country": "BI", "admin1": place.fr, "precision": precision}
    if precision == "admin2":
        location["admin2"] = f"Commune {place.fr}"
    cid = cases.new_id("BI", start.year, f"demo-{n}".encode())
    e = "e" if sex == "f" else ""
    label = vocab.label("acts", kinds[0], "fr").lower()
    meta = {
        "id": cid,
        "title": {"fr": f"{vocab.label('acts', kinds[0], 'fr')} à {place.fr}",
                  "en": f"{vocab.label('acts', kinds[0], 'en')} in {place.en}"},
        "summary": {"fr": f"Cas fictif : {label} signalé{e} en {start.year}.",
                    "en": f"Fictional case: {vocab.label('acts', kinds[0], 'en').lower()} "
                          f"reported in {start.year}."},
        "status": status,
        "verification": "received" if status == "draft" else rng.choice(
            ["verified", "verified", "confirmed"]),
        "urgent": status == "published" and n % 9 == 0,
        "event": {"date_start": start, "date_end": None, "date_precision": "day",
                  "location": location},
        "victims": victims, "perpetrators": [perp], "acts": acts,
        "sources": {"count": rng.randint(1, 3), "independent": 1,
                    "types": rng.sample(["witness_testimony", "victim_testimony",
                                         "medical_certificate", "photo"], k=2)},
        "consent": "aggregate_only" if n % 11 == 5 else rng.choice(["anonymised",
                                                                     "anonymised", "named"])
        if status != "draft" else "none",
        "received": start + dt.timedelta(days=2),
        "tags": ["fictif"],
    }
    if meta["consent"] == "named" and not (sgbv or age == "child"):
        victims[0]["name"] = f"{rng.choice(FIRST)} Publié-{n:02d}"
    scenes = ". ".join(f"La victime {SCENES[k].format(e=e)}" for k in kinds)
    narrative = (f"*Récit fictif de démonstration.* {scenes}. Les faits se seraient produits "
                 f"le {start.day}/{start.month}/{start.year}. Deux sources concordantes "
                 "ont été entendues séparément.\n")
    who = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    private = {
        "intake": {"received": f"{meta['received'].isoformat()}T09:00:00Z", "channel": "email"},
        "testimony": f"Témoignage fictif de {who}: la victime a été emmenée par trois "
                     f"agents vers le cachot de la colline Imaginaire-{n:02d}.",
        "victims": [{"id": "v1", "full_name": who, "age": rng.randint(8, 70),
                     "contact": f"+257 79 {n:02d} {rng.randint(10, 99)} {rng.randint(10, 99)}"}],
        "exact_places": [f"Colline Imaginaire-{n:02d}, sous-colline Fictive"],
        "sources": [{"name": f"Témoin {rng.choice(FIRST)} Secret-{n:02d}", "reliability": "B2",
                     "connection": "witness"}],
        "share_consent": ["un_mechanism"] if n % 3 == 0 else [],
        # What the source ticked in the form: the ceiling of the public consent (issue 15).
        "consent_requested": meta["consent"] if status != "draft" else "aggregate_only",
    }
    return meta, narrative, private


STATUSES = (["published"] * 26 + ["draft"] * 4 + ["review"] * 2 + ["withdrawn"] * 2
            + ["rejected", "duplicate"])


def main() -> int:
    kr, fprs, home = keyring()
    try:
        for name, fpr in fprs.items():
            dest = REPO / "keys" / ("inbox.asc" if name == "inbox" else f"editors/{name}.asc")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(kr.export_public(fpr))
        write_settings(fprs)
        # The signed trust root (issue 16), founded by both demo editors; a fixed id and
        # date keep its fingerprint the same each time the demo data is made.
        shutil.rmtree(REPO / "trust", ignore_errors=True)
        trust.found(REPO, config_mod.load(REPO), kr, [fprs["alice"], fprs["bob"]],
                    when=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
                    repo_id=hashlib.sha256(b"temoin demo (fictional)").hexdigest()[:32])
        cfg = config_mod.load(REPO)
        # Unpublished cases and custody entries are signed by Alice and sealed to the demo
        # editors (issue 16).
        sealed = vault.Vault(kr, cfg.recipient_fingerprints, fprs["alice"])
        shutil.rmtree(REPO / "cases", ignore_errors=True)
        (REPO / "custody.jsonl").write_text("")
        rng = random.Random(20251012)
        kept = None
        for n, status in enumerate(STATUSES):
            meta, narrative, private = make_case(rng, n, status)
            if status == "duplicate":
                meta["duplicate_of"] = kept
            case = cases.Case(meta, narrative)
            cases.save(REPO, case, vault=sealed)
            cases.write_private(REPO, case.id, private, kr, cfg.recipient_fingerprints,
                                fprs["alice"])
            day = meta["received"]
            custody.append(REPO, "ingested", seal=sealed, case=case.id,
                           time=f"{day.isoformat()}T10:00:00Z")
            if status in ("published", "withdrawn"):
                when = day + dt.timedelta(days=5)
                meta["review"] = {"risk_reviewed": when}
                curation.record_decision(REPO, case, "verify", fprs["alice"], kr, when,
                                         level=meta["verification"])
                curation.record_decision(REPO, case, "approve", fprs["bob"], kr, when)
                curation.record_decision(REPO, case, "risk-review", fprs["bob"], kr, when)
                meta["published"] = when
                meta["status"] = "published"
                curation.record_decision(REPO, case, "publish", fprs["bob"], kr, when,
                                         published=when, consent_ceiling=meta["consent"])
                if meta.get("urgent") is True:
                    curation.record_decision(REPO, case, "urgent", fprs["bob"], kr, when,
                                             urgent=True)
                if meta.get("interventions"):
                    curation.record_decision(REPO, case, "interventions", fprs["bob"], kr,
                                             when, entries=meta["interventions"])
                kept = kept or case.id
                if status == "withdrawn":
                    meta["status"] = "withdrawn"
                    meta["withdrawn"] = {"date": when + dt.timedelta(days=20), "reason": {
                        "fr": "Retiré à la demande de la victime (fictif).",
                        "en": "Withdrawn at the victim's request (fictional)."}}
                    curation.record_decision(REPO, case, "withdraw", fprs["bob"], kr,
                                             meta["withdrawn"]["date"],
                                             reason=meta["withdrawn"]["reason"],
                                             published=when)
                cases.save(REPO, case, vault=sealed)
                for action, by in (("verified", "alice"), ("approved", "bob"),
                                   ("published", "bob")):
                    custody.append(REPO, action, seal=sealed, case=case.id,
                                   editor=fprs[by],
                                   time=f"{when.isoformat()}T12:00:00Z")
        print(f"wrote {len(STATUSES)} fictional cases under {REPO / 'cases'}")
        return 0
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
