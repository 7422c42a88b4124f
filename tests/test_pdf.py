"""Printable bulletins: a PDF per bulletin and language that opens (poppler renders it),
carries its number and accents, is byte-identical across builds, dates from the data."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from temoin.site import blocks
from temoin.site.bulletins import lines, pdf
from tests import report_fixtures as rf
from tests.demo_fixtures import demo_site


@pytest.fixture
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[rf.CaseSet, Path]:
    """The generated case set, built once per session (see report_fixtures.built_site)."""
    return rf.built_site(tmp_path_factory)


def _text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True).stdout.decode("utf-8")


def test_bulletin_pdf_opens_and_carries_its_number(built, tmp_path: Path):
    made, site = built
    folder = site / "bulletins" / rf.week_key(rf.START + dt.timedelta(days=7))
    [found] = list(folder.glob("bulletin-*.pdf"))
    number = int(re.search(r"bulletin-(\d+)\.pdf", found.name)[1])
    html = (folder / "index.html").read_text()
    assert f'href="{found.name}"' in html  # linked from the bulletin page
    subprocess.run(["pdftoppm", "-r", "40", "-f", "1", "-l", "1", "-png", str(found),
                    str(tmp_path / "page")], check=True, capture_output=True)
    png = next(tmp_path.glob("page*.png"))
    assert png.stat().st_size > 2000 and png.read_bytes()[:4] == b"\x89PNG"
    text = _text(found)
    assert f"Bulletin n° {number} — période du 8 au 14 septembre 2025" in text
    assert "Chiffres clés" in text and "Méthode et limites" in text
    week = [m for m in made.published
            if rf.published_in_week(m, rf.START + dt.timedelta(days=7))]
    for m in week:
        assert m["title"]["fr"] in text
    en = site / "en" / "bulletins" / folder.name / found.name
    assert f"Bulletin No. {number} — September 8–14, 2025" in _text(en)


def test_pdfs_are_byte_identical_across_builds(built, tmp_path_factory):
    made, site = built
    again = rf.rebuilt_site(tmp_path_factory)
    pdfs = sorted(p.relative_to(site) for p in site.rglob("*.pdf"))
    assert len(pdfs) >= 2 * rf.WEEKS
    for rel in pdfs:
        assert (site / rel).read_bytes() == (again / rel).read_bytes(), rel


def test_pdf_creation_date_comes_from_the_data_clamped_to_source_date_epoch(built):
    made, site = built
    first = site / "bulletins" / rf.week_key(rf.START)
    info = subprocess.run(["pdfinfo", "-isodates", str(next(first.glob("*.pdf")))],
                          check=True, capture_output=True, text=True).stdout
    created = re.search(r"CreationDate:\s+(\S+)", info)[1]
    # The first week's bulletin last changed at the end of its week or of the next one
    # (the "change from" figures): never the build clock, never after SOURCE_DATE_EPOCH.
    epoch = dt.datetime.fromtimestamp(int(rf.EPOCH), dt.UTC)
    stamp = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
    assert stamp <= epoch and stamp.date() >= rf.START + dt.timedelta(days=6)


def test_characters_beyond_the_font_become_question_marks_not_gaps():
    doc = blocks.Doc("Bulletin n° 1 — Ŋ ɓ «test»", "fr",
                     [blocks.Para(("Kirundi: Ndayishimiye ɗ, emoji 🙂, CJK 漢",))])
    with pdf.Fonts() as fonts:
        data = pdf.render(doc, fonts, "Org", dt.datetime(2025, 10, 12, tzinfo=dt.UTC))
        assert fonts.clean("🙂漢é") == "??é"
    assert data.startswith(b"%PDF-") and b"CreationDate (D:20251012" in data


@pytest.fixture
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository's fictional demo, built once per session (demo_fixtures.demo_site)."""
    return demo_site(tmp_path_factory)


def _info(path: Path) -> str:
    return subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True,
                          text=True).stdout


