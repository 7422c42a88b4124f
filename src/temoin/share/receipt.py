"""Dossier receipts read back: `temoin receipt FILE`.

A receipt is believed only after every check: its size, its signature by the organisation
key, its form (exactly what `share` writes), and that it names the dossier it was given
(file name, size and sha256). Paths come only from the name the editor gives, never from the
receipt's contents.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temoin import cases as cases_mod
from temoin.errors import ConfigError, CryptoError, ReceiptError
from temoin.files import MAX_KEY_FILE, open_regular, read_bounded
from temoin.share.dossier import (
    FORMAT,
    FPR,
    MAX_RECEIPT,
    MAX_SIGNATURE,
    RECEIPT,
    RECEIPT_FORMAT,
    SHA256,
    SUFFIXES,
    kind_of,
    printable,
    receipt_path,
)


@dataclass
class Receipt:
    """A dossier receipt read back, its signature verified and its dossier bound to it."""

    path: Path
    dossier: Path
    data: dict[str, Any]
    signer: str
    dossier_matches: bool | None  # None: only the receipt was given, its dossier is gone


class _Duplicate(ValueError):
    pass


def _pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in items]
    if len(set(keys)) != len(keys):
        raise _Duplicate("a key appears twice in one object")
    return dict(items)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _hash_file(fd: int, size: int) -> str:
    """sha256 of at most size + 1 bytes: a file that grew while read differs, and a file
    that claims a size cannot make us read more than that."""
    digest, left = hashlib.sha256(), size + 1
    with os.fdopen(fd, "rb") as f:
        while left > 0 and (chunk := f.read(min(1 << 20, left))):
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def _read_key(path: Path) -> bytes:
    """The organisation's public key file, read as a receipt is: a regular file (a link
    to /dev/zero or a FIFO in the repository must not hang or fill memory), bounded."""
    hint = "it should hold the organisation's public key: give it with --key"
    data = read_bounded(path, MAX_KEY_FILE, "public key file", ConfigError, hint=hint)
    if data is None:
        raise ConfigError(f"{printable(str(path))}: no public key file here; {hint}")
    return data


def locate(path: Path) -> tuple[Path, Path]:
    """(receipt, dossier) for FILE or FILE.receipt.json. Both come from the name the editor
    gave, never from the receipt's content: a receipt does not choose what is checked."""
    name = path.name
    if name.endswith(RECEIPT + ".asc"):
        raise ReceiptError(f"{printable(str(path))} is a receipt's signature: give the "
                           f"dossier or {printable(name[:-4])}")
    if name.endswith(RECEIPT) and len(name) > len(RECEIPT):
        return path, path.with_name(name[:-len(RECEIPT)])
    if not name or name in (".", "..") or name == RECEIPT:
        raise ReceiptError(f"{printable(str(path))}: expected a dossier file or its "
                           f"{RECEIPT}")
    return receipt_path(path), path


def _check_string(value: Any, where: str, problems: list[str]) -> bool:
    if not isinstance(value, str):
        problems.append(f"{where}: expected a string, got {kind_of(value)}")
        return False
    if not value or len(value) > 1000 or any(unicodedata.category(c)[0] == "C"
                                             for c in value):
        problems.append(f"{where}: expected 1 to 1000 printable characters, got "
                        f"{_shown(value)}")
        return False
    return True


def _check_fields(value: Any, where: str, keys: set[str], problems: list[str]) -> bool:
    if not isinstance(value, dict):
        problems.append(f"{where}: expected an object, got {kind_of(value)}")
        return False
    missing, extra = sorted(keys - set(value)), sorted(set(value) - keys)
    if missing:
        problems.append(f"{where}: missing {', '.join(missing)}")
    if extra:
        problems.append(f"{where}: unexpected {', '.join(printable(str(k))[:40] for k in extra)}")
    return not missing and not extra


def _check(value: Any, where: str, ok: bool, expected: str, problems: list[str]) -> None:
    if not ok:
        problems.append(f"{where}: expected {expected}, got {_shown(value)}")


def _shown(value: Any) -> str:
    """A hostile receipt value in a message: short, and escaped (repr escapes what
    str.isprintable refuses; `printable` catches whatever it would let through)."""
    return printable(repr(value[:80] if isinstance(value, str) else value)[:100])


