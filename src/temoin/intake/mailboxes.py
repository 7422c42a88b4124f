"""Local mailboxes handed over for import (Maildir, mbox): read without following a link,
only regular files, an mbox cut into messages while it streams."""

from __future__ import annotations

import errno
import itertools
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from temoin import files
from temoin.config import Config
from temoin.intake.fetch_inbox import LOCK, Inbox, Summary, TooLarge
from temoin.intake.imap import CHUNK, FetchError


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
