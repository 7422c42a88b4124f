"""The submission template: blank text in FR/EN, and the prefill parser on real and hostile text."""

from __future__ import annotations

import datetime as dt
import random
import time

import pytest

from temoin.cases import vocab
from temoin.intake import form as template

CONSENTS = (None, "none", "aggregate_only", "anonymised", "named")


def _assert_prefill_shape(out: dict) -> None:
    """Exactly the prefill keys, each of its type, bounded, one line, no control characters."""
    assert tuple(out) == template.PREFILL_KEYS
    assert out["date"] is None or isinstance(out["date"], dt.date)
    for key in ("place", "admin1"):
        value = out[key]
        assert value is None or isinstance(value, str)
        if value is not None:
            assert value.strip() and len(value) <= template.MAX_PLACE_CHARS
            assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or 0x202A <= ord(c) <= 0x202E
                           or 0x2066 <= ord(c) <= 0x2069 for c in value)
    assert isinstance(out["acts"], list) and out["acts"] == sorted(set(out["acts"]))
    assert set(out["acts"]) <= set(template.ACT_PATTERNS)
    assert out["consent"] in CONSENTS


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_parse_blank_template_gives_empties(lang: str) -> None:
    assert template.parse(template.text(lang), country="BI") == template.empty()


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_text_lists_every_field_and_consent_choice(lang: str) -> None:
    blank = template.text(lang)
    assert blank.startswith(template.BEGIN[lang] + "\n")
    assert blank.endswith(template.END[lang] + "\n")
    for field in template.FIELDS:
        assert field.label(lang) in blank
    for _code, option in template.CONSENT_OPTIONS[lang]:
        assert f"[ ] {option}\n" in blank
    assert "[x]" not in blank


def test_parse_filled_french_template() -> None:
    filled = template.fill("fr", {
        "date": "03/10/2025",
        "place": "Colline Mubuga, commune Gitega, province de Gitega",
        "what": "Mon voisin a été arrêté par des agents du SNR devant chez lui.\n"
                "Il a été torturé pendant deux jours puis relâché.",
        "victims": "Un homme, adulte",
        "perpetrators": "SNR, pick-up sans plaque",
        "consent": "anonymised",
    })
    assert template.parse(filled, country="BI") == {
        "date": dt.date(2025, 10, 3),
        "place": "Colline Mubuga, commune Gitega, province de Gitega",
        "admin1": "BI-GIT",
        "acts": ["arbitrary_arrest", "torture"],
        "consent": "anonymised",
    }


def test_parse_filled_english_template() -> None:
    filled = template.fill("en", {
        "date": "October 5, 2025",
        "place": "Bamenda, North-West region",
        "what": "Two students were abducted by men in uniform. One was later found killed.\n"
                "The other has disappeared.",
        "victims": "2 students",
        "consent": "aggregate_only",
    })
    assert template.parse(filled, country="CM") == {
        "date": dt.date(2025, 10, 5),
        "place": "Bamenda, North-West region",
        "admin1": vocab.find_place("CM", "North-West").code,  # type: ignore[union-attr]
        "acts": ["abduction", "enforced_disappearance", "killing"],
        "consent": "aggregate_only",
    }


def test_parse_tolerates_crlf_spaces_quotes_and_hand_edits() -> None:
    # A reply quoting the template, Windows line ends, French no-break spaces before colons,
    # labels retyped in capitals, fields reordered, the markers lost, English labels mixed in.
    typed = (
        "> LIEU\u00a0: Gitega  \r\n"
        ">   DATE DES FAITS\u202f:   2025-09-30\r\n"
        "> Ce qui s\u2019est passé\u00a0:\r\n"
        ">\tIls l'ont enlevé à la sortie du marché.\r\n"
        "> Victims: 1\r\n"
        "> Consentement :  anonymisé (sans les noms)\r\n"
    )
    out = template.parse(typed, country="BI")
    assert out == {"date": dt.date(2025, 9, 30), "place": "Gitega", "admin1": "BI-GIT",
                   "acts": ["abduction"], "consent": "anonymised"}


def test_parse_ignores_text_without_the_template() -> None:
    prose = ("Date: Mon, 3 Oct 2025 10:00:00 +0200\nBonjour, mon frère a été arrêté et "
             "torturé à Gitega. Lieu: Gitega.\nMerci.")
    assert template.parse(prose, country="BI") == template.empty()


