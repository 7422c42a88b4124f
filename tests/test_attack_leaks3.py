"""Adversarial review, third round (issue 15, "nothing identifying ships"): ordinary ways of
writing a private value, an exact age or a third-party request that the first two rounds
did not try, each planted in a real signed repository and judged by a real `temoin build`
(real gpg, real MkDocs) or `case publish`.

* `exposed`: published cases whose text or the organisation's hand-written pages carry a
  private value as a person writes it (a phone number spelt out in words, or in groups
  after commas; a name split by an HTML comment or written with CSS escapes) and pages
  that make a browser fetch from another site (an SVG paint server, an attribution
  report). The build must refuse, naming the file and the private field.
* `aged`: published cases stating an exact age without "ans"/"years old" (a form's label,
  an infant's age in months, a birthday, a birth date, "un garçon de 14,"), built with
  refused cases left out: each is refused naming the field; innocent texts publish.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from temoin import cases, config, gates
from temoin.curation import editing
from temoin.errors import GateError
from temoin.publish import build as build_mod
from tests.curation_fixtures import cli
from tests.helpers import Org, own_org, site_files
from tests.test_attack_leaks2 import Built

EVIL = "https://evil.example"


@pytest.fixture(scope="module")
def exposed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    yield from own_org(tmp_path_factory, "exposed", _exposed)


def _exposed(o: Org) -> Built:
    b = Built(o)

    def case(name: str, private: dict[str, object], narrative: str = "Un récit sans nom."
             ) -> None:
        b.ids[name] = o.add_case(private=private, narrative=narrative).id

    # A phone number read out and written down as a person says it.
    case("phone-words-fr", {"victims": [{"phone": "+257 79 12 34 56"}]},
         "Sa famille donne son numéro : soixante-dix-neuf, douze, trente-quatre, "
         "cinquante-six.")
    case("phone-digits-en", {"sources": [{"phone": "+257 69 87 65 43"}]},
         "The caller left a number: six nine eight seven six five four three.")
    case("phone-words-cm", {"sources": [{"phone": "+237 677 12 34 58"}]},
         "Numéro : six cent soixante-dix-sept, douze, trente-quatre, cinquante-huit.")
    case("phone-commas", {"victims": [{"phone": "+257 61 22 33 47"}]},
         "Joignable au 61, 22, 33, 47 selon ses voisins.")
    # The organisation's own pages (signed by two editors, raw HTML allowed there).
    case("comment-split", {"victims": [{"name": "Jean Bigirimana"}]})
    case("css-escape", {"victims": [{"name": "Paul Nkurunziza"}]})
    pages = o.repo / "site_src"
    (pages / "attaque.md").write_text(
        "# Hommage\n\n<p>En mémoire de Bigiri<!-- relu -->mana.</p>\n\n"
        "<svg width=\"10\" height=\"10\"><rect width=\"10\" height=\"10\" "
        f"fill=\"url({EVIL}/paint.svg#g)\"/></svg>\n\n"
        f"<p><img src=\"assets/rien.png\" attributionsrc=\"{EVIL}/report\"></p>\n"
        f"<link rel=\"search\" type=\"application/opensearchdescription+xml\" "
        f"href=\"{EVIL}/opensearch.xml\">\n",
        encoding="utf-8")
    assets = pages / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    (assets / "hommage.css").write_text(
        ".hommage::after { content: \"Paul N\\6b urunziza\"; }\n", encoding="utf-8")
    o.resign_site()
    try:
        build_mod.build(o.repo, config.load(o.repo), keyring=o.keyring,
                        allow_unpublished=False)
        b.files = site_files(o.repo / "site")
    except GateError as exc:
        b.findings = exc.findings
    return b


def _refused(b: Built, attack: str, where: str) -> list[str]:
    cid = b.ids[attack]
    return [f for f in b.findings if cid in f and where in f]


@pytest.mark.parametrize("attack,where", [
    # Spelt out in French words, in English digit words, in a Cameroonian grouping of 3.
    ("phone-words-fr", "victims.0.phone"),
    ("phone-digits-en", "sources.0.phone"),
    ("phone-words-cm", "sources.0.phone"),
    # Groups of two digits set off by commas: the separators joined digits, commas did not.
    ("phone-commas", "victims.0.phone"),
    # An HTML comment inside a word is drawn as nothing.
    ("comment-split", "[canary] attaque/index.html"),
    # A CSS escape (\6b is "k") in generated content: the page shows the name.
    ("css-escape", "[canary] assets/hommage.css"),
])
def test_private_value_as_a_person_writes_it_stops_the_build(exposed: Built, attack: str,
                                                             where: str) -> None:
    assert not exposed.files, "the build shipped a site"
    assert _refused(exposed, attack, where), (attack, exposed.findings)


@pytest.mark.parametrize("what", ["paint.svg", "attributionsrc", "opensearch.xml"])
def test_requests_to_another_site_from_a_page_are_refused(exposed: Built, what: str) -> None:
    """An SVG paint server (`fill="url(…)"`: Firefox, hence Tor Browser, fetches it), an
    attribution report (`attributionsrc`: Chromium sends it) and an OpenSearch description
    on another site (a browser may fetch it unasked) leave the site."""
    found = [f for f in exposed.findings if "attaque/index.html" in f
             and "[third-party]" in f and what in f]
    assert found, exposed.findings


def _fields(private: dict[str, object], text: str) -> list[str]:
    """The private fields the build's matcher finds in `text` (a page of another case)."""
    found = gates.canaries_from_private("BI-2025-AAAAAA", private)
    return gates.text_leaks(gates.matcher([c for c in found if c.value]), text)


