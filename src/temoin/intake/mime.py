"""What a submission carries: the envelope (before decryption) and the content (after).

Pure and in memory. Never renders HTML, never fetches anything, never trusts a filename.
`open_envelope` finds the encrypted parts of an email or a bare OpenPGP file and refuses
(`IntakeError`, a one-line reason) anything whose body is not encrypted. Text standing
beside an encrypted part is returned apart (`plaintext_beside`) so the caller can note it
without ever merging it into the testimony: an attacker who intercepts an encrypted email
can wrap it with text of their own ("Johnny, you are fired", USENIX Security 2019).
`parse_plaintext` turns decrypted bytes into text, protected subject and attachments.
"""

from __future__ import annotations

import email
import email.errors
import email.headerregistry
import email.policy
import mimetypes
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message

from temoin.errors import IntakeError
from temoin.files import safe_name
from temoin.intake.armor import armored_blocks, is_encrypted_data, message_bytes, packet_tag
from temoin.intake.message import parse
from temoin.intake.plaintext import decode_text, html_to_text, looks_binary, sniff

MAX_PARTS = 500     # a MIME tree with more parts than this is a parser bomb, not an email
MAX_DEPTH = 20
ENCRYPTED_SUFFIXES = (".asc", ".pgp", ".gpg")
# Headers that make a file an email rather than a bare text file.
_MAIL_HEADERS = {"from", "to", "subject", "date", "message-id", "content-type", "mime-version",
                 "received", "return-path", "delivered-to", "cc", "reply-to"}
_SEVERE = (email.errors.NoBoundaryInMultipartDefect, email.errors.StartBoundaryNotFoundDefect,
           email.errors.CloseBoundaryNotFoundDefect,
           email.errors.MultipartInvariantViolationDefect)
# Why a message that is not encrypted was refused, most specific first.
_NOT_ENCRYPTED = {
    "smime": "not OpenPGP: S/MIME encryption is not supported (ask the source to use OpenPGP)",
    "key": "not encrypted: an OpenPGP key, not a message",
    "clearsigned": "not encrypted: a clear-signed message",
    "signed": "not encrypted: signed only",
    "plain": "not encrypted: plain message",
}


@dataclass
class Attachment:
    """One attached file. `name` is the original (private part only), `safe_name` for display."""

    name: str
    safe_name: str
    media_type: str
    data: bytes


@dataclass
class Envelope:
    """What an email (or bare OpenPGP file) carries, before decryption.

    `ciphertexts[0]` is the encrypted body; the others are encrypted attachments, named in
    `names` (same order; '' for the body). `from_email` says whether it came as an email.
    """

    ciphertexts: list[bytes]
    kind: str                      # "pgp-mime" | "inline" | "attached" | "bare"
    outer_subject: str = ""
    plaintext_beside: str = ""
    names: list[str] = field(default_factory=list)
    from_email: bool = False


@dataclass
class Content:
    """The decrypted inner message. `file` is set when the plaintext is itself a file the
    source sent (not a message): that file, byte for byte, also in `attachments`; `text`
    is then its text if it is a text file, else ''."""

    text: str
    subject: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    charset_note: str = ""
    file: Attachment | None = None


