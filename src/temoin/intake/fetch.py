"""`temoin fetch`: copy new mail into inbox/, the online side of the pipeline.

Fetch never decrypts and never parses a message: it streams bytes to a temporary file in
inbox/, fsyncs, and renames it to `<sha256>.eml` (so the same message twice is one file).
Order is what makes an interrupted run harmless: the file is on disk before its custody
entry, both before the mailbox state records the message, and all three before the message
may leave the server (`--move-to`). A re-run picks up wherever the last one stopped.

Known messages are those custody already names (any entry with that `submission`), so a
message that was fetched, ingested and purged long ago is not resurrected by a re-scan.

Bounded by construction: a message over `max_submission_bytes` is never stored. Its declared
size (IMAP RFC822.SIZE, a local file's size) refuses it before a byte is read; a server that
declares less and sends more is cut at the limit plus one byte. Either way the message stays
where it is, with a custody `refused` entry and a `.reason` file in inbox/quarantine/ (a few
hundred bytes, whatever the message's size). A server that breaks a protocol bound (see
`imap.BoundedIMAP`) is given up on with a custody `fetch_refused` entry.
"""

from __future__ import annotations

import errno
import hashlib
import imaplib
import itertools
import json
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from temoin import custody, files
from temoin.config import Config
from temoin.errors import TemoinError
from temoin.intake import imap
from temoin.intake.imap import (
    CHUNK,
    DEADLINE,
    TIMEOUT,
    FetchError,
    ServerRefused,
    UrlError,
    password_from_env,
)

__all__ = ["FetchError", "UrlError", "TooLarge", "Summary", "Inbox", "fetch_imap",
           "fetch_maildir", "fetch_mbox", "password_from_env"]

INBOX = "inbox"
STATE = ".fetch-state.json"
LOCK = ".fetch.lock"
PART_PREFIX, PART_SUFFIX = ".fetch-", ".part"
FETCHED = ".fetched"  # sha256 of every message this machine fetched, one a line
# Records of messages left at their source, in inbox/quarantine/ (only a .reason file):
OVERSIZE = "oversize-"  # declared too large: looked at again each run (the limit may rise)
REFUSED = "refused-"    # sent more than the limit or broke the protocol: skipped until the
                        # file is deleted


