"""PDF actions a regex over raw and Flate bytes does not see (issue 15, item 4): inside
object streams encoded with ASCIIHex, ASCII85, LZW, RunLength or a chain of filters, and in
incremental updates. Each file is first read by poppler (`pdfinfo`, and `pdfinfo -js` where
the action is a script): a real reader finds what the gate must refuse."""

from __future__ import annotations

import base64
import contextlib
import io
import shutil
import subprocess
import zlib
from pathlib import Path

import pikepdf
import pytest

from temoin import gates
from temoin.gates import markup, pdf_strings
from temoin.gates import pdf as pdf_gate

SITE = "https://temoin.example.org/"


# -- encoders for the filters a reader decodes ---------------------------------------------
def _hex(data: bytes) -> bytes:
    return data.hex().encode() + b">"


def _a85(data: bytes) -> bytes:
    return base64.a85encode(data) + b"~>"


def _runlength(data: bytes) -> bytes:
    """Every byte its own literal run: no two bytes of the text stand side by side."""
    return b"".join(b"\x00" + bytes([b]) for b in data) + b"\x80"


def _lzw(data: bytes) -> bytes:
    """LZW as PDF's LZWDecode reads it (EarlyChange 1, clear code first, MSB first)."""
    table = {bytes([i]): i for i in range(256)}
    codes, width, nxt, word = [256], 9, 258, b""
    out_codes: list[tuple[int, int]] = [(256, 9)]
    for byte in data:
        cand = word + bytes([byte])
        if cand in table:
            word = cand
            continue
        out_codes.append((table[word], width))
        table[cand] = nxt
        nxt += 1
        if nxt + 1 > (1 << width) and width < 12:  # early change
            width += 1
        word = bytes([byte])
    if word:
        out_codes.append((table[word], width))
    out_codes.append((257, width))
    del codes
    bits, n, out = 0, 0, bytearray()
    for code, w in out_codes:
        bits = (bits << w) | code
        n += w
        while n >= 8:
            n -= 8
            out.append((bits >> n) & 0xFF)
    if n:
        out.append((bits << (8 - n)) & 0xFF)
    return bytes(out)


ENCODE = {"/ASCIIHexDecode": _hex, "/ASCII85Decode": _a85, "/RunLengthDecode": _runlength,
          "/LZWDecode": _lzw, "/FlateDecode": zlib.compress}


def _encode(data: bytes, filters: list[str]) -> bytes:
    for f in reversed(filters):  # /Filter [/A /B]: a reader decodes A, then B
        data = ENCODE[f](data)
    return data


# -- a PDF whose objects sit in an object stream (cross-reference stream) -------------------
def objstm_pdf(objects: dict[int, bytes], filters: list[str], prefix: bytes = b"%PDF-1.7\n",
               prev: int | None = None, size: int | None = None) -> bytes:
    """`objects` (number -> dictionary) compressed into one /ObjStm encoded with `filters`,
    a cross-reference stream pointing at them; appended to `prefix` (an incremental update
    when `prev`, the previous cross-reference's offset, is given)."""
    nums = sorted(objects)
    stm_num = max(nums) + 1 if size is None else size
    xref_num = stm_num + 1
    body, header = b"", b""
    for n in nums:
        header += b"%d %d " % (n, len(body))
        body += objects[n] + b"\n"
    raw = header + body
    data = _encode(raw, filters)
    filt = b"[" + b" ".join(f.encode() for f in filters) + b"]"
    out = bytearray(prefix)
    stm_at = len(out)
    out += (b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter %s /Length %d >>\nstream\n"
            % (stm_num, len(nums), len(header), filt, len(data)) + data + b"\nendstream\nendobj\n")
    xref_at = len(out)
    rows = {n: b"\x02" + stm_num.to_bytes(4, "big") + i.to_bytes(2, "big")
            for i, n in enumerate(nums)}
    rows[stm_num] = b"\x01" + stm_at.to_bytes(4, "big") + b"\0\0"
    rows[xref_num] = b"\x01" + xref_at.to_bytes(4, "big") + b"\0\0"
    index = b" ".join(b"%d 1" % n for n in sorted(rows))
    if prev is None:
        rows[0] = b"\x00" + b"\0\0\0\0" + b"\xff\xff"
        index = b"0 1 " + index
    table = b"".join(rows[n] for n in sorted(rows))
    extra = b" /Prev %d" % prev if prev is not None else b""
    out += (b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Index [%s] /Root 1 0 R%s "
            b"/Length %d >>\nstream\n" % (xref_num, xref_num + 1, index, extra, len(table))
            + table + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_at)
    return bytes(out)


