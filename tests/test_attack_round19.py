"""Attack round 19: what this session's speed work (poppler's library in process, the
strings walk passing over objects without a string, libyaml's front matter, the batched
decryption of confidential parts) let through."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pikepdf
import pytest
import yaml

from temoin import cases, gates, strict_yaml
from temoin.gates import pdf as pdf_gate

NAME = "Jean Ndayisenga"
CANARY = gates.Canary("jean ndayisenga", "BI-2025-000001", "victims.0.name")


def _pdf(setter: Any, object_streams: bool) -> bytes:
    doc = pikepdf.new()
    doc.add_blank_page()
    setter(doc)
    out = io.BytesIO()
    doc.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate if object_streams
             else pikepdf.ObjectStreamMode.disable)
    return out.getvalue()


def _destination(doc: pikepdf.Pdf) -> None:
    """A named destination (Acrobat lists them by name in its Destinations panel)."""
    doc.Root.Dests = pikepdf.Dictionary({f"/{NAME}": pikepdf.Array([doc.pages[0].obj,
                                                                    pikepdf.Name.Fit])})


def _font(doc: pikepdf.Pdf) -> None:
    """A font named after the victim (a reader lists fonts in the document's properties)."""
    doc.pages[0].obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(
        F1=pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                              BaseFont=pikepdf.Name(f"/{NAME}"))))


def _scan(tmp_path: Path, data: bytes) -> list[tuple[str, str]]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "dossier.pdf").write_bytes(data)
    found = gates.scan(site, canaries=[CANARY], gates=["canary"])
    return [(f.gate, f.path) for f in found]


@pytest.mark.parametrize("object_streams", [False, True])
@pytest.mark.parametrize("setter", [_destination, _font])
def test_a_name_written_as_a_pdf_name_is_found(tmp_path: Path, setter: Any,
                                                object_streams: bool) -> None:
    """A PDF name object is written with #xx escapes ("/Jean#20Ndayisenga": a space must
    be), so the raw bytes' scan did not see the victim's name, and the strings walk reads
    strings only: a PDF in the site with a named destination or a font called after a
    victim passed the canary gate."""
    data = _pdf(setter, object_streams)
    assert b"Jean Ndayisenga" not in data
    assert _scan(tmp_path, data) == [("canary", "dossier.pdf")]


def test_a_name_whose_letters_are_escaped_is_found(tmp_path: Path) -> None:
    """Any letter of a name may be written #xx: the raw bytes show no name at all."""
    data = _pdf(_destination, False).replace(b"/Jean#20Ndayisenga", b"/J#65an#20Nd#61yisenga")
    assert b"Ndayisenga" not in data and b"Nd#61yisenga" in data
    assert "Jean Ndayisenga" in pdf_gate.read(data).strings
    assert _scan(tmp_path, data) == [("canary", "dossier.pdf")]


def test_a_mapping_with_an_empty_key_is_written_as_pyyaml_writes_it() -> None:
    """cases.dumps writes a field with libyaml only where its lines are provably PyYAML's:
    for a mapping with an empty key, libyaml wrote `'': x`, PyYAML `? ''` then `: x` (the
    same data, other bytes: case.md and the leak scan's text are PyYAML's whole dump)."""
    for value in [{"": "x"}, [{"": {"a": 1}}], {"fr": {"": None}}]:
        meta = {"title": value, "summary": "court"}
        whole = yaml.dump(meta, Dumper=strict_yaml.NoAliasDumper, allow_unicode=True,
                          sort_keys=False, default_flow_style=None, width=100)
        assert cases._front(meta) == whole, value


def _off_page(x: int, y: int) -> bytes:
    """One page: "Rapport public" on it, the victim's name drawn at (x, y), in a font whose
    own encoding (/Differences) maps codes 1-15 to the name's letters, so the content
    stream shows no letter of it."""
    doc = pikepdf.new()
    glyphs = [pikepdf.Name("/" + g) for g in
              ["J", "e", "a", "n", "space", "N", "d", "a", "y", "i", "s", "e", "n", "g", "a"]]
    font = doc.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica,
        Encoding=pikepdf.Dictionary(Type=pikepdf.Name.Encoding,
                                    Differences=pikepdf.Array([1, *glyphs]))))
    drawn = b"BT /F1 12 Tf 100 400 Td (Rapport public) Tj ET BT /F1 12 Tf %d %d Td <%s> Tj ET" % (
        x, y, bytes(range(1, 16)).hex().encode())
    doc.pages.append(pikepdf.Page(pikepdf.Dictionary(
        Type=pikepdf.Name.Page, MediaBox=pikepdf.Array([0, 0, 612, 792]),
        Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
        Contents=doc.make_stream(drawn))))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def test_a_name_drawn_on_the_page_through_its_own_encoding_is_found(tmp_path: Path) -> None:
    assert _scan(tmp_path, _off_page(100, 300)) == [("canary", "dossier.pdf")]


