"""mime: find the encrypted body of what a source sent, and read what it decrypts to."""

from __future__ import annotations

import contextlib

import pytest

from temoin.errors import IntakeError
from temoin.intake import message, mime
from tests.intake_fixtures import (
    Keys,
    attached_email,
    attachment_part,
    encrypt,
    inline_email,
    inner_mime,
    intake_keyrings_fixture,  # noqa: F401 - the intake_keyrings fixture
    intake_keys_fixture,  # noqa: F401 - the intake_keys fixture
    multipart,
    outer_headers,
    part,
    pgp_mime,
)

TEXT = "Témoignage FICTIF : le 3 octobre à Gitega, canari-mime-7731."


def decrypt_body(k: Keys, env: mime.Envelope) -> bytes:
    res = k.editors.decrypt(env.ciphertexts[0])
    assert res.ok, res.reason
    return res.plaintext


@pytest.mark.parametrize("cte", ["7bit", "base64", "quoted-printable"])
def test_open_envelope_finds_pgp_mime_body_in_any_transfer_encoding(intake_keys: Keys,
                                                                    cte: str) -> None:
    ct = encrypt(intake_keys, inner_mime(TEXT, subject="Arrestation"))
    env = mime.open_envelope(pgp_mime(ct, cte=cte))
    assert env.kind == "pgp-mime" and env.from_email
    assert env.outer_subject == "..."
    assert env.plaintext_beside == ""
    assert len(env.ciphertexts) == 1
    content = mime.parse_plaintext(decrypt_body(intake_keys, env))
    assert content.text.strip() == TEXT
    assert content.subject == "Arrestation"


def test_parse_plaintext_reads_protected_headers_and_attachment_names(intake_keys: Keys) -> None:
    photo = bytes(range(256)) * 4
    inner = inner_mime(TEXT, subject="Sujet protégé", legacy_display=True, attachments=[
        ("photo été.jpg", "image/jpeg", photo, "2231"),
        ("rapport médical.pdf", "application/pdf", b"%PDF-1.4 fictif", "2047"),
    ])
    content = mime.parse_plaintext(inner)
    assert content.subject == "Sujet protégé"
    # The legacy-display part repeats the headers for old clients: it is not testimony.
    assert content.text.strip() == TEXT
    assert [(a.name, a.media_type, a.data) for a in content.attachments] == [
        ("photo été.jpg", "image/jpeg", photo),
        ("rapport médical.pdf", "application/pdf", b"%PDF-1.4 fictif"),
    ]
    assert [a.safe_name for a in content.attachments] == ["photo été.jpg",
                                                          "rapport médical.pdf"]


@pytest.mark.parametrize("name", ["../../etc/passwd", "facture\u202egpj.exe", "a\x00b\x1bc.txt",
                                  "x" * 300 + ".pdf", "..", "\\\\server\\share\\evil.doc"])
def test_parse_plaintext_makes_hostile_names_safe(name: str) -> None:
    inner = inner_mime(TEXT, attachments=[(name, "application/octet-stream", b"data", "2231")])
    [att] = mime.parse_plaintext(inner).attachments
    assert att.name == name.replace("\x00", "\ufffd") or att.name  # original kept (private)
    safe = att.safe_name
    assert "/" not in safe and "\\" not in safe and not safe.startswith(".")
    assert all(c.isprintable() for c in safe) and "\u202e" not in safe
    assert 0 < len(safe) <= 120


def test_open_envelope_reads_inline_pgp_in_text_html_and_alternative(intake_keys: Keys) -> None:
    ct = encrypt(intake_keys, TEXT.encode())
    for email_bytes, beside in (
            (inline_email(ct), ""),
            (inline_email(ct, html=True, remote_img=True), "[image: logo]"),  # never fetched
            (inline_email(ct, alternative=True, cte="base64"), ""),
            (inline_email(ct, html=True, cte="base64", charset="iso-8859-1"), "")):
        env = mime.open_envelope(email_bytes)
        assert env.kind == "inline"
        assert env.outer_subject == "Témoignage"
        assert env.plaintext_beside == beside
        assert mime.parse_plaintext(decrypt_body(intake_keys, env)).text == TEXT


