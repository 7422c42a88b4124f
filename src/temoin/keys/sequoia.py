"""In-process encryption with Sequoia (pysequoia), gpg still the judge of which keys may
be used; gpg does the work whenever Sequoia cannot be trusted to do exactly the same."""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pysequoia

    from temoin.keys.keyring import Keyring

# Sequoia makes (and drops) errors in its normal course, even while encrypting; with
# RUST_BACKTRACE=1 in the environment each one captured a backtrace, a fifth of an
# encryption's cost, for errors nobody sees (ours are caught and gpg decides). The Rust
# library reads this once, at its first error; panics keep RUST_BACKTRACE's setting.
os.environ.setdefault("RUST_LIB_BACKTRACE", "0")


class Sealer:
    """Armored encryption of many items to the same recipients, in process.

    A gpg process per item costs more than the rest of an ingest; Sequoia (pysequoia) in
    this process does the same work in a few milliseconds. gpg stays the judge of which
    keys may be used: the certificates are exported from the keyring once, and a probe
    encryption must use only subkeys gpg itself holds valid for encryption (every
    recipient at least one), in a SEIPD v1 packet (MDC) that gpg 2.2 reads. Anything
    else (pysequoia missing, a certificate Sequoia's policy rejects such as one bound
    by SHA-1, an unusable key) and the run uses gpg, which refuses what it refuses.

    With `signer` each item is signed first (sign then encrypt, issue 16): in process with
    that key's secret part, exported from gpg once for the run (with the keyring's
    passphrase) and kept in memory only; gpg signs instead whenever that is not possible
    (no pysequoia, a key gpg will not export without asking, a key Sequoia cannot use)."""

    def __init__(self, keyring: Keyring, recipients: builtins.list[str],
                 signer: str | None = None) -> None:
        self.keyring, self.recipients, self.signer = keyring, recipients, signer
        self.certs = _sequoia_certs(keyring, recipients) if recipients else None
        self._signer: Any = _sequoia_signer(keyring, signer) if signer and self.certs else None

    def unsigned(self) -> Sealer:
        """A sealer to the same recipients that signs nothing, with the certificates gpg
        already vouched for here (no second export and probe)."""
        other = Sealer.__new__(Sealer)
        other.keyring, other.recipients, other.signer = self.keyring, self.recipients, None
        other.certs, other._signer = self.certs, None
        return other

    @property
    def in_process(self) -> bool:
        return self.certs is not None and (self.signer is None or self._signer is not None)

    def encrypt_many(self, items: Iterable[bytes]) -> builtins.list[bytes]:
        """Like `Keyring.encrypt_many` (same errors), without a process per item."""
        items = [bytes(i) for i in items]
        if self.certs is None or not self.in_process:
            return self.keyring.encrypt_many(items, self.recipients, self.signer)
        import pysequoia

        out = []
        for item in items:
            try:
                out.append(bytes(pysequoia.encrypt(item, self.certs, signer=self._signer)))
            except Exception:  # noqa: BLE001 - gpg decides (and explains) instead
                out += self.keyring.encrypt_many([item], self.recipients, self.signer)
        return out


def _sequoia_signer(keyring: Keyring, fpr: str) -> Any:
    """A pysequoia signer for the secret key `fpr` of the keyring, or None (gpg signs)."""
    try:
        import pysequoia
    except ImportError:
        return None
    if not keyring.has_secret(fpr):
        return None  # gpg says why when it tries
    try:
        secret = keyring.export_secret(fpr)
        tsk = pysequoia.Tsk.from_bytes(secret.encode("ascii"))
        return tsk.signer(keyring.passphrase or None)
    except Exception:  # noqa: BLE001 - not exported, not parsed, no signing key: gpg signs
        return None


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