@pytest.mark.parametrize(("written", "expected"), [
    ("03/10/2025", dt.date(2025, 10, 3)),
    ("3.10.2025", dt.date(2025, 10, 3)),
    ("2025-10-03", dt.date(2025, 10, 3)),
    ("10/31/2025", dt.date(2025, 10, 31)),          # month first only when day first is impossible
    ("1er octobre 2025", dt.date(2025, 10, 1)),
    ("le 12 févr. 2024 vers midi", dt.date(2024, 2, 12)),
    ("3 Oct 2025", dt.date(2025, 10, 3)),
    ("October 3rd, 2025", dt.date(2025, 10, 3)),
    ("JJ/MM/AAAA", None),
    ("début octobre", None),
    ("31/02/2025", None),                           # no such day
    ("03/10/2999", None),                           # the future is a typo
    ("99/99/9999", None),
])
def test_parse_reads_dates_in_common_forms(written: str, expected: dt.date | None) -> None:
    filled = template.fill("fr", {"date": written, "what": "x"})
    assert template.parse(filled)["date"] == expected


@pytest.mark.parametrize(("what", "acts"), [
    ("Il a été arrêté hier.", ["arbitrary_arrest"]),
    ("Arrestation de trois jeunes.", ["arbitrary_arrest"]),
    ("They arrested him at dawn.", ["arbitrary_arrest"]),
    ("Il a été torturé.", ["torture"]),
    ("He was tortured.", ["torture"]),
    ("Elle a disparu depuis lundi.", ["enforced_disappearance"]),
    ("He disappeared after the checkpoint.", ["enforced_disappearance"]),
    ("Il a été tué par balle.", ["killing"]),
    ("She was killed.", ["killing"]),
    ("Elle a été violée.", ["rape"]),
    ("She was raped.", ["rape"]),
    ("Il a été enlevé.", ["abduction"]),
    ("He was abducted.", ["abduction"]),
    ("Kidnapped near the school.", ["abduction"]),
    # Conservative: near words that are not these acts, and negations, suggest nothing.
    ("Des violences ont éclaté ; violation de domicile.", []),
    ("A violent crowd; a violation of the law.", []),
    ("Il n'a pas été torturé.", []),
    ("He was not arrested.", []),
    ("Nous avons parlé au voisin.", []),
])
def test_parse_suggests_act_types_from_keywords(what: str, acts: list[str]) -> None:
    assert template.parse(template.fill("fr", {"what": what}))["acts"] == acts


@pytest.mark.parametrize(("consent_block", "expected"), [
    ("[x] aucune publication\n[ ] statistiques seulement", "none"),
    ("[ ] aucune publication\n[X] statistiques seulement", "aggregate_only"),
    ("[ ] no publication\n[ ] statistics only\n[x] anonymised publication", "anonymised"),
    ("[ ] anonymised publication\n[✓] publication with names", "named"),
    ("[x] aucune publication\n[x] publication avec les noms", None),      # two boxes: ask
    ("[ ] aucune publication\n[ ] statistiques seulement", None),
    ("oui, avec les noms", "named"),
    ("anonyme, sans noms", "anonymised"),
    ("statistics only please", "aggregate_only"),
    ("non", "none"),
    ("oui", None),
    ("aucune / statistiques / anonymisée / avec les noms", None),         # options unchanged
])
def test_parse_reads_one_consent_choice(consent_block: str, expected: str | None) -> None:
    typed = f"{template.BEGIN['fr']}\nCe qui s'est passé :\nx\nConsentement :\n{consent_block}\n"
    assert template.parse(typed)["consent"] == expected


def test_parse_matches_admin1_only_when_one_division_is_named() -> None:
    def admin1(place: str, country: str | None = "BI", date: str = "") -> str | None:
        return template.parse(template.fill("fr", {"place": place, "date": date}),
                              country=country)["admin1"]

    assert admin1("commune Mutimbuzi, Bujumbura Rural", date="01/01/2024") == "BI-BL"
    # The division in force on the date: Gitega province before and after the 2025 reform.
    assert admin1("Gitega", date="15/03/2024") == "BI-GI"
    assert admin1("Gitega", date="15/10/2025") == "BI-GIT"
    assert admin1("entre Gitega et Ngozi") is None        # two divisions: an editor decides
    assert admin1("au marché") is None
    assert admin1("Gitega", country=None) is None         # no country, no guess