def _outline(path: Path) -> list[str]:
    xml = subprocess.run(["pdftohtml", "-xml", "-stdout", "-i", "-q", "-f", "1", "-l", "1",
                          str(path)], check=True, capture_output=True, text=True).stdout
    return re.findall(r'<item page="\d+">([^<]*)</item>', xml)


def test_bulletin_pdf_is_tagged_with_title_language_and_outline(built):
    made, site = built
    key = rf.week_key(rf.START + dt.timedelta(days=7))
    [fr] = list((site / "bulletins" / key).glob("bulletin-*.pdf"))
    for path, lang, sections in ((fr, "fr", ["Chiffres clés", "Méthode et limites"]),
                                 (site / "en" / "bulletins" / key / fr.name, "en",
                                  ["Key figures", "Method and limits"])):
        info, data = _info(path), path.read_bytes()
        title = re.search(r"Title:\s+(.*)", info)[1]
        assert "Tagged:          yes" in info and title.lower().startswith("bulletin n")
        assert f"/Lang ({lang})".encode() in data and b"/DisplayDocTitle true" in data
        tree = subprocess.run(["pdfinfo", "-struct-text", str(path)], check=True,
                              capture_output=True, text=True).stdout
        assert tree.startswith("Document\n") and f'H1 (block)\n    "{title}"' in tree
        for tag in ("H2 (block)", "H3 (block)", "H4 (block)", "P (block)", "L (block)",
                    "LBody", "Table (block)", "Caption", "THead", "TBody", "TH", "TD"):
            assert f"  {tag}" in tree, (lang, tag)
        outline = _outline(path)
        assert all(s in outline for s in sections) and outline == [
            h for h in re.findall(r'H[23] \(block\)\n\s+"([^"]*)"', tree)], lang
        # Page furniture is an artifact: the footer is on every page, never in the tree.
        assert "1/" not in "".join(re.findall(r'"([^"]*— \d+/\d+)"', tree))
        assert "Subject:" not in info and "Keywords:" not in info  # not the demo
        assert "fictional" not in _text(path).lower() and "fictives" not in _text(path)


def test_demo_pdfs_say_the_data_is_fictional_on_every_page_and_in_metadata(demo: Path):
    pdfs = sorted(demo.glob("bulletins/*/*.pdf"))
    assert pdfs
    for path in (pdfs[0], pdfs[-1], demo / "en" / pdfs[0].relative_to(demo)):
        info = _info(path)
        fr = not path.is_relative_to(demo / "en")
        mark = "Données fictives de démonstration" if fr else "Fictional demonstration data"
        assert f"Subject:         {mark}" in info
        assert ("données fictives" if fr else "fictional data") in \
            re.search(r"Keywords:\s+(.*)", info)[1]
        pages = int(re.search(r"Pages:\s+(\d+)", info)[1])
        for n in range(1, pages + 1):
            text = subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), "-enc", "UTF-8",
                                   str(path), "-"], check=True, capture_output=True,
                                  text=True).stdout
            assert mark in text, (path, n)


def test_a_paragraph_over_a_page_break_stays_tagged_and_words_stay_apart(tmp_path: Path):
    doc = blocks.Doc("Bulletin n° 2", "fr", [blocks.Heading(2, "Éditorial"),
                                            blocks.Para(("mot " * 2500,)),
                                            blocks.Rich("<p>Told in English.</p>", "en")])
    with pdf.Fonts() as fonts:
        data = pdf.render(doc, fonts, "Org", dt.datetime(2025, 10, 12, tzinfo=dt.UTC))
    assert b"/StructTreeRoot" in data and b"/Lang (en)" in data  # the narrative's language
    assert b"/Subject" not in data
    path = tmp_path / "b.pdf"
    path.write_bytes(data)
    tree = subprocess.run(["pdfinfo", "-struct-text", str(path)], check=True,
                          capture_output=True, text=True).stdout
    paras = re.findall(r'P \(block\)\n\s+"(mot[^"]*)"', tree)
    assert len(paras) >= 2 and "motmot" not in "".join(paras)  # one per page, spaces kept
    assert sum(p.count("mot") for p in paras) == 2500


