"""Adversarial review, second round: forms of private values and identifying details that
reached the built site, each written as the attack that shipped it, with real gpg, real
signed decisions and a real `temoin build`.

Two module builds share most of the attacks (a build is the slow part):

* `leaky`: cases whose published text or files carry a private value in a form the canary
  and media gates did not read (numbers after a comma, digits of another script, a
  minus sign between digit groups, a phone number followed by another, invisible fillers,
  a Markdown line break inside a name, a sub-name beside a dismissed name part, metadata in
  an image the build copies as it is). The build must refuse, naming each file and field.
* `imprecise`: cases whose public texts name an exact age or a place finer than the
  allowed precision outside the fields the precision gate read (intervention summaries,
  tags, captions, institutions), in look-alike letters or lower case, in coordinates, and
  a withdrawn aggregate-only case. Built with refused cases left out: each must be refused
  by the case gate, naming the field, and nothing of it may reach the site.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import subprocess
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import pikepdf
import pytest
from PIL import Image

from temoin import cases, config, curation, gates
from temoin.curation import canary_dismissal, interventions
from temoin.errors import GateError
from temoin.publish import build as build_mod
from tests.curation_fixtures import cli, ok
from tests.helpers import Org, own_org, site_files

DAY = dt.date(2025, 10, 6)


@dataclass
class Built:
    org: Org
    ids: dict[str, str] = field(default_factory=dict)        # attack -> case id
    findings: list[str] = field(default_factory=list)        # gate refusals (leaky)
    refused: dict[str, list[str]] = field(default_factory=dict)  # case gate (imprecise)
    files: dict[str, bytes] = field(default_factory=dict)    # the site, when it was built


def _png(text_chunk: bytes | None = None) -> bytes:
    im = Image.new("RGB", (8, 8), (120, 30, 30))
    out = io.BytesIO()
    im.save(out, "PNG")
    data = out.getvalue()
    if text_chunk is None:
        return data
    body = text_chunk
    chunk = struct.pack(">I", len(body)) + b"auTh" + body + struct.pack(
        ">I", zlib.crc32(b"auTh" + body))
    end = data.rfind(b"IEND") - 4
    return data[:end] + chunk + data[end:]


def _pdf_with_links() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    utf16 = b"\xfe\xff" + "https://tracker.example/r".encode("utf-16-be")
    annots = [pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 0, 50, 50],
        A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String(uri))))
        for uri in (utf16, b"page.html")]
    pdf.pages[0].Annots = pdf.make_indirect(pikepdf.Array(annots))
    pdf.Root.URI = pikepdf.Dictionary(Base=pikepdf.String("https://tracker.example/"))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _pdf_with_note(text: str) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    note = pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Text,
                              Rect=[0, 0, 20, 20],
                              Contents=pikepdf.String(b"\xfe\xff" + text.encode("utf-16-be")))
    pdf.pages[0].Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(note)]))
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


@pytest.fixture(scope="module")
def leaky(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    yield from own_org(tmp_path_factory, "leaky", _leaky)


def _leaky(o: Org) -> Built:
    b = Built(o)

    def case(name: str, private: dict[str, object], narrative: str) -> cases.Case:
        c = o.add_case(private=private, narrative=narrative)
        b.ids[name] = c.id
        return c

    case("comma-digits", {"testimony": "Ils sont revenus les 3, 4 et 5 mars avec des fusils."},
         "Selon le récit : ils sont revenus les 3, 4 et 5 mars avec des fusils.")
    case("arabic-digits", {"victims": [{"phone": "+257 79 12 34 56"}]},
         "Il était joignable au \u0667\u0669 \u0661\u0662 \u0663\u0664 \u0665\u0666 selon "
         "sa famille.")
    case("minus-sign", {"victims": [{"phone": "+257 69 12 34 57"}]},
         "Il était joignable au 69\u221212\u221234\u221257 selon sa famille.")
    case("number-list", {"victims": [{"phone": "+257 61 12 34 58"}]},
         "Ses proches donnent deux numéros : 61 12 34 58 / 22 33 44 55.")
    case("hangul-filler", {"victims": [{"name": "Pierre Bizindavyi"}]},
         "Le frère de Bizin\u3164davyi a témoigné.")
    case("variation-selector", {"victims": [{"name": "Luc Havyarimana"}]},
         "Le frère de Havya\ufe0frimana a témoigné.")
    case("hard-break", {"victims": [{"name": "Paul Nshimirimana"}]},
         "Le frère de Nshimi  \nrimana a témoigné.")
    case("right-to-left-override", {"victims": [{"name": "Eric Barampama"}]},
         "Le frère de \u202eamapmaraB\u202c a témoigné.")
    dismissed = case("dismissed-subname", {"victims": [{"name": "Jean Bosco Ntakirutimana"}]},
                     "Le ministre Ntakirutimana a nié les faits. Plus tard, Bosco "
                     "Ntakirutimana a été transféré.")
    canary_dismissal.dismiss(o.repo, o.cfg, o.keyring, dismissed.id, o.alice, "Ntakirutimana",
                             "le ministre de ce nom", DAY)
    # A victim named with consent in one case; his brother, anonymised, in another: the
    # shared surname alone on the brother's page identifies him.
    named_victim = {"id": "v1", "count": 1, "sex": "m", "age_group": "adult",
                    "status_now": "detained", "name": "Jean Nzeyimana"}
    b.ids["named"] = o.add_case(consent="named", victims=[named_victim],
                                narrative="Jean Nzeyimana a été arrêté. Nzeyimana est "
                                "enseignant.",
                                private={"victims": [{"name": "Jean Nzeyimana"}]}).id
    case("brother-surname", {"victims": [{"name": "Pierre Nzeyimana"}]},
         "Son frère cadet, Nzeyimana, a été enlevé la même nuit.")
    # A picture of the about page, hand-written (not a case medium, so not re-encoded):
    # the victim's name in a PNG chunk no metadata list names.
    b.ids["png-chunk"] = case("png-chunk", {"victims": [{"name": "Marc Ndikumasabo"}]},
                              "Un récit sans nom.").id
    assets = o.repo / "site_src" / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    (assets / "equipe.png").write_bytes(_png(b"Marc Ndikumasabo"))
    # A report whose links leave the site, spelt as readers decode them but the gate did
    # not: a UTF-16 /URI, and a relative one under a catalog /URI /Base elsewhere.
    (assets / "rapport.pdf").write_bytes(_pdf_with_links())
    # A reviewer's note left on a report: a UTF-16 string pdftotext does not print.
    b.ids["pdf-note"] = case("pdf-note", {"victims": [{"name": "Alain Nsengiyumva"}]},
                             "Un récit sans nom.").id
    (assets / "note.pdf").write_bytes(_pdf_with_note("Vérifier avec Alain Nsengiyumva"))
    o.resign_site()
    try:
        build_mod.build(o.repo, config.load(o.repo), keyring=o.keyring,
                        allow_unpublished=False)
        b.files = site_files(o.repo / "site")
    except GateError as exc:
        b.findings = exc.findings
    return b


def _refused(b: Built, attack: str, field_name: str) -> list[str]:
    cid = b.ids[attack]
    return [f for f in b.findings if cid in f and field_name in f]


@pytest.mark.parametrize("attack,field_name", [
    # A comma between two numbers of one private value: the matcher folded the canary a
    # second time, which joined its digit groups, so the page's own form never matched.
    ("comma-digits", "(testimony)"),
    # Digits of another script read as the same number.
    ("arabic-digits", "victims.0.phone"),
    # A minus sign (U+2212) is a separator like the hyphen.
    ("minus-sign", "victims.0.phone"),
    # Two numbers in a row join into one run: the first one still counts.
    ("number-list", "victims.0.phone"),
    # Characters that are drawn as nothing, whatever their category.
    ("hangul-filler", "victims.0.name"),
    ("variation-selector", "victims.0.name"),
    # A Markdown hard line break (<br>) inside a name.
    ("hard-break", "victims.0.name"),
    # Drawn reversed by a right-to-left override: the page reads the name.
    ("right-to-left-override", "victims.0.name"),
    # With a name part dismissed, the rest of the name beside it still blocks.
    ("dismissed-subname", "victims.0.name"),
])
def test_private_value_in_any_writing_stops_the_build(leaky: Built, attack: str,
                                                      field_name: str) -> None:
    assert not leaky.files, "the build shipped a site"
    assert _refused(leaky, attack, field_name), (attack, leaky.findings)


def test_part_of_a_consented_name_stands_only_where_that_case_shows_it(leaky: Built
                                                                        ) -> None:
    """A surname a named victim's case makes public is no licence for another case: alone on
    the brother's page it is refused; on the named victim's own page it stands."""
    assert _refused(leaky, "brother-surname", "victims.0.name"), leaky.findings
    assert not [f for f in leaky.findings if f"cases/{leaky.ids['named']}/" in f], \
        leaky.findings


def test_pdf_strings_are_read_as_readers_decode_them(leaky: Built) -> None:
    """A name in a PDF note (UTF-16, inside an object stream) is found."""
    cid = leaky.ids["pdf-note"]
    assert [f for f in leaky.findings if "[canary] assets/note.pdf" in f and cid in f], \
        leaky.findings


def test_pdf_links_off_the_site_in_any_spelling_are_refused(leaky: Built) -> None:
    found = [f for f in leaky.findings if "[active-content] assets/rapport.pdf" in f]
    assert [f for f in found if "/URI https://tracker.example/r" in f], leaky.findings
    assert [f for f in found if "/URI /Base https://tracker.example/" in f], leaky.findings


def test_image_copied_as_is_carries_no_unknown_block(leaky: Built) -> None:
    """The media gate names an image block it does not know (a private PNG chunk holding a
    victim's name): only what draws the picture ships."""
    assert not leaky.files
    assert [f for f in leaky.findings if "[media]" in f and "equipe.png" in f], leaky.findings


# -- the case gate: every public text of a case, as the site shows it ------------------------
CHILD = {"victims": [{"id": "v1", "count": 1, "sex": "m", "age_group": "child",
                      "status_now": "detained"}],
         "event": {"date_start": dt.date(2025, 3, 14), "date_end": None,
                   "date_precision": "day",
                   "location": {"country": "BI", "admin1": "Gitega", "precision": "admin1"}}}


@pytest.fixture(scope="module")
def imprecise(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    yield from own_org(tmp_path_factory, "imprecise", _imprecise)


def _imprecise(o: Org) -> Built:
    """Published cases each carrying one imprecise text the precision gate did not read,
    and a withdrawn aggregate-only case; built with refused cases left out."""
    b = Built(o)

    def case(name: str, sign: bool = True, **meta: object) -> cases.Case:
        c = o.add_case(sign=sign, **meta)
        b.ids[name] = c.id
        return c

    # An intervention's public summary, signed as `temoin case intervene` signs it.
    iv = case("intervention-age", private={"testimony": "Reçu en personne."})
    interventions.record(o.repo, o.cfg, o.keyring, iv.id, o.bob, kind="urgent_appeal",
                         addressed_to="Le procureur", day=DAY, today=DAY,
                         public_summary={"fr": "Appel urgent pour le garçon de 14 ans détenu.",
                                         "en": "Urgent appeal for the detained boy."})
    # A child's case may name the province only: a commune in any public field is finer.
    case("tag-commune", tags=["Giheta"], **CHILD)
    case("institution-commune", perpetrators=[{"id": "p1", "type": "police",
                                               "institution": "Commissariat de Giheta"}],
         **CHILD)
    cap = case("caption-commune", sign=False, media=[
        {"file": "photo.png", "caption": {"fr": "Le cachot de Giheta", "en": "The cell"}}],
        **CHILD)
    (cap.folder / "media").mkdir()
    (cap.folder / "media" / "photo.png").write_bytes(_png())
    o.sign(cap)
    # The commune in look-alike letters (Cyrillic і), in lower case; a coordinate pair.
    case("cyrillic-commune", narrative="Il a été arrêté à G\u0456heta.", **CHILD)
    case("lowercase-commune", narrative="Il a été arrêté à giheta, près du marché.", **CHILD)
    case("coordinates", narrative="Le corps a été retrouvé au point -3.426, 29.931.")
    case("one-year", narrative="Un bébé de 1 an a été blessé.")
    case("apposition-age", narrative="Two boys, 14 and 15, were taken to the camp.")
    # A phone's file name is its own metadata: the day and second a photo was taken.
    named = case("media-name", sign=False, media=[{"file": "IMG_20250314_153012.png",
                                                   "caption": {"fr": "Photo", "en": "Photo"}}])
    (named.folder / "media").mkdir()
    (named.folder / "media" / "IMG_20250314_153012.png").write_bytes(_png())
    o.sign(named)
    # Counted only: never a line of its own, not even in the errata once withdrawn.
    case("aggregate-withdrawn", status="withdrawn", consent="aggregate_only",
         title={"fr": "Cas agrégé", "en": "Aggregate case"},
         acts=[{"victim": "v1", "type": "rape", "perpetrators": ["p1"]}],
         withdrawn={"date": dt.date(2025, 10, 20),
                    "reason": {"fr": "La victime de 17 ans a été menacée.",
                               "en": "The 17-year-old victim was threatened."}})
    # A withdrawal reason is public (the erratum): no exact age, no commune of a child.
    case("withdrawn-reason", status="withdrawn",
         withdrawn={"date": dt.date(2025, 10, 20),
                    "reason": {"fr": "Le garçon de 14 ans a été menacé à Giheta.",
                               "en": "The boy was threatened in Giheta."}}, **CHILD)
    case("published-ok", narrative="Un cas publié pour que les bulletins paraissent.")
    report = build_mod.build(o.repo, config.load(o.repo), keyring=o.keyring,
                             allow_unpublished=True)
    b.refused = report.refused
    b.files = site_files(o.repo / "site")
    return b


def _site_text(b: Built) -> str:
    return "\n".join(data.decode("utf-8", "replace") for data in b.files.values())


@pytest.mark.parametrize("attack,field_name", [
    ("intervention-age", "interventions[0].summary.fr"),
    ("tag-commune", "tags[0]"),
    ("institution-commune", "perpetrators[0].institution"),
    ("caption-commune", "media[0].caption.fr"),
    ("cyrillic-commune", "narrative"),
    ("lowercase-commune", "narrative"),
    ("coordinates", "narrative"),
    ("one-year", "narrative"),
    ("apposition-age", "narrative"),
])
def test_every_public_text_is_held_to_the_precision(imprecise: Built, attack: str,
                                                    field_name: str) -> None:
    cid = imprecise.ids[attack]
    problems = imprecise.refused.get(cid, [])
    assert [p for p in problems if field_name in p], (attack, problems)
    assert cid not in _site_text(imprecise)


def test_published_media_carry_no_name_of_their_own(imprecise: Built) -> None:
    """The site names a case's media by their place in the case, never by the name they
    arrived with (a phone writes the day and second into it)."""
    cid = imprecise.ids["media-name"]
    shipped = [p for p in imprecise.files if f"media/{cid}/" in p]
    assert shipped and not [p for p in shipped if "20250314" in p], shipped
    assert "IMG_20250314" not in _site_text(imprecise)


def test_withdrawn_aggregate_only_case_is_no_erratum(imprecise: Built) -> None:
    """An aggregate-only case appears only inside counts: once withdrawn, no erratum line
    names its section (here the only case of sexual violence), its bulletin or its reason;
    nor its id."""
    text = _site_text(imprecise)
    assert "menacée" not in text and "17-year-old" not in text
    assert "« Violences sexuelles" not in text and "“Sexual" not in text
    assert imprecise.ids["aggregate-withdrawn"] not in text


def test_withdrawal_reason_is_held_to_the_precision(imprecise: Built) -> None:
    """A signed reason that states an exact age or a child's commune is not shown (a
    withdrawal is final), and the build says why, naming the file and the field."""
    cid = imprecise.ids["withdrawn-reason"]
    text = _site_text(imprecise)
    assert "14 ans" not in text and "Giheta" not in text
    problems = imprecise.refused.get(cid, [])
    assert [p for p in problems if "review/withdraw.json: withdrawn.reason.fr" in p], problems


def test_withdraw_refuses_a_reason_that_identifies(org: Org) -> None:
    """`temoin case withdraw` refuses, before anything is signed, a reason with an exact
    age, a place finer than the case's precision or a value of its private part."""
    case = org.add_case(private={"victims": [{"name": "Jean Ndayisenga"}]}, **CHILD)
    for reason, why in (("La victime de 14 ans a été menacée.", "states an exact age"),
                        ("Menaces reçues à Giheta.", "finer than the allowed precision"),
                        ("La famille Ndayisenga l'a demandé.", "(victims.0.name)")):
        result = cli(org.repo, "case", "withdraw", case.id, "--reason", reason,
                     editor=org.bob)
        assert result.exit_code == 4, result.output
        assert why in result.output and "Ndayisenga" not in result.output.replace(
            reason, "")
        assert cases.load(org.repo, case.id).status == "published"
    ok(cli(org.repo, "case", "withdraw", case.id, "--reason", "À la demande de la famille.",
           editor=org.bob))


def test_dismissal_runs_come_from_signed_text_only(org: Org) -> None:
    """The runs a canary dismissal lets the word stand in come from what the site shows:
    an intervention summary written into case.md by hand (a workflow field outside the
    content hash, unsigned) adds none."""
    case = org.add_case(private={"victims": [{"name": "Jean Ntakirutimana"}]},
                        narrative="Le ministre Ntakirutimana a nié les faits.")
    canary_dismissal.dismiss(org.repo, org.cfg, org.keyring, case.id, org.alice,
                             "Ntakirutimana", "le ministre de ce nom", DAY)
    loaded = cases.load(org.repo, case.id)
    loaded.meta["interventions"] = [{"date": DAY, "type": "urgent_appeal", "summary": {
        "fr": "Ntakirutimana a été battu en prison.", "en": "Ntakirutimana was beaten."}}]
    cases.save(org.repo, loaded)
    private = cases.read_private(org.repo, case.id, org.keyring)
    with curation.CachedVerifier(org.repo) as verify:
        allowed = canary_dismissal.allow(org.repo, org.cfg, [cases.load(org.repo, case.id)],
                                         gates.own_canaries(case.id, private, loaded.meta),
                                         org.keyring, verify)
    runs = {run for c in allowed for run in c.allowed}
    assert runs and all("ministre" in run for run in runs), runs
    page = "<p>Ntakirutimana a été battu en prison.</p>"
    assert gates.find(gates.matcher(allowed), page)


def test_hostile_draft_with_one_endless_word_does_not_stop_the_build(org: Org) -> None:
    """A submission whose testimony is one 400 KB word (a pasted blob) became a draft; the
    build extracts the canaries of every private part, the draft's too, and the e-mail
    pattern took quadratic time on it (hours): one anonymous submission stopped every
    publication. Run as a real `temoin build` process; the timeout guards a hang only."""
    import os
    import sys

    published = org.add_case(narrative="Un cas publié.")
    org.add_case(status="draft", private={"testimony": "A" * 400_000 + " fin."})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-m", "temoin", "--repo", str(org.repo), "build"],
                          capture_output=True, text=True, timeout=240, env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (org.repo / "site" / "cases" / published.id / "index.html").is_file()


def test_media_of_another_format_than_its_name_is_refused_not_a_crash() -> None:
    """A camera's multi-picture JPEG (MPO) named .jpg: a refusal naming the file, not a
    KeyError that stopped the build of every case."""
    from temoin.errors import CaseError
    from temoin.site import media

    first, second = Image.new("RGB", (8, 8)), Image.new("RGB", (8, 8), (200, 0, 0))
    out = io.BytesIO()
    first.save(out, "MPO", save_all=True, append_images=[second])
    with pytest.raises(CaseError, match="media photo.jpg: content is MPO"):
        media.scrub(out.getvalue(), "photo.jpg")
