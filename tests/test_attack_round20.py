"""Attack round 20: hostile output files the gates passed while a reader shows a private name
(P1), and what a build leaves behind when its decrypting child dies (P2)."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pikepdf
import pytest

from temoin import gates

NAME = "Jean Ndayisenga"
CANARIES = [gates.Canary(NAME.lower(), "BI-2025-000001", "victims.0.name")]


def _scan(tmp_path: Path, rel: str, data: bytes) -> list[gates.Finding]:
    site = tmp_path / "site"
    site.mkdir()
    (site / rel).write_bytes(data)
    return gates.scan(site, canaries=CANARIES)


# --- gzip: a member's header holds a file name, a comment and extra fields --------------

def _member(body: bytes, name: bytes | None = None, comment: bytes | None = None,
            extra: bytes | None = None) -> bytes:
    """One gzip member (RFC 1952) with the optional header fields given."""
    flags, header = 0, b""
    if extra is not None:
        flags |= 4
        header += struct.pack("<H", len(extra)) + extra
    if name is not None:
        flags |= 8
        header += name + b"\0"
    if comment is not None:
        flags |= 16
        header += comment + b"\0"
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = deflate.compress(body) + deflate.flush()
    return (b"\x1f\x8b\x08" + bytes([flags]) + b"\0\0\0\0\0\xff" + header + raw
            + struct.pack("<II", zlib.crc32(body), len(body)))


@pytest.mark.parametrize("member", [
    _member(b"hello\n", name=f"{NAME}.txt".encode()),
    _member(b"hello\n", comment=f"source: {NAME}".encode()),
    _member(b"hello\n", extra=b"JN" + struct.pack("<H", len(NAME)) + NAME.encode()),
    _member(b"hello\n") + _member(b"world\n", name=f"{NAME}.txt".encode("latin-1")),
], ids=["fname", "fcomment", "fextra", "second-member-fname"])
def test_gzip_header_fields_are_scanned(tmp_path: Path, member: bytes) -> None:
    """`gzip -lN` lists the name, `gunzip -N` writes a file named after the victim, and a
    text editor shows the header as it is: the gate read only the inflated body."""
    assert _scan(tmp_path, "notes.txt.gz", member), "a name in a gzip header passed"


def test_gzip_name_is_what_gzip_shows(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt.gz"
    path.write_bytes(_member(b"hello\n", name=f"{NAME}.txt".encode()))
    listed = subprocess.run(["gzip", "-lN", str(path)], capture_output=True, text=True,
                            check=True).stdout
    assert NAME in listed


def test_gzip_sitemap_as_mkdocs_writes_it_passes(tmp_path: Path) -> None:
    """The fix reads header fields: a file name that is no canary (MkDocs' sitemap.xml.gz
    names "sitemap.xml") still passes."""
    import gzip

    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, filename="sitemap.xml.gz", mode="wb", mtime=0) as gz:
        gz.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<urlset></urlset>\n')
    assert not _scan(tmp_path, "sitemap.xml.gz", buf.getvalue())


# --- PDF: what a reader decodes that the "shown" reading did not -------------------------

def _pdf(content: bytes, fonts: dict[str, pikepdf.Dictionary], build=None) -> bytes:
    pdf = pikepdf.new()
    font_dict = pikepdf.Dictionary({f"/{k}": pdf.make_indirect(v) for k, v in fonts.items()})
    page = pikepdf.Page(pikepdf.Dictionary(
        Type=pikepdf.Name.Page, MediaBox=[0, 0, 300, 300],
        Resources=pikepdf.Dictionary(Font=font_dict), Contents=pdf.make_stream(content)))
    pdf.pages.append(page)
    if build is not None:
        build(pdf)
    out = io.BytesIO()
    pdf.save(out, compress_streams=False,
             stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return out.getvalue()


def _helvetica() -> pikepdf.Dictionary:
    return pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                              BaseFont=pikepdf.Name.Helvetica)


_PARTIAL_CMAP = (b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
                 b"/CMapName /X def 1 begincodespacerange <00> <FF> endcodespacerange\n"
                 b"1 beginbfchar <01> <0020> endbfchar\n"
                 b"endcmap CMapName currentdict /CMap defineresource pop end end\n")


def _partial_tounicode_pdf(at: bytes) -> bytes:
    def add_cmap(pdf: pikepdf.Pdf) -> None:
        font = pdf.pages[0].Resources.Font.F1
        font.ToUnicode = pdf.make_stream(_PARTIAL_CMAP)
    hexed = b"<" + NAME.encode().hex().encode() + b">"
    return _pdf(b"BT /F1 12 Tf " + at + b" Td " + hexed + b" Tj ET",
                {"F1": _helvetica()}, add_cmap)


def _pdftotext(tmp_path: Path, data: bytes) -> str:
    """What poppler's pdftotext prints of `data`: the name drawn on the page shows that a
    reader decodes it as the test's off-page copy would be decoded."""
    path = tmp_path / "on.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout

