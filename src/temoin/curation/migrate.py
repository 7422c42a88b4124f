"""`temoin migrate`: an existing repository to the layout of issue 16, items 4-6.

- every unpublished case (draft, review, rejected, duplicate, withdrawn) whose case.md is
  plaintext is sealed whole as `case.md.asc` and, unless it was once published (withdrawn:
  errata name it), gets a new random id (its old id may be `base32(sha256(sha256(message)))`,
  which anyone holding the mailbox can compute); published cases keep their id and URL.
  References (`duplicate_of`, other cases' custody) follow the new id; its private part
  and evidence are written afresh (`resign`: evidence under keyed names, so no file name
  or blob links the renamed folder to its old one in history). Signed decisions of a
  renamed case name the old id: they are removed (they would link the ids; they stay in
  history) and the case is verified again.
- confidential parts, sealed drafts (`case.md.asc`) and `keys/id-secret.asc` written before
  they were signed are signed, and decisions chained (`resign`): what the editor running it
  asserts, after it is shown; a `parts_signed` custody entry lists them.
- the custody log is rewritten sealed (format 2): a first entry names the sha256 of the old
  log, then every old entry (ids renamed) in its order, then a `migrated` entry with the id
  map — all encrypted to the editors.
- `keys/id-secret.asc` (the HMAC key of future ids) is made.

Idempotent: a repository already migrated is left untouched (no entry is added). Git history
still holds the old plaintext: `HISTORY` says what to do about it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temoin import cases, custody
from temoin.cases import review as review_files
from temoin.config import Config
from temoin.curation import resign
from temoin.errors import ConfigError, TemoinError
from temoin.keys import Keyring, vault

HISTORY = """\
Git history still holds what was plaintext before this migration: unpublished cases'
case.md (dates, places, acts, consent) under their old ids, and the old custody.jsonl that
pairs submission hashes and arrival times with those ids. Anyone with a clone made before
now, or with the remote's history, keeps them. To stop serving them:
  1. on the offline machine, after committing this migration:
       git filter-repo --invert-paths --path-glob 'cases/*/case.md' --path custody.jsonl \\
         --force   # then re-add the current published case.md files and custody.jsonl
     (or: git filter-repo --replace-text / a fresh repository whose first commit is today's
     tree: `git checkout --orphan migrated && git commit -m 'Témoin repository (migrated)'`);
  2. create a NEW remote (new URL, new credentials), push there, delete the old remote's
     repository (the host's backups and forks may keep it: ask the host), and have every
     editor re-clone — old clones still hold the history;
  3. treat everything that was in the old history as known to whoever could read the remote:
     the migration stops new leaks, it cannot recall old ones.
Why: ids, custody lines and drafts written before issue 16 link cases to messages and show
unpublished facts; rewriting history and rotating the remote is the only way the repository
stops revealing them."""


@dataclass
class Report:
    """What `migrate` did (empty lists and False: nothing to do)."""

    renamed: dict[str, str] = field(default_factory=dict)   # old id -> new id
    sealed: list[str] = field(default_factory=list)          # case ids sealed whole
    custody_sealed: int = 0                                   # old plaintext entries resealed
    id_secret_made: bool = False
    signed: list[str] = field(default_factory=list)          # parts and evidence (re)signed
    chained: list[str] = field(default_factory=list)         # cases whose decisions chained
    decisions_sealed: list[str] = field(default_factory=list)  # unpublished cases' decisions

    @property
    def changed(self) -> bool:
        return bool(self.renamed or self.sealed or self.custody_sealed or self.id_secret_made
                    or self.signed or self.chained or self.decisions_sealed)


def _new_id(cfg: Config, old: str, taken: set[str]) -> str:
    year = int(old.split("-")[-2])
    return cases.new_id(cfg.case_prefix, year, secrets.token_bytes(32), taken)


def _rename_ids(value: Any, renamed: dict[str, str]) -> Any:
    if isinstance(value, str):
        return renamed.get(value, value)
    if isinstance(value, list):
        return [_rename_ids(v, renamed) for v in value]
    if isinstance(value, dict):
        return {k: _rename_ids(v, renamed) for k, v in value.items()}
    return value


def migrate(repo: Path, cfg: Config, keyring: Keyring,
            editor: str | Callable[[], str] | None = None,
            confirm: Callable[[str, resign.Plan], bool] | None = None,
            today: dt.date | None = None) -> Report:
    """Move `repo` to the new layout (see the module docstring); returns what was done.
    What must be signed (`resign`) is planned first, without writing anything, and shown
    through `confirm(editor, plan)` (None: accepted); it needs `editor` (or a function
    naming the acting editor, asked only then), who signs it."""
    repo = Path(repo)
    sealed = vault.Vault(keyring, cfg.recipient_fingerprints)
    report = Report()
    key, unsigned_id = _id_secret(repo, sealed, report)
    root = repo / cases.CASES
    plain = sorted(root.glob(f"*/{cases.PUBLIC}")) if root.is_dir() else []
    loaded = [cases.load_file(p, repo) for p in plain]
    taken = {p.name for p in root.iterdir()} if root.is_dir() else set()
    for case in loaded:
        # A withdrawn case was published under its id (errata name it): sealed, not renamed.
        if case.status not in ("published", "withdrawn"):
            new = _new_id(cfg, case.id, taken)
            taken.add(new)
            report.renamed[case.id] = new
    plan = resign.plan_parts(repo, cfg, keyring, report.renamed, key)
    resign.plan_chains(repo, cfg, plan, set(report.renamed))
    resign.plan_id_secret(plan, unsigned_id)
    resign.plan_sealed(repo, cfg, keyring, plan)
    resign.plan_custody(repo, cfg, keyring, plan)
    signer = ""
    if plan.changed:
        if editor is None:
            raise ConfigError("migrate signs what it changes (private parts, evidence, "
                              "decision chains): who is acting? pass --editor")
        signer = editor() if callable(editor) else editor
        if confirm is not None and not confirm(signer, plan):
            raise TemoinError("nothing migrated: the editor did not confirm what it signs")
        sealed = vault.Vault(keyring, cfg.recipient_fingerprints, signer)
        report.signed += resign.sign_sealed(repo, cfg, keyring, signer, plan)
    for case in loaded:
        if case.status == "published":
            continue
        old_folder, new_id = case.folder, report.renamed.get(case.id, case.id)
        new_folder = root / new_id
        if new_folder != old_folder:
            os.rename(old_folder, new_folder)
            # No statement naming the old id (its private part and evidence are written
            # afresh below): otherwise the same blob under both folders (Git's rename
            # detection) links the new id to the old one.
            shutil.rmtree(new_folder / "review", ignore_errors=True)
        case.meta = _rename_ids(case.meta, report.renamed)
        case.meta["id"] = new_id
        case.folder = new_folder
        (new_folder / cases.PUBLIC).unlink()
        cases.save(repo, case, vault=sealed)
        report.sealed.append(new_id)
    for case in loaded:  # published cases naming a renamed one (duplicate_of, …)
        if case.status == "published":
            meta = _rename_ids(case.meta, report.renamed)
            if meta != case.meta:
                case.meta = meta
                cases.save(repo, case)
    if plan.changed:
        signed, report.chained = resign.apply(repo, cfg, keyring, signer, plan, key,
                                              today or dt.date.today())
        report.signed += signed
    if plan.id_secret:
        sealed.sign_id_key(repo, signer)
        report.signed.append(vault.ID_SECRET)
    _seal_decisions(repo, sealed, report)
    _seal_custody(repo, sealed, report, bool(plan.custody))
    _log_sealed_decisions(repo, sealed, report, signer)
    if report.signed or report.chained:
        custody.append(repo, "parts_signed", seal=sealed, editor=signer,
                       files=len(report.signed), chained=report.chained,
                       sealed_signed=[where for where, _ in plan.sealed]
                       + ([vault.ID_SECRET] if plan.id_secret else []))
    return report


def _id_secret(repo: Path, sealed: vault.Vault, report: Report) -> tuple[bytes, bool]:
    """The case-id secret (made, signed, when there is none) and whether an earlier
    version wrote it unsigned (then this run signs it)."""
    if not (repo / vault.ID_SECRET).exists():
        sealed.id_key(repo)
        report.id_secret_made = True
    unsigned = sealed.id_key_unsigned(repo)
    return sealed.id_key(repo, unsigned=unsigned), unsigned


def _seal_decisions(repo: Path, sealed: vault.Vault, report: Report) -> None:
    """Seal the plain decisions an earlier version wrote beside a case that is not
    published (`cases.review`): those of a case never published; a withdrawn case that was
    published keeps them plain (they were public; the build checks its erratum)."""
    root = repo / cases.CASES
    folders = [p.parent for p in sorted(root.glob(f"*/{cases.SEALED}"))
               if not (p.parent / cases.PUBLIC).exists()
               and any((p.parent / review_files.FOLDER).glob("*.json"))] \
        if root.is_dir() else []
    for folder, case, problems in cases.load_sealed(repo, folders, sealed):
        if case is None:
            raise TemoinError(f"cannot seal the decisions of {folder.name}: "
                              + "; ".join(problems))
        if case.status == "withdrawn" and case.meta.get("published"):
            continue
        if review_files.seal_plain(folder, sealed):
            report.decisions_sealed.append(case.id)


def _log_sealed_decisions(repo: Path, sealed: vault.Vault, report: Report,
                          signer: str) -> None:
    """The custody entry of `_seal_decisions` (after the log itself is sealed)."""
    if report.decisions_sealed:
        custody.append(repo, "decisions_sealed", seal=sealed, editor=signer or None,
                       cases=report.decisions_sealed)


def _seal_custody(repo: Path, sealed: vault.Vault, report: Report, unsigned: bool) -> None:
    """Rewrite a log holding plaintext entries, renamed ids or `unsigned` sealed entries as
    a sealed one, every entry signed by `sealed`'s signer."""
    log = repo / custody.LOG
    old = list(custody.lines(repo))
    plain = [ln for ln in old if ln.get("v") != 2]
    if not plain and not report.renamed and not unsigned:
        return
    entries = list(custody.open_lines(old, sealed.open_many)) if old else []
    tmp = log.with_name(f".{log.name}.migrating")
    tmp.unlink(missing_ok=True)
    work = tmp.parent / ".migrate-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        old_sha = hashlib.sha256(log.read_bytes()).hexdigest() if log.exists() else None
        custody.append(work, "log_sealed", seal=sealed, previous_log_sha256=old_sha,
                       entries=len(old))
        for e in entries:
            fields = {k: v for k, v in _rename_ids(e, report.renamed).items()
                      if k not in ("prev", "hash", "nonce", "action", "time")}
            custody.append(work, str(e.get("action", "sealed")), durable=False, seal=sealed,
                           time=e.get("time"), **fields)
        custody.append(work, "migrated", seal=sealed, renamed=report.renamed,
                       sealed_cases=report.sealed, note="issue 16: sealed drafts and custody, "
                       "unlinkable ids; Git history still holds the old plaintext")
        os.replace(work / custody.LOG, log)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.custody_sealed = len(plain) or (len(old) if unsigned else 0)


def summary(report: Report) -> str:
    """What to print: counts and ids only (a new id next to its old one is shown once, to
    the editor running the command; it is in the sealed custody entry too)."""
    if not report.changed:
        return ("Nothing to migrate: unpublished cases, their decisions and custody are "
                "sealed, confidential parts signed, decisions chained.")
    lines = [f"Sealed {len(report.sealed)} unpublished case(s) under new ids; "
             f"resealed {report.custody_sealed} custody entr(y/ies); signed "
             f"{len(report.signed)} confidential file(s); chained the decisions of "
             f"{len(report.chained)} case(s); sealed the decisions of "
             f"{len(report.decisions_sealed)} unpublished case(s)."]
    if report.id_secret_made:
        lines.append(f"Made {vault.ID_SECRET} (the case-id secret, encrypted to the editors).")
    lines += [f"  {old} -> {new}" for old, new in sorted(report.renamed.items())]
    lines += ["", HISTORY]
    return "\n".join(lines)


def as_json(report: Report) -> str:
    return json.dumps({"renamed": report.renamed, "sealed": report.sealed,
                       "custody_sealed": report.custody_sealed,
                       "id_secret_made": report.id_secret_made, "signed": report.signed,
                       "chained": report.chained,
                       "decisions_sealed": report.decisions_sealed}, sort_keys=True)
