"""The trust root's statements: their files, their form, the error and the verified `Root`."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temoin.config import (
    TRUST_FOLDER,
    TRUST_KIND,
    latest_trust_payload,
    trust_document,
    trust_statements,
)
from temoin.errors import CryptoError
from temoin.files import read_bounded

if TYPE_CHECKING:
    from temoin.config import Config
    from temoin.keys.history import Seen


FOLDER = TRUST_FOLDER
PROPOSED = "proposed.json"
KIND = TRUST_KIND
# Bounds on what is read from trust/: a statement records a hash for each of the site's own
# files (~100 bytes each), a signature is a few hundred bytes. Far more is not ours.
MAX_STATEMENT = 16 << 20
MAX_SIGNATURE = 64 << 10


class TrustError(CryptoError):
    """The trust root is missing, unsigned, unverifiable or not the pinned one (exit 3)."""


@dataclass(frozen=True)
class Root:
    """A verified chain: its latest statement's payload, serial and hashes."""

    repo_id: str
    fingerprint: str          # sha256 of the founding statement: what is pinned
    serial: int
    sha256: str               # sha256 of the latest statement
    payload: dict[str, Any]
    signers: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    keys_seen: Seen | None = None  # the revocations the key files in keys/ carry

    @property
    def editors(self) -> dict[str, str]:
        """Editor fingerprint -> person."""
        return {str(e["fingerprint"]): str(e.get("person") or e.get("name") or "")
                for e in self.payload.get("editors") or []}


# -- statements --------------------------------------------------------------------------
def folder(repo: Path) -> Path:
    return Path(repo) / FOLDER


def chain_files(repo: Path) -> list[Path]:
    """The chain's statements in serial order (0000.json, 0001.json, …)."""
    return trust_statements(repo)


def signature_files(statement: Path) -> list[Path]:
    return sorted(statement.parent.glob(f"{statement.name}.*.asc"))


def signature_path(statement: Path, fpr: str) -> Path:
    return statement.with_name(f"{statement.name}.{fpr}.asc")


def read_statement(path: Path) -> bytes:
    """A statement's bytes, read bounded and never through a link (TrustError otherwise)."""
    data = read_bounded(path, MAX_STATEMENT, "trust statement", TrustError, follow=False)
    if data is None:
        raise TrustError(f"{path}: the trust statement disappeared while it was read")
    return data


def read_signature(path: Path) -> bytes:
    """A detached signature's bytes, read bounded and never through a link."""
    data = read_bounded(path, MAX_SIGNATURE, "signature", TrustError, follow=False)
    if data is None:
        raise TrustError(f"{path}: the signature disappeared while it was read")
    return data


def parse_statement(data: bytes, where: str) -> dict[str, Any]:
    doc = trust_document(data)
    if doc is None:
        raise TrustError(f"{where}: not a trust-root statement (valid JSON of kind {KIND})")
    return doc


def latest_payload(repo: Path) -> dict[str, Any] | None:
    """The newest statement's payload, NOT verified (what `config.load` shows; `require`
    verifies it before anything that matters), or None without a trust root."""
    return latest_trust_payload(repo)


def payload_from(cfg: Config) -> dict[str, Any]:
    """The trust-root payload that states `cfg`'s keys and safety settings."""
    return {
        "organisation": cfg.organisation,
        "editors": [{"fingerprint": e.fingerprint, "name": e.name,
                     "person": e.person or e.name} for e in cfg.recipients],
        "partners": [{"name": p.name, "fingerprint": p.fingerprint, "category": p.category}
                     for p in cfg.partners],
        "inbox_key": cfg.inbox_key,
        "site_key": cfg.site_key or cfg.inbox_key,
        "contact_email": cfg.contact_email,
        "publish_min_level": cfg.publish_min_level,
        "location_precision": cfg.location_precision,
        "consent": {"page": list(cfg.page_consents)},
    }

def statement(payload: dict[str, Any], serial: int, previous: str | None, repo_id: str,
              editor: str, when: dt.datetime) -> bytes:
    doc = {"kind": KIND, "format": "temoin-trust/1", "serial": serial, "previous": previous,
           "repo_id": repo_id, "editor": editor,
           "date": when.astimezone(dt.UTC).isoformat(timespec="seconds"),
           "payload": payload}
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=1).encode() + b"\n"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

# -- changing it -------------------------------------------------------------------------
def proposed_path(repo: Path) -> Path:
    return folder(repo) / PROPOSED

def groups(fpr: str) -> str:
    """A fingerprint in groups of four, as people read them aloud."""
    return " ".join(fpr[i:i + 4].upper() for i in range(0, len(fpr), 4))