def test_partial_tounicode_map_falls_back_to_the_encoding(tmp_path: Path) -> None:
    """A ToUnicode map that maps one code only: readers decode every other code through the
    font's encoding (poppler prints the name when it is on the page), the `shown` reading
    dropped them, so the name drawn off the page (dropped by poppler, kept by a reader's
    text layer) passed."""
    assert NAME in _pdftotext(tmp_path, _partial_tounicode_pdf(b"20 150"))
    assert _scan(tmp_path, "b.pdf", _partial_tounicode_pdf(b"2000 2000")), \
        "a name in codes the ToUnicode map leaves out passed"


def _type3_pdf() -> bytes:
    """A Type3 font whose glyph "a" draws the name with Helvetica (its procedure hex-encoded:
    the raw and inflated bytes show nothing); the page draws one "a"."""
    def add_font(pdf: pikepdf.Pdf) -> None:
        body = b"0 0 d0 BT /H 0.08 Tf 0 0.3 Td (" + NAME.encode() + b") Tj ET"
        proc = pdf.make_stream(body.hex().encode() + b">")
        proc.Filter = pikepdf.Name.ASCIIHexDecode
        pdf.pages[0].Resources.Font.T = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type3, FontBBox=[0, 0, 1, 1],
            FontMatrix=[1, 0, 0, 1, 0, 0], CharProcs=pikepdf.Dictionary(a=proc),
            Encoding=pikepdf.Dictionary(Type=pikepdf.Name.Encoding,
                                        Differences=[97, pikepdf.Name.a]),
            FirstChar=97, LastChar=97, Widths=[1],
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(
                H=pdf.make_indirect(_helvetica())))))
    return _pdf(b"BT /T 200 Tf 20 100 Td (a) Tj ET", {}, add_font)


def test_type3_glyph_procedure_text_is_read(tmp_path: Path) -> None:
    """poppler draws the name on the page (pdftoppm), pdftotext prints "a": text operators
    inside a Type3 glyph's procedure were read by no gate."""
    assert _scan(tmp_path, "b.pdf", _type3_pdf()), "text inside a Type3 glyph passed"


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils")
def test_type3_glyph_procedure_is_drawn(tmp_path: Path) -> None:
    """The reproducer is real: poppler renders ink where the glyph draws the name."""
    path = tmp_path / "t3.pdf"
    path.write_bytes(_type3_pdf())
    out = subprocess.run(["pdftoppm", "-r", "50", "-gray", str(path)], capture_output=True,
                         check=True).stdout
    assert sum(b < 128 for b in out.split(b"\n", 3)[3]) > 20  # dark pixels: the name


def _pattern_pdf() -> bytes:
    """A tiling pattern whose cell writes the name (hex-encoded), filling a rectangle."""
    def add_pattern(pdf: pikepdf.Pdf) -> None:
        body = b"BT /H 10 Tf 0 5 Td (" + NAME.encode() + b") Tj ET"
        cell = pdf.make_stream(body.hex().encode() + b">")
        cell.Filter = pikepdf.Name.ASCIIHexDecode
        cell.Type = pikepdf.Name.Pattern
        cell.PatternType = 1
        cell.PaintType = 1
        cell.TilingType = 1
        cell.BBox = [0, 0, 100, 20]
        cell.XStep = 100
        cell.YStep = 20
        cell.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(
            H=pdf.make_indirect(_helvetica())))
        pdf.pages[0].Resources.Pattern = pikepdf.Dictionary(P1=pdf.make_indirect(cell))
    return _pdf(b"/Pattern cs /P1 scn 0 0 300 300 re f", {}, add_pattern)


def test_tiling_pattern_text_is_read(tmp_path: Path) -> None:
    assert _scan(tmp_path, "b.pdf", _pattern_pdf()), "text inside a tiling pattern passed"


# --- P2: the child decrypting ahead dies during a build -----------------------------------

