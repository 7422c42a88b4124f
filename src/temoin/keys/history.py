"""The keys' own history as a machine has seen it: a revocation is never taken back.

The trust root names keys by their primary fingerprint; the key files in `keys/` carry the
rest (subkeys, expiry, revocations), and the Git remote may be written by an adversary. An
older copy of a key file (from Git history: the same fingerprint, the revocation of a stolen
signing subkey not yet in it) would make that subkey's signatures count again. OpenPGP never
revokes a revocation, so each machine remembers, outside the repository (`trust` keeps the
file beside its pin), every revocation it has seen, and a key file that lost one is refused.
A fresh machine has seen nothing: like the pin, this is trust on first use."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from temoin.keys import verify

if TYPE_CHECKING:
    from temoin.keys.keyring import Keyring


@dataclass(frozen=True)
class Seen:
    """Revocations of a keyring: {key or subkey fingerprint: earliest revocation time} for
    the keys gpg holds revoked, and each key's primary fingerprint."""

    revoked: dict[str, int]
    primary_of: dict[str, str]


def read(keyring: Keyring) -> Seen:
    """The keyring as gpg's listing shows it: the one its signature checker read already
    (`Keyring.checker`, current), else one `verify.listing`."""
    checker = keyring.checker()
    certs = checker.certs if checker is not None else verify.listing(keyring.home)
    revoked: dict[str, int] = {}
    primary_of: dict[str, str] = {}
    for fpr, cert in certs.items():
        for key in (cert.primary, *cert.subkeys.values()):
            primary_of[key.fpr] = fpr
            if key.validity == "r" and key.revoked:
                revoked[key.fpr] = min(key.revoked)
    return Seen(revoked, primary_of)


def lost(seen: Seen, remembered: dict[str, int]) -> list[tuple[str, str, int]]:
    """(key, its primary, time) of each remembered revocation that a key present in `seen`
    no longer carries (or carries with a later time)."""
    out = []
    for fpr, when in sorted(remembered.items()):
        if fpr in seen.primary_of and seen.revoked.get(fpr, when + 1) > when:
            out.append((fpr, seen.primary_of[fpr], when))
    return out


def load(path: Path) -> dict[str, int]:
    """The revocations remembered in `path` ({} when none or unreadable)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): int(v) for k, v in data.items() if isinstance(v, int)}


def remember(path: Path, seen: Seen) -> None:
    """Add the revocations of `seen` to `path` (the earliest time of each is kept)."""
    old = load(path)
    merged = dict(old)
    for fpr, when in seen.revoked.items():
        merged[fpr] = min(when, merged.get(fpr, when))
    if merged == old:
        return
    from temoin.files import write_atomic

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, json.dumps(merged, indent=1, sort_keys=True).encode())
