"""Adversarial review, fourth round (issue 15, "nothing identifying ships"): private values
written in forms the canary gate did not read, planted in published cases of a signed
organisation (real gpg, real signed decisions) and refused by a real `temoin build`; the
same private values beside innocent text (dates, counts, years, amounts, initials) build.

* phone numbers in other groupings: comma groups, a word between groups, digits spelt
  partly in words, the middle digits alone;
* names letter-spaced, dotted or dashed letter by letter, or split at a line end by a
  hyphen look-alike (on a page and in a PDF report);
* private coordinates rounded to 3-5 decimals or in degrees, minutes and seconds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from temoin import cases, curation
from tests.curation_fixtures import cli
from tests.helpers import Org, own_org, site_files

DAY = dt.date(2025, 10, 6)

# attack -> (private part, narrative as published)
ATTACKS: dict[str, tuple[dict[str, object], str]] = {
    "comma-groups": ({"victims": [{"phone": "+257 79 12 34 56"}]},
                     "Sa famille le joignait au 79,12,34,56 chaque soir."),
    "word-between": ({"victims": [{"phone": "+257 69 12 34 57"}]},
                     "Sa famille le joignait au 69 12 et 34 57 chaque soir."),
    "dash-between": ({"victims": [{"phone": "+257 68 22 33 44"}]},
                     "Sa famille le joignait au 68 22 - tiret - 33 44 chaque soir."),
    "spelt-partly": ({"victims": [{"phone": "+257 61 12 34 58"}]},
                     "Sa famille le joignait au soixante et un, douze, 34 58 chaque soir."),
    "spelt-english": ({"victims": [{"phone": "+257 71 45 67 89"}]},
                      "His family called him on seventy-one forty-five 67 89 each night."),
    "middle-digits": ({"victims": [{"phone": "+257 75 44 33 21"}]},
                      "Son numéro finissait par 44 33 21, selon un voisin."),
    "letter-spaced": ({"victims": [{"name": "Pierre Ndayisenga"}]},
                      "Le frère de N d a y i s e n g a a témoigné."),
    "dotted": ({"victims": [{"name": "Luc Havyarimana"}]},
               "Le frère de H.A.V.Y.A.R.I.M.A.N.A a témoigné."),
    "dashed": ({"victims": [{"name": "Paul Nshimirimana"}]},
               "Le frère de N-s-h-i-m-i-r-i-m-a-n-a a témoigné."),
    "hyphen-line-end": ({"victims": [{"name": "Eric Barampama"}]},
                        "Le frère de Baram\u2010\npama a témoigné."),
    "coordinates": ({"exact_places": ["-3.42641, 29.93082"]}, "Un récit sans lieu exact."),
}
INNOCENT = (
    "Le 12.03.2025 puis les 14 et 15 mars 2025, 17 cas ont été recensés (contre 12, 13 et "
    "16 en 2019, 2020 et 2021). Une rançon de 150 000 FBu, puis de 1 200 000 FBu, a été "
    "exigée ; 3 412 personnes ont fui entre le 1er et le 31 mai. N.B. : J.-M. N. et "
    "A. B. C. ont été entendus. Il était joignable au 22 33 44 55, le standard de l'école. "
    "Vingt et un jours plus tard, deux enfants.")


@dataclass
class Built:
    org: Org
    ids: dict[str, str] = field(default_factory=dict)
    exit_code: int = -1
    output: str = ""
    files: dict[str, bytes] = field(default_factory=dict)


def _build(tmp_path_factory: pytest.TempPathFactory, name: str,
           cases_: dict[str, tuple[dict[str, object], str]], assets: dict[str, bytes]
           ) -> Iterator[Built]:
    def make(org: Org) -> Built:
        b = Built(org)
        for attack, (private, narrative) in cases_.items():
            b.ids[attack] = org.add_case(private=private, narrative=narrative).id
        folder = org.repo / "site_src" / "assets"
        folder.mkdir(parents=True, exist_ok=True)
        for file_name, data in assets.items():
            (folder / file_name).write_bytes(data)
        org.resign_site()
        result = cli(org.repo, "build")
        b.exit_code, b.output = result.exit_code, result.output
        if (org.repo / "site").is_dir():
            b.files = site_files(org.repo / "site")
        return b

    yield from own_org(tmp_path_factory, name, make)


@pytest.fixture(scope="module")
def spelt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    yield from _build(tmp_path_factory, "spelt", ATTACKS, {
        "rapport.pdf": _pdf_lines("Le frère de Baram\u2010", "pama a témoigné."),
        # A hand-written note beside the site: the private coordinates rounded, or in
        # degrees, minutes and seconds.
        "carte.txt": b"Point de rencontre : -3.4264, 29.9308.\n",
        "carte-dms.txt": "Point de rencontre : 3°25'35\"S 29°55'51\"E.\n".encode()})


def _pdf_lines(*lines: str) -> bytes:
    """A report with one line of text each (a Unicode font: the hyphen look-alike)."""
    from tests.helpers import unicode_pdf

    return unicode_pdf(*lines)


@pytest.fixture(scope="module")
def innocent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """Every private value of the attacks, each case's page holding only innocent text."""
    yield from _build(tmp_path_factory, "innocent",
                      {a: (private, INNOCENT) for a, (private, _text) in ATTACKS.items()},
                      {"chiffres.txt": "3 426 personnes, 29 931 FBu ; le camp est à -3.300, "
                       "29.400 ; 3°25' de latitude sud.\n"
                       # Three counts in a row of a table, by chance the middle digits of
                       # a private phone (+257 75 44 33 21): a short number guards its own
                       # case's text only (at 1,000 cases such rows blocked the build).
                       "Détenus par mois : 44 33 21\n".encode()})


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_private_value_spelt_otherwise_stops_the_build(spelt: Built, attack: str) -> None:
    """`temoin build` refuses, naming the case's page and the private field."""
    cid = spelt.ids[attack]
    if attack == "coordinates":
        return  # the page holds none: `test_private_coordinates_rounded_or_in_dms…`
    field_name = next(iter(ATTACKS[attack][0]["victims"][0]))  # type: ignore[index]
    needle = f"cases/{cid}/index.html: private value of case {cid} (victims.0.{field_name})"
    assert spelt.exit_code == 4 and needle in spelt.output, (attack, spelt.output)
    assert not (spelt.org.repo / "site" / "index.html").exists()


