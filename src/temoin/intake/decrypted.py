"""What a decrypted submission holds: its content parsed, the name its sender gave it, a
message nested inside it; and gpg's refusal made precise."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from temoin.errors import IntakeError
from temoin.intake import mime
from temoin.intake.armor import is_encrypted_data
from temoin.keys import Keyring


@dataclass
class Opened:
    """A submission decrypted and parsed, in memory only."""

    env: mime.Envelope
    body: Any            # the Decrypted result whose plaintext gave `content`
    content: mime.Content
    extras: list[mime.Attachment]
    layers: int


def parse_decrypted(res: Any, name: str) -> mime.Content:
    """A decrypted result's plaintext as testimony and attachments (IntakeError when
    hostile); `name`: what the sender called the file (see `sent_name`)."""
    try:
        return mime.parse_plaintext(res.plaintext, name, res.literal_format)
    except IntakeError:
        raise
    except Exception as exc:  # noqa: BLE001 - never crash on hostile plaintext
        raise IntakeError(f"malformed decrypted content ({type(exc).__name__})") from None


def nested_message(plaintext: bytes, content: mime.Content) -> bytes | None:
    """The OpenPGP message a decrypted plaintext consists of, if any: the whole plaintext
    (binary or armored), or an email whose text is one armored message."""
    if is_encrypted_data(plaintext):
        return plaintext
    t = content.text.strip()
    if (t.startswith("-----BEGIN PGP MESSAGE-----") and t.endswith("-----END PGP MESSAGE-----")
            and t.count("-----BEGIN PGP") == 1):
        return t.encode("utf-8")
    return None


def with_outer_signer(inner: Any, outer: Any) -> Any:
    """The inner layer's result, carrying the outer signature when it has none itself."""
    if not inner.signer:
        inner.signer, inner.signature_valid = outer.signer, outer.signature_valid
    return inner


def unsuffixed(name: str) -> str:
    """An encrypted file's name without its .asc/.pgp/.gpg."""
    for suffix in mime.ENCRYPTED_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def sent_name(res: Any, outer: str) -> str:
    """The name of what a decrypted result holds: the one the sender's tool wrote in the
    literal packet (gpg: the encrypted file's name, or --set-filename), else `outer`, the
    encrypted file's name without .asc/.pgp/.gpg. Untrusted either way: `mime.attachment`
    makes the name shown safe, the original is kept as metadata in the private part."""
    literal = str(res.literal_name or "")
    return literal if literal and literal != "_CONSOLE" else unsuffixed(outer)


# The literal data packet's format letters (RFC 9580 §5.9), spelled out in the private part.
LITERAL_FORMATS = {"b": "binary", "t": "text", "u": "utf-8", "m": "mime"}


def file_note(content: mime.Content) -> str:
    """The private part's note on a submission that is a file rather than a message."""
    f = content.file
    assert f is not None
    what = (f"the submission is a file ({f.safe_name}, {f.media_type}, {len(f.data)} "
            f"bytes), kept byte for byte as evidence {hashlib.sha256(f.data).hexdigest()[:16]}")
    if content.text:
        return what + "; its text is also the testimony"
    return what + "; it has no text: the testimony is empty until an editor describes it"


def held_keys(keyring: Keyring) -> set[str]:
    """Fingerprints of every secret primary key and subkey in the keyring."""
    secret = keyring.list(secret=True)
    return {k.fingerprint for k in secret} | {s for k in secret for s in k.subkeys}


def refusal_reason(res: Any, held: set[str]) -> str:
    """gpg's refusal, made precise when it only says 'failed': a message whose (visible)
    recipients are all keys we do not hold is named as such, so the editors know to ask the
    source for the right key rather than suspect tampering."""
    ids = [r.upper() for r in res.recipients if r and set(r) != {"0"}]
    if ids and res.reason.startswith("decryption failed") and \
            not any(h.endswith(i) for i in ids for h in held):
        return "encrypted to a key we do not hold (" + ", ".join(ids) + ")"
    return str(res.reason)