# -- envelope ---------------------------------------------------------------------------
class _Walk:
    """Classify every part of an email: encrypted bodies, encrypted attachments, the rest."""

    def __init__(self) -> None:
        self.pgp_mime: list[bytes] = []
        self.inline: list[bytes] = []
        self.attached: list[tuple[str, bytes]] = []
        self.beside: list[str] = []
        self.found: set[str] = set()  # "key", "signed", "clearsigned", "smime"
        self.count = 0

    def part(self, p: Message, depth: int = 0) -> None:
        self.count += 1
        if self.count > MAX_PARTS or depth > MAX_DEPTH:
            raise IntakeError("malformed MIME: too many or too deeply nested parts")
        if any(isinstance(d, _SEVERE) for d in p.defects):
            raise IntakeError("malformed MIME: broken multipart boundaries")
        ctype = p.get_content_type()
        if ctype == "multipart/encrypted":
            self.pgp_mime.append(_pgp_mime_payload(p))
        elif ctype == "multipart/alternative":
            self._alternative(p, depth)
        elif ctype == "multipart/signed":
            self.found.add("signed")
            for sub in _subparts(p):
                if sub.get_content_type() not in ("application/pgp-signature",
                                                  "application/pkcs7-signature"):
                    self.part(sub, depth + 1)
        elif p.is_multipart():
            for sub in _subparts(p):
                self.part(sub, depth + 1)
        elif ctype in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
            self.found.add("smime")
        elif ctype == "message/rfc822":
            self.beside.append("[a forwarded message was attached; it was not opened]")
        else:
            self._leaf(p, ctype)

    def _alternative(self, p: Message, depth: int) -> None:
        """Alternatives are one content shown two ways: keep the first that is encrypted,
        else the plain-text one, never both."""
        subs = _subparts(p)
        for sub in sorted(subs, key=lambda s: s.get_content_type() != "text/plain"):
            probe = _Walk()
            probe.count = self.count
            probe.part(sub, depth + 1)
            if probe.pgp_mime or probe.inline or probe.attached:
                self._merge(probe)
                return
        if subs:
            best = sorted(subs, key=lambda s: s.get_content_type() != "text/plain")[0]
            self.part(best, depth + 1)

    def _merge(self, other: _Walk) -> None:
        self.pgp_mime += other.pgp_mime
        self.inline += other.inline
        self.attached += other.attached
        self.beside += other.beside
        self.found |= other.found
        self.count = other.count

    def _leaf(self, p: Message, ctype: str) -> None:
        filename = _filename(p)
        data = _payload(p)
        is_body = ctype in ("text/plain", "text/html") and not filename \
            and p.get_content_disposition() != "attachment"
        if is_body:
            text, _ = decode_text(data, p.get_content_charset())
            self.text(html_to_text(text) if ctype == "text/html" else text)
        elif ctype == "application/pgp-keys":
            self.found.add("key")
        elif ctype in ("application/pgp-signature", "application/pkcs7-signature"):
            self.found.add("signed")
        elif ctype == "application/pgp-encrypted" and data.strip().lower().startswith(b"version"):
            pass  # the RFC 3156 control part, outside its multipart/encrypted
        elif is_encrypted_data(data):
            self.attached.append((filename, data))
        elif data.lstrip().startswith(b"-----BEGIN PGP"):
            self.text(data.decode("ascii", "replace"))
        else:
            what = safe_name(filename, "(unnamed)") if filename else "(unnamed)"
            self.beside.append(f"[unencrypted attachment not kept: {what}, {ctype}, "
                               f"{len(data)} bytes]")

    def text(self, text: str) -> None:
        blocks, outside = armored_blocks(text)
        for kind, block in blocks:
            if kind == "MESSAGE":
                self.inline.append(message_bytes(block))
            elif kind == "SIGNED MESSAGE":
                self.found.add("clearsigned")
                self.beside.append(block)
            elif kind in ("PUBLIC KEY BLOCK", "PRIVATE KEY BLOCK"):
                self.found.add("key")
            else:
                self.found.add("signed")
        if outside.strip():
            self.beside.append(outside.strip())


def _subparts(p: Message) -> list[Message]:
    payload = p.get_payload()
    if not isinstance(payload, list):
        raise IntakeError("malformed MIME: a multipart without parts")
    return [p for p in payload if isinstance(p, Message)]


def _payload(p: Message) -> bytes:
    data = p.get_payload(decode=True)
    if data is None:
        return b""
    if any(isinstance(d, (email.errors.InvalidBase64PaddingDefect,
                          email.errors.InvalidBase64LengthDefect)) for d in p.defects):
        raise IntakeError("malformed MIME: invalid base64 transfer encoding")
    return bytes(data)


def _filename(p: Message) -> str:
    try:
        name = p.get_filename() or p.get_param("name") or ""
    except (ValueError, TypeError, LookupError):
        name = ""
    return str(name) if not isinstance(name, tuple) else str(name[-1])


def _pgp_mime_payload(p: Message) -> bytes:
    """The ciphertext of an RFC 3156 multipart/encrypted part."""
    param = p.get_param("protocol")
    protocol = param.lower() if isinstance(param, str) else ""
    if protocol != "application/pgp-encrypted":
        raise IntakeError(f"malformed PGP/MIME: multipart/encrypted with protocol "
                          f"{protocol or 'missing'!r} (expected application/pgp-encrypted)")
    subs = _subparts(p)
    if len(subs) != 2 or subs[0].get_content_type() != "application/pgp-encrypted":
        raise IntakeError("malformed PGP/MIME: expected a control part and one encrypted part")
    data = _payload(subs[1])
    if not data.strip():
        raise IntakeError("malformed PGP/MIME: the encrypted part is empty")
    if data.lstrip()[:15] == b"-----BEGIN PGP ":
        blocks, _ = armored_blocks(data.decode("ascii", "replace"))
        if [k for k, _ in blocks] != ["MESSAGE"]:
            raise IntakeError("malformed PGP/MIME: the encrypted part is not one PGP MESSAGE")
        return message_bytes(blocks[0][1])
    return data


