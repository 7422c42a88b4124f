"""The canary cache (`gates.canary_source`): the canaries, the curated guard and the notices
of a build are the same whether they come from the encrypted cache, are computed afresh, or
the build runs without any cache (TEMOIN_NO_CACHE=1); and a case whose text changed is
judged again (issue 18: the curation's per-case scans are kept in the cache)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from temoin import cache, cases, gates
from temoin.gates import canary_source
from tests.helpers import Org

NAME = "Jean Ndayisenga"
PHONE = "+257 75 44 33 21"  # its middle digits (44 33 21) guard its own case's text only


def _cases(org: Org) -> list[cases.Case]:
    return cases.load_all(org.repo)[0]


def _curated(org: Org) -> tuple[list[Any], list[str]]:
    got, _secret = canary_source.curated(org.repo, _cases(org), org.keyring,
                                         org.cfg.recipient_fingerprints,
                                         gates.organisation_strings(org.cfg))
    return sorted(map(repr, got.guard)), got.notices


def _local(guard: list[str]) -> list[str]:
    """The short numbers among a guard's canaries (`guard.local`)."""
    return [g for g in guard if "phone" in g and "value='4433" in g or "value='1234" in g]


def _plain(org: Org) -> tuple[list[Any], list[str]]:
    """The curation of the canaries as computed without any cache."""
    found = canary_source.canaries(org.repo, [c.id for c in _cases(org)], org.keyring,
                                   org.cfg.recipient_fingerprints)
    got = gates.curate(found, _cases(org), gates.organisation_strings(org.cfg))
    return sorted(map(repr, got.guard)), got.notices


def _edit(org: Org, case: cases.Case, narrative: str) -> None:
    cases.save(org.repo, cases.Case(case.meta, narrative, case.folder))


def test_cached_uncached_and_cacheless_curation_agree(
        org: Org, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A draft naming its own private value (a notice), a case in review whose text holds
    its phone's middle digits (they guard the site) and one whose text does not: the cold,
    the warm and the cache-less build curate alike; an edited text is judged again."""
    draft = org.add_case(status="draft", sign=False, narrative=f"{NAME} a été arrêté.",
                         private={"victims": [{"full_name": NAME}]})
    near = org.add_case(status="review", sign=False, narrative="Détenus : 44 33 21.",
                        private={"victims": [{"phone": PHONE}]})
    org.add_case(status="review", sign=False, narrative="Récit sans chiffres.",
                 private={"victims": [{"phone": "+257 79 12 34 56"}]})
    org.add_case(narrative="Un cas publié.", private={"victims": [{"full_name": "Nom Fictif"}]})
    cold = _curated(org)
    store = cache.Store.open(org.repo)
    assert store is not None and (store.folder / canary_source.CANARIES.name).is_file()
    warm = _curated(org)
    with monkeypatch.context() as mp:
        mp.setenv(cache.NO_CACHE, "1")
        mp.setenv("XDG_CACHE_HOME", str(tmp_path / "untouched"))
        none = _curated(org)
        plain = _plain(org)
        assert not (tmp_path / "untouched").exists()
    assert cold == warm == none == plain
    guard, notices = cold
    assert any(f"cases/{draft.id}/case.md: holds a value of its private part" in n
               for n in notices)
    assert _local(guard) and all(near.id in g for g in _local(guard))  # not the other's

    # Texts edited: the draft no longer names its value, the case in review no longer
    # holds its digits; then both again. Each time the warm cache agrees with no cache.
    _edit(org, draft, "Un homme a été arrêté.")
    _edit(org, near, "Détenus : aucun.")
    edited = _curated(org)
    assert not any(draft.id in n for n in edited[1])
    assert not _local(edited[0])
    _edit(org, draft, f"{NAME} a été arrêté.")
    _edit(org, near, "Détenus : 44 33 21.")
    assert _curated(org) == cold
    with monkeypatch.context() as mp:
        mp.setenv(cache.NO_CACHE, "1")
        assert _curated(org) == cold


def test_parked_parts_written_as_gathered(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    """`curated` drops the cache document's copy of the canaries while it scans the cases
    (issue 18: the build's peak memory) and makes it again to write the file: the parts
    written are those `canaries` (which never parks them) writes for the same cases."""
    org.add_case(status="review", sign=False, narrative="Récit.",
                 private={"victims": [{"full_name": NAME, "phone": PHONE}]})
    org.add_case(narrative="Un cas publié.", private={"victims": [{"full_name": "Nom Fictif"}]})
    org.add_case(status="draft", sign=False, narrative="Sans partie privée.")
    written: list[dict[str, Any]] = []
    save = canary_source.vault.save_doc
    monkeypatch.setattr(canary_source.vault, "save_doc",
                        lambda f, k, r, doc: (written.append(doc), save(f, k, r, doc)))
    store = cache.Store.open(org.repo)
    assert store is not None
    _curated(org)
    (store.folder / canary_source.CANARIES.name).unlink()
    canary_source.canaries(org.repo, [c.id for c in _cases(org)], org.keyring,
                           org.cfg.recipient_fingerprints)
    assert len(written) == 2
    parked, plain = written
    assert parked["parts"] and parked["parts"] == plain["parts"]
    assert sum(len(p[1]) for p in parked["parts"].values()) >= 3
