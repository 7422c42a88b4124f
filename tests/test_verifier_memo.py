"""What a build's verifier reads once (issue 18): the trust root a decision binds to and
the withdrawals this machine remembers, each as the files say when asked."""

from __future__ import annotations

import time

from temoin import cache, curation, trust
from temoin.curation import decisions
from tests.helpers import Org


def test_the_verifier_sees_a_withdrawal_remembered_while_it_lives(org: Org) -> None:
    """Read once, then again when the memory file changes: a withdrawal remembered during
    the build (a signed one found) is seen by the next case's check, and an old file
    (past the racy window) is not read again until it changes."""
    case = org.add_case()
    with curation.CachedVerifier(org.repo) as verify:
        assert case.id not in verify.seen_withdrawn()
        trust.remember_withdrawn(org.repo, case.id, "ab" * 32)
        assert verify.seen_withdrawn() == trust.seen_withdrawn(org.repo)
        assert verify.seen_withdrawn()[case.id] == "ab" * 32
        path = trust.withdrawn_file(org.repo)
        assert path is not None
        time.sleep(cache.RACY + 0.2)  # a write sets the ctime: only waiting ages it
        first = verify.seen_withdrawn()
        assert verify.seen_withdrawn() is first  # not read again while unchanged
        trust.remember_withdrawn(org.repo, "OTHER-1", "cd" * 32)
        assert verify.seen_withdrawn()["OTHER-1"] == "cd" * 32


def test_the_verifier_root_is_the_trust_root_decisions_bind_to(org: Org) -> None:
    case = org.add_case()
    with curation.CachedVerifier(org.repo) as verify:
        assert verify.root_of(case.folder) == decisions.root_of(case.folder / "review")
        assert verify.root_of(case.folder) is not None
