"""Issue 15: private values caught in every form a person writes them, by the ONE matcher
that serves the build's gate, `case publish` and `temoin check`; innocent text that shares
words with them passes; a hostile draft never stops the build."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from temoin import cache as cache_mod
from temoin import cases, curation
from temoin import gates as checks
from temoin.cli import main
from temoin.curation import readiness
from temoin.gates import matching as can
from tests.helpers import Org

SRC = "BI-2025-AAAAAA"
PRIVATE = {
    "victims": [{"full_name": "Jean Ndayisenga", "contact": "+257 79 12 34 56"},
                {"full_name": "Éloïse Ntahomvukiye"}],
    "sources": [{"name": "Aline Hakizimana", "email": "aline.hakizimana@example.org",
                 "phone": "+237 6 77 12 34 56"}],
    "exact_places": ["colline Mubone, quartier Kinama, commune Giheta"],
    "testimony": "Ils sont venus la nuit avec deux voitures sans plaque et ont frappé à la "
                 "porte en criant le nom de mon frère avant de l'emmener vers le camp.",
}
JEAN = "victims.0.full_name"
ELOISE = "victims.1.full_name"
ALINE = "sources.0.name"
PHONE = "victims.0.contact"
PHONE_CM = "sources.0.phone"
MAIL = "sources.0.email"
PLACE = "exact_places.0"
# (class, text, field): several of each class the issue names.
VARIANTS = [
    ("surname alone", "Ndayisenga a été arrêté hier.", JEAN),
    ("surname alone", "Selon Hakizimana, ils étaient trois.", ALINE),
    ("surname alone", "la famille Ntahomvukiye", ELOISE),
    ("surname first in capitals", "NDAYISENGA Jean a été vu au camp.", JEAN),
    ("surname first in capitals", "HAKIZIMANA Aline témoigne.", ALINE),
    ("without diacritics", "Eloise Ntahomvukiye a disparu.", ELOISE),
    ("without diacritics", "ELOISE NTAHOMVUKIYE", ELOISE),
    ("soft hyphen", "Nda\u00adyi\u00adsenga a été arrêté.", JEAN),
    ("soft hyphen", "Haki\u00adzimana", ALINE),
    ("zero-width", "Ndayi\u200bsenga", JEAN),
    ("zero-width", "Hakizi\u2060mana", ALINE),
    ("zero-width", "Jean Nda\ufeffyisenga", JEAN),
    ("markdown emphasis", "Nda**yi**senga a été arrêté.", JEAN),
    ("markdown emphasis", "Haki*zi*mana", ALINE),
    ("markdown emphasis", "Ndayi_senga_", JEAN),
    ("look-alike letter", "Nd\u0430yisenga (Cyrillic a)", JEAN),
    ("look-alike letter", "H\u0430kizim\u0430n\u0430", ALINE),
    ("look-alike letter", "Ntah\u03bfmvukiye (Greek o)", ELOISE),
    ("across a tag", "Nda<span>yi</span>senga", JEAN),
    ("across a tag", "Haki<b>zi</b>mana", ALINE),
    ("across a line break", "Jean\nNdayisenga", JEAN),
    ("across a line break", "Ndayi-\nsenga", JEAN),
    ("phone separators", "Appelez le 79.12.34.56.", PHONE),
    ("phone separators", "Tél. 79/12/34/56", PHONE),
    ("phone separators", "(+257) 79-12-34-56", PHONE),
    ("phone split over lines", "son numéro : 79 12\n34 56", PHONE),
    ("phone split over lines", "677 12\n34 56", PHONE_CM),
    ("phone international", "+25779123456", PHONE),
    ("phone international", "00257 79 12 34 56", PHONE),
    ("phone international", "+237 677 123 456", PHONE_CM),
    ("phone national", "6 77 12 34 56", PHONE_CM),
    ("e-mail local part", "écrire à aline.hakizimana sur signal", MAIL),
    ("address part", "arrêté sur la colline Mubone", PLACE),
    ("address part", "au quartier Kinama", PLACE),
    ("address part", "à Mubone", PLACE),
]
INNOCENT = [
    "Les faits se sont déroulés dans la province de Gitega, puis à Ngozi.",
    "Jean a témoigné devant la commission.",
    "Aline, une voisine, a prévenu la famille.",
    "Un homme prénommé Jean et une femme prénommée Marie.",
    "La commune Giheta compte plusieurs collines.",
    "Le 12 mars 2025, 79 personnes ont été recensées; 34 ont fui.",
    "Gitega.pdf, CON, NUL.txt : des noms de fichiers.",
    "Bujumbura Mairie, Bujumbura Rural, Cibitoke.",
    "Ils ont frappé à la porte.",
]


def private_fields(text: str) -> list[str]:
    """The fields the build's gate would name for `text` in a page of another case."""
    found = checks.canaries_from_private(SRC, PRIVATE)
    return checks.text_leaks(checks.matcher([c for c in found if c.value]), text)


