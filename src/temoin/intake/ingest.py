"""inbox/ -> draft cases: every file ends ingested, duplicate or quarantined.

One submission at a time, under a lock. A submission is identified by the sha256 of the
submitted file's bytes; the custody log's `ingested` entries are the index of what is done.
Order of operations, so that a crash at any point loses nothing and creates no case twice:

1. custody `received` (unless fetch logged it): fixes the received time, hence the case id;
2. decrypt and parse in memory (nothing plaintext ever touches the disk); the next AHEAD
   files are read, decrypted and parsed on other threads meanwhile (gpg runs while Python
   writes), but what is decided and written about each file still follows this order,
   one file after the other, in inbox order;
3. write evidence, private part, then case.md, each atomically, into `cases/<ID>/`
   (their temporaries while the `received` entry's fsync runs, put in place after it);
4. custody `ingested`; 5. move the original to inbox/processed/ once that entry is on disk
   (the next entry's fsync, usually the next group's `received`, makes both durable).

Files go through these steps in groups of up to GROUP (group commit): every step is taken
for the whole group before the next step begins, so one fsync of the log covers the
group's `received` entries, one round of folder fsyncs its evidence and private parts, one
its case.md files, and the log reads: the group's `received` entries, then their
`ingested` entries (nothing reads the log by position: `inbox.Index` keys it by
submission). The group's files are written on a pool thread while the next group's turn
begins (their ids, private parts, encryption); a file that is quarantined or a duplicate
ends the group before it, so its entries follow the group's.

A re-run finds the same id (same seed, same year); a case folder that exists but that no
custody entry claims is the remains of a crash and is completed, not duplicated.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import stat
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temoin import cases, custody, padding
from temoin.config import Config
from temoin.errors import CryptoError, IntakeError, TemoinError
from temoin.files import fsync_dir, lock, make_dirs, write_atomic
from temoin.intake import group, mime
from temoin.intake.ahead import Ahead as _Ahead
from temoin.intake.ahead import Prefetch
from temoin.intake.case_id import case_id_for
from temoin.intake.decrypted import (
    LITERAL_FORMATS,
    Opened,
    file_note,
    held_keys,
    nested_message,
    parse_decrypted,
    refusal_reason,
    sent_name,
    unsuffixed,
    with_outer_signer,
)
from temoin.intake.group import GROUP, Draft
from temoin.intake.inbox import (
    INBOX,
    PROCESSED,
    QUARANTINE,
    Index,
    free_name,
    inbox_files,
    read_head,
    stat_key,
    to_processed,
    transfer,
)
from temoin.intake.prefill import answers, prefill, title, yaml_safe
from temoin.keys import Keyring, vault

MAX_LAYERS = 3  # encryption layers opened in one submission (a message inside a message)
# Submissions decrypted ahead of the one being written: 2 keeps gpg busy on 2 cores while
# holding at most 3 submissions (each within the size and plaintext limits) in memory.
AHEAD = 2


@dataclass
class Result:
    """What became of one file."""

    file: str
    result: str          # "ingested" | "duplicate" | "quarantined"
    case: str | None = None
    reason: str = ""


# -- one submission ----------------------------------------------------------------------
class _Run:
    def __init__(self, repo: Path, cfg: Config, keyring: Keyring, ahead: int = AHEAD) -> None:
        self.repo, self.cfg, self.keyring = repo, cfg, keyring
        self.inbox = repo / INBOX
        # Where each folder a file came from really is (`inside`): resolved once per folder
        # for the run, not twice per file (~4% of the run's Python time).
        self._real: dict[Path, Path] = {}
        self.held = held_keys(keyring)
        # Everything ingest seals (evidence, private parts, drafts, custody entries, the id
        # secret) is signed inside by the intake (issue 16): the inbox key, which the signed
        # trust root names and which is here to decrypt the inbox. The unsigned sealer
        # shares its certificates (one export and probe by gpg, not two).
        signer = intake_signer(cfg, keyring)
        self.signed = keyring.sealer(cfg.recipient_fingerprints, signer)
        self.sealer = self.signed.unsigned()
        self.vault = vault.Vault(keyring, cfg.recipient_fingerprints, signer)
        self.vault._sealer = self.sealer  # one set of certificates for the whole run
        self.vault._signed[signer] = self.signed
        self.index = Index(repo, self.vault)
        # The custody fsync, the evidence and private-part writes and the `ahead`
        # decryptions: threads kept for the run (starting them for each submission cost
        # ~1 ms); one per decryption ahead, so a write never queues behind a gpg run.
        # One more for the group before, put in place while this one is prepared.
        self.pool = ThreadPoolExecutor(max_workers=5 + ahead)
        # A group's temporaries and folder fsyncs, all at once so that their fsyncs share
        # journal commits (they never wait on this pool's own tasks).
        self.io = ThreadPoolExecutor(max_workers=4 * GROUP)
        self.synced: Future[None] | None = None
        self.syncs = 0  # custody fsyncs started so far (see `settle`)
        # Originals whose `ingested` entry is written but not yet fsync'd: moved out of
        # inbox/ only once it is (a crash before leaves them there: see `settle`); each
        # with the number of fsyncs started before its entry was appended.
        self.unmoved: list[tuple[Path, str, bool, int]] = []
        # Files decided and sealed, nothing of them logged or written yet (`flush`).
        self.group: list[Draft] = []
        # The last group flushed: its files still being written on the pool, its
        # `ingested` entries not yet appended (`finish`).
        self.pending: tuple[Future[None], list[Draft]] | None = None
        # This file's `received` entry (submission, size, time) until logged.
        self.due: tuple[str, int, str] | None = None

    def start_sync(self) -> None:
        """fsync the custody log on the pool (`wait_synced` waits for it): it covers every
        entry appended before this call."""
        self.syncs += 1
        self.synced = self.pool.submit(custody.sync, self.repo)

    def wait_synced(self) -> None:
        """Wait for the custody fsync started in `one` (raising its error, if any) and
        move the originals whose `ingested` entry it covered. With none started (a file
        fetch logged), an fsync now once two originals wait: the next file's `received`
        fsync usually covers the one `finish` left."""
        if self.synced is not None:
            synced, self.synced = self.synced, None
            synced.result()
            self.settle(synced=self.syncs)
        elif len(self.unmoved) > 1:
            self.settle()

    def settle(self, synced: int | None = None) -> None:
        """Move the originals of ingested files to processed/, their custody entries made
        durable first: by the fsync number `synced` (which covers the entries appended
        before it started), else by one now (covering all). One fsync of the log thus
        covers a file's `ingested` and a later file's first entry."""
        if not self.unmoved:
            return
        if synced is None:
            custody.sync(self.repo)
            synced = self.syncs + 1
        keep = []
        for path, sha, inside, before in self.unmoved:
            if before < synced:
                to_processed(path, self.inbox / PROCESSED, sha, inside)
            else:
                keep.append((path, sha, inside, before))
        self.unmoved = keep

    def finish(self) -> None:
        """Wait for the group flushed last to be on disk, case.md files included (raising
        its error, if any), then append its `ingested` entries; their originals move once
        an fsync covers them. Called before any custody entry of a later file."""
        if self.pending is None:
            return
        saved, drafts = self.pending
        self.pending = None
        saved.result()
        for d in drafts:
            custody.append(self.repo, "ingested", seal=self.vault,
                           durable=False, submission=d.sha, case=d.cid)
            self.unmoved.append((d.path, d.sha, d.inside, self.syncs))

    def log_received(self, dues: list[tuple[str, int, str] | None]) -> None:
        """Append these `received` entries (each file's time taken on its turn), after the
        group before's `ingested`, and fsync them on the pool (one fsync for all): on
        disk before any of their case files."""
        logged = False
        for due in dues:
            if due is not None:
                sha, size, time = due
                custody.append(self.repo, "received", seal=self.vault, durable=False,
                               submission=sha, size=size, time=time)
                logged = True
        if logged:
            self.start_sync()

    def flush(self) -> None:
        """Log and write the files drafted since the last flush, as one group: the group
        before's `ingested` entries and this group's `received` entries appended and
        fsync'd at once (the temporaries written meanwhile), then its files put in place on
        the pool (`group.write`) while the next group is drafted."""
        if not self.group:
            return
        drafts, self.group = self.group, []
        self.finish()
        self.log_received([d.due for d in drafts])
        saved = group.write(self, drafts, [self.synced] if self.synced is not None else [])
        self.wait_synced()
        self.pending = (saved, drafts)

    def real(self, folder: Path) -> Path:
        if folder not in self._real:
            self._real[folder] = folder.resolve()
        return self._real[folder]

    def display(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.repo))
        except ValueError:
            return str(path)

    def quarantine(self, path: Path, sha: str | None, reason: str, inside: bool) -> Result:
        reason = " ".join(reason.split())
        self.flush()  # the group drafted so far: its entries before this file's
        self.finish()
        due, self.due = self.due, None
        self.log_received([due])
        custody.append(self.repo, "quarantined", seal=self.vault,
                       submission=sha, reason=reason)
        self.settle(synced=self.syncs + 1)
        qdir = self.inbox / QUARANTINE
        for parent in make_dirs(qdir):  # a new quarantine/ survives a power cut
            fsync_dir(parent)
        dest = free_name(qdir, path.name, sha or hashlib.sha256(path.name.encode()).hexdigest())
        # The reason first: a crash between the two leaves the original in inbox/, and the
        # re-run finds this name free again (no original beside it) and reuses it.
        write_atomic(dest.with_name(dest.name + ".reason"), (reason + "\n").encode())
        transfer(path, dest, inside)
        return Result(self.display(path), "quarantined", None, reason)

    def one(self, path: Path, ahead: _Ahead | None = None) -> Result:
        """Decide and record what becomes of `path`; `ahead` is what `prepare` found, used
        only if the file is still the one it read (`ahead.Prefetch`)."""
        inside = self.real(path.parent) == self.real(self.inbox)
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            return self.quarantine(path, None, "symbolic link refused (never followed)",
                                   inside)
        if not stat.S_ISREG(st.st_mode):
            kind = "a directory" if stat.S_ISDIR(st.st_mode) else "a special file"
            return self.quarantine(path, None, f"{kind}, not a submission file (refused)",
                                   inside)
        limit = self.cfg.max_submission_bytes
        if ahead is not None and ahead.key != stat_key(st):
            ahead = None  # changed since: read it again
        if ahead is not None:
            sha, raw, size = ahead.sha, ahead.raw, ahead.size
        else:
            try:
                sha, raw, size, _ = read_head(path, limit)
            except (IntakeError, OSError) as exc:
                return self.quarantine(path, None, f"cannot read: {exc}", inside)
        if sha in self.index.ingested:
            self.flush()  # the copy may be in the group: its `ingested` entry first
            self.finish()
            cid = self.index.ingested[sha]
            custody.append(self.repo, "duplicate", seal=self.vault, submission=sha,
                           case=cid)
            self.settle(synced=self.syncs + 1)
            to_processed(path, self.inbox / PROCESSED, sha, inside)
            return Result(self.display(path), "duplicate", cid,
                          f"same submission as case {cid}")
        if sha not in self.index.received:
            # The entry fixes the received time, hence the case id: it is on disk before
            # any case file is written (`flush` appends it with its group's, after the
            # group before's `ingested`, and waits for their fsync).
            self.due = (sha, size, custody.now())
            self.index.received[sha] = self.due[2]
        try:
            if size > limit:
                return self.quarantine(path, sha, f"too large: {size} bytes, over the "
                                       f"max_submission_bytes limit of {limit}", inside)
            try:
                draft = self.start_draft(path, sha, raw, ahead.opened if ahead else None)
            except IntakeError as exc:
                return self.quarantine(path, sha, exc.message, inside)
        finally:
            self.wait_synced()
        # Logged and written with its group (`flush`); its `ingested` entry follows once
        # the group's case.md files are on disk (`finish`, on the next group's turn).
        draft.inside, draft.due, self.due = inside, self.due, None
        self.group.append(draft)
        self.index.ingested[sha] = draft.cid
        self.index.claims.setdefault(draft.cid, set()).add(sha)
        if len(self.group) >= GROUP:
            self.flush()
        return Result(self.display(path), "ingested", draft.cid, "")

    def _decrypt(self, data: bytes, budget: int, what: str) -> Any:
        res = self.keyring.decrypt(data, max_output=max(budget, 1))
        if not res.ok:
            raise IntakeError(f"{what}{refusal_reason(res, self.held)}")
        return res

    def draft(self, path: Path, sha: str, raw: bytes,
              opened: Opened | Exception | None = None) -> str:
        """Decrypt and parse (unless `prepare` did: `opened`), write the draft case (no
        custody entry); return its id (IntakeError: refuse)."""
        draft = self.start_draft(path, sha, raw, opened)
        group.write(self, [draft], []).result()
        return draft.cid

    def start_draft(self, path: Path, sha: str, raw: bytes,
                    opened: Opened | Exception | None = None) -> Draft:
        """Decrypt and parse (unless `prepare` did: `opened`), give the submission its id,
        seal its parts: nothing is written (`group.write`)."""
        if opened is None:
            opened = self.open(path, raw)
        elif isinstance(opened, Exception):
            raise opened
        env, body, content = opened.env, opened.body, opened.content
        received = self.index.received[sha]
        day = dt.date.fromisoformat(received[:10])
        cid = case_id_for(self.repo, self.cfg, sha, day.year, self.index, self.keyring,
                       self.vault)
        parts, case = self.seal(cid, sha, path.name, env, body, content, opened.extras,
                                received, day, opened.layers)
        return Draft(path, sha, cid, True, None, parts, case)

    @staticmethod
    def envelope(raw: bytes) -> mime.Envelope:
        """The submission's envelope (IntakeError: refuse)."""
        try:
            return mime.open_envelope(raw)
        except IntakeError:
            raise
        except Exception as exc:  # noqa: BLE001 - hostile bytes must quarantine, not crash
            raise IntakeError(f"malformed message ({type(exc).__name__})") from None

    def open(self, path: Path, raw: bytes, env: mime.Envelope | None = None,
             first: Any = None) -> Opened:
        """Decrypt and parse in memory, writing nothing (IntakeError: refuse). `env`: its
        envelope, if read already; `first`: its body's clean decryption (`keys.batch`)."""
        env = env or self.envelope(raw)
        budget = self.cfg.max_plaintext_bytes
        body, layers = first or self._decrypt(env.ciphertexts[0], budget, ""), 1
        budget -= len(body.plaintext)
        extras: list[mime.Attachment] = []
        for n, (ct, name) in enumerate(zip(env.ciphertexts[1:], env.names[1:], strict=False),
                                       1):
            res = self._decrypt(ct, budget, f"encrypted attachment {n}: ")
            budget -= len(res.plaintext)
            extras.append(mime.attachment(sent_name(res, name), "", res.plaintext, n))
        # The encrypted file's own name (an attachment's, a bare file's) names what it holds
        # once its .asc/.gpg/.pgp is gone: "rapport.pdf.gpg". An email's name does not.
        outer = env.names[0] if env.names and env.names[0] else \
            path.name if env.kind == "bare" and unsuffixed(path.name) != path.name else ""
        content = parse_decrypted(body, sent_name(body, outer))
        # A plaintext that is itself a message to us (a file encrypted first and pasted
        # into an encrypted email, a client that encrypts twice) is opened again, up to
        # MAX_LAYERS, with the same checks and budget. The outer attachments and subject
        # are kept; a layer we cannot open stays as it is (the editors see the ciphertext).
        while layers < MAX_LAYERS and \
                (nested := nested_message(body.plaintext, content)) is not None:
            inner = self.keyring.decrypt(nested, max_output=max(budget, 1))
            if not inner.ok:
                break
            budget -= len(inner.plaintext)
            whole = nested is body.plaintext  # else an email around the message
            opened = parse_decrypted(inner, sent_name(inner, sent_name(body, outer) if whole
                                                      else ""))
            if not whole:  # keep the email's files
                opened.attachments[:0] = content.attachments
            opened.subject = content.subject or opened.subject
            content, body, layers = opened, with_outer_signer(inner, body), layers + 1
        return Opened(env, body, content, extras, layers)

    def seal(self, cid: str, sha: str, name: str, env: mime.Envelope, body: Any,
             content: mime.Content, extras: list[mime.Attachment], received: str,
             day: dt.date, layers: int = 1) -> tuple[list[tuple[Path, bytes]], cases.Case]:
        """The case's parts sealed (evidence files not yet there, then the private part)
        and its case.md, to be written (`group.write`)."""
        repo = self.repo
        evidence = []
        todo: dict[Path, bytes] = {}  # evidence files still to write (one per content)
        key = self.vault.id_key(repo)  # evidence names are keyed (see `cases.parts`)
        for att in [*content.attachments, *extras]:
            digest = hashlib.sha256(att.data).hexdigest()
            path = cases.evidence_path(repo, cid, digest, key)
            if not path.exists():
                todo.setdefault(path, att.data)
            evidence.append({"name": att.name, "safe_name": att.safe_name, "sha256": digest,
                             "file": path.name, "media_type": att.media_type,
                             "size": len(att.data)})
        values = yaml_safe(answers(content.text, self.cfg.country))
        literal = {"format": LITERAL_FORMATS.get(body.literal_format, body.literal_format),
                   "name": body.literal_name} if body.literal_format else {}
        private = {
            "intake": {"received": received, "channel": "email" if env.from_email else "file",
                       "submissions": [{"sha256": sha, "file": name, "kind": env.kind}],
                       "envelope_kind": env.kind,
                       **({"encryption_layers": layers} if layers > 1 else {}),
                       **({"literal": literal} if literal else {})},
            "subject": content.subject or env.outer_subject or None,
            "testimony": content.text,
            "signer": {"fingerprint": body.signer or None, "valid": bool(body.signature_valid)},
            "plaintext_beside": env.plaintext_beside or None,
            "evidence": evidence,
            "consent_requested": values.get("consent"),
            "template": values,
            "charset_note": content.charset_note or None,
            **({"intake_note": file_note(content)} if content.file else {}),
        }
        # Every ciphertext now; the writes with the group (`group.write`), in the order a
        # re-run relies on. The encryption overlaps the writing of the group before.
        *sealed, private_ct = self.signed.encrypt_many([
            *(padding.pad_bytes(d) for d in todo.values()),
            padding.pad_text(cases.parts.plaintext(cid, private))])
        meta: dict[str, Any] = {"id": cid, "title": title(day), "status": "draft",
                                "verification": "received", "consent": "none",
                                "received": day, **prefill(self.cfg, values)}
        parts = [*zip(todo, sealed, strict=True), (cases.private_path(repo, cid), private_ct)]
        return parts, cases.Case(meta=meta, narrative="")


def intake_signer(cfg: Config, keyring: Keyring) -> str:
    """The key that signs what ingest writes: the inbox key, when it can sign (a key made
    by `temoin keys generate` can); else an editor key held here; else CryptoError."""
    if cfg.inbox_key and keyring.has_secret(cfg.inbox_key) and \
            not keyring.unfit(cfg.inbox_key, "s"):
        return cfg.inbox_key
    for fpr in cfg.recipient_fingerprints:
        if keyring.has_secret(fpr) and not keyring.unfit(fpr, "s"):
            return fpr
    raise CryptoError(f"ingest signs the parts it writes with the inbox key, but "
                      f"{cfg.inbox_key or 'no inbox key'} cannot sign here (an encryption-only "
                      f"key?) and no editor secret key is in {keyring.home}: import one")


def check_keyring(cfg: Config, keyring: Keyring) -> None:
    """Refuse (CryptoError, exit 3) before touching the inbox if decryption or re-encryption
    cannot work: otherwise every submission would be wrongly quarantined."""
    if not cfg.recipient_fingerprints:
        raise CryptoError("no editor recipients configured in mkdocs.yml: add one with "
                          "`temoin keys import FILE --as editor`")
    held = held_keys(keyring)
    if not held:
        raise CryptoError(f"no secret key in {keyring.home}: ingest runs on the offline "
                          "machine that holds the inbox key (import it there)")
    if cfg.inbox_key and cfg.inbox_key not in held:
        raise CryptoError(f"the inbox key {cfg.inbox_key} has no secret part in "
                          f"{keyring.home}: import it before `temoin ingest`")
    keyring.encrypt(b"probe", cfg.recipient_fingerprints, sign=intake_signer(cfg, keyring))


def ingest(repo: Path, cfg: Config, keyring: Keyring, files: list[Path] | None = None,
           progress: Callable[[int, int], None] | None = None,
           ahead: int = AHEAD) -> list[Result]:
    """Ingest `files` (default: everything waiting in inbox/), one at a time, under a lock.
    Every file ends ingested, duplicate or quarantined; the results say which and why.
    The next `ahead` files are decrypted in memory meanwhile (0: none), which changes
    nothing in what is written or in which order."""
    repo = Path(repo)
    check_keyring(cfg, keyring)
    with lock(repo / INBOX / ".lock", "ingest"):
        todo = [Path(f) for f in files] if files else inbox_files(repo)
        missing = [str(p) for p in todo if not os.path.lexists(p)]
        if missing:
            raise TemoinError("no such file: " + ", ".join(missing))
        run = _Run(repo, cfg, keyring, ahead)
        results = []
        fetch = Prefetch(run, todo, ahead)
        if progress:
            progress(0, len(todo))
        with run.pool, run.io, group.collector():
            try:
                for i, path in enumerate(todo):
                    results.append(run.one(path, fetch.get(i)))
                    if progress:
                        progress(i + 1, len(todo))
                run.flush()
            except BaseException as exc:
                fetch.cancel()  # interrupted: decrypt nothing more
                with contextlib.suppress(Exception):  # the first error is the one to see
                    if not isinstance(exc, Exception):  # Ctrl-C: what was drafted is
                        run.flush()                     # written (not after a failure)
                    run.finish()
                with contextlib.suppress(Exception):
                    run.wait_synced()  # what is ingested leaves inbox/, as before
                    run.settle()
                raise
            run.finish()  # the last group on disk, its `ingested` entries appended
            run.wait_synced()
            run.settle()  # every `ingested` entry durable, every original moved
        return results
