"""Small file-system primitives every stage shares: atomic writes, safe names, one lock."""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path

from temoin.errors import LockError


def write_atomic(path: Path, data: bytes, mode: int = 0o644,
                 after: Sequence[Future[None]] = ()) -> None:
    """Write `data` to `path` so a crash leaves either the old file or the new, never half.
    `after`: other writes that must be done (on disk) before `path` appears; this file's
    own write and fsync overlap them, and it is not put in place if one of them failed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        for done in after:
            done.result()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


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
