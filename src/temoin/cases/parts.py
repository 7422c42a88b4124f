"""The confidential parts of a case: `private.yaml.asc` and `evidence/<sha256>.asc`, encrypted
to the editors (moved from `temoin.cases`, which re-exports them)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from temoin import strict_yaml
from temoin.cases.front_matter import _SafeLoader
from temoin.errors import CaseError, CryptoError
from temoin.files import write_atomic

if TYPE_CHECKING:
    from temoin.keys import Keyring


def case_dir(repo: Path, case_id: str) -> Path:
    from temoin.cases import case_dir as folder

    return folder(repo, case_id)


# -- confidential parts -----------------------------------------------------------------
def private_path(repo: Path, case_id: str) -> Path:
    return case_dir(repo, case_id) / "private.yaml.asc"


# libyaml's emitter when present (8x less CPU than the pure-Python one); its YAML loads
# back to the same data with _SafeLoader.
_SafeDumper: type[yaml.SafeDumper] = strict_yaml.NoAliasCDumper or strict_yaml.NoAliasDumper


def private_yaml(data: dict[str, Any]) -> bytes:
    """The private part as the YAML that `write_private` encrypts (in memory only)."""
    try:
        text = yaml.dump(data, Dumper=_SafeDumper, allow_unicode=True, sort_keys=False,
                         width=100)
    except UnicodeError:  # libyaml refuses a lone surrogate; the Python emitter escapes it
        text = yaml.dump(data, Dumper=strict_yaml.NoAliasDumper, allow_unicode=True,
                         sort_keys=False, width=100)
    return text.encode("utf-8")


def write_private(repo: Path, case_id: str, data: dict[str, Any], keyring: Keyring,
                  recipients: Iterable[str]) -> Path:
    """Encrypt the private part to every recipient and write it atomically (no plaintext
    ever touches the disk)."""
    path = private_path(repo, case_id)
    write_atomic(path, keyring.encrypt(private_yaml(data), recipients), mode=0o644)
    return path


def read_private(repo: Path, case_id: str, keyring: Keyring) -> dict[str, Any]:
    """Decrypt the private part into memory ({} when the case has none)."""
    path = private_path(repo, case_id)
    if not path.exists():
        return {}
    res = keyring.decrypt(path.read_bytes())
    if not res.ok:
        raise CryptoError(f"{path.relative_to(repo)}: cannot decrypt ({res.reason}); is your "
                          "editor secret key in GNUPGHOME?")
    # Strict too (a pushed private part is as hostile as a case.md: an alias bomb would
    # hang every walk over it), but a short scalar's alias (`&id001` for a repeated date,
    # written by earlier versions) is read.
    where = path.relative_to(repo).as_posix()
    data = strict_yaml.load(res.plaintext.decode("utf-8"), where, _SafeLoader,
                            scalar_aliases=True) or {}
    if not isinstance(data, dict):
        raise CaseError(f"{where}: private part is not a mapping")
    return data


def evidence_path(repo: Path, case_id: str, sha256: str) -> Path:
    return case_dir(repo, case_id) / "evidence" / f"{sha256}.asc"


def write_evidence(repo: Path, case_id: str, data: bytes, keyring: Keyring,
                   recipients: Iterable[str]) -> str:
    """Store an attachment encrypted as evidence/<sha256>.asc; return its sha256."""
    digest = hashlib.sha256(data).hexdigest()
    path = evidence_path(repo, case_id, digest)
    if not path.exists():
        write_atomic(path, keyring.encrypt(data, recipients))
    return digest


def read_evidence(repo: Path, case_id: str, sha256: str, keyring: Keyring) -> bytes:
    """Decrypt one evidence file into memory and check its hash."""
    path = case_dir(repo, case_id) / "evidence" / f"{sha256}.asc"
    res = keyring.decrypt(path.read_bytes(), max_output=1 << 31)
    if not res.ok or hashlib.sha256(res.plaintext).hexdigest() != sha256:
        raise CryptoError(f"{path.relative_to(repo)}: cannot decrypt or hash mismatch")
    return res.plaintext
