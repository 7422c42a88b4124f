"""Where a case's signed decisions are stored: plain beside a published case, sealed to the
editors beside any other (issue 16, attack round 3: nothing unpublished in plaintext).

A decision is a statement and its detached signature (`curation.decisions`). For a case
that is published (its case.md plaintext) or withdrawn after publication, they are the two
plain files `review/<slot>.json` and `review/<slot>.json.asc`, which the build,
`verify-site` and partners check with no secret key. For any other case, both are sealed
together in one file, `review/<slot>.sealed.asc`: signed first, then encrypted to the
editors with the vault's sealing (`keys.vault`, as case.md.asc), padded to a size class.
Inside: the line `temoin-sealed-decision/1 <statement bytes> <signature bytes>`, the
statement, the signature, padding newlines.

Readers never see the difference: `read(path)` (path: the plain `<slot>.json`) gives the
statement and signature from the plain files, else from the sealed file, decrypted in
memory. Sealed files are decrypted in bulk — every sealed decision of the cases
`cases.load_all`/`cases.load` decrypt, in the same gpg run as their case.md.asc — and kept
in this process's memory (keyed by the sealed file's sha256: a file changed since is read
again); one not opened yet is opened with every other sealed decision of its folder, in
one gpg run. `publish` (`cases.save` of a published case) writes them plain.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from temoin import padding
from temoin.files import write_atomic

if TYPE_CHECKING:
    from temoin.keys.vault import Vault

FOLDER = "review"
SUFFIX = ".sealed.asc"
_MAGIC = b"temoin-sealed-decision/1"
# resolved sealed path -> (sha256 of its bytes, statement, signature)
_OPENED: dict[str, tuple[str, bytes, bytes]] = {}


def sealed_path(path: Path) -> Path:
    """The sealed file of the decision whose plain statement would be `path`."""
    name = path.name[:-len(".json")] if path.name.endswith(".json") else path.name
    return path.with_name(name + SUFFIX)


def plain_path(sealed: Path) -> Path:
    return sealed.with_name(sealed.name[:-len(SUFFIX)] + ".json")


def sealed_files(folder: Path) -> list[Path]:
    """The sealed decisions in a `review/` folder (plain files only, never a link)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"*{SUFFIX}") if p.is_file() and not p.is_symlink())


def slots(folder: Path, pattern: str = "*") -> list[Path]:
    """The plain statement path of every decision in `folder`, plain or sealed, whose slot
    matches `pattern` (sorted, each once)."""
    # One listing matched by fnmatch, as `Path.glob` matches a wildcard part (POSIX: case
    # kept, a PermissionError is no match): Path.glob twice a folder cost ~0.3 ms, ~5 s of a
    # 5,000-case first build (the gate lists each case's review/ three times or more).
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []
    plain, sealed = f"{pattern}.json", f"{pattern}{SUFFIX}"
    found = {folder / n for n in names if fnmatch.fnmatchcase(n, plain)}
    found |= {plain_path(folder / n) for n in names if fnmatch.fnmatchcase(n, sealed)}
    return sorted(found)


def pack(statement: bytes, signature: bytes) -> bytes:
    head = b"%s %d %d\n" % (_MAGIC, len(statement), len(signature))
    return padding.pad_text(head + statement + signature)


def unpack(plain: bytes) -> tuple[bytes, bytes] | None:
    head, sep, rest = plain.partition(b"\n")
    parts = head.split(b" ")
    if not sep or len(parts) != 3 or parts[0] != _MAGIC \
            or not (parts[1].isdigit() and parts[2].isdigit()):
        return None
    n, m = int(parts[1]), int(parts[2])
    if len(rest) < n + m or rest[n + m:].strip(b"\n"):
        return None
    return rest[:n], rest[n:n + m]


def seal(folder: Path, slot_name: str, statement: bytes, signature: bytes,
         vault: Vault) -> Path:
    """Store a decision sealed in `folder` (the plain form, if any, removed)."""
    path = Path(folder) / f"{slot_name}{SUFFIX}"
    blob = vault.seal(pack(statement, signature),
                      f"{path.parent.parent.name}/{FOLDER}/{path.name}")
    write_atomic(path, blob)
    _remember(path, blob, statement, signature)
    plain = plain_path(path)
    plain.unlink(missing_ok=True)
    plain.with_name(plain.name + ".asc").unlink(missing_ok=True)
    return path


