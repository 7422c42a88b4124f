"""Detached signatures: who made a good signature over some bytes, and whether it was made
while the key that made it still counted.

The rules:

- a good signature over exactly these bytes by a key of the keyring (only the keys it was
  given: for decisions, the trust root's editors), named by its primary fingerprint;
- made before the end of the signing key: the earliest revocation or expiry of the
  primary key and, for a signing subkey, of that subkey (read from the keys themselves);
- weak hashes refused: MD5, SHA-1, RIPEMD-160 (gpg 2.2 accepts SHA-1: refused here);
- anything else (a bad, truncated or garbage signature, one over other bytes, by an unknown
  key, expired, a clear-signed or inline message) is refused."""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from temoin.keys.gpg import _status_lines

if TYPE_CHECKING:
    from temoin.keys.keyring import Keyring

WEAK_HASHES = {1, 2, 3}          # MD5, SHA-1, RIPEMD-160


def with_gpg(keyring: Keyring, data: bytes, signature: bytes) -> str | None:
    """Primary fingerprint of the key that made a good detached `signature` over `data`
    by the rules above, else None; one gpg process."""
    with tempfile.NamedTemporaryFile(dir=keyring.home, suffix=".sig") as sig:
        sig.write(signature)
        sig.flush()
        res = keyring.gpg.verify_data(sig.name, data)
    st = _status_lines(res.stderr or "")
    if any(_weak(line) for line in st.get("VALIDSIG", [])):
        return None
    if st.get("VALIDSIG") and "GOODSIG" in st and not any(k in st for k in _BAD):
        parts = st["VALIDSIG"][0].split()
        return parts[9] if len(parts) > 9 else parts[0]
    return _before_end(keyring.home, st)


# What gpg says of a signature that is not good now. Not KEYEXPIRED or KEYREVOKED: gpg prints
# those for any key it looks at on the way (an expired signing subkey beside the primary that
# signed); the signing key's own expiry or revocation is EXPKEYSIG or REVKEYSIG.
_BAD = ("ERRSIG", "NO_PUBKEY", "BADSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG")


def _weak(validsig: str) -> bool:
    """VALIDSIG <fpr> <date> <time> <expire> <version> <reserved> <pubkey> <hash> …"""
    parts = validsig.split()
    return len(parts) > 7 and parts[7].isdigit() and int(parts[7]) in WEAK_HASHES


def _before_end(home: Path, st: dict[str, list[str]]) -> str | None:
    """The signer of a good signature by a key now revoked or expired (gpg reports every
    signature of such a key as REVKEYSIG/EXPKEYSIG), if it was made before the signing
    key's end (`Cert.counts_at`); else None."""
    if not st.get("VALIDSIG") or not ({"REVKEYSIG", "EXPKEYSIG"} & set(st)) or any(
            k in st for k in ("ERRSIG", "NO_PUBKEY", "BADSIG", "EXPSIG")):
        return None
    parts = st["VALIDSIG"][0].split()
    if len(parts) < 10:
        return None
    made, signing, primary = _epoch(parts[2]), parts[0], parts[9]
    cert = listing(home, primary).get(primary)
    return primary if made is not None and cert is not None \
        and cert.counts_at(made, signing) else None


def _epoch(value: str) -> int | None:
    """A gpg status timestamp (seconds, or ISO 8601 "20250101T120000") as seconds."""
    if value.isdigit():
        return int(value)
    import datetime as _dt

    try:
        return int(_dt.datetime.strptime(value, "%Y%m%dT%H%M%S").replace(
            tzinfo=_dt.UTC).timestamp())
    except ValueError:
        return None


# -- gpg's view of the keys -----------------------------------------------------------------
@dataclass
class Key:
    """A primary key or subkey as gpg lists it."""

    fpr: str
    keyid: str
    validity: str                 # gpg's letter: r revoked, e expired, i invalid, …
    expires: int | None
    caps: str
    revoked: list[int] = field(default_factory=list)  # times of its revocation signatures

    @property
    def end(self) -> int | None:
        times = [t for t in (self.expires, *self.revoked) if t is not None]
        return min(times) if times else None


@dataclass
class Cert:
    """A primary key, its subkeys (by fingerprint), as gpg lists them."""

    primary: Key
    subkeys: dict[str, Key] = field(default_factory=dict)

    def key(self, fpr: str) -> Key | None:
        return self.primary if fpr == self.primary.fpr else self.subkeys.get(fpr)

    def counts_at(self, made: int, signing: str) -> bool:
        """Whether a signature by `signing` (this primary or one of its subkeys) made at
        `made` came before the end of the key: the earliest expiry or revocation of the
        primary and of the signing subkey. Called only for a key gpg says is revoked or
        expired now: with no end found, it does not count."""
        key = self.key(signing)
        if key is None:
            return False
        keys = (self.primary,) if key is self.primary else (self.primary, key)
        ends = [k.end for k in keys if k.end is not None]
        return bool(ends) and made < min(ends)


def listing(home: Path, fingerprint: str | None = None) -> dict[str, Cert]:
    """{primary fingerprint: Cert} of the keyring at `home` (or of one key), from
    `gpg --list-sigs` in colon format: validity, expiry, capabilities and revocation
    signatures (class 20 on a primary, 28 on a subkey)."""
    out = subprocess.run(["gpg", "--homedir", str(home), "--batch", "--no-tty",
                          "--with-colons", "--fixed-list-mode", "--with-subkey-fingerprint",
                          "--list-sigs", *([fingerprint] if fingerprint else [])],
                         capture_output=True, check=False,
                         env={**os.environ, "LC_ALL": "C"}).stdout.decode("utf-8", "replace")
    return parse_listing(out)


def parse_listing(out: str) -> dict[str, Cert]:
    certs: dict[str, Cert] = {}
    cert: Cert | None = None
    current: Key | None = None  # the key the next fpr / rev lines belong to
    waiting = False             # a pub/sub line seen, its fpr line not yet
    for line in out.splitlines():
        f = line.split(":")
        if f[0] in ("pub", "sub") and len(f) > 11:
            current = Key("", f[4].upper(), f[1], int(f[6]) if f[6].isdigit() else None, f[11])
            waiting = True
            if f[0] == "pub":
                cert = Cert(current)
        elif f[0] == "fpr" and waiting and len(f) > 9 and current is not None:
            current.fpr = f[9].upper()
            waiting = False
            if cert is not None and current is cert.primary:
                certs[current.fpr] = cert
            elif cert is not None:
                cert.subkeys[current.fpr] = current
        elif f[0] in ("uid", "uat"):
            current = None
        elif f[0] == "rev" and current is not None and len(f) > 10 and f[5].isdigit() \
                and f[10][:2] == ("20" if cert is not None and current is cert.primary
                                  else "28"):
            current.revoked.append(int(f[5]))
    return certs
