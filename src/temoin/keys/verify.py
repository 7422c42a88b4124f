"""Detached signatures: who made a good signature over some bytes (`with_gpg`), and when
the key that made it stopped counting (`key_end`)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from temoin.keys.gpg import _status_lines
from temoin.keys.reasons import _signature

if TYPE_CHECKING:
    from temoin.keys.keyring import Keyring


def with_gpg(keyring: Keyring, data: bytes, signature: bytes) -> str | None:
    """Primary fingerprint of a good signature over `data`, else None."""
    with tempfile.NamedTemporaryFile(dir=keyring.home, suffix=".sig") as sig:
        sig.write(signature)
        sig.flush()
        res = keyring.gpg.verify_data(sig.name, data)
    st = _status_lines(res.stderr or "")
    fpr, ok = _signature(st)
    if ok:
        return fpr
    return _before_key_end(keyring.home, st)


def _before_key_end(home: Path, st: dict[str, list[str]]) -> str | None:
    """The signer of a good signature by a key now revoked or expired, if the signature
    was made before the key's revocation and expiry (both read from the key itself);
    else None. gpg reports every signature of such a key as REVKEYSIG/EXPKEYSIG."""
    if not st.get("VALIDSIG") or not ({"REVKEYSIG", "EXPKEYSIG"} & set(st)) or any(
            k in st for k in ("ERRSIG", "NO_PUBKEY", "BADSIG", "EXPSIG")):
        return None
    parts = st["VALIDSIG"][0].split()
    if len(parts) < 10:
        return None
    made, primary = _epoch(parts[2]), parts[9]
    end = key_end(home, primary)
    return primary if made is not None and end is not None and made < end else None


def key_end(home: Path, fingerprint: str) -> int | None:
    """When the key `fingerprint` stopped counting: the earlier of its revocation and
    its expiry (seconds since the epoch), or None when it is neither revoked nor
    expires."""
    out = subprocess.run(["gpg", "--homedir", str(home), "--batch", "--no-tty",
                          "--with-colons", "--fixed-list-mode", "--list-sigs",
                          fingerprint], capture_output=True, check=False,
                         env={**os.environ, "LC_ALL": "C"}).stdout.decode("utf-8", "replace")
    ends: list[int] = []
    on_primary = False
    for line in out.splitlines():
        f = line.split(":")
        if f[0] == "pub":
            on_primary = True
            if len(f) > 6 and f[6].isdigit():
                ends.append(int(f[6]))
        elif f[0] in ("uid", "sub", "uat"):
            on_primary = False
        elif f[0] == "rev" and on_primary and len(f) > 10 and f[10].startswith("20") \
                and f[5].isdigit():  # class 20: a revocation of the primary key
            ends.append(int(f[5]))
    return min(ends) if ends else None


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
