"""Detached signatures: who made a good signature over some bytes, by the same rules
whether gpg or Sequoia (in this process) does the work.

`detached` is the one verifier every caller goes through (`Keyring.verify_detached`):
decisions, trust statements, receipts and the site manifest. A gpg process per signature
cost most of a cold build (two or more signed decisions a case); Sequoia (pysequoia) checks
one in a fraction of a millisecond. The rules, whoever checks:

- a good signature over exactly these bytes by a key of the keyring (only the keys it was
  given: for decisions, the trust root's editors), named by its primary fingerprint;
- made before the end of the signing key: the earliest revocation or expiry of the
  primary key and, for a signing subkey, of that subkey (read from the keys themselves);
- weak hashes refused: MD5, SHA-1, RIPEMD-160 (gpg 2.2 accepts SHA-1: refused here);
- exactly one signature, of a binary document (class 0x00), that never expires and is not
  dated in the future: what `Keyring.sign_detached` makes. So a verdict never goes from
  good to bad as time passes (a signature dated after its key's future end was good until
  that end), which is what lets the signature cache keep good verdicts. gpg accepted a
  text-mode signature (class 0x01) for bytes with other line ends than those signed, the
  first of several good signatures in one file, and a signature with its own expiry until
  that day (a verdict the signature cache then kept: the site differed with
  TEMOIN_NO_CACHE=1);
- anything else (a bad, truncated or garbage signature, one over other bytes, by an unknown
  key, in the future, expired, a clear-signed or inline message, several signatures) is
  refused.

gpg stays the judge of the keys: one listing of the keyring (`gpg --list-sigs`) gives each
key's validity, expiry and revocations, and one export gives Sequoia the certificates. The
in-process path decides only what it knows gpg would decide the same way: one v4 signature
packet of a binary document, a SHA-2 hash, an algorithm gpg 2.2 knows, no critical
subpacket beyond the usual four, made in the past, that Sequoia (standard policy) finds good
with a key gpg lists. Everything else goes to gpg, one process for that one signature, and
gpg's verdict counts: a doubt is never an acceptance. `TEMOIN_VERIFY=gpg` makes gpg check
every signature (tests/test_verify_inprocess.py holds both paths to the same verdicts)."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from temoin.errors import ConfigError
from temoin.keys import packets
from temoin.keys.gpg import _status_lines

if TYPE_CHECKING:
    import pysequoia

    from temoin.keys.keyring import Keyring

ENV = "TEMOIN_VERIFY"
ENGINES = ("sequoia", "gpg")
WEAK_HASHES = {1, 2, 3}          # MD5, SHA-1, RIPEMD-160
_HASHES = {8, 9, 10, 11}         # SHA-256, SHA-384, SHA-512, SHA-224
_PUBKEY_ALGOS = {1, 3, 17, 19, 22}  # RSA, RSA sign-only, DSA, ECDSA, EdDSA: what gpg 2.2 knows
# Signature of a binary document only: a text signature (class 1) is over line endings
# canonicalised (so good for bytes other than those signed); no other class is a document's.
_DOCUMENT = {0}


def engine() -> str:
    """Who checks signatures: `TEMOIN_VERIFY` (sequoia, the default, or gpg)."""
    value = os.environ.get(ENV, "").strip().lower() or "sequoia"
    if value not in ENGINES:
        raise ConfigError(f"{ENV}: expected one of {', '.join(ENGINES)}, got {value!r}")
    return value


def detached(keyring: Keyring, data: bytes, signature: bytes) -> str | None:
    """Primary fingerprint of the key that made a good detached `signature` over `data`
    by the rules above, else None."""
    if engine() == "sequoia":
        checker = keyring.checker()
        if checker is not None:
            decided, signer = checker.judge(data, signature)
            if decided:
                return signer
    return with_gpg(keyring, data, signature)


def with_gpg(keyring: Keyring, data: bytes, signature: bytes) -> str | None:
    """The same verdict, from one gpg process."""
    with tempfile.NamedTemporaryFile(dir=keyring.home, suffix=".sig") as sig:
        sig.write(signature)
        sig.flush()
        res = keyring.gpg.verify_data(sig.name, data)
    st = _status_lines(res.stderr or "")
    if any(_weak(line) for line in st.get("VALIDSIG", [])) or not _one_document(st):
        return None
    if st.get("VALIDSIG") and "GOODSIG" in st and not any(k in st for k in _BAD):
        parts = st["VALIDSIG"][0].split()
        return parts[9] if len(parts) > 9 else parts[0]
    return _before_end(keyring.home, st)


# What gpg says of a signature that is not good now. Not KEYEXPIRED or KEYREVOKED: gpg prints
# those for any key it looks at on the way (an expired signing subkey beside the primary that
# signed); the signing key's own expiry or revocation is EXPKEYSIG or REVKEYSIG.
_BAD = ("ERRSIG", "NO_PUBKEY", "BADSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG")


# Every status line gpg prints once for each signature it checks.
_RESULTS = ("GOODSIG", "BADSIG", "ERRSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG")


def _one_document(st: dict[str, list[str]]) -> bool:
    """Whether gpg checked exactly one signature, and (if good) one of a binary document
    (class 00) with no expiry of its own, not dated in the future (gpg does not check
    that). VALIDSIG <fpr> <date> <time> <expire> <version> <reserved> <pubkey> <hash>
    <class> <primary>."""
    if len(st.get("NEWSIG", [None])) != 1 or sum(len(st.get(k, [])) for k in _RESULTS) != 1:
        return False
    valid = st.get("VALIDSIG", [])
    if len(valid) > 1:
        return False
    parts = valid[0].split() if valid else []
    if not valid:
        return True
    made = _epoch(parts[2]) if len(parts) > 2 else None
    return len(parts) > 8 and parts[8] == "00" and parts[3] == "0" and made is not None \
        and made <= time.time()


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
    """The keys of a `--with-colons --fixed-list-mode --with-subkey-fingerprint` listing."""
    certs: dict[str, Cert] = {}
    cert: Cert | None = None
    current: Key | None = None  # the key the next fpr / rev lines belong to
    waiting = False             # a pub/sub line seen, its fpr line not yet
    for line in out.splitlines():
        f = line.split(":")
        if f[0] in ("pub", "sub"):
            if len(f) <= 11:  # not gpg's colon format: nothing below it is attributed
                current, waiting = None, False
                cert = None if f[0] == "pub" else cert
                continue
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


Stamp = tuple[tuple[int, int, int] | None, ...]


def stamp(home: Path) -> Stamp:
    """What changes when the keyring's public keys change (both keyring formats)."""
    out: list[tuple[int, int, int] | None] = []
    for name in ("pubring.kbx", "pubring.gpg"):
        try:
            st = os.stat(home / name)
            out.append((st.st_ino, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append(None)
    return tuple(out)


# -- Sequoia, in this process -----------------------------------------------------------------
class Checker:
    """The keyring's keys as gpg lists them and as Sequoia parsed them, for `judge`."""

    def __init__(self, certs: dict[str, Cert], sequoia: dict[str, pysequoia.Cert]) -> None:
        self.certs, self.sequoia = certs, sequoia
        self.by_fpr = {k.fpr: (c, k) for c in certs.values()
                       for k in (c.primary, *c.subkeys.values())}
        self.by_keyid: dict[str, list[tuple[Cert, Key]]] = {}
        for c, k in self.by_fpr.values():
            self.by_keyid.setdefault(k.keyid, []).append((c, k))

    @classmethod
    def load(cls, home: Path) -> Checker | None:
        """The keyring at `home` read once (a listing, an export), or None when Sequoia is
        not there to use: then gpg checks every signature."""
        try:
            import pysequoia
        except ImportError:
            return None
        certs = listing(home)
        exported = subprocess.run(["gpg", "--homedir", str(home), "--batch", "--no-tty",
                                   "--export"], capture_output=True, check=False).stdout
        parsed: dict[str, pysequoia.Cert] = {}
        try:
            for c in pysequoia.Cert.split_bytes(exported) if exported else []:
                parsed[c.fingerprint.upper()] = c
        except Exception:  # noqa: BLE001 - a key Sequoia cannot parse: gpg checks its signatures
            parsed = {}
        return cls(certs, parsed)

    def judge(self, data: bytes, signature: bytes) -> tuple[bool, str | None]:
        """(True, verdict) when this is a signature the in-process path decides, the verdict
        being what `with_gpg` says; (False, None) when gpg must decide."""
        raw = packets.dearmor(signature)
        sig = packets.signature(raw) if raw is not None else None
        if sig is None:
            return False, None
        if sig.hash_algo in WEAK_HASHES or sig.kind not in _DOCUMENT or sig.expires \
                or sig.created > time.time():
            return True, None  # does not count (a future one: not yet), whoever checks
        if sig.hash_algo not in _HASHES or sig.pubkey_algo not in _PUBKEY_ALGOS:
            return False, None
        found = self._issuer(sig)
        if found is None:
            return False, None
        if not found:
            return True, None  # no key of ours has that id: gpg says NO_PUBKEY
        cert, key = found[0]
        seq = self.sequoia.get(cert.primary.fpr)
        if seq is None or "s" not in key.caps \
                or key.validity in ("i", "d") or cert.primary.validity in ("i", "d"):
            return False, None  # gpg holds the key unusable, or not for signing: it decides
        if not _good(seq, data, sig, cert.primary.fpr, key.fpr):
            return False, None
        now = time.time()
        ended = any(k.validity in ("r", "e") or (k.expires is not None and k.expires <= now)
                    for k in (cert.primary, key))
        if not ended:
            return True, cert.primary.fpr
        return True, cert.primary.fpr if cert.counts_at(sig.created, key.fpr) else None

    def signed_by(self, data: bytes, sig: packets.Signature) -> tuple[Cert, Key] | None:
        """(certificate, signing key) of a signature `judge` would find good over `data`
        now or before the key's end, by Sequoia alone: a binary document signature that
        never expires, made in the past, SHA-2, by one key of this keyring fit to sign;
        else None (which is no verdict: gpg decides)."""
        if sig.kind not in _DOCUMENT or sig.expires or sig.created > time.time() \
                or sig.hash_algo not in _HASHES or sig.pubkey_algo not in _PUBKEY_ALGOS:
            return None
        found = self._issuer(sig)
        if not found:
            return None
        cert, key = found[0]
        seq = self.sequoia.get(cert.primary.fpr)
        if seq is None or "s" not in key.caps \
                or key.validity in ("i", "d") or cert.primary.validity in ("i", "d"):
            return None
        return (cert, key) if _good(seq, data, sig, cert.primary.fpr, key.fpr) else None

    def _issuer(self, sig: packets.Signature) -> list[tuple[Cert, Key]] | None:
        """[(cert, key)] the signature names (one), [] when no key here has its id, None
        when its ids disagree or name several keys."""
        by_fpr = self.by_fpr.get(sig.issuer_fpr) if sig.issuer_fpr else None
        by_id = self.by_keyid.get(sig.issuer_keyid, []) if sig.issuer_keyid else []
        if sig.issuer_fpr is None and sig.issuer_keyid is None:
            return None
        if by_fpr is None and not by_id:
            return []
        if by_fpr is not None and (sig.issuer_keyid is None or by_id == [by_fpr]):
            return [by_fpr]
        if sig.issuer_fpr is None and len(by_id) == 1:
            return by_id
        return None


def _good(cert: pysequoia.Cert, data: bytes, sig: packets.Signature, primary: str,
          signing: str) -> bool:
    """Sequoia's verdict (standard policy, key valid at the signature's time): one good
    signature over `data`, by `signing` of `primary`, dated as we read it."""
    import pysequoia

    try:
        parsed = pysequoia.Sig.from_bytes(sig.packet)
        created = parsed.created
        if created is None or int(created.timestamp()) != sig.created:
            return False
        valid = pysequoia.verify(bytes=data, store=lambda _ids: [cert],
                                 signature=parsed).valid_sigs
    except Exception:  # noqa: BLE001 - not good to Sequoia (bad, weak, revoked…): gpg decides
        return False
    return len(valid) == 1 and str(valid[0].certificate).upper() == primary \
        and str(valid[0].signing_key).upper() == signing
