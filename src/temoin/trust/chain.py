"""Verifying the chain: co-signatures by distinct persons, and the key files the latest
statement names."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temoin.files import MAX_KEY_FILE, read_bounded
from temoin.trust.statements import (
    FOLDER,
    Root,
    TrustError,
    chain_files,
    folder,
    parse_statement,
    read_signature,
    read_statement,
    sha256_hex,
    signature_files,
)

if TYPE_CHECKING:
    from temoin.keys import Keyring


# -- verification ------------------------------------------------------------------------
def _persons(payload: dict[str, Any]) -> dict[str, str]:
    return {str(e.get("fingerprint")): str(e.get("person") or e.get("name") or "")
            for e in payload.get("editors") or [] if isinstance(e, dict)}


def needed(current: dict[str, Any] | None, new: dict[str, Any]) -> tuple[dict[str, str], int]:
    """(fingerprint -> person of the keys whose signatures count, how many distinct persons
    must sign) for `new` to follow `current` (None: a founding statement).

    The keys are the current statement's editors, as persons the current statement names
    them; the number is two (one when it names one person) and depends on nothing the
    change itself says. (It used to count only editors who remain and gain no key, "all of
    them if fewer remain": one editor then removed the other, or added a key in another
    person's name, alone.)"""
    if current is None:
        after = _persons(new)
        return after, min(2, len(set(after.values())))
    before = _persons(current)
    return before, min(2, len(set(before.values())))


def signed_persons(data: bytes, statement_path: Path, counted: dict[str, str],
                   verify: Callable[[bytes, bytes], str | None]) -> dict[str, str]:
    """person -> fingerprint of each counted editor whose signature on `data` is good."""
    out: dict[str, str] = {}
    for sig in signature_files(statement_path):
        claimed = sig.name[len(statement_path.name) + 1:-len(".asc")]
        if claimed not in counted:
            continue
        signer = verify(data, read_signature(sig))
        if signer == claimed:
            out.setdefault(counted[signer], signer)
    return out


def _key_files(repo: Path) -> dict[Path, bytes]:
    """The bytes of each key file in keys/, read bounded (MAX_KEY_FILE) and never through a
    link: a 2 GB file or a link to /dev/zero is refused (TrustError naming the file and the
    key it should hold) before it can fill the memory."""
    keys_dir = Path(repo) / "keys"
    found = sorted(keys_dir.glob("editors/*.asc")) + sorted(keys_dir.glob("partners/*.asc")) \
        + [keys_dir / "inbox.asc", keys_dir / "site.asc"]
    out = {}
    for path in found:
        data = read_bounded(path, MAX_KEY_FILE, "key file", TrustError, follow=False,
                            hint=_role(path))
        if data is not None:
            out[path] = data
    return out


def _role(path: Path) -> str:
    """What the key file at `path` (under keys/) should hold, and how to put it there."""
    role = {"inbox.asc": "inbox", "site.asc": "site"}.get(path.name, "") \
        if path.parent.name == "keys" else {"editors": "editor", "partners": "partner"}.get(
            path.parent.name, "")
    what = {"inbox": "the organisation's public key, the inbox key",
            "site": "the site-signing key", "editor": "an editor's public key",
            "partner": "a partner's public key"}.get(role, "a public key")
    how = f"`temoin keys import FILE --as {role}`" if role in ("inbox", "editor", "partner") \
        else "`gpg --armor --export FPR`"
    return f"it should hold {what}: put it there with {how}"


def _odd_key_entries(repo: Path) -> list[str]:
    """Links and special files under keys/, named, never read."""
    keys_dir = Path(repo) / "keys"
    odd = []
    if keys_dir.is_symlink():
        return ["keys: a symbolic link; refused, never followed"]
    for root, dirs, names in os.walk(keys_dir):
        for name in sorted([*dirs, *names]):
            p = Path(root) / name
            mode = os.lstat(p).st_mode
            if stat.S_ISLNK(mode) or not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                kind = "a symbolic link" if stat.S_ISLNK(mode) else "a special file"
                what = f"; {_role(p)}" if p.name.endswith(".asc") else ""
                odd.append(f"{p.relative_to(repo)}: {kind}; refused, never read{what}")
    return odd


def _check_keys(repo: Path, payload: dict[str, Any], kr: Keyring,
                key_files: dict[Path, bytes]) -> list[str]:
    """The key files must be the keys the statement names (fingerprints bind the keys);
    `key_files`: their bytes, as `_key_files` read them."""
    problems = []
    keys_dir = Path(repo) / "keys"
    held = {k.fingerprint for k in kr.list()}
    for e in payload.get("editors") or []:
        if e.get("fingerprint") not in held:
            problems.append(f"keys/editors/: no key {e.get('fingerprint')} (editor "
                            f"{e.get('name')} in the signed trust root)")
    for p in payload.get("partners") or []:
        if p.get("fingerprint") not in held:
            problems.append(f"keys/partners/: no key {p.get('fingerprint')} (partner "
                            f"{p.get('name')} in the signed trust root)")
    for name, role in (("inbox.asc", "inbox_key"), ("site.asc", "site_key")):
        data = key_files.get(keys_dir / name)
        want = str(payload.get(role) or "")
        if data is not None:
            from temoin import keys

            found = keys.key_fingerprints(data)
            if want and want not in found and not (role == "site_key" and want ==
                                                   payload.get("inbox_key")):
                problems.append(f"keys/{name}: holds {', '.join(found) or 'no key'}, not the "
                                f"{role} {want} the signed trust root names")
            if role == "inbox_key" and found and not want:
                problems.append(f"keys/{name}: the signed trust root names no inbox key")
    return problems


def verify_chain(repo: Path) -> Root:
    """Verify every statement of `trust/` and the key files; the latest payload. Raises
    TrustError naming the statement and the missing signature or unknown key."""
    from temoin import keys

    files = chain_files(repo)
    if not files:
        raise TrustError(f"{folder(repo)}: no signed trust root. The editors create one: "
                         "`temoin trust propose`, then `temoin trust sign` by a second editor")
    odd = _odd_key_entries(repo)
    if odd:
        raise TrustError("; ".join(odd))
    key_files = _key_files(repo)
    with keys.public_keyring([]) as kr:
        for key in key_files.values():
            kr.import_keys(key)
        previous: dict[str, Any] | None = None
        prev_sha: str | None = None
        repo_id = first = ""
        signers: tuple[str, ...] = ()
        for n, path in enumerate(files):
            where = f"{FOLDER}/{path.name}"
            data = read_statement(path)
            doc = parse_statement(data, where)
            if doc.get("serial") != n:
                raise TrustError(f"{where}: serial {doc.get('serial')!r}, expected {n}")
            if doc.get("previous") != prev_sha:
                raise TrustError(f"{where}: names previous {doc.get('previous')!r}, but the "
                                 f"statement before it has sha256 {prev_sha}: the chain is "
                                 "broken")
            if n == 0:
                repo_id, first = str(doc.get("repo_id") or ""), sha256_hex(data)
            elif doc.get("repo_id") != repo_id:
                raise TrustError(f"{where}: repo_id differs from the founding statement's")
            payload = doc["payload"]
            counted, need = needed(previous, payload)
            if need == 0:
                raise TrustError(f"{where}: the statement before it names no editor who "
                                 "could sign it")
            good = signed_persons(data, path, counted, kr.verify_detached)
            if len(good) < need:
                names = ", ".join(sorted(set(counted.values()))) or "none"
                raise TrustError(
                    f"{where}: signed by {len(good)} of the {need} distinct editors it needs "
                    f"(editors whose signature counts: {names}; good signatures by: "
                    f"{', '.join(sorted(good)) or 'none'}). Unsigned or forged: refused. "
                    "A second editor signs a proposed change with `temoin trust sign`")
            signers = tuple(sorted(good.values()))
            previous, prev_sha = payload, sha256_hex(data)
        assert previous is not None and prev_sha is not None
        problems = _check_keys(repo, previous, kr, key_files)
        from temoin.keys import history

        seen = history.read(kr)
    if problems:
        raise TrustError("the keys in keys/ are not the ones the signed trust root names:\n"
                         + "\n".join(f"  - {p}" for p in problems))
    return Root(repo_id, first, len(files) - 1, prev_sha, previous, signers, keys_seen=seen)


def revocations_kept(repo: Path, root: Root, memory: Path) -> None:
    """Refuse key files that lost a revocation this machine has seen (an older copy of a
    key from Git history: a stolen, revoked subkey counts again), then remember the
    revocations they carry in `memory` (`keys.history`, beside the pin)."""
    import datetime as dt

    from temoin import keys
    from temoin.keys import history

    if root.keys_seen is None:
        return
    gone = history.lost(root.keys_seen, history.load(memory))
    if gone:
        held = {fpr: path.relative_to(repo).as_posix()
                for path, data in _key_files(repo).items()
                for fpr in keys.key_fingerprints(data)}
        raise TrustError("a key file lost a revocation this machine has seen (an older copy "
                         "of the key, from Git history?): refused, OpenPGP never takes a "
                         "revocation back:\n" + "\n".join(
                             f"  - {held.get(primary, 'keys/')}: key {fpr} was revoked "
                             f"(on {dt.datetime.fromtimestamp(when, dt.UTC):%Y-%m-%d})"
                             for fpr, primary, when in gone)
                         + "\nRestore the key file with its revocation (its holder runs "
                         f"`temoin keys export FINGERPRINT`); remembered in {memory}")
    history.remember(memory, root.keys_seen)
