"""The case model and vocabularies: strict loading, stable ids, FR/EN labels, gazetteers."""

from __future__ import annotations

import datetime as dt

import pytest

from temoin import cases, vocab
from temoin.errors import ValidationError

from .helpers import base_meta


def write(tmp_path, meta_yaml: str, case_id: str = "BI-2025-AAAAAA"):
    folder = tmp_path / "cases" / case_id
    folder.mkdir(parents=True)
    (folder / "case.md").write_text(f"---\n{meta_yaml}---\n\nRécit.\n")
    return folder / "case.md"


def test_save_then_load_gives_the_same_case(tmp_path):
    case = cases.Case(base_meta(b"x"), "Un récit *anonymisé*.")
    cases.save(tmp_path, case)
    again = cases.load(tmp_path, case.id)
    assert again.meta == case.meta
    assert again.narrative.strip() == "Un récit *anonymisé*."


def test_load_reports_every_problem_with_file_field_expected_got(tmp_path):
    path = write(tmp_path, """id: BI-2025-AAAAAA
title: {fr: Titre}
status: publshed
verification: verified
event: {date_start: 2025-13-45, location: {country: BI, admin1: Atlantis}}
victims: [{id: v1, sex: x}]
acts: [{victim: v1, type: torture}]
""")
    with pytest.raises(ValidationError) as err:
        cases.load_file(path, tmp_path)
    text = "\n".join(err.value.problems)
    assert "cases/BI-2025-AAAAAA/case.md" in text
    assert "status: expected one of draft" in text and "'publshed'" in text
    assert "consent: required field missing" in text
    assert "admin1" in text and "Atlantis" in text
    assert "victims[0].sex" in text
    assert len(err.value.problems) >= 4


def test_load_rejects_bad_date(tmp_path):
    path = write(tmp_path, """id: BI-2025-AAAAAA
title: {fr: T}
status: draft
verification: received
consent: none
event: {date_start: "hier", location: {country: BI}}
""")
    with pytest.raises(ValidationError, match=r"event.date_start: expected a date"):
        cases.load_file(path, tmp_path)


def test_load_flags_confidential_key_in_public_file(tmp_path):
    meta = base_meta(b"y")
    meta["victims"][0]["full_name"] = "Nom Secret"
    problems = cases.validate(meta, "case.md")
    assert any("victims[0].full_name: confidential key" in p for p in problems)
    assert cases.confidential_keys(meta) == ["victims[0].full_name"]


def test_unknown_front_matter_key_is_refused():
    meta = base_meta(b"z", colour="red")
    assert any("colour: expected one of" in p for p in cases.validate(meta, "case.md"))


def test_new_id_is_stable_for_a_submission_and_avoids_taken_ids():
    a = cases.new_id("BI", 2025, b"ciphertext-hash")
    assert a == cases.new_id("BI", 2025, b"ciphertext-hash")
    assert cases.ID_RE.match(a)
    b = cases.new_id("BI", 2025, b"ciphertext-hash", taken={a})
    assert b != a and cases.ID_RE.match(b)
    many = {cases.new_id("CM", 2024, str(i).encode()) for i in range(5000)}
    assert len(many) == 5000


def test_every_vocabulary_term_has_french_and_english_labels():
    for name, terms in vocab.vocabularies().items():
        for code, term in terms.items():
            assert term.get("fr") and term.get("en"), f"{name}.{code}"
    assert vocab.label("acts", "torture", "fr") == "Torture"
    assert vocab.label("consent", "aggregate_only", "en") == "Statistics only"
    assert all("huridocs" in t for t in vocab.terms("acts").values())


def test_gazetteers_hold_burundi_old_and_new_provinces_and_cameroon_regions():
    bi = vocab.places("BI")
    assert len([p for p in bi if p.valid_until]) == 18
    assert len([p for p in bi if p.valid_from]) == 5
    assert len(vocab.places("CM")) == 10
    assert vocab.place("CM", "North-West").fr == "Nord-Ouest"
    old = vocab.place("BI", "Gitega", dt.date(2024, 5, 1))
    new = vocab.place("BI", "Gitega", dt.date(2025, 10, 1))
    assert old.code == "BI-GI" and old.successor == "BI-GIT"
    assert new.code == "BI-GIT"
    assert vocab.place("BI", "Ngozi", dt.date(2024, 1, 1)).successor == "BI-BUT"
