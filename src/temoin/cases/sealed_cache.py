"""What the build's sealed files decrypted to, cached in one file encrypted to the editors.

Every case that is not published is `case.md.asc`, and its decisions `review/*.sealed.asc`
(`cases.review`): each build decrypted them all in one gpg run and judged each one's inner
signature (issue 16). At 1,000 cases that run cost ~1.4 s of CPU on every rebuild, ~5x that
at 5,000 (issue 18). What a file decrypts to and what its signature amounts to depend only
on its bytes and on who may sign (`Signers`), so they are cached (`SEALED_CASES`, in this
user's cache folder outside the repository), the way `gates.canary_source` caches the
canaries of private parts:

* keyed by the file's path and the sha256 of its bytes (the ciphertext; `STAT_SEALED`: an
  unchanged file is stat-ed, not read) and by the digest of the signers that accepted it
  (`Signers.digest`: the roster or a key file changes, every file is judged again);
  versioned by the packages that decrypt, judge and read them (`temoin.cases`,
  `temoin.keys`, `temoin.padding`);
* the payload is ONE OpenPGP message encrypted to every editor key, written atomically,
  read into memory only: nothing of an unpublished case is written in plaintext;
* authenticated like every cache (HMAC with the cache folder's key): a file planted in the
  repository's place or copied from another machine is never read. One that does not
  decrypt, parse or match is ignored and rebuilt.

Only files that decrypted and whose signature counts are kept: a refused or undecryptable
file is decrypted and judged again on every build, and refused the same way. What the
build does with the plaintext (parse, validate, the id and status checks, the gates) runs
on every build as before.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temoin import cache as cache_mod

if TYPE_CHECKING:
    from temoin.keys.vault import Vault

MAX_CACHE = 1 << 31  # bytes of decrypted cache accepted
SEALED_CASES = cache_mod.Spec(
    "sealed-cases.asc", ("temoin.cases", "temoin.keys", "temoin.padding"), (),
    "what every sealed case and sealed decision decrypted to, encrypted to every editor key",
    max_size=MAX_CACHE)
STAT_SEALED = cache_mod.Spec("stat-sealed.json", ("temoin.cases",), (),
                             "sha256 of each sealed case.md.asc, by (inode, size, mtime, ctime)")
CASE_FILE = "case.md.asc"


def _read(file: cache_mod.CacheFile | None, vault: Vault) -> dict[str, Any]:
    """The cache's entries ({} when there is none usable)."""
    from temoin.keys.vault import load_doc

    files = load_doc(file, vault.keyring, MAX_CACHE).get("files")
    return files if isinstance(files, dict) else {}


def _write(file: cache_mod.CacheFile, vault: Vault, files: dict[str, Any]) -> None:
    from temoin.keys.vault import save_doc

    save_doc(file, vault.keyring, vault.recipients, {"files": files})


def _plain(entry: Any, digest: str, policy: str) -> bytes | None:
    if not (isinstance(entry, list) and len(entry) == 3 and entry[0] == digest
            and entry[2] == policy and isinstance(entry[1], str)):
        return None
    try:
        return base64.b64decode(entry[1], validate=True)
    except ValueError:
        return None


def _rel(repo: Path, path: Path) -> str:
    try:
        return Path(path).relative_to(repo).as_posix()
    except ValueError:
        return str(Path(path).resolve())


def open_checked(repo: Path, vault: Vault, paths: Sequence[Path],
                 blobs: Sequence[bytes | None], wheres: Sequence[str]
                 ) -> list[tuple[bytes | None, str]]:
    """`Vault.open_checked_many` of the files `paths` (their bytes in `blobs`, or None:
    read when needed), decrypting and judging only those not in the cache as they are.
    Without a cache (`TEMOIN_NO_CACHE`), every file is decrypted and judged."""
    from temoin.keys.signers import Signers

    repo = Path(repo)
    store = cache_mod.Store.open(repo)
    if store is None:
        data = [b if b is not None else p.read_bytes() for p, b in zip(paths, blobs, strict=True)]
        return vault.open_checked_many(data, wheres, repo)
    stats = cache_mod.StatCache(repo, STAT_SEALED, store)
    file = store.file(SEALED_CASES)
    cached = _read(file, vault)
    out: list[tuple[bytes | None, str] | None] = [None] * len(paths)
    keep: dict[str, Any] = {}
    todo: list[tuple[int, str, bytes]] = []
    with Signers.for_repo(repo) as signers:
        policy = signers.digest()
        for i, (path, blob) in enumerate(zip(paths, blobs, strict=True)):
            rel = _rel(repo, path)
            digest = stats.sha256(path) if blob is None else hashlib.sha256(blob).hexdigest()
            plain = _plain(cached.get(rel), digest or "", policy) if digest else None
            if plain is not None:
                out[i] = (plain, "")
                keep[rel] = cached[rel]
                continue
            if blob is None:
                blob = path.read_bytes()
                digest = hashlib.sha256(blob).hexdigest()
            todo.append((i, digest or "", blob))
        if todo:  # one gpg run, as without the cache
            opened = vault.open_checked_many([b for _i, _d, b in todo],
                                             [wheres[i] for i, _d, _b in todo], repo, signers)
            for (i, digest, _blob), (plain, why) in zip(todo, opened, strict=True):
                out[i] = (plain, why)
                if plain is not None:
                    # A case's text ends at its padding's newlines (`cases._decode`).
                    kept = plain.rstrip(b"\n") if paths[i].name == CASE_FILE else plain
                    keep[_rel(repo, paths[i])] = [digest, base64.b64encode(kept).decode(),
                                                  policy]
    stats.save()
    if keep != cached and vault.recipients:
        _write(file, vault, keep)
    return [o if o is not None else (None, "") for o in out]
