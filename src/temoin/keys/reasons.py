"""gpg's status lines -> the verdict on a message: the signer, the literal packet, and the
one-line quarantine reason a decryption is refused for (never with plaintext in it)."""

from __future__ import annotations

import re

_SIG_PROBLEMS = ("ERRSIG", "NO_PUBKEY", "BADSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG",
                 "KEYEXPIRED", "KEYREVOKED")
# One line each, for an editor; the keyword tests and the corpus manifest look for is first.
_REASONS = {
    "empty": "empty submission: no data to decrypt",
    "plain": "not encrypted: no OpenPGP data found (plain text?); ask the source to encrypt "
             "to the inbox key",
    "signed": "not encrypted: a signed or clear-signed message anyone could read on the way; "
              "ask the source to encrypt to the inbox key",
    "key": "not encrypted: an OpenPGP key, not a message (import it with `temoin keys "
           "import` if it is meant as a key)",
    "stranger": "encrypted to a key we do not hold ({ids}); check which inbox key the "
                "source used (`temoin keys list`)",
    "symmetric": "symmetric-only encryption (passphrase, no public-key recipient): refused; "
                 "ask the source to encrypt to the inbox key",
    "passphrase": "wrong or missing passphrase for the inbox key: check "
                  "TEMOIN_PASSPHRASE_FILE or the gpg-agent",
    "session": "session key does not decrypt with our key (damaged or forged key packet)",
    "badmdc": "integrity check failed: the ciphertext was modified (MDC mismatch)",
    "nomdc": "integrity protection missing (legacy message without MDC): refused as EFAIL "
             "guidance requires",
    "inner": "integrity not verified: damaged data inside the encryption (tampered or "
             "truncated)",
    "injected": "unencrypted data beside the encrypted message (possible injection): refused",
    "truncated": "truncated: the encrypted data ends early",
    "armor_end": "truncated: the armor has no END line",
    "armor_crc": "malformed armor: checksum (CRC) mismatch",
    "armor_chars": "malformed armor: characters outside base64 in the body",
    "malformed": "malformed OpenPGP data: not a message gpg can read",
    "unsupported": "unsupported packet version/AEAD (GnuPG 2.2): an OpenPGP v6/SEIPDv2 "
                   "message; ask the source for a v4-compatible one",
    "bomb": "decompressed size over the limit of {limit} bytes (possible compression bomb); "
            "raise the limit only for a sender you trust",
    "incomplete": "gpg exited {rc} after decrypting: refused as incomplete",
    "timeout": "gpg did not finish within {timeout:g} s: stopped and refused",
    "flood": "malformed OpenPGP data: gpg's report on it passed 4 MiB",
}
_TRUNCATED = ("premature", "problem reading source", "read error", "Invalid packet",
              "unexpected end")
# RFC 9580 packets GnuPG 2.2 cannot parse: v6 PKESK/SKESK/signatures, SEIPD version 2.
_V6_PACKET = re.compile(r"(packet\(\d+\)|encrypted_mdc packet) with unknown version [2-6]\b")
_KEY_TAGS = {5, 6, 7, 14}  # secret key, public key, secret subkey, public subkey


def _signature(st: dict[str, list[str]]) -> tuple[str, bool]:
    """(signer primary fingerprint, else key id, or ""; whether every signature is good)."""
    valid = "VALIDSIG" in st and "GOODSIG" in st and not any(k in st for k in _SIG_PROBLEMS)
    if st.get("VALIDSIG"):
        parts = st["VALIDSIG"][0].split()
        return (parts[9] if len(parts) > 9 else parts[0]), valid
    if st.get("ERRSIG"):
        parts = st["ERRSIG"][0].split()  # keyid algo hash class time rc [fingerprint]
        return (parts[6] if len(parts) > 6 and parts[6] != "-" else parts[0]), False
    for key in ("BADSIG", "EXPKEYSIG", "REVKEYSIG", "EXPSIG", "GOODSIG"):
        if st.get(key):
            return st[key][0].split()[0], False
    return "", False


def _literal(st: dict[str, list[str]]) -> tuple[str, str]:
    """(format letter, file name) of the literal data packet from gpg's `PLAINTEXT <format
    hex> <timestamp> <name>` status line. gpg escapes '%', spaces and control characters in
    the name as %XX and passes other bytes through (read here as latin-1). The packet says
    nothing of the name's charset: UTF-8 when it is valid UTF-8, else Windows-1252 (PGPy
    writes Latin-1), undefined bytes replaced."""
    lines = st.get("PLAINTEXT") or []
    if len(lines) != 1:  # none, or several literals (refused anyway as injected data)
        return "", ""
    parts = lines[0].split(" ", 2)
    try:
        fmt = chr(int(parts[0], 16))
    except ValueError:
        fmt = ""
    raw = parts[2] if len(parts) > 2 else ""
    name = re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]),
                  raw.encode("latin-1", "replace"))
    # RFC 9580 also knows "l" and "1" (local, obsolete): both mean binary.
    try:
        text = name.decode("utf-8")
    except UnicodeDecodeError:
        text = name.decode("cp1252", "replace")
    return (fmt if fmt.isascii() and fmt.isalnum() else ""), text