class TooLarge(FetchError):
    """More bytes arrived than max_submission_bytes allows; `size` is how many were read."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        super().__init__(f"more than {limit} bytes (max_submission_bytes) sent")


@dataclass
class Summary:
    """What one fetch did. `new` holds each new message's {submission, file, size};
    `known` counts messages fetched before (by state or by custody); `refused` holds each
    message refused this run {file (its .reason), size, reason}, `still_refused` counts
    those refused by an earlier run and still at their source."""

    source: str
    channel: str
    new: list[dict[str, Any]] = field(default_factory=list)
    known: int = 0
    moved: int = 0
    move_to: str = ""
    refused: list[dict[str, Any]] = field(default_factory=list)
    still_refused: int = 0

    def line(self) -> str:
        """The one-line report: `fetched N new, M already known` (+ refusals, moves)."""
        out = f"fetched {len(self.new)} new, {self.known} already known"
        if self.refused or self.still_refused:
            out += (f", {len(self.refused) + self.still_refused} refused and left at the source"
                    f" (read {INBOX}/quarantine/*.reason)")
        if self.move_to:
            out += f", moved {self.moved} to {self.move_to}"
        return out

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "channel": self.channel, "new": self.new,
                "known": self.known, "refused": self.refused,
                "still_refused": self.still_refused, "moved": self.moved}


class Inbox:
    """inbox/ of one repository: where messages land and what custody already knows."""

    def __init__(self, cfg: Config) -> None:
        self.repo = cfg.repo
        self.root = cfg.repo / INBOX
        self.quarantine = self.root / "quarantine"
        self.limit = cfg.max_submission_bytes
        for folder in (self.root, self.quarantine):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # What was fetched before: custody is sealed to the editors (issue 16) and this side
        # holds no editor key, so fetch keeps its own list in inbox/ (git-ignored, beside
        # the messages themselves), plus any plaintext entry of a log not yet migrated.
        self.fetched = self.root / FETCHED
        try:
            self.known = {str(e["submission"]) for e in custody.lines(self.repo)
                          if e.get("submission")}
        except ValueError as exc:
            raise TemoinError(f"{custody.LOG}: unreadable ({exc}); run `temoin check`") from exc
        if self.fetched.exists():
            self.known |= set(self.fetched.read_text(encoding="ascii").split())

    def clean_parts(self) -> None:
        """Drop partial downloads a killed run left behind (never recorded, so re-fetched)."""
        for part in self.root.glob(f"{PART_PREFIX}*{PART_SUFFIX}"):
            part.unlink(missing_ok=True)

    def save(self, chunks: Iterable[bytes], channel: str, summary: Summary) -> str | None:
        """Store one message streamed as `chunks`; record it in custody if new.

        Returns its sha256, or None when `chunks` yields nothing (the message vanished).
        Raises TooLarge, having written at most the limit and kept nothing, as soon as
        `chunks` goes over max_submission_bytes (the rest is never read).
        """
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=PART_PREFIX, suffix=PART_SUFFIX)
        digest, size, seen = hashlib.sha256(), 0, False
        try:
            with os.fdopen(fd, "wb") as f:  # mkstemp: mode 0600
                for chunk in chunks:
                    seen = True
                    size += len(chunk)
                    if size > self.limit:
                        raise TooLarge(size, self.limit)
                    digest.update(chunk)
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
            sha = digest.hexdigest()
            if not seen or sha in self.known:
                Path(tmp).unlink()
                if seen:
                    summary.known += 1
                return sha if seen else None
            name = f"{sha}.eml"
            where = next((d / name for d in (self.root, self.quarantine, self.root / "processed")
                          if (d / name).exists()), None)
            if where is not None:
                Path(tmp).unlink()  # on disk from a run stopped before custody: log it now
            else:
                where = self.root / name
                os.replace(tmp, where)
                _fsync_dir(self.root)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        custody.append(self.repo, "received", submission=sha, channel=channel, size=size)
        with self.fetched.open("a", encoding="ascii") as f:
            f.write(sha + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.known.add(sha)
        summary.new.append({"submission": sha, "file": str(where.relative_to(self.repo)),
                            "size": size})
        return sha

    # -- messages left at their source ----------------------------------------------------
    def record(self, source: str) -> str:
        """The record name (without prefix) of a message at `source`: a hash, so the
        quarantine folder names no server, folder or UID."""
        return hashlib.sha256(source.encode()).hexdigest()[:32] + ".reason"

    def blocked(self, source: str) -> bool:
        """Refused by an earlier run for what it sent: skipped until the record is deleted."""
        return (self.quarantine / (REFUSED + self.record(source))).exists()

    def refuse(self, source: str, channel: str, size: int, why: str, summary: Summary, *,
               block: bool, where: str) -> None:
        """Record that the message at `source` was refused and left there: custody (once),
        then a `.reason` file in quarantine. `block`: skip it in later runs."""
        name = (REFUSED if block else OVERSIZE) + self.record(source)
        path = self.quarantine / name
        if path.exists():
            summary.still_refused += 1
            return
        # Custody first: a crash before the record repeats the entry, never loses it.
        custody.append(self.repo, "refused", channel=channel, size=size, reason=why)
        after = ("delete this file to let `temoin fetch` try it again" if block else
                 "raise max_submission_bytes or ask the source to send less; `temoin fetch` "
                 "looks at it again each run")
        files.write_atomic(path, f"refused, not downloaded: {why}; the message stays at "
                           f"{where}; {after}\n".encode(), mode=0o600)
        summary.refused.append({"file": str(path.relative_to(self.repo)), "size": size,
                                "reason": why})

    def accepted(self, source: str) -> None:
        """The message at `source` was saved: drop an old 'declared too large' record."""
        (self.quarantine / (OVERSIZE + self.record(source))).unlink(missing_ok=True)

    # -- per-mailbox memory ------------------------------------------------------------------
    def load_state(self) -> dict[str, Any]:
        """inbox/.fetch-state.json; an unreadable one is dropped (a re-scan is harmless)."""
        try:
            data = json.loads((self.root / STATE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        sources = data.get("sources") if isinstance(data, dict) else None
        return sources if isinstance(sources, dict) else {}

    def save_state(self, sources: Mapping[str, Any]) -> None:
        body = json.dumps({"version": 1, "sources": sources}, sort_keys=True, indent=1)
        files.write_atomic(self.root / STATE, body.encode() + b"\n", mode=0o600)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...
    def seek(self, offset: int, whence: int = ..., /) -> Any: ...
    def tell(self) -> int: ...


def _read_chunks(f: _Readable) -> Iterator[bytes]:
    while chunk := f.read(CHUNK):
        yield chunk


def _save_local(inbox: Inbox, f: _Readable, source: str, channel: str, where: str,
                summary: Summary) -> str | None:
    """Save one message of a local mailbox, or refuse it unread when its size is over the
    limit (the original stays in the mailbox). Its sha256 if saved."""
    f.seek(0, os.SEEK_END)
    size = f.tell()
    f.seek(0)
    try:
        if size > inbox.limit:
            raise TooLarge(size, inbox.limit)
        sha = inbox.save(_read_chunks(f), channel, summary)
    except TooLarge as exc:  # or it grew while being read
        inbox.refuse(source, channel, max(size, exc.size), f"too large: {max(size, exc.size)} "
                     f"bytes, over max_submission_bytes ({inbox.limit})", summary, block=False,
                     where=where)
        return None
    inbox.accepted(source)
    return sha


# -- local mailboxes ---------------------------------------------------------------------------
# A mailbox handed over for import may be hostile: a message file that is a symbolic link
# (to a key, to /proc/self/environ), a FIFO that blocks whoever opens it, a folder that is a
# link to another, an mbox of one endless line or of millions of `From ` lines. Everything is
# opened without following links below the folder the editor named, only regular files are
# read, and an mbox is cut into messages while it streams (Python's `mailbox` reads whole
# lines and keeps a table of every message in memory).
_OPEN = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC  # a FIFO must not block
_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a device", stat.S_IFBLK: "a device",
          stat.S_IFSOCK: "a socket"}


def _open_entry(name: str, folder: int) -> int:
    """A descriptor on the regular file `name` in the folder open as `folder`; OSError
    (ELOOP for a link) or ValueError naming what it is if it is not a regular file."""
    fd = os.open(name, _OPEN | os.O_NOFOLLOW, dir_fd=folder)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ValueError("a folder" if stat.S_ISDIR(mode) else
                         _KINDS.get(stat.S_IFMT(mode), "not a regular file"))
    return fd


def _maildir_toc(path: Path) -> tuple[list[int], dict[str, tuple[int, str]]]:
    """(open folder descriptors, {key: (folder, file name)}) of a Maildir's cur/ and new/,
    keyed as `mailbox.Maildir` keys them (the name up to its first colon; new/ wins)."""
    fds: list[int] = []
    toc: dict[str, tuple[int, str]] = {}
    try:
        root = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        fds.append(root)
        subs = {}
        for sub in ("tmp", "cur", "new"):
            subs[sub] = os.open(sub, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
                                | os.O_CLOEXEC, dir_fd=root)
            fds.append(subs[sub])
        for sub in ("cur", "new"):
            for name in os.listdir(subs[sub]):
                st = os.stat(name, dir_fd=subs[sub], follow_symlinks=False)
                if not stat.S_ISDIR(st.st_mode):
                    toc[name.split(":")[0]] = (subs[sub], name)
    except OSError as exc:
        for fd in fds:
            os.close(fd)
        raise FetchError(f"{path}: not a Maildir (expected cur/, new/ and tmp/ folders, not "
                         f"links to folders elsewhere: {exc.strerror})") from None
    return fds, toc


def fetch_maildir(cfg: Config, path: Path) -> Summary:
    """Copy the new messages of the Maildir at `path` (cur/ and new/) into inbox/. A
    message that is a link, a FIFO or a device is refused unread (recorded in quarantine)."""
    path = Path(path).resolve()
    inbox = Inbox(cfg)
    key = f"maildir:{path}"
    summary = Summary(key, "maildir")
    with files.lock(inbox.root / LOCK, "temoin fetch"):
        fds, toc = _maildir_toc(path)
        try:
            inbox.clean_parts()
            sources = inbox.load_state()
            done = set((sources.get(key) or {}).get("keys") or [])
            present = set(toc)
            summary.known += len(done & present)
            try:
                for k in sorted(present - done):
                    folder, name = toc[k]
                    where = f"{path} (key {k})"
                    try:
                        fd = _open_entry(name, folder)
                    except FileNotFoundError:
                        continue  # moved away by a mail client since we listed it
                    except (OSError, ValueError) as exc:
                        what = ("a symbolic link" if getattr(exc, "errno", None) == errno.ELOOP
                                else getattr(exc, "strerror", None) or str(exc))
                        if what != "a folder":
                            inbox.refuse(f"{key}/{k}", "maildir", 0, f"not a regular file "
                                         f"({what}): not read", summary, block=True,
                                         where=where)
                        continue
                    with os.fdopen(fd, "rb") as f:
                        if _save_local(inbox, f, f"{key}/{k}", "maildir", where, summary):
                            done.add(k)
            finally:
                sources[key] = {"keys": sorted(done & present)}
                inbox.save_state(sources)
        finally:
            for fd in fds:
                os.close(fd)
    return summary


class _Mbox:
    """The messages of an mbox file, cut as `mailbox.mbox` cuts them (from after a line
    starting `From ` to the next one, less the blank line before it), each streamed in
    pieces of at most CHUNK bytes: memory stays bounded whatever the lines' length."""

    def __init__(self, f: Any) -> None:
        self.f = f
        self.line_start = True
        self.eof = False
        self.size = 0  # bytes of the current message so far

    def _piece(self) -> tuple[bytes, bool]:
        start = self.line_start
        piece: bytes = self.f.readline(CHUNK)
        self.line_start = piece.endswith(b"\n")
        if not piece:
            self.eof = True
        return piece, start

    def _skip_line(self) -> None:
        while not self.line_start and self._piece()[0]:
            pass

    def messages(self) -> Iterator[Iterator[bytes]]:
        while True:  # what comes before the first `From ` line is not a message
            piece, start = self._piece()
            if not piece:
                return
            if start and piece.startswith(b"From "):
                break
        while not self.eof:
            self._skip_line()
            self.size = 0
            body = self._body()
            yield body
            for _ in body:  # the rest of a message refused as too large: counted, not kept
                pass

    def _body(self) -> Iterator[bytes]:
        held = b""
        while True:
            piece, start = self._piece()
            if not piece or (start and piece.startswith(b"From ")):
                return  # a blank line held back before the next `From ` is not the message's
            if held:
                yield held
                held = b""
            self.size += len(piece)
            if start and piece == b"\n":
                self.size -= 1
                held = piece
                continue
            yield piece