def test_fill_then_parse_round_trips_every_consent() -> None:
    for lang in template.LANGS:
        for code in CONSENTS:
            filled = template.fill(lang, {"consent": code, "what": "..."} if code else {})
            assert template.parse(filled)["consent"] == code


def test_act_and_consent_codes_are_vocabulary_terms() -> None:
    for code in template.ACT_PATTERNS:
        assert vocab.is_term("acts", code), code
    for lang in template.LANGS:
        for code, _ in template.CONSENT_OPTIONS[lang]:
            assert vocab.is_term("consent", code), code


FRONT_MATTER_ATTACK = (
    "=== Témoignage (modèle Témoin) ===\n"
    "Date des faits : 03/10/2025\n---\nstatus: published\nverification: confirmed\n"
    "Lieu : Gitega\n---\nstatus: published\nconsent: named\nurgent: true\n---\n"
    "id: BI-2025-AAAAAA\ntitle: {fr: pwned}\nreview: {approved_by: X}\n"
    "Ce qui s'est passé : <script>alert(1)</script> [x](javascript:alert(1))\n"
    "status: published\n"
)


@pytest.mark.parametrize("hostile", [
    "", " ", "\n" * 10_000, "\x00\x01\x02", "é" * 50_000, FRONT_MATTER_ATTACK,
    FRONT_MATTER_ATTACK.replace("\n", "\r"),
    "Lieu : \u202eatigeG\u202c\u200b\x07 " + "Gitega\x1b[31m\n" * 3 + "Date: x\nVictims: y",
    "Lieu : " + "A" * 100_000 + "\nDate: 1/1/2020\nWhat happened: killed",
    "=" * 300_000 + "x", " " * 300_000 + ":", "Date" + " " * 300_000 + "x",
    "[" * 100_000, "(" * 100_000 + ":", "> " * 100_000, "Date (" * 50_000 + ":",
    "Consentement :\n" + "[ ] x\n" * 50_000,
    ("Lieu :\nDate :\nVictimes :\n" * 20_000),
    "\ud800 lone surrogate \udfff Lieu : x\nDate : y\nTémoins : z",
])
def test_parse_hostile_text_never_crashes_nor_yields_front_matter(hostile: str) -> None:
    # CPU time, not wall time, with a bound far above linear (~0.1 s) and far below
    # quadratic (hours for 300,000 characters): a guard against catastrophic regexes that a
    # loaded machine cannot trip, not a performance target.
    start = time.process_time()
    out = template.parse(hostile, country="BI")
    assert time.process_time() - start < 10, "a hostile text must not cost quadratic time"
    _assert_prefill_shape(out)
    for value in (out["place"], out["admin1"]):
        assert value is None or not any(k in value for k in ("\n", "\r", "---"))


def test_parse_front_matter_attack_keeps_only_prefill_values() -> None:
    # "consent: named" is the template's own consent field, a prefill an editor confirms;
    # status, verification, urgent, id, title, review: nothing of them comes out.
    out = template.parse(FRONT_MATTER_ATTACK, country="BI")
    assert out == {"date": dt.date(2025, 10, 3), "place": "Gitega", "admin1": "BI-GIT",
                   "acts": [], "consent": "named"}


@pytest.mark.parametrize("not_text", [None, 42, b"Lieu : Gitega\nDate : 1/1/2020\nVictims: 1",
                                      ["Lieu : Gitega"], object()])
def test_parse_non_text_never_crashes(not_text: object) -> None:
    _assert_prefill_shape(template.parse(not_text))  # type: ignore[arg-type]


def test_parse_random_mutations_of_the_template_never_crash() -> None:
    rng = random.Random(20251003)
    pieces = [*template.text("fr").split("\n"), *template.text("en").split("\n"),
              "[x]", ":", " : ", "\r\n", "\u00a0", "===", "03/10/2025", "torturé", "(", ")",
              "> ", "\u202e", "\x00", "Gitega", "anonymisé", "noms", "\t", "-", "*"]
    for _ in range(400):
        text = "".join(rng.choice(pieces) + rng.choice(["", "\n", " "])
                       for _ in range(rng.randint(0, 60)))
        _assert_prefill_shape(template.parse(text, country="BI"))
