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
    dossier/cases/<ID>/custody-chain.jsonl   the log's chain without ciphertexts: with it the
                                         partner checks those entries are in the log
                                         unaltered (`custody.verify_part`; issue 16)

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
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temoin import __version__, curation, custody
from temoin import cases as cases_mod
from temoin.config import Config, Partner
from temoin.errors import CaseError, ConfigError, CryptoError, GateError, TemoinError
from temoin.files import write_atomic
from temoin.keys import vault
from temoin.keys.signers import Signers

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
SHA256 = re.compile(r"[0-9a-f]{64}")
FPR = re.compile(r"[0-9A-F]{40}|[0-9A-F]{64}")


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


def _own_consents(private: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(where, value) of every `share_consent` below the case's own, at any depth and in
    any shape (a list of people, a mapping of them, a relative inside a victim): a refusal
    counts wherever it was written, so the check fails closed. `where` is like
    `victims[0]`, or `victims{0}` for the first entry of a mapping."""
    stack: list[tuple[str, Any]] = [(k, v) for k, v in reversed(list(private.items()))
                                    if k != "share_consent"]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            if "share_consent" in value:
                yield where, value["share_consent"]
            # a mapping's keys may be names: the path shows their position, never them
            stack += [(f"{where}{{{i}}}", v) for i, (k, v)
                      in reversed(list(enumerate(value.items()))) if k != "share_consent"]
        elif isinstance(value, list):
            stack += [(f"{where}[{i}]", v) for i, v in reversed(list(enumerate(value)))]


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
    for path, value in _own_consents(private):
        own, bad = _consent_list(value, f"case {case_id}: private {path}.share_consent")
        problems += bad
        if not bad and category not in own:
            problems.append(f"case {case_id}: {path} did not consent to sharing "
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


def _chain_up_to(skeleton: list[dict[str, Any]], trail: dict[str, list[Any]]) -> bytes:
    """The log's chain up to the last line the dossier's entries need: enough for the
    partner to check them, and the same bytes however much was logged since (a later
    share of the same cases gives the same dossier)."""
    needed = {str(e.get("hash")) for entries in trail.values() for e in entries}
    last = max((n for n, ln in enumerate(skeleton) if str(ln.get("hash")) in needed),
               default=-1)
    return b"".join(json.dumps(ln, sort_keys=True).encode() + b"\n"
                    for ln in skeleton[:last + 1])


def custody_by_case(repo: Path, submissions: dict[str, set[str]],
                    opener: vault.Vault | None = None) -> dict[str, list[Any]]:
    """Each case's custody entries: those naming it, and the `received` entries of its
    submissions. Earlier shares are left out: a partner need not learn who else got it."""
    out: dict[str, list[Any]] = {cid: [] for cid in submissions}
    for e in custody.entries(repo, opener):
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


def kind_of(value: Any) -> str:
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
                    f"got {kind_of(entries)}"]
    out: dict[str, str] = {}
    problems = []
    for i, entry in enumerate(entries):
        sha = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(sha, str) or not SHA256.fullmatch(sha):
            got = kind_of(sha) if isinstance(entry, dict) else kind_of(entry)
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
    files: dict[str, dict[str, Path]] = field(default_factory=dict)  # id -> {sha256: file}


def plan_evidence(repo: Path, privates: dict[str, dict[str, Any]]) -> EvidencePlan:
    """Check that every listed evidence file is there (a regular file, not a link) and
    note every other entry of the evidence folders, which stays out of the dossier."""
    plan = EvidencePlan({}, [], [])
    for cid in sorted(privates):
        listed, problems = listed_evidence(cid, privates[cid])
        plan.problems += problems
        plan.listed[cid] = listed
        folder = cases_mod.case_dir(repo, cid) / "evidence"
        # Where each listed file is: its keyed name as the entry says (`cases.parts`).
        entries = {str(e.get("sha256")): e for e in privates[cid].get("evidence") or []
                   if isinstance(e, dict)}
        plan.files[cid] = {sha: cases_mod.evidence_file(repo, cid, entries.get(sha) or sha)
                           for sha in listed}
        for sha, path in plan.files[cid].items():
            if path.is_symlink() or not path.is_file():
                what = "a symbolic link" if path.is_symlink() else (
                    "not a regular file" if path.exists() else "missing")
                plan.problems.append(
                    f"case {cid}: evidence {sha} is listed in the private part but "
                    f"cases/{cid}/evidence/{path.name} is {what}; restore it from a backup "
                    "or remove the entry with `temoin case edit`")
        if folder.is_dir() and not folder.is_symlink():
            used = {path.name for path in plan.files[cid].values()}
            plan.ignored += [f"cases/{cid}/evidence/{printable(p.name)}"
                             for p in sorted(folder.iterdir()) if p.name not in used]
        elif folder.exists() or folder.is_symlink():
            plan.ignored.append(f"cases/{cid}/evidence (not a folder)")
    return plan


def _evidence(repo: Path, case_id: str, listed: dict[str, str], files: dict[str, Path],
              keyring: Keyring, signers: Signers) -> tuple[dict[str, bytes], list[str]]:
    """Decrypted listed evidence, named by sha256 (an original name can identify someone;
    it stays inside the encrypted case.json), and each file that did not decrypt to the
    bytes its sha256 names or that nobody the trust root names signed."""
    out, problems = {}, []
    for sha, ext in sorted(listed.items()):
        entry = {"sha256": sha, "file": files[sha].name}
        try:
            data = cases_mod.read_evidence(repo, case_id, entry, keyring, signers)
        except OSError as exc:
            problems.append(f"case {case_id}: cases/{case_id}/evidence/{files[sha].name}: "
                            f"cannot read it ({exc.strerror})")
            continue
        except CryptoError as exc:
            problems.append(f"case {case_id}: {exc.message}" + (
                "" if ": refused:" in exc.message else f": the private part lists evidence "
                f"{sha}, this file holds other bytes or none we can read"))
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
    with curation.CachedVerifier(repo) as verify, Signers.for_repo(repo, cfg) as signers:
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
                # Refused (exit 3) unless signed by a current editor or the intake: a
                # forged part could carry a wider consent to share.
                privates[cid] = cases_mod.read_private(repo, cid, keyring, signers)
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
    with Signers.for_repo(repo, cfg) as signers:
        for cid, listed in plan.listed.items():
            found, problems = _evidence(repo, cid, listed, plan.files[cid], keyring, signers)
            files.update(found)
            bad += problems
    if bad:
        raise CryptoError("dossier refused, evidence is not what the signed private part "
                          "lists:\n" + "\n".join(f"  - {p}" for p in bad))
    trail = {} if public_only else custody_by_case(
        repo, {cid: _submissions(privates[cid]) for cid in ids},
        vault.Vault(keyring, cfg.recipient_fingerprints))
    chain = b"" if public_only else _chain_up_to(custody.skeleton(repo), trail)
    for case in loaded:
        doc: dict[str, Any] = {"id": case.id, "public": case.meta, "narrative": case.narrative}
        if not public_only:
            doc["private"] = privates[case.id]
            files[f"cases/{case.id}/custody.jsonl"] = b"".join(
                json.dumps(e, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"
                for e in trail[case.id])
            files[f"cases/{case.id}/custody-chain.jsonl"] = chain
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
    with Signers.for_repo(repo) as signers:
        for cid in case_ids:
            if cases_mod.private_path(repo, cid).exists():
                private = cases_mod.read_private(repo, cid, keyring, signers)
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
