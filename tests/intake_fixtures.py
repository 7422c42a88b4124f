"""Fixtures and email builders for the intake tests (TEST ONLY keys, fictional text).

The builders write emails the way real clients do: PGP/MIME per RFC 3156 with protected
headers like Thunderbird/Enigmail, inline PGP in text or HTML bodies like Mailvelope or
Proton, an encrypted file attached to a plain email, quoted-printable or base64 transfer
encodings, RFC 2231/2047 attachment names. Every key comes from tests/fixtures/keys/.
"""

from __future__ import annotations

import base64
import json
import quopri
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from temoin import config, keys, trust
from tests.helpers import stop_gpg

HERE = Path(__file__).resolve().parent
KEYS = HERE / "fixtures" / "keys"
CORPUS = HERE / "fixtures" / "corpus"
KEY_INFO: dict[str, dict[str, object]] = json.loads((KEYS / "keys.json").read_text())


def fpr(stem: str) -> str:
    """Primary fingerprint of a fixture key."""
    return str(KEY_INFO[stem]["fingerprint"])


@dataclass
class Keys:
    """The editors' keyring (inbox secrets + an editor key) and a source's keyring."""

    editors: keys.Keyring
    editor: str
    source: keys.Keyring


@pytest.fixture(scope="session", name="intake_keyrings")
def intake_keyrings_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    """Editors' GNUPGHOME per tests/fixtures/keys/README.md plus a fresh editor key, and a
    source GNUPGHOME that can encrypt to the inbox (or a stranger) and sign: made once per
    worker. It sets nothing in the environment (see `intake_keys`)."""
    root = tmp_path_factory.mktemp("gpg")
    ed_home, src_home = root / "editors", root / "source"
    editors = keys.Keyring(ed_home)
    for stem in ("inbox", "inbox-rsa", "inbox-old"):
        editors.import_keys((KEYS / f"{stem}.sec.asc").read_bytes())
    for stem in ("source", "source-rsa"):
        editors.import_keys((KEYS / f"{stem}.pub.asc").read_bytes())
    editor = editors.generate("Editor (TEST ONLY)", "editor@example.invalid")
    source = keys.Keyring(src_home)
    for stem in ("inbox", "inbox-rsa", "stranger"):
        source.import_keys((KEYS / f"{stem}.pub.asc").read_bytes())
    for stem in ("source", "source-unknown"):
        source.import_keys((KEYS / f"{stem}.sec.asc").read_bytes())
    yield Keys(editors, editor, source)
    stop_gpg(ed_home, src_home)


@pytest.fixture(name="intake_keys")
def intake_keys_fixture(intake_keyrings: Keys, monkeypatch: pytest.MonkeyPatch) -> Keys:
    """The shared keyrings, with the editors' home as GNUPGHOME for this test only: sealed
    drafts and custody entries (issue 16) are read through it when a test reads them without
    naming a keyring. (Set for the session, it stayed on the worker after the intake tests
    and later tests there used the wrong keyring.)"""
    monkeypatch.setenv("GNUPGHOME", str(intake_keyrings.editors.home))
    return intake_keyrings


def write_repo(repo: Path, inbox_key: str, editor: str, **extra: object) -> config.Config:
    """The brief's test repo: mkdocs.yml with the temoin plugin block, an empty inbox/."""
    opts = {"organisation": "Test", "country": "BI", "case_prefix": "BI",
            "inbox_key": inbox_key, "recipients": [editor], **extra}
    lines = ["site_name: Test", "plugins:", "  - temoin:"]
    lines += [f"      {k}: {json.dumps(v)}" for k, v in opts.items()]
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "mkdocs.yml").write_text("\n".join(lines) + "\n")
    (repo / "inbox").mkdir(exist_ok=True)
    return config.load(repo)


def sign_trust_root(repo: Path, k: Keys) -> None:
    """Publish the repo's keys and have its one editor found its signed trust root, as
    `temoin ingest` refuses to run without one (issue 16)."""
    (repo / "keys" / "editors").mkdir(parents=True, exist_ok=True)
    (repo / "keys" / "inbox.asc").write_text(k.editors.export_public(fpr("inbox")))
    (repo / "keys" / "editors" / "editor.asc").write_text(k.editors.export_public(k.editor))
    trust.found(repo, config.load(repo), k.editors, [k.editor])