CATALOG = b"<< /Type /Catalog /Pages 2 0 R %s >>"
PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] %s >>"


def _doc(catalog: bytes = b"", page: bytes = b"", **more: bytes) -> dict[int, bytes]:
    objs = {1: CATALOG % catalog, 2: PAGES, 3: PAGE % page}
    objs.update({int(k[1:]): v for k, v in more.items()})
    return objs


LINK = b"/Annots [<< /Type /Annot /Subtype /Link /Rect [0 0 50 50] /A %s >>]"
CASES = [
    # (id, objects, filters, what the gate names, poppler -js shows a script)
    ("openaction-js-asciihex", _doc(b"/OpenAction 4 0 R",
                                    o4=b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"),
     ["/ASCIIHexDecode"], {"/JavaScript", "/JS", "/OpenAction"}, False),
    ("launch-link-a85-lzw", _doc(page=LINK % b"<< /S /Launch /F (calc.exe) >>"),
     ["/ASCII85Decode", "/LZWDecode"], {"/Launch"}, False),
    ("uri-elsewhere-runlength", _doc(page=LINK % b"<< /S /URI /URI (https://evil.example/t) >>"),
     ["/RunLengthDecode"], {"/URI https://evil.example/t"}, False),
    ("submitform-aa-lzw",
     _doc(page=b"/AA << /O << /S /SubmitForm /F (https://evil.example/) >> >>"),
     ["/LZWDecode"], {"/AA", "/SubmitForm"}, False),
    ("embedded-file-hex-flate",
     _doc(b"/Names << /EmbeddedFiles << /Names [(a.exe) 4 0 R] >> >>",
          o4=b"<< /Type /Filespec /F (a.exe) /EF << /F 5 0 R >> >>"),
     ["/ASCIIHexDecode", "/FlateDecode"], {"/EF", "/EmbeddedFiles"}, False),
    ("openaction-uri-to-the-site-a85", _doc(b"/OpenAction << /S /URI /URI (" + SITE.encode()
                                            + b") >>"),
     ["/ASCII85Decode"], {"/OpenAction", "/URI run by itself"}, False),
    ("names-javascript-runlength",
     _doc(b"/Names << /JavaScript << /Names [(x) << /S /JavaScript /JS (app.alert\\(2\\)) >>]"
          b" >> >>"), ["/RunLengthDecode"], {"/JavaScript", "/JS"}, True),
]


def _poppler(path: Path, *args: str) -> str:
    if not shutil.which("pdfinfo"):
        pytest.skip("pdfinfo (poppler-utils) missing")
    out = subprocess.run(["pdfinfo", *args, str(path)], capture_output=True, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.decode("utf-8", "replace")


def _found(tmp_path: Path, name: str, data: bytes) -> list[gates.Finding]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / name).write_bytes(data)
    return gates.scan(site, site_url=SITE, gates=["active-content"])


@pytest.mark.parametrize("objects,filters,names,script", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_an_action_in_an_object_stream_of_any_filter_is_refused(
        tmp_path: Path, objects: dict[int, bytes], filters: list[str], names: set[str],
        script: bool) -> None:
    data = objstm_pdf(objects, filters)
    path = tmp_path / "x.pdf"
    path.write_bytes(data)
    _poppler(path)  # a reader opens it
    if script:
        assert "app.alert" in _poppler(path, "-js")  # and finds the script
    # The raw bytes and Flate streams show none of it: the old reading passed such a file.
    from temoin.gates.extract import _pdf_actions, _pdf_blob

    assert _pdf_actions(_pdf_blob(data)) == []
    assert set(pdf_gate.actions(data, markup.Origin(SITE))) == names
    found = _found(tmp_path, "x.pdf", data)
    assert [(f.gate, f.path) for f in found] == [("active-content", "x.pdf")]
    assert found[0].detail == "PDF declares " + ", ".join(sorted(names))


def test_a_link_to_the_site_itself_and_a_destination_pass(tmp_path: Path) -> None:
    data = objstm_pdf(_doc(b"/OpenAction [3 0 R /FitH null]",
                           LINK % b"<< /S /URI /URI (" + SITE.encode() + b"cases/x/) >>"),
                      ["/ASCII85Decode", "/FlateDecode"])
    _poppler(tmp_path.joinpath("ok.pdf").write_bytes(data) and tmp_path / "ok.pdf")
    assert pdf_gate.actions(data, markup.Origin(SITE)) == []
    assert _found(tmp_path, "ok.pdf", data) == []


def test_an_action_added_or_removed_by_an_incremental_update_is_refused(tmp_path: Path) -> None:
    clean = objstm_pdf(_doc(), ["/FlateDecode"])
    assert pdf_gate.actions(clean, markup.Origin(SITE)) == []
    prev = int(clean.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    # The update replaces the catalog (object 1) with one that runs a script on opening,
    # inside an ASCII85 object stream.
    update = objstm_pdf({1: CATALOG % b"/Names << /JavaScript << /Names [(x) << /S /JavaScript "
                                      b"/JS (app.alert\\(3\\)) >>] >> >>"},
                        ["/ASCII85Decode"], prefix=clean, prev=prev, size=6)
    path = tmp_path / "u.pdf"
    path.write_bytes(update)
    assert "app.alert(3)" in _poppler(path, "-js")
    assert {"/JavaScript", "/JS"} <= set(pdf_gate.actions(update, markup.Origin(SITE)))
    # A script in the first revision, removed by an update: still in the file, refused.
    hidden = objstm_pdf(_doc(b"/OpenAction << /S /Launch /F (calc.exe) >>"), ["/LZWDecode"])
    prev = int(hidden.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    fixed = objstm_pdf({1: CATALOG % b""}, ["/FlateDecode"], prefix=hidden, prev=prev, size=6)
    assert "/Launch" in pdf_gate.actions(fixed, markup.Origin(SITE))


def test_a_pdf_no_parser_reads_is_refused(tmp_path: Path) -> None:
    found = _found(tmp_path, "junk.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 10)
    assert any("unreadable by qpdf" in f.detail for f in found), found


def test_a_generated_bulletin_passes(tmp_path: Path) -> None:
    from fpdf import FPDF

    doc = FPDF()
    doc.add_page()
    doc.set_font("helvetica", size=12)
    doc.cell(text="Bulletin", link=SITE + "cases/")
    doc.set_display_mode("fullwidth")
    data = bytes(doc.output())
    assert pdf_gate.actions(data, markup.Origin(SITE)) == []


def test_strings_in_pdfdocencoding_are_read_as_readers_decode_them() -> None:
    """A note's text in PDFDocEncoding (no byte-order mark): 0x95 is "Ł", 0x96 "Œ", 0x9C
    "œ", 0x97 "Š" there, C1 controls in latin-1. The canary scan reads `strings`."""
    import pikepdf

    doc = pikepdf.new()
    doc.add_blank_page()
    note = pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Text,
                              Rect=[0, 0, 10, 10],
                              Contents=pikepdf.String(b"\x95ukasz \x96dipe S\x9cur \x97imon"))
    doc.pages[0].Annots = doc.make_indirect(pikepdf.Array([note]))
    out = io.BytesIO()
    doc.save(out)
    assert "Łukasz Œdipe Sœur Šimon" in pdf_gate.strings(out.getvalue())


def plain_read(data: bytes) -> pdf_gate.Reading:
    """`pdf.read` as it was before `pdf.inspect` (issue 18): its own opening of each
    revision, apart from `actions`', every object walked for strings; and whether the file
    is one clean revision in which no object has a /CropBox."""
    found: dict[str, None] = {}
    names: set[bytes] = set()  # and every object's names (attack round 19)
    uncropped = False
    info: str | None = None
    metadata: str | None = None
    uncropped = False
    for revision in pdf_gate._revisions(data):
        try:
            with pikepdf.open(io.BytesIO(revision)) as pdf:
                if len(pdf.objects) > pdf_gate.MAX_OBJECTS:
                    continue
                for obj, canon in pdf_strings.canonicals(pdf):
                    text = canon if isinstance(canon, bytes) else b""
                    names.update(pdf_strings._NAME.findall(text))
                    pdf_strings._collect(obj, found, 0, names=names)
                if revision is data and len(pdf_gate._EOF.findall(data)) == 1 and \
                        "/Prev" not in pdf.trailer:
                    info, metadata = pdf_gate._info(pdf), pdf_gate._metadata(pdf)
                    uncropped = not any(pdf_gate._crops(o) for o in pdf.objects)
                    if pdf.get_warnings():
                        info = metadata = None
        except (pikepdf.PdfError, ValueError, RecursionError):
            info = metadata = None
            continue
    if info is None or metadata is None:
        info = metadata = None
        uncropped = False
    for text in sorted({pdf_strings.name_text(name) for name in names}):
        found.setdefault(text, None)

    drawn: list[str] | None = []
    decoded: dict[str, None] = {}  # every stream's data as qpdf decodes it (attack round 21)
    for revision in pdf_gate._revisions(data):
        try:
            with pikepdf.open(io.BytesIO(revision)) as opened:
                drawn = pdf_gate._shown(opened, drawn)
                if len(opened.objects) <= pdf_gate.MAX_OBJECTS:
                    pdf_strings.stream_texts(opened, decoded)
        except (pikepdf.PdfError, ValueError, RecursionError):
            continue
    return pdf_gate.Reading("\n".join(found), info, metadata, uncropped,
                            None if drawn is None else "\n".join(drawn), "\n".join(decoded))


def _classic_update(data: bytes, info: bytes) -> bytes:
    """`data` (a PDF with a classic cross-reference table) with an incremental update that
    gives it a new Info dictionary: two clean revisions."""
    import re

    size = int(re.findall(rb"/Size (\d+)", data)[-1])
    root = re.findall(rb"/Root (\d+ \d+ R)", data)[-1]
    prev = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    obj_at = len(data)
    out = data + b"%d 0 obj\n%s\nendobj\n" % (size, info)
    xref_at = len(out)
    return out + (b"xref\n%d 1\n%010d 00000 n \ntrailer\n<< /Size %d /Root %s /Info %d 0 R "
                  b"/Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
                  % (size, obj_at, size + 1, root, size, prev, xref_at))


def _hostile_pdfs() -> list[bytes]:
    """Every PDF these tests refuse or pass, broken ones, updated ones, and a bulletin."""
    from fpdf import FPDF

    out = [objstm_pdf(c[1], c[2]) for c in CASES]
    clean = objstm_pdf(_doc(), ["/FlateDecode"])
    prev = int(clean.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    out.append(objstm_pdf({1: CATALOG % b"/OpenAction << /S /JavaScript /JS (x) >>"},
                          ["/ASCII85Decode"], prefix=clean, prev=prev, size=6))
    many = out[-1] + out[-1][len(clean):] * (pdf_gate.MAX_REVISIONS + 1)  # too many updates
    out += [many, clean, clean[:len(clean) // 2], clean + b"junk %%EOF\n",
            b"%PDF-1.7\n" + b"\x00garbage" * 10, b"", b"%%EOF"]
    doc = FPDF()
    doc.add_page()
    doc.set_font("helvetica", size=12)
    doc.cell(text="Bulletin Ndayisenga +257 79 12 34 56", link=SITE + "cases/")
    doc.set_title("Titre \u00e9l\u00e8ve")
    doc.set_creator("t\u00e9moin")
    out.append(bytes(doc.output()))
    out.append(_classic_update(out[-1], b"<< /Title (Ndayisenga) /Producer (x) >>"))
    note = pikepdf.new()
    note.add_blank_page()
    note.pages[0].Annots = note.make_indirect(pikepdf.Array([pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Text, Rect=[0, 0, 10, 10],
        Contents=pikepdf.String("\ufeffNdayisenga".encode("utf-16-be")))]))
    note.docinfo["/Title"] = "Jean"
    buf = io.BytesIO()
    note.save(buf)
    out.append(buf.getvalue())
    return out


def test_one_opening_reads_what_actions_and_read_read_apart() -> None:
    """`pdf.inspect`, which opens each revision once for the active-content gate and the
    canary scan, gives exactly the actions and the reading of the two openings it replaced,
    on every PDF above: actions, updates, too many updates, truncated and junk files."""
    origin = markup.Origin(SITE)
    pdfs = _hostile_pdfs()
    for data in pdfs:
        assert pdf_gate.inspect(data, origin) == (pdf_gate.actions(data, origin),
                                                  plain_read(data)), data[:80]
        assert pdf_gate.read(data) == plain_read(data)
    assert {a for d in pdfs for a in pdf_gate.actions(d, origin)} >= {
        "/JavaScript", "/Launch", f"more than {pdf_gate.MAX_REVISIONS} incremental updates"}
    assert any("unreadable" in a for d in pdfs for a in pdf_gate.actions(d, origin))


def _regex_blob(data: bytes) -> bytes:
    """`extract._pdf_blob` as it was written before `extract._streams` (issue 18)."""
    import re

    from temoin.gates import bounds

    stream = re.compile(rb"stream\r?\n(.*?)endstream", re.S)
    chunks = []
    for m in stream.finditer(data):
        try:
            inflated = bounds.inflate(m[1])[0]
        except zlib.error:
            inflated = m[1]
        if bounds.textual(inflated):
            chunks.append(inflated)
    return stream.sub(b"stream\nendstream", data) + b"\n" + b"\n".join(chunks)


def test_the_blob_of_streams_is_what_the_regex_made() -> None:
    """`_pdf_blob` finds stream bodies with `bytes.find` (issue 18): the same blob as the
    regex it replaced, on every PDF above and on streams cut short, nested, empty, with
    \\r\\n or a lone \\r, an "endstream" inside "stream" and none at all."""
    from temoin.gates import extract

    body = zlib.compress(b"BT (Ndayisenga) Tj ET")
    odd = [b"", b"stream", b"stream\n", b"stream\nendstream", b"streamendstream",
           b"stream\r\nxendstream stream\rx\nendstream", b"stream\r\r\nendstream",
           b"1 0 obj<<>>stream\n" + body + b"endstream endobj stream\nno end",
           b"stream\nstream\nendstream\nendstream\nstream\n\nendstreamendstream",
           b"xxendstream\nstream\nendstrea", b"stream\n" + b"\xff" * 70000 + b"endstream",
           b"stream\n" + body + b"endstream" * 3 + b"stream\r\n" + body + b"endstream"]
    for data in [*_hostile_pdfs(), *odd, b"".join(odd), bytes(reversed(b"".join(odd)))]:
        assert extract._pdf_blob(data) == _regex_blob(data), data[:80]


def test_a_string_is_told_in_canonical_text_as_the_regex_told_it() -> None:
    """`_holds_string` (issue 18) answers as `_STRING.search` did, on every object of the
    PDFs above and on "<" and "(" at the edges, doubled, tripled and alone."""
    texts = [b"", b"<", b"<<", b"<<<", b"<<<<", b"(", b"<< >>", b"<<>>", b"<a>", b"<< /A <41> >>",
             b"<</A<41>>>", b"x<", b"<x", b"x<<", b"<<x<", b"<x<<", b"[ 1 2 ]", b"<<(a)>>",
             b"<< /A [ <> ] >>", b"a<<b<<c", b"a<b", b"<<<a>>>"]
    for data in _hostile_pdfs():
        with contextlib.suppress(pikepdf.PdfError, ValueError, RecursionError), \
                pikepdf.open(io.BytesIO(data)) as pdf:
            texts += [c for _o, c in pdf_strings.canonicals(pdf) if isinstance(c, bytes)]
    for text in texts:
        expected = pdf_strings._STRING.search(text) is not None
        assert pdf_strings._holds_string(text) == expected, text


def test_qpdf_reads_a_sealed_copy_of_the_bytes_gated() -> None:
    """qpdf reads a PDF from a sealed in-memory file (issue 18: no Python call per read):
    the bytes given, which nothing can change once written, and no descriptor is left
    open; what it reads is what it read from a BytesIO (`plain_read`, above, compares
    every hostile PDF)."""
    import os

    data = _pdf_with(note=b"Kango a dit")
    before = set(os.listdir("/proc/self/fd"))
    path = pdf_gate._sealed(data)
    assert path is not None
    with open(path, "rb") as f:
        assert f.read() == data
    with pytest.raises(PermissionError), open(path, "r+b") as f:
        f.write(b"%PDF-9")
    os.close(int(path.rsplit("/", 1)[1]))
    with pdf_gate._open(data) as pdf:
        assert len(pdf.pages) == 1
    for junk in (b"", b"junk"):
        with pytest.raises(pikepdf.PdfError):
            pdf_gate._open(junk)
    assert set(os.listdir("/proc/self/fd")) == before


def _pdf_with(trailer_id: bytes | None = None, sig_contents: bytes | None = None,
              note: bytes | None = None) -> bytes:
    """A one-page PDF whose file identifier, signature value or note text is given."""
    doc = pikepdf.new()
    doc.add_blank_page()
    annots = []
    if note is not None:
        annots.append(pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Text,
                                          Rect=[0, 0, 10, 10], Contents=pikepdf.String(note)))
    if sig_contents is not None:
        sig = pikepdf.Dictionary(Type=pikepdf.Name.Sig, Filter=pikepdf.Name("/Adobe.PPKLite"),
                                 ByteRange=[0, 10, 20, 10],
                                 Contents=pikepdf.String(sig_contents))
        widget = doc.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, FT=pikepdf.Name.Sig,
            Rect=[0, 0, 0, 0], T=pikepdf.String("Signature"), V=doc.make_indirect(sig)))
        annots.append(widget)
        doc.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([widget]), SigFlags=3)
    if annots:
        doc.pages[0].Annots = doc.make_indirect(pikepdf.Array(annots))
    out = io.BytesIO()
    if trailer_id is not None:
        doc.trailer.ID = pikepdf.Array([pikepdf.String(trailer_id), pikepdf.String(trailer_id)])
        doc.save(out, static_id=True)
        data = out.getvalue()
        assert bytes(pikepdf.open(io.BytesIO(data)).trailer.ID[0]) == trailer_id
        return data
    doc.save(out)
    return out.getvalue()


# Random bytes that PDFDocEncoding decodes as letters: "Kângo" between two binary bytes.
NOISE = b"\x9a\x02K\xe2ngo\x11\xfe\xb3\x04\xc7\x88\x01\xee\x93\x10"


@pytest.mark.parametrize("where", ["file identifier", "signature value"])
def test_binary_strings_are_not_read_as_words(tmp_path: Path, where: str) -> None:
    """A PDF's file identifier (/ID, random or hashed bytes in every bulletin) and a
    signature's DER value are byte strings: read as PDFDocEncoding text, their bytes make
    letters, and a changed bulletin's /ID "held" a private place and two e-mail addresses
    at 200 cases. They are read as `strings -n 8` reads a file, so a short value in them
    is noise, not a finding; the same bytes in a note's text are still found."""
    kango = gates.Canary("Kango", "BI-2025-AAAAAA", "sources.0.email")
    data = (_pdf_with(trailer_id=NOISE) if where == "file identifier"
            else _pdf_with(sig_contents=NOISE))
    assert _scan(tmp_path, "bulletin.pdf", data, [kango]) == []
    noted = _scan(tmp_path, "note.pdf", _pdf_with(note=b"Kango a dit"), [kango])
    assert [f.path for f in noted] == ["note.pdf"]


@pytest.mark.parametrize("where", ["file identifier", "signature value"])
def test_a_name_written_into_a_binary_string_is_found(tmp_path: Path, where: str) -> None:
    """Read as runs of printable characters, a name written into an identifier or a
    signature value between binary bytes is still a finding."""
    name = gates.Canary("Jean Ndayisenga", "BI-2025-AAAAAA", "victims.0.full_name")
    value = b"\x01\x9aJean Ndayisenga\x02\xfe"
    data = (_pdf_with(trailer_id=value) if where == "file identifier"
            else _pdf_with(sig_contents=value))
    assert [f.path for f in _scan(tmp_path, "report.pdf", data, [name])] == ["report.pdf"]


def _scan(tmp_path: Path, name: str, data: bytes, canaries: list[gates.Canary]
          ) -> list[gates.Finding]:
    site = tmp_path / name.replace(".", "-")
    site.mkdir()
    (site / name).write_bytes(data)
    return [f for f in gates.scan(site, canaries=canaries, gates=["canary"])]


# -- the text poppler prints: in process when its library reads what the tool prints -------
def _page_of(*lines: str, name_at: tuple[float, float] | None = None,
             crop: list[float] | None = None, rotate: int = 0) -> bytes:
    """A page of `lines` in the bulletins' Unicode font (glyph ids: the raw bytes show no
    letter), "Jean Ndayisenga" drawn at `name_at` (mm from the top left), the page cropped
    to `crop` (points) and turned by `rotate` if given."""
    from tests.helpers import unicode_pdf

    data = unicode_pdf(*lines, text_at=None if name_at is None else (*name_at,
                                                                      "Jean Ndayisenga"))
    if crop is None and not rotate:
        return data
    with pikepdf.open(io.BytesIO(data)) as pdf:
        if crop is not None:
            pdf.pages[0].CropBox = pikepdf.Array(crop)
        if rotate:
            pdf.pages[0].Rotate = rotate
        out = io.BytesIO()
        pdf.save(out)
    return out.getvalue()


def _tool_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-q", "-enc", "UTF-8", str(path), "-"],
                          capture_output=True, check=True).stdout.decode("utf-8", "replace")