class _EachDocumentParses(pdf.Fonts):
    """fpdf2's own way: `add_font` parses both font files again for every document (the
    subset saved, like `Fonts.add_to`'s, without recalculating glyph bounding boxes)."""

    def add_to(self, doc: Any) -> None:
        for style, path in self.files.items():
            doc.add_font(pdf.FAMILY, style, str(path))
            doc.fonts[f"{pdf.FAMILY}{style}"].ttfont.recalcBBoxes = False


def test_fonts_parsed_once_a_build_give_the_bytes_add_font_gives_document_after_document():
    """`Fonts.add_to` shares one parsed font between documents: nothing one document drew
    (its glyphs, widths, descriptor, subset font) reaches the next, in any order."""
    made = dt.datetime(2025, 10, 12, tzinfo=dt.UTC)
    short = blocks.Doc("Bulletin n° 1 — «ɓ»", "fr", [blocks.Para(("Ŋ ɗ é " * 40,))])
    long = blocks.Doc("Bulletin n° 2", "fr", [
        blocks.Heading(2, "Chiffres clés"), blocks.Para(("Quatorze arrestations. " * 300,)),
        blocks.Table("Tableau 1", ("Acte", "Femmes", "Hommes"),
                     (("Torture", 1, 2), ("Arrestation arbitraire", 3, 40)))])
    with _EachDocumentParses() as fonts:
        expected = {d.title: pdf.render(d, fonts, "Org", made) for d in (short, long)}
    with pdf.Fonts() as fonts:
        for d in (long, short, short, long):
            assert pdf.render(d, fonts, "Org", made) == expected[d.title], d.title


class _FpdfEmbeds(_EachDocumentParses):
    """fpdf2's own embedding: each document's fonts subset by fontTools in `output`."""

    def __enter__(self) -> _FpdfEmbeds:
        super().__enter__()
        self.programs = {}
        return self


def test_fonts_embedded_from_the_build_program_print_what_fpdf2s_subsets_print(tmp_path: Path):
    """`embed` writes a document's font programs from tables made once a build (composite
    glyphs with their components): every character the fonts can draw, in both styles,
    extracts and renders as with fpdf2's own subsetting, and stays embedded."""
    made = dt.datetime(2025, 10, 12, tzinfo=dt.UTC)
    with pdf.Fonts() as fonts:
        chars = "".join(chr(c) for c in sorted(fonts.chars)
                        if chr(c).isprintable() and c != 0x20)
    lines = [chars[i:i + 40] for i in range(0, len(chars), 40)]
    doc = blocks.Doc("Bulletin n° 3 — ɓɗ «é»", "fr", [
        blocks.Heading(2, " ".join(lines[:8])),
        *[blocks.Para((line,)) for line in lines],
        blocks.Table("Tableau 1", ("Acte", "Ŋ", "ʃ"), tuple((line, i, 2 * i)
                                                          for i, line in enumerate(lines)))])
    texts, pages = [], []
    for kind in (pdf.Fonts, _FpdfEmbeds):
        with kind() as fonts:
            data = pdf.render(doc, fonts, "Org", made)
        path = tmp_path / f"{kind.__name__}.pdf"
        path.write_bytes(data)
        texts.append(_text(path))
        subprocess.run(["pdftoppm", "-r", "60", str(path), str(tmp_path / kind.__name__)],
                       check=True, capture_output=True)
        pages.append([p.read_bytes() for p in sorted(tmp_path.glob(f"{kind.__name__}-*.ppm"))])
        listed = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True,
                                text=True).stdout.splitlines()[2:]
        assert len(listed) == 2 and all(" yes yes yes " in f for f in listed), listed
    assert texts[0] == texts[1] and lines[5] in texts[0]
    assert len(pages[0]) >= 2 and pages[0] == pages[1]


