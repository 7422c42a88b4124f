"""`temoin migrate`, second half: what an editor signs so that an older repository's
confidential parts and decisions count under issue 16 (signed parts, chained decisions).

- A **private part** written before parts were signed (or signed by a key the trust root no
  longer names, or under the case's old id) is refused by every reader. Migrate lists each
  one with why and what it holds (its keys and consent fields; the whole text with
  `--show`), and once the editor confirms, writes it again signed by that editor: the editor
  asserts it. A part this keyring cannot decrypt stops the migration before anything changes.
- **Evidence** kept as `<sha256>.asc` (or under a renamed case's old id) is decrypted, checked
  against the sha256 its private part lists, signed by the editor and written under its
  keyed name (`cases.evidence_name`); the entry records the name (`file`) and the old file
  goes. Fresh ciphertext: a renamed case's evidence shares no blob with its old folder.
- **Decisions** of format 1 (no chain) are chained: a `chain` decision signed by the editor
  names the case's current, well-signed statements (`decisions`), so one restored later from
  Git history no longer counts. It decides nothing itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from temoin import cases, padding, strict_yaml
from temoin.cases import parts
from temoin.cases.versions import PartMemory
from temoin.config import Config
from temoin.errors import CryptoError
from temoin.files import write_atomic
from temoin.keys import Keyring, vault
from temoin.keys.signers import Signers

CONSENT_KEYS = ("consent_requested", "share_consent")


@dataclass
class Work:
    """One case's private part (decrypted in memory) and what must be written again."""

    old_id: str
    new_id: str
    data: dict[str, Any]
    why: str = ""                                   # "" when the part itself is fine
    evidence: list[int] = field(default_factory=list)  # entries whose file is rewritten

    @property
    def changed(self) -> bool:
        return bool(self.why or self.evidence)


