"""A small signed organisation for the cold-path micro-benchmarks (pdf.py, gpg_count.py,
page_weight.py): `tests/helpers.make_org` with real keys, N cases over 2025 with varied
places, acts, victims and titles, each with an encrypted private part (names, phones,
exact places, a testimony); published ones carry every signed decision
(`tests/helpers.sign_release`). Seeded: the same N gives the same cases.

    python scripts/bench/smallorg.py DIR [-n 100]

makes DIR/org (the repository) and DIR/gnupg (the editors' and inbox keys, no passphrase).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import Org, base_meta, make_org  # noqa: E402

from temoin import keys  # noqa: E402
from temoin.cases import vocab  # noqa: E402

ACTS = ["killing", "enforced_disappearance", "abduction", "torture", "ill_treatment",
        "arbitrary_arrest", "arbitrary_detention", "threats", "extortion"]
PERPS = ["police", "military", "intelligence", "party_militia", "unknown"]
FIRST = ["Jean", "Marie", "Pierre", "Claudine", "Emmanuel", "Aline", "Révérien", "Gloriose"]
LAST = ["Ndayisenga", "Niyonzima", "Hakizimana", "Irakoze", "Nshimirimana", "Bigirimana"]
START = dt.date(2025, 1, 6)


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}{rng.randint(10, 99)}"


def case_fields(i: int) -> tuple[str, dict[str, Any], str, dict[str, Any]]:
    """Case i: (status, front matter overrides, narrative, private part)."""
    rng = random.Random(f"temoin-smallorg-{i}")
    day = START + dt.timedelta(days=rng.randrange(40 * 7))
    place = rng.choice([p for p in vocab.places("BI") if p.valid_on(day)])
    kinds = rng.sample(ACTS, rng.randint(1, 3))
    victims = [{"id": f"v{k}", "count": rng.choice([1, 1, 2]),
                "sex": rng.choice(["m", "m", "f"]),
                "age_group": rng.choice(["adult", "adult", "elderly", "unknown"]),
                "status_now": rng.choice(["detained", "free", "dead", "disappeared"])}
               for k in range(1, rng.randint(1, 3) + 1)]
    perps = [{"id": f"p{k}", "type": rng.choice(PERPS)} for k in range(1, rng.randint(1, 2) + 1)]
    acts = [{"victim": v["id"], "type": k, "perpetrators": [rng.choice(perps)["id"]]}
            for v in victims for k in kinds]
    label_fr = vocab.label("acts", kinds[0], "fr")
    label_en = vocab.label("acts", kinds[0], "en")
    status = "draft" if i % 10 == 9 else "published"
    overrides: dict[str, Any] = {
        "title": {"fr": f"{label_fr} à {place.fr} ({i})", "en": f"{label_en} in {place.en} ({i})"},
        "summary": {"fr": f"{label_fr} signalé en {day.year} à {place.fr}.",
                    "en": f"{label_en} reported in {day.year} in {place.en}."},
        "event": {"date_start": day, "date_end": None, "date_precision": "day",
                  "location": {"country": "BI", "admin1": place.fr, "precision": "admin1"}},
        "victims": victims, "perpetrators": perps, "acts": acts,
        "received": day + dt.timedelta(days=1),
        "published": day + dt.timedelta(days=rng.randint(2, 12)),
        "consent": "aggregate_only" if i % 9 == 4 else "anonymised",
    }
    names = [_person(rng) for _ in range(len(victims) + 2)]
    narrative = (f"Les faits se sont produits le {day.day}/{day.month}/{day.year}. "
                 "Deux sources concordantes ont été entendues séparément. La famille craint "
                 "des représailles ; aucune enquête n'a été ouverte à notre connaissance.\n")
    private = {
        "testimony": " ".join(f"{n} raconte avoir vu {names[0]} emmené vers la colline "
                              f"Rukoko-{i}." for n in names[1:]),
        "victims": [{"id": v["id"], "full_name": n,
                     "contact": f"+257 {rng.randint(61, 79)} {rng.randint(10, 99)} "
                                f"{rng.randint(10, 99)} {rng.randint(10, 99)}"}
                    for v, n in zip(victims, names, strict=False)],
        "exact_places": [f"Colline Rukoko-{i}, sous-colline Ka{i}"],
        "sources": [{"name": n, "email": f"source{i}.{k}@example.invalid"}
                    for k, n in enumerate(names[len(victims):])],
    }
    return status, overrides, narrative, private


def make(root: Path, n: int = 100) -> Org:
    """DIR/org with `n` cases (see the module docstring)."""
    root.mkdir(parents=True, exist_ok=True)
    kr = keys.Keyring(root / "gnupg")
    fprs = {name: kr.generate(name.capitalize(), f"{name}@example.invalid")
            for name in ("inbox", "alice", "bob")}
    org = make_org(root, kr, fprs)
    for i in range(n):
        status, overrides, narrative, private = case_fields(i)
        case = org.add_case(status=status, narrative=narrative, private=private,
                            sign=status == "published",
                            id=base_meta(f"smallorg-{i}".encode())["id"], **overrides)
        assert case.id
    return org


def stop_agent(home: Path) -> None:
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False,
                   capture_output=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("-n", type=int, default=100)
    args = ap.parse_args()
    try:
        make(args.dir, args.n)
    finally:
        stop_agent(args.dir / "gnupg")
    print(args.dir / "org")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