def test_embedded_font_programs_carry_the_checksums_their_tables_have():
    """A document's font program is valid TrueType whatever glyphs it keeps: each table's
    checksum in the directory is its own, and the whole font sums to the magic number
    (`checkSumAdjustment`), as a strict reader checks; the checksums are summed from
    parts made once a build, not recomputed over the font."""
    import io
    import struct

    from fontTools.ttLib import TTFont

    from temoin.site.bulletins.embed import _checksum

    with pdf.Fonts() as fonts:
        for program in fonts.programs.values():
            for gids in ([], [5], range(3, 400, 7), range(len(program.glyphs))):
                font = program.subset(gids)
                assert _checksum(font) == 0xB1B0AFBA
                count = struct.unpack(">H", font[4:6])[0]
                for i in range(count):
                    tag, summed, at, length = struct.unpack(
                        ">4sIII", font[12 + 16 * i:28 + 16 * i])
                    data = bytearray(font[at:at + length])
                    if tag == b"head":
                        data[8:12] = bytes(4)
                    assert summed == _checksum(bytes(data)), tag
                TTFont(io.BytesIO(font)).ensureDecompiled()  # and fontTools reads it


def test_structure_elements_serialise_as_fpdf2s_generic_walk_would():
    """`tags` writes its elements' dictionaries without fpdf2's `dir()` walk, and the
    objects without its generic dictionary and array writers: the same keys, order and
    values, /Lang and /Pg included, kids that are ids and kids that are elements, on a
    drawn and written document."""
    from fpdf.structure_tree import StructElem
    from fpdf.syntax import PDFObject, build_obj_dict

    from temoin.site.bulletins import embed
    from temoin.site.bulletins.tags import Tags

    doc = pdf._pdf_class()(format="A4")
    tags = Tags(doc)
    doc.tags = tags
    with pdf.Fonts() as fonts:
        fonts.add_to(doc)
        doc.font_programs = fonts.programs
        doc.add_page()
        doc.set_font(pdf.FAMILY, "", 10)
        with tags.mark("P", lang="en"):
            doc.text(20, 20, "Told in English")
        row = tags.group("TR", tags.group("Table"))
        with tags.mark("TD", row):
            doc.text(20, 30, "12")
        with tags.mark("TD", row):
            doc.text(40, 30, "13")
        doc.output(output_producer_class=embed.producer())
    elems = [e for e in tags.tree if isinstance(e, StructElem)]
    assert len(elems) == 6
    for e in elems:
        generic = build_obj_dict({key: getattr(e, key) for key in dir(e)}, _obj_id=e.id)
        assert list(e._build_obj_dict().items()) == list(generic.items())  # order too
        assert e.serialize() == PDFObject.serialize(e, dict(generic))
    assert any("/Lang" in e._build_obj_dict() for e in elems)
    assert all("/Pg" in e._build_obj_dict() for e in elems[1:])
    assert {type(e.k[0]) is int for e in elems} == {True, False}  # ids; elements


def test_lines_written_directly_are_the_bytes_fpdf2s_text_writes(
        monkeypatch: pytest.MonkeyPatch):
    """`lines.line` writes the text operator itself (each string's encoding kept for the
    document): the PDF is byte for byte the one drawn through `FPDF.text`, over pages,
    styles, colours, right-aligned numbers and repeated cells."""
    made = dt.datetime(2025, 10, 12, tzinfo=dt.UTC)
    rows = tuple((f"Acte {i % 7} — Ŋ «é»", i % 3, 1000 * i) for i in range(90))
    doc = blocks.Doc("Bulletin n° 4", "fr", [
        blocks.Heading(2, "Chiffres clés"), blocks.Para(("Arrestations à Gitega. " * 90,)),
        blocks.Table("Tableau 1", ("Acte", "Femmes", "Hommes"), rows, ("Total", 90, 4005)),
        blocks.Bullets(tuple((f"point {i}",) for i in range(5)))])
    with pdf.Fonts() as fonts:
        direct = pdf.render(doc, fonts, "Org", made, mark="DONNÉES FICTIVES", keywords="x")
        monkeypatch.setattr(lines, "_fill_mode", object)  # no text mode matches: FPDF.text
        through_text = pdf.render(doc, fonts, "Org", made, mark="DONNÉES FICTIVES",
                                  keywords="x")
    assert direct.count(b"/Type /Page\n") >= 3
    assert direct == through_text