@dataclass
class Plan:
    """What migrate will sign (`shown`: one block of lines an item, for the editor)."""

    work: list[Work] = field(default_factory=list)
    chains: dict[str, list[str]] = field(default_factory=dict)  # case id -> slots named
    unlisted: list[tuple[str, str]] = field(default_factory=list)  # (new id, evidence file)
    shown: list[list[str]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # full plaintext of each part (--show)
    keyring: Keyring | None = None
    sealed: list[tuple[str, bytes]] = field(default_factory=list)  # (file, plaintext) unsigned
    custody: int = 0  # sealed custody entries whose signature does not count (resealed)
    id_secret: bool = False  # keys/id-secret.asc is unsigned: sign it

    @property
    def changed(self) -> bool:
        return any(w.changed for w in self.work) or bool(self.chains or self.unlisted
                                                         or self.sealed or self.custody
                                                         or self.id_secret)


def _parse(plain: bytes, where: str) -> dict[str, Any]:
    """A private part's YAML, its header line (if any) set aside, whoever signed it."""
    text = plain.decode("utf-8")
    found = parts.header(plain)
    if found is not None:
        text = plain[found[2]:].decode("utf-8")
    data = strict_yaml.load(text, where, cases._SafeLoader, scalar_aliases=True) or {}
    if not isinstance(data, dict):
        raise CryptoError(f"{where}: private part is not a mapping; fix it by hand first")
    return data


def summary(data: dict[str, Any]) -> list[str]:
    """What a private part holds, for the editor to recognise it: its keys, its consent
    fields (the values that matter most if it were forged), sizes; no other value."""
    out = ["keys: " + ", ".join(str(k) for k in data)]
    out += [f"{k}: {data[k]!r}" for k in CONSENT_KEYS if k in data]
    out += [f"testimony: {len(str(data.get('testimony') or ''))} characters",
            f"evidence: {len(data.get('evidence') or [])} file(s)"]
    return out


def plan_sealed(repo: Path, cfg: Config, keyring: Keyring, plan: Plan) -> None:
    """Sealed drafts (`case.md.asc`) whose inner signature does not count (written before
    they were signed): read them (one gpg run) to sign them (the id secret:
    `plan_id_secret`)."""
    root = repo / cases.CASES
    files = sorted(root.glob(f"*/{cases.SEALED}")) if root.is_dir() else []
    if not files:
        return
    with Signers.for_repo(repo, cfg) as signers:
        opened = vault.Vault(keyring, cfg.recipient_fingerprints).open_signed_many(
            (f.read_bytes() for f in files), signers)
    for path, one in zip(files, opened, strict=True):
        where = path.relative_to(repo).as_posix()
        if one.plaintext is None:
            raise CryptoError(f"migrate needs to read {where}, and cannot decrypt it: is your "
                              "editor secret key in GNUPGHOME?")
        if one.signature.ok:
            continue
        plan.sealed.append((where, one.plaintext))
        plan.shown.append([f"{where}: {one.signature.problem}",
                           f"a sealed draft of {len(one.plaintext.rstrip())} bytes"])


def plan_custody(repo: Path, cfg: Config, keyring: Keyring, plan: Plan) -> None:
    """Sealed custody entries whose signature does not count (written before entries were
    signed): the log is sealed again, every entry signed by the acting editor."""
    from temoin import custody

    box = vault.Vault(keyring, cfg.recipient_fingerprints)
    refused = [e for e in custody.entries(repo, box) if e.get("action") == custody.NOT_COUNTED]
    if refused:
        plan.custody = len(refused)
        plan.shown.append([f"{custody.LOG}: {len(refused)} sealed entr(y/ies) not signed by "
                           "an editor or the intake: the log is sealed again, each entry "
                           "signed by you", *(str(e.get("why")) for e in refused[:20])])


def sign_sealed(repo: Path, cfg: Config, keyring: Keyring, signer: str,
                plan: Plan) -> list[str]:
    """Sign (as `signer`) then encrypt again each file `plan_sealed` found."""
    sealer = vault.Vault(keyring, cfg.recipient_fingerprints, signer)
    for where, plain in plan.sealed:
        text = padding.pad_text(plain.rstrip(b"\n") + b"\n")  # as `cases.save` seals
        write_atomic(repo / where, sealer.seal(text, where), mode=0o644)
    return [where for where, _ in plan.sealed]


def plan_parts(repo: Path, cfg: Config, keyring: Keyring, renamed: dict[str, str],
               key: bytes) -> Plan:
    """Read every private part (one gpg run) and list what must be signed again."""
    root = repo / cases.CASES
    ids = sorted(p.parent.name for p in root.glob(f"*/{cases.PRIVATE}")) \
        if root.is_dir() else []
    plan = Plan(keyring=keyring)
    unreadable = []
    with Signers.for_repo(repo, cfg) as signers:
        opened = vault.Vault(keyring, cfg.recipient_fingerprints).open_signed_many(
            (cases.private_path(repo, cid).read_bytes() for cid in ids), signers,
            parts.MAX_PRIVATE)
    memory = PartMemory(repo)  # an older part restored from history is shown, signed anew
    for old, one in zip(ids, opened, strict=True):
        where = f"cases/{old}/{cases.PRIVATE}"
        if one.plaintext is None:
            unreadable.append(f"{where}: cannot decrypt with this keyring")
            continue
        new = renamed.get(old, old)
        data, problem = parts.judge_private(old, one, where, memory)
        why = problem.split(": refused: ", 1)[-1].split(". Fix:", 1)[0] if data is None else ""
        if data is None:
            data = _parse(one.plaintext, where)
        if not why and new != old:
            why = f"the case gets a new id ({new}): signed again under it"
        work = Work(old, new, data, why)
        for i, entry in enumerate(data.get("evidence") or []):
            if isinstance(entry, dict) and isinstance(entry.get("sha256"), str) and \
                    cases.evidence_file(repo, old, entry).name != cases.evidence_name(
                        key, new, entry["sha256"]):
                work.evidence.append(i)
        if work.changed:
            plan.work.append(work)
            lines = [f"cases/{new}/{cases.PRIVATE}" + (f" (was {where})" if new != old else "")
                     + f": {why or 'its evidence is renamed'}", *summary(data)]
            lines += [f"evidence {cases.evidence_file(repo, old, data['evidence'][i]).name}: "
                      "signed by you under its keyed name once its sha256 matches the entry"
                      for i in work.evidence]
            plan.shown.append(lines)
            plan.texts.append(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    memory.save()
    if unreadable:
        raise CryptoError("migrate needs to read every private part, and cannot:\n"
                          + "\n".join(f"  - {u}" for u in unreadable))
    _plan_unlisted(repo, renamed, plan)
    return plan


def _plan_unlisted(repo: Path, renamed: dict[str, str], plan: Plan) -> None:
    """Files in a renamed case's evidence/ that its private part does not list: no reader
    uses them (a dossier leaves them out), but kept under their old name or blob they would
    link the new id to the old one. They get a random name and fresh ciphertext, unsigned
    (they still count for nothing)."""
    listed = {w.old_id: {cases.evidence_file(repo, w.old_id, e).name for e in
                         w.data.get("evidence") or [] if isinstance(e, dict)}
              for w in plan.work}
    for old, new in sorted(renamed.items()):
        folder = cases.case_dir(repo, old) / "evidence"
        if not folder.is_dir() or folder.is_symlink():
            continue
        if old not in listed:  # a part that needs no signing still lists files
            found = cases.read_private(repo, old, plan.keyring) if cases.private_path(
                repo, old).exists() and plan.keyring is not None else {}
            listed[old] = {cases.evidence_file(repo, old, e).name for e in
                           found.get("evidence") or [] if isinstance(e, dict)}
        for f in sorted(folder.iterdir()):
            if f.is_file() and not f.is_symlink() and f.name not in listed[old]:
                plan.unlisted.append((new, f.name))
                plan.shown.append([f"cases/{old}/evidence/{f.name}: not listed in the "
                                   "private part: moved under a random name, encrypted "
                                   "afresh (it stays out of every dossier)"])


def plan_chains(repo: Path, cfg: Config, plan: Plan, skip: set[str]) -> None:
    """Add every case whose decisions are not chained yet (format 1) to `plan`."""
    from temoin import curation
    from temoin.curation import decisions

    root = repo / cases.CASES
    with curation.CachedVerifier(repo) as verify:
        for folder in sorted(root.iterdir()) if root.is_dir() else []:
            review = folder / curation.REVIEW
            if folder.name in skip or not review.is_dir():
                continue
            chain = verify.chain(review, folder.name, cfg.recipient_fingerprints,
                                 remember=False)
            if chain.legacy and chain.current:
                plan.chains[folder.name] = sorted(chain.current)
                plan.shown.append([f"cases/{folder.name}/review/: chained by a `{decisions.CHAIN}` "
                                   "decision naming " + ", ".join(sorted(chain.current))])


def plan_id_secret(plan: Plan, unsigned: bool) -> None:
    """Sign `keys/id-secret.asc` too when an earlier version wrote it unsigned."""
    if unsigned:
        plan.id_secret = True
        plan.shown.append([f"{vault.ID_SECRET}: the case-id secret, written unsigned by an "
                           "earlier version; signing it says it is the one your organisation "
                           f"made (`git log -- {vault.ID_SECRET}` should show one commit, "
                           "from the first ingest)"])


def apply(repo: Path, cfg: Config, keyring: Keyring, editor: str, plan: Plan,
          key: bytes, today: dt.date) -> tuple[list[str], list[str]]:
    """Sign what `plan` lists (after the renames): (files written, cases chained)."""
    from temoin import curation
    from temoin.curation import decisions

    written: list[str] = []
    rcpts = cfg.recipient_fingerprints
    sealer = vault.Vault(keyring, rcpts)
    for work in plan.work:
        evidence = list(work.data.get("evidence") or [])
        for i in work.evidence:
            entry = dict(evidence[i])
            old = cases.evidence_file(repo, work.new_id, entry)
            where = old.relative_to(repo).as_posix()
            res = keyring.decrypt(old.read_bytes(), max_output=1 << 31)
            plain = padding.unpad_bytes(res.plaintext, entry["sha256"]) if res.ok else b""
            if not res.ok or hashlib.sha256(plain).hexdigest() != entry["sha256"]:
                raise CryptoError(f"{where}: does not decrypt to the sha256 its private part "
                                  "lists: not signed. Restore it from a copy you trust, or "
                                  f"remove its entry (`temoin case edit {work.new_id}`)")
            new = cases.evidence_path(repo, work.new_id, entry["sha256"], key)
            write_atomic(new, sealer.seal_signed_many([padding.pad_bytes(plain)], editor)[0])
            if new != old:
                old.unlink(missing_ok=True)
            evidence[i] = {**entry, "file": new.name}
            written.append(new.relative_to(repo).as_posix())
        if work.evidence:
            work.data["evidence"] = evidence
        cases.write_private(repo, work.new_id, work.data, keyring, rcpts, editor)
        written.append(f"cases/{work.new_id}/{cases.PRIVATE}")
    for cid, name in plan.unlisted:
        path = cases.case_dir(repo, cid) / "evidence" / name
        res = keyring.decrypt(path.read_bytes(), max_output=1 << 31)
        if res.ok:
            write_atomic(path.with_name(secrets.token_hex(16) + ".asc"),
                         sealer.seal(res.plaintext))
            path.unlink()
    for cid in sorted(plan.chains):
        case = cases.load(repo, cid)
        curation.record_statement(repo, case, decisions.CHAIN, editor, keyring, today,
                                  {"chained": plan.chains[cid]})
    return written, sorted(plan.chains)