@pytest.mark.parametrize("where", [(-400, 300), (100, 1200)])
def test_a_name_drawn_off_the_page_is_found(tmp_path: Path, where: tuple[int, int]) -> None:
    assert _scan(tmp_path, _off_page(*where)) == [("canary", "dossier.pdf")]


def _forge_plain(org: Any, plaintext: bytes, how: str) -> bytes:
    """`helpers.forge`'s outsider and revoked forgeries, made uncompressed (gpg -z 0): one
    one-pass signature, one binary literal, one signature under the encryption, the shape
    `keys.inline` checks in process rather than leaving to gpg."""
    import subprocess
    import time

    from tests.helpers import forge

    rcpts = org.cfg.recipient_fingerprints
    now = int(time.time())
    if how == "outsider":
        signer = next((k.fingerprint for k in org.keyring.list(secret=True)
                       if any("Mallory" in u for u in k.uids)), None) \
            or org.keyring.generate("Mallory", "mallory@example.invalid")
        when: list[str] = []
    else:
        signer, when = org.bob, ["--faked-system-time", f"{now + 120}!"]
    made = subprocess.run(
        ["gpg", "--homedir", str(org.keyring.home), "--batch", "--pinentry-mode", "loopback",
         "--passphrase", "", "--trust-model", "always", *when, "-z", "0", "--armor",
         *(a for r in rcpts for a in ("-r", r)), "-u", signer, "--sign", "--encrypt"],
        input=plaintext, capture_output=True, check=True).stdout
    if how == "revoked":
        forge(org, plaintext, how)  # revokes Bob's key after that signature (keys/ too)
    return made