def _kill_child_when_gpg_runs(base: Path, parent: int, done: list[int]) -> None:
    """SIGKILL the process whose batch folder in `base` shows gpg running (its stderr file
    exists): the build's forked child, never this process."""
    import os
    import signal
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not done:
        for d in base.glob("temoin-batch-*-*"):
            pid = int(d.name.split("-")[2])
            if pid != parent and (d / "stderr").exists():
                os.kill(pid, signal.SIGKILL)
                done.append(pid)
                return
        time.sleep(0.001)


def test_child_killed_during_build_leaves_no_plaintext(org, monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    """The OOM killer (the child is a fork of the build, as large) or an editor's `kill`
    ends the process decrypting ahead while gpg writes the parts' plaintexts into its batch
    folder: the build stops with an error, and must leave no plaintext behind (the orphaned
    gpg went on writing, and the folder stayed in RAM until some later build)."""
    import os
    import tempfile
    import threading
    import time

    from temoin import config
    from temoin.errors import TemoinError
    from temoin.publish import build as build_mod

    for n in range(40):
        org.add_case(status="review", private={"victims": [{"full_name": f"Victime {n} "
                                                              f"Ndayisenga{n}"}]})
    base = Path(tempfile.mkdtemp(prefix="attack20-", dir="/dev/shm"))
    monkeypatch.setenv("TEMOIN_TMPDIR", str(base))
    done: list[int] = []
    watcher = threading.Thread(target=_kill_child_when_gpg_runs,
                               args=(base, os.getpid(), done), daemon=True)
    watcher.start()
    try:
        with pytest.raises(TemoinError):
            build_mod.build(org.repo, config.load(org.repo), keyring=org.keyring)
        assert done, "the child was never seen running gpg"
        time.sleep(3)  # an orphaned gpg finishes writing
        left = [p for p in base.rglob("*") if p.is_file() and p.suffix != ".gpg"
                and p.name != "stderr" and p.stat().st_size and
                set(p.read_bytes()) != {0}]
        assert not left, f"plaintext left in RAM after the build stopped: {left}"
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _actual_text_pdf(at: bytes) -> bytes:
    """An "x" drawn at `at`, marked with the name as its /ActualText, the content stream
    hex-encoded (no raw or inflated byte shows the name)."""
    def hex_contents(pdf: pikepdf.Pdf) -> None:
        body = pdf.pages[0].Contents.read_bytes()
        pdf.pages[0].Contents = pdf.make_stream(body.hex().encode() + b">")
        pdf.pages[0].Contents.Filter = pikepdf.Name.ASCIIHexDecode
    body = (b"BT /F1 12 Tf " + at + b" Td /Span <</ActualText (" + NAME.encode()
            + b")>> BDC (x) Tj EMC ET")
    return _pdf(body, {"F1": _helvetica()}, hex_contents)


def test_actual_text_is_read_wherever_it_is_drawn(tmp_path: Path) -> None:
    """poppler prints a marked content's /ActualText in place of its glyphs (on the page);
    drawn off the page, poppler drops it and the `shown` reading, which read only the
    text operators, never saw it."""
    assert NAME in _pdftotext(tmp_path, _actual_text_pdf(b"20 150"))
    assert _scan(tmp_path, "b.pdf", _actual_text_pdf(b"2000 2000")), \
        "an /ActualText drawn off the page passed"


def _build_in_own_group(repo: Path, home: str) -> None:
    import os

    from temoin import config, keys
    from temoin.publish import build as build_mod

    os.setpgid(0, 0)
    build_mod.build(repo, config.load(repo), keyring=keys.Keyring(home))


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_build_stopped_by_a_signal_leaves_no_plaintext(org, monkeypatch: pytest.MonkeyPatch,
                                                       signame: str) -> None:
    """`kill`, `timeout`, systemd (SIGTERM), a closed terminal (SIGHUP) or Ctrl-C (SIGINT)
    sent to the build's process group while gpg writes the parts' plaintexts: every
    process of the build ends, and no plaintext may stay in RAM behind it."""
    import multiprocessing
    import os
    import signal
    import tempfile
    import time

    for n in range(40):
        org.add_case(status="review", private={"victims": [{"full_name": f"Victime {n} "
                                                              f"Ndayisenga{n}"}]})
    base = Path(tempfile.mkdtemp(prefix="attack20-", dir="/dev/shm"))
    monkeypatch.setenv("TEMOIN_TMPDIR", str(base))
    proc = multiprocessing.get_context("fork").Process(
        target=_build_in_own_group, args=(org.repo, str(org.keyring.home)))
    proc.start()
    try:
        deadline = time.monotonic() + 120
        sent = False
        while time.monotonic() < deadline and proc.is_alive() and not sent:
            for d in base.glob("temoin-batch-*-*"):
                if (d / "0").exists():  # gpg has written a first plaintext
                    os.killpg(proc.pid, getattr(signal, signame))
                    sent = True
                    break
            time.sleep(0.001)
        assert sent, "gpg was never seen running"
        proc.join(60)
        time.sleep(3)  # anything orphaned finishes writing
        left = [p for p in base.rglob("*") if p.is_file() and p.suffix != ".gpg"
                and p.name != "stderr" and p.stat().st_size and
                set(p.read_bytes()) != {0}]
        assert not left, f"plaintext left in RAM after the build stopped: {left[:3]}"
    finally:
        with __import__("contextlib").suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)
        shutil.rmtree(base, ignore_errors=True)


