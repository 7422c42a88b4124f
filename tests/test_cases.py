"""The case model and vocabularies: strict loading, stable ids, FR/EN labels, gazetteers."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
import yaml

from temoin import cases, keys
from temoin.cases import schema, vocab
from temoin.errors import ValidationError
from tests.helpers import base_meta, cache_path


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


def test_front_matter_cache_gives_what_yaml_gives_and_follows_every_edit(tmp_path):
    """The build's parsed-front-matter cache: same cases as a plain load, an edited case.md
    is read again, a broken cache file is ignored, confidential keys are never written."""
    one = cases.Case(base_meta(b"a"), "Récit.")
    two = cases.Case(base_meta(b"b", tags=["x"]), "Autre récit.")
    two.meta["event"]["date_precision"] = "month"
    two.meta["interventions"] = [{"date": dt.date(2025, 4, 1), "type": "urgent_appeal",
                                  "summary": {"fr": "Appel."}}]
    for c in (one, two):
        cases.save(tmp_path, c)
    plain, _ = cases.load_all(tmp_path, strict=False)
    first, _ = cases.load_all(tmp_path, strict=False, cache=True)
    cache = cache_path(tmp_path, cases.FRONT_MATTER.name)
    assert cache.is_file() and not (tmp_path / ".temoin").exists()
    cached, _ = cases.load_all(tmp_path, strict=False, cache=True)
    assert [c.meta for c in cached] == [c.meta for c in first] == [c.meta for c in plain]
    by_id = {c.id: c for c in cached}
    assert type(by_id[two.id].meta["interventions"][0]["date"]) is dt.date

    path = tmp_path / "cases" / one.id / "case.md"
    path.write_text(path.read_text().replace("status: published", "status: publshed"))
    with pytest.raises(ValidationError, match="publshed"):
        cases.load_all(tmp_path, cache=True)
    path.write_text(path.read_text().replace("status: publshed", "status: withdrawn"))
    again, _ = cases.load_all(tmp_path, strict=False, cache=True)
    assert {c.id: c for c in again}[one.id].status == "withdrawn"

    cache.write_text("{not json")
    broken, _ = cases.load_all(tmp_path, strict=False, cache=True)
    assert [c.meta for c in broken] == [c.meta for c in again]

    secret = "Nom Tres Secret"
    path.write_text(path.read_text().replace("status: withdrawn",
                                             f"status: withdrawn\nfull_name: {secret}"))
    cases.load_all(tmp_path, strict=False, cache=True)
    assert secret not in cache.read_text() and "full_name" not in cache.read_text()


@pytest.mark.parametrize("title", [
    "Témoignage reçu le 30 septembre 2026",                      # a draft's
    "Arrestation à Gitega : « les policiers sont venus » — 'nuit' #3",
    "x " * 70,                                                    # folded past 100 columns
    "mot " * 22,                                                  # about 100 columns
    "première ligne\nseconde ligne\n",                            # multi-line
    "tab\tbell\x07 nbsp\u00a0 bom\ufeff ls\u2028 nel\x85 emoji \U0001F600 zwsp\u200b",
    "yes", "null", "2025-01-02", "12:30", " leading space", "trailing: colon:", "",
])
def test_case_md_front_matter_is_written_as_pyyaml_writes_it(title):
    """case.md is signed and diffed by the editors: whichever emitter writes it, the bytes
    are those of PyYAML's own emitter, for a draft's short front matter as for a long one."""
    draft = {"id": "BI-2026-AAAAAA", "title": {"fr": title, "en": title[::-1]},
             "status": "draft", "verification": "received",
             "event": {"date_start": None, "date_end": None,
                       "location": {"country": "BI", "admin1": None, "precision": "country"}},
             "consent": "none", "received": dt.date(2026, 9, 30), "tags": [title[:30], "a b"]}
    for meta in (draft, base_meta(b"x", title={"fr": title, "en": "Title"})):
        ordered = {k: meta[k] for k in cases.FIELD_ORDER if k in meta}
        expected = yaml.safe_dump(ordered, allow_unicode=True, sort_keys=False,
                                  default_flow_style=None, width=100)
        assert cases.dumps(cases.Case(meta, "")) == f"---\n{expected}---\n"


# -- the field table (issue 14, item 5) ---------------------------------------------------
_FILLER = {"text": "x", "date": dt.date(2025, 10, 3), "lang_text": {"fr": "x", "en": "x"},
           "fingerprint": "A" * 40, "bool": False, "file": "photo.jpg"}


def _fill(f: schema.Field) -> object:
    """A value for `f` and everything under it, from the table's examples."""
    if f.kind == "mapping":
        return {k.key: _fill(k) for k in schema.children(f.path, f.part)}
    if f.kind == "list":
        return [_fill(schema.BY_PATH[(f.part, f.path + "[]")])]
    if f.example:
        return yaml.load(f.example, Loader=cases._Loader)  # noqa: S506 (SafeLoader)
    if f.kind == "term":
        return next(iter(vocab.terms(f.vocabulary)))
    if f.kind == "count":
        return max(f.minimum, 1)
    return _FILLER[f.kind]


