"""What the build learnt from a file, kept by the file's inode, size, mtime and ctime (as
git's index does), so that an unchanged file is stat-ed instead of read.

At 20,000 cases a rebuild read ~100,000 small files (case.md, decision statements and
signatures, private parts) and this VM keeps too little page cache for them to stay cached:
~130 s of cold reads. A stat costs about a tenth of a read, and one cache file is read
sequentially instead.

Why a stat hit stands for the bytes that were read: the key is taken with `fstat` on the
open file after reading it, and only recorded when the file's mtime and ctime are more than
`RACY` seconds in the past. Any later write changes the ctime to the time of that write (the
kernel sets it; only root can set the clock), so it changes the key; a write during or just
before the read leaves a recent ctime, and the entry is not recorded ("racy git"). A copied
or new clone has new inodes and ctimes: every entry misses. Entries hold only public
content (case.md text, decision statements) or digests; like the other caches this file is
not signed, since whoever can write it can already write the files themselves.

Within one run a path is looked up once: later lookups return what the first saw (the build
works from one snapshot of each file, as when it read each file once).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

from temoin.files import write_atomic

RACY = 2.0  # seconds: a file changed this recently is read again next time
_MISSING = object()


def _version() -> str:
    from temoin import cases  # what a case.md entry holds is cut as cases.parse cuts it

    h = hashlib.sha256()
    for f in (__file__, cases.__file__):
        h.update(Path(str(f)).read_bytes())
    return h.hexdigest()


class StatCache:
    """Values by path, valid while the file's (inode, size, mtime, ctime) are the same.
    `.temoin/cache/stat-<name>.json`; rewritten with this run's entries only."""

    def __init__(self, repo: Path, name: str) -> None:
        self.root = Path(repo)
        self._prefix = os.path.join(os.fspath(self.root), "")
        self.path = self.root / ".temoin" / "cache" / f"stat-{name}.json"
        self.version = _version()
        self.old: dict[str, list[Any]] = {}
        try:
            data = json.loads(self.path.read_bytes())
            if data["version"] == self.version and isinstance(data["entries"], dict):
                self.old = data["entries"]
        except (OSError, ValueError, KeyError, TypeError):
            pass  # missing or unreadable: every file is read again
        self.new: dict[str, list[Any]] = {}
        self.seen: dict[str, Any] = {}  # this run: path -> value, or None when missing
        self.changed = False

    def _rel(self, path: Path) -> str:
        """The path below the repository (os.path.relpath costs ~10x more: 100,000 calls)."""
        p = os.fspath(path)
        return p[len(self._prefix):] if p.startswith(self._prefix) else os.path.abspath(p)

    @staticmethod
    def _key(st: os.stat_result) -> list[int]:
        return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]

    def _lookup(self, path: Path) -> tuple[str, Any]:
        """(relative path, cached value) ; value _MISSING when the file must be read, None
        when it is not a regular file."""
        rel = self._rel(path)
        if rel in self.seen:
            return rel, self.seen[rel]
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            self.seen[rel] = None
            return rel, None
        if not stat.S_ISREG(st.st_mode):
            self.seen[rel] = None
            return rel, None
        entry = self.old.get(rel)
        if isinstance(entry, list) and len(entry) == 5 and entry[:4] == self._key(st):
            self.new[rel] = entry
            self.seen[rel] = entry[4]
            return rel, entry[4]
        return rel, _MISSING

    def _read(self, path: Path) -> tuple[bytes, list[int] | None]:
        """The file's bytes, and its key if it may be recorded (not changed lately)."""
        with open(path, "rb") as f:
            data = f.read()
            st = os.fstat(f.fileno())
        recent = time.time_ns() - int(RACY * 1e9)
        if max(st.st_mtime_ns, st.st_ctime_ns) >= recent:
            return data, None
        return data, self._key(st)

    def _put(self, rel: str, key: list[int] | None, value: Any) -> None:
        self.seen[rel] = value
        if key is not None:
            self.new[rel] = [*key, value]
            self.changed = True

    def sha256(self, path: Path) -> str | None:
        """The file's sha256 (hex), or None if it is not a regular file."""
        rel, value = self._lookup(path)
        if value is not _MISSING:
            return value if value is None or isinstance(value, str) else None
        try:
            data, key = self._read(path)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            self._put(rel, None, None)
            return None
        digest = hashlib.sha256(data).hexdigest()
        self._put(rel, key, digest)
        return digest

    def text(self, path: Path) -> bytes | None:
        """The bytes of a small UTF-8 file (kept in the cache), or None if it is not a
        regular file. Bytes that are not UTF-8 are returned but not kept."""
        rel, value = self._lookup(path)
        if value is not _MISSING:
            return value.encode("utf-8") if isinstance(value, str) else None
        try:
            data, key = self._read(path)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            self._put(rel, None, None)
            return None
        try:
            self._put(rel, key, data.decode("utf-8"))
        except UnicodeDecodeError:
            self.seen[rel] = _MISSING  # never kept: read again
        return data

    def is_file(self, path: Path) -> bool:
        return self._lookup(path)[1] is not None

    def get(self, path: Path) -> tuple[Any, bool]:
        """(value, True) if `put` stored one for these exact bytes, else (None, False)."""
        rel, value = self._lookup(path)
        if value is _MISSING or value is None:
            return None, False
        return value, True

    def read(self, path: Path) -> tuple[bytes, list[int] | None]:
        """Read a file whose value the caller will work out and `put` (OSError as open)."""
        return self._read(path)

    def put(self, path: Path, key: list[int] | None, value: Any) -> None:
        self._put(self._rel(path), key, value)

    def save(self) -> None:
        if not (self.changed or set(self.old) - set(self.new)):
            return
        data = json.dumps({"version": self.version, "entries": self.new},
                          ensure_ascii=False, separators=(",", ":"))
        with contextlib.suppress(OSError):  # a read-only checkout builds without it
            write_atomic(self.path, data.encode("utf-8"))
