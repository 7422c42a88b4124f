"""Partner dossiers: cases shared with a partner, encrypted to its key, signed by ours.

A dossier is a folder zipped in memory (sorted entries, fixed timestamps: the same cases and
date give the same bytes), encrypted to the partner's key and signed by the organisation key
(`inbox_key`) in one OpenPGP message. Its plaintext never touches a disk.

    dossier/README.html                  readable summary, French and English, escaped
    dossier/MANIFEST.json                sha256 + size of every other file, cases, partner,
                                         date, who shared, Témoin version
    dossier/cases/<ID>/case.json         public front matter + narrative (+ private part)
    dossier/cases/<ID>/evidence/<sha256><.ext>   decrypted originals (full dossiers only)
    dossier/cases/<ID>/custody.jsonl     the case's custody entries (full dossiers only)

Consent (the rule, DESIGN §5 "share_consent"): a case may go to a partner of category C only
if its private part's `share_consent` lists C, AND every person the private part lists in
`victims` or `sources` who has their own `share_consent` lists C too (a person without one
follows the case's list). The default is no consent. `--public-only` needs no share consent:
it sends only what the site already shows (front matter and narrative of cases that pass the
publication gate), no evidence and no custody entries (a submission hash could link a case to
a seized mailbox), and the dossier is scanned for every private value of its cases first.

Receipt: the organisation cannot decrypt what is encrypted only to the partner, so next to
FILE we write `FILE.receipt.json` (the manifest, the dossier's sha256 and size, who it is
encrypted to) and `FILE.receipt.json.asc`, a detached signature by the organisation key.
The manifest holds ids, sha256-based names, sizes and fingerprints only: no private value.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import stat
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temoin import __version__, curation, custody
from temoin import cases as cases_mod
from temoin.config import Config, Partner
from temoin.errors import CaseError, ConfigError, CryptoError, GateError, ReceiptError, TemoinError
from temoin.files import write_atomic

if TYPE_CHECKING:
    from temoin.keys import Keyring

FORMAT = "temoin-dossier/1"
RECEIPT_FORMAT = "temoin-dossier-receipt/1"
ROOT = "dossier"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the zip epoch: entries carry no clock
SUFFIXES = {".pgp": False, ".gpg": False, ".asc": True}  # suffix -> ASCII armor
RECEIPT = ".receipt.json"
# A receipt lists ids, file names and hashes (about 200 bytes a file): thousands of cases
# fit. Anything larger is not ours, and is refused before it is read or parsed.
MAX_RECEIPT = 32 * 1024 * 1024
MAX_SIGNATURE = 64 * 1024
_EXT = re.compile(r"\.[A-Za-z0-9]{1,8}$")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FPR = re.compile(r"[0-9A-F]{40}|[0-9A-F]{64}")


@dataclass
class Dossier:
    """A built dossier: the encrypted bytes and what the organisation keeps about it."""

    ciphertext: bytes
    manifest: dict[str, Any]
    sha256: str
    armor: bool
    receipt: bytes = b""
    receipt_signature: bytes = b""
    custody_entry: dict[str, Any] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)  # unlisted files left out of it


def printable(text: str) -> str:
    """`text` with control, format (bidi) and unassigned characters shown as escapes, so a
    hostile name cannot rewrite the terminal or reorder what an editor reads."""
    return "".join(c if unicodedata.category(c)[0] != "C" else
                   c.encode("unicode_escape").decode("ascii") for c in text)


# -- consent ------------------------------------------------------------------------------
def _consent_list(value: Any, where: str) -> tuple[list[str], list[str]]:
    from temoin.config import PARTNER_CATEGORIES

    if value is None:
        return [], []
    if not isinstance(value, list) or any(v not in PARTNER_CATEGORIES for v in value):
        return [], [f"{where}: expected a list of {', '.join(PARTNER_CATEGORIES)}, "
                    f"got {value!r}"]
    return list(value), []


def consent_problems(case_id: str, private: dict[str, Any], category: str) -> list[str]:
    """Why the case may not be shared with a partner of `category` ([] = it may)."""
    where = f"case {case_id}: private share_consent"
    base, problems = _consent_list(private.get("share_consent"), where)
    if problems:
        return problems
    if category not in base:
        problems.append(f"case {case_id}: share_consent does not include {category} "
                        f"(it lists: {', '.join(base) or 'nothing'}); record consent with "
                        f"`temoin case set {case_id} --private share_consent=[{category}]`")
    for group in ("victims", "sources"):
        people = private.get(group)
        for i, person in enumerate(people if isinstance(people, list) else []):
            if not isinstance(person, dict) or "share_consent" not in person:
                continue
            own, bad = _consent_list(person["share_consent"],
                                     f"case {case_id}: private {group}[{i}].share_consent")
            problems += bad
            if not bad and category not in own:
                problems.append(f"case {case_id}: {group}[{i}] did not consent to sharing "
                                f"with {category}")
    return problems


# -- building -----------------------------------------------------------------------------
def created_at() -> str:
    """The dossier's date: SOURCE_DATE_EPOCH when set (reproducible), else now (UTC)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
    return custody.now()


