"""Precision in public text (issue 15, item 6): places finer than the allowed precision and
exact ages are refused by `case publish` and `build`, unless an editor signs a dismissal."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

import pytest

from temoin import cases, config, curation
from temoin.cases import vocab
from temoin.curation import precision
from tests.curation_fixtures import cli, ok
from tests.helpers import Org

DAY = dt.date(2025, 10, 5)
CHILD = {"victims": [{"id": "v1", "count": 1, "sex": "f", "age_group": "child",
                      "status_now": "free"}],
         "event": {"date_start": dt.date(2025, 3, 14), "date_precision": "day",
                   "location": {"country": "BI", "admin1": "Gitega", "precision": "admin1"}}}

AGES = ["Elle avait quatorze ans.", "a 14 yo girl", "a girl aged fourteen", "a 14-year-old",
        "une fille de 14 ans", "âgée de 43 ans", "il y a quatorze ans", "un bébé d'un an",
        "(14 ans)", "trente-deux ans", "a fourteen year old boy", "14 y.o.",
        # "N years" without "old", after a person
        "a boy of 14 years was arrested", "a girl of fourteen years", "the victim, of 14 "
        "years, was beaten", "two boys 14 years", "une fille de 14 années"]
INNOCENT = ["Arrêtée à Gitega, province de Gitega.", "il y a 14 jours", "14 personnes",
            "condamné à deux ans de prison", "page 14", "14 years in prison",
            "for 14 years", "he spent 14 years in jail", "the man was jailed for 14 years",
            "two men, 14 years later", "a term of 14 years", "people of 14 countries",
            "En 2025, 3 enfants", "a noun", "le marché central"]


def _case(narrative: str, **meta: object) -> cases.Case:
    from tests.helpers import base_meta

    m = base_meta(narrative.encode(), **CHILD)
    m.update(meta)
    return cases.Case(m, narrative)


@pytest.fixture
def cfg() -> config.Config:
    return config.Config(Path("."), organisation="t")


@pytest.mark.parametrize("text", AGES)
def test_exact_ages_in_words_and_abbreviations_are_found(text: str, cfg: config.Config):
    found = precision.findings(_case(text), cfg)
    assert [f.rule for f in found] == ["age"], found


@pytest.mark.parametrize("text", INNOCENT)
def test_innocent_texts_are_not_refused(text: str, cfg: config.Config):
    assert precision.findings(_case(text), cfg) == []


def test_places_finer_than_the_precision_and_private_place_parts(cfg: config.Config):
    case = _case("Enlevée à Mutimbuzi puis vue au Kabezi, près de la colline Fictive.",
                 summary={"fr": "À Nyanza-Lac.", "en": "In Ngozi."},
                 interventions=[{"public_summary": {"fr": "Lettre (Mukaza)", "en": "x"}}])
    private = {"exact_places": ["Gitega, colline Fictive"], "template": {"place": "Ngozi"}}
    found = {(f.field, f.text, f.rule) for f in precision.findings(case, cfg, private)}
    assert found == {("narrative", "Mutimbuzi", "place"), ("narrative", "Kabezi", "place"),
                     ("narrative", "fictive", "private-place"),
                     ("summary.fr", "Nyanza-Lac", "place"),
                     ("interventions[0].public_summary.fr", "Mukaza", "place")}
    # at admin2 precision an adult's commune is allowed; the private hill never is
    adult = _case("À Mutimbuzi, colline Fictive.", victims=[
        {"id": "v1", "count": 1, "sex": "m", "age_group": "adult", "status_now": "free"}])
    assert {f.text for f in precision.findings(adult, cfg, private)} == {"fictive"}
    # accepted texts blank their matches only
    assert precision.findings(case, cfg, private, accepted=["vue au Kabezi"]) and not [
        f for f in precision.findings(case, cfg, private, ["vue au Kabezi"])
        if f.text == "Kabezi"]


def test_gazetteer_counts_and_known_names_per_level():
    """Cameroon: 10 regions, 58 departments, 360 communes (2013); Burundi: 18 provinces and
    119 communes until the reform, 5 and 42 after (the file names each source and date)."""
    cm1, cm2, cm3 = vocab.places("CM"), vocab.admin2_names("CM"), vocab.admin3_names("CM")
    communes = [(n, d) for n, d in cm3 if d]
    assert len(cm1) == 10 and {"Extrême-Nord", "Nord-Ouest"} <= {p.fr for p in cm1}
    assert len(cm2) == 58 and {("Mfoundi", "CM-CE"), ("Fako", "CM-SW")} <= set(cm2)
    assert len(communes) == len(set(communes)) == 360
    assert {("Yaoundé VII", "Mfoundi"), ("Buea", "Fako"), ("Kousséri", "Logone-et-Chari"),
            ("Bonaléa", "Moungo"), ("Kumbo", "Bui")} <= set(communes)
    assert {d for _, d in communes} == {n for n, _ in cm2}  # every department has its own
    bi1 = vocab.places("BI")
    assert len([p for p in bi1 if p.valid_until]) == 18
    assert len([p for p in bi1 if p.valid_from]) == 5
    bi2 = vocab.admin2_names("BI")
    reform = ("BI-BUH", "BI-BUJ", "BI-BUR", "BI-BUT", "BI-GIT")
    new = [n for n, c in bi2 if c in reform]
    old = [(n, c) for n, c in bi2 if c not in reform]
    assert len(new) == 42 and len(old) == 119
    assert {("Mugongomanga", "BI-BL"), ("Butaganzwa", "BI-KY"), ("Butaganzwa", "BI-RY"),
            ("Burambi", "BI-RM")} <= set(old)
    assert ("Burambi", "BI-BR") not in old  # moved to Rumonge in 2015
    # Every name is public vocabulary: never a canary on its own.
    from temoin.gates import lexicon

    assert not lexicon.distinctive("kumbo") and not lexicon.distinctive("mugongomanga")
    head = resources.files("temoin").joinpath("data", "gazetteer.yaml").read_text()[:4000]
    assert "Communes of Cameroon" in head and "2026-12" in head and "26 mars 2015" in head


def test_a_cameroon_commune_is_refused_at_admin1_and_allowed_at_admin2(cfg: config.Config):
    case = _case("Arrêtée à Kumbo, puis détenue à Buea.")
    case.meta["event"]["location"] = {"country": "CM", "admin1": "Nord-Ouest",
                                      "precision": "admin1"}
    assert {f.text for f in precision.findings(case, cfg)} == {"Kumbo", "Buea"}
    adult = _case("Arrêté à Kumbo.", victims=[
        {"id": "v1", "count": 1, "sex": "m", "age_group": "adult", "status_now": "free"}])
    adult.meta["event"]["location"] = {"country": "CM", "admin1": "Nord-Ouest",
                                       "precision": "admin1"}
    assert precision.findings(adult, cfg) == []  # location_precision admin2 (the default)


def test_gazetteer_has_second_level_divisions_with_their_sources():
    bi, cm = vocab.admin2_names("BI"), vocab.admin2_names("CM")
    assert len({n for n, c in bi if c.startswith("BI-BU") or c == "BI-GIT"}) == 42
    assert ("Ntahangwa", "BI-BUJ") in bi and ("Mutimbuzi", "BI-BL") in bi
    assert len(cm) == 58 and ("Mfoundi", "CM-CE") in cm
    from importlib import resources

    head = resources.files("temoin").joinpath("data", "gazetteer.yaml").read_text()[:3000]
    for words in ("16 mars 2023", "tburundigeo", "burundiarxiv", "GeoNames", "NOT"):
        assert words in head


def test_publish_and_build_refuse_until_an_editor_signs_a_dismissal(org: Org):
    private = {"testimony": "x", "exact_places": ["Gitega, colline Fictive"],
               "consent_requested": "anonymised"}
    text = ("Une fille de quatorze ans a été arrêtée à Mutimbuzi, colline Fictive. Son père "
            "y vivait il y a quatorze ans.")
    draft = org.add_case(status="review", sign=False, narrative=text, private=private,
                         **CHILD)
    for kind, who in (("verify", org.alice), ("approve", org.bob), ("risk-review", org.bob)):
        curation.record_decision(org.repo, draft, kind, who, org.keyring, DAY)
    cases.save(org.repo, draft)
    refused = cli(org.repo, "case", "publish", draft.id, editor=org.bob)
    assert refused.exit_code == 4, refused.output
    where = f"cases/{draft.id}/case.md: narrative"
    assert f"{where}: states an exact age ('quatorze ans')" in refused.output
    assert f"{where}: names a place finer than the allowed precision ('Mutimbuzi')" \
        in refused.output
    assert f"{where}: names a part of a private exact place ('fictive')" in refused.output
    assert f"`temoin case dismiss {draft.id} --text" in refused.output

    # Published by hand anyway (every other signature good): the build refuses it too.
    shown = org.add_case(summary={"fr": "Un garçon (14) arrêté.", "en": "A 14-year-old boy."},
                         **CHILD)
    build = cli(org.repo, "build")
    assert build.exit_code == 4, build.output
    assert f"cases/{shown.id}/case.md: summary.en: states an exact age ('14-year-old')" \
        in build.output and "('(14)')" in build.output

    # Dismissals: a text that is not in the case is refused; signed ones count.
    bad = cli(org.repo, "case", "dismiss", draft.id, "--text", "nowhere", editor=org.alice)
    assert bad.exit_code != 0 and "not found in the public text" in bad.output
    for t in ("il y a quatorze ans", "Une fille de quatorze ans", "arrêtée à Mutimbuzi"):
        ok(cli(org.repo, "case", "dismiss", draft.id, "--text", t, editor=org.alice))
    refused = cli(org.repo, "case", "publish", draft.id, editor=org.bob)
    assert refused.exit_code == 4 and "quatorze" not in refused.output
    assert "Mutimbuzi" not in refused.output and "('fictive')" in refused.output
    c = cases.load(org.repo, draft.id)
    c.narrative = c.narrative.replace(", colline Fictive", "")
    cases.save(org.repo, c)
    for kind, who in (("verify", org.alice), ("approve", org.bob), ("risk-review", org.bob)):
        curation.record_decision(org.repo, c, kind, who, org.keyring, DAY)
    cases.save(org.repo, c)
    ok(cli(org.repo, "case", "publish", draft.id, editor=org.bob))
    for t in ("Un garçon (14) arrêté.", "A 14-year-old boy."):
        ok(cli(org.repo, "case", "dismiss", shown.id, "--text", t, editor=org.bob))
    ok(cli(org.repo, "build"))


def test_years_without_old_after_a_person_is_an_age_at_publish_and_build(org: Org):
    """"A boy of 14 years" states an age as surely as "a 14-year-old boy": `temoin case
    publish` refuses it, `temoin build` refuses a case published with it by hand; a
    duration ("for 14 years", "14 years in prison") is published."""
    aged = org.add_case(status="review", sign=False, private={"testimony": "x",
                                                               "consent_requested": "anonymised"},
                        narrative="A boy of 14 years was arrested; he stayed for 14 years.")
    calm = org.add_case(status="review", sign=False, private={"testimony": "x",
                                                               "consent_requested": "anonymised"},
                        narrative="He spent 14 years in prison; for 14 years his family waited.")
    for c in (aged, calm):
        for kind, who in (("verify", org.alice), ("approve", org.bob), ("risk-review", org.bob)):
            curation.record_decision(org.repo, c, kind, who, org.keyring, DAY)
        cases.save(org.repo, c)
    refused = cli(org.repo, "case", "publish", aged.id, editor=org.bob)
    assert refused.exit_code == 4, refused.output
    assert f"cases/{aged.id}/case.md: narrative: states an exact age ('boy of 14 years')" \
        in refused.output
    ok(cli(org.repo, "case", "publish", calm.id, editor=org.bob))
    shown = org.add_case(summary={"fr": "Une fille de 14 années arrêtée.",
                                  "en": "A girl of fourteen years arrested."})
    build = cli(org.repo, "build")
    assert build.exit_code == 4, build.output
    assert f"cases/{shown.id}/case.md: summary.en: states an exact age ('girl of fourteen " \
        "years')" in build.output
    assert calm.id not in build.output