def test_a_name_drawn_outside_the_crop_box_is_found(tmp_path: Path) -> None:
    """The pdftotext tool clips a page to its media box, poppler's library to its crop box:
    a name drawn between the two is printed by the tool only, so a cropped PDF is read by
    the tool, and the name is found."""
    from temoin.gates import extract

    data = _page_of("Rapport public", name_at=(120, 250), crop=[0, 400, 595.28, 841.89])
    site = tmp_path / "site"
    site.mkdir()
    path = site / "x.pdf"
    path.write_bytes(data)
    assert b"Ndayisenga" not in extract._pdf_blob(data)  # glyph ids, not letters
    assert "Jean Ndayisenga" in _tool_text(path)
    if extract._poppler_cpp is not None:
        assert "Ndayisenga" not in "".join(extract._poppler_cpp.PDF(io.BytesIO(data)))
    reading = pdf_gate.read(data)
    assert not reading.uncropped
    assert "Jean Ndayisenga" in extract._pdftotext(path, data, reading)
    found = gates.scan(site, canaries=[gates.Canary("jean ndayisenga", "BI-2025-000001",
                                                    "victims.0.name")], gates=["canary"])
    assert [(f.gate, f.path) for f in found] == [("canary", "x.pdf")]


@pytest.mark.parametrize("rotate", [0, 90, 270])
def test_poppler_read_in_process_prints_what_the_tool_prints(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rotate: int) -> None:
    """An uncropped PDF in one clean revision is read by poppler's library in this process:
    the very text the tool prints, names near every edge of a turned page included; without
    the library, the tool reads it."""
    from temoin.gates import extract

    if extract._poppler_cpp is None:
        pytest.skip("poppler's library binding (pdftotext) is not installed")
    for i, data in enumerate([
            _page_of("Bulletin n° 6 — période du 2 au 8 mars 2015", "Ndayi\u2010", "senga",
                     name_at=(5, 290), rotate=rotate),
            _page_of("Rapport", name_at=(180, 5), rotate=rotate),
            _page_of(*[f"Ligne {n} : Jean-Marie Bizimana, 79 12 34 56" for n in range(60)],
                     rotate=rotate)]):
        path = tmp_path / f"{i}.pdf"
        path.write_bytes(data)
        reading = pdf_gate.read(data)
        assert reading.uncropped
        text = extract._pdftotext(path, data, reading)
        assert text == _tool_text(path) and "Jean" in text
        monkeypatch.setattr(extract, "_poppler_cpp", None)
        assert extract._pdftotext(path, data, reading) == text
        monkeypatch.undo()


