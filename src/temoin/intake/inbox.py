"""The inbox on disk: files waiting in inbox/, the quarantine and processed folders, and
the index of what the custody log says was received and ingested."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

from temoin import custody
from temoin.errors import IntakeError
from temoin.files import fsync_dir, make_dirs, safe_name
from temoin.keys import vault

INBOX = "inbox"
QUARANTINE = "quarantine"
PROCESSED = "processed"


class Index:
    """What the custody log says about submissions: done, received when, ids claimed."""

    def __init__(self, repo: Path, opener: vault.Vault) -> None:
        self.ingested: dict[str, str] = {}
        self.received: dict[str, str] = {}
        self.claims: dict[str, set[str]] = {}  # case id -> submissions (or '' for others)
        for e in custody.entries(repo, opener):
            sub = str(e.get("submission") or "")
            if e.get("action") == "ingested" and sub and e.get("case"):
                self.ingested.setdefault(sub, str(e["case"]))
            if e.get("action") == "received" and sub:
                self.received.setdefault(sub, str(e.get("time", "")))
            for cid in (e.get("case"), e.get("into"), *(e.get("cases") or [])):
                if cid:
                    self.claims.setdefault(str(cid), set()).add(sub)

    def taken_for(self, sha: str) -> Taken:
        """Case ids that belong to anything but submission `sha` (a view of the claims:
        a set of them cost O(claims) a submission: 14 ms at 20,000 claims)."""
        return Taken(self.claims, sha)


class Taken:
    """`Index.taken_for`: `cid in taken` when a claim on `cid` is not `sha`'s; `add`
    marks more ids taken."""

    def __init__(self, claims: dict[str, set[str]], sha: str) -> None:
        self.claims, self.sha, self.more = claims, sha, set[str]()

    def __contains__(self, cid: object) -> bool:
        subs = self.claims.get(cid) if isinstance(cid, str) else None
        return cid in self.more or bool(subs and subs - {self.sha})

    def add(self, cid: str) -> None:
        self.more.add(cid)


# -- the inbox ---------------------------------------------------------------------------
def inbox_files(repo: Path) -> list[Path]:
    """Entries waiting in inbox/ (not its sub-folders; dot-files are in-progress writes)."""
    inbox = Path(repo) / INBOX
    if not inbox.is_dir():
        return []
    out = []
    for entry in os.scandir(inbox):
        if entry.name.startswith("."):
            continue
        if entry.name in (QUARANTINE, PROCESSED) and entry.is_dir(follow_symlinks=False):
            continue
        out.append(Path(entry.path))
    return sorted(out)


def free_name(folder: Path, name: str, sha: str) -> Path:
    """A name in `folder` that overwrites nothing (quarantine is never overwritten)."""
    if len(name.encode()) > 200 or name.startswith("."):
        name = f"{sha[:16]}-{safe_name(name)[:80]}"
    stem, dot, suffix = name.partition(".")
    for i in range(10_000):
        cand = name if i == 0 else f"{stem}-{sha[:12]}{'-' + str(i) if i > 1 else ''}" \
                                   f"{dot}{suffix}"
        if not os.path.lexists(folder / cand):
            return folder / cand
    raise IntakeError(f"{folder}: no free name for {name!r}")


def transfer(src: Path, dest: Path, inside: bool) -> None:
    """Move `src` (in inbox/) or copy it (elsewhere: never remove what is not ours) to
    `dest`, never following a link: a link is moved or re-created as a link."""
    if inside:
        os.rename(src, dest)
        return
    st = os.lstat(src)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(src), dest)
    elif stat.S_ISREG(st.st_mode):
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".copy.", suffix=".tmp")
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    # A FIFO or device outside inbox/ cannot be copied: its .reason file records it.


def to_processed(src: Path, folder: Path, sha: str, inside: bool) -> None:
    """Keep the original in processed/; an identical file already there is enough."""
    for parent in make_dirs(folder):  # a new processed/ survives a power cut
        fsync_dir(parent)
    existing = folder / src.name
    if existing.is_file() and not existing.is_symlink() and _sha256_file(existing) == sha:
        if inside:
            src.unlink()
        return
    transfer(src, free_name(folder, src.name, sha), inside)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def stat_key(st: os.stat_result) -> tuple[int, ...]:
    """What tells that a file is still the one read: same inode, size and times."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def read_head(path: Path, limit: int) -> tuple[str, bytes, int, tuple[int, ...]]:
    """(sha256 of the whole file, its first `limit`+1 bytes, size, `stat_key`), never
    following a link and never blocking on a FIFO."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise IntakeError("not a regular file (refused)")
        h = hashlib.sha256()
        kept = bytearray()
        size = 0
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
            if len(kept) <= limit:
                kept += chunk[: limit + 1 - len(kept)]
    return h.hexdigest(), bytes(kept), size, stat_key(st)