def to_json(value: Any) -> Any:
    """Case data as JSON-ready values (dates as ISO strings)."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def dumps(value: Any) -> bytes:
    return (json.dumps(to_json(value), ensure_ascii=False, sort_keys=True, indent=1)
            + "\n").encode("utf-8")


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A deterministic zip of `files` under ROOT/: sorted names, fixed time and modes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(files, key=lambda n: n.encode()):
            info = zipfile.ZipInfo(f"{ROOT}/{name}", date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the mode below means the same everywhere
            info.external_attr = 0o644 << 16
            z.writestr(info, files[name], compresslevel=9)
    return buf.getvalue()


def custody_by_case(repo: Path, submissions: dict[str, set[str]]) -> dict[str, list[Any]]:
    """Each case's custody entries: those naming it, and the `received` entries of its
    submissions. Earlier shares are left out: a partner need not learn who else got it."""
    out: dict[str, list[Any]] = {cid: [] for cid in submissions}
    for e in custody.entries(repo):
        if e.get("action") == "shared":
            continue
        named = {e.get("case"), e.get("into"), *(e.get("cases") or [])}
        for cid, subs in submissions.items():
            if cid in named or (e.get("submission") and e["submission"] in subs):
                out[cid].append(e)
    return out


def _submissions(private: dict[str, Any]) -> set[str]:
    intake = private.get("intake")
    if not isinstance(intake, dict):
        return set()
    return {str(s.get("sha256")) for s in intake.get("submissions") or []
            if isinstance(s, dict) and s.get("sha256")}


def _kind(value: Any) -> str:
    """What a malformed value is, without its content (it may be confidential)."""
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    return "nothing" if value is None else f"a {type(value).__name__}"


def listed_evidence(case_id: str, private: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The evidence the signed private part lists, as {sha256: extension in the dossier},
    and why the list cannot be used (each problem names the entry). Only listed evidence
    goes into a dossier: a file dropped into evidence/ by hand or by a forged commit is
    not evidence of the case."""
    entries = private.get("evidence")
    if entries is None:
        return {}, []
    where = f"case {case_id}: private evidence"
    if not isinstance(entries, list):
        return {}, [f"{where}: expected a list of entries (name, sha256, media_type), "
                    f"got {_kind(entries)}"]
    out: dict[str, str] = {}
    problems = []
    for i, entry in enumerate(entries):
        sha = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
            got = _kind(sha) if isinstance(entry, dict) else _kind(entry)
            problems.append(f"{where}[{i}].sha256: expected 64 lowercase hex digits, got {got}")
            continue
        ext = _EXT.search(str(entry.get("safe_name") or ""))
        out.setdefault(sha, ext.group(0).lower() if ext else ".bin")
    return out, problems


@dataclass
class EvidencePlan:
    """What goes into a dossier from the cases' evidence folders, before any decryption."""

    listed: dict[str, dict[str, str]]  # case id -> {sha256: extension}
    ignored: list[str]                 # repo-relative paths in evidence/ that are not listed
    problems: list[str]


def plan_evidence(repo: Path, privates: dict[str, dict[str, Any]]) -> EvidencePlan:
    """Check that every listed evidence file is there (a regular file, not a link) and
    note every other entry of the evidence folders, which stays out of the dossier."""
    plan = EvidencePlan({}, [], [])
    for cid in sorted(privates):
        listed, problems = listed_evidence(cid, privates[cid])
        plan.problems += problems
        plan.listed[cid] = listed
        folder = cases_mod.case_dir(repo, cid) / "evidence"
        for sha in listed:
            path = folder / f"{sha}.asc"
            if path.is_symlink() or not path.is_file():
                what = "a symbolic link" if path.is_symlink() else (
                    "not a regular file" if path.exists() else "missing")
                plan.problems.append(
                    f"case {cid}: evidence {sha} is listed in the private part but "
                    f"cases/{cid}/evidence/{sha}.asc is {what}; restore it from a backup "
                    "or remove the entry with `temoin case edit`")
        if folder.is_dir() and not folder.is_symlink():
            used = {f"{sha}.asc" for sha in listed}
            plan.ignored += [f"cases/{cid}/evidence/{printable(p.name)}"
                             for p in sorted(folder.iterdir()) if p.name not in used]
        elif folder.exists() or folder.is_symlink():
            plan.ignored.append(f"cases/{cid}/evidence (not a folder)")
    return plan