PHONE = {"victims": [{"phone": "+257 79 12 34 56"}]}


@pytest.mark.parametrize("text", [
    "Sa famille donne son numéro : soixante-dix-neuf, douze, trente-quatre, cinquante-six.",
    "sept, neuf, un, deux, trois, quatre, cinq, six",
    "Appelez le zéro zéro deux cinq sept, soixante-dix-neuf, douze, 34, 56.",
    "seventy-nine, twelve, thirty-four, fifty-six",
    "79, 12, 34 et 56",
])
def test_phone_read_out_is_found(text: str) -> None:
    assert _fields(PHONE, f"<p>{text}</p>") == ["victims.0.phone"], text


@pytest.mark.parametrize("text", [
    "un, deux, trois, quatre, cinq : les enfants comptaient.",
    "Le 12 mars 2025, 79 personnes ont été recensées ; 34 ont fui.",
    "Sur 79 détenus, 12, 34 et 56 ont été libérés.",
    "les 3, 4 et 5 mars, puis vingt et un, vingt-deux et trente personnes",
    "Tableau : 7, 9, 1, 4, 3, 2, 8, 6, 2025",
])
def test_numbers_that_are_no_phone_pass(text: str) -> None:
    assert _fields(PHONE, f"<p>{text}</p>") == [], text


# -- exact ages without "ans" / "years old" -----------------------------------------------------
AGES = {
    "form-label": "Fiche de la victime. Âge : 14. Profession : élève.",
    "infant-months": "Un bébé de 9 mois a été blessé par balle.",
    "infant-month-old": "A 9-month-old baby was wounded.",
    "birthday": "Il a été arrêté le jour de son quatorzième anniversaire.",
    "birthday-en": "He was arrested on his 14th birthday.",
    "birth-date": "Date de naissance : 12.03.2011.",
    "birth-year-abbrev": "The victim (b. 2011) was detained.",
    "bare-number": "Un garçon de 14, élève à l'école primaire, a été arrêté.",
    "bare-number-en": "A girl of fifteen was taken to the camp.",
}
# Addresses phones share instead of coordinates: finer than any division.
PLACE_CODES = {
    "plus-code": "Le corps a été retrouvé au 6GCRPR6C+24, derrière le marché.",
    "short-plus-code": "Il a été vu pour la dernière fois au PR6C+24 Gitega.",
    "what3words": "La famille situe la fosse à ///lampe.table.riviere selon un voisin.",
}
INNOCENT_AGES = {
    "months-in-prison": "Il a été détenu pendant 9 mois, puis condamné à 18 mois de prison.",
    "commemoration": "Le 60e anniversaire de l'indépendance a été marqué par des arrestations.",
    "people": "Un groupe de 14 personnes, dont les enfants de 14 familles, a fui.",
    "page": "Voir la page 14 du rapport ; l'âge de la retraite n'est pas en cause.",
    "years-in-prison": "He was sentenced to 14 years in prison on the 14th of March.",
    "plus-signs": "Les articles 14+15 du code, C++ et 2+2=4 ne situent personne.",
}


@pytest.fixture(scope="module")
def aged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    yield from own_org(tmp_path_factory, "aged", _aged)


def _aged(o: Org) -> Built:
    b = Built(o)
    for name, text in {**AGES, **PLACE_CODES, **INNOCENT_AGES}.items():
        b.ids[name] = o.add_case(narrative=text).id
    report = build_mod.build(o.repo, config.load(o.repo), keyring=o.keyring,
                             allow_unpublished=True)
    b.refused = report.refused
    b.files = site_files(o.repo / "site")
    return b