def _paths(value: object, path: str = "", part: str = schema.PUBLIC) -> set[str]:
    """The table paths of every key in `value` ([] for list items; {fr, en} and `any` fields
    are leaves)."""
    found = {path} if path else set()
    spec = schema.BY_PATH.get((part, path))
    if spec is not None and spec.kind in ("any", "lang_text"):
        return found
    if isinstance(value, dict):
        for k, v in value.items():
            found |= _paths(v, f"{path}.{k}" if path else str(k), part)
    elif isinstance(value, list):
        for v in value:
            found |= _paths(v, f"{path}[]", part)
    return found


def test_validate_accepts_exactly_the_fields_of_the_table():
    """Every public field in the table is accepted (a case holding all of them, from their
    examples, validates), and every key the table lacks is refused, at every level."""
    meta = {f.key: _fill(f) for f in schema.children("")}
    assert cases.validate(meta, "case.md") == []
    assert _paths(meta) == {f.path for f in schema.fields(schema.PUBLIC)}
    assert tuple(meta) == cases.FIELD_ORDER
    mappings = [f.path for f in schema.fields(schema.PUBLIC) if f.kind == "mapping"]
    for path in ["", *mappings]:
        node: Any = copy.deepcopy(meta)
        bad = node
        for key in [k for k in path.split(".") if k]:
            node = node[key.removesuffix("[]")]
            if isinstance(node, list):
                node = node[0]
        node["not_a_field"] = 1
        problems = cases.validate(bad, "case.md")
        assert any("not_a_field: expected one of" in p for p in problems), (path, problems)
    for key in cases.REQUIRED:
        assert f"case.md: {key}: required field missing" in cases.validate(
            {k: v for k, v in meta.items() if k != key}, "case.md")


def test_the_lists_are_derived_from_the_table():
    from temoin import curation
    from temoin.curation import editing

    assert {f.key for f in schema.children("") if f.workflow} == curation.WORKFLOW_KEYS
    assert set(editing.PROTECTED) == set(schema.PROTECTED)
    protected = {".".join(p) for p in schema.PROTECTED}
    assert {"status", "verification", "review.verified_by", "review.approved_by",
            "review.risk_reviewed", "published", "withdrawn", "duplicate_of", "id"} <= protected
    assert all(not schema.field(p).editable for p in protected)
    public_keys = {f.key for f in schema.fields(schema.PUBLIC)}
    assert not public_keys & cases.PRIVATE_KEYS  # a confidential name is never a public key
    assert {"full_name", "contact", "phone", "testimony", "reliability", "exact_places",
            "share_consent", "subject", "age"} <= cases.PRIVATE_KEYS
    assert schema.fix("review.risk_reviewed", "BI-2025-AAAAAA") == \
        "`temoin case risk-review BI-2025-AAAAAA`"
    assert schema.fix("consent", "BI-2025-AAAAAA", "anonymised") == \
        "`temoin case set BI-2025-AAAAAA consent=anonymised`"


def test_private_parts_hold_only_fields_of_the_table(demo_gnupghome):
    """Every field of the demo's private parts is documented in the table."""
    from tests.conftest import REPO_ROOT

    kr = keys.Keyring(demo_gnupghome)
    documented = {f.path for f in schema.fields(schema.PRIVATE)}
    seen: set[str] = set()
    for folder in sorted((REPO_ROOT / "cases").iterdir()):
        seen |= _paths(cases.read_private(REPO_ROOT, folder.name, kr), part=schema.PRIVATE)
    assert seen and seen <= documented, seen - documented