def _remember(path: Path, blob: bytes, statement: bytes, signature: bytes) -> None:
    _OPENED[str(path.resolve())] = (hashlib.sha256(blob).hexdigest(), statement, signature)


def _known(path: Path, blob: bytes) -> tuple[bytes, bytes] | None:
    found = _OPENED.get(str(path.resolve()))
    if found is None or found[0] != hashlib.sha256(blob).hexdigest():
        return None
    return found[1], found[2]


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if not path.is_symlink() else None
    except OSError:
        return None


def todo(folders: Iterable[Path]) -> list[tuple[Path, bytes]]:
    """The sealed decisions of the case `folders` not opened yet: (path, its bytes)."""
    out = []
    for folder in folders:
        for path in sealed_files(Path(folder) / FOLDER):
            blob = _read_bytes(path)
            if blob is not None and _known(path, blob) is None:
                out.append((path, blob))
    return out


def take(items: Sequence[tuple[Path, bytes]], plains: Sequence[bytes | None]) -> None:
    """Remember what `todo`'s items decrypted to (one that does not is left unknown: the
    decision reads as missing, and its check says so)."""
    for (path, blob), plain in zip(items, plains, strict=True):
        pair = unpack(plain) if plain is not None else None
        if pair is not None:
            _remember(path, blob, *pair)


def open_folders(folders: Iterable[Path], vault: Vault | None = None,
                 repo: Path | None = None) -> None:
    """Decrypt every sealed decision of the case `folders` not opened yet, in one gpg run."""
    items = todo(folders)
    if not items:
        return
    if vault is None:
        from temoin.keys import vault as vault_mod

        vault = vault_mod.for_repo(Path(repo) if repo else items[0][0].parents[3])
    take(items, vault.open_many(blob for _p, blob in items))


def read(path: Path) -> tuple[bytes, bytes] | None:
    """(statement, signature) of the decision whose plain statement is `path`: the plain
    files when both are there, else the sealed file decrypted (None: neither, or a sealed
    one this keyring cannot open)."""
    sig = path.with_name(path.name + ".asc")
    data, signature = _read_bytes(path), _read_bytes(sig)
    if data is not None and signature is not None:
        return data, signature
    sealed = sealed_path(path)
    blob = _read_bytes(sealed)
    if blob is None:
        return None
    found = _known(sealed, blob)
    if found is None:
        try:
            open_folders([path.parent.parent])
        except Exception:  # noqa: BLE001 - no keyring here: the decision is unreadable
            return None
        found = _known(sealed, blob)
    return found


def statement(path: Path) -> bytes | None:
    """The statement of the decision at `path`: the plain file when there (even without
    its signature), else the sealed one's."""
    data = _read_bytes(path)
    if data is not None:
        return data
    pair = read(path)
    return pair[0] if pair is not None else None


def present(path: Path) -> bool:
    """Whether any file of the decision at `path` is there (plain, signature or sealed)."""
    return path.is_file() or path.with_name(path.name + ".asc").is_file() \
        or sealed_path(path).is_file()


def unseal(folder: Path, vault: Vault | None = None, repo: Path | None = None) -> list[Path]:
    """Write every sealed decision of the case `folder` plain (at publication): the same
    statement and signature, so the chain is unchanged. Returns the plain paths written."""
    review = Path(folder) / FOLDER
    files = sealed_files(review)
    if not files:
        return []
    open_folders([folder], vault, repo)
    written = []
    for sealed in files:
        plain = plain_path(sealed)
        pair = read(plain)
        if pair is None:
            from temoin.errors import CryptoError

            raise CryptoError(f"{sealed.relative_to(review.parent.parent.parent)}: cannot "
                              "decrypt; is your editor secret key in GNUPGHOME?")
        write_atomic(plain, pair[0])
        write_atomic(plain.with_name(plain.name + ".asc"), pair[1])
        sealed.unlink()
        written.append(plain)
    return written


def seal_plain(folder: Path, vault: Vault) -> list[Path]:
    """Seal every plain decision of the case `folder` (`temoin migrate`: decisions an
    earlier version wrote plain beside an unpublished case). Returns the sealed paths."""
    review = Path(folder) / FOLDER
    out = []
    for plain in sorted(review.glob("*.json")) if review.is_dir() else []:
        sig = plain.with_name(plain.name + ".asc")
        data, signature = _read_bytes(plain), _read_bytes(sig)
        if data is None or signature is None:
            continue
        out.append(seal(review, plain.name[:-len(".json")], data, signature, vault))
    return out
