"""Small file-system primitives every stage shares: atomic writes, bounded reads of files
an adversary may have placed, safe names, one lock."""

from __future__ import annotations

import errno
import fcntl
import os
import re
import stat
import tempfile
import unicodedata
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path

from temoin.errors import LockError, TemoinError, escaped

# A public key with its signatures is a few KiB; far more is not a key file (and a 2 GB one
# read whole would exhaust the memory before gpg could refuse it).
MAX_KEY_FILE = 1 << 20


def write_atomic(path: Path, data: bytes, mode: int = 0o644,
                 after: Sequence[Future[None]] = ()) -> None:
    """Write `data` to `path` so a crash leaves either the old file or the new, never half.
    `after`: other writes that must be done (on disk) before `path` appears; this file's
    own write and fsync overlap them, and it is not put in place if one of them failed."""
    tmp = stage(path, data, mode)
    try:
        for done in after:
            done.result()
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def stage(path: Path, data: bytes, mode: int = 0o644) -> Path:
    """`data` in a temporary file beside `path` (`.NAME.*.tmp`), on disk when this returns;
    `place` puts it in place. Removed if it cannot be written whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def place(moves: Sequence[tuple[Path, Path]]) -> None:
    """Rename each staged temporary (`stage`) onto its path, then fsync each folder once:
    every one is in place on disk when this returns. The renames go first so that one
    journal commit covers them all (the first folder's fsync; the others find their
    changes already committed)."""
    for tmp, path in moves:
        os.replace(tmp, path)
    for folder in dict.fromkeys(path.parent for _, path in moves):
        fsync_dir(folder)


def make_dirs(path: Path) -> list[Path]:
    """Create `path` and its missing parents; return the folders whose entries this added
    (the parent of each folder made): fsync them (`fsync_dir`) before anything relies on
    the new folders surviving a power cut (an fsync of a folder makes its entries durable,
    not its own entry in its parent)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for d in reversed(missing):
        d.mkdir(exist_ok=True)
    return [d.parent for d in reversed(missing)]


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_regular(path: Path, what: str, error: type[TemoinError] = TemoinError, *,
                 follow: bool = True, hint: str = "") -> int | None:
    """A read-only descriptor on the regular file at `path`, or None if nothing is there.
    A FIFO, device, socket or folder is refused (`error`, naming the file and `what` it
    should be, then `hint`) before anything is read: opening it does not block. With
    `follow=False` a symbolic link is refused too, never followed (a link in the repository
    could make Témoin read any file of the machine)."""
    shown, tail = escaped(str(path)), f"; {hint}" if hint else ""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if not follow and exc.errno == errno.ELOOP:
            raise error(f"{shown}: the {what} is a symbolic link; refused, never "
                        f"followed{tail}") from None
        raise error(f"{shown}: cannot read the {what} ({exc.strerror or exc}){tail}") from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise error(f"{shown}: the {what} is not a regular file{tail}")
    return fd


def read_bounded(path: Path, limit: int, what: str, error: type[TemoinError] = TemoinError,
                 *, follow: bool = True, hint: str = "") -> bytes | None:
    """The bytes of the regular file at `path` (None if nothing is there), refused with
    `error` when it is not a regular file (see `open_regular`) or holds more than `limit`
    bytes: never more than `limit` + 1 bytes are read, whatever the file claims or does."""
    fd = open_regular(path, what, error, follow=follow, hint=hint)
    if fd is None:
        return None
    with os.fdopen(fd, "rb") as f:
        size = os.fstat(fd).st_size
        data = f.read(limit + 1) if size <= limit else b""
    if size > limit or len(data) > limit:
        raise error(f"{escaped(str(path))}: {max(size, len(data))} bytes, more than a {what} "
                    f"can be ({limit}){f'; {hint}' if hint else ''}")
    return data


def read_key_file(path: Path, error: type[TemoinError]) -> bytes | None:
    """A repository key file (keys/…), read bounded (`MAX_KEY_FILE`) and never through a
    link: a 2 GB file, a FIFO or a link to /dev/zero is refused with `error` naming the file
    and the limit before it can fill the memory (None when nothing is there)."""
    return read_bounded(path, MAX_KEY_FILE, "key file", error, follow=False)


_UNSAFE = re.compile(r"[^\w.\- ]+")


def safe_name(name: str, default: str = "attachment") -> str:
    """A filename that cannot escape a folder or fool a reader: no path, no control or bidi
    characters, no leading dots, at most 120 characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name)
                   if unicodedata.category(c)[0] != "C")  # Cc, Cf (bidi), Co, Cn, Cs
    name = _UNSAFE.sub("_", name).strip(" ._")
    if len(name) > 120:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:110] + dot + ext[:9]) if dot and len(ext) < 10 else name[:120]
    return name or default


@contextmanager
def lock(path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on `path`; refuse at once (LockError) if someone else holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockError(f"another {what} is running (lock {path}); wait for it to "
                            "finish") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)


def inside(folder: Path, repo: Path) -> bool:
    """Is `folder` (made or not) the repository `repo` or inside it, links resolved? (A
    cache or a pin there would be committed, and planted by whoever writes the repository.)"""
    root = Path(os.path.realpath(repo))
    found = Path(os.path.realpath(folder))
    return found == root or root in found.parents