@pytest.mark.parametrize("kind,text,field", VARIANTS, ids=[f"{v[0]}-{i}"
                                                           for i, v in enumerate(VARIANTS)])
def test_matcher_finds_every_variant_form(kind: str, text: str, field: str) -> None:
    assert field in private_fields(text), kind


def test_a_number_added_to_an_e_mail_name_makes_no_canary_of_a_name_and_a_count() -> None:
    """"kango.1@…" guards its address and the name part it holds, judged as any name: not
    "kango 1", which matched a consented public name followed by a count on a case page."""
    found = checks.canaries_from_private(SRC, {"sources": [{"email": "kango.1@example.org"}]})
    values = {c.value for c in found if c.value}
    assert "kango 1" not in values and any("example org" in v for v in values), values
    m = checks.matcher([c for c in found if c.value])
    assert checks.text_leaks(m, "écrire à kango.1@example.org") == ["sources.0.email"]


@pytest.mark.parametrize("text", INNOCENT)
def test_matcher_passes_innocent_text_sharing_words(text: str) -> None:
    assert private_fields(text) == []


def test_fold_erases_format_characters_and_confusables() -> None:
    assert can.fold("Nd\u0430y\u00adi\u200bs\u0435nga") == "ndayisenga"
    assert can.fold("ΝΟΜ") == "nom"  # Greek capitals that look Latin
    assert can.fold("+257 (79) 12-34\n56") == "2577912 3456".replace(" ", "")


def test_visible_joins_words_split_by_inline_tags_and_emphasis() -> None:
    assert can.visible("<p>Nda<em>yi</em>senga</p><p>x</p>") == " ndayisenga x "
    assert "ndayisenga" in can.visible("&lt;p&gt;Nda&lt;b&gt;yi&lt;/b&gt;senga&lt;/p&gt;")
    assert can.visible("Nda**yi**senga", markup=False) == " ndayisenga "


def test_gate_names_file_and_field_for_each_class_in_a_site(tmp_path: Path) -> None:
    """The build's gate (`checks.run`) over one page per variant, one per innocent text,
    and a media file named after the victim."""
    root = tmp_path / "site"
    want = {}
    for i, (_kind, text, field) in enumerate(VARIANTS):
        rel = f"cases/v{i}/index.html"
        want[rel] = field
        (root / rel).parent.mkdir(parents=True)
        body = text if "<" in text else text.replace("**", "<strong>", 1)
        (root / rel).write_text(f"<html><body><article><p>{body}</p></article></body></html>")
    for i, text in enumerate(INNOCENT):
        rel = f"cases/ok{i}/index.html"
        (root / rel).parent.mkdir(parents=True)
        (root / rel).write_text(f"<html><body><p>{text}</p></body></html>")
    (root / "cases/media/x").mkdir(parents=True)
    (root / "cases/media/x/Jean-NDAYISENGA-2.jpg").write_bytes(b"")
    want["cases/media/x/Jean-NDAYISENGA-2.jpg"] = JEAN
    found = checks.scan(root, canaries=checks.canaries_from_private(SRC, PRIVATE),
                        gates=["canary"])
    got: dict[str, set[str]] = {}
    for f in found:
        got.setdefault(f.path, set()).add(f.detail)
    assert set(got) == set(want)
    for rel, field in want.items():
        assert f"private value of case {SRC} ({field})" in got[rel], rel


