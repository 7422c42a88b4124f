"""The signed manifest of a built site: SHA256SUMS + SHA256SUMS.asc, and its verification.

`SHA256SUMS` lists every file of the site (sorted, relative POSIX paths) in the format of
GNU coreutils, so `sha256sum -c SHA256SUMS` checks a copy without Témoin. `SHA256SUMS.asc`
is a detached armored OpenPGP signature over it by the organisation key, so a reader or a
mirror can tell the bulletin is ours (`gpg --verify SHA256SUMS.asc SHA256SUMS`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from temoin.errors import GateError
from temoin.files import MAX_KEY_FILE, read_bounded

if TYPE_CHECKING:
    from temoin.keys import Keyring

SUMS = "SHA256SUMS"
SIG = "SHA256SUMS.asc"
_CHUNK = 1 << 20


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _walk(site_dir: Path) -> tuple[list[str], list[str]]:
    """(relative paths of regular files, relative paths of symlinks/odd entries), sorted."""
    files: list[str] = []
    odd: list[str] = []
    for root, dirs, names in os.walk(site_dir, followlinks=False):
        base = Path(root)
        for d in list(dirs):
            if (base / d).is_symlink():
                odd.append((base / d).relative_to(site_dir).as_posix())
                dirs.remove(d)
        for n in names:
            p = base / n
            rel = p.relative_to(site_dir).as_posix()
            if p.is_symlink() or not p.is_file():
                odd.append(rel)
            elif rel not in (SUMS, SIG):
                files.append(rel)
    # Sort by UTF-8 bytes: the same order on every machine and locale.
    return sorted(files, key=lambda s: s.encode()), sorted(odd)


def _line(digest: str, rel: str) -> str:
    """One coreutils line; names with a backslash or newline use its escaped form."""
    if "\\" in rel or "\n" in rel or "\r" in rel:
        esc = rel.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        return f"\\{digest}  {esc}\n"
    return f"{digest}  {rel}\n"


def manifest_text(site_dir: Path, digests: Mapping[str, str] | None = None) -> str:
    """The SHA256SUMS content for the files now in `site_dir`. `digests` (sha256 hex by
    relative path, from the gates' own read of each file) saves reading the site a second
    time, and makes the manifest list exactly the bytes the gates passed; a file it lacks
    is hashed here."""
    site_dir = Path(site_dir)
    files, odd = _walk(site_dir)
    if odd:
        raise GateError([f"{o}: a symlink or special file in the output (copy real files "
                         "instead)" for o in odd], "cannot write the site manifest")
    known = digests or {}
    return "".join(_line(known.get(rel) or _sha256(site_dir / rel), rel) for rel in files)


def write_manifest(site_dir: Path, keyring: Keyring | None, signer_fpr: str | None,
                   digests: Mapping[str, str] | None = None) -> None:
    """Write SHA256SUMS over every file, and SHA256SUMS.asc signed by `signer_fpr`.

    With no signer the manifest is unsigned (the build warns) and any stale signature is
    removed, so an old .asc can never seem to vouch for new content. `digests`: see
    `manifest_text`.
    """
    site_dir = Path(site_dir)
    text = manifest_text(site_dir, digests).encode("utf-8")
    (site_dir / SUMS).write_bytes(text)
    sig = site_dir / SIG
    if signer_fpr is None or keyring is None:
        sig.unlink(missing_ok=True)
        return
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    sig.write_bytes(keyring.sign_detached(text, signer_fpr,
                                          int(epoch) if epoch.isdigit() else None))


def parse(text: str) -> tuple[dict[str, str], list[str]]:
    """{path: digest} and problems of a SHA256SUMS text (hostile input: bounded, strict)."""
    entries: dict[str, str] = {}
    problems: list[str] = []
    for n, raw in enumerate(text.split("\n"), 1):
        if not raw:
            continue
        line, escaped = (raw[1:], True) if raw.startswith("\\") else (raw, False)
        digest, sep, name = line.partition("  ")
        if not sep:
            digest, sep, name = line.partition(" *")  # binary-mode marker
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            problems.append(f"{SUMS} line {n}: not a `<sha256>  <path>` line")
            continue
        if escaped:
            name = name.replace("\\\\", "\0").replace("\\n", "\n").replace("\\r", "\r")
            name = name.replace("\0", "\\")
        parts = name.split("/")
        if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
            problems.append(f"{SUMS} line {n}: unsafe path {name[:80]!r} (absolute, empty "
                            "or with ..)")
            continue
        if name in entries:
            problems.append(f"{SUMS} line {n}: {name} listed twice")
            continue
        entries[name] = digest
    return entries, problems


@contextmanager
def _verifier(keyring_or_keyfile: Keyring | str | os.PathLike[str]
              ) -> Iterator[tuple[Keyring, tuple[str, ...]]]:
    """(a keyring to verify with, the fingerprints accepted as signer; () = any in it)."""
    from temoin import keys

    if isinstance(keyring_or_keyfile, (str, os.PathLike)):
        path = Path(keyring_or_keyfile)
        with keys.public_keyring([]) as kr:
            fprs = kr.import_keys(read_bounded(path, MAX_KEY_FILE, "key file", GateError)
                                  or b"")
            yield kr, tuple(fprs)
    else:
        yield keyring_or_keyfile, ()


def verify_site(site_dir: Path, keyring_or_keyfile: Keyring | str | os.PathLike[str],
                expected_signer: str | None = None) -> list[str]:
    """Check a built or mirrored site against its signed manifest; [] means it is intact.

    Reports every changed, removed or added file, symlinks, a malformed manifest, and a
    missing or bad signature or one by another key than expected: `expected_signer`, else
    the keys of the given key file, else any key of the given keyring.
    """
    site_dir = Path(site_dir)
    sums = site_dir / SUMS
    if not sums.is_file() or sums.is_symlink():
        return [f"{SUMS} missing in {site_dir}: not a Témoin site, or an incomplete copy"]
    raw = sums.read_bytes()
    problems: list[str] = []
    try:
        entries, problems = parse(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return [f"{SUMS} is not UTF-8 text: damaged or not ours"]
    problems += _check_signature(site_dir, raw, keyring_or_keyfile, expected_signer)
    files, odd = _walk(site_dir)
    problems += [f"{o}: symlink or special file (a manifest lists regular files only)"
                 for o in odd]
    present = set(files)
    for name in sorted(entries, key=lambda s: s.encode()):
        if name not in present:
            problems.append(f"{name}: listed in {SUMS} but missing (removed)")
        elif _sha256(site_dir / name) != entries[name]:
            problems.append(f"{name}: content differs from {SUMS} (changed)")
    problems += [f"{name}: not in {SUMS} (added)" for name in files if name not in entries]
    return problems


def _check_signature(site_dir: Path, sums: bytes,
                     keyring_or_keyfile: Keyring | str | os.PathLike[str],
                     expected_signer: str | None) -> list[str]:
    sig = site_dir / SIG
    if not sig.is_file() or sig.is_symlink():
        return [f"{SIG} missing: the manifest is not signed, nothing proves the site is ours"]
    with _verifier(keyring_or_keyfile) as (kr, accepted):
        signer = kr.verify_detached(sums, sig.read_bytes())
        if signer is None:
            return [f"{SIG}: bad signature, or made by a key we do not have ({SUMS} or its "
                    "signature was altered)"]
        want = (expected_signer.replace(" ", "").upper(),) if expected_signer else accepted
        if want and signer.upper() not in want:
            return [f"{SIG}: signed by {signer}, expected {' or '.join(want)}"]
    return []