def test_html_to_text_never_keeps_script_style_or_remote_image() -> None:
    html = ('<html><head><title>t</title><style>body{background:url(https://x.invalid/a)}'
            '</style><script>fetch("https://x.invalid")</script></head><body>'
            '<p>Bonjour&nbsp;&eacute;quipe</p><img src="https://tracker.invalid/p.gif" alt="logo">'
            '<div class="header-protection-legacy-display">Subject: copie</div>'
            '<p>ligne<br>suivante</p></body></html>')
    text = mime.html_to_text(html)
    assert text == "Bonjour équipe\n[image: logo]\n\nligne\nsuivante"
    assert "x.invalid" not in text and "tracker" not in text and "copie" not in text


def test_open_envelope_notes_text_beside_the_encrypted_part(intake_keys: Keys) -> None:
    """"Johnny, you are fired": text wrapped around an encrypted part is noted apart."""
    ct = encrypt(intake_keys, inner_mime(TEXT))
    env = mime.open_envelope(pgp_mime(ct, beside="Johnny, you are fired."))
    assert env.kind == "pgp-mime"
    assert env.plaintext_beside == "Johnny, you are fired."
    assert "Johnny" not in mime.parse_plaintext(decrypt_body(intake_keys, env)).text
    inline = inline_email(encrypt(intake_keys, TEXT.encode()), before="Bonjour,",
                          after="-- \nEnvoyé de mon téléphone")
    env = mime.open_envelope(inline)
    assert env.plaintext_beside == "Bonjour,\n\n-- \nEnvoyé de mon téléphone"


@pytest.mark.parametrize("armor", [True, False])
def test_open_envelope_accepts_encrypted_file_attached_to_plain_email(intake_keys: Keys,
                                                                      armor: bool) -> None:
    ct = encrypt(intake_keys, TEXT.encode(), armor=armor)
    name = "temoignage.asc" if armor else "temoignage.txt.gpg"
    pdf = encrypt(intake_keys, b"%PDF-1.4 preuve", armor=False)
    extra = [attachment_part("preuve.pdf.gpg", "application/octet-stream", pdf, "plain")]
    env = mime.open_envelope(attached_email(ct, filename=name, extra=extra))
    assert env.kind == "attached"
    assert env.names == [name, "preuve.pdf.gpg"]
    assert env.ciphertexts == [ct, pdf]
    assert env.plaintext_beside == "Bonjour, voici mon témoignage en pièce jointe."


def _signed_only() -> bytes:
    signed = multipart('multipart/signed; protocol="application/pgp-signature"; '
                       "micalg=pgp-sha256", [
                           part(["Content-Type: text/plain"], b"Signed but readable"),
                           part(["Content-Type: application/pgp-signature"],
                                b"-----BEGIN PGP SIGNATURE-----\r\n\r\nAAAA\r\n"
                                b"-----END PGP SIGNATURE-----\r\n")],
                       outer_headers())
    return signed