def receipt_problems(data: Any) -> list[str]:
    """Every way `data` is not a receipt `write` could have produced (empty: it is one).
    Checked even under a good signature: the organisation key signs other things too (site
    manifests), and what this command prints must not be able to drive the terminal."""
    p: list[str] = []
    if not _check_fields(data, "receipt", {"format", "dossier", "manifest"}, p):
        return p
    _check(data["format"], "format", data["format"] == RECEIPT_FORMAT, RECEIPT_FORMAT, p)
    d, m = data["dossier"], data["manifest"]
    if _check_fields(d, "dossier", {"file", "sha256", "size", "armor", "encrypted_to",
                                   "signed_by"}, p):
        name = d["file"]
        if _check_string(name, "dossier.file", p):
            _check(name, "dossier.file", name not in (".", "..") and "/" not in name
                   and "\\" not in name and RECEIPT not in name
                   and Path(name).suffix.lower() in SUFFIXES,
                   "a file name ending .pgp, .gpg or .asc, without folder", p)
            _check(d["armor"], "dossier.armor",
                   d["armor"] is SUFFIXES.get(Path(name).suffix.lower()),
                   "true for .asc, false for .pgp and .gpg", p)
        _check(d["sha256"], "dossier.sha256",
               isinstance(d["sha256"], str) and bool(SHA256.fullmatch(d["sha256"])),
               "64 lowercase hex digits", p)
        _check(d["size"], "dossier.size", type(d["size"]) is int and d["size"] > 0,
               "a positive integer", p)
        _check(d["encrypted_to"], "dossier.encrypted_to", isinstance(d["encrypted_to"], list)
               and len(d["encrypted_to"]) == 1 and _is_fpr(d["encrypted_to"][0]),
               "a list of one fingerprint", p)
        _check(d["signed_by"], "dossier.signed_by", _is_fpr(d["signed_by"]),
               "a fingerprint", p)
    if _check_fields(m, "manifest", {"format", "temoin_version", "organisation",
                                    "organisation_key", "created", "shared_by", "partner",
                                    "public_only", "cases", "files"}, p):
        _check(m["format"], "manifest.format", m["format"] == FORMAT, FORMAT, p)
        for k in ("temoin_version", "organisation", "created", "shared_by"):
            _check_string(m[k], f"manifest.{k}", p)
        _check(m["organisation_key"], "manifest.organisation_key",
               _is_fpr(m["organisation_key"]), "a fingerprint", p)
        _check(m["public_only"], "manifest.public_only", isinstance(m["public_only"], bool),
               "true or false", p)
        if _check_fields(m["partner"], "manifest.partner", {"name", "fingerprint", "category"},
                       p):
            for k in ("name", "category"):
                _check_string(m["partner"][k], f"manifest.partner.{k}", p)
            _check(m["partner"]["fingerprint"], "manifest.partner.fingerprint",
                   _is_fpr(m["partner"]["fingerprint"]), "a fingerprint", p)
        cases = m["cases"]
        _check(cases, "manifest.cases", isinstance(cases, list) and bool(cases) and all(
            isinstance(c, str) and cases_mod.ID_RE.fullmatch(c) for c in cases),
            "a list of case ids", p)
        files = m["files"]
        if not isinstance(files, list) or not files:
            p.append(f"manifest.files: expected a list of files, got {kind_of(files)}")
            files = []
        for i, f in enumerate(files):
            where = f"manifest.files[{i}]"
            if _check_fields(f, where, {"path", "sha256", "size"}, p):
                _check(f["path"], f"{where}.path", _file_ok(f["path"], cases, f["sha256"],
                                                            m["public_only"]),
                       "README.html or cases/<listed id>/(case.json, custody[-chain].jsonl, "
                       "evidence/<its sha256>.<ext>)", p)
                _check(f["sha256"], f"{where}.sha256", isinstance(f["sha256"], str)
                       and bool(SHA256.fullmatch(f["sha256"])), "64 lowercase hex digits", p)
                _check(f["size"], f"{where}.size", type(f["size"]) is int and f["size"] >= 0,
                       "a size in bytes", p)
        paths = [f.get("path") for f in files if isinstance(f, dict)]
        if len({str(x) for x in paths}) != len(paths):
            p.append("manifest.files: a path is listed twice")
    if p:
        return p
    # the parts of one signed receipt that must agree with each other
    if d["encrypted_to"] != [m["partner"]["fingerprint"]]:
        p.append(f"dossier.encrypted_to {d['encrypted_to'][0]} is not the partner "
                 f"{m['partner']['fingerprint']}")
    if d["signed_by"] != m["organisation_key"]:
        p.append(f"dossier.signed_by {d['signed_by']} is not manifest.organisation_key "
                 f"{m['organisation_key']}")
    return p