def test_unusable_values_are_reported_once_and_never_matched() -> None:
    private = {"victims": [{"full_name": "Gitega", "alias": "Jean"}],
               "evidence": [{"name": "Gitega.pdf"}, {"name": "CON"}, {"name": "NUL.txt"}]}
    found = checks.canaries_from_private(SRC, private)
    assert all(c.value == "" for c in found)
    curated = checks.curate(found, [cases.Case({"id": SRC, "status": "published"}, "")])
    assert curated.guard == []
    assert len(curated.notices) == 5
    assert all("not usable as a canary" in n and "Gitega" not in n for n in curated.notices)


def test_draft_values_guard_only_their_own_text() -> None:
    found = checks.canaries_from_private(SRC, PRIVATE)
    draft = cases.Case({"id": SRC, "status": "draft"}, "Jean Ndayisenga a été arrêté.")
    curated = checks.curate(found, [draft])
    assert curated.guard == []
    assert any(f"cases/{SRC}/case.md: holds a value of its private part ({JEAN})" in n
               for n in curated.notices)
    reviewed = cases.Case({"id": SRC, "status": "review"}, "")
    assert checks.curate(found, [reviewed]).guard


def test_case_public_place_is_no_canary_for_that_case() -> None:
    meta = {"event": {"location": {"admin1": "Gitega", "admin2": "Mubone"}}}
    own = checks.own_canaries(SRC, PRIVATE, meta)
    assert "mubone" not in {c.value for c in own}
    assert "ndayisenga" in {c.value for c in own}


def test_verbatim_quotes_list_runs_of_eight_words() -> None:
    public = ("Selon la source, ils sont venus la nuit avec deux voitures sans plaque et "
              "ont frappé. Puis rien.")
    runs = curation.verbatim_quotes(public, PRIVATE)
    assert runs == ["ils sont venus la nuit avec deux voitures sans plaque et ont frappe"]
    assert curation.verbatim_quotes("ils sont venus la nuit avec deux", PRIVATE) == []
    case = cases.Case({"id": SRC, "review": {"quotes_acknowledged": []}}, public)
    assert len(curation.unacknowledged_quotes(case, runs)) == 1
    case.meta["review"]["quotes_acknowledged"] = [curation.quote_id(runs[0])]
    assert curation.unacknowledged_quotes(case, runs) == []


# -- end to end: `case publish`, `temoin build`, `temoin check` ---------------------------

def cli(org: Org, *args: str) -> Result:
    return CliRunner().invoke(main, ["--repo", str(org.repo), *args])


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 140, 60)).save(out, "JPEG")
    return out.getvalue()


def test_publish_refuses_every_variant_naming_file_and_field(org: Org) -> None:
    for kind, text, field in VARIANTS:
        case = org.add_case(status="review", sign=False, narrative=f"Récit. {text}")
        problems = readiness.private_problems(case, PRIVATE)
        line = (f"cases/{case.id}/case.md: holds a value of the private part ({field}): "
                "remove it from the public text")
        assert any(p.startswith(line) for p in problems), kind
    for text in INNOCENT:
        case = org.add_case(status="review", sign=False, narrative=text)
        assert readiness.private_problems(case, PRIVATE) == [], text


def test_case_publish_refuses_media_name_and_unacknowledged_quote(org: Org) -> None:
    case = org.add_case(status="review", sign=False, private=PRIVATE,
                        narrative="Selon la source, deux voitures sans plaque et ont "
                                  "frappé à la porte en criant.",
                        media=[{"file": "ndayisenga.jpg", "caption": {"fr": "x", "en": "x"}}])
    (case.folder / "media").mkdir(exist_ok=True)
    (case.folder / "media" / "ndayisenga.jpg").write_bytes(jpeg())
    org.sign(case)
    result = cli(org, "case", "publish", case.id, "--editor", org.alice)
    assert result.exit_code == 4, result.output
    assert (f"cases/{case.id}/media/ndayisenga.jpg: the file name holds a value of the "
            f"private part ({JEAN})") in result.output
    assert "quotes the private testimony verbatim (12 words" in result.output
    assert "holds a value of the private part (testimony)" not in result.output
    (case.folder / "media" / "ndayisenga.jpg").rename(case.folder / "media" / "photo.jpg")
    case = cases.load(org.repo, case.id)
    case.meta["media"] = [{"file": "photo.jpg", "caption": {"fr": "x", "en": "x"}}]
    cases.save(org.repo, case)
    org.sign(case)
    ack = cli(org, "case", "risk-review", case.id, "--acknowledge-quotes",
              "--editor", org.alice)
    assert ack.exit_code == 0, ack.output
    result = cli(org, "case", "publish", case.id, "--editor", org.alice)
    assert result.exit_code == 0, result.output


