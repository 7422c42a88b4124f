"""In-process encryption with Sequoia (pysequoia), gpg still the judge of which keys may
be used; gpg does the work whenever Sequoia cannot be trusted to do exactly the same."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pysequoia

    from temoin.keys.keyring import Keyring


class Sealer:
    """Armored encryption of many items to the same recipients, in process.

    A gpg process per item costs more than the rest of an ingest; Sequoia (pysequoia) in
    this process does the same work in a few milliseconds. gpg stays the judge of which
    keys may be used: the certificates are exported from the keyring once, and a probe
    encryption must use only subkeys gpg itself holds valid for encryption (every
    recipient at least one), in a SEIPD v1 packet (MDC) that gpg 2.2 reads. Anything
    else (pysequoia missing, a certificate Sequoia's policy rejects such as one bound
    by SHA-1, an unusable key) and the run uses gpg, which refuses what it refuses."""

    def __init__(self, keyring: Keyring, recipients: builtins.list[str]) -> None:
        self.keyring, self.recipients = keyring, recipients
        self.certs = _sequoia_certs(keyring, recipients) if recipients else None

    @property
    def in_process(self) -> bool:
        return self.certs is not None

    def encrypt_many(self, items: Iterable[bytes]) -> builtins.list[bytes]:
        """Like `Keyring.encrypt_many` (same errors), without a process per item."""
        items = [bytes(i) for i in items]
        if self.certs is None:
            return self.keyring.encrypt_many(items, self.recipients)
        import pysequoia

        out = []
        for item in items:
            try:
                out.append(bytes(pysequoia.encrypt(item, self.certs)))
            except Exception:  # noqa: BLE001 - gpg decides (and explains) instead
                out += self.keyring.encrypt_many([item], self.recipients)
        return out


def _sequoia_certs(keyring: Keyring,
                   rcpts: builtins.list[str]) -> builtins.list[pysequoia.Cert] | None:
    """The recipients' certificates for pysequoia, or None when gpg must do the work."""
    try:
        import pysequoia
    except ImportError:
        return None
    valid = _encryption_keys(keyring, rcpts)
    if valid is None:
        return None
    try:
        exported = keyring.gpg.export_keys(rcpts, armor=True, minimal=True)
        by_fpr = {c.fingerprint.upper(): c for c in
                  pysequoia.Cert.split_bytes(str(exported).encode("ascii"))}
        certs = [by_fpr[r.upper()] for r in rcpts]
        probe = bytes(pysequoia.encrypt(b"probe", certs, armor=False))
    except Exception:  # noqa: BLE001 - not exported, not parsed, refused by Sequoia's policy
        return None
    used, seipd = _pkesk_ids(probe)
    if seipd != 1 or not used or not all(
            used & ids and used <= set().union(*valid.values()) for ids in valid.values()):
        return None
    return list(certs)


def _encryption_keys(keyring: Keyring, rcpts: builtins.list[str]) -> dict[str, set[str]] | None:
    """{recipient: key ids gpg would accept to encrypt to} (None if one has none): the
    primary key and subkeys that can encrypt, in gpg's own listing (as `Keyring.unfit`
    reads it), none of them nor their primary revoked, expired, invalid or disabled."""
    bad = ("r", "e", "i", "d")
    listed = {str(k.get("fingerprint", "")).upper(): k
              for k in keyring.gpg.list_keys(keys=rcpts)}
    wanted: dict[str, set[str]] = {}
    for r in rcpts:
        k = listed.get(r.upper())
        ids: set[str] = set()
        if k is not None and str(k.get("trust", "")) not in bad:
            if "e" in str(k.get("cap", "")):  # lower case: the primary key's own capability
                ids.add(str(k.get("keyid", "")).upper())
            ids |= {str(kid).upper() for kid, info in (k.get("subkey_info") or {}).items()
                    if str(info.get("trust", "")) not in bad and "e" in str(info.get("cap", ""))}
        wanted[r.upper()] = ids
    return wanted if all(wanted.values()) else None


def _pkesk_ids(message: bytes) -> tuple[set[str], int]:
    """(key ids of the v3 PKESK packets, version of the SEIPD packet or 0) of a binary
    OpenPGP message in Sequoia's new-format packets, read up to the encrypted data."""
    ids: set[str] = set()
    pos = 0
    while pos < len(message):
        ctb = message[pos]
        if ctb & 0xC0 != 0xC0:
            return ids, 0
        tag, first = ctb & 0x3F, message[pos + 1]
        if first < 192:
            hlen, length = 2, first
        elif first < 224:
            hlen, length = 3, ((first - 192) << 8) + message[pos + 2] + 192
        elif first == 255:
            hlen, length = 6, int.from_bytes(message[pos + 2:pos + 6], "big")
        else:
            hlen, length = 2, 0  # partial length: only the encrypted data streams like this
        body = message[pos + hlen:pos + hlen + length]
        if tag == 18:
            return ids, message[pos + hlen]
        if tag != 1 or body[:1] != b"\x03":
            return ids, 0
        ids.add(body[1:9].hex().upper())
        pos += hlen + length
    return ids, 0