def _evidence(repo: Path, case_id: str, listed: dict[str, str],
              keyring: Keyring) -> tuple[dict[str, bytes], list[str]]:
    """Decrypted listed evidence, named by sha256 (an original name can identify someone;
    it stays inside the encrypted case.json), and each file that did not decrypt to the
    bytes its sha256 names."""
    out, problems = {}, []
    for sha, ext in sorted(listed.items()):
        try:
            data = cases_mod.read_evidence(repo, case_id, sha, keyring)
        except OSError as exc:
            problems.append(f"case {case_id}: cases/{case_id}/evidence/{sha}.asc: cannot read "
                            f"it ({exc.strerror})")
            continue
        except CryptoError as exc:
            problems.append(f"case {case_id}: {exc.message}: the private part lists "
                            f"evidence {sha}, this file holds other bytes or none we can read")
            continue
        out[f"cases/{case_id}/evidence/{sha}{ext}"] = data
    return out, problems


def manifest(files: dict[str, bytes], cfg: Config, partner: Partner, case_ids: list[str],
             editor: str, public_only: bool, created: str) -> dict[str, Any]:
    return {
        "format": FORMAT, "temoin_version": __version__, "organisation": cfg.organisation,
        "organisation_key": cfg.inbox_key, "created": created, "shared_by": editor,
        "partner": {"name": partner.name, "fingerprint": partner.fingerprint,
                    "category": partner.category},
        "public_only": public_only, "cases": case_ids,
        "files": [{"path": n, "sha256": hashlib.sha256(files[n]).hexdigest(),
                   "size": len(files[n])} for n in sorted(files, key=lambda n: n.encode())],
    }


def _check_keys(cfg: Config, keyring: Keyring, partner: Partner) -> None:
    if not cfg.inbox_key or not keyring.has_secret(cfg.inbox_key):
        raise CryptoError("dossiers are signed by the organisation key (inbox_key), whose "
                          "secret part is not in GNUPGHOME: run this on the editing machine")
    if not any(k.fingerprint == partner.fingerprint for k in keyring.list()):
        raise CryptoError(f"partner key {partner.fingerprint} ({partner.name}) is not in "
                          "GNUPGHOME: run `temoin keys import keys/partners/<file>.asc --as "
                          f"partner --category {partner.category}`")


def refusals(repo: Path, cfg: Config, keyring: Keyring, case_ids: list[str], partner: Partner,
             public_only: bool) -> tuple[list[Any], dict[str, dict[str, Any]], list[str]]:
    """(loaded cases, private parts, reasons to refuse, each naming its case)."""
    loaded, privates, problems = [], {}, []
    with curation.CachedVerifier(repo) as verify:
        for cid in case_ids:
            case = cases_mod.load(repo, cid)
            loaded.append(case)
            if case.status == "duplicate":
                problems.append(f"case {cid}: a duplicate of {case.meta.get('duplicate_of')}; "
                                "share the kept case")
            elif public_only:
                gate = curation.gate_problems(case, cfg, verify)
                if gate:
                    problems.append(f"case {cid}: not public on the site, so not shareable "
                                    f"with --public-only ({gate[0]})")
            else:
                privates[cid] = cases_mod.read_private(repo, cid, keyring)
                problems += consent_problems(cid, privates[cid], partner.category)
    return loaded, privates, problems


