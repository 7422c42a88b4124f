"""What this machine has seen of each case's decision chain (issue 16, replay).

The chain (`decisions.evaluate`) refuses an older decision restored beside newer ones, but a
repository whose newest decisions were deleted — a case rolled back whole to an earlier
state, every statement of which is still signed — looks like one that never had them. So,
like the trust root's pin and the withdrawals it remembers, each machine keeps outside the
repository (`$XDG_CONFIG_HOME/temoin/pins/decisions/<repo id>.json`) the newest decision
number of each case it has evaluated and the sha256 of the statements that had it. A chain
that now ends earlier, with none of those statements left (or ends at the same number
without them), is rolled back: no decision of the case counts here, and `temoin check`
says so. A new decision is numbered past what this machine has seen, which is also how
editors move on after discarding decisions on purpose.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temoin.curation.decisions import Chain


def memory_file(repo: Path) -> Path | None:
    """Where this machine remembers the chains of `repo` (None without a trust root)."""
    from temoin.trust.pins import memory_file as pinned

    return pinned(repo, "decisions")


class Memory:
    """The remembered newest decisions of every case of one repository."""

    def __init__(self, repo: Path) -> None:
        from temoin.trust.pins import read_memory

        self.path = memory_file(repo)
        self.seen: dict[str, dict[str, Any]] = read_memory(
            self.path, lambda v: isinstance(v.get("seq"), int)
            and isinstance(v.get("tops"), list))
        self.dirty = False

    def newest(self, case_id: str) -> int:
        """The highest decision number this machine has seen for the case (0: none)."""
        return int((self.seen.get(case_id) or {}).get("seq") or 0)

    def check(self, case_id: str, chain: Chain) -> Chain:
        """`chain` as it counts on this machine: nothing current when it was rolled back
        (see the module docstring); what it holds is remembered when it is newer."""
        seen = self.seen.get(case_id)
        if chain.legacy and not seen:
            return chain
        if seen:
            seq, tops = int(seen["seq"]), {str(t) for t in seen["tops"]}
            now = set(chain.tops)
            if chain.seq < seq and not tops & chain.present or chain.seq == seq and tops - now:
                return _rolled_back(case_id, chain, seq)
            if chain.seq < seq or chain.seq == seq and now <= tops:
                return chain
        if chain.seq > 0:
            self.seen[case_id] = {"seq": chain.seq, "tops": list(chain.tops)}
            self.dirty = True
        return chain

    def save(self) -> None:
        if self.dirty:
            from temoin.trust.pins import write_memory

            write_memory(self.path, self.seen)
            self.dirty = False


def _rolled_back(case_id: str, chain: Chain, seq: int) -> Chain:
    """The chain with nothing current, saying why (see `Memory.check`)."""
    now = (f"its newest is now number {chain.seq}" if chain.seq < seq else
           f"number {seq} is now another statement")
    return Chain({}, chain.seq, chain.tops, [
        f"cases/{case_id}/review/: rolled back: this machine has seen decision number {seq} "
        f"of this case, but {now}: newer decisions deleted, or older ones restored from Git "
        "history. No decision of the case counts here. Restore review/ from a copy you "
        "trust; if the newer decisions were discarded on purpose, record the case's "
        "decisions again (a new one is numbered past what was seen)"],
        chain.legacy, chain.present, chain.files)