@pytest.mark.parametrize("how", ["outsider", "revoked"])
def test_an_uncompressed_forged_sealed_draft_is_refused_by_either_engine(
        org: Any, how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sealed drafts loaded together (one gpg run, inner signatures checked in process by
    Sequoia): a draft replaced by an uncompressed one signed by an outsider, or by an
    editor's key after its revocation, is refused as gpg alone refuses it, the others read."""
    drafts = [org.add_case(status="draft", sign=False, narrative=f"Récit {n}.")
              for n in range(3)]
    forged = drafts[1]
    text = cases.dumps(forged).replace("Récit 1.", "FORGED-WORDS").encode()
    (forged.folder / cases.SEALED).write_bytes(_forge_plain(org, text, how))
    from temoin.keys import inline, packets

    fast: list[list[bool]] = []
    shapes: list[bool] = []
    real_open, real_shape = inline.open_signed, packets.inline_signed

    def spy(*args: Any, **kwargs: Any) -> Any:
        out = real_open(*args, **kwargs)
        fast.append([o is not None for o in out])
        return out

    def shape(raw: bytes) -> Any:
        got = real_shape(raw)
        shapes.append(got is not None)
        return got

    monkeypatch.setattr(inline, "open_signed", spy)
    monkeypatch.setattr(packets, "inline_signed", shape)
    verdicts = {}
    for engine in ("sequoia", "gpg"):
        monkeypatch.setenv("TEMOIN_VERIFY", engine)
        got = cases.load_sealed(org.repo, [d.folder for d in drafts])
        verdicts[engine] = [(c is not None, bool(p)) for _f, c, p in got]
        assert [c.narrative.strip() if c else None for _f, c, _p in got] == \
            ["Récit 0.", None, "Récit 2."], engine
        assert "FORGED-WORDS" not in " ".join(" ".join(p) for _f, _c, p in got)
    assert verdicts["sequoia"] == verdicts["gpg"]
    # The batch ran and read every draft's shape, the forged one's too; Sequoia opened the
    # two genuine drafts and left the forged one to gpg.
    assert fast[0] == [True, False, True] and shapes.count(True) == 3, (fast, shapes)


def _nested_forms(levels: int, fan: int = 10) -> bytes:
    """A page drawing a form XObject that draws the next `fan` times, `levels` deep: fan^levels
    runs of the innermost "x" for a file of ~2 KB."""
    doc = pikepdf.new()
    font = doc.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica))
    form = doc.make_stream(b"BT /F1 1 Tf 10 10 Td (x) Tj ET")
    form.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    for _ in range(levels + 1):
        form.Type, form.Subtype = pikepdf.Name.XObject, pikepdf.Name.Form
        form.BBox = pikepdf.Array([0, 0, 600, 800])
        if _ < levels:
            outer = doc.make_stream(b" ".join([b"/X Do"] * fan))
            outer.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(X=form))
            form = outer
    doc.pages.append(pikepdf.Page(pikepdf.Dictionary(
        Type=pikepdf.Name.Page, MediaBox=pikepdf.Array([0, 0, 612, 792]),
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(X=form),
                                     Font=pikepdf.Dictionary(F1=font)),
        Contents=doc.make_stream(b"BT /F1 12 Tf 100 700 Td (Rapport) Tj ET /X Do"))))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def test_a_pdf_of_nested_forms_is_not_read_in_process(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """poppler's library reads a PDF in the build's own process, with no timeout: a 2 KB PDF
    of ten levels of ten nested forms (10^10 drawings) held the build for hours where the
    pdftotext tool is killed after its timeout and the gate fails closed. Such a PDF is
    left to the tool; a bulletin's kind (no form) is still read in process."""
    from temoin.gates import extract

    data = _nested_forms(10)
    assert len(data) < 4096
    reading = pdf_gate.read(data)
    assert not reading.uncropped

    def no_library(_data: Any) -> Any:
        raise AssertionError("poppler's library ran on a PDF of nested forms")

    def tool_times_out(*args: str) -> str:
        raise extract.ToolError(f"{args[0]} could not read this PDF (TimeoutExpired)")

    if extract._poppler_cpp is not None:
        monkeypatch.setattr(extract._poppler_cpp, "PDF", no_library)
    monkeypatch.setattr(extract, "_tool", tool_times_out)
    path = tmp_path / "bombe.pdf"
    path.write_bytes(data)
    with pytest.raises(extract.ToolError, match="TimeoutExpired"):
        extract._pdftotext(path, data, reading)
    assert pdf_gate.read(_off_page(100, 300)).uncropped  # no form: in process


def _cmap(codes: dict[int, str]) -> bytes:
    """A ToUnicode CMap mapping 2-byte codes to text (bfchar)."""
    pairs = b"\n".join(b"<%04X> <%s>" % (c, t.encode("utf-16-be").hex().upper().encode())
                       for c, t in codes.items())
    return (b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
            b"1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
            b"%d beginbfchar\n%s\nendbfchar\nendcmap end end" % (len(codes), pairs))


def _drawn_elsewhere(how: str, levels: int = 3) -> bytes:
    """The victim's name in a Type0 font whose codes mean nothing without its ToUnicode
    map, drawn where poppler drops it: moved off the page by a `cm` (however large the
    box), inside a form XObject nested in forms a thousand times over, or in an
    annotation's appearance placed off the page. `levels`: of nested forms."""
    doc = pikepdf.new()
    codes = {0x0100 + n: ch for n, ch in enumerate(NAME)}
    font = doc.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type0, BaseFont=pikepdf.Name("/X"),
        Encoding=pikepdf.Name("/Identity-H"), ToUnicode=doc.make_stream(_cmap(codes)),
        DescendantFonts=pikepdf.Array([pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.CIDFontType2,
            BaseFont=pikepdf.Name("/X"), CIDSystemInfo=pikepdf.Dictionary(
                Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("Identity"),
                Supplement=0))])))
    fonts = pikepdf.Dictionary(F1=font)
    name = b"BT /F1 12 Tf 0 0 Td <%s> Tj ET" % b"".join(
        b"%04X" % c for c in codes).lower()
    page_content = b"BT /F1 12 Tf 100 400 Td <0100> Tj ET "
    resources = pikepdf.Dictionary(Font=fonts)
    annots = pikepdf.Array()
    if how == "cm":
        page_content += b"q 1000000 0 0 1000000 0 0 cm " + name + b" Q"
    elif how == "nested":
        inner = doc.make_stream(name, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Form,
                                BBox=[0, 0, 10, 10], Resources=pikepdf.Dictionary(Font=fonts))
        for _ in range(levels):  # each form draws the one below ten times: 10^levels
            inner = doc.make_stream(b" ".join([b"/X0 Do"] * 10), Type=pikepdf.Name.XObject,
                                    Subtype=pikepdf.Name.Form, BBox=[0, 0, 10, 10],
                                    Resources=pikepdf.Dictionary(
                                        XObject=pikepdf.Dictionary(X0=inner)))
        resources.XObject = pikepdf.Dictionary(X0=inner)
        page_content += b"q 1 0 0 1 -5000 -5000 cm /X0 Do Q"
    else:
        ap = doc.make_stream(name, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Form,
                             BBox=[0, 0, 10, 10], Resources=pikepdf.Dictionary(Font=fonts))
        annots.append(doc.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Stamp, Rect=[-900, -900, -800, -800],
            AP=pikepdf.Dictionary(N=ap))))
    doc.pages.append(pikepdf.Page(pikepdf.Dictionary(
        Type=pikepdf.Name.Page, MediaBox=pikepdf.Array([0, 0, 612, 792]), Resources=resources,
        Contents=doc.make_stream(page_content), Annots=annots)))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


