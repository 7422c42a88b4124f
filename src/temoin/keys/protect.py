"""Is a secret key protected by a passphrase? Protecting one, and naming its address.

The answer comes from gpg-agent's KEYINFO, which says for each part of a key (the primary
key and each subkey) whether it is stored protected or in the clear. Nothing is unlocked,
tried or signed to find out, so asking never opens a key, even for a moment.

`set_passphrase` protects a key whose every part is in the clear (what `keys generate
--no-passphrase` makes); `add_uid` adds a user id (the organisation's contact address) and
makes it the primary one. Passphrases reach gpg through a pipe, never its command line
(which every user of the machine can read) and never a file.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

from temoin.errors import ConfigError, CryptoError
from temoin.keys.gpg import BASE_OPTIONS, _first_error

if TYPE_CHECKING:
    from temoin.keys.keyring import Keyring

PROTECTED, CLEAR, CARD, UNKNOWN = "protected", "clear", "card", "unknown"


@dataclass(frozen=True)
class Part:
    """One secret part of a key: primary or subkey, its keygrip and how it is stored."""

    keygrip: str
    primary: bool
    state: str


def check_passphrase(passphrase: str) -> None:
    """A passphrase gpg reads as a line: no newline, CR or NUL."""
    if any(c in passphrase for c in "\n\r\0"):
        raise ConfigError("the passphrase holds a newline, CR or NUL; gpg would read a "
                          "different one")


def _grips(kr: Keyring, fingerprint: str) -> list[tuple[str, bool]]:
    """(keygrip, is primary) of each part of `fingerprint` whose secret is in the keyring."""
    out = subprocess.run(["gpg", "--homedir", str(kr.home), "--batch", "--no-tty",
                          "--with-colons", "--with-keygrip", "--list-secret-keys",
                          fingerprint], capture_output=True, check=False,
                         env={**os.environ, "LC_ALL": "C"}).stdout.decode("utf-8", "replace")
    found: list[tuple[str, bool]] = []
    kind, here, owner = "", False, ""
    for line in out.splitlines():
        f = line.split(":")
        if f[0] in ("sec", "ssb"):
            # Field 15: '+' secret here, '#' only a stub (secret elsewhere), else a card.
            kind, here = f[0], len(f) > 14 and f[14] != "#"
        elif f[0] == "fpr" and kind == "sec" and len(f) > 9:
            owner = f[9]
        elif f[0] == "grp" and len(f) > 9 and here and owner == fingerprint:
            found.append((f[9], kind == "sec"))
    return found


def parts(kr: Keyring, fingerprint: str) -> list[Part]:
    """Each secret part of the key `fingerprint` in the keyring and how gpg-agent stores it
    (empty when the keyring holds no secret part of it)."""
    grips = _grips(kr, fingerprint)
    if not grips:
        return []
    cmd = ["gpg-connect-agent", "--homedir", str(kr.home),
           *(f"KEYINFO {g}" for g, _ in grips), "/bye"]
    out = subprocess.run(cmd, capture_output=True, check=False,
                         env={**os.environ, "LC_ALL": "C"}).stdout.decode("utf-8", "replace")
    states: dict[str, str] = {}
    for line in out.splitlines():
        f = line.split()
        # S KEYINFO <grip> <type D|T|X> <serial> <idstr> <cached> <protection P|C|-> …
        if len(f) >= 8 and f[:2] == ["S", "KEYINFO"]:
            states[f[2]] = CARD if f[3] == "T" else {"P": PROTECTED, "C": CLEAR}.get(
                f[7], UNKNOWN)
    return [Part(g, primary, states.get(g, UNKNOWN)) for g, primary in grips]


def set_passphrase(kr: Keyring, fingerprint: str, passphrase: str) -> None:
    """Protect every part of the key `fingerprint` with `passphrase`. Only for a key whose
    every part is in the clear: gpg then asks one new passphrase per part, and nothing
    else (a partly protected key would be asked its old one: refused, never guessed)."""
    check_passphrase(passphrase)
    if not passphrase:
        raise ConfigError("an empty passphrase protects nothing")
    found = parts(kr, fingerprint)
    if not found:
        raise CryptoError(f"no secret key {fingerprint} in {kr.home}")
    if any(p.state != CLEAR for p in found):
        raise CryptoError(f"{fingerprint}: not every part of it is unprotected ("
                          + ", ".join(sorted({p.state for p in found})) + "); change its "
                          f"passphrase with GnuPG itself: gpg --homedir {kr.home} --passwd "
                          f"{fingerprint}")
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            ["gpg", "--homedir", str(kr.home), "--batch", "--no-tty", *BASE_OPTIONS,
             "--command-fd", "0", "--status-fd", "1", "--passwd", fingerprint],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        assert proc.stdin is not None and proc.stdout is not None
        asked = 0
        try:
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                if line.startswith("[GNUPG:] GET_HIDDEN passphrase.enter"):
                    asked += 1
                    if asked > len(found):  # an old passphrase wanted: stop, never guess
                        break
                    proc.stdin.write(passphrase.encode("utf-8") + b"\n")
                    proc.stdin.flush()
                elif line.startswith("[GNUPG:] GET_"):
                    break  # any other question: not what we expected, stop
        finally:
            proc.stdin.close()
            code = proc.wait(timeout=60)
        err.seek(0)
        why = _first_error(err.read().decode("utf-8", "replace"))
    if code != 0 or any(p.state != PROTECTED for p in parts(kr, fingerprint)):
        raise CryptoError(f"gpg --passwd {fingerprint} failed ({why}); the key may be left "
                          f"partly protected: check it with `gpg --homedir {kr.home} --passwd "
                          f"{fingerprint}`")


def add_uid(kr: Keyring, fingerprint: str, uid: str, passphrase: str | None) -> None:
    """Add `uid` ("Name <address>") to the key and make it its primary user id."""
    pw = passphrase or ""
    check_passphrase(pw)
    data = (pw.encode("utf-8") + b"\n") if pw else b""
    pw_args = ["--passphrase-fd", "0"] if pw else ["--passphrase", ""]
    have = next((k.uids for k in kr.list() if k.fingerprint == fingerprint), None)
    if have is None:
        raise CryptoError(f"no key {fingerprint} in {kr.home}")
    if uid not in have:
        kr._run(["--quick-add-uid", fingerprint, uid], data=data, extra=pw_args)
    kr._run(["--quick-set-primary-uid", fingerprint, uid], data=data, extra=pw_args)


def any_protected(kr: Keyring) -> bool:
    """Whether any secret key part in the keyring is protected by a passphrase (so a
    command that decrypts or signs will need one)."""
    out = subprocess.run(["gpg-connect-agent", "--homedir", str(kr.home), "KEYINFO --list",
                          "/bye"], capture_output=True, check=False,
                         env={**os.environ, "LC_ALL": "C"}).stdout.decode("utf-8", "replace")
    return any(len(f) >= 8 and f[:2] == ["S", "KEYINFO"] and f[7] == "P"
               for f in (line.split() for line in out.splitlines()))
