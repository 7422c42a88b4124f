"""custody.jsonl: an append-only, hash-chained log of every action, sealed to the editors.

An entry (`time`, `action`, ids, hashes, sizes, fingerprints, reasons: never content of a
submission or of a confidential part) relates arrivals to cases, so since issue 16 it is
stored sealed (format 2): the line in Git is

    {"v": 2, "prev": <hash of the line before>, "commit": sha256(entry), "sealed": <OpenPGP
     message of the entry, padded to a multiple of PAD bytes, to every editor>, "hash": ...}

where the entry's canonical JSON holds a random `nonce` (so `commit` cannot be tested
against a guess) and `hash` is sha256 of {v, prev, commit, sealed_sha256}. Anyone can check
the chain (`verify`) without a key and learns only how many entries there are; editors
read the entries (`entries`, one gpg process for the whole log); a partner given some
entries, their `commit` lines and the chain's skeleton (`skeleton`) checks that those
entries are in the chain unaltered (`verify_part`). Format-1 lines (plaintext, before
`temoin migrate`) are still read and verified.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temoin.errors import TemoinError

if TYPE_CHECKING:
    from temoin.keys.vault import Vault

LOG = "custody.jsonl"
GENESIS = "0" * 64
PAD = 512  # sealed entries are padded to a multiple of this: their size says nothing


def _canonical(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode()


def _digest(entry: dict[str, Any]) -> str:
    """The `hash` of a stored line: of a format-1 entry without `hash`; of a sealed line's
    v, prev, commit and the sha256 of its ciphertext (so a skeleton without the ciphertext
    verifies too)."""
    if entry.get("v") == 2:
        sealed = entry.get("sealed")
        body = {"v": 2, "prev": entry.get("prev"), "commit": entry.get("commit"),
                "sealed_sha256": hashlib.sha256(str(sealed).encode()).hexdigest()
                if sealed is not None else entry.get("sealed_sha256")}
        return hashlib.sha256(_canonical(body)).hexdigest()
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(_canonical(body)).hexdigest()


def commitment(entry: dict[str, Any]) -> str:
    """sha256 of an entry's canonical JSON (its `commit` in the stored line). `signed_by`
    is what reading found of its inner signature (`entries`), never part of the entry."""
    inner = {k: v for k, v in entry.items() if k not in ("line", "prev", "hash", "signed_by")}
    return hashlib.sha256(_canonical(inner)).hexdigest()


def now() -> str:
    """UTC time as ISO 8601, seconds precision."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _last_hash(path: Path) -> str:
    """The `hash` of the log's last line (GENESIS if none), read from its last 64 KB:
    first from its last 4 KB (a line is ~1.5 KB), more only when the last line may not be
    whole in what was read (reading and splitting 64 KB at every append was ~7% of an
    ingest's own CPU)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return GENESIS
    try:
        size = os.fstat(fd).st_size
        want = 4096
        while size:
            start = max(0, size - want)
            tail = os.pread(fd, size - start, start).splitlines()
            last = next((n for n in range(len(tail) - 1, -1, -1) if tail[n].strip()), None)
            whole = start == 0 or want >= 65536 or (last is not None and last > 0)
            if whole:
                return GENESIS if last is None else str(json.loads(tail[last])["hash"])
            want *= 4
        return GENESIS
    finally:
        os.close(fd)


Seal = Callable[[bytes], bytes]


def _seal_for(repo: Path, seal: Seal | Vault | None) -> Seal:
    if seal is None:
        from temoin.keys import vault

        return vault.for_repo(repo).seal_entry
    return seal if callable(seal) else seal.seal_entry


def append(repo: Path, action: str, durable: bool = True, seal: Seal | Vault | None = None,
           **fields: Any) -> dict[str, Any]:
    """Append one sealed entry (`action` plus id/hash fields) and return it as the editors
    read it. `seal`: encrypts to the editors (default: the repository's vault, which only
    needs the editors' public keys). fsync'd before return unless `durable` is false: then
    the caller runs `sync` before anything relies on it."""
    path = Path(repo) / LOG
    if "signed_by" in fields:  # what reading finds of the signature (see `commitment`)
        raise TemoinError("custody entry: `signed_by` is read from its signature, not written")
    entry: dict[str, Any] = {"time": fields.pop("time", None) or now(), "action": action}
    entry.update({k: v for k, v in fields.items() if v is not None})
    entry["nonce"] = secrets.token_hex(16)
    text = _canonical(entry)
    padded = text + b" " * (-len(text) % PAD)
    ciphertext = _seal_for(Path(repo), seal)(padded)
    line: dict[str, Any] = {"v": 2, "prev": _last_hash(path),
                            "commit": hashlib.sha256(text).hexdigest(),
                            "sealed": _compact(ciphertext)}
    line["hash"] = _digest(line)
    data = json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data.encode("utf-8"))
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    return {**entry, "prev": line["prev"], "hash": line["hash"]}


def _compact(ciphertext: bytes) -> str:
    """An OpenPGP message as one base64 string (armor's body without its lines)."""
    if ciphertext.startswith(b"-----BEGIN PGP MESSAGE-----"):
        body = ciphertext.split(b"\n\n", 1)[1].split(b"-----END", 1)[0]
        lines = [ln for ln in body.split() if not ln.startswith(b"=")]
        return b"".join(lines).decode("ascii")
    return base64.b64encode(ciphertext).decode("ascii")


def _binary(sealed: str) -> bytes:
    return base64.b64decode(sealed)


def sync(repo: Path) -> None:
    """fsync the log: every entry appended so far is on disk when this returns."""
    fd = os.open(Path(repo) / LOG, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def lines(repo: Path) -> Iterator[dict[str, Any]]:
    """Every stored line, oldest first, as in Git (sealed lines stay sealed)."""
    path = Path(repo) / LOG
    if not path.exists():
        return
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def open_lines(stored: Iterable[dict[str, Any]],
               opener: Callable[[list[bytes]], list[bytes | None]]) -> list[dict[str, Any]]:
    """The entries of stored lines: a sealed line decrypted (one `opener` call for all) and
    checked against its `commit`; one that cannot be read is {"action": "sealed", ...}."""
    stored = list(stored)
    sealed = [i for i, ln in enumerate(stored) if ln.get("v") == 2]
    plains = opener([_binary(str(stored[i].get("sealed", ""))) for i in sealed]) \
        if sealed else []
    opened = dict(zip(sealed, plains, strict=True))
    out = []
    for i, ln in enumerate(stored):
        if ln.get("v") != 2:
            out.append(ln)
            continue
        plain = opened.get(i)
        entry: dict[str, Any] | None = None
        if plain is not None:
            text = plain.rstrip(b" ")
            if hashlib.sha256(text).hexdigest() == ln.get("commit"):
                try:
                    entry = json.loads(text)
                except ValueError:
                    entry = None
        if not isinstance(entry, dict):
            entry = {"action": "sealed"}
        out.append({**entry, "prev": ln.get("prev"), "hash": ln.get("hash")})
    return out


# Written by the online fetch side, which holds no secret key: its entries cannot be signed.
FETCH_ACTIONS = frozenset({"received", "refused", "fetch_refused"})
NOT_COUNTED = "not_counted"  # what a sealed entry nobody we trust signed reads as


def entries(repo: Path, vault: Vault | None = None) -> Iterator[dict[str, Any]]:
    """Every entry, oldest first, decrypted (no chain check; use `verify` for that).
    `vault`: who decrypts (default: the repository's, from GNUPGHOME). Each sealed entry's
    inner signature is judged in the same gpg run (`keys.signers`): one signed by a current
    editor or the intake key carries `signed_by`; one that is not reads as
    {"action": "not_counted", "why": …} naming its line and the signer found (anyone with
    the editors' public keys can append an entry: a forged `ingested` would make ingest
    skip a submission), except the fetch side's actions (`FETCH_ACTIONS`), kept with
    `signed_by: None`."""
    stored = list(lines(repo))
    if not any(ln.get("v") == 2 for ln in stored):
        yield from stored
        return
    if vault is None:
        from temoin.keys import vault as vault_mod

        vault = vault_mod.for_repo(Path(repo))
    from temoin.keys.signers import Signers

    sealed = [i for i, ln in enumerate(stored) if ln.get("v") == 2]
    with Signers.for_repo(Path(repo)) as signers:
        opened = vault.open_signed_many(
            [_binary(str(stored[i].get("sealed", ""))) for i in sealed], signers)
    plains = [one.plaintext for one in opened]
    out = open_lines(stored, lambda _blobs: plains)
    for i, one in zip(sealed, opened, strict=True):
        entry = out[i]
        if one.signature.ok:
            entry["signed_by"] = one.signature.signer
        elif entry.get("action") in FETCH_ACTIONS:
            entry["signed_by"] = None
        elif entry.get("action") != "sealed":
            out[i] = {"action": NOT_COUNTED, "prev": entry.get("prev"),
                      "hash": entry.get("hash"),
                      "why": f"{LOG}:{i + 1}: {one.signature.problem}: run `temoin migrate` "
                             "if an editor wrote it before entries were signed"}
    yield from out


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


def skeleton(repo: Path) -> list[dict[str, Any]]:
    """The chain without its ciphertexts (v, prev, commit, sealed_sha256, hash): enough for
    a partner to check that the entries it was given are in it (`verify_part`)."""
    out = []
    for ln in lines(repo):
        if ln.get("v") == 2:
            ln = {"v": 2, "prev": ln.get("prev"), "commit": ln.get("commit"),
                  "sealed_sha256": hashlib.sha256(str(ln.get("sealed")).encode()).hexdigest(),
                  "hash": ln.get("hash")}
        out.append(ln)
    return out


def verify_part(chain: list[dict[str, Any]], given: list[dict[str, Any]]) -> list[str]:
    """Problems with entries a partner received (empty when each is in the intact chain):
    the skeleton's links and hashes, then each entry's commitment at its line."""
    problems = []
    prev = GENESIS
    by_hash: dict[str, dict[str, Any]] = {}
    for n, ln in enumerate(chain, 1):
        if ln.get("prev") != prev or ln.get("hash") != _digest(ln):
            problems.append(f"chain line {n}: broken (edited, removed or reordered)")
        prev = str(ln.get("hash", ""))
        by_hash[prev] = ln
    for e in given:
        found = by_hash.get(str(e.get("hash")))
        if found is None:
            problems.append(f"entry {e.get('hash')}: not in the chain")
        elif found.get("v") == 2 and commitment(e) != found.get("commit"):
            problems.append(f"entry {e.get('hash')}: does not match its line's commitment")
        elif found.get("v") != 2 and _digest(e) != found.get("hash"):
            problems.append(f"entry {e.get('hash')}: edited")
    return problems


def for_case(repo: Path, case_id: str, vault: Vault | None = None) -> list[dict[str, Any]]:
    """Entries that name `case_id` (in `case`, `cases` or `into`)."""
    out = []
    for e in entries(repo, vault):
        if case_id in (e.get("case"), e.get("into")) or case_id in (e.get("cases") or []):
            out.append(e)
    return out


class CustodyError(TemoinError):
    """The custody log is broken."""