def _subject(msg: Message) -> str:
    try:
        return " ".join(str(msg.get("subject", "") or "").split())
    except (ValueError, TypeError, LookupError, IndexError):
        return ""


def _bare(raw: bytes) -> Envelope:
    tag = packet_tag(raw)
    if tag is not None:
        if tag in (5, 6, 7, 14):
            raise IntakeError(_NOT_ENCRYPTED["key"])
        if tag in (2, 4):
            raise IntakeError(_NOT_ENCRYPTED["signed"])
        return Envelope([raw], "bare", names=[""])
    w = _Walk()
    text, _ = decode_text(raw)
    w.text(text)
    return _conclude(w, "bare", "", email_=False)


def _conclude(w: _Walk, kind: str, subject: str, email_: bool) -> Envelope:
    beside = "\n\n".join(w.beside)
    bodies = len(w.pgp_mime) + len(w.inline)
    if bodies > 1:
        raise IntakeError("several encrypted bodies in one message (ingest each separately)")
    names = [n for n, _ in w.attached]
    extra = [d for _, d in w.attached]
    if w.pgp_mime:
        return Envelope([w.pgp_mime[0], *extra], kind or "pgp-mime", subject, beside,
                        ["", *names], email_)
    if w.inline:
        return Envelope([w.inline[0], *extra], kind or "inline", subject, beside,
                        ["", *names], email_)
    if w.attached:
        return Envelope(extra, kind or "attached", subject, beside, names, email_)
    for why in ("smime", "key", "clearsigned", "signed"):
        if why in w.found:
            raise IntakeError(_NOT_ENCRYPTED[why])
    raise IntakeError(_NOT_ENCRYPTED["plain"] if beside.strip() else "empty message")


def open_envelope(raw: bytes) -> Envelope:
    """Find the encrypted body of an email or bare OpenPGP file; IntakeError if refused."""
    if not raw.strip():
        raise IntakeError("empty file")
    if packet_tag(raw) is not None or raw.lstrip()[:15] == b"-----BEGIN PGP ":
        return _bare(raw)
    try:
        msg = parse(raw)
        if not {k.lower() for k in msg} & _MAIL_HEADERS:
            return _bare(raw)  # a text file, not an email
        w = _Walk()
        w.part(msg)
        return _conclude(w, "", _subject(msg), email_=True)
    except IntakeError:
        raise
    except (RecursionError, email.errors.MessageError, ValueError, TypeError, LookupError,
            IndexError, AttributeError, UnicodeError) as exc:
        # Hostile MIME can trip the standard parser in many ways; each is a refusal.
        raise IntakeError(f"malformed MIME ({type(exc).__name__})") from None


# -- content ----------------------------------------------------------------------------
def _is_mime(plaintext: bytes, declared: bool = False) -> EmailMessage | None:
    """The decrypted bytes as a MIME entity, if they are one (RFC 3156 says they are for
    PGP/MIME; a bare testimony starting 'Date: …' is not, for want of a Content-Type,
    unless the literal packet `declared` MIME: format 'm', RFC 4880 §5.9)."""
    head = plaintext[:65536]
    if not re.match(rb"(?i)(content-[a-z-]+|mime-version|subject|from|to|date|message-id)"
                    rb"[ \t]*:", head):
        return None
    msg = parse(plaintext)
    if "content-type" not in {k.lower() for k in msg} and not declared:
        return None
    if any(isinstance(d, email.errors.MissingHeaderBodySeparatorDefect) for d in msg.defects):
        return None
    return msg


def attachment(name: str, media_type: str, data: bytes, n: int) -> Attachment:
    """An Attachment with a safe display name and a media type (when none is declared: from
    the content's signature, else from the name)."""
    if not media_type or media_type == "application/octet-stream":
        media_type = sniff(data) or mimetypes.guess_type(safe_name(name, "x"))[0] \
            or "application/octet-stream"
    ext = mimetypes.guess_extension(media_type) or ".bin"
    shown = safe_name(name, f"attachment-{n}{ext}")
    if "." not in shown and media_type != "application/octet-stream":
        shown += ext  # "scan" of a PDF shown as "scan.pdf": an editor can open it
    return Attachment(name, shown, media_type, data)