def test_build_refuses_every_variant_and_passes_innocent_text(org: Org) -> None:
    org.add_case(private=PRIVATE)
    bad = {org.add_case(narrative=f"Récit. {text}").id: field for _k, text, field in VARIANTS}
    media = org.add_case(sign=False, media=[{"file": "Jean-NDAYISENGA.jpg",
                                             "caption": {"fr": "x", "en": "x"}}])
    (media.folder / "media").mkdir(exist_ok=True)
    (media.folder / "media" / "Jean-NDAYISENGA.jpg").write_bytes(jpeg())
    org.sign(media)
    for text in INNOCENT:
        org.add_case(narrative=text)
    result = cli(org, "build")
    assert result.exit_code == 4, result.output
    for cid, field in bad.items():
        assert f"[canary] cases/{cid}/index.html: private value of case" in result.output
        assert f"({field})" in result.output
    # A medium is published under its place in the case ("1.jpg"), never under the name it
    # arrived with: that name reaches no file of the site (`case publish` refuses it too).
    assert "NDAYISENGA.jpg" not in result.output
    assert "Ndayisenga" not in result.output and "Mubone" not in result.output
    refused_pages = {line.split("]")[1].split(":")[0].strip()
                     for line in result.output.splitlines() if line.startswith("[canary]")}
    assert all(any(cid in p for cid in bad) for p in refused_pages)


def test_build_passes_innocent_corpus_with_hostile_draft(org: Org) -> None:
    """A hostile submission (attachments named after provinces and Windows devices, a
    'name' that is a province) is a draft: it stops nothing, and is reported."""
    org.add_case(private=PRIVATE)
    for text in INNOCENT:
        org.add_case(narrative=text)
    org.add_case(status="draft", private={
        "victims": [{"full_name": "Ngozi"}], "testimony": "Gitega Ngozi Kayanza Bururi Ruyigi",
        "evidence": [{"name": n} for n in ("Gitega.pdf", "CON", "NUL.txt", "Ngozi.jpg",
                                            "aux.png", "Bujumbura Mairie.doc")]})
    result = cli(org, "build")
    assert result.exit_code == 0, result.output
    assert "not usable as a canary" in result.output