@pytest.fixture(name="repo")
def repo_fixture(tmp_path: Path, intake_keys: Keys) -> Path:
    """A fresh test organisation repo whose inbox key and editor are in `intake_keys`, with
    its signed trust root."""
    path = tmp_path / "org"
    write_repo(path, fpr("inbox"), intake_keys.editor)
    sign_trust_root(path, intake_keys)
    return path


def encrypt(k: Keys, data: bytes, to: str = "inbox", sign: str | None = None,
            armor: bool = True) -> bytes:
    """`data` encrypted by the source to fixture key `to`, optionally signed."""
    return k.source.encrypt(data, [fpr(to)], armor=armor, sign=fpr(sign) if sign else None)


def copy_corpus_file(rel: str, dest: Path) -> Path:
    """A corpus file copied into `dest` (a folder), same name."""
    target = dest / Path(rel).name
    shutil.copyfile(CORPUS / rel, target)
    return target


# -- MIME building blocks ---------------------------------------------------------------
CRLF = "\r\n"


def transfer(data: bytes, cte: str) -> bytes:
    """`data` in a Content-Transfer-Encoding (7bit/8bit left as is)."""
    if cte == "base64":
        b = base64.b64encode(data)
        return b"\r\n".join(b[i:i + 76] for i in range(0, len(b), 76))
    if cte == "quoted-printable":
        return quopri.encodestring(data.replace(b"\r\n", b"\n")).replace(b"\n", b"\r\n")
    return data


def part(headers: list[str], body: bytes, cte: str | None = None) -> bytes:
    """One MIME part: header lines, blank line, body (transfer-encoded if `cte`)."""
    hdr = list(headers)
    if cte:
        hdr.append(f"Content-Transfer-Encoding: {cte}")
        body = transfer(body, cte)
    return (CRLF.join(hdr) + CRLF + CRLF).encode("utf-8") + body


def multipart(ctype: str, parts: list[bytes], headers: list[str] = (),  # type: ignore[assignment]
              boundary: str = "b0undary-Temoin-42", preamble: str = "") -> bytes:
    """A multipart entity of `ctype` (params after ';' kept) holding `parts`."""
    head = [*headers, f'Content-Type: {ctype}; boundary="{boundary}"']
    sep = f"--{boundary}".encode()
    body = (preamble + CRLF).encode() if preamble else b""
    for p in parts:
        body += sep + b"\r\n" + p + b"\r\n"
    body += sep + b"--\r\n"
    return (CRLF.join(head) + CRLF + CRLF).encode() + body


def outer_headers(subject: str = "...") -> list[str]:
    """Envelope headers of an email from a source to the organisation."""
    return ["From: Source <source@example.invalid>", "To: Temoin <inbox@temoin.invalid>",
            f"Subject: {subject}", "Date: Fri, 03 Oct 2025 10:00:00 +0000",
            "Message-ID: <test@example.invalid>", "MIME-Version: 1.0"]


def attachment_part(name: str, media_type: str, data: bytes, style: str = "2231") -> bytes:
    """An attachment with its name as RFC 2231 (`filename*=UTF-8''…`), RFC 2047
    (`=?UTF-8?B?…?=`, what many clients write anyway) or plain ASCII."""
    from urllib.parse import quote
    if style == "2231":
        disp = f"attachment; filename*=UTF-8''{quote(name, safe='')}"
        ctype = f"{media_type}"
    elif style == "2047":
        enc = "=?UTF-8?B?" + base64.b64encode(name.encode()).decode() + "?="
        disp = f'attachment; filename="{enc}"'
        ctype = f'{media_type}; name="{enc}"'
    else:
        disp = f'attachment; filename="{name}"'
        ctype = media_type
    return part([f"Content-Type: {ctype}", f"Content-Disposition: {disp}"], data, "base64")


