"""What this machine has seen of each case's private part (issue 16, rollback of a part).

A private part is signed by its writer, but every version ever written is still signed, in
Git history: whoever can write to the remote could put back an older one, and with it a
broader consent (`consent_requested`, `share_consent`), an exact place since blurred or an
intervention since withdrawn. So, as decisions are chained (`curation.heads`), a part's
signed plaintext carries a version number after the case id (`# temoin: the private part
of ID, version N, …`: the header `cases.parts` writes and checks), each write numbers it
past the newest this machine has seen, and each machine remembers outside the repository
(`$XDG_CONFIG_HOME/temoin/pins/parts/<repo id>.json`) the newest version of each case's part
it has read or written and the sha256 of its plaintext. A part with a lower version, or the
same version and other content, is refused, naming the file. Parts written before versions
have version 0. A fresh machine trusts on first use, as for the trust root's pin.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any


class PartMemory:
    """The newest version of every case's private part this machine has seen in one
    repository ({case id: {"version": N, "sha256": hex}})."""

    def __init__(self, repo: Path) -> None:
        from temoin.trust.pins import memory_file, read_memory

        self.path = memory_file(Path(repo), "parts")
        self.seen: dict[str, dict[str, Any]] = read_memory(
            self.path, lambda v: isinstance(v.get("version"), int)
            and isinstance(v.get("sha256"), str))
        self.dirty = False

    def newest(self, case_id: str) -> int | None:
        """The highest version of the case's part seen here (None: never seen)."""
        seen = self.seen.get(case_id)
        return int(seen["version"]) if seen else None

    def check(self, case_id: str, version: int, plaintext: bytes, where: str) -> str:
        """"" when this part (its version, its signed plaintext) is not older than what this
        machine has seen, and then remember it; else why it is refused, naming the file."""
        digest = hashlib.sha256(plaintext).hexdigest()
        seen = self.seen.get(case_id)
        if seen is not None:
            newest = int(seen["version"])
            if version < newest or version == newest and digest != seen["sha256"]:
                now = (f"this file is version {version}" if version < newest else
                       f"this file is another version {version}")
                return (f"{where}: refused: rolled back: this machine has seen version "
                        f"{newest} of this private part, {now} (an older part restored from "
                        "Git history, or the newer one deleted). Fix: restore it from a copy "
                        f"you trust (`git log -- {where}`); if the older part is meant, "
                        "read it and sign it again as a new version with `temoin migrate`")
            if version == newest:
                return ""
        self.see(case_id, version, plaintext)
        return ""

    def see(self, case_id: str, version: int, plaintext: bytes) -> None:
        """Remember that version `version` of the case's part (holding `plaintext`) exists."""
        self.seen[case_id] = {"version": version,
                              "sha256": hashlib.sha256(plaintext).hexdigest()}
        self.dirty = True

    def save(self) -> None:
        if self.dirty:
            from temoin.trust.pins import write_memory

            write_memory(self.path, self.seen)
            self.dirty = False
        self.dirty = False
