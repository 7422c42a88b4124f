"""Issue 16: every read of a repository key file (keys/inbox.asc, keys/editors/*.asc) is
bounded. A pushed key file of gigabytes must be refused, naming the file and the limit,
by every command that reads keys/ (not read whole into memory: a 2 GB keys/inbox.asc gave a
MemoryError in `temoin receipt`). Real gpg, real repositories; the big file is sparse."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from temoin import files
from temoin.curation.verifier import CachedVerifier
from temoin.errors import TemoinError
from temoin.keys import vault
from temoin.keys.signers import Signers
from tests.curation_fixtures import cli
from tests.helpers import Org

BIG = 64 * 1024 * 1024  # sparse: no disk used; more than files.MAX_KEY_FILE (1 MiB)


def _grow(path: Path) -> None:
    """The key file, its key kept, made BIG bytes long (zeros after it: a sparse file)."""
    with path.open("r+b") as f:
        f.truncate(BIG)


@pytest.mark.parametrize("name", ["inbox.asc", "editors"])
def test_a_huge_key_file_is_refused_naming_it_and_the_limit(org: Org, name: str) -> None:
    case = org.add_case(status="draft", sign=False, private={"testimony": "Récit."})
    key = org.repo / "keys" / name
    if name == "editors":
        key = sorted(key.glob("*.asc"))[0]
    _grow(key)
    limit = str(files.MAX_KEY_FILE)
    rel = key.relative_to(org.repo).as_posix()
    # The library entry points that read keys/ (each once) …
    readers = {
        "signers": lambda: Signers.for_repo(org.repo).digest(),
        "signers keyring": lambda: Signers.for_repo(org.repo).extra_args(),
    }
    if name == "editors":  # these read the editors' keys only
        readers["verifier"] = lambda: CachedVerifier(org.repo)
        readers["public vault"] = lambda: vault._public_keyring(org.repo)
    for what, read in readers.items():
        with pytest.raises(TemoinError) as exc:
            read()
        assert rel in exc.value.message and limit in exc.value.message, (what, exc.value)
    # … and the commands a user runs.
    for args in (["check"], ["case", "show", case.id, "--private"], ["build"],
                 ["receipt", str(org.repo / "nothing.tar.gpg")]):
        result = cli(org.repo, *args)
        assert result.exit_code != 0, (args, result.output)
        assert not isinstance(result.exception, MemoryError), args
        assert rel in result.output and limit in result.output, (args, result.output)
    assert os.path.getsize(key) == BIG