def test_name_split_at_a_line_end_is_refused_in_a_pdf(spelt: Built) -> None:
    """A report whose line ends with a hyphen look-alike (U+2010) inside the name: poppler
    prints "Baram\u2010\npama", which a reader reads as one word."""
    cid = spelt.ids["hyphen-line-end"]
    assert f"[canary] assets/rapport.pdf: private value of case {cid} (victims.0.name)" \
        in spelt.output, spelt.output


def test_innocent_numbers_and_initials_beside_the_same_private_values_build(
        innocent: Built) -> None:
    assert innocent.exit_code == 0, innocent.output
    page = innocent.files[f"cases/{innocent.ids['comma-groups']}/index.html"].decode()
    assert "150 000 FBu" in page and "J.-M. N." in page
    assert b"44 33 21" in innocent.files["assets/chiffres.txt"]


def test_publish_refuses_the_middle_digits_of_a_private_phone(tmp_path_factory:
                                                              pytest.TempPathFactory) -> None:
    """`temoin case publish` reads the same forms: the last six digits alone are refused."""
    def attempt(org: Org) -> None:
        case = org.add_case(status="review", sign=False,
                            narrative="Son numéro finissait par 12 34 56.",
                            private={"victims": [{"phone": "+257 79 12 34 56"}],
                                     "consent_requested": "anonymised"})
        for kind, who in (("verify", org.alice), ("approve", org.bob),
                          ("risk-review", org.bob)):
            curation.record_decision(org.repo, case, kind, who, org.keyring, DAY)
        cases.save(org.repo, case)
        refused = cli(org.repo, "case", "publish", case.id, editor=org.bob)
        assert refused.exit_code == 4, refused.output
        assert "holds a value of the private part (victims.0.phone)" in refused.output
        assert cases.load(org.repo, case.id).status == "review"

    for _ in own_org(tmp_path_factory, "publish", attempt):
        pass


def test_private_coordinates_rounded_or_in_dms_stop_the_build(spelt: Built) -> None:
    """Private coordinates (`exact_places`) written rounded to 4 decimals, or in degrees,
    minutes and seconds, in a file beside the site: each file is refused, naming the
    field."""
    cid = spelt.ids["coordinates"]
    for name in ("carte.txt", "carte-dms.txt"):
        assert f"[canary] assets/{name}: private value of case {cid} (exact_places.0)" \
            in spelt.output, spelt.output