def _decrypt_failure(st: dict[str, list[str]], log: str, returncode: int, over: bool,  # noqa: C901 - one branch per gpg status that means a distinct quarantine reason
                     data: bytes, max_output: int) -> str:
    """One-line reason a decryption must be refused, or '' when it is good.

    Status lines decide wherever gpg gives one; gpg's English log lines (LC_ALL=C) only
    sharpen the wording of a refusal, never turn a refusal into a success.
    """
    errors = " ".join(st.get("ERROR", []))
    if over or "exceeded --max-output" in log:
        return _REASONS["bomb"].format(limit=max_output)
    if "plaintext" in errors or "multiple plaintexts" in log:
        return _REASONS["injected"]
    if "BADMDC" in st:
        return _REASONS["badmdc"]
    if "BEGIN_DECRYPTION" in st:
        return _after_begin(st, log, errors, returncode)
    if "NEED_PASSPHRASE" in st:  # one of our keys, locked, and no passphrase to give it
        return _REASONS["passphrase"]
    if st.get("ENC_TO") and "NO_SECKEY" in st:
        return _stranger(st)
    if "NEED_PASSPHRASE_SYM" in st:
        return _REASONS["symmetric"]
    if any(t in log for t in _TRUNCATED):
        return _REASONS["truncated"]
    if _V6_PACKET.search(log):
        return _REASONS["unsupported"]
    head = data.lstrip()[:64]
    if (head.startswith((b"-----BEGIN PGP PUBLIC KEY", b"-----BEGIN PGP PRIVATE KEY"))
            or _first_tag(head) in _KEY_TAGS or "UNEXPECTED" in st):
        return _REASONS["key"]
    if any(k in st for k in ("PLAINTEXT", "NEWSIG", "GOODSIG", "BADSIG", "ERRSIG")):
        return _REASONS["signed"]
    if "CRC error" in log:
        return _REASONS["armor_crc"]
    if "invalid radix64" in log:
        return _REASONS["armor_chars"]
    if b"-----BEGIN PGP" in data and b"-----END PGP" not in data:
        return _REASONS["armor_end"]
    if st.get("NODATA") and b"-----BEGIN PGP" not in data and _first_tag(head) is None:
        return _REASONS["plain"]
    return _REASONS["malformed"]


def _after_begin(st: dict[str, list[str]], log: str, errors: str, returncode: int) -> str:
    """The verdict once gpg started decrypting a public-key or symmetric message."""
    info = (st.get("DECRYPTION_INFO") or [""])[0].split()
    if info and info[0] == "0" and "GOODMDC" not in st:
        return _REASONS["nomdc"]  # mdc_method 0: a SED packet; AEAD reports GOODMDC
    if "DECRYPTION_KEY" not in st:
        # gpg error code 11 is GPG_ERR_BAD_PASSPHRASE (low 16 bits of the ERROR argument)
        if "BAD_PASSPHRASE" in st or "Bad passphrase" in log or any(
                a.split()[-1].isdigit() and int(a.split()[-1]) & 0xFFFF == 11
                for a in st.get("ERROR", []) if a.startswith("pkdecrypt_failed")):
            return _REASONS["passphrase"]
        if st.get("ENC_TO") and "NO_SECKEY" in st:
            return _stranger(st)
        if "pkdecrypt_failed" in errors:
            return _REASONS["session"]
        if "NEED_PASSPHRASE_SYM" in st and not st.get("ENC_TO"):
            return _REASONS["symmetric"]
    if "DECRYPTION_FAILED" in st or "DECRYPTION_OKAY" not in st:
        if any(t in log for t in _TRUNCATED):
            return _REASONS["truncated"]
        return _REASONS["inner"]
    if "GOODMDC" not in st:
        return _REASONS["nomdc"]
    if "DECRYPTION_KEY" not in st:
        return _REASONS["symmetric"]  # decrypted, but not by one of our secret keys
    if returncode != 0 and (errors or not any(k in st for k in _SIG_PROBLEMS)):
        return _REASONS["incomplete"].format(rc=returncode)
    return ""


def _stranger(st: dict[str, list[str]]) -> str:
    ids = sorted({a.split()[0] for a in st.get("NO_SECKEY", []) if a})
    return _REASONS["stranger"].format(ids=", ".join(ids) or "hidden recipient")


def _first_tag(head: bytes) -> int | None:
    """Packet tag of binary OpenPGP data (RFC 4880 §4.2), or None if it is not a packet."""
    if not head or not head[0] & 0x80:
        return None
    return head[0] & 0x3F if head[0] & 0x40 else (head[0] >> 2) & 0x0F