@pytest.mark.parametrize("how", ["cm", "nested", "annotation"])
def test_a_name_drawn_where_poppler_drops_it_is_found(tmp_path: Path, how: str) -> None:
    """The class of the off-page break: wherever a page draws text (moved by any matrix,
    through forms nested into 10^10 drawings, in an annotation's appearance), the text it
    shows is read through its font's ToUnicode map, and each form once: the name is found,
    and the bomb of nested forms costs its size, not its drawings (the scan ends)."""
    assert _scan(tmp_path, _drawn_elsewhere(how)) == [("canary", "dossier.pdf")]


def test_forms_nested_into_ten_billion_drawings_are_read_once_each() -> None:
    """The reading that ignores positions decodes a form once however often it is drawn:
    ten levels of ten (10^10 drawings, which poppler's tool plays until its timeout) read
    at once, the name among them."""
    from temoin.gates import shown

    with pikepdf.open(io.BytesIO(_drawn_elsewhere("nested", levels=10))) as pdf:
        assert NAME in shown.read(pdf)


@pytest.mark.parametrize("damage", ["bad check", "truncated", "garbage"])
def test_a_broken_content_stream_is_refused_by_name(tmp_path: Path, damage: str) -> None:
    """A content stream that zlib rejects (a reader still shows what inflates before the
    damage, a name among it) stops the scan with a finding that says so, not a traceback
    and not a pass: what the pages show could not be read in full."""
    import zlib

    text = f"BT /F1 12 Tf 72 700 Td ({NAME}) Tj ET".encode()
    packed = zlib.compress(text)
    packed = {"bad check": packed[:-4] + b"\0\0\0\0", "truncated": packed[:-6],
              "garbage": packed[:2] + b"\xff" * 8 + packed[2:]}[damage]
    doc = pikepdf.new()
    doc.add_blank_page()
    page = doc.pages[0].obj
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica)))
    stream = doc.make_stream(b"")
    stream.write(packed, filter=pikepdf.Name.FlateDecode)
    page.Contents = stream
    out = io.BytesIO()
    doc.save(out, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    site = tmp_path / "site"
    site.mkdir()
    (site / "dossier.pdf").write_bytes(out.getvalue())
    found = gates.scan(site, canaries=[CANARY], gates=["canary"])
    assert [f.path for f in found] == ["dossier.pdf"], found
    assert "content stream" in found[0].detail, found


@pytest.mark.parametrize("how", ["second member", "cut short"])
def test_a_gzip_file_not_read_in_full_is_refused(tmp_path: Path, how: str) -> None:
    """gunzip and browsers read a gzip file member after member, and show what a cut-short
    file holds; zlib alone stops after the first member. A name in a second member was
    never scanned (it is found now); a .gz the gates cannot read to its clean end is
    refused as it is."""
    import gzip

    site = tmp_path / "site"
    site.mkdir()
    body = gzip.compress(b"date,place\n2025-01-01,Bujumbura\n")
    named = gzip.compress(f"2025-01-02,{NAME}\n".encode() * 50)
    (site / "donnees.csv.gz").write_bytes(
        body + named if how == "second member" else named[:len(named) // 2])
    found = [(f.gate, f.path) for f in gates.scan(site, canaries=[CANARY])]
    assert found == [("canary" if how == "second member" else "file-type",
                      "donnees.csv.gz")], found


@pytest.mark.parametrize("where", ["latin-1 far in", "ascii far in", "latin-1 after the marker"])
def test_a_name_in_a_pdf_comment_is_found_however_encoded(tmp_path: Path, where: str) -> None:
    """A PDF's raw bytes are read as UTF-8 and as latin-1 (PDFDocEncoding); a bulletin's
    are ASCII but for its header's binary comment, so they are read once, the header both
    ways with what follows it. A name in a comment (a text editor shows it), written in
    latin-1 or ASCII, far into the file or right after the header, is found either way."""
    doc = pikepdf.new()
    doc.add_blank_page()
    out = io.BytesIO()
    doc.save(out)
    data = out.getvalue()
    assert re.match(rb"%PDF-[0-9.]+\r?\n%[\x80-\xff]{4,}\r?\n", data)  # the marker
    name = ("Jean Ndayis\u00e9nga" if "latin-1" in where else NAME).encode("latin-1")
    if where == "latin-1 after the marker":
        head = data.index(b"\n", data.index(b"\n") + 1) + 1
        data = data[:head] + b"%" + name + b"\n" + data[head:]
    else:
        data = data.replace(b"%%EOF", b"%" + name + b"\n%%EOF")
    assert _scan(tmp_path, data) == [("canary", "dossier.pdf")]