REFUSED = {
    "plain": (part([*outer_headers(), "Content-Type: text/plain"], b"Hello, no crypto."),
              "not encrypted: plain message"),
    "clearsigned": (part([*outer_headers(), "Content-Type: text/plain"],
                         b"-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\nHi\r\n"
                         b"-----BEGIN PGP SIGNATURE-----\r\n\r\nAAAA\r\n"
                         b"-----END PGP SIGNATURE-----\r\n"), "clear-signed"),
    "signed": (_signed_only(), "signed only"),
    "key": (multipart("multipart/mixed", [
        part(["Content-Type: text/plain"], b"my key"),
        part(["Content-Type: application/pgp-keys"], b"-----BEGIN PGP PUBLIC KEY BLOCK-----")],
        outer_headers()), "an OpenPGP key"),
    "smime": (part([*outer_headers(), 'Content-Type: application/pkcs7-mime; '
                    'smime-type=enveloped-data; name="smime.p7m"'], b"MIAGCSqGSIb3DQEHA6CAMIACAQ",
                   "base64"), "S/MIME"),
    "empty": (b"  \r\n\r\n", "empty file"),
    "empty-body": (part([*outer_headers(), "Content-Type: text/plain"], b""), "empty message"),
    "text-file": (b"Just some words in a file.\n", "not encrypted"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_open_envelope_refuses_unencrypted_messages(case: str) -> None:
    raw, reason = REFUSED[case]
    with pytest.raises(IntakeError, match=reason):
        mime.open_envelope(raw)


def test_open_envelope_refuses_malformed_mime(intake_keys: Keys) -> None:
    ct = encrypt(intake_keys, TEXT.encode())
    good = pgp_mime(ct)
    no_boundary = good.replace(b'; boundary="b0undary-Temoin-42"', b"", 1)
    wrong_protocol = good.replace(b"application/pgp-encrypted\"", b"application/x-foo\"", 1)
    truncated = good[: good.index(b"-----END PGP MESSAGE-----")]
    one_part = multipart('multipart/encrypted; protocol="application/pgp-encrypted"',
                         [part(["Content-Type: application/pgp-encrypted"], b"Version: 1")],
                         outer_headers())
    bad_b64 = multipart('multipart/encrypted; protocol="application/pgp-encrypted"', [
        part(["Content-Type: application/pgp-encrypted"], b"Version: 1"),
        part(["Content-Type: application/octet-stream", "Content-Transfer-Encoding: base64"],
             b"LS0tLS1CRUdJTiBQR1AgTUVTU0FHRS0tLS0tCg\r\nhQ")], outer_headers())
    deep = b"Content-Type: text/plain\r\n\r\nx"
    for i in range(40):
        deep = multipart("multipart/mixed", [deep], boundary=f"d{i}")
    deep = (("\r\n".join(outer_headers()) + "\r\n").encode()) + deep
    two = multipart("multipart/mixed", [pgp_mime(ct), pgp_mime(ct)], outer_headers(),
                    boundary="two")
    cases = {"no boundary": no_boundary, "protocol": wrong_protocol, "truncated": truncated,
             "one part": one_part, "bad base64": bad_b64, "deep": deep, "two": two}
    for what, raw in cases.items():
        with pytest.raises(IntakeError) as info:
            mime.open_envelope(raw)
        msg = info.value.message
        assert "malformed" in msg or "several encrypted bodies" in msg, (what, msg)
        assert "\n" not in msg


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-16", "utf-8-sig"])
def test_parse_plaintext_decodes_legacy_charsets(encoding: str) -> None:
    text = "Témoignage : « J'ai vu l'œuvre des policiers », Noël, Zoé, à Ngozi, été 2025."
    if encoding == "latin-1":
        text = text.replace("œ", "oe")
    content = mime.parse_plaintext(text.encode(encoding))
    assert content.text == text
    assert content.attachments == []


def test_parse_plaintext_honours_declared_and_mislabelled_charsets() -> None:
    text = "Témoignage reçu, « été » à Gitega."
    declared = part(["Content-Type: text/plain; charset=iso-8859-1"], text.encode("latin-1"),
                    "quoted-printable")
    assert mime.parse_plaintext(declared).text == text
    wrong = part(["Content-Type: text/plain; charset=us-ascii"], text.encode("cp1252"), "8bit")
    content = mime.parse_plaintext(wrong)
    assert content.text == text and "cp1252" in content.charset_note
    utf8_as_latin = part(["Content-Type: text/plain; charset=iso-8859-1"], text.encode(),
                         "8bit")
    assert mime.parse_plaintext(utf8_as_latin).text == text
    bogus = part(["Content-Type: text/plain; charset=x-no-such-charset"], text.encode(),
                 "base64")
    assert mime.parse_plaintext(bogus).text == text


def test_parse_plaintext_keeps_a_template_text_as_text() -> None:
    """A bare testimony that starts like headers ('Date: …') is not MIME for want of a
    Content-Type: its first lines must stay in the testimony."""
    text = "Date: 03/10/2025\nLieu: Gitega\n\nMon frère a été arrêté."
    content = mime.parse_plaintext(text.encode())
    assert content.text == text and content.subject is None


def test_parse_plaintext_turns_binary_into_one_attachment() -> None:
    data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)
    content = mime.parse_plaintext(data)
    assert content.text == ""
    [att] = content.attachments
    assert att.data == data and att.name == ""


# A PDF whose first 8 KiB hold no NUL (an uncompressed page, like fpdf2's without
# compression): what used to become the testimony's text, its bytes altered.
PDF = (b"%PDF-1.3\n%\xe9\xeb\xf1\xbf\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
       b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
SIGNED_FILES = {
    "pdf": (PDF, "application/pdf"),
    "jpeg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)), "image/jpeg"),
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
    "zip (docx, odt)": (b"PK\x03\x04\x14\x00\x06\x00", "application/zip"),
    "mp4": (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "video/mp4"),
    "m4a": (b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00", "audio/mp4"),
    "ogg (voice note)": (b"OggS\x00\x02" + bytes(20), "audio/ogg"),
    "amr": (b"#!AMR\n<\x91\x17\x16", "audio/amr"),
    "wav": (b"RIFF$\x00\x00\x00WAVEfmt ", "audio/wav"),
}


@pytest.mark.parametrize("kind", SIGNED_FILES)
@pytest.mark.parametrize("name", ["", "rapport.pdf", "t.txt", "_CONSOLE"])
def test_parse_plaintext_keeps_a_signed_file_whole_whatever_its_name(kind: str,
                                                                     name: str) -> None:
    """A file signature decides, not the name (untrusted) nor the literal format (most
    tools write "b" for typed text; PGPy and gpg --textmode write "t" for a PDF)."""
    data, media_type = SIGNED_FILES[kind]
    for fmt in ("b", "t", "u", ""):
        content = mime.parse_plaintext(data, name, fmt)
        assert content.text == "" and content.file is not None
        assert content.attachments == [content.file]
        assert content.file.data == data  # byte for byte
        assert content.file.media_type == media_type
        assert content.file.name == name


def test_parse_plaintext_treats_control_bytes_as_binary_but_not_a_bom() -> None:
    """Bytes no text holds (libmagic's rule: C0 controls but BEL-CR and ESC) make a file,
    anywhere in the data, not only in the first 8 KiB; UTF-16 with its BOM stays text."""
    late = ("Témoignage FICTIF. " * 1000).encode("cp1252") + b"\x01\x02 binary tail"
    assert mime.parse_plaintext(late).file is not None
    utf16 = TEXT.encode("utf-16")
    assert b"\x00" in utf16
    content = mime.parse_plaintext(utf16)
    assert content.file is None and content.text == TEXT
    escaped = "Témoignage\x1b[2J\ttabulé\f".encode()
    assert mime.parse_plaintext(escaped).file is None


@pytest.mark.parametrize("name", ["", "t.txt", "notes.md", "_CONSOLE", "temoignage",
                                  "msg.2025.10.03"])
def test_parse_plaintext_keeps_text_as_testimony_whatever_the_literal_format(name: str) -> None:
    for encoding in ("utf-8", "cp1252", "latin-1"):
        for fmt in ("b", "t", "u", ""):
            content = mime.parse_plaintext(TEXT.encode(encoding), name, fmt)
            assert content.text == TEXT and content.file is None and not content.attachments


@pytest.mark.parametrize("name", ["appels.csv", "trajet.kml", "page.html", "lettre.rtf",
                                  "contact.vcf", "export.json"])
def test_parse_plaintext_keeps_a_named_text_document_as_file_and_text(name: str) -> None:
    """A text file whose name says it is a document of its own is kept as that file, byte
    for byte (CRLF and charset included), and its text is the testimony too."""
    data = ("Témoignage FICTIF;Gitega\r\n" + TEXT + "\r\n").encode("cp1252")
    content = mime.parse_plaintext(data, name, "b")
    assert content.file is not None and content.file.data == data
    assert content.file.name == name and content.attachments == [content.file]
    assert TEXT in content.text and "\r" not in content.text


def test_parse_plaintext_reads_mime_literal_without_content_type() -> None:
    """Literal format 'm' declares MIME: a body part without Content-Type (text/plain by
    RFC 2045's default) is read as MIME, its headers not taken for testimony."""
    data = (b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            b"T=C3=A9moignage FICTIF.\r\n")
    assert mime.parse_plaintext(data, "", "m").text == "Témoignage FICTIF."
    assert mime.parse_plaintext(data, "", "b").text.startswith("Content-Transfer-Encoding")


@pytest.mark.parametrize("name", ["../../etc/rapport.pdf", "C:\\Users\\x\\photo.jpg",
                                  "facture\u202egpj.exe.pdf", "a\x00b\x1bc.pdf", "..",
                                  "x" * 300 + ".pdf"])
def test_parse_plaintext_keeps_a_hostile_file_name_but_shows_it_safe(name: str) -> None:
    content = mime.parse_plaintext(PDF, name, "b")
    assert content.file is not None and content.file.name == name  # private metadata
    safe = content.file.safe_name
    assert "/" not in safe and "\\" not in safe and not safe.startswith(".")
    assert all(c.isprintable() for c in safe) and "\u202e" not in safe
    assert 0 < len(safe) <= 120 and content.file.media_type == "application/pdf"


def test_open_envelope_reads_bare_binary_and_armored_files(intake_keys: Keys) -> None:
    for armor in (True, False):
        ct = encrypt(intake_keys, TEXT.encode(), armor=armor)
        env = mime.open_envelope(ct)
        assert env.kind == "bare" and not env.from_email
        assert mime.parse_plaintext(decrypt_body(intake_keys, env)).text == TEXT
    ct = encrypt(intake_keys, TEXT.encode())
    env = mime.open_envelope(b"Note: sent from a cafe\n\n" + ct)
    assert env.kind == "bare" and env.plaintext_beside == "Note: sent from a cafe"


def test_open_envelope_gives_gpg_armor_without_crc_as_binary(intake_keys: Keys) -> None:
    """RFC 9580 armor has no CRC line; GnuPG 2.2 then misreads base64 that ends without
    '=' padding (T7071) and reports a modified message. Such armor reaches gpg decoded;
    armor with its CRC is left for gpg to check."""
    import base64
    binary = next(ct for n in range(3, 60) if len(ct := encrypt(
        intake_keys, TEXT.encode() + b"!" * n, armor=False)) % 3 == 0)
    b64 = base64.b64encode(binary).decode()
    body = "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
    armored = f"-----BEGIN PGP MESSAGE-----\n\n{body}\n-----END PGP MESSAGE-----\n"
    assert not intake_keys.editors.decrypt(armored.encode()).ok  # the GnuPG bug
    for raw in (armored.encode(), inline_email(armored.encode()), pgp_mime(armored.encode())):
        env = mime.open_envelope(raw)
        assert env.ciphertexts[0] == binary
        assert mime.parse_plaintext(decrypt_body(intake_keys, env)).text.startswith(TEXT)
    with_crc = encrypt(intake_keys, TEXT.encode())
    assert mime.open_envelope(with_crc).ciphertexts[0].startswith(b"-----BEGIN PGP MESSAGE")


def test_open_envelope_keeps_inline_body_first_and_encrypted_attachments_after(
        intake_keys: Keys) -> None:
    """Enigmail's inline mode: the body is an armored block, each attachment its own .pgp."""
    body = encrypt(intake_keys, TEXT.encode())
    photo = encrypt(intake_keys, b"\xff\xd8\xff photo", armor=False)
    raw = multipart("multipart/mixed", [
        part(["Content-Type: text/plain; charset=utf-8"], body, "quoted-printable"),
        attachment_part("photo.jpg.pgp", "application/octet-stream", photo, "plain")],
        outer_headers())
    env = mime.open_envelope(raw)
    assert env.kind == "inline"
    assert env.names == ["", "photo.jpg.pgp"] and env.ciphertexts[1] == photo


def test_parse_plaintext_keeps_the_senders_key_as_an_attachment() -> None:
    key = b"-----BEGIN PGP PUBLIC KEY BLOCK-----\r\n\r\nxjMEZ\r\n-----END PGP PUBLIC KEY BLOCK-----"
    inner = inner_mime(TEXT, attachments=[("OpenPGP_0xA4DE0C743AA0B325.asc",
                                           "application/pgp-keys", key, "plain")])
    [att] = mime.parse_plaintext(inner).attachments
    assert att.media_type == "application/pgp-keys" and att.data == key


def test_open_envelope_and_parse_plaintext_never_crash_on_mangled_mime(
        intake_keys: Keys) -> None:
    """Random byte damage to real emails and inner MIME: a refusal or a result, never an
    unexpected exception (which would stall the inbox on every run)."""
    import random
    rng = random.Random(3156)
    ct = encrypt(intake_keys, TEXT.encode())
    inner = inner_mime(TEXT, subject="S", attachments=[("é.pdf", "application/pdf", b"%PDF",
                                                        "2231")])
    seeds = [pgp_mime(ct), pgp_mime(ct, cte="base64", beside="x"), inline_email(ct, html=True),
             attached_email(ct), inner]
    tokens = [b"\r\n", b"--", b'"', b";", b"=", b"=?UTF-8?B?", b"\x00", b"\xff", b"boundary=",
              b"Content-Type: multipart/mixed", b"-----BEGIN PGP MESSAGE-----"]
    for _ in range(150):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            pos = rng.randrange(len(data))
            op = rng.random()
            if op < 0.4:
                data[pos] = rng.randrange(256)
            elif op < 0.7:
                data[pos:pos] = rng.choice(tokens)
            else:
                del data[pos:pos + rng.randint(1, 40)]
        raw = bytes(data)
        with contextlib.suppress(IntakeError):
            mime.open_envelope(raw)
        with contextlib.suppress(IntakeError):
            mime.parse_plaintext(raw)


_RUN = b"".join(bytes([65 + i % 26]) * 76 + b"\n" for i in range(12))  # 12 base64 lines


def _parsed(m: object) -> list[object]:
    """Everything the parser decided, part by part."""
    import email.message

    out: list[object] = []
    todo = [m]
    while todo:
        p = todo.pop(0)
        assert isinstance(p, email.message.Message)
        payload = p.get_payload()
        out.append((p.items(), p.preamble, p.epilogue, p.get_unixfrom(),
                    [type(d).__name__ for d in p.defects],
                    payload if isinstance(payload, str) else None))
        if isinstance(payload, list):
            todo.extend(payload)
    return out


@pytest.mark.parametrize("raw", [
    # a base64 run ending right on a boundary, in a preamble, in an epilogue, at the end
    b"Content-Type: multipart/mixed; boundary=b\n\n" + _RUN + b"--b\nContent-Transfer-Enco"
    b"ding: base64\n\n" + _RUN + b"--b\n\n" + _RUN + b"--b--\n" + _RUN,
    # the same with CRLF, with lone CR, with a run cut short (no final newline)
    (b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\n" + _RUN + b"--b--\n").replace(
        b"\n", b"\r\n"),
    (b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\n" + _RUN + b"--b--\n").replace(
        b"\n", b"\r"),
    b"Content-Type: text/plain\n\n" + _RUN[:-1],
    # base64 where headers are expected: top level, in a part, in a message/rfc822
    b"Subject: x\n" + _RUN + b"X: y\n\nbody\n",
    b"Content-Type: multipart/mixed; boundary=b\n\n--b\n" + _RUN + b"--b--\n",
    b"Content-Type: message/rfc822\n\n" + _RUN,
    b"Content-Type: message/delivery-status\n\nA: b\n" + _RUN + b"\nC: d\n",
    # a run that spells a would-be stand-in, bad base64 padding, a missing close boundary
    b"Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\ntm" + b"0" * 24 +
    b"x0x\n\n" + _RUN + b"QQ=\n",
    b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\n" + _RUN,
])
def test_base64_runs_parse_exactly_as_the_standard_parser_parses_them(raw):
    """Long base64 bodies reach the parser as one line each: the parts, headers, payloads,
    defects and decoded bytes it finds must be the standard library's, hostile or not."""
    import email

    mine = message.parse(raw)
    ref = email.message_from_bytes(raw, policy=message.POLICY)
    assert _parsed(mine) == _parsed(ref)
    assert [p.get_payload(decode=True) for p in mine.walk()] == \
        [p.get_payload(decode=True) for p in ref.walk()]