def create(repo: Path, cfg: Config, keyring: Keyring, case_ids: list[str], partner: Partner,
           editor: str, *, public_only: bool = False, armor: bool = False) -> Dossier:
    """Build, check and encrypt a dossier (nothing is written; see `write`).

    Raises GateError (exit 4) naming every case whose consent does not cover the partner's
    category (or, with public_only, every case the site does not show)."""
    repo = Path(repo)
    ids = sorted(dict.fromkeys(case_ids))
    if not ids:
        raise TemoinError("no case to share: name at least one case id")
    _check_keys(cfg, keyring, partner)
    broken = custody.verify(repo)
    if broken:
        raise TemoinError(f"{custody.LOG} is broken ({broken[0]}); a dossier carries the "
                          "chain of custody, so fix it first (`temoin check`)")
    loaded, privates, problems = refusals(repo, cfg, keyring, ids, partner, public_only)
    if problems:
        raise GateError(problems, f"sharing with {partner.name} ({partner.category}) refused")
    plan = EvidencePlan({}, [], []) if public_only else plan_evidence(repo, privates)
    if plan.problems:
        raise CaseError("dossier refused, the evidence does not match the private parts:\n"
                        + "\n".join(f"  - {p}" for p in plan.problems))
    files: dict[str, bytes] = {}
    bad: list[str] = []
    for cid, listed in plan.listed.items():
        found, problems = _evidence(repo, cid, listed, keyring)
        files.update(found)
        bad += problems
    if bad:
        raise CryptoError("dossier refused, evidence does not hash to what the private part "
                          "lists:\n" + "\n".join(f"  - {p}" for p in bad))
    trail = {} if public_only else custody_by_case(
        repo, {cid: _submissions(privates[cid]) for cid in ids})
    for case in loaded:
        doc: dict[str, Any] = {"id": case.id, "public": case.meta, "narrative": case.narrative}
        if not public_only:
            doc["private"] = privates[case.id]
            files[f"cases/{case.id}/custody.jsonl"] = b"".join(
                json.dumps(e, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"
                for e in trail[case.id])
        files[f"cases/{case.id}/case.json"] = dumps(doc)
    from temoin.share.readme import summary_html

    created = created_at()
    files["README.html"] = summary_html(cfg, partner, loaded, privates, public_only,
                                        created).encode("utf-8")
    man = manifest(files, cfg, partner, ids, editor, public_only, created)
    files["MANIFEST.json"] = dumps(man)
    plain = zip_bytes(files)
    if public_only:
        scan_for_private_values(repo, plain, ids, keyring)
    ciphertext = keyring.encrypt(plain, [partner.fingerprint], armor=armor,
                                 sign=cfg.inbox_key)
    del plain, files
    return Dossier(ciphertext, man, hashlib.sha256(ciphertext).hexdigest(), armor,
                   ignored=plan.ignored)


def scan_for_private_values(repo: Path, plain_zip: bytes, case_ids: list[str],
                            keyring: Keyring) -> None:
    """The build's canary gate over a public-only dossier: no value of the cases' private
    parts may appear in it. The zip holds public data only, so it may sit in a tmpfs
    while the scanner reads it."""
    from temoin import gates as checks

    canaries = []
    for cid in case_ids:
        if cases_mod.private_path(repo, cid).exists():
            private = cases_mod.read_private(repo, cid, keyring)
            # an editor's public summary is public by intent: it is on the case page too
            canaries += [c for c in checks.canaries_from_private(cid, private)
                         if ".public_summary." not in f".{c.field}."]
    shm = "/dev/shm"  # noqa: S108 - mkdtemp makes a private 0700 folder in it
    tmp = Path(tempfile.mkdtemp(prefix="temoin-share-", dir=shm if os.path.isdir(shm) else None))
    try:
        (tmp / "dossier.zip").write_bytes(plain_zip)
        found = checks.scan(tmp, canaries=canaries, gates=("canary",))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if found:
        raise GateError([f.detail for f in found], "a private value is in the public dossier")


# -- writing and receipts -----------------------------------------------------------------
def armor_for(out: Path) -> bool:
    """Whether FILE gets ASCII armor (.asc) or binary OpenPGP (.pgp, .gpg)."""
    suffix = out.suffix.lower()
    if RECEIPT in out.name or any(unicodedata.category(c)[0] == "C" for c in out.name):
        raise ConfigError(f"{printable(out.name)}: expected a plain file name (no control "
                          f"characters, no {RECEIPT}: that is how receipts are named)")
    if suffix not in SUFFIXES:
        raise ConfigError(f"{out.name}: expected a name ending .pgp, .gpg (binary) or .asc "
                          f"(armored), got {suffix or 'no suffix'!r}")
    return SUFFIXES[suffix]


def receipt_path(out: Path) -> Path:
    return out.with_name(out.name + RECEIPT)


def write(repo: Path, cfg: Config, keyring: Keyring, dossier: Dossier, out: Path,
          editor: str) -> tuple[Path, Path]:
    """Write FILE, the signed receipt beside it, and the custody entry (action "shared")."""
    receipt = {"format": RECEIPT_FORMAT,
               "dossier": {"file": out.name, "sha256": dossier.sha256,
                           "size": len(dossier.ciphertext), "armor": dossier.armor,
                           "encrypted_to": [dossier.manifest["partner"]["fingerprint"]],
                           "signed_by": cfg.inbox_key},
               "manifest": dossier.manifest}
    dossier.receipt = dumps(receipt)
    if len(dossier.receipt) > MAX_RECEIPT:  # `temoin receipt` would refuse to read it back
        raise TemoinError(f"the receipt would be {len(dossier.receipt)} bytes, more than "
                          f"{MAX_RECEIPT}: share these cases in several dossiers")
    dossier.receipt_signature = keyring.sign_detached(dossier.receipt, cfg.inbox_key)
    rpath = receipt_path(out)
    write_atomic(out, dossier.ciphertext)
    write_atomic(rpath, dossier.receipt)
    write_atomic(rpath.with_name(rpath.name + ".asc"), dossier.receipt_signature)
    man = dossier.manifest
    dossier.custody_entry = custody.append(
        repo, "shared", editor=editor, to=man["partner"]["fingerprint"],
        category=man["partner"]["category"], cases=man["cases"],
        dossier_sha256=dossier.sha256, public_only=man["public_only"],
        files=len(man["files"]))
    return out, rpath


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


def _open_regular(path: Path, what: str) -> int | None:
    """A read-only descriptor on the regular file at `path` (links followed: the editor
    named it), or None if nothing is there. A FIFO or device is refused before it is read:
    opening it must not block and reading it must not be endless."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ReceiptError(f"{printable(str(path))}: cannot read the {what} "
                           f"({getattr(exc, 'strerror', None) or exc})") from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ReceiptError(f"{printable(str(path))}: the {what} is not a regular file")
    return fd


def _read_bounded(path: Path, limit: int, what: str) -> bytes | None:
    fd = _open_regular(path, what)
    if fd is None:
        return None
    with os.fdopen(fd, "rb") as f:
        size = os.fstat(fd).st_size
        data = f.read(limit + 1) if size <= limit else b""
    if size > limit or len(data) > limit:
        raise ReceiptError(f"{printable(str(path))}: {max(size, len(data))} bytes, more than "
                           f"a {what} can be ({limit}): not one written by `temoin share`")
    return data


def _hash_file(fd: int, size: int) -> str:
    """sha256 of at most size + 1 bytes: a file that grew while read differs, and a file
    that claims a size cannot make us read more than that."""
    digest, left = hashlib.sha256(), size + 1
    with os.fdopen(fd, "rb") as f:
        while left > 0 and (chunk := f.read(min(1 << 20, left))):
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


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
        problems.append(f"{where}: expected a string, got {_kind(value)}")
        return False
    if not value or len(value) > 1000 or any(unicodedata.category(c)[0] == "C"
                                             for c in value):
        problems.append(f"{where}: expected 1 to 1000 printable characters, got "
                        f"{_shown(value)}")
        return False
    return True


def _check_fields(value: Any, where: str, keys: set[str], problems: list[str]) -> bool:
    if not isinstance(value, dict):
        problems.append(f"{where}: expected an object, got {_kind(value)}")
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
               isinstance(d["sha256"], str) and bool(_SHA256.fullmatch(d["sha256"])),
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
            p.append(f"manifest.files: expected a list of files, got {_kind(files)}")
            files = []
        for i, f in enumerate(files):
            where = f"manifest.files[{i}]"
            if _check_fields(f, where, {"path", "sha256", "size"}, p):
                _check(f["path"], f"{where}.path", _file_ok(f["path"], cases, f["sha256"],
                                                            m["public_only"]),
                       "README.html or cases/<listed id>/(case.json, custody.jsonl, "
                       "evidence/<its sha256>.<ext>)", p)
                _check(f["sha256"], f"{where}.sha256", isinstance(f["sha256"], str)
                       and bool(_SHA256.fullmatch(f["sha256"])), "64 lowercase hex digits", p)
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


_FILE = re.compile(r"cases/(?P<id>[A-Z0-9-]{1,40})/(?:case\.json|custody\.jsonl|"
                   r"evidence/(?P<sha>[0-9a-f]{64})\.[a-z0-9]{1,8})")


def _is_fpr(value: Any) -> bool:
    return isinstance(value, str) and bool(_FPR.fullmatch(value))


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
    raw = _read_bounded(rpath, MAX_RECEIPT, "receipt")
    if raw is None:
        raise ReceiptError(f"{shown}: no receipt here (`temoin share` writes it next to the "
                           "dossier)")
    sig = _read_bounded(sig_path, MAX_SIGNATURE, "receipt signature")
    if sig is None:
        raise CryptoError(f"{printable(sig_path.name)}: signature missing: the receipt cannot "
                          "be trusted without it")
    try:
        key_data = Path(org_key).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{printable(str(org_key))}: cannot read the organisation's public "
                          f"key ({exc.strerror}); give it with --key") from exc
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
    fd = _open_regular(dpath, "dossier")
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