def test_every_string_is_read_though_objects_without_one_are_passed_over(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`pdf.read` walks only the objects whose canonical text shows a string: a literal or
    hexadecimal one anywhere among an object's direct objects (nested arrays and
    dictionaries, a stream's dictionary, an indirect string, a dictionary beside "<<") is
    still read, as walking every object reads it."""
    doc = pikepdf.new()
    doc.add_blank_page()
    hexed = pikepdf.String(b"Bizimana Hex\x01")  # not printable: written <…> by qpdf
    assert hexed.unparse().startswith(b"<42")
    doc.Root.Deep = pikepdf.Array([1, pikepdf.Array([2, pikepdf.Dictionary(
        K=pikepdf.Dictionary(T=pikepdf.String("Ndayisenga Nested")))])])
    doc.Root.Odd = pikepdf.Dictionary({"/Name(With)Parens": pikepdf.Name("/X"),
                                       "/Inner": pikepdf.Dictionary(V=hexed)})
    stream = pikepdf.Stream(doc, b"q Q")
    stream.Note = pikepdf.String(b"\xfe\xff" + "Niyonzima Stream".encode("utf-16-be"))
    doc.Root.S = doc.make_indirect(stream)
    doc.Root.Alone = doc.make_indirect(pikepdf.String("Hakizimana Indirect"))
    doc.Root.Empty = pikepdf.String("")
    out = io.BytesIO()
    doc.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    data = out.getvalue()
    assert b"Nested" not in data  # in an object stream, compressed
    strings = pdf_gate.read(data).strings
    for name in ("Ndayisenga Nested", "Bizimana Hex", "Niyonzima Stream",
                 "Hakizimana Indirect"):
        assert name in strings, (name, strings)
    monkeypatch.setattr(pdf_strings, "_may_hold_strings", lambda obj, canon: True)
    assert pdf_gate.read(data).strings == strings
