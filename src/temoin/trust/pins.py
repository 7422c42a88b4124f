"""The pin, outside the repository: the root fingerprint and the newest statement this
machine has verified; `require` checks the chain against it."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from temoin.trust.chain import revocations_kept, verify_chain
from temoin.trust.statements import (
    FOLDER,
    Root,
    TrustError,
    chain_files,
    groups,
    read_statement,
    sha256_hex,
)


# -- the pin, outside the repository ------------------------------------------------------
def pins_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "temoin" / "pins"


def memory_file(repo: Path, kind: str) -> Path | None:
    """Where this machine remembers what it has seen of `kind` in `repo` (decisions, private
    parts: `pins/<kind>/<repo id>.json`), None without a trust root."""
    from temoin.trust.statements import chain_files

    files = chain_files(repo)
    if not files:
        return None
    try:
        repo_id = str(json.loads(files[0].read_bytes()).get("repo_id") or "")
    except (OSError, ValueError, AttributeError):
        return None
    if not re.fullmatch(r"[0-9a-f]{16,64}", repo_id):
        return None
    return pins_dir() / kind / f"{repo_id}.json"


def read_memory(path: Path | None, valid: Callable[[dict[str, Any]], bool]
                ) -> dict[str, dict[str, Any]]:
    """What a `memory_file` holds ({case id: entry}), keeping the entries `valid` accepts;
    {} when there is none or it does not parse (the memories of decisions and parts)."""
    try:
        data = json.loads(path.read_text()) if path is not None else {}
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict) and valid(v)}


def write_memory(path: Path | None, seen: dict[str, dict[str, Any]]) -> None:
    """Write a `memory_file` (a folder of the user's only: 0700), atomically."""
    if path is None:
        return
    from temoin.files import write_atomic

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, json.dumps(seen, indent=1, sort_keys=True).encode())