_FILE = re.compile(r"cases/(?P<id>[A-Z0-9-]{1,40})/(?:case\.json|custody(?:-chain)?\.jsonl|"
                   r"evidence/(?P<sha>[0-9a-f]{64})\.[a-z0-9]{1,8})")


def _is_fpr(value: Any) -> bool:
    return isinstance(value, str) and bool(FPR.fullmatch(value))


def _file_ok(path: Any, case_ids: Any, sha: Any, public_only: Any) -> bool:
    if path == "README.html":
        return True
    m = _FILE.fullmatch(path) if isinstance(path, str) else None
    if not m or not isinstance(case_ids, list) or m["id"] not in case_ids:
        return False
    if path.endswith("/case.json"):
        return True
    return public_only is False and (m["sha"] is None or m["sha"] == sha)


def read_receipt(path: Path, org_key: Path, expected_signer: str) -> Receipt:
    """Read a receipt given its dossier FILE or FILE.receipt.json, and check everything
    before anything of it is believed: its size, its signature against the organisation's
    public key file (CryptoError, exit 3), then its form, and that it is this dossier's
    receipt: the file name it names and the size and sha256 of FILE (ReceiptError, exit 1).
    Given FILE, FILE must be there; given the receipt, FILE is checked if it is there."""
    from temoin import keys

    path = Path(path)
    rpath, dpath = locate(path)
    given_dossier = rpath != path
    sig_path = rpath.with_name(rpath.name + ".asc")
    shown = printable(str(rpath))
    raw = read_bounded(rpath, MAX_RECEIPT, "receipt", ReceiptError)
    if raw is None:
        raise ReceiptError(f"{shown}: no receipt here (`temoin share` writes it next to the "
                           "dossier)")
    sig = read_bounded(sig_path, MAX_SIGNATURE, "receipt signature", ReceiptError)
    if sig is None:
        raise CryptoError(f"{printable(sig_path.name)}: signature missing: the receipt cannot "
                          "be trusted without it")
    key_data = _read_key(Path(org_key))
    with keys.public_keyring([]) as kr:
        kr.import_keys(key_data)
        signer = kr.verify_detached(raw, sig)
    if signer is None:
        raise CryptoError(f"{printable(sig_path.name)}: signature does not verify: the receipt "
                          "was changed, or not signed by the organisation key")
    if expected_signer and signer != expected_signer:
        raise CryptoError(f"{printable(sig_path.name)}: signed by {signer}, not the "
                          f"organisation key {expected_signer}")
    try:
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=_pairs,
                          parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        why = (f"not UTF-8: {exc.reason} at byte {exc.start}"
               if isinstance(exc, UnicodeDecodeError) else
               "nested too deep" if isinstance(exc, RecursionError) else str(exc))
        raise ReceiptError(f"{shown}: signed by {signer} but not a JSON receipt "
                           f"({printable(why)[:120]})") from exc
    problems = receipt_problems(data)
    if not problems and data["dossier"]["signed_by"] != signer:
        problems.append(f"dossier.signed_by {data['dossier']['signed_by']} is not the key "
                        f"that signed the receipt ({signer})")
    if problems:
        raise ReceiptError(f"{shown}: signed by {signer} but not a dossier receipt:\n"
                           + "\n".join(f"  - {x}" for x in problems))
    info = data["dossier"]
    if info["file"] != dpath.name:
        problems.append(f"the receipt is for dossier {info['file']}, not "
                        f"{printable(dpath.name)}: it was copied or renamed from another "
                        "dossier")
    fd = open_regular(dpath, "dossier", ReceiptError)
    if fd is None and given_dossier:
        problems.append(f"{printable(str(dpath))}: no such dossier (to read the receipt alone, "
                        f"give {printable(rpath.name)})")
    matches = None
    if fd is not None:
        size = os.fstat(fd).st_size
        if size != info["size"]:
            os.close(fd)
            problems.append(f"{printable(dpath.name)}: {size} bytes, the receipt says "
                            f"{info['size']}: not the dossier that was shared")
        else:
            digest = _hash_file(fd, size)
            if digest != info["sha256"]:
                problems.append(f"{printable(dpath.name)}: sha256 {digest} differs from the "
                                f"receipt's {info['sha256']}: not the dossier that was shared")
        matches = not problems
    if problems:
        raise ReceiptError(f"{shown} does not describe {printable(str(dpath))}:\n"
                           + "\n".join(f"  - {x}" for x in problems))
    return Receipt(rpath, dpath, data, signer, matches)
