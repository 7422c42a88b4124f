"""Which case folders the preview must read again (`temoin serve`, `site.preview`): each
folder's file signature, and inotify naming the folders touched since the last build."""

from __future__ import annotations

import ctypes
import os
import struct
import sys
from pathlib import Path
from typing import Any

Signature = tuple[tuple[str, int, int, int], ...]


def folder_signature(folder: Path | str) -> Signature:
    """(relative name, inode, size, mtime_ns) of every file a case's page depends on."""
    out = []
    subs = [""]
    for sub in subs:  # review/ and media/ are read only when the folder lists them
        try:
            entries = os.scandir(f"{folder}/{sub}" if sub else folder)
        except OSError:
            continue
        with entries:
            for e in entries:
                if e.is_file(follow_symlinks=False):
                    st = e.stat(follow_symlinks=False)
                    out.append((f"{sub}/{e.name}", st.st_ino, st.st_size, st.st_mtime_ns))
                elif not sub and e.name in ("review", "media"):
                    subs.append(e.name)
    return tuple(sorted(out))


class CaseWatch:
    """Which case folders changed since the last build, from inotify (Linux), so a rebuild
    stats only those instead of every folder (20,000 folders and their review/ and media/:
    seconds of cold disk reads). `changed()` is None when it cannot tell (first build, no
    inotify, watch limit reached, queue overflow, a folder renamed): the caller then looks
    at every folder, and `watch(name)` each one *before* reading it, so an edit made while
    it reads is either read or queued."""

    # Anything that changes a file's inode, size or mtime, or a folder's entries.
    MASK = 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800  # see inotify(7)
    _ISDIR, _MOVED, _SELF, _IGNORED, _LOST = 0x40000000, 0xC0, 0xC00, 0x8000, 0x6000
    _libc: Any = None

    def __init__(self) -> None:
        self.fd = -1
        self.top = ""
        self.wds: dict[int, str] = {}   # watch -> case folder name ("" for cases/ itself)
        self.dirty: set[str] = set()
        self.lost = True

    def start(self, root: Path) -> None:
        """Forget everything and watch `root` (cases/) anew; then `watch` each folder."""
        self.close()
        self.top, self.wds, self.dirty, self.lost = str(root), {}, set(), True
        if not sys.platform.startswith("linux"):
            return
        if CaseWatch._libc is None:
            CaseWatch._libc = ctypes.CDLL(None, use_errno=True)
        self.fd = CaseWatch._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        self.lost = self.fd < 0 or not self._add(self.top, "")

    def _add(self, path: str, name: str) -> bool:
        wd = CaseWatch._libc.inotify_add_watch(self.fd, os.fsencode(path), self.MASK)
        if wd < 0:
            return False
        self.wds[wd] = name
        return True

    def watch(self, name: str) -> None:
        """Watch a case folder and its review/ and media/ (what `folder_signature` reads)."""
        if self.lost:
            return
        folder = f"{self.top}/{name}"
        ok = self._add(folder, name)
        for sub in ("review", "media"):
            if ok and os.path.isdir(f"{folder}/{sub}"):
                ok = self._add(f"{folder}/{sub}", name)
        if not ok:  # ENOSPC (watch limit), a folder just deleted...: look at all of them
            self.lost = True

    def changed(self) -> set[str] | None:
        """Names of the case folders touched since `done()`, or None: look at all."""
        if self.lost:
            return None
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                break
            except OSError:
                self.lost = True
                return None
            at = 0
            while at < len(data):
                wd, mask, _cookie, size = struct.unpack_from("iIII", data, at)
                name = data[at + 16:at + 16 + size].rstrip(b"\0")
                at += 16 + size
                if mask & self._LOST or (mask & self._MOVED and mask & self._ISDIR) \
                        or mask & self._SELF and self.wds.get(wd) == "":
                    self.lost = True  # queue full, unmounted, a folder renamed, no cases/
                    return None
                if mask & self._IGNORED:
                    self.wds.pop(wd, None)
                    continue
                case = self.wds.get(wd)
                if case == "":
                    self.dirty.add(os.fsdecode(name))
                elif case is not None:
                    self.dirty.add(case)
        return set(self.dirty)

    def done(self, names: set[str]) -> None:
        """The build looked at `names`."""
        self.dirty -= names

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        self.lost = True

    __del__ = close  # an inotify instance per process is limited (128 by default)