def _pin_file(repo_id: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{16,64}", repo_id):
        raise TrustError(f"trust root: repo_id {repo_id!r} is not a hex id")
    return pins_dir() / f"{repo_id}.json"


def _revoked_file(repo_id: str) -> Path:
    """Where this machine remembers the revocations it has seen in `repo_id`'s keys/."""
    return pins_dir() / "revoked" / _pin_file(repo_id).name


def read_pin(repo_id: str) -> dict[str, Any] | None:
    try:
        data = json.loads(_pin_file(repo_id).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_pin(repo_id: str, fingerprint: str, repo: Path,
              newest: tuple[int, str] | None = None) -> Path:
    """Pin `fingerprint` for `repo_id`, with the checkout `repo` and the newest statement
    this machine has verified (`newest`: serial, sha256), kept when it is higher."""
    from temoin.files import write_atomic

    path = _pin_file(repo_id)
    old = read_pin(repo_id) or {}
    same = old.get("root") == fingerprint
    paths = sorted({*old.get("paths", []), str(Path(repo).resolve())}) \
        if same else [str(Path(repo).resolve())]
    doc: dict[str, Any] = {"repo_id": repo_id, "root": fingerprint, "paths": paths}
    seen = _seen(old) if same else None
    if newest is not None and (seen is None or newest[0] > seen[0]):
        seen = newest
    if seen is not None:
        doc["seen"] = {"serial": seen[0], "sha256": seen[1]}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, json.dumps(doc, indent=1).encode())
    return path


def _seen(pin: dict[str, Any]) -> tuple[int, str] | None:
    """(serial, sha256) of the newest statement a pin records as verified here."""
    seen = pin.get("seen")
    if isinstance(seen, dict) and isinstance(seen.get("serial"), int) and isinstance(
            seen.get("sha256"), str):
        return int(seen["serial"]), str(seen["sha256"])
    return None


def _not_rolled_back(repo: Path, root: Root, pin: dict[str, Any]) -> None:
    """Refuse a chain shorter than, or forked from, the newest statement this machine has
    verified: deleting the latest statements would bring back an older signed roster (a
    removed, seized key) or older safety settings, all still validly signed."""
    seen = _seen(pin)
    if seen is None:
        return
    serial, sha = seen
    where = f"{FOLDER}/{serial:04d}.json"
    if root.serial < serial:
        raise TrustError(
            f"the trust root was rolled back: this machine has verified serial {serial} "
            f"({where}, sha256 {sha[:16]}…), but trust/ now ends at serial {root.serial}. "
            "Deleting the newest statements would bring back an older roster or older safety "
            f"settings: refused. Restore {where} and its signatures from a copy you trust")
    files = chain_files(repo)
    if sha256_hex(read_statement(files[serial])) != sha:
        raise TrustError(
            f"{where} is not the statement serial {serial} this machine has verified (sha256 "
            f"{sha[:16]}…): the trust root was rolled back and rewritten (a forked "
            "history): refused")


def pinned_elsewhere(repo: Path, repo_id: str) -> str | None:
    """The repo id another pin records this checkout under, if any."""
    here = str(Path(repo).resolve())
    d = pins_dir()
    if not d.is_dir():
        return None
    for f in sorted(d.glob("*.json")):
        try:
            data = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("repo_id") != repo_id and here in (
                data.get("paths") or []):
            return str(data.get("repo_id"))
    return None


def expected(repo: Path) -> bool:
    """Whether `repo` must have a verified trust root: it holds statements, or this
    checkout was pinned on this machine (deleting trust/ is no way around it)."""
    if chain_files(repo):
        return True
    here = str(Path(repo).resolve())
    d = pins_dir()
    for f in sorted(d.glob("*.json")) if d.is_dir() else []:
        try:
            data = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and here in (data.get("paths") or []):
            return True
    return False


def require(repo: Path, echo: Callable[[str], None] | None = None) -> Root:
    """The verified trust root, checked against this machine's pin. On first use (no pin for
    this repository, and this checkout not pinned to another one) the root is pinned and
    its fingerprint shown for out-of-band comparison."""
    from temoin.files import inside

    if inside(pins_dir(), repo):
        # Committed, the pins would be replaced by whoever writes the repository: another
        # root pinned, a rollback or a withdrawal forgotten (attack18).
        raise TrustError(f"the pins folder {pins_dir()} is inside the repository {repo} "
                         "(XDG_CONFIG_HOME or HOME set to the working tree): what this "
                         "machine remembers of the trust root must live outside it; set "
                         "XDG_CONFIG_HOME to a folder outside the repository")
    root = verify_chain(repo)
    pin = read_pin(root.repo_id)
    if pin is None:
        other = pinned_elsewhere(repo, root.repo_id)
        if other:
            raise TrustError(f"this checkout was pinned to another trust root (repo id "
                             f"{other}); its trust/ now starts a different history (repo id "
                             f"{root.repo_id}): a history forged from its first commit? "
                             "Compare `temoin trust show` with another editor over a channel "
                             "you trust; only then `temoin trust pin --replace ROOT`")
        write_pin(root.repo_id, root.fingerprint, repo, (root.serial, root.sha256))
        revocations_kept(repo, root, _revoked_file(root.repo_id))
        (echo or _stderr)(f"Pinned this repository's trust root on first use: "
                          f"{groups(root.fingerprint)}. Compare it with another editor's "
                          "`temoin trust show` over a channel you trust.")
        return root
    if pin.get("root") != root.fingerprint:
        raise TrustError(f"trust/0000.json has root {groups(root.fingerprint)}, but this "
                         f"machine pinned {groups(str(pin.get('root')))} for repo id "
                         f"{root.repo_id} ({_pin_file(root.repo_id)}): a history forged from "
                         "its first commit is refused")
    _not_rolled_back(repo, root, pin)
    revocations_kept(repo, root, _revoked_file(root.repo_id))
    if str(Path(repo).resolve()) not in (pin.get("paths") or []) or _seen(pin) != (
            root.serial, root.sha256):
        write_pin(root.repo_id, root.fingerprint, repo, (root.serial, root.sha256))
    return root


def _stderr(text: str) -> None:
    print(text, file=sys.stderr)