def test_gzipped_pdf_is_read_as_a_pdf_or_refused(tmp_path: Path) -> None:
    """A browser shows `report.pdf.gz` served with Content-Encoding: gzip as the PDF; the
    gate read its inflated bytes as text only, so a name in the bulletins' Unicode font
    (glyph ids) passed, though poppler prints it."""
    import gzip

    from tests.helpers import unicode_pdf

    data = unicode_pdf("Rapport", f"{NAME} a été arrêté")
    assert _scan(tmp_path, "r.pdf.gz", gzip.compress(data, mtime=0)), \
        "a gzipped PDF holding the name passed"


def test_no_private_value_on_disk_during_a_build(org, tmp_path: Path) -> None:
    """Held: while a build runs (child decrypting ahead, MkDocs, gates), no file under /tmp,
    the repository or the cache folders holds a private value in plaintext."""
    import os
    import tempfile
    import threading
    import time

    from temoin import config
    from temoin.publish import build as build_mod

    secret = b"Kwizerimana Sentwalique"
    for n in range(10):
        org.add_case(status="review" if n % 2 else "published",
                     private={"victims": [{"full_name": secret.decode() + str(n)}]})
    tmp = Path(tempfile.gettempdir())
    before = set(os.listdir(tmp))
    fixed = [org.repo, Path(os.environ["XDG_CACHE_HOME"]), tmp_path]
    seen: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            roots = fixed + [tmp / n for n in set(os.listdir(tmp)) - before]
            for root in roots:
                if root.is_file():
                    root = root.parent  # a new file in /tmp: read with its folder
                    if root == tmp:
                        continue
                for dirpath, _dirs, files in os.walk(root):
                    for name in files:
                        p = os.path.join(dirpath, name)
                        try:
                            if os.path.islink(p) or os.path.getsize(p) > 1 << 22:
                                continue
                            with open(p, "rb") as f:
                                if secret in f.read():
                                    seen.append(p)
                        except OSError:
                            pass
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        build_mod.build(org.repo, config.load(org.repo), keyring=org.keyring)
    finally:
        stop.set()
        watcher.join()
    assert not [p for p in seen if "attack20" not in p], seen[:5]


def _gs_font_pdf(at: bytes) -> bytes:
    """Text drawn in a font set by a graphics state (`/G1 gs`, /Font in the ExtGState),
    whose /Differences give the codes "ABCD…" the glyphs of the name."""
    glyphs = ["J", "e", "a", "n", "space", "N", "d", "y", "i", "s", "g"]

    def add(pdf: pikepdf.Pdf) -> None:
        font = _helvetica()
        font.Encoding = pikepdf.Dictionary(
            Differences=[65, *[pikepdf.Name("/" + g) for g in glyphs]])
        pdf.pages[0].Resources.ExtGState = pikepdf.Dictionary(G1=pikepdf.Dictionary(
            Type=pikepdf.Name.ExtGState, Font=[pdf.make_indirect(font), 12]))
    return _pdf(b"BT /F1 12 Tf /G1 gs " + at + b" Td (ABCDEFGCHIJBDKC) Tj ET",
                {"F1": _helvetica()}, add)


def test_font_set_by_a_graphics_state_is_used(tmp_path: Path) -> None:
    """poppler decodes the text through the font `gs` sets (it prints the name on the
    page); `shown` knew only `Tf`, so the name drawn off the page passed."""
    assert NAME in _pdftotext(tmp_path, _gs_font_pdf(b"20 150"))
    assert _scan(tmp_path, "b.pdf", _gs_font_pdf(b"2000 2000")), \
        "a name in a font set by gs, off the page, passed"
