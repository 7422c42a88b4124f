"""The fictional cases of the benchmarks: case number i (front matter, public narrative,
private part, whether it has a photo) depends only on i, through its own random generator.

Every act, perpetrator, source, status and intervention vocabulary, places of Burundi (old
and 2025 provinces) and Cameroon, dates 2015-2025, 1-3 victims (children and survivors of
sexual violence: province only, never named), named and anonymised consent. All names,
phones and places are made up (`example.invalid` addresses).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from typing import Any, NamedTuple

from temoin import cases
from temoin.cases import vocab

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


class Fiction(NamedTuple):
    """Case number i as an editor has it before curation."""

    meta: dict[str, Any]
    narrative: str
    private: dict[str, Any]
    evidence: list[bytes]      # the attachments, as received (small fake JPEGs)
    media: bool                # published with a photo


def make_case(i: int, taken: set[str]) -> Fiction:
    """Case number i (its own random generator: the same whatever else is made)."""
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
    evidence = [b"\xff\xd8\xff\xe0" + rng.randbytes(rng.randint(600, 2400))
                for _ in range(rng.randint(0, 3))]
    sub = hashlib.sha256(f"sub-{i}".encode()).hexdigest()
    private = {  # the keys `temoin ingest` writes, then what curation adds
        "intake": {"received": f"{received.isoformat()}T09:{i % 60:02d}:00Z",
                   "channel": rng.choice(["email", "file"]),
                   "submissions": [{"sha256": sub, "file": f"{sub[:16]}.eml",
                                    "kind": "pgp-mime"}],
                   "envelope_kind": "pgp-mime"},
        "subject": f"Témoignage {word(rng, 2)} {word(rng, 3)} urgent",
        "testimony": testimony,
        "signer": {"fingerprint": None, "valid": False},
        "evidence": [{"name": (name := f"IMG-{received:%Y%m%d}-WA{1000 + 7 * i % 9000 + j}.jpg"),
                      "safe_name": name, "sha256": hashlib.sha256(data).hexdigest(),
                      "media_type": "image/jpeg", "size": len(data)}
                     for j, data in enumerate(evidence)],
        "consent_requested": consent,
        "victims": [{"id": v["id"], "full_name": n, "age": rng.randint(9, 80),
                     "contact": f"+257 {rng.randint(61, 79)} {rng.randint(10, 99)} "
                                f"{rng.randint(10, 99)} {rng.randint(10, 99)}"}
                    for v, n in zip(victims, names[:nvict], strict=True)],
        "exact_places": [f"Colline {word(rng, 3)}, sous-colline {word(rng, 2)}"],
        "sources": [{"name": n, "reliability": rng.choice("ABC") + str(rng.randint(1, 3)),
                     "connection": "witness",
                     "email": f"{word(rng, 2).lower()}.{i}@example.invalid"}
                    for n in names[nvict:]],
        "verification_log": [f"{received.isoformat()}: appel de vérification à "
                             f"{names[-1]} ({rng.randint(2, 9)} minutes)"],
    }
    return Fiction(meta, narrative, private, evidence,
                   status == "published" and rng.random() < 0.02)


