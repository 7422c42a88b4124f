"""custody.jsonl: an append-only, hash-chained log of every action.

Each line is one JSON object with `prev` (sha256 of the previous line, or 64 zeros) and
`hash` (sha256 of the entry without `hash`). Entries carry ids, hashes, fingerprints and
reasons only: never content of a submission or of a confidential part.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from temoin.errors import TemoinError

LOG = "custody.jsonl"
GENESIS = "0" * 64


def _digest(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False,
                                     separators=(",", ":")).encode()).hexdigest()


def now() -> str:
    """UTC time as ISO 8601, seconds precision."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _last_hash(path: Path) -> str:
    if not path.exists() or path.stat().st_size == 0:
        return GENESIS
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 65536))
        tail = f.read().splitlines()
    for line in reversed(tail):
        if line.strip():
            return str(json.loads(line)["hash"])
    return GENESIS


def append(repo: Path, action: str, durable: bool = True, **fields: Any) -> dict[str, Any]:
    """Append one entry (`action` plus id/hash fields) and return it. fsync'd before return
    unless `durable` is false: then the caller runs `sync` before anything relies on it."""
    path = Path(repo) / LOG
    entry: dict[str, Any] = {"time": fields.pop("time", None) or now(), "action": action}
    entry.update({k: v for k, v in fields.items() if v is not None})
    entry["prev"] = _last_hash(path)
    entry["hash"] = _digest(entry)
    line = json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    return entry


def sync(repo: Path) -> None:
    """fsync the log: every entry appended so far is on disk when this returns."""
    fd = os.open(Path(repo) / LOG, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def entries(repo: Path) -> Iterator[dict[str, Any]]:
    """Every entry, oldest first (no chain check; use `verify` for that)."""
    path = Path(repo) / LOG
    if not path.exists():
        return
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def verify(repo: Path) -> list[str]:
    """Problems with the chain (empty when intact): edited, removed or reordered lines."""
    path = Path(repo) / LOG
    if not path.exists():
        return []
    problems: list[str] = []
    prev = GENESIS
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                problems.append(f"{LOG}:{n}: not JSON: the log was edited by hand")
                prev = ""
                continue
            if entry.get("prev") != prev:
                problems.append(f"{LOG}:{n}: chain broken (prev does not match line {n - 1}): "
                                "a line was removed, reordered or edited")
            if entry.get("hash") != _digest(entry):
                problems.append(f"{LOG}:{n}: hash mismatch: this entry was edited")
            prev = str(entry.get("hash", ""))
    return problems


def for_case(repo: Path, case_id: str) -> list[dict[str, Any]]:
    """Entries that name `case_id` (in `case`, `cases` or `into`)."""
    out = []
    for e in entries(repo):
        if case_id in (e.get("case"), e.get("into")) or case_id in (e.get("cases") or []):
            out.append(e)
    return out


class CustodyError(TemoinError):
    """The custody log is broken."""