@pytest.mark.parametrize("attack", sorted(AGES))
def test_exact_age_in_any_wording_is_refused(aged: Built, attack: str) -> None:
    cid = aged.ids[attack]
    problems = aged.refused.get(cid, [])
    assert [p for p in problems if "narrative" in p and "exact age" in p], (attack, problems)
    assert f"cases/{cid}/index.html" not in aged.files


@pytest.mark.parametrize("attack", sorted(PLACE_CODES))
def test_plus_code_and_what3words_are_finer_than_any_division(aged: Built, attack: str
                                                              ) -> None:
    cid = aged.ids[attack]
    problems = aged.refused.get(cid, [])
    assert [p for p in problems if "narrative" in p and "finer than the allowed precision"
            in p], (attack, problems)
    assert f"cases/{cid}/index.html" not in aged.files


@pytest.mark.parametrize("text", sorted(INNOCENT_AGES))
def test_durations_dates_and_counts_still_publish(aged: Built, text: str) -> None:
    cid = aged.ids[text]
    assert cid not in aged.refused, aged.refused[cid]
    assert f"cases/{cid}/index.html" in aged.files


# -- YAML a person reads otherwise than the program -------------------------------------------
def test_a_name_given_twice_in_a_private_part_is_refused_not_dropped(org: Org) -> None:
    """An editor adds a second `name:` to a victim in private.yaml: YAML kept the last one
    only, so the first name was no canary and shipped in the public text. The build now
    refuses the private part, naming the file and the line, never the value."""
    case = org.add_case(narrative="Havyarimana a été arrêté devant chez lui.")
    yaml_text = ("victims:\n- name: Jean Havyarimana\n  phone: '+257 79 55 44 33'\n"
                 "  name: J. H.\n")
    plain = f"# temoin: the private part of {case.id}, signed by its writer\n{yaml_text}"
    path = cases.private_path(org.repo, case.id)
    path.write_bytes(org.keyring.encrypt(plain.encode(), org.cfg.recipient_fingerprints,
                                         sign=org.alice))
    result = cli(org.repo, "build")
    assert result.exit_code != 0, result.output
    assert f"cases/{case.id}/private.yaml.asc: line 4: key 'name' given twice" in \
        result.output, result.output
    assert "Havyarimana" not in result.output
    assert not (org.repo / "site" / "cases" / case.id / "index.html").exists()


def test_a_key_given_twice_in_case_md_is_refused_naming_the_line(org: Org) -> None:
    """A verifier reading case.md sees `consent: anonymised`; YAML kept the `consent:` written
    further down. A key given twice, or a merge key, is refused with its line."""
    case = org.add_case()
    path = case.folder / "case.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\nconsent: anonymised\n",
                                 "\nconsent: anonymised\nurgent: false\n", 1),
                    encoding="utf-8")
    result = cli(org.repo, "build")
    assert result.exit_code != 0, result.output
    assert f"cases/{case.id}/case.md: line" in result.output
    assert "key 'urgent' given twice" in result.output, result.output
    path.write_text(text.replace("\nconsent: anonymised\n",
                                 "\nconsent: anonymised\n<<: {urgent: true}\n", 1),
                    encoding="utf-8")
    assert "merge key <<" in cli(org.repo, "build").output


def test_case_edit_refuses_a_key_given_twice_in_private_yaml() -> None:
    data, problems = editing.parse_private("victims:\n- name: Jean Havyarimana\n"
                                           "  name: J. H.\n")
    assert data is None
    assert problems == ["private.yaml line 3, column 3: key 'name' given twice in one "
                        "mapping (YAML would keep the last one only)"]


# -- a submission that names the organisation ---------------------------------------------------
def test_a_source_giving_the_organisation_s_address_stops_no_publication(org: Org) -> None:
    """A submitter (hostile or confused) gives the organisation's own contact address as
    theirs; once an editor moves the case to review, that address was a canary and the
    submit page, which prints it, refused every build. It is reported as not usable; the
    source's real name in the same part still guards every page."""
    published = org.add_case(narrative="Un récit publié.")
    review = org.add_case(status="review", sign=False, private={
        "sources": [{"email": "temoignages@example.invalid", "name": "Didace Barutwanayo"}]})
    result = cli(org.repo, "build")
    assert result.exit_code == 0, result.output
    assert (org.repo / "site" / "cases" / published.id / "index.html").is_file()
    assert f"cases/{review.id}/private.yaml.asc: sources.0.email: the organisation's own" \
        in result.output, result.output
    org.add_case(narrative="Barutwanayo a été enlevé.")
    refused = cli(org.repo, "build")
    assert refused.exit_code == 4, refused.output
    assert f"private value of case {review.id} (sources.0.name)" in refused.output