def inner_mime(text: str, subject: str | None = None,
               attachments: list[tuple[str, str, bytes, str]] = (),  # type: ignore[assignment]
               charset: str = "utf-8", cte: str = "quoted-printable",
               legacy_display: bool = False) -> bytes:
    """The plaintext of a PGP/MIME message as Thunderbird writes it: multipart/mixed with
    `protected-headers="v1"` and the real Subject (RFC protected headers), an optional
    legacy-display part, the text, then attachments (name, type, bytes, name style)."""
    body = part([f"Content-Type: text/plain; charset={charset}; format=flowed"],
                text.encode(charset), cte)
    parts = []
    if legacy_display and subject:
        parts.append(part(['Content-Type: text/rfc822-headers; protected-headers="v1"',
                           "Content-Disposition: inline"], f"Subject: {subject}\r\n".encode()))
    parts.append(body)
    parts += [attachment_part(*a) for a in attachments]
    headers = [f"Subject: {subject}"] if subject else []
    headers += ["From: Source <source@example.invalid>", "To: Temoin <inbox@temoin.invalid>"]
    return multipart('multipart/mixed; protected-headers="v1"', parts, headers,
                     boundary="inner-b0undary-7")


def pgp_mime(ciphertext: bytes, subject: str = "...", cte: str | None = "7bit",
             beside: str | None = None) -> bytes:
    """An RFC 3156 multipart/encrypted email. With `beside`, an attacker has wrapped it in a
    multipart/mixed next to a plaintext part ("Johnny, you are fired", USENIX 2019)."""
    enc = multipart('multipart/encrypted; protocol="application/pgp-encrypted"', [
        part(["Content-Type: application/pgp-encrypted",
              "Content-Description: PGP/MIME version identification"], b"Version: 1\r\n"),
        part(['Content-Type: application/octet-stream; name="encrypted.asc"',
              "Content-Description: OpenPGP encrypted message",
              'Content-Disposition: inline; filename="encrypted.asc"'], ciphertext, cte),
    ], [] if beside is not None else outer_headers(subject),
        preamble="This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)")
    if beside is None:
        return enc
    text = part(["Content-Type: text/plain; charset=utf-8"], beside.encode(), "8bit")
    return multipart("multipart/mixed", [text, enc], outer_headers(subject),
                     boundary="outer-b0undary-9")


def inline_email(armored: bytes, before: str = "", after: str = "", html: bool = False,
                 cte: str = "quoted-printable", charset: str = "utf-8",
                 remote_img: bool = False, alternative: bool = False,
                 subject: str = "Témoignage") -> bytes:
    """Inline PGP: the armored block in a text/plain (Mailvelope) or text/html (Proton,
    webmail) body, or both as multipart/alternative, with optional text around it."""
    arm = armored.decode("ascii").strip()
    plain = "\n".join(x for x in (before, arm, after) if x) + "\n"
    img = '<img src="https://tracker.example.invalid/pixel.gif?id=42" alt="logo">' \
        if remote_img else ""
    html_body = ("<html><head><style>p{color:red}</style><script>alert(1)</script></head>"
                 f"<body><p>{before}</p>{img}<pre>{arm}</pre><div>{after}</div></body></html>")
    p_plain = part([f"Content-Type: text/plain; charset={charset}"], plain.encode(charset), cte)
    p_html = part([f"Content-Type: text/html; charset={charset}"], html_body.encode(charset),
                  cte)
    subj_hdr = "Subject: =?UTF-8?B?" + base64.b64encode(subject.encode()).decode() + "?="
    headers = [h for h in outer_headers() if not h.startswith("Subject:")] + [subj_hdr]
    if alternative:
        return multipart("multipart/alternative", [p_plain, p_html], headers)
    return part(headers + [f"Content-Type: text/{'html' if html else 'plain'}; "
                           f"charset={charset}"],
                (html_body if html else plain).encode(charset), cte)


def attached_email(ciphertext: bytes, filename: str = "temoignage.asc",
                   body: str = "Bonjour, voici mon témoignage en pièce jointe.",
                   media_type: str = "application/pgp-encrypted",
                   extra: list[bytes] = ()) -> bytes:  # type: ignore[assignment]
    """A plain email with the encrypted file attached (a source who encrypted a file with
    Kleopatra or GpgFrontend and attached it to any mail client)."""
    text = part(["Content-Type: text/plain; charset=utf-8"], body.encode(), "quoted-printable")
    att = part([f'Content-Type: {media_type}; name="{filename}"',
                f'Content-Disposition: attachment; filename="{filename}"'], ciphertext,
               "base64")
    return multipart("multipart/mixed", [text, att, *extra], outer_headers("Témoignage"))