class _Inner:
    def __init__(self) -> None:
        self.texts: list[str] = []
        self.notes: list[str] = []
        self.attachments: list[Attachment] = []
        self.count = 0

    def part(self, p: Message, depth: int = 0) -> None:
        self.count += 1
        if self.count > MAX_PARTS or depth > MAX_DEPTH:
            raise IntakeError("malformed inner MIME: too many or too deeply nested parts")
        ctype = p.get_content_type()
        if p.is_multipart():
            subs = _subparts(p)
            if ctype == "multipart/alternative" and subs:
                plain = [s for s in subs if s.get_content_type() == "text/plain"]
                self.part((plain or subs)[0], depth + 1)
                return
            # A signature part is not content. A key (Thunderbird attaches the sender's) is
            # kept as evidence: it is how the editors can answer the source.
            for sub in subs:
                if sub.get_content_type() != "application/pgp-signature":
                    self.part(sub, depth + 1)
            return
        if ctype == "text/rfc822-headers":
            return  # legacy display of the protected headers: a copy, not content
        name = _filename(p)
        data = p.get_payload(decode=True) or b""
        if ctype in ("text/plain", "text/html") and not name \
                and p.get_content_disposition() != "attachment":
            text, note = decode_text(bytes(data), p.get_content_charset())
            if p.get_param("hp-legacy-display") == "1" and ctype == "text/plain":
                text = text.split("\n\n", 1)[1] if "\n\n" in text else ""
            self.texts.append(html_to_text(text) if ctype == "text/html" else text)
            if note:
                self.notes.append(note)
            return
        self.attachments.append(attachment(name, ctype, bytes(data),
                                            len(self.attachments) + 1))


# Names of files that are a testimony's text, not a document of their own: none (typed or
# piped into the tool), "_CONSOLE" (RFC 4880 "for your eyes only"), .txt, .md, unknown.
_TEXT_TYPES = {None, "text/plain", "text/markdown", "text/x-markdown"}


def names_a_document(name: str) -> bool:
    """Does the file name a sender's tool recorded say the file is a document of a type of
    its own (.csv, .html, .rtf, .kml, .json, .svg, .pdf…), rather than text to read?"""
    if not name or name == "_CONSOLE":
        return False
    return mimetypes.guess_type(safe_name(name, "x"))[0] not in _TEXT_TYPES


def parse_plaintext(plaintext: bytes, name: str = "", literal_format: str = "") -> Content:
    """Decrypted bytes to Content: an inner MIME entity (PGP/MIME, protected headers,
    attachments with RFC 2231/2047 names), a file, or plain text in any charset. Never
    raises for odd text. `name` is the file name the sender's tool gave the data (the
    literal packet's, else the encrypted attachment's): untrusted, kept as metadata;
    `literal_format` the literal packet's format letter ("m": MIME even without headers
    that say so).

    A file (`Content.file`, kept whole and unaltered as the one attachment): data with a
    known file signature or a byte no text holds (`plaintext.looks_binary`), with no text;
    or text whose name says it is a document (`names_a_document`), whose text is then the
    testimony too. The literal packet's format says nothing here: most tools write "b" for
    typed text and some write "t" for a PDF (see docs/DESIGN.md, intake rules)."""
    try:
        msg = _is_mime(plaintext, declared=literal_format == "m")
    except (email.errors.MessageError, ValueError, TypeError, LookupError, IndexError):
        msg = None
    if msg is not None:
        try:
            inner = _Inner()
            inner.part(msg)
            subject = _subject(msg) or None
            return Content("\n\n".join(t.strip("\n") for t in inner.texts if t.strip()),
                           subject, inner.attachments, "; ".join(inner.notes))
        except IntakeError:
            raise
        except (RecursionError, email.errors.MessageError, ValueError, TypeError,
                LookupError, IndexError, AttributeError, UnicodeError) as exc:
            raise IntakeError(f"malformed inner MIME ({type(exc).__name__})") from None
    if looks_binary(plaintext):
        att = attachment(name, "", plaintext, 1)
        return Content("", None, [att], file=att)
    text, note = decode_text(plaintext)
    if names_a_document(name):
        att = attachment(name, "", plaintext, 1)
        return Content(text, None, [att], note, file=att)
    return Content(text, None, [], note)