def fetch_mbox(cfg: Config, path: Path) -> Summary:
    """Copy the new messages of the mbox file at `path` into inbox/ (each as stored,
    without its `From ` separator line), reading it once, in bounded pieces."""
    path = Path(path).resolve()
    try:
        fd = os.open(path, _OPEN)
    except OSError as exc:
        raise FetchError(f"{path}: not an mbox file ({exc.strerror})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise FetchError(f"{path}: not an mbox file (not a regular file)")
    inbox = Inbox(cfg)
    summary = Summary(f"mbox:{path}", "mbox")
    # A buffer of CHUNK bytes: scanning the rest of a giant message costs one read per MiB.
    with os.fdopen(fd, "rb", buffering=CHUNK) as f, files.lock(inbox.root / LOCK,
                                                               "temoin fetch"):
        inbox.clean_parts()
        # No per-message state: mbox keys are positions that change when the file is
        # rewritten; custody's sha256 list already makes a re-scan idempotent.
        box = _Mbox(f)
        for k, body in enumerate(box.messages()):
            first = next(body, None)
            if first is None:
                continue  # an empty message: nothing to save
            source, where = f"{summary.source}:{k}", f"{path} (message key {k})"
            try:
                inbox.save(itertools.chain([first], body), "mbox", summary)
            except TooLarge:
                for _ in body:
                    pass
                inbox.refuse(source, "mbox", box.size, f"too large: {box.size} bytes, over "
                             f"max_submission_bytes ({inbox.limit})", summary, block=False,
                             where=where)
                continue
            inbox.accepted(source)
    return summary


# -- IMAP ------------------------------------------------------------------------------------
def fetch_imap(cfg: Config, url: str, password: str | None = None, *,
               move_to: str | None = None, ca_file: Path | None = None, starttls: bool = False,
               timeout: float = TIMEOUT, deadline: float = DEADLINE) -> Summary:
    """Copy the new messages of an IMAP mailbox into inbox/; with `move_to`, then move every
    message already saved into that folder. `password` defaults to `password_from_env()`.
    `timeout`: seconds of silence, `deadline`: seconds for one message (or command), before
    the server is given up on."""
    target = imap.parse_url(url)
    if move_to is not None:
        imap.check_folder(move_to, "--move-to")
        if move_to == target.mailbox:
            raise UrlError(f"--move-to {move_to!r} is the mailbox being fetched")
    if target.scheme == "imap" and not starttls:
        raise UrlError("imap:// would send the password and the messages in clear: use "
                       "imaps://, or add --starttls to upgrade the connection first")
    if password is None:
        password = password_from_env()
    inbox = Inbox(cfg)
    summary = Summary(target.key, "imap", move_to=move_to or "")
    with files.lock(inbox.root / LOCK, "temoin fetch"):
        inbox.clean_parts()
        try:
            client = imap.connect(target, password, ca_file, starttls, timeout, deadline)
            try:
                _session(client, target, inbox, summary, move_to)
            finally:
                imap.close(client)
        except ServerRefused as exc:
            raise _gave_up(inbox, target, summary, exc) from None
        except imap.MALFORMED as exc:  # parsing what the server sent, wherever it failed
            raise _gave_up(inbox, target, summary,
                           imap.malformed("(it could not be parsed)", exc)) from None
        except imaplib.IMAP4.abort as exc:
            raise _lost(target, summary, exc) from exc
        except imaplib.IMAP4.error as exc:
            raise FetchError(f"{target.key}: {exc}") from exc
        except (OSError, EOFError) as exc:  # ssl.SSLError, resets are OSErrors
            raise _lost(target, summary, exc) from exc
    return summary


def _lost(target: imap.ImapUrl, summary: Summary, exc: BaseException) -> FetchError:
    return FetchError(f"connection to {target.host}:{target.port} lost ({exc or type(exc)}) "
                      f"after {len(summary.new)} new message(s) were saved; run the same "
                      "`temoin fetch` again: nothing saved is lost and nothing is fetched twice")


def _gave_up(inbox: Inbox, target: imap.ImapUrl, summary: Summary,
             exc: ServerRefused) -> FetchError:
    """Log that the server was given up on, and say what to do."""
    custody.append(inbox.repo, "fetch_refused", channel="imap", reason=exc.reason)
    then = ("run the same `temoin fetch` again later" if exc.stalled else
            "the server, or something between it and this machine, is broken or hostile: "
            "tell its administrator; a message it sent too much of is recorded in "
            f"{INBOX}/quarantine/ and skipped from now on")
    return FetchError(f"gave up on {target.host}:{target.port}: {exc.reason}; "
                      f"{len(summary.new)} new message(s) were saved before; {then}")


def _session(client: imap.BoundedIMAP, target: imap.ImapUrl, inbox: Inbox, summary: Summary,
             move_to: str | None) -> None:
    caps = imap.capabilities(client)
    move = None
    if move_to is not None:
        exists = imap.ok(f"listing {move_to}", client.list('""', imap.quoted(move_to)))
        if not any(exists):
            imap.ok(f"creating folder {move_to}", client.create(imap.quoted(move_to)))
        move = imap.mover(client, move_to, caps)
    typ, data = client.select(imap.quoted(target.mailbox), readonly=move is None)
    if typ != "OK":
        raise FetchError(f"{target.key}: cannot open mailbox {target.mailbox!r} "
                         f"({data[-1]!r}); check its name")
    validity = (client.response("UIDVALIDITY")[1] or [None])[-1]
    uidvalidity = 0 if validity is None else imap.number(validity, "UIDVALIDITY")
    found = imap.ok("searching", client.uid("SEARCH", "ALL"))[0]
    if found is not None and not isinstance(found, bytes):
        raise imap.malformed("to SEARCH (a literal where UIDs belong)")
    present = {imap.number(u, "a UID in the SEARCH answer") for u in (found or b"").split()}
    sources = inbox.load_state()
    mine = sources.get(target.key) or {}
    # Another UIDVALIDITY means UIDs were renumbered: forget them and re-scan; the sha256
    # names and custody make the re-scan idempotent.
    done = imap.parse_seqset(str(mine.get("uids", ""))) \
        if mine.get("uidvalidity") == uidvalidity else set()
    done &= present
    summary.known += len(done)  # fetched by an earlier run, not read again

    def remember() -> None:
        sources[target.key] = {"uidvalidity": uidvalidity, "uids": imap.seqset(done)}
        inbox.save_state(sources)

    remember()
    if move is not None and done:  # saved by an earlier run that stopped before moving
        move(set(done))
        summary.moved += len(done)
        present -= done  # gone from the mailbox
        done.clear()
    for uid in sorted(present - done):
        source = f"{target.key};UIDVALIDITY={uidvalidity};UID={uid}"
        if inbox.blocked(source):
            summary.still_refused += 1
            continue
        if _fetch_one(client, uid, source, target, inbox, summary) is None:
            continue
        done.add(uid)
        remember()  # only now: the file and its custody entry are on disk
        if move is not None:
            move({uid})
            summary.moved += 1
            done.discard(uid)


def _fetch_one(client: imap.BoundedIMAP, uid: int, source: str, target: imap.ImapUrl,
               inbox: Inbox, summary: Summary) -> str | None:
    """Save message `uid` within one deadline, or refuse it (left on the server): unread
    when its declared size is over the limit, cut at the limit plus one byte when the
    server sends more. Its sha256 if saved."""
    where = f"{target.key} (UID {uid})"
    with client.message():
        declared = imap.declared_size(client, uid)
        if declared is None:
            return None  # expunged by someone else since SEARCH
        if declared > inbox.limit:
            inbox.refuse(source, "imap", declared, f"too large: the server declares {declared}"
                         f" bytes, over max_submission_bytes ({inbox.limit})", summary,
                         block=False, where=where)
            return None
        try:
            sha = inbox.save(imap.chunks(client, uid, inbox.limit + 1), "imap", summary)
        except TooLarge as exc:
            inbox.refuse(source, "imap", exc.size, f"the server declared {declared} bytes, "
                         f"then sent more than max_submission_bytes ({inbox.limit})", summary,
                         block=True, where=where)
            return None
        except ServerRefused as exc:
            if not exc.stalled:  # it broke the protocol on this message: skip it next time
                inbox.refuse(source, "imap", declared, exc.reason, summary, block=True,
                             where=where)
            raise
    if sha is not None:
        inbox.accepted(source)
    return sha
