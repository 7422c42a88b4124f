"""What this machine has seen withdrawn, remembered outside the repository like the pin."""

from __future__ import annotations

import json
import re
from pathlib import Path

from temoin.trust.pins import pins_dir
from temoin.trust.statements import (
    TrustError,
    chain_files,
    parse_statement,
    read_statement,
)


# -- what this machine has seen withdrawn ----------------------------------------------------
# A signed withdrawal is final (a withdrawn case never becomes public again), but deleting
# it from the repository, or checking out the case as it was before, leaves only decisions
# that were signed and still verify: the repository alone cannot tell. So, like the pin,
# each machine remembers outside the repository every case it has seen withdrawn by a
# signed decision, and such a case is never public again from this machine.
def _withdrawn_file(repo: Path) -> Path | None:
    files = chain_files(repo)
    if not files:
        return None
    try:
        repo_id = str(parse_statement(read_statement(files[0]), str(files[0])).get("repo_id") or "")
    except (OSError, TrustError):
        return None
    if not re.fullmatch(r"[0-9a-f]{16,64}", repo_id):
        return None
    return pins_dir() / "withdrawn" / f"{repo_id}.json"


def withdrawn_file(repo: Path) -> Path | None:
    """Where this machine remembers the repository's withdrawn cases (None: no trust
    root)."""
    return _withdrawn_file(repo)


_FIND = object()


def seen_withdrawn(repo: Path, path: Path | None | object = _FIND) -> dict[str, str]:
    """case id -> sha256 of the signed withdrawal this machine has seen. `path`: the
    memory file when the caller found it already (`withdrawn_file`)."""
    path = _withdrawn_file(repo) if path is _FIND else path
    assert path is None or isinstance(path, Path)
    try:
        data = json.loads(path.read_text()) if path is not None else {}
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def remember_withdrawn(repo: Path, case_id: str, statement_sha256: str) -> None:
    """Record that a signed withdrawal of `case_id` counted here (kept for good)."""
    path = _withdrawn_file(repo)
    if path is None:
        return
    seen = seen_withdrawn(repo)
    if case_id in seen:
        return
    from temoin.files import write_atomic

    seen[case_id] = statement_sha256
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, json.dumps(seen, indent=1, sort_keys=True).encode())