def test_check_runs_canary_gate_with_a_key_and_names_it_skipped_without(
        org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    org.add_case(private=PRIVATE)
    leak = org.add_case(narrative="NDAYISENGA Jean a été vu.")
    result = CliRunner().invoke(main, ["--repo", str(org.repo), "check"])
    assert result.exit_code == 1, result.output
    assert f"cases/{leak.id}/case.md: private value of case" in result.output
    assert f"({JEAN})" in result.output
    monkeypatch.delenv("GNUPGHOME", raising=False)
    result = CliRunner().invoke(main, ["--repo", str(org.repo), "--gnupghome", "", "check"])
    assert "Skipped: canaries on case files" in result.output


def test_pdf_gate_fails_closed_when_poppler_fails(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "site"
    root.mkdir()
    (root / "b.pdf").write_bytes(b"%PDF-1.4\nnot really a pdf\n%%EOF\n")
    store = cache_mod.Store.open(tmp_path)
    assert store is not None
    pdf_text = store.entries(checks.PDF_TEXT, ".json")
    found = checks.scan(root, canaries=[checks.Canary("Jean Ndayisenga", SRC, JEAN)],
                        gates=["canary"], cache_dir=pdf_text)
    assert [f.path for f in found] == ["b.pdf"]
    assert "apt-get install poppler-utils" in found[0].detail
    assert not list(pdf_text.root.glob("*.json"))  # a failed reading is not kept
    monkeypatch.setenv("PATH", str(tmp_path))  # no poppler at all
    found = checks.scan(root, canaries=[checks.Canary("Jean Ndayisenga", SRC, JEAN)],
                        gates=["canary"])
    assert "pdftotext is not installed" in found[0].detail


def test_poppler_is_installed_here() -> None:
    assert subprocess.run(["pdftotext", "-v"], capture_output=True, check=False).returncode == 0


def _pdf_with_private_metadata(updated: bool) -> bytes:
    """A PDF whose Info dictionary has a custom key that is a name and another whose value
    is one, and whose XMP metadata (hex-encoded: no Flate for the raw scan to inflate) holds
    a third; `updated`: then changed by an incremental update (a second revision)."""
    import pikepdf

    doc = pikepdf.new()
    doc.add_blank_page()
    doc.docinfo[pikepdf.Name("/Jean Ndayisenga")] = pikepdf.String("x")
    doc.docinfo[pikepdf.Name("/Temoin")] = pikepdf.String("Marie Niyonzima")
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc>Alice Hakizimana</dc></x:xmpmeta>'
    meta = pikepdf.Stream(doc, xmp.hex().encode() + b">")
    meta.Type, meta.Subtype = pikepdf.Name.Metadata, pikepdf.Name.XML
    meta.Filter = pikepdf.Name.ASCIIHexDecode
    doc.Root.Metadata = doc.make_indirect(meta)
    out = io.BytesIO()
    doc.save(out, fix_metadata_version=False)  # (else pikepdf writes XMP of its own)
    data = out.getvalue()
    if not updated:
        return data
    # An update adding one object: a new cross-reference section and trailer (/Prev).
    size, root, info = (re.search(rb"/%s (\d+)" % k, data)[1] for k in (b"Size", b"Root",
                                                                       b"Info"))
    at = len(data)
    obj = b"%s 0 obj\n<< /Note (y) >>\nendobj\n" % size
    xref = at + len(obj)
    prev = data.rsplit(b"startxref", 1)[1].split()[0]
    return data + obj + (b"xref\n%s 1\n%010d 00000 n \ntrailer\n<< /Size %d /Root %s 0 R "
                         b"/Info %s 0 R /Prev %s >>\nstartxref\n%d\n%%%%EOF\n"
                         % (size, at, int(size) + 1, root, info, prev, xref))


@pytest.mark.parametrize("updated", [False, True])
def test_pdf_info_keys_and_xmp_are_read_with_one_poppler_process_when_clean(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, updated: bool) -> None:
    """The gate reads a PDF's Info dictionary (keys too) and XMP metadata with qpdf when
    the file is one clean revision (and its text with poppler's library where installed:
    no process; else one, pdftotext), else with pdfinfo as well (three): either way every
    name in them is found."""
    from temoin.gates import extract

    root = tmp_path / "site"
    root.mkdir()
    data = _pdf_with_private_metadata(updated)
    assert (data.count(b"%%EOF") > 1) == updated
    (root / "b.pdf").write_bytes(data)
    for key in ("/Jean#20Ndayisenga", "/Temoin", "/Metadata"):  # in no other reading
        assert key.encode() in data
    started: list[str] = []
    run = subprocess.run

    def counted(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        started.append(args[0])
        return run(args, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(extract.subprocess, "run", counted)
    names = {"Jean Ndayisenga": JEAN, "Marie Niyonzima": "victims.1.full_name",
             "Alice Hakizimana": "sources.0.name"}
    found = checks.scan(root, canaries=[checks.Canary(n, SRC, f) for n, f in names.items()],
                        gates=["canary"])
    clean = [] if extract._poppler_cpp is not None else ["pdftotext"]
    assert started == (["pdftotext", "pdfinfo", "pdfinfo"] if updated else clean)
    for field in names.values():
        assert [f for f in found if f.path == "b.pdf" and f"({field})" in f.detail], found
